package filter

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// Text forms of values: decimal numbers, times of day and CQL durations, read
// from the JSON form and written back to it.

// maxExponent bounds the exponent of a number in a filter, so that 1e999999999
// cannot make Bind build a billion-digit integer.
const maxExponent = 10000

// parseNumber reads a decimal number, -?d+(.d+)?([eE][+-]?d+)?, as an unscaled
// integer and a scale: the number is unscaled × 10^-scale.
func parseNumber(s string) (*big.Int, int64, error) {
	text := s
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	mant, exp := s, ""
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant, exp = s[:i], s[i+1:]
		if exp == "" {
			return nil, 0, fmt.Errorf("%q is not a number", text)
		}
	}
	whole, frac, dot := strings.Cut(mant, ".")
	if !isDigits(whole) || dot && !isDigits(frac) {
		return nil, 0, fmt.Errorf("%q is not a number", text)
	}
	e := int64(0)
	if exp != "" {
		digits := strings.TrimLeft(exp, "+-")
		if len(exp)-len(digits) > 1 || !isDigits(digits) {
			return nil, 0, fmt.Errorf("%q is not a number", text)
		}
		n, err := strconv.ParseInt(exp, 10, 64)
		if err != nil || n > maxExponent || n < -maxExponent {
			return nil, 0, fmt.Errorf("%s: the exponent is out of range (at most %d)", text, maxExponent)
		}
		e = n
	}
	u, _ := new(big.Int).SetString(whole+frac, 10)
	if neg {
		u.Neg(u)
	}
	return u, int64(len(frac)) - e, nil
}

func isDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// parseInteger reads a decimal number that must be a whole number.
func parseInteger(s string) (*big.Int, error) {
	u, scale, err := parseNumber(s)
	if err != nil {
		return nil, err
	}
	if scale <= 0 {
		return u.Mul(u, new(big.Int).Exp(big.NewInt(10), big.NewInt(-scale), nil)), nil
	}
	q, r := new(big.Int).QuoRem(u, new(big.Int).Exp(big.NewInt(10), big.NewInt(scale), nil), new(big.Int))
	if r.Sign() != 0 {
		return nil, fmt.Errorf("%s is not a whole number", s)
	}
	return q, nil
}

// parseTimeOfDay reads a CQL time literal, HH:MM:SS with up to nine digits of
// fraction, as the time since midnight.
func parseTimeOfDay(s string) (time.Duration, error) {
	bad := fmt.Errorf("%q is not a time of day (HH:MM:SS with up to 9 digits of fraction)", s)
	clock, frac, dot := strings.Cut(s, ".")
	if len(clock) != 8 || clock[2] != ':' || clock[5] != ':' || dot && (len(frac) > 9 || !isDigits(frac)) {
		return 0, bad
	}
	var parts [3]int64
	for i := range parts {
		p := clock[3*i : 3*i+2]
		if !isDigits(p) {
			return 0, bad
		}
		parts[i], _ = strconv.ParseInt(p, 10, 64)
	}
	if parts[0] > 23 || parts[1] > 59 || parts[2] > 59 {
		return 0, bad
	}
	ns := int64(0)
	if dot {
		ns, _ = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	}
	return time.Duration(parts[0])*time.Hour + time.Duration(parts[1])*time.Minute +
		time.Duration(parts[2])*time.Second + time.Duration(ns), nil
}

// formatTimeOfDay writes d, a time of day, as parseTimeOfDay reads it.
func formatTimeOfDay(d time.Duration) (string, error) {
	if d < 0 || d >= 24*time.Hour {
		return "", fmt.Errorf("%s is not a time of day (from 0 up to 24h)", d)
	}
	s := fmt.Sprintf("%02d:%02d:%02d", d/time.Hour, d%time.Hour/time.Minute, d%time.Minute/time.Second)
	if ns := d % time.Second; ns != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%09d", ns), "0")
	}
	return s, nil
}

// durationUnits are the units of a CQL duration literal, longest first where one
// is a prefix of another: months for y and mo, days for w and d, nanoseconds for
// the rest.
var durationUnits = []struct {
	name string
	part int // 0 months, 1 days, 2 nanoseconds
	n    int64
}{
	{"y", 0, 12}, {"mo", 0, 1}, {"w", 1, 7}, {"d", 1, 1}, {"h", 2, int64(time.Hour)},
	{"ms", 2, int64(time.Millisecond)}, {"m", 2, int64(time.Minute)}, {"s", 2, int64(time.Second)},
	{"us", 2, int64(time.Microsecond)}, {"µs", 2, int64(time.Microsecond)}, {"ns", 2, 1},
}

// parseDuration reads a CQL duration literal such as 1y2mo3w4d5h6m7s8ms9us10ns,
// optionally negative; units are case-insensitive and may repeat.
func parseDuration(s string) (orm.Duration, error) {
	bad := func(why string) (orm.Duration, error) {
		return orm.Duration{}, fmt.Errorf("%q is not a CQL duration such as 1mo2d3h4m5s (%s)", s, why)
	}
	rest := strings.ToLower(s)
	neg := strings.HasPrefix(rest, "-")
	if neg {
		rest = rest[1:]
	}
	if rest == "" {
		return bad("empty")
	}
	var parts [3]int64
	limits := [3]int64{math.MaxInt32, math.MaxInt32, math.MaxInt64}
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil {
			if i == 0 {
				return bad("a unit without a number")
			}
			return bad("out of range")
		}
		rest = rest[i:]
		found := false
		for _, u := range durationUnits {
			if !strings.HasPrefix(rest, u.name) {
				continue
			}
			rest, found = rest[len(u.name):], true
			if n > (limits[u.part]-parts[u.part])/u.n {
				return bad("out of range")
			}
			parts[u.part] += n * u.n
			break
		}
		if !found {
			return bad("a number without a unit")
		}
	}
	d := orm.Duration{Months: int32(parts[0]), Days: int32(parts[1]), Nanoseconds: parts[2]}
	if neg {
		d = orm.Duration{Months: -d.Months, Days: -d.Days, Nanoseconds: -d.Nanoseconds}
	}
	return d, nil
}

// formatDuration writes d as parseDuration reads it. Its parts must share a sign,
// as a CQL duration's do.
func formatDuration(d orm.Duration) (string, error) {
	neg := d.Months < 0 || d.Days < 0 || d.Nanoseconds < 0
	if neg && (d.Months > 0 || d.Days > 0 || d.Nanoseconds > 0) {
		return "", fmt.Errorf("duration %+v mixes signs: a CQL duration's parts have one sign", d)
	}
	abs := func(n int64) uint64 {
		if n < 0 {
			return uint64(-(n + 1)) + 1
		}
		return uint64(n)
	}
	months, days, ns := abs(int64(d.Months)), abs(int64(d.Days)), abs(d.Nanoseconds)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	put := func(n uint64, unit string) {
		if n != 0 {
			b.WriteString(strconv.FormatUint(n, 10) + unit)
		}
	}
	put(months/12, "y")
	put(months%12, "mo")
	put(days, "d")
	put(ns/uint64(time.Hour), "h")
	put(ns%uint64(time.Hour)/uint64(time.Minute), "m")
	put(ns%uint64(time.Minute)/uint64(time.Second), "s")
	put(ns%uint64(time.Second)/uint64(time.Millisecond), "ms")
	put(ns%uint64(time.Millisecond)/uint64(time.Microsecond), "us")
	put(ns%uint64(time.Microsecond), "ns")
	if b.Len() == 0 || neg && b.Len() == 1 {
		return "0s", nil
	}
	return b.String(), nil
}

// parseFloat reads a JSON number as a float of the given bits (32 or 64).
func parseFloat(s string, bits int) (float64, error) {
	f, err := strconv.ParseFloat(s, bits)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return 0, fmt.Errorf("%s is out of range for a %d-bit float", s, bits)
	case err != nil:
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return f, nil
}

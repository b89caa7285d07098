package orm

import (
	"fmt"
	"net/mail"
	"reflect"
	"regexp"
	"strconv"
	"strings"
)

// Validator is implemented by models with checks beyond the validate tags. Validate is
// called after the tag rules pass, before any statement is sent; a non-nil error stops
// the write and is returned wrapped with ErrValidation.
type Validator interface {
	Validate() error
}

// rule is one parsed validate tag rule.
type rule struct {
	name string
	num  float64
	re   *regexp.Regexp
}

// parseRules reads a validate tag: "required", "min=N"/"max=N" (numbers), "minlen=N"/
// "maxlen=N" (strings in characters, collections in elements), "pattern=RE" (must be
// last, it may hold commas), "email".
func parseRules(tag, where string) ([]rule, error) {
	if tag == "" {
		return nil, nil
	}
	var rules []rule
	for tag != "" {
		var part string
		if strings.HasPrefix(tag, "pattern=") {
			part, tag = tag, ""
		} else {
			part, tag, _ = strings.Cut(tag, ",")
		}
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		r := rule{name: k}
		switch k {
		case "required", "email":
		case "min", "max", "minlen", "maxlen":
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: validate %s=%q: want a number", ErrInvalidModel, where, k, v)
			}
			r.num = n
		case "pattern":
			re, err := regexp.Compile(v)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: validate pattern: %v", ErrInvalidModel, where, err)
			}
			r.re = re
		default:
			return nil, fmt.Errorf("%w: %s: unknown validate rule %q", ErrInvalidModel, where, k)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// validate checks every rule of every column of v (a struct value) and then the
// Validator interface.
func (t *Table) validate(v reflect.Value, model any) error {
	var errs []FieldError
	for _, c := range t.Columns {
		if len(c.rules) == 0 {
			continue
		}
		fv := v.FieldByIndex(c.index)
		for _, r := range c.rules {
			if msg := r.check(fv); msg != "" {
				errs = append(errs, FieldError{Column: c.Name, Rule: r.name, Msg: msg})
			}
		}
	}
	if len(errs) == 0 {
		if val, ok := model.(Validator); ok {
			if err := val.Validate(); err != nil {
				return fmt.Errorf("%w: %s: %w", ErrValidation, t.Name, err)
			}
		}
		return nil
	}
	return &ValidationError{Table: t.Name, Fields: errs}
}

func (r rule) check(v reflect.Value) string {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			if r.name == "required" {
				return "is required"
			}
			return "" // other rules apply to values that are there
		}
		v = v.Elem()
	}
	switch r.name {
	case "required":
		if v.IsZero() || (v.Kind() == reflect.Slice || v.Kind() == reflect.Map) && v.Len() == 0 {
			return "is required"
		}
	case "min", "max":
		n, ok := number(v)
		if !ok {
			return fmt.Sprintf("rule %s applies to numbers, not %s", r.name, v.Type())
		}
		if r.name == "min" && n < r.num {
			return fmt.Sprintf("must be at least %v", r.num)
		}
		if r.name == "max" && n > r.num {
			return fmt.Sprintf("must be at most %v", r.num)
		}
	case "minlen", "maxlen":
		var n int
		switch v.Kind() {
		case reflect.String:
			n = len([]rune(v.String()))
		case reflect.Slice, reflect.Map:
			n = v.Len()
		default:
			return fmt.Sprintf("rule %s applies to strings and collections, not %s", r.name, v.Type())
		}
		if r.name == "minlen" && float64(n) < r.num {
			return fmt.Sprintf("must have at least %v characters or elements", r.num)
		}
		if r.name == "maxlen" && float64(n) > r.num {
			return fmt.Sprintf("must have at most %v characters or elements", r.num)
		}
	case "pattern", "email":
		if v.Kind() != reflect.String {
			return fmt.Sprintf("rule %s applies to strings, not %s", r.name, v.Type())
		}
		s := v.String()
		if s == "" {
			return "" // empty is "required"'s business
		}
		if r.re != nil && !r.re.MatchString(s) {
			return "must match " + r.re.String()
		}
		if r.name == "email" {
			if a, err := mail.ParseAddress(s); err != nil || a.Address != s {
				return "must be an email address"
			}
		}
	}
	return ""
}

func number(v reflect.Value) (float64, bool) {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int()), true
	case reflect.Float32, reflect.Float64:
		return v.Float(), true
	}
	return 0, false
}

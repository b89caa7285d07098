package orm

import (
	"fmt"
	"regexp"
	"strings"
)

// identRE is what Cassandra accepts for keyspace, table, type, index and column names
// that we create: letters, digits and underscores, starting with a letter, at most 48
// characters. Everything the ORM writes into CQL text passes this check and is quoted.
var identRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,47}$`)

// CheckIdent reports whether name can be used as a Cassandra identifier. The error
// wraps ErrInvalidIdentifier and names the kind of identifier and the offending text.
func CheckIdent(kind, name string) error {
	if !identRE.MatchString(name) {
		return fmt.Errorf("%w: %s %q: want a letter followed by up to 47 letters, digits or underscores",
			ErrInvalidIdentifier, kind, name)
	}
	return nil
}

// quote returns name as a quoted CQL identifier. Callers have checked it with CheckIdent,
// so it holds no quote; doubling quotes anyway keeps quote total.
func quote(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// qualified returns "keyspace"."table", or just "table" when keyspace is empty.
func qualified(keyspace, table string) string {
	if keyspace == "" {
		return quote(table)
	}
	return quote(keyspace) + "." + quote(table)
}

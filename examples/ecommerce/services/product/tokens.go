package product

import (
	"slices"
	"strings"
	"unicode"
)

// stopWords are left out of the tokens: they match nearly everything.
var stopWords = map[string]bool{
	"a": true, "an": true, "and": true, "the": true, "of": true, "for": true, "with": true,
	"to": true, "in": true, "on": true, "or": true, "is": true, "it": true, "by": true,
}

// Tokens returns the keyword terms of text, sorted and without repeats: words of
// letters and digits, in lower case, a plural s dropped, stop words and single
// letters left out. Queries and products are tokenised alike.
func Tokens(text string) []string {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	var out []string
	for _, w := range words {
		if len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") {
			w = w[:len(w)-1]
		}
		if len([]rune(w)) < 2 || stopWords[w] {
			continue
		}
		out = append(out, w)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

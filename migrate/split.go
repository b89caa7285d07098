package migrate

import (
	"fmt"
	"strings"
)

// Statement is one CQL statement of a .cql migration file.
type Statement struct {
	// Text is the statement without its terminating semicolon, from its first token
	// (comments before it are left out; comments inside it are kept).
	Text string
	// Line is the 1-based line of the file on which the statement starts.
	Line int
}

// FirstLine returns the first line of the statement, for messages.
func (s Statement) FirstLine() string {
	line, _, _ := strings.Cut(s.Text, "\n")
	return strings.TrimSpace(line)
}

// SplitCQL splits the text of a .cql file into statements at the semicolons that end
// them. A semicolon inside a single-quoted string ('it”s; fine'), a double-quoted
// identifier, a $$-quoted block or a comment (-- and // to the end of the line,
// /* to */) does not end a statement. The last statement needs no semicolon. Empty
// statements are dropped. An unterminated string, identifier, $$ block or comment
// is an error naming the line where it opens.
func SplitCQL(text string) ([]Statement, error) {
	var (
		out   []Statement
		line  = 1
		start = -1 // offset of the current statement's first token, -1 before it
		first int  // line of that token
	)
	end := func(i int) {
		// Unicode spaces are not token starts for Cassandra either: a statement of
		// them alone is empty.
		if t := strings.TrimSpace(text[start:i]); t != "" {
			out = append(out, Statement{Text: t, Line: first})
		}
		start = -1
	}
	begin := func(i int) {
		if start < 0 {
			start, first = i, line
		}
	}
	// skipTo advances past the closing delimiter end, counting lines, and returns the
	// offset just after it, or -1 if the text ends first.
	skipTo := func(i int, end string) int {
		j := strings.Index(text[i:], end)
		if j < 0 {
			return -1
		}
		line += strings.Count(text[i:i+j+len(end)], "\n")
		return i + j + len(end)
	}
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == ';':
			if start >= 0 {
				end(i)
			}
			i++
		case strings.HasPrefix(text[i:], "--") || strings.HasPrefix(text[i:], "//"):
			j := strings.IndexByte(text[i:], '\n')
			if j < 0 {
				i = len(text)
			} else {
				i += j // the newline is counted by the loop
			}
		case strings.HasPrefix(text[i:], "/*"):
			opened := line
			if i = skipTo(i+2, "*/"); i < 0 {
				return nil, fmt.Errorf("migrate: line %d: unterminated /* comment", opened)
			}
		case strings.HasPrefix(text[i:], "$$"):
			begin(i)
			opened := line
			if i = skipTo(i+2, "$$"); i < 0 {
				return nil, fmt.Errorf("migrate: line %d: unterminated $$ block", opened)
			}
		case c == '\'' || c == '"':
			begin(i)
			opened := line
			q := string(c)
			// A doubled quote inside is an escaped quote: skip pairs until a lone one.
			for i++; ; {
				if i = skipTo(i, q); i < 0 {
					kind := "string"
					if c == '"' {
						kind = "quoted identifier"
					}
					return nil, fmt.Errorf("migrate: line %d: unterminated %s", opened, kind)
				}
				if i < len(text) && text[i] == c {
					i++
					continue
				}
				break
			}
		default:
			begin(i)
			i++
		}
	}
	if start >= 0 {
		end(len(text))
	}
	return out, nil
}

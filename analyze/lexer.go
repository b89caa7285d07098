package analyze

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// tokKind is the kind of a lexical token.
type tokKind int

const (
	tEOF      tokKind = iota
	tIdent            // unquoted identifier or keyword; text as written
	tQIdent           // "quoted" identifier; text without the quotes, "" unescaped
	tString           // 'string' or $$string$$; text unescaped
	tNumber           // integer or float, with its sign if written as one token
	tUUID             // 8-4-4-4-12 hex digits
	tBlob             // 0x...
	tDuration         // 1h30m, P1D, ...
	tMarker           // ?
	tNamed            // :name; text is the name
	tPunct            // ( ) , ; . * = < <= > >= != [ ] { } : + -
)

func (k tokKind) String() string {
	return [...]string{"end of input", "identifier", "quoted identifier", "string", "number", "uuid", "blob", "duration", "bind marker", "named bind marker", "symbol"}[k]
}

// token is one lexical token with its position (1-based line and column, in runes).
type token struct {
	kind tokKind
	text string
	line int
	col  int
	off  int // byte offset of the token's start
	end  int // byte offset after the token
}

// show is the token as an error message names it.
func (t token) show() string {
	switch t.kind {
	case tEOF:
		return "end of input"
	case tString:
		return "'" + t.text + "'"
	case tQIdent:
		return `"` + t.text + `"`
	case tNamed:
		return ":" + t.text
	}
	return t.text
}

// is reports whether t is the keyword kw (case-insensitive) or the symbol kw.
func (t token) is(kw string) bool {
	return (t.kind == tIdent || t.kind == tPunct) && strings.EqualFold(t.text, kw)
}

// ParseError is a statement that could not be lexed or parsed: where, at which token,
// and why.
type ParseError struct {
	// Line and Column locate the offending token (1-based; columns count characters).
	Line, Column int
	// Token is the offending token as written, or "end of input".
	Token string
	// Msg says what was expected.
	Msg string
}

// Error is the error's text: analyze: line:column: at token: message.
func (e *ParseError) Error() string {
	return fmt.Sprintf("analyze: %d:%d: at %s: %s", e.Line, e.Column, e.Token, e.Msg)
}

// lexer turns CQL text into tokens.
type lexer struct {
	src  string
	pos  int
	line int
	col  int
}

func lex(src string) ([]token, error) {
	l := &lexer{src: src, line: 1, col: 1}
	var out []token
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		out = append(out, t)
		if t.kind == tEOF {
			return out, nil
		}
	}
}

func (l *lexer) peekByte(i int) byte {
	if l.pos+i < len(l.src) {
		return l.src[l.pos+i]
	}
	return 0
}

// advance moves n bytes forward, keeping line and column.
func (l *lexer) advance(n int) {
	end := min(l.pos+n, len(l.src))
	for l.pos < end {
		r, size := utf8.DecodeRuneInString(l.src[l.pos:])
		l.pos += size
		if r == '\n' {
			l.line++
			l.col = 1
		} else {
			l.col++
		}
	}
}

func (l *lexer) errAt(line, col int, tok, msg string) error {
	return &ParseError{Line: line, Column: col, Token: tok, Msg: msg}
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// uuidAt reports whether a UUID literal starts at s.
func uuidAt(s string) bool {
	if len(s) < 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHex(s[i]) {
				return false
			}
		}
	}
	return len(s) == 36 || !isIdentPart(s[36])
}

// durationUnits are CQL duration units, longest first so "ms" wins over "m".
var durationUnits = []string{"mo", "ms", "us", "µs", "ns", "y", "w", "d", "h", "m", "s"}

// durationAt returns the length of a CQL duration literal (1h30m) at s, or 0.
func durationAt(s string) int {
	i := 0
	units := 0
	for i < len(s) && isDigit(s[i]) {
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		matched := false
		for _, u := range durationUnits {
			if len(s)-j >= len(u) && strings.EqualFold(s[j:j+len(u)], u) {
				j += len(u)
				matched = true
				break
			}
		}
		if !matched {
			break
		}
		i = j
		units++
	}
	if units == 0 || i < len(s) && isIdentPart(s[i]) {
		return 0
	}
	return i
}

func (l *lexer) skipSpaceAndComments() error {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			l.advance(1)
		case c == '-' && l.peekByte(1) == '-', c == '/' && l.peekByte(1) == '/':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' {
				l.advance(1)
			}
		case c == '/' && l.peekByte(1) == '*':
			line, col := l.line, l.col
			end := strings.Index(l.src[l.pos+2:], "*/")
			if end < 0 {
				return l.errAt(line, col, "/*", "comment is not closed with */")
			}
			l.advance(end + 4)
		default:
			return nil
		}
	}
	return nil
}

func (l *lexer) next() (token, error) {
	if err := l.skipSpaceAndComments(); err != nil {
		return token{}, err
	}
	t := token{line: l.line, col: l.col, off: l.pos}
	finish := func(kind tokKind, text string, n int) (token, error) {
		t.kind, t.text = kind, text
		l.advance(n)
		t.end = l.pos
		return t, nil
	}
	if l.pos >= len(l.src) {
		t.kind, t.end = tEOF, l.pos
		return t, nil
	}
	s := l.src[l.pos:]
	c := s[0]
	switch {
	case uuidAt(s):
		return finish(tUUID, s[:36], 36)
	case c == '0' && (l.peekByte(1) == 'x' || l.peekByte(1) == 'X'):
		n := 2
		for n < len(s) && isHex(s[n]) {
			n++
		}
		if n < len(s) && isIdentPart(s[n]) {
			return t, l.errAt(t.line, t.col, s[:n+1], "a blob literal has only hex digits after 0x")
		}
		return finish(tBlob, s[:n], n)
	case isDigit(c) || c == '-' && isDigit(l.peekByte(1)):
		if d := durationAt(s); d > 0 {
			return finish(tDuration, s[:d], d)
		}
		n := 0
		if s[0] == '-' {
			n++
		}
		for n < len(s) && isDigit(s[n]) {
			n++
		}
		if n+1 < len(s) && s[n] == '.' && isDigit(s[n+1]) {
			n++
			for n < len(s) && isDigit(s[n]) {
				n++
			}
		}
		if n < len(s) && (s[n] == 'e' || s[n] == 'E') {
			m := n + 1
			if m < len(s) && (s[m] == '+' || s[m] == '-') {
				m++
			}
			if m < len(s) && isDigit(s[m]) {
				for m < len(s) && isDigit(s[m]) {
					m++
				}
				n = m
			}
		}
		if n < len(s) && isIdentStart(s[n]) {
			return t, l.errAt(t.line, t.col, s[:n+1], "a number is followed by letters")
		}
		return finish(tNumber, s[:n], n)
	case isIdentStart(c):
		n := 1
		for n < len(s) && isIdentPart(s[n]) {
			n++
		}
		return finish(tIdent, s[:n], n)
	case c == '"':
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			if s[i] == '"' {
				if i+1 < len(s) && s[i+1] == '"' {
					b.WriteByte('"')
					i++
					continue
				}
				if b.Len() == 0 {
					return t, l.errAt(t.line, t.col, `""`, "a quoted identifier is empty")
				}
				return finish(tQIdent, b.String(), i+1)
			}
			b.WriteByte(s[i])
		}
		return t, l.errAt(t.line, t.col, `"`, "quoted identifier is not closed")
	case c == '\'':
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			if s[i] == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					b.WriteByte('\'')
					i++
					continue
				}
				return finish(tString, b.String(), i+1)
			}
			b.WriteByte(s[i])
		}
		return t, l.errAt(t.line, t.col, "'", "string is not closed")
	case c == '$' && l.peekByte(1) == '$':
		end := strings.Index(s[2:], "$$")
		if end < 0 {
			return t, l.errAt(t.line, t.col, "$$", "$$ string is not closed")
		}
		return finish(tString, s[2:2+end], end+4)
	case c == '?':
		return finish(tMarker, "?", 1)
	case c == ':' && isIdentStart(l.peekByte(1)):
		n := 2
		for n < len(s) && isIdentPart(s[n]) {
			n++
		}
		return finish(tNamed, strings.ToLower(s[1:n]), n)
	case c == ':' && l.peekByte(1) == '"':
		inner, err := (&lexer{src: s[1:], line: t.line, col: t.col + 1}).next()
		if err != nil {
			return t, err
		}
		return finish(tNamed, inner.text, 1+inner.end)
	case c == '<' && l.peekByte(1) == '=', c == '>' && l.peekByte(1) == '=', c == '!' && l.peekByte(1) == '=':
		return finish(tPunct, s[:2], 2)
	case strings.IndexByte("(),;.*=<>[]{}:+-/%", c) >= 0:
		return finish(tPunct, s[:1], 1)
	}
	r, _ := utf8.DecodeRuneInString(s)
	return t, l.errAt(t.line, t.col, string(r), "unexpected character")
}

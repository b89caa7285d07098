package minilm

import (
	"slices"
	"testing"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Hello World", "hello world"},
		{"Café Ångström naïve", "cafe angstrom naive"},
		{"e\u0301 vs é", "e vs e"},
		{"İstanbul ŞİŞLİ", "istanbul sisli"},
		{"tab\tnew\nline\r\n", "tab new line  "},
		{"a\u0000b\u0007c\ufffdd\u200be\u00adf", "abcdef"},
		{"no\u00a0break\u3000wide", "no break wide"},
		{"中文abc", " 中  文 abc"},
		{"東京は", " 東  京 は"},
		{"ＡＢＣ", "ａｂｃ"},
	} {
		if got := normalize(tc.in); got != tc.want {
			t.Errorf("normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPreTokenize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"hello world", []string{"hello", "world"}},
		{"  spaced   out  ", []string{"spaced", "out"}},
		{"don't stop!", []string{"don", "'", "t", "stop", "!"}},
		{"$5+3=8 a|b ^_^ `x`", []string{"$", "5", "+", "3", "=", "8", "a", "|", "b", "^", "_", "^", "`", "x", "`"}},
		{"«guillemets» — dash…", []string{"«", "guillemets", "»", "—", "dash", "…"}},
		{"€5 ✓", []string{"€5", "✓"}}, // symbols outside ASCII are not punctuation
		{"", nil},
	} {
		if got := preTokenize(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("preTokenize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestWordPiece(t *testing.T) {
	tok := &tokenizer{
		vocab:    map[string]int{"[UNK]": 0, "un": 1, "##aff": 2, "##able": 3, "a": 4, "##a": 5, "é": 6, "##é": 7},
		unk:      0,
		maxChars: 5,
		prefix:   "##",
	}
	for _, tc := range []struct {
		word string
		want []int
	}{
		{"unaff", []int{1, 2}},
		{"aaaaa", []int{4, 5, 5, 5, 5}},
		{"aaaaaa", []int{0}},    // over maxChars
		{"unx", []int{0}},       // a part in no entry makes the whole word unknown
		{"ééé", []int{6, 7, 7}}, // characters, not bytes, are counted and cut
	} {
		if got := tok.wordPiece(nil, tc.word); !slices.Equal(got, tc.want) {
			t.Errorf("wordPiece(%q) = %v, want %v", tc.word, got, tc.want)
		}
	}
}

func TestEncode(t *testing.T) {
	m := testModel(t)
	cls, sep, mask := m.tok.vocab["[CLS]"], m.tok.vocab["[SEP]"], m.tok.vocab["[MASK]"]
	for _, tc := range []struct {
		name string
		text string
		max  int
		want []int
	}{
		{"empty", "", 256, []int{cls, sep}},
		{"control only", "\u0000\u0001", 256, []int{cls, sep}},
		{"words", "hello world", 256, []int{cls, m.tok.vocab["hello"], m.tok.vocab["world"], sep}},
		{"truncated", "hello world again", 4, []int{cls, m.tok.vocab["hello"], m.tok.vocab["world"], sep}},
		{"special kept verbatim", "a[MASK]b", 256, []int{cls, m.tok.vocab["a"], mask, m.tok.vocab["b"], sep}},
		{"lower-case special is text", "[mask]", 256, []int{cls, m.tok.vocab["["], m.tok.vocab["mask"], m.tok.vocab["]"], sep}},
	} {
		if got := m.tok.encode(tc.text, tc.max); !slices.Equal(got, tc.want) {
			t.Errorf("%s: encode(%q, %d) = %v, want %v", tc.name, tc.text, tc.max, got, tc.want)
		}
	}
}

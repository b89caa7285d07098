package minilm

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/unicode/rangetable"
)

// The specials that frame every text; their ids are looked up in the
// vocabulary, not assumed.
const (
	clsToken = "[CLS]"
	sepToken = "[SEP]"
)

// tokenizer is BERT's uncased WordPiece tokenizer as Hugging Face's
// tokenizers runs it from this model's tokenizer.json: special tokens matched
// in the raw text, BertNormalizer (clean text, spaces around CJK ideographs,
// accents stripped, lower case), BertPreTokenizer (whitespace and
// punctuation), WordPiece, then [CLS] ... [SEP]. It is read-only after
// loading and safe for concurrent use.
type tokenizer struct {
	vocab    map[string]int
	specials []string // added tokens matched verbatim in the input, longest first
	unk      int
	cls, sep int
	maxChars int // longer words become [UNK]
	prefix   string
}

// tokenizerJSON is the part of tokenizer.json the tokenizer depends on.
type tokenizerJSON struct {
	AddedTokens []struct {
		ID         int    `json:"id"`
		Content    string `json:"content"`
		Special    bool   `json:"special"`
		SingleWord bool   `json:"single_word"`
		LStrip     bool   `json:"lstrip"`
		RStrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
	} `json:"added_tokens"`
	Normalizer *struct {
		Type               string `json:"type"`
		CleanText          bool   `json:"clean_text"`
		HandleChineseChars bool   `json:"handle_chinese_chars"`
		StripAccents       *bool  `json:"strip_accents"`
		Lowercase          bool   `json:"lowercase"`
	} `json:"normalizer"`
	PreTokenizer *struct {
		Type string `json:"type"`
	} `json:"pre_tokenizer"`
	Model struct {
		Type                    string         `json:"type"`
		UnkToken                string         `json:"unk_token"`
		ContinuingSubwordPrefix string         `json:"continuing_subword_prefix"`
		MaxInputCharsPerWord    int            `json:"max_input_chars_per_word"`
		Vocab                   map[string]int `json:"vocab"`
	} `json:"model"`
}

// loadTokenizer reads vocab.txt and checks that tokenizer.json describes the
// pipeline this file implements; a model that needs another one is refused.
func loadTokenizer(vocabPath, tokenizerPath string) (*tokenizer, error) {
	raw, err := os.ReadFile(tokenizerPath)
	if err != nil {
		return nil, err
	}
	var tj tokenizerJSON
	if err := json.Unmarshal(raw, &tj); err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", tokenizerPath, err)
	}
	n := tj.Normalizer
	if n == nil || n.Type != "BertNormalizer" || !n.CleanText || !n.HandleChineseChars || !n.Lowercase ||
		(n.StripAccents != nil && !*n.StripAccents) {
		return nil, fmt.Errorf("tokenizer %s: normalizer %s: want BertNormalizer with clean_text, handle_chinese_chars, lowercase and strip_accents null or true", tokenizerPath, section(tj.Normalizer))
	}
	if tj.PreTokenizer == nil || tj.PreTokenizer.Type != "BertPreTokenizer" {
		return nil, fmt.Errorf("tokenizer %s: pre_tokenizer %s: want BertPreTokenizer", tokenizerPath, section(tj.PreTokenizer))
	}
	m := tj.Model
	if m.Type != "WordPiece" || m.ContinuingSubwordPrefix == "" || m.MaxInputCharsPerWord <= 0 {
		return nil, fmt.Errorf("tokenizer %s: model %s with prefix %q and max_input_chars_per_word %d: want WordPiece", tokenizerPath, m.Type, m.ContinuingSubwordPrefix, m.MaxInputCharsPerWord)
	}
	vocab, err := readVocab(vocabPath)
	if err != nil {
		return nil, err
	}
	if len(m.Vocab) != len(vocab) {
		return nil, fmt.Errorf("tokenizer %s: %d vocabulary entries, %s has %d", tokenizerPath, len(m.Vocab), vocabPath, len(vocab))
	}
	for w, id := range m.Vocab {
		if vocab[w] != id {
			return nil, fmt.Errorf("tokenizer %s: %q is %d, %s says %d", tokenizerPath, w, id, vocabPath, vocab[w])
		}
	}
	t := &tokenizer{vocab: vocab, maxChars: m.MaxInputCharsPerWord, prefix: m.ContinuingSubwordPrefix}
	for _, a := range tj.AddedTokens {
		if a.Content == "" {
			return nil, fmt.Errorf("tokenizer %s: added token %d is empty", tokenizerPath, a.ID)
		}
		if a.Normalized || a.SingleWord || a.LStrip || a.RStrip {
			return nil, fmt.Errorf("tokenizer %s: added token %q: only verbatim ones (normalized, single_word, lstrip, rstrip false) are implemented", tokenizerPath, a.Content)
		}
		if vocab[a.Content] != a.ID {
			return nil, fmt.Errorf("tokenizer %s: added token %q is %d, %s says %d", tokenizerPath, a.Content, a.ID, vocabPath, vocab[a.Content])
		}
		t.specials = append(t.specials, a.Content)
	}
	for _, s := range []struct {
		tok string
		id  *int
	}{{m.UnkToken, &t.unk}, {clsToken, &t.cls}, {sepToken, &t.sep}} {
		id, ok := vocab[s.tok]
		if !ok {
			return nil, fmt.Errorf("tokenizer %s: no %s in %s", tokenizerPath, s.tok, vocabPath)
		}
		*s.id = id
	}
	// Longest first, so that of two specials starting at one place the
	// longer wins, as Hugging Face's leftmost-longest match does.
	for i := 1; i < len(t.specials); i++ {
		for j := i; j > 0 && len(t.specials[j]) > len(t.specials[j-1]); j-- {
			t.specials[j], t.specials[j-1] = t.specials[j-1], t.specials[j]
		}
	}
	return t, nil
}

// section renders a tokenizer.json section for an error message.
func section(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// readVocab reads one token a line; the line number is the id.
func readVocab(path string) (map[string]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vocab := make(map[string]int, 32768)
	sc := bufio.NewScanner(f)
	for id := 0; sc.Scan(); id++ {
		w := strings.TrimRight(sc.Text(), "\r")
		if _, dup := vocab[w]; dup {
			return nil, fmt.Errorf("vocab %s: line %d: %q again", path, id+1, w)
		}
		vocab[w] = id
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("vocab %s: %w", path, err)
	}
	if len(vocab) == 0 {
		return nil, fmt.Errorf("vocab %s: empty", path)
	}
	return vocab, nil
}

// encode returns the token ids of text, [CLS] first and [SEP] last, at most
// maxTokens of them: word pieces past maxTokens-2 are dropped.
func (t *tokenizer) encode(text string, maxTokens int) []int {
	ids := []int{t.cls}
	limit := maxTokens - 1
	for len(text) > 0 && len(ids) < limit {
		plain, special := t.nextSpecial(text)
		for _, w := range preTokenize(normalize(text[:plain])) {
			ids = t.wordPiece(ids, w)
			if len(ids) >= limit {
				break
			}
		}
		if special == "" {
			break
		}
		ids = append(ids, t.vocab[special])
		text = text[plain+len(special):]
	}
	if len(ids) > limit {
		ids = ids[:limit]
	}
	return append(ids, t.sep)
}

// nextSpecial finds the first special token in text: the bytes before it and
// the token, or len(text) and "" if there is none.
func (t *tokenizer) nextSpecial(text string) (int, string) {
	for i := 0; i < len(text); i++ {
		if !hasPrefixByte(t.specials, text[i]) {
			continue
		}
		for _, s := range t.specials {
			if strings.HasPrefix(text[i:], s) {
				return i, s
			}
		}
	}
	return len(text), ""
}

func hasPrefixByte(specials []string, b byte) bool {
	for _, s := range specials {
		if s[0] == b {
			return true
		}
	}
	return false
}

// wordPiece appends the pieces of one pre-token: longest vocabulary prefix
// first, continuations marked with the prefix; a word with a part that is in
// no entry, or longer than maxChars characters, is one [UNK].
func (t *tokenizer) wordPiece(ids []int, word string) []int {
	if utf8.RuneCountInString(word) > t.maxChars {
		return append(ids, t.unk)
	}
	start := len(ids)
	for pos := 0; pos < len(word); {
		end := len(word)
		id := -1
		for end > pos {
			piece := word[pos:end]
			if pos > 0 {
				piece = t.prefix + piece
			}
			if v, ok := t.vocab[piece]; ok {
				id = v
				break
			}
			_, size := utf8.DecodeLastRuneInString(word[pos:end])
			end -= size
		}
		if id < 0 {
			return append(ids[:start], t.unk)
		}
		ids = append(ids, id)
		pos = end
	}
	return ids
}

// Hugging Face's tokenizers (0.23.3) classifies characters by Unicode 8.0's
// categories (Mn, P, Cc/Cf/Co/Cs) but lower-cases with newer tables than
// Go's unicode package (Unicode 15.0), as a comparison of every code point
// shows (TestEveryCharacter). known, isMark, isControl and isPunct give the
// Unicode 8.0 answer, and lower adds the mappings Go lacks.

// unicode8 is the characters Unicode 8.0 assigned.
var unicode8 = rangetable.Assigned("8.0.0")

// known reports whether r was assigned in Unicode 8.0.
func known(r rune) bool { return unicode.Is(unicode8, r) }

// isMark is Unicode 8.0's Mn: the accents strip_accents drops. The
// characters whose category changed since are listed.
func isMark(r rune) bool {
	switch r {
	case 0x1734: // Mc since Unicode 14
		return true
	case 0x1885, 0x1886, 0xA9BD, 0x111C9: // Mn since Unicode 9, 9, 12, 11
		return false
	}
	return known(r) && unicode.Is(unicode.Mn, r)
}

// lower is unicode.ToLower plus the mappings Unicode 16 and 17 added, which
// Rust's char::to_lowercase, that tokenizers calls, has.
func lower(r rune) rune {
	switch {
	case r == 0x1C89, r == 0xA7CC, r == 0xA7CE, r == 0xA7D2, r == 0xA7D4, r == 0xA7DA:
		return r + 1
	case r == 0xA7CB:
		return 0x0264
	case r == 0xA7DC:
		return 0x019B
	case r >= 0x10D50 && r <= 0x10D65:
		return r + 0x20
	case r >= 0x16EA0 && r <= 0x16EB8:
		return r + 0x1B
	}
	return unicode.ToLower(r)
}

// normalize is BertNormalizer with clean_text, handle_chinese_chars,
// strip_accents and lowercase, in that order.
func normalize(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == 0 || r == utf8.RuneError || isControl(r):
		case isWhitespace(r):
			b.WriteByte(' ')
		case isChinese(r):
			b.WriteByte(' ')
			b.WriteRune(r)
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	cleaned := b.String()
	b.Reset()
	// NFD runs over the characters Unicode 8.0 knows; a newer one passes as
	// it is, as it does in tokenizers, whose decomposition tables predate it.
	for len(cleaned) > 0 {
		i := 0
		for i < len(cleaned) {
			r, size := utf8.DecodeRuneInString(cleaned[i:])
			if !known(r) {
				break
			}
			i += size
		}
		for _, r := range norm.NFD.String(cleaned[:i]) {
			if !isMark(r) {
				b.WriteRune(lower(r))
			}
		}
		if i < len(cleaned) {
			r, size := utf8.DecodeRuneInString(cleaned[i:])
			b.WriteRune(lower(r))
			i += size
		}
		cleaned = cleaned[i:]
	}
	return b.String()
}

// isWhitespace counts tab, newline and carriage return as whitespace, though
// they are control characters.
func isWhitespace(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || unicode.IsSpace(r)
}

// isControl is Unicode 8.0's Cc, Cf, Co and Cs, less tab, newline and
// carriage return: what clean_text drops. Unassigned characters are kept.
func isControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	return known(r) && unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs)
}

// isChinese is the CJK Unified Ideographs blocks BERT puts spaces around.
func isChinese(r rune) bool {
	return r >= 0x4E00 && r <= 0x9FFF ||
		r >= 0x3400 && r <= 0x4DBF ||
		r >= 0x20000 && r <= 0x2A6DF ||
		r >= 0x2A700 && r <= 0x2B73F ||
		r >= 0x2B740 && r <= 0x2B81F ||
		r >= 0x2B920 && r <= 0x2CEAF ||
		r >= 0xF900 && r <= 0xFAFF ||
		r >= 0x2F800 && r <= 0x2FA1F
}

// isPunct is BertPreTokenizer's punctuation: ASCII punctuation (symbols such
// as $ and + included) and Unicode 8.0's P categories, with the two
// characters that have left them since.
func isPunct(r rune) bool {
	if r < 128 {
		return r >= 33 && r <= 47 || r >= 58 && r <= 64 || r >= 91 && r <= 96 || r >= 123 && r <= 126
	}
	switch r {
	case 0x111C9, 0x166D: // Mn since Unicode 11, So since Unicode 12
		return true
	}
	return known(r) && unicode.IsPunct(r)
}

// preTokenize splits on whitespace, which it drops, and around every
// punctuation character, which becomes a word of its own.
func preTokenize(s string) []string {
	var words []string
	start := -1
	for i, r := range s {
		switch {
		case unicode.IsSpace(r):
			if start >= 0 {
				words = append(words, s[start:i])
				start = -1
			}
		case isPunct(r):
			if start >= 0 {
				words = append(words, s[start:i])
				start = -1
			}
			words = append(words, string(r))
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if start >= 0 {
		words = append(words, s[start:])
	}
	return words
}

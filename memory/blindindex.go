package memory

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"strings"
	"unicode"

	"github.com/kljensen/snowball/english"
	"golang.org/x/text/unicode/norm"
)

// The blind index lets SQLite's FTS5 rank with BM25 without plaintext on
// disk: each normalised, stemmed token is replaced by a keyed HMAC of it
// before it reaches the contentless FTS5 table. Equal words give equal
// tokens, which is what ranking needs and what docs/SECURITY.md lists as
// leaked (token-equality patterns, counts and lengths of documents).

// tokenLen is how many bytes of the HMAC each token keeps: 80 bits makes
// collisions negligible for any vocabulary a person has.
const tokenLen = 10

var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// words splits text into normalised, stemmed search terms: Unicode
// compatibility forms folded, accents removed ("café" = "cafe"), lower
// case, split on anything that is not a letter or digit, English stemming
// ("running" = "run"), and CJK ideographs and kana as one term each, since
// those scripts do not put spaces between words.
func words(text string) []string {
	folded := foldText(text)
	var out []string
	start := -1
	flush := func(end int) {
		if start >= 0 {
			if w := folded[start:end]; !stopwords[w] {
				out = append(out, stem(w))
			}
			start = -1
		}
	}
	for i, r := range folded {
		switch {
		case isCJK(r):
			flush(i)
			out = append(out, string(r))
		case isWordRune(r):
			if start < 0 {
				start = i
			}
		default:
			flush(i)
		}
	}
	flush(len(folded))
	return out
}

// stopwords are English words too common to search by: they would match
// most memories, cost BM25 a pass over each, and show in the blind index as
// the most frequent tokens.
var stopwords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a an and are as at be but by do does did for from had has have he her
		his i if in into is it its me my of on or our she so than that the their them then there these
		they this to too was we were what when where which who whom why will with you your`) {
		m[w] = true
	}
	return m
}()

// foldText lowercases and removes combining marks after compatibility
// decomposition.
func foldText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFKD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r)
}

func stem(w string) string {
	for _, r := range w {
		if r > unicode.MaxASCII {
			return w // the English stemmer mangles other scripts
		}
	}
	return english.Stem(w, false)
}

// blindTokens maps terms to their keyed tokens.
func blindTokens(key []byte, terms []string) []string {
	out := make([]string, len(terms))
	mac := hmac.New(sha256.New, key)
	for i, t := range terms {
		mac.Reset()
		mac.Write([]byte(t))
		out[i] = tokenEncoding.EncodeToString(mac.Sum(nil)[:tokenLen])
	}
	return out
}

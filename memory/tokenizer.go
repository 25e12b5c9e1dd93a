package memory

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"strings"
	"sync"
)

// blindTokenizer turns text into the blind tokens of one index, as
// blindTokens(key, words(text)) does, but remembers each word's token:
// stemming and the HMAC were most of the CPU time of applying a record,
// and the words of a person's texts repeat (a few thousand make up most of
// any text). It lives in vaultKeys, so Lock drops it with the keys; its
// size is bounded, so a vault of rare words cannot grow it without limit.
type blindTokenizer struct {
	key []byte

	mu  sync.Mutex
	m   map[string]string // folded word -> token, "" for a stopword
	mac hash.Hash         // guarded by mu
}

// maxCachedWords bounds the cache: about 5 MB at its fullest. When it is
// full it starts again empty, which keeps the common words in it soon
// enough and needs no bookkeeping per lookup.
const maxCachedWords = 1 << 16

func newBlindTokenizer(key []byte) *blindTokenizer {
	return &blindTokenizer{key: key, m: make(map[string]string), mac: hmac.New(sha256.New, key)}
}

// tokens is the text's blind tokens in order, joined by spaces: the form
// the FTS5 table takes.
func (bt *blindTokenizer) tokens(text string) string {
	var b strings.Builder
	bt.each(text, func(t string) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(t)
	})
	return b.String()
}

// list is the text's blind tokens in order, as blindTokens(key,
// words(text)) gives them: what the passage index cuts into passages.
func (bt *blindTokenizer) list(text string) []string {
	out := make([]string, 0, len(text)/8) // about one token per word
	bt.each(text, func(t string) { out = append(out, t) })
	return out
}

// each calls fn with each of the text's blind tokens in order.
func (bt *blindTokenizer) each(text string, fn func(token string)) {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	eachWord(foldText(text), func(w string, cjk bool) {
		t, ok := bt.m[w]
		if !ok {
			if cjk || !stopwords[w] {
				t = bt.tokenLocked(stemIf(w, !cjk))
			}
			if len(bt.m) >= maxCachedWords {
				clear(bt.m)
			}
			bt.m[strings.Clone(w)] = t
		}
		if t != "" {
			fn(t)
		}
	})
}

func (bt *blindTokenizer) tokenLocked(term string) string {
	bt.mac.Reset()
	bt.mac.Write([]byte(term))
	var sum [sha256.Size]byte
	return tokenEncoding.EncodeToString(bt.mac.Sum(sum[:0])[:tokenLen])
}

func stemIf(w string, do bool) string {
	if !do {
		return w
	}
	return stem(w)
}

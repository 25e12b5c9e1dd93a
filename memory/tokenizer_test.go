package memory

import (
	"strings"
	"testing"
)

// The cached tokenizer must index exactly what the uncached words and
// blindTokens give, or keyword search misses what was stored before the
// cache, or after it started again empty.
func FuzzBlindTokenizer(f *testing.F) {
	for _, s := range []string{"", "café RUNNING the runner", "東京に住んでいます", "a\u0301b", "\xff\xfe 漢", "don't-stop_me now!!", "the and of", strings.Repeat("ß", 100)} {
		f.Add(s)
	}
	key := []byte("0123456789abcdef0123456789abcdef")
	warm := newBlindTokenizer(key)
	f.Fuzz(func(t *testing.T, s string) {
		want := strings.Join(blindTokens(key, words(s)), " ")
		for _, bt := range []*blindTokenizer{newBlindTokenizer(key), warm} {
			for range 2 { // the second time from the cache
				if got := bt.tokens(s); got != want {
					t.Fatalf("tokens(%q) = %q, want %q", s, got, want)
				}
			}
		}
	})
}

func TestBlindTokenizerStaysBounded(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	bt := newBlindTokenizer(key)
	var sb strings.Builder
	for i := range maxCachedWords + 10 {
		sb.Reset()
		sb.WriteString("w")
		sb.WriteString(strings.Repeat("x", i%7))
		sb.WriteString(string(rune('a' + i%26)))
		sb.WriteString(strings.Repeat("z", i/182))
		bt.tokens(sb.String() + " common")
	}
	if n := len(bt.m); n > maxCachedWords {
		t.Fatalf("cache holds %d words, more than its bound %d", n, maxCachedWords)
	}
	if got, want := bt.tokens("running common"), strings.Join(blindTokens(key, words("running common")), " "); got != want {
		t.Fatalf("after the cache started again: %q, want %q", got, want)
	}
}

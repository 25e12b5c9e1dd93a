package memory

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"

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
	var out []string
	eachWord(foldText(text), func(w string, cjk bool) {
		switch {
		case cjk:
			out = append(out, w)
		case !stopwords[w]:
			out = append(out, stem(w))
		}
	})
	return out
}

// eachWord calls fn with each word of folded text, unstemmed, in order: a
// run of letters and digits, or one CJK ideograph or kana (cjk true).
func eachWord(folded string, fn func(w string, cjk bool)) {
	start := -1
	flush := func(end int) {
		if start >= 0 {
			fn(folded[start:end], false)
			start = -1
		}
	}
	for i := 0; i < len(folded); {
		if c := folded[i]; c < utf8.RuneSelf { // most text: no rune to decode
			if isASCIIWordByte(c) {
				if start < 0 {
					start = i
				}
			} else {
				flush(i)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(folded[i:])
		switch {
		case isCJK(r):
			flush(i)
			fn(folded[i:i+size], true)
		case isWordRune(r):
			if start < 0 {
				start = i
			}
		default:
			flush(i)
		}
		i += size
	}
	flush(len(folded))
}

func isASCIIWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || 'A' <= c && c <= 'Z'
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
	if isASCII(s) { // compatibility decomposition leaves ASCII as it is
		return strings.ToLower(s)
	}
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

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
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

// blindTable is one blind keyword index: an FTS5 table of tokens, its
// per-token document counts, and the HMAC key of its tokens.
type blindTable struct {
	index, vocab string
	key          func(*vaultKeys) []byte
	tokenizer    func(*vaultKeys) *blindTokenizer
}

// Memories and messages have an index each, so that memory search ranks
// and plans (BM25 statistics, common terms) over memories alone and never
// reads a message's row. Each has its own HMAC key, so the file does not
// show which messages share words with which memories.
var (
	memoryIndex = &blindTable{index: "blind_index", vocab: "blind_vocab",
		key:       func(k *vaultKeys) []byte { return k.index },
		tokenizer: func(k *vaultKeys) *blindTokenizer { return k.memoryTokens }}
	messageIndex = &blindTable{index: "message_index", vocab: "message_vocab",
		key:       func(k *vaultKeys) []byte { return k.messageIndex },
		tokenizer: func(k *vaultKeys) *blindTokenizer { return k.messageTokens }}
)

// blindTableOf is the index that holds records of a kind, or nil.
func blindTableOf(k Kind) *blindTable {
	switch k {
	case KindMemory:
		return memoryIndex
	case KindMessage:
		return messageIndex
	}
	return nil
}

// indexRecord brings the derived, device-local data for a record up to date
// with its current version: the blind keyword index entry (rewritten) and
// any embedding (dropped as stale; catchUp computes a new one).
func indexRecord(ctx context.Context, tx *sql.Tx, keys *vaultKeys, rid int64, r *Record, payload []byte) error {
	if r.Kind == KindMessage {
		return indexMessage(ctx, tx, keys, rid, r, payload) // passages.go
	}
	if err := unindexRecord(ctx, tx, rid, r.Kind); err != nil {
		return err
	}
	return indexNewRecord(ctx, tx, keys, rid, r, payload)
}

// indexNewRecord is indexRecord for a row inserted in this transaction,
// which has nothing to remove first (rows of records are never deleted: a
// forgotten record stays as a tombstone, so a new rid was never indexed).
// Deleting from a contentless FTS5 table costs even when the row is not in
// it: a tenth of applying a new record.
func indexNewRecord(ctx context.Context, tx *sql.Tx, keys *vaultKeys, rid int64, r *Record, payload []byte) error {
	text := indexText(r, payload)
	if text == "" {
		return nil
	}
	table := blindTableOf(r.Kind)
	_, err := tx.ExecContext(ctx, "INSERT INTO "+table.index+"(rowid, tokens) VALUES(?, ?)", rid, table.tokenizer(keys).tokens(text))
	return err
}

// unindexRecord removes a record's blind index entry and embeddings.
func unindexRecord(ctx context.Context, tx *sql.Tx, rid int64, k Kind) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM embeddings WHERE rid = ?", rid); err != nil {
		return err
	}
	if k == KindMessage {
		return unindexMessage(ctx, tx, rid) // passages.go
	}
	if table := blindTableOf(k); table != nil {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+table.index+" WHERE rowid = ?", rid); err != nil {
			return err
		}
	}
	return nil
}

// indexText is the searchable text of a record version, or "" for one that
// is not searched: tombstones, soft-forgotten memories, system and tool
// messages, other kinds, newer schemas.
func indexText(r *Record, payload []byte) string {
	if r.Deleted || r.Schema() > schemas[r.Kind] {
		return ""
	}
	switch r.Kind {
	case KindMemory:
		var p itemPayload
		if json.Unmarshal(payload, &p) != nil || p.ForgottenAt != nil {
			return ""
		}
		return p.Text + " " + strings.Join(p.Tags, " ")
	case KindMessage:
		var m messagePayload
		if json.Unmarshal(payload, &m) != nil || (m.Role != RoleUser && m.Role != RoleAssistant) {
			return ""
		}
		return m.Content
	}
	return ""
}

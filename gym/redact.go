package gym

import (
	"context"
	"net"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cairnlabs/cairn/memory"
)

// Placeholders that stand where redacted text was.
const (
	PlaceEmail  = "[EMAIL]"
	PlacePhone  = "[PHONE]"
	PlaceURL    = "[URL]"
	PlaceIP     = "[IP]"
	PlaceCard   = "[CARD]"
	PlaceSecret = "[SECRET]"
	PlaceName   = "[NAME]"
	PlacePlace  = "[PLACE]"
)

// Known is what the vault knows about the person that must not leave it:
// the names of people and the places in their memories.
type Known struct {
	Names  []string
	Places []string
}

// Redactor replaces personal data in text with typed placeholders. It is
// deterministic: the same text gives the same bytes, so a reviewed item
// hashes the same when it is rebuilt for sending.
type Redactor struct {
	known *regexp.Regexp
	kinds map[string]string // lower-cased term -> placeholder
	// odd: some term's case forms differ in length, so the regexp runs.
	odd bool
}

var (
	emailRe = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`)
	urlRe   = regexp.MustCompile(`(?i)\b(?:https?|ftp|wss?)://[^\s<>"'\x60]+`)
	// Keys and tokens that announce themselves by prefix.
	secretRe = regexp.MustCompile(`\b(?:sk|pk|rk)[-_](?:live[-_]|test[-_]|proj[-_])?[A-Za-z0-9_-]{16,}|\bgh[pousr]_[A-Za-z0-9]{20,}|\bxox[abpr]-[A-Za-z0-9-]{10,}|\bAKIA[0-9A-Z]{16}\b|\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}`)
	ipv4Re   = regexp.MustCompile(`\b(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}\b`)
	// Digit runs of card length, spaces or dashes between groups.
	cardRe = regexp.MustCompile(`\b\d(?:[ -]?\d){12,18}\b`)
	// Phone numbers: international (+…), North American (555) 123-4567,
	// and national with a trunk 0 (020 7946 0958).
	phoneRe = regexp.MustCompile(`\+\d{1,3}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?\d{1,4}(?:[\s.-]?\d{2,4}){1,4}\b|(?:\(\d{3}\)\s?|\b\d{3}[\s.-])\d{3}[\s.-]\d{4}\b|\b0\d{1,4}[\s-]\d{3,4}[\s-]?\d{3,4}\b`)
)

// NewRedactor returns a redactor for the person's known names and places.
func NewRedactor(k Known) *Redactor {
	r := &Redactor{kinds: map[string]string{}}
	var terms []string
	add := func(list []string, place string) {
		for _, t := range list {
			t = strings.TrimSpace(t)
			if utf8.RuneCountInString(t) < 2 {
				continue
			}
			key := strings.ToLower(t)
			if len(key) != len(t) || len(key) != len(strings.ToUpper(t)) {
				r.odd = true
			}
			if _, ok := r.kinds[key]; !ok {
				r.kinds[key] = place
				terms = append(terms, regexp.QuoteMeta(t))
			}
		}
	}
	add(k.Names, PlaceName)
	add(k.Places, PlacePlace)
	if len(terms) > 0 {
		// Longest first, so "Mary Ann" wins over "Mary".
		sort.Slice(terms, func(i, j int) bool {
			if len(terms[i]) != len(terms[j]) {
				return len(terms[i]) > len(terms[j])
			}
			return terms[i] < terms[j]
		})
		r.known = regexp.MustCompile(`(?i)` + strings.Join(terms, "|"))
	}
	return r
}

// Text redacts one text.
func (r *Redactor) Text(s string) string {
	s = urlRe.ReplaceAllStringFunc(s, redactURL)
	s = emailRe.ReplaceAllString(s, PlaceEmail)
	if mayHoldSecret(s) {
		s = secretRe.ReplaceAllString(s, PlaceSecret)
	}
	s = ipv4Re.ReplaceAllString(s, PlaceIP)
	if strings.Count(s, ":") >= 2 {
		s = replaceIPv6(s)
	}
	s = cardRe.ReplaceAllStringFunc(s, func(m string) string {
		if luhn(m) {
			return PlaceCard
		}
		return m
	})
	s = phoneRe.ReplaceAllStringFunc(s, func(m string) string {
		if n := digits(m); n >= 7 && n <= 15 {
			return PlacePhone
		}
		return m
	})
	if r.known != nil {
		s = r.replaceKnown(s)
	}
	return s
}

// replaceKnown replaces known terms that stand as whole words, longest
// first where they overlap.
func (r *Redactor) replaceKnown(s string) string {
	var locs [][]int
	lower := strings.ToLower(s)
	fast := len(lower) == len(s) && !r.odd
	if fast {
		// Lower-casing kept every byte offset: plain substring search.
		for term := range r.kinds {
			for from := 0; ; {
				i := strings.Index(lower[from:], term)
				if i < 0 {
					break
				}
				locs = append(locs, []int{from + i, from + i + len(term)})
				from += i + 1
			}
		}
		slices.SortFunc(locs, func(a, b []int) int {
			if a[0] != b[0] {
				return a[0] - b[0]
			}
			return b[1] - a[1] // longest first
		})
	}
	if !fast {
		locs = append(locs, r.known.FindAllStringIndex(s, -1)...)
		slices.SortFunc(locs, func(a, b []int) int {
			if a[0] != b[0] {
				return a[0] - b[0]
			}
			return b[1] - a[1]
		})
	}
	var b strings.Builder
	last := 0
	for _, loc := range locs {
		if loc[0] < last {
			continue // inside a longer match already replaced
		}
		before, _ := utf8.DecodeLastRuneInString(s[:loc[0]])
		after, _ := utf8.DecodeRuneInString(s[loc[1]:])
		if isWordChar(before) || isWordChar(after) {
			continue
		}
		b.WriteString(s[last:loc[0]])
		b.WriteString(r.kinds[strings.ToLower(s[loc[0]:loc[1]])])
		last = loc[1]
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// mayHoldSecret is a cheap test before the secret patterns run.
func mayHoldSecret(s string) bool {
	for _, p := range []string{"sk-", "sk_", "pk-", "pk_", "rk-", "rk_", "gh", "xox", "AKIA", "eyJ"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

// replaceIPv6 replaces IPv6 addresses: runs of hex digits and colons with
// at least three groups that parse as an address.
func replaceIPv6(s string) string {
	isHex := func(c byte) bool {
		return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		if !isHex(s[i]) && s[i] != ':' {
			i++
			continue
		}
		j := i
		for j < len(s) && (isHex(s[j]) || s[j] == ':') {
			j++
		}
		tok := s[i:j]
		groups := 0
		for _, g := range strings.Split(tok, ":") {
			if g != "" {
				groups++
			}
		}
		prev, _ := utf8.DecodeLastRuneInString(s[:i])
		next, _ := utf8.DecodeRuneInString(s[j:])
		if groups >= 3 && strings.Count(tok, ":") >= 2 && !isWordChar(prev) && !isWordChar(next) && net.ParseIP(tok) != nil {
			b.WriteString(s[last:i])
			b.WriteString(PlaceIP)
			last = j
		}
		i = j
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isWordChar(c rune) bool {
	return c != utf8.RuneError && (unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_')
}

// Item redacts every turn of an item.
func (r *Redactor) Item(it Item) Item {
	red := func(ts []Turn) []Turn {
		if ts == nil {
			return nil
		}
		out := make([]Turn, len(ts))
		for i, t := range ts {
			out[i] = Turn{Role: t.Role, Content: r.Text(t.Content)}
		}
		return out
	}
	it.Messages, it.Prompt, it.Chosen = red(it.Messages), red(it.Prompt), red(it.Chosen)
	it.Rejected, it.Completion = red(it.Rejected), red(it.Completion)
	if it.Reason != "" {
		it.Reason = r.Text(it.Reason)
	}
	return it
}

// redactURL keeps a plain link (scheme, host, path) and replaces one that
// carries a secret: credentials, a query or fragment, or a path segment
// that looks like a token.
func redactURL(m string) string {
	trail := ""
	for strings.ContainsAny(m[len(m)-1:], ".,;:!?)]}") && len(m) > 1 {
		trail, m = m[len(m)-1:]+trail, m[:len(m)-1]
	}
	u, err := url.Parse(m)
	if err != nil || u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.Contains(m, "?") {
		return PlaceURL + trail
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if tokenLike(seg) {
			return PlaceURL + trail
		}
	}
	if ipv4Re.MatchString(u.Hostname()) || net.ParseIP(u.Hostname()) != nil {
		return PlaceURL + trail
	}
	return m + trail
}

// tokenLike is a long run of letters and digits mixed, as keys and
// session ids are (a slug of words is not).
func tokenLike(s string) bool {
	if len(s) < 20 {
		return false
	}
	var letters, numbers int
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			numbers++
		case unicode.IsLetter(c):
			letters++
		case c == '-' || c == '_' || c == '.':
			// Slugs use dashes between words; tokens rarely do.
			if c == '-' {
				return false
			}
		default:
			return false
		}
	}
	return numbers >= 3 && letters >= 3
}

func digits(s string) int {
	n := 0
	for _, c := range s {
		if c >= '0' && c <= '9' {
			n++
		}
	}
	return n
}

// luhn checks the Luhn digit of a card-like number.
func luhn(s string) bool {
	var ds []int
	for _, c := range s {
		if c >= '0' && c <= '9' {
			ds = append(ds, int(c-'0'))
		}
	}
	if len(ds) < 13 || len(ds) > 19 {
		return false
	}
	sum := 0
	for i := range ds {
		d := ds[len(ds)-1-i]
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// KnownFromVault finds the names and places in the person's memories.
func KnownFromVault(ctx context.Context, v Vault) (Known, error) {
	items, err := v.List(ctx, memory.ListOptions{})
	if err != nil {
		return Known{}, err
	}
	var k Known
	for _, it := range items {
		kk := KnownIn(it.Text)
		k.Names = append(k.Names, kk.Names...)
		k.Places = append(k.Places, kk.Places...)
	}
	slices.Sort(k.Names)
	slices.Sort(k.Places)
	k.Names, k.Places = slices.Compact(k.Names), slices.Compact(k.Places)
	return k, nil
}

var (
	// A proper noun: capitalised words, possibly joined ("New York",
	// "Jean-Luc", "O'Brien").
	properRe = regexp.MustCompile(`\p{Lu}[\p{L}'’-]*(?:\s+\p{Lu}[\p{L}'’-]*)*`)
	placeCue = regexp.MustCompile(`(?i)\b(?:in|at|to|from|near|live[sd]?|living|born|moved|visit(?:ed|ing)?|travel(?:l?ed|l?ing)?|city|town|village|street|road|avenue)\s+(?:the\s+)?$`)
)

// notNames are capitalised words that are not names.
var notNames = wordSet(`I I'm I've I'd I'll The A An My Our Your His Her Their This That These Those It
		He She We They You Me Mr Mrs Ms Dr Monday Tuesday Wednesday Thursday Friday Saturday Sunday
		January February March April May June July August September October November December
		English French German Spanish Italian Portuguese Dutch Chinese Japanese Korean Russian Arabic
		Python Go Rust Java JavaScript TypeScript Linux Windows Mac macOS iOS Android Ollama Cairn AI
		OK Yes No Not And But Or If When What Who Where Why How Also Please Thanks Thank Likes Prefers
		User Person Favourite Favorite Christmas Easter`)

func wordSet(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[strings.ToLower(w)] = true
	}
	return m
}

// KnownIn finds capitalised names in one memory: after a place cue ("lives
// in", "from", "moved to") a place, else a person's name. A capitalised
// word that opens the text or a sentence counts only when it is not a
// common word.
func KnownIn(text string) Known {
	var k Known
	for _, loc := range properRe.FindAllStringIndex(text, -1) {
		term := strings.TrimRight(text[loc[0]:loc[1]], "'’-")
		words := strings.Fields(term)
		for len(words) > 0 && notNames[strings.ToLower(words[0])] {
			words = words[1:]
		}
		if len(words) == 0 {
			continue
		}
		term = strings.Join(words, " ")
		if placeCue.MatchString(text[:loc[0]]) {
			k.Places = append(k.Places, term)
		} else {
			k.Names = append(k.Names, term)
		}
	}
	return k
}

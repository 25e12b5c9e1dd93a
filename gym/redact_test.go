package gym

import (
	"strings"
	"testing"
)

func TestRedaction(t *testing.T) {
	r := NewRedactor(Known{Names: []string{"Anna Kowalski", "Anna", "Tomás"}, Places: []string{"Lisbon", "Rua das Flores"}})
	cases := []struct{ name, in, want string }{
		{"email", "write to anna.k+news@example.co.uk today", "write to [EMAIL] today"},
		{"two emails", "a@b.io, c.d@mail.example.org", "[EMAIL], [EMAIL]"},
		{"international phone", "call +44 20 7946 0958 now", "call [PHONE] now"},
		{"north american phone", "my cell is (555) 123-4567.", "my cell is [PHONE]."},
		{"dotted phone", "ring 555.123.4567", "ring [PHONE]"},
		{"national phone", "office: 020 7946 0958", "office: [PHONE]"},
		{"a date is no phone", "on 2024-01-15 we met", "on 2024-01-15 we met"},
		{"a year range is no phone", "from 1999 to 2004", "from 1999 to 2004"},
		{"plain url stays", "see https://go.dev/doc/effective_go.", "see https://go.dev/doc/effective_go."},
		{"url with query secret", "open https://api.example.com/v1/items?token=abc123&x=1 please", "open [URL] please"},
		{"url with credentials", "clone https://bob:hunter2@git.example.com/repo.git", "clone [URL]"},
		{"url with token path", "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX1234", "[URL]"},
		{"url with fragment", "https://app.example.com/#access_token=xyz", "[URL]"},
		{"url to an ip", "http://192.168.1.20/admin", "[URL]"},
		{"slug path stays", "https://example.com/blog/how-to-bake-bread-at-home-2024", "https://example.com/blog/how-to-bake-bread-at-home-2024"},
		{"ipv4", "the server is 10.0.0.42, port 22", "the server is [IP], port 22"},
		{"not an ipv4", "version 1.2.3 and 999.1.1.1", "version 1.2.3 and 999.1.1.1"},
		{"ipv6", "ping 2001:db8::8a2e:370:7334 now", "ping [IP] now"},
		{"c++ is no ipv6", "use std::vector here", "use std::vector here"},
		{"clock is no ipv6", "at 10:30:00 sharp", "at 10:30:00 sharp"},
		{"visa card", "card 4111 1111 1111 1111 exp 12/29", "card [CARD] exp 12/29"},
		{"card with dashes", "5500-0000-0000-0004", "[CARD]"},
		{"not luhn", "order 4111 1111 1111 1112", "order 4111 1111 1111 1112"},
		{"api key", "key sk-proj-abcdefghijklmnop1234", "key [SECRET]"},
		{"github token", "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "[SECRET]"},
		{"known name", "Anna said hi", "[NAME] said hi"},
		{"longest name first", "Anna Kowalski called", "[NAME] called"},
		{"name in any case", "ANNA and anna", "[NAME] and [NAME]"},
		{"name is a whole word", "Annabel and Annals", "Annabel and Annals"},
		{"accented name", "Tomás, come here", "[NAME], come here"},
		{"known place", "I moved to Lisbon.", "I moved to [PLACE]."},
		{"multi-word place", "she lives on Rua das Flores", "she lives on [PLACE]"},
		{"everything at once", "Anna (anna@x.org, +1 415 555 0100) in Lisbon", "[NAME] ([EMAIL], [PHONE]) in [PLACE]"},
		{"nothing to do", "What is the capital of Portugal?", "What is the capital of Portugal?"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := r.Text(c.in); got != c.want {
				t.Errorf("Text(%q)\n got %q\nwant %q", c.in, got, c.want)
			}
		})
	}
}

func TestKnownIn(t *testing.T) {
	cases := []struct {
		text          string
		names, places []string
	}{
		{"My sister Anna lives in Lisbon.", []string{"Anna"}, []string{"Lisbon"}},
		{"Works with Bob Smith at Acme in New York", []string{"Works", "Bob Smith"}, []string{"Acme", "New York"}},
		{"Prefers tea over coffee", nil, nil},
		{"I moved to Berlin in March", nil, []string{"Berlin"}},
	}
	for _, c := range cases {
		k := KnownIn(c.text)
		if strings.Join(k.Names, "|") != strings.Join(c.names, "|") || strings.Join(k.Places, "|") != strings.Join(c.places, "|") {
			t.Errorf("KnownIn(%q) = names %q places %q, want %q %q", c.text, k.Names, k.Places, c.names, c.places)
		}
	}
}

func TestLuhn(t *testing.T) {
	for s, want := range map[string]bool{"4111111111111111": true, "4111111111111112": false, "378282246310005": true, "123": false} {
		if luhn(s) != want {
			t.Errorf("luhn(%s) != %v", s, want)
		}
	}
}

func BenchmarkRedact(b *testing.B) {
	r := NewRedactor(Known{Names: []string{"Anna Kowalski", "Anna", "Bob"}, Places: []string{"Lisbon", "Porto"}})
	text := strings.Repeat("Hello Anna, the meeting in Lisbon moved; mail bob@example.com or call +351 21 123 4567. The docs are at https://example.com/docs and the box at 10.1.2.3. ", 20)
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for b.Loop() {
		r.Text(text)
	}
	b.ReportMetric(float64(len(text))*float64(b.N)/b.Elapsed().Seconds()/1e6, "MB/s")
}

package agent

import (
	"testing"
	"time"
)

func TestTimeExpressions(t *testing.T) {
	// Wednesday 2 December 2026, mid-morning.
	now := time.Date(2026, 12, 2, 10, 30, 0, 0, time.UTC)
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	cases := []struct {
		text         string
		since, until time.Time
		rest         string
	}{
		{"what did I say yesterday about the boat", day(2026, 12, 1), day(2026, 12, 2), "what did I say about the boat"},
		{"What did we plan TODAY?", day(2026, 12, 2), day(2026, 12, 3), "What did we plan ?"},
		{"the day before yesterday I mentioned a book", day(2026, 11, 30), day(2026, 12, 1), "I mentioned a book"},
		{"where did I go last May", day(2026, 5, 1), day(2026, 6, 1), "where did I go"},
		{"what happened last December", day(2025, 12, 1), day(2026, 1, 1), "what happened"},
		{"this March we moved", day(2026, 3, 1), day(2026, 4, 1), "we moved"},
		{"in May I started running", day(2026, 5, 1), day(2026, 6, 1), "I started running"},
		{"back in december we met", day(2026, 12, 1), day(2027, 1, 1), "we met"},
		{"in August I was in Rome", day(2026, 8, 1), day(2026, 9, 1), "I was in Rome"},
		{"trip in May 2023", day(2023, 5, 1), day(2023, 6, 1), "trip"},
		{"sept 2024 job change", day(2024, 9, 1), day(2024, 10, 1), "job change"},
		{"what did I read in 2023", day(2023, 1, 1), day(2024, 1, 1), "what did I read"},
		{"two weeks ago I told you", day(2026, 11, 14), day(2026, 11, 22), "I told you"},
		{"3 days ago", day(2026, 11, 28), day(2026, 12, 1), ""},
		{"a month ago we spoke", day(2026, 11, 1), day(2026, 12, 1), "we spoke"},
		{"two years ago", day(2024, 1, 1), day(2025, 1, 1), ""},
		{"last week's plan", day(2026, 11, 23), day(2026, 11, 30), "'s plan"},
		{"this week", day(2026, 11, 30), day(2026, 12, 7), ""},
		{"last month", day(2026, 11, 1), day(2026, 12, 1), ""},
		{"last year", day(2025, 1, 1), day(2026, 1, 1), ""},
		{"in the past year", day(2025, 12, 2), day(2026, 12, 3), "in the"},
	}
	for _, c := range cases {
		t.Run(c.text, func(t *testing.T) {
			p, rest, ok := whenIn(c.text, now)
			if !ok {
				t.Fatalf("no time found in %q", c.text)
			}
			if !p.Since.Equal(c.since) || !p.Until.Equal(c.until) {
				t.Fatalf("period %s .. %s, want %s .. %s", p.Since, p.Until, c.since, c.until)
			}
			if rest != c.rest {
				t.Fatalf("rest %q, want %q", rest, c.rest)
			}
		})
	}
	for _, text := range []string{"may I ask about the boat", "what is my sister's name", "the 2023 model of the car", "I marched in the parade", "in a day or two"} {
		if p, _, ok := whenIn(text, now); ok {
			t.Errorf("%q names no time, got %s .. %s", text, p.Since, p.Until)
		}
	}
}

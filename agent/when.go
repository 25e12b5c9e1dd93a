package agent

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// period is a span of time a question refers to: [Since, Until).
type period struct {
	Since, Until time.Time
}

// whenIn finds a time expression in a question ("yesterday", "last May",
// "two weeks ago", "in 2023", "last month", "May 2023") and returns the
// period it names, in now's location, and the question without it (so
// that "may" or "last" do not count as search words). ok is false when the
// question names no time.
func whenIn(text string, now time.Time) (p period, rest string, ok bool) {
	lower := strings.ToLower(text)
	for _, r := range timeRules {
		loc := r.re.FindStringSubmatchIndex(lower)
		if loc == nil {
			continue
		}
		var groups []string
		for i := 2; i < len(loc); i += 2 {
			if loc[i] < 0 {
				groups = append(groups, "")
				continue
			}
			groups = append(groups, lower[loc[i]:loc[i+1]])
		}
		p, ok := r.period(groups, now)
		if !ok {
			continue
		}
		rest := strings.Join(strings.Fields(text[:loc[0]]+" "+text[loc[1]:]), " ")
		return p, rest, true
	}
	return period{}, text, false
}

type timeRule struct {
	re     *regexp.Regexp
	period func(g []string, now time.Time) (period, bool)
}

const monthNames = `(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)`

const countWords = `(\d{1,3}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)`

// timeRules are tried in order; the first that matches wins, so the more
// specific forms come first.
var timeRules = []timeRule{
	{regexp.MustCompile(`\b(?:in\s+)?` + monthNames + `\s+(?:of\s+)?((?:19|20)\d\d)\b`), func(g []string, now time.Time) (period, bool) {
		y, _ := strconv.Atoi(g[1])
		return monthPeriod(y, month(g[0]), now.Location()), true
	}},
	{regexp.MustCompile(`\b(last|this)\s+` + monthNames + `\b`), func(g []string, now time.Time) (period, bool) {
		m := month(g[1])
		y := now.Year()
		if g[0] == "last" && m >= now.Month() || g[0] == "this" && m > now.Month() {
			y--
		}
		return monthPeriod(y, m, now.Location()), true
	}},
	// "in May" alone: the most recent May. "may" is also a verb, so the
	// bare month needs "in", "during" or "since".
	{regexp.MustCompile(`\b(?:in|during|back in)\s+` + monthNames + `\b`), func(g []string, now time.Time) (period, bool) {
		m := month(g[0])
		y := now.Year()
		if m > now.Month() {
			y--
		}
		return monthPeriod(y, m, now.Location()), true
	}},
	{regexp.MustCompile(`\b(?:in|during|back in|of)\s+((?:19|20)\d\d)\b`), func(g []string, now time.Time) (period, bool) {
		y, _ := strconv.Atoi(g[0])
		start := time.Date(y, 1, 1, 0, 0, 0, 0, now.Location())
		return period{start, start.AddDate(1, 0, 0)}, true
	}},
	{regexp.MustCompile(`\b` + countWords + `\s+(day|week|month|year)s?\s+ago\b`), func(g []string, now time.Time) (period, bool) {
		n, ok := count(g[0])
		if !ok {
			return period{}, false
		}
		day := startOfDay(now)
		switch g[1] {
		case "day":
			d := day.AddDate(0, 0, -n)
			return period{d.AddDate(0, 0, -1), d.AddDate(0, 0, 2)}, true // a day either side: people round
		case "week":
			d := day.AddDate(0, 0, -7*n)
			return period{d.AddDate(0, 0, -4), d.AddDate(0, 0, 4)}, true
		case "month":
			m := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, now.Location()).AddDate(0, -n, 0)
			return period{m, m.AddDate(0, 1, 0)}, true
		default:
			y := time.Date(now.Year()-n, 1, 1, 0, 0, 0, 0, now.Location())
			return period{y, y.AddDate(1, 0, 0)}, true
		}
	}},
	{regexp.MustCompile(`\b(?:the\s+)?(day before yesterday|yesterday|today|this morning|tonight|last night)\b`), func(g []string, now time.Time) (period, bool) {
		day := startOfDay(now)
		switch g[0] {
		case "yesterday", "last night":
			return period{day.AddDate(0, 0, -1), day}, true
		case "day before yesterday":
			return period{day.AddDate(0, 0, -2), day.AddDate(0, 0, -1)}, true
		}
		return period{day, day.AddDate(0, 0, 1)}, true
	}},
	{regexp.MustCompile(`\b(last|this|past)\s+(week|month|year)\b`), func(g []string, now time.Time) (period, bool) {
		day := startOfDay(now)
		switch g[1] {
		case "week":
			monday := day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
			if g[0] == "this" {
				return period{monday, monday.AddDate(0, 0, 7)}, true
			}
			if g[0] == "past" {
				return period{day.AddDate(0, 0, -7), day.AddDate(0, 0, 1)}, true
			}
			return period{monday.AddDate(0, 0, -7), monday}, true
		case "month":
			first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, now.Location())
			if g[0] == "this" {
				return period{first, first.AddDate(0, 1, 0)}, true
			}
			if g[0] == "past" {
				return period{day.AddDate(0, -1, 0), day.AddDate(0, 0, 1)}, true
			}
			return period{first.AddDate(0, -1, 0), first}, true
		default:
			jan := time.Date(now.Year(), 1, 1, 0, 0, 0, 0, now.Location())
			if g[0] == "this" {
				return period{jan, jan.AddDate(1, 0, 0)}, true
			}
			if g[0] == "past" {
				return period{day.AddDate(-1, 0, 0), day.AddDate(0, 0, 1)}, true
			}
			return period{jan.AddDate(-1, 0, 0), jan}, true
		}
	}},
}

func startOfDay(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

func monthPeriod(y int, m time.Month, loc *time.Location) period {
	start := time.Date(y, m, 1, 0, 0, 0, 0, loc)
	return period{start, start.AddDate(0, 1, 0)}
}

func month(name string) time.Month {
	for m := time.January; m <= time.December; m++ {
		if strings.HasPrefix(strings.ToLower(m.String()), name[:3]) {
			return m
		}
	}
	return 0
}

func count(s string) (int, bool) {
	if n, err := strconv.Atoi(s); err == nil {
		return n, n > 0
	}
	for i, w := range []string{"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"} {
		if s == w {
			return i + 1, true
		}
	}
	if s == "a" || s == "an" {
		return 1, true
	}
	return 0, false
}

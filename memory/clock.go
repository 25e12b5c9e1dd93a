package memory

import (
	"fmt"
	"time"
)

// Clock is a hybrid logical clock value: milliseconds since the Unix epoch in
// the high 48 bits and a logical counter in the low 16. Ordering by (Clock,
// origin device) is total, so every device picks the same winner.
type Clock uint64

const clockCounterBits = 16

// clockAt is the clock for a wall time with a zero counter.
func clockAt(t time.Time) Clock { return Clock(uint64(t.UnixMilli()) << clockCounterBits) }

// Time is the wall-clock part.
func (c Clock) Time() time.Time { return time.UnixMilli(int64(c >> clockCounterBits)).UTC() }

// Counter is the logical part.
func (c Clock) Counter() uint16 { return uint16(c) }

func (c Clock) String() string {
	return fmt.Sprintf("%s+%d", c.Time().Format("2006-01-02T15:04:05.000Z"), c.Counter())
}

// next is the clock for a local event given the greatest clock this vault
// has seen (its own or received): the wall time, unless that has not moved
// past what was seen, in which case one tick after it.
func nextClock(seen Clock, now time.Time) Clock {
	if c := clockAt(now); c > seen {
		return c
	}
	return seen + 1
}

// wins reports whether version a beats version b under last-writer-wins:
// the greater clock, then the greater origin device id, then the greater
// sealed bytes, so the choice is the same on every device.
func wins(a, b *Record) bool {
	if a.Clock != b.Clock {
		return a.Clock > b.Clock
	}
	if a.Origin != b.Origin {
		return a.Origin > b.Origin
	}
	return string(a.Sealed) > string(b.Sealed)
}

package portable

import (
	"errors"
	"fmt"
	"io"
)

// Limits bound what import reads from outside files, so that a hostile or
// broken file fails with a clear error instead of exhausting memory.
type Limits struct {
	// MaxDepth is the deepest JSON nesting accepted (default 64; real
	// exports nest about 10 deep).
	MaxDepth int
	// MaxString is the longest JSON string, in bytes (default 16 MiB).
	MaxString int64
	// MaxLine is the longest JSONL line, in bytes (default 32 MiB).
	MaxLine int
}

// DefaultLimits are the limits import uses unless told otherwise.
var DefaultLimits = Limits{MaxDepth: 64, MaxString: 16 << 20, MaxLine: 32 << 20}

func (l Limits) orDefault() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.MaxString <= 0 {
		l.MaxString = DefaultLimits.MaxString
	}
	if l.MaxLine <= 0 {
		l.MaxLine = DefaultLimits.MaxLine
	}
	return l
}

// ErrTooLarge marks input refused by a limit.
var ErrTooLarge = errors.New("input over a safety limit")

// GuardJSON returns a reader that passes r through and fails, with an
// error wrapping ErrTooLarge, as soon as the JSON it carries nests deeper
// than the limit or holds a longer string. It tracks only a few counters,
// so it runs ahead of the decoder at no memory cost.
func GuardJSON(r io.Reader, l Limits) io.Reader {
	return &jsonGuard{r: r, l: l.orDefault()}
}

type jsonGuard struct {
	r        io.Reader
	l        Limits
	depth    int
	inString bool
	escape   bool
	strLen   int64
	err      error
}

func (g *jsonGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	for _, c := range p[:n] {
		if g.inString {
			g.strLen++
			switch {
			case g.escape:
				g.escape = false
			case c == '\\':
				g.escape = true
			case c == '"':
				g.inString = false
			}
			if g.strLen > g.l.MaxString {
				g.err = fmt.Errorf("%w: a JSON string is over %d MiB", ErrTooLarge, g.l.MaxString>>20)
				return 0, g.err
			}
			continue
		}
		switch c {
		case '"':
			g.inString, g.strLen = true, 0
		case '[', '{':
			g.depth++
			if g.depth > g.l.MaxDepth {
				g.err = fmt.Errorf("%w: JSON nested more than %d deep", ErrTooLarge, g.l.MaxDepth)
				return 0, g.err
			}
		case ']', '}':
			g.depth--
		}
	}
	return n, err
}

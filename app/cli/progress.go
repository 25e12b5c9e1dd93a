package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/app/owner"
)

func (c *cli) isTerminalOut() bool {
	f, ok := c.Stdout.(*os.File)
	return ok && owner.Terminal{In: f}.IsTerminal()
}

// progressBar draws pull progress: a redrawn bar on a terminal, a line per
// status or per tenth of a layer otherwise.
type progressBar struct {
	w        io.Writer
	tty      bool
	status   string
	lastTick int64
	drawn    bool
}

func newProgressBar(w io.Writer, tty bool) *progressBar { return &progressBar{w: w, tty: tty} }

func (b *progressBar) update(p agent.PullProgress) {
	label := p.Status
	if p.Digest != "" {
		label = "pulling " + shortDigest(p.Digest)
	}
	if p.Total <= 0 {
		if label != b.status {
			b.finishLine()
			fmt.Fprintln(b.w, label)
			b.status = label
		}
		return
	}
	if label != b.status && p.Completed > 0 && p.Completed < p.Total {
		// A layer's bar starts empty, however far the first report is.
		b.update(agent.PullProgress{Status: p.Status, Digest: p.Digest, Total: p.Total})
	}
	pct := p.Completed * 100 / p.Total
	if b.tty {
		const width = 30
		fill := int(pct * width / 100)
		fmt.Fprintf(b.w, "\r%s %3d%% ▕%s%s▏ %s / %s ", label, pct, strings.Repeat("█", fill), strings.Repeat(" ", width-fill), humanBytes(p.Completed), humanBytes(p.Total))
		b.drawn, b.status = true, label
		return
	}
	tick := pct / 10
	if label != b.status || tick != b.lastTick || p.Completed == p.Total {
		if label == b.status && tick == b.lastTick && p.Completed == p.Total && b.drawn {
			return
		}
		fmt.Fprintf(b.w, "%s %3d%% %s / %s\n", label, pct, humanBytes(p.Completed), humanBytes(p.Total))
		b.status, b.lastTick, b.drawn = label, tick, p.Completed == p.Total
	}
}

func (b *progressBar) finishLine() {
	if b.tty && b.drawn {
		fmt.Fprintln(b.w)
		b.drawn = false
	}
}

func (b *progressBar) done() { b.finishLine() }

func shortDigest(d string) string {
	d = strings.TrimPrefix(d, "sha256:")
	if len(d) > 12 {
		d = d[:12]
	}
	return d
}

func humanBytes(n int64) string {
	switch {
	case n <= 0:
		return "0 B"
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
}

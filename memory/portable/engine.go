package portable

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"unicode/utf8"

	"github.com/cairnlabs/cairn/memory"
)

// Applier is what import needs of a vault: memory.Vault's batch form of
// Apply.
type Applier interface {
	ApplyPlain(ctx context.Context, recs []memory.PlainRecord, dryRun bool) ([]memory.PlainResult, error)
}

// Entry is one thing a source found: a record to merge, or something it
// skipped (Skip says why; What names it).
type Entry struct {
	Record *memory.PlainRecord
	What   string
	Skip   string
	// InvalidUTF8 is how many byte sequences of the input behind this
	// entry were not UTF-8: JSON decoding stores each as U+FFFD, so the
	// summary counts them rather than pass the change over in silence.
	InvalidUTF8 int
}

// Source yields entries. The same input must give the same entries in the
// same order, and records with the same ids, clocks and payloads: resuming
// an import counts on the order, and importing twice changing nothing on
// the rest.
type Source interface {
	// Walk calls emit for each entry; it stops at emit's first error and
	// returns it.
	Walk(ctx context.Context, emit func(Entry) error) error
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context, emit func(Entry) error) error

// Walk calls f.
func (f SourceFunc) Walk(ctx context.Context, emit func(Entry) error) error { return f(ctx, emit) }

// Journal remembers how many entries of a source an import has committed,
// so that an import stopped part way (cancelled, killed) resumes after
// them. Re-applying a committed batch would change nothing either (Apply is
// idempotent): the journal saves the time, not the correctness.
type Journal interface {
	Done() int
	Save(entries int) error
	Clear() error
}

// Options tune an import.
type Options struct {
	// DryRun merges each batch in a transaction that is rolled back: the
	// summary says what would happen, and nothing is written.
	DryRun bool
	// BatchSize is how many records go in one transaction (default 500).
	BatchSize int
	// Journal, when set, resumes an import stopped part way.
	Journal Journal
	// Progress, when set, is called after each batch.
	Progress func(Progress)
}

// Progress is how far an import has got.
type Progress struct {
	Entries int `json:"entries"`
	Records int `json:"records"`
	Skipped int `json:"skipped"`
	// Bytes of TotalBytes of input read, where the caller counts them
	// (importers.ImportFile does).
	Bytes      int64 `json:"bytes,omitempty"`
	TotalBytes int64 `json:"total_bytes,omitempty"`
}

// Counts are outcomes per record kind.
type Counts struct {
	New       int `json:"new"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	// Revisions are versions older than the vault's, kept as revisions.
	Revisions int `json:"revisions"`
	// Deleted are forgets applied: tombstones that arrived (a forget made
	// elsewhere), whether or not the record was here.
	Deleted int `json:"deleted"`
	Refused int `json:"refused"`
}

// Skip is a reason for skipping and how often it happened.
type Skip struct {
	Why     string   `json:"why"`
	Count   int      `json:"count"`
	Example []string `json:"examples,omitempty"`
}

// Summary is what an import did (or, in a dry run, would do).
type Summary struct {
	DryRun bool `json:"dry_run"`
	// Resumed is how many entries an earlier, stopped run had committed.
	Resumed int               `json:"resumed,omitempty"`
	Records int               `json:"records"`
	ByKind  map[string]Counts `json:"by_kind"`
	Skipped []Skip            `json:"skipped,omitempty"`
	// InvalidUTF8 is set when some of the input was not UTF-8.
	InvalidUTF8 *InvalidUTF8 `json:"invalid_utf8,omitempty"`
}

// InvalidUTF8 counts what of an input was not UTF-8 and was imported with
// U+FFFD (the replacement character) in its place.
type InvalidUTF8 struct {
	// Sequences is how many invalid byte sequences were replaced.
	Sequences int `json:"sequences"`
	// Entries is how many conversations, lines or records held one.
	Entries int      `json:"entries"`
	Example []string `json:"examples,omitempty"`
}

func (s *Summary) invalidUTF8(e Entry) {
	if e.InvalidUTF8 <= 0 {
		return
	}
	if s.InvalidUTF8 == nil {
		s.InvalidUTF8 = &InvalidUTF8{}
	}
	u := s.InvalidUTF8
	u.Sequences += e.InvalidUTF8
	u.Entries++
	what := e.What
	if what == "" && e.Record != nil {
		what = string(e.Record.Kind) + " " + e.Record.ID
	}
	if len(u.Example) < maxExamples && what != "" {
		u.Example = append(u.Example, what)
	}
}

// CountInvalidUTF8 is how many byte sequences of b are not UTF-8: each
// becomes one U+FFFD when b is decoded as JSON.
func CountInvalidUTF8(b []byte) int {
	n := 0
	for len(b) > 0 {
		if b[0] < utf8.RuneSelf {
			b = b[1:]
			continue
		}
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			n++
		}
		b = b[size:]
	}
	return n
}

// Changed is how many records were (or would be) new, updated or deleted.
func (s *Summary) Changed() int {
	n := 0
	for _, c := range s.ByKind {
		n += c.New + c.Updated + c.Deleted + c.Revisions
	}
	return n
}

// SkippedCount is the number of entries skipped or refused.
func (s *Summary) SkippedCount() int {
	n := 0
	for _, k := range s.Skipped {
		n += k.Count
	}
	return n
}

// ErrNothingToImport means the input held nothing that could be imported.
var ErrNothingToImport = errors.New("nothing to import")

const maxExamples = 3

func (s *Summary) skip(what, why string) {
	for i := range s.Skipped {
		if s.Skipped[i].Why == why {
			s.Skipped[i].Count++
			if len(s.Skipped[i].Example) < maxExamples && what != "" {
				s.Skipped[i].Example = append(s.Skipped[i].Example, what)
			}
			return
		}
	}
	k := Skip{Why: why, Count: 1}
	if what != "" {
		k.Example = []string{what}
	}
	s.Skipped = append(s.Skipped, k)
}

// Import merges what src yields into the vault, BatchSize records per
// transaction. It stops at the first error of the vault, the source or the
// context, and returns the summary so far with it: committed batches stay
// committed, and with a journal the next run resumes after them. An input
// with no record at all fails with ErrNothingToImport.
func Import(ctx context.Context, v Applier, src Source, o Options) (Summary, error) {
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	sum := Summary{DryRun: o.DryRun, ByKind: map[string]Counts{}}
	skipTo := 0
	if o.Journal != nil && !o.DryRun {
		skipTo = o.Journal.Done()
		sum.Resumed = skipTo
	}
	var (
		batch    []memory.PlainRecord
		entries  int // entries seen
		progress Progress
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		res, err := v.ApplyPlain(ctx, batch, o.DryRun)
		if err != nil {
			return err
		}
		for i, r := range res {
			kind := string(batch[i].Kind)
			c := sum.ByKind[kind]
			switch {
			case r.Err != nil:
				c.Refused++
				sum.skip(kind+" "+batch[i].ID, refusal(r.Err))
			case batch[i].Deleted && (r.Outcome == memory.Inserted || r.Outcome == memory.Replaced):
				// A forget that arrives: nothing new to show, one fewer
				// (or none) of what the person has.
				c.Deleted++
			case r.Outcome == memory.Inserted:
				c.New++
			case r.Outcome == memory.Replaced:
				c.Updated++
			case r.Outcome == memory.KeptAsRevision:
				c.Revisions++
			case r.Outcome == memory.Forgotten:
				c.Deleted++
			default:
				c.Unchanged++
			}
			sum.ByKind[kind] = c
		}
		batch = batch[:0]
		if o.Journal != nil && !o.DryRun {
			if err := o.Journal.Save(entries); err != nil {
				return fmt.Errorf("save import progress: %w", err)
			}
		}
		progress.Skipped = sum.SkippedCount()
		if o.Progress != nil {
			o.Progress(progress)
		}
		return nil
	}
	err := src.Walk(ctx, func(e Entry) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		entries++
		progress.Entries = entries
		sum.invalidUTF8(e)
		if entries <= skipTo {
			if e.Record != nil {
				sum.Records++
				progress.Records++
			}
			return nil
		}
		if e.Record == nil {
			sum.skip(e.What, e.Skip)
			return nil
		}
		sum.Records++
		progress.Records++
		batch = append(batch, *e.Record)
		if len(batch) >= o.BatchSize {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	sort.SliceStable(sum.Skipped, func(i, j int) bool { return sum.Skipped[i].Count > sum.Skipped[j].Count })
	if err != nil {
		return sum, err
	}
	if sum.Records == 0 {
		why := "the input holds no conversations, messages or memories"
		if len(sum.Skipped) > 0 {
			why = fmt.Sprintf("every one of %d entries was skipped (first reason: %s)", sum.SkippedCount(), sum.Skipped[0].Why)
		}
		return sum, fmt.Errorf("%w: %s; nothing was changed", ErrNothingToImport, why)
	}
	if o.Journal != nil && !o.DryRun {
		if err := o.Journal.Clear(); err != nil {
			return sum, fmt.Errorf("clear import progress: %w", err)
		}
	}
	return sum, nil
}

// refusal is the reason a record was refused, without its id (the example
// names it), so that reasons group.
func refusal(err error) string {
	msg := err.Error()
	const prefix = "invalid input: "
	if len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
		msg = msg[len(prefix):]
	}
	msg = recordPrefix.ReplaceAllString(msg, "")
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return "refused: " + msg
}

var recordPrefix = regexp.MustCompile(`record [0-9A-Za-z_-]+( \([a-z]+\))?:? ?`)

package portable

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cairnlabs/cairn/memory"
)

// The check: export, import into a fresh home, export again: the
// same records, field for field (and here byte for byte).
func TestJSONLRoundTrip(t *testing.T) {
	a := newVault(t)
	fill(t, a)
	first := exportJSONL(t, a, Filter{})
	b := newVault(t)
	sum := importJSONL(t, b, first, Options{BatchSize: 3})
	if c := total(sum); c.New+c.Deleted != sum.Records || c.Refused != 0 {
		t.Fatalf("import into a fresh home: %+v of %d records; skipped %+v", c, sum.Records, sum.Skipped)
	}
	second := exportJSONL(t, b, Filter{})
	if !bytes.Equal(first, second) {
		t.Fatalf("the second export differs from the first:\n%s\n---\n%s", first, second)
	}
	// What a person sees is the same too.
	items, _ := b.List(context.Background(), memory.ListOptions{})
	if len(items) != 2 {
		t.Fatalf("imported vault lists %d memories, want 2 (the forgotten one stays forgotten)", len(items))
	}
	res, err := b.Search(context.Background(), memory.Query{Text: "sister Lisbon", Mode: memory.Keyword})
	if err != nil || len(res) != 1 || !strings.Contains(res[0].Item.Text, "Ana") {
		t.Fatalf("search in the imported vault: %v, %+v", err, res)
	}
	// And importing again changes nothing, in the source vault too.
	for _, v := range []*memory.Vault{a, b} {
		before, _ := v.LastSeq(context.Background())
		again := importJSONL(t, v, first, Options{})
		if c := total(again); c.Unchanged != again.Records {
			t.Fatalf("importing the same file twice changed something: %+v", c)
		}
		after, _ := v.LastSeq(context.Background())
		if before != after {
			t.Fatalf("a repeated import wrote to the vault (seq %d -> %d)", before, after)
		}
	}
}

func TestPlainMemoriesFile(t *testing.T) {
	v := newVault(t)
	file := []byte(`{"text": "Allergic to peanuts", "kind": "fact", "tags": ["Health"], "created_at": "2024-03-01T10:00:00Z"}
{"text": "Likes jazz"}

{"text": "   "}
{"kind": "fact"}
not json at all
{"text": "Writes Go at work", "kind": "skill"}
`)
	sum := importJSONL(t, v, file, Options{})
	c := total(sum)
	if c.New != 2 || c.Refused != 1 || sum.SkippedCount() != 4 {
		t.Fatalf("counts %+v, skipped %+v", c, sum.Skipped)
	}
	items, _ := v.List(context.Background(), memory.ListOptions{})
	var tags []string
	for _, it := range items {
		if it.Source != memory.SourceImport {
			t.Errorf("memory %q has source %q, want import", it.Text, it.Source)
		}
		tags = append(tags, it.Tags...)
	}
	if len(items) != 2 || len(tags) != 1 || tags[0] != "health" {
		t.Fatalf("memories %+v", items)
	}
	again := importJSONL(t, v, file, Options{})
	if c := total(again); c.New != 0 || c.Unchanged != 2 {
		t.Fatalf("second import of the same memories: %+v (a memory without a date must not come back twice)", c)
	}
}

func TestNothingToImportFails(t *testing.T) {
	v := newVault(t)
	for _, in := range []string{"", "\n\n", "hello\nworld\n", `{"cairn":"jsonl","version":1}` + "\n"} {
		_, err := Import(context.Background(), v, JSONLSource(strings.NewReader(in), Limits{}), Options{})
		if !errors.Is(err, ErrNothingToImport) {
			t.Errorf("import of %q: %v, want ErrNothingToImport", in, err)
		}
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	a := newVault(t)
	fill(t, a)
	data := exportJSONL(t, a, Filter{})
	b := newVault(t)
	sum := importJSONL(t, b, data, Options{DryRun: true, BatchSize: 2})
	if c := total(sum); c.New+c.Deleted != sum.Records || !sum.DryRun {
		t.Fatalf("dry run: %+v", c)
	}
	if seq, _ := b.LastSeq(context.Background()); seq != 0 {
		t.Fatalf("a dry run wrote %d changes", seq)
	}
}

func TestExportFilter(t *testing.T) {
	v := newVault(t)
	fill(t, v)
	ctx := context.Background()
	only := func(f Filter) map[string]int {
		var buf bytes.Buffer
		w, _ := NewJSONLWriter(&buf)
		sum, err := Export(ctx, v, f, w)
		if err != nil {
			t.Fatal(err)
		}
		return sum.ByKind
	}
	if got := only(Filter{Tags: []string{"FAMILY"}}); got["memory"] != 1 || len(got) != 1 {
		t.Errorf("tag filter: %v", got)
	}
	if got := only(Filter{Kinds: []memory.Kind{memory.KindConversation, memory.KindMessage}}); got["conversation"] != 1 || got["message"] != 3 || len(got) != 2 {
		t.Errorf("kind filter: %v", got)
	}
	convs, _ := v.Conversations(ctx, 0)
	if got := only(Filter{Until: convs[0].CreatedAt}); got["conversation"] != 0 || got["message"] != 0 || got["memory"] != 2 {
		t.Errorf("until the conversation started: %v", got)
	}
	if got := only(Filter{Since: convs[0].CreatedAt}); got["conversation"] != 1 || got["message"] != 3 || got["feedback"] != 1 {
		t.Errorf("since the conversation started: %v", got)
	}
}

func TestRefusesBadRecords(t *testing.T) {
	v := newVault(t)
	lines := strings.Join([]string{
		`{"id":"a1","kind":"memory","schema":2,"clock":"1","origin":"dev","payload":{"kind":"fact","text":"","created_at":"2024-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z"}}`,
		`{"id":"a2","kind":"memory","schema":2,"clock":"18446744073709551615","origin":"dev","payload":{"kind":"fact","text":"future","created_at":"2024-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z"}}`,
		`{"id":"../x","kind":"memory","schema":2,"clock":"5","origin":"dev","payload":{}}`,
		`{"id":"a3","kind":"message","schema":1,"clock":"5","origin":"dev","payload":{"conversation_id":"c","created_at":"2024-01-01T00:00:00Z","role":"wizard","content":"hi"}}`,
		`{"id":"a4","kind":"memory","schema":2,"clock":"99","origin":"dev","payload":{"kind":"fact","text":"fine","created_at":"2024-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z"}}`,
		`{"id":"a5","kind":"gadget","schema":7,"clock":"99","origin":"dev","payload":{"anything":"from a newer build"}}`,
	}, "\n")
	sum := importJSONL(t, v, []byte(lines), Options{})
	c := total(sum)
	if c.New != 2 || c.Refused != 4 {
		t.Fatalf("%+v; skipped %+v", c, sum.Skipped)
	}
}

// memJournal is a Journal in memory.
type memJournal struct{ done, cleared int }

func (j *memJournal) Done() int        { return j.done }
func (j *memJournal) Save(n int) error { j.done = n; return nil }
func (j *memJournal) Clear() error     { j.cleared++; j.done = 0; return nil }

// Cancelled between batches: what was committed stays, the journal says
// how far, and the next run resumes there and ends with everything once.
func TestCancelThenResume(t *testing.T) {
	var lines strings.Builder
	for i := range 50 {
		fmt.Fprintf(&lines, `{"text":"note %d","created_at":"2024-01-01T00:00:%02dZ"}`+"\n", i, i)
	}
	v := newVault(t)
	ctx, cancel := context.WithCancel(context.Background())
	j := &memJournal{}
	batches := 0
	_, err := Import(ctx, v, JSONLSource(strings.NewReader(lines.String()), Limits{}), Options{BatchSize: 10, Journal: j, Progress: func(Progress) {
		if batches++; batches == 2 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || j.done != 20 {
		t.Fatalf("cancelled import: %v, journal at %d", err, j.done)
	}
	if items, _ := v.List(context.Background(), memory.ListOptions{}); len(items) != 20 {
		t.Fatalf("%d memories after two batches", len(items))
	}
	sum, err := Import(context.Background(), v, JSONLSource(strings.NewReader(lines.String()), Limits{}), Options{BatchSize: 10, Journal: j})
	if err != nil || sum.Resumed != 20 || total(sum).New != 30 || j.cleared != 1 {
		t.Fatalf("resumed: %v %+v %+v", err, sum, total(sum))
	}
	if items, _ := v.List(context.Background(), memory.ListOptions{}); len(items) != 50 {
		t.Fatalf("%d memories after resuming", len(items))
	}
}

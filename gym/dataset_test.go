package gym

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// checkTRLRow fails unless line is a TRL conversational row of format f:
// exactly its keys, turns with a role and content, prompts ending with the
// user and completions with the assistant.
func checkTRLRow(t *testing.T, f Format, line string) map[string]json.RawMessage {
	t.Helper()
	var row map[string]json.RawMessage
	if err := json.Unmarshal([]byte(line), &row); err != nil {
		t.Fatalf("%s row is not a JSON object: %v\n%s", f, err, line)
	}
	want := map[Format][]string{SFT: {"messages"}, DPO: {"chosen", "prompt", "rejected"}, KTO: {"completion", "label", "prompt"}}[f]
	var keys []string
	for k := range row {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, want) {
		t.Fatalf("%s row has keys %v, want %v: %s", f, keys, want, line)
	}
	turns := func(name, last string) {
		var ts []map[string]string
		if err := json.Unmarshal(row[name], &ts); err != nil || len(ts) == 0 {
			t.Fatalf("%s.%s is not a list of turns: %s", f, name, row[name])
		}
		for _, tt := range ts {
			if len(tt) != 2 || tt["content"] == "" || !slices.Contains([]string{"system", "user", "assistant"}, tt["role"]) {
				t.Fatalf("%s.%s has a bad turn %v", f, name, tt)
			}
		}
		if ts[len(ts)-1]["role"] != last {
			t.Fatalf("%s.%s ends with %s, want %s", f, name, ts[len(ts)-1]["role"], last)
		}
	}
	switch f {
	case SFT:
		turns("messages", "assistant")
	case DPO:
		turns("prompt", "user")
		turns("chosen", "assistant")
		turns("rejected", "assistant")
	case KTO:
		turns("prompt", "user")
		turns("completion", "assistant")
		var b bool
		if err := json.Unmarshal(row["label"], &b); err != nil {
			t.Fatalf("kto label is not a bool: %s", row["label"])
		}
	}
	return row
}

func TestDatasetsFromFeedback(t *testing.T) {
	ctx := testCtx(t)
	v := newFeedbackVault(t)
	want := map[Format][]string{
		// The correction, and the reply rated good (also preferred: one row).
		SFT: {correction, goodReply},
		// Correction over the bad reply; preferred over its sibling (the
		// good-over-bad rating pair is the same row).
		DPO: {correction + " > " + badReply, goodReply + " > " + badReply},
		KTO: {badReply + "=false", correction + "=true", goodReply + "=true"},
	}
	for _, f := range Formats {
		exs, err := Examples(ctx, v, f)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		var items []Item
		for _, ex := range exs {
			items = append(items, ex.Item)
			switch f {
			case SFT:
				got = append(got, ex.Messages[len(ex.Messages)-1].Content)
			case DPO:
				got = append(got, ex.Chosen[0].Content+" > "+ex.Rejected[0].Content)
			case KTO:
				label := "false"
				if *ex.Label {
					label = "true"
				}
				got = append(got, ex.Completion[0].Content+"="+label)
			}
		}
		slices.Sort(got)
		slices.Sort(want[f])
		if !slices.Equal(got, want[f]) {
			t.Errorf("%s examples:\n got %q\nwant %q", f, got, want[f])
		}
		var buf bytes.Buffer
		if err := WriteJSONL(&buf, items); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			checkTRLRow(t, f, line)
		}
	}
}

func TestCandidatesAreRedacted(t *testing.T) {
	ctx := testCtx(t)
	v := newFeedbackVault(t)
	c := newContributor(t)
	cands, err := c.Candidates(ctx, v, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cands) != 7 {
		t.Fatalf("%d candidates, want 2 SFT + 2 DPO + 3 KTO", len(cands))
	}
	for _, cand := range cands {
		s := string(cand.Item)
		for _, leak := range []string{"anna@example.com", "Anna", "Lisbon", "123 4567"} {
			if strings.Contains(s, leak) {
				t.Errorf("candidate leaks %q: %s", leak, s)
			}
		}
		if !strings.Contains(s, "[EMAIL]") || !strings.Contains(s, "[NAME]") {
			t.Errorf("candidate lacks placeholders: %s", s)
		}
		if Hash(cand.Item) != cand.Hash {
			t.Errorf("hash %s is not that of the item's bytes", cand.Hash)
		}
		if _, err := DecodeItem(cand.Item); err != nil {
			t.Errorf("candidate does not decode as an item: %v", err)
		}
	}
}

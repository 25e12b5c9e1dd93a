package gym

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// TestExportParquet: the accepted items leave as Parquet in TRL's
// columns with provenance, read back row by row with the Parquet
// library; rejected and revoked items stay out; the dataset card says
// how to load it.
func TestExportParquet(t *testing.T) {
	ctx := testCtx(t)
	gym := startGym(t, NodeConfig{Name: "pq-gym", License: testLicense})
	alice := newContributor(t)
	ga, _ := alice.AddGym(ctx, gym.url)
	cands, err := alice.Candidates(ctx, newFeedbackVault(t), &ga)
	if err != nil {
		t.Fatal(err)
	}
	rec := send(t, alice, ga, cands...)
	if err := gym.Reject(ctx, cands[0].Hash, "test rejection"); err != nil {
		t.Fatal(err)
	}
	// Alice withdraws another: it stays out too.
	if _, err := alice.Revoke(ctx, ga, []string{cands[len(cands)-1].Hash}); err != nil {
		t.Fatal(err)
	}
	if r, err := alice.Send(ctx, false); err != nil || r.Delivered != 1 {
		t.Fatalf("revocation: %+v, %v", r, err)
	}
	dir := t.TempDir()
	rep, err := gym.ExportParquet(ctx, dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows[SFT]+rep.Rows[DPO]+rep.Rows[KTO] != len(cands)-2 || rep.License != testLicense {
		t.Fatalf("rows %v under %q, want %d (one rejected, one revoked) under %s", rep.Rows, rep.License, len(cands)-2, testLicense)
	}
	index := map[string]int64{}
	for _, it := range rec.Items {
		index[it.Hash] = *it.LogIndex
	}
	want := map[string]Item{}
	for _, c := range cands[1 : len(cands)-1] {
		it, _ := DecodeItem(c.Item)
		want[c.Hash] = it
	}
	check := func(hash string, logIndex int64, contributor, license string, got Item) {
		t.Helper()
		w, ok := want[hash]
		if !ok {
			t.Fatalf("row %s is not an accepted, unrejected item", hash)
		}
		delete(want, hash)
		if logIndex != index[hash] || contributor != string(ga.Contributor) || license != testLicense {
			t.Errorf("provenance of %s: index %d (want %d), %s, %s", hash, logIndex, index[hash], contributor, license)
		}
		if string(got.Encode()) != string(w.Encode()) {
			t.Errorf("row %s:\n got  %s\n want %s", hash, got.Encode(), w.Encode())
		}
	}
	turns := func(ts []pqTurn) []Turn {
		var out []Turn
		for _, x := range ts {
			out = append(out, Turn(x))
		}
		return out
	}
	sft, err := parquet.ReadFile[sftRow](filepath.Join(dir, "sft", "train-00000-of-00001.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sft {
		check(r.ItemHash, r.LogIndex, r.Contributor, r.License, Item{Format: SFT, Messages: turns(r.Messages)})
	}
	dpo, err := parquet.ReadFile[dpoRow](filepath.Join(dir, "dpo", "train-00000-of-00001.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range dpo {
		check(r.ItemHash, r.LogIndex, r.Contributor, r.License, Item{Format: DPO, Prompt: turns(r.Prompt), Chosen: turns(r.Chosen), Rejected: turns(r.Rejected)})
	}
	kto, err := parquet.ReadFile[ktoRow](filepath.Join(dir, "kto", "train-00000-of-00001.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range kto {
		label := r.Label
		check(r.ItemHash, r.LogIndex, r.Contributor, r.License, Item{Format: KTO, Prompt: turns(r.Prompt), Completion: turns(r.Completion), Label: &label})
	}
	if len(want) != 0 {
		t.Fatalf("%d items missing from the export", len(want))
	}
	// The column names are TRL's, and the lists are Parquet LISTs.
	f, err := os.Open(filepath.Join(dir, "dpo", "train-00000-of-00001.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fl := range pf.Schema().Fields() {
		names = append(names, fl.Name())
	}
	for _, c := range []string{"prompt", "chosen", "rejected", "item_hash", "log_index", "contributor", "score", "license"} {
		if !slices.Contains(names, c) {
			t.Errorf("no column %s in %v", c, names)
		}
	}
	if !strings.Contains(pf.Schema().String(), "(LIST)") {
		t.Errorf("the turns are not Parquet LISTs:\n%s", pf.Schema())
	}
	card, _ := os.ReadFile(filepath.Join(dir, "README.md"))
	for _, s := range []string{"license: cc-by-4.0", "config_name: dpo", `load_dataset("parquet", data_dir=`, "DPOTrainer"} {
		if !strings.Contains(string(card), s) {
			t.Errorf("the dataset card lacks %q:\n%s", s, card)
		}
	}
}

package gym

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// Parquet export: Hugging Face datasets-compatible shards, one folder a
// format, in TRL's column names, each row with its provenance (item
// hash, log index, contributor key, its score, licence). Revoked and
// rejected items stay out; README.md is the dataset card.

// ParquetShardRows is the most rows one shard holds.
const ParquetShardRows = 100_000

type pqTurn struct {
	Role    string `parquet:"role"`
	Content string `parquet:"content"`
}

type pqRating struct {
	Name  string `parquet:"name"`
	Score int64  `parquet:"score"`
}

// The row types: TRL's columns, then provenance.
type (
	sftRow struct {
		Messages    []pqTurn `parquet:"messages,list"`
		ItemHash    string   `parquet:"item_hash"`
		LogIndex    int64    `parquet:"log_index"`
		Contributor string   `parquet:"contributor"`
		Score       float64  `parquet:"score"`
		License     string   `parquet:"license"`
		Task        string   `parquet:"task"`
	}
	dpoRow struct {
		Prompt      []pqTurn `parquet:"prompt,list"`
		Chosen      []pqTurn `parquet:"chosen,list"`
		Rejected    []pqTurn `parquet:"rejected,list"`
		Reason      string   `parquet:"reason"`
		ItemHash    string   `parquet:"item_hash"`
		LogIndex    int64    `parquet:"log_index"`
		Contributor string   `parquet:"contributor"`
		Score       float64  `parquet:"score"`
		License     string   `parquet:"license"`
		Task        string   `parquet:"task"`
	}
	ktoRow struct {
		Prompt      []pqTurn `parquet:"prompt,list"`
		Completion  []pqTurn `parquet:"completion,list"`
		Label       bool     `parquet:"label"`
		ItemHash    string   `parquet:"item_hash"`
		LogIndex    int64    `parquet:"log_index"`
		Contributor string   `parquet:"contributor"`
		Score       float64  `parquet:"score"`
		License     string   `parquet:"license"`
		Task        string   `parquet:"task"`
	}
	ratingRow struct {
		Prompt      []pqTurn   `parquet:"prompt,list"`
		Completion  []pqTurn   `parquet:"completion,list"`
		Ratings     []pqRating `parquet:"ratings,list"`
		ItemHash    string     `parquet:"item_hash"`
		LogIndex    int64      `parquet:"log_index"`
		Contributor string     `parquet:"contributor"`
		Score       float64    `parquet:"score"`
		License     string     `parquet:"license"`
		Task        string     `parquet:"task"`
	}
	labelRow struct {
		Prompt      []pqTurn `parquet:"prompt,list"`
		Completion  []pqTurn `parquet:"completion,list"`
		Labels      []string `parquet:"labels,list"`
		ItemHash    string   `parquet:"item_hash"`
		LogIndex    int64    `parquet:"log_index"`
		Contributor string   `parquet:"contributor"`
		Score       float64  `parquet:"score"`
		License     string   `parquet:"license"`
		Task        string   `parquet:"task"`
	}
)

func pqTurns(ts []Turn) []pqTurn {
	out := make([]pqTurn, len(ts))
	for i, t := range ts {
		out[i] = pqTurn(t)
	}
	return out
}

// ParquetReport counts the rows written, by format.
type ParquetReport struct {
	Rows  map[Format]int `json:"rows"`
	Files []string       `json:"files"`
	// License is the one licence the rows were given under ("other" when
	// they differ: each row's license column says).
	License string `json:"license"`
}

// ExportParquet writes the live items whose contributor scores at least
// minScore as Parquet shards under dir (dir/FORMAT/train-NNNNN-of-NNNNN.parquet)
// and a dataset card, dir/README.md. Items stream from the database to
// the shards: memory holds a shard's row group, not the export.
func (n *Node) ExportParquet(ctx context.Context, dir string, minScore float64) (ParquetReport, error) {
	rep := ParquetReport{Rows: map[Format]int{}}
	sc, err := n.scorer(ctx)
	if err != nil {
		return rep, err
	}
	scores, err := sc.all(ctx)
	if err != nil {
		return rep, err
	}
	x := &pqExport{n: n, dir: dir, scores: scores, minScore: minScore, rep: &rep}
	for _, f := range append(append([]Format{}, Formats...), TaskFormats...) {
		switch f {
		case SFT:
			err = exportFormat(ctx, x, f, func(it Item, s StoredItem) sftRow {
				return sftRow{pqTurns(it.Messages), s.Hash, s.LogIndex, string(s.Contributor), s.Score, s.License, it.Task}
			})
		case DPO:
			err = exportFormat(ctx, x, f, func(it Item, s StoredItem) dpoRow {
				return dpoRow{pqTurns(it.Prompt), pqTurns(it.Chosen), pqTurns(it.Rejected), it.Reason, s.Hash, s.LogIndex, string(s.Contributor), s.Score, s.License, it.Task}
			})
		case KTO:
			err = exportFormat(ctx, x, f, func(it Item, s StoredItem) ktoRow {
				return ktoRow{pqTurns(it.Prompt), pqTurns(it.Completion), it.Label != nil && *it.Label, s.Hash, s.LogIndex, string(s.Contributor), s.Score, s.License, it.Task}
			})
		case Rating:
			err = exportFormat(ctx, x, f, func(it Item, s StoredItem) ratingRow {
				names := make([]string, 0, len(it.Ratings))
				for k := range it.Ratings {
					names = append(names, k)
				}
				sort.Strings(names)
				var rs []pqRating
				for _, k := range names {
					rs = append(rs, pqRating{k, int64(it.Ratings[k])})
				}
				return ratingRow{pqTurns(it.Prompt), pqTurns(it.Completion), rs, s.Hash, s.LogIndex, string(s.Contributor), s.Score, s.License, it.Task}
			})
		case Label:
			err = exportFormat(ctx, x, f, func(it Item, s StoredItem) labelRow {
				return labelRow{pqTurns(it.Prompt), pqTurns(it.Completion), it.Labels, s.Hash, s.LogIndex, string(s.Contributor), s.Score, s.License, it.Task}
			})
		}
		if err != nil {
			return rep, fmt.Errorf("write %s parquet: %w", f, err)
		}
	}
	card := datasetCard(n.cfg.Name, n.cfg.Description, rep.License, n.id, minScore, rep.Rows)
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte(card), 0o644); err != nil {
		return rep, err
	}
	return rep, nil
}

// pqExport is one export in progress.
type pqExport struct {
	n        *Node
	dir      string
	scores   map[PublicKey]Record
	minScore float64
	rep      *ParquetReport
}

// exportFormat streams one format's items into shards of
// ParquetShardRows rows, written as part files and named
// train-NNNNN-of-NNNNN once their number is known.
func exportFormat[T any](ctx context.Context, x *pqExport, f Format, row func(Item, StoredItem) T) error {
	sub := filepath.Join(x.dir, string(f))
	var parts []string
	var file *os.File
	var w *parquet.GenericWriter[T]
	batch := make([]T, 0, 1024)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := w.Write(batch)
		batch = batch[:0]
		return err
	}
	closeShard := func() error {
		if w == nil {
			return nil
		}
		err := errors.Join(flush(), w.Close(), file.Close())
		w, file = nil, nil
		return err
	}
	rows := 0
	err := x.n.eachItem(ctx, f, func(s StoredItem) error {
		s.Score = x.scores[s.Contributor].Score
		if s.Score < x.minScore {
			return nil
		}
		// The gym checked each item's schema and canonical bytes when it
		// took it: a plain decode is enough here, and a third of the cost.
		var it Item
		if err := json.Unmarshal(s.Raw, &it); err != nil {
			return fmt.Errorf("stored item %.16s… is damaged: %w", s.Hash, err)
		}
		if rows%ParquetShardRows == 0 {
			if err := closeShard(); err != nil {
				return err
			}
			if err := os.MkdirAll(sub, 0o755); err != nil {
				return err
			}
			part := filepath.Join(sub, fmt.Sprintf("part-%05d.tmp", len(parts)))
			var err error
			if file, err = os.Create(part); err != nil {
				return err
			}
			parts = append(parts, part)
			w = parquet.NewGenericWriter[T](file)
		}
		rows++
		switch lic := &x.rep.License; {
		case *lic == "":
			*lic = s.License
		case *lic != s.License:
			*lic = "other"
		}
		if batch = append(batch, row(it, s)); len(batch) == cap(batch) {
			return flush()
		}
		return nil
	})
	if err = errors.Join(err, closeShard()); err != nil {
		return err
	}
	for i, part := range parts {
		name := filepath.Join(sub, fmt.Sprintf("train-%05d-of-%05d.parquet", i, len(parts)))
		if err := os.Rename(part, name); err != nil {
			return err
		}
		x.rep.Files = append(x.rep.Files, name)
	}
	if rows > 0 {
		x.rep.Rows[f] = rows
	}
	return nil
}

var trlColumns = map[Format]string{
	SFT: "`messages`", DPO: "`prompt`, `chosen`, `rejected` (and `reason`)", KTO: "`prompt`, `completion`, `label`",
	Rating: "`prompt`, `completion`, `ratings` (list of `name`, `score`)", Label: "`prompt`, `completion`, `labels`",
}

func datasetCard(name, desc, license, gymID string, minScore float64, rows map[Format]int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "---\nlicense: %s\nconfigs:\n", strings.ToLower(license))
	var formats []Format
	for _, f := range append(append([]Format{}, Formats...), TaskFormats...) {
		if rows[f] > 0 {
			formats = append(formats, f)
			fmt.Fprintf(&b, "- config_name: %s\n  data_files:\n  - split: train\n    path: %s/*.parquet\n", f, f)
		}
	}
	fmt.Fprintf(&b, "---\n\n# %s\n\n%s\n\nContributions accepted by the Cairn gym `%s`, signed by each contributor's pseudonymous key, reviewed and redacted on the contributor's device, and given under the licence **%s**. Revoked and rejected items are left out", name, desc, gymID, license)
	if minScore > 0 {
		fmt.Fprintf(&b, ", and so are items whose contributor scores under %.2f", minScore)
	}
	b.WriteString(".\n\n| config | rows | TRL columns |\n|---|---|---|\n")
	for _, f := range formats {
		fmt.Fprintf(&b, "| %s | %d | %s |\n", f, rows[f], trlColumns[f])
	}
	b.WriteString(`
Every row also has its provenance: ` + "`item_hash`" + ` (SHA-256 of the item's signed bytes),
` + "`log_index`" + ` (its leaf in the gym's public transparency log: check it against the
gym's signed checkpoint), ` + "`contributor`" + ` (the key that signed it), ` + "`score`" + `
(that key's score, 0 to 1), ` + "`license`" + ` and ` + "`task`" + ` (the gym task it answers, if any).

## Load it

` + "```python" + `
from datasets import load_dataset
ds = load_dataset("parquet", data_dir="THIS_FOLDER/dpo", split="train")

from trl import DPOConfig, DPOTrainer
trainer = DPOTrainer(model=model, args=DPOConfig(output_dir="out"), train_dataset=ds.select_columns(["prompt", "chosen", "rejected"]), processing_class=tokenizer)
` + "```" + `

Use ` + "`sft`" + ` with ` + "`SFTTrainer`" + ` and ` + "`kto`" + ` with ` + "`KTOTrainer`" + ` the same way.
`)
	return b.String()
}

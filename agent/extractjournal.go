package agent

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cairnlabs/cairn/memory/atomicfile"
)

// An extraction's journal is two files in the journal folder (the home's
// imports/): extract-ID.ids, the message ids one a line, written once, and
// extract-ID.json, its state, rewritten after each message. The state is
// small, so a run over 100k messages does not rewrite megabytes per step.
// The folder is the home's, not the vault's: a journal is this device's
// work, never synced, and holds ids and counts, never text.

// ExtractionJobID is the id of an extraction over ids: the same messages
// give the same id, so starting them twice finds the first job.
func ExtractionJobID(ids []string) string {
	h := sha256.New()
	for _, id := range ids {
		h.Write([]byte(id + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

func validJobID(id string) bool {
	if len(id) != 32 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil && strings.ToLower(id) == id
}

func journalBase(dir, id string) string { return filepath.Join(dir, "extract-"+id) }

// journalState is the .json file. IDs is only read: a journal written by
// `cairn import --extract` before the job existed kept its ids there.
type journalState struct {
	ExtractionJob
	IDs []string `json:"ids,omitempty"`
}

func writeJournalIDs(dir, id string, ids []string) error {
	var b bytes.Buffer
	for _, m := range ids {
		b.WriteString(m)
		b.WriteByte('\n')
	}
	return atomicfile.Write(journalBase(dir, id)+".ids", b.Bytes(), 0o600)
}

func readJournalIDs(dir, id string) ([]string, error) {
	raw, err := os.ReadFile(journalBase(dir, id) + ".ids")
	if err != nil {
		return nil, err
	}
	var ids []string
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			ids = append(ids, line)
		}
	}
	return ids, sc.Err()
}

func writeJournalState(dir string, j ExtractionJob) error {
	raw, err := json.Marshal(journalState{ExtractionJob: j})
	if err != nil {
		return err
	}
	return atomicfile.Write(journalBase(dir, j.ID)+".json", raw, 0o600)
}

// readJournal reads one job's journal: its state and its message ids.
func readJournal(dir, id string) (ExtractionJob, []string, error) {
	raw, err := os.ReadFile(journalBase(dir, id) + ".json")
	if err != nil {
		return ExtractionJob{}, nil, err
	}
	var st journalState
	if err := json.Unmarshal(raw, &st); err != nil {
		return ExtractionJob{}, nil, fmt.Errorf("extraction journal %s is damaged: %w (delete it to start over)", id, err)
	}
	j, ids := st.ExtractionJob, st.IDs
	j.ID = id
	if ids == nil {
		if ids, err = readJournalIDs(dir, id); err != nil {
			return j, nil, fmt.Errorf("extraction journal %s has lost its list of messages: %w", id, err)
		}
	}
	if j.Total == 0 {
		j.Total = len(ids)
	}
	if j.State == "" { // written by the CLI before jobs existed
		j.State = JobQueued
		if j.Done >= j.Total {
			j.State = JobDone
		}
	}
	if len(ids) != j.Total {
		return j, nil, fmt.Errorf("extraction journal %s lists %d messages, not %d", id, len(ids), j.Total)
	}
	return j, ids, nil
}

// journalIDs lists the jobs that have a journal in dir.
func journalIDs(dir string) ([]string, error) {
	names, err := filepath.Glob(filepath.Join(dir, "extract-*.json"))
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, n := range names {
		if id := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(n), "extract-"), ".json"); validJobID(id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// errNoJournal is a job with no journal in the folder.
var errNoJournal = errors.New("no such extraction")

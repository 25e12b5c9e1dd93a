package gym

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
)

const taskDoneSchema = `
CREATE TABLE IF NOT EXISTS tasks_done (
	gym TEXT NOT NULL,
	task TEXT NOT NULL,
	at INTEGER NOT NULL,
	PRIMARY KEY (gym, task)
);
CREATE TABLE IF NOT EXISTS tasks_kept (
	gym TEXT NOT NULL,
	id TEXT NOT NULL,
	body BLOB NOT NULL,
	PRIMARY KEY (gym, id)
);`

// FetchTasks asks the gym for up to n tasks of a set and checks the
// batch's signature; tasks this person already did are left out, the
// others kept until they are done. Only the gym is contacted, and it
// learns nothing but the set asked for.
func (c *Contributor) FetchTasks(ctx context.Context, g GymInfo, set string, n int) ([]Task, error) {
	if !slices.ContainsFunc(g.Manifest.Tasks, func(s TaskSet) bool { return s.ID == set }) {
		return nil, fmt.Errorf("gym %s has no task set %q: its sets are %v (`cairn gym add` again to refresh its manifest)", g.Manifest.Name, set, setIDs(g.Manifest.Tasks))
	}
	t, err := transportFor(g.Address)
	if err != nil {
		return nil, err
	}
	resp, err := t.do(ctx, request{Op: "tasks", Set: set, N: n})
	if err != nil {
		return nil, err
	}
	if resp.Tasks == nil {
		return nil, fmt.Errorf("gym %s gave no tasks (%s): %s", g.Manifest.Name, resp.Refused, resp.Reason)
	}
	var b TaskBatch
	if err := openSigned(resp.Tasks, domainTasks, &b, func() PublicKey { return g.Manifest.PublicKey }); err != nil {
		return nil, fmt.Errorf("gym %s's task batch: %w", g.Manifest.Name, err)
	}
	if b.Gym != g.ID || b.Set != set {
		return nil, fmt.Errorf("gym %s sent a batch for gym %s, set %s: not what was asked", g.Manifest.Name, b.Gym, b.Set)
	}
	done, err := queryStrings(ctx, c.db, "SELECT task FROM tasks_done WHERE gym = ?", g.ID)
	if err != nil {
		return nil, err
	}
	out := []Task{}
	for _, t := range b.Tasks {
		if !slices.Contains(done, t.ID) && t.Set == set {
			out = append(out, t)
		}
	}
	err = c.tx(ctx, func(tx *sql.Tx) error {
		for _, t := range out {
			body, _ := json.Marshal(t)
			if _, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO tasks_kept (gym, id, body) VALUES (?, ?, ?)", g.ID, t.ID, body); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// KeptTasks are the tasks fetched from a gym and not done yet.
func (c *Contributor) KeptTasks(ctx context.Context, g GymInfo) ([]Task, error) {
	rows, err := c.db.QueryContext(ctx, "SELECT body FROM tasks_kept WHERE gym = ? AND id NOT IN (SELECT task FROM tasks_done WHERE gym = ?) ORDER BY rowid", g.ID, g.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Task{}
	for rows.Next() {
		var b []byte
		var t Task
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func setIDs(sets []TaskSet) []string {
	out := []string{}
	for _, s := range sets {
		out = append(out, s.ID)
	}
	return out
}

// TaskCandidates turns results into the items they give, in the exact
// bytes that would be signed and sent: what the person reviews. What the
// person wrote (an answer, a reason) is redacted as feedback is, known
// names and places included; the gym's own text (prompts, candidate
// answers) is left as the gym sent it, or no result would match its task.
func (c *Contributor) TaskCandidates(ctx context.Context, g GymInfo, results []TaskResult, known Known) ([]Candidate, error) {
	tasks, err := c.KeptTasks(ctx, g)
	if err != nil {
		return nil, err
	}
	red := NewRedactor(known)
	var out []Candidate
	for _, r := range results {
		i := slices.IndexFunc(tasks, func(t Task) bool { return t.ID == r.Task })
		if i < 0 {
			return nil, fmt.Errorf("result for task %q: no such task fetched and not done (`cairn gym tasks GYM --json` fetches some)", r.Task)
		}
		t := tasks[i]
		j := slices.IndexFunc(g.Manifest.Tasks, func(s TaskSet) bool { return s.ID == t.Set })
		if j < 0 {
			return nil, fmt.Errorf("task %s: its set %q is not in the gym's manifest", t.ID, t.Set)
		}
		r.Answer, r.Reason = red.Text(r.Answer), red.Text(r.Reason)
		items, err := t.Items(g.Manifest.Tasks[j], r)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			raw := it.Encode()
			out = append(out, Candidate{Hash: Hash(raw), Format: it.Format, Item: raw, Task: t.ID})
		}
	}
	return out, nil
}

// SubmitTasks approves task results as Approve does (licence, signature,
// outbox) and notes their tasks as done.
func (c *Contributor) SubmitTasks(ctx context.Context, g GymInfo, cands []Candidate, license string) ([]string, error) {
	ids, err := c.Approve(ctx, g, cands, license)
	if err != nil {
		return nil, err
	}
	err = c.tx(ctx, func(tx *sql.Tx) error {
		for _, cd := range cands {
			if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO tasks_done (gym, task, at) VALUES (?, ?, ?)", g.ID, cd.Task, c.now().UnixMilli()); err != nil {
				return err
			}
		}
		return nil
	})
	return ids, err
}

package gym

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

const taskSchema = `
CREATE TABLE IF NOT EXISTS task_sets (
	id TEXT PRIMARY KEY,
	body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
	id TEXT PRIMARY KEY,
	set_id TEXT NOT NULL,
	body BLOB NOT NULL,
	gold TEXT
);
CREATE INDEX IF NOT EXISTS tasks_by_set ON tasks(set_id);
CREATE TABLE IF NOT EXISTS results (
	task TEXT NOT NULL,
	contributor TEXT NOT NULL,
	hash TEXT NOT NULL,
	verdict TEXT NOT NULL,
	gold INTEGER,
	received INTEGER NOT NULL,
	PRIMARY KEY (task, contributor, hash)
);
CREATE INDEX IF NOT EXISTS results_by_contributor ON results(contributor);`

// PublishTasks adds (or replaces) task sets and tasks; the sets appear in
// the manifest, the tasks in batches. Gold results are checked against
// their task and kept apart: they never leave the gym.
func (n *Node) PublishTasks(ctx context.Context, f TaskFile) error {
	sets := map[string]TaskSet{}
	for _, s := range n.TaskSets() {
		sets[s.ID] = s
	}
	for _, s := range f.Sets {
		if err := s.validate(); err != nil {
			return err
		}
		sets[s.ID] = s
	}
	type row struct {
		t    Task
		gold *string
	}
	var rows []row
	for _, t := range f.Tasks {
		s, ok := sets[t.Set]
		if !ok {
			return fmt.Errorf("task %s names set %q, which is not published", t.ID, t.Set)
		}
		if err := t.Task.validate(s); err != nil {
			return err
		}
		r := row{t: t.Task}
		if t.Gold != nil {
			t.Gold.Task = t.ID
			items, err := t.Task.Items(s, *t.Gold)
			if err != nil {
				return fmt.Errorf("gold of task %s: %w", t.ID, err)
			}
			v := verdictOf(items[0])
			r.gold = &v
		}
		rows = append(rows, r)
	}
	err := n.tx(ctx, func(tx *sql.Tx) error {
		for _, s := range f.Sets {
			b, _ := json.Marshal(s)
			if _, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO task_sets (id, body) VALUES (?, ?)", s.ID, b); err != nil {
				return err
			}
		}
		for _, r := range rows {
			b, _ := json.Marshal(r.t)
			if _, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO tasks (id, set_id, body, gold) VALUES (?, ?, ?, ?)", r.t.ID, r.t.Set, b, r.gold); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("publish tasks: %w", err)
	}
	return n.loadTaskSets(ctx)
}

func (n *Node) loadTaskSets(ctx context.Context) error {
	rows, err := n.db.QueryContext(ctx, "SELECT body FROM task_sets ORDER BY id")
	if err != nil {
		return err
	}
	defer rows.Close()
	var sets []TaskSet
	for rows.Next() {
		var b []byte
		var s TaskSet
		if err := rows.Scan(&b); err != nil {
			return err
		}
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("a stored task set is damaged: %w", err)
		}
		sets = append(sets, s)
	}
	n.addr.Lock()
	n.sets = sets
	n.addr.Unlock()
	return rows.Err()
}

// TaskSets are the published task sets.
func (n *Node) TaskSets() []TaskSet {
	n.addr.Lock()
	defer n.addr.Unlock()
	return n.sets
}

// MaxTaskBatch is the most tasks one batch holds.
const MaxTaskBatch = 100

// TaskBatch signs a batch of up to k tasks of a set, drawn at random (gold
// ones among them, as they come).
func (n *Node) TaskBatch(ctx context.Context, set string, k int) (Signed, error) {
	k = min(max(k, 1), MaxTaskBatch)
	rows, err := n.db.QueryContext(ctx, "SELECT body FROM tasks WHERE set_id = ? ORDER BY random() LIMIT ?", set, k)
	if err != nil {
		return Signed{}, err
	}
	defer rows.Close()
	batch := TaskBatch{Schema: SchemaVersion, Gym: n.id, Set: set, Issued: n.cfg.Now().UTC().Truncate(1e6), Tasks: []Task{}}
	for rows.Next() {
		var b []byte
		var t Task
		if err := rows.Scan(&b); err != nil {
			return Signed{}, err
		}
		if err := json.Unmarshal(b, &t); err != nil {
			return Signed{}, err
		}
		batch.Tasks = append(batch.Tasks, t)
	}
	if err := rows.Err(); err != nil {
		return Signed{}, err
	}
	if len(batch.Tasks) == 0 {
		return Signed{}, fmt.Errorf("%w: no tasks in set %q (the manifest lists the sets)", ErrNoTasks, set)
	}
	return sign(n.key, domainTasks, batch)
}

// ErrNoTasks means a set has no tasks to give.
var ErrNoTasks = errors.New("no tasks")

// verdictOf is what two results of one task must share to agree: the
// choice, the scores or the labels (an answer's text, normalised).
func verdictOf(it Item) string {
	switch it.Format {
	case DPO:
		return "chosen:" + Hash([]byte(it.Chosen[0].Content))
	case Rating:
		b, _ := json.Marshal(it.Ratings)
		return "ratings:" + string(b)
	case Label:
		return "labels:" + strings.Join(it.Labels, ",")
	}
	last := it.Messages[len(it.Messages)-1].Content
	return "answer:" + strings.ToLower(strings.Join(strings.Fields(last), " "))
}

// checkTaskItem checks an item that answers a task: the task exists and
// is of the item's kind. It returns the task's gold verdict, if any.
func checkTaskItem(ctx context.Context, tx *sql.Tx, it Item) (gold *string, refusal string, err error) {
	var b []byte
	err = tx.QueryRowContext(ctx, "SELECT body, gold FROM tasks WHERE id = ?", it.Task).Scan(&b, &gold)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Sprintf("this gym has no task %q", it.Task), nil
	}
	if err != nil {
		return nil, "", err
	}
	var t Task
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, "", err
	}
	if taskFormat[t.Kind] != it.Format {
		return nil, fmt.Sprintf("task %s is a %s task: its result is a %s item, not %s", t.ID, t.Kind, taskFormat[t.Kind], it.Format), nil
	}
	return gold, "", nil
}

// recordResult keeps who gave which verdict on a task, and whether it
// matched the gold one.
func recordResult(ctx context.Context, tx *sql.Tx, it Item, who PublicKey, hash string, gold *string, at int64) error {
	v := verdictOf(it)
	var agree *int
	if gold != nil {
		a := 0
		if *gold == v {
			a = 1
		}
		agree = &a
	}
	_, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO results (task, contributor, hash, verdict, gold, received) VALUES (?, ?, ?, ?, ?, ?)", it.Task, who, hash, v, agree, at)
	return err
}

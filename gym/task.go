package gym

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Tasks: a gym publishes task sets (in its signed manifest) and tasks
// (in signed batches) that anyone who added it can take. A contributor's
// result becomes items in TRL's formats, reviewed, redacted, licensed,
// signed and sent exactly as feedback is.

// TaskKind is what a task asks.
type TaskKind string

// The task kinds, and the item format each one's result becomes.
const (
	// TaskAnswer: write (or correct) an answer to a prompt; an SFT item.
	TaskAnswer TaskKind = "answer"
	// TaskCompare: pick the best of 2-4 answers and say why; DPO items,
	// the chosen one against each other.
	TaskCompare TaskKind = "compare"
	// TaskRate: score an answer on each rubric item; a rating item.
	TaskRate TaskKind = "rate"
	// TaskLabel: tag a prompt (and answer) from the set's labels; a label item.
	TaskLabel TaskKind = "label"
)

var taskFormat = map[TaskKind]Format{TaskAnswer: SFT, TaskCompare: DPO, TaskRate: Rating, TaskLabel: Label}

// TaskSet is a set of tasks of one kind, as the manifest lists it.
type TaskSet struct {
	ID           string   `json:"id"`
	Kind         TaskKind `json:"kind"`
	Title        string   `json:"title"`
	Instructions string   `json:"instructions,omitempty"`
	// Rubric is what a rate task scores, each from 1 to Scale.
	Rubric []string `json:"rubric,omitempty"`
	Scale  int      `json:"scale,omitempty"`
	// Labels are the tags a label task may give.
	Labels []string `json:"labels,omitempty"`
}

// Task is one task as contributors see it. Gold tasks (whose answer the
// gym knows) look exactly the same.
type Task struct {
	ID     string   `json:"id"`
	Set    string   `json:"set"`
	Kind   TaskKind `json:"kind"`
	Prompt string   `json:"prompt"`
	// Reference is an answer task's reference answer, to start from.
	Reference string `json:"reference,omitempty"`
	// Answers are a compare task's candidates (2-4), or the answer a rate
	// or label task is about (one).
	Answers []string `json:"answers,omitempty"`
}

// TaskResult is a contributor's work on one task.
type TaskResult struct {
	Task string `json:"task"`
	// Answer is an answer task's answer.
	Answer string `json:"answer,omitempty"`
	// Choice is the index of the best answer of a compare task.
	Choice *int   `json:"choice,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Scores are a rate task's scores by rubric item.
	Scores map[string]int `json:"scores,omitempty"`
	// Labels are a label task's tags.
	Labels []string `json:"labels,omitempty"`
}

// TaskBatch is a signed batch of tasks from one set.
type TaskBatch struct {
	Schema int       `json:"schema"`
	Gym    string    `json:"gym"`
	Set    string    `json:"set"`
	Issued time.Time `json:"issued"`
	Tasks  []Task    `json:"tasks"`
}

const domainTasks = "cairn-gym-tasks-v1\n"

// TaskFile is what an operator publishes: sets, and tasks with, for the
// gold ones, the known result (never sent to contributors).
type TaskFile struct {
	Sets  []TaskSet `json:"sets"`
	Tasks []GymTask `json:"tasks"`
}

// GymTask is a task as the gym keeps it.
type GymTask struct {
	Task
	// Gold is the known result of a gold task.
	Gold *TaskResult `json:"gold,omitempty"`
}

func (s TaskSet) validate() error {
	switch {
	case s.ID == "" || len(s.ID) > 64 || strings.ContainsAny(s.ID, " \n/?&"):
		return fmt.Errorf("task set id %q: 1-64 characters, no spaces, slashes, ? or &", s.ID)
	case taskFormat[s.Kind] == "":
		return fmt.Errorf("task set %s: kind %q is not answer, compare, rate or label", s.ID, s.Kind)
	case s.Kind == TaskRate && (len(s.Rubric) == 0 || s.Scale < 2 || s.Scale > 10):
		return fmt.Errorf("task set %s: a rate set needs a rubric and a scale of 2-10", s.ID)
	case s.Kind == TaskLabel && len(s.Labels) == 0:
		return fmt.Errorf("task set %s: a label set needs its labels", s.ID)
	}
	return nil
}

func (t Task) validate(s TaskSet) error {
	switch {
	case t.ID == "" || len(t.ID) > 64:
		return fmt.Errorf("task id %q: 1-64 characters", t.ID)
	case t.Kind != s.Kind:
		return fmt.Errorf("task %s is %s; its set %s is %s", t.ID, t.Kind, s.ID, s.Kind)
	case strings.TrimSpace(t.Prompt) == "":
		return fmt.Errorf("task %s has no prompt", t.ID)
	case t.Kind == TaskCompare && (len(t.Answers) < 2 || len(t.Answers) > 4):
		return fmt.Errorf("task %s: a compare task has 2-4 answers", t.ID)
	case t.Kind == TaskRate && len(t.Answers) != 1:
		return fmt.Errorf("task %s: a rate task has the one answer it rates", t.ID)
	case t.Kind == TaskLabel && len(t.Answers) > 1:
		return fmt.Errorf("task %s: a label task has at most one answer", t.ID)
	}
	for _, a := range t.Answers {
		if strings.TrimSpace(a) == "" {
			return fmt.Errorf("task %s has an empty answer", t.ID)
		}
	}
	return nil
}

// Items turns a result of the task into the items it gives.
func (t Task) Items(s TaskSet, r TaskResult) ([]Item, error) {
	if r.Task != t.ID {
		return nil, fmt.Errorf("the result is for task %q, not %q", r.Task, t.ID)
	}
	prompt := []Turn{{Role: "user", Content: t.Prompt}}
	switch t.Kind {
	case TaskAnswer:
		if strings.TrimSpace(r.Answer) == "" {
			return nil, fmt.Errorf("task %s: write an answer", t.ID)
		}
		msgs := append(prompt, Turn{Role: "assistant", Content: r.Answer})
		return []Item{{Format: SFT, Messages: msgs, Task: t.ID}}, nil
	case TaskCompare:
		if r.Choice == nil || *r.Choice < 0 || *r.Choice >= len(t.Answers) {
			return nil, fmt.Errorf("task %s: choose the best answer, 1 to %d", t.ID, len(t.Answers))
		}
		var out []Item
		for j, a := range t.Answers {
			if j == *r.Choice {
				continue
			}
			out = append(out, Item{Format: DPO, Prompt: prompt, Chosen: []Turn{{Role: "assistant", Content: t.Answers[*r.Choice]}},
				Rejected: []Turn{{Role: "assistant", Content: a}}, Task: t.ID, Reason: strings.TrimSpace(r.Reason)})
		}
		return out, nil
	case TaskRate:
		if len(r.Scores) != len(s.Rubric) {
			return nil, fmt.Errorf("task %s: score each of %s, from 1 to %d", t.ID, strings.Join(s.Rubric, ", "), s.Scale)
		}
		for _, k := range s.Rubric {
			if v, ok := r.Scores[k]; !ok || v < 1 || v > s.Scale {
				return nil, fmt.Errorf("task %s: score %q from 1 to %d", t.ID, k, s.Scale)
			}
		}
		return []Item{{Format: Rating, Prompt: prompt, Completion: []Turn{{Role: "assistant", Content: t.Answers[0]}}, Ratings: r.Scores, Task: t.ID}}, nil
	case TaskLabel:
		labels := slices.Clone(r.Labels)
		slices.Sort(labels)
		labels = slices.Compact(labels)
		if len(labels) == 0 {
			return nil, fmt.Errorf("task %s: give one or more of the labels %s", t.ID, strings.Join(s.Labels, ", "))
		}
		for _, l := range labels {
			if !slices.Contains(s.Labels, l) {
				return nil, fmt.Errorf("task %s: %q is not one of the labels %s", t.ID, l, strings.Join(s.Labels, ", "))
			}
		}
		it := Item{Format: Label, Prompt: prompt, Labels: labels, Task: t.ID}
		if len(t.Answers) == 1 {
			it.Completion = []Turn{{Role: "assistant", Content: t.Answers[0]}}
		}
		return []Item{it}, nil
	}
	return nil, fmt.Errorf("task %s: kind %q is not known to this build", t.ID, t.Kind)
}

// The Tasks view's pure parts: what a key does to a result, and whether a
// result is complete enough to review. The gym's own check (gym.Task.Items)
// has the last word; these only keep the keyboard flow honest.
import type { GymTask, GymTaskResult, GymTaskSet } from "./api";

/** emptyResult is a fresh result for a task. */
export function emptyResult(t: GymTask): GymTaskResult {
  switch (t.kind) {
    case "answer":
      return { task: t.id, answer: "" };
    case "compare":
      return { task: t.id, reason: "" };
    case "rate":
      return { task: t.id, scores: {} };
    default:
      return { task: t.id, labels: [] };
  }
}

/** ready says whether the result answers the task (what review needs). */
export function ready(t: GymTask, s: GymTaskSet | undefined, r: GymTaskResult): boolean {
  switch (t.kind) {
    case "answer":
      return (r.answer ?? "").trim() !== "";
    case "compare":
      return r.choice !== undefined && r.choice >= 0 && r.choice < (t.answers?.length ?? 0);
    case "rate":
      return (s?.rubric ?? []).every((k) => (r.scores?.[k] ?? 0) >= 1);
    default:
      return (r.labels?.length ?? 0) > 0;
  }
}

/** digitKey applies a digit key (1-9) to a compare, rate or label result:
 * compare picks answer N; rate gives score N to the first rubric item not
 * scored yet (the last one again when all are); label toggles label N.
 * It returns the new result, or null when the key means nothing here. */
export function digitKey(t: GymTask, s: GymTaskSet | undefined, r: GymTaskResult, key: string): GymTaskResult | null {
  if (!/^[1-9]$/.test(key)) return null;
  const n = Number(key);
  switch (t.kind) {
    case "compare":
      return n <= (t.answers?.length ?? 0) ? { ...r, choice: n - 1 } : null;
    case "rate": {
      const rubric = s?.rubric ?? [];
      if (n > (s?.scale ?? 0) || rubric.length === 0) return null;
      const scores = { ...(r.scores ?? {}) };
      const next = rubric.find((k) => !(k in scores)) ?? rubric[rubric.length - 1]!;
      scores[next] = n;
      return { ...r, scores };
    }
    case "label": {
      const label = (s?.labels ?? [])[n - 1];
      if (label === undefined) return null;
      const labels = r.labels ?? [];
      return { ...r, labels: labels.includes(label) ? labels.filter((l) => l !== label) : [...labels, label] };
    }
  }
  return null;
}

/** undoKey takes back the last rate score given (Backspace). */
export function undoKey(t: GymTask, s: GymTaskSet | undefined, r: GymTaskResult): GymTaskResult | null {
  if (t.kind !== "rate") return null;
  const scored = (s?.rubric ?? []).filter((k) => k in (r.scores ?? {}));
  const last = scored[scored.length - 1];
  if (last === undefined) return null;
  const scores = { ...(r.scores ?? {}) };
  delete scores[last];
  return { ...r, scores };
}

/** wire is the result as the API takes it: only the fields of its kind. */
export function wire(t: GymTask, r: GymTaskResult): GymTaskResult {
  switch (t.kind) {
    case "answer":
      return { task: t.id, answer: r.answer ?? "" };
    case "compare":
      return { task: t.id, choice: r.choice, ...(r.reason?.trim() ? { reason: r.reason.trim() } : {}) };
    case "rate":
      return { task: t.id, scores: r.scores ?? {} };
    default:
      return { task: t.id, labels: r.labels ?? [] };
  }
}

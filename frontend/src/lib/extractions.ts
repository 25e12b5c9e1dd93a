// What the import screen says of an extraction job (cairn import --extract,
// POST /api/v1/extractions): counts only, as the API gives them.
import type { Extraction } from "./types";

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** extractionLine is one line saying how far a job got, or how it ended. */
export function extractionLine(j: Extraction): string {
  const stored = count(j.stored, "memory", "memories") + " stored";
  switch (j.state) {
    case "done":
      return `Extraction done: read ${count(j.done, "message", "messages")} of yours, ${stored}, ${count(j.dropped, "proposal", "proposals")} dropped` +
        (j.errors ? `, ${count(j.errors, "message", "messages")} failed` : "") + ".";
    case "failed":
      return `Extraction stopped at message ${j.done} of ${j.total}: ${j.error ?? "the model failed"}`;
    case "cancelled":
      return `Extraction cancelled at message ${j.done} of ${j.total} (${stored}); importing the same file with extraction goes on.`;
    default:
      return `Extracting memories from your messages: ${j.done} of ${j.total} read, ${stored}.`;
  }
}

/** merge puts a job's newer state into the list, latest started first. */
export function merge(jobs: Extraction[], j: Extraction): Extraction[] {
  const old = jobs.find((x) => x.id === j.id);
  if (old && old.rev >= j.rev) return jobs;
  return [j, ...jobs.filter((x) => x.id !== j.id)].sort((a, b) => b.started.localeCompare(a.started));
}

// What keys do to a task's result, for each kind, and what is posted.
import { describe, expect, it } from "vitest";
import { digitKey, emptyResult, ready, undoKey, wire } from "./tasks";
import type { GymTask, GymTaskSet } from "./api";

const label: GymTask = { id: "l1", set: "tone", kind: "label", prompt: "p", answers: ["a"] };
const labels: GymTaskSet = { id: "tone", kind: "label", title: "Tone", labels: ["rude", "wrong", "kind"] };
const answer: GymTask = { id: "a1", set: "w", kind: "answer", prompt: "p", reference: "ref" };

describe("task keys", () => {
  it("toggles labels by number and ignores numbers past the list", () => {
    let r = emptyResult(label);
    expect(ready(label, labels, r)).toBe(false);
    r = digitKey(label, labels, r, "3")!;
    r = digitKey(label, labels, r, "1")!;
    expect(r.labels).toEqual(["kind", "rude"]);
    r = digitKey(label, labels, r, "3")!;
    expect(r.labels).toEqual(["rude"]);
    expect(digitKey(label, labels, r, "4")).toBeNull();
    expect(ready(label, labels, r)).toBe(true);
    expect(wire(label, { ...r, answer: "stray", scores: { x: 1 } })).toEqual({ task: "l1", labels: ["rude"] });
  });
  it("takes no digits on an answer task and needs a non-blank answer", () => {
    const r = emptyResult(answer);
    expect(digitKey(answer, undefined, r, "1")).toBeNull();
    expect(undoKey(answer, undefined, r)).toBeNull();
    expect(ready(answer, undefined, { ...r, answer: "  " })).toBe(false);
    expect(wire(answer, { ...r, answer: "Hello" })).toEqual({ task: "a1", answer: "Hello" });
  });
  it("leaves a blank reason out of a compare result", () => {
    const cmp: GymTask = { id: "c1", set: "c", kind: "compare", prompt: "p", answers: ["x", "y"] };
    const r = digitKey(cmp, undefined, { ...emptyResult(cmp), reason: "  " }, "2")!;
    expect(wire(cmp, r)).toEqual({ task: "c1", choice: 1 });
    expect(digitKey(cmp, undefined, r, "3")).toBeNull();
  });
});

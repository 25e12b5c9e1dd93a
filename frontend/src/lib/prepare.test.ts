import { afterEach, describe, expect, it, vi } from "vitest";
import { draftPreparer, type Draft } from "./prepare";

afterEach(() => vi.useRealTimers());

describe("draftPreparer", () => {
  it("prepares the draft once typing pauses, trimmed, once per text", async () => {
    vi.useFakeTimers();
    const sent: Draft[] = [];
    const p = draftPreparer(async (d) => void sent.push(d), 300);
    for (const t of ["W", "Wh", "Where does my sister live? "]) {
      p.update({ text: t, conversation_id: "c1", model: "tiny" });
      vi.advanceTimersByTime(100);
    }
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(300);
    expect(sent).toEqual([{ text: "Where does my sister live?", conversation_id: "c1", model: "tiny" }]);
    p.update({ text: "Where does my sister live?", conversation_id: "c1", model: "tiny" });
    vi.advanceTimersByTime(400);
    expect(sent.length).toBe(1);
    p.update({ text: "   " });
    vi.advanceTimersByTime(400);
    expect(sent.length).toBe(1);
  });

  it("sends nothing once cancelled (the message was sent) and ignores failures", async () => {
    vi.useFakeTimers();
    const prepare = vi.fn(async () => {
      throw new Error("offline");
    });
    const p = draftPreparer(prepare, 300);
    p.update({ text: "hello" });
    p.cancel();
    vi.advanceTimersByTime(400);
    expect(prepare).not.toHaveBeenCalled();
    p.update({ text: "hello again" });
    vi.advanceTimersByTime(400);
    expect(prepare).toHaveBeenCalledTimes(1);
  });
});

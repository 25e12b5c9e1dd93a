// The import screen's extraction line: the job's progress from the list,
// then its end from the events stream, with the counts.
import { afterEach, describe, expect, it, vi } from "vitest";
import { flushSync, mount, unmount } from "svelte";
import ExtractionStatus from "./ExtractionStatus.svelte";
import { extractionLine, merge } from "../lib/extractions";
import type { Extraction } from "../lib/types";

const running: Extraction = { id: "j1", state: "running", total: 300, done: 12, proposed: 6, stored: 4, dropped: 2, junk: 0, errors: 0, rev: 3, started: "2026-05-03T10:00:00Z", updated: "2026-05-03T10:01:00Z" };
const done: Extraction = { ...running, state: "done", done: 300, stored: 42, dropped: 17, rev: 9 };

const tick = () => new Promise((r) => setTimeout(r, 0));

afterEach(() => vi.unstubAllGlobals());

describe("extractionLine", () => {
  it("says how far a job got and how it ended", () => {
    expect(extractionLine(running)).toBe("Extracting memories from your messages: 12 of 300 read, 4 memories stored.");
    expect(extractionLine(done)).toBe("Extraction done: read 300 messages of yours, 42 memories stored, 17 proposals dropped.");
    expect(extractionLine({ ...running, state: "failed", error: "the model failed on 3 messages in a row" })).toContain("stopped at message 12 of 300: the model failed");
    expect(extractionLine({ ...done, stored: 1, errors: 1 })).toContain("1 memory stored, 17 proposals dropped, 1 message failed");
  });
  it("keeps the newest state of each job", () => {
    expect(merge([done], running)).toEqual([done]);
    expect(merge([running], done)).toEqual([done]);
  });
});

describe("ExtractionStatus", () => {
  it("shows the running job with a bar, then the count when the events say done", async () => {
    let sendDone: (() => void) | undefined;
    vi.stubGlobal("fetch", vi.fn(async (url: string) => {
      if (url.startsWith("/api/v1/extractions")) return new Response(JSON.stringify({ extractions: [running] }), { headers: { "Content-Type": "application/json" } });
      if (url.startsWith("/api/v1/events")) {
        const body = new ReadableStream<Uint8Array>({
          start(c) {
            sendDone = () => c.enqueue(new TextEncoder().encode(`event: extraction\ndata: ${JSON.stringify({ type: "extraction", ...done })}\n\n`));
          },
        });
        return new Response(body, { headers: { "Content-Type": "text/event-stream" } });
      }
      return new Response("{}", { status: 404 });
    }));
    const target = document.createElement("div");
    const c = mount(ExtractionStatus, { target });
    for (let i = 0; i < 5; i++) await tick();
    flushSync();
    expect(target.textContent).toContain("12 of 300 read");
    expect(target.querySelector("progress")?.getAttribute("value")).toBe("12");
    sendDone!();
    for (let i = 0; i < 10 && !target.textContent?.includes("Extraction done"); i++) await tick();
    flushSync();
    expect(target.textContent).toContain("Extraction done: read 300 messages of yours, 42 memories stored");
    expect(target.querySelector("progress")).toBeNull();
    unmount(c);
  });
});

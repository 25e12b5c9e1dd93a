import { describe, expect, it } from "vitest";
import { ApiError, importEvents, filenameOf, type ImportEvent } from "./api";
import { countdown, fraction, importProblem, shortPeer, syncUnavailable, totals } from "./pages";
import type { SSEEvent } from "./sse";

async function* evs(list: SSEEvent[]): AsyncGenerator<SSEEvent> {
  yield* list;
}

describe("import events", () => {
  it("turns progress, done and error events into typed events, skipping garbage", async () => {
    const got: ImportEvent[] = [];
    for await (const e of importEvents(
      evs([
        { event: "progress", data: '{"progress":{"entries":3,"records":3,"skipped":1,"bytes":50,"total_bytes":200}}' },
        { event: "progress", data: "not json" },
        { event: "done", data: '{"summary":{"dry_run":true,"records":3,"by_kind":{"memory":{"new":2,"updated":0,"unchanged":1,"revisions":0,"deleted":0,"refused":0}},"skipped":[{"why":"empty text","count":1}]},"format":"jsonl"}' },
        { event: "error", data: '{"error":{"code":"wrong_bundle_key","message":"the bundle key does not match"},"format":"bundle"}' },
      ]),
    ))
      got.push(e);
    expect(got.map((e) => e.type)).toEqual(["progress", "done", "error"]);
    const p = got[0] as Extract<ImportEvent, { type: "progress" }>;
    expect(fraction(p.progress)).toBe(0.25);
    const d = got[1] as Extract<ImportEvent, { type: "done" }>;
    expect(d.format).toBe("jsonl");
    expect(totals(d.summary)).toMatchObject({ new: 2, unchanged: 1, skipped: 1, changed: 2 });
    const err = got[2] as Extract<ImportEvent, { type: "error" }>;
    expect(err.error).toBeInstanceOf(ApiError);
    expect(err.error.code).toBe("wrong_bundle_key");
    expect(importProblem(err.error)).toBe("The bundle key does not match. Check the passphrase (or key) the bundle was exported with.");
  });

  it("has no fraction without a total", () => {
    expect(fraction({ entries: 1, records: 1, skipped: 0 })).toBeUndefined();
    expect(fraction(null)).toBeUndefined();
  });

  it("explains damaged bundles and unknown formats, and passes other messages through", () => {
    expect(importProblem(new ApiError(422, "bundle_damaged", "the bundle is damaged: bad MAC; nothing was imported"))).toBe("The bundle is damaged: bad MAC; nothing was imported. Export it again from the other device.");
    expect(importProblem(new ApiError(422, "not_a_bundle", "this age-encrypted file opens, but it is not a Cairn bundle (make one with `cairn export`); nothing was imported"))).toBe("This age-encrypted file opens, but it is not a Cairn bundle (make one with `cairn export`); nothing was imported.");
    expect(importProblem(new ApiError(415, "unknown_format", "what is this"))).toContain("Pick the format");
    expect(importProblem(new ApiError(422, "import_failed", "line 3: bad JSON"))).toBe("line 3: bad JSON");
    expect(importProblem(new Error("offline"))).toBe("offline");
  });
});

describe("countdown", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  it("counts minutes and seconds, rounding up", () => {
    expect(countdown("2026-01-01T00:10:00Z", now)).toBe("10:00");
    expect(countdown(now + 61_500, now)).toBe("1:02");
    expect(countdown(now + 999, now)).toBe("0:01");
    expect(countdown(now + 3_725_000, now)).toBe("1:02:05");
  });
  it("says expired at and after the end, and for a bad date", () => {
    expect(countdown(now, now)).toBe("expired");
    expect(countdown(now - 5000, now)).toBe("expired");
    expect(countdown("not a date", now)).toBe("expired");
  });
});

describe("small helpers", () => {
  it("reads a download's file name", () => {
    expect(filenameOf('attachment; filename="cairn-2026-01-01.jsonl"', "x")).toBe("cairn-2026-01-01.jsonl");
    expect(filenameOf(null, "fallback.jsonl")).toBe("fallback.jsonl");
  });
  it("explains a server without sync, and only that", () => {
    expect(syncUnavailable(new ApiError(503, "sync_off", "no"))).toMatch(/not running/);
    expect(syncUnavailable(new ApiError(500, "x", "no"))).toBeUndefined();
  });
  it("shortens long peer ids", () => {
    expect(shortPeer("12D3KooWAbcdefghijklmnopqrstuv")).toBe("12D3KooW…qrstuv");
    expect(shortPeer("short")).toBe("short");
  });
});

describe("qrPath", () => {
  it("draws one unit square per dark module", async () => {
    const { qrPath } = await import("./pages");
    expect(qrPath([[true, false], [false, true]])).toBe("M0 0h1v1h-1zM1 1h1v1h-1z");
    const { encode } = await import("uqr");
    const qr = encode("ABCDEF234567", { border: 2 });
    expect(qr.size).toBe(qr.data.length);
    expect(qrPath(qr.data).split("M").length - 1).toBe(qr.data.flat().filter(Boolean).length);
  });
});

describe("gym item bytes", () => {
  // Made by Go's json.Marshal of a struct {prompt, completion, ok}.
  const goBytes = '{"prompt":"a \\u003cb\\u003e \\u0026 \\"c\\"\\n\\t\\u2028 é \\u001b\\b\\f","completion":"ok","ok":true}';
  const goHash = "f97f7214d60cc02c65dc9db36d4122505853687822ad82ff4afe1c0033c78441";
  it("encodes as Go does, so the bytes shown are the bytes signed", async () => {
    const { itemText, sha256Hex } = await import("./pages");
    const item = JSON.parse(goBytes);
    expect(itemText(item)).toBe(goBytes);
    expect(await sha256Hex(itemText(item))).toBe(goHash);
  });
});

import { describe, expect, it } from "vitest";
import { SSEParser, readSSE } from "./sse";

describe("SSEParser", () => {
  it("parses Cairn's chat stream: deltas then done", () => {
    const p = new SSEParser();
    const evs = p.push('event: delta\ndata: {"text":"Hel"}\n\nevent: delta\ndata: {"text":"lo"}\n\nevent: done\ndata: {"reply":{}}\n\n');
    expect(evs.map((e) => e.event)).toEqual(["delta", "delta", "done"]);
    expect(JSON.parse(evs[0]!.data)).toEqual({ text: "Hel" });
  });

  it("joins events split anywhere across chunks, even inside \\r\\n", () => {
    const text = 'event: delta\r\ndata: {"text":"a b"}\r\n\r\nevent: done\r\ndata: {}\r\n\r\n';
    for (let cut = 1; cut < text.length; cut++) {
      const p = new SSEParser();
      const evs = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))];
      expect(evs, `cut at ${cut}`).toEqual([
        { event: "delta", data: '{"text":"a b"}' },
        { event: "done", data: "{}" },
      ]);
    }
  });

  it("joins multi-line data, skips comments, keeps ids and defaults the name", () => {
    const p = new SSEParser();
    const evs = p.push(": cairn events after 3\n\nid: 4\nevent: memory\ndata: {\"seq\":4}\n\ndata: one\ndata: two\n\n");
    expect(evs).toEqual([
      { event: "memory", data: '{"seq":4}', id: "4" },
      { event: "message", data: "one\ntwo", id: "4" },
    ]);
    expect(p.lastId).toBe("4");
  });

  it("handles lone \\r line ends and a field with no colon", () => {
    const p = new SSEParser();
    // The last \r may be half of a \r\n: it counts once the stream ends.
    expect(p.push("data\rdata:x\r\r")).toEqual([]);
    expect(p.end()).toEqual([{ event: "message", data: "\nx" }]);
  });

  it("flushes an unterminated last event at the end", () => {
    const p = new SSEParser();
    expect(p.push("event: done\ndata: {}")).toEqual([]);
    expect(p.end()).toEqual([{ event: "done", data: "{}" }]);
  });

  it("reads a byte stream whose chunks split a multi-byte character", async () => {
    const bytes = new TextEncoder().encode('event: delta\ndata: {"text":"café ☕"}\n\n');
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const b of bytes) c.enqueue(new Uint8Array([b]));
        c.close();
      },
    });
    const got = [];
    for await (const ev of readSSE(body)) got.push(ev);
    expect(got).toEqual([{ event: "delta", data: '{"text":"café ☕"}' }]);
  });
});

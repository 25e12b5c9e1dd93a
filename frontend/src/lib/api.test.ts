import { afterEach, describe, expect, it, vi } from "vitest";
import { api, ApiError, hooks, setToken, type ChatEvent, type PullProgress } from "./api";

function sse(chunks: string[]): Response {
  const enc = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (const ch of chunks) c.enqueue(enc.encode(ch));
      c.close();
    },
  });
  return new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } });
}

afterEach(() => {
  vi.unstubAllGlobals();
  setToken(null);
  hooks.unauthorized = hooks.locked = undefined;
});

describe("api client", () => {
  it("streams a chat turn as typed events and sends the token", async () => {
    const fetchMock = vi.fn(async (_url: string, _init: RequestInit) =>
      sse(['event: delta\ndata: {"text":"Hel"}\n\nevent: del', 'ta\ndata: {"text":"lo"}\n\n', 'event: done\ndata: {"conversation":{"id":"c1"},"user":{"id":"u1"},"reply":{"id":"r1","content":"Hello"}}\n\n']),
    );
    vi.stubGlobal("fetch", fetchMock);
    setToken("cairn_abc");
    const got: ChatEvent[] = [];
    for await (const ev of api.chat({ text: "hi", model: "tiny" })) got.push(ev);
    expect(got.map((e) => e.type)).toEqual(["delta", "delta", "done"]);
    expect(got[2]!.type === "done" && got[2]!.turn.reply.id).toBe("r1");
    const [url, init] = fetchMock.mock.calls[0]!;
    expect(url).toBe("/api/v1/chat");
    expect(JSON.parse(init.body as string)).toEqual({ text: "hi", model: "tiny", stream: true });
    expect((init.headers as Record<string, string>)["Authorization"]).toBe("Bearer cairn_abc");
  });

  it("turns a stream's error event into an error with the partial turn", async () => {
    vi.stubGlobal("fetch", async () => sse(['event: delta\ndata: {"text":"a"}\n\n', 'event: error\ndata: {"error":{"code":"backend_unavailable","message":"Ollama went away"},"turn":null}\n\n']));
    const got: ChatEvent[] = [];
    for await (const ev of api.regenerate("r1", undefined)) got.push(ev);
    const last = got.at(-1)!;
    expect(last.type).toBe("error");
    expect(last.type === "error" && last.error.message).toBe("Ollama went away");
  });

  it("raises the API's error shape and tells the app about 401 and 423", async () => {
    const seen: string[] = [];
    hooks.unauthorized = () => seen.push("401");
    hooks.locked = () => seen.push("423");
    vi.stubGlobal("fetch", async () => new Response(JSON.stringify({ error: { code: "locked", message: "the vault is locked" } }), { status: 423 }));
    const err = await api.memories({}).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe("locked");
    vi.stubGlobal("fetch", async () => new Response("{}", { status: 401 }));
    await api.app().catch(() => {});
    expect(seen).toEqual(["423", "401"]);
  });

  it("reports pull progress and fails on an error event", async () => {
    vi.stubGlobal("fetch", async () => sse(['event: progress\ndata: {"status":"pulling","total":100,"completed":40}\n\n', 'event: error\ndata: {"error":{"code":"model_not_found","message":"no such model"}}\n\n']));
    const got: PullProgress[] = [];
    await expect(async () => {
      for await (const p of api.pull("nope")) got.push(p);
    }).rejects.toThrow("no such model");
    expect(got).toEqual([{ status: "pulling", total: 100, completed: 40 }]);
  });
});

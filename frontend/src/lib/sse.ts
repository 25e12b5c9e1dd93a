// A Server-Sent Events parser for fetch() bodies. EventSource only does GET
// without headers; Cairn's streams are POSTs (chat, regenerate, pull) and a
// browser signed in with a pasted token sends it as a header, so every
// stream goes through fetch and this parser. It follows the WHATWG
// "event stream interpretation": lines end in \n, \r\n or \r; a blank line
// dispatches; "data" lines join with \n; lines starting with ":" are
// comments; "id" and "retry" are kept.

export interface SSEEvent {
  /** The event name; "message" when the stream gave none. */
  event: string;
  data: string;
  id?: string;
}

/** SSEParser turns chunks of text into events, across chunk boundaries. */
export class SSEParser {
  private buf = "";
  private event = "";
  private data: string[] = [];
  private id: string | undefined;
  private sawData = false;
  /** The last id seen, for resuming (Last-Event-ID). */
  lastId: string | undefined;

  /** push feeds text and returns the events it completed. */
  push(chunk: string): SSEEvent[] {
    this.buf += chunk;
    const out: SSEEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      if (!m) break;
      // A lone \r at the very end may be the first half of \r\n.
      if (m[0] === "\r" && m.index === this.buf.length - 1) break;
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      const ev = this.line(line);
      if (ev) out.push(ev);
    }
    return out;
  }

  /** end flushes a final event that had no blank line after it. */
  end(): SSEEvent[] {
    const out: SSEEvent[] = [];
    if (this.buf !== "") {
      const ev = this.line(this.buf.replace(/\r$/, ""));
      this.buf = "";
      if (ev) out.push(ev);
    }
    const ev = this.line("");
    if (ev) out.push(ev);
    return out;
  }

  private line(line: string): SSEEvent | undefined {
    if (line === "") {
      if (!this.sawData) {
        this.event = "";
        return undefined;
      }
      const ev: SSEEvent = { event: this.event || "message", data: this.data.join("\n") };
      if (this.id !== undefined) ev.id = this.id;
      this.event = "";
      this.data = [];
      this.sawData = false;
      return ev;
    }
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        this.event = value;
        break;
      case "data":
        this.data.push(value);
        this.sawData = true;
        break;
      case "id":
        if (!value.includes("\0")) {
          this.id = value;
          this.lastId = value;
        }
        break;
    }
    return undefined;
  }
}

/** readSSE yields the events of a fetch body as they arrive. */
export async function* readSSE(body: ReadableStream<Uint8Array>): AsyncGenerator<SSEEvent> {
  const reader = body.getReader();
  const dec = new TextDecoder();
  const p = new SSEParser();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      // stream: true keeps a character split across chunks whole.
      yield* p.push(dec.decode(value, { stream: true }));
    }
    yield* p.push(dec.decode());
    yield* p.end();
  } finally {
    reader.releaseLock();
  }
}

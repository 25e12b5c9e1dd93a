// The one typed client for Cairn's HTTP API. The page reaches Go only
// through it. In the desktop window requests go to the same origin and are
// answered in-process (no token); in a browser with `cairn serve --ui` the
// one-time login link opens a session (a cookie plus a page secret, below),
// or the person pastes the API token, which is then sent as a bearer header
// (kept in sessionStorage: gone when the tab closes).
import { readSSE, type SSEEvent } from "./sse";
import type {
  Item,
  Message,
  FoundMessage,
  Conversation,
  Turn,
  AppState,
  Settings,
  ModelInfo,
  RunningModel,
  Status,
  PullProgress,
  Feedback,
  DatasetFormat,
  MyFeedbackEntry,
  ExportRequest,
  ImportProgress,
  ImportSummary,
  ImportEvent,
  Extraction,
  RecalledMessage,
  SyncMember,
  SyncStatus,
  PairCode,
  SyncEvent,
  GymTaskResult,
  GymTasks,
  GymInfo,
  GymReview,
  GymSendReport,
  GymReceipt,
  GymOutboxEntry,
} from "./types";

export * from "./types";

/** ApiError is the API's one error shape, {"error":{"code","message"}}. */
export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

const tokenKey = "cairn.token";
const sessionKey = "cairn.session";

// The login link's redirect hands the page its session secret in the URL
// fragment (never sent to a server). It is kept in this tab's
// sessionStorage, which no other origin (another port included) can read,
// and sent with every call beside the session cookie: a cookie another
// local server captured is useless without it.
function takeSessionSecret(): void {
  if (typeof location === "undefined") return;
  const m = /^#cairn-session=([0-9a-f]+)$/.exec(location.hash);
  if (!m?.[1]) return;
  sessionStorage.setItem(sessionKey, m[1]);
  history.replaceState(null, "", location.pathname + location.search);
}
takeSessionSecret();

export function setToken(t: string | null): void {
  if (t) sessionStorage.setItem(tokenKey, t);
  else sessionStorage.removeItem(tokenKey);
}

function headers(json: boolean): HeadersInit {
  const h: Record<string, string> = {};
  if (json) h["Content-Type"] = "application/json";
  const t = sessionStorage.getItem(tokenKey);
  if (t) h["Authorization"] = `Bearer ${t}`;
  const s = sessionStorage.getItem(sessionKey);
  if (s) h["X-Cairn-Session"] = s;
  return h;
}

/** onUnauthorized and onLocked let the app react wherever a call fails. */
export const hooks: { unauthorized?: () => void; locked?: () => void } = {};

async function fail(r: Response): Promise<never> {
  let code = "http_" + r.status;
  let message = r.statusText || `HTTP ${r.status}`;
  try {
    const body = (await r.json()) as { error?: { code: string; message: string } };
    if (body.error) ({ code, message } = body.error);
  } catch {
    /* not the error shape */
  }
  if (r.status === 401) hooks.unauthorized?.();
  if (r.status === 423) hooks.locked?.();
  throw new ApiError(r.status, code, message);
}

async function call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const init: RequestInit = { method, headers: headers(body !== undefined), signal, credentials: "same-origin" };
  if (body !== undefined) init.body = JSON.stringify(body);
  const r = await fetch(path, init);
  if (!r.ok) return fail(r);
  if (r.status === 204) return undefined as T;
  return (await r.json()) as T;
}

/** stream POSTs and yields the Server-Sent Events of the answer. */
async function* stream(path: string, body: unknown, signal?: AbortSignal): AsyncGenerator<SSEEvent> {
  const r = await fetch(path, { method: "POST", headers: headers(true), body: JSON.stringify(body), signal, credentials: "same-origin" });
  if (!r.ok) await fail(r);
  if (!r.body) throw new ApiError(500, "no_body", "the answer had no body");
  yield* readSSE(r.body);
}

export type ChatEvent =
  | { type: "delta"; text: string }
  | { type: "done"; turn: Turn }
  | { type: "error"; error: ApiError; turn: Turn | null };

async function* chatEvents(events: AsyncGenerator<SSEEvent>): AsyncGenerator<ChatEvent> {
  for await (const ev of events) {
    const data = JSON.parse(ev.data);
    switch (ev.event) {
      case "delta":
        yield { type: "delta", text: data.text as string };
        break;
      case "done":
        yield { type: "done", turn: data as Turn };
        break;
      case "error":
        yield { type: "error", error: new ApiError(500, data.error?.code ?? "error", data.error?.message ?? "the reply failed"), turn: data.turn ?? null };
        break;
    }
  }
}

/** importEvents turns an import's Server-Sent Events into typed events. */
export async function* importEvents(events: AsyncIterable<SSEEvent>): AsyncGenerator<ImportEvent> {
  for await (const ev of events) {
    let data: { progress?: ImportProgress; summary?: ImportSummary; format?: string; error?: { code?: string; message?: string }; extraction?: Extraction; extraction_error?: string };
    try {
      data = JSON.parse(ev.data);
    } catch {
      continue;
    }
    switch (ev.event) {
      case "progress":
        if (data.progress) yield { type: "progress", progress: data.progress };
        break;
      case "done":
        if (data.summary) yield { type: "done", summary: data.summary, format: data.format ?? "", extraction: data.extraction, extractionError: data.extraction_error };
        break;
      case "error":
        yield {
          type: "error",
          error: new ApiError(422, data.error?.code ?? "import_failed", data.error?.message ?? "the import failed"),
          summary: data.summary ?? null,
          format: data.format ?? "",
        };
        break;
    }
  }
}

/** filenameOf reads the file name of a Content-Disposition header. */
export function filenameOf(disposition: string | null, fallback: string): string {
  const m = /filename="([^"]+)"/.exec(disposition ?? "");
  return m?.[1] ?? fallback;
}

const q = (params: Record<string, string | number | undefined>): string => {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") u.set(k, String(v));
  const s = u.toString();
  return s ? "?" + s : "";
};

export const api = {
  app: () => call<AppState>("GET", "/api/v1/app"),
  status: () => call<Status>("GET", "/api/v1/status"),
  createVault: (passphrase: string, keyring: boolean) =>
    call<{ recovery_key: string; keyring: boolean; keyring_error?: string }>("POST", "/api/v1/vault", { passphrase, keyring }),
  unlock: (passphrase: string) => call<{ locked: boolean }>("POST", "/api/v1/unlock", { passphrase }),
  recover: (recoveryKey: string, newPassphrase: string) =>
    call<{ locked: boolean }>("POST", "/api/v1/recover", { recovery_key: recoveryKey, new_passphrase: newPassphrase }),
  lock: () => call<{ locked: boolean }>("POST", "/api/v1/lock"),

  settings: () => call<Settings>("GET", "/api/v1/settings"),
  saveSettings: (p: Partial<Omit<Settings, "num_ctx">>) => call<Settings>("PATCH", "/api/v1/settings", p),
  token: () => call<{ token: string; path: string }>("GET", "/api/v1/token"),
  rotateToken: () => call<{ token: string; path: string }>("POST", "/api/v1/token/rotate"),

  models: () => call<{ models: ModelInfo[] }>("GET", "/api/v1/models").then((r) => r.models),
  running: () => call<{ models: RunningModel[] }>("GET", "/api/v1/models/running").then((r) => r.models),
  async *pull(name: string, signal?: AbortSignal): AsyncGenerator<PullProgress> {
    for await (const ev of stream("/api/v1/models/pull", { name }, signal)) {
      const data = JSON.parse(ev.data);
      if (ev.event === "error") throw new ApiError(500, data.error?.code ?? "error", data.error?.message ?? "the pull failed");
      if (ev.event === "progress") yield data as PullProgress;
    }
  },

  conversations: () => call<{ conversations: Conversation[] }>("GET", "/api/v1/conversations?limit=0").then((r) => r.conversations),
  conversation: (id: string) => call<{ conversation: Conversation; messages: Message[]; head: string }>("GET", `/api/v1/conversations/${encodeURIComponent(id)}`),
  renameConversation: (id: string, title: string) => call<Conversation>("PATCH", `/api/v1/conversations/${encodeURIComponent(id)}`, { title }),
  deleteConversation: (id: string) => call<void>("DELETE", `/api/v1/conversations/${encodeURIComponent(id)}`),
  message: (id: string) => call<Message>("GET", `/api/v1/messages/${encodeURIComponent(id)}`),
  searchMessages: (q: string, limit = 8) =>
    call<{ messages: FoundMessage[] }>("GET", `/api/v1/messages/search?q=${encodeURIComponent(q)}&limit=${limit}`).then((r) => r.messages),

  chat: (req: { conversation_id?: string; parent_id?: string; root?: boolean; text: string; model?: string }, signal?: AbortSignal) =>
    chatEvents(stream("/api/v1/chat", { ...req, stream: true }, signal)),
  /** prepareChat warms the turn a draft will be (its query embedding), while the person types. */
  prepareChat: (req: { conversation_id?: string; text: string; model?: string }) => call<void>("POST", "/api/v1/chat/prepare", req),
  regenerate: (replyId: string, model: string | undefined, signal?: AbortSignal) =>
    chatEvents(stream(`/api/v1/messages/${encodeURIComponent(replyId)}/regenerate`, { model: model ?? "", stream: true }, signal)),
  feedback: (messageId: string, rating: 1 | -1) => call<Feedback>("POST", `/api/v1/messages/${encodeURIComponent(messageId)}/feedback`, { rating }),
  recalled: (messageId: string) =>
    call<{ recalled: RecalledMessage[] | null }>("GET", `/api/v1/messages/${encodeURIComponent(messageId)}/recalled`).then((r) => r.recalled ?? []),
  feedbackOn: (messageId: string) => call<{ feedback: Feedback[] | null }>("GET", `/api/v1/messages/${encodeURIComponent(messageId)}/feedback`).then((r) => r.feedback ?? []),

  memories: (f: { q?: string; kind?: string; tag?: string; limit?: number }) =>
    call<{ memories: Item[] }>("GET", "/api/v1/memories" + q({ ...f, limit: f.limit ?? 200 })).then((r) => r.memories),
  memory: (id: string) => call<Item>("GET", `/api/v1/memories/${encodeURIComponent(id)}`),
  addMemory: (m: { text: string; kind?: string; tags?: string[]; pinned?: boolean }) => call<Item>("POST", "/api/v1/memories", m),
  editMemory: (id: string, p: { text?: string; kind?: string; tags?: string[]; pinned?: boolean }) =>
    call<Item>("PATCH", `/api/v1/memories/${encodeURIComponent(id)}`, p),
  forgetMemory: (id: string) => call<void>("DELETE", `/api/v1/memories/${encodeURIComponent(id)}`),
  revisions: (id: string) => call<{ revisions: Item[] | null }>("GET", `/api/v1/memories/${encodeURIComponent(id)}/revisions`).then((r) => r.revisions ?? []),

  /** events follows the vault's change feed until signal aborts,
   * reconnecting after a drop from where it left off. */
  async events(onEvent: (ev: { type: string; id: string; deleted?: boolean; seq: number }) => void, signal: AbortSignal): Promise<void> {
    let after: string | undefined;
    while (!signal.aborted) {
      try {
        const r = await fetch("/api/v1/events" + q({ after }), { headers: headers(false), signal, credentials: "same-origin" });
        if (!r.ok || !r.body) throw new Error(`events: HTTP ${r.status}`);
        for await (const ev of readSSE(r.body)) {
          if (ev.id) after = ev.id;
          try {
            onEvent(JSON.parse(ev.data));
          } catch {
            /* a malformed event is skipped */
          }
        }
      } catch {
        if (signal.aborted) return;
      }
      await new Promise((res) => setTimeout(res, 2000));
    }
  },

  /** exportData fetches an export whole, as a Blob with its file name. */
  async exportData(req: ExportRequest, signal?: AbortSignal): Promise<{ blob: Blob; name: string }> {
    const r = await fetch("/api/v1/export", { method: "POST", headers: headers(true), body: JSON.stringify(req), signal, credentials: "same-origin" });
    if (!r.ok) return fail(r);
    const blob = await r.blob();
    // The trailer that says whether the file is complete is not visible to
    // fetch; a body read to its end is taken as complete.
    return { blob, name: filenameOf(r.headers.get("Content-Disposition"), "cairn-export." + (req.format === "bundle" ? "cairn" : req.format === "jsonl" ? "jsonl" : "zip")) };
  },
  /** importData uploads a file; dryRun writes nothing. */
  async *importData(file: Blob, o: { format?: string; dryRun: boolean; passphrase?: string; extract?: boolean }, signal?: AbortSignal): AsyncGenerator<ImportEvent> {
    const h = headers(false) as Record<string, string>;
    h["Accept"] = "text/event-stream";
    if (o.passphrase) h["X-Cairn-Bundle-Passphrase"] = o.passphrase;
    const r = await fetch("/api/v1/import" + q({ format: o.format, dry_run: o.dryRun ? "true" : undefined, extract: o.extract && !o.dryRun ? "true" : undefined }), {
      method: "POST", headers: h, body: file, signal, credentials: "same-origin",
    });
    if (!r.ok) await fail(r);
    if (!r.body) throw new ApiError(500, "no_body", "the answer had no body");
    yield* importEvents(readSSE(r.body));
  },

  extractions: () => call<{ extractions: Extraction[] | null }>("GET", "/api/v1/extractions").then((r) => r.extractions ?? []),
  cancelExtraction: (id: string) => call<Extraction>("DELETE", `/api/v1/extractions/${encodeURIComponent(id)}`),

  sync: () => call<SyncStatus>("GET", "/api/v1/sync"),
  syncPair: () => call<PairCode>("POST", "/api/v1/sync/pair"),
  syncJoin: (code: string) => call<SyncStatus>("POST", "/api/v1/sync/join", { code }),
  syncEnable: () => call<SyncStatus>("POST", "/api/v1/sync/enable"),
  syncDevices: () => call<{ devices: SyncMember[] | null; self: string }>("GET", "/api/v1/sync/devices"),
  syncRemove: (peer: string) => call<SyncStatus>("DELETE", `/api/v1/sync/devices/${encodeURIComponent(peer)}`),
  /** syncEvents follows sync progress until signal aborts, reconnecting after a drop. */
  async syncEvents(onEvent: (ev: SyncEvent) => void, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const r = await fetch("/api/v1/sync/events", { headers: headers(false), signal, credentials: "same-origin" });
        if (r.status === 503) return;
        if (!r.ok || !r.body) throw new Error(`sync events: HTTP ${r.status}`);
        for await (const ev of readSSE(r.body)) {
          try {
            onEvent(JSON.parse(ev.data) as SyncEvent);
          } catch {
            /* a malformed event is skipped */
          }
        }
      } catch {
        if (signal.aborted) return;
      }
      await new Promise((res) => setTimeout(res, 3000));
    }
  },

  myFeedback: () => call<{ feedback: MyFeedbackEntry[]; datasets: Record<DatasetFormat, number> }>("GET", "/api/v1/feedback"),
  /** dataset fetches the person's own dataset as TRL JSONL. */
  async dataset(format: DatasetFormat, signal?: AbortSignal): Promise<{ blob: Blob; name: string }> {
    const r = await fetch("/api/v1/gym/dataset" + q({ format }), { headers: headers(false), signal, credentials: "same-origin" });
    if (!r.ok) return fail(r);
    return { blob: await r.blob(), name: filenameOf(r.headers.get("Content-Disposition"), `cairn-${format}.jsonl`) };
  },

  gyms: () => call<{ gyms: GymInfo[] | null }>("GET", "/api/v1/gym/gyms").then((r) => r.gyms ?? []),
  addGym: (address: string) => call<GymInfo>("POST", "/api/v1/gym/gyms", { address }),
  removeGym: (id: string) => call<void>("DELETE", `/api/v1/gym/gyms/${encodeURIComponent(id)}`),
  gymReview: (id: string) => call<GymReview>("GET", `/api/v1/gym/gyms/${encodeURIComponent(id)}/review`),
  gymApprove: (id: string, b: { approve: string[]; decline: string[]; accept_license: string }) =>
    call<{ approved: number; declined: number; sent?: GymSendReport }>("POST", `/api/v1/gym/gyms/${encodeURIComponent(id)}/approve`, b),
  gymReceipts: (id: string) => call<{ receipts: GymReceipt[] | null }>("GET", `/api/v1/gym/gyms/${encodeURIComponent(id)}/receipts`).then((r) => r.receipts ?? []),
  gymRevoke: (id: string, items: string[]) => call<{ revocation: string; sent: GymSendReport }>("POST", `/api/v1/gym/gyms/${encodeURIComponent(id)}/revoke`, { items }),
  gymOutbox: () => call<{ outbox: GymOutboxEntry[] | null }>("GET", "/api/v1/gym/outbox").then((r) => r.outbox ?? []),
  gymSend: () => call<GymSendReport>("POST", "/api/v1/gym/outbox/send"),
  gymTasks: (id: string) => call<GymTasks>("GET", `/api/v1/gym/gyms/${encodeURIComponent(id)}/tasks`),
  gymFetchTasks: (id: string, set: string, n: number) => call<GymTasks>("POST", `/api/v1/gym/gyms/${encodeURIComponent(id)}/tasks`, { set, n }),
  gymTaskReview: (id: string, results: GymTaskResult[]) => call<GymReview>("POST", `/api/v1/gym/gyms/${encodeURIComponent(id)}/tasks/review`, { results }),
  gymTaskSubmit: (id: string, b: { results: GymTaskResult[]; approve: string[]; accept_license: string }) =>
    call<{ approved: number; sent?: GymSendReport }>("POST", `/api/v1/gym/gyms/${encodeURIComponent(id)}/tasks/submit`, b),
};

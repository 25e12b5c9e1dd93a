// The wire shapes of Cairn's HTTP API, as the page sees them (api.ts
// re-exports them).
import type { ApiError } from "./api";

export interface Item {
  id: string;
  kind: string;
  text: string;
  tags: string[] | null;
  pinned: boolean;
  source?: string;
  quote?: string;
  message_ids?: string[];
  created_at: string;
  updated_at: string;
  score?: number;
  snippet?: string;
}

export interface MessageStats {
  prompt_tokens?: number;
  output_tokens?: number;
  first_token_ms?: number;
  total_ms?: number;
  /** the reply's token cap, when the reply stopped there */
  limit?: number;
}

export interface Message {
  id: string;
  conversation_id: string;
  parent_id?: string;
  role: "user" | "assistant" | "tool" | "system";
  content: string;
  model?: string;
  incomplete?: boolean;
  tool_calls?: unknown[];
  tool_name?: string;
  memory_ids?: string[];
  /** the past messages that were in this reply's prompt (recall) */
  recalled_ids?: string[];
  stats?: MessageStats;
  created_at: string;
}

/** A past message a reply was shown (GET /api/v1/messages/{id}/recalled). */
export interface RecalledMessage {
  id: string;
  conversation_id: string;
  conversation_title: string;
  role: string;
  created_at: string;
}

// FoundMessage is a message search hit (GET /api/v1/messages/search).
export interface FoundMessage {
  id: string;
  conversation_id: string;
  conversation_title: string;
  role: Message["role"];
  created_at: string;
  snippet: string;
  score: number;
}

export interface Conversation {
  id: string;
  title: string;
  model?: string;
  created_at: string;
  updated_at: string;
}

export interface Turn {
  conversation: Conversation;
  user: Message;
  reply: Message;
  tools?: Message[];
}

export interface AppState {
  vault: "none" | "locked" | "unlocked";
  version: string;
  data_dir?: string;
  idle_lock_minutes: number;
  /** where the API listens on loopback, for scripts */
  api_url?: string;
  /** the OS keyring answers here */
  keyring?: boolean;
}

export interface Settings {
  model: string;
  embedding_model: string;
  extraction: boolean;
  idle_lock_minutes: number;
  num_ctx?: Record<string, number>;
  /** 0: a quarter of the context window */
  max_reply_tokens: number;
  /** this device's models are offered to the person's other paired devices */
  share_models: boolean;
}

export interface ModelInfo {
  name: string;
  backend: string;
  size?: number;
  family?: string;
  parameters?: string;
  trained_context?: number;
  capabilities?: string[];
  /** the other device of the person's that runs it ("DEVICE/MODEL") */
  device?: string;
  /** that device is out of reach: what it offered when last seen */
  offline?: boolean;
}

export interface RunningModel {
  name: string;
  size: number;
  size_vram: number;
  processor: string;
  context_length?: number;
}

export interface BackendStatus {
  name: string;
  url: string;
  remote: boolean;
  receives_memory: boolean;
  reachable: boolean;
  models: number;
  error?: string;
}

export interface Status {
  version: string;
  locked: boolean;
  backends: BackendStatus[] | null;
  search?: { embedding_model?: string; embedded: number; total: number; semantic: boolean; last_error?: string };
}

export interface PullProgress {
  status: string;
  digest?: string;
  total?: number;
  completed?: number;
}

export interface Feedback {
  id: string;
  message_id: string;
  rating: number;
}

export type DatasetFormat = "sft" | "dpo" | "kto";

/** MyFeedbackEntry is one of the person's ratings (GET /api/v1/feedback). */
export interface MyFeedbackEntry extends Feedback {
  conversation_id: string;
  conversation_title?: string;
  comment?: string;
  correction?: string;
  preferred?: boolean;
  created_at: string;
  /** the start of the rated reply */
  reply: string;
  /** the reply was stopped part way: kept, but in no dataset */
  incomplete?: boolean;
  /** the datasets this feedback went into */
  datasets: DatasetFormat[];
}

// Portable memory (export and import).
export type ExportFormat = "bundle" | "jsonl" | "markdown";
export interface ExportRequest {
  format: ExportFormat;
  passphrase?: string;
  recipients?: string[];
  kinds?: string[];
  tags?: string[];
  since?: string;
  until?: string;
}
export interface ImportProgress {
  entries: number;
  records: number;
  skipped: number;
  bytes?: number;
  total_bytes?: number;
}
export interface ImportCounts {
  new: number;
  updated: number;
  unchanged: number;
  revisions: number;
  deleted: number;
  refused: number;
}
export interface ImportSkip {
  why: string;
  count: number;
  examples?: string[];
}
export interface ImportSummary {
  dry_run: boolean;
  resumed?: number;
  records: number;
  by_kind: Record<string, ImportCounts> | null;
  skipped?: ImportSkip[] | null;
  /** Set when some of the input was not UTF-8 and was imported as U+FFFD. */
  invalid_utf8?: { sequences: number; entries: number; examples?: string[] } | null;
}
export type ImportEvent =
  | { type: "progress"; progress: ImportProgress }
  | { type: "done"; summary: ImportSummary; format: string; extraction?: Extraction; extractionError?: string }
  | { type: "error"; error: ApiError; summary: ImportSummary | null; format: string };

/** An extraction job (POST /api/v1/extractions; "extraction" events). */
export interface Extraction {
  id: string;
  model?: string;
  state: "queued" | "running" | "done" | "cancelled" | "failed";
  total: number;
  done: number;
  proposed: number;
  stored: number;
  dropped: number;
  junk: number;
  errors: number;
  error?: string;
  rev: number;
  started: string;
  updated: string;
}

// Sync.
export interface SyncMember {
  peer: string;
  device?: string;
  name?: string;
  role: string;
  added_by: string;
  added_at: string;
}
export interface SyncPeer {
  peer: string;
  name?: string;
  role?: string;
  connected: boolean;
  sent: number;
  received: number;
  caught_up: boolean;
  last_seen?: string;
  last_error?: string;
}
export interface SyncStatus {
  on: boolean;
  peer: string;
  role: string;
  addrs: string[] | null;
  pairing: boolean;
  devices: SyncMember[] | null;
  peers: SyncPeer[] | null;
  last_seq: number;
  key_epoch?: number;
}
export interface PairCode {
  code: string;
  /** the same invitation as a short code, for a device on the same network */
  short?: string;
  peer: string;
  addrs: string[] | null;
  expires_at: string;
}
export interface SyncEvent {
  type: string;
  peer?: string;
  count?: number;
  detail?: string;
}

// Gyms.
export interface GymManifest {
  name: string;
  description?: string;
  wants?: string;
  formats: string[] | null;
  license: string;
  peer_id: string;
  url?: string;
  /** the task sets anyone may take */
  tasks?: GymTaskSet[] | null;
}
export type GymTaskKind = "answer" | "compare" | "rate" | "label";
export interface GymTaskSet {
  id: string;
  kind: GymTaskKind;
  title: string;
  instructions?: string;
  rubric?: string[] | null;
  scale?: number;
  labels?: string[] | null;
}
export interface GymTask {
  id: string;
  set: string;
  kind: GymTaskKind;
  prompt: string;
  reference?: string;
  answers?: string[] | null;
}
/** GymTaskResult is a person's work on one task; choice is 0-based. */
export interface GymTaskResult {
  task: string;
  answer?: string;
  choice?: number;
  reason?: string;
  scores?: Record<string, number>;
  labels?: string[];
}
export interface GymTasks {
  gym: string;
  name: string;
  license: string;
  sets: GymTaskSet[];
  tasks: GymTask[];
}
export interface GymInfo {
  id: string;
  address: string;
  manifest: GymManifest;
  contributor: string;
  license_accepted?: string;
  added: string;
}
export interface GymCandidate {
  hash: string;
  format: string;
  item: unknown;
  feedback: string;
}
export interface GymReview {
  gym: string;
  name: string;
  license: string;
  items: GymCandidate[] | null;
}
export interface GymSendReport {
  delivered: number;
  refused: number;
  failed: number;
  errors?: string[] | null;
}
export interface GymReceipt {
  gym: string;
  for: string;
  received: string;
  items: Array<{ hash: string; status: string; reason?: string }> | null;
}
export interface GymOutboxEntry {
  id: string;
  gym: string;
  kind: string;
  state: string;
  attempts: number;
  next_try: string;
  last_error?: string;
  created: string;
}

// Small, pure pieces of the Data, Sync and Gym pages, kept here so they
// can be tested without a browser.
import { ApiError, type ImportProgress, type ImportSummary } from "./api";

/** countdown formats the time left until `until` as m:ss ("expired" at 0). */
export function countdown(until: string | number | Date, now: number = Date.now()): string {
  const ms = new Date(until).getTime() - now;
  if (!(ms > 0)) return "expired";
  const s = Math.ceil(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** fraction is how far an import is, 0..1, or undefined when unknown. */
export function fraction(p: ImportProgress | null | undefined): number | undefined {
  if (!p?.total_bytes || p.bytes === undefined) return undefined;
  return Math.min(1, Math.max(0, p.bytes / p.total_bytes));
}

export interface SummaryTotals {
  new: number;
  updated: number;
  unchanged: number;
  revisions: number;
  deleted: number;
  refused: number;
  skipped: number;
  /** changed counts what was (or would be) written. */
  changed: number;
}

/** totals adds up an import summary over record kinds. */
export function totals(s: ImportSummary): SummaryTotals {
  const t: SummaryTotals = { new: 0, updated: 0, unchanged: 0, revisions: 0, deleted: 0, refused: 0, skipped: 0, changed: 0 };
  for (const c of Object.values(s.by_kind ?? {})) {
    t.new += c.new;
    t.updated += c.updated;
    t.unchanged += c.unchanged;
    t.revisions += c.revisions;
    t.deleted += c.deleted;
    t.refused += c.refused;
  }
  for (const k of s.skipped ?? []) t.skipped += k.count;
  t.changed = t.new + t.updated + t.revisions + t.deleted;
  return t;
}

/** importProblem says, for an import error, what happened and what to do. */
export function importProblem(e: unknown): string {
  if (!(e instanceof ApiError)) return e instanceof Error ? e.message : String(e);
  const msg = e.message.charAt(0).toUpperCase() + e.message.slice(1);
  switch (e.code) {
    case "wrong_bundle_key":
      return `${msg}. Check the passphrase (or key) the bundle was exported with.`;
    case "bundle_damaged":
      return `${msg}. Export it again from the other device.`;
    case "not_a_bundle":
      return `${msg}.`;
    case "nothing_to_import":
      return `${msg}.`;
    case "unknown_format":
      return `Cairn does not recognise this file: ${e.message}. Pick the format by hand, or choose a Cairn bundle, Cairn JSONL, or a ChatGPT, Claude or Open WebUI export.`;
    case "too_large":
      return `The file is too large: ${e.message}.`;
  }
  return e.message;
}

/** syncUnavailable is what to tell the person when the server runs no sync node. */
export function syncUnavailable(e: unknown): string | undefined {
  if (e instanceof ApiError && e.status === 503) {
    return "Sync is not running in this Cairn process: it could not start (Cairn's log says why, for example a listen address in use). Quit and start Cairn (or `cairn serve`) again.";
  }
  return undefined;
}

/** shortPeer shortens a libp2p peer id for display (the full id goes in a title). */
export function shortPeer(id: string): string {
  return id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id;
}

/** goJSON encodes like Go's json.Marshal, which makes a gym item's bytes
 * (gym.Item.Encode): compact, keys in the order given, and <, >, &, U+2028
 * and U+2029 escaped. Items hold only strings and booleans, where the two
 * encoders otherwise agree. */
export function goJSON(v: unknown): string {
  return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}

/** itemText is a gym item's exact bytes, as they would be signed and sent. */
export function itemText(item: unknown): string {
  return typeof item === "string" ? item : goJSON(item);
}

/** sha256Hex is the hex SHA-256 of s in UTF-8, or undefined where the page
 * has no WebCrypto (an insecure context). */
export async function sha256Hex(s: string): Promise<string | undefined> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return undefined;
  const d = await subtle.digest("SHA-256", new TextEncoder().encode(s));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** qrPath draws a QR grid (true: dark) as one SVG path of unit squares. */
export function qrPath(grid: boolean[][]): string {
  let d = "";
  grid.forEach((row, y) => row.forEach((dark, x) => {
    if (dark) d += `M${x} ${y}h1v1h-1z`;
  }));
  return d;
}

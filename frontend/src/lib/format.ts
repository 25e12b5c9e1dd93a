import type { MessageStats } from "./api";

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** tokensPerSecond is the generation speed, after the first token. */
export function tokensPerSecond(s: MessageStats | undefined): number | undefined {
  if (!s?.output_tokens || !s.total_ms) return undefined;
  const ms = s.total_ms - (s.first_token_ms ?? 0);
  if (ms <= 0) return undefined;
  return s.output_tokens / (ms / 1000);
}

export function day(iso: string): string {
  return new Date(iso).toLocaleDateString(undefined, { year: "numeric", month: "long", day: "numeric" });
}

export function time(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function isEmbeddingModel(name: string): boolean {
  return /embed|bge-|minilm|e5-/i.test(name);
}

// A rough passphrase strength hint: bits of a brute-force search over the
// character classes used, with common patterns discounted. It guides; the
// server only enforces a minimum length.
export interface Strength {
  bits: number;
  label: "too short" | "weak" | "fair" | "strong" | "very strong";
}

export function strength(p: string): Strength {
  if (p.length < 8) return { bits: 0, label: "too short" };
  let pool = 0;
  if (/[a-z]/.test(p)) pool += 26;
  if (/[A-Z]/.test(p)) pool += 26;
  if (/[0-9]/.test(p)) pool += 10;
  if (/[^a-zA-Z0-9]/.test(p)) pool += 33;
  const unique = new Set(p).size;
  let bits = Math.log2(Math.max(pool, 2)) * Math.min(p.length, unique * 2);
  if (/^(password|qwerty|123456|letmein|iloveyou)/i.test(p)) bits /= 3;
  if (/(.)\1{3,}/.test(p)) bits *= 0.7;
  const label = bits < 40 ? "weak" : bits < 60 ? "fair" : bits < 80 ? "strong" : "very strong";
  return { bits: Math.round(bits), label };
}

/** Dialable numbers and DTMF digits: cleaning pasted text and validating before anything is sent. */

const MAX_DESTINATION_CHARS = 64;
const DTMF_RE = /^[0-9*#A-D]+$/;
const TARGET_RE = /^\+?[0-9*#]+$/;

/** "tel:+84 (90) 123-4567" -> "+84901234567": drops separators and letters, keeps a leading +. */
export function cleanNumber(raw: string): string {
  const text = String(raw).trim().replace(/^(tel|callto|sips?):/i, "").split("@")[0] ?? "";
  return (text.trim().startsWith("+") ? "+" : "") + text.replace(/[^0-9*#]/g, "");
}

export function isValidTarget(number: string): boolean {
  return number.length <= MAX_DESTINATION_CHARS && TARGET_RE.test(number);
}

/** Uppercased digits when valid (0-9 * # A-D), else null. */
export function normalizeDtmf(digits: string): string | null {
  const upper = String(digits).toUpperCase();
  return DTMF_RE.test(upper) ? upper : null;
}

/** A number as given by code (spaces, dashes, dots and brackets allowed), or null when not dialable. */
export function strictNumber(raw: unknown): string | null {
  if (typeof raw !== "string") return null;
  const number = raw.trim().replace(/^(tel|callto):/i, "").replace(/[\s\-().]/g, "");
  return isValidTarget(number) ? number : null;
}

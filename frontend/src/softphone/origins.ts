/**
 * Origin patterns of a tenant, as in zorio_widget/tenants/origins.py: `*` right after `:` is a port
 * (digits), elsewhere one or more host labels; everything else matches exactly (case-insensitive).
 */

const PORT = "[0-9]{1,5}";
const HOST_LABELS = "[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*";

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

function patternRegex(pattern: string): RegExp {
  const [first, ...rest] = pattern.trim().replace(/\/+$/, "").split("*");
  let regex = escape(first ?? "");
  for (const piece of rest) regex += (regex.endsWith(":") ? PORT : HOST_LABELS) + escape(piece);
  return new RegExp(`^${regex}$`, "i");
}

export function originMatches(origin: string, patterns: readonly string[]): boolean {
  const clean = origin.trim().replace(/\/+$/, "");
  if (!clean || clean === "null") return false;
  return patterns.some((p) => p.trim() !== "" && patternRegex(p).test(clean));
}

/**
 * Text that stays readable on a tenant's colours: for each coloured background of the UI (primary,
 * accent, danger), `--zorio-on-*` is white where white reaches WCAG AA (4.5:1) on it, else near
 * black. A colour the browser cannot parse leaves the default (white).
 */
const SURFACES = ["primary", "accent", "danger"] as const;
const AA = 4.5;
const DARK = "#111827";

function channel(value: number): number {
  const c = value / 255;
  return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

/** Relative luminance (WCAG) of a computed `rgb(r, g, b)` colour, or null. */
export function luminance(rgb: string): number | null {
  const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(rgb);
  if (!m) return null;
  return 0.2126 * channel(+m[1]!) + 0.7152 * channel(+m[2]!) + 0.0722 * channel(+m[3]!);
}

/** White, or near black when white is under AA on `background` (a computed colour). */
export function readableOn(background: string): string | null {
  const l = luminance(background);
  if (l === null) return null;
  return 1.05 / (l + 0.05) >= AA ? "#fff" : DARK;
}

/** Sets `--zorio-on-*` on `host` from its current `--zorio-*` colours (call after they change). */
export function fitTextColours(host: HTMLElement, root: ParentNode): void {
  const probe = document.createElement("span");
  root.append(probe);
  for (const name of SURFACES) {
    probe.style.color = `var(--zorio-${name})`;
    const on = readableOn(getComputedStyle(probe).color);
    if (on) host.style.setProperty(`--zorio-on-${name}`, on);
  }
  probe.remove();
}

/** Inline SVG icons (24-unit grid, stroked with the text colour); decorative: the button carries the label. */

const PATHS = {
  phone: "M5 4h4l2 5-2.5 1.5a11 11 0 0 0 5 5L15 13l5 2v4a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2",
  hangup: "M3 15c5-5 13-5 18 0l-2 3-4-1v-3a9 9 0 0 0-6 0v3l-4 1z",
  mic: "M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3M5 11a7 7 0 0 0 14 0M12 18v3",
  micOff: "M3 3l18 18M9 9v3a3 3 0 0 0 5 2M15 10V6a3 3 0 0 0-6 0M5 11a7 7 0 0 0 11 5.5M19 11a7 7 0 0 1-.6 2.8M12 18v3",
  pause: "M8 5v14M16 5v14",
  play: "M7 5l12 7-12 7z",
  keypad: "M6 5h.01M12 5h.01M18 5h.01M6 11h.01M12 11h.01M18 11h.01M6 17h.01M12 17h.01M18 17h.01M12 21h.01",
  transfer: "M4 12h14M13 6l6 6-6 6",
  record: "M12 7a5 5 0 1 0 0 10 5 5 0 0 0 0-10",
  history: "M12 7v5l3 2M3 12a9 9 0 1 0 3-6.7L3 8M3 3v5h5",
  settings: "M4 7h10M18 7h2M4 17h4M12 17h8M16 5v4M10 15v4",
  check: "M5 12l4 4 10-10",
  minus: "M5 12h14",
  close: "M6 6l12 12M18 6L6 18",
  back: "M15 6l-6 6 6 6",
  backspace: "M9 6h11v12H9l-6-6zM12 9l5 6M17 9l-5 6",
  missed: "M4 4l7 7M4 4v5M4 4h5M14 14l6 6",
  redial: "M20 12a8 8 0 1 1-3-6.2M20 4v5h-5",
} as const;

export type IconName = keyof typeof PATHS;

export function icon(name: IconName): SVGSVGElement {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", "zorio-icon");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", PATHS[name]);
  svg.append(path);
  return svg;
}

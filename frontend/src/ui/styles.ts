/**
 * The Shadow DOM stylesheet, adopted as a constructable stylesheet (`adoptedStyleSheets`), so that a
 * partner page with a strict `style-src` (no 'unsafe-inline') shows the widget; only browsers
 * without constructable stylesheets get a `<style>` element. Colours are CSS variables (the tenant's
 * theme overrides them on the host); text and controls meet WCAG AA contrast on both themes.
 */
const CSS = `
:host{--zorio-primary:#2563eb;--zorio-accent:#15803d;--zorio-danger:#c81e1e;--zorio-bg:var(--zorio-tenant-bg,#fff);
--zorio-text:var(--zorio-tenant-text,#111827);--zorio-muted:#4b5563;--zorio-surface:#f3f4f6;--zorio-border:#6b7280;
--zorio-line:#d1d5db;--zorio-warn-bg:#fef3c7;--zorio-warn:#92400e;--zorio-err-bg:#fee2e2;--zorio-err:#991b1b;
--zorio-good:#15803d;--zorio-bad:#b91c1c;all:initial;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--zorio-text);display:block}
:host([layout=docked]),:host([layout=overlay]){position:fixed;z-index:2147483000;right:16px;bottom:16px}
:host([layout=fullscreen]:not([embedded])){position:fixed;inset:0;z-index:2147483000}
:host([embedded]){height:100%}
:host([theme=dark]){--zorio-bg:#111827;--zorio-text:#f9fafb;--zorio-muted:#d1d5db;--zorio-surface:#1f2937;--zorio-border:#9ca3af;
--zorio-line:#374151;--zorio-warn-bg:#422006;--zorio-warn:#fde68a;--zorio-err-bg:#450a0a;--zorio-err:#fecaca;
--zorio-good:#86efac;--zorio-bad:#fca5a5}
@media (prefers-color-scheme:dark){:host([theme=auto]){--zorio-bg:#111827;--zorio-text:#f9fafb;--zorio-muted:#d1d5db;
--zorio-surface:#1f2937;--zorio-border:#9ca3af;--zorio-line:#374151;--zorio-warn-bg:#422006;--zorio-warn:#fde68a;
--zorio-err-bg:#450a0a;--zorio-err:#fecaca;--zorio-good:#86efac;--zorio-bad:#fca5a5}}
*{box-sizing:border-box}
[hidden]{display:none!important}
.zorio-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
button,input,select{font:inherit;color:inherit}
button{cursor:pointer;border:1px solid var(--zorio-border);background:var(--zorio-surface);border-radius:8px;padding:8px 10px;
display:inline-flex;align-items:center;justify-content:center;gap:6px}
button:hover:not(:disabled){filter:brightness(.94)}
button:disabled{cursor:not-allowed;opacity:.45;filter:grayscale(1)}
:focus-visible{outline:3px solid var(--zorio-primary);outline-offset:2px}
button[aria-pressed=true]{background:var(--zorio-primary);color:var(--zorio-on-primary,#fff);border-color:var(--zorio-primary)}
input,select{width:100%;padding:8px 10px;border:1px solid var(--zorio-border);border-radius:8px;background:var(--zorio-bg)}
.zorio-icon{width:18px;height:18px;flex:none;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}
.zorio-launcher{position:relative;width:56px;height:56px;border-radius:50%;background:var(--zorio-primary);color:var(--zorio-on-primary,#fff);border:0;
box-shadow:0 6px 20px rgba(0,0,0,.25);padding:0}
.zorio-launcher .zorio-icon{width:26px;height:26px}
.zorio-launcher[data-live]{width:auto;min-width:56px;border-radius:28px;padding:0 18px;background:var(--zorio-accent);color:var(--zorio-on-accent,#fff)}
.zorio-launcher[data-live=ringing]{animation:zorio-pulse 1s infinite}
.zorio-badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;border-radius:10px;background:var(--zorio-danger);
color:#fff;font-size:12px;line-height:20px;padding:0 5px;font-weight:700}
@keyframes zorio-pulse{50%{transform:scale(1.08)}}
@media (prefers-reduced-motion:reduce){.zorio-launcher[data-live=ringing]{animation:none}}
.zorio-panel{background:var(--zorio-bg);color:var(--zorio-text);display:flex;flex-direction:column;overflow:hidden}
:host([layout=docked]) .zorio-panel,:host([layout=overlay]) .zorio-panel{width:min(340px,calc(100vw - 32px));
max-height:calc(100vh - 32px);border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.3);border:1px solid var(--zorio-line)}
:host([layout=overlay]) .zorio-backdrop{position:fixed;inset:0;display:flex;align-items:center;justify-content:center;pointer-events:none}
:host([layout=overlay]) .zorio-backdrop[data-modal]{background:rgba(0,0,0,.45);pointer-events:auto}
:host([layout=overlay]) .zorio-panel{pointer-events:auto}
:host([layout=fullscreen]) .zorio-panel{height:100%}
:host([layout=fullscreen]) main{max-width:480px;width:100%;margin:0 auto}
header{display:flex;align-items:center;gap:6px;padding:8px 10px;background:var(--zorio-primary);color:var(--zorio-on-primary,#fff)}
header img{height:22px}
header .zorio-title{flex:1;min-width:0;font-weight:600;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
header small{display:block;font-weight:400}
header button{background:transparent;border-color:transparent;color:inherit;padding:6px}
header :focus-visible{outline-color:currentColor}
.zorio-dot{width:10px;height:10px;border-radius:50%;background:#9ca3af;flex:none;border:1px solid #fff}
[data-s=registered]{background:#4ade80}[data-s=failed],[data-s=unregistered]{background:#f87171}
[data-s=connecting]{background:#fbbf24}
main{padding:12px;overflow:auto;display:flex;flex-direction:column;gap:12px;flex:1;min-height:0}
.zorio-sound{background:var(--zorio-warn-bg);color:var(--zorio-warn);border-color:var(--zorio-warn);font-weight:600;width:100%}
.zorio-error{background:var(--zorio-err-bg);color:var(--zorio-err);border-radius:8px;padding:8px 10px;display:flex;gap:8px;align-items:center}
.zorio-error span{flex:1}
.zorio-error button{padding:4px;background:transparent;border-color:transparent;color:inherit}
.zorio-lost{border:2px solid var(--zorio-warn);border-radius:10px;padding:10px;display:flex;flex-direction:column;gap:8px;
background:var(--zorio-warn-bg);color:var(--zorio-warn)}
.zorio-keys{display:grid;grid-template-columns:repeat(3,1fr);gap:8px}
.zorio-keys button{font-size:18px;padding:10px 0}
.zorio-row{display:flex;gap:8px}
.zorio-row>*{flex:1}
.zorio-row>.zorio-fit{flex:none}
.zorio-call{border:1px solid var(--zorio-line);border-radius:12px;padding:12px;display:flex;flex-direction:column;gap:8px;text-align:center}
.zorio-call[data-stale]{border:2px dashed var(--zorio-warn);background:var(--zorio-warn-bg)}
.zorio-call[data-stale] .zorio-state{color:var(--zorio-warn);font-weight:600}
.zorio-peer{font-size:18px;font-weight:600;overflow-wrap:break-word;word-break:normal;hyphens:auto}
.zorio-sub{color:var(--zorio-muted);overflow-wrap:break-word}
.zorio-tags{display:flex;flex-wrap:wrap;gap:4px;justify-content:center}
.zorio-tags span{border:1px solid var(--zorio-line);border-radius:10px;padding:0 8px;font-size:12px}
.zorio-timer{font-variant-numeric:tabular-nums;font-size:16px}
.zorio-controls{display:grid;grid-template-columns:repeat(2,1fr);gap:8px}
.zorio-go,.zorio-answer{background:var(--zorio-accent);color:var(--zorio-on-accent,#fff);border-color:var(--zorio-accent);font-weight:600}
.zorio-hangup,.zorio-reject{background:var(--zorio-danger);color:var(--zorio-on-danger,#fff);border-color:var(--zorio-danger);font-weight:600}
.zorio-go{width:100%;padding:12px;font-size:16px}
.zorio-list{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:6px}
.zorio-list li{display:flex;gap:8px;align-items:center;border:1px solid var(--zorio-line);border-radius:8px;padding:6px 8px}
.zorio-list li>:first-child{flex:1;min-width:0;text-align:left;overflow-wrap:break-word}
.zorio-list small{display:block;color:var(--zorio-muted)}
.zorio-list button{padding:6px}
.zorio-pick{background:transparent;border:0;padding:0;text-align:left;justify-content:flex-start;width:100%}
.zorio-presence{width:10px;height:10px;border-radius:50%;flex:none;background:#9ca3af}
[data-presence=available]{background:#16a34a}[data-presence=busy]{background:#dc2626}
.zorio-missed,.zorio-fail{color:var(--zorio-bad)}.zorio-ok{color:var(--zorio-good)}.zorio-skipped{color:var(--zorio-muted)}
.zorio-checks small{word-break:break-word}
label{display:flex;flex-direction:column;gap:4px;color:var(--zorio-muted)}
h2{font-size:15px;margin:0}
`;

let sheet: CSSStyleSheet | null = null;

/** Gives `root` the stylesheet: adopted (one sheet shared by every instance), else a `<style>` element. */
export function adoptStyles(root: ShadowRoot): HTMLStyleElement | null {
  if ("adoptedStyleSheets" in root && typeof CSSStyleSheet === "function" && "replaceSync" in CSSStyleSheet.prototype) {
    if (!sheet) {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
    }
    root.adoptedStyleSheets = [sheet, ...root.adoptedStyleSheets.filter((s) => s !== sheet)];
    return null;
  }
  const style = document.createElement("style");
  style.textContent = CSS;
  return style;
}

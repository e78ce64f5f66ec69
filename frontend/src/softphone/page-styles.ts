/**
 * The softphone page's own stylesheet (agent bar, layout, after-call card), adopted by the document
 * as a constructable stylesheet: the page sends a CSP without 'unsafe-inline' styles
 * (zorio_widget/web/softphone.py). The phone takes the space the card panel leaves; the card panel
 * scrolls inside itself (below the phone on a narrow iframe, beside it on a wide one).
 */
const CSS = `
:root{--zorio-primary:#2563eb;--zorio-accent:#15803d;--zorio-danger:#c81e1e;color-scheme:light}
html,body{margin:0;height:100%}
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--zorio-tenant-bg,#fff);
color:var(--zorio-tenant-text,#111827);display:grid;grid-template-rows:auto minmax(0,1fr) auto;grid-template-columns:minmax(0,1fr)}
.zorio-softphone-note{padding:24px;text-align:center;color:#4b5563}
#zorio-phone{min-height:0;overflow:hidden}
.zorio-agent{display:flex;flex-wrap:wrap;align-items:center;gap:6px;padding:6px 10px;border-bottom:1px solid #d1d5db;font-size:13px}
.zorio-agent-state{flex:1;min-width:0;display:flex;align-items:center;gap:6px;font-weight:600}
.zorio-agent-state small{font-weight:400;color:#4b5563}
.zorio-agent-dot{width:10px;height:10px;border-radius:50%;background:#9ca3af;flex:none}
[data-state=ready] .zorio-agent-dot{background:#16a34a}[data-state=paused] .zorio-agent-dot{background:#d97706}
.zorio-agent button,.zorio-agent select{font:inherit;padding:4px 10px;border-radius:8px;border:1px solid #6b7280;background:#f3f4f6;color:#111827;cursor:pointer}
.zorio-agent .zorio-agent-primary{background:var(--zorio-accent);border-color:var(--zorio-accent);color:var(--zorio-on-accent,#fff);font-weight:600}
#zorio-cards{max-height:55vh;overflow:auto;padding:10px 12px;background:var(--zorio-tenant-bg,#fff);
border-top:2px solid var(--zorio-primary);box-sizing:border-box}
#zorio-cards[hidden]{display:none}
.zorio-card{display:flex;flex-direction:column;gap:8px;margin-bottom:16px;max-width:480px;margin-inline:auto}
.zorio-card h2{font-size:15px;margin:0;overflow-wrap:break-word}
.zorio-card-form{display:flex;flex-direction:column;gap:10px}
.zorio-card-field{display:flex;flex-direction:column;gap:4px;position:relative}
.zorio-card-label,.zorio-card-check{color:#374151;font-size:13px}
.zorio-card-req{color:var(--zorio-danger)}
.zorio-card input:not([type=checkbox]),.zorio-card select,.zorio-card textarea{font:inherit;padding:7px 9px;border:1px solid #6b7280;
border-radius:8px;background:#fff;color:#111827}
:focus-visible{outline:3px solid var(--zorio-primary);outline-offset:1px}
.zorio-card small{color:#4b5563}
.zorio-card-error{color:var(--zorio-danger);font-size:12px}
.zorio-card-options{list-style:none;margin:0;padding:4px 0;border:1px solid #6b7280;border-radius:8px;background:#fff;max-height:160px;overflow:auto}
.zorio-card-options li{padding:6px 10px;cursor:pointer}
.zorio-card-options li:hover{background:#eff6ff}
.zorio-card-countdown,.zorio-card-status,.zorio-card-notice{margin:0;color:#374151;font-size:13px}
.zorio-card-notice{max-width:480px;margin:0 auto 8px;color:#166534;font-weight:600}
.zorio-card-actions{display:flex;gap:8px}
.zorio-card-actions button,.zorio-card-link{font:inherit;padding:8px;border-radius:8px;cursor:pointer;border:1px solid #6b7280;background:#f3f4f6;color:#111827}
.zorio-card-actions button{flex:1}
.zorio-card-link{align-self:flex-start;padding:4px 10px}
.zorio-card-create{border:1px dashed #6b7280;border-radius:8px;padding:8px;margin-top:6px}
.zorio-card-save{background:var(--zorio-primary)!important;color:var(--zorio-on-primary,#fff)!important;border-color:var(--zorio-primary)!important;font-weight:600}
@media (min-width:720px){body.zorio-with-card{grid-template-columns:minmax(0,1fr) minmax(0,1fr)}
body.zorio-with-card .zorio-agent{grid-column:1/3}
body.zorio-with-card #zorio-cards{max-height:none;border-top:0;border-left:2px solid var(--zorio-primary)}}
`;

export function adoptPageStyles(): void {
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(CSS);
  document.adoptedStyleSheets = [sheet, ...document.adoptedStyleSheets];
}

/** The Shadow DOM stylesheet. Colours are CSS variables; the tenant's theme overrides them on the host. */
export const STYLES = `
:host{--zorio-primary:#2563eb;--zorio-accent:#16a34a;--zorio-danger:#dc2626;--zorio-bg:var(--zorio-tenant-bg,#fff);
--zorio-text:var(--zorio-tenant-text,#111827);--zorio-muted:#6b7280;--zorio-surface:#f3f4f6;--zorio-border:#e5e7eb;
all:initial;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--zorio-text);z-index:2147483000}
:host([theme=dark]){--zorio-bg:#111827;--zorio-text:#f9fafb;--zorio-muted:#9ca3af;--zorio-surface:#1f2937;--zorio-border:#374151}
@media (prefers-color-scheme:dark){:host([theme=auto]){--zorio-bg:#111827;--zorio-text:#f9fafb;--zorio-muted:#9ca3af;--zorio-surface:#1f2937;--zorio-border:#374151}}
*{box-sizing:border-box}
[hidden]{display:none!important}
button,input,select{font:inherit;color:inherit}
button{cursor:pointer;border:1px solid var(--zorio-border);background:var(--zorio-surface);border-radius:8px;padding:8px 10px}
button:hover{filter:brightness(.95)}
button:focus-visible,input:focus-visible,select:focus-visible{outline:2px solid var(--zorio-primary);outline-offset:2px}
button[aria-pressed=true]{background:var(--zorio-primary);color:#fff;border-color:var(--zorio-primary)}
input,select{width:100%;padding:8px 10px;border:1px solid var(--zorio-border);border-radius:8px;background:var(--zorio-bg)}
.zorio-launcher{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;background:var(--zorio-primary);
color:#fff;border:0;box-shadow:0 6px 20px rgba(0,0,0,.25);font-size:24px;padding:0}
.zorio-launcher.zorio-ring{animation:zorio-pulse 1s infinite}
@keyframes zorio-pulse{50%{transform:scale(1.1)}}
.zorio-panel{background:var(--zorio-bg);color:var(--zorio-text);display:flex;flex-direction:column;overflow:hidden}
:host([layout=docked]) .zorio-panel{position:fixed;right:20px;bottom:20px;width:320px;max-height:calc(100vh - 40px);
border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.3);border:1px solid var(--zorio-border)}
:host([layout=overlay]) .zorio-backdrop{position:fixed;inset:0;background:rgba(0,0,0,.45);display:flex;align-items:center;justify-content:center}
:host([layout=overlay]) .zorio-panel{width:360px;max-width:calc(100vw - 24px);max-height:calc(100vh - 24px);border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.4)}
:host([layout=fullscreen]) .zorio-panel{position:fixed;inset:0}
:host([layout=fullscreen]) main{max-width:480px;width:100%;margin:0 auto}
header{display:flex;align-items:center;gap:8px;padding:10px 12px;background:var(--zorio-primary);color:#fff}
header img{height:22px}
header .zorio-title{flex:1;min-width:0;font-weight:600;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
header small{display:block;font-weight:400;opacity:.85}
header button{background:transparent;border-color:transparent;color:#fff;padding:4px 8px}
.zorio-dot{width:10px;height:10px;border-radius:50%;background:#9ca3af;flex:none}
.zorio-dot[data-s=registered]{background:#4ade80}.zorio-dot[data-s=failed]{background:#f87171}
.zorio-dot[data-s=connecting]{background:#fbbf24}
main{padding:12px;overflow:auto;display:flex;flex-direction:column;gap:12px}
.zorio-sound{background:#fef3c7;color:#92400e;border-color:#f59e0b;font-weight:600;width:100%}
.zorio-error{background:#fee2e2;color:#991b1b;border-radius:8px;padding:8px 10px;display:flex;gap:8px;align-items:center}
.zorio-error span{flex:1}
.zorio-error button{padding:2px 8px}
.zorio-keys{display:grid;grid-template-columns:repeat(3,1fr);gap:8px}
.zorio-keys button{font-size:18px;padding:10px 0}
.zorio-row{display:flex;gap:8px}
.zorio-row>*{flex:1}
.zorio-call{border:1px solid var(--zorio-border);border-radius:12px;padding:12px;display:flex;flex-direction:column;gap:10px;text-align:center}
.zorio-peer{font-size:18px;font-weight:600;word-break:break-all}
.zorio-sub{color:var(--zorio-muted)}
.zorio-timer{font-variant-numeric:tabular-nums;font-size:16px}
.zorio-controls{display:grid;grid-template-columns:repeat(2,1fr);gap:8px}
.zorio-go,.zorio-answer{background:var(--zorio-accent);color:#fff;border-color:var(--zorio-accent);font-weight:600}
.zorio-hangup,.zorio-reject{background:var(--zorio-danger);color:#fff;border-color:var(--zorio-danger);font-weight:600}
.zorio-list{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:6px}
.zorio-list li{display:flex;gap:8px;align-items:center;justify-content:space-between;border:1px solid var(--zorio-border);border-radius:8px;padding:6px 8px}
.zorio-checks small{display:block;color:var(--zorio-muted);word-break:break-word}
.zorio-ok{color:var(--zorio-accent)}.zorio-fail{color:var(--zorio-danger)}.zorio-skipped{color:var(--zorio-muted)}
label{display:flex;flex-direction:column;gap:4px;color:var(--zorio-muted)}
h2{font-size:15px;margin:0}
`;

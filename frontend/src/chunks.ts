/**
 * The parts of the widget loaded beside webphone.js on first use, from its own directory: the UI
 * (webphone-ui.js, for `connect({mount})`) and the connection check (webphone-diagnose.js, for
 * `diagnose()`). A page that bundles a part (the softphone) has it already. A strict CSP with
 * nonces gets the nonce webphone.js was loaded with. Read while webphone.js runs: its URL and nonce.
 */
import { fetchSipConfig } from "./config";
import { DIAGNOSE_READY, type FetchConfig } from "./diagnose";
import { ZorioWebphoneError } from "./errors";
import type { DiagnoseOptions, DiagnoseResult } from "./public-api";

// (No document: the SDK's Node tests, which import phone.ts.)
const SCRIPT = typeof document === "undefined" ? null : (document.currentScript as HTMLScriptElement | null);
export const SCRIPT_SRC = SCRIPT?.src ?? "";
const SCRIPT_NONCE = SCRIPT?.nonce ?? "";

export type RunDiagnose = (opts: DiagnoseOptions & { apiBase: string }, fetchConfig: FetchConfig) => Promise<DiagnoseResult>;

/** Appends `<script src=file>`; resolves when `ready` does, rejects with bootstrap_failed when it cannot load. */
export function loadChunk<T>(file: string, apiBase: string, ready: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const script = document.createElement("script");
    script.src = SCRIPT_SRC ? new URL(file, SCRIPT_SRC).href : `${apiBase}/static/zorio/${file}`;
    if (SCRIPT_NONCE) script.nonce = SCRIPT_NONCE;
    script.onerror = () => {
      script.remove();
      reject(new ZorioWebphoneError("bootstrap_failed", { stage: file, url: script.src }));
    };
    ready.then(resolve, reject);
    document.head.append(script);
  });
}

let diagnoseLoading: Promise<RunDiagnose> | null = null;

/** `diagnose()`: the checks of webphone-diagnose.js, loaded once. */
export function diagnose(opts: DiagnoseOptions & { apiBase: string }): Promise<DiagnoseResult> {
  diagnoseLoading ??= loadChunk("webphone-diagnose.js", opts.apiBase, new Promise<RunDiagnose>((resolve) => {
    document.addEventListener(DIAGNOSE_READY, (event) => resolve((event as CustomEvent<RunDiagnose>).detail), { once: true });
  }));
  diagnoseLoading.catch(() => { diagnoseLoading = null; }); // a failed load is tried again next time
  return diagnoseLoading.then((run) => run(opts, fetchSipConfig));
}

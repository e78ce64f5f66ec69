/** Entry of webphone-diagnose.js: the connection check, loaded by webphone.js on the first `diagnose()` (chunks.ts). */
import type { RunDiagnose } from "./chunks";
import { DIAGNOSE_READY, runDiagnose } from "./diagnose";

document.dispatchEvent(new CustomEvent<RunDiagnose>(DIAGNOSE_READY, { detail: runDiagnose }));

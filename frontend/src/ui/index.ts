/**
 * Entry of webphone-ui.js: the `<zorio-phone>` widget UI, which webphone.js loads (from the same
 * directory) only when `connect({mount})` asks for a UI; a headless SDK never downloads it. The
 * softphone page bundles it directly.
 */
import { defineElement } from "./element";

defineElement();

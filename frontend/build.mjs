// Builds static/zorio/webphone.js (+ .map) and webphone.d.ts. Deterministic: a rebuild of the same
// sources gives byte-identical files (no timestamps, sorted inputs, fixed target).
import { build } from "esbuild";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outDir = resolve(here, "../static/zorio");
const { version } = JSON.parse(readFileSync(resolve(here, "package.json"), "utf8"));
mkdirSync(outDir, { recursive: true });

await build({
  entryPoints: [resolve(here, "src/index.ts")],
  outfile: resolve(outDir, "webphone.js"),
  bundle: true,
  format: "iife",
  platform: "browser",
  target: ["es2020"],
  minify: true,
  sourcemap: "linked",
  sourceRoot: "",
  sourcesContent: true,
  legalComments: "none",
  charset: "utf8",
  define: { __VERSION__: JSON.stringify(version) },
  banner: { js: `/*! Zorio Webphone ${version} */` },
  logLevel: "warning",
});

const api = readFileSync(resolve(here, "src/public-api.ts"), "utf8");
writeFileSync(
  resolve(outDir, "webphone.d.ts"),
  `// Types of /static/zorio/webphone.js (Zorio Webphone ${version}). Generated from frontend/src/public-api.ts.\n` +
    api.replace(/^\/\*\*[\s\S]*?\*\/\n\n/, "") +
    `\ndeclare global {\n  interface Window {\n    ZorioWebphone: ZorioWebphoneStatic;\n  }\n  const ZorioWebphone: ZorioWebphoneStatic;\n}\n`,
);

// Builds static/zorio/webphone.js (+ .map) and webphone.d.ts, softphone.js (+ .map, .d.ts) and
// softphone-app.js (+ .map). Deterministic: a rebuild of the same sources gives byte-identical files
// (no timestamps, sorted inputs, fixed target).
import { build } from "esbuild";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outDir = resolve(here, "../static/zorio");
const { version } = JSON.parse(readFileSync(resolve(here, "package.json"), "utf8"));
mkdirSync(outDir, { recursive: true });

const common = {
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
};
await build({ ...common, entryPoints: [resolve(here, "src/index.ts")], outfile: resolve(outDir, "webphone.js") });
// The iframe softphone (DESIGN.md §5b): a small loader for partner pages, and the app of /softphone/.
await build({ ...common, entryPoints: [resolve(here, "src/softphone/loader.ts")], outfile: resolve(outDir, "softphone.js"),
  banner: { js: `/*! Zorio Softphone ${version} */` } });
await build({ ...common, entryPoints: [resolve(here, "src/softphone/app.ts")], outfile: resolve(outDir, "softphone-app.js"),
  banner: { js: `/*! Zorio Softphone app ${version} */` } });

const api = readFileSync(resolve(here, "src/public-api.ts"), "utf8");
writeFileSync(
  resolve(outDir, "webphone.d.ts"),
  `// Types of /static/zorio/webphone.js (Zorio Webphone ${version}). Generated from frontend/src/public-api.ts.\n` +
    api.replace(/^\/\*\*[\s\S]*?\*\/\n\n/, "") +
    `\ndeclare global {\n  interface Window {\n    ZorioWebphone: ZorioWebphoneStatic;\n  }\n  const ZorioWebphone: ZorioWebphoneStatic;\n}\n`,
);

const softphoneApi = readFileSync(resolve(here, "src/softphone/public-api.ts"), "utf8");
writeFileSync(
  resolve(outDir, "softphone.d.ts"),
  `// Types of /static/zorio/softphone.js (Zorio Softphone ${version}). Generated from frontend/src/softphone/public-api.ts.\n` +
    softphoneApi.replace(/^\/\*\*[\s\S]*?\*\/\n\n/, "") +
    `\ndeclare global {\n  interface Window {\n    ZorioSoftphone: ZorioSoftphoneStatic;\n  }\n  const ZorioSoftphone: ZorioSoftphoneStatic;\n}\n`,
);

// Builds static/zorio/webphone.js (+ .map) and webphone.d.ts, webphone-ui.js and webphone-diagnose.js (+ .map), softphone.js
// (+ .map, .d.ts), softphone-app.js (+ .map) and softphone-sw.js (+ .map). Deterministic: a rebuild of the same sources gives byte-identical files
// (no timestamps, sorted inputs, fixed target).
import { build } from "esbuild";
import { minify } from "terser";
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
/**
 * A second pass with terser over esbuild's output (a few hundred bytes smaller than esbuild's own
 * minifier, which keeps the budget of bench/bundle.py for the UI); the source map is chained.
 */
async function squeeze(file) {
  const path = resolve(outDir, file);
  const code = readFileSync(path, "utf8").replace(/\n\/\/# sourceMappingURL=.*\n?$/, "\n");
  const map = readFileSync(`${path}.map`, "utf8");
  const out = await minify(code, {
    ecma: 2020,
    compress: { passes: 2, ecma: 2020 },
    mangle: true,
    format: { comments: /^!/ },
    sourceMap: { content: map, url: `${file}.map`, includeSources: true },
  });
  writeFileSync(path, out.code + "\n");
  writeFileSync(`${path}.map`, String(out.map));
}

await build({ ...common, entryPoints: [resolve(here, "src/index.ts")], outfile: resolve(outDir, "webphone.js") });
await squeeze("webphone.js");
// The widget UI, loaded by webphone.js only for connect({mount}) (a headless SDK never downloads it).
await build({ ...common, entryPoints: [resolve(here, "src/ui/index.ts")], outfile: resolve(outDir, "webphone-ui.js"),
  banner: { js: `/*! Zorio Webphone UI ${version} */` } });
await squeeze("webphone-ui.js");
// The connection check, loaded by webphone.js on the first diagnose() (src/chunks.ts).
await build({ ...common, entryPoints: [resolve(here, "src/diagnose-entry.ts")], outfile: resolve(outDir, "webphone-diagnose.js"),
  banner: { js: `/*! Zorio Webphone diagnose ${version} */` } });
await squeeze("webphone-diagnose.js");
// The iframe softphone (docs/DESIGN.md §5b): a small loader for partner pages, and the app of /softphone/.
await build({ ...common, entryPoints: [resolve(here, "src/softphone/loader.ts")], outfile: resolve(outDir, "softphone.js"),
  banner: { js: `/*! Zorio Softphone ${version} */` } });
await build({ ...common, entryPoints: [resolve(here, "src/softphone/app.ts")], outfile: resolve(outDir, "softphone-app.js"),
  banner: { js: `/*! Zorio Softphone app ${version} */` } });
// Its service worker, served by the server at /softphone/sw.js (a worker's scope is at most its URL's folder).
await build({ ...common, entryPoints: [resolve(here, "src/softphone/worker.ts")], outfile: resolve(outDir, "softphone-sw.js"),
  banner: { js: `/*! Zorio Softphone service worker ${version} */` } });

// webphone.d.ts is self-contained: the generated literal unions (public-types.ts) come first, then
// public-api.ts without its file comment and without its imports of them. Any other import fails the
// build, since a published .d.ts cannot import the SDK's sources.
const GENERATED_IMPORT = /^(?:import|export) type \{[^}]*\} from "\.\/generated\/public-types";\n/gm;
const fileComment = /^\/\*\*[\s\S]*?\*\/\n/;
const unions = readFileSync(resolve(here, "src/generated/public-types.ts"), "utf8").replace(/^\/\/.*\n\n?/, "");
const api = readFileSync(resolve(here, "src/public-api.ts"), "utf8").replace(fileComment, "").replace(GENERATED_IMPORT, "");
if (/^\s*(?:import|export)\b[^\n]*\bfrom\b/m.test(api)) throw new Error("src/public-api.ts: only the generated public-types may be imported");
writeFileSync(
  resolve(outDir, "webphone.d.ts"),
  `// Types of /static/zorio/webphone.js (Zorio Webphone ${version}). Generated from frontend/src/public-api.ts.\n` +
    unions +
    api.replace(/^\n+/, "\n") +
    `\ndeclare global {\n  interface Window {\n    ZorioWebphone: ZorioWebphoneStatic;\n  }\n  const ZorioWebphone: ZorioWebphoneStatic;\n}\n`,
);

const softphoneApi = readFileSync(resolve(here, "src/softphone/public-api.ts"), "utf8");
writeFileSync(
  resolve(outDir, "softphone.d.ts"),
  `// Types of /static/zorio/softphone.js (Zorio Softphone ${version}). Generated from frontend/src/softphone/public-api.ts.\n` +
    softphoneApi.replace(/^\/\*\*[\s\S]*?\*\/\n\n/, "") +
    `\ndeclare global {\n  interface Window {\n    ZorioSoftphone: ZorioSoftphoneStatic;\n  }\n  const ZorioSoftphone: ZorioSoftphoneStatic;\n}\n`,
);

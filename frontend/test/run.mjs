// The SDK's Node test tier: bundles each test/*.test.ts with esbuild (no type check here; `npm run
// typecheck` checks the tests too) into a temporary directory and runs them with `node --test`.
// Run: `npm test` (or `make test-frontend`); extra arguments go to `node --test` (e.g. --test-name-pattern).
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const NODE_MAJOR_MIN = 20; // node:test's mock timers
if (Number(process.versions.node.split(".")[0]) < NODE_MAJOR_MIN) {
  console.error(`the widget's tests need Node.js ${NODE_MAJOR_MIN}+, this is ${process.version}`);
  process.exit(1);
}
const here = dirname(fileURLToPath(import.meta.url));
const tests = readdirSync(here).filter((name) => name.endsWith(".test.ts")).sort();
if (!tests.length) {
  console.error(`no *.test.ts in ${here}`);
  process.exit(1);
}
const outDir = mkdtempSync(join(tmpdir(), "zorio-frontend-tests-"));
try {
  await build({
    entryPoints: tests.map((name) => resolve(here, name)),
    outdir: outDir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    format: "esm",
    platform: "node",
    target: ["node20"],
    sourcemap: "inline",
    define: { __VERSION__: JSON.stringify("test") },
    logLevel: "warning",
  });
  const files = tests.map((name) => join(outDir, name.replace(/\.ts$/, ".mjs")));
  const run = spawnSync(process.execPath, ["--enable-source-maps", "--test", ...process.argv.slice(2), ...files], { stdio: "inherit" });
  process.exitCode = run.status ?? 1;
} finally {
  rmSync(outDir, { recursive: true, force: true });
}

/** Readable text on a tenant's colours: white where it reaches WCAG AA (4.5:1), else near black. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { luminance, readableOn } from "../src/ui/contrast";

test("white text only where it reaches 4.5:1", () => {
  assert.equal(readableOn("rgb(37, 99, 235)"), "#fff"); // #2563eb: 5.2:1
  assert.equal(readableOn("rgb(21, 128, 61)"), "#fff"); // #15803d: 5.0:1
  assert.equal(readableOn("rgb(22, 163, 74)"), "#111827"); // #16a34a: 3.3:1 with white
  assert.equal(readableOn("rgb(253, 230, 138)"), "#111827");
  assert.equal(readableOn("rgba(0, 0, 0, 0.5)"), "#fff");
  assert.equal(readableOn("not a colour"), null);
  assert.equal(luminance("rgb(255, 255, 255)"), 1);
  assert.equal(luminance("rgb(0, 0, 0)"), 0);
});

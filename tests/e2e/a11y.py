"""Accessibility scans with axe-core (npm devDependency of frontend/, never part of the shipped bundle)
and the screenshots of each screen state, kept as CI artifacts under test-artifacts/screenshots/.

`scan()` runs axe's WCAG 2.0/2.1 A and AA rules on the page or frame (open shadow roots included) and
returns the serious and critical violations, each as `rule: target (summary)`.
"""

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical").flatMap((v) =>
    v.nodes.map((n) => `${v.id}: ${JSON.stringify(n.target)} (${n.failureSummary.replace(/\\s+/g, " ").slice(0, 200)})`));
}"""


def _axe_source() -> str:
    if not AXE.is_file():
        raise AssertionError(f"{AXE} is missing: run `cd frontend && npm ci` (make test-frontend does it)")
    return AXE.read_text()


def scan(target: Any) -> list[str]:
    """Serious/critical violations on a Playwright Page or Frame. axe is evaluated through the
    debugging protocol, so a page's strict CSP (the softphone's) does not stand in the way."""
    if not target.evaluate("() => typeof window.axe !== 'undefined'"):
        target.evaluate(_axe_source() + "\n;undefined")
    return list(target.evaluate(RUN, TAGS))


def shoot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def check(page: Any, name: str, target: Any = None) -> None:
    """Screenshot `name`, then no serious or critical violation in `target` (the page by default)."""
    shoot(page, name)
    problems = scan(target or page)
    assert problems == [], f"{name}: {problems}"

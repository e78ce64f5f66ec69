"""A browser agent on the demo page of a live server, shared by the live e2e tests."""

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HELPERS = Path(__file__).resolve().parent / "helpers.js"
SOUND = 0.005    # RMS of Chrome's fake microphone (beeps) / music on hold after the relay
SILENCE = 0.001


def console_of(page: Any) -> list[str]:
    """Every console line the page logs from now on."""
    lines: list[str] = []
    page.on("console", lambda message: lines.append(message.text))
    return lines


def wait_for_console(page: Any, lines: list[str], match: Callable[[str], bool], within_s: float = 45.0) -> str:
    """The first of `lines` (from `console_of`) that matches, waited for without evaluating in the
    page: Playwright's evaluate and polling count as user gestures and would lift an autoplay block
    under test. A loaded CI machine once took over 20 s to register a page; a miss shows what the
    page did log."""
    deadline = time.monotonic() + within_s
    while not (found := [line for line in lines if match(line)]):
        assert time.monotonic() < deadline, f"no matching console line in {within_s} s; the page logged {lines[-20:]}"
        page.wait_for_timeout(100)  # lets the sync API deliver the page's events
    return found[0]


class Agent:
    """One browser context signed in on the demo page as `extension`."""

    def __init__(self, browser: Any, url: str, extension: str, layout: str = "docked") -> None:
        self.context = browser.new_context(permissions=["microphone"])
        self.context.add_init_script(path=str(HELPERS))
        self.page = self.context.new_page()
        self.page.goto(f"{url}/demo/?extension={extension}&layout={layout}&debug=1")
        self.page.wait_for_function("window.phone && phone.status === 'registered'", timeout=20000)
        self.page.evaluate("zorioRecord(phone)")

    def js(self, expression: str) -> Any:
        return self.page.evaluate(expression)

    def wait(self, expression: str, timeout: float = 15000) -> None:
        self.page.wait_for_function(expression, timeout=timeout)

    def events(self) -> list[str]:
        return [e["name"] for e in self.js("zorioEvents")]

    def energy(self, ms: int = 1500) -> float:
        self.wait("phone.calls[0] && phone.calls[0].debug.remoteStream")
        return float(self.js(f"zorioRemoteEnergy({ms})"))

    def ui(self, selector: str) -> Any:
        return self.page.locator(f"zorio-phone {selector}")

    def close(self) -> None:
        self.context.close()

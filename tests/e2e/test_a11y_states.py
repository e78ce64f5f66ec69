"""Every screen state of the widget, screenshot (test-artifacts/screenshots/) and scanned with axe-core:
no serious or critical WCAG 2.1 A/AA violation in any of them, in both themes and both languages. The
page talks to the in-page fake signalling server (real WebRTC media) and the fake site's canned REST
answers (history, directory); tests/e2e/test_softphone_a11y.py does the softphone on the live server."""

from typing import Any

import pytest

from tests.e2e.a11y import check

pytestmark = pytest.mark.e2e


def ui(page: Any, selector: str) -> Any:
    return page.locator(f"zorio-phone {selector}")


def in_call(page: Any) -> None:
    page.evaluate("phone.call('1002').then(c => window.c = c)")
    page.wait_for_function("window.c && c.state === 'answered'")


@pytest.mark.parametrize(("theme", "locale"), [("light", "en"), ("dark", "en"), ("light", "vi")])
def test_every_screen_of_the_docked_widget(fake_page: Any, theme: str, locale: str) -> None:
    tag = f"{theme}-{locale}"
    fake_page.evaluate(f"start({{theme: {theme!r}, locale: {locale!r}}})")
    check(fake_page, f"a11y-{tag}-01-launcher")
    ui(fake_page, ".zorio-launcher").click()
    ui(fake_page, "[data-k=call]").wait_for()
    check(fake_page, f"a11y-{tag}-02-dialer")
    fake_page.evaluate("fake.incoming('1002', 'Nguyễn Thị Minh Khai')")
    ui(fake_page, ".zorio-incoming").wait_for()
    check(fake_page, f"a11y-{tag}-03-incoming")
    ui(fake_page, "[data-k=min]").click()
    check(fake_page, f"a11y-{tag}-04-launcher-ringing")
    ui(fake_page, ".zorio-launcher").click(force=True)  # it pulses: never "stable" for Playwright
    ui(fake_page, ".zorio-answer").click()
    fake_page.wait_for_function("phone.calls[0].state === 'answered'")
    check(fake_page, f"a11y-{tag}-05-in-call")
    ui(fake_page, "[data-k^=keypad-]").click()
    ui(fake_page, "[data-k=dtmf-5]").wait_for()
    check(fake_page, f"a11y-{tag}-06-keypad")
    ui(fake_page, "[data-k^=transfer-]").click()
    ui(fake_page, "[data-k=pick-1003]").wait_for()
    check(fake_page, f"a11y-{tag}-07-transfer-directory")
    ui(fake_page, "[data-k^=transfer-][aria-pressed]").click()
    ui(fake_page, "[data-k^=mute-]").click()
    ui(fake_page, "[data-k^=record-]").click()
    fake_page.wait_for_function("phone.calls[0].muted && phone.calls[0].recording === 'recording'")
    ui(fake_page, "[data-k^=hold-]").click()
    fake_page.wait_for_function("phone.calls[0].onHold")
    check(fake_page, f"a11y-{tag}-08-muted-recording-on-hold")
    ui(fake_page, "[data-k^=hold-]").click()
    fake_page.wait_for_function("!phone.calls[0].onHold")
    fake_page.evaluate("fake.incoming('1004', 'Dave')")
    ui(fake_page, ".zorio-incoming").wait_for()
    check(fake_page, f"a11y-{tag}-09-call-waiting")
    ui(fake_page, ".zorio-reject").click()
    ui(fake_page, ".zorio-incoming").wait_for(state="detached")
    fake_page.evaluate("phone.calls[0].attendedTransfer('1003')")
    ui(fake_page, "[data-k=cancel-consult]").wait_for()
    check(fake_page, f"a11y-{tag}-10-consult")
    fake_page.evaluate("fake.send({type: 'error', code: 'capacity', message: 'full'})")
    ui(fake_page, ".zorio-error").wait_for()
    check(fake_page, f"a11y-{tag}-11-error")
    if theme == "dark":  # the error banner follows the dark theme
        background = ui(fake_page, ".zorio-error").evaluate("el => getComputedStyle(el).backgroundColor")
        assert background == "rgb(69, 10, 10)"
    ui(fake_page, "[data-k=complete]").click()
    fake_page.wait_for_function("phone.calls.every(c => c.state === 'wrap_up')")
    ui(fake_page, ".zorio-wrap").wait_for()
    assert ui(fake_page, ".zorio-wrap").count() == 1  # two finished legs, one after-call card
    check(fake_page, f"a11y-{tag}-12-wrap-up")
    fake_page.evaluate("phone.calls.forEach(c => c.close())")
    ui(fake_page, "[data-k=nav-history]").click()
    ui(fake_page, ".zorio-history li[data-missed]").wait_for()
    check(fake_page, f"a11y-{tag}-13-history")
    ui(fake_page, "[data-k=nav-settings]").click()
    ui(fake_page, ".zorio-settings").wait_for()
    check(fake_page, f"a11y-{tag}-14-settings")
    ui(fake_page, "[data-k=nav-diagnose]").click()
    ui(fake_page, "[data-k=run]").click()
    ui(fake_page, "[data-check=turn]").wait_for()
    check(fake_page, f"a11y-{tag}-15-diagnose")


def test_connection_lost_reconnecting_and_retry(fake_page: Any) -> None:
    fake_page.evaluate("start({reconnect: {baseDelayMs: 1500, maxDelayMs: 1500, maxAttempts: 2}})")
    ui(fake_page, ".zorio-launcher").click()
    in_call(fake_page)
    fake_page.evaluate("fake.refuseAuth = true; fake.drop()")
    ui(fake_page, ".zorio-call[data-stale]").wait_for()
    assert "reconnecting" in ui(fake_page, ".zorio-state").inner_text()
    assert ui(fake_page, "[data-k^=hold-]").is_disabled()
    check(fake_page, "a11y-16-reconnecting")
    ui(fake_page, ".zorio-lost").wait_for(timeout=15000)
    check(fake_page, "a11y-17-connection-lost")
    fake_page.evaluate("fake.refuseAuth = false")
    ui(fake_page, "[data-k=retry]").click()
    fake_page.wait_for_function("phone.status === 'registered'")
    ui(fake_page, ".zorio-lost").wait_for(state="detached")


@pytest.mark.parametrize("layout", ["overlay", "fullscreen"])
def test_overlay_and_fullscreen(fake_page: Any, layout: str) -> None:
    fake_page.evaluate(f"start({{layout: {layout!r}}})")
    if layout == "overlay":
        ui(fake_page, ".zorio-launcher").click()
        assert ui(fake_page, ".zorio-panel").get_attribute("aria-modal") == "true"
    ui(fake_page, "[data-k=call]").wait_for()
    check(fake_page, f"a11y-18-{layout}-idle")
    in_call(fake_page)
    if layout == "overlay":
        assert ui(fake_page, ".zorio-panel").get_attribute("aria-modal") is None
    check(fake_page, f"a11y-19-{layout}-in-call")


def test_a_narrow_screen_and_a_failed_start(fake_page: Any) -> None:
    fake_page.set_viewport_size({"width": 375, "height": 667})
    code = fake_page.evaluate("start({token: 'disabled'}).then(() => 'ok', (e) => e.code)")
    assert code == "webphone_disabled"
    failed = ui(fake_page, "[data-failed=webphone_disabled]")
    failed.wait_for()  # a failed start says why, it does not render nothing
    assert "disabled for this account" in failed.inner_text()
    check(fake_page, "a11y-20-failed-start")
    fake_page.evaluate("document.querySelector('zorio-phone').remove()")
    fake_page.evaluate("start()")
    ui(fake_page, ".zorio-launcher").click()
    box = ui(fake_page, ".zorio-panel").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
    check(fake_page, "a11y-21-narrow-dialer")

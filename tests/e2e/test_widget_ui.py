"""The widget UI: autoplay handling, layouts x themes (screenshots), and the Vietnamese locale."""

import re
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

I18N = Path(__file__).resolve().parents[2] / "frontend" / "src" / "ui" / "i18n.ts"

COLLECT_TEXTS = """() => {
  const root = document.querySelector('zorio-phone').shadowRoot;
  const out = new Set();
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    // translate="no": technical details (device labels, addresses) shown as they are
    if (node.parentElement && node.parentElement.tagName !== 'STYLE' && !node.parentElement.closest('[translate=no]')
        && node.textContent.trim()) out.add(node.textContent.trim());
  }
  root.querySelectorAll('[aria-label],[title],[placeholder]').forEach((el) => {
    for (const a of ['aria-label', 'title', 'placeholder']) if (el.getAttribute(a)) out.add(el.getAttribute(a));
  });
  return [...out];
}"""


def english_strings() -> list[str]:
    block = I18N.read_text().split("const en = {", 1)[1].split("};", 1)[0]
    return re.findall(r':\s*"([^"]+)"', block)


def test_autoplay_blocked_shows_control_and_emits_error(strict_autoplay_browser: Any, fake_site: str) -> None:
    context = strict_autoplay_browser.new_context(permissions=["microphone"])
    page = context.new_page()
    try:
        with page.expect_console_message(lambda m: m.text == "zorio-error:audio_autoplay_blocked", timeout=15000):
            page.goto(f"{fake_site}/page?auto")
        sound = page.locator("zorio-phone .zorio-sound")
        sound.wait_for()
        # the ringing call is still shown, and the error was emitted
        assert page.locator("zorio-phone .zorio-incoming").is_visible()
        assert sound.inner_text() == "Click to enable sound"
        assert page.evaluate("zorioEvents.filter(e => e.name === 'error').map(e => e.code)") == ["audio_autoplay_blocked"]
        assert page.evaluate("phone.audioBlocked") is True
        sound.click()  # a real user gesture unlocks the ringtone
        page.wait_for_function("!phone.audioBlocked")
        assert page.locator("zorio-phone .zorio-sound").count() == 0
        assert page.locator("zorio-phone .zorio-incoming").is_visible()
    finally:
        context.close()


@pytest.mark.parametrize("layout", ["docked", "overlay", "fullscreen"])
@pytest.mark.parametrize("theme", ["light", "dark", "auto"])
def test_layout_theme_screenshots(fake_page: Any, artifacts: Path, layout: str, theme: str) -> None:
    fake_page.set_viewport_size({"width": 900, "height": 700})
    fake_page.evaluate(f"start({{layout: {layout!r}, theme: {theme!r}}})")
    host = fake_page.locator("zorio-phone")
    assert host.get_attribute("layout") == layout and host.get_attribute("theme") == theme
    if layout != "fullscreen":
        fake_page.screenshot(path=str(artifacts / f"widget-{layout}-{theme}-closed.png"))
        fake_page.locator("zorio-phone .zorio-launcher").click()
    panel = fake_page.locator("zorio-phone .zorio-panel")
    panel.wait_for()
    background = panel.evaluate("el => getComputedStyle(el).backgroundColor")
    assert background == ("rgb(17, 24, 39)" if theme == "dark" else "rgb(255, 255, 255)")
    # the tenant's admin theme colour reaches the header
    assert fake_page.locator("zorio-phone header").evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(124, 58, 237)"
    box = panel.bounding_box()
    assert box is not None
    if layout == "fullscreen":
        assert box["width"] == 900 and box["height"] == 700
    else:
        assert box["width"] < 400
    fake_page.screenshot(path=str(artifacts / f"widget-{layout}-{theme}.png"))
    fake_page.evaluate("fake.incoming('1002', 'Bob')")
    fake_page.locator("zorio-phone .zorio-incoming").wait_for()
    fake_page.screenshot(path=str(artifacts / f"widget-{layout}-{theme}-incoming.png"))


def test_vietnamese_locale_translates_every_string(fake_page: Any, artifacts: Path) -> None:
    english = english_strings()
    assert "Hang up" in english and len(english) > 60
    fake_page.evaluate("start({layout: 'fullscreen', locale: 'vi'})")
    seen: set[str] = set()

    def collect(name: str) -> None:
        fake_page.screenshot(path=str(artifacts / f"widget-vi-{name}.png"))
        seen.update(fake_page.evaluate(COLLECT_TEXTS))

    collect("dialer")
    fake_page.locator("zorio-phone [data-k=nav-settings]").click()
    fake_page.locator("zorio-phone .zorio-settings").wait_for()
    collect("settings")
    fake_page.locator("zorio-phone [data-k=nav-diagnose]").click()
    fake_page.locator("zorio-phone [data-k=run]").click()
    fake_page.locator("zorio-phone [data-check=turn]").wait_for()
    collect("diagnose")
    fake_page.locator("zorio-phone [data-k=back]").click()
    fake_page.evaluate("fake.incoming('1002', 'Bob')")
    fake_page.locator("zorio-phone .zorio-incoming").wait_for()
    collect("incoming")
    fake_page.locator("zorio-phone .zorio-answer").click()
    fake_page.wait_for_function("phone.calls[0].state === 'answered'")
    fake_page.locator("zorio-phone [data-k^=keypad-]").click()
    fake_page.locator("zorio-phone [data-k^=transfer-]").click()
    fake_page.locator("zorio-phone [data-k^=mute-]").click()
    fake_page.wait_for_function("phone.calls[0].muted")
    collect("in-call")
    fake_page.locator("zorio-phone [data-k^=hold-]").click()
    fake_page.wait_for_function("phone.calls[0].onHold")
    collect("on-hold")
    fake_page.evaluate("fake.incoming('1004', 'Dave')")
    fake_page.locator("zorio-phone .zorio-incoming").wait_for()
    collect("call-waiting")
    fake_page.evaluate("phone.calls[1].reject()")
    fake_page.evaluate("phone.calls[0].sendDtmf('x').catch(() => {})")
    fake_page.evaluate("fake.send({type: 'error', code: 'capacity', message: 'full'})")
    fake_page.locator("zorio-phone .zorio-error").wait_for()
    collect("error")
    fake_page.locator("zorio-phone .zorio-hangup").click()
    fake_page.locator("zorio-phone .zorio-wrap").wait_for()
    collect("wrap-up")
    leaks = sorted(
        text for text in seen
        for phrase in english if re.search(rf"(?<![\w]){re.escape(phrase)}(?![\w])", text)
    )
    assert leaks == [], f"English strings in the vi UI: {leaks}"
    assert {"Trả lời", "Gác máy", "Bật micrô", "Chuyển ngay", "Chuyển có tham vấn", "Cuộc gọi đã kết thúc · Đã gác máy",
            "Xử lý sau cuộc gọi"} <= seen
    # the terms Vietnamese call centres use, not word-for-word translations
    texts = " ".join(seen)
    for literal in ("Hỏi ý trước", "Hoàn tất sau cuộc gọi", "Bên kia đang giữ máy"):
        assert literal not in texts, literal

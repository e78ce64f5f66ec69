"""Live-server edges: reject and cancel, server-side error codes, autoplay blocked on a real incoming
call, and reconnection after the network drops the WebSocket (through a TCP proxy we cut)."""

import socket
import threading
from typing import Any

import pytest

from tests.e2e.agent import SOUND, Agent, console_of, wait_for_console

pytestmark = pytest.mark.e2e


class CuttableProxy:
    """A TCP proxy to the server; `cut()` drops every open connection (the page sees a 1006 close)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self.lock:
                self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self.sockets.clear()

    def close(self) -> None:
        self.cut()
        self.listener.close()


def test_reject_cancel_and_server_errors(browser: Any, daphne_server: Any, agents: dict) -> None:
    alice = agents["alice"] = Agent(browser, daphne_server.url, "1001")
    bob = agents["bob"] = Agent(browser, daphne_server.url, "1002")
    # Bob declines: Alice's call closes with `rejected`
    alice.js("phone.call('1002')")
    bob.ui(".zorio-reject").wait_for()
    bob.ui(".zorio-reject").click()
    alice.wait("zorioEvents.some(e => e.name === 'call_hangup')")
    assert [e["reason"] for e in alice.js("zorioEvents") if e["name"] == "call_hangup"] == ["rejected"]
    assert alice.js("phone.calls.length") == 0
    # Alice cancels while it rings: Bob's ringing call goes away
    alice.js("phone.call('1002').then(c => window.c = c)")
    bob.wait("phone.calls.some(c => c.state === 'ringing')")
    alice.wait("window.c && c.state === 'ringing'")
    alice.js("c.hangup()")
    bob.wait("phone.calls.length === 0")
    assert bob.events()[-2:] == ["incoming_call", "call_hangup"]
    # codes the SDK raises before sending, and codes the server answers with
    codes = alice.js("""async () => {
      const code = (p) => p.then(() => 'ok', e => e.code);
      const out = {target: await code(phone.call('12ab'))};
      const c = await phone.call('*43');
      await new Promise((resolve) => { const t = setInterval(() => c.state === 'answered' && (clearInterval(t), resolve()), 50); });
      out.dtmf = await code(c.sendDtmf('E'));
      out.answer = await code(c.answer());
      out.state = await code(c.unhold());
      out.transfer = await code(c.transfer('+'));
      out.ok = await code(c.sendDtmf('1#'));
      await c.hangup();
      return out;
    }""")
    assert codes["target"] == "invalid_target"
    assert {k: codes[k] for k in ("dtmf", "answer", "state", "transfer", "ok")} == {
        "dtmf": "invalid_dtmf", "answer": "not_incoming", "state": "invalid_state", "transfer": "invalid_target", "ok": "ok",
    }


def test_echo_test_returns_our_audio(browser: Any, daphne_server: Any, agents: dict) -> None:
    alice = agents["alice"] = Agent(browser, daphne_server.url, "1001")
    alice.js("phone.call('*43').then(c => window.c = c)")
    alice.wait("window.c && c.state === 'answered'")
    alice.page.wait_for_timeout(1000)
    assert alice.energy() > SOUND


def test_autoplay_blocked_on_a_real_incoming_call(strict_autoplay_browser: Any, browser: Any, daphne_server: Any, agents: dict) -> None:
    alice = agents["alice"] = Agent(browser, daphne_server.url, "1001")
    context = strict_autoplay_browser.new_context(permissions=["microphone"])
    try:
        page = context.new_page()
        console = console_of(page)
        page.goto(f"{daphne_server.url}/demo/?extension=1004&debug=1")
        wait_for_console(page, console, lambda line: "phone: connecting -> registered" in line)
        alice.js("phone.call('1004')")
        wait_for_console(page, console, lambda line: "audio_autoplay_blocked" in line)
        assert page.locator("zorio-phone .zorio-sound").is_visible()
        assert page.locator("zorio-phone .zorio-incoming").is_visible()
        assert "audio_autoplay_blocked" in page.locator("#log").inner_text()
        page.locator("zorio-phone .zorio-sound").click()
        page.wait_for_function("!phone.audioBlocked")
        page.locator("zorio-phone .zorio-reject").click()
    finally:
        context.close()


def test_reconnect_after_the_socket_drops_keeps_the_call(browser: Any, daphne_server: Any, agents: dict) -> None:
    port = int(daphne_server.url.rsplit(":", 1)[1])
    proxy = CuttableProxy(port)
    try:
        alice = agents["alice"] = Agent(browser, f"http://127.0.0.1:{proxy.port}", "1001")
        bob = agents["bob"] = Agent(browser, daphne_server.url, "1002")
        alice.js("phone.call('1002')")
        bob.ui(".zorio-answer").wait_for()
        bob.ui(".zorio-answer").click()
        alice.wait("phone.calls[0] && phone.calls[0].state === 'answered'")
        proxy.cut()
        alice.wait("zorioEvents.some(e => e.name === 'reconnecting')")
        alice.wait("zorioEvents.some(e => e.name === 'registered') && phone.status === 'registered'")
        assert alice.js("phone.calls[0].state") == "answered"
        alice.page.wait_for_timeout(1500)
        assert bob.energy() > SOUND and alice.energy() > SOUND
        # the re-attached call is controllable on the new socket
        alice.js("phone.calls[0].hold()")
        bob.wait("phone.calls[0].remoteHold")
        alice.js("phone.calls[0].hangup()")
        bob.wait("phone.calls[0].state === 'wrap_up'")
        alice.wait("phone.calls[0].state === 'wrap_up'")
        names = alice.events()
        # the drop is announced at once (unregistered), then the reconnection
        assert names[:5] == ["call_ringing", "call_answered", "unregistered", "reconnecting", "registered"]
        assert alice.js("zorioEvents.find(e => e.name === 'unregistered').reason") == "connection_lost"
        assert names[-2:] == ["call_held", "call_hangup"]
    finally:
        proxy.close()


def test_attended_transfer_through_the_ui(browser: Any, daphne_server: Any, agents: dict) -> None:
    alice = agents["alice"] = Agent(browser, daphne_server.url, "1001")
    bob = agents["bob"] = Agent(browser, daphne_server.url, "1002")
    carol = agents["carol"] = Agent(browser, daphne_server.url, "1003")
    alice.js("phone.call('1002')")
    bob.ui(".zorio-answer").wait_for()
    bob.ui(".zorio-answer").click()
    alice.wait("phone.calls[0] && phone.calls[0].state === 'answered'")
    alice.ui("[data-k^=transfer-]").click()
    alice.ui("[data-k=transfer-target]").fill("1003")
    alice.ui("[data-k=consult]").click()
    carol.ui(".zorio-answer").wait_for()
    carol.ui(".zorio-answer").click()
    alice.wait("phone.calls.length === 2 && phone.calls[1].state === 'answered'")
    assert alice.js("[phone.calls[0].onHold, phone.calls[1].consultFor === phone.calls[0]]") == [True, True]
    bob.wait("phone.calls[0].remoteHold")
    alice.ui("[data-k=complete]").click()
    alice.wait("phone.calls.every(c => c.state === 'wrap_up')")
    assert alice.js("phone.calls.map(c => c.endReason)") == ["transferred", "transferred"]
    bob.wait("phone.calls[0].state === 'answered' && !phone.calls[0].remoteHold")
    carol.wait("phone.calls[0].state === 'answered'")
    carol.page.wait_for_timeout(1200)
    assert carol.energy() > SOUND and bob.energy() > SOUND

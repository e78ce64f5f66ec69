"""Audio device selection with Chromium's fake devices, on a real call to the `*43` echo test.

Chromium's `--use-fake-device-for-media-stream` lists "Fake Audio Input 1/2" and "Fake Audio Output 1/2"
(ids hashed per origin, so they are read in the page). The SDK must pass `audioInputDeviceId` to
getUserMedia as a `deviceId` constraint and route the remote `<audio>` (`call.debug.audio`) with
`setSinkId`, from the connect option and from the runtime setters; unknown ids give
`audio_device_not_found` (see `webphone.d.ts`).
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

HELPERS = Path(__file__).resolve().parent / "helpers.js"

SETUP = """async () => {
  // the demo page's own phone steps aside; the test connects its own with device options
  if (window.phone) await window.phone.disconnect();
  window.phone = null;
  const stream = await navigator.mediaDevices.getUserMedia({audio: true});
  stream.getTracks().forEach((t) => t.stop());
  const devices = await navigator.mediaDevices.enumerateDevices();
  const ids = (kind) => devices.filter((d) => d.kind === kind && d.deviceId !== "default"
    && d.deviceId !== "communications").map((d) => ({id: d.deviceId, label: d.label}));
  window.zorioErrors = [];
  window.connectWith = async (token, opts) => {
    window.phone = await ZorioWebphone.connect({apiBase: location.origin, token, debug: true, wrapUpSeconds: 0,
      onError: (e) => zorioErrors.push({code: e.code, details: e.details}), ...opts});
    return window.phone.status;
  };
  window.failure = (promise) => promise.then(() => null, (e) => ({name: e.name, code: e.code, details: e.details}));
  return {inputs: ids("audioinput"), outputs: ids("audiooutput")};
}"""


@pytest.fixture
def page(browser: Any, daphne_server: Any) -> Iterator[Any]:
    context = browser.new_context(permissions=["microphone"])
    context.add_init_script(path=str(HELPERS))
    page = context.new_page()
    page.goto(f"{daphne_server.url}/demo/?extension=1004&debug=1")
    page.wait_for_function("window.phone && phone.status === 'registered'", timeout=20000)
    yield page
    page.evaluate("window.phone && window.phone.disconnect()")
    context.close()


def devices(page: Any) -> dict[str, list[dict[str, str]]]:
    found = dict(page.evaluate(SETUP))
    assert len(found["inputs"]) >= 2 and len(found["outputs"]) >= 2, found
    return found


def echo_call(page: Any) -> None:
    page.evaluate("phone.call('*43').then((c) => { window.call = c; })")
    page.wait_for_function("window.call && call.state === 'answered' && call.debug.audio", timeout=20000)


def test_device_options_and_setters_route_the_call_audio(page: Any, daphne_server: Any) -> None:
    found = devices(page)
    in1, in2 = found["inputs"][0], found["inputs"][1]
    out1, out2 = found["outputs"][0]["id"], found["outputs"][1]["id"]
    opts = {"audioOutputDeviceId": out1, "audioInputDeviceId": in2["id"]}
    assert page.evaluate("([t, o]) => connectWith(t, o)", [daphne_server.token("1004"), opts]) == "registered"
    echo_call(page)

    # connect options: the microphone is opened with the deviceId constraint, the remote <audio> sinks on out1
    track = "call.debug.peerConnection.getSenders().find((s) => s.track).track"
    assert page.evaluate(f"{track}.getSettings().deviceId") == in2["id"]
    assert page.evaluate(f"{track}.label") == in2["label"]
    assert page.evaluate("call.debug.audio.sinkId") == out1
    assert page.evaluate("phone.audioOutputDeviceId") == out1
    assert page.evaluate("call.debug.audio.srcObject === call.debug.remoteStream")

    # runtime setters switch the live call
    page.evaluate("(id) => phone.setAudioOutputDevice(id)", out2)
    assert page.evaluate("call.debug.audio.sinkId") == out2
    assert page.evaluate("phone.audioOutputDeviceId") == out2
    page.evaluate("(id) => phone.setAudioInputDevice(id)", in1["id"])
    assert page.evaluate(f"{track}.getSettings().deviceId") == in1["id"]
    assert page.evaluate(f"{track}.readyState") == "live"
    assert page.evaluate("call.debug.localStream.getAudioTracks()[0].label") == in1["label"]

    # an unknown speaker: a clear error, and the call stays on the previous one
    error = page.evaluate("failure(phone.setAudioOutputDevice('no-such-speaker'))")
    assert error["name"] == "ZorioWebphoneError" and error["code"] == "audio_device_not_found", error
    assert error["details"]["kind"] == "audiooutput" and error["details"]["deviceId"] == "no-such-speaker", error
    assert error["details"]["cause"].startswith("NotFoundError"), error
    assert page.evaluate("call.debug.audio.sinkId") == out2
    assert page.evaluate("phone.audioOutputDeviceId") == out2

    # an unknown microphone during the call: the same code, the current track keeps going
    error = page.evaluate("failure(phone.setAudioInputDevice('no-such-mic'))")
    assert error["code"] == "audio_device_not_found" and error["details"]["kind"] == "audioinput", error
    assert page.evaluate(f"{track}.getSettings().deviceId") == in1["id"]
    assert page.evaluate(f"{track}.readyState") == "live"
    assert page.evaluate("phone.audioInputDeviceId") == in1["id"]

    # back to the default speaker
    page.evaluate("phone.setAudioOutputDevice(undefined)")
    assert page.evaluate("call.debug.audio.sinkId") == ""
    assert page.evaluate("phone.audioOutputDeviceId") is None
    assert page.evaluate("call.state") == "answered"
    page.evaluate("call.hangup()")
    assert page.evaluate("zorioErrors") == []


def test_unknown_device_ids_in_connect_options(page: Any, daphne_server: Any) -> None:
    devices(page)
    opts = {"audioOutputDeviceId": "no-such-speaker"}
    assert page.evaluate("([t, o]) => connectWith(t, o)", [daphne_server.token("1004"), opts]) == "registered"
    # connect() still works: the stale speaker is reported and the default one is used
    page.wait_for_function("zorioErrors.length > 0", timeout=5000)
    errors = page.evaluate("zorioErrors")
    assert [e["code"] for e in errors] == ["audio_device_not_found"], errors
    assert errors[0]["details"]["kind"] == "audiooutput" and errors[0]["details"]["deviceId"] == "no-such-speaker"
    assert page.evaluate("phone.audioOutputDeviceId") is None
    echo_call(page)
    assert page.evaluate("call.debug.audio.sinkId") == ""
    page.evaluate("call.hangup()")
    page.wait_for_function("call.state === 'wrap_up'", timeout=10000)

    # an unknown microphone: the call cannot start, with the same code
    page.evaluate("phone.disconnect()")
    opts = {"audioInputDeviceId": "no-such-mic"}
    assert page.evaluate("([t, o]) => connectWith(t, o)", [daphne_server.token("1004"), opts]) == "registered"
    error = page.evaluate("failure(phone.call('*43'))")
    assert error["code"] == "audio_device_not_found", error
    assert error["details"]["kind"] == "audioinput" and error["details"]["deviceId"] == "no-such-mic", error
    assert error["details"]["cause"].startswith("OverconstrainedError"), error

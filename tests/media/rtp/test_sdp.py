"""SDP offer/answer for the RTP side."""

import pytest

from zorio_widget.media.rtp import sdp
from zorio_widget.media.sdputil import BadSdp

CARRIER_OFFER = (
    "v=0\r\no=- 1 5 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
    "m=audio 40000 RTP/AVP 8 0 18 96\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:96 telephone-event/8000\r\n"
    "a=fmtp:96 0-15\r\na=ptime:30\r\na=sendonly\r\n"
)


def test_parse_reads_address_codecs_in_order_events_ptime_and_direction() -> None:
    remote = sdp.parse(CARRIER_OFFER)
    assert (remote.address, remote.port) == ("192.0.2.10", 40000)
    assert [c.name for c in remote.audio_codecs] == ["pcma", "pcmu"]  # 18 (G.729) is not ours
    assert remote.telephone_event == sdp.Codec(96, "telephone-event")
    assert remote.ptime_ms == 30 and remote.direction == "sendonly" and remote.on_hold
    assert sdp.choose_codec(remote) == sdp.PCMA  # the offerer's order wins


def test_render_is_parseable_and_complete() -> None:
    local = sdp.LocalDescription("127.0.0.1", 20000, "42", direction="sendonly")
    text = local.render()
    for line in ("m=audio 20000 RTP/AVP 0 8 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000",
                 "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16", "a=ptime:20", "a=sendonly",
                 "c=IN IP4 127.0.0.1"):
        assert line + "\r\n" in text
    assert sdp.parse(text).direction == "sendonly"


def test_old_style_hold_address_reads_as_inactive() -> None:
    assert sdp.parse(CARRIER_OFFER.replace("c=IN IP4 192.0.2.10", "c=IN IP4 0.0.0.0")
                     .replace("a=sendonly", "a=sendrecv")).direction == "inactive"


@pytest.mark.parametrize("text", [
    "",
    "garbage",
    "v=0\r\nm=audio 1 RTP/AVP 0\r\n",  # no c=
    CARRIER_OFFER.replace("192.0.2.10", "carrier.example.com"),  # never resolved
    CARRIER_OFFER.replace("m=audio 40000", "m=audio 0"),  # rejected stream only
    CARRIER_OFFER.replace("m=audio", "m=video"),
    CARRIER_OFFER.replace("RTP/AVP", "RTP/SAVP"),
    CARRIER_OFFER.replace("40000", "99999"),
    CARRIER_OFFER.replace(" 8 0 18 96", " 8 x"),
    "v=0\r\n" + "a=x\r\n" * 5000,
])
def test_unusable_sdp_raises_bad_sdp(text: str) -> None:
    with pytest.raises(BadSdp):
        sdp.parse(text)


def test_no_common_codec_raises_bad_sdp() -> None:
    with pytest.raises(BadSdp):
        sdp.choose_codec(sdp.parse(CARRIER_OFFER.replace(" 8 0 18 96", " 18 96")))

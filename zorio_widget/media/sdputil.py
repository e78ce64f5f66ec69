"""SDP checks and edits around aiortc's negotiation.

Why here and not in aiortc: the server writes every SDP a browser sees, so it can insist on
one audio section with Opus (both legs of a relay must use the same codec) and add what aiortc
does not know about: an advertised public address for NAT deployments and Opus in-band FEC.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final

from aiortc import RTCIceCandidate
from aiortc.sdp import SessionDescription, candidate_from_sdp

OPUS_MIME: Final = "audio/opus"
AUDIO_CODECS: Final = ("opus", "pcmu", "pcma")
"""What a browser leg may negotiate (lower-case names). Opus alone by default; a leg facing a SIP
trunk prefers G.711 so the trunk's packets are relayed as they are (docs/MEDIA-NOTES.md)."""
OPUS_ONLY: Final = ("opus",)
_RTPMAP_NAMES: Final = {"opus": ("opus/48000/2", "opus/48000"), "pcmu": ("pcmu/8000",), "pcma": ("pcma/8000",)}
_STATIC_PAYLOAD_TYPES: Final = {"pcmu": "0", "pcma": "8"}
OPUS_FMTP: Final = "minptime=10;useinbandfec=1"
"Asks the browser to carry FEC in its packets; the far browser, which decodes them, profits."


class BadSdp(ValueError):
    """An SDP (or ICE candidate) from a client cannot be used; ``str()`` says why."""

    code = "bad_sdp"


def parse_offer_or_answer(sdp: object, kind: str, codecs: tuple[str, ...] = OPUS_ONLY) -> SessionDescription:
    """Parse and check a client SDP: one audio section offering one of ``codecs`` (Opus 48000/2
    by default), nothing else."""
    if not isinstance(sdp, str) or not sdp.strip():
        raise BadSdp(f"{kind} SDP is empty")
    if not sdp.lstrip().startswith("v=0"):
        raise BadSdp(f"{kind} SDP does not start with v=0")
    try:
        description = SessionDescription.parse(sdp)
    except Exception as exc:  # aiortc raises ValueError, KeyError, IndexError... on garbage
        raise BadSdp(f"{kind} SDP cannot be parsed: {exc}") from exc
    audio = [m for m in description.media if m.kind == "audio"]
    others = [m.kind for m in description.media if m.kind != "audio"]
    if not audio:
        raise BadSdp(f"{kind} SDP has no audio section")
    if len(audio) > 1 or others:
        raise BadSdp(f"{kind} SDP must have exactly one audio section (got audio x{len(audio)}, {others})")
    media = audio[0]
    offered = {_codec_name(c.mimeType, c.clockRate) for c in media.rtp.codecs}
    if not offered & set(codecs):
        wanted = "Opus 48000/2" if codecs == OPUS_ONLY else " or ".join(c.upper() for c in codecs)
        raise BadSdp(f"{kind} SDP does not offer {wanted}")
    if media.ice is None or not media.ice.usernameFragment or not media.ice.password:
        raise BadSdp(f"{kind} SDP lacks ICE credentials")
    if media.dtls is None or not media.dtls.fingerprints:
        raise BadSdp(f"{kind} SDP lacks a DTLS fingerprint")
    if not media.rtcp_mux:
        raise BadSdp(f"{kind} SDP does not use rtcp-mux")
    return description


def _codec_name(mime_type: str, clock_rate: int | None) -> str:
    name = mime_type.lower().removeprefix("audio/")
    return name if (name == "opus" and clock_rate == 48000) or (name in ("pcmu", "pcma") and clock_rate == 8000) else ""


def restrict_audio_codecs(sdp: str, codecs: tuple[str, ...] = OPUS_ONLY) -> str:
    """Rewrite the audio section to the first of ``codecs`` it offers, then telephone-event; drop the rest.

    Why SDP text and not ``setCodecPreferences``: aiortc 1.16 matches preferences on MIME type
    and fmtp only, so telephone-event/48000 and /8000 collapse into one duplicated payload type
    and the 8000 Hz one (the one Chrome sends on) is lost. Rewriting the SDP we hand to aiortc
    makes the codec we want the only common one, which is the one ``RTCRtpSender`` sends (and the
    bridge relays: both legs of a relay must use the same codec). ``codecs`` is in preference
    order: ``("pcmu", "pcma", "opus")`` keeps G.711 for a call whose other side is a trunk, and
    still takes Opus from a browser that offers no G.711.
    """
    lines = sdp.replace("\r\n", "\n").split("\n")
    start = next((i for i, line in enumerate(lines) if line.startswith("m=audio ")), None)
    if start is None:
        raise BadSdp("SDP has no audio section")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("m=")), len(lines))
    rtpmap: dict[str, str] = {}
    for line in lines[start:end]:
        match = re.match(r"a=rtpmap:(\d+) (\S+)", line)
        if match:
            rtpmap[match.group(1)] = match.group(2).lower()
    listed = lines[start].split()[3:]
    chosen: list[str] = []
    for codec in codecs:
        chosen = [pt for pt in listed if rtpmap.get(pt) in _RTPMAP_NAMES[codec]][:1]
        static = _STATIC_PAYLOAD_TYPES.get(codec)
        if not chosen and static in listed and static not in rtpmap:
            chosen = [static]
        if chosen:
            break
    if not chosen:
        names = "Opus 48000/2" if codecs == OPUS_ONLY else " or ".join(c.upper() for c in codecs)
        raise BadSdp(f"SDP does not offer {names}")
    events = [pt for pt, name in rtpmap.items() if name.startswith("telephone-event/")]
    keep = chosen + events
    m_fields = lines[start].split()
    lines[start] = " ".join(m_fields[:3] + keep)

    def wanted(line: str) -> bool:
        match = re.match(r"a=(?:rtpmap|fmtp|rtcp-fb):(\d+|\*)[ ]", line)
        return match is None or match.group(1) == "*" or match.group(1) in keep

    section = [line for line in lines[start + 1 : end] if wanted(line)]
    out = lines[: start + 1] + section + lines[end:]
    return "\r\n".join(line for line in out if line) + "\r\n"


def telephone_event_payload_types(sdp: str) -> dict[int, int]:
    """``{clock_rate: payload_type}`` of the ``telephone-event`` codecs in an (one-audio) SDP."""
    found: dict[int, int] = {}
    for pt, rate in re.findall(r"^a=rtpmap:(\d+) telephone-event/(\d+)", sdp, flags=re.M | re.I):
        found.setdefault(int(rate), int(pt))
    return found


def add_opus_fmtp(sdp: str) -> str:
    """Add ``OPUS_FMTP`` to the Opus payload type of an aiortc-written SDP (if it has none)."""
    match = re.search(r"^a=rtpmap:(\d+) opus/48000/2\r?$", sdp, flags=re.M | re.I)
    if match is None or re.search(rf"^a=fmtp:{match.group(1)} ", sdp, flags=re.M):
        return sdp
    line = match.group(0).rstrip("\r")
    return sdp.replace(line, f"{line}\r\na=fmtp:{match.group(1)} {OPUS_FMTP}", 1)


def add_public_candidates(sdp: str, public_address: str) -> str:
    """Advertise ``public_address`` next to each host UDP candidate (1:1 NAT deployments).

    aiortc gathers only host candidates here (no STUN), so behind a 1:1 NAT (a cloud VM's
    elastic IP) the browser would only learn private addresses. For each host UDP candidate we
    add a server-reflexive candidate with the public address and the *same port* (the NAT maps
    it 1:1). The browser's checks arrive on the host socket, aioice answers them as
    peer-reflexive, so aiortc itself needs to know nothing about it.
    """
    if not public_address:
        return sdp
    try:
        ip = ipaddress.ip_address(public_address)
    except ValueError as exc:
        raise ValueError(f"public address {public_address!r} is not an IP address") from exc
    out: list[str] = []
    for line in sdp.splitlines():
        out.append(line)
        match = re.match(
            r"a=candidate:(\S+) (\d+) udp (\d+) (\S+) (\d+) typ host(.*)$", line, flags=re.I
        )
        if match and _ip_version(match.group(4)) == ip.version:
            foundation, component, priority, host, port, _rest = match.groups()
            srflx_priority = max(1, int(priority) - (1 << 24))
            out.append(
                f"a=candidate:{foundation}p {component} udp {srflx_priority} {ip} {port} "
                f"typ srflx raddr {host} rport {port}"
            )
    return "\r\n".join(out) + "\r\n"


def _ip_version(host: str) -> int:
    try:
        return ipaddress.ip_address(host).version
    except ValueError:  # an mDNS name
        return 0


_CANDIDATE_TYPES: Final = frozenset({"host", "srflx", "prflx", "relay"})
_FOUNDATION: Final = re.compile(r"[A-Za-z0-9+/]{1,32}")
_MDNS_NAME: Final = re.compile(r"[A-Za-z0-9-]{1,63}\.local")


def parse_candidate(candidate: str) -> RTCIceCandidate:
    """A trickled candidate, checked field by field; ``BadSdp`` for anything unusable.

    aiortc's own parser accepts ports past 65535, addresses that are not addresses and unknown
    types, which then fail later inside the ICE agent: refuse them here, where the client is told.
    """
    text = strip_candidate_prefix(candidate)
    try:
        parsed = candidate_from_sdp(text)
    except (AssertionError, ValueError, IndexError) as exc:
        raise BadSdp(f"bad ICE candidate {candidate[:80]!r}") from exc
    problems = []
    if not _FOUNDATION.fullmatch(parsed.foundation):
        problems.append("foundation")
    if not 1 <= parsed.component <= 256:
        problems.append("component")
    if parsed.protocol.lower() not in ("udp", "tcp"):
        problems.append("protocol")
    if not 0 <= parsed.priority < 2**32:
        problems.append("priority")
    if not 0 <= parsed.port <= 65535 or (parsed.port == 0 and parsed.protocol.lower() == "udp"):
        problems.append("port")
    if parsed.type not in _CANDIDATE_TYPES:
        problems.append("type")
    if not _MDNS_NAME.fullmatch(parsed.ip):
        try:
            ipaddress.ip_address(parsed.ip)
        except ValueError:
            problems.append("address")
    if problems:
        raise BadSdp(f"bad ICE candidate ({', '.join(problems)}): {candidate[:80]!r}")
    return parsed


def strip_candidate_prefix(candidate: str) -> str:
    """Browsers send ``candidate:<foundation> ...``; aiortc parses it without the prefix."""
    text = candidate.strip()
    if text.startswith("a="):
        text = text[2:]
    if text.startswith("candidate:"):
        text = text[len("candidate:") :]
    return text


def first_audio_codec(sdp: str) -> str:
    """The lower-case name (``opus``, ``pcmu``, ``pcma``) of the first payload type of the audio
    section: what an SDP this module restricted sends and receives; ``""`` when it is none of them."""
    m_line = re.search(r"^m=audio \S+ \S+ (\d+)", sdp, flags=re.M)
    if m_line is None:
        return ""
    pt = m_line.group(1)
    rtpmap = re.search(rf"^a=rtpmap:{pt} ([^/\s]+)/(\d+)", sdp, flags=re.M)
    if rtpmap is None:
        return {"0": "pcmu", "8": "pcma"}.get(pt, "")
    return _codec_name(rtpmap.group(1), int(rtpmap.group(2)))

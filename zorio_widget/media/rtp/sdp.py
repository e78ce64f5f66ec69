"""SDP offer/answer (RFC 3264) for a plain RTP audio stream: G.711 and telephone-event.

What a trunk leg sends: ``c=IN IP4 <address>``, ``m=audio <port> RTP/AVP 0 8 101`` with their
``a=rtpmap``, ``a=fmtp:101 0-16``, ``a=ptime:20`` and a direction (``sendrecv``, ``sendonly`` for
hold, ``inactive``, ``recvonly``). What it reads from the far end: the first audio stream's
address and port, its payload types in preference order, its ``telephone-event`` payload type,
``ptime`` and direction (``c=0.0.0.0`` is RFC 2543 hold: the far end takes no audio, read as
``inactive``, or ``sendonly`` when it still sends).

Anything unusable raises ``BadSdp`` (the SIP layer answers 488): no audio stream, no common codec,
an address that is not a literal IP (a host name would make us resolve what a stranger chose),
more than ``MAX_SDP_BYTES``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Final

from ..sdputil import BadSdp

MAX_SDP_BYTES: Final = 16384
DIRECTIONS: Final = ("sendrecv", "sendonly", "recvonly", "inactive")
REVERSE: Final = {"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive"}
"The answerer's direction for each offered one (RFC 3264 §6.1)."


@dataclass(frozen=True, slots=True)
class Codec:
    payload_type: int
    name: str
    "Lower case: ``pcmu``, ``pcma``, ``telephone-event``."
    clock_rate: int = 8000

    @property
    def mime_type(self) -> str:
        return f"audio/{self.name}"


PCMU: Final = Codec(0, "pcmu")
PCMA: Final = Codec(8, "pcma")
TELEPHONE_EVENT: Final = Codec(101, "telephone-event")
AUDIO_CODECS: Final = (PCMU, PCMA)
"What we can relay or transcode, in our order of preference."
_STATIC: Final = {0: PCMU, 8: PCMA}


@dataclass(frozen=True)
class AudioDescription:
    """The far end's audio stream, as read from its SDP."""

    address: str
    port: int
    codecs: tuple[Codec, ...]
    "Its payload types we know, in its order (G.711 first use, telephone-event listed too)."
    direction: str = "sendrecv"
    ptime_ms: int = 20
    session_version: int = 0
    session_id: str = ""

    @property
    def audio_codecs(self) -> tuple[Codec, ...]:
        return tuple(c for c in self.codecs if c.name in ("pcmu", "pcma"))

    @property
    def telephone_event(self) -> Codec | None:
        return next((c for c in self.codecs if c.name == "telephone-event" and c.clock_rate == 8000), None)

    @property
    def on_hold(self) -> bool:
        """The far end does not want to hear us (``sendonly``/``inactive``/``c=0.0.0.0``)."""
        return self.direction in ("sendonly", "inactive")


@dataclass
class LocalDescription:
    """What we announce; ``version`` grows with each change (RFC 3264 §8)."""

    address: str
    port: int
    session_id: str
    codecs: list[Codec] = field(default_factory=lambda: [*AUDIO_CODECS, TELEPHONE_EVENT])
    direction: str = "sendrecv"
    version: int = 1

    def render(self) -> str:
        ip = "IP6" if ":" in self.address else "IP4"
        lines = [
            "v=0",
            f"o=zorio {self.session_id} {self.version} IN {ip} {self.address}",
            "s=zorio",
            f"c=IN {ip} {self.address}",
            "t=0 0",
            f"m=audio {self.port} RTP/AVP {' '.join(str(c.payload_type) for c in self.codecs)}",
        ]
        for c in self.codecs:
            lines.append(f"a=rtpmap:{c.payload_type} {c.name.upper() if c.name != 'telephone-event' else c.name}"
                         f"/{c.clock_rate}")
            if c.name == "telephone-event":
                lines.append(f"a=fmtp:{c.payload_type} 0-16")
        lines += ["a=ptime:20", f"a={self.direction}"]
        return "\r\n".join(lines) + "\r\n"


def parse(sdp: str) -> AudioDescription:
    """The first audio stream of ``sdp``; ``BadSdp`` if there is none we can use."""
    if len(sdp) > MAX_SDP_BYTES:
        raise BadSdp("SDP too large")
    lines = [line.strip() for line in sdp.replace("\r\n", "\n").split("\n") if line.strip()]
    if not lines or lines[0] != "v=0":
        raise BadSdp("SDP must start with v=0")
    session_address = ""
    session_direction = "sendrecv"
    session_id, version = "", 0
    media: list[list[str]] = []
    for line in lines:
        if len(line) < 2 or line[1] != "=":
            raise BadSdp(f"not an SDP line: {line[:40]!r}")
        kind, value = line[0], line[2:]
        if kind == "m":
            media.append([line])
        elif media:
            media[-1].append(line)
        elif kind == "c":
            session_address = _connection(value)
        elif kind == "o":
            parts = value.split()
            if len(parts) != 6:
                raise BadSdp("bad o= line")
            session_id = parts[1]
            version = int(parts[2]) if parts[2].isdigit() and len(parts[2]) < 20 else 0
        elif kind == "a" and value in DIRECTIONS:
            session_direction = value
    for block in media:
        fields = block[0][2:].split()
        if len(fields) < 4 or fields[0] != "audio":
            continue
        if not fields[1].isdigit() or not 0 <= int(fields[1]) <= 65535:
            raise BadSdp("bad media port")
        port = int(fields[1])
        if port == 0:
            continue  # a rejected stream
        if fields[2] not in ("RTP/AVP", "RTP/AVPF"):
            raise BadSdp(f"unsupported media profile {fields[2]} (plain RTP only)")
        return _audio(block, fields, port, session_address, session_direction, session_id, version)
    raise BadSdp("no audio stream")


def _audio(block: list[str], fields: list[str], port: int, address: str, direction: str, sid: str,
           version: int) -> AudioDescription:
    payload_types: list[int] = []
    for pt in fields[3:]:
        if not pt.isdigit() or int(pt) > 127:
            raise BadSdp(f"bad payload type {pt!r}")
        payload_types.append(int(pt))
    rtpmap: dict[int, Codec] = {}
    ptime = 20
    for line in block[1:]:
        kind, value = line[0], line[2:]
        if kind == "c":
            address = _connection(value)
        elif kind == "a":
            name, _, arg = value.partition(":")
            if name in DIRECTIONS and not arg:
                direction = name
            elif name == "rtpmap":
                pt_text, _, encoding = arg.partition(" ")
                parts = encoding.split("/")
                if pt_text.isdigit() and len(parts) >= 2 and parts[1].isdigit():
                    rtpmap[int(pt_text)] = Codec(int(pt_text), parts[0].lower(), int(parts[1]))
            elif name == "ptime" and arg.strip().isdigit():
                ptime = int(arg.strip())
    if not address:
        raise BadSdp("no c= line for the audio stream")
    codecs = [rtpmap.get(pt) or _STATIC.get(pt) for pt in payload_types]
    known = tuple(c for c in codecs if c is not None and (c.name in ("pcmu", "pcma", "telephone-event")))
    if address in ("0.0.0.0", "::"):
        direction = "inactive" if direction in ("sendrecv", "recvonly", "inactive") else "sendonly"
    return AudioDescription(address=address, port=port, codecs=known, direction=direction,
                            ptime_ms=ptime, session_version=version, session_id=sid)


def _connection(value: str) -> str:
    parts = value.split()
    if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
        raise BadSdp("bad c= line")
    address = parts[2].split("/")[0]
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise BadSdp(f"c= address {address[:40]!r} is not an IP address") from None
    return address


def choose_codec(remote: AudioDescription, allowed: tuple[Codec, ...] = AUDIO_CODECS) -> Codec:
    """The first of the far end's G.711 codecs we allow (offer order wins, RFC 3264 §6.1)."""
    names = {c.name for c in allowed}
    for codec in remote.audio_codecs:
        if codec.name in names and codec.clock_rate == 8000:
            return codec
    raise BadSdp("no common codec (PCMU or PCMA)")

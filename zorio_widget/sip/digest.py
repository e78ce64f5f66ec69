"""HTTP Digest for SIP (RFC 3261 §22, RFC 7616, RFC 8760): MD5 and SHA-256, ``qop=auth``.

``sipmessage``'s ``AuthChallenge``/``AuthCredentials`` parsers backtrack exponentially on a list
of parameters (20 parameters take seconds), and split quoted values at commas
(``qop="auth,auth-int"``): this module parses the headers itself, in one linear pass.

- ``DigestClient``: the credentials of one trunk. ``learn(response)`` records the challenges of a
  401 (``WWW-Authenticate``) or 407 (``Proxy-Authenticate``) and says whether to retry: once per
  challenge, i.e. a challenge whose nonce our answer already failed is final unless ``stale=true``
  (a server that sends a new nonce each time is bounded by the caller: ``MAX_AUTH_ATTEMPTS``).
  ``authorize(request)`` adds the credentials for every challenge known, reusing a nonce with the
  next nonce count (``nc``) and a fresh ``cnonce``.
- ``DigestServer``: challenges requests and checks their answers against a password lookup
  (inbound calls from an address that is not a trunk's). Nonces are stateless: a time stamp and
  its HMAC, valid ``NONCE_TTL_S``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from sipmessage import Request, Response

ALGORITHMS: Final[dict[str, Callable[[bytes], str]]] = {
    "MD5": lambda b: hashlib.md5(b).hexdigest(),
    "SHA-256": lambda b: hashlib.sha256(b).hexdigest(),
}
"Hash of each supported algorithm (RFC 8760 §2); ``-sess`` variants use the same hash."
PREFERENCE: Final = ("SHA-256-SESS", "SHA-256", "MD5-SESS", "MD5")
"When a server offers several challenges, the strongest one we support is answered."
NONCE_TTL_S: Final = 300.0
MAX_AUTH_ATTEMPTS: Final = 2
"Challenged answers one request may get: a cached nonce that expired, then a fresh one."
MAX_AUTH_HEADER_CHARS: Final = 4096

_TOKEN = re.compile(r"[A-Za-z0-9.!%*_+`'~-]+")
_SPACE = re.compile(r"[ \t]*")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


class AuthHeaderError(ValueError):
    pass


@dataclass(frozen=True)
class Challenge:
    """One ``Digest`` challenge of a 401/407."""

    realm: str
    nonce: str
    algorithm: str = "MD5"
    "Upper case, e.g. ``MD5``, ``SHA-256``, ``SHA-256-SESS``."
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False
    proxy: bool = False
    "From ``Proxy-Authenticate`` (answered in ``Proxy-Authorization``)."

    @property
    def supported(self) -> bool:
        base = self.algorithm.removesuffix("-SESS")
        return base in ALGORITHMS and (not self.qop or "auth" in self.qop)


def parse_auth_header(value: str) -> list[tuple[str, dict[str, str]]]:
    """``[(scheme, params)]`` of a ``WWW-Authenticate``-style value (one or more challenges).

    Parameter names are lower-cased; quoted values are unquoted. Linear in the input's length.
    """
    if len(value) > MAX_AUTH_HEADER_CHARS:
        raise AuthHeaderError("auth header too long")
    out: list[tuple[str, dict[str, str]]] = []
    pos, end = 0, len(value)
    while True:
        pos = _SPACE.match(value, pos).end()  # type: ignore[union-attr]
        if pos >= end:
            break
        m = _TOKEN.match(value, pos)
        if m is None:
            raise AuthHeaderError(f"expected an auth scheme at {pos}")
        scheme, pos = m.group(), m.end()
        params: dict[str, str] = {}
        out.append((scheme, params))
        while True:
            pos = _SPACE.match(value, pos).end()  # type: ignore[union-attr]
            start = pos
            m = _TOKEN.match(value, pos)
            if m is None:
                break
            name, pos = m.group(), m.end()
            pos = _SPACE.match(value, pos).end()  # type: ignore[union-attr]
            if pos >= end or value[pos] != "=":
                pos = start  # a token without '=': the next challenge's scheme
                break
            pos = _SPACE.match(value, pos + 1).end()  # type: ignore[union-attr]
            q = _QUOTED.match(value, pos)
            if q is not None:
                params[name.lower()] = re.sub(r"\\(.)", r"\1", q.group(1))
                pos = q.end()
            else:
                t = _TOKEN.match(value, pos)
                if t is None:
                    raise AuthHeaderError(f"bad value of {name}")
                params[name.lower()] = t.group()
                pos = t.end()
            pos = _SPACE.match(value, pos).end()  # type: ignore[union-attr]
            if pos < end and value[pos] == ",":
                pos += 1
                continue
            break
        if pos < end and value[pos] not in " \t" and _TOKEN.match(value, pos) is None:
            raise AuthHeaderError(f"unexpected {value[pos]!r} at {pos}")
    return out


def challenges_of(response: Response) -> list[Challenge]:
    """The Digest challenges of a 401/407, unsupported ones included (check ``supported``)."""
    proxy = response.code == 407
    name = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
    found: list[Challenge] = []
    for value in response.headers.getlist(name):
        try:
            parsed = parse_auth_header(value)
        except AuthHeaderError:
            continue
        for scheme, params in parsed:
            if scheme.lower() != "digest" or "nonce" not in params or "realm" not in params:
                continue
            found.append(Challenge(
                realm=params["realm"], nonce=params["nonce"], algorithm=params.get("algorithm", "MD5").upper(),
                qop=tuple(q.strip().lower() for q in params.get("qop", "").split(",") if q.strip()),
                opaque=params.get("opaque"), stale=params.get("stale", "").lower() == "true", proxy=proxy,
            ))
    return found


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def digest_response(
    *, algorithm: str, username: str, realm: str, password: str, method: str, uri: str, nonce: str,
    qop: str | None, nc: str, cnonce: str,
) -> str:
    """The ``response`` value (RFC 7616 §3.4.1)."""
    sess = algorithm.endswith("-SESS")
    h = ALGORITHMS[algorithm.removesuffix("-SESS")]
    ha1 = h(f"{username}:{realm}:{password}".encode())
    if sess:
        ha1 = h(f"{ha1}:{nonce}:{cnonce}".encode())
    ha2 = h(f"{method}:{uri}".encode())
    if qop:
        return h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}".encode())
    return h(f"{ha1}:{nonce}:{ha2}".encode())


@dataclass
class _Known:
    challenge: Challenge
    nc: int = 0
    failed: bool = False
    "A request answered with this nonce was challenged again."


@dataclass
class DigestClient:
    """One account's credentials and the challenges its servers sent (RFC 3261 §22.3)."""

    username: str
    password: str
    _known: dict[tuple[bool, str], _Known] = field(default_factory=dict)

    def learn(self, response: Response) -> bool:
        """Record a 401/407's challenges. ``True``: retry the request with ``authorize``;
        ``False``: give up (no usable challenge, or ours already failed on the same nonce)."""
        usable = [c for c in challenges_of(response) if c.supported]
        if not usable:
            return False
        retry = False
        for realm in dict.fromkeys(c.realm for c in usable):
            best = min((c for c in usable if c.realm == realm), key=lambda c: PREFERENCE.index(c.algorithm))
            key = (best.proxy, realm)
            known = self._known.get(key)
            if known is not None and known.nc and known.challenge.nonce == best.nonce and not best.stale:
                known.failed = True  # the same nonce refused our answer: wrong credentials
                continue
            self._known[key] = _Known(best)
            retry = True
        return retry

    def forget(self) -> None:
        self._known.clear()

    def authorize(self, request: Request) -> None:
        """Add ``Authorization``/``Proxy-Authorization`` for every known challenge (nc + 1 each)."""
        request.headers.remove("Authorization")
        request.headers.remove("Proxy-Authorization")
        uri = str(request.uri)
        for (proxy, _realm), known in self._known.items():
            c = known.challenge
            known.nc += 1
            nc = f"{known.nc:08x}"
            cnonce = secrets.token_hex(8)
            qop = "auth" if "auth" in c.qop else None
            response = digest_response(
                algorithm=c.algorithm, username=self.username, realm=c.realm, password=self.password,
                method=request.method, uri=uri, nonce=c.nonce, qop=qop, nc=nc, cnonce=cnonce,
            )
            parts = [f"username={_quote(self.username)}", f"realm={_quote(c.realm)}", f"nonce={_quote(c.nonce)}",
                     f"uri={_quote(uri)}", f"response={_quote(response)}", f"algorithm={c.algorithm}"]
            if qop:
                parts += [f"qop={qop}", f"nc={nc}", f"cnonce={_quote(cnonce)}"]
            if c.opaque is not None:
                parts.append(f"opaque={_quote(c.opaque)}")
            request.headers.add("Proxy-Authorization" if proxy else "Authorization", "Digest " + ", ".join(parts))


class DigestServer:
    """Challenges requests and verifies their credentials (``password_of(username)``)."""

    def __init__(self, realm: str, secret: bytes | None = None, *, now: Callable[[], float] = time.time) -> None:
        self.realm = realm
        self._secret = secret or secrets.token_bytes(32)
        self._now = now

    def _nonce(self, stamp: int) -> str:
        mac = hmac.new(self._secret, str(stamp).encode(), hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(str(stamp).encode() + b":" + mac).decode().rstrip("=")

    def challenge(self, response: Response, *, stale: bool = False) -> Response:
        """Add SHA-256 and MD5 ``WWW-Authenticate`` challenges (RFC 8760 §2.4 order) to a 401."""
        nonce = self._nonce(int(self._now()))
        for algorithm in ("SHA-256", "MD5"):
            value = f'Digest realm={_quote(self.realm)}, nonce="{nonce}", algorithm={algorithm}, qop="auth"'
            if stale:
                value += ", stale=TRUE"
            response.headers.add("WWW-Authenticate", value)
        return response

    def verify(self, request: Request, password_of: Callable[[str], str | None]) -> tuple[str | None, bool]:
        """``(username, stale)``: the authenticated user name, or ``None``; ``stale`` when only the
        nonce was too old (challenge again with ``stale=True``)."""
        for value in request.headers.getlist("Authorization"):
            try:
                parsed = parse_auth_header(value)
            except AuthHeaderError:
                continue
            for scheme, p in parsed:
                if scheme.lower() != "digest" or p.get("realm") != self.realm:
                    continue
                result = self._check(request, p, password_of)
                if result is not None:
                    return result
        return None, False

    def _check(
        self, request: Request, p: dict[str, str], password_of: Callable[[str], str | None]
    ) -> tuple[str | None, bool] | None:
        username, nonce = p.get("username", ""), p.get("nonce", "")
        algorithm = p.get("algorithm", "MD5").upper()
        if algorithm.removesuffix("-SESS") not in ALGORITHMS or not username:
            return None
        password = password_of(username)
        if password is None:
            return None
        state = self._nonce_state(nonce)
        if state == "invalid":
            return None
        stale = state == "stale"
        qop = p.get("qop")
        if qop not in (None, "auth"):
            return None
        expected = digest_response(
            algorithm=algorithm, username=username, realm=self.realm, password=password,
            method=request.method, uri=p.get("uri", ""), nonce=nonce, qop=qop,
            nc=p.get("nc", ""), cnonce=p.get("cnonce", ""),
        )
        if not hmac.compare_digest(expected, p.get("response", "")) or p.get("uri") != str(request.uri):
            return None
        return (None, True) if stale else (username, False)

    def _nonce_state(self, nonce: str) -> str:
        """``fresh``, ``stale`` (ours, expired) or ``invalid`` (not made by this server)."""
        try:
            raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
            stamp_text, _, _mac = raw.partition(b":")
            stamp = int(stamp_text)
        except (ValueError, TypeError):
            return "invalid"
        if not hmac.compare_digest(self._nonce(stamp), nonce):
            return "invalid"
        return "fresh" if 0 <= self._now() - stamp <= NONCE_TTL_S else "stale"

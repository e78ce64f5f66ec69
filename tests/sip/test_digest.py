"""Digest authentication: RFC test vectors, nonce counts, one retry per challenge, our own server."""

from __future__ import annotations

import time

import pytest
from sipmessage import URI, Address, Parameters, Request, Response, Via

from zorio_widget.sip.digest import (
    AuthHeaderError,
    DigestClient,
    DigestServer,
    challenges_of,
    digest_response,
    parse_auth_header,
)
from zorio_widget.sip.message import new_request


def test_rfc2617_md5_vector() -> None:
    assert digest_response(algorithm="MD5", username="Mufasa", realm="testrealm@host.com", password="Circle Of Life",
                           method="GET", uri="/dir/index.html", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
                           qop="auth", nc="00000001", cnonce="0a4f113b") == "6629fae49393a05397450978507c4ef1"


@pytest.mark.parametrize(("algorithm", "expected"), [
    ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
    ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
])
def test_rfc7616_vectors(algorithm: str, expected: str) -> None:
    assert digest_response(algorithm=algorithm, username="Mufasa", realm="http-auth@example.org",
                           password="Circle of Life", method="GET", uri="/dir/index.html",
                           nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", qop="auth", nc="00000001",
                           cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ") == expected


def test_header_parser_handles_commas_in_quotes_and_several_challenges() -> None:
    parsed = parse_auth_header('Digest realm="a, b", qop="auth,auth-int", nonce="n\\"x", algorithm=SHA-256, '
                               'Basic realm="c"')
    assert parsed == [("Digest", {"realm": "a, b", "qop": "auth,auth-int", "nonce": 'n"x', "algorithm": "SHA-256"}),
                      ("Basic", {"realm": "c"})]
    with pytest.raises(AuthHeaderError):
        parse_auth_header('Digest realm="unterminated')


def test_header_parser_is_linear() -> None:
    started = time.perf_counter()
    try:
        parse_auth_header("Digest " + 'a="b",' * 600)
    except AuthHeaderError:
        pass
    assert time.perf_counter() - started < 0.05


def register() -> Request:
    return new_request("REGISTER", URI.parse("sip:example.com"), from_address=Address.parse("<sip:u@example.com>;tag=1"),
                       to_address=Address.parse("<sip:u@example.com>"), call_id="c", cseq=1,
                       via=Via("UDP", "127.0.0.1", 5060, Parameters(branch="z9hG4bK1")))


def challenge(code: int, *values: str) -> Response:
    response = Response(code, "Unauthorized")
    for value in values:
        response.headers.add("Proxy-Authenticate" if code == 407 else "WWW-Authenticate", value)
    return response


def credentials(request: Request, name: str = "Authorization") -> dict[str, str]:
    return parse_auth_header(request.headers[name])[0][1]


def test_client_prefers_sha256_counts_nonce_uses_and_retries_once_per_challenge() -> None:
    client = DigestClient("u", "secret")
    first = challenge(401, 'Digest realm="r", nonce="n1", algorithm=MD5, qop="auth"',
                      'Digest realm="r", nonce="n1", algorithm=SHA-256, qop="auth"')
    assert client.learn(first)
    req = register()
    client.authorize(req)
    c1 = credentials(req)
    assert c1["algorithm"] == "SHA-256" and c1["nc"] == "00000001" and c1["qop"] == "auth"
    assert c1["response"] == digest_response(algorithm="SHA-256", username="u", realm="r", password="secret",
                                             method="REGISTER", uri="sip:example.com", nonce="n1", qop="auth",
                                             nc="00000001", cnonce=c1["cnonce"])
    client.authorize(req)  # the same nonce again (a refresh): nc grows, cnonce changes
    c2 = credentials(req)
    assert c2["nc"] == "00000002" and c2["cnonce"] != c1["cnonce"]
    assert not client.learn(first), "the same nonce refused our answer: wrong password, do not loop"
    assert client.learn(challenge(401, 'Digest realm="r", nonce="n1", stale=true, algorithm=MD5')), "stale retries"
    assert client.learn(challenge(401, 'Digest realm="r", nonce="n2"'))


def test_client_answers_407_in_proxy_authorization_and_skips_unsupported() -> None:
    client = DigestClient("u", "p")
    assert not client.learn(challenge(407, 'Digest realm="r", nonce="n", algorithm=SHA-512-256'))
    assert not client.learn(challenge(401, 'Digest realm="r", nonce="n", qop="auth-int"'))
    assert client.learn(challenge(407, 'Digest realm="r", nonce="n", opaque="o"'))
    req = register()
    client.authorize(req)
    c = credentials(req, "Proxy-Authorization")
    assert c["opaque"] == "o" and "qop" not in c and req.headers.get("Authorization") is None
    assert challenges_of(challenge(407, 'Digest realm="r", nonce="n"'))[0].proxy


def test_server_round_trip_wrong_password_and_stale_nonce() -> None:
    now = [1000.0]
    server = DigestServer("zorio", now=lambda: now[0])
    client = DigestClient("trunk1", "pw")
    assert client.learn(server.challenge(Response(401, "Unauthorized")))
    req = register()
    client.authorize(req)
    assert server.verify(req, {"trunk1": "pw"}.get) == ("trunk1", False)
    assert server.verify(req, {"trunk1": "other"}.get) == (None, False)
    assert server.verify(req, {}.get) == (None, False)
    now[0] += 1000
    assert server.verify(req, {"trunk1": "pw"}.get) == (None, True)
    forged = register()
    forged.headers.set("Authorization", credentials_text(req).replace("nonce=\"", "nonce=\"x"))
    assert server.verify(forged, {"trunk1": "pw"}.get) == (None, False)


def credentials_text(req: Request) -> str:
    return req.headers["Authorization"]

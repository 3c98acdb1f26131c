"""A signed media URL is good only as it was signed: its signature and expiry in their one
spelling, nothing added (padding, other characters) and no other spelling of the same value."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from workbench.media.signing import MediaSigner

KEY = "brochures/r/00ff-phone-w1080-q80.webp"


def test_only_the_signature_and_expiry_as_signed_pass() -> None:
    signer = MediaSigner(b"b" * 32)
    now = 1_700_000_000.0
    query = parse_qs(urlsplit(signer.url(KEY, 3600, now=now)).query)
    exp, sig = query["exp"][0], query["sig"][0]
    assert signer.verify(KEY, exp, sig, now=now)
    for other in (sig + "=", sig + "!!", sig + "\r\n", "!" + sig, sig + " ", "é" + sig[1:]):
        assert not signer.verify(KEY, exp, other, now=now), repr(other)
    assert not signer.verify(KEY, "0" + exp, sig, now=now)
    assert not signer.verify(KEY, exp, sig[:-1], now=now)

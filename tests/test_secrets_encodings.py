"""Known secrets are removed in their common encodings too: messages, exception chains,
cassette files."""

from __future__ import annotations

import base64
import json
import urllib.parse

import pytest

from promptlib import ProviderError, Registry
from promptlib._secrets import redact, redact_exception
from promptlib.testing import Cassette
from tests.repository.conftest import SHIPPED
from tests.testing.test_cassette import JSON, stand_in  # noqa: F401 (a fixture)

KEYS = ["sk-proj-ABCDEF0123456789abcdef", "localkey-9f8e7d6c5b4a3210", "AIzaSyA-gemini-key-0123"]


def b64(data: str) -> str:
    return base64.b64encode(data.encode()).decode()


def forms(key: str) -> dict[str, str]:
    """The key as a misbehaving server or proxy might echo it."""
    return {
        "plain": key,
        "url-encoded dashes": key.replace("-", "%2D"),
        "url-encoded lowercase": key.replace("-", "%2d"),
        "url-encoded fully": "".join(f"%{b:02X}" for b in key.encode()),
        "quote": urllib.parse.quote(key, safe=""),
        "json escapes": "".join(f"\\u{ord(c):04x}" for c in key),
        "html entities": "".join(f"&#{ord(c)};" for c in key),
        "base64": b64(key),
        "base64 unpadded": b64(key).rstrip("="),
        "urlsafe base64": base64.urlsafe_b64encode(key.encode()).decode(),
        "basic user:key": b64("user:" + key),
        "basic u:key": b64("u:" + key),
        "basic us:key": b64("us:" + key),
        "basic key:": b64(key + ":"),
        "hex": key.encode().hex(),
        "HEX": key.encode().hex().upper(),
    }


CASES = [(key, name, text) for key in KEYS for name, text in forms(key).items()]
IDS = [f"{key[:5]}-{name}" for key, name, _ in CASES]


def leaks(text: str, key: str) -> list[str]:
    """Which encodings of ``key`` (or a long run of its base64) are still in ``text``."""
    found = [name for name, form in forms(key).items() if form in text]
    core = b64(key)[4:-4]
    return found + (["base64 core"] if core in text else [])


@pytest.mark.parametrize(("key", "name", "text"), CASES, ids=IDS)
def test_redact_removes_each_encoding(key, name, text):
    shown = redact(f"401 bad key {text} (Authorization: Basic {text})", [key])
    assert not leaks(shown, key), shown
    assert "[redacted]" in shown


@pytest.mark.parametrize(("key", "name", "text"), CASES, ids=IDS)
def test_redact_exception_cleans_the_whole_chain(key, name, text):
    inner = ValueError(f"upstream said {text}")
    outer = RuntimeError({"error": {"message": f"echo {text}"}})
    outer.__cause__, inner.__context__ = inner, KeyError(text)
    redact_exception(outer, [key])
    shown = repr(outer.args) + repr(inner.args) + repr(inner.__context__.args)
    assert not leaks(shown, key), shown


def test_ordinary_text_is_left_alone():
    text = "priority: high; base64 aGVsbG8=; hex 68656c6c6f; 100%2D done"
    assert redact(text, KEYS) == text


def test_short_secrets_are_only_removed_verbatim():
    # Encoded fragments of a short secret would match unrelated text.
    assert redact("pw abcd and YWJjZA==", ["abcd"]) == "pw [redacted] and YWJjZA=="


ECHOES = ["url-encoded dashes", "quote", "json escapes", "base64", "basic user:key", "hex"]


@pytest.mark.allow_provider_requests  # recording sends requests, to 127.0.0.1 here
@pytest.mark.parametrize("name", ECHOES)
@pytest.mark.parametrize("key", KEYS[:2])
def test_cassettes_never_store_an_encoded_key(stand_in, tmp_path, key, name):  # noqa: F811
    echoed = forms(key)[name]
    body = json.dumps({"error": {"message": f"bad key {echoed}"}}).encode()
    stand_in.answer((400, {**JSON, "x-request-id": echoed}, body))
    path = tmp_path / "c.json"
    prompt = Registry(SHIPPED).render("ticket-priority@production", ticket="x")
    with pytest.raises(ProviderError) as info:
        Cassette(path, record=True).openai(base_url=stand_in.url, api_key=key).complete(prompt)
    assert not leaks(path.read_text(), key)
    assert not leaks(str(info.value) + repr(info.value), key)


@pytest.mark.allow_provider_requests
def test_a_body_that_is_not_utf8_is_masked_before_base64(stand_in, tmp_path):  # noqa: F811
    key = KEYS[0]
    stand_in.answer((400, {}, f"bad {b64('u:' + key)} caf\xe9".encode("latin-1")))
    path = tmp_path / "c.json"
    prompt = Registry(SHIPPED).render("ticket-priority@production", ticket="x")
    with pytest.raises(ProviderError):
        Cassette(path, record=True).openai(base_url=stand_in.url, api_key=key).complete(prompt)
    stored = json.loads(path.read_text())["exchanges"][0]["response"]["body_base64"]
    assert not leaks(base64.b64decode(stored).decode("latin-1"), key)

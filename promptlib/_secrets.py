"""Keeping API keys out of what promptlib shows: messages, reprs, exception chains, logs.

Two kinds of secret are removed: the values promptlib knows (the key it sends, a password
in ``base_url``), and anything shaped like a provider key or credential (``sk-...``,
``Bearer ...``, ``x-api-key: ...``, ``?api_key=...``), which catches a key pasted into a
prompt or echoed back by a proxy.
"""

from __future__ import annotations

import base64
import functools
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "SecretsFilter",
    "check_key",
    "clean_strings",
    "in_use",
    "may_hold_a_key_shape",
    "redact",
    "redact_exception",
    "redact_in_use",
    "redact_url",
    "remember",
    "secret_pattern",
    "secret_pattern_bytes",
]

REDACTED = "[redacted]"

# Whitespace may be written as a JSON or C escape (\t, \n, \u0020), a dash as \u002d and
# quotes as \"; a model's JSON text holds them that way.
_SPACE = r"(?:\s|\\[tnr]|\\u0020)"
_DASH = r"(?:-|\\u002[dD])"


def _credential(chars: str, least: int = 1) -> str:
    """A run of ``chars`` shaped like a credential, not a word of prose: it holds a digit,
    one of ``=+/_-`` or a capital after its first letter, or is 24 characters or more
    ("Bearer token expired" and "api_key = os.environ[...]" keep their words; "Bearer
    abc123" does not)."""
    shaped = rf"(?-i:(?={chars}*?(?:\d|[=+/_\-]|[A-Za-z][A-Z])|{chars}{{24}}))"
    return rf"{shaped}{chars}{{{least},}}"


_VALUE = r"[^\s'\",;\\&#()<>\[\]{}]"
# Between a credential's name and its value: "name: value", "name=value", JSON's
# "name": "value", or a raw header tuple's (b'name', b'value').
_BETWEEN = r"""(?:(?:\\?['"])?\s*[:=]\s*(?:\\?['"])?|['"],\s*b?['"])"""
_SHAPES = (
    # Provider keys: sk-..., sk-proj-..., sk-ant-api03-..., and the like.
    (
        re.compile(
            rf"(?<![A-Za-z])(sk{_DASH}(?:(?:ant|proj|svcacct|admin){_DASH})?)[A-Za-z0-9_\-]{{8,}}"
        ),
        r"\1" + REDACTED,
    ),
    (
        re.compile(rf"(?i)\b(bearer{_SPACE}+(?:\\?['\"])?){_credential(_VALUE)}"),
        r"\1" + REDACTED,
    ),
    (
        re.compile(rf"(?i)\b(basic{_SPACE}+)" + _credential(r"[A-Za-z0-9+/=_\-]", 6)),
        r"\1" + REDACTED,
    ),
    # A key by its header or variable name: x-api-key, api-key (Azure), X-Goog-Api-Key,
    # OPENAI_API_KEY=..., "api_key": "..."
    (
        re.compile(
            rf"(?i)((?:(?:api|subscription)[-_]?key|security[-_]token|session[-_]?token){_BETWEEN})"
            + _credential(_VALUE)
        ),
        r"\1" + REDACTED,
    ),
    # HTTP Digest: the response hash
    (
        re.compile(r"""(?i)(\bdigest\s+[a-z]+=[\s\S]{0,400}?response=\\?["']?)[0-9a-f]{16,}"""),
        r"\1" + REDACTED,
    ),
    # (Proxy-)Authorization: <scheme> <credentials> (Token, Bearer, Basic, or a bare value)
    (
        re.compile(
            rf"(?i)(authorization{_BETWEEN}(?:[A-Za-z0-9\-]+{_SPACE}+)?)" + _credential(_VALUE)
        ),
        r"\1" + REDACTED,
    ),
    # AWS Signature Version 4 (Bedrock): the access key id and the signature
    (re.compile(r"\b((?:Credential|Signature)=)[A-Za-z0-9/_\-]{8,}"), r"\1" + REDACTED),
    (
        re.compile(
            r"(?i)((?:[?&]|&amp;|%3F|%26)(?:api[-_]?key|key|token|access_token|secret|password|sig|x-amz-security-token)"
            r"(?:=|%3D))"
            r"[^&\s#'\"]+"
        ),
        r"\1" + REDACTED,
    ),
    # user:password@ in a URL (the user may be empty, the password may hold an @)
    (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^/\s:@]*:)[^/\s]+@"), r"\1" + REDACTED + "@"),
)

# One search for any of the shapes first: most text holds none, and then one pass over it
# replaces six.
_ANY_SHAPE = re.compile(
    "|".join(
        f"(?i:{p.pattern[4:]})" if p.pattern.startswith("(?i)") else f"(?:{p.pattern})"
        for p, _ in _SHAPES
    )
)


# Every shape holds one of these once case is folded the way re.IGNORECASE folds it (which
# also equates the long s, the Kelvin sign and the Turkish i's with ASCII letters); a text
# holding none is skipped in far less time than the search takes.
_FOLD = str.maketrans({"\u017f": "s", "\u212a": "k", "\u0131": "i", "\u0130": "i"})


def may_hold_a_key_shape(text: str) -> bool:
    """Whether ``text`` could hold a key shape at all (a cheap check before the search;
    JSON encoding leaves the literals it looks for as they are)."""
    return _may_hold_a_shape(text)


def _may_hold_a_shape(text: str) -> bool:
    f = (text if text.isascii() else text.translate(_FOLD)).lower()
    return (
        "=" in f
        or "sk-" in f
        or "://" in f
        or "bearer" in f
        or "basic" in f
        or "api-key" in f
        or "subscription" in f
        or "security" in f
        or "session" in f
        or "digest" in f
        or "%3d" in f
        or "api_key" in f
        or "apikey" in f
        or "authorization" in f
        or "\\u00" in f
    )


# Below this length a secret's base64 or hex fragments are too short to remove safely.
_ENCODED_MIN = 8


def _char_form(char: str) -> str:
    """A pattern for one character of a secret: itself, or escaped as a URL (``%2D``),
    JSON (``\\u002d``) or HTML (``&#45;``, ``&#x2d;``) would escape it."""
    data = char.encode("utf-8", "surrogatepass")
    forms = [re.escape(char), "".join("%" + _hex(b) for b in data)]
    if len(data) == 1:
        forms += [r"\\u00" + _hex(data[0]), f"&#0*{data[0]};", f"&#[xX]0*{_hex(data[0])};"]
    return "(?:" + "|".join(forms) + ")"


def _hex(data: int | bytes) -> str:
    """A pattern for the hex digits of ``data``, in either case."""
    digits = f"{data:02x}" if isinstance(data, int) else data.hex()
    return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in digits)


def _base64_forms(secret: bytes) -> list[str]:
    """The base64 text of ``secret`` at each of the three alignments it can have inside
    longer base64 (``user:key`` in HTTP Basic), keeping only characters that depend on the
    secret alone; standard and URL-safe alphabets."""
    forms = []
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + secret).decode("ascii")
        start, end = -(-8 * offset // 6), 8 * (offset + len(secret)) // 6
        fragment = encoded[start:end]
        forms += [fragment, fragment.replace("+", "-").replace("/", "_")]
    return forms


@functools.lru_cache(maxsize=256)
def _pattern_source(secret: str) -> str:
    alternatives = ["".join(_char_form(c) for c in secret)]
    if len(secret) >= _ENCODED_MIN:
        data = secret.encode("utf-8", "surrogatepass")
        alternatives += [re.escape(form) for form in dict.fromkeys(_base64_forms(data))]
        alternatives.append(_hex(data))
    return "|".join(alternatives)


@functools.lru_cache(maxsize=256)
def secret_pattern(secret: str) -> re.Pattern[str]:
    """A pattern matching ``secret`` as it is and in its common encodings: URL-encoded,
    JSON- or HTML-escaped (character by character), base64 (alone or inside longer base64)
    and hex."""
    return re.compile(_pattern_source(secret))


@functools.lru_cache(maxsize=256)
def secret_pattern_bytes(secret: str) -> re.Pattern[bytes]:
    """:func:`secret_pattern` for bytes (a UTF-8 body)."""
    return re.compile(_pattern_source(secret).encode("utf-8", "surrogatepass"))


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the given secret values (also URL-encoded, JSON- or HTML-escaped,
    base64 and hex) and anything key-shaped replaced."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = secret_pattern(secret).sub(REDACTED, text)
    if not _may_hold_a_shape(text) or _ANY_SHAPE.search(text) is None:
        return text
    for pattern, replacement in _SHAPES:
        text = pattern.sub(replacement, text)
    return text


# The keys the adapters of this process have sent with: log lines are redacted with them
# too, since a server or a model may echo a key of any shape.
_IN_USE: dict[str, None] = {}


def remember(secrets: Iterable[str]) -> None:
    """Record keys in use, so that :func:`in_use` (and every log line) knows them."""
    for secret in secrets:
        if secret and len(secret) >= 4 and secret not in _IN_USE:
            if len(_IN_USE) >= 64:  # keys rotated many times: keep the newest
                del _IN_USE[next(iter(_IN_USE))]
            _IN_USE[secret] = None


def in_use() -> tuple[str, ...]:
    """The keys promptlib's adapters have sent with in this process."""
    return tuple(_IN_USE)


def redact_in_use(text: str) -> str:
    """:func:`redact` with the keys in use: what promptlib's log lines show."""
    return redact(text, _IN_USE)


def redact_url(url: str) -> str:
    """A URL fit to show: its password and credential-like query values removed."""
    return redact(url)


def url_secrets(url: str | None) -> tuple[str, ...]:
    """The password in ``url``, if it has one (to be redacted wherever it appears)."""
    if not url:
        return ()
    try:
        password = urlsplit(url).password
    except ValueError:
        return ()
    return (password,) if password else ()


def clean_strings(value: Any, clean: Callable[[str], str], limit: int = 20) -> Any:
    """``value`` with ``clean`` applied to every string in it, dictionary keys included,
    down to ``limit`` levels of nesting."""
    if isinstance(value, str):
        return clean(value)
    if limit <= 0:
        return value
    if isinstance(value, dict):
        return {
            clean(k) if isinstance(k, str) else k: clean_strings(v, clean, limit - 1)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [clean_strings(v, clean, limit - 1) for v in value]
    if isinstance(value, tuple):
        return tuple(clean_strings(v, clean, limit - 1) for v in value)
    return value


def _redact_value(value: Any, secrets: tuple[str, ...]) -> Any:
    return clean_strings(value, lambda text: redact(text, secrets))


def redact_exception(exc: BaseException, secrets: Iterable[str] = ()) -> None:
    """Remove secrets, in place, from ``exc`` and every exception in its cause chain:
    their arguments, ``message`` and ``body`` (what tracebacks and reprs show)."""
    known = tuple(secrets)
    seen: set[int] = set()
    current: BaseException | None = exc
    stack: list[BaseException] = []
    while current is not None or stack:
        if current is None:
            current = stack.pop()
        if id(current) in seen:
            current = None
            continue
        seen.add(id(current))
        try:
            current.args = tuple(_redact_value(a, known) for a in current.args)
            for attribute in ("message", "body"):
                value = getattr(current, attribute, None)
                if isinstance(value, str | dict | list):
                    setattr(current, attribute, _redact_value(value, known))
        except (AttributeError, TypeError):  # a read-only exception type: leave it
            pass
        if current.__context__ is not None:
            stack.append(current.__context__)
        current = current.__cause__


def check_key(key: str, source: str) -> None:
    """Refuse a key no provider can accept, naming where it came from, never the key.

    Raises:
        ValueError: the key is empty or has whitespace, control or non-ASCII characters
            (the message says which and where, and is safe to show).
    """
    if not key.strip():
        raise ValueError(f"{source} is empty")
    if key != key.strip():
        where = "a trailing" if key[-1:].isspace() else "a leading"
        raise ValueError(
            f"{source} has {where} newline or space; remove it (a copied key often has one)"
        )
    for position, char in enumerate(key, 1):
        if char.isspace():
            raise ValueError(f"{source} contains whitespace at character {position}")
        if not 0x21 <= ord(char) <= 0x7E:
            kind = "a non-ASCII" if ord(char) > 0x7E else "a control"
            raise ValueError(
                f"{source} contains {kind} character at character {position} "
                f"(U+{ord(char):04X}); API keys are plain ASCII: copy the key again"
            )


class SecretsFilter(logging.Filter):
    """A logging filter that removes API keys and credentials from every record it sees:
    the ``secrets`` given, the keys promptlib's adapters send with, and anything shaped
    like a credential.

    Add it to a handler to cover every logger that handler serves (the SDKs' and the HTTP
    libraries' DEBUG logs included)::

        handler.addFilter(promptlib.SecretsFilter())
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: tuple[str, ...] = tuple(secrets)

    def __repr__(self) -> str:  # never the secrets themselves
        return f"SecretsFilter(secrets={len(self.secrets)})"

    def filter(self, record: logging.LogRecord) -> bool:
        """Remove secrets from ``record`` (its message, arguments and exception); keep it."""
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not format: leave it to logging
            return True
        secrets = (*self.secrets, *in_use())
        cleaned = redact(message, secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            redact_exception(record.exc_info[1], secrets)
            record.exc_text = None
        return True


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib", SecretsFilter)

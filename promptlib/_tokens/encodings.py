"""tiktoken encodings, built offline from verified data.

tiktoken downloads its BPE files on first use, which fails without a network. promptlib
builds :class:`tiktoken.Encoding` objects itself, from the official BPE files shipped with
promptlib (``promptlib/_tokens/data``, see its ``SOURCES.md``), after checking each file's
SHA-256 against the hash tiktoken itself expects. A missing or corrupt file is a
:class:`~promptlib.ConfigurationError`, never a silent fallback to another tokenizer.
"""

from __future__ import annotations

import binascii
import gzip
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from promptlib._errors import ConfigurationError

if TYPE_CHECKING:
    import tiktoken

__all__ = ["ENCODINGS", "get_encoding", "token_counter"]

_ENDOFTEXT = "<|endoftext|>"
_ENDOFPROMPT = "<|endofprompt|>"


@dataclass(frozen=True)
class _Spec:
    sha256: str  # of the uncompressed .tiktoken file, as in tiktoken_ext.openai_public
    pat_str: str
    special_tokens: dict[str, int]


# Patterns and special tokens as published in tiktoken (tiktoken_ext/openai_public.py, MIT).
ENCODINGS: dict[str, _Spec] = {
    "cl100k_base": _Spec(
        sha256="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        pat_str=(
            r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+|"""
            r""" ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
        ),
        special_tokens={
            _ENDOFTEXT: 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            _ENDOFPROMPT: 100276,
        },
    ),
    "o200k_base": _Spec(
        sha256="446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        pat_str="|".join(
            [
                r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                r"""\p{N}{1,3}""",
                r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
                r"""\s*[\r\n]+""",
                r"""\s+(?!\S)""",
                r"""\s+""",
            ]
        ),
        special_tokens={_ENDOFTEXT: 199999, _ENDOFPROMPT: 200018},
    ),
}

_cache: dict[str, tiktoken.Encoding] = {}
_lock = threading.Lock()


def _data_file(name: str) -> Path:
    return Path(__file__).with_name("data") / f"{name}.tiktoken.gz"


def load_ranks(name: str, path: Path | None = None) -> dict[bytes, int]:
    """The verified BPE ranks of encoding ``name`` (from ``path``, or the shipped file)."""
    spec = ENCODINGS[name]
    path = path or _data_file(name)
    try:
        raw = path.read_bytes()
        data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise ConfigurationError(
            f"cannot read the {name} token data at {path}: {exc}. Reinstall promptlib "
            "(pip install --force-reinstall promptlib-py)."
        ) from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != spec.sha256:
        raise ConfigurationError(
            f"the {name} token data at {path} is corrupt or not the official file: its "
            f"SHA-256 is {digest}, expected {spec.sha256}. Reinstall promptlib "
            "(pip install --force-reinstall promptlib-py)."
        )
    # The file is verified: its lines are "<base64 token> <rank>". a2b_base64 is the C
    # routine b64decode wraps, without the per-call checks (0.35 s -> 0.2 s for o200k).
    fields = data.split()
    return dict(zip(map(binascii.a2b_base64, fields[0::2]), map(int, fields[1::2]), strict=True))


def get_encoding(name: str) -> tiktoken.Encoding:
    """The tiktoken encoding ``name`` (``o200k_base`` or ``cl100k_base``), loaded once.

    Raises:
        ConfigurationError: an unknown encoding, or its data is missing or corrupt.
    """
    encoding = _cache.get(name)
    if encoding is not None:
        return encoding
    if name not in ENCODINGS:
        raise ConfigurationError(
            f"unknown encoding {name!r}; promptlib counts with {', '.join(ENCODINGS)}"
        )
    with _lock:
        if name not in _cache:
            import tiktoken

            spec = ENCODINGS[name]
            _cache[name] = tiktoken.Encoding(
                name,
                pat_str=spec.pat_str,
                mergeable_ranks=load_ranks(name),
                special_tokens=spec.special_tokens,
            )
    return _cache[name]


_counters: dict[str, Callable[[str], int]] = {}
_NOTHING_ALLOWED: frozenset[str] = frozenset()


def token_counter(name: str) -> Callable[[str], int]:
    """A function returning how many tokens a text is in encoding ``name``.

    Special-token strings in the text count as plain text, as the chat APIs treat them.
    The same number as ``len(get_encoding(name).encode_ordinary(text))``, without building
    a list of the token ids.
    """
    counter = _counters.get(name)
    if counter is None:
        counter = _counters[name] = _make_counter(get_encoding(name))
    return counter


def _make_counter(encoding: tiktoken.Encoding) -> Callable[[str], int]:
    encode_ordinary = encoding.encode_ordinary
    # What the public Encoding.encode_to_numpy calls, without needing numpy: the tokens as
    # a buffer of uint32, not a list of ints (a tenth of a long text's encoding time).
    # With no special tokens allowed, the core encodes them as text, as encode_ordinary.
    to_buffer = getattr(getattr(encoding, "_core_bpe", None), "encode_to_tiktoken_buffer", None)
    if to_buffer is None:  # a tiktoken without it: the public path
        return lambda text: len(encode_ordinary(text))

    def count(text: str) -> int:
        try:
            return memoryview(to_buffer(text, _NOTHING_ALLOWED)).nbytes // 4
        except UnicodeEncodeError:  # lone surrogates: encode_ordinary repairs them
            return len(encode_ordinary(text))

    return count

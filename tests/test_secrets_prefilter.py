"""The quick pre-check in ``redact`` never changes what it removes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from promptlib._secrets import _SHAPES, redact

# Pieces that build key shapes, in the case variants re.IGNORECASE equates.
PIECES = st.sampled_from(
    [
        "sk-", "sk-proj-", "Bearer ", "BEARER\t", "beareR ", "Basic ", "baſic ", "basıc ",
        "BASİC ", "x-api-key", "X-API-KEY", "x-api-Key", ": ", "=", "?", "&", "api_key",
        "token", "ToKen", "://", "https://", "u:", "@", "abcdefgh12", "ABCDEFGH", "/", " ",
        '"', "'", "é", "\u212a", "ſ",
    ]
)  # fmt: skip


def _every_shape(text: str) -> str:
    for pattern, replacement in _SHAPES:
        text = pattern.sub(replacement, text)
    return text


@settings(max_examples=3000, deadline=None)
@given(st.lists(PIECES | st.text(max_size=6), max_size=12).map("".join))
def test_redact_removes_exactly_what_every_shape_would(text):
    assert redact(text) == _every_shape(text)

"""Untrusted text, wrapped in delimiters it cannot forge or close.

``delimit(text, "ticket")`` gives::

    <ticket>
    …the text…
    </ticket>

Inside the text, every ``<`` (or a look-alike such as ``＜``) that would start a tag of the
same name — ``</ticket>``, ``< / TICKET >``, ``<ticket foo>`` — is replaced by its character
reference (``&lt;``), so the block ends only where promptlib ends it. Everything else,
fake ``system:`` lines and other tags included, is kept as it is: inside the block, it is
data. The output is a pure function of the input, so prompt caches and hashes stay stable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Annotated

from promptlib.errors import TemplateError

__all__ = ["UNTRUSTED", "Untrusted", "delimit", "is_untrusted_annotation", "validate_tag"]

# "<" and the characters a model may read as "<".
_LESS_THAN = "<\uff1c\ufe64\u2039\u2329\u3008\u276c\u276e\u27e8"
_INVISIBLE = r"\s\u00ad\u200b-\u200f\u2060\ufeff"
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")


class _UntrustedMarker:
    """Marks an input field as untrusted; see :data:`Untrusted`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNTRUSTED"


UNTRUSTED = _UntrustedMarker()

Untrusted = Annotated[str, UNTRUSTED]
"""An input field type for text that must not be trusted (user input, documents, tickets).

Declare ``ticket: Untrusted`` (or ``documents: list[Untrusted]``) on the input model. The
template is then refused at definition time if it prints the field anywhere but inside a
delimited block (a :class:`~promptlib.Context` block or the ``delimit`` filter), or uses it
in the system role.
"""


def is_untrusted_annotation(annotation: object, metadata: Iterable[object] = ()) -> bool:
    """Whether a field's type carries the :data:`Untrusted` marker, at any depth."""
    if any(m is UNTRUSTED for m in metadata):
        return True
    if any(m is UNTRUSTED for m in getattr(annotation, "__metadata__", ())):
        return True
    return any(is_untrusted_annotation(arg) for arg in getattr(annotation, "__args__", ()) or ())


def validate_tag(tag: str) -> str:
    """Return ``tag`` if it is a usable delimiter name, else raise :class:`TemplateError`."""
    if not isinstance(tag, str) or not _TAG_NAME.fullmatch(tag):
        raise TemplateError(
            f"delimiter tag {tag!r} is not a valid name: use a letter followed by letters, "
            "digits, '_', '-' or '.', at most 64 characters (e.g. 'document')"
        )
    return tag


@lru_cache(maxsize=256)
def _forgery(tag: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Patterns for a forged tag start: one for "<" itself, one for its look-alikes.

    They are split so that the common one starts with a literal character, which the regex
    engine finds with a fast scan; case is ignored only in the lookahead, for the same reason.
    """
    gap = f"[{_INVISIBLE}]*"
    rest = rf"(?=(?i:{gap}/?{gap}{re.escape(tag)})(?![A-Za-z0-9_]))"
    return re.compile("<" + rest), re.compile(f"[{_LESS_THAN[1:]}]" + rest)


def _neutralize(text: str, tag: str) -> str:
    plain, lookalike = _forgery(tag)
    text = plain.sub("&lt;", text)
    if not text.isascii() and any(char in text for char in _LESS_THAN[1:]):
        text = lookalike.sub(lambda m: f"&#x{ord(m.group()):X};", text)
    return text


def delimit(value: object, tag: str = "context") -> str:
    """Wrap untrusted ``value`` in ``<tag>`` … ``</tag>`` so that it cannot close the block.

    A list or tuple gives one block per item, numbered: ``<tag index="1">``.

    Raises:
        TemplateError: ``tag`` is not a valid name.
    """
    validate_tag(tag)
    if isinstance(value, (list, tuple)):
        return "\n".join(
            f'<{tag} index="{i}">\n{_neutralize(str(item), tag)}\n</{tag}>'
            for i, item in enumerate(value, start=1)
        )
    return f"<{tag}>\n{_neutralize(str(value), tag)}\n</{tag}>"

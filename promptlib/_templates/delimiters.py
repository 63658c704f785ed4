"""Untrusted text, wrapped in delimiters it cannot forge or close.

``delimit(text, "ticket")`` gives::

    <ticket>
    …the text…
    </ticket>

Inside the text, every ``<`` (or a look-alike such as ``＜``) that would start a tag of the
same name — ``</ticket>``, ``< / TICKET >``, ``<ticket foo>`` — is replaced by its character
reference (``&lt;``), so the block ends only where promptlib ends it. "The same name" is
judged the way a reader (or a model) would: after folding compatibility forms (fullwidth,
mathematical letters), look-alike letters from other scripts (Cyrillic ``с``, Greek ``τ``),
case and accents, and ignoring invisible characters (zero-width, variation selectors, tag
characters). Everything else, fake ``system:`` lines and other tags included, is kept as it
is: inside the block, it is data. The output is a pure function of the input, so prompt
caches and hashes stay stable.
"""

from __future__ import annotations

import dataclasses
import json
import re
import typing
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any

from promptlib._errors import TemplateError

__all__ = ["UNTRUSTED", "Untrusted", "delimit", "is_untrusted_annotation", "validate_tag"]

# "<" and the characters a model may read as "<" (the ASCII one first).
_LESS_THAN = (
    "<\uff1c\ufe64\u2039\u2329\u3008\u276c\u276e\u27e8\u02c2\u1438\u227a\u29fc"
    "\u226e\u16b2\u3031\u2d66"
)
# Unicode's default-ignorable code points: rendered as nothing, so read as nothing.
_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)
# Letters (and slashes) of other scripts that look like Latin ones; compatibility forms
# (fullwidth, mathematical, circled, ...) are folded by NFKD instead.
_LOOKALIKES = {
    "a": "аАαΑɑᴀᎪ",
    "b": "вВβΒʙᏴь",
    "c": "сСᴄᏟϲ",
    "d": "ԁᴅᎠ",
    "e": "еЕεΕᴇᎬ",
    "g": "ɡցɢ",
    "h": "нНһΗհʜᎻ",
    "i": "іІιΙıɩɪӀᏆ",
    "j": "јЈȷᴊ",
    "k": "кКκΚᴋᏦ",
    "l": "ӏʟ",
    "m": "мМΜᴍᎷ",
    "n": "ηΝոɴп",
    "o": "оОοΟօᴏ",
    "p": "рРρΡᴘᏢ",
    "q": "ԛԚզ",
    "r": "гʀ",
    "s": "ѕЅꜱᏚ",
    "t": "тТτΤᴛᎢ",
    "u": "υսᴜ",
    "v": "νᴠ",
    "w": "ԝԜωᴡᏔш",
    "x": "хХχΧ×",
    "y": "уУγΥүҮʏ",
    "z": "ΖᴢᏃ",
    "/": "\u2215\u2044\u29f8\u2571\u27cb\u3033\u2cc6\u30ce\u4e3f",
}
_CONFUSABLES = str.maketrans(
    {char: latin for latin, chars in _LOOKALIKES.items() for char in chars}
)
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")


class _UntrustedMarker:
    """Marks an input field as untrusted; see :data:`Untrusted`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNTRUSTED"


UNTRUSTED = _UntrustedMarker()


class _ConversationMarker:
    """Marks a field as a conversation's turns (:data:`~promptlib.Conversation`)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "CONVERSATION"


CONVERSATION = _ConversationMarker()


def is_conversation(metadata: Iterable[object]) -> bool:
    """Whether a field's metadata marks it as a conversation."""
    return any(m is CONVERSATION for m in metadata)


class _UntrustedType(typing._AnnotatedAlias, _root=True):  # type: ignore[name-defined,misc,call-arg]
    # ``Annotated[str, UNTRUSTED]`` that refuses to be called: ``Untrusted("text")`` would
    # return a plain str, so marking a value (rather than a field) would silently do nothing.
    __doc__ = typing._AnnotatedAlias.__doc__  # type: ignore[attr-defined]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TemplateError(
            "Untrusted marks an input field, not a value: Untrusted(...) would return plain "
            "text that nothing treats as untrusted. Declare the field on the input model "
            "('ticket: Untrusted') and pass the text as that input."
        )


if TYPE_CHECKING:
    Untrusted = Annotated[str, UNTRUSTED]
else:
    Untrusted = _UntrustedType(str, (UNTRUSTED,))
"""An input field type for text that must not be trusted (user input, documents, tickets).

Declare ``ticket: Untrusted`` (or ``documents: list[Untrusted]``) on the input model; mark
structured data with the marker itself: ``documents: Annotated[list[Doc], UNTRUSTED]``. The
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
def _forgery(tag: str) -> re.Pattern[str]:
    """The pattern of a forged tag start in ASCII text.

    It starts with a literal character, which the regex engine finds with a fast scan; case
    is ignored only in the lookahead, for the same reason.
    """
    # "\s*(?:/\s*)?": unlike "\s*/?\s*", a run of spaces is split one way only, so a
    # "<" followed by n spaces costs O(n), not O(n^2).
    return re.compile(rf"<(?=(?i:\s*(?:/\s*)?{re.escape(tag)})(?![A-Za-z0-9_]))")


@lru_cache(maxsize=8192)
def fold(char: str) -> str:
    """What a reader takes ``char`` for: compatibility form, script look-alike, case and
    accents folded; ``""`` for a character rendered as nothing."""
    if _IGNORABLE.match(char):
        return ""
    out = []
    for part in unicodedata.normalize("NFKD", char):
        if not (unicodedata.combining(part) or _IGNORABLE.match(part)):
            out.append(part.translate(_CONFUSABLES))
    return "".join(out).casefold()


_NAME_CHARACTER = re.compile(r"[a-z0-9_]")


def _starts_tag(text: str, start: int, tag: str) -> bool:
    """Whether a reader would take ``text[start]`` (a "<") as opening ``<tag`` or ``</tag``.

    The text after it is folded one character at a time (a character may fold to several,
    or to none) and read only as far as it could still spell the tag: space, then an
    optional "/", space, then the name.
    """
    end = len(text)
    position = start + 1
    name = ""
    in_name = slashed = False
    while position < end and len(name) <= len(tag):
        for char in fold(text[position]):
            if not in_name:
                if char.isspace():
                    continue
                if char == "/" and not slashed:
                    slashed = True
                    continue
                in_name = True
            name += char
        position += 1
        if not (tag.startswith(name) or name.startswith(tag)):
            return False
    return name.startswith(tag) and not _NAME_CHARACTER.match(name[len(tag) :])


_CANDIDATE = re.compile(f"[{_LESS_THAN}]")


def _neutralize(text: str, tag: str) -> str:
    if text.isascii():
        return _forgery(tag).sub("&lt;", text)
    # Fold only where a "<" or a look-alike stands: rare, and what it starts is short.
    folded_tag = tag.casefold()
    pieces: list[str] = []
    last = 0
    for match in _CANDIDATE.finditer(text):
        index = match.start()
        if _starts_tag(text, index, folded_tag):
            char = text[index]
            pieces += (text[last:index], "&lt;" if char == "<" else f"&#x{ord(char):X};")
            last = index + 1
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


def delimit(value: object, tag: str = "context") -> str:
    """Wrap untrusted ``value`` in ``<tag>`` … ``</tag>`` so that it cannot close the block.

    A list or tuple gives one block per item, numbered: ``<tag index="1">``. Structured
    data (a mapping, a pydantic model, a dataclass) gives one element per field inside the
    block, ``<title>…</title>``; nested values are JSON. Every text is neutralized against
    every tag in play, so no item can close its own block, a field's, or another item's.

    Raises:
        TemplateError: ``tag`` is not a valid name.
    """
    validate_tag(tag)
    if isinstance(value, str):  # the common case: text
        return f"<{tag}>\n{_neutralize(value, tag)}\n</{tag}>"
    items = list(value) if isinstance(value, (list, tuple)) else None
    structured = [_fields(item, tag) for item in (items if items is not None else [value])]
    tags = [tag]
    for fields in structured:
        for name in fields or ():
            if name not in tags:
                tags.append(name)
    if items is None:
        return _element(tag, "", value, structured[0], tags)
    return "\n".join(
        _element(tag, f' index="{i}"', item, fields, tags)
        for i, (item, fields) in enumerate(zip(items, structured, strict=True), start=1)
    )


def _element(
    tag: str, attributes: str, value: object, fields: dict[str, object] | None, tags: list[str]
) -> str:
    if fields is None:
        return f"<{tag}{attributes}>\n{_neutral(_text(value), tags)}\n</{tag}>"
    inner = []
    for name, field_value in fields.items():
        if field_value is None:
            continue
        text = _neutral(_text(field_value), tags)
        inner.append(f"<{name}>\n{text}\n</{name}>" if "\n" in text else f"<{name}>{text}</{name}>")
    return f"<{tag}{attributes}>\n" + "\n".join(inner) + f"\n</{tag}>"


def _neutral(text: str, tags: list[str]) -> str:
    for tag in tags:
        text = _neutralize(text, tag)
    return text


def _fields(value: object, tag: str = "") -> dict[str, object] | None:
    """A structured value's fields by name, when every name can be a tag other than the
    block's own ``tag``; else ``None`` (the value is shown as text, or as JSON)."""
    if isinstance(value, dict):
        fields = value
    elif isinstance(names := getattr(type(value), "model_fields", None), dict):
        fields = {name: getattr(value, name) for name in names}
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    else:
        return None
    if not fields or not all(
        isinstance(k, str) and _TAG_NAME.fullmatch(k) and k.casefold() != tag.casefold()
        for k in fields
    ):
        return None
    return dict(fields)


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list, tuple)) or _fields(value) is not None:
        from pydantic_core import to_jsonable_python

        return json.dumps(to_jsonable_python(value), ensure_ascii=False)
    return str(value)


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib", delimit)

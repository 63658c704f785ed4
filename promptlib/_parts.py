"""The content parts of a message: text, images, documents, tool calls and tool results.

Parts are frozen, provider-neutral values; the adapters turn each into its provider's wire
form (and refuse, naming the part, what a provider cannot take). ``to_dict`` is their JSON
form inside a serialized :class:`~promptlib.Prompt`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, Literal

from typing_extensions import Self

from promptlib._errors import PromptFormatError
from promptlib._pickling import Picklable

__all__ = [
    "DocumentPart",
    "ImagePart",
    "NativePart",
    "Part",
    "TextPart",
    "ToolCall",
    "ToolResult",
]

_CALL_ID = re.compile(r"[A-Za-z0-9_.:-]{1,256}")
_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class TextPart:
    """A run of text inside a message."""

    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": "text", "text": self.text}


@dataclass(frozen=True)
class ImagePart:
    """An image inside a message, by URL or as base64 data with its media type.

    Build one with :meth:`from_url` or :meth:`from_bytes`.
    """

    url: str | None = None
    data: str | None = None
    media_type: str | None = None
    detail: Literal["auto", "low", "high"] | None = None

    def __post_init__(self) -> None:
        if (self.url is None) == (self.data is None):
            raise PromptFormatError("an ImagePart needs exactly one of url= or data= (base64)")
        if self.data is not None and not self.media_type:
            raise PromptFormatError(
                "an ImagePart with base64 data needs media_type=, e.g. 'image/png'"
            )

    @classmethod
    def from_url(cls, url: str, *, detail: Literal["auto", "low", "high"] | None = None) -> Self:
        """An image the provider fetches from ``url`` (``https:`` or a ``data:`` URL)."""
        return cls(url=url, detail=detail)

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        media_type: str,
        *,
        detail: Literal["auto", "low", "high"] | None = None,
    ) -> Self:
        """An image sent inline, base64-encoded."""
        import base64

        return cls(
            data=base64.b64encode(data).decode("ascii"), media_type=media_type, detail=detail
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "image"}
        for key in ("url", "data", "media_type", "detail"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True)
class DocumentPart:
    """A document the model reads: a PDF (or other file) inline, plain text, a URL, or a
    file already uploaded to the provider.

    Exactly one of ``data`` (base64, with ``media_type``), ``text``, ``url`` or
    ``file_id`` is set. Anthropic takes all four as ``document`` blocks; OpenAI's Chat
    Completions takes inline data and file ids as ``file`` parts (and needs ``filename``
    for inline data).

    Attributes:
        title: the document's title (Anthropic ``title``).
        filename: the file's name (OpenAI ``filename``).
    """

    data: str | None = None
    media_type: str | None = None
    text: str | None = None
    url: str | None = None
    file_id: str | None = None
    title: str | None = None
    filename: str | None = None

    def __post_init__(self) -> None:
        for key in ("data", "media_type", "text", "url", "file_id", "title", "filename"):
            value = getattr(self, key)
            if value is not None and not isinstance(value, str):
                raise PromptFormatError(f"DocumentPart {key}= is text, not {type(value).__name__}")
        given = [k for k in ("data", "text", "url", "file_id") if getattr(self, k) is not None]
        if len(given) != 1:
            raise PromptFormatError(
                "a DocumentPart needs exactly one of data= (base64), text=, url= or file_id=, "
                f"not {', '.join(given) or 'none'}"
            )
        if self.data is not None and not self.media_type:
            raise PromptFormatError(
                "a DocumentPart with base64 data needs media_type=, e.g. 'application/pdf'"
            )

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        media_type: str = "application/pdf",
        *,
        filename: str | None = None,
        title: str | None = None,
    ) -> Self:
        """A document sent inline, base64-encoded."""
        import base64

        encoded = base64.b64encode(data).decode("ascii")
        return cls(data=encoded, media_type=media_type, filename=filename, title=title)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "document"}
        for key in ("data", "media_type", "text", "url", "file_id", "title", "filename"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True)
class ToolCall(Picklable):
    """The model's request to call a tool, in an assistant message.

    Attributes:
        id: the provider's id for the call; a tool result answers it by this id.
        name: the tool's name.
        arguments: the arguments as the model wrote them (JSON text, kept verbatim).
    """

    id: str
    name: str
    arguments: str = "{}"
    # The tool's argument model, when the tool was declared with one (set on replies).
    model: type[Any] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        _check_call_id(self.id, "ToolCall")
        check_tool_name(self.name, f"ToolCall {self.id!r}")
        if not isinstance(self.arguments, str):
            raise PromptFormatError(
                f"ToolCall {self.id!r}: arguments= is the JSON text of the arguments "
                "(json.dumps(...)), not a Python object"
            )

    @cached_property
    def input(self) -> dict[str, Any]:
        """The arguments decoded from JSON.

        Raises:
            ToolArgumentsError: the arguments are not a JSON object.
        """
        from promptlib._errors import ToolArgumentsError

        try:
            value = json.loads(self.arguments) if self.arguments.strip() else {}
        except json.JSONDecodeError as exc:
            raise ToolArgumentsError(
                f"tool call {self.id!r} to {self.name!r}: the arguments are not JSON ({exc})",
                tool=self.name,
                text=self.arguments,
            ) from exc
        if not isinstance(value, dict):
            raise ToolArgumentsError(
                f"tool call {self.id!r} to {self.name!r}: the arguments must be a JSON object, "
                f"not {_json_kind(value)}",
                tool=self.name,
                text=self.arguments,
            )
        return value

    @property
    def args(self) -> Any:
        """The arguments validated into the tool's model (a ``dict`` for a tool declared
        by schema alone).

        Raises:
            ToolArgumentsError: the arguments are not JSON or do not validate, naming
                the field.
        """
        if self.model is None:
            return self.input
        from pydantic import ValidationError

        from promptlib._errors import ToolArgumentsError
        from promptlib._validation import summary

        try:
            return self.model.model_validate(self.input)
        except ValidationError as exc:
            raise ToolArgumentsError(
                f"tool call {self.id!r} to {self.name!r}: the arguments do not match "
                f"{self.model.__name__}: {summary(exc)}",
                tool=self.name,
                text=self.arguments,
            ) from exc

    def to_dict(self) -> dict[str, Any]:
        return {"type": "tool_call", "id": self.id, "name": self.name, "arguments": self.arguments}


ResultContent = TextPart | ImagePart | DocumentPart


@dataclass(frozen=True)
class ToolResult:
    """What a tool returned, answering the call with id ``call_id``; it goes in a
    ``tool`` message.

    Attributes:
        content: the result: a string, or text, image and document parts.
        is_error: the tool failed (Anthropic ``is_error``; OpenAI has no flag, so the
            text should say so). ``None`` sends no flag.
    """

    call_id: str
    content: tuple[ResultContent | NativePart, ...]
    is_error: bool | None = None

    def __init__(
        self,
        call_id: str,
        content: str | ResultContent | NativePart | tuple[ResultContent | NativePart, ...],
        is_error: bool | None = None,
    ) -> None:
        _check_call_id(call_id, "ToolResult")
        if isinstance(content, str):
            content = (TextPart(content),)
        elif not isinstance(content, tuple):
            content = (content,)
        for part in content:
            if not isinstance(part, (TextPart, ImagePart, DocumentPart, NativePart)):
                raise PromptFormatError(
                    f"ToolResult {call_id!r}: content holds text, image and document parts, "
                    f"not {type(part).__name__}; turn the value into text (e.g. json.dumps)"
                )
        if is_error is not None and not isinstance(is_error, bool):
            raise PromptFormatError(f"ToolResult {call_id!r}: is_error= is True, False or None")
        object.__setattr__(self, "call_id", call_id)
        object.__setattr__(self, "content", content)
        object.__setattr__(self, "is_error", is_error)

    @classmethod
    def of(cls, call_id: str, value: Any) -> ToolResult:
        """The result ``value`` of call ``call_id``: a string as it is, a pydantic model
        or JSON value as JSON text, a ``ToolResult`` (for that call) unchanged.

        Raises:
            PromptFormatError: the value is not JSON, or answers another call.
        """
        if isinstance(value, ToolResult):
            if value.call_id != call_id:
                raise PromptFormatError(
                    f"a ToolResult for {value.call_id!r} was given for call {call_id!r}"
                )
            return value
        if isinstance(value, str):
            return cls(call_id, value)
        dump = getattr(value, "model_dump_json", None)
        if callable(dump):
            return cls(call_id, str(dump()))
        try:
            return cls(call_id, json.dumps(value, ensure_ascii=False, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise PromptFormatError(
                f"the result for call {call_id!r} is a {type(value).__name__}, which is not "
                "JSON; pass a string or a ToolResult"
            ) from exc

    @property
    def text(self) -> str:
        """The result's text parts, joined by blank lines."""
        return "\n\n".join(p.text for p in self.content if isinstance(p, TextPart))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "tool_result",
            "call_id": self.call_id,
            "content": [p.to_dict() for p in self.content],
        }
        if self.is_error is not None:
            out["is_error"] = self.is_error
        return out


@dataclass(frozen=True)
class NativePart(Picklable):
    """A content block in one provider's own wire form, sent to that provider verbatim:
    Anthropic ``thinking`` blocks, server-tool calls and their results, OpenAI audio.

    Other providers refuse a prompt that holds one, naming it. Token counts of such a
    prompt are estimates.
    """

    provider: Literal["openai", "anthropic"]
    block: Mapping[str, Any]

    def __post_init__(self) -> None:
        if self.provider not in ("openai", "anthropic"):
            raise PromptFormatError(
                f"NativePart provider {self.provider!r}: use 'openai' or 'anthropic'"
            )
        if not isinstance(self.block, Mapping) or not isinstance(self.block.get("type"), str):
            raise PromptFormatError(
                "a NativePart's block is the provider's JSON object, with its 'type'"
            )
        check_json(self.block, "a NativePart's block")
        object.__setattr__(self, "block", MappingProxyType(dict(self.block)))

    @property
    def type(self) -> str:
        return str(self.block["type"])

    def to_dict(self) -> dict[str, Any]:
        return {"type": "native", "provider": self.provider, "block": dict(self.block)}


Part = TextPart | ImagePart | DocumentPart | ToolCall | ToolResult | NativePart


def _check_call_id(value: object, what: str) -> None:
    if not isinstance(value, str) or not _CALL_ID.fullmatch(value):
        raise PromptFormatError(
            f"{what} id {value!r}: use the provider's call id (1 to 256 letters, digits, "
            "'_', '-', '.', ':')"
        )


def check_tool_name(name: object, where: str) -> str:
    """``name`` if it is a usable tool name (both providers' rule), else a clear error."""
    if not isinstance(name, str) or not _TOOL_NAME.fullmatch(name):
        raise PromptFormatError(
            f"{where}: tool name {name!r}: use 1 to 64 letters, digits, '_' or '-', "
            "e.g. 'get_weather'"
        )
    return name


def refused_part(part: object, provider: str) -> str:
    """Why ``provider`` cannot take ``part``, and what to do instead."""
    if isinstance(part, NativePart):
        return (
            f"an {part.provider} {part.type!r} block cannot be sent to {provider}; "
            f"keep provider-native parts for {part.provider}"
        )
    return f"{provider} cannot take a {type(part).__name__} here"


def _json_kind(value: object) -> str:
    kinds = {list: "an array", str: "a string", bool: "a boolean", int: "a number"}
    kinds[float] = "a number"
    return "null" if value is None else kinds.get(type(value), type(value).__name__)


def check_json(value: object, what: str) -> None:
    """``value`` must be JSON (strings as keys, no NaN, bounded nesting) to be hashed,
    serialized and sent."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise PromptFormatError(f"{what} is not JSON ({type(exc).__name__}: {exc})") from None


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib", DocumentPart, ImagePart, NativePart, TextPart, ToolCall, ToolResult)

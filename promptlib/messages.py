"""The provider-neutral prompt: messages, content parts and the :class:`Prompt` value.

Everything upstream (templates, files) produces a :class:`Prompt`; everything downstream
(token counting, providers, mocks, snapshots) consumes one. It is frozen, and it
serializes to JSON and back without loss (:meth:`Prompt.to_json`, :meth:`Prompt.from_json`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, NamedTuple, cast

from typing_extensions import Self, TypeVar

from promptlib._hashing import canonical_json
from promptlib.errors import PromptFormatError
from promptlib.output import OutputSpec, Reasoned, ReasoningSpec, parse_json_answer

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = [
    "ImagePart",
    "Message",
    "Part",
    "Prompt",
    "PromptMeta",
    "Role",
    "Section",
    "TextPart",
]

Role = Literal["system", "user", "assistant"]
ROLES: frozenset[str] = frozenset(("system", "user", "assistant"))
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
FORMAT = "promptlib.prompt/1"

OutputT = TypeVar("OutputT", default=str)

_EMPTY: Mapping[str, Any] = MappingProxyType({})


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


Part = TextPart | ImagePart


@dataclass(frozen=True)
class Message:
    """One message of a conversation: a role and its content parts, in order.

    ``name`` tells apart participants who share a role (OpenAI's ``name``: letters,
    digits, ``_`` and ``-``, at most 64); providers without names refuse a prompt that
    uses one rather than drop it.
    """

    role: Role
    content: tuple[Part, ...]
    name: str | None = None

    def __post_init__(self) -> None:
        if self.name is not None and not (
            isinstance(self.name, str) and _NAME.fullmatch(self.name)
        ):
            raise PromptFormatError(
                f"message name {self.name!r}: use 1 to 64 letters, digits, '_' or '-' "
                "(as OpenAI's API requires), e.g. 'example_user'"
            )

    @classmethod
    def system(cls, text: str, *, name: str | None = None) -> Self:
        return cls("system", (TextPart(text),), name)

    @classmethod
    def user(cls, text: str, *images: ImagePart, name: str | None = None) -> Self:
        return cls("user", (TextPart(text), *images), name)

    @classmethod
    def assistant(cls, text: str, *, name: str | None = None) -> Self:
        return cls("assistant", (TextPart(text),), name)

    @property
    def text(self) -> str:
        """The message's text parts, joined by blank lines (images left out)."""
        texts = [p.text for p in self.content if isinstance(p, TextPart)]
        return texts[0] if len(texts) == 1 else "\n\n".join(texts)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"role": self.role, "content": [p.to_dict() for p in self.content]}
        if self.name is not None:  # absent otherwise: hashes of unnamed messages stay as they were
            data["name"] = self.name
        return data

    @cached_property
    def _json(self) -> str:
        """Canonical JSON of ``to_dict()``, made once: a template's fixed messages (system,
        examples) are the same objects in every prompt it renders."""
        return canonical_json(self.to_dict())


class Section(NamedTuple):
    """Where one block's text landed in the rendered prompt.

    ``messages[message].content[part].text[start:end]`` is the text the block produced.
    Token counting uses sections to report where tokens go; budgets use them to find
    what can be dropped or truncated.

    Attributes:
        kind: the block kind: ``system``, ``examples``, ``reasoning``, ``context``,
            ``output``, ``user`` or ``assistant``.
        label: a name for the block inside its kind (e.g. the context tag), or ``""``.
        priority: for few-shot examples, the example's priority: when a prompt must be
            shortened, lower priorities are dropped first.
    """

    kind: str
    label: str
    message: int
    part: int
    start: int
    end: int
    priority: int = 0

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


@dataclass(frozen=True)
class PromptMeta:
    """Where a prompt came from.

    Attributes:
        template: the template's name (``None`` for a hand-built prompt).
        version: the template's version.
        template_hash: ``sha256:…`` of the template definition (text, blocks, examples,
            schemas, default model and parameters), stable across processes.
        source: the template file, for templates loaded from files.
        inputs: the validated inputs, as JSON values.
    """

    template: str | None = None
    version: str | None = None
    template_hash: str | None = None
    source: str | None = None
    inputs: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    def to_dict(self) -> dict[str, Any]:
        return {
            "template": self.template,
            "version": self.version,
            "template_hash": self.template_hash,
            "source": self.source,
            "inputs": dict(self.inputs),
        }


@dataclass(frozen=True)
class Prompt(Generic[OutputT]):
    """A rendered prompt: ordered messages plus what is needed to send and parse it.

    Attributes:
        messages: the conversation, in order.
        output: the JSON schema the answer must match, if any.
        reasoning: how a chain-of-thought reply marks its final answer, if it should.
        model: the default model, if the template set one.
        params: default generation parameters (temperature, max_tokens, …).
        meta: template name, version, hashes, source file and inputs.
        sections: where each block's text is, for breakdowns and budgets.
        output_model: the pydantic model answers parse into. It is a Python class, so it
            is not serialized; :meth:`from_json` takes it back as ``output=``.
    """

    messages: tuple[Message, ...]
    output: OutputSpec | None = None
    reasoning: ReasoningSpec | None = None
    model: str | None = None
    params: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    meta: PromptMeta = field(default_factory=PromptMeta)
    sections: tuple[Section, ...] = ()
    output_model: type[Any] | None = field(default=None, compare=False, repr=False)

    __hash__: ClassVar[None] = None  # type: ignore[assignment]  # holds mappings: use .hash

    @cached_property
    def hash(self) -> str:
        """``sha256:…`` of what is sent: messages, output schema, reasoning, model, params.

        Two prompts with the same hash make the same request, whatever template made them.
        """
        # The canonical JSON of _content(), assembled from parts made once per message and
        # output schema (keys in sorted order, as canonical_json writes them).
        output = self.output._json if self.output else "null"
        reasoning = canonical_json(self.reasoning.to_dict()) if self.reasoning else "null"
        text = (
            f'{{"messages":[{",".join(m._json for m in self.messages)}],'
            f'"model":{canonical_json(self.model)},"output":{output},'
            f'"params":{canonical_json(dict(self.params))},"reasoning":{reasoning}}}'
        )
        return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _content(self) -> dict[str, Any]:
        return {
            "messages": [m.to_dict() for m in self.messages],
            "output": self.output.to_dict() if self.output else None,
            "reasoning": self.reasoning.to_dict() if self.reasoning else None,
            "model": self.model,
            "params": dict(self.params),
        }

    @property
    def system(self) -> str:
        """The text of the system messages, joined by blank lines."""
        return "\n\n".join(m.text for m in self.messages if m.role == "system")

    def parse(self, text: str) -> OutputT:
        """Turn a model's reply into this prompt's output type.

        With chain-of-thought, only the final answer is parsed (see :meth:`split_reasoning`).
        With an output schema, the answer is decoded as JSON and validated into the output
        model (or returned as a ``dict`` for a raw schema). Otherwise the answer text is
        returned.

        Raises:
            OutputParseError: no final answer, invalid JSON, or the schema does not validate.
        """
        answer = self.reasoning.split(text).answer if self.reasoning else text
        if self.output is None:
            return cast(OutputT, answer)
        return cast(
            OutputT, parse_json_answer(answer, self.output, self.output_model, whole_reply=text)
        )

    def split_reasoning(self, text: str) -> Reasoned:
        """Split a chain-of-thought reply into its reasoning and its final answer."""
        spec = self.reasoning or ReasoningSpec()
        return spec.split(text)

    def format(self) -> str:
        """A readable rendering for people: each message under a ``[role]`` header."""
        blocks = []
        for message in self.messages:
            body = "\n\n".join(_describe_part(p) for p in message.content)
            who = message.role if message.name is None else f"{message.role} {message.name}"
            blocks.append(f"[{who}]\n{body}")
        return "\n\n".join(blocks)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` reads it back."""
        data = self._content()
        data["format"] = FORMAT
        data["meta"] = self.meta.to_dict()
        data["sections"] = [s.to_dict() for s in self.sections]
        data["hash"] = self.hash
        return data

    def to_json(self, *, indent: int | None = None) -> str:
        """Serialize to JSON; :meth:`from_json` reads it back to an equal Prompt."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes, *, output: type[Any] | None = None) -> Prompt[Any]:
        """Read a Prompt written by :meth:`to_json`.

        Args:
            text: the JSON document.
            output: the pydantic model to parse answers into; its schema must equal the
                serialized one.

        Raises:
            PromptFormatError: the JSON is malformed, incomplete, edited (hash mismatch), or
                ``output`` does not match the serialized schema.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PromptFormatError(f"a serialized Prompt must be JSON: {exc}") from exc
        return cls.from_dict(data, output=output)

    @classmethod
    def from_dict(cls, data: Any, *, output: type[Any] | None = None) -> Prompt[Any]:
        """Read a Prompt from the dict form made by :meth:`to_dict`."""
        from promptlib._prompt_codec import prompt_from_dict

        return prompt_from_dict(data, output)


def _describe_part(part: Part) -> str:
    if isinstance(part, TextPart):
        return part.text
    if part.url is not None:
        return f"[image: {part.url}]"
    return f"[image: {part.media_type}, {len(part.data or '')} base64 characters]"


def output_spec_for_model(model: type[BaseModel]) -> OutputSpec:
    """The :class:`OutputSpec` for a pydantic model."""
    return OutputSpec(name=model.__name__, schema=model.model_json_schema())

"""The building blocks of a template.

A template is an ordered list of blocks. Compose them as a list or with ``+``::

    System("You triage support tickets.") + ChainOfThought() + Context("ticket") + JsonOutput()

Adjacent blocks with the same role become one message (joined by a blank line); few-shot
turns are messages of their own. Blocks whose text reads no inputs are rendered once, when
the template is defined, and reused by every render.
"""

from __future__ import annotations

import inspect
import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Literal, overload

from promptlib._errors import TemplateError
from promptlib._hashing import canonical_json
from promptlib._messages import ImagePart, Role
from promptlib._output import ReasoningSpec
from promptlib._shown import short_repr
from promptlib._templates.delimiters import delimit, is_conversation, validate_tag
from promptlib._templates.environment import Origin, compile_text
from promptlib._templates.segments import BuildContext, ImageSource, Segment

__all__ = [
    "Assistant",
    "Block",
    "Blocks",
    "ChainOfThought",
    "Context",
    "JsonOutput",
    "System",
    "User",
]


class Block(ABC):
    """A piece of a template. Combine blocks with ``+`` or put them in a list."""

    kind: ClassVar[str]
    # Set by the file loader: the file line just before the block's text starts.
    _line_offset: int = 0

    def __add__(self, other: Block | Iterable[Block]) -> Blocks:
        return Blocks([self]) + other

    def __radd__(self, other: Iterable[Block]) -> Blocks:
        return Blocks(other) + self

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Block) and type(other) is type(self) and self._spec() == other._spec()
        )

    def __hash__(self) -> int:
        return hash(canonical_json(self._spec()))

    @abstractmethod
    def _spec(self) -> dict[str, Any]:
        """A JSON description of the block, part of the template's content hash."""

    @abstractmethod
    def _segments(self, ctx: BuildContext, origin: Origin) -> list[Segment]:
        """Compile the block into message segments."""


class Blocks(Sequence[Block]):
    """An ordered, immutable sequence of blocks; ``+`` appends blocks or sequences."""

    __slots__ = ("_items",)

    def __init__(self, blocks: Iterable[Block | Iterable[Block]] = ()) -> None:
        items: list[Block] = []
        for block in blocks:
            if isinstance(block, Block):
                items.append(block)
            elif isinstance(block, Iterable) and not _is_text(block):
                items.extend(Blocks(block))
            else:
                raise TemplateError(
                    "a template is made of blocks (System, User, FewShot, …), got "
                    f"{short_repr(block)}. "
                    "Wrap plain text in User('…') or System('…')."
                )
        self._items = tuple(items)

    @overload
    def __getitem__(self, index: int) -> Block: ...
    @overload
    def __getitem__(self, index: slice) -> Blocks: ...
    def __getitem__(self, index: int | slice) -> Block | Blocks:
        if isinstance(index, slice):
            return Blocks(self._items[index])
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Block]:
        return iter(self._items)

    def __add__(self, other: Block | Iterable[Block]) -> Blocks:
        return Blocks([*self._items, other])

    def __radd__(self, other: Iterable[Block]) -> Blocks:
        return Blocks([other, *self._items])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Blocks) and self._items == other._items

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return f"Blocks({list(self._items)!r})"


def _is_text(value: object) -> bool:
    return isinstance(value, (str, bytes))


def _clean(text: str) -> str:
    return inspect.cleandoc(text) if "\n" in text else text.strip()


class _TextBlock(Block):
    role: ClassVar[Role]

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise TemplateError(
                f"{type(self).__name__}() takes template text, got {short_repr(text)}"
            )
        self.text: str = _clean(text)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.text!r})"

    def _spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text}

    def _segments(self, ctx: BuildContext, origin: Origin) -> list[Segment]:
        compiled = compile_text(
            self.text,
            origin,
            declared=ctx.inputs.fields,
            untrusted=ctx.inputs.untrusted,
            allow_untrusted=self.role != "system",
            env=ctx.env,
            includes=ctx.includes,
            limits=ctx.limits,
        )
        ctx.used.update(compiled.variables)
        text = compiled.render({}) if compiled.is_static else compiled.render
        return [Segment(self.role, self.kind, "", text, self._images(ctx, origin))]

    def _images(self, ctx: BuildContext, origin: Origin) -> tuple[ImageSource, ...]:
        return ()


class System(_TextBlock):
    """System instructions (Jinja text). Untrusted inputs are refused here."""

    role: ClassVar[Role] = "system"
    kind = "system"


class Assistant(_TextBlock):
    """An assistant turn (Jinja text): a canned reply, or the start of the answer (prefill)."""

    role: ClassVar[Role] = "assistant"
    kind = "assistant"


class User(_TextBlock):
    """A user turn: Jinja text, optionally followed by images.

    Args:
        text: the Jinja text.
        *images: an :class:`~promptlib.ImagePart`, or the name of an input field holding
            one (or an image URL string).
    """

    role: ClassVar[Role] = "user"
    kind = "user"

    def __init__(self, text: str = "", *images: str | ImagePart) -> None:
        super().__init__(text)
        for image in images:
            if not isinstance(image, (str, ImagePart)):
                raise TemplateError(
                    "User() images are ImagePart values or input field names, got "
                    f"{short_repr(image)}"
                )
        self.images = images

    def _spec(self) -> dict[str, Any]:
        images = [i if isinstance(i, str) else i.to_dict() for i in self.images]
        return {**super()._spec(), "images": images}

    def _images(self, ctx: BuildContext, origin: Origin) -> tuple[ImageSource, ...]:
        sources: list[ImageSource] = []
        for image in self.images:
            if isinstance(image, ImagePart):
                sources.append(image)
                continue
            _require_field(image, ctx, origin)
            ctx.used.add(image)
            sources.append(_image_from_field(image, origin))
        return tuple(sources)


def _image_from_field(name: str, origin: Origin) -> Any:
    def image(values: Mapping[str, Any]) -> ImagePart | None:
        value = values[name]
        if value is None or isinstance(value, ImagePart):
            return value
        if isinstance(value, str):
            return ImagePart.from_url(value)
        raise origin.error(
            f"input {name!r} is used as an image, so it must be an ImagePart or a URL string, "
            f"got {type(value).__name__}. Type the field as ImagePart or str."
        )

    return image


def _require_field(name: str, ctx: BuildContext, origin: Origin) -> None:
    if name not in ctx.inputs.fields:
        import difflib

        hint = difflib.get_close_matches(name, list(ctx.inputs.fields), n=1)
        fix = f"; did you mean {hint[0]!r}?" if hint else ""
        declared = ", ".join(sorted(ctx.inputs.fields)) or "none"
        raise origin.error(
            f"input {name!r} is not declared by the input model{fix} (declared: {declared})"
        )


class Context(Block):
    """Untrusted text from an input field, wrapped in delimiters it cannot close.

    Renders the field as ``<tag>…</tag>`` (one numbered block per item for a list), so a
    document or a customer's message cannot end its block early or pose as instructions.
    An empty or ``None`` value renders nothing.

    Args:
        field: the input field holding the text (typically typed :data:`~promptlib.Untrusted`).
        tag: the delimiter tag; defaults to the field name.
        note: a line placed before the block, e.g. telling the model the text is data.
        role: ``"user"`` (default) or ``"assistant"``; never ``"system"``.
    """

    kind = "context"

    def __init__(
        self,
        field: str,
        *,
        tag: str | None = None,
        note: str | None = None,
        role: Literal["user", "assistant"] = "user",
    ) -> None:
        self.field = field
        self.tag: str = validate_tag(tag or field)
        self.note: str | None = _clean(note) if note else None
        if role not in ("user", "assistant"):
            raise TemplateError(
                f"Context({field!r}) cannot be in the {role!r} role: untrusted text may not be "
                "part of system instructions. Use role='user'."
            )
        self.role: Role = role

    def __repr__(self) -> str:
        return f"Context({self.field!r}, tag={self.tag!r})"

    def _spec(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "field": self.field,
            "tag": self.tag,
            "note": self.note,
            "role": self.role,
        }

    def _segments(self, ctx: BuildContext, origin: Origin) -> list[Segment]:
        _require_field(self.field, ctx, origin)
        if is_conversation(ctx.inputs.model.model_fields[self.field].metadata):
            raise origin.error(
                f"Context({self.field!r}) would print a conversation's turns as text; place "
                f"them as messages of their own with History({self.field!r})"
            )
        ctx.used.add(self.field)
        field, tag, prefix = self.field, self.tag, f"{self.note}\n" if self.note else ""

        def render(values: Mapping[str, Any]) -> str:
            value = values[field]
            if value is None or value == "" or value == [] or value == ():
                return ""
            return prefix + delimit(value, tag)

        return [Segment(self.role, self.kind, tag, render)]


class ChainOfThought(Block):
    """Ask the model to reason step by step, then give a clearly marked final answer.

    The rendered prompt carries a :class:`~promptlib.ReasoningSpec`, so
    ``prompt.parse(reply)`` returns only the final answer (parsed into the output model
    if the template has one) and ``prompt.split_reasoning(reply)`` gives both parts.

    Args:
        instruction: replaces the default instruction text.
        style: ``"tags"`` (reasoning in ``<thinking>``, answer in ``<answer>``) or
            ``"prefix"`` (the answer follows a line starting with ``answer_prefix``).
        role: where the instruction goes; ``"system"`` by default.
    """

    kind = "reasoning"

    def __init__(
        self,
        instruction: str | None = None,
        *,
        style: Literal["tags", "prefix"] = "tags",
        reasoning_tag: str = "thinking",
        answer_tag: str = "answer",
        answer_prefix: str = "Final answer:",
        role: Role = "system",
    ) -> None:
        if style not in ("tags", "prefix"):
            raise TemplateError(
                f"ChainOfThought(style={short_repr(style)}): use 'tags' or 'prefix'"
            )
        self.spec: ReasoningSpec = ReasoningSpec(
            style=style,
            reasoning_tag=validate_tag(reasoning_tag),
            answer_tag=validate_tag(answer_tag),
            answer_prefix=answer_prefix.strip() or "Final answer:",
        )
        self.instruction: str | None = _clean(instruction) if instruction else None
        self.role: Role = role

    def __repr__(self) -> str:
        return f"ChainOfThought(style={self.spec.style!r})"

    def default_instruction(self) -> str:
        spec = self.spec
        if spec.style == "tags":
            return (
                "Think through the problem step by step before answering. Write your reasoning "
                f"inside <{spec.reasoning_tag}></{spec.reasoning_tag}> tags, then give only the "
                f"final answer inside <{spec.answer_tag}></{spec.answer_tag}> tags."
            )
        return (
            "Think through the problem step by step before answering. Then write the final "
            f"answer on a last line that starts with {spec.answer_prefix!r}."
        )

    def _spec(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "reasoning": self.spec.to_dict(),
            "instruction": self.instruction,
            "role": self.role,
        }

    def _segments(self, ctx: BuildContext, origin: Origin) -> list[Segment]:
        text = self.instruction or self.default_instruction()
        return [Segment(self.role, self.kind, "", text)]


class JsonOutput(Block):
    """Tell the model the exact JSON schema its answer must match.

    The schema is the template's ``output=`` (a pydantic model or a raw JSON schema); the
    rendered prompt also carries it as ``prompt.output`` so adapters can use the
    provider's native structured output.

    Args:
        instruction: replaces the sentence before the schema.
        indent: indentation of the schema JSON; ``None`` (default) is compact.
        role: where the instruction goes; ``"system"`` by default.
    """

    kind = "output"

    def __init__(
        self, instruction: str | None = None, *, indent: int | None = None, role: Role = "system"
    ) -> None:
        self.instruction: str | None = _clean(instruction) if instruction else None
        self.indent = indent
        self.role: Role = role

    def __repr__(self) -> str:
        return "JsonOutput()"

    def _spec(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "instruction": self.instruction,
            "indent": self.indent,
            "role": self.role,
        }

    def _segments(self, ctx: BuildContext, origin: Origin) -> list[Segment]:
        if ctx.output is None:
            raise origin.error(
                "JsonOutput needs a schema: pass output= to the Template (a pydantic model "
                "class or a JSON schema dict)"
            )
        if self.instruction:
            lead = self.instruction
        elif ctx.reasoning is not None:
            lead = "Your final answer must be a JSON object that matches this JSON schema:"
        else:
            lead = (
                "Respond with only a JSON object that matches this JSON schema, with no other "
                "text before or after it:"
            )
        separators = (",", ":") if self.indent is None else None
        schema = json.dumps(
            ctx.output.schema, ensure_ascii=False, indent=self.indent, separators=separators
        )
        return [Segment(self.role, self.kind, ctx.output.name, f"{lead}\n{schema}")]


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib", Assistant, Block, Blocks, ChainOfThought, Context, JsonOutput, System, User)

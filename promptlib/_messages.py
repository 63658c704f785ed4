"""The provider-neutral prompt: messages, content parts and the :class:`Prompt` value.

Everything upstream (templates, files) produces a :class:`Prompt`; everything downstream
(token counting, providers, mocks, snapshots) consumes one. It is frozen, and it
serializes to JSON and back without loss (:meth:`Prompt.to_json`, :meth:`Prompt.from_json`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, NamedTuple, cast

from typing_extensions import Self, TypeVar

from promptlib._errors import PromptFormatError
from promptlib._hashing import canonical_json
from promptlib._output import OutputSpec, Reasoned, ReasoningSpec, parse_json_answer
from promptlib._parts import (
    DocumentPart,
    ImagePart,
    NativePart,
    Part,
    TextPart,
    ToolCall,
    ToolResult,
)
from promptlib._pickling import Picklable
from promptlib._pydantic_fields import json_form
from promptlib._tools import NativeTool, Tool, check_tool_choice

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = [
    "DocumentPart",
    "ImagePart",
    "Message",
    "NativePart",
    "Part",
    "Prompt",
    "PromptMeta",
    "Role",
    "Section",
    "TextPart",
    "ToolCall",
    "ToolResult",
]

Role = Literal["system", "user", "assistant", "tool"]
ROLES: frozenset[str] = frozenset(("system", "user", "assistant", "tool"))
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
FORMAT = "promptlib.prompt/1"

OutputT = TypeVar("OutputT", default=str)

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@json_form(
    "a message: role, content parts and name, as Message.to_dict() writes it",
    lambda m: m.to_dict(),
    lambda d: _from_codec("message_from_dict")(d),
)
@dataclass(frozen=True)
class Message:
    """One message of a conversation: a role and its content parts, in order.

    ``name`` tells apart participants who share a role (OpenAI's ``name``: letters,
    digits, ``_`` and ``-``, at most 64); providers without names refuse a prompt that
    uses one rather than drop it.

    Assistant messages may hold :class:`ToolCall` parts; ``tool`` messages hold the
    :class:`ToolResult` parts that answer them, and nothing else.
    """

    role: Role
    content: tuple[Part, ...]
    name: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise PromptFormatError(
                f"message role {self.role!r}: use 'system', 'user', 'assistant' or 'tool'"
            )
        if self.name is not None and self.role == "tool":
            raise PromptFormatError(
                "a tool message has no name (its results name their calls by call_id)"
            )
        if self.name is not None and not (
            isinstance(self.name, str) and _NAME.fullmatch(self.name)
        ):
            raise PromptFormatError(
                f"message name {self.name!r}: use 1 to 64 letters, digits, '_' or '-' "
                "(as OpenAI's API requires), e.g. 'example_user'"
            )
        for part in self.content:
            if type(part) is TextPart and self.role != "tool":
                continue  # the common case, checked without a call
            problem = _misplaced(self.role, part)
            if problem:
                article = "an" if self.role == "assistant" else "a"
                raise PromptFormatError(f"{article} {self.role} message {problem}")
        if self.role == "assistant" and len(self.content) > 1:
            ids = [p.id for p in self.content if isinstance(p, ToolCall)]
            if len(set(ids)) != len(ids):
                raise PromptFormatError(
                    f"an assistant message calls tools with repeated ids {ids}: each call "
                    "needs its own id"
                )

    @classmethod
    def system(cls, text: str, *, name: str | None = None) -> Self:
        return cls("system", (TextPart(text),), name)

    @classmethod
    def user(
        cls, text: str, *attachments: ImagePart | DocumentPart, name: str | None = None
    ) -> Self:
        """A user message: its text, then images and documents."""
        return cls("user", (TextPart(text), *attachments), name)

    @classmethod
    def assistant(
        cls, text: str = "", *, tool_calls: tuple[ToolCall, ...] = (), name: str | None = None
    ) -> Self:
        """An assistant turn: its text (may be empty when it only calls tools), then the
        tool calls it made."""
        parts: tuple[Part, ...] = (TextPart(text),) if text or not tool_calls else ()
        return cls("assistant", (*parts, *tool_calls), name)

    @classmethod
    def tool(cls, *results: ToolResult) -> Self:
        """The results of tool calls, answering an assistant turn's calls."""
        if not results:
            raise PromptFormatError("Message.tool(...) needs at least one ToolResult")
        return cls("tool", results)

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        """The tool calls of an assistant message."""
        return tuple(p for p in self.content if isinstance(p, ToolCall))

    @property
    def text(self) -> str:
        """The message's text parts, joined by blank lines (other parts left out)."""
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


def _misplaced(role: str, part: object) -> str | None:
    if not isinstance(part, (TextPart, ImagePart, DocumentPart, ToolCall, ToolResult, NativePart)):
        return f"holds {type(part).__name__}; content is a tuple of parts (TextPart, ...)"
    if role == "tool":
        if not isinstance(part, ToolResult):
            return f"holds only ToolResult parts, not {type(part).__name__}"
    elif isinstance(part, ToolResult):
        return "cannot hold a ToolResult: put it in a tool message (Message.tool(...))"
    elif isinstance(part, ToolCall) and role != "assistant":
        return "cannot hold a ToolCall: only assistant messages call tools"
    elif role == "assistant" and isinstance(part, (ImagePart, DocumentPart)):
        return f"cannot hold a {type(part).__name__}: images and documents go in user messages"
    return None


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

    @classmethod
    def of_turn(cls, label: str, message: Message, index: int, group: int) -> Section:
        """The section of a history turn: its first text part (empty for a turn with
        tool calls only), its priority the turn's group."""
        head = message.content[0] if message.content else None
        end = len(head.text) if isinstance(head, TextPart) else 0
        return cls("history", label, index, 0, 0, end, group)


@dataclass(frozen=True)
class PromptMeta(Picklable):
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


@json_form(
    "a promptlib Prompt, as Prompt.to_dict() writes it",
    lambda p: p.to_dict(),
    lambda d: Prompt.from_dict(d),
)
@dataclass(frozen=True)
class Prompt(Picklable, Generic[OutputT]):
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
        tools: the tools the model may call (:class:`Tool`, or a provider's
            :class:`NativeTool`).
        tool_choice: ``"auto"``, ``"none"``, ``"required"`` or a tool's name; ``None``
            leaves it to the provider (auto when there are tools).
        parallel_tool_calls: allow several tool calls in one turn (``None``: the
            provider's default).
    """

    messages: tuple[Message, ...]
    output: OutputSpec | None = None
    reasoning: ReasoningSpec | None = None
    model: str | None = None
    params: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    meta: PromptMeta = field(default_factory=PromptMeta)
    sections: tuple[Section, ...] = ()
    output_model: type[Any] | None = field(default=None, compare=False, repr=False)
    tools: tuple[Tool | NativeTool, ...] = ()
    tool_choice: str | None = None
    parallel_tool_calls: bool | None = None

    __hash__: ClassVar[None] = None  # type: ignore[assignment]  # holds mappings: use .hash

    def __post_init__(self) -> None:
        if type(self.messages) is not tuple or not _MESSAGE_ONLY.issuperset(
            map(type, self.messages)
        ):
            _check_messages(self.messages)
        if (
            type(self.tools) is not tuple
            or self.tools
            or self.tool_choice is not None
            or self.parallel_tool_calls is not None
        ):
            _check_tools(self)

    @cached_property
    def hash(self) -> str:
        """``sha256:…`` of what is sent: messages, output schema, reasoning, model, params.

        Two prompts with the same hash make the same request, whatever template made them.
        """
        if self.tools or self.tool_choice is not None or self.parallel_tool_calls is not None:
            text = canonical_json(self._content())
            return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
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
        content: dict[str, Any] = {
            "messages": [m.to_dict() for m in self.messages],
            "output": self.output.to_dict() if self.output else None,
            "reasoning": self.reasoning.to_dict() if self.reasoning else None,
            "model": self.model,
            "params": dict(self.params),
        }
        # Present only when used: prompts without tools keep the hashes they always had.
        if self.tools:
            content["tools"] = [t.to_dict() for t in self.tools]
        if self.tool_choice is not None:
            content["tool_choice"] = self.tool_choice
        if self.parallel_tool_calls is not None:
            content["parallel_tool_calls"] = self.parallel_tool_calls
        return content

    def tool(self, name: str) -> Tool | NativeTool:
        """The prompt's tool called ``name``.

        Raises:
            KeyError: no tool has that name.
        """
        for tool in self.tools:
            if tool.name == name:
                return tool
        raise KeyError(name)

    def with_tool_results(
        self, reply: Any, results: Mapping[str, Any] | Sequence[Any]
    ) -> Prompt[OutputT]:
        """This prompt continued by one round of tool use: the reply's assistant turn (its
        text and tool calls), then a ``tool`` message answering each call.

        Args:
            reply: the :class:`~promptlib.Completion` (or assistant :class:`Message`)
                that called the tools.
            results: each call's result, by call id or in the order of the calls: a
                string, a :class:`ToolResult`, a pydantic model or a JSON value (sent as
                JSON text).

        Raises:
            PromptFormatError: the reply made no tool calls, or a call has no result.
        """
        turn = reply if isinstance(reply, Message) else getattr(reply, "message", None)
        if not isinstance(turn, Message) or turn.role != "assistant":
            raise PromptFormatError(
                "with_tool_results: reply= is the Completion (or assistant Message) that "
                f"called the tools, not {type(reply).__name__}"
            )
        calls = turn.tool_calls
        answered = {
            p.call_id
            for m in self.messages
            if m.role == "tool"
            for p in m.content
            if isinstance(p, ToolResult)
        }
        if any(c.id in answered for c in calls):
            raise PromptFormatError(
                "with_tool_results: this prompt already answers these calls; continue from "
                "the prompt the new reply answered"
            )
        if not calls:
            raise PromptFormatError(
                "with_tool_results: the reply made no tool calls; check "
                "completion.tool_calls before sending results"
            )
        if isinstance(results, (str, bytes)) or not isinstance(results, (Mapping, Sequence)):
            raise PromptFormatError(
                "with_tool_results: results are one per call (a list, in the order of the "
                f"calls, or a mapping by call id), not {type(results).__name__}"
            )
        if isinstance(results, Mapping):
            missing = [c.id for c in calls if c.id not in results]
            unknown = sorted(set(results) - {c.id for c in calls})
            if missing or unknown:
                raise PromptFormatError(
                    f"with_tool_results: results must answer exactly the calls "
                    f"{[c.id for c in calls]}; missing {missing}, unknown {unknown}"
                )
            values = [results[c.id] for c in calls]
        else:
            values = list(results)
            if len(values) != len(calls):
                raise PromptFormatError(
                    f"with_tool_results: {len(calls)} tool calls, {len(values)} results; give "
                    "one result per call, in order, or a mapping by call id"
                )
        answers = tuple(
            ToolResult.of(call.id, value) for call, value in zip(calls, values, strict=True)
        )
        return replace(self, messages=(*self.messages, turn, Message.tool(*answers)))

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
        if self.tools:
            choice = f" (choice: {self.tool_choice})" if self.tool_choice else ""
            blocks.append(f"[tools{choice}]\n" + ", ".join(t.name for t in self.tools))
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
        except RecursionError:
            raise PromptFormatError("a serialized Prompt nests too deeply to be one") from None
        return cls.from_dict(data, output=output)

    @classmethod
    def from_dict(cls, data: Any, *, output: type[Any] | None = None) -> Prompt[Any]:
        """Read a Prompt from the dict form made by :meth:`to_dict`."""
        from promptlib._prompt_codec import prompt_from_dict

        return prompt_from_dict(data, output)


def _describe_part(part: Part) -> str:
    if isinstance(part, TextPart):
        return part.text
    if isinstance(part, ImagePart):
        if part.url is not None:
            return f"[image: {part.url}]"
        return f"[image: {part.media_type}, {len(part.data or '')} base64 characters]"
    if isinstance(part, DocumentPart):
        what = part.title or part.filename or part.url or part.file_id or part.media_type
        return f"[document: {what}]" if part.text is None else f"[document]\n{part.text}"
    if isinstance(part, ToolCall):
        return f"[tool call {part.id}: {part.name}({part.arguments})]"
    if isinstance(part, ToolResult):
        flag = " (error)" if part.is_error else ""
        body = "\n\n".join(_describe_part(p) for p in part.content)
        return f"[tool result {part.call_id}{flag}]\n{body}"
    return f"[{part.provider} {part.type}]"


_MESSAGE_ONLY = frozenset((Message,))


def _check_messages(messages: object) -> None:
    if not isinstance(messages, tuple):
        raise PromptFormatError(
            f"messages= is a tuple of Message values, not {type(messages).__name__}"
        )
    for index, message in enumerate(messages):
        if not isinstance(message, Message):
            raise PromptFormatError(
                f"messages[{index}] is a {type(message).__name__}, not a Message: use "
                "Message.user(...), Message.system(...) or Message(role, parts)"
            )


def tool_pairing_problem(
    messages: Sequence[Message], noun: str = "message", first: int = 0
) -> str | None:
    """Why ``messages`` would be refused for their tool calls and results, or ``None``:
    every call must be answered by a result before the next turn, and every result must
    answer a call of the assistant turn before it. Turns are numbered from ``first``."""
    open_calls: dict[str, int] = {}  # unanswered call id -> the turn that made it
    previous = None
    for index, message in enumerate(messages, start=first):
        # Consecutive assistant messages are one turn (Anthropic merges them): its calls
        # may be spread over them.
        same_turn = message.role == "assistant" and previous == "assistant"
        previous = message.role
        if message.role == "tool":
            for result in message.content:
                assert isinstance(result, ToolResult)
                if open_calls.pop(result.call_id, None) is None:
                    return (
                        f"{noun} {index}: a result for call {result.call_id!r}, which no "
                        "earlier assistant turn made (or another result answered)"
                    )
        elif open_calls and not same_turn:
            return (
                f"{noun} {index}: tool call(s) {sorted(open_calls)} of {noun} "
                f"{min(open_calls.values())} have no result before it; providers refuse an "
                "unanswered call: add a tool turn with each result"
            )
        if message.role == "assistant":
            # (A later round may reuse an id: recorded requests that Anthropic answered do.)
            open_calls.update(dict.fromkeys((c.id for c in message.tool_calls), index))
    if open_calls:
        return (
            f"the conversation ends with tool call(s) {sorted(open_calls)} unanswered; send "
            "their results as tool turns (or use Prompt.with_tool_results)"
        )
    return None


def _check_tools(prompt: Prompt[Any]) -> None:
    if not isinstance(prompt.tools, tuple):
        raise PromptFormatError(
            f"tools= is a tuple of tools, not {type(prompt.tools).__name__}: tools=(tool,)"
        )
    if prompt.parallel_tool_calls is not None and not prompt.tools:
        raise PromptFormatError(
            "parallel_tool_calls without tools: add tools=, or leave parallel_tool_calls unset"
        )
    seen: set[str] = set()
    for tool in prompt.tools:
        if not isinstance(tool, (Tool, NativeTool)):
            raise PromptFormatError(
                f"Prompt tools hold Tool or NativeTool values, not {type(tool).__name__}; "
                "use Tool.from_model(...), Tool.from_function(...) or Tool(name=..., ...)"
            )
        if tool.name in seen:
            raise PromptFormatError(f"two tools are named {tool.name!r}; tool names are unique")
        seen.add(tool.name)
    check_tool_choice(prompt.tool_choice, prompt.tools)
    if prompt.parallel_tool_calls is not None and not isinstance(prompt.parallel_tool_calls, bool):
        raise PromptFormatError("parallel_tool_calls must be True, False or None")


def output_spec_for_model(model: type[BaseModel]) -> OutputSpec:
    """The :class:`OutputSpec` for a pydantic model."""
    return OutputSpec(name=model.__name__, schema=model.model_json_schema())


def _from_codec(reader: str, **options: Any) -> Callable[[Any], Any]:
    """A reader of the JSON form, from the codec (loaded when first used)."""

    def read(data: Any) -> Any:
        from promptlib import _prompt_codec

        return getattr(_prompt_codec, reader)(data, **options)

    return read


# Parts and tools get their pydantic hooks here, beside the codec that reads them back.
json_form(
    "a tool call: id, name and arguments (JSON text)",
    ToolCall.to_dict,
    _from_codec("tool_call_from_dict"),
)(ToolCall)
json_form(
    "a tool: name, description and parameters (a JSON schema)",
    Tool.to_dict,
    _from_codec("tool_from_dict", native=False),
)(Tool)
json_form(
    "a provider's own tool definition",
    NativeTool.to_dict,
    _from_codec("tool_from_dict", native=True),
)(NativeTool)


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib", Message, Prompt, PromptMeta, Section)

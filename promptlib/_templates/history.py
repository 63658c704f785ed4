"""Conversation history: an input holding prior turns, rendered as real messages.

Declare the input as :data:`Conversation` and place it with a :class:`History` block::

    class Chat(BaseModel):
        history: Conversation
        question: str

    chat = Template([System("Be brief."), History("history"), User("{{ question }}")],
                    name="chat", inputs=Chat)

Each turn becomes a message of its own (user, assistant with its tool calls, tool results),
never text pasted into another message. Turns are given as :class:`~promptlib.Message`
values or as JSON (``{"role": "user", "content": "Hi"}``; see :func:`turn_from_data`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

from promptlib._errors import PromptFormatError, TemplateError
from promptlib._messages import Message, tool_pairing_problem
from promptlib._parts import (
    DocumentPart,
    NativePart,
    TextPart,
    ToolCall,
    ToolResult,
    check_tool_name,
)
from promptlib._templates.blocks import Block, _require_field
from promptlib._templates.delimiters import CONVERSATION, UNTRUSTED, is_conversation
from promptlib._templates.inputs import _input_error
from promptlib._templates.segments import Segment

if TYPE_CHECKING:
    from promptlib._templates.environment import Origin
    from promptlib._templates.segments import BuildContext

__all__ = ["Conversation", "History", "turn_from_data", "turns_from_data"]

_ROLES = ("user", "assistant", "tool")


def turn_from_data(data: Any) -> Message:
    """One turn of a conversation from a :class:`Message` or its JSON.

    Accepted JSON (text, images, tool calls and results only: documents and
    provider-native blocks come from ``Message`` values built in your code):
    ``Message.to_dict()`` (``{"role", "content": [parts], "name"?}``), or
    the short forms ``{"role": "user" | "assistant", "content": "text"}``, an assistant
    turn with ``"tool_calls": [{"id", "name", "arguments"}]`` (arguments as JSON text or
    an object), and ``{"role": "tool", "call_id": "...", "content": "result",
    "is_error"?: true}``.

    Raises:
        PromptFormatError: the turn is not one of these, naming what is wrong.
    """
    if isinstance(data, Message):
        message = data
    elif not isinstance(data, Mapping):
        raise PromptFormatError(
            f"a turn is a Message or a JSON object with 'role' and 'content', not "
            f"{type(data).__name__}"
        )
    else:
        message = _from_json(data)
        _only_plain_parts(message)
    if message.role not in _ROLES:
        raise PromptFormatError(
            f"a {message.role} turn cannot be in a conversation's history: system "
            "instructions belong to the template (turns: user, assistant, tool)"
        )
    if not message.content or all(
        isinstance(p, TextPart) and not p.text.strip() for p in message.content
    ):
        raise PromptFormatError(
            f"the {message.role} turn is empty; providers refuse empty turns: leave it out"
        )
    if any(isinstance(p, TextPart) and not p.text.strip() for p in message.content):
        raise PromptFormatError(
            f"the {message.role} turn has a blank text part; providers refuse empty text "
            "blocks: leave it out"
        )
    return message


def _only_plain_parts(message: Message) -> None:
    """JSON turns often come from a client: they may hold text, images, tool calls and
    results, but not documents (a file id names any file the account holds) or
    provider-native blocks (raw requests to the provider)."""
    for part in message.content:
        inner = part.content if isinstance(part, ToolResult) else (part,)
        for item in inner:
            if isinstance(item, (DocumentPart, NativePart)):
                raise PromptFormatError(
                    f"a turn given as JSON may not hold a {type(item).__name__}: a client "
                    "could name any file or send any raw block. Build such a turn as a "
                    "Message in your code"
                )


def _from_json(data: Mapping[str, Any]) -> Message:
    import json

    role, content = data.get("role"), data.get("content")
    if role == "tool" and "call_id" in data:
        extra = set(data) - {"role", "call_id", "content", "is_error"}
        if extra:
            raise PromptFormatError(f"a tool turn has unknown keys {sorted(extra)}")
        if not isinstance(content, str):
            raise PromptFormatError("a tool turn's 'content' is the result as text")
        is_error = data.get("is_error")
        if is_error is not None and not isinstance(is_error, bool):
            raise PromptFormatError("a tool turn's 'is_error' is true or false")
        return Message.tool(ToolResult(data["call_id"], content, is_error))
    if isinstance(content, str) or "tool_calls" in data:
        if content is not None and not isinstance(content, str):
            raise PromptFormatError(
                "with 'tool_calls', 'content' is the turn's text (a string); for parts, write "
                "the calls as tool_call parts in 'content' (Message.to_dict() form)"
            )
        extra = set(data) - {"role", "content", "name", "tool_calls"}
        if extra:
            raise PromptFormatError(f"a turn has unknown keys {sorted(extra)}")
        if role not in ("user", "assistant"):
            raise PromptFormatError(
                f"turn role {role!r}: use 'user' or 'assistant' (or 'tool' with 'call_id')"
            )
        calls = data.get("tool_calls") or []
        if calls and role != "assistant":
            raise PromptFormatError("only assistant turns have 'tool_calls'")
        if not isinstance(calls, list) or not all(isinstance(c, Mapping) for c in calls):
            raise PromptFormatError("'tool_calls' is a list of {id, name, arguments}")
        tool_calls = []
        for call in calls:
            if not isinstance(call.get("id"), str) or not isinstance(call.get("name"), str):
                raise PromptFormatError(
                    "each of 'tool_calls' needs its 'id' and the tool's 'name' (text)"
                )
            check_tool_name(call["name"], f"tool call {call['id']!r}")
            arguments = call.get("arguments", "{}")
            if not isinstance(arguments, str):
                try:
                    arguments = json.dumps(arguments, ensure_ascii=False, allow_nan=False)
                except (TypeError, ValueError) as exc:
                    raise PromptFormatError(
                        f"the arguments of tool call {call['id']!r} are not JSON ({exc})"
                    ) from None
            tool_calls.append(ToolCall(call["id"], call["name"], arguments))
        text = content if isinstance(content, str) and content.strip() else ""
        parts = (TextPart(text),) if text or not tool_calls else ()
        return Message(role, (*parts, *tool_calls), data.get("name"))
    from promptlib._prompt_codec import message_from_dict

    return message_from_dict(dict(data))


def turns_from_data(value: Any) -> tuple[Message, ...]:
    """A whole conversation: its turns (see :func:`turn_from_data`), with every tool call
    answered by a result before the next user or assistant turn, and every result
    answering a call of the assistant turn before it.

    Raises:
        PromptFormatError: naming the turn (counted from 1) and the problem.
    """
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise PromptFormatError(
            "a conversation is a list of turns (Message values or JSON objects)"
        )
    turns = []
    for number, item in enumerate(value, start=1):
        try:
            turns.append(turn_from_data(item))
        except PromptFormatError as exc:
            raise PromptFormatError(f"turn {number}: {exc}") from None
    problem = tool_pairing_problem(turns, "turn", 1)
    if problem is not None:
        raise PromptFormatError(problem)
    return tuple(turns)


class _Turns(tuple[Message, ...]):
    """Turns that passed validation (the History block need not check them again)."""

    __slots__ = ()


def _validate(value: Any) -> tuple[Message, ...]:
    from pydantic_core import PydanticCustomError

    try:
        return _Turns(turns_from_data(value))
    except PromptFormatError as exc:  # pydantic's own wording, without "Value error,"
        raise PydanticCustomError("conversation", str(exc)) from None


def _dump(turns: tuple[Message, ...]) -> list[dict[str, Any]]:
    return [turn.to_dict() for turn in turns]


_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "role": {"enum": list(_ROLES)},
            "content": {},
            "name": {"type": "string"},
            "tool_calls": {"type": "array"},
            "call_id": {"type": "string"},
            "is_error": {"type": "boolean"},
        },
        "required": ["role"],
    },
}

_VALIDATOR = PlainValidator(_validate)
# Untrusted: the turns are other people's text, so templates may not print them (in the
# system role or anywhere else); the History block places them as messages of their own.
Conversation = Annotated[
    Sequence[Message],
    _VALIDATOR,
    PlainSerializer(_dump),
    WithJsonSchema(_SCHEMA),
    UNTRUSTED,
    CONVERSATION,
]
"""An input field type for prior turns of a conversation (see :class:`History`)."""


class History(Block):
    """The turns of a :data:`Conversation` input, as messages of their own.

    Args:
        field: the input field holding the turns.
        max_turns: keep only the newest ``max_turns`` user turns (with the assistant and
            tool messages that follow each); ``None`` keeps all. To fit a token budget
            instead, use :func:`~promptlib.fit`, which drops the oldest turns first.
    """

    kind = "history"

    def __init__(self, field: str, *, max_turns: int | None = None) -> None:
        if not isinstance(field, str):
            raise TemplateError(f"History(field): the input field's name, not {field!r}")
        if max_turns is not None and (
            isinstance(max_turns, bool) or not isinstance(max_turns, int) or max_turns < 1
        ):
            raise TemplateError(f"History({field!r}): max_turns must be a whole number above 0")
        self.field = field
        self.max_turns = max_turns

    def __repr__(self) -> str:
        return f"History({self.field!r})"

    def _spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"kind": self.kind, "field": self.field}
        if self.max_turns is not None:
            spec["max_turns"] = self.max_turns
        return spec

    def _segments(self, ctx: BuildContext, origin: Origin) -> list[Segment]:
        _require_field(self.field, ctx, origin)
        declared = ctx.inputs.model.model_fields[self.field]
        if not is_conversation(declared.metadata):
            raise origin.error(
                f"History({self.field!r}) places the turns of a conversation: declare the "
                f"field as '{self.field}: Conversation' (in a file: type: conversation)"
            )
        ctx.used.add(self.field)
        field, limit, template = self.field, self.max_turns, ctx.template
        ctx_fields = ctx.inputs.fields

        def turns(values: Mapping[str, Any]) -> tuple[Message, ...]:
            value = values[field]
            if not value:
                return ()
            if isinstance(value, _Turns):
                messages: tuple[Message, ...] = value
            else:  # not validated: a model's default, or a value assigned after validation
                try:
                    messages = turns_from_data(value)
                except PromptFormatError as exc:
                    raise _input_error(template, [(field, str(exc))], ctx_fields) from None
            if limit is not None:
                starts = [i for i, m in enumerate(messages) if m.role == "user"]
                if len(starts) > limit:
                    messages = messages[starts[-limit] :]
            return messages

        return [Segment("user", self.kind, field, "", atomic=True, turns=turns)]


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib", History)

r"""What a :class:`~promptlib.testing.MockProvider` script holds, checked as a real model's
reply would be: text, JSON, tool calls, assistant messages and :class:`Failure`\ s; and the
reply made up from the prompt when nothing is scripted."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from promptlib._anthropic_format import answer_tool
from promptlib._errors import ConfigurationError, ToolArgumentsError
from promptlib._messages import Message, Prompt
from promptlib._parts import NativePart, TextPart, ToolCall
from promptlib._tools import Tool
from promptlib.testing._fake import fake_from_schema
from promptlib.testing._wire import ERROR_KINDS

__all__ = [
    "FAILURE_KINDS",
    "Failure",
    "Script",
    "ScriptedReply",
    "checked_reply",
    "fake_reply",
    "fake_text",
    "native_blocks",
    "reply_text",
    "tool_calls_of",
]

_REPLY_KINDS = ("invalid_output", "refusal", "truncation", "content_filter", "malformed")
_TEXT_KINDS = ("invalid_output", "refusal", "truncation", "stream_cut", "content_filter")
_TRANSPORT_KINDS = (
    "timeout",
    "connection_reset",
    "stream_cut",
    "stream_error",
    "stream_unfinished",
)
FAILURE_KINDS = (*sorted(ERROR_KINDS), *_TRANSPORT_KINDS, *_REPLY_KINDS)


@dataclass(frozen=True)
class Failure:
    """A scripted failure, answered as the provider would answer it.

    Kinds, and what the adapters make of them:

    - ``rate_limit`` (429; retried, waiting ``retry_after`` seconds when given),
      ``overloaded`` (OpenAI 503, Anthropic 529; retried), ``server_error`` (500; retried),
      ``timeout`` and ``connection_reset`` (retried);
    - ``quota`` (out of credit), ``authentication`` (401) and ``rejected`` (400): never
      retried;
    - ``stream_cut``: the connection drops midway (a stream delivers part of the reply
      first);
    - ``stream_error``: an error event (overloaded) arrives midway through a stream;
      ``stream_unfinished``: a stream stops without its end marker (for ``complete()``
      both are a dropped connection, retried);
    - ``not_found`` (404), ``permission`` (403), ``too_large`` (OpenAI 429 "Request too
      large", Anthropic 413): never retried;
    - ``malformed``: a 200 whose body is not the provider's JSON;
    - ``invalid_output``: replies with ``text`` (default: not JSON), which fails
      validation and is repaired like a real invalid reply;
    - ``refusal``: the model refuses, saying ``text``; ``content_filter``: the provider's
      filter stops the reply (OpenAI ``finish_reason: content_filter``);
    - ``truncation``: the reply stops at the token limit after ``text`` (default: the
      first half of the answer the prompt asks for).
    """

    kind: str
    text: str | None = None
    retry_after: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAILURE_KINDS:
            raise ConfigurationError(
                f"Failure({self.kind!r}): use one of {', '.join(map(repr, FAILURE_KINDS))}"
            )
        if self.text is not None and (
            not isinstance(self.text, str) or self.kind not in _TEXT_KINDS
        ):
            raise ConfigurationError(
                f"Failure({self.kind!r}, text=...): text is for "
                f"{', '.join(map(repr, _TEXT_KINDS))}, and must be a string"
            )
        if self.retry_after is not None:
            number = isinstance(self.retry_after, int | float) and not isinstance(
                self.retry_after, bool
            )
            if self.kind != "rate_limit" or not number or not 0 <= self.retry_after < 86_400:
                raise ConfigurationError(
                    f"Failure({self.kind!r}, retry_after={self.retry_after!r}): retry_after "
                    "is the seconds a 'rate_limit' asks to wait, a number from 0"
                )


ScriptedReply = str | Mapping[str, Any] | Failure | ToolCall | Message
Script = (
    Sequence[ScriptedReply]
    | Mapping[str, ScriptedReply | Sequence[ScriptedReply]]
    | Callable[[Prompt[Any]], ScriptedReply]
    | None
)


def checked_reply(reply: Any) -> ScriptedReply:
    if isinstance(reply, str | Failure | ToolCall | Message) or (
        isinstance(reply, Mapping) and all(isinstance(k, str) for k in reply)
    ):
        return reply
    raise ConfigurationError(
        f"the MockProvider reply function returned {type(reply).__name__}; return text, a "
        "dict (sent as JSON), a ToolCall, an assistant Message or a Failure"
    )


def native_blocks(reply: ScriptedReply, family: str) -> tuple[dict[str, Any], ...]:
    """A scripted assistant Message with provider-native blocks (Anthropic thinking,
    server tools), as the Anthropic content it stands for; ``()`` without any."""
    if not isinstance(reply, Message) or not any(isinstance(p, NativePart) for p in reply.content):
        return ()
    if family != "anthropic" or any(
        isinstance(p, NativePart) and p.provider != "anthropic" for p in reply.content
    ):
        raise ConfigurationError(
            "the MockProvider script's reply holds provider-native blocks, which only "
            "Anthropic replies carry: script them for a Claude model"
        )
    blocks: list[dict[str, Any]] = []
    for part in reply.content:
        if isinstance(part, TextPart):
            blocks.append({"type": "text", "text": part.text})
        elif isinstance(part, ToolCall):
            tool_input = part.input if part.arguments.strip() else {}
            blocks.append(
                {"type": "tool_use", "id": part.id, "name": part.name, "input": tool_input}
            )
        elif isinstance(part, NativePart):
            blocks.append(dict(part.block))
    return tuple(blocks)


def tool_calls_of(
    reply: ScriptedReply, prompt: Prompt[Any], family: str = "openai"
) -> tuple[ToolCall, ...]:
    """The tool calls a scripted reply makes, refusing what a real model could not answer:
    a call to a tool the prompt does not offer or allow, text where a call is required,
    several calls where parallel calls are off, arguments Anthropic could not send."""
    if isinstance(reply, ToolCall):
        calls: tuple[ToolCall, ...] = (reply,)
    elif isinstance(reply, Message):
        if reply.role != "assistant":
            raise ConfigurationError(
                f"a MockProvider reply Message must be an assistant turn, not {reply.role!r}"
            )
        calls = reply.tool_calls
    else:
        calls = ()
    if not calls:
        required = prompt.tools and prompt.tool_choice not in (None, "auto", "none")
        if required and not isinstance(reply, Failure):
            raise ConfigurationError(
                f"the MockProvider script answers with text, but the prompt's tool_choice "
                f"{prompt.tool_choice!r} requires a tool call; script a ToolCall"
            )
        return ()
    if prompt.parallel_tool_calls is False and len(calls) > 1:
        raise ConfigurationError(
            f"the MockProvider script answers with {len(calls)} tool calls, but the prompt "
            "sets parallel_tool_calls=False"
        )
    if family == "anthropic":
        for call in calls:
            try:
                call.input  # noqa: B018  Anthropic sends the arguments as a JSON object
            except ToolArgumentsError as exc:
                raise ConfigurationError(
                    f"the MockProvider script's {exc}; Anthropic's tool calls carry a JSON object"
                ) from None
    offered = [t.name for t in prompt.tools]
    answer = answer_tool(prompt) if family == "anthropic" else None
    for call in calls:  # what a real model could not answer, the mock refuses to
        if call.name == answer:
            continue  # Anthropic: the output schema's answer tool
        if call.name not in offered or prompt.tool_choice == "none":
            why = "tool_choice is 'none'" if offered else "it offers no tools"
            if offered and prompt.tool_choice != "none":
                why = f"its tools: {', '.join(offered)}"
            raise ConfigurationError(
                f"the MockProvider script answers with a call to {call.name!r}, which the "
                f"prompt does not allow ({why}); script a call to one of its tools"
            )
        if prompt.tool_choice not in (None, "auto", "required", call.name):
            raise ConfigurationError(
                f"the MockProvider script answers with a call to {call.name!r}, but the "
                f"prompt's tool_choice forces {prompt.tool_choice!r}"
            )
    return calls


def _fake_tool_call(prompt: Prompt[Any]) -> ToolCall | None:
    choice = prompt.tool_choice
    if choice is None or choice in ("auto", "none"):
        return None
    tools = [t for t in prompt.tools if isinstance(t, Tool)]
    chosen = next((t for t in tools if t.name == choice), tools[0] if tools else None)
    if chosen is None:
        return None
    arguments = fake_from_schema(dict(chosen.parameters))
    return ToolCall(f"call_mock_{chosen.name}"[:64], chosen.name, json.dumps(arguments))


def fake_reply(prompt: Prompt[Any]) -> ScriptedReply:
    call = _fake_tool_call(prompt) if prompt.tools else None
    return call if call is not None else fake_text(prompt)


def fake_text(prompt: Prompt[Any]) -> str:
    """A reply in the form the prompt asks for: schema-valid JSON, after reasoning if asked."""
    answer = "mock reply"
    if prompt.output is not None:
        answer = json.dumps(fake_from_schema(prompt.output.schema), ensure_ascii=False)
        _check_fake(prompt, answer)
    spec = prompt.reasoning
    if spec is None:
        return answer
    if spec.style == "tags":
        return (
            f"<{spec.reasoning_tag}>mock reasoning</{spec.reasoning_tag}>\n"
            f"<{spec.answer_tag}>{answer}</{spec.answer_tag}>"
        )
    return f"mock reasoning\n{spec.answer_prefix} {answer}"


def _check_fake(prompt: Prompt[Any], answer: str) -> None:
    """A fake the output model would refuse is no answer: say so, instead of a repair loop."""
    model = prompt.output_model
    if model is None or not hasattr(model, "model_validate_json"):
        return
    from pydantic import ValidationError

    from promptlib._validation import summary

    try:
        model.model_validate_json(answer)
    except ValidationError as exc:
        raise ConfigurationError(
            f"MockProvider cannot make up an answer {model.__name__} accepts from its JSON "
            f"schema ({summary(exc)}): script a reply for template "
            f"{prompt.meta.template or '(unnamed)'!r}, e.g. MockProvider([{{...}}])"
        ) from None


def reply_text(reply: str | Mapping[str, Any]) -> str:
    if isinstance(reply, str):
        return reply
    return json.dumps(reply, ensure_ascii=False)


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib.testing", Failure)

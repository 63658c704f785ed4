"""Second review of tools, history and documents: each test fails on the code before the fix."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from pydantic import BaseModel

from promptlib import (
    AnthropicProvider,
    ConfigurationError,
    Context,
    Conversation,
    DocumentPart,
    History,
    InputError,
    Message,
    NativePart,
    NativeTool,
    OpenAIProvider,
    Prompt,
    PromptFormatError,
    System,
    Template,
    TemplateError,
    TextPart,
    Tool,
    ToolCall,
    ToolResult,
    User,
    count_tokens,
    fit,
)
from promptlib.batch._backends import wire_body
from promptlib.testing import MockProvider

LOOKUP = Tool(
    name="lookup",
    parameters={"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
)


class Chat(BaseModel):
    history: Conversation
    question: str


CHAT = Template(
    [System("Be brief."), History("history"), User("{{ question }}")],
    name="chat",
    inputs=Chat,
    tools=[LOOKUP],
    model="gpt-4o",
)


# --- untrusted conversations carry no file references or raw blocks ----------------------


@pytest.mark.parametrize(
    "part",
    [
        {"type": "document", "file_id": "file-OTHER-CUSTOMER"},
        {"type": "native", "provider": "anthropic", "block": {"type": "thinking"}},
    ],
)
def test_a_json_turn_cannot_hold_documents_or_native_blocks(part: dict[str, Any]) -> None:
    turn = {"role": "user", "content": [{"type": "text", "text": "hi"}, part]}
    with pytest.raises(InputError, match=r"may not hold a (DocumentPart|NativePart)"):
        CHAT.render(history=[turn], question="q")


def test_a_json_tool_result_cannot_hold_a_document() -> None:
    document = {"type": "document", "url": "https://example.com/x.pdf"}
    result = {"type": "tool_result", "call_id": "c1", "content": [document]}
    turn = {"role": "tool", "content": [result]}
    with pytest.raises(InputError, match=r"turn 1: a turn given as JSON may not hold"):
        CHAT.render(history=[turn], question="q")


def test_a_message_built_in_code_may_hold_a_document() -> None:
    turn = Message.user("read this", DocumentPart(file_id="file-1"))
    prompt = CHAT.render(history=[turn], question="q")
    assert prompt.messages[1].content[1] == DocumentPart(file_id="file-1")


# --- values that are not JSON, names that would be dropped -------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: NativePart("anthropic", {"type": "x", "data": b"abc"}),
        lambda: NativePart("anthropic", {"type": "x", "n": float("nan")}),
        lambda: NativeTool("anthropic", {"name": "t", "when": object()}),
        lambda: ToolResult("c1", "x", "yes"),  # type: ignore[arg-type]
        lambda: Message("tool", (ToolResult("c1", "x"),), name="bob"),
        lambda: Prompt(messages=(Message.user("x"),), tools=None),  # type: ignore[arg-type]
    ],
)
def test_values_that_could_not_be_sent_are_refused_when_built(make: Any) -> None:
    with pytest.raises(PromptFormatError):
        make()


def test_template_tools_must_be_a_list() -> None:
    for bad in (None, 5, "lookup"):
        with pytest.raises(TemplateError, match="tools= is a list of tools"):
            Template([User("hi")], name="t", tools=bad)  # type: ignore[arg-type]


def test_params_extra_read_back_must_be_an_object() -> None:
    data = Prompt(messages=(Message.user("x"),), params={"extra": {"a": 1}}).to_dict()
    data["params"]["extra"] = [1]
    data["hash"] = Prompt(messages=(Message.user("x"),), params={"extra": [1]}).hash
    with pytest.raises(PromptFormatError, match=r"params\.extra"):
        Prompt.from_dict(data)


def test_the_same_calls_cannot_be_answered_twice() -> None:
    reply = Message.assistant("", tool_calls=(ToolCall("c1", "lookup", '{"q": "x"}'),))
    prompt = Prompt(messages=(Message.user("hi"),), tools=(LOOKUP,))
    once = prompt.with_tool_results(reply, ["a"])
    with pytest.raises(PromptFormatError, match="already answers these calls"):
        once.with_tool_results(reply, ["b"])


def test_a_conversation_cannot_be_printed_by_a_context_block() -> None:
    with pytest.raises(TemplateError, match="would print a conversation's turns"):
        Template([Context("history"), User("{{ question }}")], name="t", inputs=Chat)


# --- wire forms ----------------------------------------------------------------------------


def test_openai_needs_a_filename_for_an_inline_document() -> None:
    pdf = DocumentPart.from_bytes(b"%PDF-1.4", title="Invoice")
    prompt = Prompt(messages=(Message.user("read", pdf),), model="gpt-4o")
    with pytest.raises(ConfigurationError, match="needs a filename"):
        OpenAIProvider(api_key="sk-test").build_request(prompt)
    named = dataclasses.replace(pdf, filename="invoice.pdf")
    sent = OpenAIProvider(api_key="sk-test").build_request(
        Prompt(messages=(Message.user("read", named),), model="gpt-4o")
    )
    assert sent["messages"][0]["content"][1]["file"]["filename"] == "invoice.pdf"


def test_anthropic_counts_documents_by_file_id_with_the_files_header() -> None:
    seen: dict[str, Any] = {}

    class Messages:
        def count_tokens(self, **body: Any) -> Any:
            seen.update(body)
            return type("Counted", (), {"input_tokens": 42})()

    client = type("Client", (), {"messages": Messages()})()
    prompt = Prompt(messages=(Message.user("read", DocumentPart(file_id="file-1")),))
    count = count_tokens(prompt, "claude-sonnet-4-6", client=client)
    assert count.total == 42
    assert seen["extra_headers"] == {"anthropic-beta": "files-api-2025-04-14"}


def test_a_batch_line_with_a_document_by_file_id_says_why_it_cannot_go() -> None:
    prompt = Prompt(messages=(Message.user("read", DocumentPart(file_id="file-1")),))
    request = AnthropicProvider(api_key="x").build_request(prompt, "claude-sonnet-4-6")
    with pytest.raises(ConfigurationError, match="Files API beta header"):
        wire_body(request)


class Answer(BaseModel):
    answer: str


def test_claude_text_before_the_answer_tool_is_not_part_of_the_answer() -> None:
    template = Template(
        [User("q")], name="a", output=Answer, tools=[LOOKUP], model="claude-sonnet-4-6"
    )
    reply = Message(
        "assistant",
        (TextPart("I'll answer now."), ToolCall("toolu_1", "Answer", '{"answer": "x"}')),
    )
    for send in ("complete", "stream"):
        mock = MockProvider([reply])
        if send == "complete":
            completion = mock.complete(template.render())
        else:
            stream = mock.stream(template.render())
            list(stream)
            completion = stream.completion
        assert completion.output == Answer(answer="x"), send
        assert completion.repairs == 0
        assert completion.tool_calls == ()


# --- fit -------------------------------------------------------------------------------------


def test_fit_never_empties_the_conversation() -> None:
    template = Template(
        [System("Be brief."), History("history")], name="h", inputs=Chat, unused_inputs="ignore"
    )
    turns = [
        {"role": "user", "content": "old question " * 40},
        {"role": "assistant", "content": "old answer " * 40},
        {"role": "user", "content": "the question now"},
    ]
    prompt = template.render(history=turns, question="")
    fitted = fit(prompt, "gpt-4o", budget=count_tokens(prompt, "gpt-4o").total - 50)
    assert [m.role for m in fitted.prompt.messages] == ["system", "user"]
    assert fitted.prompt.messages[-1].text == "the question now"


def test_fit_drops_just_enough_of_a_long_history_oldest_first() -> None:
    turns = []
    for i in range(300):
        turns += [
            {"role": "user", "content": f"question {i} " * 5},
            {"role": "assistant", "content": f"answer {i} " * 5},
        ]
    prompt = CHAT.render(history=turns, question="last")
    total = count_tokens(prompt).total
    fitted = fit(prompt, budget=total // 2)
    kept = [m.text for m in fitted.prompt.messages if m.role == "user"][:-1]
    dropped = len(fitted.dropped)
    assert fitted.tokens.total <= total // 2
    assert kept[0].startswith(f"question {dropped} ")  # the oldest went, in order
    one_fewer = CHAT.render(history=turns[2 * (dropped - 1) :], question="last")
    assert count_tokens(one_fewer).total > total // 2  # no more was dropped than needed


# --- the mock answers only what a model could ------------------------------------------------


def test_the_mock_refuses_replies_no_model_could_give() -> None:
    required = Template([User("q")], name="r", tools=[LOOKUP], tool_choice="required")
    with pytest.raises(ConfigurationError, match="requires a tool call"):
        MockProvider(["plain text"]).complete(required.render())
    single = Template([User("q")], name="s", tools=[LOOKUP], parallel_tool_calls=False)
    two = Message.assistant(
        "", tool_calls=(ToolCall("c1", "lookup", "{}"), ToolCall("c2", "lookup", "{}"))
    )
    with pytest.raises(ConfigurationError, match="parallel_tool_calls=False"):
        MockProvider([two]).complete(single.render())


@pytest.mark.parametrize("arguments", ["", "not json", "[1]"])
def test_claude_tool_calls_with_arguments_anthropic_cannot_send(arguments: str) -> None:
    claude = Template([User("q")], name="c", tools=[LOOKUP], model="claude-sonnet-4-6")
    mock = MockProvider([ToolCall("c1", "lookup", arguments)])
    if arguments == "":
        assert mock.complete(claude.render()).tool_calls[0].input == {}
        return
    with pytest.raises(ConfigurationError, match="Anthropic's tool calls carry a JSON object"):
        mock.complete(claude.render())


def test_a_tool_call_reply_reports_its_output_tokens() -> None:
    prompt = CHAT.render(history=[], question="q")
    call = ToolCall("c1", "lookup", json.dumps({"q": "a long query " * 10}))
    assert MockProvider([call]).complete(prompt).usage.output_tokens > 10


# --- hand-built prompts: tool calls and results must pair up before they are sent ---------

CALL = ToolCall("c1", "lookup", '{"q": "x"}')


@pytest.mark.parametrize(
    ("messages", "problem"),
    [
        (
            (Message.user("hi"), Message.assistant("", tool_calls=(CALL,)), Message.user("?")),
            r"message 2: tool call\(s\) \['c1'\] of message 1 have no result before it",
        ),
        (
            (Message.user("hi"), Message.assistant("", tool_calls=(CALL,))),
            r"the conversation ends with tool call\(s\) \['c1'\] unanswered",
        ),
        (
            (Message.user("hi"), Message.tool(ToolResult("zz", "r")), Message.user("?")),
            "message 1: a result for call 'zz', which no earlier assistant turn made",
        ),
    ],
)
def test_adapters_refuse_unpaired_tool_turns(messages: tuple[Message, ...], problem: str) -> None:
    prompt = Prompt(messages=messages, tools=(LOOKUP,))
    with pytest.raises(ConfigurationError, match=f"OpenAI would refuse this prompt: {problem}"):
        OpenAIProvider(api_key="sk-test").build_request(prompt, "gpt-4o")
    with pytest.raises(ConfigurationError, match=f"Anthropic would refuse this prompt: {problem}"):
        AnthropicProvider(api_key="x").build_request(prompt, "claude-sonnet-4-6")


def test_calls_spread_over_consecutive_assistant_messages_are_one_turn() -> None:
    other = ToolCall("c2", "lookup", '{"q": "y"}')
    prompt = Prompt(
        messages=(
            Message.user("hi"),
            Message.assistant("Looking.", tool_calls=(CALL,)),
            Message.assistant("", tool_calls=(other,)),
            Message.tool(ToolResult("c1", "a"), ToolResult("c2", "b")),
        ),
        tools=(LOOKUP,),
    )
    request = AnthropicProvider(api_key="x").build_request(prompt, "claude-sonnet-4-6")
    assert [m["role"] for m in request["messages"]] == ["user", "assistant", "user"]


# --- the mock answers with Anthropic's own blocks ------------------------------------------


def test_scripted_thinking_and_server_tool_blocks_survive_a_round() -> None:
    thinking = NativePart(
        "anthropic", {"type": "thinking", "thinking": "Look it up.", "signature": "sig=="}
    )
    search = NativePart(
        "anthropic",
        {
            "type": "server_tool_use",
            "id": "srvtoolu_1",
            "name": "web_search",
            "input": {"query": "x"},
        },
    )
    reply = Message("assistant", (thinking, search, TextPart("Found."), CALL))
    claude = Template([User("q")], name="c", tools=[LOOKUP], model="claude-sonnet-4-6")
    for send in ("complete", "stream"):
        mock = MockProvider([reply, "done"])
        if send == "complete":
            completion = mock.complete(claude.render())
        else:
            stream = mock.stream(claude.render())
            assert "".join(stream) == "Found."  # thinking and server input are not the text
            completion = stream.completion
        assert completion.message.content == reply.content, send
        answered = claude.render().with_tool_results(completion, ["r"])
        mock.complete(answered)
        sent = mock.calls[-1].request["messages"][1]["content"]
        assert [b["type"] for b in sent] == ["thinking", "server_tool_use", "text", "tool_use"]


def test_native_blocks_are_refused_for_openai_replies() -> None:
    thinking = NativePart("anthropic", {"type": "thinking", "thinking": "x", "signature": "s"})
    template = Template([User("q")], name="g", model="gpt-4o")
    with pytest.raises(ConfigurationError, match="only Anthropic replies carry"):
        MockProvider([Message("assistant", (thinking, TextPart("hi")))]).complete(template.render())


# --- third pass -------------------------------------------------------------------------------


def test_openai_joins_an_assistant_message_that_follows_a_tool_call() -> None:
    prompt = Prompt(
        messages=(
            Message.user("q"),
            Message.assistant("Looking.", tool_calls=(CALL,)),
            Message.assistant("and also", tool_calls=(ToolCall("c2", "lookup", "{}"),)),
            Message.tool(ToolResult("c1", "r1"), ToolResult("c2", "r2")),
        ),
        tools=(LOOKUP,),
    )
    sent = OpenAIProvider(api_key="sk-test").build_request(prompt, "gpt-4o")["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "tool"]
    assert sent[1]["content"] == "Looking.\n\nand also"
    assert [c["id"] for c in sent[1]["tool_calls"]] == ["c1", "c2"]


def test_openai_refuses_unpaired_calls_without_tools_too() -> None:
    prompt = Prompt(
        messages=(Message.user("hi"), Message.assistant("", tool_calls=(CALL,)), Message.user("x"))
    )
    with pytest.raises(ConfigurationError, match="OpenAI would refuse this prompt"):
        OpenAIProvider(api_key="sk-test").build_request(prompt, "gpt-4o")


def test_a_custom_tool_call_goes_back_as_a_custom_call() -> None:
    grep = NativeTool("openai", {"type": "custom", "custom": {"name": "grep"}})
    call = ToolCall("c1", "grep", "foo bar")
    prompt = Prompt(
        messages=(
            Message.user("q"),
            Message.assistant("", tool_calls=(call,)),
            Message.tool(ToolResult("c1", "3 hits")),
        ),
        tools=(grep,),
    )
    sent = OpenAIProvider(api_key="sk-test").build_request(prompt, "gpt-4o")["messages"]
    assert sent[1]["tool_calls"] == [
        {"id": "c1", "type": "custom", "custom": {"name": "grep", "input": "foo bar"}}
    ]


@pytest.mark.parametrize(
    ("turns", "problem"),
    [
        (
            [
                {"role": "user", "content": "q"},
                {
                    "role": "assistant",
                    "content": [{"type": "text", "text": "Let me check"}],
                    "tool_calls": [{"id": "c", "name": "lookup"}],
                },
            ],
            "turn 2: with 'tool_calls', 'content' is the turn's text",
        ),
        (
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": " "},
                        {"type": "image", "url": "https://example.com/y.png"},
                    ],
                }
            ],
            "turn 1: the user turn has a blank text part",
        ),
        (
            [
                {"role": "user", "content": "q"},
                {
                    "role": "assistant",
                    "content": [{"type": "tool_call", "id": "c", "name": "a b", "arguments": "{}"}],
                },
            ],
            "turn 2: .*tool name 'a b'",
        ),
    ],
)
def test_more_history_turns_that_would_be_refused(
    turns: list[dict[str, Any]], problem: str
) -> None:
    with pytest.raises(InputError, match=problem):
        CHAT.render(history=turns, question="q")


def test_a_blank_text_beside_tool_calls_is_left_out() -> None:
    turns = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "  ", "tool_calls": [{"id": "c", "name": "lookup"}]},
        {"role": "tool", "call_id": "c", "content": "r"},
    ]
    prompt = CHAT.render(history=turns, question="next")
    assert prompt.messages[2].content == (ToolCall("c", "lookup", "{}"),)


@pytest.mark.parametrize(
    "make",
    [
        lambda: DocumentPart(text=5),  # type: ignore[arg-type]
        lambda: DocumentPart(file_id=7),  # type: ignore[arg-type]
        lambda: DocumentPart(text="x", title=5),  # type: ignore[arg-type]
        lambda: DocumentPart(data="AA==", media_type=3),  # type: ignore[arg-type]
        lambda: Prompt(messages=("hi",)),  # type: ignore[arg-type]
        lambda: Prompt(messages=[Message.user("hi")]),  # type: ignore[arg-type]
        lambda: ToolCall("c", "a b"),
        lambda: ToolCall("c", "x" * 65),
    ],
)
def test_values_of_the_wrong_type_are_refused_when_built(make: Any) -> None:
    with pytest.raises(PromptFormatError):
        make()

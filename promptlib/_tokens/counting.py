"""Counting a prompt's input tokens: exact where the provider agrees, labelled estimate elsewhere.

OpenAI models are counted locally with tiktoken and OpenAI's published per-message method
(3 tokens per message plus its role and content, 3 to prime the reply), plus a per-model
offset measured against what the API reports. Anthropic has no public tokenizer: counts
are exact through the API's count-tokens endpoint when a client is given, estimates
otherwise.

Text is encoded block by block, and each block's count is cached by its content, so the
parts of a prompt that do not change between calls (system text, few-shot examples) are
not encoded again.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from operator import itemgetter
from typing import Any, NamedTuple

from promptlib._anthropic_format import anthropic_fields
from promptlib._errors import ConfigurationError
from promptlib._messages import ImagePart, Message, Prompt, Section, TextPart
from promptlib._parts import DocumentPart, NativePart, ToolCall, ToolResult
from promptlib._tokens.catalog import Catalog, ModelInfo
from promptlib._tokens.encodings import get_encoding, token_counter
from promptlib._tokens.features import (
    anthropic_request_options,
    anthropic_tools_tokens,
    function_tools_tokens,
    openai_tools_tokens,
    part_tokens,
    prompt_features,
)
from promptlib._tokens.images import (
    ANTHROPIC_IMAGES,
    NO_RULE,
    ImageRule,
    image_rule,
    message_image_tokens,
)

__all__ = ["BlockCount", "TokenCount", "acount_tokens", "count_tokens"]

_SEPARATOR = "\n\n"
# Anthropic estimates: tokens the API adds per request and per turn, fitted on recorded
# requests (see docs/tokens.md for the data and the error).
_ANTHROPIC_BASE, _ANTHROPIC_PER_TURN = 7, 5


class BlockCount(NamedTuple):
    """Tokens of one block of the prompt.

    Attributes:
        kind: the block kind (``system``, ``examples``, ``context``, ...), or ``overhead``
            for the chat format's own tokens, ``images``, or ``output schema``.
        label: the block's label (e.g. the example number or the context tag).
        message: the message index, or ``None`` for request-wide overhead.
        tokens: its tokens.
    """

    kind: str
    label: str
    message: int | None
    tokens: int

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


@dataclass(frozen=True)
class TokenCount:
    """A prompt's input tokens, and what the number is.

    Attributes:
        total: the input tokens.
        exact: whether this is what the provider will report (else an estimate).
        method: how it was counted, e.g. ``tiktoken:o200k_base``,
            ``anthropic:count_tokens`` or ``estimate:o200k_base*1.0+overhead``.
        model: the model counted for.
        messages: tokens per message, chat-format overhead included.
        blocks: tokens per block, so you can see where they go.
        note: why the count is an estimate, and how far off it typically is.
    """

    total: int
    exact: bool
    method: str
    model: str
    messages: tuple[int, ...] = ()
    blocks: tuple[BlockCount, ...] = ()
    note: str = ""

    def by_kind(self) -> dict[str, int]:
        """Tokens per block kind, e.g. ``{"system": 120, "examples": 900, ...}``."""
        totals: dict[str, int] = {}
        for block in self.blocks:
            totals[block.kind] = totals.get(block.kind, 0) + block.tokens
        return totals

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "total": self.total,
            "exact": self.exact,
            "method": self.method,
            "note": self.note,
            "messages": list(self.messages),
            "by_kind": self.by_kind(),
            "blocks": [b.to_dict() for b in self.blocks],
        }


_new_tuple = tuple.__new__
_TOKENS_OF = itemgetter(3)


def _block(kind: str, label: str, index: int | None, tokens: int) -> BlockCount:
    # tuple.__new__ directly: a NamedTuple's own __new__ is a Python call, 3x slower.
    return _new_tuple(BlockCount, (kind, label, index, tokens))


@lru_cache(maxsize=8192)
def _text_tokens(encoding: str, text: str) -> int:
    """Tokens of ``text``, cached by content."""
    return token_counter(encoding)(text)


@cache
def _role_tokens(encoding: str, role: str) -> int:
    return len(get_encoding(encoding).encode(role))


def _splits_cleanly(text: str, following: Section) -> bool:
    # After "\n\n", the tokenizers' pre-tokenization starts a new piece at the next block
    # unless it begins with whitespace (which joins the newlines) or "/" (o200k_base lets
    # punctuation-newline runs continue with slashes). Then counts add up exactly.
    if following.start == following.end:
        return False
    first = text[following.start]
    return not first.isspace() and first != "/"


def _tiles(text: str, sections: Sequence[Section]) -> bool:
    """Whether the sections' texts, joined by blank lines, are exactly ``text``."""
    end = -len(_SEPARATOR)
    for section in sections:
        if section.start != end + len(_SEPARATOR) or section.end < section.start:
            return False
        if end >= 0 and not text.startswith(_SEPARATOR, end):
            return False
        end = section.end
    return bool(sections) and end == len(text)


def _message_text_blocks(
    encoding: str, index: int, text: str, sections: Sequence[Section]
) -> list[BlockCount]:
    """Count a message's text by its blocks (exactly), or whole when they do not tile it."""
    if not _tiles(text, sections):
        in_order = sorted(sections, key=_START_OF)
        if in_order != list(sections):  # hand-built prompts may list sections in any order
            return _message_text_blocks(encoding, index, text, in_order)
        return [_block("message", "", index, _text_tokens(encoding, text))]
    counted: list[BlockCount] = []
    group_start = 0
    for i, section in enumerate(sections):
        last = i == len(sections) - 1
        if not last and not _splits_cleanly(text, sections[i + 1]):
            continue  # keep the next block in this group: the boundary is not clean
        head = sections[group_start]
        # A group's text with the blank line after it: how it is tokenized in the message.
        end = section.end if last else sections[i + 1].start
        tokens = _text_tokens(encoding, text[head.start : end])
        size = i - group_start
        label = f"{head.label}+{size}" if size else head.label
        counted.append(_block(head.kind, label, index, tokens))
        group_start = i + 1
    return counted


_MESSAGE_OF, _PART_OF, _START_OF = itemgetter(2), itemgetter(3), itemgetter(4)


def _with_sections(prompt: Prompt[Any]) -> Iterator[tuple[int, Message, Sequence[Section]]]:
    """Each message, with its index and the sections in its first text part."""
    sections: Sequence[Section] = prompt.sections
    if any(map(_PART_OF, sections)):
        sections = [s for s in sections if s.part == 0]
    indices = list(map(_MESSAGE_OF, sections))
    if indices != sorted(indices):  # rendered prompts are in order already
        sections = sorted(sections, key=_MESSAGE_OF)
        indices.sort()
    start = 0
    for index, message in enumerate(prompt.messages):
        end = bisect_right(indices, index, start)
        yield index, message, sections[start:end]
        start = end


# One message's count: (message, index, sections, blocks, tokens, exact).
_MessageCount = tuple[Message, int, Sequence[Section], tuple[BlockCount, ...], int, bool]

# Counted messages per (encoding, tokens per message), by the message object's id:
# prebuilt messages (system text, few-shot turns) are the same objects from render to
# render, and finding them again must not cost hashing their text. Each entry holds its
# message, so the id cannot be reused while the entry exists.
_MESSAGE_COUNTS: dict[tuple[str, int, ImageRule], dict[int, _MessageCount]] = {}
_MESSAGE_COUNTS_MAX = 4096


def _count_message(
    encoding: str,
    message_tokens: int,
    index: int,
    message: Message,
    sections: Sequence[Section],
    name_tokens: int = 1,
    images: ImageRule = NO_RULE,
) -> _MessageCount:
    """Count a message in any shape (``_count_openai`` inlines the one-block text message)."""
    overhead = message_tokens + _role_tokens(encoding, message.role)
    if message.name is not None:  # OpenAI's method: the name's tokens and one more
        overhead += _text_tokens(encoding, message.name) + name_tokens
    content = message.content
    exact = True
    if len(content) == 1 and type(content[0]) is TextPart:
        text_blocks = _message_text_blocks(encoding, index, content[0].text, sections)
    else:
        text_blocks = []
        if any(isinstance(p, TextPart) for p in content):
            text_blocks = _message_text_blocks(encoding, index, message.text, sections)
        image_tokens, exact = message_image_tokens(message, images)
        if image_tokens:
            text_blocks.append(_block("images", "", index, image_tokens))
        others = [p for p in content if not isinstance(p, (TextPart, ImagePart))]
        if others:  # each tool result is a message of its own on the wire
            exact = False
            extra = sum(part_tokens(p, encoding, "openai") for p in others)
            if message.role == "tool":
                overhead += (len(others) - 1) * overhead
            text_blocks.append(_block(_kind(others), "", index, extra))
    tokens = overhead + sum(map(_TOKENS_OF, text_blocks))
    return (
        message,
        index,
        sections,
        (_block("overhead", "message", index, overhead), *text_blocks),
        tokens,
        exact,
    )


def _is_thinking(part: object) -> bool:
    return isinstance(part, NativePart) and part.type in ("thinking", "redacted_thinking")


def _kind(parts: Sequence[Any]) -> str:
    if all(isinstance(p, ToolCall) for p in parts):
        return "tool calls"
    if all(isinstance(p, ToolResult) for p in parts):
        return "tool results"
    if all(isinstance(p, DocumentPart) for p in parts):
        return "documents"
    return "other parts"


def clear_caches() -> None:
    """Forget every cached count (for benchmarks and tests of the uncached path)."""
    _MESSAGE_COUNTS.clear()
    _text_tokens.cache_clear()


def _count_openai(prompt: Prompt[Any], info: ModelInfo) -> TokenCount:
    encoding = info.encoding
    if encoding is None:
        raise ConfigurationError(
            f"model {info.name!r} has no tokenizer encoding in the catalog; add one "
            "(encoding = 'o200k_base' or 'cl100k_base')"
        )
    exact = info.count == "exact"
    notes: list[str] = []
    blocks: list[BlockCount] = []
    per_message: list[int] = []
    message_tokens = info.message_tokens
    images = image_rule(info)
    key = (encoding, message_tokens, images)
    counts = _MESSAGE_COUNTS.get(key)
    if counts is None or len(counts) >= _MESSAGE_COUNTS_MAX:
        counts = _MESSAGE_COUNTS[key] = {}
    for index, message, own in _with_sections(prompt):
        counted = counts.get(id(message))
        if counted is not None and counted[1] == index and counted[2] == own:
            pass
        elif (
            message.name is None
            and len(own) == 1
            and len(content := message.content) == 1
            and type(part := content[0]) is TextPart
            and own[0].start == 0
            and own[0].end == len(part.text)
        ):  # the common case, inlined: one block is the whole message
            overhead = message_tokens + _role_tokens(encoding, message.role)
            tokens = _text_tokens(encoding, part.text)
            head = own[0]
            pair = (
                _new_tuple(BlockCount, ("overhead", "message", index, overhead)),
                _new_tuple(BlockCount, (head.kind, head.label, index, tokens)),
            )
            counted = counts[id(message)] = (message, index, own, pair, overhead + tokens, True)
        else:
            counted = counts[id(message)] = _count_message(
                encoding, message_tokens, index, message, own, info.name_tokens, images
            )
        if not counted[5]:
            exact = False
            if any(isinstance(p, ImagePart) for p in message.content):
                notes.append(
                    "images are estimated: detail='low' is exact for models with OpenAI's "
                    "published image constants; other images follow the model's published "
                    "rule from their size (inline images) or a typical size (URLs)"
                )
        blocks += counted[3]
        per_message.append(counted[4])
    reply = info.reply_tokens + info.count_offset
    blocks.append(_block("overhead", "reply", None, reply))
    total = sum(per_message) + reply
    method = f"tiktoken:{encoding}"
    if prompt.output is not None:
        schema = json.dumps(prompt.output.schema, separators=(",", ":"))
        schema_tokens = _text_tokens(encoding, schema)
        blocks.append(_block("output schema", prompt.output.name, None, schema_tokens))
        total += schema_tokens
        exact = False
        method += "+estimate:schema"
        notes.append(
            "the output schema, sent as native structured output, adds tokens no public "
            "formula predicts; it is estimated as its compact JSON"
        )
    features = prompt_features(prompt)
    if features:
        exact = False
        if prompt.tools:
            tool_tokens = openai_tools_tokens(prompt, encoding, info.tools_overhead)
            blocks.append(_block("tools", f"{len(prompt.tools)} tool(s)", None, tool_tokens))
            total += tool_tokens
        method += "+estimate:" + ",".join(f.replace(" ", "_") for f in features)
        notes.append(_FEATURES_NOTE.format(features=", ".join(features)))
    unmodelled = _unmodelled(prompt)
    if unmodelled:
        exact = False
        tools = prompt.params["extra"].get("tools") or prompt.params["extra"].get("functions")
        if isinstance(tools, list) and tools:
            tool_tokens = function_tools_tokens(tools, encoding)
            blocks.append(_block("tools", f"{len(tools)} tool(s)", None, tool_tokens))
            total += tool_tokens
        method += "+estimate:" + ",".join(unmodelled)
        notes.append(_UNMODELLED_NOTE.format(fields=", ".join(unmodelled)))
    if info.count != "exact":
        notes.append(f"local counts for {info.name} are not verified against the provider")
    return TokenCount(
        total=total,
        exact=exact,
        method=method,
        model=info.name,
        messages=tuple(per_message),
        blocks=tuple(blocks),
        note="; ".join(dict.fromkeys(notes)) if notes else "",
    )


def _count_anthropic_estimate(prompt: Prompt[Any], info: ModelInfo) -> TokenCount:
    ratio = info.estimate_ratio
    blocks: list[BlockCount] = []
    messages: list[int] = []
    turns = 0
    previous_role = None
    # The API drops the thinking of assistant turns before the last user turn.
    last_user = max((i for i, m in enumerate(prompt.messages) if m.role == "user"), default=-1)
    for index, message, own in _with_sections(prompt):
        text_blocks = _message_text_blocks("o200k_base", index, message.text, own)
        scaled = [
            BlockCount(b.kind, b.label, index, math.ceil(b.tokens * ratio)) for b in text_blocks
        ]
        image_tokens, _ = message_image_tokens(message, ANTHROPIC_IMAGES)
        if image_tokens:
            scaled.append(BlockCount("images", "", index, image_tokens))
        others = [
            p
            for p in message.content
            if not isinstance(p, (TextPart, ImagePart))
            and not (index < last_user and _is_thinking(p))
        ]
        if others:
            extra = sum(part_tokens(p, "o200k_base", "anthropic") for p in others)
            scaled.append(BlockCount(_kind(others), "", index, math.ceil(extra * ratio)))
        role = "user" if message.role == "tool" else message.role
        if role != "system" and role != previous_role:
            turns += 1
        previous_role = role if role != "system" else previous_role
        blocks += scaled
        messages.append(sum(b.tokens for b in scaled))
    overhead = _ANTHROPIC_BASE + _ANTHROPIC_PER_TURN * max(turns - 1, 0)
    blocks.append(BlockCount("overhead", "request", None, overhead))
    if prompt.tools:
        tool_tokens = anthropic_tools_tokens(prompt, ratio, info.tool_prompt_tokens)
        blocks.append(BlockCount("tools", f"{len(prompt.tools)} tool(s)", None, tool_tokens))
    blocks += [
        BlockCount(k, label, None, n) for k, label, n in anthropic_request_options(prompt, ratio)
    ]
    if prompt.output is not None:
        schema = json.dumps(prompt.output.schema, separators=(",", ":"))
        blocks.append(
            BlockCount(
                "output schema",
                prompt.output.name,
                None,
                math.ceil(_text_tokens("o200k_base", schema) * ratio),
            )
        )
    note = (
        "Anthropic publishes no tokenizer: on 28 recorded requests this estimate was off "
        "by 3.5% (median) and at most 24% (tiny prompts); pass an Anthropic client for "
        "an exact count"
    )
    features = prompt_features(prompt)
    if features:
        note += "; " + _FEATURES_NOTE.format(features=", ".join(features))
    return TokenCount(
        total=sum(b.tokens for b in blocks),
        exact=False,
        method=f"estimate:o200k_base*{ratio:g}+overhead",
        model=info.name,
        messages=tuple(messages),
        blocks=tuple(blocks),
        note=note,
    )


# What messages.count_tokens takes of a Messages request.
# What Anthropic's count-tokens endpoint takes of a Messages request (input tokens come
# from all of these: thinking and output_config add their own instructions).
_COUNTED_FIELDS = (
    "model",
    "system",
    "messages",
    "tools",
    "tool_choice",
    "thinking",
    "output_config",
    "mcp_servers",
    "cache_control",
    "extra_headers",  # not counted: the Files API beta header, which file ids need
)

# Request fields passed through params.extra that add no input tokens. Any other field
# (tools, tool_choice, response_format, prediction, ...) makes a local count an estimate.
_NEUTRAL_EXTRA = frozenset(
    {"user", "seed", "n", "logprobs", "top_logprobs", "logit_bias", "store", "metadata",
     "service_tier", "stream_options", "presence_penalty", "frequency_penalty", "top_k",
     "top_p", "temperature", "stop", "stop_sequences", "max_tokens", "max_completion_tokens",
     "reasoning_effort", "verbosity", "parallel_tool_calls", "safety_identifier",
     "prompt_cache_key", "extra_headers", "extra_query"}
)  # fmt: skip
_FEATURES_NOTE = (
    "{features}: no published method counts these, so the count is an estimate (see "
    "docs/tokens.md for its error on recorded requests)"
)
_UNMODELLED_NOTE = (
    "{fields} in params.extra: the count's method does not model them, so it is an "
    "estimate. Tools are counted by OpenAI's cookbook formula, which on 53 recorded "
    "requests was within 25% for the gpt-4o and gpt-4.1 families (median 4% low; two with "
    "nested schemas 44% and 75% low) and 26-66% low for gpt-5 models"
)


def _unmodelled(prompt: Prompt[Any]) -> list[str]:
    """The fields in ``params.extra`` that add input tokens the count does not model."""
    extra = prompt.params.get("extra")
    return sorted(k for k in extra if k not in _NEUTRAL_EXTRA) if extra else []


def anthropic_count_request(request: dict[str, Any]) -> dict[str, Any]:
    """What the count-tokens endpoint is sent of a Messages ``request`` (the adapter's)."""
    body = {key: request[key] for key in _COUNTED_FIELDS if key in request}
    extra = request.get("extra_body") or {}
    body.update({key: extra[key] for key in _COUNTED_FIELDS if key in extra})
    return body


def _anthropic_count_request(
    prompt: Prompt[Any], model: str, info: ModelInfo | None = None
) -> dict[str, Any]:
    """The count-tokens request for what ``AnthropicProvider`` would send (tools included)."""
    name = model.split(":", 1)[1] if model.startswith("anthropic:") else model
    inline = info.inline_system if info is not None else False
    fields = anthropic_fields(prompt, inline_system=inline)
    request = {"model": name, **fields, **(prompt.params.get("extra") or {})}
    return anthropic_count_request(request)


def _unsent(prompt: Prompt[Any]) -> list[str]:
    """Fields of params.extra the count-tokens endpoint is not given."""
    return [k for k in _unmodelled(prompt) if k not in _COUNTED_FIELDS]


def anthropic_exact(name: str, input_tokens: Any, unsent: list[str]) -> TokenCount:
    note = "counted by the Anthropic API; no breakdown by block is available"
    if unsent:
        note += (
            f"; {', '.join(unsent)} in params.extra cannot be sent to the count-tokens "
            "endpoint, so this is an estimate"
        )
    return TokenCount(
        total=int(input_tokens),
        exact=not unsent,
        method="anthropic:count_tokens" + (f"+estimate:{','.join(unsent)}" if unsent else ""),
        model=name,
        note=note,
    )


def _resolve(
    prompt: Prompt[Any], model: str | None, catalog: Catalog | None
) -> tuple[str, ModelInfo]:
    name = model or prompt.model
    if not name:
        raise ConfigurationError(
            "count_tokens needs a model: pass model='gpt-4o-mini', or set model= on the template"
        )
    return name, (catalog or Catalog.default()).get(name)


def count_tokens(
    prompt: Prompt[Any],
    model: str | None = None,
    *,
    client: Any = None,
    catalog: Catalog | None = None,
) -> TokenCount:
    """Count the input tokens ``prompt`` will use on ``model`` (default: ``prompt.model``).

    Args:
        prompt: the rendered prompt.
        model: the model, e.g. ``"gpt-4o-mini"`` or ``"claude-sonnet-4-5"``.
        client: for Anthropic models, an ``anthropic.Anthropic`` client: the count then
            comes from the API's count-tokens endpoint and is exact. It counts the request
            :class:`~promptlib.AnthropicProvider` sends, output schema (as a tool) included.
        catalog: the model catalog (default: promptlib's own).

    Raises:
        ConfigurationError: no model was given, the model is unknown, or its tokenizer
            data is missing.
    """
    name, info = _resolve(prompt, model, catalog)
    if info.provider == "anthropic":
        if client is not None:
            request = _anthropic_count_request(prompt, name, info)
            counted = client.messages.count_tokens(**request).input_tokens
            return anthropic_exact(info.name, counted, _unsent(prompt))
        return _count_anthropic_estimate(prompt, info)
    return _count_openai(prompt, info)


async def acount_tokens(
    prompt: Prompt[Any],
    model: str | None = None,
    *,
    client: Any = None,
    catalog: Catalog | None = None,
) -> TokenCount:
    """The async twin of :func:`count_tokens`, for an ``anthropic.AsyncAnthropic`` client.

    Only the Anthropic count-tokens call is awaited; local counts are computed at once.
    """
    name, info = _resolve(prompt, model, catalog)
    if info.provider == "anthropic" and client is not None:
        request = _anthropic_count_request(prompt, name, info)
        response = await client.messages.count_tokens(**request)
        return anthropic_exact(info.name, response.input_tokens, _unsent(prompt))
    return count_tokens(prompt, model, catalog=catalog)


def count_messages(
    messages: Iterable[Mapping[str, str]], model: str, *, catalog: Catalog | None = None
) -> int:
    """OpenAI's per-message method on raw ``{"role", "content", "name"?}`` dicts.

    The same arithmetic :func:`count_tokens` uses, for chat payloads that are not Prompts
    (e.g. fine-tuning data). Names count ``name_tokens`` extra.
    """
    info = (catalog or Catalog.default()).get(model)
    if info.encoding is None:
        raise ConfigurationError(f"model {info.name!r} has no tokenizer encoding in the catalog")
    total = info.reply_tokens + info.count_offset
    for message in messages:
        total += info.message_tokens
        for key, value in message.items():
            total += _text_tokens(info.encoding, value)
            if key == "name":
                total += info.name_tokens
    return total


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib", BlockCount, TokenCount, acount_tokens, count_messages, count_tokens)

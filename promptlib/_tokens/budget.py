"""Fitting a prompt into a token budget.

When a prompt is over budget, :func:`fit` first drops the oldest turns of a conversation's
history (a user turn with the assistant and tool messages after it, so tool calls keep their
results), then few-shot examples (lowest priority first, then the later ones first), then
truncates delimited context blocks (the longest first, from its end, with a visible
marker). System instructions and plain messages are never touched. Cuts are made from
the end of what they shorten (history from its start: the oldest turns go, the template's
messages before the history stay), and everything before the first cut stays
byte-for-byte the same, so providers' prompt caches keep hitting on the prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from promptlib._errors import BudgetExceededError, ConfigurationError
from promptlib._messages import Message, Part, Prompt, Section, TextPart
from promptlib._tokens.catalog import Catalog, ModelInfo
from promptlib._tokens.counting import TokenCount, count_tokens
from promptlib._tokens.encodings import get_encoding

__all__ = ["Fitted", "fit", "without_examples"]

_SEPARATOR = "\n\n"
_MARKER = "[... truncated:"
_EARLIER_CUT = re.compile(r"\n?\[\.\.\. truncated: (\d+) of \d+ tokens omitted \.\.\.\]$")
# The closing tag that ends a structured item's body: its last field's.
_FIELD_CLOSE = re.compile(r"</([A-Za-z][\w.-]*)>\Z")
_BLOCK = re.compile(
    r"(<(?P<tag>[A-Za-z][\w.-]*)(?: index=\"\d+\")?>\n)(?P<body>.*?)(\n</(?P=tag)>)", re.DOTALL
)


@dataclass(frozen=True)
class Fitted:
    """A prompt fitted into a budget.

    Attributes:
        prompt: the prompt, shortened if it had to be (the original if it fit).
        tokens: its token count.
        budget: the budget it fits.
        dropped: what was removed, in order, e.g. ``"example 5"`` or
            ``"context 'document': 2,410 -> 1,150 tokens"``.
    """

    prompt: Prompt[Any]
    tokens: TokenCount
    budget: int
    dropped: tuple[str, ...] = ()


@dataclass
class _Piece:
    kind: str
    label: str
    priority: int
    text: str


@dataclass
class _Draft:
    """A prompt taken apart into its blocks, to drop and cut, then put back together."""

    pieces: list[list[_Piece] | None]  # None: a message without sections, kept whole
    originals: list[Message]
    others: list[tuple[Part, ...]]  # the parts after the text (images)
    dropped: list[str] = field(default_factory=list)
    # History turns by message index: (history label, turn group); dropped whole.
    turns: dict[int, tuple[str, int]] = field(default_factory=dict)
    gone: set[int] = field(default_factory=set)

    @classmethod
    def of(cls, prompt: Prompt[Any]) -> _Draft:
        by_message: dict[int, list[Section]] = {}
        for s in prompt.sections:
            if s.part == 0:
                by_message.setdefault(s.message, []).append(s)
        draft = cls([], list(prompt.messages), [])
        for index, message in enumerate(prompt.messages):
            first = message.content[0] if message.content else None
            sections = sorted(by_message.get(index, []), key=lambda s: s.start)
            if sections and sections[0].kind == "history" and message.role != "system":
                draft.turns[index] = (sections[0].label, sections[0].priority)
                draft.pieces.append(None)
                draft.others.append(())
                continue
            text = first.text if isinstance(first, TextPart) else None
            pieces = [
                _Piece(s.kind, s.label, s.priority, (text or "")[s.start : s.end]) for s in sections
            ]
            tiled = text is not None and pieces and _SEPARATOR.join(p.text for p in pieces) == text
            draft.pieces.append(pieces if tiled else None)
            draft.others.append(message.content[1:] if tiled else ())
        return draft

    def history_groups(self) -> list[tuple[str, int]]:
        """History turn groups that may go, oldest first: all but each history's newest
        (the turn the conversation is at is never dropped)."""
        groups = sorted(set(self.turns.values()), key=lambda group: (group[1], group[0]))
        newest: dict[str, int] = {}
        for label, number in groups:
            newest[label] = max(number, newest.get(label, number))
        return [g for g in groups if g[1] != newest[g[0]]]

    def drop_turns(self, group: tuple[str, int]) -> None:
        indices = [i for i, g in self.turns.items() if g == group]
        self.gone.update(indices)
        self.dropped.append(f"history {group[0]!r} turn {group[1] + 1} ({len(indices)} messages)")

    def examples(self) -> list[tuple[int, str]]:
        """Droppable examples as (priority, label), in the order to drop them."""
        seen: dict[str, int] = {}
        order: list[str] = []
        for pieces in self.pieces:
            for piece in pieces or []:
                if piece.kind == "examples" and piece.label.isdigit() and piece.label not in seen:
                    seen[piece.label] = piece.priority
                    order.append(piece.label)
        ranked = sorted(order, key=lambda label: (seen[label], -int(label)))
        return [(seen[label], label) for label in ranked]

    def drop_example(self, label: str) -> None:
        for pieces in self.pieces:
            if pieces is not None:
                pieces[:] = [p for p in pieces if not (p.kind == "examples" and p.label == label)]
        self.dropped.append(f"example {label}")

    def contexts(self) -> list[_Piece]:
        """Context blocks, longest first (among equals, the later first).

        Long blocks are usually retrieved documents, and cutting them costs the least
        meaning; a short customer message is cut only if the documents were not enough.
        """
        found = [p for pieces in self.pieces for p in pieces or [] if p.kind == "context"]
        ranked = sorted(enumerate(found), key=lambda item: (-len(item[1].text), -item[0]))
        return [piece for _, piece in ranked]

    def build(self, prompt: Prompt[Any]) -> Prompt[Any]:
        messages: list[Message] = []
        sections: list[Section] = []
        rows = zip(self.pieces, self.originals, self.others, strict=True)
        for number, (pieces, original, others) in enumerate(rows):
            if number in self.gone:
                continue
            if pieces is None:
                if number in self.turns:  # a history turn: its section moves with it
                    label, group = self.turns[number]
                    sections.append(Section.of_turn(label, original, len(messages), group))
                messages.append(original)
                continue
            if not pieces and not others:
                continue  # every block of this message was dropped
            index, position = len(messages), 0
            for piece in pieces:
                end = position + len(piece.text)
                sections.append(
                    Section(piece.kind, piece.label, index, 0, position, end, piece.priority)
                )
                position = end + len(_SEPARATOR)
            text = _SEPARATOR.join(p.text for p in pieces)
            if original.content[:1] == (TextPart(text),):
                messages.append(original)  # unchanged: the very same message
                continue
            content = ((TextPart(text),) if text else ()) + others
            messages.append(Message(original.role, content, original.name))
        return replace(prompt, messages=tuple(messages), sections=tuple(sections))


def _budget_for(
    prompt: Prompt[Any], info: ModelInfo, budget: int | None, reserve: int | None
) -> int:
    if budget is not None:
        return budget
    limit = info.input_limit
    if limit is None:
        raise ConfigurationError(
            f"the catalog has no context window for {info.name!r}: pass budget= explicitly"
        )
    if reserve is None:
        requested = prompt.params.get("max_tokens")
        reserve = requested if isinstance(requested, int) else info.max_output_tokens or 0
    window = info.context_window if info.context_window is not None else limit
    return min(limit, window - reserve)


def _whole_graphemes(text: str, prefix: bytes) -> str:
    """The longest start of ``text`` within the bytes ``prefix`` that ends between two
    graphemes: a token boundary may fall inside a character (a byte of a multi-byte
    UTF-8 sequence) or inside a grapheme (an accent, a skin tone, a flag's second half)."""
    import regex

    room = len(prefix.decode("utf-8", errors="ignore"))  # whole characters only
    end = 0
    for grapheme in regex.finditer(r"\X", text):
        if grapheme.end() > room:
            break
        end = grapheme.end()
    return text[:end]


def _cuttable(body: str) -> tuple[str, str, str]:
    """``body`` as (kept before, text to cut, kept after): for a structured item, the text
    of its last field, so that every element stays closed; else all of it."""
    closing = _FIELD_CLOSE.search(body)
    if closing is None:
        return "", body, ""
    opening = body.rfind(f"<{closing.group(1)}>")
    if opening == -1:
        return "", body, ""
    start, end = opening + len(closing.group(1)) + 2, closing.start()
    if body[start : start + 1] == "\n" and body[end - 1 : end] == "\n":
        start, end = start + 1, end - 1
    return body[:start], body[start:end], body[end:]


def _truncate(piece: _Piece, cut: int, encoding: str, ratio: float) -> int:
    """Cut about ``cut`` tokens from the end of a context block; return the tokens cut."""
    blocks = [
        b
        for b in _BLOCK.finditer(piece.text)
        if not _cuttable(b.group("body"))[1].startswith(_MARKER)
    ]
    if not blocks:
        return 0
    last = blocks[-1]  # the last block that still has text of its own
    head, body, tail = _cuttable(last.group("body"))
    omitted = 0
    earlier = _EARLIER_CUT.search(body)
    if earlier:  # cut before: take the marker off, and remember what it already omitted
        body, omitted = body[: earlier.start()], int(earlier.group(1))
    enc = get_encoding(encoding)
    tokens = enc.encode(body, disallowed_special=())
    remove = min(len(tokens), max(1, int(cut / ratio) + 12))  # +12: room for the marker
    kept = _whole_graphemes(body, enc.decode_bytes(tokens[: len(tokens) - remove])).rstrip()
    marker = f"{_MARKER} {remove + omitted} of {len(tokens) + omitted} tokens omitted ...]"
    new_body = head + (f"{kept}\n{marker}" if kept else marker) + tail
    piece.text = piece.text[: last.start("body")] + new_body + piece.text[last.end("body") :]
    return remove


def without_examples(prompt: Prompt[Any]) -> Prompt[Any]:
    """``prompt`` without its few-shot examples (e.g. for fine-tuning data, where the
    training itself teaches by example)."""
    draft = _Draft.of(prompt)
    for _priority, label in draft.examples():
        draft.drop_example(label)
    return draft.build(prompt) if draft.dropped else prompt


def fit(
    prompt: Prompt[Any],
    model: str | None = None,
    *,
    budget: int | None = None,
    reserve_output: int | None = None,
    catalog: Catalog | None = None,
) -> Fitted:
    """Shorten ``prompt`` until it fits its token budget.

    Args:
        prompt: the rendered prompt.
        model: the model (default: ``prompt.model``); sets the tokenizer and the window.
        budget: an explicit input-token limit. Without it: the model's context window minus
            ``reserve_output``.
        reserve_output: tokens kept free for the reply (default: the prompt's
            ``max_tokens`` parameter, else the model's maximum output).
        catalog: the model catalog (default: promptlib's own).

    Raises:
        BudgetExceededError: even with every history turn and example dropped and every
            context block cut to nothing, the prompt does not fit; the message says where
            its tokens are.
    """
    catalog = catalog or Catalog.default()
    count = count_tokens(prompt, model, catalog=catalog)
    info = catalog.get(count.model if model is None else model)
    limit = _budget_for(prompt, info, budget, reserve_output)
    if count.total <= limit:
        return Fitted(prompt, count, limit)
    draft = _Draft.of(prompt)
    current, tokens = prompt, count
    groups = draft.history_groups()
    if groups:
        # Fewest oldest groups to drop, found by bisection: a long history costs a few
        # counts, not one per turn.
        low, high = 1, len(groups)
        while low < high:
            middle = (low + high) // 2
            trial = _Draft.of(prompt)
            for group in groups[:middle]:
                trial.drop_turns(group)
            if count_tokens(trial.build(prompt), model, catalog=catalog).total <= limit:
                high = middle
            else:
                low = middle + 1
        for group in groups[:low]:
            draft.drop_turns(group)
        current = draft.build(prompt)
        tokens = count_tokens(current, model, catalog=catalog)
        if tokens.total <= limit:
            return Fitted(current, tokens, limit, tuple(draft.dropped))
    for _priority, label in draft.examples():
        draft.drop_example(label)
        current = draft.build(prompt)
        tokens = count_tokens(current, model, catalog=catalog)
        if tokens.total <= limit:
            return Fitted(current, tokens, limit, tuple(draft.dropped))
    encoding = info.encoding or "o200k_base"
    ratio = info.estimate_ratio if info.provider == "anthropic" else 1.0
    for piece in draft.contexts():
        before = next(
            (
                b.tokens
                for b in tokens.blocks
                if b.kind == "context" and b.label.startswith(piece.label)
            ),
            0,
        )
        # Each pass cuts the last block that still has text, or turns it into a marker:
        # the loop ends when the prompt fits or the block has nothing left to cut.
        while _truncate(piece, tokens.total - limit, encoding, ratio):
            current = draft.build(prompt)
            tokens = count_tokens(current, model, catalog=catalog)
            if tokens.total <= limit:
                break
        after = next(
            (
                b.tokens
                for b in tokens.blocks
                if b.kind == "context" and b.label.startswith(piece.label)
            ),
            0,
        )
        draft.dropped.append(f"context {piece.label!r}: {before:,} -> {after:,} tokens")
        if tokens.total <= limit:
            return Fitted(current, tokens, limit, tuple(draft.dropped))
    where = ", ".join(f"{kind} {n:,}" for kind, n in tokens.by_kind().items())
    raise BudgetExceededError(
        f"the prompt needs {tokens.total:,} tokens on {info.name} but the budget is {limit:,}, "
        f"even with {len(draft.dropped)} cut(s) "
        f"({'; '.join(draft.dropped) or 'nothing could be dropped'}). "
        f"Its tokens: {where}. System instructions and plain messages are never cut: shorten "
        "them, reserve fewer output tokens, or use a model with a larger context window.",
        tokens=tokens.total,
        budget=limit,
    )


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib", Fitted, fit)

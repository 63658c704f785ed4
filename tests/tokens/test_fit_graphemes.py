"""fit() cuts context between graphemes: never inside a character or a grapheme cluster."""

from __future__ import annotations

import regex

from promptlib import count_tokens, fit
from promptlib._tokens.budget import _whole_graphemes
from tests.tokens.test_budget import template

# Multi-byte characters, combining accents, skin tones, ZWJ families and flags: token
# boundaries fall inside all of them.
HARD = "Crème brûlée 👍🏽 👩‍👩‍👧‍👦 🇫🇷🇩🇪 e\u0301 日本語のテキスト ".strip() + " "


def test_every_cut_of_hard_text_ends_between_graphemes():
    text = HARD * 3
    encoded = text.encode("utf-8")
    ends = {0, *(m.end() for m in regex.finditer(r"\X", text))}
    for size in range(len(encoded) + 1):
        kept = _whole_graphemes(text, encoded[:size])
        assert text.startswith(kept)
        assert len(kept) in ends
        assert len(kept.encode("utf-8")) <= size


def test_fit_never_leaves_a_replacement_character_or_a_broken_grapheme():
    document = HARD * 60
    for cut in range(50, 400, 7):
        prompt = template().render(document=document, question="What is in it?")
        fitted = fit(prompt, budget=count_tokens(prompt).total - cut)
        text = fitted.prompt.messages[-1].text
        assert "\ufffd" not in text
        if "\n[... truncated" not in text:
            continue  # the examples were enough
        body = text.split("<document>\n", 1)[1].split("\n[... truncated", 1)[0]
        assert document.startswith(body)
        assert len(body) in {0, *(m.end() for m in regex.finditer(r"\X", document))}

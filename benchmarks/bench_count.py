"""Count a realistic 12-message prompt, against raw tiktoken encoding of the same text.

The prompt is the one bench_render.py renders (a system message, 5 few-shot pairs, a
document and a question: 12 messages), with the document lengthened to make ~2,400 tokens.
Three measurements:

* raw tiktoken: ``Encoding.encode`` of every message's text (the work any counter does);
* promptlib, fresh: ``count_tokens`` with its caches emptied before every call;
* promptlib, only the question changes: each call counts a prompt whose question is new
  (as in production, where the system text, examples and document repeat).

    python benchmarks/bench_count.py
"""

from __future__ import annotations

import itertools
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import tiktoken
from _timing import interleaved, report
from bench_render import PARAGRAPH, QUESTION, promptlib_template

from promptlib import count_tokens
from promptlib._tokens.counting import clear_caches
from promptlib._tokens.encodings import get_encoding

ROUNDS = 400
MODEL = "gpt-4o"
DOCUMENT = PARAGRAPH * 32  # about 2,400 tokens in all


def main() -> None:
    template = promptlib_template()
    prompt = template.render(company="ACME", document=DOCUMENT, question=QUESTION)
    encoding = get_encoding("o200k_base")
    texts = [m.text for m in prompt.messages]

    def raw() -> int:
        return sum(len(encoding.encode(text)) for text in texts)

    def fresh() -> int:
        clear_caches()
        return count_tokens(prompt, MODEL).total

    questions = itertools.cycle(
        [
            template.render(company="ACME", document=DOCUMENT, question=f"{QUESTION} ({i})")
            for i in range(5000)
        ]
    )

    def question_changes() -> int:
        return count_tokens(next(questions), MODEL).total

    assert count_tokens(prompt, MODEL).exact
    reference = "raw tiktoken encode"
    # Two runs: emptying the caches for the fresh side must not empty them for the other.
    rows = interleaved({reference: raw, "promptlib, fresh": fresh}, reference, ROUNDS)
    count_tokens(next(questions), MODEL)  # warm: system, examples and document are cached
    rows += interleaved(
        {reference: raw, "promptlib, only the question changes": question_changes},
        reference,
        ROUNDS,
    )[1:]
    tokens = count_tokens(prompt, MODEL)
    print(
        f"python {platform.python_version()}, tiktoken {tiktoken.__version__}, {platform.machine()}"
    )
    size = f"{len(prompt.messages)} messages, {tokens.total} tokens"
    print(f"prompt: {size} on {MODEL} ({tokens.method})")
    report(rows, reference, ROUNDS)
    print("command: python benchmarks/bench_count.py")


if __name__ == "__main__":
    main()

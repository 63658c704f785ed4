"""Render a realistic prompt with promptlib and with raw compiled jinja2.

The prompt: a system message, 5 few-shot pairs, a ~2,000-token delimited document and a
question: 12 messages. Both sides produce the same message texts (checked before timing).
The reference is raw jinja2 doing the same string work at its fastest: an unsandboxed
Environment, one template compiled once rendering every message in one pass, no input
validation, and one regex escaping the closing tag in the document. Two more baselines:
the same without escaping (the floor), and one compiled template per message.

    python benchmarks/bench_render.py
"""

from __future__ import annotations

import platform
import re
import sys
from pathlib import Path

import jinja2
from pydantic import BaseModel

sys.path.insert(0, str(Path(__file__).parent))
from _timing import interleaved, report

from promptlib import (
    Context,
    Example,
    FewShot,
    System,
    Template,
    Untrusted,
    User,
)

SYSTEM = (
    "You are a support assistant for {{ company }}. Answer the customer's question using only "
    "the document provided. If the document does not contain the answer, say so. Keep answers "
    "under 120 words and cite the section you used."
)
EXAMPLES = [
    (
        f"What does section {i} say about refunds for plan {i}?",
        f"Section {i} says refunds for plan {i} are available within {10 * i} days.",
    )
    for i in range(1, 6)
]
# ~2,000 tokens of realistic prose, with a '<' or two as real documents have.
PARAGRAPH = (
    "Customers on annual plans may request a refund within 30 days of renewal. Refunds are "
    "issued to the original payment method and appear within 5-10 business days. Usage-based "
    "charges incurred before cancellation are not refundable. If usage < quota, the unused "
    "part of the quota is not credited. Enterprise contracts follow their own terms. "
)
DOCUMENT = PARAGRAPH * 23
QUESTION = "Can I get a refund for my annual plan after 20 days?"


ROUNDS = 400
CLOSER = re.compile(r"<(?=\s*/?\s*document\b)", re.IGNORECASE)


class Inputs(BaseModel):
    company: str
    document: Untrusted
    question: str


def promptlib_template() -> Template[Inputs, str]:
    return Template(
        [
            System(SYSTEM),
            FewShot([Example(q, a) for q, a in EXAMPLES]),
            Context("document"),
            User("{{ question }}"),
        ],
        name="support-answer",
        version="1.0.0",
        inputs=Inputs,
    )


def raw_jinja2(escape: bool) -> object:
    """One compiled template renders every message in one pass; the texts are then split."""
    env = jinja2.Environment(autoescape=False, undefined=jinja2.StrictUndefined)
    template = env.from_string(
        SYSTEM
        + "\x1e{% for q, a in examples %}{{ q }}\x1e{{ a }}\x1e{% endfor %}"
        + "<document>\n{{ document }}\n</document>\n\n{{ question }}"
    )
    roles = ["system", *["user", "assistant"] * len(EXAMPLES), "user"]

    def render(company: str, document: str, question: str) -> list[tuple[str, str]]:
        safe = CLOSER.sub("&lt;", document) if escape else document
        text = template.render(company=company, examples=EXAMPLES, document=safe, question=question)
        return list(zip(roles, text.split("\x1e"), strict=True))

    return render


def raw_jinja2_per_message() -> object:
    """One compiled template per message, as chat-prompt libraries render them."""
    env = jinja2.Environment(autoescape=False, undefined=jinja2.StrictUndefined)
    system = env.from_string(SYSTEM)
    example_in = env.from_string("{{ input }}")
    example_out = env.from_string("{{ output }}")
    user = env.from_string("<document>\n{{ document }}\n</document>\n\n{{ question }}")

    def render(company: str, document: str, question: str) -> list[tuple[str, str]]:
        messages = [("system", system.render(company=company))]
        for q, a in EXAMPLES:
            messages.append(("user", example_in.render(input=q)))
            messages.append(("assistant", example_out.render(output=a)))
        safe = CLOSER.sub("&lt;", document)
        messages.append(("user", user.render(document=safe, question=question)))
        return messages

    return render


def main() -> None:
    template = promptlib_template()
    values = {"company": "ACME", "document": DOCUMENT, "question": QUESTION}
    prompt = template.render(**values)
    expected = [(m.role, m.text) for m in prompt.messages]
    assert len(expected) == 12
    baselines = {
        "raw jinja2, same work (1 pass)": raw_jinja2(escape=True),
        "raw jinja2, no escaping (floor)": raw_jinja2(escape=False),
        "raw jinja2, one per message": raw_jinja2_per_message(),
    }
    for render in baselines.values():
        assert render(**values) == expected, "every side must produce the same messages"  # type: ignore[operator]

    sides = {name: (lambda r=r: r(**values)) for name, r in baselines.items()}  # type: ignore[misc]
    sides["promptlib render"] = lambda: template.render(**values)
    sides["promptlib render + prompt.hash"] = lambda: template.render(**values).hash
    reference = "raw jinja2, same work (1 pass)"
    rows = interleaved(sides, reference, ROUNDS)
    print(f"python {platform.python_version()}, jinja2 {jinja2.__version__}, {platform.machine()}")
    print(f"prompt: 12 messages, {sum(len(t) for _, t in expected)} characters")
    report(rows, reference, ROUNDS)
    print("command: python benchmarks/bench_render.py")


if __name__ == "__main__":
    main()

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from promptlib import Message, Prompt, TextPart

DATA = Path(__file__).parents[1] / "data"


def records(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line]


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n\n".join(part["text"] for part in content)


def prompt_of(system: Any, messages: list[dict[str, Any]]) -> Prompt[str]:
    """A Prompt holding a recorded request's system text and messages."""
    built = [Message("system", (TextPart(_text(system)),))] if system else []
    built += [Message(m["role"], (TextPart(_text(m["content"])),)) for m in messages]
    return Prompt(messages=tuple(built))

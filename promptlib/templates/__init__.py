"""Typed, composable prompt templates rendered in a sandboxed, strict Jinja environment."""

from typing import TYPE_CHECKING, Any

from promptlib.templates.blocks import (
    Assistant,
    Block,
    Blocks,
    ChainOfThought,
    Context,
    JsonOutput,
    System,
    User,
)
from promptlib.templates.delimiters import Untrusted, delimit
from promptlib.templates.fewshot import Example, FewShot
from promptlib.templates.template import Template

if TYPE_CHECKING:
    from promptlib.templates.inputs import NoInputs

__all__ = [
    "Assistant",
    "Block",
    "Blocks",
    "ChainOfThought",
    "Context",
    "Example",
    "FewShot",
    "JsonOutput",
    "NoInputs",
    "System",
    "Template",
    "Untrusted",
    "User",
    "delimit",
]


def __getattr__(name: str) -> Any:
    # NoInputs is a pydantic model: created on first use, so importing stays light.
    if name == "NoInputs":
        from promptlib.templates.inputs import no_inputs

        return no_inputs()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

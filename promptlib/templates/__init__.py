"""Typed, composable prompt templates rendered in a sandboxed, strict Jinja environment."""

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
from promptlib.templates.delimiters import UNTRUSTED, Untrusted, delimit
from promptlib.templates.fewshot import Example, FewShot
from promptlib.templates.limits import Limits, use_limits
from promptlib.templates.template import Template

__all__ = [
    "UNTRUSTED",
    "Assistant",
    "Block",
    "Blocks",
    "ChainOfThought",
    "Context",
    "Example",
    "FewShot",
    "JsonOutput",
    "Limits",
    "System",
    "Template",
    "Untrusted",
    "User",
    "delimit",
    "use_limits",
]

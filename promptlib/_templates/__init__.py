"""Typed, composable prompt templates rendered in a sandboxed, strict Jinja environment."""

from promptlib._templates.blocks import (
    Assistant,
    Block,
    Blocks,
    ChainOfThought,
    Context,
    JsonOutput,
    System,
    User,
)
from promptlib._templates.delimiters import UNTRUSTED, Untrusted, delimit
from promptlib._templates.fewshot import Example, FewShot
from promptlib._templates.limits import Limits, use_limits
from promptlib._templates.template import Template

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

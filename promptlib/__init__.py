"""promptlib: typed, composable, versioned LLM prompt templates.

Define a :class:`Template` from blocks, render it into a provider-neutral :class:`Prompt`,
and parse the model's reply back into your output type.
"""

from typing import TYPE_CHECKING, Any

from promptlib.errors import (
    InputError,
    ModelOutputError,
    OutputParseError,
    PromptFormatError,
    PromptlibError,
    PromptlibWarning,
    TemplateError,
    TemplateRenderError,
    TemplateSecurityError,
    UnusedInputWarning,
    UsageError,
)
from promptlib.messages import ImagePart, Message, Part, Prompt, PromptMeta, Role, Section, TextPart
from promptlib.output import OutputSpec, Reasoned, ReasoningSpec
from promptlib.params import Params
from promptlib.templates import (
    Assistant,
    Block,
    Blocks,
    ChainOfThought,
    Context,
    Example,
    FewShot,
    JsonOutput,
    System,
    Template,
    Untrusted,
    User,
    delimit,
)

if TYPE_CHECKING:
    from promptlib.repository import CheckProblem, Registry, TemplateFile, Version
    from promptlib.templates.inputs import NoInputs

# Loaded on first use, to keep `import promptlib` light.
_LAZY = {
    "CheckProblem": "promptlib.repository",
    "Registry": "promptlib.repository",
    "TemplateFile": "promptlib.repository",
    "Version": "promptlib.repository",
}

__version__ = "0.1.0.dev0"

__all__ = [
    "Assistant",
    "Block",
    "Blocks",
    "ChainOfThought",
    "CheckProblem",
    "Context",
    "Example",
    "FewShot",
    "ImagePart",
    "InputError",
    "JsonOutput",
    "Message",
    "ModelOutputError",
    "NoInputs",
    "OutputParseError",
    "OutputSpec",
    "Params",
    "Part",
    "Prompt",
    "PromptFormatError",
    "PromptMeta",
    "PromptlibError",
    "PromptlibWarning",
    "Reasoned",
    "ReasoningSpec",
    "Registry",
    "Role",
    "Section",
    "System",
    "Template",
    "TemplateError",
    "TemplateFile",
    "TemplateRenderError",
    "TemplateSecurityError",
    "TextPart",
    "Untrusted",
    "UnusedInputWarning",
    "UsageError",
    "User",
    "Version",
    "__version__",
    "delimit",
]


def __getattr__(name: str) -> Any:
    if name == "NoInputs":
        from promptlib.templates.inputs import no_inputs

        return no_inputs()
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

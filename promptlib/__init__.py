"""promptlib: typed, composable, versioned LLM prompt templates.

Define a :class:`Template` from blocks, render it into a provider-neutral :class:`Prompt`,
and parse the model's reply back into your output type.
"""

from typing import TYPE_CHECKING, Any

from promptlib.errors import (
    AuthenticationError,
    BudgetExceededError,
    ConfigurationError,
    InputError,
    ModelOutputError,
    ModelRefusalError,
    OutputParseError,
    OutputTruncatedError,
    OutputValidationError,
    PromptFormatError,
    PromptlibError,
    PromptlibWarning,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    QuotaExceededError,
    RateLimitError,
    RequestRejectedError,
    RequestsBlockedError,
    StreamStateError,
    TemplateError,
    TemplateRenderError,
    TemplateSecurityError,
    ToolArgumentsError,
    UnsupportedFeatureError,
    UnusedInputWarning,
    UsageError,
    WaitTimeoutError,
)
from promptlib.messages import Message, Prompt, PromptMeta, Role, Section
from promptlib.output import OutputSpec, Reasoned, ReasoningSpec
from promptlib.params import Params
from promptlib.parts import (
    DocumentPart,
    ImagePart,
    NativePart,
    Part,
    TextPart,
    ToolCall,
    ToolResult,
)
from promptlib.templates import (
    UNTRUSTED,
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
from promptlib.tools import NativeTool, Tool

if TYPE_CHECKING:
    from promptlib._secrets import SecretsFilter
    from promptlib.providers.anthropic import AnthropicProvider
    from promptlib.providers.base import CompletionStream
    from promptlib.providers.completion import Completion
    from promptlib.providers.openai import OpenAIProvider
    from promptlib.providers.protocol import AsyncReplyStream, Provider, ReplyStream
    from promptlib.providers.registry import get_provider, register_provider
    from promptlib.providers.retry import RetryPolicy
    from promptlib.providers.servers import ServerProfile
    from promptlib.repository import CheckProblem, Registry, TemplateFile, Version
    from promptlib.templates.history import Conversation, History
    from promptlib.templates.inputs import NoInputs
    from promptlib.tokens import (
        BlockCount,
        Catalog,
        Cost,
        CostEstimate,
        Fitted,
        ModelInfo,
        TokenCount,
        Usage,
        acount_tokens,
        cost_of,
        count_messages,
        count_tokens,
        estimate_cost,
        fit,
    )

# Loaded on first use, to keep `import promptlib` light.
_LAZY = {
    "Conversation": "promptlib.templates.history",
    "History": "promptlib.templates.history",
    "AnthropicProvider": "promptlib.providers.anthropic",
    "get_provider": "promptlib.providers.registry",
    "register_provider": "promptlib.providers.registry",
    "CompletionStream": "promptlib.providers.base",
    "OpenAIProvider": "promptlib.providers.openai",
    "Provider": "promptlib.providers.protocol",
    "ReplyStream": "promptlib.providers.protocol",
    "AsyncReplyStream": "promptlib.providers.protocol",
    "ServerProfile": "promptlib.providers.servers",
    "SecretsFilter": "promptlib._secrets",
    "RetryPolicy": "promptlib.providers.retry",
    "Completion": "promptlib.providers.completion",
    "CheckProblem": "promptlib.repository",
    "Registry": "promptlib.repository",
    "TemplateFile": "promptlib.repository",
    "Version": "promptlib.repository",
    "BlockCount": "promptlib.tokens",
    "Catalog": "promptlib.tokens",
    "Cost": "promptlib.tokens",
    "CostEstimate": "promptlib.tokens",
    "Fitted": "promptlib.tokens",
    "ModelInfo": "promptlib.tokens",
    "TokenCount": "promptlib.tokens",
    "Usage": "promptlib.tokens",
    "acount_tokens": "promptlib.tokens",
    "count_messages": "promptlib.tokens",
    "count_tokens": "promptlib.tokens",
    "cost_of": "promptlib.tokens",
    "estimate_cost": "promptlib.tokens",
    "fit": "promptlib.tokens",
}

__version__ = "0.1.0.dev0"

__all__ = [  # noqa: RUF022  (sorted plainly, as the reference lists them)
    "AnthropicProvider",
    "Assistant",
    "AsyncReplyStream",
    "AuthenticationError",
    "Block",
    "BlockCount",
    "Blocks",
    "BudgetExceededError",
    "Catalog",
    "ChainOfThought",
    "CheckProblem",
    "Completion",
    "CompletionStream",
    "ConfigurationError",
    "Context",
    "Conversation",
    "Cost",
    "CostEstimate",
    "DocumentPart",
    "Example",
    "FewShot",
    "Fitted",
    "History",
    "ImagePart",
    "InputError",
    "JsonOutput",
    "Message",
    "ModelInfo",
    "ModelOutputError",
    "ModelRefusalError",
    "NativePart",
    "NativeTool",
    "NoInputs",
    "OpenAIProvider",
    "OutputParseError",
    "OutputSpec",
    "OutputTruncatedError",
    "OutputValidationError",
    "Params",
    "Part",
    "Prompt",
    "PromptFormatError",
    "PromptMeta",
    "PromptlibError",
    "PromptlibWarning",
    "Provider",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderTimeoutError",
    "ProviderUnavailableError",
    "QuotaExceededError",
    "RateLimitError",
    "Reasoned",
    "ReasoningSpec",
    "Registry",
    "ReplyStream",
    "RequestRejectedError",
    "RequestsBlockedError",
    "RetryPolicy",
    "Role",
    "SecretsFilter",
    "Section",
    "ServerProfile",
    "StreamStateError",
    "System",
    "Template",
    "TemplateError",
    "TemplateFile",
    "TemplateRenderError",
    "TemplateSecurityError",
    "TextPart",
    "TokenCount",
    "Tool",
    "ToolArgumentsError",
    "ToolCall",
    "ToolResult",
    "UNTRUSTED",
    "UnsupportedFeatureError",
    "Untrusted",
    "UnusedInputWarning",
    "Usage",
    "UsageError",
    "User",
    "Version",
    "WaitTimeoutError",
    "__version__",
    "acount_tokens",
    "cost_of",
    "count_messages",
    "count_tokens",
    "delimit",
    "estimate_cost",
    "fit",
    "get_provider",
    "register_provider",
]


def __getattr__(name: str) -> Any:
    if name == "NoInputs":
        from promptlib.templates.inputs import no_inputs

        return no_inputs()
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

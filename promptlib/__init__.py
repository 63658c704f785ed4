"""promptlib: typed, composable, versioned LLM prompt templates.

Define a :class:`Template` from blocks, render it into a provider-neutral :class:`Prompt`,
and parse the model's reply back into your output type.
"""

from typing import TYPE_CHECKING, Any

from promptlib._errors import (
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
from promptlib._messages import Message, Prompt, PromptMeta, Role, Section
from promptlib._output import OutputSpec, Reasoned, ReasoningSpec
from promptlib._params import Params
from promptlib._parts import (
    DocumentPart,
    ImagePart,
    NativePart,
    Part,
    TextPart,
    ToolCall,
    ToolResult,
)
from promptlib._templates import (
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
from promptlib._templates.limits import Limits, use_limits
from promptlib._tools import NativeTool, Tool

if TYPE_CHECKING:
    from promptlib._providers.anthropic import AnthropicProvider
    from promptlib._providers.base import CompletionStream
    from promptlib._providers.completion import Completion
    from promptlib._providers.openai import OpenAIProvider
    from promptlib._providers.protocol import AsyncReplyStream, Provider, ReplyStream
    from promptlib._providers.registry import get_provider, register_provider
    from promptlib._providers.retry import RetryPolicy
    from promptlib._providers.servers import ServerProfile
    from promptlib._repository import CheckProblem, Registry, TemplateFile, Version
    from promptlib._secrets import SecretsFilter
    from promptlib._templates.history import Conversation, History
    from promptlib._templates.inputs import NoInputs
    from promptlib._tokens import (
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
    "Conversation": "promptlib._templates.history",
    "History": "promptlib._templates.history",
    "AnthropicProvider": "promptlib._providers.anthropic",
    "get_provider": "promptlib._providers.registry",
    "register_provider": "promptlib._providers.registry",
    "CompletionStream": "promptlib._providers.base",
    "OpenAIProvider": "promptlib._providers.openai",
    "Provider": "promptlib._providers.protocol",
    "ReplyStream": "promptlib._providers.protocol",
    "AsyncReplyStream": "promptlib._providers.protocol",
    "ServerProfile": "promptlib._providers.servers",
    "SecretsFilter": "promptlib._secrets",
    "RetryPolicy": "promptlib._providers.retry",
    "Completion": "promptlib._providers.completion",
    "CheckProblem": "promptlib._repository",
    "Registry": "promptlib._repository",
    "TemplateFile": "promptlib._repository",
    "Version": "promptlib._repository",
    "BlockCount": "promptlib._tokens",
    "Catalog": "promptlib._tokens",
    "Cost": "promptlib._tokens",
    "CostEstimate": "promptlib._tokens",
    "Fitted": "promptlib._tokens",
    "ModelInfo": "promptlib._tokens",
    "TokenCount": "promptlib._tokens",
    "Usage": "promptlib._tokens",
    "acount_tokens": "promptlib._tokens",
    "count_messages": "promptlib._tokens",
    "count_tokens": "promptlib._tokens",
    "cost_of": "promptlib._tokens",
    "estimate_cost": "promptlib._tokens",
    "fit": "promptlib._tokens",
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
    "Limits",
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
    "use_limits",
]


def __getattr__(name: str) -> Any:
    if name == "NoInputs":
        from promptlib._templates.inputs import no_inputs

        return no_inputs()
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

import promptlib

EXPECTED = [
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


def test_public_api_is_pinned():
    assert promptlib.__all__ == EXPECTED
    assert promptlib.__all__ == sorted(promptlib.__all__)
    for name in promptlib.__all__:
        assert getattr(promptlib, name) is not None


def test_error_families():
    assert issubclass(promptlib.TemplateSecurityError, promptlib.TemplateError)
    assert issubclass(promptlib.TemplateError, promptlib.UsageError)
    assert issubclass(promptlib.InputError, promptlib.UsageError)
    assert issubclass(promptlib.OutputParseError, promptlib.ModelOutputError)
    assert not issubclass(promptlib.ModelOutputError, promptlib.UsageError)
    assert issubclass(promptlib.UsageError, promptlib.PromptlibError)


def test_error_tree_in_docs_matches_the_module():
    import textwrap
    from pathlib import Path

    doc = promptlib.errors.__doc__ or ""
    tree = textwrap.dedent(doc[doc.index("    PromptlibError\n") : doc.index("\nMessages")]).strip()
    page = (Path(__file__).parents[1] / "docs" / "errors.md").read_text()
    assert tree in page

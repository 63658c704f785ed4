import promptlib
import promptlib.testing

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

    doc = promptlib._errors.__doc__ or ""
    tree = textwrap.dedent(doc[doc.index("    PromptlibError\n") : doc.index("\nMessages")]).strip()
    page = (Path(__file__).parents[1] / "docs" / "errors.md").read_text()
    assert tree in page


PUBLIC_MODULES = [
    "promptlib",
    "promptlib.settings",
    "promptlib.testing",
    "promptlib.testing.snapshots",
    "promptlib.evals",
    "promptlib.evals.stats",
    "promptlib.evals.power",
    "promptlib.evals.report",
    "promptlib.batch",
    "promptlib.finetune",
]


def _exported_classes():
    import importlib
    import inspect

    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isclass(value):
                yield module_name, name, value


def test_every_module_outside_the_public_ones_is_private():
    """promptlib's contract is its public modules; every other module's name says it is
    internal (a leading underscore somewhere in its path), as httpx does."""
    import pkgutil

    names = [m.name for m in pkgutil.walk_packages(promptlib.__path__, "promptlib.")]
    assert len(names) > 100
    public = [n for n in names if not any(p.startswith("_") for p in n.split(".")[1:])]
    assert sorted(public) == sorted(set(PUBLIC_MODULES) - {"promptlib"})


def test_public_names_are_shown_as_users_import_them():
    """Reprs, help() and pickles say promptlib.Template, not where it is defined."""
    import importlib
    import inspect
    import pickle
    import typing

    checked = 0
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            value = getattr(module, name)
            if not (inspect.isclass(value) or inspect.isfunction(value)):
                continue
            if not value.__module__.startswith("promptlib"):
                continue
            assert value.__module__ in PUBLIC_MODULES, f"{module_name}.{name}: {value.__module__}"
            assert getattr(importlib.import_module(value.__module__), value.__name__) is value
            if inspect.isclass(value):
                typing.get_type_hints(value)  # still resolvable, for pydantic and friends
            checked += 1
    assert checked > 150
    assert repr(promptlib.Template) == "<class 'promptlib.Template'>"
    assert pickle.loads(pickle.dumps(promptlib.Usage(1, 2))) == promptlib.Usage(1, 2)


def test_public_dataclasses_still_work_as_pydantic_fields():
    from pydantic import BaseModel

    class Row(BaseModel):
        message: promptlib.Message
        image: promptlib.ImagePart | None = None
        usage: promptlib.Usage

    row = Row(message=promptlib.Message.user("hi"), usage=promptlib.Usage(3, 4))
    assert row.message.text == "hi"
    assert Row.model_json_schema()["properties"]["message"]["title"] == "Message"
    assert Row.model_validate_json(row.model_dump_json()) == row


def test_errors_are_named_as_users_import_them():
    """A traceback says promptlib.TemplateError, the name users catch, not an internal path."""
    import importlib
    import pickle

    errors = [(m, n, c) for m, n, c in _exported_classes() if issubclass(c, BaseException)]
    assert len(errors) > 30
    for _module, name, cls in errors:
        if cls.__module__.startswith("promptlib"):
            assert cls.__module__ in PUBLIC_MODULES, (name, cls.__module__)
            assert getattr(importlib.import_module(cls.__module__), name) is cls
    assert type(pickle.loads(pickle.dumps(promptlib.UsageError("x")))) is promptlib.UsageError


def test_public_classes_show_what_they_are():
    """No public value shows as <promptlib.x.y.Class object at 0x...>."""
    import inspect

    missing = [
        f"{module_name}.{name}"
        for module_name, name, cls in _exported_classes()
        if cls.__repr__ is object.__repr__
        and not getattr(cls, "_is_protocol", False)
        and not inspect.isabstract(cls)
    ]
    assert missing == []


def test_no_public_constructor_takes_private_arguments():
    import inspect

    offenders = []
    for module_name, name, cls in _exported_classes():
        try:
            parameters = inspect.signature(cls).parameters
        except (TypeError, ValueError):
            continue
        offenders += [f"{module_name}.{name}({p})" for p in parameters if p.startswith("_")]
    for module_name in PUBLIC_MODULES:
        import importlib

        module = importlib.import_module(module_name)
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isfunction(value):
                parameters = inspect.signature(value).parameters
                offenders += [f"{module_name}.{name}({p})" for p in parameters if p[0] == "_"]
    assert offenders == []
    assert "calls" not in inspect.signature(promptlib.testing.MockProvider).parameters

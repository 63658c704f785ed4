"""Providers by name, so that ``"openai:gpt-4o-mini"`` finds its adapter.

The built-in adapters register exactly as a third party's would::

    register_provider("mycloud", MyCloudProvider)   # any class with complete/acomplete/...
    provider, model = get_provider("mycloud:big-model")
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from promptlib._errors import ConfigurationError
from promptlib._tokens.catalog import Catalog

if TYPE_CHECKING:
    from promptlib._providers.protocol import Provider

__all__ = ["get_provider", "register_provider"]

_FACTORIES: dict[str, Callable[[], Any]] = {}


def register_provider(name: str, factory: Callable[[], Any]) -> None:
    """Make ``name:model`` strings use providers made by ``factory()``."""
    _FACTORIES[name] = factory


def _lazy(module: str, attribute: str) -> Callable[[], Any]:
    # Built-ins are registered by path, so the registry imports no SDK until one is used.
    def make() -> Any:
        return getattr(importlib.import_module(module), attribute)()

    return make


register_provider("openai", _lazy("promptlib._providers.openai", "OpenAIProvider"))
register_provider("anthropic", _lazy("promptlib._providers.anthropic", "AnthropicProvider"))
register_provider("mock", _lazy("promptlib.testing._mock", "MockProvider"))


def get_provider(model: str, *, catalog: Catalog | None = None) -> tuple[Provider, str]:
    """The provider for ``"provider:model"`` (or a catalog model name) and the model name.

    Raises:
        ConfigurationError: no such provider, or a bare model name the catalog lacks.
    """
    name, colon, rest = model.partition(":")
    if colon and name in _FACTORIES:
        return _FACTORIES[name](), rest
    if colon:
        hint = difflib.get_close_matches(name, list(_FACTORIES), n=1)
        fix = f"; did you mean {hint[0]!r}?" if hint else ""
        raise ConfigurationError(
            f"no provider {name!r}{fix} (providers: {', '.join(sorted(_FACTORIES))}); "
            "register yours with register_provider()"
        )
    provider = (catalog or Catalog.default()).get(model).provider
    if provider not in _FACTORIES:
        raise ConfigurationError(
            f"the catalog says {model!r} is from {provider!r}, which has no adapter"
        )
    return _FACTORIES[provider](), model


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib", get_provider, register_provider)

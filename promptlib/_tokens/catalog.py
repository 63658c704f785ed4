"""The model catalog: provider, tokenizer, limits and prices of each model.

The catalog is data (``models.toml`` beside this module), not code. Extend or override it
with a file of your own, or in code::

    catalog = Catalog.default().extend("my-models.toml")
    catalog = Catalog.default().with_models(ModelInfo(name="my-model", provider="openai", ...))
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from functools import cache
from os import PathLike
from pathlib import Path
from typing import Any, Literal

from promptlib._errors import ConfigurationError
from promptlib._toml import read_toml

__all__ = ["Catalog", "ModelInfo"]

_DATA = Path(__file__).with_name("models.toml")
_PRICE_FIELDS = (
    "input",
    "output",
    "cached_input",
    "cache_write",
    "batch_input",
    "batch_output",
    "batch_cached_input",
    "batch_cache_write",
    "cache_write_1h",
    "batch_cache_write_1h",
)
_DATE_SUFFIX = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|latest)$")
_PROVIDER_PREFIX = re.compile(r"^(openai|anthropic)[:/]")


@dataclass(frozen=True)
class ModelInfo:
    """What promptlib knows about one model.

    Prices are US dollars per million tokens; ``None`` means unknown (never zero).
    ``inline_system``: the model takes system messages inside the conversation (Anthropic
    models that accept ``{"role": "system"}`` turns); elsewhere every system message joins
    the top-level system prompt.
    """

    name: str
    provider: Literal["openai", "anthropic"] | str
    encoding: str | None = None
    context_window: int | None = None
    max_input_tokens: int | None = None
    max_output_tokens: int | None = None
    input: Decimal | None = None
    output: Decimal | None = None
    cached_input: Decimal | None = None
    cache_write: Decimal | None = None
    batch_input: Decimal | None = None
    batch_output: Decimal | None = None
    batch_cached_input: Decimal | None = None
    batch_cache_write: Decimal | None = None
    cache_write_1h: Decimal | None = None
    batch_cache_write_1h: Decimal | None = None
    count: Literal["exact", "estimate"] = "estimate"
    count_offset: int = 0
    message_tokens: int = 3
    reply_tokens: int = 3
    name_tokens: int = 1
    image_base: int | None = None
    image_tile: int | None = None
    image_patch_multiplier: float | None = None
    tools_overhead: int = 0
    tool_prompt_tokens: tuple[int, int] | None = None
    estimate_ratio: float = 1.0
    inline_system: bool = False
    source: str = ""
    as_of: str = ""

    @property
    def input_limit(self) -> int | None:
        """The most tokens a prompt may have, ignoring the reply."""
        limits = [x for x in (self.context_window, self.max_input_tokens) if x is not None]
        return min(limits) if limits else None


def _info(
    name: str, values: Mapping[str, Any], defaults: Mapping[str, Any], origin: str
) -> ModelInfo:
    known = {f.name for f in fields(ModelInfo)}
    merged = {**defaults, **values}
    unknown = sorted(set(merged) - known)
    if unknown:
        hint = difflib.get_close_matches(unknown[0], known, n=1)
        fix = f"; did you mean {hint[0]!r}?" if hint else ""
        raise ConfigurationError(f"{origin}: model {name!r} has unknown field {unknown[0]!r}{fix}")
    if "provider" not in merged:
        raise ConfigurationError(f"{origin}: model {name!r} needs a provider (openai, anthropic)")
    for price in _PRICE_FIELDS:
        if merged.get(price) is not None:
            value = merged[price]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigurationError(f"{origin}: {name}.{price} must be a number")
            merged[price] = Decimal(str(value))
    for key in ("image_base", "image_tile"):
        value = merged.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise ConfigurationError(f"{origin}: {name}.{key} must be a whole number of tokens")
    multiplier = merged.get("image_patch_multiplier")
    if multiplier is not None and (
        isinstance(multiplier, bool) or not isinstance(multiplier, (int, float)) or multiplier <= 0
    ):
        raise ConfigurationError(f"{origin}: {name}.image_patch_multiplier must be a number")
    prompt_tokens = merged.get("tool_prompt_tokens")
    if prompt_tokens is not None:
        if not (
            isinstance(prompt_tokens, list)
            and len(prompt_tokens) == 2
            and all(isinstance(n, int) and not isinstance(n, bool) for n in prompt_tokens)
        ):
            raise ConfigurationError(
                f"{origin}: {name}.tool_prompt_tokens must be [auto, forced] token counts"
            )
        merged["tool_prompt_tokens"] = (prompt_tokens[0], prompt_tokens[1])
    overhead = merged.get("tools_overhead", 0)
    if isinstance(overhead, bool) or not isinstance(overhead, int) or overhead < 0:
        raise ConfigurationError(f"{origin}: {name}.tools_overhead must be a whole number")
    if not isinstance(merged.get("inline_system", False), bool):
        raise ConfigurationError(f"{origin}: {name}.inline_system must be true or false")
    if merged.get("count", "estimate") not in ("exact", "estimate"):
        raise ConfigurationError(f"{origin}: {name}.count must be 'exact' or 'estimate'")
    return ModelInfo(name=name, **{k: v for k, v in merged.items() if k != "name"})


class Catalog:
    """Models by name, with lookup that understands dated, prefixed and fine-tuned names.

    ``gpt-4o-2024-08-06`` and ``openai:gpt-4o`` resolve to ``gpt-4o``; a fine-tuned
    ``ft:gpt-4o-mini-2024-07-18:org::id`` resolves to the ``ft:gpt-4o-mini`` entry for its
    prices, or to its base model's tokenizer with prices unknown.
    """

    def __init__(self, models: Iterable[ModelInfo] = ()) -> None:
        self._models = {m.name: m for m in models}
        self._resolved: dict[str, ModelInfo] = {}  # every lookup, memoized: catalogs never change
        self._missing: dict[str, str] = {}  # and every miss, with its message

    def __repr__(self) -> str:
        return f"Catalog(models={len(self._models)})"

    @classmethod
    def default(cls) -> Catalog:
        """The catalog shipped with promptlib."""
        return _default_catalog()

    @classmethod
    def from_file(cls, path: str | PathLike[str]) -> Catalog:
        """Read a catalog file (the format of promptlib's own ``models.toml``)."""
        path = Path(path)
        data = read_toml(path, "the model catalog", ConfigurationError)
        defaults = data.get("defaults", {})
        models = data.get("models", {})
        if not isinstance(models, dict) or not isinstance(defaults, dict):
            raise ConfigurationError(f'{path}: expected [models."NAME"] tables')
        return cls(_info(name, values, defaults, str(path)) for name, values in models.items())

    def extend(self, other: Catalog | str | PathLike[str]) -> Catalog:
        """A new catalog with ``other``'s models added, replacing any of the same name."""
        extra = other if isinstance(other, Catalog) else Catalog.from_file(other)
        return Catalog([*self._models.values(), *extra._models.values()])

    def with_models(self, *models: ModelInfo) -> Catalog:
        """A new catalog with these models added or replaced."""
        return Catalog([*self._models.values(), *models])

    def names(self) -> list[str]:
        return sorted(self._models)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._find(name) is not None

    def get(self, name: str) -> ModelInfo:
        """The model called ``name`` (see the class docstring for the names understood).

        Raises:
            ConfigurationError: the model is not in the catalog.
        """
        found = self._resolved.get(name)
        if found is not None:
            return found
        missing = self._missing.get(name)
        if missing is not None:  # priced on every reply: the suggestion is made once
            raise ConfigurationError(missing)
        found = self._find(name)
        if found is None:
            hint = difflib.get_close_matches(name, list(self._models), n=1)
            fix = f" Did you mean {hint[0]!r}?" if hint else ""
            message = (
                f"unknown model {name!r}.{fix} Add it to a catalog file of your own "
                "(Catalog.default().extend('models.toml'), or [tool.promptlib] models = "
                "'models.toml'), with its provider, encoding and prices."
            )
            if len(self._missing) < 1024:
                self._missing[name] = message
            raise ConfigurationError(message)
        if len(self._resolved) < 1024:
            self._resolved[name] = found
        return found

    def _find(self, name: str) -> ModelInfo | None:
        name = _PROVIDER_PREFIX.sub("", name.strip())
        if name in self._models:
            return self._models[name]
        if name.startswith("ft:"):
            base = _strip_dates(name.split(":")[1])
            tuned = self._models.get(f"ft:{base}")
            if tuned is not None:
                return replace(tuned, name=name)
            plain = self._find(base)
            if plain is None:
                return None
            # Fine-tuned models are priced differently: unknown unless listed as ft:BASE.
            return replace(
                plain,
                name=name,
                source=f"{plain.source} (base model; fine-tuned prices unknown)",
                input=None,
                output=None,
                cached_input=None,
                cache_write=None,
                batch_input=None,
                batch_output=None,
                batch_cached_input=None,
                batch_cache_write=None,
                cache_write_1h=None,
                batch_cache_write_1h=None,
            )
        stripped = _strip_dates(name)
        return self._models.get(stripped) if stripped != name else None


def _strip_dates(name: str) -> str:
    while True:
        stripped = _DATE_SUFFIX.sub("", name)
        if stripped == name:
            return name
        name = stripped


@cache
def _default_catalog() -> Catalog:
    return Catalog.from_file(_DATA)


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib", Catalog, ModelInfo)

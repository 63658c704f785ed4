"""Experiments described in TOML files kept next to the templates (``evals/<name>.toml``).

```toml
name = "insurance-triage"
dataset = "datasets/insurance_tickets.jsonl"   # relative to this file
variants = ["insurance-triage@1.0.0", "insurance-triage@1.1.0"]
models = ["mock:gpt-4o-mini"]                   # optional: each template's own model
repeats = 1
concurrency = 8
budget = 0.50                                   # dollars, optional
batch = false                                   # true: the provider's batch API

[[scorers]]
type = "exact"
field = "label"

[rate_limits.openai]                            # optional, per provider
requests_per_minute = 500
tokens_per_minute = 200000

[providers.local]                               # models = ["local:smollm2"]
base_url = "http://127.0.0.1:8080/v1"           # an OpenAI-compatible server
server = "llama-cpp-python"                     # what it accepts (see ServerProfile)
```
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptlib._errors import ConfigurationError
from promptlib._toml import read_toml
from promptlib.evals._experiment import Experiment

if TYPE_CHECKING:
    from promptlib._repository.registry import Registry
    from promptlib.evals._scorers import Scorer

__all__ = ["load_experiment"]

_KEYS = {
    "name", "dataset", "variants", "models", "repeats", "concurrency", "budget", "params",
    "scorers", "expected_output_tokens", "seed", "columns", "tags", "providers",
    "rate_limits", "batch",
}  # fmt: skip
_PROVIDER_KEYS = {"type", "base_url", "server", "api_key_env", "timeout"}


def load_experiment(
    path: str | Path,
    *,
    registry: Registry | None = None,
    models: list[str] | None = None,
    judge_provider: Any = None,
) -> Experiment:
    """The experiment a TOML file describes.

    Args:
        path: the file.
        registry: where variants are resolved (default: the project's templates).
        models: replaces the file's ``models``.
        judge_provider: the provider LLM-judge scorers send to (default: their model's).

    Raises:
        ConfigurationError: an unknown key or scorer, a missing field, a bad value; the
            message names the file and the key.
    """
    file = Path(path)
    data = read_toml(file, "the experiment file", ConfigurationError)
    where = str(file)
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        hint = difflib.get_close_matches(unknown[0], sorted(_KEYS), n=1)
        raise ConfigurationError(
            f"{where}: unknown key {unknown[0]!r}"
            + (f"; did you mean {hint[0]!r}?" if hint else "")
            + f" (keys: {', '.join(sorted(_KEYS))})"
        )
    for key in ("dataset", "variants"):
        if key not in data:
            raise ConfigurationError(f"{where}: {key} = ... is required")
    from promptlib.evals._dataset import load_dataset

    if registry is None:
        from promptlib._repository.registry import Registry

        registry = Registry()
    dataset_path = (file.parent / str(data["dataset"])).resolve()
    dataset = load_dataset(dataset_path, columns=_mapping(data, "columns", where) or None)
    tags = data.get("tags")
    if tags:
        dataset = dataset.filter(tags=_strings(tags, "tags", where))
    experiment_models: list[str | None] = list(
        models or _strings(data.get("models", []), "models", where)
    ) or [None]
    scorers = [
        _scorer(spec, i, where, registry, judge_provider)
        for i, spec in enumerate(_list(data.get("scorers", []), "scorers", where), 1)
    ]
    options: dict[str, Any] = {}
    for key in ("repeats", "concurrency", "expected_output_tokens", "seed"):
        if key in data:
            options[key] = _integer(data[key], key, where)
    if "budget" in data:
        budget = data["budget"]
        if isinstance(budget, bool) or not isinstance(budget, int | float):
            raise ConfigurationError(f"{where}: budget must be a number of dollars")
        options["budget"] = float(budget)
    if "batch" in data:
        if not isinstance(data["batch"], bool):
            raise ConfigurationError(f"{where}: batch must be true or false")
        options["batch"] = data["batch"]
    return Experiment(
        name=str(data.get("name") or file.stem),
        dataset=dataset,
        variants=_strings(data["variants"], "variants", where),
        models=experiment_models,
        scorers=scorers,
        params=_mapping(data, "params", where),
        registry=registry,
        config=str(file.resolve()),
        providers=_providers(_mapping(data, "providers", where), where),
        rate_limits=_rate_limits(_mapping(data, "rate_limits", where), where),
        **options,
    )


def _rate_limits(tables: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``[rate_limits.NAME]`` tables: requests_per_minute, tokens_per_minute."""
    from promptlib.evals._limits import RateLimit

    limits = {}
    for name, table in tables.items():
        if not isinstance(table, dict) or set(table) - {"requests_per_minute", "tokens_per_minute"}:
            raise ConfigurationError(
                f"{where}: [rate_limits.{name}] takes requests_per_minute and tokens_per_minute"
            )
        limits[name] = RateLimit(**table)
    return limits


def _providers(tables: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``[providers.NAME]`` tables: OpenAI-compatible servers (or Anthropic) by name."""
    made: dict[str, Any] = {}
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise ConfigurationError(f"{where}: [providers.{name}] must be a table")
        unknown = sorted(set(table) - _PROVIDER_KEYS)
        if unknown:
            raise ConfigurationError(
                f"{where}: [providers.{name}] has unknown key {unknown[0]!r} "
                f"(keys: {', '.join(sorted(_PROVIDER_KEYS))})"
            )
        kind = table.get("type", "openai")
        options: dict[str, Any] = {}
        if "base_url" in table:
            options["base_url"] = str(table["base_url"])
        if "timeout" in table:
            timeout = table["timeout"]
            if isinstance(timeout, bool) or not isinstance(timeout, int | float):
                raise ConfigurationError(
                    f"{where}: [providers.{name}] timeout must be a number of seconds"
                )
            options["timeout"] = float(timeout)
        if "api_key_env" in table:
            import os

            variable = str(table["api_key_env"])
            if not os.environ.get(variable):
                raise ConfigurationError(
                    f"{where}: [providers.{name}] reads its key from {variable}, which is not set"
                )
            options["api_key"] = os.environ[variable]
        if kind == "openai":
            from promptlib._providers.openai import OpenAIProvider

            made[name] = OpenAIProvider(server=table.get("server"), **options)
        elif kind == "anthropic":
            from promptlib._providers.anthropic import AnthropicProvider

            made[name] = AnthropicProvider(**options)
        else:
            raise ConfigurationError(
                f"{where}: [providers.{name}] type must be 'openai' or 'anthropic', not {kind!r}"
            )
    return made


def _list(value: Any, key: str, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ConfigurationError(f"{where}: {key} must be a list")
    return value


def _strings(value: Any, key: str, where: str) -> list[str]:
    items = _list(value, key, where)
    if not all(isinstance(item, str) and item for item in items):
        raise ConfigurationError(f"{where}: {key} must be a list of strings")
    return items


def _integer(value: Any, key: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(f"{where}: {key} must be a whole number")
    return value


def _mapping(data: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigurationError(f"{where}: {key} must be a table")
    return value


def _scorer(spec: Any, index: int, where: str, registry: Registry, judge_provider: Any) -> Scorer:
    from promptlib.evals import _scorers as scorers

    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise ConfigurationError(f'{where}: scorer {index} needs type = "exact" (or another)')
    options = {k: v for k, v in spec.items() if k != "type"}
    kind = spec["type"]
    makers: dict[str, Callable[..., Scorer]] = {
        "exact": scorers.exact,
        "contains": scorers.contains,
        "regex": scorers.regex,
        "json_schema": scorers.json_schema_valid,
        "numeric": scorers.numeric,
        "one_of": scorers.one_of,
        "set_f1": scorers.set_f1,
    }
    try:
        if kind == "python":
            return scorers.function(_import(options.pop("function", None), where, index), **options)
        if kind == "judge":
            return _judge(options, where, index, registry, judge_provider)
        if kind not in makers:
            known = ", ".join([*makers, "python", "judge"])
            raise ConfigurationError(f"{where}: scorer {index} has unknown type {kind!r} ({known})")
        return makers[kind](**options)
    except TypeError as exc:
        raise ConfigurationError(f"{where}: scorer {index} ({kind}): {exc}") from None


def _import(target: Any, where: str, index: int) -> Callable[..., Any]:
    if not isinstance(target, str) or ":" not in target:
        raise ConfigurationError(
            f'{where}: scorer {index} needs function = "package.module:function"'
        )
    module, _, attribute = target.partition(":")
    try:
        found = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(
            f"{where}: scorer {index}: cannot import {target}: {exc}"
        ) from None
    if not callable(found):
        raise ConfigurationError(f"{where}: scorer {index}: {target} is not callable")
    return found  # type: ignore[no-any-return]


def _judge(
    options: dict[str, Any], where: str, index: int, registry: Registry, provider: Any
) -> Scorer:

    reference = options.pop("template", None)
    if not isinstance(reference, str):
        raise ConfigurationError(f'{where}: judge scorer {index} needs template = "name@version"')
    template = registry.get(reference)
    model = options.pop("model", None) or template.model
    if provider is None:
        if not model:
            raise ConfigurationError(f'{where}: judge scorer {index} needs model = "..."')
        from promptlib._providers.registry import get_provider

        provider, model = get_provider(model)
    from promptlib.evals._judge import judge

    return judge(template, provider, model=model, **options)


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib.evals", load_experiment)

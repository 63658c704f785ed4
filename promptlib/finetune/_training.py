"""The training table: per base model, the tokenizer, the longest example, and the price of
a million training tokens, each with its source and date (``training.toml`` beside this
module). An unknown value stays unknown: the check asks for it, ROI says it cannot be
computed."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import cache
from os import PathLike
from pathlib import Path
from typing import Any

from promptlib._errors import ConfigurationError
from promptlib._toml import read_toml

__all__ = ["TrainingInfo", "TrainingTable"]

_DATA = Path(__file__).with_name("training.toml")
_FIELDS = {"provider", "encoding", "example_limit", "training", "source", "as_of"}


@dataclass(frozen=True)
class TrainingInfo:
    """What fine-tuning one base model costs and accepts.

    Attributes:
        model: the base model (a dated snapshot, as the provider names it).
        provider: ``openai`` or ``anthropic-bedrock``.
        encoding: the tokenizer counts use (for Claude models an estimate).
        example_limit: the most tokens one example may have (longer ones are truncated),
            or ``None`` when not known.
        training: US dollars per million training tokens, or ``None`` when not known.
        source, as_of: where the figures come from, and when they were checked.
    """

    model: str
    provider: str
    encoding: str = "o200k_base"
    example_limit: int | None = None
    training: Decimal | None = None
    source: str = ""
    as_of: str = ""


def _info(model: str, values: Any, origin: str) -> TrainingInfo:
    if not isinstance(values, dict):
        raise ConfigurationError(f"{origin}: [models.{model!r}] must be a table")
    unknown = sorted(set(values) - _FIELDS)
    if unknown:
        raise ConfigurationError(
            f"{origin}: model {model!r} has unknown field {unknown[0]!r} "
            f"(fields: {', '.join(sorted(_FIELDS))})"
        )
    limit = values.get("example_limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ConfigurationError(f"{origin}: {model}.example_limit must be a positive integer")
    price = values.get("training")
    if price is not None and (
        isinstance(price, bool)
        or not isinstance(price, int | float)
        or not math.isfinite(price)
        or price < 0
    ):
        raise ConfigurationError(f"{origin}: {model}.training must be dollars, 0 or more")
    return TrainingInfo(
        model=model,
        provider=str(values.get("provider", "openai")),
        encoding=str(values.get("encoding", "o200k_base")),
        example_limit=limit,
        training=None if price is None else Decimal(str(price)),
        source=str(values.get("source", "")),
        as_of=str(values.get("as_of", "")),
    )


class TrainingTable:
    """Base models by name; ``gpt-4o-mini`` finds ``gpt-4o-mini-2024-07-18`` (the newest
    snapshot listed under that name)."""

    def __init__(self, models: dict[str, TrainingInfo] | None = None) -> None:
        self._models = dict(models or {})

    def __repr__(self) -> str:
        return f"TrainingTable(models={len(self._models)})"

    @classmethod
    def default(cls) -> TrainingTable:
        """The table shipped with promptlib."""
        return _default()

    @classmethod
    def from_file(cls, path: str | PathLike[str]) -> TrainingTable:
        """Read a table in the format of promptlib's ``training.toml``."""
        data = read_toml(Path(path), "the training table", ConfigurationError)
        models = data.get("models", {})
        if not isinstance(models, dict):
            raise ConfigurationError(f"{path}: [models.NAME] tables expected")
        return cls({name: _info(name, values, str(path)) for name, values in models.items()})

    def extend(self, other: TrainingTable | str | PathLike[str]) -> TrainingTable:
        """This table with ``other``'s models added (and replacing same-named ones)."""
        more = other if isinstance(other, TrainingTable) else TrainingTable.from_file(other)
        return TrainingTable({**self._models, **more._models})

    def names(self) -> list[str]:
        return sorted(self._models)

    def get(self, model: str) -> TrainingInfo:
        """The base model ``model`` (``openai:`` and ``ft:`` prefixes are understood).

        Raises:
            ConfigurationError: the table does not know the model.
        """
        name = model.split(":", 1)[1] if model.startswith(("openai:", "anthropic:")) else model
        if name.startswith("ft:"):
            name = name.split(":")[1]
        found = self._models.get(name)
        if found is None:
            # gpt-4o finds gpt-4o-2024-08-06, never gpt-4o-mini-...: only a date may follow.
            dated = re.compile(re.escape(name) + r"-(\d{4}-\d{2}-\d{2}|\d{8}|\d{4})")
            snapshots = sorted(m for m in self._models if dated.fullmatch(m))
            if len(snapshots) > 1 and any(len(m) - len(name) == 5 for m in snapshots):
                raise ConfigurationError(
                    f"{model!r} names several snapshots ({', '.join(snapshots)}), whose "
                    "limits and prices differ: name one"
                )
            found = self._models[snapshots[-1]] if snapshots else None  # same format: newest last
        if found is None:
            raise ConfigurationError(
                f"no fine-tuning figures for model {model!r} (known: {', '.join(self.names())}); "
                "add it to a training table of your own (--training-table FILE), or give "
                "--example-limit and --training-price"
            )
        return found

    def with_overrides(
        self, model: str, *, example_limit: int | None = None, training: Decimal | None = None
    ) -> TrainingInfo:
        """``get(model)`` with the values the user states laid over it (a model the table
        lacks is made from them)."""
        try:
            info = self.get(model)
        except ConfigurationError:
            if example_limit is None and training is None:
                raise
            bedrock = model.startswith(("claude", "anthropic.", "anthropic:"))
            provider = "anthropic-bedrock" if bedrock else "openai"
            info = TrainingInfo(model=model, provider=provider, source="given by you")
        if example_limit is not None and (
            isinstance(example_limit, bool)
            or not isinstance(example_limit, int)
            or example_limit < 1
        ):
            raise ConfigurationError(f"example limit {example_limit!r}: give tokens, 1 or more")
        if training is not None and (not training.is_finite() or training < 0):
            raise ConfigurationError(f"training price {training}: give dollars, 0 or more")
        changes: dict[str, Any] = {}
        if example_limit is not None:
            changes["example_limit"] = example_limit
        if training is not None:
            changes["training"] = training
        if changes:
            info = replace(info, source=f"{info.source}; overridden by you".lstrip("; "), **changes)
        return info


@cache
def _default() -> TrainingTable:
    return TrainingTable.from_file(_DATA)


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib.finetune", TrainingInfo, TrainingTable)

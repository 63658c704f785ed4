"""What an evaluation runs: variants (template versions) crossed with models, on a dataset.

Variants are registry references (``ticket@production``, ``ticket@1.1.0``) or ``Template``
objects. A reference is resolved once, when the experiment is made, and pinned to the
exact ``name@version`` and content hash it resolved to, so a label moved mid-run changes
nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from promptlib._errors import ConfigurationError, TemplateError
from promptlib._params import check_params

# At run time, not only for type checkers: get_type_hints(Experiment) must resolve.
from promptlib._providers.protocol import Provider
from promptlib._repository.registry import Registry
from promptlib._templates.template import Template
from promptlib.evals._dataset import Dataset
from promptlib.evals._limits import RateLimit
from promptlib.evals._scorers import Scorer

__all__ = ["MAX_REPEATS", "MAX_WORK", "Experiment", "Variant"]

MAX_REPEATS = 1_000
# Requests one run may hold: its work list is built in memory before it starts.
MAX_WORK = 10_000_000


@dataclass(frozen=True)
class Variant:
    """One prompt under test: a template, pinned.

    Attributes:
        label: how results name it: ``name@version`` (or the label you give).
        template: the template itself.
        ref: the registry reference it was resolved from (``ticket@production``), if any.
    """

    label: str
    template: Template[Any, Any]
    ref: str | None = None

    @property
    def template_hash(self) -> str:
        return self.template.hash

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "ref": self.ref,
            "template": self.template.name,
            "version": self.template.version,
            "template_hash": self.template.hash,
            "source": self.template.source,
        }


def resolve_variant(
    variant: Variant | Template[Any, Any] | str, registry: Registry | None
) -> Variant:
    """A :class:`Variant` from a reference, a template, or a variant."""
    if isinstance(variant, Variant):
        return variant
    if isinstance(variant, Template):
        return Variant(variant.label, variant)
    if isinstance(variant, str):
        if registry is None:
            from promptlib._repository.registry import Registry

            registry = Registry()
        template = registry.get(variant)
        return Variant(template.label, template, variant)
    raise ConfigurationError(
        f"a variant is a registry reference ('ticket@1.1.0'), a Template or a Variant, "
        f"not {type(variant).__name__}"
    )


@dataclass(frozen=True)
class Experiment:
    """Variants × models on a dataset, scored.

    Args:
        name: what the runs are called.
        dataset: the cases (see :func:`promptlib.evals.load_dataset`).
        variants: registry references, templates or :class:`Variant`s.
        models: model strings (``"openai:gpt-4o-mini"``, ``"mock:gpt-4o-mini"``, a catalog
            name); ``None`` in the list (or no models) uses each template's own model.
        scorers: how answers are scored: :func:`exact`, :func:`contains`, :func:`regex`,
            :func:`numeric`, :func:`one_of`, :func:`set_f1`, :func:`json_schema_valid`,
            :func:`function` or :func:`judge`.
        repeats: independent samples per case (for variance and pass@k).
        params: generation parameters laid over each template's own.
        concurrency: requests in flight at most.
        budget: dollars the run may spend at most (see :func:`promptlib.evals.run`).
        expected_output_tokens: the reply length budgets are reckoned with when a template
            sets no ``max_tokens`` (default 256).
        registry: where references are resolved (default: the project's templates).
        seed: recorded in the manifest, for reproducible splits and sampling.
        config: the experiment file it was loaded from, if any (recorded in the
            manifest, so ``promptlib eval resume`` can find it again).
        providers: providers by name, for model strings ``"name:model"`` (e.g. a local
            server: ``{"local": OpenAIProvider(base_url=..., server="vllm")}`` with
            ``models=["local:llama3"]``); other names go to
            :func:`promptlib.get_provider`.
        shard: ``(i, n)``: run only the i-th of n parts of the cases (1-based), so that n
            machines share one evaluation; ``promptlib eval merge`` joins their stores. A case
            goes to a part by a hash of its id, so every variant, model and repeat of it is
            run together.
        rate_limits: requests and tokens per minute per provider, by the name before the
            colon in model strings (``{"openai": RateLimit(requests_per_minute=500)}``),
            or by the whole model string.
        batch: send through the provider's batch API (:mod:`promptlib.batch`): half the
            price, results within the provider's 24-hour window, no repairs. The batch
            handles are kept beside the store, so a resumed run collects what was
            submitted instead of sending it again.
    """

    name: str
    dataset: Dataset
    variants: Sequence[Variant | Template[Any, Any] | str]
    models: Sequence[str | None] = (None,)
    scorers: Sequence[Scorer] = ()
    repeats: int = 1
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    concurrency: int = 8
    budget: float | None = None
    expected_output_tokens: int = 256
    registry: Registry | None = field(default=None, repr=False, compare=False)
    seed: int = 0
    config: str | None = None
    providers: Mapping[str, Provider] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False
    )
    rate_limits: Mapping[str, RateLimit] = field(default_factory=lambda: MappingProxyType({}))
    shard: tuple[int, int] | None = None
    batch: bool = False
    resolved: tuple[Variant, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.variants:
            raise ConfigurationError(f"experiment {self.name!r} has no variants to run")
        if self.shard is not None:
            shard = self.shard
            fits = isinstance(shard, tuple | list) and len(shard) == 2
            index, parts = shard if fits else (0, 0)
            if not (type(index) is int and type(parts) is int and 1 <= index <= parts):
                raise ConfigurationError(
                    f"experiment {self.name!r}: shard is (i, n) with 1 <= i <= n, e.g. (2, 3) "
                    f"for the second of three parts (--shard 2/3), got {self.shard!r}"
                )
            object.__setattr__(self, "shard", (index, parts))
        if (
            isinstance(self.repeats, bool)
            or not isinstance(self.repeats, int)
            or not (1 <= self.repeats <= MAX_REPEATS)
        ):
            raise ConfigurationError(
                f"experiment {self.name!r}: repeats must be from 1 to {MAX_REPEATS:,}"
            )
        if (
            isinstance(self.expected_output_tokens, bool)
            or not isinstance(self.expected_output_tokens, int)
            or self.expected_output_tokens < 1
        ):
            raise ConfigurationError(
                f"experiment {self.name!r}: expected_output_tokens must be a whole number above 0"
            )
        try:
            check_params(self.params, f"experiment {self.name}")
        except TemplateError as exc:
            raise ConfigurationError(f"experiment {self.name!r}: params: {exc}") from None
        if (
            isinstance(self.concurrency, bool)
            or not isinstance(self.concurrency, int)
            or not (1 <= self.concurrency <= 10_000)
        ):
            raise ConfigurationError(
                f"experiment {self.name!r}: concurrency must be between 1 and 10000"
            )
        if self.budget is not None and not (
            isinstance(self.budget, int | float) and math.isfinite(self.budget) and self.budget >= 0
        ):
            raise ConfigurationError(
                f"experiment {self.name!r}: budget must be a number of dollars, >= 0"
            )
        resolved = tuple(resolve_variant(v, self.registry) for v in self.variants)
        labels = [v.label for v in resolved]
        if len(set(labels)) != len(labels):
            raise ConfigurationError(
                f"experiment {self.name!r} lists the same variant twice: {labels}"
            )
        for variant in resolved:
            self.dataset.validate(variant.template.inputs, template=variant.label)
        object.__setattr__(self, "resolved", resolved)
        models = tuple(self.models) or (None,)
        if len(set(models)) != len(models):
            raise ConfigurationError(
                f"experiment {self.name!r} lists the same model twice: {list(models)}"
            )
        object.__setattr__(self, "models", models)
        work = len(resolved) * len(models) * len(self.dataset) * self.repeats
        if work > MAX_WORK:
            raise ConfigurationError(
                f"experiment {self.name!r} would send {work:,} requests, more than the "
                f"{MAX_WORK:,} one run holds: split it into several runs"
            )
        names = {m.partition(":")[0] for m in models if m} | {m for m in models if m}
        names |= {v.template.model.partition(":")[0] for v in resolved if v.template.model}
        for key, limit in self.rate_limits.items():
            if not isinstance(limit, RateLimit):
                raise ConfigurationError(
                    f"experiment {self.name!r}: rate_limits[{key!r}] must be a RateLimit"
                )
            if key not in names:
                raise ConfigurationError(
                    f"experiment {self.name!r}: rate_limits[{key!r}] names no provider or "
                    f"model of this experiment (its providers: {', '.join(sorted(names))})"
                )

        families = {m.partition(":")[0] for m in names if ":" in m}
        for key, provider in self.providers.items():
            if ":" in key:
                raise ConfigurationError(
                    f"experiment {self.name!r}: providers[{key!r}]: Experiment(providers=...) "
                    f"is keyed by provider name ({key.partition(':')[0]!r}), for every model "
                    "of that name; to answer one model string, pass providers= to run()"
                )
            if key not in families:
                known = ", ".join(sorted(families)) or "none: give models as 'name:model'"
                raise ConfigurationError(
                    f"experiment {self.name!r}: providers[{key!r}] names no provider of this "
                    f"experiment's models (its providers: {known})"
                )
            if not callable(getattr(provider, "acomplete", None)):
                raise ConfigurationError(
                    f"experiment {self.name!r}: providers[{key!r}] is not a promptlib "
                    f"Provider (it has no acomplete), got {type(provider).__name__}"
                )

    def model_for(self, variant: Variant, model: str | None) -> str:
        """The model string a variant is sent to."""
        chosen = model or variant.template.model
        if not chosen:
            raise ConfigurationError(
                f"experiment {self.name!r}: variant {variant.label} has no model; give "
                "models=[...] or set model= on the template"
            )
        return chosen


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib.evals", Experiment, Variant)

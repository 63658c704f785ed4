"""Return on a fine-tune: what serving each way costs per request and per month, what the
fine-tune costs once, and when it pays back, from measured tokens where they exist.

Every figure is computed from tokens and the catalog's prices; a price that is unknown
makes the figures that need it unknown (``None``), and the ROI says which price was
missing. It is never a number made of zeros.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from promptlib._errors import ConfigurationError
from promptlib._tokens.catalog import Catalog
from promptlib._tokens.cost import Usage, cost_of

__all__ = ["ROI", "Serving", "TrainingCost", "roi", "serving_from_run", "serving_from_tokens"]

DEFAULT_VOLUMES = (10_000, 100_000, 1_000_000, 10_000_000)
_MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Serving:
    """One way of serving the task: a model and the tokens a request uses.

    Attributes:
        label: e.g. ``"prompt: triage@1.2.0 on gpt-4o-mini"``.
        model: the model priced (a fine-tuned ``ft:...`` name is priced from the catalog's
            ``ft:`` entry for its base).
        input_tokens, output_tokens: per request, on average.
        cached_tokens: of the input tokens, those read from the provider's prompt cache
            (priced at the cached-input price), on average.
        source: where the tokens come from (``measured in run R over N results``, or
            ``counted from the template``).
        latency_p50, latency_p95: seconds, when measured.
    """

    label: str
    model: str
    input_tokens: float
    output_tokens: float
    source: str
    latency_p50: float | None = None
    latency_p95: float | None = None
    catalog: Catalog | None = field(default=None, repr=False, compare=False)
    cached_tokens: float = 0.0

    def __post_init__(self) -> None:
        for name in ("input_tokens", "output_tokens", "cached_tokens"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            ):
                raise ConfigurationError(f"{self.label}: {name}={value!r}: give tokens, 0 or more")
        if self.cached_tokens > self.input_tokens:
            raise ConfigurationError(f"{self.label}: more cached tokens than input tokens")

    @property
    def cost_per_request(self) -> Decimal | None:
        """Dollars per request, or ``None`` when the catalog lacks a price."""
        # Mean tokens are fractional: priced over a thousand requests, then divided.
        usage = Usage(
            round(self.input_tokens * 1000),
            round(self.output_tokens * 1000),
            cached_input_tokens=round(self.cached_tokens * 1000),
        )
        try:
            total = cost_of(usage, self.model, catalog=self.catalog).total
        except ConfigurationError:
            return None
        return None if total is None else total / 1000

    def missing_price(self) -> str | None:
        return None if self.cost_per_request is not None else f"the price of {self.model}"


@dataclass(frozen=True)
class TrainingCost:
    """The one-off cost of a fine-tune.

    Attributes:
        tokens: training tokens per epoch (billable: each example capped at the limit).
        epochs: how many times training reads them.
        price: dollars per million training tokens (``None``: unknown).
        labelling, engineering: dollars you state for labelling and for engineering time.
    """

    tokens: int
    epochs: int
    price: Decimal | None
    labelling: Decimal = Decimal(0)
    engineering: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        for name in ("price", "labelling", "engineering"):
            value = getattr(self, name)
            if value is None or isinstance(value, Decimal):
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigurationError(f"TrainingCost({name}={value!r}): give dollars")
            object.__setattr__(self, name, Decimal(str(value)))
        for name in ("price", "labelling", "engineering"):
            value = getattr(self, name)
            if value is not None and (not value.is_finite() or value < 0):
                raise ConfigurationError(f"TrainingCost({name}={value}): give dollars, 0 or more")

    @property
    def training(self) -> Decimal | None:
        if self.price is None:
            return None
        return self.price * self.tokens * self.epochs / _MILLION

    @property
    def total(self) -> Decimal | None:
        training = self.training
        return None if training is None else training + self.labelling + self.engineering


@dataclass(frozen=True)
class ROI:
    """Prompt against fine-tune, in dollars.

    Attributes:
        prompt, finetuned: the two ways of serving.
        requests_per_month: the volume the monthly figures are for.
        training: the one-off cost.
        monthly_prompt, monthly_finetuned, monthly_saving: dollars per month (the saving
            is the prompt's cost minus the fine-tune's; negative when the fine-tune costs
            more to serve).
        break_even_months: the one-off cost divided by the monthly saving; ``None`` when
            the fine-tune never pays back or a figure is unknown.
        sensitivity: for each volume in the table: (requests per month, monthly prompt,
            monthly fine-tune, monthly saving, months to break even).
        missing: the prices that are unknown (the figures needing them are ``None``).
    """

    prompt: Serving
    finetuned: Serving
    requests_per_month: int
    training: TrainingCost
    monthly_prompt: Decimal | None
    monthly_finetuned: Decimal | None
    monthly_saving: Decimal | None
    break_even_months: float | None
    sensitivity: tuple[
        tuple[int, Decimal | None, Decimal | None, Decimal | None, float | None], ...
    ]
    missing: tuple[str, ...] = ()

    @property
    def computable(self) -> bool:
        return not self.missing

    def to_dict(self) -> dict[str, Any]:
        def money(value: Decimal | None) -> str | None:
            return None if value is None else str(round(value, 6))

        def side(serving: Serving) -> dict[str, Any]:
            return {
                "label": serving.label,
                "model": serving.model,
                "input_tokens": round(serving.input_tokens, 1),
                "output_tokens": round(serving.output_tokens, 1),
                "cost_per_request": money(serving.cost_per_request),
                "source": serving.source,
                "latency_p50": serving.latency_p50,
                "latency_p95": serving.latency_p95,
            }

        return {
            "prompt": side(self.prompt),
            "finetuned": side(self.finetuned),
            "requests_per_month": self.requests_per_month,
            "training": {
                "tokens_per_epoch": self.training.tokens,
                "epochs": self.training.epochs,
                "price_per_million": money(self.training.price),
                "training_cost": money(self.training.training),
                "labelling": money(self.training.labelling),
                "engineering": money(self.training.engineering),
                "one_off_total": money(self.training.total),
            },
            "monthly_prompt": money(self.monthly_prompt),
            "monthly_finetuned": money(self.monthly_finetuned),
            "monthly_saving": money(self.monthly_saving),
            "break_even_months": None
            if self.break_even_months is None
            else round(self.break_even_months, 2),
            "sensitivity": [
                {
                    "requests_per_month": volume,
                    "monthly_prompt": money(a),
                    "monthly_finetuned": money(b),
                    "monthly_saving": money(saving),
                    "break_even_months": None if months is None else round(months, 2),
                }
                for volume, a, b, saving, months in self.sensitivity
            ],
            "computable": self.computable,
            "missing": list(self.missing),
        }


def _monthly(per_request: Decimal | None, volume: int) -> Decimal | None:
    return None if per_request is None else per_request * volume


def _break_even(one_off: Decimal | None, saving: Decimal | None) -> float | None:
    if one_off is None or saving is None or saving <= 0:
        return None
    return float(one_off / saving)


def roi(
    prompt: Serving,
    finetuned: Serving,
    training: TrainingCost,
    *,
    requests_per_month: int,
    volumes: Sequence[int] = DEFAULT_VOLUMES,
) -> ROI:
    """The ROI of serving ``finetuned`` instead of ``prompt`` at ``requests_per_month``.

    Raises:
        ConfigurationError: a volume below 1, or negative tokens or costs.
    """
    for volume in (requests_per_month, *volumes):
        if isinstance(volume, bool) or not isinstance(volume, int) or volume < 1:
            raise ConfigurationError(
                f"requests per month {volume!r}: give a whole number, 1 or more"
            )
    if (
        isinstance(training.tokens, bool)
        or not isinstance(training.tokens, int)
        or training.tokens < 0
        or isinstance(training.epochs, bool)
        or not isinstance(training.epochs, int)
        or not 1 <= training.epochs <= 50
    ):
        raise ConfigurationError(
            "training tokens must be a whole number, 0 or more, and epochs 1 to 50"
        )
    if training.labelling < 0 or training.engineering < 0:
        raise ConfigurationError("labelling and engineering costs cannot be negative")
    missing = [m for m in (prompt.missing_price(), finetuned.missing_price()) if m]
    if training.price is None:
        missing.append("the training price (give --training-price)")
    a, b = prompt.cost_per_request, finetuned.cost_per_request
    rows = []
    for volume in sorted({*volumes, requests_per_month}):
        monthly_a, monthly_b = _monthly(a, volume), _monthly(b, volume)
        saving = None if monthly_a is None or monthly_b is None else monthly_a - monthly_b
        rows.append((volume, monthly_a, monthly_b, saving, _break_even(training.total, saving)))
    here = next(r for r in rows if r[0] == requests_per_month)
    return ROI(
        prompt=prompt,
        finetuned=finetuned,
        requests_per_month=requests_per_month,
        training=training,
        monthly_prompt=here[1],
        monthly_finetuned=here[2],
        monthly_saving=here[3],
        break_even_months=here[4],
        sensitivity=tuple(rows),
        missing=tuple(missing),
    )


def serving_from_run(
    run: str,
    variant: str,
    *,
    store: str | Path | None = None,
    model: str | None = None,
    label: str | None = None,
    catalog: Catalog | None = None,
) -> Serving:
    """The tokens and latency ``variant`` measured in evaluation run ``run``.

    Raises:
        ConfigurationError: no such run or variant, or no successful result to measure.
    """
    from promptlib.evals._store import DEFAULT_STORE, Store, StoreError
    from promptlib.evals._summary import quantile

    try:
        with Store(store or DEFAULT_STORE, create=False) as db:
            info = db.run(run)
            rows = [
                r for r in db.results(info.run_id) if r.variant == variant or _named(r, variant)
            ]
    except StoreError as exc:
        raise ConfigurationError(f"cannot measure run {run!r}: {exc}") from None
    if model is not None:
        rows = [r for r in rows if r.model == model or r.model.split(":", 1)[-1] == model]
    versions = sorted({r.variant for r in rows})
    if len(versions) > 1:
        raise ConfigurationError(
            f"{variant!r} names several variants in run {info.run_id} "
            f"({', '.join(versions)}): name one, e.g. {versions[-1]!r}"
        )
    ok = [r for r in rows if r.error is None]
    if not ok:
        variants = sorted({r.variant for r in rows}) or "none matched"
        raise ConfigurationError(
            f"run {info.run_id} has no successful result of variant {variant!r}"
            f"{f' on {model}' if model else ''} to measure (variants: {variants})"
        )
    models = sorted({r.model for r in ok})
    if len(models) > 1:
        raise ConfigurationError(
            f"variant {variant!r} ran on {', '.join(models)} in run {info.run_id}: name one "
            "with RUN:VARIANT:MODEL"
        )
    latencies = sorted(r.latency for r in ok if r.latency is not None)
    name = models[0].split(":", 1)[-1]
    return Serving(
        label=label or f"{ok[0].variant} on {name}",
        model=name,
        input_tokens=sum(r.input_tokens for r in ok) / len(ok),
        output_tokens=sum(r.output_tokens for r in ok) / len(ok),
        cached_tokens=sum(r.cached_input_tokens for r in ok) / len(ok),
        source=f"measured in run {info.run_id} over {len(ok)} results",
        latency_p50=quantile(latencies, 0.5),
        latency_p95=quantile(latencies, 0.95),
        catalog=catalog,
    )


def _named(row: Any, variant: str) -> bool:
    return "@" not in variant and str(row.variant).split("@", 1)[0] == variant


def serving_from_tokens(
    label: str,
    model: str,
    input_tokens: Iterable[int],
    output_tokens: float,
    *,
    catalog: Catalog | None = None,
) -> Serving:
    """A way of serving counted rather than measured: the input tokens of rendered prompts
    (e.g. ``count_tokens`` over a dataset) and an expected reply length."""
    counted = list(input_tokens)
    if not counted:
        raise ConfigurationError(f"{label}: no prompts were counted")
    return Serving(
        label=label,
        model=model,
        input_tokens=sum(counted) / len(counted),
        output_tokens=output_tokens,
        source=f"counted from {len(counted)} rendered prompts, replies of {output_tokens:g} tokens",
        catalog=catalog,
    )


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as(
    "promptlib.finetune", ROI, Serving, TrainingCost, roi, serving_from_run, serving_from_tokens
)

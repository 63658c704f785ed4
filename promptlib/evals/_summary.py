"""What a run amounts to, per variant and model: scores, errors, tokens, cost, latency.

Means only, for reading a run at a glance; comparing variants with intervals and paired
tests is :mod:`promptlib.evals._comparison`'s job.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from promptlib.evals._store import ResultRow
from promptlib.evals.stats import sorted_quantile

__all__ = ["VariantSummary", "summarize"]


@dataclass(frozen=True)
class VariantSummary:
    """One variant on one model, over a run's results.

    Attributes:
        variant, model: what was run.
        results: results stored; errors: how many of them failed.
        scores: mean score per scorer, over the results that scored (``None`` if none did).
        input_tokens, output_tokens: totals.
        cost: dollars spent (known costs); cost_unknown: results whose cost is unknown.
        latency_p50, latency_p95: seconds, over successful results.
    """

    variant: str
    model: str
    results: int = 0
    errors: int = 0
    scores: dict[str, float | None] = field(default_factory=dict)
    input_tokens: int = 0
    output_tokens: int = 0
    cost: Decimal = Decimal(0)
    cost_unknown: int = 0
    latency_p50: float | None = None
    latency_p95: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "model": self.model,
            "results": self.results,
            "errors": self.errors,
            "scores": self.scores,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost": str(self.cost),
            "cost_unknown": self.cost_unknown,
            "latency_p50": self.latency_p50,
            "latency_p95": self.latency_p95,
        }


def quantile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile of ``values``, interpolated linearly (``None`` when empty)."""
    return sorted_quantile(sorted(values), q) if values else None


def summarize(rows: Iterable[ResultRow]) -> list[VariantSummary]:
    """One summary per (variant, model), in the order they first appear."""
    groups: dict[tuple[str, str], list[ResultRow]] = {}
    for row in rows:
        groups.setdefault((row.variant, row.model), []).append(row)
    summaries = []
    for (variant, model), group in groups.items():
        sums: dict[str, list[float]] = {}
        for row in group:
            for name, score in row.scores.items():
                value = score.get("value")
                sums.setdefault(name, [])
                if isinstance(value, int | float):
                    sums[name].append(float(value))
        latencies = [r.latency for r in group if r.error is None and r.latency is not None]
        summaries.append(
            VariantSummary(
                variant=variant,
                model=model,
                results=len(group),
                errors=sum(r.error is not None for r in group),
                scores={n: (sum(v) / len(v) if v else None) for n, v in sums.items()},
                input_tokens=sum(r.input_tokens for r in group),
                output_tokens=sum(r.output_tokens for r in group),
                cost=sum((Decimal(r.cost) for r in group if r.cost is not None), Decimal(0)),
                cost_unknown=sum(r.cost is None and r.error is None for r in group),
                latency_p50=quantile(latencies, 0.5),
                latency_p95=quantile(latencies, 0.95),
            )
        )
    return summaries


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib.evals", VariantSummary, summarize)

"""How every report writes numbers, so the formats agree to the digit."""

from __future__ import annotations

from decimal import Decimal

from promptlib.evals._comparison import ComparisonReport, VariantComparison, VariantStats
from promptlib.evals.stats import Interval


def percent(value: float | None) -> str:
    """A score as a percentage with one decimal (``"78.4%"``), or ``"-"``."""
    return "-" if value is None else f"{100 * value:.1f}%"


def points(value: float) -> str:
    """A difference in percentage points, signed (``"+6.2"``)."""
    return f"{100 * value:+.1f}"


def interval(value: Interval | None, *, signed: bool = False) -> str:
    """``"71.2 to 84.0"`` (in points), or ``"-"``."""
    if value is None:
        return "-"
    show = points if signed else (lambda x: f"{100 * x:.1f}")
    return f"{show(value.low)} to {show(value.high)}"


def p_value(c: VariantComparison) -> str:
    """The p-value the verdict used: Holm-adjusted when several candidates were compared."""
    p = c.stats.p_value if c.stats.adjusted_p is None else c.stats.adjusted_p
    text = "<0.001" if p < 0.001 else f"{p:.3f}"
    return text + (" (Holm)" if c.stats.adjusted_p is not None else "")


def dollars(value: Decimal | None, unknown: int = 0) -> str:
    """Dollars with 4 significant decimals; ``+?`` when some costs are unknown."""
    if value is None:
        return "-"
    shown = f"{value:.4f}" if value >= Decimal("0.01") or value == 0 else f"{value:.6f}"
    return f"${shown}" + ("+?" if unknown else "")


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f} ms"


def score_name(report: ComparisonReport) -> str:
    return "pass rate" if report.kind == "pass/fail" else "mean score"


def by_candidate(report: ComparisonReport) -> dict[str, VariantComparison]:
    return {c.stats.candidate: c for c in report.comparisons}


def headline(report: ComparisonReport) -> str:
    """One line: the dataset, the scorer and the interval level."""
    d = report.dataset
    cases = f", {d['cases']} cases" if d.get("cases") is not None else ""
    digest = f", {str(d['hash'])[:19]}" if d.get("hash") else ""
    return (
        f"dataset {d.get('name') or '(unnamed)'}{cases}{digest}; scorer {report.scorer} "
        f"({report.kind}); {round(100 * report.level)}% intervals; "
        f"baseline {report.baseline}; run {', '.join(report.runs)}"
    )


def tokens(v: VariantStats) -> str:
    """Mean input/output tokens per result."""
    results = v.scores + v.missing or 1
    return f"{v.input_tokens / results:,.0f}/{v.output_tokens / results:,.0f}"

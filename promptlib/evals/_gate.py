"""Quality gates for tests: fail when a score's interval or a comparison says so.

Both raise :class:`QualityGateFailure` (an ``AssertionError``, so pytest shows it as a
failed assertion) with the numbers behind it::

    report = compare(run(experiment, store=tmp_path / "evals.sqlite"))
    require_at_least(report, 0.8)   # every variant's lower bound at least 80%
    require_not_worse(report)       # no candidate significantly worse than the baseline
"""

from __future__ import annotations

from promptlib.evals._comparison import ComparisonReport

__all__ = ["QualityGateFailure", "require_at_least", "require_not_worse"]


class QualityGateFailure(AssertionError):
    """A quality gate failed; the message gives the figures."""


def require_at_least(
    report: ComparisonReport, threshold: float, *, variant: str | None = None
) -> None:
    """Fail unless the lower bound of the score's interval is at least ``threshold``.

    Checks ``variant`` (a label) or every variant. The lower bound, not the mean: a
    mean of 0.82 on 20 cases does not show the score is above 0.8.
    """
    if not 0.0 <= threshold <= 1.0:
        from promptlib.evals._comparison import ComparisonError

        raise ComparisonError(
            f"threshold is a score between 0 and 1 (0.8 for 80%), got {threshold!r}"
        )
    chosen = [report.variant(variant)] if variant is not None else list(report.variants)
    failures = []
    for v in chosen:
        if v.interval is None or v.mean is None:
            failures.append(f"{v.label}: no scores to check ({v.missing} left out)")
        elif v.interval.low < threshold:
            failures.append(
                f"{v.label}: {report.scorer} {100 * v.mean:.1f}% on {v.cases} cases, "
                f"{round(100 * v.interval.level)}% interval {100 * v.interval.low:.1f} to "
                f"{100 * v.interval.high:.1f}; its lower bound is under {100 * threshold:g}%"
            )
    if failures:
        raise QualityGateFailure("quality below the threshold:\n  " + "\n  ".join(failures))


def require_not_worse(report: ComparisonReport) -> None:
    """Fail when a candidate is significantly worse than the baseline (Holm-adjusted), or
    could not be compared with it at all."""
    problems = [c.verdict for c in report.worse]
    problems += [f"{label}: not compared (no shared scored cases)" for label in report.not_compared]
    if problems:
        raise QualityGateFailure("worse than the baseline:\n  " + "\n  ".join(problems))


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib.evals", QualityGateFailure, require_at_least, require_not_worse)

"""Comparing the variants of a run, or of two runs on one dataset, against a baseline.

Every comparison is paired: the same cases under both variants. Per variant, a mean with
its interval (Wilson for pass/fail, a bootstrap for graded scores, cluster-robust by case
with repeats) and pass@k / pass^k; per candidate, the paired difference with its interval
and test (:mod:`promptlib.evals.stats`), Holm-adjusted when several candidates share the
baseline, the cases that flipped, and a verdict that claims only what the data support.

Scoring rules: a result that failed at the provider for a passing reason (an outage, a
rate limit: ``promptlib eval resume`` sends it again) or whose scorer raised has no score
and is left out; any other error (output that does not parse, a refusal, a truncation)
is the variant's failure and scores 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Literal

from promptlib._errors import UsageError
from promptlib.evals._store import ResultRow, RunInfo, transient
from promptlib.evals._summary import quantile
from promptlib.evals.stats import (
    NORMAL_ABOVE,
    SMALL_N,
    Comparison,
    Interval,
    bootstrap_mean,
    bounded_mean,
    clustered_mean,
    compare_pass_fail,
    compare_scores,
    flips,
    holm_adjust,
    normal_mean,
    pass_at_k,
    pass_hat_k,
    t_quantile,
    verdict,
    wilson,
)

if TYPE_CHECKING:
    from promptlib.evals._runner import RunResult

__all__ = [
    "SCHEMA_VERSION",
    "ComparisonError",
    "ComparisonReport",
    "VariantComparison",
    "VariantStats",
    "compare",
    "compare_rows",
]

SCHEMA_VERSION = 1
Kind = Literal["pass/fail", "graded"]
Outcome = Literal["better", "worse", "no detectable difference"]


class ComparisonError(UsageError):
    """A comparison cannot be made: unknown baseline or scorer, or runs on different datasets."""


@dataclass(frozen=True)
class VariantStats:
    """One variant (on one model, in one run): its quality, cost, tokens and latency.

    Attributes:
        label: how reports name it (the variant, with the model and run when needed).
        cases: cases with at least one score; scores: scores counted (cases × repeats).
        repeats: the most repeats any case has.
        failed: results that ended in an error and score 0; missing: results left out
            (provider outages, scorer errors).
        mean, interval: the mean score and its interval (``None`` without scores).
        pass_at_k, pass_hat_k: for pass/fail scores with repeats, at ``k``: the fewest
            repeats any case has.
        cost: dollars spent on known costs; cost_unknown: results whose cost is unknown.
        latency_p50, latency_p95: seconds, over successful results.
    """

    label: str
    run_id: str
    variant: str
    model: str
    template_hash: str | None
    cases: int
    scores: int
    repeats: int
    failed: int
    missing: int
    mean: float | None
    interval: Interval | None
    pass_at_k: float | None = None
    pass_hat_k: float | None = None
    k: int | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost: Decimal = Decimal(0)
    cost_unknown: int = 0
    latency_p50: float | None = None
    latency_p95: float | None = None

    @property
    def cost_per_case(self) -> Decimal | None:
        """Dollars per scored result (``None`` when nothing was scored)."""
        return self.cost / self.scores if self.scores else None


@dataclass(frozen=True)
class VariantComparison:
    """A candidate against the baseline on the cases both have scores for.

    ``stats`` holds the difference (candidate minus baseline), its interval and test;
    ``wins`` and ``losses`` are the case ids where the candidate scored higher or lower;
    ``unpaired`` counts cases only one of the two has a score for.
    """

    stats: Comparison
    wins: tuple[str, ...]
    losses: tuple[str, ...]
    ties: int
    unpaired: int
    outcome: Outcome
    verdict: str


@dataclass(frozen=True)
class ComparisonReport:
    """Everything a comparison found; reports render it, ``to_dict`` is its JSON form."""

    runs: tuple[str, ...]
    dataset: Mapping[str, Any]
    scorer: str
    kind: Kind
    level: float
    alpha: float
    detect: float
    baseline: str
    variants: tuple[VariantStats, ...]
    comparisons: tuple[VariantComparison, ...]
    notes: tuple[str, ...] = field(default=())
    not_compared: tuple[str, ...] = field(default=())

    def variant(self, label: str) -> VariantStats:
        """The variant with this label."""
        for stats in self.variants:
            if stats.label == label:
                return stats
        raise ComparisonError(
            f"no variant {label!r} in this comparison; choose one of: "
            + ", ".join(v.label for v in self.variants)
        )

    @property
    def worse(self) -> tuple[VariantComparison, ...]:
        """Candidates significantly worse than the baseline (what ``--fail-if-worse`` fails on)."""
        return tuple(c for c in self.comparisons if c.outcome == "worse")

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON data, valid against ``promptlib/evals/report/schema.json``."""
        return {
            "schema": "promptlib.comparison",
            "schema_version": SCHEMA_VERSION,
            "runs": list(self.runs),
            "dataset": dict(self.dataset),
            "scorer": self.scorer,
            "kind": self.kind,
            "level": self.level,
            "alpha": self.alpha,
            "detect": self.detect,
            "baseline": self.baseline,
            "variants": [_variant_dict(v) for v in self.variants],
            "comparisons": [_comparison_dict(c) for c in self.comparisons],
            "not_compared": list(self.not_compared),
            "notes": list(self.notes),
        }


def _interval_dict(interval: Interval | None) -> dict[str, Any] | None:
    if interval is None:
        return None
    return {
        "low": interval.low,
        "high": interval.high,
        "level": interval.level,
        "method": interval.method,
    }


def _variant_dict(v: VariantStats) -> dict[str, Any]:
    per_case = v.cost_per_case
    return {
        "label": v.label,
        "run_id": v.run_id,
        "variant": v.variant,
        "model": v.model,
        "template_hash": v.template_hash,
        "cases": v.cases,
        "scores": v.scores,
        "repeats": v.repeats,
        "failed": v.failed,
        "missing": v.missing,
        "mean": v.mean,
        "interval": _interval_dict(v.interval),
        "pass_at_k": v.pass_at_k,
        "pass_hat_k": v.pass_hat_k,
        "k": v.k,
        "input_tokens": v.input_tokens,
        "output_tokens": v.output_tokens,
        "cost": f"{v.cost:f}",
        "cost_per_case": None if per_case is None else f"{per_case:.8f}",
        "cost_unknown": v.cost_unknown,
        "latency_p50": v.latency_p50,
        "latency_p95": v.latency_p95,
    }


def _comparison_dict(c: VariantComparison) -> dict[str, Any]:
    s = c.stats
    return {
        "baseline": s.baseline,
        "candidate": s.candidate,
        "n": s.n,
        "difference": s.difference,
        "interval": _interval_dict(s.interval),
        "test": s.test,
        "p_value": s.p_value,
        "adjusted_p": s.adjusted_p,
        "detect": s.detect,
        "cases_needed": s.cases_needed,
        "outcome": c.outcome,
        "verdict": c.verdict,
        "wins": list(c.wins),
        "losses": list(c.losses),
        "ties": c.ties,
        "unpaired": c.unpaired,
    }


# --- building a report -----------------------------------------------------------------------


def compare(
    *runs: RunResult | str,
    store: str | Path | None = None,
    baseline: str | None = None,
    scorer: str | None = None,
    level: float = 0.95,
    detect: float = 0.05,
    resamples: int = 10_000,
    seed: int = 0,
) -> ComparisonReport:
    """Compare the variants of one run, or of two runs made on the same dataset.

    Args:
        runs: run results or run ids (a unique prefix will do).
        store: the results store for run ids (default ``.promptlib/evals.sqlite``; a
            ``RunResult`` knows its own).
        baseline: the variant the others are compared with: a label, a variant name or a run
            id (default: the first variant of the first run).
        scorer: which score to compare (default: the run's first scorer).
        level: the confidence level of every interval; tests are at ``1 - level``.
        detect: the difference (as a fraction) a verdict reports the cases needed for.
        resamples, seed: for bootstrap intervals and Monte Carlo permutation tests.
    """
    from promptlib.evals._store import DEFAULT_STORE, Store

    if not runs:
        raise ComparisonError("compare needs at least one run")
    infos: list[RunInfo] = []
    rows: list[ResultRow] = []
    for run in runs:
        if isinstance(run, str):
            path, run_id = Path(store or DEFAULT_STORE), run
        elif isinstance(getattr(run, "run_id", None), str) and getattr(run, "store", None):
            path, run_id = Path(run.store), run.run_id
        else:
            raise ComparisonError(
                f"compare takes run ids or the RunResults of promptlib.evals.run, got {run!r}"
            )
        with Store(path, create=False) as opened:
            info = opened.run(run_id)
            if any(seen.run_id == info.run_id for seen in infos):
                raise ComparisonError(
                    f"run {info.run_id} is given twice; give it once, or two different runs"
                )
            infos.append(info)
            rows.extend(opened.results(info.run_id))
    return compare_rows(
        rows,
        runs=infos,
        baseline=baseline,
        scorer=scorer,
        level=level,
        detect=detect,
        resamples=resamples,
        seed=seed,
    )


def compare_rows(
    rows: Iterable[ResultRow],
    *,
    runs: Sequence[RunInfo] = (),
    baseline: str | None = None,
    scorer: str | None = None,
    level: float = 0.95,
    detect: float = 0.05,
    resamples: int = 10_000,
    seed: int = 0,
) -> ComparisonReport:
    """Compare stored results (see :func:`compare`); ``runs`` adds their manifests' facts."""
    if not 0.5 <= level <= 0.9999:
        raise ComparisonError(
            f"level must be between 0.5 and 0.9999 (e.g. 0.95 for 95% intervals), got {level!r}"
        )
    if not 0.0 < detect < 1.0:
        raise ComparisonError(f"detect must be between 0 and 1 (e.g. 0.05), got {detect!r}")
    if not resamples >= 100:
        raise ComparisonError(f"resamples must be at least 100 (10,000 is usual), got {resamples}")
    dataset = _same_dataset(runs)
    given: Any = rows
    listed: list[Any] = [given] if given is None or isinstance(given, str | bytes) else list(given)
    if not all(isinstance(row, ResultRow) for row in listed):
        raise ComparisonError(
            "compare_rows takes the ResultRows of a store (Store(path).results(run_id)); "
            "to compare stored runs by id, use compare(run_id, store=...)"
        )
    arms = _group(listed, runs)
    if not arms:
        raise ComparisonError("there are no results to compare: run the evaluation first")
    name = _scorer(arms, runs, scorer)
    labels = _labels(list(arms))
    values = {key: _scores(group, name) for key, group in arms.items()}
    binary = all(s in (0.0, 1.0) for v in values.values() for c in v.by_case.values() for s in c)
    kind: Kind = "pass/fail" if binary else "graded"
    repeated = any(len(case) > 1 for v in values.values() for case in v.by_case.values())
    variants = tuple(
        _variant_stats(labels[key], key, group, values[key], kind, level, resamples, seed)
        for key, group in arms.items()
    )
    base_key = _baseline(baseline, labels, runs)
    base_mean = variants[list(arms).index(base_key)].mean
    unreachable = base_mean is not None and base_mean + detect > 1.0 and base_mean - detect < 0.0
    if kind == "pass/fail" and not repeated and base_mean is not None and unreachable:
        raise ComparisonError(
            f"detect {detect:g} cannot be reached from the baseline's pass rate "
            f"{100 * base_mean:.1f}% either way; choose at most "
            f"{max(1.0 - base_mean, base_mean):.3f}"
        )
    not_compared: list[str] = []
    comparisons: list[VariantComparison] = []
    notes: list[str] = []
    raw: list[tuple[Comparison, tuple[str, ...], tuple[str, ...], int, int]] = []
    for key in arms:
        if key == base_key:
            continue
        a, b = values[base_key].case_means(), values[key].case_means()
        shared = [case for case in a if case in b]
        unpaired = len(set(a) ^ set(b))
        if len(shared) < 2:
            not_compared.append(labels[key])
            notes.append(
                f"{labels[key]} is not compared: it shares {len(shared)} scored case(s) with "
                f"{labels[base_key]}, and a paired comparison needs at least 2"
            )
            continue
        xs, ys = [a[c] for c in shared], [b[c] for c in shared]
        if kind == "pass/fail" and not repeated:
            stats = compare_pass_fail(
                labels[base_key],
                [x == 1.0 for x in xs],
                labels[key],
                [y == 1.0 for y in ys],
                level=level,
                detect=detect,
                tests=max(1, len(arms) - 1),
            )
        else:
            stats = compare_scores(
                labels[base_key],
                xs,
                labels[key],
                ys,
                level=level,
                detect=detect,
                resamples=resamples,
                seed=seed,
                tests=max(1, len(arms) - 1),
            )
        changed = flips(shared, xs, ys)
        raw.append((stats, changed.wins, changed.losses, changed.ties, unpaired))
    adjusted = holm_adjust([r[0] for r in raw]) if len(raw) > 1 else [r[0] for r in raw]
    alpha = round(1.0 - level, 12)
    for stats, (_, wins, losses, ties, unpaired) in zip(adjusted, raw, strict=True):
        comparisons.append(
            VariantComparison(
                stats=stats,
                wins=wins,
                losses=losses,
                ties=ties,
                unpaired=unpaired,
                outcome=_outcome(stats, alpha),
                verdict=verdict(stats, alpha=alpha),
            )
        )
    notes.extend(_notes(variants, repeated, kind, name))
    return ComparisonReport(
        runs=tuple(info.run_id for info in runs) or tuple(dict.fromkeys(k[0] for k in arms)),
        dataset=dataset,
        scorer=name,
        kind=kind,
        level=level,
        alpha=alpha,
        detect=detect,
        baseline=labels[base_key],
        variants=variants,
        comparisons=tuple(comparisons),
        notes=tuple(notes),
        not_compared=tuple(not_compared),
    )


ArmKey = tuple[str, str, str]  # run id, variant, model


def _same_dataset(runs: Sequence[RunInfo]) -> dict[str, Any]:
    datasets = [dict(info.manifest.get("dataset") or {}) for info in runs]
    hashes = {d.get("hash") for d in datasets}
    if len(hashes) > 1:
        listed = "; ".join(
            f"{info.run_id}: {d.get('name')} {str(d.get('hash'))[:19]}"
            for info, d in zip(runs, datasets, strict=True)
        )
        raise ComparisonError(
            f"these runs used different datasets ({listed}); cases are paired by id, so they "
            "can only be compared on the same dataset: run both variants on one dataset"
        )
    first = datasets[0] if datasets else {}
    return {"name": first.get("name"), "hash": first.get("hash"), "cases": first.get("cases")}


def _group(rows: Iterable[ResultRow], runs: Sequence[RunInfo]) -> dict[ArmKey, list[ResultRow]]:
    groups: dict[ArmKey, list[ResultRow]] = {}
    for row in rows:
        groups.setdefault((row.run_id, row.variant, row.model), []).append(row)

    def order(key: ArmKey) -> tuple[int, int, int]:
        for i, info in enumerate(runs):
            if info.run_id == key[0]:
                labels = [v.get("label") for v in info.manifest.get("variants", [])]
                models = list(info.manifest.get("models", []))
                return (
                    i,
                    labels.index(key[1]) if key[1] in labels else len(labels),
                    models.index(key[2]) if key[2] in models else len(models),
                )
        return (len(runs), 0, 0)

    return {key: groups[key] for key in sorted(groups, key=order)}


def _scorer(
    arms: Mapping[ArmKey, list[ResultRow]], runs: Sequence[RunInfo], asked: str | None
) -> str:
    available: dict[str, None] = {}
    for info in runs:
        available.update(dict.fromkeys(info.manifest.get("scorers", [])))
    for group in arms.values():
        for row in group:
            available.update(dict.fromkeys(row.scores))
    for info in runs:
        scored = info.manifest.get("scorers")
        if asked is not None and scored and asked not in scored:
            raise ComparisonError(
                f"run {info.run_id} has no scorer {asked!r} (it has: {', '.join(scored)}); "
                "compare runs scored the same way"
            )
    firsts = [(info.run_id, list(info.manifest.get("scorers") or [])[:1]) for info in runs]
    if asked is None and len({tuple(f) for _, f in firsts}) > 1:
        raise ComparisonError(
            "these runs were scored differently ("
            + "; ".join(f"{run}: {', '.join(f) or 'none'} first" for run, f in firsts)
            + "); name a scorer they share with --scorer, or run them with the same scorers"
        )
    if asked is not None:
        if asked not in available:
            raise ComparisonError(
                f"no scorer named {asked!r} in these results; choose one of: "
                + (", ".join(available) or "(none: the run has no scorers)")
            )
        return asked
    if not available:
        raise ComparisonError("these results have no scores: give the experiment a scorer")
    return next(iter(available))


def _labels(keys: list[ArmKey]) -> dict[ArmKey, str]:
    models = {k[2] for k in keys}
    labels = {k: k[1] if len(models) == 1 else f"{k[1]} on {k[2]}" for k in keys}
    seen: dict[str, int] = {}
    for label in labels.values():
        seen[label] = seen.get(label, 0) + 1
    return {k: f"{label} [{k[0]}]" if seen[label] > 1 else label for k, label in labels.items()}


def _baseline(asked: str | None, labels: Mapping[ArmKey, str], runs: Sequence[RunInfo]) -> ArmKey:
    keys = list(labels)
    if asked is None:
        return keys[0]
    for matches in (
        [k for k in keys if labels[k] == asked],
        [k for k in keys if k[1] == asked],
        [k for k in keys if k[0] == asked],
        [k for k in keys if k[0].startswith(asked)] if runs else [],
    ):
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise ComparisonError(
                f"baseline {asked!r} matches several variants; name one of: "
                + ", ".join(labels[k] for k in matches)
            )
    raise ComparisonError(
        f"no variant {asked!r} to use as the baseline; choose one of: " + ", ".join(labels.values())
    )


@dataclass
class _Scores:
    by_case: dict[str, list[float]] = field(default_factory=dict)
    failed: int = 0
    missing: int = 0

    def case_means(self) -> dict[str, float]:
        return {c: math.fsum(v) / len(v) for c, v in self.by_case.items()}


def _scores(rows: list[ResultRow], scorer: str) -> _Scores:
    scores = _Scores()
    for row in rows:
        if row.error is not None:
            if transient(row.error):
                scores.missing += 1
                continue
            scores.failed += 1
            value: Any = 0.0
        else:
            value = (row.scores.get(scorer) or {}).get("value")
            if not isinstance(value, int | float) or not math.isfinite(value):
                scores.missing += 1  # (True and False count as 1 and 0)
                continue
        scores.by_case.setdefault(row.case_id, []).append(float(value))
    return scores


def _variant_stats(
    label: str,
    key: ArmKey,
    rows: list[ResultRow],
    scores: _Scores,
    kind: Kind,
    level: float,
    resamples: int,
    seed: int,
) -> VariantStats:
    per_case = list(scores.by_case.values())
    flat = [s for case in per_case for s in case]
    repeats = max((len(case) for case in per_case), default=0)
    mean = math.fsum(flat) / len(flat) if flat else None
    interval: Interval | None = None
    at_k = hat_k = None
    k = min((len(case) for case in per_case), default=0)
    if repeats > 1 and kind == "pass/fail" and k > 1:
        at_k = math.fsum(pass_at_k(len(c), round(sum(c)), k) for c in per_case) / len(per_case)
        hat_k = math.fsum(pass_hat_k(len(c), round(sum(c)), k) for c in per_case) / len(per_case)
    if not flat:
        pass
    elif repeats > 1:
        interval = _repeated_interval(per_case, kind, level)
    elif kind == "pass/fail":
        interval = wilson(sum(flat), len(flat), level)
    elif len(flat) < SMALL_N:
        interval = bounded_mean(flat, level)
    elif len(flat) > NORMAL_ABOVE and len(set(flat)) * 40 >= len(flat):
        interval = normal_mean(flat, level)  # see stats.compare_scores
    else:
        interval = bootstrap_mean(flat, level, resamples, seed)
    ok = [r for r in rows if r.error is None]
    latencies = sorted(r.latency for r in ok if r.latency is not None)
    return VariantStats(
        label=label,
        run_id=key[0],
        variant=key[1],
        model=key[2],
        template_hash=rows[0].template_hash if rows else None,
        cases=len(per_case),
        scores=len(flat),
        repeats=repeats,
        failed=scores.failed,
        missing=scores.missing,
        mean=mean,
        interval=interval,
        pass_at_k=at_k,
        pass_hat_k=hat_k,
        k=k if at_k is not None else None,
        input_tokens=sum(r.input_tokens for r in rows),
        output_tokens=sum(r.output_tokens for r in rows),
        cost=sum((Decimal(r.cost) for r in rows if r.cost is not None), Decimal(0)),
        cost_unknown=sum(r.cost is None and r.error is None for r in rows),
        latency_p50=quantile(latencies, 0.5),
        latency_p95=quantile(latencies, 0.95),
    )


def _repeated_interval(per_case: list[list[float]], kind: Kind, level: float) -> Interval:
    """Repeats of a case are correlated, so the standard error is clustered by case
    (Miller 2024), with the small-sample factor G/(G - 1) for G cases and Student's t on
    G - 1 degrees of freedom. Pass/fail scores get Wilson's interval at the effective number
    of scores that error implies, never fewer than the cases, scaled by (z/t)^2 (Korn &
    Graubard 1998): it stays within [0, 1] and keeps its width at 0% and 100%. Graded
    scores on few cases get the bounded interval of their case means."""
    clustered = clustered_mean(per_case, level)
    cases = len(per_case)
    correction = cases / (cases - 1) if cases > 1 else 1.0
    z = NormalDist().inv_cdf(0.5 + level / 2)
    t = t_quantile(0.5 + level / 2, max(cases - 1, 1))
    if kind == "pass/fail":
        flat = [s for case in per_case for s in case]
        p = math.fsum(flat) / len(flat)
        effective = float(cases)
        variance = clustered.standard_error**2 * correction
        if variance > 0 and 0.0 < p < 1.0:
            effective = p * (1.0 - p) / variance
        effective = min(max(effective, cases), len(flat)) * (z / t) ** 2
        w = wilson(p * effective, effective, level)
        return Interval(
            w.low, w.high, level, "Wilson, effective N from SE clustered by case (t-adjusted)"
        )
    if cases < SMALL_N:
        return bounded_mean([math.fsum(c) / len(c) for c in per_case], level)
    half = t * clustered.standard_error * math.sqrt(correction)
    return Interval(
        max(0.0, clustered.mean - half),
        min(1.0, clustered.mean + half),
        level,
        "t, cluster-robust SE by case",
    )


def _outcome(stats: Comparison, alpha: float) -> Outcome:
    p = stats.p_value if stats.adjusted_p is None else stats.adjusted_p
    if p < alpha and stats.interval.excludes(0.0):
        return "better" if stats.difference > 0 else "worse"
    return "no detectable difference"


def _notes(variants: Sequence[VariantStats], repeated: bool, kind: Kind, name: str) -> list[str]:
    notes = []
    for v in variants:
        if v.missing:
            notes.append(
                f"{v.label}: {v.missing} result(s) have no {name!r} score (a provider outage, a "
                "scorer error, or a run without this scorer) and are left out; promptlib eval "
                "resume sends outages again"
            )
        if v.failed:
            notes.append(f"{v.label}: {v.failed} result(s) ended in an error and score 0")
    if repeated:
        notes.append(
            "with repeats, each case's mean over its repeats is compared (paired by case), "
            "and per-variant intervals use standard errors clustered by case"
        )
    if kind == "pass/fail" and not repeated:
        notes.append(
            "pass/fail: Wilson intervals per variant; the difference has Tango's score "
            "interval and McNemar's exact test"
        )
    return notes


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as(
    "promptlib.evals",
    ComparisonError,
    ComparisonReport,
    VariantComparison,
    VariantStats,
    compare,
    compare_rows,
)

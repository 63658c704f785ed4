"""Prompt or fine-tune, settled head to head: the best prompt variant and the fine-tuned
model on the same held-out cases, with the evaluation's paired statistics, their cost and
latency, the break-even, and a recommendation that states its reasons and never claims
more than the evidence holds."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from promptlib._errors import ConfigurationError, UsageError
from promptlib._tokens.catalog import Catalog
from promptlib.finetune._roi import ROI, Serving, TrainingCost, roi, serving_from_run

__all__ = ["Decision", "decide"]

# A fine-tune that pays back later than this is not worth it on cost alone.
PAYBACK_MONTHS = 12.0


@dataclass(frozen=True)
class Decision:
    """The head-to-head and what it recommends.

    Attributes:
        recommendation: ``"fine-tune"``, ``"keep the prompt"`` or ``"not enough evidence"``.
        reasons: why, one sentence each, with the figures.
        comparison: the evaluation's comparison of the two (baseline: the prompt).
        roi: the cost side.
    """

    recommendation: str
    reasons: tuple[str, ...]
    comparison: Any
    roi: ROI

    def to_dict(self) -> dict[str, Any]:
        return {
            "recommendation": self.recommendation,
            "reasons": list(self.reasons),
            "quality": self.comparison.to_dict(),
            "cost": self.roi.to_dict(),
        }


def _money(value: Decimal | None, digits: int = 2) -> str:
    if value is None:
        return "unknown"
    sign, size = ("-" if value < 0 else ""), abs(value)
    return f"{sign}${size:,.{digits}f}" if size >= 1 else f"{sign}${size:.6f}"


def decide(
    prompt_run: str,
    prompt_variant: str,
    finetuned_run: str,
    finetuned_variant: str,
    training: TrainingCost,
    *,
    requests_per_month: int,
    store: str | Path | None = None,
    scorer: str | None = None,
    detect: float = 0.05,
    level: float = 0.95,
    prompt_model: str | None = None,
    finetuned_model: str | None = None,
    catalog: Catalog | None = None,
    manifest: str | Path | None = None,
    payback_months: float = PAYBACK_MONTHS,
) -> Decision:
    """Put ``finetuned_variant`` against ``prompt_variant`` on the same held-out cases.

    The two may be in one run or in two runs of the same dataset (the test split the
    export kept out of training); ``prompt_model`` and ``finetuned_model`` pick one model
    where a variant ran on several (the same template on the base and the fine-tuned
    model, say). Only these two are compared: other variants of the runs play no part.
    ``manifest``: the export's ``manifest.json``: every case evaluated must be in its test
    split (a case the model trained on would flatter it). ``payback_months``: the longest
    break-even a fine-tune is recommended on cost.

    Raises:
        ConfigurationError: a run or variant is missing or ambiguous, or the runs are on
            different datasets.
    """
    from promptlib.evals._comparison import ComparisonError, compare_rows

    prompt_info, prompt_rows = _arm(prompt_run, prompt_variant, prompt_model, store)
    ft_info, ft_rows = _arm(finetuned_run, finetuned_variant, finetuned_model, store)
    if manifest is not None:
        _held_out(Path(manifest), {r.case_id for r in [*prompt_rows, *ft_rows]})
    if not 0 < payback_months <= 120:
        raise ConfigurationError(f"payback_months={payback_months}: give 0 to 120 months")
    prompt = serving_from_run(
        prompt_run, prompt_rows[0].variant, store=store, model=prompt_rows[0].model,
        catalog=catalog,
    )  # fmt: skip
    finetuned = serving_from_run(
        finetuned_run, ft_rows[0].variant, store=store, model=ft_rows[0].model, catalog=catalog
    )
    # Each arm renamed, so that the two are told apart even when the template is one.
    rows = [replace(r, variant=_PROMPT) for r in prompt_rows]
    rows += [replace(r, variant=_FINETUNED) for r in ft_rows]
    infos = [prompt_info] if prompt_info.run_id == ft_info.run_id else [prompt_info, ft_info]
    try:
        report = compare_rows(
            rows, runs=infos, baseline=_PROMPT, scorer=scorer, detect=detect, level=level
        )
    except ComparisonError as exc:
        raise ConfigurationError(f"the head-to-head cannot compare them: {exc}") from None
    if not report.comparisons:
        raise ConfigurationError(
            "the head-to-head cannot compare them: they share fewer than 2 scored cases "
            f"({'; '.join(report.notes) or 'run them on the same held-out split'})"
        )
    comparison = report.comparisons[0]
    money = roi(prompt, finetuned, training, requests_per_month=requests_per_month)
    recommendation, reasons = _recommend(
        comparison, money, report, prompt, finetuned, payback_months
    )
    return Decision(recommendation, tuple(reasons), report, money)


_PROMPT, _FINETUNED = "prompt", "fine-tuned"


def _held_out(manifest: Path, cases: set[str]) -> None:
    """Refuse a head-to-head on cases the export did not hold out."""
    try:
        splits = json.loads(manifest.read_text(encoding="utf-8"))["splits"]
        test = set(splits["test"])
        trained = {case for name, ids in splits.items() if name != "test" for case in ids}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"--manifest {manifest} is not an export's manifest with a test split ({exc})"
        ) from None
    seen_in_training = sorted(cases & trained)
    if seen_in_training:
        raise ConfigurationError(
            f"{len(seen_in_training)} evaluated case(s) are in the training data "
            f"({', '.join(seen_in_training[:5])}): a head-to-head must run on the test split "
            f"({manifest.parent / 'test.cases.jsonl'})"
        )
    outside = sorted(cases - test)
    if outside:
        raise ConfigurationError(
            f"{len(outside)} evaluated case(s) are not in the export's test split "
            f"({', '.join(outside[:5])}); evaluate on {manifest.parent / 'test.cases.jsonl'}"
        )


def _arm(
    run: str, variant: str, model: str | None, store: str | Path | None
) -> tuple[Any, list[Any]]:
    """The run and the rows of one variant (on one model)."""
    from promptlib.evals._store import DEFAULT_STORE, Store, StoreError

    try:
        with Store(store or DEFAULT_STORE, create=False) as db:
            info = db.run(run)
            rows = list(db.results(info.run_id))
    except StoreError as exc:
        raise ConfigurationError(f"the head-to-head needs run {run!r}: {exc}") from None
    chosen = [r for r in rows if r.variant == variant or r.variant.split("@", 1)[0] == variant]
    if model is not None:
        chosen = [r for r in chosen if model in (r.model, r.model.split(":", 1)[-1])]
    variants = sorted({r.variant for r in chosen})
    models = sorted({r.model for r in chosen})
    where = f"run {info.run_id}"
    if not chosen:
        known = sorted({f"{r.variant} on {r.model}" for r in rows}) or ["none"]
        raise ConfigurationError(
            f"{where} has no results of variant {variant!r}"
            + (f" on {model}" if model else "")
            + f" (it has: {', '.join(known)})"
        )
    if len(variants) > 1:
        raise ConfigurationError(f"{variant!r} names {', '.join(variants)} in {where}: name one")
    if len(models) > 1:
        raise ConfigurationError(
            f"{variants[0]} ran on {', '.join(models)} in {where}: name one with RUN:VARIANT:MODEL"
        )
    return info, chosen


def _recommend(
    comparison: Any,
    money: ROI,
    report: Any,
    prompt: Serving,
    finetuned: Serving,
    payback: float = PAYBACK_MONTHS,
) -> tuple[str, list[str]]:
    stats = comparison.stats
    level = report.level
    quality = (
        f"quality: the fine-tune scores {stats.difference * 100:+.1f} points against the "
        f"prompt ({level:.0%} CI {stats.interval.low * 100:+.1f} to "
        f"{stats.interval.high * 100:+.1f}, p = {stats.p_value:.3f}, {stats.n} paired cases)"
    )
    reasons = [quality]
    cost = (
        f"cost: {_money(prompt.cost_per_request, 6)} per request with the prompt, "
        f"{_money(finetuned.cost_per_request, 6)} fine-tuned; at "
        f"{money.requests_per_month:,} requests a month {_money(money.monthly_prompt)} "
        f"against {_money(money.monthly_finetuned)}"
    )
    if money.missing:
        cost += f" (not computable: {', '.join(money.missing)} unknown)"
    reasons.append(cost)
    one_off = money.training.total
    if money.break_even_months is not None:
        reasons.append(
            f"payback: {_money(one_off)} once, recovered in {money.break_even_months:.1f} months"
        )
    elif money.monthly_saving is not None and money.monthly_saving <= 0:
        reasons.append("payback: never — the fine-tune costs no less to serve")
    latency = _latency(prompt, finetuned)
    if latency:
        reasons.append(latency)
    failed = {v.variant: v.failed + v.missing for v in report.variants}
    if any(failed.values()):
        shown = ", ".join(f"{n} of the {name}'s" for name, n in failed.items() if n)
        return "not enough evidence", [
            *reasons,
            *report.notes,
            f"not enough evidence yet: {shown} results failed (an error scores 0, an outage "
            "is left out): resume the runs (promptlib eval resume RUN) before deciding",
        ]
    if comparison.outcome == "worse":
        return "keep the prompt", [*reasons, "the fine-tune is significantly worse"]
    if comparison.outcome == "better":
        months = money.break_even_months
        if months is not None and months <= payback:
            why = f"the fine-tune is significantly better and pays back in {months:.1f} months"
        elif money.monthly_saving is not None and money.monthly_saving >= 0:
            why = "the fine-tune is significantly better, and costs no more to serve" + (
                f" (its one-off cost pays back in {months:.1f} months)" if months else ""
            )
        elif money.monthly_saving is not None:
            why = (
                f"the fine-tune is significantly better, and costs "
                f"{_money(-money.monthly_saving)} a month more to serve: worth it if that "
                "quality is worth the money"
            )
        else:
            why = "the fine-tune is significantly better; what it costs is not known"
        return "fine-tune", [*reasons, why]
    if stats.n < stats.cases_needed:
        return "not enough evidence", [
            *reasons,
            f"not enough evidence yet: {stats.n} cases cannot detect a "
            f"{stats.detect * 100:.0f}-point difference; about {stats.cases_needed:,} would",
        ]
    if money.break_even_months is not None and money.break_even_months <= payback:
        return "fine-tune", [
            *reasons,
            "no difference in quality that these cases could detect, and the fine-tune pays "
            f"back within {payback:.0f} months",
        ]
    unpriced = [m for m in (prompt.missing_price(), finetuned.missing_price()) if m]
    if unpriced:
        return "not enough evidence", [
            *reasons,
            "no difference in quality that these cases could detect, and the cost cannot be "
            f"compared: {' and '.join(unpriced)} is unknown (add it to your catalog)",
        ]
    saving = money.monthly_saving
    if money.training.total is None and saving is not None and saving > 0:
        room = saving * Decimal(payback) - money.training.labelling
        room -= money.training.engineering
        return "not enough evidence", [
            *reasons,
            "no difference in quality that these cases could detect, and the cost cannot be "
            "decided: the training price is unknown. The fine-tune pays back within "
            f"{payback:.0f} months if training costs less than {_money(room)}",
        ]
    return "keep the prompt", [
        *reasons,
        "no difference in quality that these cases could detect, and the fine-tune does not "
        f"pay back within {payback:.0f} months"
        + (" (or its cost is unknown)" if money.missing else ""),
    ]


def _latency(prompt: Serving, finetuned: Serving) -> str | None:
    if prompt.latency_p50 is None or finetuned.latency_p50 is None:
        return None
    return (
        f"latency: p50 {prompt.latency_p50 * 1000:.0f} ms / p95 "
        f"{(prompt.latency_p95 or 0) * 1000:.0f} ms with the prompt, p50 "
        f"{finetuned.latency_p50 * 1000:.0f} ms / p95 {(finetuned.latency_p95 or 0) * 1000:.0f} "
        "ms fine-tuned"
    )


def render(decision: Decision, format: Literal["text", "md", "html"] = "text") -> str:
    """The decision as ``text`` (a terminal or a log), ``md`` (a pull request or a wiki
    page) or ``html`` (one self-contained page, no scripts, no fetches).

    Raises:
        UsageError: an unknown format.
    """
    renderers = {"text": render_text, "md": render_markdown, "html": render_html}
    if format not in renderers:
        raise UsageError(f"unknown decision format {format!r}; choose one of: text, md, html")
    return renderers[format](decision)


def render_text(decision: Decision) -> str:
    """The decision for a terminal or a log."""
    lines = [f"recommendation: {decision.recommendation}", ""]
    lines += [f"- {reason}" for reason in decision.reasons]
    lines += ["", _sensitivity_text(decision.roi)]
    return "\n".join(lines) + "\n"


def _sensitivity_rows(money: ROI) -> list[list[str]]:
    rows = []
    for volume, a, b, saving, months in money.sensitivity:
        rows.append(
            [
                f"{volume:,}",
                _money(a),
                _money(b),
                _money(saving),
                "never" if months is None and saving is not None and saving <= 0 else
                "unknown" if months is None else f"{months:.1f}",
            ]
        )  # fmt: skip
    return rows


_HEADER = ["requests/month", "prompt", "fine-tuned", "saving/month", "break-even (months)"]


def _sensitivity_text(money: ROI) -> str:
    rows = [_HEADER, *_sensitivity_rows(money)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HEADER))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def render_markdown(decision: Decision) -> str:
    """The decision for a pull request or a wiki page."""
    lines = [f"## Prompt or fine-tune: **{decision.recommendation}**", ""]
    lines += [f"- {reason}" for reason in decision.reasons]
    lines += ["", "| " + " | ".join(_HEADER) + " |", "|" + "---|" * len(_HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in _sensitivity_rows(decision.roi)]
    return "\n".join(lines) + "\n"


def render_html(decision: Decision) -> str:
    """One self-contained HTML page (no scripts, no fetches)."""
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in decision.reasons)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in _HEADER)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
        for row in _sensitivity_rows(decision.roi)
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "style-src 'unsafe-inline'\"><title>Prompt or fine-tune</title><style>"
        "body{font:15px system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;"
        "text-align:right}</style></head><body>"
        f"<h1>Prompt or fine-tune: {html.escape(decision.recommendation)}</h1>"
        f"<ul>{reasons}</ul><h2>By volume</h2><table><tr>{head}</tr>{body}</table>"
        "</body></html>\n"
    )


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib.finetune", Decision, decide, render)

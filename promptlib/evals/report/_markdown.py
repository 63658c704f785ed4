"""The Markdown report, sized for a pull-request comment (GitHub's limit is 65,536).

The table and verdicts always fit; the lists of flipped cases, folded in ``<details>``,
are shortened until the whole report is at most ``LIMIT`` characters (the JSON report
lists every case).
"""

from __future__ import annotations

import re

from promptlib._terminal import terminal_safe
from promptlib.evals._comparison import ComparisonReport, VariantComparison
from promptlib.evals.report import _format as f

__all__ = ["LIMIT", "render_markdown"]

LIMIT = 65_000
_LABEL = 120  # longest variant label shown; longer ones end in "…"
_CUT = "\n\n… (cut at 65,000 characters: the JSON report has everything)\n"
_ICON = {"better": "✅", "worse": "❌", "no detectable difference": "➖"}
_SPECIAL = re.compile(r"[\\`*_{}\[\]()#+!|~>]")


def escape(text: str, limit: int = 0) -> str:
    """``text`` shown literally in Markdown (and in HTML, which GitHub's Markdown allows),
    control characters as escapes; cut to ``limit`` characters when given."""
    text = terminal_safe(" ".join(text.split()))
    if limit and len(text) > limit:
        text = text[: limit - 1] + "…"
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(lambda m: "\\" + m.group(), text)


def _shortened(verdict: str, report: ComparisonReport) -> str:
    for v in report.variants:
        if len(v.label) > _LABEL:
            verdict = verdict.replace(v.label, v.label[: _LABEL - 1] + "…")
    return verdict


def _table(report: ComparisonReport) -> list[str]:
    level = f"{round(100 * report.level)}% CI"
    compared = f.by_candidate(report)
    lines = [
        f"| variant | {f.score_name(report)} ({level}) | N | vs baseline ({level}) | p "
        "| wins / losses | cost per result | tokens per result in / out | latency p50 / p95 |",
        "|---|---|--:|---|--:|--:|--:|--:|--:|",
    ]
    for v in report.variants:
        c = compared.get(v.label)
        name = escape(v.label, _LABEL)
        name = f"**{name}** (baseline)" if v.label == report.baseline else name
        diff = (
            f"{_ICON[c.outcome]} {f.points(c.stats.difference)} "
            f"({f.interval(c.stats.interval, signed=True)})"
            if c
            else "—"
        )
        lines.append(
            f"| {name} | {f.percent(v.mean)} ({f.interval(v.interval)}) | {v.cases} | {diff} "
            f"| {f.p_value(c) if c else '—'} | {f'{len(c.wins)} / {len(c.losses)}' if c else '—'} "
            f"| {f.dollars(v.cost_per_case, v.cost_unknown)} | {f.tokens(v)} "
            f"| {f.seconds(v.latency_p50)} / {f.seconds(v.latency_p95)} |"
        )
    return lines


def _ids(ids: tuple[str, ...], limit: int) -> str:
    shown = ", ".join(escape(i) for i in ids[:limit])
    more = len(ids) - limit
    return shown + (f", … and {more} more (the JSON report lists all)" if more > 0 else "")


def _flips(c: VariantComparison, limit: int) -> list[str]:
    if not c.wins and not c.losses:
        return []
    return [
        "<details>",
        f"<summary>Cases that flipped, {escape(c.stats.candidate, _LABEL)} against "
        f"{escape(c.stats.baseline, _LABEL)}: {len(c.wins)} better, {len(c.losses)} worse, "
        f"{c.ties} tied</summary>",
        "",
        f"**Better ({len(c.wins)}):** {_ids(c.wins, limit) or 'none'}",
        "",
        f"**Worse ({len(c.losses)}):** {_ids(c.losses, limit) or 'none'}",
        "",
        "</details>",
    ]


def _verdicts(report: ComparisonReport, room: int) -> list[str]:
    """Verdict lines, the worse ones first, within ``room`` characters."""
    rank = {"worse": 0, "better": 1, "no detectable difference": 2}
    ordered = sorted(report.comparisons, key=lambda c: rank[c.outcome])
    lines = [f"- {_ICON[c.outcome]} {escape(_shortened(c.verdict, report))}" for c in ordered]
    not_compared = [
        f"- ⚠️ {escape(label, _LABEL)}: not compared (see the notes)"
        for label in report.not_compared
    ]
    worse = sum(c.outcome == "worse" for c in ordered)
    lines = lines[:worse] + not_compared + lines[worse:]
    kept, used = [], 0
    for i, line in enumerate(lines):
        if used + len(line) + 1 > room:
            kept.append(f"- … and {len(lines) - i} more verdicts: the JSON report has them all")
            break
        kept.append(line)
        used += len(line) + 1
    return kept


def _fitted(table: list[str], room: int) -> list[str]:
    """The table's header and as many rows as fit in ``room`` characters."""
    kept, used = table[:2], sum(len(line) + 1 for line in table[:2])
    for i, line in enumerate(table[2:]):
        if used + len(line) + 1 > room:
            more = len(table) - 2 - i
            return [*kept, f"| … and {more} more variants: the JSON report lists all |"]
        kept.append(line)
        used += len(line) + 1
    return kept


def render_markdown(report: ComparisonReport) -> str:
    """The report as GitHub-flavoured Markdown of at most ``LIMIT`` characters: the verdicts
    (worse ones first) always, then the table, pass@k, flipped cases and notes as room
    allows."""
    title = [
        f"### Evaluation: {escape(report.baseline, _LABEL)} against "
        f"{len(report.variants) - 1} candidate(s)",
        "",
        escape(f.headline(report)),
        "",
    ]
    verdicts = _verdicts(report, LIMIT // 2)
    room = LIMIT - sum(len(line) + 1 for line in [*title, *verdicts]) - 2_000
    head = [*title, *verdicts, "", *_fitted(_table(report), room)]
    extra = [
        f"- {escape(v.label, _LABEL)}: pass@{v.k} {f.percent(v.pass_at_k)}, "
        f"pass^{v.k} {f.percent(v.pass_hat_k)}"
        for v in report.variants
        if v.pass_at_k is not None
    ]
    tail = [f"> {escape(note)}" for note in report.notes]
    limit = max((len(c.wins) + len(c.losses) for c in report.comparisons), default=0)
    while True:
        body = [line for c in report.comparisons for line in _flips(c, limit)] if limit else []
        text = "\n".join([*head, "", *extra, "", *body, "", *tail]).rstrip() + "\n"
        if len(text) <= LIMIT or limit == 0:
            if len(text) <= LIMIT:
                return text
            return text[: LIMIT - len(_CUT)].rsplit("\n", 1)[0] + _CUT
        limit = limit * 2 // 3 if limit > 3 else 0

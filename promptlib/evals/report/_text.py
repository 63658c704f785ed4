"""The terminal report: one table of variants and a verdict per candidate.

Drawn with rich, which sizes columns to the terminal, measures wide characters (CJK case
names) correctly, and colours only where the output is a terminal that wants colour
(``NO_COLOR`` honoured).
"""

from __future__ import annotations

import io
from typing import IO

from promptlib._terminal import terminal_safe
from promptlib.evals._comparison import ComparisonReport
from promptlib.evals.report import _format as f

__all__ = ["print_text", "render_text"]

_STYLE = {"better": "green", "worse": "bold red", "no detectable difference": "yellow"}


def _build(report: ComparisonReport, width: int) -> list[object]:
    from rich.table import Table
    from rich.text import Text

    def cell(text: str, style: str = "") -> Text:
        return Text(terminal_safe(text), style=style)

    level = f"{round(100 * report.level)}% CI"
    compared = f.by_candidate(report)
    # Columns in order of importance; on a narrow terminal the last ones go first.
    headers = [f.score_name(report), level, "N", "vs base", level, "p", "W/L"]
    headers += ["$/result", "tokens in/out", "p50", "p95"]
    rows: list[tuple[str, str, list[str]]] = []
    for v in report.variants:
        c = compared.get(v.label)
        is_base = v.label == report.baseline
        rows.append(
            (
                v.label + (" (baseline)" if is_base else ""),
                "bold" if is_base else (_STYLE[c.outcome] if c else ""),
                [
                    f.percent(v.mean),
                    f.interval(v.interval),
                    str(v.cases),
                    f.points(c.stats.difference) if c else "-",
                    f.interval(c.stats.interval, signed=True) if c else "-",
                    f.p_value(c) if c else "-",
                    f"{len(c.wins)}/{len(c.losses)}" if c else "-",
                    f.dollars(v.cost_per_case, v.cost_unknown),
                    f.tokens(v),
                    f.seconds(v.latency_p50),
                    f.seconds(v.latency_p95),
                ],
            )
        )
    widths = [max(len(h), *(len(r[2][i]) for r in rows)) for i, h in enumerate(headers)]
    keep = len(headers)
    # The variant column takes at least this; each other column its width plus " │ ".
    label_width = min(16, max(len("variant"), *(len(r[0]) for r in rows)))
    while keep > 1 and sum(widths[:keep]) + 3 * keep + label_width > width:
        keep -= 1
    table: object
    if widths[0] + 3 + label_width > width:
        # Too narrow for any table: one line per variant and figure, never a cut number.
        table = Text("\n").join(
            cell(
                f"{label}: " + "; ".join(f"{h} {c}" for h, c in zip(headers, cells, strict=True)),
                style,
            )
            for label, style, cells in rows
        )
    else:
        table = Table(header_style="bold", show_edge=False, pad_edge=False)
        table.add_column("variant", overflow="fold", min_width=label_width)
        for header, size in zip(headers[:keep], widths[:keep], strict=True):
            table.add_column(header, justify="right", no_wrap=True, min_width=size)
        for label, style, cells in rows:
            table.add_row(cell(label, style), *(cell(c) for c in cells[:keep]))
    parts: list[object] = [cell(f.headline(report), "dim"), table]
    for c in report.comparisons:
        parts.append(cell("• " + c.verdict, _STYLE[c.outcome]))
    for label in report.not_compared:
        parts.append(cell(f"• {label}: not compared (see the notes)", "bold red"))
    for v in report.variants:
        if v.pass_at_k is not None and v.pass_hat_k is not None:
            parts.append(
                cell(
                    f"  {v.label}: pass@{v.k} {f.percent(v.pass_at_k)}, "
                    f"pass^{v.k} {f.percent(v.pass_hat_k)}",
                    "dim",
                )
            )
    for note in report.notes:
        parts.append(cell("note: " + note, "dim"))
    return parts


def render_text(report: ComparisonReport, *, width: int = 120) -> str:
    """The report as plain text (no colour), ``width`` columns wide."""
    from rich.console import Console

    out = io.StringIO()
    console = Console(file=out, width=width, no_color=True, color_system=None, markup=False)
    for part in _build(report, width):
        console.print(part)
    return out.getvalue()


def print_text(report: ComparisonReport, file: IO[str]) -> None:
    """Print the report to ``file``, in colour when it is a terminal that wants colour."""
    from rich.console import Console

    console = Console(file=file, markup=False, highlight=False)
    for part in _build(report, console.width):
        console.print(part)

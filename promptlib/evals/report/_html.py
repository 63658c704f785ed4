"""The HTML report: one file with its styles and charts inside, that loads nothing.

Its Content-Security-Policy forbids every fetch (``default-src 'none'``), so even a value
that slipped past escaping could not make the browser reach the network.
"""

from __future__ import annotations

from html import escape as _html_escape

from promptlib._terminal import terminal_safe
from promptlib.evals._comparison import ComparisonReport, VariantComparison
from promptlib.evals.report import _format as f
from promptlib.evals.report._charts import cost_chart, difference_chart, score_chart

__all__ = ["render_html"]


def escape(text: str) -> str:
    """``text`` for HTML, control characters shown as escapes."""
    return _html_escape(terminal_safe(text))


# Text is a shade darker than the charts' marks (promptlib.evals.report._charts.COLOURS).
_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;
max-width:1100px;padding:0 1rem;color:#1f2328}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
.meta,.note{color:#59636e}table{border-collapse:collapse;margin:.5rem 0}
th,td{padding:.3rem .6rem;border-bottom:1px solid #d1d9e0;text-align:right;
white-space:nowrap}
th:first-child,td:first-child{white-space:normal;overflow-wrap:anywhere;max-width:24rem}
th:first-child,td:first-child{text-align:left}
.better{color:#116329}.worse{color:#a40e26}.no-detectable-difference{color:#7d4e00}
.chart text{font:12px system-ui,sans-serif;fill:#1f2328}
.chart .label{text-anchor:end}.chart .tick{text-anchor:middle;fill:#59636e}
.chart .axis{stroke:#8c959f}.chart .zero{stroke:#1f2328;stroke-dasharray:4 3}
details{margin:.5rem 0}summary{cursor:pointer}
"""


def _cls(outcome: str) -> str:
    return outcome.replace(" ", "-")


def _table(report: ComparisonReport) -> str:
    level = f"{round(100 * report.level)}% CI"
    compared = f.by_candidate(report)
    head = "".join(
        f"<th>{escape(h)}</th>"
        for h in (
            "variant",
            f.score_name(report),
            level,
            "N",
            "vs baseline",
            level,
            "p",
            "wins / losses",
            "cost per result",
            "tokens per result in / out",
            "p50",
            "p95",
        )
    )
    rows = []
    for v in report.variants:
        c = compared.get(v.label)
        name = escape(v.label) + (" <b>(baseline)</b>" if v.label == report.baseline else "")
        cells = [
            name,
            f.percent(v.mean),
            f.interval(v.interval),
            str(v.cases),
            f'<span class="{_cls(c.outcome)}">{f.points(c.stats.difference)}</span>' if c else "—",
            f.interval(c.stats.interval, signed=True) if c else "—",
            escape(f.p_value(c)) if c else "—",
            f"{len(c.wins)} / {len(c.losses)}" if c else "—",
            escape(f.dollars(v.cost_per_case, v.cost_unknown)),
            f.tokens(v),
            f.seconds(v.latency_p50),
            f.seconds(v.latency_p95),
        ]
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _flips(c: VariantComparison) -> str:
    rows = [f'<tr><td>{escape(case)}</td><td class="better">better</td></tr>' for case in c.wins]
    rows += [f'<tr><td>{escape(case)}</td><td class="worse">worse</td></tr>' for case in c.losses]
    summary = (
        f"{escape(c.stats.candidate)} against {escape(c.stats.baseline)}: {len(c.wins)} better, "
        f"{len(c.losses)} worse, {c.ties} tied"
    )
    if not rows:
        return f"<p>{summary}</p>"
    return (
        f'<details><summary>{summary}</summary><table class="flips"><thead><tr><th>case</th>'
        f"<th>{escape(c.stats.candidate)}</th></tr></thead><tbody>{''.join(rows)}</tbody>"
        "</table></details>"
    )


def render_html(report: ComparisonReport) -> str:
    """The report as one self-contained HTML document."""
    verdicts = "".join(
        f'<li class="{_cls(c.outcome)}">{escape(c.verdict)}</li>' for c in report.comparisons
    )
    repeats = "".join(
        f"<li>{escape(v.label)}: pass@{v.k} {f.percent(v.pass_at_k)}, "
        f"pass^{v.k} {f.percent(v.pass_hat_k)}</li>"
        for v in report.variants
        if v.pass_at_k is not None
    )
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in report.notes)
    title = f"Evaluation: {report.baseline} against {len(report.variants) - 1} candidate(s)"
    verdicts += "".join(
        f"<li>{escape(label)}: not compared (see the notes)</li>" for label in report.not_compared
    )
    nothing = "nothing to compare: one variant" if len(report.variants) == 1 else "none"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="promptlib">
<title>{escape(title)}</title><style>{_CSS}</style></head>
<body>
<h1>{escape(title)}</h1>
<p class="meta">{escape(f.headline(report))}</p>
<h2>Verdicts</h2><ul>{verdicts or f"<li>{nothing}</li>"}</ul>
{f"<ul>{repeats}</ul>" if repeats else ""}
{_table(report)}
<h2>Score per variant</h2>{score_chart(report)}
<h2>Difference from the baseline</h2>{difference_chart(report)}
<h2>Quality against cost</h2>{cost_chart(report)}
<h2>Cases that flipped</h2>{"".join(_flips(c) for c in report.comparisons) or "<p>none</p>"}
{notes}
</body></html>
"""

"""Charts as inline SVG, drawn here so the HTML report needs no script and no network.

Three charts: the score of each variant with its interval, quality against cost per case,
and each candidate's difference from the baseline with its interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from html import escape as _html_escape

from promptlib._terminal import terminal_safe
from promptlib.evals._comparison import ComparisonReport, Outcome
from promptlib.evals.report import _format as f

__all__ = ["COLOURS", "cost_chart", "difference_chart", "score_chart"]


def escape(text: str) -> str:
    return _html_escape(terminal_safe(text))


COLOURS: dict[str, str] = {
    "baseline": "#0969da",
    "better": "#1a7f37",
    "worse": "#cf222e",
    "no detectable difference": "#9a6700",
}
_LABEL_WIDTH = 240
_WIDTH = 760
_ROW = 30


def _colour(report: ComparisonReport, label: str) -> str:
    if label == report.baseline:
        return COLOURS["baseline"]
    outcome: Outcome | None = next(
        (c.outcome for c in report.comparisons if c.stats.candidate == label), None
    )
    return COLOURS[outcome] if outcome else "#57606a"


def _short(label: str, limit: int = 34) -> str:
    return escape(label if len(label) <= limit else label[: limit - 1] + "…")


def _label(x: float, y: float, text: str, css: str = "label") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" class="{css}">{text}</text>'


def _svg(name: str, title: str, height: int, body: list[str]) -> str:
    return (
        f'<svg class="chart" data-chart="{name}" role="img" viewBox="0 0 {_WIDTH} {height}" '
        f'width="{_WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _scale(lo: float, hi: float, start: float, end: float) -> Callable[[float], float]:
    """The linear map from data [lo, hi] to pixels [start, end]."""
    span = (hi - lo) or 1.0
    return lambda x: start + (x - lo) / span * (end - start)


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    span = high - low or 1.0
    raw = span / count
    step = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if raw <= multiple * step:
            step *= multiple
            break
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _axis(x0: float, x1: float, y: float, lo: float, hi: float, fmt: str) -> list[str]:
    out = [f'<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" class="axis"/>']
    for t in _ticks(lo, hi):
        x = x0 + (t - lo) / (hi - lo) * (x1 - x0)
        out.append(f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 4}" class="axis"/>')
        text = f"{100 * t:.0f}" if fmt == "points" else f"{100 * t:+.0f}"
        out.append(f'<text x="{x:.1f}" y="{y + 16}" class="tick">{text}</text>')
    return out


def _whisker(x_low: float, x_mid: float, x_high: float, y: float, colour: str) -> list[str]:
    return [
        f'<line x1="{x_low:.1f}" y1="{y}" x2="{x_high:.1f}" y2="{y}" stroke="{colour}" '
        'stroke-width="3"/>',
        f'<line x1="{x_low:.1f}" y1="{y - 7}" x2="{x_low:.1f}" y2="{y + 7}" stroke="{colour}" '
        'stroke-width="2"/>',
        f'<line x1="{x_high:.1f}" y1="{y - 7}" x2="{x_high:.1f}" y2="{y + 7}" '
        f'stroke="{colour}" stroke-width="2"/>',
        f'<circle cx="{x_mid:.1f}" cy="{y}" r="6" fill="{colour}" class="mark"/>',
    ]


def score_chart(report: ComparisonReport) -> str:
    """Each variant's score with its interval, on a 0-100 scale."""
    shown = [v for v in report.variants if v.mean is not None]
    height = 40 + _ROW * len(shown)
    x0, x1 = _LABEL_WIDTH, _WIDTH - 20
    lo = min([0.0, *(v.interval.low for v in shown if v.interval)])
    hi = max([1.0, *(v.interval.high for v in shown if v.interval)])
    scale = _scale(lo, hi, x0, x1)
    body: list[str] = []
    for i, v in enumerate(shown):
        assert v.mean is not None
        y = 20 + _ROW * i
        body.append(_label(x0 - 10, y + 4, _short(v.label)))
        low, high = (v.interval.low, v.interval.high) if v.interval else (v.mean, v.mean)
        body += _whisker(scale(low), scale(v.mean), scale(high), y, _colour(report, v.label))
    body += _axis(x0, x1, height - 22, lo, hi, "points")
    title = f"{f.score_name(report)} per variant with {round(100 * report.level)}% intervals"
    return _svg("scores", title, height, body)


def cost_chart(report: ComparisonReport) -> str:
    """Quality (y, with intervals) against dollars per result (x)."""
    shown = [v for v in report.variants if v.mean is not None]
    height, left, right, top, bottom = 320, 70, _WIDTH - 30, 20, 270
    costs = [float(v.cost_per_case or 0) for v in shown]
    c_hi = max(costs, default=0.0) * 1.15 or 1e-6
    s_lo = min([v.interval.low if v.interval else v.mean or 0.0 for v in shown], default=0.0)
    s_hi = max([v.interval.high if v.interval else v.mean or 1.0 for v in shown], default=1.0)
    s_lo, s_hi = max(0.0, s_lo - 0.05), min(1.0, s_hi + 0.05)
    if s_hi - s_lo < 0.1:
        s_lo, s_hi = max(0.0, s_lo - 0.05), min(1.0, s_hi + 0.05)
    px = _scale(0.0, c_hi, left, right)
    py = _scale(s_lo, s_hi, bottom, top)
    body = [
        f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" class="axis"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" class="axis"/>',
        f'<text x="{(left + right) / 2}" y="{height - 8}" class="tick">dollars per result</text>',
    ]
    for t in _ticks(0.0, c_hi, 4):
        body.append(f'<text x="{px(t):.1f}" y="{bottom + 16}" class="tick">${t:.2g}</text>')
    for t in _ticks(s_lo, s_hi, 4):
        body.append(f'<text x="{left - 8}" y="{py(t) + 4:.1f}" class="label">{100 * t:.0f}</text>')
    for v, cost in zip(shown, costs, strict=True):
        assert v.mean is not None
        colour = _colour(report, v.label)
        x, y = px(cost), py(v.mean)
        if v.interval:
            body.append(
                f'<line x1="{x:.1f}" y1="{py(v.interval.low):.1f}" x2="{x:.1f}" '
                f'y2="{py(v.interval.high):.1f}" stroke="{colour}" stroke-width="3"/>'
            )
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="7" fill="{colour}" class="mark"/>')
        body.append(_label(x + 10, y - 8, _short(v.label, 28), "point"))
    return _svg("cost", "quality against cost per variant", height, body)


def difference_chart(report: ComparisonReport) -> str:
    """Each candidate minus the baseline, with its interval, around a zero line."""
    rows = report.comparisons
    height = 40 + _ROW * max(len(rows), 1)
    x0, x1 = _LABEL_WIDTH, _WIDTH - 20
    bound = max([0.05, *(max(abs(c.stats.interval.low), abs(c.stats.interval.high)) for c in rows)])
    lo, hi = -bound * 1.1, bound * 1.1
    scale = _scale(lo, hi, x0, x1)
    body = [
        f'<line x1="{scale(0):.1f}" y1="8" x2="{scale(0):.1f}" y2="{height - 22}" class="zero"/>'
    ]
    for i, c in enumerate(rows):
        y = 20 + _ROW * i
        s = c.stats
        body.append(_label(x0 - 10, y + 4, _short(s.candidate)))
        body += _whisker(
            scale(s.interval.low),
            scale(s.difference),
            scale(s.interval.high),
            y,
            COLOURS[c.outcome],
        )
    body += _axis(x0, x1, height - 22, lo, hi, "signed")
    title = f"difference from {report.baseline} in points, {round(100 * report.level)}% intervals"
    return _svg("differences", title, height, body)

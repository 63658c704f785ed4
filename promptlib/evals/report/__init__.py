"""Reports of a comparison: a terminal table, Markdown for a pull request, one HTML file, JSON.

``render(report, "md")`` returns the report as text; each format lives in its own module and
loads on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from promptlib.evals._comparison import ComparisonReport

__all__ = ["FORMATS", "Format", "render"]

Format = Literal["text", "md", "html", "json"]
FORMATS: tuple[Format, ...] = ("text", "md", "html", "json")


def render(report: ComparisonReport, format: Format = "text", *, width: int = 120) -> str:
    """The report in ``format``: ``text`` (a plain table ``width`` columns wide), ``md``
    (at most 65,000 characters, for a pull-request comment), ``html`` (one self-contained
    file) or ``json`` (valid against ``promptlib/evals/report/schema.json``)."""
    if format not in FORMATS:
        from promptlib.evals._comparison import ComparisonError

        raise ComparisonError(
            f"unknown report format {format!r}; choose one of: {', '.join(FORMATS)}"
        )
    if format == "text":
        from promptlib.evals.report._text import render_text

        return render_text(report, width=width)
    if format == "md":
        from promptlib.evals.report._markdown import render_markdown

        return render_markdown(report)
    if format == "html":
        from promptlib.evals.report._html import render_html

        return render_html(report)
    from promptlib.evals.report._json_report import render_json

    return render_json(report)

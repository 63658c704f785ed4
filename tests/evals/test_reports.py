"""The comparison reports: terminal, Markdown within a PR comment's size, HTML, JSON schema."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

from promptlib.evals import compare_rows
from promptlib.evals.report import render
from promptlib.evals.report._json_report import schema
from promptlib.evals.report._markdown import LIMIT
from tests.evals.test_compare import arms, correlated, row

HOSTILE = "<script>alert(1)</script> | `x` **b** [l](http://e.x)\n\x1b[31mred"


def big_report(cases: int = 1000, id_length: int = 0, rates=(0.70, 0.74, 0.66)):
    columns = correlated(cases, list(rates), seed=7)
    rows = [
        row(name, f"case-{i:05d}".ljust(id_length, "x"), value)
        for name, values in zip(
            ("ticket@1.0.0", "ticket@1.1.0", "ticket@1.2.0"), columns, strict=False
        )
        for i, value in enumerate(values)
    ]
    return compare_rows(rows)


@pytest.mark.parametrize("id_length", [0, 120])
def test_markdown_for_3_variants_by_1000_cases_fits_a_pull_request_comment(id_length):
    report = big_report(id_length=id_length)
    text = render(report, "md")
    assert len(text) <= LIMIT
    assert text.count("<details>") == text.count("</details>") == 2
    for c in report.comparisons:
        assert c.verdict.split(" (")[0].replace("@", "@") in text.replace("\\", "")
    assert "| ticket@1.2.0 |" in text
    if id_length:
        assert "more (the JSON report lists all)" in text


def test_markdown_lists_every_flip_when_they_fit():
    report = compare_rows(arms(("A", [1.0, 0.0, 1.0]), ("B", [0.0, 1.0, 1.0])))
    text = render(report, "md")
    assert "**Better (1):** c0001" in text
    assert "**Worse (1):** c0000" in text


def test_untrusted_names_are_shown_not_interpreted_in_every_format():
    rows = arms((HOSTILE, [1.0, 0.0, 1.0]), ("B", [0.0, 1.0, 1.0]))
    rows += [row("B", HOSTILE, 1.0), row(HOSTILE, HOSTILE, 0.0)]
    report = compare_rows(rows)
    md = render(report, "md")
    assert "<script>" not in md
    assert "&lt;script&gt;" in md
    assert "\\|" in md
    assert "\\`x\\`" in md
    assert "\\[l\\]\\(http://e.x\\)" in md
    html = render(report, "html")
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    text = render(report, "text", width=200)
    assert "\x1b" not in text
    assert "\\x1b[31mred" in text
    assert json.loads(render(report, "json"))["variants"][0]["variant"] == HOSTILE


def test_the_html_report_is_one_file_that_can_fetch_nothing():
    html = render(big_report(200), "html")
    assert "Content-Security-Policy" in html
    assert "default-src 'none'" in html
    # no attribute or style that could load anything; xmlns is a name, not a fetch
    assert not re.search(r"\b(src|href|action|poster|srcset)\s*=", html)
    assert "url(" not in html
    assert "@import" not in html
    assert re.findall(r"https?://[^\s\"'<]+", html) == ["http://www.w3.org/2000/svg"] * 3
    assert html.count("<svg") == 3
    assert {"scores", "differences", "cost"} == set(re.findall(r'data-chart="(\w+)"', html))


def test_the_json_report_validates_against_its_published_schema():
    validator = jsonschema.Draft202012Validator(schema())
    validator.check_schema(schema())
    data = json.loads(render(big_report(300), "json"))
    validator.validate(data)
    assert (data["schema"], data["schema_version"]) == ("promptlib.comparison", 1)
    broken = data | {"kind": "vibes"}
    assert list(validator.iter_errors(broken))


def test_the_terminal_table_drops_columns_before_numbers_are_cut():
    report = big_report(100)
    wide = render(report, "text", width=160)
    narrow = render(report, "text", width=72)
    assert "p95" in wide
    assert "p95" not in narrow
    assert "…" not in narrow
    for v in report.variants:
        low, high = v.interval.low, v.interval.high
        assert f"{100 * low:.1f} to {100 * high:.1f}" in narrow
    assert max(len(line) for line in narrow.splitlines()) <= 72


def test_an_unknown_format_is_a_clear_error():
    from promptlib.evals import ComparisonError

    with pytest.raises(ComparisonError, match="choose one of: text, md, html, json"):
        render(big_report(10), "pdf")  # type: ignore[arg-type]

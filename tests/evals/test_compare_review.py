"""Each class of defect an independent review of ``eval compare`` found, pinned."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from promptlib._cli import main
from promptlib.evals import (
    ComparisonError,
    QualityGateFailure,
    compare,
    compare_rows,
    require_at_least,
    require_not_worse,
)
from promptlib.evals.report import render
from promptlib.evals.report._markdown import LIMIT
from tests.evals.test_compare import row
from tests.evals.test_compare_cli import stored


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "evals.sqlite"
    stored(path, "r1", {"t@1": [1.0, 0.0] * 20, "t@2": [1.0, 1.0] * 20})
    return path


# --- a report never destroys data; writing errors are promptlib errors ----------------------


def test_a_report_is_never_written_over_the_store(store, capsys):
    for target in (str(store), str(store.with_name("copy.sqlite"))):
        if target.endswith("copy.sqlite"):
            Path(target).write_bytes(store.read_bytes())
        code = main(
            ["eval", "compare", "r1", "--store", str(store), "--format", "md", "-o", target]
        )
        assert code == 2
        assert "is a results store" in capsys.readouterr().err
    assert main(["eval", "compare", "r1", "--store", str(store), "--format", "json"]) == 0


def test_an_unwritable_report_path_is_a_clear_error(store, tmp_path, capsys):
    for target in (tmp_path / "missing" / "x.md", tmp_path):
        code = main(["eval", "compare", "r1", "--store", str(store), "-o", str(target)])
        assert code == 2
        err = capsys.readouterr().err
        assert err.startswith("promptlib: error: cannot write the report to")
        assert "Traceback" not in err


# --- intervals stay honest at tiny N and with repeats -----------------------------------------


def test_repeats_never_collapse_the_interval():
    all_pass = compare_rows([row("A", f"c{i}", 1.0, repeat=r) for i in range(2) for r in range(2)])
    (a,) = all_pass.variants
    assert a.interval.low < 0.5  # 2 cases settle little, repeats or not
    with pytest.raises(QualityGateFailure):
        require_at_least(all_pass, 0.999)
    rare = compare_rows(
        [
            row("A", f"c{i}", 1.0 if (i, r) == (0, 0) else 0.0, repeat=r)
            for i in range(30)
            for r in range(3)
        ]
    )
    assert 0.0 <= rare.variants[0].interval.low <= rare.variants[0].interval.high <= 1.0


@pytest.mark.parametrize("values", [[0.8, 0.9], [0.9, 0.9], [0.9] * 5])
def test_few_graded_scores_get_a_wide_bounded_interval(values):
    report = compare_rows([row("A", f"c{i}", v) for i, v in enumerate(values)])
    (a,) = report.variants
    assert a.interval.low < min(values) - 0.1
    with pytest.raises(QualityGateFailure):
        require_at_least(report, min(values))


def test_identical_answers_never_claim_power_or_certainty():
    rows = [
        row(v, f"c{i}", float(i % 2), repeat=r)
        for v in ("A", "B")
        for i in range(10)
        for r in range(3)
    ]
    (c,) = compare_rows(rows).comparisons
    assert c.stats.interval.high - c.stats.interval.low > 0.2
    assert "would need about N = " in c.verdict
    graded = [row(v, f"c{i}", 0.5 + 0.1 * i) for v in ("A", "B") for i in range(3)]
    (g,) = compare_rows(graded).comparisons
    assert "80% power" not in g.verdict


# --- misuse is a clear error, in Python and on the command line --------------------------------


def test_an_unreachable_difference_to_detect_is_refused(store, capsys):
    rows = [row("A", f"c{i}", 1.0 if i < 1 else 0.0) for i in range(10)]
    rows += [row("B", f"c{i}", 0.0) for i in range(10)]
    with pytest.raises(ComparisonError, match="cannot be reached from the baseline's pass rate"):
        compare_rows(rows, detect=0.95)
    assert main(["eval", "compare", "r1", "--store", str(store), "--detect", "0.99"]) == 2


def test_the_same_run_twice_is_refused(store, capsys):
    assert main(["eval", "compare", "r1", "r1", "--store", str(store)]) == 2
    assert "given twice" in capsys.readouterr().err


def test_api_misuse_raises_promptlib_errors(store):
    report = compare("r1", store=store)
    with pytest.raises(ComparisonError, match="choose one of: t@1, t@2"):
        require_at_least(report, 0.5, variant="nope")
    with pytest.raises(ComparisonError, match="between 0 and 1"):
        require_at_least(report, 50)
    with pytest.raises(ComparisonError, match="resamples"):
        compare_rows([row("A", "c1", 0.5), row("A", "c2", 0.7)], resamples=10)
    with pytest.raises(ComparisonError, match="run ids or the RunResults"):
        compare(Path("r1"), store=store)  # type: ignore[arg-type]
    assert report.alpha == 0.05


# --- a candidate that could not be compared fails the gate ------------------------------------


def test_a_candidate_without_shared_scores_fails_the_ci_gate(tmp_path, capsys):
    path = tmp_path / "s.sqlite"
    stored(path, "main", {"t@1": [1.0, 0.0] * 10})
    stored(path, "pr", {"t@2": [None] * 20})  # scored with nothing: every result unscored
    assert main(["eval", "compare", "main", "pr", "--store", str(path), "--fail-if-worse"]) == 1
    assert "not compared with the baseline" in capsys.readouterr().err
    report = compare("main", "pr", store=path)
    assert report.not_compared == ("t@2",)
    with pytest.raises(QualityGateFailure, match="not compared"):
        require_not_worse(report)
    assert "against 1 candidate(s)" in render(report, "md")


def test_runs_scored_differently_are_refused_unless_a_shared_scorer_is_named(tmp_path):
    path = tmp_path / "s.sqlite"
    stored(path, "a", {"t@1": [1.0, 0.0]})
    stored(path, "b", {"t@2": [1.0, 1.0]}, scorers=["exact:label"])
    with pytest.raises(ComparisonError, match="scored differently"):
        compare("a", "b", store=path)
    with pytest.raises(ComparisonError, match="run a has no scorer 'exact:label'"):
        compare("a", "b", store=path, scorer="exact:label")


# --- labels say what was computed ----------------------------------------------------------------


def test_pass_at_k_uses_and_names_the_fewest_repeats():
    rows = [row("A", f"c{i}", 1.0 if r == 0 else 0.0, repeat=r) for i in range(9) for r in range(3)]
    rows += [row("A", "c9", 1.0, repeat=r) for r in range(2)]
    (a,) = compare_rows(rows).variants
    assert a.k == 2
    assert "pass@2" in render(compare_rows(rows), "md")


def test_true_and_false_scores_count_as_1_and_0():
    (a,) = compare_rows([row("A", "c1", True), row("A", "c2", False)]).variants
    assert (a.mean, a.missing) == (0.5, 0)


# --- every format shows untrusted text; the terminal table never cuts a number ------------------


def test_control_characters_are_shown_in_markdown_and_html():
    rows = [row("A", "\x1b]0;title\x07", 1.0), row("B", "\x1b]0;title\x07", 0.0)]
    rows += [row("A", "\x1b[2J", 0.0), row("B", "\x1b[2J", 1.0)]
    report = compare_rows(rows)
    for fmt in ("md", "html", "text"):
        text = render(report, fmt)
        assert "\x1b" not in text
        assert "\x07" not in text


@pytest.mark.parametrize("width", range(60, 161, 10))
def test_the_terminal_table_drops_whole_columns(width):
    report = compare_rows([row(v, f"c{i}", float(i % 2)) for v in ("A", "B") for i in range(40)])
    text = render(report, "text", width=width)
    table = [line for line in text.splitlines() if "│" in line]
    assert all(len(line) <= width for line in table)
    header = [c.strip() for c in next(x for x in text.splitlines() if "┃" in x).split("┃")]
    cells = [c.strip() for line in table for c in line.split("│")]
    if "p" in header:
        assert "1.000" in cells  # the p value, never cut to "1." or "1"
    assert "35.2 to 64.8" in cells  # the first columns always stay
    assert not any(c.endswith("…") for c in cells)


def test_markdown_keeps_every_verdict_with_very_long_labels():
    labels = [f"t@{i}" + "x" * 1500 for i in range(30)]
    rows = [
        row(label, f"c{c}", float((c + i) % 2)) for i, label in enumerate(labels) for c in range(40)
    ]
    text = render(compare_rows(rows), "md")
    assert len(text) <= LIMIT
    assert len(re.findall(r"^- (✅|❌|➖) ", text, re.M)) == 29


def test_eval_power_answers_at_once_for_huge_n_and_refuses_impossible_discordance(capsys):
    assert main(["eval", "power", "--baseline", "0.8", "--cases", "100000000", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["power"] == pytest.approx(1.0)
    assert main(["eval", "power", "--baseline", "0.5", "--difference", "0.0001", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cases_needed"] > 10**8
    assert main(["eval", "power", "--baseline", "0.8", "--discordance", "1"]) == 2
    assert "discordance must be within" in capsys.readouterr().err

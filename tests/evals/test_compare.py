"""Comparing variants from stored results: pairing, scoring rules, Holm, verdicts, gates."""

from __future__ import annotations

import json
import random
from typing import Any

import jsonschema
import pytest

from promptlib.evals import (
    ComparisonError,
    QualityGateFailure,
    compare,
    compare_rows,
    require_at_least,
    require_not_worse,
    run,
)
from promptlib.evals._store import ResultRow, RunInfo
from promptlib.evals.report import render
from promptlib.evals.report._json_report import schema
from promptlib.evals.stats import mcnemar_exact, wilson
from tests.evals.test_runner import experiment, mock


def row(variant: str, case: str, value: Any, *, repeat: int = 0, **fields: Any) -> ResultRow:
    base: dict[str, Any] = {
        "run_id": "run1",
        "variant": variant,
        "model": "mock:m",
        "case_id": case,
        "repeat": repeat,
        "template": "t",
        "template_hash": "sha256:t",
        "params": {},
        "prompt_hash": None,
        "text": "answer",
        "output": None,
        "scores": {} if value is None else {"exact": {"value": value}},
        "input_tokens": 100,
        "output_tokens": 5,
        "cached_input_tokens": 0,
        "cost": "0.0001",
        "latency": 0.25,
        "attempts": 1,
        "error": None,
    }
    return ResultRow(**(base | fields))


def arms(*columns: tuple[str, list[float]], repeats: int = 1) -> list[ResultRow]:
    return [
        row(name, f"c{i:04d}", v, repeat=r)
        for name, values in columns
        for i, v in enumerate(values)
        for r in range(repeats)
    ]


def correlated(n: int, rates: list[float], seed: int = 0) -> list[list[float]]:
    """Pass/fail columns for variants whose cases share a difficulty."""
    rng = random.Random(seed)
    difficulty = [rng.random() for _ in range(n)]
    return [
        [float(rng.random() < min(1.0, max(0.0, rate + 0.6 * (0.5 - d)))) for d in difficulty]
        for rate in rates
    ]


def validate(report) -> dict[str, Any]:
    data = json.loads(render(report, "json"))
    jsonschema.Draft202012Validator(schema()).validate(data)
    return data


def test_pass_fail_comparison_matches_the_statistics_it_reports():
    a = [1.0] * 30 + [0.0] * 20
    b = [1.0] * 25 + [0.0] * 5 + [1.0] * 15 + [0.0] * 5  # 5 losses, 15 wins
    report = compare_rows(arms(("A", a), ("B", b)))
    assert (report.kind, report.baseline, report.scorer) == ("pass/fail", "A", "exact")
    base, cand = report.variants
    assert base.mean == 0.6
    assert cand.mean == 0.8
    assert base.interval == wilson(30, 50)
    (c,) = report.comparisons
    assert c.stats.difference == pytest.approx(0.2)
    assert c.stats.p_value == mcnemar_exact(15, 5)
    assert c.stats.adjusted_p is None  # one candidate: nothing to adjust
    assert (len(c.wins), len(c.losses), c.ties) == (15, 5, 30)
    assert c.losses == ("c0025", "c0026", "c0027", "c0028", "c0029")
    assert c.outcome == "better"
    assert c.verdict.startswith("B beats A by 20.0 points")
    validate(report)


def test_several_candidates_are_holm_adjusted_and_a_worse_one_is_found():
    a, b, c = correlated(400, [0.70, 0.80, 0.62], seed=3)
    report = compare_rows(arms(("A", a), ("B", b), ("C", c)))
    outcomes = {x.stats.candidate: x for x in report.comparisons}
    assert all(x.stats.adjusted_p is not None for x in report.comparisons)
    assert all(x.stats.adjusted_p >= x.stats.p_value for x in report.comparisons)
    assert outcomes["B"].outcome == "better"
    assert outcomes["C"].outcome == "worse"
    assert [x.stats.candidate for x in report.worse] == ["C"]
    assert "Holm" in outcomes["C"].verdict
    assert "trails A" in outcomes["C"].verdict
    with pytest.raises(QualityGateFailure, match="C trails A"):
        require_not_worse(report)


def test_a_true_five_point_gain_on_70_cases_is_never_called_a_win():
    claimed = 0
    for seed in range(40):
        a, b = correlated(70, [0.75, 0.80], seed=seed)
        (c,) = compare_rows(arms(("A", a), ("B", b))).comparisons
        if c.outcome != "no detectable difference":
            claimed += 1
            continue
        assert "no detectable difference between B and A at N = 70" in c.verdict
        assert "detecting 5 points would need about N = " in c.verdict
        assert c.stats.cases_needed > 70
    assert claimed <= 6  # the test's power at this size is low: most runs cannot tell


def test_graded_scores_get_bootstrap_intervals_and_a_permutation_test():
    rng = random.Random(1)
    a = [round(rng.random(), 2) for _ in range(60)]
    b = [min(1.0, x + 0.1) for x in a]
    report = compare_rows(arms(("A", a), ("B", b)))
    assert report.kind == "graded"
    assert "bootstrap" in report.variants[0].interval.method
    (c,) = report.comparisons
    assert c.stats.test.startswith("sign-flip permutation")
    assert c.outcome == "better"
    validate(report)


def test_repeats_use_case_means_clustered_errors_and_pass_at_k():
    a = [1.0, 0.0, 1.0, 0.0] * 10
    b = [1.0, 1.0, 1.0, 0.0] * 10
    rows = [
        row(name, f"c{i}", v if r < 2 else 1.0 - v, repeat=r)
        for name, values in (("A", a), ("B", b))
        for i, v in enumerate(values)
        for r in range(3)
    ]
    report = compare_rows(rows)
    base = report.variants[0]
    assert base.repeats == 3
    assert base.cases == 40
    assert base.scores == 120
    assert "cluster" in base.interval.method
    # every case passes 1 or 2 of 3 repeats: pass@3 is 1, pass^3 is 0
    assert (base.pass_at_k, base.pass_hat_k) == (1.0, 0.0)
    assert "sign-flip" in report.comparisons[0].stats.test
    assert any("repeats" in note for note in report.notes)
    validate(report)


def test_outages_are_left_out_and_bad_answers_score_zero():
    rows = [
        row("A", "c1", 1.0),
        row("A", "c2", 1.0),
        row("A", "c3", 1.0),
        row("A", "c4", 1.0),
        row("B", "c1", 1.0),
        row("B", "c2", None, error="RateLimitError: slow down"),
        row("B", "c3", None, error="OutputValidationError: not JSON"),
        row("B", "c4", None, scores={"exact": {"value": None, "error": "ValueError: boom"}}),
    ]
    report = compare_rows(rows)
    b = report.variant("B")
    assert (b.cases, b.failed, b.missing, b.mean) == (2, 1, 2, 0.5)
    (c,) = report.comparisons
    assert c.stats.n == 2
    assert c.unpaired == 2
    assert c.losses == ("c3",)
    assert any("B: 2 result(s) have no 'exact' score" in n for n in report.notes)


def test_labels_name_the_model_when_several_models_ran():
    rows = [row("A", f"c{i}", 1.0, model=m) for i in range(3) for m in ("x:1", "y:2")]
    report = compare_rows(rows, baseline="A on y:2")
    assert [v.label for v in report.variants] == ["A on x:1", "A on y:2"]
    assert report.baseline == "A on y:2"


def test_baseline_and_scorer_mistakes_name_the_choices():
    rows = arms(("A", [1.0, 0.0]), ("B", [1.0, 1.0]))
    with pytest.raises(ComparisonError, match="choose one of: A, B"):
        compare_rows(rows, baseline="C")
    with pytest.raises(ComparisonError, match=r"no scorer named .f1..*choose one of: exact"):
        compare_rows(rows, scorer="f1")
    with pytest.raises(ComparisonError, match="no results"):
        compare_rows([])
    with pytest.raises(ComparisonError, match="detect"):
        compare_rows(rows, detect=5)


def _info(run_id: str, digest: str) -> RunInfo:
    return RunInfo(run_id, "x", 0.0, "finished", {"dataset": {"name": "d", "hash": digest}})


def test_two_runs_on_the_same_dataset_compare_and_different_datasets_are_refused():
    first = arms(("A", [1.0, 0.0, 1.0]))
    second = [row("A", r.case_id, 1.0, run_id="run2") for r in first]
    report = compare_rows(
        first + second, runs=[_info("run1", "sha256:d"), _info("run2", "sha256:d")]
    )
    assert [v.label for v in report.variants] == ["A [run1]", "A [run2]"]
    assert (
        compare_rows(
            first + second,
            runs=[_info("run1", "sha256:d"), _info("run2", "sha256:d")],
            baseline="run2",
        ).baseline
        == "A [run2]"
    )
    with pytest.raises(ComparisonError, match="different datasets"):
        compare_rows(first + second, runs=[_info("run1", "sha256:d"), _info("run2", "sha256:e")])


def test_an_offline_run_on_the_mock_is_compared_and_gated(tmp_path):
    store = tmp_path / "evals.sqlite"
    result = run(experiment(), store=store, providers=mock(), progress=False)
    report = compare(result)
    assert report.runs == (result.run_id,)
    assert report.dataset["name"] == "reviews"
    assert [v.label for v in report.variants] == ["sentiment@1.0.0", "sentiment@1.1.0"]
    assert [v.mean for v in report.variants] == [0.5, 0.5]  # the mock always says positive
    require_not_worse(report)
    require_at_least(report, 0.0)
    with pytest.raises(QualityGateFailure, match=r"sentiment@1.0.0: exact 50.0% on 4 cases"):
        require_at_least(report, 0.6, variant="sentiment@1.0.0")
    assert compare(result.run_id, store=store).to_dict() == report.to_dict()
    validate(report)

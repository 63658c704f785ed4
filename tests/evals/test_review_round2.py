"""The second review of the evaluation runner and comparisons, pinned by class."""

from __future__ import annotations

import json
import random

import pytest

from promptlib.evals import ComparisonError, compare_rows, run
from promptlib.evals._comparison import _repeated_interval
from promptlib.evals._store import Store, StoreError
from promptlib.evals.report import render
from promptlib.evals.report._markdown import LIMIT
from promptlib.evals.stats import t_quantile
from promptlib.testing import Failure, MockProvider
from tests.evals.test_compare import row
from tests.evals.test_runner import experiment, mock

# --- secrets never reach the store, whatever JSON does to them --------------------------------

LEAKS = [
    {"label": "Bearer\tAAAABEARERTOKENJ1"},
    {"label": "Authorization: Bearer\nAAAABEARERTOKENJ2"},
    {"label": "x", "sk-proj-BBBBSECRETKEY1234567890": 1, "auth": 'Bearer AAAAQUOTE\\"rest'},
    {"label": "api_key_sk-proj-AAAAAAAAAAAAAAAAAAAA"},
    {"label": "key1sk-proj-AAAAAAAAAAAAAAAAAAAA"},
    {"label": 'Bearer "AAAABEARERQUOTED"'},
]


@pytest.mark.parametrize("answer", LEAKS)
def test_key_shapes_in_answers_and_outputs_are_stored_redacted(tmp_path, answer):
    def echo(prompt):
        return json.dumps(answer)

    store = tmp_path / "s.sqlite"
    result = run(
        experiment(scorers=[]), store=store, providers={"mock:gpt-4o-mini": MockProvider(echo)},
        progress=False,
    )  # fmt: skip
    raw = store.read_bytes().decode("latin-1")
    wal = store.with_name(store.name + "-wal")
    raw += wal.read_bytes().decode("latin-1") if wal.exists() else ""
    for secret in ("AAAABEARER", "BBBBSECRET", "AAAAQUOTE", "AAAAAAAAAAAAAAAAAAAA"):
        assert secret not in raw
    with Store(store) as db:
        rows = list(db.results(result.run_id))
    assert rows
    assert all(
        "[redacted]" in json.dumps(r.output) + (r.text or "") + (r.error or "") for r in rows
    )


# --- the store failing mid-run is a promptlib error, and nothing written is lost --------------


def test_a_store_that_cannot_be_written_stops_the_run_cleanly(tmp_path, monkeypatch):
    store = tmp_path / "s.sqlite"
    calls = {"n": 0}
    original = Store.add_many

    def failing(self, rows):
        calls["n"] += 1
        if calls["n"] > 2:
            raise StoreError("cannot write results to the store: database or disk is full")
        original(self, rows)

    monkeypatch.setattr(Store, "add_many", failing)
    with pytest.raises(StoreError, match="disk is full"):
        run(experiment(concurrency=1), store=store, providers=mock(), progress=False)
    monkeypatch.setattr(Store, "add_many", original)
    with Store(store) as db:
        (info,) = db.runs()
        assert info.status == "interrupted"
        assert len(list(db.results(info.run_id))) == 2


def test_sqlite_errors_become_store_errors(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    store.start_run("r", "x", {})
    store._db.execute("PRAGMA query_only = ON")
    with pytest.raises(StoreError, match="cannot write results to the store"):
        store.add_many([(row("A", "c1", 1.0, run_id="r"), None)])


def test_the_run_lock_holds_through_a_symlink(tmp_path):
    from promptlib.evals._runner import _run_lock

    real = Store(tmp_path / "real.sqlite")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "link.sqlite").symlink_to(tmp_path / "real.sqlite")
    linked = Store(tmp_path / "other" / "link.sqlite")
    from promptlib import ConfigurationError

    with (
        _run_lock(real, "r1"),
        pytest.raises(ConfigurationError, match="another process"),
        _run_lock(linked, "r1"),
    ):
        pass


def test_an_unknown_model_stops_the_run_instead_of_failing_every_case(tmp_path):
    provider = MockProvider([Failure("not_found")])
    from promptlib import RequestRejectedError

    with pytest.raises(RequestRejectedError):
        run(
            experiment(),
            store=tmp_path / "s.sqlite",
            providers={"mock:gpt-4o-mini": provider},
            progress=False,
        )
    with Store(tmp_path / "s.sqlite") as db:
        (info,) = db.runs()
        assert info.status == "failed"


# --- comparisons ---------------------------------------------------------------------------


def test_a_constant_difference_on_every_case_is_found():
    rows = [row("A", f"c{i}", 0.6) for i in range(200)] + [
        row("B", f"c{i}", 0.5) for i in range(200)
    ]
    report = compare_rows(rows)
    (c,) = report.comparisons
    assert c.outcome == "worse"
    assert "rule of three" in c.stats.interval.method
    assert -0.12 < c.stats.interval.low < c.stats.interval.high < -0.08
    assert [x.stats.candidate for x in report.worse] == ["B"]


def test_few_cases_never_claim_power():
    rows = [
        row(v, f"c{i}", 0.5 + 0.05 * i + (0.1 if v == "B" else 0))
        for v in ("A", "B")
        for i in range(8)
    ]
    (c,) = compare_rows(rows).comparisons
    assert "80% power" not in c.verdict


@pytest.mark.parametrize(("cases", "repeats"), [(5, 3), (10, 10), (20, 10)])
def test_intervals_with_repeats_hold_their_level_with_few_cases(cases, repeats):
    rng = random.Random(cases * 100 + repeats)
    mean, hits, trials = 0.3, 0, 600
    for _ in range(trials):
        per_case = []
        for _ in range(cases):
            chance = rng.betavariate(2.0, 2.0 * (1 - mean) / mean)
            per_case.append([float(rng.random() < chance) for _ in range(repeats)])
        interval = _repeated_interval(per_case, "pass/fail", 0.95)
        hits += interval.low <= mean <= interval.high
    assert hits / trials >= 0.93


def test_t_quantiles_agree_with_scipy():
    from scipy import stats

    for df in range(1, 200):
        for p in (0.9, 0.95, 0.975, 0.995):
            tolerance = 1e-12 if df <= 2 else (2e-3 if p <= 0.975 else 1e-2)
            assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=tolerance)


def test_markdown_keeps_the_worse_verdicts_first_whatever_the_size():
    rows = []
    for i in range(140):
        label = f"t@{i}-" + "x" * 100
        rows += [row(label, f"c{c}", 1.0 if (c + i) % 3 else 0.0) for c in range(60)]
    rows += [row("t@worse" + "y" * 100, f"c{c}", 0.0) for c in range(60)]
    text = render(compare_rows(rows, baseline="t@0-" + "x" * 100), "md")
    assert len(text) <= LIMIT
    first = next(line for line in text.splitlines() if line.startswith("- "))
    assert first.startswith("- ❌")


def test_a_level_too_close_to_1_is_refused():
    rows = [row(v, f"c{i}", float(i % 2)) for v in ("A", "B") for i in range(10)]
    with pytest.raises(ComparisonError, match=r"between 0\.5 and 0\.9999"):
        compare_rows(rows, level=0.9999999999999)

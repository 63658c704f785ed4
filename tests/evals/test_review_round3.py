"""A third review of evaluation and comparison: more cases of each class, pinned."""

from __future__ import annotations

import json
import sqlite3

import pytest

from promptlib import ConfigurationError
from promptlib.evals import ComparisonError, Experiment, compare_rows, run
from promptlib.evals._dataset import Case, Dataset
from promptlib.evals._merge import merge_run
from promptlib.evals._store import Store, StoreError
from promptlib.evals.report import render
from promptlib.evals.report._markdown import LIMIT
from promptlib.testing import MockProvider
from tests.evals.test_compare import row
from tests.evals.test_runner import DATASET, experiment, mock

# --- A: secrets ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "redis://:SECRET4hunterX@host:6379",
        "Bearer\\u0020abcdefSECRET1X",
        "sk\\u002dproj-ABCDEFGHSECRET2X",
        "https://h/?a=1&amp;api_key=SECRET6abcX",
        "https://u:SECRET5p@ssX@host/x",
        "Authorization: Token SECRET8abcdefghX",
    ],
)
def test_more_key_shapes_are_redacted(text):
    from promptlib._secrets import redact

    assert "SECRET" not in redact(text)


@pytest.mark.parametrize(
    ("field", "value"),
    [("case", "sk-proj-SECRETCASEABCDEFGH"), ("model", "mock:sk-proj-SECRETM2ABCDEFGHIJ")],
)
def test_names_that_look_like_keys_are_refused_before_anything_is_stored(tmp_path, field, value):
    if field == "case":
        options = {"dataset": Dataset("d", (Case(value, {"review": "ok"}, {"label": "positive"}),))}
        providers = mock()
    else:
        options = {"models": [value]}
        providers = {value: MockProvider()}
    with pytest.raises(ConfigurationError, match=r"looks like a key or password; .*rename it"):
        run(experiment(**options), store=tmp_path / "s.sqlite", providers=providers, progress=False)
    assert not (tmp_path / "s.sqlite").exists() or not Store(tmp_path / "s.sqlite").runs()


def test_the_manifest_is_stored_redacted_and_the_run_still_resumes(tmp_path):
    params = {"extra": {"user": "sk-proj-SECRETAAAAAAAAAAAAAA"}, "stop": ["Bearer SECRETBBBBBBBB"]}
    store = tmp_path / "s.sqlite"
    first = run(experiment(params=params), store=store, providers=mock(), progress=False)
    with Store(store) as db:
        assert "SECRET" not in json.dumps(db.run(first.run_id).manifest)
    from promptlib.evals import resume

    again = resume(
        experiment(params=params), first.run_id, store=store, providers=mock(), progress=False
    )
    assert again.status == "finished"


# --- C: every store problem is a StoreError --------------------------------------------------


def test_a_locked_store_is_a_clear_error_for_every_write(tmp_path):
    path = tmp_path / "s.sqlite"
    store = Store(path)
    store.start_run("r", "x", {})
    store._db.execute("PRAGMA busy_timeout=50")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        for write in (
            lambda: store.start_run("r2", "x", {}),
            lambda: store.set_status("r", "finished"),
            lambda: store.update_manifest("r", budget=1),
        ):
            with pytest.raises(StoreError, match="locked by another program"):
                write()
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_damaged_run_record_is_a_store_error(tmp_path):
    path = tmp_path / "s.sqlite"
    result = run(experiment(), store=path, providers=mock(), progress=False)
    with Store(path) as db:
        db._db.execute("UPDATE runs SET manifest='[1,2]'")
    with Store(path) as db, pytest.raises(StoreError, match="damaged"):
        db.run(result.run_id)
    from promptlib._cli import main

    assert main(["eval", "show", result.run_id, "--store", str(path)]) == 2
    assert main(["eval", "compare", result.run_id, "--store", str(path)]) == 2
    assert main(["eval", "merge", str(path), "--store", str(tmp_path / "t.sqlite")]) == 2


def test_api_misuse_names_what_to_pass(tmp_path):
    with pytest.raises(StoreError, match="takes two open stores"):
        merge_run(str(tmp_path / "a"), str(tmp_path / "b"), "x")  # type: ignore[arg-type]
    for bad in ([1, 2], None, "abc"):
        with pytest.raises(ComparisonError, match="takes the ResultRows"):
            compare_rows(bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"shard is \(i, n\)"):
        Experiment("x", DATASET, experiment().variants, shard=(True, 2))  # type: ignore[arg-type]
    listed = Experiment("x", DATASET, experiment().variants, shard=[1, 2])  # type: ignore[arg-type]
    assert listed.shard == (1, 2)


# --- B: power claims under Holm --------------------------------------------------------------


def test_power_is_planned_at_the_level_holm_asks_for():
    base = [1.0] * 160 + [0.0] * 40
    columns = {"A": base}
    for name, (wins, losses) in {"B": (9, 2), "C": (6, 5), "D": (5, 6)}.items():
        col = list(base)
        for i in range(wins):
            col[160 + i] = 1.0
        for i in range(losses):
            col[i] = 0.0
        columns[name] = col
    rows = [row(v, f"c{i}", x) for v, col in columns.items() for i, x in enumerate(col)]
    report = compare_rows(rows)
    for c in report.comparisons:
        assert "with at least 80% power" not in c.verdict
        assert "unadjusted" in c.verdict


# --- D: merging into a part keeps the part's own record ---------------------------------------


def test_merging_into_a_part_records_both_parts(tmp_path):
    for i in (1, 2):
        run(
            experiment(shard=(i, 2)),
            store=tmp_path / f"p{i}.sqlite",
            run_id="x",
            providers=mock(),
            progress=False,
        )
    with Store(tmp_path / "p1.sqlite") as target, Store(tmp_path / "p2.sqlite") as source:
        merged = merge_run(target, source, "x")
        assert target.run("x").manifest["shards"] == ["1/2", "2/2"]
    assert merged.status == "finished"


# --- E: reports ------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [20, 30, 40, 42, 48, 60])
def test_no_terminal_width_cuts_a_number(width):
    rows = [
        row(v, f"c{i}", float((i + k) % 2)) for k, v in enumerate(("A", "B")) for i in range(60)
    ]
    text = render(compare_rows(rows), "text", width=width)
    table = [line for line in text.splitlines() if "│" in line]
    if table:  # a table: each cell whole, or its column left out
        cells = {c.strip() for line in table for c in line.split("│")[1:]}
        assert cells <= {"50.0%", "37.7 to 62.3", "60", "-", "+0.0", "-24.5 to +24.5"}
        assert "50.0%" in cells
    else:  # too narrow for a table: every figure, written out
        flat = " ".join(text.split())
        assert "pass rate 50.0%; 95% CI 37.7 to 62.3; N 60" in flat
        assert "95% CI -24.5 to +24.5" in flat


def test_markdown_with_hundreds_of_long_labels_keeps_its_shape_and_notes():
    rows = []
    for i in range(300):
        rows += [row(f"variant-{i}-" + "y" * 110, f"c{c}", float((c + i) % 2)) for c in range(40)]
    text = render(compare_rows(rows), "md")
    assert len(text) <= LIMIT
    assert "more variants: the JSON report lists all |" in text
    assert text.rstrip().splitlines()[-1].startswith("> ")

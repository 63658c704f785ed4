"""Sharded runs (--shard i/n) and merging their stores give what one machine would."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from promptlib._cli import main
from promptlib.evals import Experiment, run
from promptlib.evals._merge import merge_run
from promptlib.evals._runner import in_shard
from promptlib.evals._store import Store, StoreError
from tests.evals.test_runner import DATASET, experiment, mock

ROOT = Path(__file__).parents[2]


def comparable(rows):
    """What a result says, without when it was made or which run holds it."""
    return {
        r.key: (r.output, dict(r.scores), r.input_tokens, r.output_tokens, r.cost, r.error)
        for r in rows
    }


def test_every_case_is_in_exactly_one_part():
    ids = [f"case-{i}" for i in range(500)]
    for parts in (1, 2, 3, 7):
        owners = [[i for i in range(1, parts + 1) if in_shard(c, (i, parts))] for c in ids]
        assert all(len(o) == 1 for o in owners)
        sizes = [sum(o == [i] for o in owners) for i in range(1, parts + 1)]
        assert min(sizes) > 500 / parts * 0.6  # spread, not lumped


def test_three_parts_merged_equal_one_machine(tmp_path):
    whole = run(
        experiment(repeats=2),
        store=tmp_path / "whole.sqlite",
        run_id="x",
        providers=mock(),
        progress=False,
    )
    merged = Store(tmp_path / "merged.sqlite")
    for i in (1, 2, 3):
        part = tmp_path / f"part{i}.sqlite"
        run(
            experiment(repeats=2, shard=(i, 3)),
            store=part,
            run_id="x",
            providers=mock(),
            progress=False,
        )
        with Store(part) as source:
            assert source.run("x").manifest["shard"] == f"{i}/3"
            result = merge_run(merged, source, "x")
    assert (result.done, result.total, result.status) == (16, 16, "finished")
    with Store(tmp_path / "whole.sqlite") as one:
        expected = comparable(one.results(whole.run_id))
    assert comparable(merged.results("x")) == expected
    assert merged.run("x").manifest["shards"] == ["1/3", "2/3", "3/3"]
    with Store(tmp_path / "part1.sqlite") as source:
        again = merge_run(merged, source, "x")
    assert (again.added, again.done) == (0, 16)  # merging twice changes nothing


def test_parts_of_different_experiments_are_not_merged(tmp_path):
    run(
        experiment(shard=(1, 2)),
        store=tmp_path / "a.sqlite",
        run_id="x",
        providers=mock(),
        progress=False,
    )
    run(
        experiment(shard=(2, 2), repeats=2),
        store=tmp_path / "b.sqlite",
        run_id="x",
        providers=mock(),
        progress=False,
    )
    merged = Store(tmp_path / "m.sqlite")
    with Store(tmp_path / "a.sqlite") as a:
        merge_run(merged, a, "x")
    with Store(tmp_path / "b.sqlite") as b, pytest.raises(StoreError, match="repeats differ"):
        merge_run(merged, b, "x")


@pytest.mark.parametrize("shard", [(0, 2), (3, 2), (1, 0)])
def test_a_bad_shard_is_refused(shard):
    from promptlib import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"shard is \(i, n\)"):
        Experiment("x", DATASET, experiment().variants, shard=shard)


def test_the_command_line_runs_parts_and_merges_them(tmp_path, monkeypatch, capsys):
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    shutil.copytree(ROOT / "evals", tmp_path / "evals")
    monkeypatch.chdir(tmp_path)
    for i in (1, 2):
        code = main([
            "eval", "run", "evals/insurance-triage.toml", "--shard", f"{i}/2", "--run-id", "pr",
            "--store", f"part{i}.sqlite", "--no-progress",
        ])  # fmt: skip
        assert code == 0
    capsys.readouterr()
    assert main(["eval", "merge", "part1.sqlite", "part2.sqlite", "--store", "all.sqlite"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].endswith("116/116 done (finished)")
    assert main(["eval", "compare", "pr", "--store", "all.sqlite", "--format", "json"]) == 0
    assert main(["eval", "run", "evals/insurance-triage.toml", "--shard", "3/2"]) == 2
    assert "--shard is I/N" in capsys.readouterr().err

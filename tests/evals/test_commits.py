"""Results are committed in groups, and a worker waits for its result's commit."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from promptlib.evals import run
from promptlib.evals._commits import GroupCommit
from promptlib.evals._store import Store, StoreError
from tests.evals.test_compare import row
from tests.evals.test_runner import experiment, mock


def test_results_finishing_together_share_one_commit(tmp_path, monkeypatch):
    groups: list[int] = []
    original = Store.add_many

    def recording(self, rows):
        rows = list(rows)
        groups.append(len(rows))
        original(self, rows)

    monkeypatch.setattr(Store, "add_many", recording)
    result = run(
        experiment(repeats=3), store=tmp_path / "s.sqlite", providers=mock(), progress=False
    )
    assert sum(groups) == result.done == 24
    assert max(groups) > 1  # the mock answers at once: several results per turn
    with Store(tmp_path / "s.sqlite") as store:
        assert len(list(store.results(result.run_id))) == 24


def test_a_worker_resumes_only_once_its_result_is_committed(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    store.start_run("r", "x", {})
    commits = GroupCommit(store)
    seen: list[int] = []

    async def worker(i: int) -> None:
        await commits.add(row("A", f"c{i}", 1.0, run_id="r"))
        seen.append(len(list(store.results("r"))))

    async def main() -> None:
        await asyncio.gather(*(worker(i) for i in range(5)))

    asyncio.run(main())
    assert seen == [5] * 5  # one turn, one commit, then every worker goes on


def test_a_failed_commit_reaches_every_waiting_worker(tmp_path, monkeypatch):
    store = Store(tmp_path / "s.sqlite")
    store.start_run("r", "x", {})
    commits = GroupCommit(store)

    def full(self, rows):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Store, "add_many", full)

    async def main() -> list[BaseException | None]:
        return await asyncio.gather(
            *(commits.add(row("A", f"c{i}", 1.0, run_id="r")) for i in range(3)),
            return_exceptions=True,
        )

    outcomes = asyncio.run(main())
    assert [type(o) for o in outcomes] == [sqlite3.OperationalError] * 3
    assert list(store.results("r")) == []


def test_a_group_is_one_transaction(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    store.start_run("r", "x", {})
    good = row("A", "c1", 1.0, run_id="r")
    bad = row("A", "c2", 1.0, run_id="r", latency=object())  # cannot be bound: the insert fails
    with pytest.raises(StoreError):
        store.add_many([(good, None), (bad, None)])
    assert list(store.results("r")) == []

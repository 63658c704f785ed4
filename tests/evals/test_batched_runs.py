"""Evaluations sent through the batch API (Experiment(batch=True), eval run --batch)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import promptlib.batch
from promptlib._cli import main
from promptlib.evals import estimate, resume, run
from promptlib.evals._store import Store
from promptlib.testing import Failure, MockProvider
from tests.evals.test_runner import answer_positive, experiment

ROOT = Path(__file__).parents[2]


def rows_of(store: Path, run_id: str):
    with Store(store) as db:
        return {r.key: r for r in db.results(run_id)}


def test_a_batched_run_stores_what_a_live_run_does_at_batch_prices(tmp_path):
    live = run(
        experiment(repeats=2),
        store=tmp_path / "live.sqlite",
        providers={"mock:gpt-4o-mini": MockProvider(answer_positive)},
        progress=False,
    )
    mock = MockProvider(answer_positive)
    batched = run(
        experiment(repeats=2, batch=True),
        store=tmp_path / "batch.sqlite",
        providers={"mock:gpt-4o-mini": mock},
        progress=False,
    )
    assert (batched.status, batched.done, batched.errors) == ("finished", 16, 0)
    one, other = (
        rows_of(tmp_path / "live.sqlite", live.run_id),
        rows_of(tmp_path / "batch.sqlite", batched.run_id),
    )
    assert one.keys() == other.keys()
    for key, row in one.items():
        twin = other[key]
        assert (twin.output, dict(twin.scores), twin.input_tokens, twin.output_tokens) == (
            row.output,
            dict(row.scores),
            row.input_tokens,
            row.output_tokens,
        )
        assert twin.prompt_hash == row.prompt_hash
        assert Decimal(twin.cost) * 2 == Decimal(row.cost)  # gpt-4o-mini's batch prices: half
    assert mock.batch_emulator.creates == 1  # one job, one provider batch
    assert mock.calls
    assert len(mock.calls) == 16
    with Store(tmp_path / "batch.sqlite") as db:
        manifest = db.run(batched.run_id).manifest
    assert manifest["batch"] is True
    assert manifest["prices"]["mock:gpt-4o-mini"]["batch_input"] == "0.075"
    handles = list((tmp_path / "batches").rglob("*.json"))
    assert len(handles) == 1
    assert "sk-" not in handles[0].read_text()


def test_the_estimate_of_a_batched_run_uses_batch_prices():
    live = estimate(experiment()).dollars
    batched = estimate(experiment(batch=True)).dollars
    assert live is not None
    assert batched is not None
    assert batched * 2 == live


def test_an_interrupted_batched_run_resumes_without_submitting_again(tmp_path, monkeypatch):
    mock = MockProvider(answer_positive)
    providers = {"mock:gpt-4o-mini": mock}
    real_collect = promptlib.batch.collect

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(promptlib.batch, "collect", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(
            experiment(batch=True),
            store=tmp_path / "e.sqlite",
            run_id="r",
            providers=providers,
            progress=False,
        )
    assert mock.batch_emulator.creates == 1
    assert rows_of(tmp_path / "e.sqlite", "r") == {}
    monkeypatch.setattr(promptlib.batch, "collect", real_collect)
    done = resume(experiment(batch=True), "r", store=tmp_path / "e.sqlite", providers=providers)
    assert (done.status, done.done, done.total) == ("finished", 8, 8)
    assert mock.batch_emulator.creates == 1  # collected, not submitted again
    assert len(mock.calls) == 8


def test_results_stored_before_a_crash_are_kept_and_the_rest_collected(tmp_path, monkeypatch):
    from promptlib.evals import _runner as runner

    mock = MockProvider(answer_positive)
    providers = {"mock:gpt-4o-mini": mock}
    real_record = runner._Runner.record
    seen = []

    async def crash_after_three(self, item, row, bar):
        if len(seen) == 3:
            raise KeyboardInterrupt
        seen.append(item)
        await real_record(self, item, row, bar)

    monkeypatch.setattr(runner._Runner, "record", crash_after_three)
    with pytest.raises(KeyboardInterrupt):
        run(
            experiment(batch=True),
            store=tmp_path / "e.sqlite",
            run_id="r",
            providers=providers,
            progress=False,
        )
    stored = len(rows_of(tmp_path / "e.sqlite", "r"))
    assert stored <= 3
    monkeypatch.setattr(runner._Runner, "record", real_record)
    done = resume(experiment(batch=True), "r", store=tmp_path / "e.sqlite", providers=providers)
    assert (done.done, done.sent) == (8, 8 - stored)
    assert mock.batch_emulator.creates == 1
    assert len(rows_of(tmp_path / "e.sqlite", "r")) == 8


def test_lines_that_keep_failing_are_resubmitted_then_stored_as_errors(tmp_path):
    def script(prompt):
        return Failure("rate_limit") if "awful" in prompt.format() else answer_positive(prompt)

    mock = MockProvider(script)
    result = run(
        experiment(batch=True),
        store=tmp_path / "e.sqlite",
        providers={"mock:gpt-4o-mini": mock},
        progress=False,
    )
    rows = rows_of(tmp_path / "e.sqlite", result.run_id)
    failed = [r for r in rows.values() if r.error]
    assert failed
    assert result.status == "incomplete"
    assert all("RateLimitError" in r.error and "batch line errored" in r.error for r in failed)
    assert all(r.attempts == 3 for r in failed)  # submitted once, then twice again
    assert mock.batch_emulator.creates == 3


def test_a_budget_sends_only_what_it_can_pay_for_at_batch_prices(tmp_path):
    whole = estimate(experiment(batch=True, expected_output_tokens=5)).dollars
    assert whole is not None
    mock = MockProvider(answer_positive)
    result = run(
        experiment(batch=True, budget=float(whole) / 3, expected_output_tokens=5),
        store=tmp_path / "e.sqlite",
        providers={"mock:gpt-4o-mini": mock},
        progress=False,
    )
    assert result.status == "over budget"
    assert 0 < result.done < result.total
    assert result.spent <= Decimal(str(float(whole) / 3))


def test_eval_run_batch_on_the_command_line_and_resume_keeps_batching(tmp_path, capsys):
    import shutil

    project = tmp_path / "p"
    for folder in ("evals", "templates"):
        shutil.copytree(ROOT / folder, project / folder)
    config = project / "evals" / "insurance-triage.toml"
    store = tmp_path / "e.sqlite"
    code = main(
        [
            *["eval", "run", str(config), "--batch", "--no-progress", "--json"],
            *["--store", str(store)],
            *["--templates", str(project / "templates")],
        ]
    )
    assert code == 0
    import json

    out = json.loads(capsys.readouterr().out)
    with Store(store) as db:
        assert db.run(out["run_id"]).manifest["batch"] is True
    handles = list((tmp_path / "batches" / out["run_id"]).glob("*.json"))
    assert len(handles) == 1
    assert main(["eval", "resume", out["run_id"], "--json", "--store", str(store)]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["done"] == out["done"] == 116
    assert list((tmp_path / "batches" / out["run_id"]).glob("*.json")) == handles

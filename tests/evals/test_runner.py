"""Running experiments: every result stored as it finishes, resumable, within budget."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from decimal import Decimal
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from promptlib import ConfigurationError, JsonOutput, System, Template, Untrusted, User
from promptlib.evals import _scorers as scorers
from promptlib.evals._dataset import Case, Dataset
from promptlib.evals._experiment import Experiment
from promptlib.evals._runner import arun, resume, run
from promptlib.evals._store import Store, StoreError
from promptlib.evals._summary import summarize
from promptlib.testing import Failure, MockProvider


class Review(BaseModel):
    review: Untrusted


class Sentiment(BaseModel):
    label: Literal["positive", "negative"]


def sentiment(version: str, system: str) -> Template[Review, Sentiment]:
    return Template(
        [System(system), JsonOutput(), User("{{ review | delimit('review') }}")],
        name="sentiment",
        version=version,
        inputs=Review,
        output=Sentiment,
        model="gpt-4o-mini",
    )


A = sentiment("1.0.0", "Classify the review's sentiment.")
B = sentiment("1.1.0", "Classify the review's sentiment as positive or negative.")
REVIEWS = [
    ("r1", "Great phone, love it.", "positive"),
    ("r2", "Broke after a day.", "negative"),
    ("r3", "Best purchase this year.", "positive"),
    ("r4", "Battery is awful.", "negative"),
]
DATASET = Dataset(
    "reviews",
    tuple(Case(id, {"review": text}, {"label": label}) for id, text, label in REVIEWS),
)


def answer_positive(prompt):
    return {"label": "positive"}


def experiment(**overrides: Any) -> Experiment:
    options: dict[str, Any] = {
        "name": "sentiment",
        "dataset": DATASET,
        "variants": [A, B],
        "models": ["mock:gpt-4o-mini"],
        "scorers": [scorers.exact()],
        "concurrency": 2,
    }
    return Experiment(**(options | overrides))


def mock(script: Any = answer_positive, **options: Any) -> dict[str, MockProvider]:
    return {"mock:gpt-4o-mini": MockProvider(script, **options)}


def test_every_variant_model_case_and_repeat_is_run_scored_and_stored(tmp_path):
    store = tmp_path / "evals.sqlite"
    result = run(experiment(repeats=2), store=store, providers=mock(), progress=False)
    assert (result.status, result.total, result.done, result.sent) == ("finished", 16, 16, 16)
    assert result.errors == 0
    assert result.spent > 0
    with Store(store) as db:
        rows = list(db.results(result.run_id))
        info = db.run(result.run_id)
    assert len(rows) == 16
    assert {(r.variant, r.repeat) for r in rows} == {
        (v, k) for v in ("sentiment@1.0.0", "sentiment@1.1.0") for k in (0, 1)
    }
    first = rows[0]
    assert first.output == {"label": "positive"}
    assert first.template_hash == A.hash
    assert first.prompt_hash.startswith("sha256:")
    assert first.input_tokens > 0
    assert first.attempts == 1
    assert first.cost is not None
    by_variant = {s.variant: s for s in summarize(rows)}
    assert by_variant["sentiment@1.0.0"].scores == {"exact": 0.5}  # 2 of 4 are positive
    manifest = info.manifest
    assert manifest["dataset"]["hash"] == DATASET.hash
    assert [v["template_hash"] for v in manifest["variants"]] == [A.hash, B.hash]
    assert (
        manifest["prices"]["mock:gpt-4o-mini"] is None
        or "input" in manifest["prices"]["mock:gpt-4o-mini"]
    )
    assert manifest["repeats"] == 2
    assert manifest["promptlib"]


def test_provider_errors_and_failing_scorers_are_results_and_never_stop_the_run(tmp_path):
    def broken(case, completion):
        raise RuntimeError("scorer bug")

    script = [
        Failure("rate_limit"),
        Failure("rate_limit"),
        Failure("rate_limit"),
        {"label": "negative"},
    ]
    result = run(
        experiment(
            variants=[A],
            concurrency=1,  # the script's replies are taken in order
            scorers=[scorers.exact(), scorers.function(broken, name="broken")],
        ),
        store=tmp_path / "s.sqlite",
        providers=mock(script),
        progress=False,
    )
    assert result.status == "incomplete"  # the rate-limited case is sent again by a resume
    assert result.done == 3
    with Store(tmp_path / "s.sqlite") as db:
        rows = list(db.results(result.run_id))
    failed = [r for r in rows if r.error]
    assert len(failed) == 1
    assert failed[0].error.startswith("RateLimitError:")
    assert failed[0].attempts == 3
    scored = [r for r in rows if not r.error]
    assert all(r.scores["broken"]["error"].startswith("RuntimeError: scorer bug") for r in scored)
    assert all(r.scores["exact"]["value"] is not None for r in scored)


def test_resume_sends_only_what_is_missing(tmp_path):
    store = tmp_path / "s.sqlite"
    calls: list[str] = []

    def counted(prompt):
        calls.append(prompt.meta.inputs["review"])
        return {"label": "positive"}

    first = run(experiment(), store=store, providers=mock(counted), progress=False)
    with Store(store) as db:  # lose three results, as a crash would
        db._db.execute("DELETE FROM results WHERE rowid IN (SELECT rowid FROM results LIMIT 3)")
    calls.clear()
    again = resume(experiment(), first.run_id, store=store, providers=mock(counted), progress=False)
    assert (again.sent, again.done, len(calls)) == (3, 8, 3)
    nothing = resume(
        experiment(), first.run_id, store=store, providers=mock(counted), progress=False
    )
    assert nothing.sent == 0


def test_resume_refuses_a_changed_dataset_or_template(tmp_path):
    store = tmp_path / "s.sqlite"
    first = run(experiment(), store=store, providers=mock(), progress=False)
    changed = Dataset("reviews", DATASET.cases[:3])
    with pytest.raises(ConfigurationError, match="the dataset changed"):
        resume(experiment(dataset=changed), first.run_id, store=store, providers=mock())
    other = sentiment("1.1.0", "Something else entirely.")
    with pytest.raises(ConfigurationError, match=r"the variants changed.*sentiment@1\.1\.0"):
        resume(experiment(variants=[A, other]), first.run_id, store=store, providers=mock())


def test_a_budget_stops_new_requests_before_they_could_overspend(tmp_path):
    one = run(
        experiment(variants=[A]), store=tmp_path / "one.sqlite", providers=mock(), progress=False
    )
    per_case = one.spent / 4
    budget = float(per_case * 5)  # room for 5 of the 8 cases, less their worst case
    result = run(
        experiment(budget=budget, concurrency=2, expected_output_tokens=10),
        store=tmp_path / "s.sqlite",
        providers=mock(),
        progress=False,
    )
    assert result.status == "over budget"
    assert 0 < result.done < 8
    assert result.spent <= Decimal(str(budget))
    with pytest.raises(ConfigurationError, match="already spent"):
        run(experiment(budget=0), store=tmp_path / "z.sqlite", providers=mock(), progress=False)


def test_bad_setups_fail_before_anything_is_sent(tmp_path):
    with pytest.raises(ConfigurationError, match="no provider 'nosuch'"):
        run(experiment(models=["nosuch:model"]), store=tmp_path / "s.sqlite", progress=False)
    with pytest.raises(ConfigurationError, match="the same variant twice"):
        experiment(variants=[A, A])
    with pytest.raises(ConfigurationError, match="repeats"):
        experiment(repeats=0)
    with pytest.raises(ConfigurationError, match="concurrency"):
        experiment(concurrency=0)


def test_a_store_from_a_newer_promptlib_is_refused(tmp_path):
    path = tmp_path / "s.sqlite"
    Store(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(StoreError, match="newer promptlib"):
        Store(path)
    (tmp_path / "junk.sqlite").write_text("not a database")
    with pytest.raises(StoreError, match="cannot use the results store"):
        Store(tmp_path / "junk.sqlite")


def test_runs_are_listed_found_by_prefix_and_exported(tmp_path):
    store = tmp_path / "s.sqlite"
    result = run(experiment(), store=store, run_id="exp-1", providers=mock(), progress=False)
    with Store(store) as db:
        assert [r.run_id for r in db.runs()] == ["exp-1"]
        assert db.run("exp").run_id == "exp-1"
        with pytest.raises(StoreError, match="no run 'zzz'"):
            db.run("zzz")
        assert db.export_jsonl("exp-1", tmp_path / "out.jsonl") == 8
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["run"]["run_id"] == "exp-1"
    assert json.loads(lines[1])["result"]["case_id"] == "r1"
    with pytest.raises(ConfigurationError, match="already exists"):
        run(experiment(), store=store, run_id="exp-1", providers=mock(), progress=False)
    assert result.store == store


def test_interrupting_a_run_keeps_every_finished_result(tmp_path):
    store = tmp_path / "s.sqlite"

    async def interrupted():
        task = asyncio.ensure_future(
            arun(
                experiment(concurrency=1, repeats=3),
                store=store,
                run_id="r",
                providers=mock(slow),
            )
        )
        while True:
            await asyncio.sleep(0.01)
            with Store(store) as db:
                if len(db.done("r")) >= 2:
                    break
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    def slow(prompt):
        import time

        time.sleep(0.02)
        return {"label": "positive"}

    asyncio.run(interrupted())
    with Store(store) as db:
        assert db.run("r").status == "interrupted"
        kept = len(db.done("r"))
    assert kept >= 2
    finished = resume(experiment(concurrency=1, repeats=3), "r", store=store, providers=mock())
    assert (finished.status, finished.done, finished.sent) == ("finished", 24, 24 - kept)


def test_the_progress_bar_shows_done_errors_spend_and_eta(tmp_path, capsys):
    run(experiment(), store=tmp_path / "s.sqlite", providers=mock(), progress=True)
    err = capsys.readouterr().err
    last = err.rstrip("\n").split("\r")[-1]
    assert "8/8" in last
    assert "errors 0" in last
    assert "$0.0" in last
    assert "ETA" in last
    run(experiment(), store=tmp_path / "t.sqlite", providers=mock(), progress=False)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("concurrency", [1, 3, 8])
@pytest.mark.parametrize("fraction", [0.1, 0.35, 0.8])
def test_overspend_is_bounded_by_the_requests_in_flight(tmp_path, concurrency, fraction):
    # Replies far longer than the reservation assumes: the reservations undershoot.
    long = {"output_tokens": 400}
    full = run(
        experiment(repeats=3),
        store=tmp_path / "full.sqlite",
        providers=mock(**long),
        progress=False,
    )
    with Store(tmp_path / "full.sqlite") as db:
        largest = max(Decimal(r.cost) for r in db.results(full.run_id))
    budget = float(full.spent) * fraction
    capped = run(
        experiment(repeats=3, budget=budget, concurrency=concurrency, expected_output_tokens=5),
        store=tmp_path / "capped.sqlite",
        providers=mock(**long),
        progress=False,
    )
    assert capped.status == "over budget"
    assert capped.spent - Decimal(str(budget)) <= concurrency * largest


def test_a_run_is_estimated_before_it_starts_and_the_estimate_kept(tmp_path):
    from promptlib.evals import estimate

    expected = estimate(experiment(repeats=2), providers=mock())
    assert expected.requests == 16
    assert expected.dollars is not None
    assert expected.dollars > 0
    assert expected.sampled == 4
    result = run(
        experiment(repeats=2), store=tmp_path / "s.sqlite", providers=mock(), progress=False
    )
    with Store(tmp_path / "s.sqlite") as db:
        kept = db.run(result.run_id).manifest["estimate"]
    assert kept["requests"] == 16
    # the estimate reckons with 256 output tokens a reply; the mock's replies are shorter
    assert Decimal(kept["dollars"]) > result.spent
    unpriced = estimate(
        experiment(models=["mock:unknown-model"]),
        providers={"mock:unknown-model": mock()["mock:gpt-4o-mini"]},
    )
    assert unpriced.dollars is None
    assert "no price for mock:unknown-model" in str(unpriced)

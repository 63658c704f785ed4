"""Evaluation under misuse: nothing destroyed, no budget overrun, no mixed runs, no crash."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from promptlib import ConfigurationError
from promptlib._cli import main
from promptlib.evals import (
    Case,
    Dataset,
    DatasetError,
    RateLimit,
    Score,
    Store,
    StoreError,
)
from promptlib.evals import _scorers as scorers
from promptlib.evals._runner import _run_lock, arun, resume, run
from promptlib.testing import Failure
from tests.evals.test_eval_cli import eval_json, project  # noqa: F401 - the fixture
from tests.evals.test_runner import A, experiment, mock


def test_export_never_writes_over_the_store(project, capsys):  # noqa: F811
    _, result = eval_json(capsys, "run", "evals/insurance-triage.toml", "--json", "--no-progress")
    store = Path(".promptlib/evals.sqlite")
    for target in (
        store,
        Path(".promptlib/evals.sqlite-wal"),
        Path("./.promptlib/../.promptlib/evals.sqlite"),
    ):
        assert main(["eval", "export", result["run_id"], "-o", str(target)]) == 2
        assert "the results store itself" in capsys.readouterr().err
    assert main(["eval", "list"]) == 0  # the store is intact
    assert result["run_id"] in capsys.readouterr().out
    assert main(["eval", "export", result["run_id"], "-o", "/nonexistent/folder/x.jsonl"]) == 2
    assert "cannot write" in capsys.readouterr().err
    assert main(["eval", "export", result["run_id"], "-o", "-"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert json.loads(lines[0])["run"]["run_id"] == result["run_id"]


def test_a_budget_holds_for_the_whole_run_across_resumes(tmp_path):
    store = tmp_path / "s.sqlite"
    one = run(
        experiment(variants=[A]), store=tmp_path / "one.sqlite", providers=mock(), progress=False
    )
    budget = float(one.spent / 4 * 5)
    first = run(
        experiment(budget=budget, expected_output_tokens=10),
        store=store,
        providers=mock(),
        progress=False,
    )
    assert first.status == "over budget"
    again = resume(
        experiment(budget=budget, expected_output_tokens=10),
        first.run_id,
        store=store,
        providers=mock(),
    )
    with Store(store) as db:
        total = db.spent(first.run_id)
    assert total <= Decimal(str(budget))  # not a fresh budget per session
    assert again.sent == 0 or again.status == "over budget"
    bigger = resume(
        experiment(budget=1.0, expected_output_tokens=10),
        first.run_id,
        store=store,
        providers=mock(),
    )
    assert bigger.status == "finished"
    with Store(store) as db:
        assert db.run(first.run_id).manifest["budget"] == 1.0


@pytest.mark.parametrize(
    "change",
    [
        {"params": {"temperature": 0.5}},
        {"repeats": 2},
        {"scorers": [scorers.exact(), scorers.contains("x")]},
        {"models": ["mock:gpt-4o"]},
    ],
)
def test_resume_refuses_changed_settings(tmp_path, change):
    store = tmp_path / "s.sqlite"
    first = run(experiment(), store=store, providers=mock(), progress=False)
    providers = {
        "mock:gpt-4o-mini": mock()["mock:gpt-4o-mini"],
        "mock:gpt-4o": mock()["mock:gpt-4o-mini"],
    }
    with pytest.raises(ConfigurationError, match="changed since the run started"):
        resume(experiment(**change), first.run_id, store=store, providers=providers)


def test_one_process_at_a_time_runs_a_run(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    with (
        _run_lock(store, "r1"),
        pytest.raises(ConfigurationError, match="another process"),
        _run_lock(store, "r1"),
    ):
        pass
    with _run_lock(store, "r1"):  # released again
        pass


def test_a_budget_needs_a_price_for_every_model(tmp_path):
    with pytest.raises(ConfigurationError, match="no price for 'my-finetune'"):
        run(
            experiment(models=["mock:my-finetune"], budget=0.01),
            store=tmp_path / "s.sqlite",
            providers={"mock:my-finetune": mock()["mock:gpt-4o-mini"]},
            progress=False,
        )
    assert not Store(tmp_path / "s.sqlite").runs()  # nothing left behind


def test_failed_setups_leave_no_phantom_runs(tmp_path):
    with pytest.raises(ConfigurationError):
        run(experiment(models=["nosuch:model"]), store=tmp_path / "s.sqlite", progress=False)
    assert Store(tmp_path / "s.sqlite").runs() == []


def test_scorers_returning_junk_or_exiting_never_stop_the_run(tmp_path):
    def junk(case, completion):
        return Score("junk", 10**5000)

    def surrogate(case, completion):
        return 1.0, "bad \ud800 reason"

    def leave(case, completion):
        raise SystemExit(3)

    result = run(
        experiment(
            scorers=[
                scorers.function(junk, name="junk"),
                scorers.function(surrogate, name="surrogate"),
                scorers.function(leave, name="leave"),
            ]
        ),
        store=tmp_path / "s.sqlite",
        providers=mock(),
        progress=False,
    )
    assert (result.status, result.done) == ("finished", 8)
    with Store(tmp_path / "s.sqlite") as db:
        row = next(iter(db.results(result.run_id)))
    assert "outside [0, 1]" in row.scores["junk"]["error"]
    assert row.scores["surrogate"]["reason"] == "bad ? reason"
    assert row.scores["leave"]["error"].startswith("SystemExit")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "s", "inputs": {"review": "\\ud800"}}', "lone surrogate"),
        ('{"id": "s", "inputs": {"review": "x"}, "expected": ' + "9" * 5000 + "}", "4300 digits"),
    ],
)
def test_datasets_with_values_no_prompt_can_carry_are_refused_at_their_line(
    tmp_path, line, message
):
    from promptlib.evals import load_dataset

    path = tmp_path / "d.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(DatasetError, match=message) as info:
        load_dataset(path)
    assert info.value.line == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"repeats": 10**9}, "repeats must be from 1 to 1,000"),
        ({"models": ["mock:gpt-4o-mini", "mock:gpt-4o-mini"]}, "the same model twice"),
        ({"params": {"temprature": 0.5}}, "did you mean 'temperature'"),
        ({"params": {"temperature": "hot"}}, "temperature"),
        ({"expected_output_tokens": -5}, "expected_output_tokens"),
        ({"rate_limits": {"locl": RateLimit(requests_per_minute=1)}}, "names no provider"),
    ],
)
def test_experiment_settings_are_checked(change, message):
    with pytest.raises(ConfigurationError, match=message):
        experiment(**change)
    with pytest.raises(ConfigurationError, match="at least"):
        RateLimit(requests_per_minute=1e-300)


def test_a_damaged_store_says_so(tmp_path):
    path = tmp_path / "s.sqlite"
    result = run(experiment(), store=path, providers=mock(), progress=False)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE results SET scores='{not json' WHERE case_id='r1'")
    with Store(path) as db, pytest.raises(StoreError, match="is damaged"):
        list(db.results(result.run_id))
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value='abc' WHERE key='schema_version'")
    with pytest.raises(StoreError, match="not a number"):
        Store(path)


def test_run_ids_are_plain_names(tmp_path):
    with pytest.raises(ConfigurationError, match="run id"):
        run(
            experiment(),
            store=tmp_path / "s.sqlite",
            run_id="../../x",
            providers=mock(),
            progress=False,
        )


def test_run_inside_a_running_loop_points_at_arun(tmp_path):
    async def inside():
        run(experiment(), store=tmp_path / "s.sqlite", providers=mock(), progress=False)

    with pytest.raises(ConfigurationError, match=r"await promptlib\.evals\.arun"):
        asyncio.run(inside())
    asyncio.run(arun(experiment(), store=tmp_path / "t.sqlite", providers=mock(), progress=False))


def test_terminal_escapes_in_results_are_shown_not_acted_on(project, capsys, monkeypatch):  # noqa: F811
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    eval_json(capsys, "run", "evals/insurance-triage.toml", "--json", "--no-progress")
    screen = Terminal()
    monkeypatch.setattr("sys.stdout", screen)
    assert main(["eval", "list"]) == 0
    assert "\x1b" not in screen.getvalue()
    dataset = Dataset("x", (Case("a", {"review": "\x1b]0;pwned\x07"}),))
    assert dataset  # values may hold them; only their display is escaped


def test_run_ids_with_underscores_are_found_by_id_and_prefix(tmp_path):
    path = tmp_path / "s.sqlite"
    run(experiment(name="my_exp"), store=path, run_id="my_exp-1", providers=mock(), progress=False)
    run(experiment(name="myXexp"), store=path, run_id="myXexp-1", providers=mock(), progress=False)
    with Store(path) as db:
        assert db.run("my_exp-1").run_id == "my_exp-1"
        assert db.run("my_e").run_id == "my_exp-1"  # '_' is a character, not a wildcard


def test_cases_the_provider_failed_on_are_sent_again_by_resume(tmp_path):
    path = tmp_path / "s.sqlite"
    down = [Failure("server_error")] * 3 + [{"label": "positive"}]
    first = run(
        experiment(variants=[A], concurrency=1), store=path, providers=mock(down), progress=False
    )
    assert first.status == "incomplete"
    again = resume(
        experiment(variants=[A], concurrency=1), first.run_id, store=path, providers=mock()
    )
    assert (again.status, again.sent, again.done) == ("finished", 1, 4)
    with Store(path) as db:
        assert all(row.error is None for row in db.results(first.run_id))


@pytest.mark.parametrize("kind", ["quota", "authentication"])
def test_no_credit_or_a_refused_key_stops_the_run(tmp_path, kind):
    from promptlib import AuthenticationError, QuotaExceededError

    error = QuotaExceededError if kind == "quota" else AuthenticationError
    provider = mock([Failure(kind)])
    with pytest.raises(error):
        run(
            experiment(concurrency=2),
            store=tmp_path / "s.sqlite",
            providers=provider,
            progress=False,
        )
    sent = len(provider["mock:gpt-4o-mini"].calls)
    assert sent <= 2  # the cases in flight, not all eight
    with Store(tmp_path / "s.sqlite") as db:
        (info,) = db.runs()
    assert info.status == "failed"


def test_keys_echoed_in_replies_are_not_stored(tmp_path):
    key = "sk-" + "stubSECRETkey1234567890abcd"

    def echo(prompt):
        return {"label": "positive", "note": f"you sent Bearer {key}"}

    provider = mock(echo)
    provider["mock:gpt-4o-mini"]._adapter("openai")._api_key = key  # the key it holds
    result = run(experiment(), store=tmp_path / "s.sqlite", providers=provider, progress=False)
    with Store(tmp_path / "s.sqlite") as db:
        db.export_jsonl(result.run_id, tmp_path / "out.jsonl")
    assert key not in (tmp_path / "out.jsonl").read_text()


def test_an_estimate_skips_cases_that_cannot_render():
    from pydantic import BaseModel

    from promptlib import Template, User
    from promptlib.evals import Experiment, estimate

    class Number(BaseModel):
        n: int

    divide = Template([User("{{ 100 // n }}")], name="div", inputs=Number, model="gpt-4o-mini")
    cases = (Case("zero", {"n": 0}), Case("two", {"n": 2}), Case("four", {"n": 4}))
    expected = estimate(Experiment("div", Dataset("d", cases), [divide], models=["gpt-4o-mini"]))
    assert expected.dollars is not None  # priced from the cases that render
    assert expected.requests == 3


def test_experiment_files_and_var_files_are_read_bounded(tmp_path, capsys):
    import os

    fifo = tmp_path / "exp.toml"
    os.mkfifo(fifo)
    assert main(["eval", "run", str(fifo)]) == 2
    assert "not a regular file" in capsys.readouterr().err
    assert (
        main(
            [
                "--templates",
                str(Path(__file__).parents[2] / "templates"),
                "render",
                "sentiment@production",
                "--var",
                f"review=@{fifo}",
            ]
        )
        == 2
    )
    assert "not a regular file" in capsys.readouterr().err
    deep = "[" * 5000 + "]" * 5000
    assert main(["render", "sentiment@production", "--var", f"review:={deep}"]) == 2
    assert "nests too deeply" in capsys.readouterr().err


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "array", "minItems": 10**6, "items": {"type": "integer"}},
        {"type": "string", "minLength": 10**9},
        {"type": "array", "minItems": 1000, "items": {"type": "array", "minItems": 1000}},
        {"type": "string", "pattern": "a{100000000}"},
    ],
)
def test_fakes_for_schemas_asking_for_huge_values_are_refused_at_once(schema):
    import time

    from promptlib.testing import fake_from_schema

    started = time.monotonic()
    with pytest.raises(ConfigurationError, match="Script"):
        fake_from_schema(schema)
    assert time.monotonic() - started < 1


def test_an_experiment_name_finds_its_latest_run(tmp_path):
    path = tmp_path / "s.sqlite"
    for run_id in ("exp-1", "exp-2", "exp-extra-1"):
        run(experiment(name="exp"), store=path, run_id=run_id, providers=mock(), progress=False)
    run(
        experiment(name="exp-extra"),
        store=path,
        run_id="exp-extra-2",
        providers=mock(),
        progress=False,
    )
    with Store(path) as db:
        assert db.run("exp").run_id == "exp-extra-1"  # the latest run named "exp"
        assert db.run("exp-extra").run_id == "exp-extra-2"
        assert db.run("exp-1").run_id == "exp-1"  # an exact id wins
        with pytest.raises(StoreError, match="more than one run 'exp-'"):
            db.run("exp-")  # a prefix of several runs, and no experiment's name


def test_experiment_providers_are_keyed_by_provider_name_and_checked():
    from promptlib.testing import MockProvider

    scripted = MockProvider([{"label": "positive"}])
    assert experiment(providers={"mock": scripted}).providers["mock"] is scripted
    with pytest.raises(ConfigurationError, match=r"keyed by provider name \('mock'\)"):
        experiment(providers={"mock:gpt-4o-mini": scripted})
    with pytest.raises(ConfigurationError, match="names no provider of this experiment's models"):
        experiment(providers={"openai": scripted})
    with pytest.raises(ConfigurationError, match="is not a promptlib Provider"):
        experiment(providers={"mock": object()})

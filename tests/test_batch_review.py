"""Batch jobs under the defects an independent review found, by class: resumed evaluations,
two processes on one job, overwritten handles, adopted batches, malformed lines, status,
the wrong provider, edited handles, loose arguments, results mapped to the wrong prompt,
colliding line ids, and batch costs with prompt caching."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import promptlib.batch as batch
from promptlib import Completion
from promptlib._cli import main
from promptlib._errors import ConfigurationError, WaitTimeoutError
from promptlib._tokens.cost import Usage, cost_of
from promptlib.batch import BatchFailure, BatchHandle
from promptlib.batch._handle import requests_path
from promptlib.evals import estimate, resume, run
from promptlib.evals._store import Store
from promptlib.testing import Failure, MockProvider
from tests.evals.test_runner import answer_positive, experiment
from tests.test_batch_mock import ECHO, echo, prompts_of

ROOT = Path(__file__).parents[1]


# --- evaluations ---------------------------------------------------------------------------


def test_a_resumed_evaluation_with_several_jobs_completes(tmp_path):
    mock = MockProvider(answer_positive)
    providers = {"mock:gpt-4o-mini": mock}
    whole = estimate(experiment(batch=True, expected_output_tokens=5)).dollars
    assert whole is not None
    first = run(
        experiment(batch=True, budget=float(whole) / 3, expected_output_tokens=5),
        store=tmp_path / "e.sqlite",
        run_id="r",
        providers=providers,
        progress=False,
    )
    assert first.status == "over budget"
    done = resume(
        experiment(batch=True, budget=float(whole) * 3, expected_output_tokens=5),
        "r",
        store=tmp_path / "e.sqlite",
        providers=providers,
    )
    assert (done.status, done.done) == ("finished", 8)
    second = resume(experiment(batch=True), "r", store=tmp_path / "e.sqlite", providers=providers)
    assert (second.status, second.sent) == ("finished", 0)  # two handles, nothing to do


def test_a_resumed_evaluation_sends_transient_failures_again(tmp_path):
    outage = {"on": True}

    def script(prompt: Any) -> Any:
        if outage["on"] and "awful" in prompt.format():
            return Failure("rate_limit")
        return answer_positive(prompt)

    mock = MockProvider(script)
    providers = {"mock:gpt-4o-mini": mock}
    first = run(
        experiment(batch=True),
        store=tmp_path / "e.sqlite",
        run_id="r",
        providers=providers,
        progress=False,
    )
    assert first.status == "incomplete"
    creates = mock.batch_emulator.creates
    outage["on"] = False
    done = resume(experiment(batch=True), "r", store=tmp_path / "e.sqlite", providers=providers)
    assert (done.status, done.errors) == ("finished", 0)
    assert mock.batch_emulator.creates == creates + 1  # the failed items, in a new job
    with Store(tmp_path / "e.sqlite") as db:
        assert not [r for r in db.results("r") if r.error]


def test_handles_of_a_model_whose_name_extends_another_are_kept_apart(tmp_path):
    from promptlib.evals._batched import _handles

    folder = tmp_path
    mock = MockProvider()
    for model in ("mock:gpt-4o", "mock:gpt-4o-mini"):
        slug = model.replace(":", "_")
        batch.submit(prompts_of(2), mock, model.split(":")[1], path=folder / f"{slug}--0.json")
    assert [h.model for h in _handles(folder, "mock:gpt-4o", mock)] == ["gpt-4o"]


# --- one job, two followers; handles never overwritten --------------------------------------


def test_two_followers_of_one_job_never_pay_twice(tmp_path):
    mock = MockProvider(lambda p: Failure("rate_limit") if "1" in p.format() else echo(p))
    path = tmp_path / "job.json"
    batch.submit(prompts_of(3), mock, "gpt-4o-mini", path=path, max_resubmits=1)
    a = batch.load(path, provider=mock)
    b = batch.load(path, provider=mock)
    batch.wait(a, poll_interval=0)
    batch.wait(b, poll_interval=0)
    assert mock.batch_emulator.creates == 2  # the job, and one resubmission
    assert len([c for c in mock.calls if "1" in c.body["messages"][-1]["content"]]) == 2
    assert batch.collect(b).keys() == batch.collect(a).keys()


def test_an_existing_handle_is_never_overwritten(tmp_path):
    mock = MockProvider()
    path = tmp_path / "job.json"
    batch.submit(prompts_of(2), mock, "gpt-4o-mini", path=path)
    with pytest.raises(ConfigurationError, match="exists: load that job"):
        batch.submit(prompts_of(2), mock, "gpt-4o-mini", path=path)
    assert mock.batch_emulator.creates == 1
    with pytest.raises(ConfigurationError, match="is a folder"):
        batch.submit(prompts_of(2), mock, "gpt-4o-mini", path=tmp_path)


def test_no_key_is_said_before_any_handle_is_written(tmp_path, monkeypatch):
    from promptlib import OpenAIProvider

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        batch.submit(prompts_of(2), OpenAIProvider(), "gpt-4o-mini", path=tmp_path / "j.json")
    assert list(tmp_path.iterdir()) == []


# --- adopted batches, malformed lines, status ----------------------------------------------


class Crash(Exception):
    pass


def test_a_lost_anthropic_create_is_told_apart_from_another_jobs_batch(tmp_path, monkeypatch):
    mock = MockProvider(echo)
    path = tmp_path / "ours.json"
    real_save = BatchHandle.save

    def crash_once_created(self: BatchHandle, where: Any = None) -> None:
        if self.path == path and any(b.state == "created" for b in self.batches):
            raise Crash  # the batch exists at the provider; the handle says creating
        real_save(self, where)

    monkeypatch.setattr(BatchHandle, "save", crash_once_created)
    with pytest.raises(Crash):
        batch.submit(prompts_of(3), mock, "claude-haiku-4-5", path=path)
    monkeypatch.setattr(BatchHandle, "save", real_save)
    theirs = {f"c{i}": ECHO.render(text=f"theirs {i}") for i in range(3)}  # same ids, same size
    other = batch.submit(theirs, mock, "claude-haiku-4-5")
    batch.wait(other, poll_interval=0)  # theirs has ended; ours is still running
    ours = batch.load(path, provider=mock)
    batch.wait(ours, poll_interval=0)
    assert mock.batch_emulator.creates == 2  # found, not created again
    results = batch.collect(ours, prompts_of(3))
    assert [r.output.text for r in results.values()] == [f"text number {i}" for i in range(3)]


@pytest.mark.parametrize("model", ["gpt-4o-mini", "claude-haiku-4-5"])
def test_a_malformed_successful_line_is_one_failure_not_a_crash(model):
    mock = MockProvider(echo)
    job = batch.submit(prompts_of(2), mock, model)
    answer = mock.batch_emulator.answer

    def broken(family: str, custom_id: str, body: Any) -> Any:
        if custom_id.startswith("c1"):
            return 200, {"unexpected": True}
        return answer(family, custom_id, body)

    mock.batch_emulator.answer = broken
    batch.wait(job, poll_interval=0)
    results = batch.collect(job, prompts_of(2))
    assert isinstance(results["c0"], Completion)
    failed = results["c1"]
    assert isinstance(failed, BatchFailure)
    assert failed.kind == "errored"


def test_status_of_an_ended_job_is_right_without_waiting():
    mock = MockProvider(echo)
    job = batch.submit(prompts_of(3), mock, "gpt-4o-mini")
    state = batch.status(job)  # the provider's first look ends the batch
    assert (state.finished, state.total, state.ended) == (3, 3, True)
    assert state.batches[0]["counts"]["succeeded"] == 3


# --- the wrong provider, edited handles, loose arguments ------------------------------------


def test_a_handle_is_refused_by_a_provider_of_another_family(tmp_path):
    from promptlib import AnthropicProvider

    mock = MockProvider()
    batch.submit(prompts_of(2), mock, "gpt-4o-mini", path=tmp_path / "j.json")
    other = AnthropicProvider(api_key="sk-ant-test-0123456789abcdef")
    job = batch.load(tmp_path / "j.json", provider=other)
    for step in (batch.status, batch.wait, batch.collect, batch.cancel, batch.resume):
        with pytest.raises(ConfigurationError, match="cannot follow it"):
            step(job)  # type: ignore[operator]
    with pytest.raises(ConfigurationError, match="same one"):
        batch.wait(batch.load(tmp_path / "j.json"))  # a mock's batches live in that mock


EDITS = {
    "not json": lambda state: "{",
    "deep": lambda state: "[" * 100_000,
    "format": lambda state: {**state, "format": "promptlib.batch/1"},
    "chunk out of range": lambda state: {**state, "chunks": [99] * state["count"]},
    "no batches": lambda state: {**state, "batches": []},
    "counts not a map": lambda state: {
        **state,
        "batches": [{**state["batches"][0], "counts": [1, 2]}],
    },
    "unknown state": lambda state: {
        **state,
        "batches": [{**state["batches"][0], "state": "done"}],
    },
    "created without an id": lambda state: {
        **state,
        "batches": [{**state["batches"][0], "batch_id": None}],
    },
    "attempts of 0": lambda state: {**state, "attempts": [0] * state["count"]},
    "count wrong": lambda state: {**state, "count": 7},
    "bool max_resubmits": lambda state: {**state, "max_resubmits": True},
}


@pytest.mark.parametrize("edit", list(EDITS), ids=list(EDITS))
def test_an_edited_handle_is_refused_with_a_clear_error(tmp_path, edit):
    path = tmp_path / "j.json"
    batch.submit(prompts_of(2), MockProvider(), "gpt-4o-mini", path=path)
    state = json.loads(path.read_text())
    edited = EDITS[edit](state)
    path.write_text(edited if isinstance(edited, str) else json.dumps(edited))
    with pytest.raises(ConfigurationError, match=r"batch handle .*j\.json"):
        batch.load(path)


def test_an_edited_requests_file_is_refused(tmp_path):
    path = tmp_path / "j.json"
    batch.submit(prompts_of(2), MockProvider(), "gpt-4o-mini", path=path)
    lines = requests_path(path).read_text().splitlines()
    requests_path(path).write_text(lines[0] + "\n")
    with pytest.raises(ConfigurationError, match="has 1 requests, the handle 2"):
        batch.load(path)
    requests_path(path).write_text('{"custom_id": "bad id", "prompt": {}, "body": {}}\n' * 2)
    with pytest.raises(ConfigurationError, match="no valid custom_id"):
        batch.load(path)
    requests_path(path).unlink()
    with pytest.raises(ConfigurationError, match="requests file"):
        batch.load(path)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_resubmits": "2"}, "max_resubmits"),
        ({"max_resubmits": True}, "max_resubmits"),
        ({"max_resubmits": 2.5}, "max_resubmits"),
        ({"limits": {"max_requests": 1}}, "BatchLimits"),
        ({"model": 123}, "model="),
    ],
)
def test_loose_arguments_are_configuration_errors(options, message):
    with pytest.raises(ConfigurationError, match=message):
        batch.submit(prompts_of(2), MockProvider(), **{"model": "gpt-4o-mini", **options})


@pytest.mark.parametrize("prompts", [None, 42, "text", prompts_of(1)["c0"]])
def test_what_is_not_a_list_of_prompts_is_refused(prompts):
    with pytest.raises(ConfigurationError, match="list of Prompts or a mapping"):
        batch.submit(prompts, MockProvider(), "gpt-4o-mini")


def test_wait_refuses_negative_seconds():
    job = batch.submit(prompts_of(1), MockProvider(), "gpt-4o-mini")
    with pytest.raises(ConfigurationError, match="poll_interval"):
        batch.wait(job, poll_interval=-1)
    with pytest.raises(ConfigurationError, match="timeout"):
        batch.wait(job, timeout=-1)


def test_a_wait_timeout_is_a_promptlib_error_and_a_timeout():
    mock = MockProvider()
    mock.batch_emulator.polls = 100
    job = batch.submit(prompts_of(1), mock, "gpt-4o-mini")
    with pytest.raises(WaitTimeoutError) as caught:
        batch.wait(job, poll_interval=1, timeout=2, sleep=lambda s: None)
    assert isinstance(caught.value, TimeoutError)


# --- results mapped to their own prompt; line ids -------------------------------------------


@pytest.mark.parametrize("model", ["gpt-4o-mini", "claude-haiku-4-5"])
def test_two_jobs_with_the_same_ids_on_one_mock_each_get_their_own_answers(model):
    mock = MockProvider(echo)
    a = {"x": ECHO.render(text="AAAAA")}
    b = {"x": ECHO.render(text="BBBBB")}
    first = batch.submit(a, mock, model)
    second = batch.submit(b, mock, model)
    batch.wait(first, poll_interval=0)
    batch.wait(second, poll_interval=0)
    assert batch.collect(first, a)["x"].output.text == "AAAAA"
    assert batch.collect(second, b)["x"].output.text == "BBBBB"


def test_ids_whose_line_ids_would_collide_are_refused_before_sending():
    import hashlib

    long = "x" * 60
    hashed = "h" + hashlib.sha256(long.encode()).hexdigest()[:52]
    mock = MockProvider()
    prompts = {long: ECHO.render(text="a"), hashed: ECHO.render(text="b")}
    with pytest.raises(ConfigurationError, match="same line id"):
        batch.submit(prompts, mock, "claude-haiku-4-5")
    assert mock.batch_emulator.creates == 0


# --- costs -----------------------------------------------------------------------------------


def test_batch_costs_price_cache_reads_and_writes_at_their_batch_prices():
    read = cost_of(Usage(100_000, 0, cached_input_tokens=90_000), "claude-haiku-4-5", batch=True)
    # 10k at $0.50/M + 90k at $0.05/M
    assert read.total == Decimal("0.0095")
    written = cost_of(Usage(100_000, 0, cache_write_tokens=100_000), "claude-haiku-4-5", batch=True)
    assert written.total == Decimal("0.0625")  # $0.625/M
    unknown = cost_of(Usage(1_000, 10, cached_input_tokens=500), "gpt-4o-mini", batch=True)
    assert (unknown.known, unknown.missing) == (False, ("batch_cached_input",))
    plain = cost_of(Usage(1_000, 10), "gpt-4o-mini", batch=True)
    assert plain.known


# --- the command line ------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.jsonl").write_text(
        "".join(json.dumps({"id": f"t{i}", "ticket": f"bill {i}"}) + "\n" for i in range(3))
    )
    return tmp_path


def test_cli_wait_timeout_exits_1_and_bad_seconds_exit_2(project, capsys, monkeypatch):
    mock = MockProvider(name="stand")
    mock.batch_emulator.polls = 1_000
    monkeypatch.setattr(
        "promptlib._providers.registry.get_provider",
        lambda model, catalog=None: (mock, model.split(":", 1)[1]),
    )
    args = ["batch", "submit", "insurance-triage", "--inputs", "t.jsonl"]
    assert main([*args, "--model", "stand:gpt-4o-mini", "--handle", "j.json"]) == 0
    capsys.readouterr()
    assert main(["batch", "wait", "j.json", "--poll", "0.01", "--timeout", "0.05"]) == 1
    assert "still running after" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["batch", "wait", "j.json", "--poll", "-1"])
    assert exited.value.code == 2


def test_cli_checks_the_output_file_before_waiting(project, capsys):
    args = ["batch", "submit", "insurance-triage", "--inputs", "t.jsonl"]
    code = main([*args, "--model", "mock:gpt-4o-mini", "--wait", "-o", "/nonexistent/x.jsonl"])
    assert code == 2
    assert "-o /nonexistent/x.jsonl: cannot write there" in capsys.readouterr().err
    assert not (project / ".promptlib").exists()


def test_cli_names_the_line_a_bad_input_is_on(project, capsys):
    (project / "t.jsonl").write_text(
        json.dumps({"id": "a", "ticket": "fine"}) + "\n" + json.dumps({"id": "b"}) + "\n"
    )
    args = ["batch", "submit", "insurance-triage", "--inputs", "t.jsonl", "--wait"]
    assert main([*args, "--model", "mock:gpt-4o-mini"]) == 2
    assert "t.jsonl:2:" in capsys.readouterr().err
    (project / "t.jsonl").write_text(json.dumps({"id": None, "ticket": "x"}) + "\n")
    assert main([*args, "--model", "mock:gpt-4o-mini"]) == 2
    assert "t.jsonl:1: id None" in capsys.readouterr().err


def test_cli_list_shows_evaluation_handles_too(project, capsys):
    folder = project / ".promptlib" / "batches" / "run-1"
    batch.submit(prompts_of(2), MockProvider(), "gpt-4o-mini", path=folder / "m--0.json")
    assert main(["batch", "list", "--json"]) == 0
    assert [job["requests"] for job in json.loads(capsys.readouterr().out)] == [2]


# --- the second review ------------------------------------------------------------------------


def test_collect_never_returns_lines_that_are_still_to_be_submitted_again():
    from promptlib._errors import UsageError

    mock = MockProvider(echo)
    mock.batch_emulator.polls = 0
    mock.batch_emulator.expire = {"c1"}
    job = batch.submit(prompts_of(3), mock, "gpt-4o-mini", max_resubmits=2)
    with pytest.raises(UsageError, match="lines to submit again"):
        batch.collect(job)
    batch.wait(job, poll_interval=0)
    assert batch.collect(job)["c1"].attempts == 3


def test_another_jobs_ended_batch_is_never_adopted_even_alone(tmp_path, monkeypatch):
    mock = MockProvider(echo)
    path = tmp_path / "ours.json"
    real_create = batch._backends.AnthropicBatches.create

    def killed_before_sending(self: Any, chunk: Any, requests: Any, job: str) -> Any:
        raise Crash  # the handle says "creating"; nothing reached the provider

    monkeypatch.setattr(batch._backends.AnthropicBatches, "create", killed_before_sending)
    with pytest.raises(Crash):
        batch.submit(prompts_of(3), mock, "claude-haiku-4-5", path=path)
    monkeypatch.setattr(batch._backends.AnthropicBatches, "create", real_create)
    theirs = {f"c{i}": ECHO.render(text=f"theirs {i}") for i in range(3)}
    batch.wait(batch.submit(theirs, mock, "claude-haiku-4-5"), poll_interval=0)
    ours = batch.load(path, provider=mock)
    batch.wait(ours, poll_interval=0)
    results = batch.collect(ours, prompts_of(3))
    assert [r.output.text for r in results.values()] == [f"text number {i}" for i in range(3)]


def test_cli_refuses_a_folder_for_results_before_sending(project, capsys):
    (project / "outdir").mkdir()
    args = ["batch", "submit", "insurance-triage", "--inputs", "t.jsonl", "--wait"]
    assert main([*args, "--model", "mock:gpt-4o-mini", "-o", "outdir"]) == 2
    assert "is a folder" in capsys.readouterr().err


MORE_EDITS = {
    "pending with an id": lambda state: {
        **state,
        "batches": [{**state["batches"][0], "state": "pending"}],
    },
    "reviewed not a boolean": lambda state: {
        **state,
        "batches": [{**state["batches"][0], "reviewed": "no"}],
    },
    "empty tag": lambda state: {**state, "batches": [{**state["batches"][0], "tag": ""}]},
    "wire ids on openai": lambda state: {**state, "wire_ids": ["a-1a2b3c4d01"] * state["count"]},
    "count a boolean": lambda state: {
        **state,
        "batches": [{**state["batches"][0], "counts": {"total": True}}],
    },
}


@pytest.mark.parametrize("edit", list(MORE_EDITS), ids=list(MORE_EDITS))
def test_more_edited_handles_are_refused(tmp_path, edit):
    path = tmp_path / "j.json"
    batch.submit(prompts_of(2), MockProvider(), "gpt-4o-mini", path=path)
    state = json.loads(path.read_text())
    path.write_text(json.dumps(MORE_EDITS[edit](state)))
    with pytest.raises(ConfigurationError, match=r"batch handle .*j\.json"):
        batch.load(path)


def test_a_requests_file_with_a_repeated_id_is_refused(tmp_path):
    path = tmp_path / "j.json"
    batch.submit(prompts_of(2), MockProvider(), "gpt-4o-mini", path=path)
    first = requests_path(path).read_text().splitlines()[0]
    requests_path(path).write_text(first + "\n" + first + "\n")
    with pytest.raises(ConfigurationError, match="same custom_id"):
        batch.load(path)

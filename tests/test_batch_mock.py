"""promptlib.batch through MockProvider: the real batch code and SDK calls, answered in
memory by its BatchEmulator, with scripted replies and failures."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from promptlib import Completion, JsonOutput, System, Template, User, batch
from promptlib._errors import (
    AuthenticationError,
    ConfigurationError,
    ModelRefusalError,
    OutputParseError,
    OutputTruncatedError,
    ProviderUnavailableError,
    QuotaExceededError,
    RateLimitError,
    RequestRejectedError,
)
from promptlib._tokens.cost import cost_of
from promptlib.batch import BatchFailure, BatchHandle, BatchLimits
from promptlib.batch._job import own_id
from promptlib.testing import Failure, MockProvider

FAMILIES = ("openai", "anthropic")
MODEL = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5"}


class Item(BaseModel):
    text: str


class Echo(BaseModel):
    text: str
    size: int


ECHO = Template(
    [System("Repeat the text, and count its characters."), JsonOutput(), User("{{ text }}")],
    name="echo",
    version="1.0.0",
    inputs=Item,
    output=Echo,
    model="gpt-4o-mini",
)
PLAIN = Template(User("{{ text }}"), name="plain", version="1.0.0", inputs=Item)


def echo(prompt: Any) -> Any:
    """A reply carrying the prompt's own input: JSON for ECHO, text for PLAIN."""
    text = prompt.meta.inputs["text"]
    if prompt.meta.template == "plain":
        return f"echo: {text}"
    return {"text": text, "size": len(text)}


def scripted(failures: dict[str, Failure | list[Failure]]) -> Any:
    """Replies by input text: the scripted Failure (a list: one per attempt), else echo."""
    seen: dict[str, int] = {}

    def reply(prompt: Any) -> Any:
        text = prompt.meta.inputs["text"]
        attempt = seen[text] = seen.get(text, 0) + 1
        failure = failures.get(text)
        if isinstance(failure, list):
            return failure[attempt - 1] if attempt <= len(failure) else echo(prompt)
        return failure if failure is not None else echo(prompt)

    return reply


def prompts_of(count: int) -> dict[str, Any]:
    return {f"c{i}": ECHO.render(text=f"text number {i}") for i in range(count)}


def run(mock: MockProvider, family: str, prompts: Any, **options: Any) -> dict[str, Any]:
    job = batch.submit(prompts, mock, MODEL[family], **options)
    batch.wait(job, poll_interval=0)
    return batch.collect(job, prompts)


@pytest.fixture(params=FAMILIES)
def family(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def mock(family: str) -> MockProvider:
    return MockProvider(model=MODEL[family], replies=echo)


# --- submit, wait, collect ---------------------------------------------------------------------


def test_every_prompt_gets_a_typed_completion_at_batch_prices(family, mock, tmp_path):
    prompts = prompts_of(5)
    job = batch.submit(prompts, mock, MODEL[family], path=tmp_path / "job.json")
    assert job.provider == "mock"
    assert job.model == MODEL[family]
    done = batch.wait(job, poll_interval=0)
    assert (done.total, done.finished, done.pending, done.ended) == (5, 5, 0, True)
    results = batch.collect(job, prompts)
    assert list(results) == list(prompts)
    for custom_id, result in results.items():
        assert isinstance(result, Completion)
        text = prompts[custom_id].meta.inputs["text"]
        assert result.output == Echo(text=text, size=len(text))
        assert result.usage.input_tokens > 0
        assert result.usage.output_tokens > 0
        assert result.cost == cost_of(result.usage, MODEL[family], batch=True)
        assert result.provider == "mock"
        assert result.model == MODEL[family]
        assert result.attempts == 1
        assert result.prompt_hash == prompts[custom_id].hash
    # One request line answered per prompt, with the usage the Completion reports.
    assert len(mock.calls) == 5
    by_text = {call.inputs["text"]: call for call in mock.calls}
    for custom_id, result in results.items():
        call = by_text[prompts[custom_id].meta.inputs["text"]]
        assert (call.input_tokens, call.output_tokens) == (
            result.usage.input_tokens,
            result.usage.output_tokens,
        )
    if family == "openai":
        assert all(r.request_id and r.request_id.startswith("req_") for r in results.values())


def test_unscripted_mock_answers_schema_valid_fakes(family):
    mock = MockProvider(model=MODEL[family])
    results = run(mock, family, prompts_of(3))
    assert all(isinstance(r, Completion) and isinstance(r.output, Echo) for r in results.values())


def test_a_batched_request_is_the_live_request(family, mock):
    prompt = ECHO.render(text="the same request?")
    mock.complete(prompt, MODEL[family])
    live = mock.calls[-1].body
    job = batch.submit({"one": prompt}, mock, MODEL[family])
    assert job.requests[0].body == live
    batch.wait(job, poll_interval=0)
    assert mock.calls[-1].body == live  # what the emulator answered
    emulator = mock.batch_emulator
    if family == "openai":
        [stored] = [f for f in emulator.files.values() if f["purpose"] == "batch"]
        assert stored["filename"].endswith(".jsonl")
        assert json.loads(stored["data"])["body"] == live
    else:
        [made] = emulator.batches.values()
        [(line_id, params)] = made["lines"]
        assert (own_id(line_id), params) == ("one", live)
        assert line_id == job.requests[0].sent_id


def test_a_job_is_split_at_the_limits(family, mock):
    prompts = prompts_of(7)
    job = batch.submit(prompts, mock, MODEL[family], limits=BatchLimits(3, 10**9))
    assert [len(job.chunk_requests(b.index)) for b in job.batches] == [3, 3, 1]
    assert len(mock.batch_emulator.batches) == 3
    batch.wait(job, poll_interval=0)
    assert all(isinstance(r, Completion) for r in batch.collect(job, prompts).values())


def test_ten_thousand_shuffled_results_map_back_to_their_prompts(family, mock):
    count = 10_000
    prompts = {f"r{i:05d}": PLAIN.render(text=f"case {i}") for i in range(count)}
    mock.batch_emulator.seed = 17
    results = run(mock, family, prompts)
    [made] = mock.batch_emulator.batches.values()
    order = [own_id(r[0]) for r in made["results"]]
    assert order != list(prompts)
    assert sorted(order) == sorted(prompts)
    mismatches = [
        key
        for key, result in results.items()
        if not isinstance(result, Completion)
        or result.output != f"echo: case {int(key[1:])}"
        or result.prompt_hash != prompts[key].hash
    ]
    assert len(results) == count
    assert mismatches == []


def test_duplicates_and_bad_ids_are_refused_before_anything_is_sent(family, mock):
    prompt = ECHO.render(text="twice")
    with pytest.raises(ConfigurationError, match="same request"):
        batch.submit([prompt, prompt], mock, MODEL[family])
    with pytest.raises(ConfigurationError, match="not accepted"):
        batch.submit({"good": prompt, "bad id": ECHO.render(text="x")}, mock, MODEL[family])
    with pytest.raises(ConfigurationError, match="no prompts"):
        batch.submit({}, mock, MODEL[family])
    with pytest.raises(ConfigurationError, match="not a Prompt"):
        batch.submit([ECHO], mock, MODEL[family])  # type: ignore[list-item]
    emulator = mock.batch_emulator
    assert emulator.creates == 0
    assert emulator.files == {}
    assert mock.calls == []


# --- scripted failures -------------------------------------------------------------------------

RETRYABLE = {
    "rate_limit": RateLimitError,
    "overloaded": ProviderUnavailableError,
    "server_error": ProviderUnavailableError,
    "timeout": ProviderUnavailableError,
    "connection_reset": ProviderUnavailableError,
    "malformed": ProviderUnavailableError,
}
FINAL = {
    "rejected": RequestRejectedError,
    "quota": QuotaExceededError,
    "authentication": AuthenticationError,
    "not_found": RequestRejectedError,
    "too_large": RequestRejectedError,
}
OUTPUT = {
    "invalid_output": OutputParseError,
    "refusal": ModelRefusalError,
    "truncation": OutputTruncatedError,
    "content_filter": ModelRefusalError,
}


@pytest.mark.parametrize("kind", sorted(RETRYABLE))
def test_a_retryable_failure_is_resubmitted_then_reported(family, kind):
    prompts = {"bad": ECHO.render(text="bad"), "good": ECHO.render(text="good")}
    mock = MockProvider(model=MODEL[family], replies=scripted({"bad": Failure(kind)}))
    results = run(mock, family, prompts, max_resubmits=2)
    failed = results["bad"]
    assert isinstance(failed, BatchFailure), failed
    assert (failed.kind, failed.retryable, failed.attempts) == ("errored", True, 3)
    assert isinstance(failed.error, RETRYABLE[kind])
    assert isinstance(results["good"], Completion)
    assert results["good"].attempts == 1
    assert [c.inputs["text"] for c in mock.calls].count("bad") == 3
    assert len(mock.batch_emulator.batches) == 3


@pytest.mark.parametrize("kind", sorted(FINAL))
def test_a_final_failure_is_never_resubmitted(family, kind):
    prompts = {"bad": ECHO.render(text="bad"), "good": ECHO.render(text="good")}
    mock = MockProvider(model=MODEL[family], replies=scripted({"bad": Failure(kind)}))
    results = run(mock, family, prompts, max_resubmits=2)
    failed = results["bad"]
    assert isinstance(failed, BatchFailure)
    assert (failed.kind, failed.retryable, failed.attempts) == ("errored", False, 1)
    assert isinstance(failed.error, FINAL[kind])
    assert len(mock.calls) == 2
    assert len(mock.batch_emulator.batches) == 1


@pytest.mark.parametrize("kind", sorted(OUTPUT))
def test_an_unusable_reply_is_an_output_failure_and_not_repaired(family, kind):
    prompts = {"bad": ECHO.render(text="bad"), "good": ECHO.render(text="good")}
    mock = MockProvider(model=MODEL[family], replies=scripted({"bad": Failure(kind)}))
    results = run(mock, family, prompts)
    failed = results["bad"]
    assert isinstance(failed, BatchFailure)
    assert (failed.kind, failed.retryable, failed.attempts) == ("output", False, 1)
    assert isinstance(failed.error, OUTPUT[kind])
    assert len(mock.calls) == 2  # a batch does not repair
    assert isinstance(results["good"], Completion)


def test_a_failure_that_clears_gives_the_reply_of_the_next_attempt(family):
    failures = {"text number 1": [Failure("rate_limit"), Failure("overloaded")]}
    mock = MockProvider(model=MODEL[family], replies=scripted(failures))
    results = run(mock, family, prompts_of(3), max_resubmits=2)
    assert isinstance(results["c1"], Completion)
    assert results["c1"].attempts == 3
    assert results["c1"].output == Echo(text="text number 1", size=13)
    assert [results[k].attempts for k in ("c0", "c2")] == [1, 1]


def test_template_scripts_and_lists_work_in_batches(family):
    replies = {"echo": [{"text": "first", "size": 5}, Failure("rejected")]}
    mock = MockProvider(model=MODEL[family], replies=replies)
    results = run(mock, family, prompts_of(3))
    kinds = [type(r).__name__ for r in results.values()]
    assert kinds.count("Completion") == 1
    assert kinds.count("BatchFailure") == 2


def test_expired_lines_are_resubmitted_within_the_budget(family, mock):
    mock.batch_emulator.expire.add("c0")
    results = run(mock, family, prompts_of(3), max_resubmits=1)
    expired = results["c0"]
    assert isinstance(expired, BatchFailure)
    assert (expired.kind, expired.retryable, expired.attempts) == ("expired", True, 2)
    assert all(isinstance(results[k], Completion) for k in ("c1", "c2"))
    assert len(mock.batch_emulator.batches) == 2


def test_a_batch_that_fails_validation_fails_every_request():
    mock = MockProvider(model="gpt-4o-mini", replies=echo)
    mock.batch_emulator.fail_validation = True
    results = run(mock, "openai", prompts_of(3))
    assert {(r.kind, r.retryable, r.attempts) for r in results.values()} == {("failed", False, 1)}
    assert mock.calls == []
    assert len(mock.batch_emulator.batches) == 1


# --- lost and refused creates --------------------------------------------------------------------


@pytest.mark.parametrize(("lose", "refuse", "creates"), [(1, 0, 2), (2, 0, 2), (0, 1, 3)])
def test_creates_whose_answer_was_lost_or_refused_make_one_batch_per_chunk(
    family, mock, lose, refuse, creates
):
    emulator = mock.batch_emulator
    emulator.lose_answers, emulator.refuse_creates = lose, refuse
    prompts = prompts_of(4)
    job = batch.submit(prompts, mock, MODEL[family], limits=BatchLimits(2, 10**9))
    assert len(emulator.batches) == len(job.batches) == 2
    assert emulator.creates == creates
    batch.wait(job, poll_interval=0)
    assert all(isinstance(r, Completion) for r in batch.collect(job, prompts).values())
    assert len(mock.calls) == 4


# --- killed between two steps ------------------------------------------------------------------


class Crash(BaseException):
    """The process dies here (nothing catches it)."""


def crashing_save(real_save: Any, crash_at: int, mode: str) -> Any:
    """A ``BatchHandle.save`` that kills the process just ``before`` or just ``after``
    the ``crash_at``-th save."""
    count = 0

    def save(self: BatchHandle, where: Any = None) -> None:
        nonlocal count
        count += 1
        if count == crash_at and mode == "before":
            raise Crash
        real_save(self, where)
        if count == crash_at and mode == "after":
            raise Crash

    return save


def test_a_job_killed_at_any_save_resumes_with_the_same_results(family, tmp_path, monkeypatch):
    real_save = BatchHandle.save

    def fresh() -> MockProvider:
        made = MockProvider(
            model=MODEL[family], replies=scripted({"text number 1": [Failure("rate_limit")]})
        )
        made.batch_emulator.polls = 2
        return made

    def job_of(mock: MockProvider, path: Any) -> dict[str, Any]:
        prompts = prompts_of(4)
        job = batch.submit(prompts, mock, MODEL[family], path=path, limits=BatchLimits(2, 10**9))
        batch.wait(job, poll_interval=0)
        return batch.collect(job, prompts)

    def summary(results: dict[str, Any]) -> dict[str, Any]:
        return {
            k: (r.output, r.attempts) if isinstance(r, Completion) else (r.kind, r.attempts)
            for k, r in results.items()
        }

    saves = 0

    def counted(self: BatchHandle, path: Any = None) -> None:
        nonlocal saves
        saves += 1
        real_save(self, path)

    with monkeypatch.context() as patch:
        patch.setattr(BatchHandle, "save", counted)
        expected = summary(job_of(fresh(), tmp_path / "whole.json"))
    assert expected["c1"] == (Echo(text="text number 1", size=13), 2)

    problems = []
    for mode in ("before", "after"):
        for crash_at in range(1, saves + 1):
            crashing = crashing_save(real_save, crash_at, mode)
            mock = fresh()
            path = tmp_path / f"{mode}-{crash_at}.json"
            with monkeypatch.context() as patch:
                patch.setattr(BatchHandle, "save", crashing)
                with pytest.raises(Crash):
                    job_of(mock, path)
            if not path.exists():
                assert mock.batch_emulator.creates == 0
                continue
            job = batch.load(path, provider=mock)  # the provider's state survives the kill
            batch.wait(job, poll_interval=0)
            got = summary(batch.collect(job, prompts_of(4)))
            made = mock.batch_emulator.batches
            if got != expected:
                problems.append((mode, crash_at, got))
            if sorted(made) != sorted(b.batch_id for b in job.batches) or len(made) != 3:
                problems.append((mode, crash_at, "batches", len(made)))
    assert problems == []


# --- cancel, handle, status --------------------------------------------------------------------


def test_cancel_gives_canceled_failures_and_resubmits_nothing(family, mock):
    mock.batch_emulator.polls = 4
    prompts = prompts_of(3)
    job = batch.submit(prompts, mock, MODEL[family])
    batch.cancel(job)
    assert batch.wait(job, poll_interval=0).ended
    results = batch.collect(job, prompts)
    assert {(r.kind, r.attempts, r.retryable) for r in results.values()} == {("canceled", 1, False)}
    assert mock.calls == []
    assert len(mock.batch_emulator.batches) == 1
    assert job.cancelled


def test_the_handle_round_trips_and_holds_no_key(family, mock, tmp_path):
    path = tmp_path / "job.json"
    prompts = prompts_of(2)
    job = batch.submit(prompts, mock, MODEL[family], path=path)
    assert "mock-key" not in path.read_text()
    loaded = batch.load(path, provider=mock)
    assert loaded == job
    assert BatchHandle.from_json(job.to_json()) == job
    batch.wait(loaded, poll_interval=0)
    assert all(isinstance(r, Completion) for r in batch.collect(loaded, prompts).values())
    assert batch.load(path, provider=mock) == loaded
    # A handle kept in memory is saved when asked.
    kept = batch.submit(prompts_of(1), mock, MODEL[family])
    assert kept.path is None
    kept.save(tmp_path / "later.json")
    assert batch.load(tmp_path / "later.json", provider=mock) == kept


def test_status_counts(family, mock):
    mock.batch_emulator.polls = 3
    mock.replies = scripted({"text number 0": Failure("rejected")})
    job = batch.submit(prompts_of(3), mock, MODEL[family])
    running = batch.status(job)
    assert (running.finished, running.pending, running.ended) == (0, 0, False)
    [only] = running.batches
    assert only["requests"] == 3
    assert only["counts"].get("total", only["counts"].get("processing")) == 3
    done = batch.wait(job, poll_interval=0)
    assert (done.finished, done.ended) == (3, True)
    [after] = batch.status(job).batches
    assert (after["counts"]["succeeded"], after["counts"]["errored"]) == (2, 1)


def test_the_mocks_model_is_the_default_as_for_live_calls():
    mock = MockProvider(model="claude-haiku-4-5", replies=echo)
    prompt = ECHO.render(text="which model?")  # the template names gpt-4o-mini
    assert mock.complete(prompt).model == "claude-haiku-4-5"
    job = batch.submit({"one": prompt}, mock)
    assert job.model == "claude-haiku-4-5"

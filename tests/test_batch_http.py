"""promptlib.batch over real HTTP: the official SDKs talk to a stand-in batch API on
127.0.0.1 (tests/batch_server.py), for OpenAI's Batch API and Anthropic's Message Batches.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from pydantic import BaseModel

from promptlib import (
    AnthropicProvider,
    Completion,
    JsonOutput,
    OpenAIProvider,
    RetryPolicy,
    System,
    Template,
    User,
    batch,
)
from promptlib._errors import (
    ConfigurationError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitError,
    UsageError,
)
from promptlib._providers.sdk_http import http_module
from promptlib._tokens.cost import cost_of
from promptlib.batch import BatchFailure, BatchHandle, BatchLimits
from promptlib.batch._backends import api_for
from promptlib.testing._wire import Reply, reply_body
from tests.batch_server import (
    ANTHROPIC_KEY,
    OPENAI_KEY,
    StandIn,
    logical,
    serving,
    user_text,
)

# The stand-in is on 127.0.0.1, but the requests are the SDKs': the offline guard refuses
# them unless allowed.
pytestmark = pytest.mark.allow_provider_requests

FAMILIES = ("openai", "anthropic")
MODEL = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5"}
KEY = {"openai": OPENAI_KEY, "anthropic": ANTHROPIC_KEY}


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
TUNED = Template(
    [System("Repeat the text."), JsonOutput(), User("{{ text }}")],
    name="tuned",
    version="2.0.0",
    inputs=Item,
    output=Echo,
    params={"temperature": 0.2, "top_p": 0.9, "max_tokens": 300, "stop": ["\n\n"]},
)
PLAIN = Template(User("{{ text }}"), name="plain", version="1.0.0", inputs=Item)


@pytest.fixture(autouse=True)
def _sockets_closed_here() -> Iterator[None]:
    """SDK clients pointed at the stand-in are dropped with their connections open: collect
    them at the end of each test, so that no socket is left for a later test to find."""
    yield
    import gc
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def no_sleep() -> RetryPolicy:
    return RetryPolicy(attempts=3, jitter=0, sleep=lambda _: None)


def provider_for(family: str, url: str) -> Any:
    """A real adapter pointed at the stand-in (OpenAI's request shape, not a local
    server's: ``server="openai"``)."""
    if family == "openai":
        return OpenAIProvider(
            api_key=OPENAI_KEY, base_url=f"{url}/v1", server="openai", retry=no_sleep()
        )
    return AnthropicProvider(api_key=ANTHROPIC_KEY, base_url=url, retry=no_sleep())


def echo_prompts(count: int, template: Template[Any, Any] = ECHO) -> dict[str, Any]:
    return {f"c{i}": template.render(text=f"text number {i}") for i in range(count)}


def uploaded(stand_in: StandIn) -> list[dict[str, Any]]:
    """The batch input files uploaded to the stand-in (OpenAI)."""
    return [f for f in stand_in.emulator.files.values() if f["purpose"] == "batch"]


def sent_bodies(stand_in: StandIn, family: str) -> dict[str, list[dict[str, Any]]]:
    """Every request body that reached the stand-in, by custom id (one per attempt):
    OpenAI: each uploaded JSONL line's ``body``; Anthropic: each request's ``params``."""
    bodies: dict[str, list[dict[str, Any]]] = {}
    if family == "openai":
        for stored in uploaded(stand_in):
            for raw in stored["data"].splitlines():
                entry = json.loads(raw)
                bodies.setdefault(logical(entry["custom_id"]), []).append(entry["body"])
    else:
        for made in stand_in.emulator.batches.values():
            for custom_id, params in made["lines"]:
                bodies.setdefault(logical(custom_id), []).append(params)
    return bodies


def summary(results: dict[str, Any]) -> dict[str, Any]:
    """What a job's results amount to, comparable between runs."""
    return {
        key: ("ok", r.output, r.usage, r.attempts)
        if isinstance(r, Completion)
        else (r.kind, r.retryable, r.attempts, type(r.error).__name__)
        for key, r in results.items()
    }


def monkeypatch_context() -> contextlib.AbstractContextManager[pytest.MonkeyPatch]:
    """A monkeypatch undone at the end of a ``with`` block."""
    return pytest.MonkeyPatch.context()


@pytest.fixture(params=FAMILIES)
def family(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    with serving(seed=3) as server:
        yield server


# --- submit, wait, collect ---------------------------------------------------------------------


def test_every_prompt_gets_a_typed_completion_at_batch_prices(family, stand_in, tmp_path):
    emulator, url = stand_in
    emulator.polls = 2
    prompts = echo_prompts(6)
    provider = provider_for(family, url)
    job = batch.submit(prompts, provider, MODEL[family], path=tmp_path / "job.json")
    assert job.provider == family
    assert job.model == MODEL[family]
    assert [b.state for b in job.batches] == ["created"]

    done = batch.wait(job, poll_interval=0)
    assert done.ended
    assert done.finished == done.total == 6
    assert done.pending == 0

    results = batch.collect(job, prompts)
    assert list(results) == list(prompts)  # in the order submitted
    for custom_id, result in results.items():
        assert isinstance(result, Completion), result
        text = prompts[custom_id].meta.inputs["text"]
        assert result.output == Echo(text=text, size=len(text))
        given = stand_in.replies.given[custom_id]
        assert (result.usage.input_tokens, result.usage.output_tokens) == (
            given.input_tokens,
            given.output_tokens,
        )
        assert result.cost == cost_of(result.usage, MODEL[family], batch=True)
        assert result.cost.total is not None
        live = cost_of(result.usage, MODEL[family]).total
        assert live is not None
        assert result.cost.total < live
        assert result.provider == family
        assert result.model == MODEL[family]
        assert result.attempts == 1
        assert result.template == "echo"
        assert result.version == "1.0.0"
        assert result.prompt_hash == prompts[custom_id].hash
        assert result.latency >= 0
    if family == "openai":  # the request id of each line of the output file
        made = next(iter(emulator.batches.values()))
        lines = [
            json.loads(raw) for raw in emulator.files[made["output_file_id"]]["data"].splitlines()
        ]
        ids = {line["custom_id"]: line["response"]["request_id"] for line in lines}
        assert {k: r.request_id for k, r in results.items()} == ids
    # Without the prompts, structured outputs are read back as dicts.
    bare = batch.collect(job)
    assert bare["c0"].output == {"text": "text number 0", "size": 13}


def test_every_request_carries_the_key_and_nothing_else_does(family, stand_in, tmp_path):
    _emulator, url = stand_in
    job = batch.submit(
        echo_prompts(2), provider_for(family, url), MODEL[family], path=tmp_path / "job.json"
    )
    batch.wait(job, poll_interval=0)
    batch.collect(job)
    assert stand_in.requests
    for seen in stand_in.requests:
        offered = {seen.headers.get("authorization"), seen.headers.get("x-api-key")}
        assert f"Bearer {KEY[family]}" in offered or KEY[family] in offered, seen
    text = (tmp_path / "job.json").read_text()
    assert KEY[family] not in text
    assert "Bearer" not in text


@pytest.mark.parametrize("template", [ECHO, TUNED, PLAIN], ids=lambda t: t.name)
def test_a_batched_request_is_the_live_request(family, stand_in, template):
    _emulator, url = stand_in
    model = MODEL[family]
    prompt = template.render(text="Is the batched request the live one?")
    captured: list[dict[str, Any]] = []
    sdk = openai if family == "openai" else anthropic
    http = http_module(sdk)

    def live(request: Any) -> Any:
        body = json.loads(request.content)
        captured.append(body)
        text = json.dumps({"text": user_text(body), "size": 1})
        tool = (body.get("tool_choice") or {}).get("name") if family == "anthropic" else None
        reply = Reply(family, model, text, 5, 5, "stop", "live1", tool=tool)
        return http.Response(200, json=reply_body(reply), headers={"x-request-id": "live1"})

    transport = http.Client(transport=http.MockTransport(live))
    if family == "openai":
        client = openai.OpenAI(api_key=OPENAI_KEY, base_url=f"{url}/v1", http_client=transport)
        live_provider: Any = OpenAIProvider(client=client, server="openai", retry=no_sleep())
    else:
        client = anthropic.Anthropic(api_key=ANTHROPIC_KEY, base_url=url, http_client=transport)
        live_provider = AnthropicProvider(client=client, retry=no_sleep())
    live_provider.complete(prompt, model)
    assert len(captured) == 1

    job = batch.submit({"only": prompt}, provider_for(family, url), model)
    assert sent_bodies(stand_in, family) == {"only": captured}
    assert job.requests[0].body == captured[0]


def test_openai_uploads_a_jsonl_file_for_the_batch_endpoint(stand_in):
    emulator, url = stand_in
    prompts = echo_prompts(3)
    job = batch.submit(prompts, provider_for("openai", url))
    [stored] = uploaded(stand_in)
    assert stored["filename"].endswith(".jsonl")
    assert stored["filename"] == f"{job.batches[0].tag}.jsonl"
    assert stored["purpose"] == "batch"
    lines = [json.loads(raw) for raw in stored["data"].splitlines()]
    assert [line["custom_id"] for line in lines] == list(prompts)
    assert {(line["method"], line["url"]) for line in lines} == {("POST", "/v1/chat/completions")}
    [made] = emulator.batches.values()
    assert made["input_file_id"] == job.batches[0].file_id
    assert made["metadata"] == {"promptlib_job": job.job, "promptlib_batch": job.batches[0].tag}


# --- splitting ---------------------------------------------------------------------------------


def test_a_job_is_split_at_the_request_limit(family, stand_in):
    emulator, url = stand_in
    prompts = echo_prompts(10)
    job = batch.submit(
        prompts, provider_for(family, url), MODEL[family], limits=BatchLimits(3, 10**9)
    )
    assert [len(job.chunk_requests(b.index)) for b in job.batches] == [3, 3, 3, 1]
    assert len(emulator.batches) == 4
    batch.wait(job, poll_interval=0)
    results = batch.collect(job, prompts)
    assert all(isinstance(r, Completion) for r in results.values())
    assert sorted(sent_bodies(stand_in, family)) == sorted(prompts)


def test_a_job_is_split_at_the_byte_limit(family, stand_in):
    emulator, url = stand_in
    prompts = echo_prompts(10)
    provider = provider_for(family, url)
    probe = batch.submit({"probe": prompts["c0"]}, provider)
    line = len(api_for(provider).line(probe.requests[0]))
    limit = int(line * 2.5)  # two lines of about this size per batch
    emulator.batches.clear()
    emulator.files.clear()

    job = batch.submit(prompts, provider, limits=BatchLimits(1000, limit))
    api = api_for(provider, BatchLimits(1000, limit))
    sizes = [sum(len(api.line(r)) for r in job.chunk_requests(b.index)) for b in job.batches]
    assert all(size <= limit for size in sizes)
    assert len(job.batches) == math.ceil(10 / 2)
    assert len(emulator.batches) == 5
    if family == "openai":
        assert all(len(f["data"]) <= limit for f in uploaded(stand_in))
    batch.wait(job, poll_interval=0)
    assert all(isinstance(r, Completion) for r in batch.collect(job, prompts).values())


def test_an_anthropic_create_body_is_within_max_bytes(stand_in):
    url = stand_in.url
    provider = provider_for("anthropic", url)
    prompts = echo_prompts(2)
    probe = batch.submit(prompts, provider, MODEL["anthropic"])
    # The create body: {"requests":[line,line]} (a line is measured with its comma).
    exact = sum(len(api_for(provider).line(r)) for r in probe.requests) + 14
    job = batch.submit(prompts, provider, MODEL["anthropic"], limits=BatchLimits(10, exact))
    assert len(job.batches) == 1
    sent = [s for s in stand_in.requests if s.method == "POST"][-1]
    assert int(sent.headers["content-length"]) == exact
    split = batch.submit(prompts, provider, MODEL["anthropic"], limits=BatchLimits(10, exact - 1))
    assert len(split.batches) == 2
    creates = [s for s in stand_in.requests if s.method == "POST"][-2:]
    assert all(int(s.headers["content-length"]) < exact for s in creates)


def test_a_prompt_over_the_byte_limit_alone_is_refused_before_sending(family, stand_in):
    _emulator, url = stand_in
    with pytest.raises(ConfigurationError, match="byte batch limit"):
        batch.submit(
            echo_prompts(2), provider_for(family, url), MODEL[family], limits=BatchLimits(10, 50)
        )
    assert stand_in.requests == []


# --- many requests, shuffled -------------------------------------------------------------------


def test_ten_thousand_results_each_map_back_to_its_own_prompt(family):
    count = 10_000
    prompts = {f"r{i:05d}": PLAIN.render(text=f"case {i}") for i in range(count)}
    with serving(seed=11) as stand_in:
        emulator, url = stand_in
        job = batch.submit(prompts, provider_for(family, url), MODEL[family])
        batch.wait(job, poll_interval=0)
        results = batch.collect(job, prompts)
        [made] = emulator.batches.values()
    order = [logical(r[0]) for r in made["results"]]
    assert order != list(prompts)
    assert sorted(order) == sorted(prompts)
    assert len(results) == count
    mismatches = [
        key
        for key, result in results.items()
        if not isinstance(result, Completion)
        or result.output != f"echo: case {int(key[1:])}"
        or result.prompt_hash != prompts[key].hash
    ]
    assert mismatches == []


# --- ids -----------------------------------------------------------------------------------


def test_the_same_prompt_twice_in_a_sequence_is_refused_before_anything_is_sent(
    family, stand_in, tmp_path
):
    emulator, url = stand_in
    prompt = ECHO.render(text="twice")
    other = ECHO.render(text="once")
    with pytest.raises(ConfigurationError, match="same request"):
        batch.submit(
            [other, prompt, prompt],
            provider_for(family, url),
            MODEL[family],
            path=tmp_path / "j.json",
        )
    assert emulator.creates == 0
    assert emulator.files == {}
    assert stand_in.requests == []
    assert not (tmp_path / "j.json").exists()


@pytest.mark.parametrize("bad", ["has space", "x" * 65, "", "naïve", "a/b", "ok\n"])
def test_an_invalid_id_in_a_mapping_is_refused_before_anything_is_sent(family, stand_in, bad):
    emulator, url = stand_in
    prompts = {"fine": ECHO.render(text="a"), bad: ECHO.render(text="b")}
    with pytest.raises(ConfigurationError, match="not accepted by the providers"):
        batch.submit(prompts, provider_for(family, url), MODEL[family])
    assert emulator.creates == 0
    assert emulator.files == {}
    assert stand_in.requests == []


def test_mapping_keys_that_read_the_same_are_refused_before_anything_is_sent(family, stand_in):
    emulator, url = stand_in
    prompts = {1: ECHO.render(text="a"), "1": ECHO.render(text="b")}
    with pytest.raises(ConfigurationError):
        batch.submit(prompts, provider_for(family, url), MODEL[family])  # type: ignore[arg-type]
    assert emulator.creates == 0
    assert emulator.files == {}


# --- failed lines ------------------------------------------------------------------------------


def test_retryable_lines_are_resubmitted_within_the_budget(family, stand_in):
    emulator, url = stand_in
    replies = stand_in.replies
    replies.errors.update(
        {
            "c1": "rate_limit",  # 429, always
            "c2": "server_error",  # 500, always
            "c3": "rejected",  # 400: never resubmitted
            "c4": ["overloaded"],  # once, then a reply
            "c6": "context_length",  # a hand-written 400
        }
    )
    emulator.expire.add("c5")
    prompts = echo_prompts(7)
    job = batch.submit(prompts, provider_for(family, url), MODEL[family], max_resubmits=2)
    batch.wait(job, poll_interval=0)
    results = batch.collect(job, prompts)

    for key, error in (("c1", RateLimitError), ("c2", ProviderUnavailableError)):
        failed = results[key]
        assert isinstance(failed, BatchFailure), failed
        assert (failed.kind, failed.retryable, failed.attempts) == ("errored", True, 3)
        assert isinstance(failed.error, error)
        assert replies.answered[key] == 3
    for key in ("c3", "c6"):
        refused = results[key]
        assert isinstance(refused, BatchFailure)
        assert (refused.kind, refused.retryable, refused.attempts) == ("errored", False, 1)
        assert replies.answered[key] == 1
    assert "refused as sent" in str(results["c3"].error)
    expired = results["c5"]
    assert isinstance(expired, BatchFailure)
    assert (expired.kind, expired.retryable, expired.attempts) == ("expired", True, 3)
    assert "c5" not in replies.answered
    again = results["c4"]
    assert isinstance(again, Completion)
    assert again.attempts == 2
    for key in ("c0",):
        assert isinstance(results[key], Completion)
        assert results[key].attempts == 1
    attempts = {k: len(v) for k, v in sent_bodies(stand_in, family).items()}
    assert attempts == {"c0": 1, "c1": 3, "c2": 3, "c3": 1, "c4": 2, "c5": 3, "c6": 1}
    assert len(emulator.batches) == len(job.batches) == 3


def test_no_resubmits_when_the_budget_is_zero(family, stand_in):
    emulator, url = stand_in
    stand_in.replies.errors["c0"] = "rate_limit"
    emulator.expire.add("c1")
    job = batch.submit(echo_prompts(3), provider_for(family, url), MODEL[family], max_resubmits=0)
    batch.wait(job, poll_interval=0)
    results = batch.collect(job)
    assert [(r.kind, r.retryable, r.attempts) for r in (results["c0"], results["c1"])] == [
        ("errored", True, 1),
        ("expired", True, 1),
    ]
    assert len(emulator.batches) == 1


def test_a_batch_that_fails_validation_fails_every_request(stand_in):
    emulator, url = stand_in
    emulator.fail_validation = True
    prompts = echo_prompts(4)
    job = batch.submit(prompts, provider_for("openai", url))
    batch.wait(job, poll_interval=0)
    results = batch.collect(job, prompts)
    assert {r.kind for r in results.values()} == {"failed"}
    assert all(isinstance(r, BatchFailure) and not r.retryable for r in results.values())
    assert all(r.attempts == 1 for r in results.values())
    assert "failed validation" in str(results["c0"].error)
    assert len(emulator.batches) == emulator.creates == 1  # not created again


# --- create answers lost -----------------------------------------------------------------------


@pytest.mark.parametrize("lost", [1, 2])
def test_a_lost_create_answer_does_not_create_the_batch_twice(family, stand_in, lost):
    emulator, url = stand_in
    emulator.lose_answers = lost  # the first creates succeed, but their answer is a 500
    prompts = echo_prompts(4)
    job = batch.submit(
        prompts, provider_for(family, url), MODEL[family], limits=BatchLimits(2, 10**9)
    )
    assert len(job.batches) == 2
    assert len(emulator.batches) == emulator.creates == 2
    assert {b.batch_id for b in job.batches} == set(emulator.batches)
    batch.wait(job, poll_interval=0)
    assert all(isinstance(r, Completion) for r in batch.collect(job, prompts).values())
    assert len(emulator.batches) == 2


def test_a_refused_create_is_made_again_once(family, stand_in):
    emulator, url = stand_in
    emulator.refuse_creates = 1  # a 500 that created nothing
    prompts = echo_prompts(3)
    job = batch.submit(prompts, provider_for(family, url), MODEL[family])
    assert emulator.creates == 2
    assert len(emulator.batches) == 1
    assert job.batches[0].batch_id in emulator.batches
    batch.wait(job, poll_interval=0)
    assert all(isinstance(r, Completion) for r in batch.collect(job, prompts).values())


def test_creates_refused_every_time_leave_the_chunk_to_resume(family, stand_in, tmp_path):
    emulator, url = stand_in
    emulator.refuse_creates = 3  # as many as the retry policy's attempts
    prompts = echo_prompts(2)
    with pytest.raises(ProviderError):
        batch.submit(prompts, provider_for(family, url), MODEL[family], path=tmp_path / "job.json")
    assert emulator.batches == {}
    job = batch.load(tmp_path / "job.json", provider=provider_for(family, url))
    assert job.batches[0].state == "creating"
    batch.wait(job, poll_interval=0)
    assert all(isinstance(r, Completion) for r in batch.collect(job, prompts).values())
    assert len(emulator.batches) == 1


@pytest.mark.parametrize("family", ["openai", "anthropic"])
def test_a_failed_create_never_adopts_another_jobs_batch(family, stand_in):
    emulator, url = stand_in
    theirs = {f"c{i}": ECHO.render(text=f"someone else's {i}") for i in range(2)}
    other = batch.submit(theirs, provider_for(family, url), MODEL[family])  # same ids, same size
    emulator.refuse_creates = 1  # our create fails with a 500 and creates nothing
    ours = echo_prompts(2)
    job = batch.submit(ours, provider_for(family, url), MODEL[family])
    assert job.batches[0].batch_id != other.batches[0].batch_id
    assert len(emulator.batches) == 2
    batch.wait(job, poll_interval=0)
    results = batch.collect(job, ours)
    assert [r.output.text for r in results.values()] == ["text number 0", "text number 1"]


def _killed_before_the_first_created_save(monkeypatch: pytest.MonkeyPatch) -> None:
    real_save = BatchHandle.save

    def crashing(self: BatchHandle, path: Any = None) -> None:
        if any(b.state == "created" for b in self.batches):
            raise Crash  # the batch exists at the provider; the handle still says creating
        real_save(self, path)

    monkeypatch.setattr(BatchHandle, "save", crashing)


def test_a_lost_batch_is_found_past_the_first_page_of_the_list(family, stand_in, tmp_path):
    emulator, url = stand_in
    prompts = echo_prompts(3)
    with monkeypatch_context() as patch:
        _killed_before_the_first_created_save(patch)
        with pytest.raises(Crash):
            batch.submit(
                prompts, provider_for(family, url), MODEL[family], path=tmp_path / "job.json"
            )
    assert len(emulator.batches) == 1
    [ours] = emulator.batches
    # 120 newer batches (of another size) at the provider: the list's first page is theirs.
    crowd = {f"x{i}": PLAIN.render(text=f"crowd {i}") for i in range(120)}
    batch.submit(crowd, provider_for(family, url), MODEL[family], limits=BatchLimits(1, 10**9))
    assert len(emulator.batches) == 121

    job = batch.load(tmp_path / "job.json", provider=provider_for(family, url))
    assert job.batches[0].state == "creating"
    batch.wait(job, poll_interval=0)
    assert job.batches[0].batch_id == ours
    assert len(emulator.batches) == 121
    assert all(isinstance(r, Completion) for r in batch.collect(job, prompts).values())
    lists = [r for r in stand_in.requests if r.method == "GET" and r.path.endswith("batches")]
    assert len(lists) >= 2  # the second page was asked for


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


def _crash_job(family: str, url: str, path: Path) -> dict[str, Any]:
    prompts = echo_prompts(4)
    job = batch.submit(
        prompts, provider_for(family, url), MODEL[family], path=path, limits=BatchLimits(2, 10**9)
    )
    batch.wait(job, poll_interval=0)
    return batch.collect(job, prompts)


def _scripted(stand_in: StandIn) -> None:
    stand_in.emulator.polls = 2
    stand_in.replies.errors["c1"] = ["rate_limit"]  # one line is resubmitted once


def test_a_job_killed_between_any_two_steps_resumes_without_sending_twice(
    family, tmp_path, monkeypatch
):
    real_save = BatchHandle.save
    saves = 0

    def counted(self: BatchHandle, path: Any = None) -> None:
        nonlocal saves
        saves += 1
        real_save(self, path)

    with serving(seed=5) as stand_in, monkeypatch.context() as patch:
        _scripted(stand_in)
        patch.setattr(BatchHandle, "save", counted)
        expected = summary(_crash_job(family, stand_in.url, tmp_path / "whole.json"))
        chunks = len(stand_in.emulator.batches)
    assert saves >= 8
    assert chunks == 3
    assert expected["c1"][0] == "ok"
    assert expected["c1"][3] == 2

    problems = []
    found = 0  # runs killed after a create was made and before the handle recorded it
    for mode in ("before", "after"):  # killed just before the N-th save, or just after it
        for crash_at in range(1, saves + 1):
            path = tmp_path / f"{mode}-{crash_at}.json"
            crashing = crashing_save(real_save, crash_at, mode)
            with serving(seed=5) as stand_in:
                _scripted(stand_in)
                emulator = stand_in.emulator
                with monkeypatch.context() as patch:
                    patch.setattr(BatchHandle, "save", crashing)
                    with pytest.raises(Crash):
                        _crash_job(family, stand_in.url, path)
                if not path.exists():  # killed before the first save: nothing was sent
                    assert (emulator.creates, emulator.files) == (0, {}), (mode, crash_at)
                    continue
                job = batch.load(path, provider=provider_for(family, stand_in.url))
                known = sum(1 for b in job.batches if b.batch_id)
                found += len(emulator.batches) > known
                batch.wait(job, poll_interval=0)
                got = summary(batch.collect(job, echo_prompts(4)))
                ids = [b.batch_id for b in job.batches]
                if got != expected:
                    problems.append((mode, crash_at, "results differ", got))
                if len(emulator.batches) != chunks or sorted(ids) != sorted(emulator.batches):
                    problems.append((mode, crash_at, "batches", len(emulator.batches), ids))
                if family == "openai" and len(uploaded(stand_in)) > chunks + 1:
                    problems.append((mode, crash_at, "uploads", len(uploaded(stand_in))))
    assert problems == []
    assert found == chunks  # each create was lost to a kill once, and found again


# --- cancel ------------------------------------------------------------------------------------


def test_cancel_stops_the_running_batches_and_nothing_is_resubmitted(family, stand_in):
    emulator, url = stand_in
    emulator.polls = 5  # still running when cancelled
    prompts = echo_prompts(4)
    job = batch.submit(
        prompts, provider_for(family, url), MODEL[family], limits=BatchLimits(2, 10**9)
    )
    now = batch.cancel(job)
    assert all(b.cancelled for b in job.batches)
    assert all(made["cancel"] for made in emulator.batches.values())
    assert now.total == 4
    done = batch.wait(job, poll_interval=0)
    assert done.ended
    results = batch.collect(job, prompts)
    assert {(r.kind, r.attempts) for r in results.values()} == {("canceled", 1)}
    assert all(isinstance(r, BatchFailure) for r in results.values())
    assert len(emulator.batches) == 2  # none resubmitted
    assert stand_in.replies.answered == {}


def test_cancel_before_any_batch_was_created_creates_none(family, stand_in, tmp_path):
    emulator, url = stand_in
    path = tmp_path / "job.json"
    with monkeypatch_context() as patch:
        real_save = BatchHandle.save

        def crashing(self: BatchHandle, where: Any = None) -> None:
            real_save(self, where)
            raise Crash  # killed right after the first save: nothing sent

        patch.setattr(BatchHandle, "save", crashing)
        with pytest.raises(Crash):
            batch.submit(echo_prompts(3), provider_for(family, url), MODEL[family], path=path)
    job = batch.load(path, provider=provider_for(family, url))
    assert [b.state for b in job.batches] == ["pending"]
    batch.cancel(job)
    assert batch.wait(job, poll_interval=0).ended
    results = batch.collect(job)
    assert {(r.kind, r.attempts) for r in results.values()} == {("canceled", 1)}
    assert emulator.creates == 0
    assert emulator.files == {}


def test_cancel_covers_a_batch_whose_create_failed(family, stand_in, tmp_path):
    emulator, url = stand_in
    emulator.refuse_creates = 3  # every attempt of submit's create fails
    path = tmp_path / "job.json"
    with pytest.raises(ProviderError):
        batch.submit(echo_prompts(2), provider_for(family, url), MODEL[family], path=path)
    job = batch.load(path, provider=provider_for(family, url))
    assert job.batches[0].state == "creating"
    batch.cancel(job)
    batch.wait(job, poll_interval=0)
    assert emulator.batches == {}  # cancelled: never created
    results = batch.collect(job)
    assert {r.kind for r in results.values()} == {"canceled"}


def test_cancel_after_the_batch_ended_at_the_provider_keeps_its_answers(family, stand_in):
    emulator, url = stand_in
    prompts = echo_prompts(2)
    job = batch.submit(prompts, provider_for(family, url), MODEL[family])
    [batch_id] = emulator.batches
    # Time passes at the provider, unseen by the job: the batch ends.
    path = f"/v1/batches/{batch_id}" if family == "openai" else f"/v1/messages/batches/{batch_id}"
    assert emulator.route("GET", path, "", "", b"")[0] == 200
    assert emulator.batches[batch_id]["status"] in ("completed", "ended")
    batch.cancel(job)
    assert emulator.batches[batch_id]["status"] in ("completed", "ended")
    batch.wait(job, poll_interval=0, timeout=2)
    assert all(isinstance(r, Completion) for r in batch.collect(job, prompts).values())


def test_collect_before_the_job_ends_is_refused(family, stand_in):
    emulator, url = stand_in
    emulator.polls = 5
    job = batch.submit(echo_prompts(2), provider_for(family, url), MODEL[family])
    with pytest.raises(UsageError, match="has not ended"):
        batch.collect(job)


def test_wait_polls_at_the_interval_and_gives_up_at_the_timeout(family, stand_in):
    emulator, url = stand_in
    emulator.polls = 4
    job = batch.submit(echo_prompts(2), provider_for(family, url), MODEL[family])
    gave_up: list[float] = []
    with pytest.raises(TimeoutError, match="still running after 30 s"):
        batch.wait(job, poll_interval=60, timeout=30, sleep=gave_up.append)
    assert 29 < sum(gave_up) <= 30  # a last look at the timeout, never past it
    slept: list[float] = []
    shown = io.StringIO()
    done = batch.wait(job, poll_interval=7, sleep=slept.append, progress=shown)
    assert done.ended
    assert set(slept) <= {7}  # at the interval
    assert shown.getvalue().endswith(f"batch {job.job}: 2/2 done\n")


def test_collect_parses_with_the_prompts_given_as_submitted(family, stand_in):
    _emulator, url = stand_in
    prompts = [ECHO.render(text=f"seq {i}") for i in range(3)]
    job = batch.submit(prompts, provider_for(family, url), MODEL[family])
    assert all(r.custom_id.startswith("p") for r in job.requests)
    batch.wait(job, poll_interval=0)
    results = batch.collect(job, prompts)
    assert [r.output for r in results.values()] == [Echo(text=f"seq {i}", size=5) for i in range(3)]
    changed = {job.requests[0].custom_id: ECHO.render(text="not the one sent")}
    with pytest.raises(ConfigurationError, match="not the one submitted"):
        batch.collect(job, changed)


# --- the handle --------------------------------------------------------------------------------


def test_the_handle_round_trips_through_json_without_keys(family, stand_in, tmp_path):
    emulator, url = stand_in
    emulator.polls = 3
    path = tmp_path / "jobs" / "nightly.json"
    prompts = echo_prompts(3)
    job = batch.submit(prompts, provider_for(family, url), MODEL[family], path=path)
    text = path.read_text(encoding="utf-8")
    assert KEY[family] not in text
    assert "sk-" not in text
    assert "Bearer" not in text
    assert json.loads(text)["format"] == "promptlib.batch/2"

    loaded = batch.load(path, provider=provider_for(family, url))
    assert loaded == job
    assert BatchHandle.from_json(job.to_json()) == job
    assert loaded.path == path
    assert [r.custom_id for r in loaded.requests] == list(prompts)

    batch.wait(loaded, poll_interval=0)
    results = batch.collect(loaded, prompts)
    assert all(isinstance(r, Completion) for r in results.values())
    again = batch.load(path, provider=provider_for(family, url))
    assert again == loaded
    for saved in path.parent.iterdir():
        assert KEY[family] not in saved.read_text(encoding="utf-8")
    names = sorted(p.name for p in path.parent.iterdir())  # no temporary files left
    assert names == ["nightly.json", "nightly.json.lock", "nightly.json.requests.jsonl"]


def test_a_file_that_is_not_a_handle_is_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="cannot be read"):
        batch.load(tmp_path / "missing.json")
    (tmp_path / "other.json").write_text('{"format": "something/1"}')
    with pytest.raises(ConfigurationError, match=r"promptlib\.batch"):
        batch.load(tmp_path / "other.json")


# --- status ------------------------------------------------------------------------------------


def test_status_counts_the_requests_of_each_batch(family, stand_in):
    emulator, url = stand_in
    emulator.polls = 3
    stand_in.replies.errors["c2"] = "rejected"
    job = batch.submit(
        echo_prompts(5), provider_for(family, url), MODEL[family], limits=BatchLimits(3, 10**9)
    )
    running = batch.status(job)
    assert (running.total, running.finished, running.pending, running.ended) == (5, 0, 0, False)
    assert [b["requests"] for b in running.batches] == [3, 2]
    assert [b["batch_id"] for b in running.batches] == [b.batch_id for b in job.batches]
    if family == "openai":
        assert [b["status"] for b in running.batches] == ["in_progress"] * 2
        assert [b["counts"]["total"] for b in running.batches] == [3, 2]
    else:
        assert [b["status"] for b in running.batches] == ["in_progress"] * 2
        assert [b["counts"]["processing"] for b in running.batches] == [3, 2]

    done = batch.wait(job, poll_interval=0)
    assert (done.total, done.finished, done.pending, done.ended) == (5, 5, 0, True)
    assert done.to_dict()["batches"][0]["tag"] == job.batches[0].tag
    last = [b for b in done.batches if b["counts"]]
    assert last, done
    assert sum(b["counts"]["succeeded"] for b in last) + sum(
        b["counts"]["errored"] for b in last
    ) == sum(b["requests"] for b in last)


def test_status_after_the_end_still_has_the_counts(family, stand_in):
    _emulator, url = stand_in
    stand_in.replies.errors["c2"] = "rejected"
    job = batch.submit(echo_prompts(3), provider_for(family, url), MODEL[family])
    batch.wait(job, poll_interval=0)
    [only] = batch.status(job).batches
    assert only["counts"]["succeeded"] == 2
    assert only["counts"]["errored"] == 1

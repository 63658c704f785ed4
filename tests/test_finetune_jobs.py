"""promptlib.finetune's jobs over real HTTP: the official SDK starts and follows fine-tunes
at a stand-in of OpenAI's fine-tuning API on 127.0.0.1 (tests/finetune_server.py); the
new model is registered in a catalog file; the ``promptlib finetune start|follow`` CLI.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import traceback
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

import promptlib
from promptlib import AnthropicProvider, OpenAIProvider, RetryPolicy, finetune
from promptlib._cli import main
from promptlib._errors import (
    AuthenticationError,
    ConfigurationError,
    PromptlibError,
    ProviderError,
    RequestRejectedError,
)
from promptlib._tokens.catalog import Catalog
from promptlib.finetune._jobs import FineTuneJob, failed_job_message, register_model
from tests.finetune_server import INVALID_TRAINING_FILE, FineTuneAPI, serving

# The stand-in is on 127.0.0.1, but the requests are the SDK's: the offline guard refuses
# them unless allowed.
pytestmark = pytest.mark.allow_provider_requests

BASE = "gpt-4o-mini-2024-07-18"
NANO = "gpt-4.1-nano-2025-04-14"
# Shaped like no provider's key: only the redaction of the keys promptlib knows hides it.
KEY = "ftkey-test-0123456789abcdef"
CLI_KEY = "sk-proj-clitest0123456789abcdef"
PRICES = ("input", "output", "cached_input", "batch_input", "batch_output")


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


def provider_for(api: FineTuneAPI, key: str = KEY) -> OpenAIProvider:
    return OpenAIProvider(api_key=key, base_url=f"{api.url}/v1", retry=no_sleep())


def examples(path: Path, count: int = 12) -> Path:
    """A chat fine-tuning file of ``count`` examples that passes promptlib's check."""
    lines = []
    for i in range(count):
        label = "bug" if i % 2 else "feature_request"
        lines.append(
            json.dumps(
                {
                    "messages": [
                        {"role": "system", "content": "Classify the support ticket."},
                        {"role": "user", "content": f"Ticket {i}: the app does thing {i}."},
                        {"role": "assistant", "content": label},
                    ]
                }
            )
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def shown(exc: BaseException) -> str:
    """Everything a traceback of ``exc`` shows (its causes and contexts included)."""
    return "".join(traceback.format_exception(exc))


def follow_quietly(provider: OpenAIProvider, job_id: str, **options: object) -> FineTuneJob:
    return finetune.follow(provider, job_id, poll_interval=0, sleep=lambda _: None, **options)  # type: ignore[arg-type]


@pytest.fixture
def api() -> Iterator[FineTuneAPI]:
    with serving(require_key=KEY) as server:
        yield server


@pytest.fixture
def train(tmp_path: Path) -> Path:
    return examples(tmp_path / "train.jsonl")


# --- start and follow ----------------------------------------------------------------------


def test_start_then_follow_to_a_new_model_with_every_event_once_in_order(api, train):
    api.running_looks = 3
    provider = provider_for(api)
    job = finetune.start(provider, train, BASE)
    assert isinstance(job, FineTuneJob)
    assert job.id in api.jobs
    assert (job.status, job.base_model, job.ended) == ("validating_files", BASE, False)
    assert job.training_file == api.uploads()[0]["id"]
    assert job.fine_tuned_model is None

    shown_events = io.StringIO()
    slept: list[float] = []
    done = finetune.follow(
        provider, job.id, poll_interval=5, progress=shown_events, sleep=slept.append
    )
    assert done.status == "succeeded"
    assert done.ended
    made = api.jobs[job.id]
    assert done.fine_tuned_model == made["fine_tuned_model"]
    assert re.fullmatch(rf"ft:{BASE}:org::[0-9a-f]{{8}}", done.fine_tuned_model or "")
    assert done.trained_tokens == made["trained_tokens"] > 0
    assert done.error is None
    assert done.training_file == job.training_file
    # every event the provider logged, oldest first, each written once
    logged = [event["message"] for event in api.events[job.id]]
    assert done.events == tuple(logged)
    assert len(set(logged)) == len(logged)
    assert shown_events.getvalue().splitlines() == [f"{job.id}: {m}" for m in logged]
    assert logged[-2:] == [
        f"New fine-tuned model created: {done.fine_tuned_model}",
        "The job has successfully completed",
    ]
    assert "Step 100/100: training loss=0.1818" in logged
    # queued, running (3 looks), succeeded: a pause between looks, none after the last
    assert slept == [5, 5, 5, 5]
    assert len(api.seen("GET", f"/v1/fine_tuning/jobs/{job.id}")) == 5
    # the key promptlib was given is the one sent
    assert {r.headers["authorization"] for r in api.requests} == {f"Bearer {KEY}"}
    assert done.to_dict()["events"] == logged


def test_the_uploaded_file_is_a_fine_tune_jsonl_whatever_the_local_name(api, tmp_path):
    provider = provider_for(api)
    for name in ("train.jsonl", "train.txt", "data.train.json", "noext"):
        finetune.start(provider, examples(tmp_path / name), BASE)
    uploads = api.uploads()
    assert [u["filename"] for u in uploads] == [
        "train.jsonl",
        "train.jsonl",
        "data.train.jsonl",
        "noext.jsonl",
    ]
    assert {u["purpose"] for u in uploads} == {"fine-tune"}
    assert all(u["data"] == (tmp_path / "train.jsonl").read_bytes() for u in uploads)
    assert [r.body for r in api.seen("POST", "/v1/files")][1] == {
        "purpose": "fine-tune",
        "filename": "train.jsonl",
    }


def test_epochs_suffix_seed_and_validation_file_are_sent_as_the_api_expects(api, train, tmp_path):
    provider = provider_for(api)
    valid = examples(tmp_path / "valid.jsonl", 10)
    job = finetune.start(
        provider,
        train,
        f"openai:{BASE}",
        validation_file=valid,
        suffix="triage",
        epochs=2,
        seed=7,
    )
    train_id, valid_id = (u["id"] for u in api.uploads())
    assert [u["filename"] for u in api.uploads()] == ["train.jsonl", "valid.jsonl"]
    (sent,) = [r.body for r in api.seen("POST", "/v1/fine_tuning/jobs")]
    tag = sent.pop("metadata")
    assert sent == {
        "model": BASE,  # the provider prefix is promptlib's, not OpenAI's
        "training_file": train_id,
        "validation_file": valid_id,
        "suffix": "triage",
        "seed": 7,
        "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2}}},
    }
    assert re.fullmatch(r"\{'promptlib_job': 'plft_[0-9a-f]{16}'\}", str(tag))
    assert (job.training_file, job.validation_file) == (train_id, valid_id)
    done = follow_quietly(provider, job.id)
    assert done.fine_tuned_model is not None
    assert ":org:triage:" in done.fine_tuned_model
    assert api.jobs[job.id]["hyperparameters"]["n_epochs"] == 2
    assert api.jobs[job.id]["seed"] == 7


def test_no_epochs_no_method_the_provider_chooses(api, train):
    finetune.start(provider_for(api), train, BASE)
    (sent,) = [r.body for r in api.seen("POST", "/v1/fine_tuning/jobs")]
    assert set(sent) == {"model", "training_file", "metadata"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"suffix": ""}, "suffix= takes 1 to 64"),
        ({"suffix": "x" * 65}, "suffix= takes 1 to 64"),
        ({"epochs": 0}, "epochs=0: use 1 to 50"),
        ({"epochs": 51}, "epochs=51: use 1 to 50"),
    ],
)
def test_bad_settings_are_refused_before_anything_is_uploaded(api, train, options, message):
    with pytest.raises(ConfigurationError, match=message):
        finetune.start(provider_for(api), train, BASE, **options)
    assert api.requests == []


def test_an_unreadable_training_file_is_a_configuration_error(api, tmp_path):
    with pytest.raises(ConfigurationError, match="cannot read"):
        finetune.start(provider_for(api), tmp_path / "missing.jsonl", BASE)
    assert api.requests == []


# --- a job that fails at the provider, and starting again ------------------------------------


def test_a_failed_job_says_why_names_its_file_and_starts_again_without_uploading(api, train):
    provider = provider_for(api)
    api.failure = INVALID_TRAINING_FILE
    job = finetune.start(provider, train, BASE)
    shown_events = io.StringIO()
    failed = follow_quietly(provider, job.id, progress=shown_events)
    assert failed.status == "failed"
    assert failed.ended
    assert failed.fine_tuned_model is None
    assert failed.error == f"invalid_training_file: {INVALID_TRAINING_FILE['message']}"
    assert "Training file validation failed" in shown_events.getvalue()

    message = failed_job_message(failed)
    assert f"fine-tune {job.id} failed" in message
    assert INVALID_TRAINING_FILE["message"] in message
    # The file itself was refused: starting again means a fixed file, uploaded anew.
    assert "fix the file and start again (it is uploaded anew)" in message
    assert message.count(job.training_file) == 1

    # the file fixed at the source, a new job from the same upload
    api.failure = None
    again = finetune.start(
        provider, train.with_name("not-read.jsonl"), BASE, training_file_id=job.training_file
    )
    assert len(api.seen("POST", "/v1/files")) == 1
    assert again.training_file == job.training_file
    assert again.id != job.id
    assert follow_quietly(provider, again.id).status == "succeeded"


def test_failed_job_message_names_the_validation_file_too():
    job = FineTuneJob(
        id="ftjob-x",
        base_model=BASE,
        status="cancelled",
        training_file="file-train",
        validation_file="file-valid",
    )
    message = failed_job_message(job)
    assert "ftjob-x cancelled: no reason given" in message
    assert "training file file-train, validation file file-valid" in message
    assert "--training-file-id file-train" in message


def test_a_validation_file_uploaded_before_is_used_as_is(api, train):
    provider = provider_for(api)
    first = finetune.start(provider, train, BASE, validation_file=train)
    assert first.validation_file is not None
    again = finetune.start(
        provider,
        train,
        BASE,
        training_file_id=first.training_file,
        validation_file_id=first.validation_file,
    )
    assert len(api.seen("POST", "/v1/files")) == 2
    assert (again.training_file, again.validation_file) == (
        first.training_file,
        first.validation_file,
    )


# --- creates whose answer is lost or refused -------------------------------------------------


def test_a_create_whose_answer_was_lost_is_found_by_its_tag_not_made_twice(api, train):
    provider = provider_for(api)
    earlier = [finetune.start(provider, train, BASE) for _ in range(2)]
    api.lose_creates = 1
    job = finetune.start(provider, train, BASE)
    assert len(api.jobs) == 3  # the two earlier ones and exactly one more
    (made,) = [j for j in api.jobs.values() if j["id"] not in {e.id for e in earlier}]
    assert job.id == made["id"]
    assert job.training_file == made["training_file"]
    creates = api.seen("POST", "/v1/fine_tuning/jobs")
    assert [r.status for r in creates] == [200, 200, 500]
    assert made["metadata"] == creates[-1].body["metadata"]
    assert len(api.seen("GET", "/v1/fine_tuning/jobs")) == 1  # looked for once
    assert follow_quietly(provider, job.id).status == "succeeded"


def test_a_create_refused_with_a_500_is_looked_for_then_names_the_kept_files(api, train):
    provider = provider_for(api)
    api.refuse_creates = 1
    with pytest.raises(ProviderError) as caught:
        finetune.start(provider, train, BASE, validation_file=train)
    train_id, valid_id = (u["id"] for u in api.uploads())
    message = str(caught.value)
    assert f"training file {train_id}" in message
    assert f"validation file {valid_id}" in message
    assert f"--training-file-id {train_id} --validation-file-id {valid_id}" in message
    assert caught.value.status == 500
    assert api.jobs == {}
    assert len(api.seen("GET", "/v1/fine_tuning/jobs")) == 1
    job = finetune.start(
        provider, train, BASE, training_file_id=train_id, validation_file_id=valid_id
    )
    assert len(api.uploads()) == 2
    assert len(api.jobs) == 1
    assert job.validation_file == valid_id


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("gpt-4o-mini", "Model gpt-4o-mini is not available for fine-tuning"),
        ("gpt-5", "Model gpt-5 is not available for fine-tuning"),
    ],
)
def test_a_refused_create_raises_at_once_naming_the_kept_files(api, train, model, message):
    provider = provider_for(api)
    with pytest.raises(PromptlibError) as caught:
        finetune.start(provider, train, model)
    assert isinstance(caught.value, RequestRejectedError)
    assert caught.value.status == 400
    (train_id,) = (u["id"] for u in api.uploads())
    assert message in str(caught.value)
    assert f"kept: training file {train_id} (uploaded)" in str(caught.value)
    assert f"--training-file-id {train_id}" in str(caught.value)
    assert api.jobs == {}
    assert api.seen("GET", "/v1/fine_tuning/jobs") == []  # a 400 is certain: not looked for
    assert len(api.seen("POST", "/v1/fine_tuning/jobs")) == 1  # and not retried


def test_a_lost_create_that_cannot_be_looked_for_still_names_the_kept_files(api, train):
    provider = provider_for(api)
    api.lose_creates = 1
    api.fail_lists = 10
    with pytest.raises(ProviderError) as caught:
        finetune.start(provider, train, BASE)
    (train_id,) = (u["id"] for u in api.uploads())
    assert len(api.jobs) == 1  # the job was made: starting again blindly pays twice
    assert f"--training-file-id {train_id}" in str(caught.value)


# --- status, follow's timeout, other providers -----------------------------------------------


def test_status_reports_the_job_as_it_is_now(api, train):
    provider = provider_for(api)
    job = finetune.start(provider, train, BASE)
    seen = [finetune.status(provider, job.id).status for _ in range(4)]
    assert seen == ["queued", "running", "succeeded", "succeeded"]
    now = finetune.status(provider, job.id)
    assert now.fine_tuned_model == api.jobs[job.id]["fine_tuned_model"]
    assert now.trained_tokens == api.jobs[job.id]["trained_tokens"]
    assert now.events == ()


def test_status_of_an_unknown_job_is_a_provider_error(api):
    with pytest.raises(ProviderError, match="Could not find fine-tune: ftjob-nope") as caught:
        finetune.status(provider_for(api), "ftjob-nope")
    assert caught.value.status == 404


def test_follow_gives_up_at_its_timeout_and_the_job_goes_on(api, train):
    api.hold = True
    provider = provider_for(api)
    job = finetune.start(provider, train, BASE)
    slept: list[float] = []
    with pytest.raises(TimeoutError, match=rf"fine-tune {job.id} still \w+ after 5 s"):
        finetune.follow(provider, job.id, poll_interval=10, timeout=5, sleep=slept.append)
    assert 4.9 < sum(slept) <= 5.0  # never past the timeout: one last look at its end
    assert len(api.seen("GET", f"/v1/fine_tuning/jobs/{job.id}")) >= 2
    slept.clear()
    with pytest.raises(promptlib.WaitTimeoutError, match="still running"):
        finetune.follow(provider, job.id, poll_interval=2, timeout=1, sleep=slept.append)
    assert 0.9 < sum(slept) <= 1.0
    api.hold = False
    assert follow_quietly(provider, job.id).status == "succeeded"


def test_follow_writes_every_event_even_when_many_come_between_looks(api, train):
    api.steps, api.step_every = 250, 1
    provider = provider_for(api)
    job = finetune.start(provider, train, BASE)
    done = follow_quietly(provider, job.id)
    assert done.events == tuple(event["message"] for event in api.events[job.id])


def test_other_providers_are_refused_with_a_pointer(train):
    anthropic = AnthropicProvider(api_key="sk-ant-test-0123456789abcdef")
    for call in (
        lambda: finetune.start(anthropic, train, "claude-3-haiku-20240307"),
        lambda: finetune.status(anthropic, "ftjob-x"),
        lambda: finetune.follow(anthropic, "ftjob-x", sleep=pytest.fail),
    ):
        with pytest.raises(
            ConfigurationError, match="give an OpenAIProvider, not AnthropicProvider"
        ):
            call()
    with pytest.raises(ConfigurationError, match="Amazon Bedrock"):
        finetune.start(object(), train, BASE)


# --- the key never shows -------------------------------------------------------------------


def test_a_refused_key_is_an_authentication_error_without_the_key(api, train):
    wrong = "ftkey-wrong-0123456789abcdef"
    api.echo_key = True
    with pytest.raises(AuthenticationError) as caught:
        finetune.start(provider_for(api, wrong), train, BASE)
    assert caught.value.status == 401
    assert wrong not in shown(caught.value)
    assert api.jobs == {}
    assert api.files == {}


def test_the_key_a_server_echoes_is_removed_from_status_and_follow_errors(api):
    api.echo_key = True
    provider = provider_for(api)
    for call in (
        lambda: finetune.status(provider, "ftjob-nope"),
        lambda: finetune.follow(provider, "ftjob-nope", sleep=pytest.fail),
    ):
        with pytest.raises(ProviderError) as caught:
            call()
        assert "authorization: Bearer" in str(caught.value)  # the server did echo it
        assert KEY not in shown(caught.value)


def test_the_key_a_server_echoes_is_removed_from_a_refused_create(api, train):
    api.echo_key = True
    with pytest.raises(RequestRejectedError) as caught:
        finetune.start(provider_for(api), train, "gpt-5")
    assert "authorization: Bearer" in str(caught.value)
    assert KEY not in str(caught.value)
    assert KEY not in repr(caught.value)


def test_the_key_a_server_echoes_is_not_in_a_refused_creates_traceback(api, train):
    api.echo_key = True
    with pytest.raises(RequestRejectedError) as caught:
        finetune.start(provider_for(api), train, "gpt-5")
    assert KEY not in shown(caught.value)


# --- registering the new model ---------------------------------------------------------------


def succeeded(api: FineTuneAPI, path: Path, model: str = BASE, **options: object) -> FineTuneJob:
    provider = provider_for(api)
    job = finetune.start(provider, path, model, **options)  # type: ignore[arg-type]
    done = follow_quietly(provider, job.id)
    assert done.status == "succeeded"
    return done


def test_register_prices_a_gpt_4o_mini_fine_tune_from_the_catalogs_ft_entry(api, train, tmp_path):
    job = succeeded(api, train)
    catalog_file = tmp_path / "conf" / "models.toml"
    name = register_model(job, catalog_file)
    assert name == job.fine_tuned_model
    info = Catalog.from_file(catalog_file).get(name)
    listed = Catalog.default().get("ft:gpt-4o-mini")
    assert info.name == name
    assert info.provider == "openai"
    for price in PRICES:
        assert getattr(info, price) == getattr(listed, price) is not None, price
    for limit in ("encoding", "context_window", "max_output_tokens"):
        assert getattr(info, limit) == getattr(listed, limit), limit
    assert f"fine-tuned from {BASE} by job {job.id}" in info.source
    assert listed.source in info.source
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", info.as_of)
    # read with the default catalog, the file's entry is the one found
    assert Catalog.default().extend(catalog_file).get(name).source == info.source
    assert KEY not in catalog_file.read_text(encoding="utf-8")


def test_register_says_which_catalog_entry_priced_it(api, train, tmp_path):
    job = succeeded(api, train)
    name = register_model(job, tmp_path / "models.toml")
    info = Catalog.from_file(tmp_path / "models.toml").get(name)
    assert "the catalog's ft:gpt-4o-mini entry" in info.source


def test_register_leaves_prices_unknown_without_an_ft_entry_for_the_base(tmp_path):
    assert "ft:gpt-5-nano" not in Catalog.default().names()  # the premise
    job = finetune.FineTuneJob(
        "ftjob-nano", "gpt-5-nano-2025-08-07", "succeeded", "file-1",
        fine_tuned_model="ft:gpt-5-nano-2025-08-07:org::abc123",
    )  # fmt: skip
    catalog_file = tmp_path / "models.toml"
    name = register_model(job, catalog_file)
    info = Catalog.from_file(catalog_file).get(name)
    assert all(getattr(info, price) is None for price in PRICES)  # unknown, never made up
    assert info.cache_write is None
    assert info.encoding == Catalog.default().get("gpt-5-nano").encoding
    assert "prices: none known" in info.source


def test_register_refuses_a_duplicate_and_keeps_the_file(api, train, tmp_path):
    catalog_file = tmp_path / "models.toml"
    first, second = succeeded(api, train), succeeded(api, train, suffix="v2")
    register_model(first, catalog_file)
    register_model(second, catalog_file)  # another model of the same base: fine
    before = catalog_file.read_text(encoding="utf-8")
    assert register_model(first, catalog_file) == first.fine_tuned_model  # again: a no-op
    assert catalog_file.read_text(encoding="utf-8") == before
    other = dataclasses.replace(
        second, id="ftjob-someone-else", fine_tuned_model=first.fine_tuned_model
    )
    with pytest.raises(ConfigurationError, match="is already in"):
        register_model(other, catalog_file)
    assert catalog_file.read_text(encoding="utf-8") == before
    assert set(Catalog.from_file(catalog_file).names()) == {
        first.fine_tuned_model,
        second.fine_tuned_model,
    }


@pytest.mark.parametrize("entry", ["ft:gpt-4o-mini", "gpt-4o-mini"])
def test_register_beside_the_users_own_entry_for_the_base(api, train, tmp_path, entry):
    catalog_file = tmp_path / "models.toml"
    catalog_file.write_text(
        f'[models."{entry}"]\nprovider = "openai"\ninput = 0.25\noutput = 1.0\n', encoding="utf-8"
    )
    job = succeeded(api, train)
    name = register_model(job, catalog_file)
    assert set(Catalog.from_file(catalog_file).names()) == {entry, name}


@pytest.mark.parametrize("state", ["failed", "cancelled", "running"])
def test_register_refuses_a_job_that_did_not_succeed(tmp_path, state):
    job = FineTuneJob(id="ftjob-x", base_model=BASE, status=state, training_file="file-t")
    with pytest.raises(ConfigurationError, match=f"ftjob-x is {state}: only a succeeded job"):
        register_model(job, tmp_path / "models.toml")
    assert not (tmp_path / "models.toml").exists()


# --- the stand-in behaves as the real API does -----------------------------------------------


def test_the_stand_in_refuses_what_the_real_api_refuses(api, train):
    client = openai.OpenAI(api_key=KEY, base_url=f"{api.url}/v1", max_retries=0)
    with pytest.raises(openai.BadRequestError, match=r"Must be \.jsonl"):
        client.files.create(file=("train.txt", train.read_bytes()), purpose="fine-tune")
    batch = client.files.create(file=("in.jsonl", b"{}\n"), purpose="batch")
    with pytest.raises(openai.BadRequestError, match="purpose 'fine-tune'"):
        client.fine_tuning.jobs.create(model=BASE, training_file=batch.id)
    with pytest.raises(openai.BadRequestError, match="invalid training_file"):
        client.fine_tuning.jobs.create(model=BASE, training_file="file-nope")
    made = client.files.create(file=("t.jsonl", train.read_bytes()), purpose="fine-tune")
    assert (made.filename, made.purpose, made.bytes) == (
        "t.jsonl",
        "fine-tune",
        train.stat().st_size,
    )
    jobs = [client.fine_tuning.jobs.create(model=BASE, training_file=made.id) for _ in range(3)]
    listed = client.fine_tuning.jobs.list(limit=2)
    assert [j.id for j in listed.data] == [jobs[2].id, jobs[1].id]
    assert listed.has_more
    assert [j.id for j in listed] == [j.id for j in reversed(jobs)]  # paged with after=
    cancelled = client.fine_tuning.jobs.cancel(jobs[0].id)
    assert cancelled.status == "cancelled"
    with pytest.raises(openai.BadRequestError, match="already completed"):
        client.fine_tuning.jobs.cancel(jobs[0].id)
    events = client.fine_tuning.jobs.list_events(jobs[0].id, limit=1)
    assert [e.message for e in events.data] == ["Fine-tuning job cancelled"]
    assert events.has_more


# --- the command line ------------------------------------------------------------------------


@pytest.fixture
def open_api(monkeypatch) -> Iterator[FineTuneAPI]:
    """A stand-in asking for no key; the environment holds a (fake) OpenAI key."""
    monkeypatch.setenv("OPENAI_API_KEY", CLI_KEY)
    with serving() as server:
        yield server


def cli(api: FineTuneAPI, *args: str) -> list[str]:
    return ["finetune", *args, "--base-url", f"{api.url}/v1", "--poll", "0"]


def no_key_anywhere(api: FineTuneAPI, *texts: str) -> None:
    assert all(CLI_KEY not in text for text in texts)
    # the environment's key is OpenAI's own: it never goes to another host
    assert {r.headers.get("authorization") for r in api.requests} <= {"Bearer unused"}


def test_cli_start_follow_register_in_one_command(open_api, train, tmp_path, capsys):
    catalog_file = tmp_path / "models.toml"
    argv = cli(open_api, "start", str(train), "--model", BASE, "--follow")
    code = main(
        [*argv, "--register", str(catalog_file), "--json", "--suffix", "cli", "--epochs", "2"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    done = json.loads(out)
    (job_id,) = open_api.jobs
    made = open_api.jobs[job_id]
    assert done["id"] == job_id
    assert done["status"] == "succeeded"
    assert done["fine_tuned_model"] == made["fine_tuned_model"] == done["registered"]
    assert done["trained_tokens"] == made["trained_tokens"]
    assert done["events"] == [event["message"] for event in open_api.events[job_id]]
    assert f"started fine-tune {job_id} (validating_files)" in err
    for message in done["events"]:
        assert err.count(f"{job_id}: {message}\n") == 1
    info = Catalog.from_file(catalog_file).get(done["registered"])
    assert info.input == Catalog.default().get("ft:gpt-4o-mini").input
    (sent,) = [r.body for r in open_api.seen("POST", "/v1/fine_tuning/jobs")]
    assert sent["suffix"] == "cli"
    assert sent["method"]["supervised"]["hyperparameters"] == {"n_epochs": 2}
    no_key_anywhere(open_api, out, err, catalog_file.read_text(encoding="utf-8"))


def test_cli_start_without_follow_then_follow(open_api, train, capsys):
    assert main(cli(open_api, "start", str(train), "--model", BASE)) == 0
    out, err = capsys.readouterr()
    (job_id,) = open_api.jobs
    assert out == f"follow it: promptlib finetune follow {job_id}\n"
    assert main([*cli(open_api, "follow", job_id)]) == 0
    out, err = capsys.readouterr()
    made = open_api.jobs[job_id]
    assert out == (
        f"fine-tune {job_id} succeeded: {made['fine_tuned_model']} "
        f"({made['trained_tokens']} trained tokens)\n"
    )
    assert f"{job_id}: The job has successfully completed" in err
    no_key_anywhere(open_api, out, err)


def test_cli_a_failed_job_exits_3_naming_the_file_to_start_again_from(open_api, train, capsys):
    open_api.failure = INVALID_TRAINING_FILE
    code = main([*cli(open_api, "start", str(train), "--model", BASE, "--follow"), "--json"])
    out, err = capsys.readouterr()
    assert code == 3
    (upload,) = open_api.uploads()
    assert json.loads(out)["status"] == "failed"
    assert json.loads(out)["registered"] is None
    assert f"training file {upload['id']} (uploaded)" in err
    assert "fix the file and start again" in err
    assert "invalid_training_file" in err
    # starting again from the upload: no check (the file is not read), no upload
    open_api.failure = None
    again = cli(open_api, "start", "gone.jsonl", "--model", BASE, "--follow")
    assert main([*again, "--training-file-id", upload["id"]]) == 0
    out, err = capsys.readouterr()
    assert len(open_api.uploads()) == 1
    assert "succeeded" in out
    no_key_anywhere(open_api, out, err)


def test_cli_a_file_that_fails_the_check_is_not_uploaded(open_api, tmp_path, capsys):
    small = examples(tmp_path / "small.jsonl", 3)
    assert main(cli(open_api, "start", str(small), "--model", BASE)) == 1
    err = capsys.readouterr().err
    assert f"{small} does not pass the check: run promptlib finetune check" in err
    assert open_api.requests == []
    assert main([*cli(open_api, "start", str(small), "--model", BASE), "--no-check"]) == 0
    assert len(open_api.jobs) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--suffix", "x" * 65], "suffix= takes 1 to 64"),
        (["--epochs", "0"], "epochs=0: use 1 to 50"),
    ],
)
def test_cli_bad_settings_exit_2_before_any_request(open_api, train, capsys, args, message):
    assert main([*cli(open_api, "start", str(train), "--model", BASE), *args]) == 2
    assert message in capsys.readouterr().err
    assert open_api.requests == []


def test_cli_usage_errors_exit_2(open_api, train, capsys):
    for argv in (
        cli(open_api, "start", str(train)),  # no --model
        cli(open_api, "start", str(train), "--model", BASE, "--epochs", "two"),
        cli(open_api, "follow"),  # no job
    ):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2
    assert open_api.requests == []


def test_cli_a_refused_create_exits_3_naming_the_kept_file(open_api, train, capsys):
    code = main([*cli(open_api, "start", str(train), "--model", "gpt-5"), "--no-check"])
    err = capsys.readouterr().err
    assert code == 3
    (upload,) = open_api.uploads()
    assert "Model gpt-5 is not available for fine-tuning" in err
    assert f"--training-file-id {upload['id']}" in err
    assert CLI_KEY not in err


def test_cli_follow_timeout_is_an_error_line_not_a_traceback(open_api, train, capsys):
    open_api.hold = True
    assert main(cli(open_api, "start", str(train), "--model", BASE)) == 0
    (job_id,) = open_api.jobs
    capsys.readouterr()
    code = main([*cli(open_api, "follow", job_id), "--poll", "10", "--timeout", "5"])
    assert code != 0
    assert f"fine-tune {job_id} still" in capsys.readouterr().err

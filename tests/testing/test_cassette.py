"""Record against a local stand-in for the provider, then replay with no server."""

from __future__ import annotations

import asyncio
import copy
import http.server
import json
import threading
from pathlib import Path

import httpx2
import pytest

from promptlib import AuthenticationError, Registry, RetryPolicy
from promptlib.testing import Cassette, ReplayMissError
from tests.providers.conftest import EXCHANGES
from tests.repository.conftest import SHIPPED

ANTHROPIC = json.loads(
    (Path(__file__).parents[1] / "data" / "anthropic_exchanges.json").read_text()
)
PASTED_KEY = "sk-proj-pastedIntoTheTicket0123"
RECORDING_KEY = "sk-live-secret-key"


def completion_body(priority: str) -> bytes:
    body = copy.deepcopy(EXCHANGES["structured"])
    body["choices"][0]["message"]["content"] = json.dumps({"priority": priority})
    return json.dumps(body).encode()


def stream_body(priority: str) -> bytes:
    answer = json.dumps({"priority": priority})
    chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini"}
    events = [": a comment the server sends to keep the connection open"]
    for piece in (answer[:5], answer[5:]):
        delta = {"index": 0, "delta": {"content": piece}, "finish_reason": None}
        events.append("data: " + json.dumps({**chunk, "choices": [delta]}, separators=(",", ":")))
    end = {"index": 0, "delta": {}, "finish_reason": "stop"}
    events.append("data: " + json.dumps({**chunk, "choices": [end]}, separators=(",", ":")))
    usage = {"prompt_tokens": 79, "completion_tokens": 7, "total_tokens": 86}
    events.append("data: " + json.dumps({**chunk, "choices": [], "usage": usage}))  # spaced
    events.append("data: [DONE]")
    return "".join(f"{event}\n\n" for event in events).encode()


class StandIn:
    """An OpenAI-compatible server on 127.0.0.1 answering from a script (the last repeats)."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict[str, str], bytes]] = []
        self.seen: list[dict] = []
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["content-length"])
                stand_in.seen.append(json.loads(self.rfile.read(length)))
                index = min(len(stand_in.seen), len(stand_in.script)) - 1
                status, headers, body = stand_in.script[index]
                self.send_response(status)
                for name, value in {"x-request-id": "req_local", **headers}.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, *replies: tuple[int, dict[str, str], bytes]) -> None:
        self.script, self.seen = list(replies), []


JSON = {"content-type": "application/json"}
SSE = {"content-type": "text/event-stream"}


@pytest.fixture
def stand_in():
    server = StandIn()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def prompt():
    return Registry(SHIPPED).render("ticket-priority@production", ticket="Site is down")


@pytest.fixture
def recording_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", RECORDING_KEY)


def replay(path, url):
    return Cassette(path, record=False).openai(base_url=url)


def record(path, url, **options):
    return Cassette(path, record=True).openai(base_url=url, **options)


@pytest.mark.allow_provider_requests  # recording sends real requests (to 127.0.0.1 here)
def test_record_then_replay_without_a_server(local_openai, tmp_path, monkeypatch, prompt):
    url, seen = local_openai
    monkeypatch.setenv("OPENAI_API_KEY", RECORDING_KEY)
    path = tmp_path / "cassettes" / "priority.json"

    recorded = Cassette(path, record=True).openai(base_url=url).complete(prompt)
    assert recorded.output == {"priority": "urgent"}
    assert len(seen) == 1
    text = path.read_text()
    assert RECORDING_KEY not in text
    assert "authorization" not in text.lower()
    data = json.loads(text)
    assert data["exchanges"][0]["request"]["path"] == "/v1/chat/completions"
    assert data["exchanges"][0]["response"]["headers"]["x-request-id"] == "req_local"

    monkeypatch.delenv("OPENAI_API_KEY")
    replayed = Cassette(path).openai(base_url=url).complete(prompt)  # offline: no key, no send
    assert replayed.output == {"priority": "urgent"}
    assert replayed.request_id == "req_local"
    assert len(seen) == 1  # the server was not called again


@pytest.mark.allow_provider_requests
@pytest.mark.usefixtures("recording_key")
def test_re_recording_replaces_and_gives_the_same_file(stand_in, tmp_path, prompt):
    path = tmp_path / "priority.json"
    stand_in.answer((200, JSON, completion_body("low")))
    record(path, stand_in.url).complete(prompt)
    first = path.read_text()
    record(path, stand_in.url).complete(prompt)
    assert path.read_text() == first  # deterministic: nothing volatile is stored

    stand_in.answer((200, JSON, completion_body("urgent")))
    record(path, stand_in.url).complete(prompt)
    assert len(json.loads(path.read_text())["exchanges"]) == 1
    assert replay(path, stand_in.url).complete(prompt).output == {"priority": "urgent"}


@pytest.mark.allow_provider_requests
@pytest.mark.usefixtures("recording_key")
def test_a_recording_made_through_a_rate_limit_replays_the_final_answer(stand_in, tmp_path, prompt):
    path = tmp_path / "priority.json"
    limited = json.dumps(EXCHANGES["error_rate_limit"]).encode()
    stand_in.answer(
        (429, {**JSON, "retry-after": "0"}, limited), (200, JSON, completion_body("high"))
    )
    waits: list[float] = []
    policy = RetryPolicy(attempts=3, jitter=0, sleep=waits.append)
    assert record(path, stand_in.url, retry=policy).complete(prompt).attempts == 2

    exchanges = json.loads(path.read_text())["exchanges"]
    assert [e["response"]["status"] for e in exchanges] == [200]
    replayed = replay(path, stand_in.url).complete(prompt)
    assert (replayed.output, replayed.attempts) == ({"priority": "high"}, 1)


@pytest.mark.allow_provider_requests
@pytest.mark.usefixtures("recording_key")
def test_async_calls_go_through_the_cassette(stand_in, tmp_path, prompt, monkeypatch):
    path = tmp_path / "priority.json"
    stand_in.answer((200, JSON, completion_body("medium")))

    async def complete(provider):
        return (await provider.acomplete(prompt)).output

    assert asyncio.run(complete(record(path, stand_in.url))) == {"priority": "medium"}
    assert len(stand_in.seen) == 1
    monkeypatch.delenv("OPENAI_API_KEY")
    assert asyncio.run(complete(replay(path, stand_in.url))) == {"priority": "medium"}
    assert len(stand_in.seen) == 1


@pytest.mark.allow_provider_requests
@pytest.mark.usefixtures("recording_key")
def test_streams_are_stored_one_event_per_entry_and_replayed_byte_for_byte(
    stand_in, tmp_path, prompt, monkeypatch
):
    path = tmp_path / "stream.json"
    sent = stream_body("urgent")
    stand_in.answer((200, SSE, sent))
    stream = record(path, stand_in.url).stream(prompt)
    assert "".join(stream) == '{"priority": "urgent"}'

    events = json.loads(path.read_text())["exchanges"][0]["response"]["events"]
    assert events[0] == [": a comment the server sends to keep the connection open"]
    assert events[1][0]["data"]["choices"][0]["delta"]["content"] == '{"pri'
    assert events[-1] == ["data: [DONE]"]
    assert "\\n\\ndata:" not in path.read_text()  # no line holds two events

    transport = Cassette(path, record=False).transport(httpx2)
    body = json.dumps(stand_in.seen[0]).encode()
    request = httpx2.Request("POST", f"{stand_in.url}/chat/completions", content=body)
    assert transport.handle_request(request).read() == sent

    monkeypatch.delenv("OPENAI_API_KEY")

    async def read():
        astream = replay(path, stand_in.url).astream(prompt)
        return [piece async for piece in astream], astream.completion

    pieces, completion = asyncio.run(read())
    assert "".join(pieces) == '{"priority": "urgent"}'
    assert completion.usage.input_tokens == 79
    assert len(stand_in.seen) == 1


@pytest.mark.allow_provider_requests
@pytest.mark.usefixtures("recording_key")
def test_keys_in_content_and_echoed_by_a_proxy_are_masked(stand_in, tmp_path):
    path = tmp_path / "keys.json"
    prompt = Registry(SHIPPED).render(
        "ticket-priority@production", ticket=f"my key is {PASTED_KEY}, it fails"
    )
    echoed = {"error": {"message": f"invalid key {RECORDING_KEY} for {PASTED_KEY}"}}
    stand_in.answer(
        (400, {**JSON, "x-request-id": RECORDING_KEY}, json.dumps(echoed).encode()),
    )
    with pytest.raises(Exception, match="invalid key"):
        record(path, stand_in.url).complete(prompt)
    text = path.read_text()
    assert PASTED_KEY not in text
    assert RECORDING_KEY not in text
    assert "sk-***" in text
    with pytest.raises(Exception, match=r"invalid key sk-\*\*\*") as info:
        replay(path, stand_in.url).complete(prompt)  # the masked request still matches
    assert not isinstance(info.value, ReplayMissError)


def test_recording_without_a_key_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(AuthenticationError, match="set the OPENAI_API_KEY environment variable"):
        Cassette(tmp_path / "c.json", record=True).openai()


def test_a_miss_fails_loudly_with_a_diff(local_openai, tmp_path, prompt):
    path = tmp_path / "priority.json"
    path.write_text(
        json.dumps(
            {
                "format": "promptlib.cassette/1",
                "exchanges": [
                    {
                        "request": {
                            "method": "POST",
                            "path": "/v1/chat/completions",
                            "body": {
                                "model": "gpt-4o-mini",
                                "messages": [{"role": "user", "content": "old"}],
                            },
                        },
                        "response": {"status": 200, "headers": {}, "body": {}},
                    }
                ],
            }
        )
    )
    with pytest.raises(ReplayMissError) as info:
        Cassette(path).openai(base_url=local_openai[0]).complete(prompt)
    message = str(info.value)
    assert "no recording in" in message
    assert "--- nearest recording" in message
    removed = [line for line in message.splitlines() if line.startswith("-") and '"old"' in line]
    added = [
        line for line in message.splitlines() if line.startswith("+") and "Site is down" in line
    ]
    assert removed
    assert added
    with pytest.raises(ReplayMissError, match="empty or missing"):
        Cassette(tmp_path / "none.json").openai(base_url=local_openai[0]).complete(prompt)


@pytest.mark.allow_provider_requests
def test_anthropic_streams_record_and_replay_async(stand_in, tmp_path, monkeypatch):
    from promptlib import Template, User

    sent = ANTHROPIC["text_stream"]["sse"].encode()
    stand_in.answer((200, SSE, sent))
    host = stand_in.url.removesuffix("/v1")
    prompt = Template(User("Say hi"), name="hi", model="claude-haiku-4-5").render()
    path = tmp_path / "hi.json"
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-recording-key-0123")

    async def read(provider):
        stream = provider.astream(prompt)
        return "".join([delta async for delta in stream]), stream.completion

    recorded_text, recorded = asyncio.run(read(Cassette(path, record=True).anthropic(host)))
    assert recorded_text
    events = json.loads(path.read_text())["exchanges"][0]["response"]["events"]
    assert events[0][0] == "event: message_start"
    assert "sk-ant-recording-key-0123" not in path.read_text()

    monkeypatch.delenv("ANTHROPIC_API_KEY")
    replayed_text, replayed = asyncio.run(read(Cassette(path, record=False).anthropic(host)))
    assert (replayed_text, replayed.usage) == (recorded_text, recorded.usage)
    assert len(stand_in.seen) == 1
    transport = Cassette(path, record=False).transport(httpx2)
    body = json.dumps(stand_in.seen[0]).encode()
    request = httpx2.Request("POST", f"{host}/v1/messages", content=body)
    assert transport.handle_request(request).read() == sent


@pytest.mark.allow_provider_requests
@pytest.mark.usefixtures("recording_key")
def test_one_provider_records_and_replays_in_several_event_loops(stand_in, tmp_path):
    path = tmp_path / "loops.json"
    stand_in.answer((200, JSON, completion_body("low")))
    recorder = record(path, stand_in.url)

    async def complete(provider, seed):
        ticket = Registry(SHIPPED).render("ticket-priority@production", ticket=f"down {seed}")
        return (await provider.acomplete(ticket)).output

    assert [asyncio.run(complete(recorder, seed)) for seed in (1, 2)] == [{"priority": "low"}] * 2
    replayer = replay(path, stand_in.url)
    assert [asyncio.run(complete(replayer, seed)) for seed in (1, 2)] == [{"priority": "low"}] * 2
    assert len(stand_in.seen) == 2


@pytest.mark.allow_provider_requests
@pytest.mark.usefixtures("recording_key")
@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_streams_with_other_line_endings_are_stored_as_events(stand_in, tmp_path, prompt, newline):
    path = tmp_path / "stream.json"
    sent = stream_body("high").replace(b"\n", newline.encode())
    stand_in.answer((200, SSE, sent))
    assert "".join(record(path, stand_in.url).stream(prompt)) == '{"priority": "high"}'
    response = json.loads(path.read_text())["exchanges"][0]["response"]
    assert response["newline"] == newline
    assert response["events"][-1] == ["data: [DONE]"]

    transport = Cassette(path, record=False).transport(httpx2)
    request = httpx2.Request(
        "POST", f"{stand_in.url}/chat/completions", content=json.dumps(stand_in.seen[0]).encode()
    )
    assert transport.handle_request(request).read() == sent


BROKEN = {
    "a merge conflict": "<<<<<<< HEAD\n{}\n=======\n{}\n>>>>>>> theirs\n",
    "an empty file": "",
    "a list": "[]",
    "no exchanges": '{"format": "promptlib.cassette/1"}',
    "an exchange without request": '{"format": "promptlib.cassette/1", "exchanges": [{}]}',
    "a response without status": (
        '{"format": "promptlib.cassette/1", "exchanges": [{"request": '
        '{"method": "POST", "path": "/", "body": null}, "response": {"body": ""}}]}'
    ),
    "events that are not lists": (
        '{"format": "promptlib.cassette/1", "exchanges": [{"request": {"method": "POST", '
        '"path": "/", "body": null}, "response": {"status": 200, "events": "data: x"}}]}'
    ),
    "bad base64": (
        '{"format": "promptlib.cassette/1", "exchanges": [{"request": {"method": "POST", '
        '"path": "/", "body": null}, "response": {"status": 502, "body_base64": "%%"}}]}'
    ),
    "latin-1": '{"format": "promptlib.cassette/1", "exchanges": [], "x": "\xe9"}',
    "not JSON": '{"format": "promptlib.cassette/1", "exchanges": [',
}


@pytest.mark.parametrize("content", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_file_names_itself_the_problem_and_the_fix(tmp_path, content):
    from promptlib import UsageError
    from promptlib.testing._cassette import CassetteError

    path = tmp_path / "broken.json"
    path.write_bytes(content.encode("latin-1"))
    with pytest.raises(CassetteError) as info:
        Cassette(path)
    assert isinstance(info.value, UsageError)
    message = str(info.value)
    assert str(path) in message
    assert "record it again" in message


def test_a_client_of_ones_own_is_refused_rather_than_bypassing_the_cassette(tmp_path):
    import openai

    from promptlib import UsageError

    with pytest.raises(UsageError, match="remove client="):
        Cassette(tmp_path / "c.json").openai(client=openai.OpenAI(api_key="sk-test"))


def test_a_folder_in_place_of_the_file_is_named(tmp_path):
    from promptlib.testing._cassette import CassetteError

    with pytest.raises(CassetteError, match="IsADirectoryError"):
        Cassette(tmp_path)


def recorded_failure(path, prompt, status, headers, body):
    from promptlib import OpenAIProvider

    request = json.loads(json.dumps(OpenAIProvider(api_key="sk-test").build_request(prompt)))
    path.write_text(
        json.dumps(
            {
                "format": "promptlib.cassette/1",
                "exchanges": [
                    {
                        "request": {"method": "POST", "path": "/v1/chat/completions",
                                    "body": request},
                        "response": {"status": status, "headers": headers, "body": body},
                    }
                ],
            }
        )
    )  # fmt: skip


def test_replaying_a_recorded_failure_never_waits(tmp_path, prompt):
    import time

    from promptlib import RateLimitError

    path = tmp_path / "limited.json"
    limited = {"error": {"message": "Rate limit reached", "type": "requests"}}
    recorded_failure(path, prompt, 429, {**JSON, "retry-after": "5"}, limited)
    started = time.monotonic()
    with pytest.raises(RateLimitError, match="after 3 attempts") as info:
        Cassette(path).openai().complete(prompt)
    assert info.value.retry_after == 5
    policy = RetryPolicy(attempts=2, max_retry_after=30)
    with pytest.raises(RateLimitError, match="after 2 attempts"):
        asyncio.run(Cassette(path).openai(retry=policy).acomplete(prompt))
    assert time.monotonic() - started < 2


@pytest.mark.allow_provider_requests
@pytest.mark.usefixtures("recording_key")
def test_a_body_that_is_not_utf8_is_recorded_as_production_sees_it(stand_in, tmp_path, prompt):
    from promptlib import ProviderUnavailableError

    path = tmp_path / "gateway.json"
    html = "<html>Passerelle erronée</html>".encode("latin-1")
    stand_in.answer((502, {"content-type": "text/html; charset=iso-8859-1"}, html))
    with pytest.raises(ProviderUnavailableError, match="502"):
        record(path, stand_in.url, retry=RetryPolicy(attempts=1)).complete(prompt)
    response = json.loads(path.read_text())["exchanges"][0]["response"]
    assert "body" not in response
    assert response["body_base64"]
    with pytest.raises(ProviderUnavailableError, match="502"):
        replay(path, stand_in.url).complete(prompt)

    stand_in.answer(
        (502, {"content-type": "text/html; charset=iso-8859-1"}, html),
        (200, JSON, completion_body("low")),
    )
    retried = record(
        path, stand_in.url, retry=RetryPolicy(attempts=2, jitter=0, sleep=lambda s: None)
    )
    assert retried.complete(prompt).output == {"priority": "low"}


def test_beside_finds_the_cassette_from_the_test_file(tmp_path, monkeypatch, prompt):
    monkeypatch.chdir(tmp_path)
    cassette = Cassette.beside(__file__, "triage.json", record=False)
    assert cassette.path == Path(__file__).resolve().parent / "cassettes" / "triage.json"
    with pytest.raises(ReplayMissError, match=r"current directory .*Cassette\.beside"):
        Cassette("tests/cassettes/none.json").openai().complete(prompt)


def test_recording_without_permission_says_how_to_allow_it(local_openai, tmp_path, prompt):
    from promptlib import RequestsBlockedError

    provider = Cassette(tmp_path / "c.json", record=True).openai(
        base_url=local_openai[0], api_key="sk-test-recording"
    )
    with pytest.raises(RequestsBlockedError, match="PROMPTLIB_ALLOW_REQUESTS=1 for the record"):
        provider.complete(prompt)
    assert local_openai[1] == []


@pytest.mark.allow_provider_requests
@pytest.mark.usefixtures("recording_key")
def test_an_evaluations_repeats_are_recorded_and_replayed_apart(stand_in, tmp_path, monkeypatch):
    from promptlib.evals import Case, Dataset, Experiment, arun

    path = tmp_path / "repeats.json"
    stand_in.answer(
        (200, JSON, completion_body("low")),
        (200, JSON, completion_body("high")),
        (200, JSON, completion_body("urgent")),
    )
    template = Registry(SHIPPED).get("ticket-priority@production")
    dataset = Dataset("one", (Case("c1", {"ticket": "Site is down"}),))

    def outputs(cassette_provider, store):
        experiment = Experiment(
            "repeats",
            dataset,
            [template],
            models=["tape:gpt-4o-mini"],
            repeats=3,
            concurrency=1,
            providers={"tape": cassette_provider},
        )
        asyncio.run(arun(experiment, store=store, progress=False))
        from promptlib.evals import Store

        with Store(store) as db:
            return [row.output["priority"] for row in db.results(db.runs()[0].run_id)]

    recorded = outputs(record(path, stand_in.url), tmp_path / "a.sqlite")
    assert recorded == ["low", "high", "urgent"]
    assert len(json.loads(path.read_text())["exchanges"]) == 3
    monkeypatch.delenv("OPENAI_API_KEY")
    assert outputs(replay(path, stand_in.url), tmp_path / "b.sqlite") == recorded
    assert len(stand_in.seen) == 3  # the replay sent nothing

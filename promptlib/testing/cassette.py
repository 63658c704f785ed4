"""Record real provider exchanges once, replay them in CI.

```python
cassette = Cassette("tests/cassettes/triage.json")     # replays; PROMPTLIB_RECORD=1 records
provider = cassette.openai()                           # an OpenAIProvider on the cassette
completion = provider.complete(prompt)                 # or acomplete, stream, astream
```

Exchanges are keyed by the canonical request (method, path, JSON body with sorted keys),
one per request: the last response recorded for it, so a request that needed retries
replays its final answer at the first attempt. The file is readable and deterministic
(streamed replies are stored one server-sent event per entry and replayed byte for byte)
and never holds API keys: auth headers are not kept, and anything shaped like an
``sk-...`` key, or equal to the key used to record, is masked. A request with no
recording fails loudly, with a diff against the nearest one recorded.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import json
import os
import re
from pathlib import Path
from typing import Any

from promptlib.errors import AuthenticationError, UsageError
from promptlib.testing.guard import OFFLINE_TRANSPORT
from promptlib.testing.sdk_http import http_module

__all__ = ["Cassette", "ReplayMissError"]

_FORMAT = "promptlib.cassette/1"
_KEPT_HEADERS = ("content-type", "x-request-id", "request-id", "retry-after")
# OpenAI (sk-, sk-proj-) and Anthropic (sk-ant-) key shapes.
_KEY_SHAPE = re.compile(r"\bsk-[A-Za-z0-9_-]{8,}")
MASK = "sk-***"


class ReplayMissError(UsageError):
    """A request has no recording in the cassette (the message shows the nearest one)."""


def _masked(value: Any, secrets: tuple[str, ...]) -> Any:
    """``value`` with every key-shaped string and every secret replaced by ``MASK``."""
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, MASK)
        return _KEY_SHAPE.sub(MASK, value)
    if isinstance(value, list):
        return [_masked(item, secrets) for item in value]
    if isinstance(value, dict):
        return {key: _masked(item, secrets) for key, item in value.items()}
    return value


def _canonical(request: Any, secrets: tuple[str, ...] = ()) -> dict[str, Any]:
    body: Any = request.content.decode("utf-8") if request.content else None
    if body:
        with contextlib.suppress(json.JSONDecodeError):
            body = _sorted(json.loads(body))
    return {"method": request.method, "path": request.url.path, "body": _masked(body, secrets)}


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def _key(canonical: dict[str, Any]) -> str:
    return json.dumps(canonical, sort_keys=True, ensure_ascii=False)


# --- streamed bodies ---------------------------------------------------------------------------


def _events(text: str) -> list[list[Any]] | None:
    """A server-sent-event body as a list of events, each a list of its lines (a JSON
    ``data:`` line as ``{"data": <object>}``); ``None`` when that would not restore
    ``text`` exactly."""
    if not text.endswith("\n\n") or "\r" in text:
        return None
    events = [[_line(line) for line in block.split("\n")] for block in text[:-2].split("\n\n")]
    return events if _event_text(events) == text else None


def _line(line: str) -> Any:
    if line.startswith("data: "):
        with contextlib.suppress(json.JSONDecodeError):
            data = json.loads(line[6:])
            if isinstance(data, dict) and _compact(data) == line[6:]:
                return {"data": data}
    return line


def _compact(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _event_text(events: list[list[Any]]) -> str:
    return "".join(
        "\n".join(
            f"data: {_compact(line['data'])}" if isinstance(line, dict) else line for line in event
        )
        + "\n\n"
        for event in events
    )


class Cassette:
    """A file of recorded HTTP exchanges with one provider.

    Args:
        path: the JSON file.
        record: record real exchanges (needs network and keys); by default, only when the
            ``PROMPTLIB_RECORD`` environment variable is ``1``. Recording replaces the
            recording of the same request, and keeps the others.
    """

    def __init__(self, path: str | os.PathLike[str], *, record: bool | None = None) -> None:
        self.path = Path(path)
        self.recording = os.environ.get("PROMPTLIB_RECORD") == "1" if record is None else record
        self.exchanges: list[dict[str, Any]] = []
        self._secrets: tuple[str, ...] = ()
        if self.path.exists():
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("format") != _FORMAT:
                raise UsageError(f"{self.path} is not a {_FORMAT} file")
            self.exchanges = data["exchanges"]

    def save(self) -> None:
        """Write the exchanges to the file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(
            {"format": _FORMAT, "exchanges": self.exchanges}, indent=2, ensure_ascii=False
        )
        self.path.write_text(text + "\n", encoding="utf-8")

    # --- transports --------------------------------------------------------------------------

    def transport(self, http: Any) -> Any:
        """A transport for ``http`` (the ``httpx`` or ``httpx2`` module the SDK uses)."""
        cassette = self
        if self.recording:
            real = http.HTTPTransport()

            class Recorder(http.BaseTransport):  # type: ignore[misc]
                def handle_request(self, request: Any) -> Any:
                    response = real.handle_request(request)
                    response.read()
                    return cassette._store(http, request, response)

            return Recorder()

        class Replayer(http.BaseTransport):  # type: ignore[misc]
            def handle_request(self, request: Any) -> Any:
                return cassette._replay(http, request)

        setattr(Replayer, OFFLINE_TRANSPORT, True)
        return Replayer()

    def async_transport(self, http: Any) -> Any:
        """The async twin of :meth:`transport`, for the SDKs' async clients."""
        cassette = self
        if self.recording:
            real = http.AsyncHTTPTransport()

            class AsyncRecorder(http.AsyncBaseTransport):  # type: ignore[misc]
                async def handle_async_request(self, request: Any) -> Any:
                    response = await real.handle_async_request(request)
                    await response.aread()
                    return cassette._store(http, request, response)

            return AsyncRecorder()

        class AsyncReplayer(http.AsyncBaseTransport):  # type: ignore[misc]
            async def handle_async_request(self, request: Any) -> Any:
                return cassette._replay(http, request)

        setattr(AsyncReplayer, OFFLINE_TRANSPORT, True)
        return AsyncReplayer()

    def _store(self, http: Any, request: Any, response: Any) -> Any:
        """Keep ``response`` as the recording of ``request``; return it for the SDK."""
        headers = {
            k.lower(): v for k, v in sorted(response.headers.items()) if k.lower() in _KEPT_HEADERS
        }
        text = response.content.decode("utf-8")
        recorded: dict[str, Any] = {"status": response.status_code, "headers": headers}
        events = _events(text) if "event-stream" in headers.get("content-type", "") else None
        if events is not None:
            recorded["events"] = events
        else:
            body: Any = text
            with contextlib.suppress(json.JSONDecodeError):
                body = json.loads(text)
            recorded["body"] = body
        exchange = {
            "request": _canonical(request, self._secrets),
            "response": _masked(recorded, self._secrets),
        }
        key = _key(exchange["request"])
        for index, old in enumerate(self.exchanges):
            if _key(old["request"]) == key:
                self.exchanges[index] = exchange
                break
        else:
            self.exchanges.append(exchange)
        self.save()
        # The body is already decoded: the SDK must not decode it again.
        kept = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return http.Response(response.status_code, headers=kept, content=response.content)

    def _replay(self, http: Any, request: Any) -> Any:
        wanted = _canonical(request)
        key = _key(wanted)
        for exchange in self.exchanges:
            if _key(exchange["request"]) == key:
                recorded = exchange["response"]
                if "events" in recorded:
                    content = _event_text(recorded["events"]).encode()
                else:
                    body = recorded["body"]
                    content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                return http.Response(
                    recorded["status"], headers=recorded["headers"], content=content
                )
        raise ReplayMissError(self._miss_message(wanted))

    def _miss_message(self, wanted: dict[str, Any]) -> str:
        pretty = json.dumps(wanted, indent=2, sort_keys=True, ensure_ascii=False).splitlines()
        if not self.exchanges:
            return (
                f"no recording in {self.path} (it is empty or missing). Record it once with "
                "PROMPTLIB_RECORD=1 and real API keys, then commit the file."
            )
        candidates = [
            json.dumps(e["request"], indent=2, sort_keys=True, ensure_ascii=False).splitlines()
            for e in self.exchanges
        ]
        nearest = max(candidates, key=lambda c: difflib.SequenceMatcher(a=c, b=pretty).ratio())
        diff = "\n".join(
            difflib.unified_diff(nearest, pretty, "nearest recording", "this request", lineterm="")
        )
        return (
            f"no recording in {self.path} matches this request; the prompt or its parameters "
            f"changed since it was recorded. Re-record with PROMPTLIB_RECORD=1, or fix the "
            f"request.\n{diff}"
        )

    # --- providers ---------------------------------------------------------------------------

    def openai(self, base_url: str | None = None, **options: Any) -> Any:
        """An :class:`~promptlib.OpenAIProvider` whose requests, sync and async, go through
        this cassette (``options``: the provider's, ``api_key`` included)."""
        from promptlib.providers.openai import OpenAIProvider

        return self._provider(OpenAIProvider, "OpenAI", base_url, options)

    def anthropic(self, base_url: str | None = None, **options: Any) -> Any:
        """An :class:`~promptlib.AnthropicProvider` whose requests, sync and async, go
        through this cassette (``options``: the provider's, ``api_key`` included)."""
        from promptlib.providers.anthropic import AnthropicProvider

        return self._provider(AnthropicProvider, "Anthropic", base_url, options)

    def _provider(
        self, provider: type[Any], client_class: str, base_url: str | None, options: Any
    ) -> Any:
        key = options.pop("api_key", None)
        if self.recording:
            key = key or os.environ.get(provider.key_variable)
            if not key and not base_url:
                raise AuthenticationError(
                    f"no API key to record {self.path}: set the {provider.key_variable} "
                    f"environment variable, or pass api_key=",
                    provider=provider.name,
                )
            key = key or "unused"  # local compatible servers usually need none
            self._secrets = (key,) if len(key) >= 8 else ()
        else:
            key = "replay"
        sdk = importlib.import_module(provider.sdk_module)
        http = http_module(sdk)
        settings = {"api_key": key, "base_url": base_url}
        client = getattr(sdk, client_class)(
            **settings, http_client=http.Client(transport=self.transport(http))
        )
        async_client = getattr(sdk, f"Async{client_class}")(
            **settings, http_client=http.AsyncClient(transport=self.async_transport(http))
        )
        return provider(client, async_client=async_client, **options)

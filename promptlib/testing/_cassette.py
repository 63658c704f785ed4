"""Record real provider exchanges once, replay them in CI.

```python
cassette = Cassette.beside(__file__, "triage.json")   # tests/cassettes/triage.json
provider = cassette.openai()                           # an OpenAIProvider on the cassette
completion = provider.complete(prompt)                 # or acomplete, stream, astream
```

The cassette replays; ``PROMPTLIB_RECORD=1`` records. Exchanges are keyed by the
canonical request (method, path, JSON body with sorted keys), one per request: the last
response recorded for it, so a request that needed retries replays its final answer at
the first attempt, and a replay never waits. The file is readable and deterministic
(streamed replies are stored one server-sent event per entry and replayed byte for byte;
the file format is in :mod:`promptlib.testing._cassette_file`) and never holds API keys.
A request with no recording fails loudly, with a diff against the nearest one recorded.
"""

from __future__ import annotations

import asyncio
import dataclasses
import difflib
import json
import os
from pathlib import Path
from typing import Any, ClassVar

from promptlib._errors import AuthenticationError, RequestsBlockedError, UsageError
from promptlib._providers.anthropic import AnthropicProvider
from promptlib._providers.base import SDKProvider
from promptlib._providers.openai import OpenAIProvider
from promptlib._providers.retry import RetryPolicy
from promptlib._providers.sdk_http import http_module
from promptlib.testing._cassette_file import (
    CassetteError,
    canonical,
    dump,
    key,
    load,
    restored,
    stored,
)
from promptlib.testing._cassette_file import (
    _sorted as _sorted,
)
from promptlib.testing._guard import ALLOW_VARIABLE, OFFLINE_TRANSPORT, as_sdk_error

__all__ = ["Cassette", "CassetteError", "ReplayMissError"]


class ReplayMissError(UsageError):
    """A request has no recording in the cassette (the message shows the nearest one)."""


class Cassette:
    """A file of recorded HTTP exchanges with one provider.

    Args:
        path: the JSON file.
        record: record real exchanges (needs network and keys); by default, only when the
            ``PROMPTLIB_RECORD`` environment variable is ``1``. Recording replaces the
            recording of the same request, and keeps the others.
    """

    def __init__(self, path: str | os.PathLike[str], *, record: bool | None = None) -> None:
        self.path: Path = Path(path)
        self.recording: bool = (
            os.environ.get("PROMPTLIB_RECORD") == "1" if record is None else record
        )
        self.exchanges: list[dict[str, Any]] = load(self.path) if self.path.exists() else []
        self._secrets: tuple[str, ...] = ()

    def __repr__(self) -> str:
        mode = "record" if self.recording else "replay"
        return f"Cassette({str(self.path)!r}, {mode}, exchanges={len(self.exchanges)})"

    @classmethod
    def beside(
        cls, test_file: str | os.PathLike[str], name: str, *, record: bool | None = None
    ) -> Cassette:
        """The cassette ``name`` in the ``cassettes`` folder beside ``test_file`` (pass
        ``__file__``), wherever pytest is run from: ``Cassette.beside(__file__,
        "triage.json")`` is ``tests/cassettes/triage.json`` for a test in ``tests/``."""
        return cls(Path(test_file).resolve().parent / "cassettes" / name, record=record)

    def save(self) -> None:
        """Write the exchanges to the file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(dump(self.exchanges) + "\n", encoding="utf-8")

    # --- transports --------------------------------------------------------------------------

    def transport(self, http: Any) -> Any:
        """A transport for ``http`` (the ``httpx`` or ``httpx2`` module the SDK uses)."""
        cassette = self
        if self.recording:
            real = http.HTTPTransport()

            class Recorder(http.BaseTransport):  # type: ignore[misc]
                def handle_request(self, request: Any) -> Any:
                    try:
                        response = real.handle_request(request)
                    except RequestsBlockedError as blocked:
                        raise cassette._blocked(blocked) from None
                    response.read()
                    return cassette._store(http, request, response)

                def close(self) -> None:
                    real.close()

            return Recorder()

        class Replayer(http.BaseTransport):  # type: ignore[misc]
            def handle_request(self, request: Any) -> Any:
                return cassette._replay(http, request)

        setattr(Replayer, OFFLINE_TRANSPORT, True)
        return Replayer()

    def async_transport(self, http: Any) -> Any:
        """The async twin of :meth:`transport`, for the SDKs' async clients (one per event
        loop: its connections belong to the loop)."""
        cassette = self
        if self.recording:
            real = http.AsyncHTTPTransport()

            class AsyncRecorder(http.AsyncBaseTransport):  # type: ignore[misc]
                async def handle_async_request(self, request: Any) -> Any:
                    try:
                        response = await real.handle_async_request(request)
                    except RequestsBlockedError as blocked:
                        raise cassette._blocked(blocked) from None
                    await response.aread()
                    return cassette._store(http, request, response)

                async def aclose(self) -> None:
                    await real.aclose()

            return AsyncRecorder()

        class AsyncReplayer(http.AsyncBaseTransport):  # type: ignore[misc]
            async def handle_async_request(self, request: Any) -> Any:
                return cassette._replay(http, request)

        setattr(AsyncReplayer, OFFLINE_TRANSPORT, True)
        return AsyncReplayer()

    def _blocked(self, blocked: RequestsBlockedError) -> RequestsBlockedError:
        """The guard's error, saying how to record (the same class: the SDK re-raises it)."""
        return type(blocked)(
            f"recording the cassette {self.path} sends real requests, and the offline guard "
            f"refused this one: set {ALLOW_VARIABLE}=1 for the recording run "
            f"(PROMPTLIB_RECORD=1 {ALLOW_VARIABLE}=1 pytest ...), or mark the test "
            "@pytest.mark.allow_provider_requests."
        )

    def _store(self, http: Any, request: Any, response: Any) -> Any:
        """Keep ``response`` as the recording of ``request``; return it for the SDK."""
        exchange = {
            "request": canonical(request, self._secrets),
            "response": stored(response, self._secrets),
        }
        wanted = key(exchange["request"])
        for index, old in enumerate(self.exchanges):
            if key(old["request"]) == wanted:
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
        wanted = canonical(request)
        for exchange in self.exchanges:
            if key(exchange["request"]) == key(wanted):
                recorded = exchange["response"]
                return http.Response(
                    recorded["status"], headers=recorded["headers"], content=restored(recorded)
                )
        # Also an SDK error: Anthropic's SDK would otherwise wrap it in a connection error.
        raise as_sdk_error(ReplayMissError, self._miss_message(wanted))

    def _miss_message(self, wanted: dict[str, Any]) -> str:
        pretty = json.dumps(wanted, indent=2, sort_keys=True, ensure_ascii=False).splitlines()
        if not self.exchanges:
            where = ""
            if not self.path.is_absolute():
                where = (
                    f" A relative path is read from the current directory ({Path.cwd()}): "
                    "use Cassette.beside(__file__, name) to find it beside the test file."
                )
            return (
                f"no recording in {self.path} (it is empty or missing).{where} Record it once "
                f"with PROMPTLIB_RECORD=1, {ALLOW_VARIABLE}=1 and real API keys, then commit "
                "the file."
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
        return self._provider(_CassetteOpenAI, base_url, options)

    def anthropic(self, base_url: str | None = None, **options: Any) -> Any:
        """An :class:`~promptlib.AnthropicProvider` whose requests, sync and async, go
        through this cassette (``options``: the provider's, ``api_key`` included)."""
        return self._provider(_CassetteAnthropic, base_url, options)

    def _provider(self, provider: type[_OnCassette], base_url: str | None, options: Any) -> Any:
        given = sorted({"client", "async_client"} & options.keys())
        if given:
            raise UsageError(
                f"a cassette provider makes its own SDK clients (they send through the "
                f"cassette): remove {', '.join(given)}=, and pass base_url= or api_key="
            )
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
            # A replay never waits: a recorded failure is answered again at once.
            policy = options.get("retry") or RetryPolicy()
            options["retry"] = dataclasses.replace(
                policy, sleep=_no_sleep, async_sleep=_no_async_sleep
            )
        made = provider(api_key=key, **options)
        # The URL goes to the clients only: the adapter's defaults stay those of one given
        # a client, as they were when the cassette was recorded.
        made.cassette, made.cassette_url = self, base_url
        return made


def _no_sleep(seconds: float) -> None:
    pass


async def _no_async_sleep(seconds: float) -> None:
    await asyncio.sleep(0)


class _OnCassette(SDKProvider):
    """An adapter whose SDK clients send through a cassette: one sync client, and one async
    client per event loop (made and closed with the loop by the adapter)."""

    cassette: Cassette
    cassette_url: str | None

    def _client_options(self) -> dict[str, Any]:
        options = super()._client_options()
        if self.cassette_url:
            options["base_url"] = self.cassette_url
        return options

    def _sync_http_client(self) -> Any:
        http = http_module(self._sdk())
        return http.Client(transport=self.cassette.transport(http))

    def _async_client_class(self) -> Any:
        sdk_class, http = super()._async_client_class(), http_module(self._sdk())

        def make(**options: Any) -> Any:
            transport = self.cassette.async_transport(http)
            return sdk_class(**options, http_client=http.AsyncClient(transport=transport))

        return make


class _CassetteOpenAI(_OnCassette, OpenAIProvider):
    name: ClassVar[str] = "openai"


class _CassetteAnthropic(_OnCassette, AnthropicProvider):
    name: ClassVar[str] = "anthropic"


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib.testing", ReplayMissError, Cassette)

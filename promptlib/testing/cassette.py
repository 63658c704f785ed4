"""Record real provider exchanges once, replay them in CI.

```python
cassette = Cassette("tests/cassettes/triage.json")     # replays; PROMPTLIB_RECORD=1 records
provider = cassette.openai()                           # an OpenAIProvider on the cassette
completion = provider.complete(prompt)
```

Exchanges are keyed by the canonical request (method, path, JSON body with sorted keys),
stored as readable JSON, and never contain API keys or auth headers. A request with no
recording fails loudly, with a diff against the nearest one recorded.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import json
import os
from pathlib import Path
from typing import Any

from promptlib.errors import UsageError
from promptlib.testing.guard import OFFLINE_TRANSPORT
from promptlib.testing.sdk_http import http_module

__all__ = ["Cassette", "ReplayMissError"]

_FORMAT = "promptlib.cassette/1"
_KEPT_HEADERS = ("content-type", "x-request-id", "request-id", "retry-after")


class ReplayMissError(UsageError):
    """A request has no recording in the cassette (the message shows the nearest one)."""


def _canonical(request: Any) -> dict[str, Any]:
    body: Any = request.content.decode("utf-8") if request.content else None
    if body:
        with contextlib.suppress(json.JSONDecodeError):
            body = json.loads(body)
    return {"method": request.method, "path": request.url.path, "body": body}


def _key(canonical: dict[str, Any]) -> str:
    return json.dumps(canonical, sort_keys=True, ensure_ascii=False)


class Cassette:
    """A file of recorded HTTP exchanges with one provider.

    Args:
        path: the JSON file.
        record: record real exchanges (needs network and keys); by default, only when the
            ``PROMPTLIB_RECORD`` environment variable is ``1``.
    """

    def __init__(self, path: str | os.PathLike[str], *, record: bool | None = None) -> None:
        self.path = Path(path)
        self.recording = os.environ.get("PROMPTLIB_RECORD") == "1" if record is None else record
        self.exchanges: list[dict[str, Any]] = []
        if self.path.exists():
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("format") != _FORMAT:
                raise UsageError(f"{self.path} is not a {_FORMAT} file")
            self.exchanges = data["exchanges"]

    def save(self) -> None:
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
                    cassette._store(request, response)
                    return http.Response(
                        response.status_code, headers=response.headers, content=response.content
                    )

            return Recorder()

        class Replayer(http.BaseTransport):  # type: ignore[misc]
            def handle_request(self, request: Any) -> Any:
                return cassette._replay(http, request)

        setattr(Replayer, OFFLINE_TRANSPORT, True)
        return Replayer()

    def _store(self, request: Any, response: Any) -> None:
        headers = {k: v for k, v in response.headers.items() if k.lower() in _KEPT_HEADERS}
        body: Any = response.content.decode("utf-8")
        with contextlib.suppress(json.JSONDecodeError):
            body = json.loads(body)
        self.exchanges.append(
            {
                "request": _canonical(request),
                "response": {"status": response.status_code, "headers": headers, "body": body},
            }
        )
        self.save()

    def _replay(self, http: Any, request: Any) -> Any:
        wanted = _canonical(request)
        key = _key(wanted)
        for exchange in self.exchanges:
            if _key(exchange["request"]) == key:
                recorded = exchange["response"]
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
        """An :class:`~promptlib.OpenAIProvider` whose requests go through this cassette."""
        from promptlib.providers.openai import OpenAIProvider

        return self._provider(OpenAIProvider, "OpenAI", base_url, options)

    def anthropic(self, base_url: str | None = None, **options: Any) -> Any:
        """An :class:`~promptlib.AnthropicProvider` whose requests go through this cassette."""
        from promptlib.providers.anthropic import AnthropicProvider

        return self._provider(AnthropicProvider, "Anthropic", base_url, options)

    def _provider(
        self, provider: type[Any], client_class: str, base_url: str | None, options: Any
    ) -> Any:
        sdk = importlib.import_module(provider.sdk_module)
        http = http_module(sdk)
        key = os.environ.get(provider.key_variable) if self.recording else "replay"
        client = getattr(sdk, client_class)(
            api_key=key, base_url=base_url, http_client=http.Client(transport=self.transport(http))
        )
        return provider(client, **options)

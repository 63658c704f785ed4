"""The guard that keeps tests offline: real provider requests fail unless allowed.

It works at two levels, both installed by the pytest plugin for each test:

- promptlib's adapters ask it before any send (``set_request_guard``), so their error
  names the provider;
- the official SDK clients are stopped at their HTTP transport: while a test runs, the real
  ``HTTPTransport`` / ``AsyncHTTPTransport`` of ``httpx`` and ``httpx2`` refuse requests
  sent by an ``openai`` or ``anthropic`` client, so ``openai.OpenAI().chat.completions
  .create(...)`` in the code under test fails the same way. Other HTTP traffic is left
  alone.

A transport whose class has the ``OFFLINE_TRANSPORT`` attribute set to ``True``, and an
``httpx.MockTransport``, send nothing over the network and are never blocked.
``PROMPTLIB_ALLOW_REQUESTS=1`` is read when a request is made, so setting it inside a
test (``monkeypatch.setenv``) works.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from promptlib.errors import RequestsBlockedError
from promptlib.providers.base import SDKProvider

__all__ = [
    "ALLOW_VARIABLE",
    "OFFLINE_TRANSPORT",
    "block_real_requests",
    "blocking_sdk_transports",
    "is_offline_transport",
    "requests_allowed",
]

# A transport class with this attribute set to True sends nothing over the network.
OFFLINE_TRANSPORT = "promptlib_offline"

ALLOW_VARIABLE = "PROMPTLIB_ALLOW_REQUESTS"

# The User-Agent the official SDKs send: OpenAI/Python 1.2.3, AsyncAnthropic/Python ...
_SDK_AGENT = re.compile(r"(Async)?(Azure)?(OpenAI|Anthropic)\w*/")


def requests_allowed() -> bool:
    """Whether ``PROMPTLIB_ALLOW_REQUESTS=1`` is set now."""
    return os.environ.get(ALLOW_VARIABLE) == "1"


def _message(target: str) -> str:
    return (
        f"a test tried to send a real request to {target}. Tests run offline: use the "
        "mock_provider fixture (promptlib.testing.MockProvider) or a Cassette, or allow real "
        f"requests with @pytest.mark.allow_provider_requests or {ALLOW_VARIABLE}=1."
    )


def is_offline_transport(transport: Any) -> bool:
    """Whether ``transport`` sends nothing over the network: an ``httpx``/``httpx2``
    ``MockTransport``, or a class marked with ``OFFLINE_TRANSPORT`` (set as an attribute
    named by it, or as a class attribute ``OFFLINE_TRANSPORT = True``)."""
    kind = type(transport)
    return (
        kind.__name__ == "MockTransport"
        or getattr(kind, OFFLINE_TRANSPORT, False) is True
        or getattr(kind, "OFFLINE_TRANSPORT", False) is True
    )


def _is_offline(client: Any) -> bool:
    transport = getattr(getattr(client, "_client", None), "_transport", None)
    return transport is not None and is_offline_transport(transport)


def block_real_requests(provider: SDKProvider, client: Any) -> None:
    """Refuse a send unless the client's transport is a mock (or a replayer), or requests
    are allowed by the environment."""
    if _is_offline(client) or requests_allowed():
        return
    raise RequestsBlockedError(_message(provider.name))


# --- the SDKs' transports ------------------------------------------------------------------

# One entry per active guard (pytest may run inside pytest): whether that test opted in.
_scopes: list[bool] = []
_originals: list[tuple[type, str, Any]] = []


def _blocked(transport: Any, request: Any) -> bool:
    if not _scopes or _scopes[-1] or requests_allowed():
        return False
    if is_offline_transport(transport):
        return False
    return bool(_SDK_AGENT.match(request.headers.get("user-agent", "")))


def _error(request: Any) -> RequestsBlockedError:
    """The guard's error, also an SDK error so the SDK re-raises it instead of wrapping it
    in a connection error and retrying."""
    bases = tuple(
        module.AnthropicError if name == "anthropic" else module.OpenAIError
        for name in ("anthropic", "openai")
        if (module := sys.modules.get(name)) is not None
    )
    kind = type("RequestsBlockedError", (RequestsBlockedError, *bases), {"__module__": __name__})
    url = request.url
    return kind(_message(f"{url.scheme}://{url.host}{url.path} from an SDK client"))  # type: ignore[no-any-return]


def _install() -> None:
    for name in ("httpx", "httpx2"):
        if name not in sys.modules and importlib.util.find_spec(name) is None:
            continue
        http = importlib.import_module(name)
        sync_handle = http.HTTPTransport.handle_request
        async_handle = http.AsyncHTTPTransport.handle_async_request

        def handle_request(self: Any, request: Any, _real: Any = sync_handle) -> Any:
            if _blocked(self, request):
                raise _error(request)
            return _real(self, request)

        async def handle_async_request(self: Any, request: Any, _real: Any = async_handle) -> Any:
            if _blocked(self, request):
                raise _error(request)
            return await _real(self, request)

        for cls, attribute, guarded in (
            (http.HTTPTransport, "handle_request", handle_request),
            (http.AsyncHTTPTransport, "handle_async_request", handle_async_request),
        ):
            _originals.append((cls, attribute, cls.__dict__[attribute]))
            setattr(cls, attribute, guarded)


def _uninstall() -> None:
    while _originals:
        cls, attribute, original = _originals.pop()
        setattr(cls, attribute, original)


@contextmanager
def blocking_sdk_transports(*, allowed: bool = False) -> Iterator[None]:
    """While inside, requests from ``openai``/``anthropic`` clients over the real ``httpx``
    and ``httpx2`` transports raise :class:`~promptlib.RequestsBlockedError` (unless
    ``allowed``, or ``PROMPTLIB_ALLOW_REQUESTS=1`` when the request is made)."""
    if not _scopes:
        _install()
    _scopes.append(allowed)
    try:
        yield
    finally:
        _scopes.pop()
        if not _scopes:
            _uninstall()

"""The guard that keeps tests offline: real provider requests fail unless allowed."""

from __future__ import annotations

from typing import Any

from promptlib.errors import RequestsBlockedError
from promptlib.providers.base import SDKProvider

__all__ = ["OFFLINE_TRANSPORT", "block_real_requests"]

# A transport class with this attribute set to True sends nothing over the network.
OFFLINE_TRANSPORT = "promptlib_offline"


def _is_offline(client: Any) -> bool:
    transport = getattr(getattr(client, "_client", None), "_transport", None)
    if transport is None:
        return False
    return type(transport).__name__ == "MockTransport" or bool(
        getattr(transport, OFFLINE_TRANSPORT, False)
    )


def block_real_requests(provider: SDKProvider, client: Any) -> None:
    """Refuse a send unless the client's transport is a mock (or a replayer)."""
    if _is_offline(client):
        return
    raise RequestsBlockedError(
        f"a test tried to send a real request to {provider.name}. Tests run offline: use "
        "the mock_provider fixture (promptlib.testing.MockProvider), or allow real requests "
        "with @pytest.mark.allow_provider_requests or PROMPTLIB_ALLOW_REQUESTS=1."
    )

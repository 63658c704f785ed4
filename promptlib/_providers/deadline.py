"""A deadline for synchronous requests, kept at the HTTP transport.

The client's ``timeout`` counts the gaps between bytes, so a server that trickles its
reply a byte at a time never trips it, and nothing can stop a blocking read from outside.
The transport here wraps the real one and checks the time on every chunk it reads: once
the deadline has passed, the read fails as a read timeout would, and the retry policy
treats it as one.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

__all__ = ["deadline_client"]


def deadline_client(sdk: Any, http: Any, seconds: float) -> Any:
    """An ``http_client`` for ``sdk``'s sync client whose requests end after ``seconds``."""

    class Deadline(http.SyncByteStream):  # type: ignore[misc]
        def __init__(self, inner: Any, request: Any, ends: float) -> None:
            self._inner, self._request, self._ends = inner, request, ends

        def __iter__(self) -> Iterator[bytes]:
            for chunk in self._inner:
                if time.monotonic() > self._ends:
                    raise http.ReadTimeout(
                        f"the reply took longer than RetryPolicy(deadline={seconds!r})",
                        request=self._request,
                    )
                yield chunk

        def close(self) -> None:
            self._inner.close()

    class DeadlineTransport(http.BaseTransport):  # type: ignore[misc]
        def __init__(self) -> None:
            self._inner = http.HTTPTransport()

        def handle_request(self, request: Any) -> Any:
            ends = time.monotonic() + seconds
            response = self._inner.handle_request(request)
            return http.Response(
                response.status_code,
                headers=response.headers,
                stream=Deadline(response.stream, request, ends),
                extensions=response.extensions,
            )

        def close(self) -> None:
            self._inner.close()

    class Client(sdk.DefaultHttpxClient):  # type: ignore[misc]
        # The SDK closes the client it makes itself when it is collected; one passed in
        # is the caller's to close, so this one closes itself the same way.
        def __del__(self) -> None:
            if not self.is_closed:
                with contextlib.suppress(Exception):  # at interpreter shutdown
                    self.close()

    return Client(transport=DeadlineTransport())

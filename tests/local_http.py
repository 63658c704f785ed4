"""The HTTP plumbing the stand-in provider APIs share: a keep-alive request handler and a
threaded server on 127.0.0.1 (ephemeral port) that lives for a ``with`` block."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any


class KeepAliveHandler(http.server.BaseHTTPRequestHandler):
    """Answers on a keep-alive connection, as the SDKs' pooled clients expect."""

    protocol_version = "HTTP/1.1"
    # One write per response (headers and body together): two small writes on a
    # keep-alive connection meet the client's delayed ACK, 40 ms a request.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def content(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, status: int, data: bytes, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serving(
    handler_for: Callable[[str], type[http.server.BaseHTTPRequestHandler]],
) -> Iterator[str]:
    """Serve ``handler_for(base_url)`` on 127.0.0.1; yield the base URL (no ``/v1``) and
    shut the server down after. The handler is built once the URL is known, so a stand-in
    can point links (an Anthropic ``results_url``) back at itself."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    server.RequestHandlerClass = handler_for(url)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

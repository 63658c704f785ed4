"""The HTTP library an SDK is built on (see :mod:`promptlib._providers.sdk_http`)."""

from promptlib._providers.sdk_http import http_module

__all__ = ["http_module"]

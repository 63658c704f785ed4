"""The HTTP library an SDK is built on: ``httpx``, or ``httpx2`` in newer SDK releases."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["http_module"]


def http_module(sdk: Any) -> Any:
    base = importlib.import_module(f"{sdk.__name__}._base_client")
    return getattr(base, "httpx2", None) or base.httpx

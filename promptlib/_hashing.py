"""Canonical JSON and content hashes, stable across processes and platforms."""

from __future__ import annotations

import hashlib
import json
from typing import Any

# Made once: json.dumps with options builds a new encoder at every call.
_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def canonical_json(value: Any) -> str:
    """Serialize ``value`` deterministically: sorted keys, no whitespace, UTF-8 kept as is."""
    return _ENCODE(value)


def content_hash(value: Any) -> str:
    """``sha256:<hex>`` of the canonical JSON of ``value``."""
    digest = hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()
    return f"sha256:{digest}"

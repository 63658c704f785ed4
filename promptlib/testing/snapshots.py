"""Snapshots of rendered prompts: readable files that make every template change a diff."""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from promptlib._messages import Prompt
from promptlib._secrets import redact
from promptlib.testing._cassette_file import MASK, masked

__all__ = ["assert_snapshot", "snapshot_filename", "snapshot_text"]


def snapshot_text(prompt: Prompt[Any], *, request: dict[str, Any] | None = None) -> str:
    """The snapshot of a prompt: everything that changes what is sent, readably.

    A header (template, model, parameters, output schema name, reasoning format), the
    messages, the output schema in full, and optionally a provider request (which shows
    tools and everything else the adapter adds).
    """
    # Keys never reach a snapshot: key shapes, the values of the provider key variables
    # that are set, auth-like headers and URL credentials become sk-***.
    meta = prompt.meta
    lines = []
    if meta.template:
        lines.append(f"# template: {meta.template}@{meta.version}")
    if prompt.model:
        lines.append(f"# model: {prompt.model}")
    if prompt.params:
        lines.append(f"# params: {_inline(dict(prompt.params))}")
    if prompt.output is not None:
        strict = "" if prompt.output.strict else " (not strict)"
        lines.append(f"# output: {prompt.output.name}{strict}")
    if prompt.reasoning is not None:
        lines.append(f"# reasoning: {_inline(prompt.reasoning.to_dict())}")
    text = "\n".join(lines) + ("\n\n" if lines else "") + prompt.format() + "\n"
    if prompt.output is not None:
        text += f"\n# output schema: {prompt.output.name}\n{_pretty(prompt.output.schema)}\n"
    if request is not None:
        text += f"\n# request\n{_pretty(_masked_request(request))}\n"
    return masked(text, _environment_keys())  # type: ignore[no-any-return]


# Environment variables holding provider keys: OPENAI_API_KEY, ANTHROPIC_API_KEY,
# AZURE_OPENAI_API_KEY, GEMINI_API_KEY and the like.
_KEY_VARIABLE = re.compile(r"(?:^|_)(?:API_KEY|API_TOKEN|ACCESS_TOKEN|SECRET_KEY)$")
# Shorter values (a placeholder such as "x") would mask ordinary text.
_SHORTEST_KEY = 8
_AUTH_HEADER = re.compile(
    r"(?i)^(?:proxy-)?authorization$|^(?:set-)?cookie$|api[-_]?key|secret|password"
    r"|(?:^|[-_])(?:auth|access|bearer|session|id)?[-_]?token$"
)


def _environment_keys() -> tuple[str, ...]:
    return tuple(
        value
        for name, value in os.environ.items()
        if _KEY_VARIABLE.search(name.upper()) and len(value) >= _SHORTEST_KEY
    )


def _masked_request(value: Any, depth: int = 0) -> Any:
    """``value`` with auth-like entries' values masked and credentials in strings (URL
    passwords, bearer tokens) removed."""
    if isinstance(value, str):
        return redact(value)
    if depth > 50:
        return value
    if isinstance(value, dict):
        return {
            name: MASK
            if isinstance(name, str) and _AUTH_HEADER.search(name) and isinstance(item, str)
            else _masked_request(item, depth + 1)
            for name, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_masked_request(item, depth + 1) for item in value]
    return value


def _inline(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def snapshot_filename(test: str, name: str | None = None) -> str:
    """The file name for a test's snapshot: readable, and different for different ids
    (``a b``, ``a/b`` and ``a:b`` get their own files through a short hash)."""
    return safe_name(f"{test}-{name}" if name else test) + ".txt"


def safe_name(raw: str) -> str:
    """A file name for ``raw``, distinct for distinct ``raw`` even on file systems that
    ignore case: a short hash of ``raw`` is added when it is not already a short,
    lowercase, safe name."""
    slug = _UNSAFE.sub("_", raw)
    if slug != raw or raw != raw.lower() or len(raw) > _LONGEST:
        slug = slug[:_LONGEST] + "-" + hashlib.sha256(raw.encode()).hexdigest()[:8]
    return slug


_UNSAFE = re.compile(r"[^\w.\[\]-]+", re.ASCII)
# File names are at most 255 bytes on common file systems; a test id may be much longer.
_LONGEST = 120


def assert_snapshot(
    prompt: Prompt[Any],
    path: str | Path,
    *,
    update: bool = False,
    request: dict[str, Any] | None = None,
) -> None:
    """Fail unless ``prompt`` renders as the snapshot stored at ``path``.

    With ``update=True`` the snapshot is (re)written instead. A missing snapshot fails
    unless updating, so CI never passes on a snapshot nobody reviewed.
    """
    path = Path(path)
    actual = snapshot_text(prompt, request=request)
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    if not path.exists():
        raise AssertionError(
            f"no prompt snapshot at {_shown(path)}; run pytest --update-prompt-snapshots to "
            "create it, "
            "then review and commit it"
        )
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                "stored",
                "rendered now",
            )
        )
        raise AssertionError(
            f"prompt snapshot {_shown(path)} differs from the rendered prompt:\n{diff}"
            "If the change is intended, run pytest --update-prompt-snapshots, then review "
            "and commit the file."
        )


def _shown(path: Path) -> str:
    """``path`` relative to the working directory, when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)

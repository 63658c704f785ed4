"""Snapshots of rendered prompts: readable files that make every template change a diff."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

from promptlib.messages import Prompt

__all__ = ["assert_snapshot", "snapshot_text"]


def snapshot_text(prompt: Prompt[Any], *, request: dict[str, Any] | None = None) -> str:
    """The snapshot of a prompt: a small header, the messages, and optionally a request."""
    meta = prompt.meta
    lines = []
    if meta.template:
        lines.append(f"# template: {meta.template}@{meta.version}")
    if prompt.model:
        lines.append(f"# model: {prompt.model}")
    if prompt.output is not None:
        lines.append(f"# output: {prompt.output.name}")
    text = "\n".join(lines) + ("\n\n" if lines else "") + prompt.format() + "\n"
    if request is not None:
        text += (
            "\n# request\n"
            + json.dumps(request, indent=2, ensure_ascii=False, sort_keys=True)
            + "\n"
        )
    return text


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
            f"no prompt snapshot at {path}; run pytest --update-prompt-snapshots to create it, "
            "then review and commit it"
        )
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                f"{path} (stored)",
                "rendered now",
            )
        )
        raise AssertionError(
            f"the rendered prompt differs from its snapshot:\n{diff}\n"
            "If the change is intended, run pytest --update-prompt-snapshots and commit it."
        )

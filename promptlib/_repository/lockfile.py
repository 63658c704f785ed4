"""The lock file: the content hash of every released template version.

``<templates>/promptlib.lock`` is JSON, sorted, one line per version, so that a release
reads as a one-line addition in a pull request::

    {
      "format": "promptlib.lock/1",
      "templates": {
        "ticket-priority": {
          "1.0.0": "sha256:…",
          "1.1.0": "sha256:…"
        }
      }
    }
"""

from __future__ import annotations

import json
from pathlib import Path

from promptlib._errors import TemplateError
from promptlib._repository.semver import Version
from promptlib._templates.limits import current_limits
from promptlib._templates.textfile import read_text_file

__all__ = ["LOCK_FILE", "read_lock", "write_lock"]

LOCK_FILE = "promptlib.lock"
_FORMAT = "promptlib.lock/1"

Locked = dict[str, dict[str, str]]


def read_lock(root: Path) -> Locked:
    """Released versions and their hashes; empty when there is no lock file yet."""
    path = root / LOCK_FILE
    if not path.exists():
        return {}
    try:
        data = json.loads(read_text_file(path, 16 * current_limits().file_bytes))
    except json.JSONDecodeError as exc:
        raise TemplateError(
            f"the lock file is not valid JSON ({exc.msg} at line {exc.lineno}); restore it "
            "from version control (git checkout) rather than editing it",
            location=f"{path}:{exc.lineno}",
            line=exc.lineno,
        ) from exc
    templates = data.get("templates") if isinstance(data, dict) else None
    if (
        not isinstance(data, dict)
        or data.get("format") != _FORMAT
        or not isinstance(templates, dict)
        or not all(
            isinstance(versions, dict) and all(isinstance(h, str) for h in versions.values())
            for versions in templates.values()
        )
    ):
        raise TemplateError(
            f"the lock file is not a {_FORMAT} file; restore it from version control, or "
            "delete it and run 'promptlib lock' to release every version anew",
            location=str(path),
        )
    return {name: dict(versions) for name, versions in templates.items()}


def _order(version: str) -> tuple[Version, str]:
    # Semver precedence, then build metadata as text (semver leaves those tied).
    parsed = Version.parse(version)
    return parsed, parsed.build


def write_lock(root: Path, locked: Locked) -> None:
    """Write the lock file, sorted and stable."""
    ordered = {
        name: {v: locked[name][v] for v in sorted(locked[name], key=_order)}
        for name in sorted(locked)
        if locked[name]
    }
    text = json.dumps({"format": _FORMAT, "templates": ordered}, indent=2, ensure_ascii=False)
    (root / LOCK_FILE).write_text(text + "\n", encoding="utf-8")

"""Labels: names such as ``production`` that point at template versions.

``<templates>/labels.yaml`` maps each template to its labels::

    ticket-priority:
      production: 1.0.0
      staging: 1.1.0

A label moves by editing this file in a commit, so every move is reviewed and recorded.
"""

from __future__ import annotations

import re
from pathlib import Path

from promptlib.errors import TemplateError

__all__ = ["LABELS_FILE", "read_labels", "valid_label"]

LABELS_FILE = "labels.yaml"
_LABEL = re.compile(r"[a-z][a-z0-9_-]*")


def valid_label(label: str) -> bool:
    """Labels are lowercase words that start with a letter (so never look like a version)."""
    return bool(_LABEL.fullmatch(label))


def read_labels(root: Path) -> dict[str, dict[str, str]]:
    """``{template: {label: version}}``; empty when there is no labels file."""
    import yaml

    path = root / LABELS_FILE
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise TemplateError(
            f"the labels file is not valid YAML: {getattr(exc, 'problem', exc)}",
            location=f"{path}:{line}" if line else str(path),
            line=line,
        ) from exc
    if not isinstance(data, dict):
        raise TemplateError(
            "the labels file maps template names to {label: version}", location=str(path)
        )
    labels: dict[str, dict[str, str]] = {}
    for name, entries in data.items():
        if not isinstance(entries, dict):
            raise TemplateError(
                f"labels of {name!r} must be a mapping such as 'production: 1.0.0'",
                location=str(path),
            )
        for label, version in entries.items():
            if not isinstance(label, str) or not valid_label(label):
                raise TemplateError(
                    f"label {label!r} of {name!r} must be a lowercase word such as "
                    "'production' or 'staging'",
                    location=str(path),
                )
            if not isinstance(version, str):
                raise TemplateError(
                    f'label {name}@{label} must point at a quoted version such as "1.0.0", '
                    f"got {version!r}",
                    location=str(path),
                )
        labels[str(name)] = {str(k): str(v) for k, v in entries.items()}
    return labels

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

from promptlib._errors import TemplateError
from promptlib._repository.strict_yaml import YamlProblem, load_yaml
from promptlib._templates.limits import current_limits
from promptlib._templates.textfile import read_text_file

__all__ = ["LABELS_FILE", "RESERVED_LABELS", "read_labels", "valid_label"]

LABELS_FILE = "labels.yaml"
_LABEL = re.compile(r"[a-z][a-z0-9_-]*")
RESERVED_LABELS = frozenset({"latest"})
"""Names a label may not have: ``NAME@latest`` already means the latest released version."""


def valid_label(label: str) -> bool:
    """Labels are lowercase words that start with a letter (so never look like a version)."""
    return bool(_LABEL.fullmatch(label)) and label not in RESERVED_LABELS


def read_labels(root: Path) -> dict[str, dict[str, str]]:
    """``{template: {label: version}}``; empty when there is no labels file."""
    path = root / LABELS_FILE
    if not path.exists():
        return {}
    limits = current_limits()
    try:
        data = load_yaml(read_text_file(path, limits.file_bytes), limits)[0] or {}
    except YamlProblem as exc:
        message = exc.message.replace("invalid YAML", "not valid YAML", 1)
        raise TemplateError(
            f"the labels file: {message}",
            location=f"{path}:{exc.line}" if exc.line else str(path),
            line=exc.line,
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
            if label in RESERVED_LABELS:
                raise TemplateError(
                    f"label {label!r} of {name!r} is reserved: {name}@{label} means the latest "
                    "released version. Name the label for what it is for (e.g. 'production').",
                    location=str(path),
                )
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

"""The JSON report: ``ComparisonReport.to_dict`` with its schema's name and version."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from promptlib.evals._comparison import ComparisonReport

__all__ = ["render_json", "schema"]


def render_json(report: ComparisonReport) -> str:
    """The report as JSON, valid against :func:`schema`."""
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"


def schema() -> dict[str, Any]:
    """The published JSON Schema of the report (``promptlib/evals/report/schema.json``)."""
    text = resources.files("promptlib.evals.report").joinpath("schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded

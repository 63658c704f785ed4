"""Evaluating templates: datasets of cases, splits, scorers, experiments, runs and results.

Nothing here is imported by ``import promptlib``; names load on first use::

    from promptlib.evals import load_dataset, exact
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from promptlib.evals._comparison import (
        ComparisonError,
        ComparisonReport,
        VariantComparison,
        VariantStats,
        compare,
        compare_rows,
    )
    from promptlib.evals._config import load_experiment
    from promptlib.evals._dataset import Case, Dataset, load_dataset
    from promptlib.evals._errors import DatasetError
    from promptlib.evals._experiment import Experiment, Variant
    from promptlib.evals._gate import QualityGateFailure, require_at_least, require_not_worse
    from promptlib.evals._judge import judge
    from promptlib.evals._limits import RateLimit
    from promptlib.evals._runner import RunEstimate, RunResult, arun, estimate, resume, run
    from promptlib.evals._scorers import (
        Score,
        Scorer,
        ScoreResult,
        contains,
        exact,
        function,
        json_schema_valid,
        numeric,
        one_of,
        regex,
        run_scorer,
        set_f1,
    )
    from promptlib.evals._splits import check_leakage, split
    from promptlib.evals._store import ResultRow, RunInfo, Store, StoreError
    from promptlib.evals._summary import VariantSummary, summarize
    from promptlib.evals.power import cases_needed, power_paired
    from promptlib.evals.report import render

# Loaded on first use, to keep `import promptlib.evals` light.
_LAZY = {
    "ComparisonError": "promptlib.evals._comparison",
    "ComparisonReport": "promptlib.evals._comparison",
    "VariantComparison": "promptlib.evals._comparison",
    "VariantStats": "promptlib.evals._comparison",
    "compare": "promptlib.evals._comparison",
    "compare_rows": "promptlib.evals._comparison",
    "QualityGateFailure": "promptlib.evals._gate",
    "require_at_least": "promptlib.evals._gate",
    "require_not_worse": "promptlib.evals._gate",
    "cases_needed": "promptlib.evals.power",
    "power_paired": "promptlib.evals.power",
    "render": "promptlib.evals.report",
    "Case": "promptlib.evals._dataset",
    "Dataset": "promptlib.evals._dataset",
    "load_dataset": "promptlib.evals._dataset",
    "DatasetError": "promptlib.evals._errors",
    "Score": "promptlib.evals._scorers",
    "ScoreResult": "promptlib.evals._scorers",
    "Scorer": "promptlib.evals._scorers",
    "contains": "promptlib.evals._scorers",
    "exact": "promptlib.evals._scorers",
    "function": "promptlib.evals._scorers",
    "json_schema_valid": "promptlib.evals._scorers",
    "judge": "promptlib.evals._judge",
    "numeric": "promptlib.evals._scorers",
    "one_of": "promptlib.evals._scorers",
    "regex": "promptlib.evals._scorers",
    "run_scorer": "promptlib.evals._scorers",
    "set_f1": "promptlib.evals._scorers",
    "check_leakage": "promptlib.evals._splits",
    "split": "promptlib.evals._splits",
    "load_experiment": "promptlib.evals._config",
    "Experiment": "promptlib.evals._experiment",
    "Variant": "promptlib.evals._experiment",
    "RateLimit": "promptlib.evals._limits",
    "RunResult": "promptlib.evals._runner",
    "RunEstimate": "promptlib.evals._runner",
    "estimate": "promptlib.evals._runner",
    "arun": "promptlib.evals._runner",
    "resume": "promptlib.evals._runner",
    "run": "promptlib.evals._runner",
    "ResultRow": "promptlib.evals._store",
    "RunInfo": "promptlib.evals._store",
    "Store": "promptlib.evals._store",
    "StoreError": "promptlib.evals._store",
    "VariantSummary": "promptlib.evals._summary",
    "summarize": "promptlib.evals._summary",
}

__all__ = [
    "Case",
    "ComparisonError",
    "ComparisonReport",
    "Dataset",
    "DatasetError",
    "Experiment",
    "QualityGateFailure",
    "RateLimit",
    "ResultRow",
    "RunEstimate",
    "RunInfo",
    "RunResult",
    "Score",
    "ScoreResult",
    "Scorer",
    "Store",
    "StoreError",
    "Variant",
    "VariantComparison",
    "VariantStats",
    "VariantSummary",
    "arun",
    "cases_needed",
    "check_leakage",
    "compare",
    "compare_rows",
    "contains",
    "estimate",
    "exact",
    "function",
    "json_schema_valid",
    "judge",
    "load_dataset",
    "load_experiment",
    "numeric",
    "one_of",
    "power_paired",
    "regex",
    "render",
    "require_at_least",
    "require_not_worse",
    "resume",
    "run",
    "run_scorer",
    "set_f1",
    "split",
    "summarize",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Evaluating templates: datasets of cases, splits, scorers, experiments, runs and results.

Nothing here is imported by ``import promptlib``; names load on first use::

    from promptlib.evals import load_dataset, exact
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from promptlib.evals.comparison import (
        ComparisonError,
        ComparisonReport,
        VariantComparison,
        VariantStats,
        compare,
        compare_rows,
    )
    from promptlib.evals.config import load_experiment
    from promptlib.evals.dataset import Case, Dataset, load_dataset
    from promptlib.evals.errors import DatasetError
    from promptlib.evals.experiment import Experiment, Variant
    from promptlib.evals.gate import QualityGateFailure, require_at_least, require_not_worse
    from promptlib.evals.limits import RateLimit
    from promptlib.evals.power import cases_needed, power_paired
    from promptlib.evals.report import render
    from promptlib.evals.runner import RunEstimate, RunResult, arun, estimate, resume, run
    from promptlib.evals.scorers import (
        Score,
        Scorer,
        contains,
        exact,
        function,
        json_schema_valid,
        judge,
        numeric,
        one_of,
        regex,
        run_scorer,
        set_f1,
    )
    from promptlib.evals.splits import check_leakage, split
    from promptlib.evals.store import ResultRow, RunInfo, Store, StoreError
    from promptlib.evals.summary import VariantSummary, summarize

# Loaded on first use, to keep `import promptlib.evals` light.
_LAZY = {
    "ComparisonError": "promptlib.evals.comparison",
    "ComparisonReport": "promptlib.evals.comparison",
    "VariantComparison": "promptlib.evals.comparison",
    "VariantStats": "promptlib.evals.comparison",
    "compare": "promptlib.evals.comparison",
    "compare_rows": "promptlib.evals.comparison",
    "QualityGateFailure": "promptlib.evals.gate",
    "require_at_least": "promptlib.evals.gate",
    "require_not_worse": "promptlib.evals.gate",
    "cases_needed": "promptlib.evals.power",
    "power_paired": "promptlib.evals.power",
    "render": "promptlib.evals.report",
    "Case": "promptlib.evals.dataset",
    "Dataset": "promptlib.evals.dataset",
    "load_dataset": "promptlib.evals.dataset",
    "DatasetError": "promptlib.evals.errors",
    "Score": "promptlib.evals.scorers",
    "Scorer": "promptlib.evals.scorers",
    "contains": "promptlib.evals.scorers",
    "exact": "promptlib.evals.scorers",
    "function": "promptlib.evals.scorers",
    "json_schema_valid": "promptlib.evals.scorers",
    "judge": "promptlib.evals.scorers",
    "numeric": "promptlib.evals.scorers",
    "one_of": "promptlib.evals.scorers",
    "regex": "promptlib.evals.scorers",
    "run_scorer": "promptlib.evals.scorers",
    "set_f1": "promptlib.evals.scorers",
    "check_leakage": "promptlib.evals.splits",
    "split": "promptlib.evals.splits",
    "load_experiment": "promptlib.evals.config",
    "Experiment": "promptlib.evals.experiment",
    "Variant": "promptlib.evals.experiment",
    "RateLimit": "promptlib.evals.limits",
    "RunResult": "promptlib.evals.runner",
    "RunEstimate": "promptlib.evals.runner",
    "estimate": "promptlib.evals.runner",
    "arun": "promptlib.evals.runner",
    "resume": "promptlib.evals.runner",
    "run": "promptlib.evals.runner",
    "ResultRow": "promptlib.evals.store",
    "RunInfo": "promptlib.evals.store",
    "Store": "promptlib.evals.store",
    "StoreError": "promptlib.evals.store",
    "VariantSummary": "promptlib.evals.summary",
    "summarize": "promptlib.evals.summary",
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

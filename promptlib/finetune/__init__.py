"""Prompt or fine-tune: export training data from a dataset and a template, check it,
start and follow a fine-tune, compute the ROI, and settle it head to head.

::

    from promptlib import finetune

    exported = finetune.export_training_data(dataset, template, "ft", stratify="expected")
    report = finetune.check_file(exported.files["train"], "gpt-4o-mini")
    job = finetune.start(OpenAIProvider(), exported.files["train"], "gpt-4o-mini-2024-07-18")
    job = finetune.follow(OpenAIProvider(), job.id)

See ``docs/finetuning.md``. Loaded on first use: ``import promptlib`` does not import it.
"""

from promptlib.finetune._check import CheckReport, Distribution, check_file, default_epochs
from promptlib.finetune._decide import Decision, decide, render
from promptlib.finetune._export import ExportResult, export_training_data
from promptlib.finetune._jobs import FineTuneJob, follow, register_model, start, status
from promptlib.finetune._roi import (
    ROI,
    Serving,
    TrainingCost,
    roi,
    serving_from_run,
    serving_from_tokens,
)
from promptlib.finetune._training import TrainingInfo, TrainingTable

__all__ = [
    "ROI",
    "CheckReport",
    "Decision",
    "Distribution",
    "ExportResult",
    "FineTuneJob",
    "Serving",
    "TrainingCost",
    "TrainingInfo",
    "TrainingTable",
    "check_file",
    "decide",
    "default_epochs",
    "export_training_data",
    "follow",
    "register_model",
    "render",
    "roi",
    "serving_from_run",
    "serving_from_tokens",
    "start",
    "status",
]

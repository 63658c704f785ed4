"""Batch jobs on the providers' batch APIs: many prompts, half the price, typed results.

::

    from promptlib import batch

    job = batch.submit(prompts, provider, "gpt-4o-mini", path="jobs/nightly.json")
    batch.wait(job)                      # polls; resubmits expired and retryable lines
    for custom_id, result in batch.collect(job).items():
        ...                              # a Completion, or a BatchFailure

    job = batch.load("jobs/nightly.json")   # tomorrow, in another process

Requests are built by the same adapters as live calls (a batched request is the live
request), results map back by ``custom_id``, and costs use the catalog's batch prices.
See ``docs/batch.md``.
"""

from promptlib.batch._backends import ANTHROPIC_LIMITS, OPENAI_LIMITS, BatchLimits
from promptlib.batch._follow import BatchStatus, cancel, status, wait
from promptlib.batch._handle import BatchHandle, BatchRequest, ProviderBatch, load
from promptlib.batch._job import resume, submit
from promptlib.batch._results import BatchFailure, BatchResult, collect

__all__ = [
    "ANTHROPIC_LIMITS",
    "OPENAI_LIMITS",
    "BatchFailure",
    "BatchHandle",
    "BatchLimits",
    "BatchRequest",
    "BatchResult",
    "BatchStatus",
    "ProviderBatch",
    "cancel",
    "collect",
    "load",
    "resume",
    "status",
    "submit",
    "wait",
]

"""An evaluation run sent through the providers' batch APIs (``Experiment(batch=True)``).

The items of a run go to one batch job per model. Each job's handle is saved beside the
results store, named by run and model, before anything is created at the provider, and
every custom id is derived from the item (variant, model, case, repeat): a resumed run
loads the handles, collects what was submitted, and submits only items no handle holds.
Items already in the store are never sent again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptlib._errors import OutputValidationError
from promptlib._providers.completion import Completion
from promptlib.evals._rows import Item, failed_row, row_identity

if TYPE_CHECKING:
    from promptlib._messages import Prompt
    from promptlib.batch import BatchHandle
    from promptlib.evals._progress import Progress
    from promptlib.evals._runner import _Runner

__all__ = ["run_batched"]

_log = logging.getLogger("promptlib.evals")


def item_id(item: Item) -> str:
    """The item's custom id in a batch: the same in every session of the run."""
    key = json.dumps(list(item.key), ensure_ascii=False)
    return "e" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]


def _folder(runner: _Runner, run_id: str) -> Path:
    return runner.store.path.parent / "batches" / re.sub(r"[^A-Za-z0-9_.-]", "_", run_id)


def _slug(model: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", model)


def _handles(folder: Path, model: str, provider: Any) -> list[BatchHandle]:
    """This model's handles in the run's folder, oldest first (``<model>--<n>.json``)."""
    from promptlib.batch import load

    name = re.compile(re.escape(_slug(model)) + r"--(\d+)\.json")
    found = []
    for path in folder.glob("*.json") if folder.is_dir() else []:
        match = name.fullmatch(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return [load(path, provider=provider) for _, path in sorted(found)]


async def run_batched(runner: _Runner, run_id: str, todo: Sequence[Item], bar: Progress) -> None:
    """Send ``todo`` as batch jobs, one per model, and store each result as it is collected.

    Items an earlier session submitted are collected from its handles; those that failed
    there with a retryable error (an outage, a rate limit, an expired line) are sent
    again in a new job, as a live resume sends them again.
    """
    from promptlib import batch

    folder = _folder(runner, run_id)
    for model in dict.fromkeys(item.model for item in todo):
        provider, name = runner._provider(model)
        rendered: dict[str, tuple[Item, Prompt[Any]]] = {}
        for item in (i for i in todo if i.model == model):
            prompt, error = runner._render(item)
            if prompt is None:
                await runner.record(item, await runner._process(item, run_id, None, error), bar)
            else:
                rendered[item_id(item)] = (item, prompt)
        earlier = _handles(folder, model, provider)
        latest = {r.custom_id: n for n, handle in enumerate(earlier) for r in handle.requests}
        again: dict[str, tuple[Item, Prompt[Any]]] = {}
        for number, handle in enumerate(earlier):
            mine = {k: v for k, v in rendered.items() if latest.get(k) == number}
            if mine:
                again |= await _collected(runner, run_id, handle, mine, bar, resending=True)
        fresh = {k: v for k, v in rendered.items() if k not in latest}
        fresh = _within_budget(runner, {**fresh, **again}, name)
        if fresh:
            path = folder / f"{_slug(model)}--{len(earlier)}.json"
            prompts = {key: prompt for key, (_, prompt) in fresh.items()}
            handle = batch.submit(prompts, provider, name, path=path)
            await _collected(runner, run_id, handle, fresh, bar, resending=False)


async def _collected(
    runner: _Runner,
    run_id: str,
    handle: BatchHandle,
    mine: dict[str, tuple[Item, Prompt[Any]]],
    bar: Progress,
    *,
    resending: bool,
) -> dict[str, tuple[Item, Prompt[Any]]]:
    """Wait for a job, store its results for ``mine``; with ``resending``, return the items
    that failed with a retryable error instead of storing them."""
    from promptlib import batch

    batch.wait(handle, progress=runner.show_progress)
    results = batch.collect(handle, {key: prompt for key, (_, prompt) in mine.items()})
    again = {}
    for key, (item, prompt) in mine.items():
        result = results[key]
        if resending and isinstance(result, batch.BatchFailure) and result.retryable:
            again[key] = (item, prompt)
            continue
        await runner.record(item, await _row(runner, run_id, item, prompt, result), bar)
    return again


def _within_budget(
    runner: _Runner, fresh: dict[str, tuple[Item, Prompt[Any]]], model: str
) -> dict[str, tuple[Item, Prompt[Any]]]:
    """The items whose worst-case cost fits in what the budget leaves (in order)."""
    if runner.budget is None:
        return fresh
    room = runner.budget - runner.spent
    kept: dict[str, tuple[Item, Prompt[Any]]] = {}
    for key, (item, prompt) in fresh.items():
        cost = runner._worst_case(prompt, item.model)
        if cost > room:
            runner.over_budget = True
            _log.warning(
                "%s: the budget leaves room for %d of %d batched requests; the rest are not sent",
                runner.experiment.name,
                len(kept),
                len(fresh),
            )
            break
        room -= cost
        kept[key] = (item, prompt)
    return kept


async def _row(runner: _Runner, run_id: str, item: Item, prompt: Prompt[Any], result: Any) -> Any:
    common = row_identity(run_id, item, prompt)
    if isinstance(result, Completion):
        return await runner._scored(common, item.case, result)
    error = result.error
    usage = getattr(error, "usage", None)
    text = getattr(error, "text", None)
    if isinstance(error, OutputValidationError):
        text = error.text
    message = f"{type(error).__name__}: {error} (batch line {result.kind})"
    name = runner._provider(item.model)[1]
    return failed_row(common, message, usage, text, result.attempts, name, batch=True)

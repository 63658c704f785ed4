"""Joining the stores of a sharded evaluation (``promptlib eval run --shard i/n``).

Each machine runs one part of the cases into its own store; ``merge`` adds each part's
results to one store, under the same run id, once it has checked that every part ran the
same experiment (dataset, templates, models, scorers, repeats, parameters). The merged
run then holds what one machine running everything would have produced.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from promptlib.evals._store import Store, StoreError, transient

__all__ = ["Merged", "merge_run"]

# What must be equal for two parts to be one run.
_SAME = ("dataset", "variants", "models", "scorers", "repeats", "params")


@dataclass(frozen=True)
class Merged:
    """What merging one run did: results ``added``, results already there and ``kept``,
    and the run's results (``done``) out of the ``total`` it needs, afterwards."""

    run_id: str
    added: int
    kept: int
    done: int
    total: int
    status: str


def _identity(manifest: Mapping[str, Any]) -> dict[str, Any]:
    found = {key: manifest.get(key) for key in _SAME}
    dataset = found["dataset"] or {}
    found["dataset"] = {"hash": dataset.get("hash"), "cases": dataset.get("cases")}
    found["variants"] = [(v.get("label"), v.get("template_hash")) for v in found["variants"] or []]
    return found


def _total(manifest: Mapping[str, Any]) -> int:
    dataset = manifest.get("dataset") or {}
    cases = int(dataset.get("cases") or 0)
    variants = len(manifest.get("variants") or [])
    models = len(manifest.get("models") or [None])
    return cases * variants * models * int(manifest.get("repeats") or 1)


def merge_run(target: Store, source: Store, run_id: str) -> Merged:
    """Add run ``run_id`` of ``source`` (one part of a sharded run, or any run) to
    ``target``: results the target lacks are added, final ones it has are kept.

    Raises:
        StoreError: the target's run of that id was another experiment.
    """
    if not (isinstance(target, Store) and isinstance(source, Store)):
        raise StoreError(
            "merge_run takes two open stores: merge_run(Store(target), Store(source), run_id)"
        )
    info = source.run(run_id)
    part = info.manifest.get("shard")
    if target.has_run(info.run_id):
        mine = target.run(info.run_id)
        try:
            ours, theirs = _identity(mine.manifest), _identity(info.manifest)
        except (TypeError, AttributeError, ValueError) as exc:
            raise StoreError(
                f"the record of run {info.run_id} is damaged ({exc}); merge from an intact copy"
            ) from exc
        different = [key for key in _SAME if ours[key] != theirs[key]]
        if different:
            raise StoreError(
                f"run {info.run_id} in {source.path} is not the same experiment as in "
                f"{target.path} (their {', '.join(different)} differ): merge only the parts "
                "of one run"
            )
        own = mine.manifest.get("shard")  # merging into one of the parts: it counts too
        shards = sorted(
            {*mine.manifest.get("shards", []), *([own] if own else []), *([part] if part else [])}
        )
        target.update_manifest(info.run_id, shard=None, shards=shards)
    else:
        manifest = dict(info.manifest) | {"shard": None, "shards": [part] if part else []}
        target.start_run(info.run_id, info.name, manifest)
    final = target.done(info.run_id)
    present = {row.key for row in target.results(info.run_id)}
    rows, kept = [], 0
    for row in source.results(info.run_id):
        if row.key in final or (row.key in present and transient(row.error)):
            kept += 1
        else:
            rows.append((row, None))
    target.add_many(rows)
    done, total = len(target.done(info.run_id)), _total(target.run(info.run_id).manifest)
    status = "finished" if total and done >= total else "incomplete"
    target.set_status(info.run_id, status)
    return Merged(info.run_id, len(rows), kept, done, total, status)

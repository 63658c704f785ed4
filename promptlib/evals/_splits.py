"""Splitting a dataset (e.g. into dev and test) without leaking inputs across splits.

Cases with the same inputs are grouped before anything is assigned, so a group always lands
in one split: a model is never scored on inputs it was tuned on. Within each stratum, groups
are ordered by a seeded hash of their inputs and dealt to the splits by the fractions
(largest-remainder quotas), so a split depends only on the cases and the seed, not on their
order in the file.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from typing import Any

from promptlib._errors import ConfigurationError
from promptlib._hashing import canonical_json, content_hash
from promptlib.evals._dataset import Case, Dataset
from promptlib.evals._errors import DatasetError

__all__ = ["check_leakage", "split"]

_MISSING = "\0missing"
# How many leaking inputs one error lists.
_LISTED = 10


def split(
    dataset: Dataset,
    fractions: Mapping[str, float],
    *,
    seed: int = 0,
    stratify: str | None = None,
) -> dict[str, Dataset]:
    """Split ``dataset`` by ``fractions``, e.g. ``{"dev": 0.2, "test": 0.8}``.

    Args:
        dataset: the cases to split.
        fractions: split name → share of the cases; the shares sum to 1.
        seed: another seed gives another, equally deterministic, split.
        stratify: split every stratum by the fractions, strata being the values of
            ``"expected"``, ``"tags"`` (a case's first tag), ``"input:<field>"`` or
            ``"metadata:<key>"``. Cases with the same inputs go together, in the stratum
            of the first of them. Each stratum's count in a split is its share rounded
            down or up, such that the split sizes stay the fractions of the whole.

    Returns:
        split name → a :class:`Dataset` named ``"<name>[<split>]"``, its cases in dataset
        order, for every name in ``fractions`` (in that order).

    Raises:
        ConfigurationError: the fractions do not sum to 1 or one is not a share in
            [0, 1]; ``stratify`` names no known field.
    """
    shares = _shares(fractions)
    stratum_of = _stratifier(stratify)
    groups: dict[str, list[Case]] = {}
    for case in dataset:
        groups.setdefault(inputs_key(case), []).append(case)
    strata: dict[str, list[str]] = {}
    for key, members in groups.items():
        strata.setdefault(stratum_of(members[0]), []).append(key)

    share_of = dict(shares)
    open_splits = [name for name, share in shares if share > 0]
    assigned: dict[str, str] = {}
    sizes = [sum(len(groups[key]) for key in keys) for keys in strata.values()]
    for keys, quotas in zip(strata.values(), _stratum_quotas(sizes, shares), strict=True):
        order = sorted(keys, key=lambda key: _draw(seed, key))
        filled = dict.fromkeys(quotas, 0)
        for key in order:
            # The split furthest below its quota; ties go to the larger share.
            target = max(
                open_splits,
                key=lambda name: (quotas[name] - filled[name], share_of[name]),
            )
            filled[target] += len(groups[key])
            for case in groups[key]:
                assigned[case.id] = target
    return {
        name: Dataset(
            f"{dataset.name}[{name}]",
            tuple(case for case in dataset if assigned.get(case.id) == name),
            dataset.path,
        )
        for name, _ in shares
    }


def check_leakage(splits: Mapping[str, Dataset]) -> None:
    """Check that no inputs appear in two splits.

    Raises:
        DatasetError: some inputs do; the message lists the case ids and their splits.
    """
    seen: dict[str, list[tuple[str, str]]] = {}
    for name, dataset in splits.items():
        for case in dataset:
            seen.setdefault(inputs_key(case), []).append((name, case.id))
    leaks = [found for found in seen.values() if len({name for name, _ in found}) > 1]
    if not leaks:
        return
    lines = [
        "  " + ", ".join(f"{case_id!r} ({name})" for name, case_id in found)
        for found in leaks[:_LISTED]
    ]
    more = f"\n  ... and {len(leaks) - _LISTED} more" if len(leaks) > _LISTED else ""
    raise DatasetError(
        f"{len(leaks)} inputs appear in more than one split, so a score on one split "
        "measures cases seen in another. Cases with the same inputs (each line):\n"
        + "\n".join(lines)
        + more
        + "\nSplit with promptlib.evals.split, which keeps equal inputs together, or remove "
        "the duplicates.",
        case_id=leaks[0][0][1],
    )


def inputs_key(case: Case) -> str:
    """The identity of a case's inputs: equal inputs, equal key."""
    return content_hash(dict(case.inputs))


def _draw(seed: int, key: str) -> str:
    return hashlib.sha256(f"{seed}\0{key}".encode()).hexdigest()


def _shares(fractions: Mapping[str, float]) -> list[tuple[str, float]]:
    if not isinstance(fractions, Mapping) or not fractions:
        raise ConfigurationError(
            'split() takes the fractions as a mapping, e.g. {"dev": 0.2, "test": 0.8}'
        )
    shares: list[tuple[str, float]] = []
    given: Mapping[Any, Any] = fractions
    for name, share in given.items():
        if not isinstance(name, str) or not name.strip():
            raise ConfigurationError(f"split names are non-empty text, got {name!r}")
        if (
            isinstance(share, bool)
            or not isinstance(share, (int, float))
            or not math.isfinite(share)
            or not 0 <= share <= 1
        ):
            raise ConfigurationError(
                f"the fraction of split {name!r} is {share!r}; a fraction is a number from 0 to 1"
            )
        shares.append((name, float(share)))
    total = math.fsum(share for _, share in shares)
    if abs(total - 1) > 1e-9:
        raise ConfigurationError(
            f"the fractions sum to {total:g}, not 1: "
            + ", ".join(f"{name}={share:g}" for name, share in shares)
        )
    return shares


def _quotas(total: int, shares: list[tuple[str, float]]) -> dict[str, int]:
    """``total`` cases shared out by largest remainder; ties go to the earlier split."""
    exact = [(name, total * share) for name, share in shares]
    quotas = {name: math.floor(value) for name, value in exact}
    left = total - sum(quotas.values())
    by_remainder = sorted(
        range(len(exact)), key=lambda i: (-(exact[i][1] - quotas[exact[i][0]]), i)
    )
    for i in by_remainder[:left]:
        quotas[exact[i][0]] += 1
    return quotas


def _stratum_quotas(sizes: list[int], shares: list[tuple[str, float]]) -> list[dict[str, int]]:
    """Each stratum's count in every split: the floor or the ceiling of its exact share,
    chosen so that the split totals are the largest-remainder quotas of the whole dataset.

    Rounding each stratum alone would drift: ten strata rounded up make a 30% split three
    cases too large. The strata's leftover cases are matched to the splits' leftover room
    (a bipartite matching, larger remainders tried first).
    """
    names = [name for name, _ in shares]
    totals = _quotas(sum(sizes), shares)
    exact = [[size * share for _, share in shares] for size in sizes]
    quotas = [{name: math.floor(x) for name, x in zip(names, row, strict=True)} for row in exact]
    room = {name: totals[name] - sum(q[name] for q in quotas) for name in names}
    holders: dict[str, set[int]] = {name: set() for name in names}
    preferences: list[list[str]] = []  # per stratum: splits where it may round up
    for row in exact:
        fraction = {name: x - math.floor(x) for name, x in zip(names, row, strict=True)}
        eligible = [name for name in names if fraction[name] > 1e-9]
        preferences.append(sorted(eligible, key=fraction.__getitem__, reverse=True))

    def place(stratum: int, tried: set[str]) -> bool:
        for name in preferences[stratum]:
            if name in tried or stratum in holders[name]:
                continue
            tried.add(name)
            if room[name] > 0:
                room[name] -= 1
                holders[name].add(stratum)
                return True
            for other in sorted(holders[name]):
                if place(other, tried):  # the other stratum moves to another split
                    holders[name].discard(other)
                    holders[name].add(stratum)
                    return True
        return False

    left = [size - sum(q.values()) for size, q in zip(sizes, quotas, strict=True)]
    for stratum in range(len(sizes)):
        while left[stratum] > 0 and place(stratum, set()):
            left[stratum] -= 1
    for name, strata in holders.items():
        for stratum in strata:
            quotas[stratum][name] += 1
    # Should the matching fall short, what is left goes wherever there is room.
    for stratum in range(len(sizes)):
        for name in names:
            extra = min(left[stratum], room[name])
            quotas[stratum][name] += extra
            left[stratum] -= extra
            room[name] -= extra
    return quotas


def _stratifier(stratify: str | None) -> Callable[[Case], str]:
    if stratify is None:
        return lambda case: ""
    kind, colon, name = stratify.partition(":") if isinstance(stratify, str) else ("", "", "")
    getter: Callable[[Case], Any]
    if stratify == "expected":
        getter = lambda case: case.expected  # noqa: E731
    elif stratify == "tags":
        getter = lambda case: case.tags[0] if case.tags else _MISSING  # noqa: E731
    elif colon and kind == "input" and name:
        getter = lambda case: case.inputs.get(name, _MISSING)  # noqa: E731
    elif colon and kind == "metadata" and name:
        getter = lambda case: case.metadata.get(name, _MISSING)  # noqa: E731
    else:
        raise ConfigurationError(
            f"stratify={stratify!r}: stratify by 'expected', 'tags' (the first tag), "
            "'input:<field>' or 'metadata:<key>'"
        )
    return lambda case: canonical_json(getter(case))


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib.evals", check_leakage, split)

"""Splits: fractions, determinism, stratification, and no inputs in two splits."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptlib import ConfigurationError
from promptlib.evals import Case, Dataset, DatasetError, check_leakage, split


def dataset_of(n: int, labels: tuple[str, ...] = ("a",), **extra: Any) -> Dataset:
    return Dataset(
        "tickets",
        tuple(
            Case(f"c{i}", {"ticket": f"text {i}"}, labels[i % len(labels)], **extra)
            for i in range(n)
        ),
    )


def test_split_sizes_names_and_order() -> None:
    dataset = dataset_of(10)
    parts = split(dataset, {"dev": 0.3, "test": 0.7})
    assert list(parts) == ["dev", "test"]
    assert [len(p) for p in parts.values()] == [3, 7]
    assert parts["dev"].name == "tickets[dev]"
    assert parts["test"].name == "tickets[test]"
    for part in parts.values():  # dataset order within each split
        positions = [dataset.ids.index(i) for i in part.ids]
        assert positions == sorted(positions)
    assert sorted(parts["dev"].ids + parts["test"].ids) == sorted(dataset.ids)


def test_largest_remainder_shares_out_every_case() -> None:
    parts = split(dataset_of(10), {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3})
    assert sorted(len(p) for p in parts.values()) == [3, 3, 4]
    assert len(split(dataset_of(7), {"a": 0.5, "b": 0.5})["a"]) == 4  # ties: the earlier


def test_a_zero_fraction_gets_nothing() -> None:
    parts = split(dataset_of(9), {"train": 0.0, "test": 1.0})
    assert (len(parts["train"]), len(parts["test"])) == (0, 9)


def test_split_is_deterministic_and_the_seed_matters() -> None:
    dataset = dataset_of(40)
    first = split(dataset, {"dev": 0.5, "test": 0.5}, seed=1)
    again = split(dataset, {"dev": 0.5, "test": 0.5}, seed=1)
    other = split(dataset, {"dev": 0.5, "test": 0.5}, seed=2)
    assert first["dev"].ids == again["dev"].ids
    assert first["dev"].ids != other["dev"].ids
    assert first["dev"].hash == again["dev"].hash


def test_the_split_does_not_depend_on_case_order() -> None:
    dataset = dataset_of(30)
    reversed_ = Dataset("tickets", dataset.cases[::-1])
    one = split(dataset, {"dev": 0.4, "test": 0.6}, seed=3)
    two = split(reversed_, {"dev": 0.4, "test": 0.6}, seed=3)
    assert set(one["dev"].ids) == set(two["dev"].ids)


@pytest.mark.parametrize(
    ("stratify", "key"),
    [
        ("expected", lambda c: c.expected),
        ("tags", lambda c: c.tags[0]),
        ("input:lang", lambda c: c.inputs["lang"]),
        ("metadata:source", lambda c: c.metadata["source"]),
    ],
)
def test_every_stratum_is_split_by_the_fractions(stratify: str, key: Any) -> None:
    labels = ["x"] * 30 + ["y"] * 10 + ["z"] * 5
    dataset = Dataset(
        "d",
        tuple(
            Case(
                f"c{i}",
                {"ticket": f"t{i}", "lang": label},
                label,
                tags=(label, "other"),
                metadata={"source": label},
            )
            for i, label in enumerate(labels)
        ),
    )
    parts = split(dataset, {"dev": 0.2, "test": 0.8}, seed=5, stratify=stratify)
    dev = Counter(key(c) for c in parts["dev"])
    assert dev == {"x": 6, "y": 2, "z": 1}


def test_cases_missing_the_stratum_field_form_their_own_stratum() -> None:
    dataset = Dataset(
        "d", tuple(Case(f"c{i}", {"t": i}, tags=("a",) if i < 4 else ()) for i in range(8))
    )
    parts = split(dataset, {"dev": 0.5, "test": 0.5}, stratify="tags")
    assert Counter(bool(c.tags) for c in parts["dev"]) == {True: 2, False: 2}


def test_stratifying_by_structured_values() -> None:
    dataset = Dataset(
        "d", tuple(Case(f"c{i}", {"t": i}, {"labels": ["a", "b"][: 1 + i % 2]}) for i in range(8))
    )
    parts = split(dataset, {"dev": 0.5, "test": 0.5}, stratify="expected")
    assert Counter(len(c.expected["labels"]) for c in parts["dev"]) == {1: 2, 2: 2}


def test_equal_inputs_land_in_the_same_split() -> None:
    cases = [Case(f"c{i}", {"ticket": f"text {i % 5}"}, "a") for i in range(20)]
    parts = split(Dataset("d", tuple(cases)), {"dev": 0.5, "test": 0.5})
    check_leakage(parts)
    for part in parts.values():
        texts = {c.inputs["ticket"] for c in part}
        other = next(p for p in parts.values() if p is not part)
        assert not texts & {c.inputs["ticket"] for c in other}


@pytest.mark.parametrize(
    ("fractions", "needle"),
    [
        ({"dev": 0.5, "test": 0.4}, "sum to 0.9, not 1"),
        ({"dev": 0.5, "test": 0.6}, "sum to 1.1"),
        ({}, "as a mapping"),
        ({"dev": -0.5, "test": 1.5}, "from 0 to 1"),
        ({"dev": float("nan"), "test": 1}, "from 0 to 1"),
        ({"dev": True, "test": 0}, "from 0 to 1"),
        ({"dev": "0.5", "test": 0.5}, "from 0 to 1"),
        ({"": 1.0}, "non-empty text"),
    ],
)
def test_bad_fractions_are_configuration_errors(fractions: Any, needle: str) -> None:
    with pytest.raises(ConfigurationError, match=needle):
        split(dataset_of(4), fractions)


@pytest.mark.parametrize("stratify", ["label", "input:", "metadata", "inputs:x", ""])
def test_an_unknown_stratify_field_is_a_configuration_error(stratify: str) -> None:
    with pytest.raises(ConfigurationError, match="stratify by 'expected'"):
        split(dataset_of(4), {"a": 1.0}, stratify=stratify)


def test_check_leakage_lists_the_cases_and_their_splits() -> None:
    dev = Dataset("d[dev]", (Case("a", {"t": "same"}), Case("b", {"t": "only dev"})))
    test = Dataset("d[test]", (Case("c", {"t": "same"}), Case("d", {"t": "only test"})))
    with pytest.raises(DatasetError) as info:
        check_leakage({"dev": dev, "test": test})
    message = str(info.value)
    assert "1 inputs appear in more than one split" in message
    assert "'a' (dev), 'c' (test)" in message
    assert info.value.case_id == "a"
    check_leakage({"dev": dev, "test": Dataset("x", (Case("d", {"t": "other"}),))})


def test_check_leakage_compares_inputs_canonically() -> None:
    one = Dataset("x", (Case("a", {"t": 1, "u": [1, 2]}),))
    two = Dataset("y", (Case("b", {"u": [1, 2], "t": 1}),))
    with pytest.raises(DatasetError):
        check_leakage({"x": one, "y": two})


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f", "g"]), min_size=1, max_size=40),
    labels=st.lists(st.sampled_from(["x", "y", "z"]), min_size=40, max_size=40),
    weights=st.lists(st.integers(0, 5), min_size=2, max_size=4).filter(any),
    seed=st.integers(0, 2**32),
    stratify=st.sampled_from([None, "expected"]),
)
def test_no_inputs_ever_land_in_two_splits(
    texts: list[str], labels: list[str], weights: list[int], seed: int, stratify: str | None
) -> None:
    dataset = Dataset(
        "d",
        tuple(Case(f"c{i}", {"ticket": t}, labels[i]) for i, t in enumerate(texts)),
    )
    total = sum(weights)
    fractions = {f"s{i}": w / total for i, w in enumerate(weights)}
    fractions[f"s{len(weights) - 1}"] = max(0.0, 1 - sum(list(fractions.values())[:-1]))
    parts = split(dataset, fractions, seed=seed, stratify=stratify)
    check_leakage(parts)
    assigned = [case.id for part in parts.values() for case in part]
    assert sorted(assigned) == sorted(dataset.ids)
    for name, part in parts.items():
        if fractions[name] == 0:
            assert len(part) == 0


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), dev=st.integers(0, 10), seed=st.integers(0, 1000))
def test_without_duplicates_the_sizes_are_the_largest_remainder_quotas(
    n: int, dev: int, seed: int
) -> None:
    parts = split(dataset_of(n), {"dev": dev / 10, "test": 1 - dev / 10}, seed=seed)
    exact = n * dev / 10
    assert abs(len(parts["dev"]) - exact) < 1
    assert len(parts["dev"]) + len(parts["test"]) == n


def test_stratified_totals_do_not_drift_from_the_fractions() -> None:
    # Ten strata of 6 and 7 cases: rounding each alone would give 0.3 of 68 as 23, not 20.
    sizes = [6, 9, 6, 6, 9, 9, 7, 6, 5, 5]
    labels = [f"label{s}" for s, size in enumerate(sizes) for _ in range(size)]
    dataset = Dataset("d", tuple(Case(f"c{i}", {"t": i}, label) for i, label in enumerate(labels)))
    parts = split(dataset, {"dev": 0.3, "test": 0.7}, stratify="expected")
    assert (len(parts["dev"]), len(parts["test"])) == (20, 48)
    for label, size in zip(sorted(set(labels)), sizes, strict=True):
        in_dev = sum(c.expected == label for c in parts["dev"])
        assert abs(in_dev - 0.3 * size) < 1


@settings(max_examples=80, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 12), min_size=1, max_size=8),
    weights=st.lists(st.integers(0, 7), min_size=2, max_size=4).filter(any),
    seed=st.integers(0, 100),
)
def test_stratified_quotas_match_the_whole_and_every_stratum(
    sizes: list[int], weights: list[int], seed: int
) -> None:
    total = sum(weights)
    fractions = {f"s{i}": w / total for i, w in enumerate(weights[:-1])}
    fractions[f"s{len(weights) - 1}"] = max(0.0, 1 - sum(fractions.values()))
    labels = [s for s, size in enumerate(sizes) for _ in range(size)]
    dataset = Dataset("d", tuple(Case(f"c{i}", {"t": i}, label) for i, label in enumerate(labels)))
    parts = split(dataset, fractions, seed=seed, stratify="expected")
    n = len(labels)
    for name, part in parts.items():
        assert abs(len(part) - n * fractions[name]) < 1
        for stratum, size in enumerate(sizes):
            count = sum(c.expected == stratum for c in part)
            assert abs(count - size * fractions[name]) <= 1
    assert sum(len(p) for p in parts.values()) == n

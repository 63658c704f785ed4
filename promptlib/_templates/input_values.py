"""What type validation lets through but a prompt cannot carry, checked in every input value.

Pydantic checks types; a prompt also needs its text to be valid Unicode (a lone surrogate
cannot be encoded, so it breaks ``to_json()`` and sending), its numbers printable (Python
refuses to print an integer of more than ~4,300 digits), its floats finite (NaN is not
JSON), its mapping keys text, and its rendering the same in every process (a set's order
changes between processes, so sets become sorted lists).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from promptlib._shown import short_repr
from promptlib._templates.limits import Limits

__all__ = ["ValueProblems", "check_values"]

_SURROGATE = re.compile("[\ud800-\udfff]")


class ValueProblems(Exception):
    """The ``(field path, problem)`` pairs found; never leaves promptlib."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__(problems)


class _Walk:
    def __init__(self, int_bits: int, int_digits: int, allow_inf_nan: bool) -> None:
        self.int_bits = int_bits
        self.int_digits = int_digits
        self.allow_inf_nan = allow_inf_nan
        self.problems: list[tuple[str, str]] = []

    def text(self, value: str, path: str) -> None:
        if not value.isascii():
            bad = _SURROGATE.search(value)
            if bad is not None:
                self.problems.append(
                    (
                        path,
                        f"contains a lone surrogate {bad.group()!a} at index "
                        f"{bad.start()}, which is not valid Unicode text and cannot be sent. "
                        "Decode the text with errors='replace' (or fix its source).",
                    )
                )

    def value(self, value: Any, path: str) -> Any:
        """Check ``value``; return it, or its deterministic equivalent (sets sorted)."""
        kind = type(value)
        if kind is str or isinstance(value, str):
            self.text(value, path)
        elif kind is bool or value is None:
            pass
        elif isinstance(value, int):
            if value.bit_length() > self.int_bits:
                self.problems.append(
                    (
                        path,
                        f"is an integer of more than {self.int_digits:,} digits, too large to "
                        "print in a prompt. Pass a smaller number (or the text you want shown).",
                    )
                )
        elif isinstance(value, float):
            if not self.allow_inf_nan and not math.isfinite(value):
                self.problems.append(
                    (
                        path,
                        f"is {value}, which is not a number a prompt (or JSON) can carry. Pass "
                        "a finite number, or allow it: model_config = "
                        "ConfigDict(allow_inf_nan=True).",
                    )
                )
        elif isinstance(value, Decimal):
            if not self.allow_inf_nan and not value.is_finite():
                self.problems.append(
                    (path, f"is {value}, which is not a number a prompt (or JSON) can carry")
                )
        elif isinstance(value, Iterator):
            self.problems.append(
                (
                    path,
                    f"is a {type(value).__name__}, which prints as its memory address, not its "
                    "items (and is used up once read). Pass a list.",
                )
            )
        elif isinstance(value, Mapping):
            return self.mapping(value, path)
        elif isinstance(value, (list, tuple)):
            items = [self.value(item, f"{path}.{i}") for i, item in enumerate(value)]
            if any(new is not old for new, old in zip(items, value, strict=True)):
                return type(value)(items) if isinstance(value, tuple) else items
        elif isinstance(value, (set, frozenset)):
            return self.set(value, path)
        else:
            self.model(value, path)
        return value

    def mapping(self, value: Mapping[Any, Any], path: str) -> Any:
        changed = {}
        for key, item in value.items():
            if not isinstance(key, str):
                self.problems.append(
                    (
                        path,
                        f"has the key {short_repr(key)} ({type(key).__name__}); keys of a "
                        "mapping in a "
                        "prompt must be text. Convert them with str().",
                    )
                )
                continue
            self.text(key, f"{path} (key {key[:20]!r})")
            new = self.value(item, f"{path}.{_short_key(key)}")
            if new is not item:
                changed[key] = new
        return {**value, **changed} if changed else value

    def set(self, value: set[Any] | frozenset[Any], path: str) -> Any:
        for item in value:
            self.value(item, f"{path}[]")
        try:
            return sorted(value)
        except TypeError:
            self.problems.append(
                (
                    path,
                    "is a set of values that cannot be sorted, so its order (and the prompt) "
                    "would change between processes. Pass a list in the order you want.",
                )
            )
            return value

    def model(self, value: Any, path: str) -> None:
        from pydantic import BaseModel

        if isinstance(value, BaseModel):
            for name, item in value.__dict__.items():
                if self.value(item, f"{path}.{name}") is not item:
                    self.problems.append(
                        (
                            f"{path}.{name}",
                            "is a set inside a nested model; its order would change between "
                            "processes. Type it as a list.",
                        )
                    )


def _short_key(key: str) -> str:
    """A mapping key as a path shows it: a long one cut (the path goes in messages)."""
    return key if len(key) <= _LONGEST_KEY else key[: _LONGEST_KEY - 3] + "..."


_LONGEST_KEY = 40


def check_values(
    values: Mapping[str, Any], limits: Limits, allow_inf_nan: frozenset[str]
) -> Mapping[str, Any]:
    """``values`` checked, with sets made sorted lists (the same mapping if none changed).

    ``allow_inf_nan`` names the fields that may hold NaN or infinity.

    Raises:
        ValueProblems: what is wrong, field by field.
    """
    changed: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    int_bits = limits.int_bits
    for name, value in values.items():
        # The common cases first, without a walk: this runs on every render.
        kind = type(value)
        if kind is str:
            if value.isascii() or _SURROGATE.search(value) is None:
                continue
        elif (kind is int and value.bit_length() <= int_bits) or kind is bool or value is None:
            continue
        walk = _Walk(int_bits, limits.int_digits, name in allow_inf_nan)
        try:
            new = walk.value(value, name)
        except RecursionError:
            walk.problems.append((name, "is nested too deeply to put in a prompt"))
            new = value
        problems += walk.problems
        if new is not value:
            changed[name] = new
    if problems:
        raise ValueProblems(problems)
    return {**values, **changed} if changed else values

"""Pickling and copying for frozen values (process pools, caches, ``copy.deepcopy``).

Read-only mappings (:class:`types.MappingProxyType`, which cannot be pickled) travel as
dicts and come back read-only. The argument model ``Tool.from_function`` makes at run
time, which pickle could not find again, is left out and comes back as ``None``: the tool
keeps its schema, and its calls' arguments parse into dicts. Copies keep every class.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

__all__ = ["GENERATED", "Picklable"]


@dataclass(frozen=True)
class _ReadOnly:
    data: dict[str, Any]


class Picklable:
    """A base for frozen values holding read-only mappings or classes made at run time."""

    __slots__ = ()

    def __getstate__(self) -> dict[str, Any]:
        return {name: _portable(value) for name, value in vars(self).items()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        vars(self).update(
            {
                name: MappingProxyType(value.data) if isinstance(value, _ReadOnly) else value
                for name, value in state.items()
            }
        )

    def __copy__(self) -> Any:
        copied = object.__new__(type(self))
        vars(copied).update(vars(self))
        return copied

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        # Classes (an output model, a tool's argument model) are kept as they are.
        copied = object.__new__(type(self))
        memo[id(self)] = copied
        vars(copied).update({name: _deep(value, memo) for name, value in vars(self).items()})
        return copied


def _deep(value: Any, memo: dict[int, Any]) -> Any:
    if isinstance(value, MappingProxyType):
        return MappingProxyType(copy.deepcopy(dict(value), memo))
    return copy.deepcopy(value, memo)


def _portable(value: Any) -> Any:
    if isinstance(value, MappingProxyType):
        return _ReadOnly(dict(value))
    if isinstance(value, type) and getattr(value, GENERATED, False):
        return None  # made by promptlib at run time: pickle could not find it again
    return value


# Marks a class promptlib made at run time (Tool.from_function's argument model).
GENERATED = "__promptlib_generated__"

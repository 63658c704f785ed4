"""Pickling and copying for frozen values (process pools, caches, ``copy.deepcopy``).

Read-only mappings (:class:`types.MappingProxyType`, which cannot be pickled) travel as
dicts and come back read-only. A class made at run time, which pickle cannot find by its
name (the argument model ``Tool.from_function`` builds), is left out and comes back as
``None``: the value keeps its schema, and its calls' arguments parse into dicts.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

__all__ = ["Picklable"]


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


def _portable(value: Any) -> Any:
    if isinstance(value, MappingProxyType):
        return _ReadOnly(dict(value))
    if isinstance(value, type) and not _findable(value):
        return None
    return value


def _findable(cls: type) -> bool:
    """Whether pickle can find ``cls`` by its module and name."""
    found: Any = sys.modules.get(cls.__module__)
    for part in cls.__qualname__.split("."):
        found = getattr(found, part, None)
    return found is cls

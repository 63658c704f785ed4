"""Pickling and copying for frozen values that hold read-only mappings
(:class:`types.MappingProxyType`, which cannot be pickled): the mappings travel as dicts
and come back read-only."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

__all__ = ["ReadOnlyMappings"]


@dataclass(frozen=True)
class _ReadOnly:
    data: dict[str, Any]


class ReadOnlyMappings:
    """A base for frozen values whose fields may be read-only mappings."""

    __slots__ = ()

    def __getstate__(self) -> dict[str, Any]:
        return {
            name: _ReadOnly(dict(value)) if isinstance(value, MappingProxyType) else value
            for name, value in vars(self).items()
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        vars(self).update(
            {
                name: MappingProxyType(value.data) if isinstance(value, _ReadOnly) else value
                for name, value in state.items()
            }
        )

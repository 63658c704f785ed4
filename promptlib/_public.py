"""Public classes and functions named as users import them: ``promptlib.Template``, not
the private module that defines it, in reprs, tracebacks, ``help()`` and pickles."""

from __future__ import annotations

import dataclasses
import inspect
import sys
import typing
from typing import Any

__all__ = ["named_as"]


def named_as(namespace: str, *objects: Any) -> None:
    """Give each object the module ``namespace`` (which must export it).

    A dataclass's own string annotations are resolved first, where they were written, so
    that ``typing.get_type_hints`` and pydantic still resolve them once the module name
    no longer leads back to that module's globals.
    """
    for obj in objects:
        if isinstance(obj, type) and dataclasses.is_dataclass(obj):
            _resolve_annotations(obj)
        obj.__module__ = namespace


def _resolve_annotations(cls: type) -> None:
    own = inspect.get_annotations(cls)
    if not any(isinstance(value, str) for value in own.values()):
        return
    module = sys.modules[cls.__module__]
    try:
        hints = typing.get_type_hints(cls, vars(module), include_extras=True)
    except Exception:  # a name only imported for type checkers: left as it was
        return
    cls.__annotations__ = {name: hints.get(name, value) for name, value in own.items()}
    for each in dataclasses.fields(cls):  # what pydantic reads for a dataclass's fields
        if isinstance(each.type, str) and each.name in hints:
            each.type = hints[each.name]

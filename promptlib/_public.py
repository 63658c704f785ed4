"""Public classes and functions named as users import them: ``promptlib.Template``, not
the private module that defines it, in reprs, tracebacks, ``help()`` and pickles."""

from __future__ import annotations

import dataclasses
import inspect
import sys
from typing import Any

__all__ = ["named_as"]


def named_as(namespace: str, *objects: Any) -> None:
    """Give each object the module ``namespace`` (which must export it).

    A class's own string annotations are resolved first, where they were written, so that
    ``typing.get_type_hints`` and pydantic still resolve them once the module name no
    longer leads back to that module's globals.
    """
    for obj in objects:
        if isinstance(obj, type):
            _resolve_annotations(obj)
        obj.__module__ = namespace


def _resolve_annotations(cls: type) -> None:
    own = inspect.get_annotations(cls)
    if not any(isinstance(value, str) for value in own.values()):
        return
    scope = vars(sys.modules[cls.__module__])
    resolved = {name: _resolved(value, scope, cls) for name, value in own.items()}
    cls.__annotations__ = resolved
    if dataclasses.is_dataclass(cls):
        for each in dataclasses.fields(cls):  # what pydantic reads for a dataclass's fields
            if isinstance(each.type, str) and not isinstance(resolved.get(each.name), str):
                each.type = resolved[each.name]


def _resolved(annotation: Any, scope: dict[str, Any], cls: type) -> Any:
    """An annotation written as text (``from __future__ import annotations``) as the type
    it names, evaluated as ``typing.get_type_hints`` would; left as text when it names
    something imported only for type checkers."""
    if not isinstance(annotation, str):
        return annotation
    try:
        return eval(annotation, scope, dict(vars(cls)))  # our own annotations, as typing does
    except Exception:
        return annotation

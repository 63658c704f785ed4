"""Typed generation parameters, shared by templates, prompts and providers."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from typing_extensions import TypedDict

from promptlib.errors import TemplateError

__all__ = ["Params", "check_params"]


class Params(TypedDict, total=False):
    """Generation parameters a template may set as defaults.

    Every provider maps these to its own names. Anything else goes in ``extra``, passed
    to the provider as is.
    """

    temperature: float
    top_p: float
    max_tokens: int
    stop: list[str]
    seed: int
    presence_penalty: float
    frequency_penalty: float
    extra: dict[str, Any]


_TYPES: dict[str, tuple[type, ...]] = {
    "temperature": (int, float),
    "top_p": (int, float),
    "max_tokens": (int,),
    "stop": (list, tuple),
    "seed": (int,),
    "presence_penalty": (int, float),
    "frequency_penalty": (int, float),
    "extra": (dict,),
}


def check_params(params: Mapping[str, Any] | None, template: str) -> dict[str, Any]:
    """Return ``params`` as a plain dict, or raise :class:`TemplateError` naming the bad key."""
    if not params:
        return {}
    for key, value in params.items():
        if key not in _TYPES:
            hint = difflib.get_close_matches(key, list(_TYPES), n=1)
            fix = f"did you mean {hint[0]!r}? " if hint else ""
            raise TemplateError(
                f"unknown parameter {key!r}; {fix}Known: {', '.join(_TYPES)}. Put "
                "provider-specific fields in extra={...}.",
                template=template,
            )
        if isinstance(value, bool) or not isinstance(value, _TYPES[key]):
            kinds = " or ".join(t.__name__ for t in _TYPES[key])
            raise TemplateError(
                f"parameter {key!r} must be {kinds}, got {value!r}", template=template
            )
    out = dict(params)
    if "stop" in out:
        out["stop"] = list(out["stop"])
    return out

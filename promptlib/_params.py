"""Typed generation parameters, shared by templates, prompts and providers."""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from typing import Any

from typing_extensions import TypedDict

from promptlib._errors import TemplateError
from promptlib._shown import short_repr

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
_KINDS = {
    "max_tokens": "a positive integer",
    "seed": "an integer",
    "stop": "a list of strings",
    "extra": "a mapping of provider-specific fields",
}
_KINDS.update({name: "a number" for name in _TYPES if name not in _KINDS})
# The range every provider accepts (a number outside is refused by all of them).
_RANGES: dict[str, tuple[float, float]] = {
    "temperature": (0, 2),
    "top_p": (0, 1),
    "max_tokens": (1, 2**31 - 1),
    "seed": (-(2**63), 2**63 - 1),
    "presence_penalty": (-2, 2),
    "frequency_penalty": (-2, 2),
}


def check_params(params: Mapping[str, Any] | None, label: str) -> dict[str, Any]:
    """``params`` as a plain dict, checked: known names, right types, finite numbers in
    range (``max_tokens`` a positive int).

    Raises:
        TemplateError: naming ``label`` (as its ``template``) and the bad parameter, with
            a did-you-mean for a misspelt name; ``reason`` has the message alone.
    """
    if not params:
        return {}
    if not isinstance(params, Mapping):
        raise TemplateError(
            f"params must be a mapping of names to values, got {short_repr(params)}",
            template=label,
        )
    for key, value in params.items():
        problem = _problem(key, value)
        if problem:
            raise TemplateError(problem, template=label)
    out = dict(params)
    if "stop" in out:
        out["stop"] = list(out["stop"])
    return out


def _problem(key: Any, value: Any) -> str | None:
    if key not in _TYPES:
        hint = difflib.get_close_matches(key, list(_TYPES), n=1) if isinstance(key, str) else []
        fix = f"did you mean {hint[0]!r}? " if hint else ""
        return (
            f"unknown parameter {short_repr(key)}; {fix}Known: {', '.join(_TYPES)}. Put "
            "provider-specific fields in extra={...}."
        )
    if isinstance(value, bool) or not isinstance(value, _TYPES[key]):
        return f"parameter {key!r} must be {_KINDS[key]}, got {short_repr(value)}"
    return _value_problem(key, value)


def _value_problem(key: str, value: Any) -> str | None:
    if key in _RANGES:
        low, high = _RANGES[key]
        if isinstance(value, float) and not math.isfinite(value):
            return f"parameter {key!r} must be a finite number, got {short_repr(value)}"
        if key == "max_tokens" and value < low:
            return f"parameter 'max_tokens' must be a positive integer, got {short_repr(value)}"
        if not low <= value <= high:
            return f"parameter {key!r} must be between {low} and {high}, got {short_repr(value)}"
    if key == "stop" and not all(isinstance(s, str) and s for s in value):
        return f"parameter 'stop' must be a list of non-empty strings, got {short_repr(value)}"
    if key == "extra" and not all(isinstance(name, str) for name in value):
        return f"parameter 'extra' must have text keys, got {short_repr(value)}"
    return None


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib", Params)

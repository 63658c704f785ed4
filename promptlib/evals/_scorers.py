"""Scoring a completion against a case: :class:`Score`, the :class:`Scorer` protocol,
:func:`run_scorer`, and the built-in scorers.

A score's ``value`` is in [0, 1]; pass/fail scorers also set ``passed``. Outputs are
compared as JSON: a pydantic output as ``model_dump(mode="json")``. Scorers that take a
``field`` read a dotted path (``"a.b"``, list items by number: ``"items.0"``) of the
output; when the case's ``expected`` is an object holding the same path, that is compared,
otherwise the whole ``expected`` is (so ``exact("label")`` works with ``expected: "Billing"``
and with ``expected: {"label": "Billing", ...}``).

A scorer raising is not the model failing: :func:`run_scorer` turns the exception into a
:class:`Score` with ``value=None`` and ``error`` set, and never raises.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import math
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from promptlib._errors import ConfigurationError, ToolArgumentsError
from promptlib._hashing import canonical_json
from promptlib._regex_safety import MAX_MATCHED_LENGTH, backtracking_problem
from promptlib._tokens.cost import Usage  # at run time: get_type_hints(Score) resolves it
from promptlib.evals._dataset import Case
from promptlib.evals._errors import DatasetError

if TYPE_CHECKING:
    from promptlib._providers.completion import Completion

__all__ = [
    "MAX_PATTERN_LENGTH",
    "Score",
    "Scorer",
    "contains",
    "exact",
    "function",
    "json_schema_valid",
    "numeric",
    "one_of",
    "regex",
    "run_scorer",
    "set_f1",
]

MAX_PATTERN_LENGTH = 1_000
_SHOWN = 200  # characters of a value quoted in a reason


@dataclass(frozen=True)
class Score:
    """What a scorer made of one completion.

    Attributes:
        name: the scorer's name, e.g. ``"exact:label"``.
        value: in [0, 1]; ``None`` when the scorer errored.
        passed: the verdict of a pass/fail scorer.
        reason: why, in a few words.
        error: ``"ExceptionType: message"`` when the scorer raised.
        usage: an LLM judge's own tokens.
        cost: an LLM judge's own cost in US dollars (``None``: unknown or none).
    """

    name: str
    value: float | None
    passed: bool | None = None
    reason: str | None = None
    error: str | None = None
    usage: Usage | None = None
    cost: Decimal | None = None


@runtime_checkable
class Scorer(Protocol):
    """Anything with a ``name`` and an async ``score(case, completion)`` returning a Score."""

    name: str

    async def score(self, case: Case, completion: Completion[Any]) -> Score: ...


async def run_scorer(scorer: Scorer, case: Case, completion: Completion[Any]) -> Score:
    """Score one completion; never raises.

    An exception in the scorer, or a result that is not a :class:`Score` with a value in
    [0, 1] (e.g. ``1.5`` or ``"yes"``), becomes ``Score(name, None, error=...)`` naming the
    scorer.
    """
    name = getattr(scorer, "name", None)
    name = _storable(name) if isinstance(name, str) and name else type(scorer).__name__
    try:
        result: Any = scorer.score(case, completion)
        if inspect.isawaitable(result):
            result = await result
    except (KeyboardInterrupt, asyncio.CancelledError, GeneratorExit):
        raise
    except BaseException as exc:  # SystemExit too: a scorer never ends the run
        return Score(name, None, error=_storable(f"{type(exc).__name__}: {_safe_str(exc)}"))
    problem = _problem(name, result)
    if problem is not None:
        return Score(name, None, error=_storable(problem))
    score: Score = result
    value: Any = score.value
    if isinstance(value, int):
        score = dataclasses.replace(score, value=float(value))
    if isinstance(score.reason, str) and score.reason != _storable(score.reason):
        score = dataclasses.replace(score, reason=_storable(score.reason))
    if isinstance(score.error, str) and score.error != _storable(score.error):
        score = dataclasses.replace(score, error=_storable(score.error))
    return score


def _storable(text: str) -> str:
    """``text`` as it can be stored: lone surrogates replaced, at most 10,000 characters."""
    return text.encode("utf-8", "replace").decode("utf-8")[:10_000]


def _safe_str(value: object) -> str:
    try:
        return str(value)
    except Exception:  # a value whose str() itself fails, or an integer too long to print
        return f"<{type(value).__name__}>"


def _short(value: object) -> str:
    try:
        shown = repr(value)
    except Exception:
        return f"<{type(value).__name__}>"
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _problem(name: str, result: Any) -> str | None:
    if not isinstance(result, Score):
        return (
            f"TypeError: scorer {name!r} returned {_type(result)}, not a Score; return "
            "Score(name, value) with a value in [0, 1]"
        )
    value = result.value
    if value is None:
        if result.error is None:
            return f"ValueError: scorer {name!r} returned no value and no error"
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return (
            f"TypeError: scorer {name!r} returned the value {_short(value)}; a value is a "
            "number in [0, 1]"
        )
    # Integers are compared as they are: a huge one cannot even become a float.
    in_range = (
        0 <= value <= 1 if isinstance(value, int) else math.isfinite(value) and 0 <= value <= 1
    )
    if not in_range:
        return f"ValueError: scorer {name!r} returned the value {_short(value)}, outside [0, 1]"
    passed: Any = result.passed
    reason: Any = result.reason
    if passed is not None and not isinstance(passed, bool):
        return (
            f"TypeError: scorer {name!r} returned passed={_short(passed)}; passed is a bool or None"
        )
    if reason is not None and not isinstance(reason, str):
        return f"TypeError: scorer {name!r} returned reason={_short(reason)}; a reason is text"
    return None


# --- reading outputs and expectations ---------------------------------------------------------


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


def as_json(value: Any) -> Any:
    """``value`` as JSON data: pydantic models dumped, tuples as lists."""
    if hasattr(value, "model_dump") and hasattr(type(value), "model_fields"):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {key: as_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_json(item) for item in value]
    return value


def at_path(value: Any, path: str) -> Any:
    """The value at the dotted ``path`` in JSON data, or ``MISSING``."""
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return MISSING
    return value


def reply_output(completion: Completion[Any]) -> Any:
    """What a reply is scored (and stored) as: its output, or, for a reply that calls
    tools, ``{"tool_calls": [{"name": ..., "arguments": {...}}, ...]}`` (arguments that
    are not a JSON object kept as their text), so a case can expect the right call."""
    if completion.output is not None or not completion.tool_calls:
        return completion.output
    calls = []
    for call in completion.tool_calls:
        try:
            arguments: Any = call.input
        except ToolArgumentsError:  # not a JSON object: kept as written
            arguments = call.arguments
        calls.append({"name": call.name, "arguments": arguments})
    return {"tool_calls": calls}


def _output(completion: Completion[Any], field: str | None) -> Any:
    output = as_json(reply_output(completion))
    return output if field is None else at_path(output, field)


def _answer(completion: Completion[Any]) -> str:
    """The answer as text: a text output (a chain-of-thought reply's final answer), else
    the reply's text."""
    output = completion.output
    return output if isinstance(output, str) else completion.text


def _expected(case: Case, field: str | None, scorer: str) -> Any:
    """The expected value for ``field``: the same path in an object ``expected``, else all
    of it."""
    expected = as_json(case.expected)
    if expected is None:
        raise DatasetError.at(
            case.source,
            f"case {case.id!r} has no 'expected' value, which the scorer {scorer!r} compares "
            "with; add one to the case",
            case_id=case.id,
            field="expected",
        )
    if field is not None and isinstance(expected, Mapping):
        found = at_path(expected, field)
        if found is not MISSING:
            return found
    return expected


def same(a: Any, b: Any) -> bool:
    """JSON equality: ``True`` is not ``1``, ``1`` is ``1.0``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(same(a[key], b[key]) for key in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (Mapping, list)) or isinstance(b, (Mapping, list)):
        return False
    return bool(a == b)


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else canonical_json(value)
    text = repr(text) if isinstance(value, str) else text
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else canonical_json(value)


def _verdict(name: str, passed: bool, reason: str | None = None) -> Score:
    return Score(name, 1.0 if passed else 0.0, passed=passed, reason=reason)


def _no_field(name: str, field: str | None) -> Score:
    return _verdict(name, False, f"the output has no field {field!r}")


def _named(kind: str, field: str | None, name: str | None = None) -> str:
    if name is not None:
        if not isinstance(name, str) or not name.strip():
            raise ConfigurationError(f"a scorer's name is non-empty text, got {name!r}")
        return name
    if field is not None and (not isinstance(field, str) or not field.strip()):
        raise ConfigurationError(
            f"field= is a dotted path into the output such as 'label' or 'a.b', got {field!r}"
        )
    return f"{kind}:{field}" if field else kind


# --- the built-in scorers ---------------------------------------------------------------------


class _Exact:
    def __init__(self, field: str | None) -> None:
        self.name = _named("exact", field)
        self.field = field

    async def score(self, case: Case, completion: Completion[Any]) -> Score:
        got = _output(completion, self.field)
        if got is MISSING:
            return _no_field(self.name, self.field)
        want = _expected(case, self.field, self.name)
        if same(_strip(got), _strip(want)):
            return _verdict(self.name, True)
        return _verdict(self.name, False, f"expected {_show(want)}, got {_show(got)}")


def exact(field: str | None = None) -> Scorer:
    """Passes when the output (or its ``field``) equals the case's expected value.

    Compared as JSON (a pydantic output as ``model_dump(mode="json")``); text is compared
    without surrounding whitespace. Named ``"exact"`` or ``"exact:<field>"``.
    """
    return _Exact(field)


class _Contains:
    def __init__(self, text: str, field: str | None, case_sensitive: bool, name: str | None):
        if not isinstance(text, str) or not text:
            raise ConfigurationError(f"contains() needs non-empty text to look for, got {text!r}")
        self.name = _named("contains", field, name)
        self.text = text
        self.field = field
        self.case_sensitive = case_sensitive

    async def score(self, case: Case, completion: Completion[Any]) -> Score:
        got = _answer(completion) if self.field is None else _output(completion, self.field)
        if got is MISSING:
            return _no_field(self.name, self.field)
        haystack, needle = _text(got), self.text
        if not self.case_sensitive:
            haystack, needle = haystack.casefold(), needle.casefold()
        if needle in haystack:
            return _verdict(self.name, True)
        return _verdict(self.name, False, f"{self.text!r} not found in {_show(got)}")


def contains(
    text: str, *, field: str | None = None, case_sensitive: bool = False, name: str | None = None
) -> Scorer:
    """Passes when the answer (a text output, else the reply's text) or the output's
    ``field`` contains ``text``.

    Case-insensitive unless ``case_sensitive``. Named ``"contains"`` or
    ``"contains:<field>"`` unless ``name`` is given.
    """
    return _Contains(text, field, case_sensitive, name)


class _Regex:
    def __init__(self, pattern: str, field: str | None, name: str | None) -> None:
        if not isinstance(pattern, str):
            raise ConfigurationError(f"regex() takes the pattern as text, got {_type(pattern)}")
        if len(pattern) > MAX_PATTERN_LENGTH:
            raise ConfigurationError(
                f"the regex pattern is {len(pattern):,} characters long, over the limit of "
                f"{MAX_PATTERN_LENGTH:,}; use a shorter pattern, or function() for complex checks"
            )
        try:
            self.pattern = re.compile(pattern)
        except re.error as exc:
            raise ConfigurationError(f"the regex {pattern!r} is invalid: {exc}") from exc
        problem = backtracking_problem(pattern)
        if problem is not None:  # it could take hours on one answer, blocking the run
            raise ConfigurationError(f"regex(): {problem}")
        self.name = _named("regex", field, name)
        self.field = field

    async def score(self, case: Case, completion: Completion[Any]) -> Score:
        got = _answer(completion) if self.field is None else _output(completion, self.field)
        if got is MISSING:
            return _no_field(self.name, self.field)
        text = _text(got)
        if len(text) > MAX_MATCHED_LENGTH:
            return _verdict(
                self.name, False, f"the answer is over {MAX_MATCHED_LENGTH:,} characters"
            )
        from promptlib._validation import PATTERN_SECONDS, bounded_pattern

        try:
            matched = bounded_pattern(self.pattern.pattern).search(text, timeout=PATTERN_SECONDS)
        except TimeoutError:
            return _verdict(
                self.name, False, f"/{self.pattern.pattern}/ took over {PATTERN_SECONDS} s"
            )
        if matched:
            return _verdict(self.name, True)
        return _verdict(self.name, False, f"no match for /{self.pattern.pattern}/ in {_show(got)}")


def regex(pattern: str, *, field: str | None = None, name: str | None = None) -> Scorer:
    """Passes when ``pattern`` matches somewhere in the answer (a text output, else the
    reply's text) or the output's ``field``.

    The pattern is compiled once; patterns over 1,000 characters are refused. Named
    ``"regex"`` or ``"regex:<field>"`` unless ``name`` is given.
    """
    return _Regex(pattern, field, name)


class _JsonSchemaValid:
    name = "json_schema"

    def __init__(self, schema: Mapping[str, Any] | None) -> None:
        self.schema = dict(schema) if schema is not None else None
        if self.schema is not None:
            from promptlib._validation import schema_problem

            found = schema_problem(self.schema)
            if found is not None:
                raise ConfigurationError(f"json_schema_valid(schema=...): the schema {found[0]}")

    async def score(self, case: Case, completion: Completion[Any]) -> Score:
        from promptlib._validation import schema_violations

        schema = self.schema
        if schema is None:
            spec = completion.prompt.output if completion.prompt is not None else None
            if spec is None:
                raise ConfigurationError(
                    "json_schema_valid(): the completion's prompt has no output schema; pass "
                    "schema=..."
                )
            schema = spec.schema
        value = completion.output
        if isinstance(value, str):
            from promptlib.evals._readers import parse_json

            try:
                value = parse_json(value)
            except ValueError as exc:
                return _verdict(self.name, False, f"the reply is {exc}")
        violations = schema_violations(schema, as_json(value))
        if not violations:
            return _verdict(self.name, True)
        more = f" (and {len(violations) - 3} more)" if len(violations) > 3 else ""
        return _verdict(self.name, False, "; ".join(violations[:3]) + more)


def json_schema_valid(schema: Mapping[str, Any] | None = None) -> Scorer:
    """Passes when the output (a text output parsed as JSON) matches the JSON ``schema``;
    by default the prompt's own output schema. Named ``"json_schema"``."""
    return _JsonSchemaValid(schema)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


class _Numeric:
    def __init__(self, field: str | None, abs_tol: float, rel_tol: float) -> None:
        for label, tol in (("abs_tol", abs_tol), ("rel_tol", rel_tol)):
            if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol >= 0:
                raise ConfigurationError(f"numeric({label}={tol!r}): a tolerance is a number >= 0")
        self.name = _named("numeric", field)
        self.field = field
        self.abs_tol = float(abs_tol)
        self.rel_tol = float(rel_tol)

    async def score(self, case: Case, completion: Completion[Any]) -> Score:
        got = _output(completion, self.field)
        if got is MISSING:
            return _no_field(self.name, self.field)
        raw_want = _expected(case, self.field, self.name)
        want = _number(raw_want)
        if want is None:
            raise DatasetError.at(
                case.source,
                f"case {case.id!r}: expected {_show(raw_want)} is not a number, which "
                f"{self.name!r} compares with",
                case_id=case.id,
                field="expected",
            )
        number = _number(got)
        if number is None:
            return _verdict(self.name, False, f"the output {_show(got)} is not a number")
        if math.isclose(number, want, rel_tol=self.rel_tol, abs_tol=self.abs_tol):
            return _verdict(self.name, True)
        return _verdict(self.name, False, f"expected {want:g}, got {number:g}")


def numeric(field: str | None = None, *, abs_tol: float = 0.0, rel_tol: float = 0.0) -> Scorer:
    """Passes when the output (or its ``field``) is a number (or numeric text) within
    ``abs_tol`` or ``rel_tol`` of the expected one. Named ``"numeric"`` or
    ``"numeric:<field>"``."""
    return _Numeric(field, abs_tol, rel_tol)


class _OneOf:
    def __init__(self, values: Sequence[Any] | None, field: str | None) -> None:
        if values is not None and (
            isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values
        ):
            raise ConfigurationError(
                f"one_of(values=...) takes a non-empty list of acceptable answers, got {values!r}"
            )
        self.values = None if values is None else [_strip(as_json(v)) for v in values]
        self.name = _named("one_of", field)
        self.field = field

    async def score(self, case: Case, completion: Completion[Any]) -> Score:
        got = _output(completion, self.field)
        if got is MISSING:
            return _no_field(self.name, self.field)
        values = self.values
        if values is None:
            expected = as_json(case.expected)
            if not isinstance(expected, list) or not expected:
                raise DatasetError.at(
                    case.source,
                    f"case {case.id!r}: expected is {_show(expected)}; {self.name!r} without "
                    "values= needs expected to be a list of acceptable answers",
                    case_id=case.id,
                    field="expected",
                )
            values = [_strip(v) for v in expected]
        if any(same(_strip(got), value) for value in values):
            return _verdict(self.name, True)
        return _verdict(self.name, False, f"{_show(got)} is not one of {_show(values)}")


def one_of(values: Sequence[Any] | None = None, *, field: str | None = None) -> Scorer:
    """Passes when the output (or its ``field``) equals one of ``values``; by default the
    case's ``expected`` is the list of acceptable answers. Named ``"one_of"`` or
    ``"one_of:<field>"``."""
    return _OneOf(values, field)


class _SetF1:
    def __init__(self, field: str | None, key: str | None, case_sensitive: bool) -> None:
        self.name = _named("set_f1", field)
        self.field = field
        self.key = key
        self.case_sensitive = case_sensitive

    def _items(self, values: list[Any]) -> set[str]:
        items: set[str] = set()
        for value in values:
            if self.key is not None and isinstance(value, Mapping):
                value = value.get(self.key, MISSING)
                if value is MISSING:
                    items.add(f"\0item without {self.key!r} #{len(items)}")  # matches nothing
                    continue
            if isinstance(value, str):
                value = value.strip() if self.case_sensitive else value.strip().casefold()
                items.add(value)
            else:
                items.add(canonical_json(value))
        return items

    async def score(self, case: Case, completion: Completion[Any]) -> Score:
        got = _output(completion, self.field)
        if got is MISSING:
            return Score(self.name, 0.0, reason=f"the output has no field {self.field!r}")
        if not isinstance(got, list):
            return Score(self.name, 0.0, reason=f"the output {_show(got)} is not a list")
        want = _expected(case, self.field, self.name)
        if not isinstance(want, list):
            raise DatasetError.at(
                case.source,
                f"case {case.id!r}: expected {_show(want)} is not a list, which {self.name!r} "
                "compares with",
                case_id=case.id,
                field="expected",
            )
        predicted, gold = self._items(got), self._items(want)
        hits = len(predicted & gold)
        precision = hits / len(predicted) if predicted else float(not gold)
        recall = hits / len(gold) if gold else float(not predicted)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        reason = f"P={precision:.2f} R={recall:.2f} F1={f1:.2f}"
        missing, extra = sorted(gold - predicted), sorted(predicted - gold)
        if missing:
            reason += f"; missing {_show(missing)}"
        if extra:
            reason += f"; extra {_show(extra)}"
        return Score(self.name, f1, reason=reason)


def set_f1(
    field: str | None = None, *, key: str | None = None, case_sensitive: bool = False
) -> Scorer:
    """F1 between the output's list (or its ``field``) and the expected list, as sets.

    With ``key``, list items that are objects count by their ``key`` value. Text items are
    compared without surrounding whitespace and, unless ``case_sensitive``, case-folded.
    Two empty lists score 1. ``reason`` gives precision, recall and F1, and what was missed
    or extra. Named ``"set_f1"`` or ``"set_f1:<field>"``.
    """
    return _SetF1(field, key, case_sensitive)


ScoreResult = bool | float | tuple[Any, str | None] | Score


class _Function:
    def __init__(self, fn: Callable[..., Any], name: str | None) -> None:
        if not callable(fn):
            raise ConfigurationError(f"function() takes a callable, got {_type(fn)}")
        default = getattr(fn, "__name__", "") or "function"
        self.name = _named(
            "function", None, name or ("function" if default == "<lambda>" else default)
        )
        self.fn = fn
        self.by_output = False
        try:
            signature = inspect.signature(fn)
        except (TypeError, ValueError):
            return
        try:
            signature.bind(None, None)
        except TypeError as exc:
            raise ConfigurationError(
                f"function({default}): the scorer is called with two arguments, (case, "
                f"completion) or (output, expected); {exc}"
            ) from exc
        positional = [
            p.name
            for p in signature.parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        self.by_output = positional[:2] == ["output", "expected"]

    async def score(self, case: Case, completion: Completion[Any]) -> Score:
        if self.by_output:
            result = self.fn(reply_output(completion), case.expected)
        else:
            result = self.fn(case, completion)
        if inspect.isawaitable(result):
            result = await result
        return _as_score(self.name, result)


def _as_score(name: str, result: Any) -> Score:
    if isinstance(result, Score):
        return dataclasses.replace(result, name=name)
    if isinstance(result, bool):
        return _verdict(name, result)
    if isinstance(result, (int, float)):
        return Score(name, result)  # run_scorer checks the range
    if isinstance(result, tuple) and len(result) == 2:
        value, reason = result
        if not isinstance(value, (bool, int, float)):
            raise TypeError(
                f"scorer {name!r} returned ({value!r}, reason); the value is a bool or a number"
            )
        if reason is not None and not isinstance(reason, str):
            raise TypeError(f"scorer {name!r} returned the reason {reason!r}; a reason is text")
        return dataclasses.replace(_as_score(name, value), reason=reason)
    raise TypeError(
        f"scorer {name!r} returned {_type(result)}; return a bool, a number in [0, 1], a "
        "(value, reason) pair or a Score"
    )


def function(
    fn: Callable[..., ScoreResult | Awaitable[ScoreResult]], *, name: str | None = None
) -> Scorer:
    """A scorer from any function, sync or async.

    It is called as ``fn(case, completion)``, or as ``fn(output, expected)`` when its first
    two parameters are named ``output`` and ``expected`` (the completion's output as parsed,
    e.g. a pydantic model, and the case's expected value). It returns a bool (pass/fail), a
    number in [0, 1], a ``(value, reason)`` pair, or a :class:`Score`. Named ``name``, else
    after the function.
    """
    return _Function(fn, name)


# --- the LLM judge ----------------------------------------------------------------------------


def _type(value: Any) -> str:
    return (
        f"a {type(value).__name__} ({value!r})"
        if isinstance(value, (str, int, float))
        else f"a {type(value).__name__}"
    )


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as(
    "promptlib.evals",
    Score,
    Scorer,
    contains,
    exact,
    function,
    json_schema_valid,
    numeric,
    one_of,
    regex,
    run_scorer,
    set_f1,
)

"""Spotting regular expressions that backtrack catastrophically.

Python's ``re`` (which jsonschema and fastjsonschema use for ``pattern``) has no timeout:
``^(a+)+$`` against ``"aaaa…a!"`` takes time exponential in the length of the text. The
cause is almost always a quantifier over something that itself matches a variable amount
in several ways: a nested quantifier (``(a+)+``, ``(a*)*``, ``(\\w+\\s?)*``) or an
alternation whose branches overlap (``(a|a)*``, ``(\\w|\\d)+``). Such patterns are refused
where they are defined, before any text reaches them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import lru_cache
from typing import Any

__all__ = ["MAX_MATCHED_LENGTH", "backtracking_problem"]

# How much text a schema pattern is matched against at most (a longer string is refused
# before the pattern runs), so even a pattern this check misses stays bounded.
MAX_MATCHED_LENGTH = 100_000

try:  # Python 3.11 and later
    _parser: Any = importlib.import_module("re._parser")
    _c: Any = importlib.import_module("re._constants")
except ImportError:  # pragma: no cover - Python 3.10
    _parser = importlib.import_module("sre_parse")
    _c = importlib.import_module("sre_constants")

_REPEATS = (_c.MAX_REPEAT, _c.MIN_REPEAT)
_POSSESSIVE = getattr(_c, "POSSESSIVE_REPEAT", object())  # Python 3.11 and later
_ATOMIC = getattr(_c, "ATOMIC_GROUP", object())
# Outer repeats with at most this many iterations stay polynomial and small.
_FEW = 10
# The characters set overlap is judged on: ASCII and Latin-1, plus a few letters, digits
# and spaces from elsewhere (what \w, \d and \s also match).
_ALPHABET = tuple(map(chr, range(256))) + tuple("ğλЖא١٣\u3000\u2028\u4e00😀")
_CATEGORIES: dict[Any, Callable[[str], bool]] = {
    _c.CATEGORY_DIGIT: str.isdecimal,
    _c.CATEGORY_NOT_DIGIT: lambda ch: not ch.isdecimal(),
    _c.CATEGORY_SPACE: str.isspace,
    _c.CATEGORY_NOT_SPACE: lambda ch: not ch.isspace(),
    _c.CATEGORY_WORD: lambda ch: ch.isalnum() or ch == "_",
    _c.CATEGORY_NOT_WORD: lambda ch: not (ch.isalnum() or ch == "_"),
}


def backtracking_problem(pattern: str) -> str | None:
    """Why ``pattern`` can take exponential time to fail a match, with how to rewrite it;
    ``None`` when it cannot (or does not compile: ``re`` reports that itself)."""
    return _problem(pattern)


@lru_cache(maxsize=512)
def _problem(pattern: str) -> str | None:
    try:
        parsed = _parser.parse(pattern)
    except Exception:  # not a valid pattern: not this check's concern
        return None
    found = _scan(list(parsed))
    if found is None:
        return None
    shown = pattern if len(pattern) <= 80 else pattern[:77] + "..."
    return (
        f"the pattern {shown!r} can backtrack catastrophically ({found}): matching it "
        "against a long near-miss takes minutes or forever. Rewrite it so each character "
        "can be matched one way only: '(a+)+' -> 'a+', '(\\w+\\s?)*' -> '\\w+(\\s\\w+)*', "
        "'(a|a?)+' -> 'a*'"
    )


def _scan(items: list[Any]) -> str | None:
    """The first catastrophic construct in a parsed sequence, described."""
    for op, av in items:
        if op in _REPEATS:
            _, high, body = av
            body = list(body)
            if high > _FEW or high == _c.MAXREPEAT:
                found = _nested(body) or _overlapping_branches(body)
                if found:
                    return found
            found = _scan(body)
        elif op == _c.SUBPATTERN:
            found = _scan(list(av[-1]))
        elif op == _c.BRANCH:
            found = next((f for b in av[1] if (f := _scan(list(b)))), None)
        elif op in (_c.ASSERT, _c.ASSERT_NOT):
            found = _scan(list(av[1]))
        else:  # atomic groups and possessive repeats never backtrack into themselves
            found = None
        if found:
            return found
    return None


def _flat(items: list[Any]) -> list[Any]:
    """``items`` with groups opened (a group adds nothing to what is matched)."""
    out: list[Any] = []
    for op, av in items:
        if op == _c.SUBPATTERN:
            out.extend(_flat(list(av[-1])))
        else:
            out.append((op, av))
    return out


def _inner_repeats(items: list[Any]) -> list[Any]:
    """Repeats of variable count anywhere inside ``items`` (not inside atomic parts)."""
    found: list[Any] = []
    for op, av in items:
        if op in _REPEATS:
            low, high, body = av
            if high > low and _min_width(list(body)) > 0:
                found.append((op, av))
            found.extend(_inner_repeats(list(body)))
        elif op == _c.SUBPATTERN:
            found.extend(_inner_repeats(list(av[-1])))
        elif op == _c.BRANCH:
            for branch in av[1]:
                found.extend(_inner_repeats(list(branch)))
    return found


def _nested(body: list[Any]) -> str | None:
    """A variable repeat inside a repeated body, with nothing in the body that must match
    a character the inner repeat cannot (which would fix where each iteration ends)."""
    top = _flat(body)
    for inner in _inner_repeats(body):
        inner_chars = _chars(list(inner[1][2]))
        separated = any(
            _min_width([item]) > 0 and not (_first([item]) & inner_chars)
            for item in top
            if item is not inner
        )
        if not separated:
            return "a quantifier inside a repeated group"
    return None


def _overlapping_branches(body: list[Any]) -> str | None:
    for op, av in _flat(body):
        if op == _c.BRANCH:
            seen: frozenset[str] = frozenset()
            empty = 0
            for branch in av[1]:
                first = _first(list(branch))
                # re factors a common prefix out: (a|a) is parsed as a(?:|), two branches
                # that both match nothing.
                empty += _min_width(list(branch)) == 0
                if first & seen or empty > 1:
                    return "alternatives inside a repeated group that can match the same text"
                seen |= first
    return None


def _min_width(items: list[Any]) -> int:
    total = 0
    for op, av in items:
        if op in (_c.LITERAL, _c.NOT_LITERAL, _c.IN, _c.ANY):
            total += 1
        elif op in _REPEATS or op == _POSSESSIVE:
            total += av[0] * _min_width(list(av[2]))
        elif op == _c.SUBPATTERN:
            total += _min_width(list(av[-1]))
        elif op == _ATOMIC:
            total += _min_width(list(av))
        elif op == _c.BRANCH:
            total += min(_min_width(list(b)) for b in av[1])
    return total


def _first(items: list[Any]) -> frozenset[str]:
    """The characters a match of ``items`` can start with."""
    found: frozenset[str] = frozenset()
    for op, av in items:
        if op in _REPEATS or op == _POSSESSIVE:
            found |= _first(list(av[2]))
        elif op == _c.SUBPATTERN:
            found |= _first(list(av[-1]))
        elif op == _ATOMIC:
            found |= _first(list(av))
        elif op == _c.BRANCH:
            for branch in av[1]:
                found |= _first(list(branch))
        else:
            found |= _single(op, av)
        if _min_width([(op, av)]) > 0:
            break
    return found


def _chars(items: list[Any]) -> frozenset[str]:
    """Every character a match of ``items`` can contain."""
    found: frozenset[str] = frozenset()
    for op, av in items:
        if op in _REPEATS or op == _POSSESSIVE:
            found |= _chars(list(av[2]))
        elif op == _c.SUBPATTERN:
            found |= _chars(list(av[-1]))
        elif op == _ATOMIC:
            found |= _chars(list(av))
        elif op == _c.BRANCH:
            for branch in av[1]:
                found |= _chars(list(branch))
        else:
            found |= _single(op, av)
    return found


def _single(op: Any, av: Any) -> frozenset[str]:
    """The characters one single-character item matches, in either case (as if the
    pattern ignored case: larger sets only make the check stricter)."""
    found = _single_exact(op, av)
    return found | frozenset(ch.swapcase() for ch in found if len(ch.swapcase()) == 1)


def _single_exact(op: Any, av: Any) -> frozenset[str]:
    if op == _c.LITERAL:
        return frozenset(chr(av))
    if op == _c.NOT_LITERAL:
        return frozenset(ch for ch in _ALPHABET if ord(ch) != av)
    if op == _c.ANY:
        return frozenset(ch for ch in _ALPHABET if ch != "\n")
    if op == _c.IN:
        return _in(av)
    return frozenset()


def _in(items: Any) -> frozenset[str]:
    negate = False
    found: set[str] = set()
    for op, av in items:
        if op == _c.NEGATE:
            negate = True
        elif op == _c.LITERAL:
            found.add(chr(av))
        elif op == _c.RANGE:
            found.update(ch for ch in _ALPHABET if av[0] <= ord(ch) <= av[1])
        elif op == _c.CATEGORY:
            test = _CATEGORIES.get(av)
            found.update(ch for ch in _ALPHABET if test is None or test(ch))
    return frozenset(ch for ch in _ALPHABET if ch not in found) if negate else frozenset(found)

"""Output-schema patterns that backtrack catastrophically are refused where defined."""

from __future__ import annotations

import re
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptlib import Registry, Template, TemplateError, User
from promptlib._regex_safety import MAX_MATCHED_LENGTH, backtracking_problem
from promptlib._validation import schema_violations

CATASTROPHIC = [
    r"^(a+)+$",
    r"(a*)*",
    r"(a|a)*",
    r"^(a|a?)+$",
    r"(\w+\s?)*$",
    r"^(\d+-?)+$",
    r"(.*,)*x",
    r"(a+|b)*c",
    r"(?:[a-z]+)+@",
    r"((ab)*)+$",
    r"(?i)(a+A)*$",
    r"^([a-zA-Z0-9]+\.?)+$",
    r"(x+x+)+y",
    r"^(([a-z])+.)+[A-Z]([a-z])+$",
    r"^(\s*\w+)*$",
]
SAFE = [
    r"^a+$",
    r"^[a-z]+(\s[a-z]+)*$",
    r"^(\d+,)*\d+$",
    r"^\d{3}-\d{4}$",
    r"^(\d{1,3}\.){3}\d{1,3}$",
    r"^(ab|cd)*$",
    r"^(?:[a-z0-9-]+\.)+[a-z]{2,}$",
    r"^(\w+\s)*$",
    r"^(high|medium|low)$",
    r"^\S+@\S+\.\S+$",
    r"^[A-Z]{2}-\d+$",
    r"(",  # invalid: re reports it, not this check
]


def _seconds(pattern: str, text: str, limit: float = 2.0) -> float:
    """How long matching takes, capped at ``limit`` (the thread is left to finish)."""
    done = threading.Event()
    threading.Thread(target=lambda: (re.search(pattern, text), done.set()), daemon=True).start()
    start = time.monotonic()
    done.wait(limit)
    return time.monotonic() - start


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_catastrophic_patterns_are_named_with_a_rewrite(pattern):
    problem = backtracking_problem(pattern)
    assert problem is not None
    assert repr(pattern) in problem
    assert "Rewrite" in problem


@pytest.mark.parametrize("pattern", SAFE)
def test_ordinary_patterns_pass(pattern):
    assert backtracking_problem(pattern) is None


# Pieces of patterns, so that generated patterns mix safe and nested constructs.
ATOMS = st.sampled_from(["a", "b", r"\w", r"\d", r"\s", ".", "[a-z]", "[ab]", ",", "-"])
QUANT = st.sampled_from(["", "", "+", "*", "?", "{1,3}"])


@st.composite
def patterns(draw):  # type: ignore[no-untyped-def]
    inner = "".join(draw(ATOMS) + draw(QUANT) for _ in range(draw(st.integers(1, 3))))
    if draw(st.booleans()):
        inner = inner + "|" + draw(ATOMS) + draw(QUANT)
    return "^(" + inner + ")" + draw(st.sampled_from(["+", "*", "{2,}"])) + "$"


@settings(max_examples=150, deadline=None)
@given(patterns(), st.sampled_from("ab1 ,-"))
def test_patterns_it_passes_stay_fast_on_near_misses(pattern, char):
    """Whatever the check lets through matches a long near-miss quickly."""
    if backtracking_problem(pattern) is None:
        assert _seconds(pattern, char * 40 + "\x00") < 1.0, pattern


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=40))
def test_any_text_is_judged_without_raising(pattern):
    result = backtracking_problem(pattern)
    assert result is None or isinstance(result, str)


def schema(pattern: str) -> dict:
    return {"type": "object", "properties": {"a": {"type": "string", "pattern": pattern}}}


def test_a_template_with_such_a_pattern_is_refused():
    with pytest.raises(TemplateError, match=r"unsafe pattern at properties/a/pattern.*\(a\+\)\+"):
        Template([User("hi")], name="t", output=schema("^(a+)+$"))


def test_pattern_properties_and_nested_schemas_are_checked():
    nested = {
        "type": "object",
        "properties": {"x": {"type": "array", "items": {"patternProperties": {"(a*)*": {}}}}},
    }
    with pytest.raises(TemplateError, match=r"properties/x/items/patternProperties"):
        Template([User("hi")], name="t", output=nested)
    data = {"type": "object", "properties": {"p": {"enum": [{"pattern": "(a+)+"}]}}}
    Template([User("hi")], name="t", output=data)  # data, not a regex


def test_a_template_file_is_refused_with_file_and_line(tmp_path):
    path = tmp_path / "t" / "1.0.0.prompt"
    path.parent.mkdir()
    path.write_text(
        '---\nname: t\nversion: "1.0.0"\noutput:\n  type: object\n  properties:\n'
        '    a: {type: string, pattern: "^(a+)+$"}\n---\n[user]\nhi\n'
    )
    with pytest.raises(TemplateError, match=r"1\.0\.0\.prompt:7: .*'\^\(a\+\)\+\$'"):
        Registry(tmp_path).get("t@1.0.0")


def test_text_longer_than_a_pattern_is_matched_against_is_refused_unmatched():
    long = "a" * (MAX_MATCHED_LENGTH + 1)
    assert "longer than" in schema_violations(schema("^a+$"), {"a": long})[0]
    assert schema_violations(schema("^a+$"), {"a": "aaa"}) == []
    no_pattern = {"type": "object", "properties": {"a": {"type": "string"}}}
    assert schema_violations(no_pattern, {"a": long}) == []

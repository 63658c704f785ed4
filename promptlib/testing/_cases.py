"""Test cases stored with a template, run by ``promptlib test`` and collected by pytest.

```yaml
tests:
  - name: an outage is urgent
    inputs: {ticket: "Nobody can log in since 9am."}
    assert:
      - contains: "<ticket>"            # the rendered prompt contains this text
      - not_contains: "{{"
      - matches: "(?s)priority.*ticket"  # a regular expression over the rendered prompt
      - max_tokens: 400                  # input tokens on the template's model (or {model, max})
      - output_validates: true           # a mocked, schema-valid answer parses
    response: '{"priority": "urgent"}'   # a canned reply ...
    expect: {priority: urgent}           # ... and the output it must parse into
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from promptlib._errors import PromptlibError
from promptlib._repository.loader import TemplateFile

__all__ = ["CaseResult", "run_case", "run_cases"]

_CASE_KEYS = ("name", "inputs", "assert", "response", "expect")
_CHECKS = ("contains", "not_contains", "matches", "max_tokens", "output_validates")


@dataclass
class CaseResult:
    """The outcome of one test case."""

    template: str
    name: str
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def _plain(value: Any) -> Any:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


def run_case(loaded: TemplateFile, case: Mapping[str, Any], index: int) -> CaseResult:
    """Run one case of a template file."""
    template = loaded.template
    result = CaseResult(template.label, str(case.get("name") or f"case {index + 1}"))
    fail = result.failures.append
    unknown = set(case) - set(_CASE_KEYS)
    if unknown:
        fail(f"unknown keys {sorted(unknown)}; a case has {', '.join(_CASE_KEYS)}")
        return result
    try:
        prompt = template.render(**dict(case.get("inputs") or {}))
    except PromptlibError as exc:
        fail(f"rendering failed: {exc}")
        return result
    text = prompt.format()
    for check in case.get("assert") or []:
        if not isinstance(check, Mapping) or len(check) != 1 or next(iter(check)) not in _CHECKS:
            fail(f"unknown assertion {check!r}; use one of {', '.join(_CHECKS)}")
            continue
        kind, expected = next(iter(check.items()))
        if kind == "contains" and str(expected) not in text:
            fail(f"the prompt does not contain {expected!r}")
        elif kind == "not_contains" and str(expected) in text:
            fail(f"the prompt contains {expected!r}")
        elif kind == "matches" and not re.search(str(expected), text):
            fail(f"the prompt does not match /{expected}/")
        elif kind == "max_tokens":
            _check_tokens(prompt, expected, fail)
        elif kind == "output_validates" and expected:
            _check_mocked_output(prompt, fail)
    if "response" in case:
        try:
            output = prompt.parse(str(case["response"]))
        except PromptlibError as exc:
            fail(f"the canned response does not parse: {exc}")
        else:
            if "expect" in case and _plain(output) != case["expect"]:
                fail(f"the canned response parsed into {_plain(output)!r}, not {case['expect']!r}")
    return result


def _check_tokens(prompt: Any, expected: Any, fail: Any) -> None:
    from promptlib._tokens import count_tokens

    if isinstance(expected, Mapping):
        limit, model = expected.get("max"), expected.get("model")
    else:
        limit, model = expected, None
    if not isinstance(limit, int):
        fail(f"max_tokens needs a whole number (or {{model, max}}), got {expected!r}")
        return
    try:
        count = count_tokens(prompt, model or prompt.model or "gpt-4o-mini")
    except PromptlibError as exc:
        fail(f"could not count tokens: {exc}")
        return
    if count.total > limit:
        fail(f"the prompt has {count.total} input tokens on {count.model}, over the limit {limit}")


def _check_mocked_output(prompt: Any, fail: Any) -> None:
    from promptlib._errors import ConfigurationError
    from promptlib.testing._mock import MockProvider

    try:
        MockProvider().complete(prompt)
    except ConfigurationError as exc:
        fail(f"no schema-valid mocked answer: {exc}")
    except PromptlibError as exc:
        fail(f"a schema-valid mocked answer does not parse: {exc}")


def run_cases(loaded: TemplateFile) -> list[CaseResult]:
    """Run every case stored with a template file."""
    return [run_case(loaded, case, i) for i, case in enumerate(loaded.tests)]

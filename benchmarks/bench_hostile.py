"""Hostile templates and files, defined, loaded and rendered under the default limits.

Each case would run for minutes, recurse past Python's limit or exhaust memory without
the limits. For each: the wall time until promptlib refuses it, the peak of Python memory
allocated meanwhile (tracemalloc, in a second run), and the error it ends in.

    python benchmarks/bench_hostile.py
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import jinja2
from pydantic import BaseModel

from promptlib import Registry, System, Template, TemplateError, User
from promptlib._templates.limits import DEFAULT_LIMITS


class Inputs(BaseModel):
    n: int = 1
    text: str = "x"


STATIC = {
    "'x' * 10**12": "{{ 'x' * 10**12 }}",
    "10**1000000": "{{ 10**1000000 }}",
    "x ~ x, 40 times": "{% set x = 'ab' %}" + "{% set x = x ~ x %}" * 40 + "{{ x }}",
    "list.extend(itself), 60 times": (
        "{% set l = [1] %}{% for i in range(60) %}{% set _ = l.extend(l) %}{% endfor %}"
    ),
    "center(10**9)": "{{ 'x'|center(10**9) }}",
    "'%999999999d' % 1": "{{ '%999999999d' % 1 }}",
    "replace amplification": "{{ ('x' * 1000).replace('x', 'y' * 100000) }}",
    "recursive macro": "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "binary-tree macro": "{% macro f() %}{{ f() }}{{ f() }}{% endmacro %}{{ f() }}",
    "nested loops 10**10": (
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    ),
    "100k x 1 MB strings kept": (
        "{% set l = [] %}{% for i in range(100000) %}{% set _ = l.append('x' * 1000000) %}"
        "{% endfor %}"
    ),
    "2000 nested brackets": "{{ " + "(" * 2000 + "1" + ")" * 2000 + " }}",
    "print 1000 refs to 1 MB": "{% set l = ['x' * 1000000] * 1000 %}{{ l }}",
    "join of an iterator": "{{ range(100000)|map('string')|join(',' * 10000) }}",
}
DYNAMIC = {
    "text * 10**12": "{{ text * 10**12 }}",
    "(n+1) ** 10**7": "{{ (n + 1) ** (10**7) }}",
    "loops n * 10**10": (
        "{% for i in range(n * 100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    ),
    "output 10**5 x 10**5": "{% for i in range(100000) %}{{ text * 100000 }}{% endfor %}",
}
BOMB = "examples:\n  - {input: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol], output: x}\n"
BOMB += "".join(
    f"  - {{input: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}], output: x}}\n" for i in range(1, 9)
)


def _files(root: Path) -> dict[str, Callable[[], object]]:
    def write(name: str, front: str, body: str) -> None:
        (root / name).mkdir(parents=True, exist_ok=True)
        text = f'---\nname: {name}\nversion: "1.0.0"\n{front}---\n{body}'
        (root / name / "1.0.0.prompt").write_text(text)

    write("bomb", BOMB, "[examples]\n")
    write("deep", "a: " + "[" * 5000 + "]" * 5000 + "\n", "[user]\nx\n")
    (root / "partials").mkdir(exist_ok=True)
    for level in range(24):
        (root / "partials" / f"p{level}.j2").write_text(
            f"{{% include 'partials/p{level + 1}.j2' %}}" * 2
        )
    (root / "partials" / "p24.j2").write_text("leaf")
    write("fan", "", "[user]\n{% include 'partials/p0.j2' %}\n")
    if hasattr(os, "mkfifo"):
        (root / "pipe").mkdir()
        os.mkfifo(root / "pipe" / "1.0.0.prompt")
    registry = Registry(root)
    cases: dict[str, Callable[[], object]] = {
        "file: YAML alias bomb (9**9 values)": lambda: Registry(root).get("bomb@1.0.0"),
        "file: YAML nested 5000 deep": lambda: Registry(root).get("deep@1.0.0"),
        "file: include fan-out 2**24": lambda: Registry(root).get("fan@1.0.0"),
    }
    if hasattr(os, "mkfifo"):
        cases["file: FIFO named 1.0.0.prompt"] = lambda: Registry(root).get("pipe@1.0.0")
    cases["check of all the above"] = lambda: _raise_if_problems(registry.check())
    return cases


def _raise_if_problems(problems: list[object]) -> None:
    if problems:
        raise TemplateError(f"{len(problems)} problems reported")


def _cases(root: Path) -> dict[str, Callable[[], object]]:
    cases: dict[str, Callable[[], object]] = {}
    for name, text in STATIC.items():
        cases[f"define: {name}"] = lambda text=text: Template(
            User(text), name="evil", inputs=Inputs, unused_inputs="ignore"
        )
    for name, text in DYNAMIC.items():
        template = Template(System(text), name="evil", inputs=Inputs, unused_inputs="ignore")
        cases[f"render: {name}"] = lambda template=template: template.render(n=1, text="x")
    cases.update(_files(root))
    return cases


def _run(action: Callable[[], object]) -> str:
    try:
        action()
    except TemplateError as exc:
        return type(exc).__name__
    return "no error"


def main() -> None:
    sys.setrecursionlimit(1000)
    with tempfile.TemporaryDirectory() as tmp:
        cases = _cases(Path(tmp) / "templates")
        rows = []
        for name, action in cases.items():
            start = time.perf_counter()
            outcome = _run(action)
            seconds = time.perf_counter() - start
            tracemalloc.start()
            _run(action)
            peak = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
            rows.append((name, seconds, peak, outcome))
    print(f"python {platform.python_version()}, jinja2 {jinja2.__version__}, {platform.machine()}")
    print(f"limits: {DEFAULT_LIMITS}")
    width = max(len(row[0]) for row in rows)
    print(f"{'case':{width}}  {'time':>9}  {'peak MB':>8}  outcome")
    for name, seconds, peak, outcome in rows:
        print(f"{name:{width}}  {seconds * 1000:7.1f}ms  {peak:8.1f}  {outcome}")
    print("command: python benchmarks/bench_hostile.py")


if __name__ == "__main__":
    main()

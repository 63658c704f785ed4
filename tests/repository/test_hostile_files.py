"""Hostile or broken template files end in a TemplateError naming the file and line; check
reports each one and goes on; nothing hangs or exhausts memory."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from promptlib import Registry, TemplateError
from promptlib._templates import Limits, use_limits
from tests.repository.conftest import SIMPLE


def _load(root: Path, ref: str):  # type: ignore[no-untyped-def]
    return Registry(root).get(ref)


def _error(root: Path, ref: str) -> TemplateError:
    with pytest.raises(TemplateError) as info:
        _load(root, ref)
    return info.value


def _bounded(action, seconds: float = 10):  # type: ignore[no-untyped-def]
    """Run ``action`` in a thread; fail (instead of hanging) if it does not end in time."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(action())
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    start = time.monotonic()
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    return outcome[0], time.monotonic() - start


HEAD = '---\nname: t\nversion: "1.0.0"\n'


@pytest.mark.parametrize(
    ("front", "line", "key"),
    [
        ("name: t\n", 4, "name"),
        ("inputs:\n  a: string\n  a: integer\n", 6, "a"),
        ("inputs:\n  a: {type: string, type: integer}\n", 5, "type"),
        (
            "examples:\n  - input: x\n    output: y\n    output: z\n",
            7,
            "output",
        ),
    ],
)
def test_duplicate_yaml_keys_are_refused_with_the_line(tmp_path, write, front, line, key):
    write("t/1.0.0.prompt", HEAD + front + "---\n[user]\nHi {{ a if a is defined }}\n")
    error = _error(tmp_path / "templates", "t@1.0.0")
    assert f"1.0.0.prompt:{line}:" in str(error)
    assert f"key {key!r} appears twice" in str(error)


@pytest.mark.parametrize("name", ["self", "range", "loop", "namespace", "lipsum", "cycler",
                                  "joiner", "dict", "caller"])  # fmt: skip
def test_input_names_that_are_jinja_globals_are_refused_at_load(tmp_path, write, name):
    write("t/1.0.0.prompt", HEAD + f"inputs:\n  {name}: string\n---\n[user]\n{{{{ {name} }}}}\n")
    error = _error(tmp_path / "templates", "t@1.0.0")
    assert "1.0.0.prompt:5:" in str(error)
    assert f"input name {name!r} means something else" in str(error)


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("{{ 'x'|nosuch }}", "filter named 'nosuch'"),
        ("{% if false %}{{ 'x'|nosuch }}{% endif %}", "filter named 'nosuch'"),
        ("{% if false %}{% if 1 is nosuch %}x{% endif %}{% endif %}", "test named 'nosuch'"),
    ],
)
def test_unknown_filters_and_tests_name_file_and_line(tmp_path, write, text, what):
    write("t/1.0.0.prompt", HEAD + "---\n[system]\nIntro.\n" + text + "\n")
    error = _error(tmp_path / "templates", "t@1.0.0")
    assert "t/1.0.0.prompt:7:" in str(error)
    assert what in str(error)


def test_check_reports_every_bad_file_and_goes_on(tmp_path, write):
    deep = "a: " + "[" * 5000 + "]" * 5000 + "\n"
    write("deep/1.0.0.prompt", '---\nname: deep\nversion: "1.0.0"\n' + deep + "---\n[user]\nx\n")
    nested = "a:\n" + "".join("  " * i + "- \n" for i in range(1, 200))
    write("deep2/1.0.0.prompt", '---\nname: deep2\nversion: "1.0.0"\n' + nested + "---\n")
    write("dup/1.0.0.prompt", '---\nname: dup\nname: dup\nversion: "1.0.0"\n---\n[user]\nx\n')
    write("good/1.0.0.prompt", SIMPLE.format(version="1.0.0", suffix="").replace("greet", "good"))
    problems, _ = _bounded(lambda: Registry(tmp_path / "templates").check())
    assert isinstance(problems, list)
    invalid = {p.ref: p.message for p in problems if p.kind == "invalid"}
    assert set(invalid) == {"deep@1.0.0", "deep2@1.0.0", "dup@1.0.0"}, invalid
    assert "nests" in invalid["deep@1.0.0"]
    assert "nests" in invalid["deep2@1.0.0"]
    assert any(p.ref == "good@1.0.0" and p.kind == "unreleased" for p in problems)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_named_like_a_template_or_partial_does_not_hang(tmp_path, write):
    root = tmp_path / "templates"
    write("good/1.0.0.prompt", SIMPLE.format(version="1.0.0", suffix="").replace("greet", "good"))
    (root / "pipe").mkdir()
    os.mkfifo(root / "pipe" / "1.0.0.prompt")
    (root / "partials").mkdir()
    os.mkfifo(root / "partials" / "p.j2")
    write("incl/1.0.0.prompt", '---\nname: incl\nversion: "1.0.0"\n---\n[user]\n'
          "{% include 'partials/p.j2' %}\n")  # fmt: skip
    problems, _ = _bounded(lambda: Registry(root).check())
    invalid = {p.ref: p.message for p in problems if p.kind == "invalid"}  # type: ignore[attr-defined]
    assert "not a regular file" in invalid["pipe@1.0.0"]
    assert "not a regular file" in invalid["incl@1.0.0"]
    assert "incl/1.0.0.prompt:6" in invalid["incl@1.0.0"]


def test_include_fan_out_is_bounded(tmp_path, write):
    for level in range(24):
        write(f"partials/p{level}.j2", f"{{% include 'partials/p{level + 1}.j2' %}}" * 2)
    write("partials/p24.j2", "leaf")
    write("fan/1.0.0.prompt", '---\nname: fan\nversion: "1.0.0"\n---\n[user]\n'
          "{% include 'partials/p0.j2' %}\n")  # fmt: skip
    error, seconds = _bounded(lambda: Registry(tmp_path / "templates").get("fan@1.0.0"))
    assert isinstance(error, TemplateError)
    assert "expand to more than 256 partials" in str(error)
    assert seconds < 5


def test_small_include_trees_still_work(tmp_path, write):
    for level in range(3):
        write(f"partials/p{level}.j2", f"{{% include 'partials/p{level + 1}.j2' %}}" * 2)
    write("partials/p3.j2", "x")
    write("fan/1.0.0.prompt", '---\nname: fan\nversion: "1.0.0"\n---\n[user]\n'
          "{% include 'partials/p0.j2' %}\n")  # fmt: skip
    assert _load(tmp_path / "templates", "fan@1.0.0").render().messages[0].text == "x" * 8


BOMB = """examples:
  - input: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]
    output: x
  - input: &a1 [*a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0]
    output: x
  - input: &a2 [*a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1]
    output: x
  - input: &a3 [*a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2]
    output: x
  - input: &a4 [*a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3]
    output: x
  - input: &a5 [*a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4]
    output: x
  - input: &a6 [*a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5]
    output: x
  - input: &a7 [*a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6]
    output: x
  - input: &a8 [*a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7]
    output: x
"""


def test_a_yaml_alias_bomb_is_refused_before_it_expands(tmp_path, write):
    write("bomb/1.0.0.prompt", '---\nname: bomb\nversion: "1.0.0"\n' + BOMB + "---\n[examples]\n")
    error, seconds = _bounded(lambda: Registry(tmp_path / "templates").get("bomb@1.0.0"))
    assert isinstance(error, TemplateError)
    assert "more than 100,000 values once its aliases are expanded" in str(error)
    assert "bomb/1.0.0.prompt:" in str(error)
    assert seconds < 5


def test_a_recursive_alias_is_refused(tmp_path, write):
    write("loop/1.0.0.prompt", '---\nname: loop\nversion: "1.0.0"\nexamples: &e [*e]\n---\nx\n')
    error = _error(tmp_path / "templates", "loop@1.0.0")
    assert "loop/1.0.0.prompt:" in str(error)


def test_aliases_used_reasonably_still_work(tmp_path, write):
    write("ok/1.0.0.prompt", '---\nname: ok\nversion: "1.0.0"\n'
          "examples:\n  - {input: &i hello, output: *i}\n  - {input: *i, output: *i}\n"
          "---\n[examples]\n")  # fmt: skip
    assert len(_load(tmp_path / "templates", "ok@1.0.0").render().messages) == 4


def test_the_file_size_is_bounded(tmp_path, write):
    write("big/1.0.0.prompt", SIMPLE.format(version="1.0.0", suffix="x" * 2000).replace(
        "greet", "big"))  # fmt: skip
    with use_limits(Limits(file_bytes=1000)):
        registry = Registry(tmp_path / "templates")
    with pytest.raises(TemplateError, match=r"larger than 1,000 bytes"):
        registry.get("big@1.0.0")
    assert Registry(tmp_path / "templates").get("big@1.0.0")


def test_get_after_the_latest_release_was_deleted(tmp_path, write):
    for version in ("1.0.0", "1.1.0"):
        write(f"greet/{version}.prompt", SIMPLE.format(version=version, suffix=""))
    root = tmp_path / "templates"
    Registry(root).lock()
    (root / "greet" / "1.1.0.prompt").unlink()
    error = _error(root, "greet")
    assert "greet@1.1.0 is the latest released version" in str(error)
    assert "restore it" in str(error)
    assert any(p.kind == "removed" for p in Registry(root).check())


@pytest.mark.parametrize(
    ("file_name", "version", "message"),
    [
        (" 1.2.3", " 1.2.3", "file name ' 1.2.3.prompt' is not <version>.prompt"),
        ("1.2.3\n", "1.2.3\\n", "is not <version>.prompt"),
        ("１.２.３", "１.２.３", "is not <version>.prompt"),
        ("1.2.3", " 1.2.3", "version ' 1.2.3' is not a semantic version"),
        ("1.2.3", "1.2.3\\n", "is not a semantic version"),
        ("1.2.3", "１.２.３", "is not a semantic version"),
        ("1.10.0", "1.10", "MAJOR.MINOR.PATCH"),
    ],
)
def test_versions_are_strict_ascii_semver(tmp_path, write, file_name, version, message):
    quoted = version if version == "1.10" else f'"{version}"'
    path = write(f"t/{file_name}.prompt", f"---\nname: t\nversion: {quoted}\n---\n[user]\nx\n")
    problems = Registry(tmp_path / "templates").check()
    assert len(problems) == 1
    assert problems[0].kind == "invalid"
    assert message in problems[0].message
    assert str(path) in problems[0].message


def test_an_unquoted_version_says_how_yaml_read_it(tmp_path, write):
    write("t/1.10.0.prompt", "---\nname: t\nversion: 1.10\n---\n[user]\nx\n")
    error = _error(tmp_path / "templates", "t@1.10.0")
    assert "1.10.0.prompt:3:" in str(error)
    assert "read by YAML as 1.1" in str(error)


@pytest.mark.parametrize("text", ["", "\n\n  \n", "\ufeff"])
def test_an_empty_file_says_it_is_empty(tmp_path, write, text):
    (tmp_path / "templates" / "t").mkdir(parents=True)
    (tmp_path / "templates" / "t" / "1.0.0.prompt").write_text(text, encoding="utf-8")
    error = _error(tmp_path / "templates", "t@1.0.0")
    assert "1.0.0.prompt:1: the file is empty" in str(error)


def test_a_utf8_byte_order_mark_is_accepted(tmp_path, write):
    path = write("greet/1.0.0.prompt", SIMPLE.format(version="1.0.0", suffix=""))
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert _load(tmp_path / "templates", "greet@1.0.0").render(person="Ada")


def test_a_file_that_is_not_utf8_names_the_line(tmp_path, write):
    path = write("greet/1.0.0.prompt", SIMPLE.format(version="1.0.0", suffix=""))
    path.write_bytes(path.read_bytes().replace(b"greet people", b"greet \xff people"))
    error = _error(tmp_path / "templates", "greet@1.0.0")
    assert "1.0.0.prompt:8: the file is not UTF-8" in str(error)


def test_a_label_named_latest_is_refused(tmp_path, write):
    write("greet/1.0.0.prompt", SIMPLE.format(version="1.0.0", suffix=""))
    write("labels.yaml", 'greet:\n  latest: "1.0.0"\n')
    root = tmp_path / "templates"
    Registry(root).lock()
    with pytest.raises(TemplateError, match="label 'latest' of 'greet' is reserved"):
        Registry(root).labels("greet")
    problems = Registry(root).check()
    assert [p.kind for p in problems] == ["label"]
    assert "reserved" in problems[0].message


def test_duplicate_keys_in_the_labels_file_are_refused(tmp_path, write):
    write("greet/1.0.0.prompt", SIMPLE.format(version="1.0.0", suffix=""))
    write("labels.yaml", 'greet:\n  production: "1.0.0"\n  production: "2.0.0"\n')
    with pytest.raises(TemplateError, match=r"labels.yaml:3.*'production' appears twice"):
        Registry(tmp_path / "templates").labels("greet")


def test_build_metadata_orders_deterministically(tmp_path, write):
    for version in ("1.0.0+b", "1.0.0+a", "0.9.0"):
        write(f"greet/{version}.prompt", SIMPLE.format(version=version, suffix=""))
    registry = Registry(tmp_path / "templates")
    registry.lock()
    assert registry.versions("greet") == ["0.9.0", "1.0.0+a", "1.0.0+b"]
    assert registry.resolve("greet") == ("greet", "1.0.0+b")
    lock = (tmp_path / "templates" / "promptlib.lock").read_text()
    assert lock.index('"0.9.0"') < lock.index('"1.0.0+a"') < lock.index('"1.0.0+b"')


@pytest.mark.parametrize(
    ("front", "line", "message"),
    [
        ('examples:\n  - {input: !!binary "/w==", output: x}\n', 5, "!!binary"),
        ("examples:\n  - {input: !!set {a, b}, output: x}\n", 5, "!!set"),
        ("examples:\n  - {input: .nan, output: x}\n", 5, "nan is not a number"),
        ("examples:\n  - {input: {1: a}, output: x}\n", 5, "the key 1 is not text"),
        ('examples:\n  - {input: "\\ud800", output: x}\n', 5, "lone surrogate"),
        ("params: {temperature: .inf}\n", 4, "inf is not a number"),
        ("inputs:\n  x: {type: number, default: .nan}\n", 5, "nan is not a number"),
        ("examples:\n  - {input: " + "9" * 5000 + ", output: x}\n", None, "could not be read"),
        ("inputs:\n  x: {type: string, default: 2020-01-01}\n", None, "quote it"),
    ],
    ids=[
        "binary",
        "set",
        "nan",
        "int-key",
        "surrogate",
        "inf-param",
        "nan-default",
        "huge-int",
        "date",
    ],
)
def test_front_matter_values_a_prompt_cannot_carry_are_refused(tmp_path, write, front, line,
                                                                message):  # fmt: skip
    body = "[examples]\n" if "examples" in front else "[user]\nHi {{ x }}\n"
    write("t/1.0.0.prompt", HEAD + front + "---\n" + body)
    error = _error(tmp_path / "templates", "t@1.0.0")
    assert message in str(error)
    assert f"t/1.0.0.prompt:{line}:" in str(error) if line else "t/1.0.0.prompt" in str(error)


@pytest.mark.parametrize(
    ("front", "line", "message"),
    [
        ("examples: 5\n", 4, "'examples' must be a list of {input: ..., output: ...}, got int 5"),
        ("examples: {input: x, output: y}\n", 4, "'examples' must be a list"),
        ("examples: hello\n", 4, "'examples' must be a list"),
        ("examples:\n  - 5\n", 5, "example 1 needs 'input' and 'output'"),
        ("examples:\n  - {input: x}\n", 5, "example 1 needs 'input' and 'output'"),
        (
            "inputs:\n  a: {type: string}\nexamples:\n  - input: {b: 1}\n    output: x\n",
            7,
            "example 1: input 'b' is not declared in 'inputs' (declared: a)",
        ),
        (
            "inputs:\n  ticket: string\nexamples:\n  - input: {ticket: a}\n    output: x\n"
            "  - input:\n      tickte: b\n    output: y\n",
            10,
            "example 2: input 'tickte' is not declared in 'inputs'; did you mean 'ticket'?",
        ),
        (
            "examples:\n  - input: {a: 1}\n    output: x\n",
            5,
            "input 'a' is not declared in 'inputs' (declared: none)",
        ),
    ],
)
def test_bad_examples_are_refused_with_file_and_line(tmp_path, write, front, line, message):
    write("t/1.0.0.prompt", HEAD + front + "---\n[user]\nHi {{ a if a is defined }}\n")
    error = _error(tmp_path / "templates", "t@1.0.0")
    assert f"1.0.0.prompt:{line}:" in str(error)
    assert message in str(error)


def test_examples_without_an_examples_section_are_still_checked(tmp_path, write):
    write("t/1.0.0.prompt", HEAD + "examples: 5\n---\n[user]\nHi\n")
    assert "must be a list" in str(_error(tmp_path / "templates", "t@1.0.0"))


def test_text_examples_and_declared_inputs_pass(tmp_path, write):
    write("t/1.0.0.prompt", HEAD + "inputs:\n  a: string\nexamples:\n  - {input: hi, output: x}\n"
          "  - {input: {a: yo}, output: y}\n---\n[examples]\n[user]\n{{ a }}\n")  # fmt: skip
    assert _load(tmp_path / "templates", "t@1.0.0").render(a="z").messages


def test_a_failure_inside_a_partial_names_the_partials_file_and_line(tmp_path, write):
    write("partials/m.j2", "{% macro f() %}{{ f() }}{% endmacro %}\n\n{{ f() }}\n")
    write("t/1.0.0.prompt", HEAD + "---\n[user]\nhello\n{% include 'partials/m.j2' %}\n")
    with pytest.raises(TemplateError) as info:
        _load(tmp_path / "templates", "t@1.0.0").render()
    error = info.value
    assert error.location == f"{tmp_path / 'templates' / 'partials' / 'm.j2'}:1"
    assert error.line == 1
    assert "included at " in str(error)
    assert "t/1.0.0.prompt:7)" in str(error)


def test_a_failure_in_the_file_itself_keeps_its_line(tmp_path, write):
    write("partials/p.j2", "fine\n")
    write("t/1.0.0.prompt", HEAD + "---\n[user]\n{% include 'partials/p.j2' %}\n"
          "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}\n")  # fmt: skip
    with pytest.raises(TemplateError, match=r"t/1\.0\.0\.prompt:7: calls nest"):
        _load(tmp_path / "templates", "t@1.0.0").render()

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from promptlib import Registry, TemplateError, Version
from promptlib._repository import diff_versions, parse_ref
from tests.repository.conftest import SHIPPED, SIMPLE


def test_the_shipped_templates_are_released_and_unchanged():
    # Also pins hash stability: the lock was written by an earlier process.
    assert Registry(SHIPPED).check() == []


def test_names_versions_and_labels():
    registry = Registry(SHIPPED)
    assert registry.names() == [
        "claim-decision",
        "insurance-triage",
        "judge-helpfulness",
        "sentiment",
        "support-reply",
        "ticket-extraction",
        "ticket-priority",
    ]
    assert registry.versions("ticket-priority") == ["1.0.0", "1.1.0"]
    assert registry.labels("ticket-priority") == {"production": "1.0.0", "staging": "1.1.0"}


def test_references_resolve(tmp_path, write):
    for version in ("1.2.0", "1.10.0", "1.9.0", "2.0.0-rc.1"):
        write(f"greet/{version}.prompt", SIMPLE.format(version=version, suffix=""))
    write("labels.yaml", 'greet:\n  production: "1.9.0"\n')
    registry = Registry(tmp_path / "templates")
    assert registry.versions("greet") == ["1.2.0", "1.9.0", "1.10.0", "2.0.0-rc.1"]
    with pytest.raises(TemplateError, match=r"no released version yet.*greet@2.0.0-rc.1.*lock"):
        registry.resolve("greet")
    registry.lock()
    assert registry.resolve("greet") == ("greet", "1.10.0")  # semver, not file order; no rc
    assert registry.resolve("greet@latest") == ("greet", "1.10.0")
    assert registry.resolve("greet@2.0.0-rc.1") == ("greet", "2.0.0-rc.1")
    assert registry.resolve("greet@production") == ("greet", "1.9.0")
    with pytest.raises(TemplateError, match=r"no label 'prodution'; did you mean greet@production"):
        registry.resolve("greet@prodution")
    with pytest.raises(TemplateError, match=r"no version '3.0.0' \(versions: 1.2.0, 1.9.0"):
        registry.resolve("greet@3.0.0")
    with pytest.raises(TemplateError, match=r"no template 'gret'.*did you mean 'greet'"):
        registry.resolve("gret")
    with pytest.raises(TemplateError, match="not a template reference"):
        parse_ref("greet@")


def test_versions_load_side_by_side(tmp_path, write):
    write("greet/1.0.0.prompt", SIMPLE.format(version="1.0.0", suffix=""))
    write("greet/1.1.0.prompt", SIMPLE.format(version="1.1.0", suffix=" warmly"))
    registry = Registry(tmp_path / "templates")
    old, new = registry.get("greet@1.0.0"), registry.get("greet@1.1.0")
    assert old is registry.get("greet@1.0.0")  # loaded once
    assert old.render(person="Ada").system == "You greet people."
    assert new.render(person="Ada").system == "You greet people warmly."
    assert old.hash != new.hash


def test_lock_then_check_then_edit_a_released_file(write):
    path = write("greet/1.0.0.prompt", SIMPLE.format(version="1.0.0", suffix=""))
    root = path.parents[1]
    registry = Registry(root)
    assert [p.kind for p in registry.check()] == ["unreleased"]
    assert registry.lock() == ["greet@1.0.0"]
    assert registry.check() == []
    assert registry.lock() == []

    path.write_text(path.read_text().replace("You greet people.", "You greet people loudly."))
    problems = Registry(root).check()
    assert [(p.kind, p.ref) for p in problems] == [("changed", "greet@1.0.0")]
    assert "Released versions are immutable" in problems[0].message
    assert "greet/1.0.1.prompt" in problems[0].message
    with pytest.raises(TemplateError, match="cannot lock until these are fixed"):
        Registry(root).lock()


def test_whitespace_in_front_matter_does_not_change_the_hash(write):
    path = write("greet/1.0.0.prompt", SIMPLE.format(version="1.0.0", suffix=""))
    Registry(path.parents[1]).lock()
    path.write_text(path.read_text().replace("person: string", "person:   string  # who"))
    assert Registry(path.parents[1]).check() == []


def test_editing_a_partial_changes_released_versions(write):
    write("partials/p.j2", "Be kind.")
    path = write(
        "t/1.0.0.prompt",
        '---\nname: t\nversion: "1.0.0"\n---\n[system]\n{% include "partials/p.j2" %}\n',
    )
    Registry(path.parents[1]).lock()
    write("partials/p.j2", "Be rude.")
    assert [p.kind for p in Registry(path.parents[1]).check()] == ["changed"]


def test_removed_version_and_bad_labels(write):
    path = write("greet/1.0.0.prompt", SIMPLE.format(version="1.0.0", suffix=""))
    root = path.parents[1]
    Registry(root).lock()
    write("greet/1.1.0.prompt", SIMPLE.format(version="1.1.0", suffix="!"))
    write("labels.yaml", 'greet:\n  production: "1.1.0"\nghost:\n  production: "1.0.0"\n')
    path.unlink()
    problems = {(p.kind, p.ref) for p in Registry(root).check()}
    assert problems == {
        ("removed", "greet@1.0.0"),
        ("unreleased", "greet@1.1.0"),
        ("label", "greet@production"),
        ("label", "ghost@production"),
    }


def test_invalid_files_are_check_problems(tmp_path, write):
    write("broken/1.0.0.prompt", "no front matter")
    problems = Registry(tmp_path / "templates").check()
    assert [(p.kind, p.ref) for p in problems] == [("invalid", "broken@1.0.0")]
    assert "1.0.0.prompt:1" in problems[0].message


def test_lock_file_is_stable_across_processes(shipped):
    (shipped / "promptlib.lock").unlink()
    code = "from promptlib import Registry; import sys; Registry(sys.argv[1]).lock()"
    subprocess.run([sys.executable, "-c", code, str(shipped)], check=True)
    assert (shipped / "promptlib.lock").read_text() == (SHIPPED / "promptlib.lock").read_text()


def test_missing_root_is_a_clear_error(tmp_path):
    with pytest.raises(TemplateError, match="is not a folder"):
        Registry(tmp_path / "nope")


def test_diff_shows_source_and_rendered_prompt():
    text = diff_versions(
        Registry(SHIPPED), "ticket-priority@1.0.0", "ticket-priority@staging", {"ticket": "Down!"}
    )
    assert text.startswith("=== source: ticket-priority@1.0.0 -> ticket-priority@1.1.0\n")
    assert '+version: "1.1.0"' in text
    assert "=== rendered prompt: ticket-priority@1.0.0 -> ticket-priority@1.1.0" in text
    assert "+Before answering, explain" in text
    assert "+<thinking>A whole team is blocked" in text
    same = diff_versions(Registry(SHIPPED), "sentiment@1.0.0", "sentiment@production")
    assert same.endswith("(no differences)\n")


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("1.0.0", True),
        ("0.1.0-rc.1+build.5", True),
        ("1.0", False),
        ("01.0.0", False),
        ("v1.0.0", False),
        ("1.0.0-", False),
    ],
)
def test_semver_parsing(text, ok):
    if ok:
        assert str(Version.parse(text)) == text
    else:
        with pytest.raises(ValueError, match="not a semantic version"):
            Version.parse(text)


def test_semver_ordering_follows_the_spec():
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.10.0",
        "2.0.0",
    ]
    shuffled = random.Random(7).sample(ordered, len(ordered))
    assert sorted(shuffled, key=Version.parse) == ordered
    assert Version.parse("1.0.0+a") == Version.parse("1.0.0+b")

"""The registry reads the disk once, and again only when something there changed."""

from __future__ import annotations

import os

import pytest

from promptlib import Registry, TemplateError
from tests.repository.test_registry import SIMPLE


def touch_later(path):
    """Move a file's modification time on, as a later edit would."""
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_unchanged_references_are_not_read_again(tmp_path, write, monkeypatch):
    write("greet/1.0.0.prompt", SIMPLE.format(version="1.0.0", suffix=""))
    registry = Registry(tmp_path / "templates")
    first = registry.get("greet@1.0.0")
    import promptlib._repository.registry as module

    def no_loading(*args, **kwargs):
        raise AssertionError("loaded again")

    monkeypatch.setattr(module, "load_file", no_loading)
    assert registry.get("greet@1.0.0") is first


def test_edits_added_versions_labels_and_removals_are_picked_up(tmp_path, write):
    path = write("greet/1.0.0.prompt", SIMPLE.format(version="1.0.0", suffix=""))
    registry = Registry(tmp_path / "templates")
    assert "Greet" in registry.render("greet@1.0.0", person="Ann").messages[-1].text

    path.write_text(path.read_text().replace("Greet {{ person }}", "Welcome {{ person }}"))
    touch_later(path)
    assert "Welcome" in registry.render("greet@1.0.0", person="Ann").messages[-1].text

    write("greet/1.1.0.prompt", SIMPLE.format(version="1.1.0", suffix=""))
    touch_later(tmp_path / "templates" / "greet")
    assert registry.versions("greet") == ["1.0.0", "1.1.0"]
    assert registry.resolve("greet@1.1.0") == ("greet", "1.1.0")

    labels = write("labels.yaml", 'greet:\n  production: "1.0.0"\n')
    assert registry.resolve("greet@production") == ("greet", "1.0.0")
    labels.write_text('greet:\n  production: "1.1.0"\n')
    touch_later(labels)
    assert registry.resolve("greet@production") == ("greet", "1.1.0")

    (tmp_path / "templates" / "greet" / "1.1.0.prompt").unlink()
    touch_later(tmp_path / "templates" / "greet")
    with pytest.raises(TemplateError, match=r"points at 1\.1\.0, which has no file"):
        registry.resolve("greet@production")


def test_a_new_release_in_the_lock_file_moves_latest(tmp_path, write):
    write("greet/1.0.0.prompt", SIMPLE.format(version="1.0.0", suffix=""))
    write("greet/1.1.0.prompt", SIMPLE.format(version="1.1.0", suffix=""))
    registry = Registry(tmp_path / "templates")
    (tmp_path / "templates" / "greet" / "1.1.0.prompt").rename(tmp_path / "hold")
    registry.lock()
    (tmp_path / "hold").rename(tmp_path / "templates" / "greet" / "1.1.0.prompt")
    touch_later(tmp_path / "templates" / "greet")
    assert registry.resolve("greet") == ("greet", "1.0.0")  # 1.1.0 is not released yet
    registry.lock()
    touch_later(tmp_path / "templates" / "promptlib.lock")
    assert registry.resolve("greet") == ("greet", "1.1.0")
    assert registry.resolve("greet@1.0.0") == ("greet", "1.0.0")


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("greet@1.1.0", r"has no version '1\.1\.0' \(versions: 1\.0\.0\)"),
        ("greet@production", r"points at 1\.1\.0, which has no file"),
        ("greet", r"greet@1\.1\.0 is the latest released version .* its file .* is gone"),
    ],
)
def test_a_removed_file_is_noticed_even_when_its_folder_time_stays(tmp_path, write, ref, message):
    """Coarse folder timestamps (or a removal restored by hand) must not hide a missing file."""
    write("greet/1.0.0.prompt", SIMPLE.format(version="1.0.0", suffix=""))
    path = write("greet/1.1.0.prompt", SIMPLE.format(version="1.1.0", suffix=""))
    write("labels.yaml", 'greet:\n  production: "1.1.0"\n')
    registry = Registry(tmp_path / "templates")
    registry.lock()
    assert registry.resolve(ref) == ("greet", "1.1.0")
    folder = tmp_path / "templates" / "greet"
    before = os.stat(folder)
    path.rename(tmp_path / "hold")
    os.utime(folder, ns=(before.st_atime_ns, before.st_mtime_ns))
    for use in (registry.resolve, registry.get, registry.file):
        with pytest.raises(TemplateError, match=message):
            use(ref)
    with pytest.raises(TemplateError, match=message):
        registry.render(ref, person="Ann")
    (tmp_path / "hold").rename(path)
    os.utime(folder, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert "Greet" in registry.render(ref, person="Ann").messages[-1].text


@pytest.mark.parametrize(
    ("ref", "stats"), [("greet@1.0.0", 1), ("greet@production", 2), ("greet", 2)]
)
def test_a_cached_reference_costs_one_stat_per_file_it_depends_on(
    tmp_path, write, monkeypatch, ref, stats
):
    write("greet/1.0.0.prompt", SIMPLE.format(version="1.0.0", suffix=""))
    write("labels.yaml", 'greet:\n  production: "1.0.0"\n')
    registry = Registry(tmp_path / "templates")
    registry.lock()
    registry.render(ref, person="Ann")
    import promptlib._repository.registry as module

    calls: list[str] = []
    real = module._stamp

    def counting(path):
        calls.append(str(path))
        return real(path)

    monkeypatch.setattr(module, "_stamp", counting)
    registry.render(ref, person="Ann")
    assert len(calls) == stats, calls


def _replace_keeping_times(path, text):
    """What cp -p, rsync -a, tar x and a renamed-in file do: new content, same size and
    modification time."""
    before = os.stat(path)
    new = path.with_name(path.name + ".new")
    new.write_text(text)
    os.utime(new, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(new, path)
    assert os.stat(path).st_size == before.st_size
    assert os.stat(path).st_mtime_ns == before.st_mtime_ns


def test_a_file_replaced_with_the_same_size_and_time_is_read_again(tmp_path, write):
    path = write("greet/1.0.0.prompt", SIMPLE.format(version="1.0.0", suffix=""))
    registry = Registry(tmp_path / "templates")
    assert "Greet" in registry.render("greet@1.0.0", person="Ann").messages[-1].text
    _replace_keeping_times(path, path.read_text().replace("Greet {{", "Hello {{"))
    assert "Hello" in registry.render("greet@1.0.0", person="Ann").messages[-1].text


def test_a_labels_file_replaced_with_the_same_size_and_time_is_read_again(tmp_path, write):
    write("greet/1.0.0.prompt", SIMPLE.format(version="1.0.0", suffix=""))
    write("greet/1.1.0.prompt", SIMPLE.format(version="1.1.0", suffix=""))
    labels = write("labels.yaml", 'greet:\n  production: "1.0.0"\n')
    registry = Registry(tmp_path / "templates")
    assert registry.resolve("greet@production") == ("greet", "1.0.0")
    _replace_keeping_times(labels, 'greet:\n  production: "1.1.0"\n')
    assert registry.resolve("greet@production") == ("greet", "1.1.0")


def test_an_edited_partial_is_picked_up_by_a_live_registry(tmp_path, write):
    partial = write("partials/p.j2", "Be kind.")
    write(
        "t/1.0.0.prompt",
        '---\nname: t\nversion: "1.0.0"\n---\n[system]\n{% include "partials/p.j2" %}\n',
    )
    registry = Registry(tmp_path / "templates")
    assert registry.render("t@1.0.0").messages[0].text == "Be kind."
    _replace_keeping_times(partial, "Be calm.")
    assert registry.render("t@1.0.0").messages[0].text == "Be calm."


def test_typed_views_are_replaced_not_piled_up_when_a_file_changes(tmp_path, write):
    from pydantic import BaseModel

    class Greeting(BaseModel):
        person: str

    path = write("greet/1.0.0.prompt", SIMPLE.format(version="1.0.0", suffix=""))
    registry = Registry(tmp_path / "templates")
    for _ in range(5):
        registry.get("greet@1.0.0", inputs=Greeting)
        path.write_text(path.read_text() + "\n")
    assert len(registry._typed) == 1

"""Package metadata: where the project lives, its licence, and an sdist that can test itself."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
MKDOCS = yaml.safe_load((ROOT / "mkdocs.yml").read_text())


def test_project_urls_name_the_repository_docs_issues_and_changelog():
    urls = PROJECT["project"]["urls"]
    assert set(urls) == {"Homepage", "Documentation", "Repository", "Issues", "Changelog"}
    assert all(url.startswith("https://") for url in urls.values())
    repo = urls["Repository"]
    assert urls["Issues"] == f"{repo}/issues"
    assert urls["Changelog"].startswith(f"{repo}/blob/main/")
    assert (ROOT / urls["Changelog"].removeprefix(f"{repo}/blob/main/")).is_file()


def test_docs_site_points_at_the_same_places():
    urls = PROJECT["project"]["urls"]
    assert MKDOCS["site_url"] == urls["Documentation"]
    assert MKDOCS["repo_url"] == urls["Repository"]
    assert urls["Repository"].endswith("/" + MKDOCS["repo_name"])


def test_licence_file_is_the_one_the_metadata_claims():
    assert PROJECT["project"]["license"] == "MIT"
    assert PROJECT["project"]["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_sdist_carries_every_tracked_top_level_path():
    """The sdist holds the tests, so it must hold everything they read."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    top_level = {path.split("/")[0] for path in tracked} - {".gitignore", "pyproject.toml"}
    included = set(PROJECT["tool"]["hatch"]["build"]["targets"]["sdist"]["include"])
    assert top_level <= included, f"missing from the sdist: {sorted(top_level - included)}"


def test_the_version_is_written_once():
    """pyproject.toml takes it from promptlib/__init__.py, so the two cannot disagree."""
    import importlib.metadata

    import promptlib

    assert "version" not in PROJECT["project"]
    assert PROJECT["project"]["dynamic"] == ["version"]
    assert PROJECT["tool"]["hatch"]["version"]["path"] == "promptlib/__init__.py"
    assert importlib.metadata.version("promptlib-py") == promptlib.__version__

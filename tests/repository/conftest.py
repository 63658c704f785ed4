from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

SHIPPED = Path(__file__).parents[2] / "templates"


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    """A copy of the repository's own templates folder, safe to edit."""
    root = tmp_path / "templates"
    shutil.copytree(SHIPPED, root)
    return root


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Write a template file under tmp_path/templates and return its path."""
    root = tmp_path / "templates"
    root.mkdir(exist_ok=True)

    def write(relative: str, text: str) -> Path:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


SIMPLE = """
---
name: greet
version: "{version}"
inputs:
  person: string
---
[system]
You greet people{suffix}.

[user]
Greet {{{{ person }}}}.
"""

"""Code in the docs runs: every ```python block, in order, per file (```py: shown, not run)."""

import re
from pathlib import Path

import pytest

DOCS = sorted((Path(__file__).parents[1] / "docs").glob("*.md"))
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


@pytest.mark.parametrize("page", DOCS, ids=lambda p: p.name)
def test_doc_examples_run(page, monkeypatch, tmp_path):
    # Examples use paths relative to the repository; what they write (a results store)
    # lands in a folder of the test's own.
    root = page.parents[1]
    for name in ("templates", "evals", "examples", "docs", "tests", "pyproject.toml"):
        (tmp_path / name).symlink_to(root / name)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for code in BLOCK.findall(page.read_text()):
        exec(compile(code, str(page), "exec"), namespace)


def test_reference_is_up_to_date():
    import runpy

    root = Path(__file__).parents[1]
    generator = runpy.run_path(str(root / "docs" / "gen_reference.py"))
    assert (root / "docs" / "reference.md").read_text() == generator["render"](), (
        "docs/reference.md is stale: run python docs/gen_reference.py"
    )

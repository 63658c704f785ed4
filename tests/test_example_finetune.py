"""examples/finetune/run.py: the prompt-or-fine-tune workflow, offline, end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_the_example_exports_checks_measures_and_decides(tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "finetune" / "run.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    out = done.stdout
    assert "train: 160 examples" in out
    assert "test: 20 examples" in out
    assert "160 examples, ok" in out
    assert "recommendation: not enough evidence" in out  # 20 mock cases cannot settle it
    assert "break-even (months)" in out
    manifest = json.loads((tmp_path / "data" / "manifest.json").read_text())
    train, test = set(manifest["splits"]["train"]), set(manifest["splits"]["test"])
    assert not train & test
    lines = (tmp_path / "data" / "train.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    assert [m["role"] for m in first["messages"]] == ["system", "user", "assistant"]
    assert json.loads(first["messages"][-1]["content"])["intent"]

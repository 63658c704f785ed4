"""An evaluation against a real model: llama.cpp serving SmolLM2-135M on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptlib._cli import main
from promptlib.evals._store import Store
from tests.integration.test_llama_server import URL

ROOT = Path(__file__).parents[2]

pytestmark = [
    pytest.mark.skipif(not URL, reason="no llama.cpp server: run .ci/llama-server start"),
    pytest.mark.allow_provider_requests,  # 127.0.0.1 only
]


def test_the_shipped_evaluation_runs_against_a_local_model(tmp_path, capsys):
    cases = (ROOT / "evals" / "datasets" / "insurance_tickets.jsonl").read_text().splitlines()
    (tmp_path / "tickets.jsonl").write_text("\n".join(cases[:6]) + "\n")
    (tmp_path / "local.toml").write_text(
        f"""
name = "insurance-triage-local"
dataset = "tickets.jsonl"
variants = ["insurance-triage@1.0.0", "insurance-triage@1.1.0"]
models = ["local:smollm2"]
concurrency = 2

[[scorers]]
type = "exact"
field = "label"

[providers.local]
base_url = "{URL}"
server = "llama-cpp-python"
"""
    )
    store = tmp_path / "evals.sqlite"
    argv = ["--templates", str(ROOT / "templates"), "eval", "run", str(tmp_path / "local.toml")]
    assert main([*argv, "--store", str(store), "--json", "--no-progress"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["status"], result["done"], result["errors"]) == ("finished", 12, 0)
    with Store(store) as db:
        rows = list(db.results(result["run_id"]))
    labels = {row.output["label"] for row in rows}
    assert labels  # the server's grammar keeps every answer to one of the ten labels
    assert all(row.scores["exact:label"]["value"] in (0.0, 1.0) for row in rows)
    assert all(row.input_tokens > 0 and row.attempts == 1 for row in rows)

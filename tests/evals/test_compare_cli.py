"""``promptlib eval compare`` and ``promptlib eval power``."""

from __future__ import annotations

import json

import jsonschema
import pytest

from promptlib._cli import main
from promptlib.evals._store import Store
from promptlib.evals.power import cases_needed, power_paired
from promptlib.evals.report._json_report import schema
from tests.evals.test_compare import correlated, row
from tests.evals.test_eval_cli import project  # noqa: F401  (fixture)


def stored(path, run_id: str, columns: dict, digest: str = "sha256:d", scorers=("exact",)) -> None:
    manifest = {
        "dataset": {"name": "tickets", "hash": digest, "cases": len(next(iter(columns.values())))},
        "variants": [{"label": name} for name in columns],
        "models": ["mock:m"],
        "scorers": list(scorers),
    }
    with Store(path) as store:
        store.start_run(run_id, "tickets", manifest)
        for name, values in columns.items():
            for i, value in enumerate(values):
                store.add(row(name, f"c{i:04d}", value, run_id=run_id))
        store.set_status(run_id, "finished")


@pytest.fixture
def runs(tmp_path):
    path = tmp_path / "evals.sqlite"
    a, b, c = correlated(400, [0.70, 0.80, 0.60], seed=5)
    stored(path, "good", {"t@1": a, "t@2": b})
    stored(path, "bad", {"t@1": a, "t@3": c})
    stored(path, "other", {"t@1": a}, digest="sha256:other")
    return path


def test_compare_writes_every_format_and_json_follows_the_schema(runs, capsys, tmp_path):
    assert main(["eval", "compare", "good", "--store", str(runs), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    jsonschema.validate(data, schema())
    assert data["comparisons"][0]["outcome"] == "better"
    assert main(["eval", "compare", "good", "--store", str(runs)]) == 0
    out = capsys.readouterr().out
    assert "t@2 beats t@1 by" in out
    assert "t@1 (baseline)" in out
    assert main(["eval", "compare", "good", "--store", str(runs), "--format", "md"]) == 0
    assert capsys.readouterr().out.startswith("### Evaluation: t@1 against 1 candidate(s)")
    target = tmp_path / "report.html"
    code = main(
        ["eval", "compare", "good", "--store", str(runs), "--format", "html", "-o", str(target)]
    )
    assert code == 0
    assert target.read_text().startswith("<!DOCTYPE html>")
    assert "wrote the html report" in capsys.readouterr().err


def test_fail_if_worse_exits_1_only_when_a_variant_is_significantly_worse(runs, capsys):
    args = ["eval", "compare", "--store", str(runs), "--fail-if-worse"]
    assert main([*args[:2], "good", *args[2:]]) == 0
    assert main([*args[:2], "bad", *args[2:]]) == 1
    err = capsys.readouterr().err
    assert "worse than the baseline: t@3 trails t@1 by" in err
    assert main(["eval", "compare", "bad", "--store", str(runs)]) == 0  # no flag, no failure


def test_two_runs_on_one_dataset_compare_and_different_datasets_are_refused(runs, capsys):
    code = main(
        [
            "eval",
            "compare",
            "good",
            "bad",
            "--store",
            str(runs),
            "--baseline",
            "t@1 [bad]",
            "--format",
            "json",
        ]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["baseline"] == "t@1 [bad]"
    assert [v["label"] for v in data["variants"]] == ["t@1 [good]", "t@2", "t@1 [bad]", "t@3"]
    assert main(["eval", "compare", "good", "bad", "--store", str(runs), "--baseline", "bad"]) == 2
    assert "'bad' matches several variants; name one of: t@1 [bad], t@3" in capsys.readouterr().err
    assert main(["eval", "compare", "good", "other", "--store", str(runs)]) == 2
    assert "different datasets" in capsys.readouterr().err


def test_the_shipped_evaluation_is_compared_offline(project, capsys):  # noqa: F811
    assert (
        main(["eval", "run", "evals/insurance-triage.toml", "--no-progress", "--run-id", "r1"]) == 0
    )
    capsys.readouterr()
    assert main(["eval", "compare", "r1", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["dataset"]["name"] == "insurance_tickets"
    assert [v["variant"] for v in data["variants"]] == [
        "insurance-triage@1.0.0",
        "insurance-triage@1.1.0",
    ]


def test_power_gives_the_cases_the_library_would_need(capsys):
    assert main(["eval", "power", "--baseline", "0.8", "--difference", "0.05", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["cases_needed"] == cases_needed(0.8, 0.05)
    assert (
        main(["eval", "power", "--baseline", "0.8", "--cases", "68", "--discordance", "0.1"]) == 0
    )
    out = capsys.readouterr().out
    assert f"power {100 * power_paired(0.8, 0.85, 68, discordance=0.1):.1f}%" in out
    assert main(["eval", "power", "--baseline", "0.98", "--difference", "0.05"]) == 2
    assert "within 0 and 1" in capsys.readouterr().err
    assert main(["eval", "power", "--baseline", "0.8", "--discordance", "0.01"]) == 2
    assert "discordance" in capsys.readouterr().err

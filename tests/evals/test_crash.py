"""A run killed at random points (SIGKILL) and resumed ends with exactly the results of an
uninterrupted run, having re-sent at most the requests that were in flight."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from promptlib.evals._store import Store

ROOT = Path(__file__).parents[2]
CONCURRENCY = 4

SCRIPT = textwrap.dedent(
    """
    import asyncio, json, os, sys
    from typing import Literal
    from pydantic import BaseModel
    from promptlib import JsonOutput, Template, User
    from promptlib.evals import _scorers as scorers
    from promptlib.evals._dataset import Case, Dataset
    from promptlib.evals._experiment import Experiment
    from promptlib.evals._runner import arun
    from promptlib.testing import MockProvider

    class Answer(BaseModel):
        label: Literal["even", "odd"]

    class Number(BaseModel):
        n: str

    store, log, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    variants = [
        Template([User("Is {{ n }} even or odd?"), JsonOutput()], name="parity",
                 version=v, inputs=Number, output=Answer, model="gpt-4o-mini")
        for v in ("1.0.0", "1.1.0")
    ]
    dataset = Dataset("numbers", tuple(
        Case(f"n{i:03d}", {"n": str(i)}, {"label": "even" if i % 2 == 0 else "odd"})
        for i in range(60)
    ))

    def reply(prompt):
        n = int(prompt.meta.inputs["n"])
        version = prompt.meta.version
        return {"label": "even" if (n % 2 == 0) != (version == "1.0.0" and n % 7 == 0) else "odd"}

    mock = MockProvider(reply)

    class Logged:
        name = "logged"
        def build_request(self, prompt, model=None):
            return mock.build_request(prompt, model)
        async def acomplete(self, prompt, model=None):
            with open(log, "a") as out:
                out.write(json.dumps([prompt.meta.version, prompt.meta.inputs["n"]]) + "\\n")
                out.flush()
                os.fsync(out.fileno())
            await asyncio.sleep(0.02)
            return await mock.acomplete(prompt, model)

    experiment = Experiment("parity", dataset, variants, models=["mock:gpt-4o-mini"],
                            scorers=[scorers.exact()], repeats=2, concurrency=CONCURRENCY)
    asyncio.run(arun(experiment, store=store, run_id="crash", resume=(mode == "resume"),
                     providers={"mock:gpt-4o-mini": Logged()}, progress=False))
    """
).replace("CONCURRENCY", str(CONCURRENCY))


def launch(tmp_path, store, log, mode):
    script = tmp_path / "run_eval.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, str(script), str(store), str(log), mode], env=env)


def results(store: Path, run_id: str):
    with Store(store) as db:
        return {
            row.key: (row.output, json.dumps(row.scores, sort_keys=True), row.error)
            for row in db.results(run_id)
        }


@pytest.mark.parametrize("seed", [1, 2])
def test_a_run_killed_at_random_points_resumes_to_the_same_results(tmp_path, seed):
    rng = random.Random(seed)
    reference = tmp_path / "reference.sqlite"
    done = launch(tmp_path, reference, tmp_path / "reference.log", "start")
    assert done.wait(timeout=120) == 0
    expected = results(reference, "crash")
    total = len(expected)
    assert total == 2 * 60 * 2

    store, log = tmp_path / "crashed.sqlite", tmp_path / "crashed.log"
    kills, mode = 0, "start"
    for _ in range(3):
        process = launch(tmp_path, store, log, mode)
        time.sleep(rng.uniform(0.7, 1.8))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait(timeout=60)
        if Path(store).exists() and "crash" in {r.run_id for r in Store(store).runs()}:
            mode = "resume"
    final = launch(tmp_path, store, log, mode)
    assert final.wait(timeout=120) == 0

    assert kills >= 1  # the run was really killed midway
    assert results(store, "crash") == expected
    sent = len(log.read_text().splitlines())
    assert total <= sent <= total + kills * CONCURRENCY

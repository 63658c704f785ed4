"""The evaluation runner's own cost: 10,000 cases x 2 variants on an instant provider.

The provider answers at once with a prebuilt completion, so what is timed is the runner:
rendering each prompt, scheduling, scoring, and committing each result to SQLite. Also
times ``import promptlib.evals`` on top of ``import promptlib``, in fresh processes.

    python benchmarks/bench_evals.py [--cases 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from promptlib import JsonOutput, Template, User
from promptlib.evals import scorers
from promptlib.evals.dataset import Case, Dataset
from promptlib.evals.experiment import Experiment
from promptlib.evals.runner import arun
from promptlib.testing import MockProvider


class Answer(BaseModel):
    label: Literal["even", "odd"]


class Number(BaseModel):
    n: str


class Instant:
    """A provider that answers at once with the same completion."""

    name = "instant"

    def __init__(self, completion: Any) -> None:
        self.completion = completion

    def build_request(self, prompt: Any, model: str | None = None) -> dict[str, Any]:
        return {}

    async def acomplete(self, prompt: Any, model: str | None = None) -> Any:
        return self.completion


def _import_time(statement: str, runs: int = 7) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    times = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(runs)
    ]
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10_000)
    cases = parser.parse_args().cases

    variants = [
        Template([User("Is {{ n }} even or odd?"), JsonOutput()], name="parity", version=v,
                 inputs=Number, output=Answer, model="gpt-4o-mini")
        for v in ("1.0.0", "1.1.0")
    ]  # fmt: skip
    dataset = Dataset(
        "numbers",
        tuple(Case(f"n{i}", {"n": str(i)}, {"label": "even"}) for i in range(cases)),
    )
    completion = MockProvider([{"label": "even"}]).complete(variants[0].render(n="1"))
    experiment = Experiment(
        "bench", dataset, variants, models=["instant"], scorers=[scorers.exact()], concurrency=64
    )
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        result = asyncio.run(
            arun(
                experiment,
                store=Path(folder) / "bench.sqlite",
                providers={"instant": Instant(completion)},
                progress=False,
            )
        )
        elapsed = time.perf_counter() - started
    assert result.done == 2 * cases, result
    per_case = elapsed / (2 * cases) * 1e6
    print(f"runner: {2 * cases} results in {elapsed:.2f} s ({per_case:.0f} us per result)")
    base = _import_time("import promptlib")
    evals = _import_time("import promptlib, promptlib.evals.runner")
    print(
        f"import promptlib {base * 1000:.0f} ms; + promptlib.evals (runner) "
        f"{(evals - base) * 1000:.0f} ms more"
    )


if __name__ == "__main__":
    main()

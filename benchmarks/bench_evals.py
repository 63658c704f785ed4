"""The evaluation runner's own cost: 10,000 cases x 2 variants on an instant provider.

The provider answers at once with a prebuilt completion, so what is timed is the runner:
rendering each prompt, scheduling, scoring, and committing each result to SQLite. Also
times ``import promptlib.evals`` on top of ``import promptlib``, in fresh processes.

With ``--server``, also against a local fake server (its own process, 127.0.0.1): the
runner at 64 in flight against the raw async SDK sending the same requests 64 at a time,
for both providers, as requests per second (median of alternating rounds).

    python benchmarks/bench_evals.py [--cases 10000] [--server]
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
from promptlib.evals import _scorers as scorers
from promptlib.evals._dataset import Case, Dataset
from promptlib.evals._experiment import Experiment
from promptlib.evals._runner import arun
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


def against_server(provider_name: str, url: str, cases: int = 1000, rounds: int = 5) -> None:
    """The runner's throughput against the raw async SDK's, 64 in flight, same requests."""
    from promptlib import AnthropicProvider, OpenAIProvider, Registry

    root = Path(__file__).parents[1]
    template = Registry(root / "templates").get("ticket-priority@production")
    dataset = Dataset(
        "tickets",
        tuple(Case(f"t{i}", {"ticket": f"Ticket {i}: the export fails."}) for i in range(cases)),
    )
    model = "gpt-4o-mini" if provider_name == "openai" else "claude-haiku-4-5"

    async def one_round() -> tuple[float, float]:
        if provider_name == "openai":
            import openai

            aclient: Any = openai.AsyncOpenAI(api_key="k", base_url=url, max_retries=0)
            adapter: Any = OpenAIProvider(async_client=aclient, base_url=url, server="openai")
            send = aclient.chat.completions.create
        else:
            import anthropic

            aclient = anthropic.AsyncAnthropic(api_key="k", base_url=url, max_retries=0)
            adapter = AnthropicProvider(async_client=aclient)
            send = aclient.messages.create
        requests = [adapter.build_request(template.render(**c.inputs), model) for c in dataset]
        gate = asyncio.Semaphore(64)

        async def raw_one(request: dict[str, Any]) -> None:
            async with gate:
                await send(**request)

        started = time.perf_counter()
        await asyncio.gather(*(raw_one(r) for r in requests))
        raw_rps = cases / (time.perf_counter() - started)
        experiment = Experiment(
            "bench", dataset, [template], models=[f"bench:{model}"], concurrency=64,
            providers={"bench": adapter},
        )  # fmt: skip
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            await arun(experiment, store=Path(folder) / "s.sqlite", progress=False)
            runner_rps = cases / (time.perf_counter() - started)
        await aclient.close()
        return raw_rps, runner_rps

    results = [asyncio.run(one_round()) for _ in range(rounds)]
    raw = statistics.median(r for r, _ in results)
    runner = statistics.median(r for _, r in results)
    ratio = statistics.median(b / a for a, b in results)
    print(
        f"{provider_name:9} 64 in flight: raw SDK {raw:6.0f} req/s, runner {runner:6.0f} req/s "
        f"({ratio:.2f}x, median of {rounds} rounds of {cases})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--server", action="store_true")
    options = parser.parse_args()
    cases = options.cases

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
    evals = _import_time("import promptlib, promptlib.evals._runner")
    print(
        f"import promptlib {base * 1000:.0f} ms; + promptlib.evals (runner) "
        f"{(evals - base) * 1000:.0f} ms more"
    )
    if options.server:
        import multiprocessing

        sys.path.insert(0, str(Path(__file__).parent))
        from bench_providers import serve

        for provider in ("openai", "anthropic"):
            ports: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
            server = multiprocessing.Process(target=serve, args=(ports, provider), daemon=True)
            server.start()
            try:
                port = ports.get(timeout=10)
                suffix = "/v1" if provider == "openai" else ""
                against_server(provider, f"http://127.0.0.1:{port}{suffix}")
            finally:
                server.terminate()


if __name__ == "__main__":
    main()

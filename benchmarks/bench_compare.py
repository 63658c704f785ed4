"""A whole comparison from stored results: 3 variants x 10,000 cases x 3 repeats.

Times ``compare_rows`` on 90,000 results (grouping, per-variant clustered intervals and
pass@k, paired comparisons of per-case means with 10,000-resample bootstraps and sign-flip
tests, Holm, flips, verdicts), then each report format rendered from it.

    python benchmarks/bench_compare.py [--cases 10000] [--repeats 3] [--rounds 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from promptlib.evals._comparison import compare_rows
from promptlib.evals._store import ResultRow
from promptlib.evals.report import FORMATS, render


def results(cases: int, repeats: int, rates: list[float], seed: int = 0) -> list[ResultRow]:
    """Seeded pass/fail results; a case's difficulty is shared by every variant."""
    rng = random.Random(seed)
    difficulty = [rng.betavariate(2, 2) for _ in range(cases)]
    rows = []
    for v, rate in enumerate(rates):
        for c, d in enumerate(difficulty):
            for r in range(repeats):
                passed = rng.random() < min(1.0, rate * 1.6 * (1 - d))
                rows.append(
                    ResultRow(
                        run_id="bench",
                        variant=f"ticket@1.{v}.0",
                        model="openai:gpt-4o-mini",
                        case_id=f"case-{c:05d}",
                        repeat=r,
                        template="ticket",
                        template_hash="sha256:0",
                        params={},
                        prompt_hash=None,
                        text="billing",
                        output={"label": "billing"},
                        scores={"exact": {"value": float(passed), "passed": passed}},
                        input_tokens=250 + 40 * v,
                        output_tokens=6,
                        cached_input_tokens=0,
                        cost="0.0000411",
                        latency=0.3 + rng.random() / 5,
                        attempts=1,
                        error=None,
                    )
                )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rows = results(args.cases, args.repeats, [0.70, 0.71, 0.74])
    timings, report = [], None
    for _ in range(args.rounds):
        start = time.perf_counter()
        report = compare_rows(rows)
        timings.append(time.perf_counter() - start)
    assert report is not None
    for c in report.comparisons:
        print(c.verdict)
    print(
        f"compare: 3 variants x {args.cases:,} cases x {args.repeats} repeats "
        f"({len(rows):,} results): median {statistics.median(timings):.2f} s, "
        f"best {min(timings):.2f} s over {args.rounds} rounds (one core)"
    )
    for name in FORMATS:
        start = time.perf_counter()
        text = render(report, name)
        print(
            f"  {name:<4} report: {len(text):>8,} characters in {time.perf_counter() - start:.3f} s"
        )
    print(
        f"command: python benchmarks/bench_compare.py --cases {args.cases} --repeats {args.repeats}"
    )


if __name__ == "__main__":
    main()

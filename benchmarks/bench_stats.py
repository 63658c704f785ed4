"""The statistics core's cost on a large comparison: 3 variants x 10,000 cases x 3 repeats.

Times the whole analysis a report would run, on seeded pass/fail scores: per variant, the
clustered mean and a 10,000-resample bootstrap of the per-case means; per candidate against
the baseline, the pass/fail comparison (Tango interval, exact McNemar, cases needed), the
graded comparison of per-case means (paired bootstrap and Monte Carlo sign-flip test, 10,000
resamples each), the flipped cases; then Holm across candidates and the verdicts.

    python benchmarks/bench_stats.py [--cases 10000] [--repeats 3] [--rounds 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from promptlib.evals.stats import (
    bootstrap_mean,
    clustered_mean,
    compare_pass_fail,
    compare_scores,
    flips,
    holm_adjust,
    verdict,
)

RESAMPLES = 10_000


def _scores(cases: int, repeats: int, rates: list[float], seed: int) -> list[list[list[float]]]:
    """Per variant, per case, per repeat: 1.0 or 0.0, with case difficulty shared by all."""
    rng = random.Random(seed)
    difficulty = [rng.betavariate(2, 2) for _ in range(cases)]
    return [
        [
            [float(rng.random() < min(1.0, rate * 1.6 * (1 - d))) for _ in range(repeats)]
            for d in difficulty
        ]
        for rate in rates
    ]


def analyse(variants: list[list[list[float]]], names: list[str]) -> list[str]:
    case_ids = [f"case-{i}" for i in range(len(variants[0]))]
    means = [[sum(case) / len(case) for case in variant] for variant in variants]
    majority = [[m > 0.5 for m in variant] for variant in means]
    for variant, per_case in zip(variants, means, strict=True):
        clustered_mean(variant)
        bootstrap_mean(per_case, resamples=RESAMPLES)
    pass_fail, graded = [], []
    for i in range(1, len(variants)):
        pass_fail.append(compare_pass_fail(names[0], majority[0], names[i], majority[i]))
        graded.append(compare_scores(names[0], means[0], names[i], means[i], resamples=RESAMPLES))
        flips(case_ids, means[0], means[i])
    return [verdict(c) for c in holm_adjust(pass_fail) + holm_adjust(graded)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    names = ["baseline", "candidate-1", "candidate-2"]
    variants = _scores(args.cases, args.repeats, [0.70, 0.71, 0.74], seed=0)
    timings = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        lines = analyse(variants, names)
        timings.append(time.perf_counter() - start)
    for line in lines:
        print(line)
    print(
        f"{len(names)} variants x {args.cases:,} cases x {args.repeats} repeats, "
        f"bootstraps and sign flips at {RESAMPLES:,} resamples: "
        f"median {statistics.median(timings):.2f} s, best {min(timings):.2f} s "
        f"over {args.rounds} rounds (one core)"
    )


if __name__ == "__main__":
    main()

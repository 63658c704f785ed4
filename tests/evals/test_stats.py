"""The statistics core, checked against scipy/statsmodels, published values and simulation."""

from __future__ import annotations

import itertools
import json
import math
import random
import types
from fractions import Fraction
from pathlib import Path

import pytest

from promptlib.evals import power, stats
from promptlib.evals.stats import (
    Comparison,
    Interval,
    bootstrap_mean,
    clustered_mean,
    compare_pass_fail,
    compare_scores,
    flips,
    holm,
    holm_adjust,
    mcnemar_exact,
    mcnemar_midp,
    newcombe_paired,
    paired_bootstrap_difference,
    paired_proportion_difference,
    pass_at_k,
    pass_hat_k,
    sign_flip_test,
    tango_paired,
    verdict,
    wilson,
)

DATA = Path(__file__).resolve().parents[1] / "data"


def _oracle(name: str):
    return pytest.importorskip(name)


# --- published reference values ------------------------------------------------------------

# Newcombe (1998), Stat. Med. 17:2635-2650, worked examples, method 10 limits (4 dp as
# published); counts are (e, f, g, h) = (both, first only, second only, neither), and
# theta = (f - g) / n, so the call is newcombe_paired(e, f, g, h).
NEWCOMBE_1998_METHOD_10 = [
    ((36, 12, 2, 0), 0.0569, 0.3404),
    ((20, 12, 2, 16), 0.0562, 0.3292),
    ((18, 12, 2, 18), 0.0562, 0.3290),
    ((36, 14, 0, 0), 0.1528, 0.4167),
    ((35, 14, 0, 1), 0.1461, 0.4175),
    ((18, 14, 0, 18), 0.1441, 0.3963),
    ((2, 97, 1, 0), 0.8721, 0.9854),
    ((1, 97, 1, 1), 0.8736, 0.9850),  # 0.873672 computed: the paper truncates here
    ((0, 29, 1, 0), 0.6666, 0.9882),
    ((2, 98, 0, 0), 0.9178, 0.9945),
    ((1, 98, 0, 1), 0.9171, 0.9916),
    ((0, 30, 0, 0), 0.8395, 1.0),
    ((54, 0, 0, 0), -0.0664, 0.0664),
    ((53, 0, 0, 1), -0.0729, 0.0729),
    ((30, 0, 0, 24), -0.0358, 0.0358),
    ((29, 0, 0, 25), -0.0354, 0.0354),
    ((28, 0, 0, 26), -0.0352, 0.0352),
    ((27, 0, 0, 27), -0.0351, 0.0351),
]


@pytest.mark.parametrize(("counts", "low", "high"), NEWCOMBE_1998_METHOD_10)
def test_newcombe_method_10_reproduces_the_published_limits(counts, low, high):
    interval = newcombe_paired(*counts)
    assert interval.low == pytest.approx(low, abs=1e-4)
    assert interval.high == pytest.approx(high, abs=1e-4)


def test_newcombe_and_tango_reproduce_fagerland_et_al_and_chang_et_al():
    # Fagerland, Lydersen & Laake, "Statistical Analysis of Contingency Tables" (2017), ch. 8,
    # as checked by their R package contingencytables (tests/testthat/test-ch8.R): Cavo et
    # al. (2012), complete response before (rows) and after (columns) consolidation,
    # [[59, 6], [16, 80]]; the same example as Fagerland et al. (2014), Stat. Med. 33:2850.
    # Their difference is before - after; ours is second - first, so the signs mirror.
    cavo = (59, 16, 6, 80)
    newcombe = newcombe_paired(*cavo)
    assert (newcombe.low, newcombe.high) == pytest.approx((0.0046, 0.1186), abs=5e-5)
    tango = tango_paired(*cavo)
    assert (tango.low, tango.high) == pytest.approx((0.0054, 0.1240), abs=5e-5)
    # Chang et al., paired score intervals, PMC10763857, Table 3: Tango 0.139 to 0.321 (3 dp).
    chang = tango_paired(7, 25, 2, 68)
    assert (chang.low, chang.high) == pytest.approx((0.139, 0.321), abs=5e-4)


def test_tango_excludes_zero_exactly_when_mcnemar_rejects():
    z2 = 1.959963984540054**2
    for f in range(25):
        for g in range(25):
            if f + g == 0:
                continue
            statistic = (f - g) ** 2 / (f + g)
            if abs(statistic - z2) < 1e-6:
                continue
            interval = tango_paired(10, f, g, 15)
            assert interval.excludes(0.0) == (statistic > z2)


def test_tango_limits_solve_the_score_equation():
    rng = random.Random(3)
    z = 1.959963984540054
    for _ in range(300):
        both, f, g, neither = (rng.randrange(0, 40) for _ in range(4))
        if both + f + g + neither == 0:
            continue
        n = both + f + g + neither
        interval = tango_paired(both, f, g, neither)
        for delta, target in ((interval.low, z), (interval.high, -z)):
            if abs(delta) > 1 - 1e-9:
                continue
            w = -f - g + (2 * n - f + g) * delta
            q = (math.sqrt(w * w + 8 * n * g * delta * (1 - delta)) - w) / (4 * n)
            score = (f - g - n * delta) / math.sqrt(n * (2 * q + delta * (1 - delta)))
            assert score == pytest.approx(target, abs=1e-6)


# --- oracle agreement on seeded random inputs --------------------------------------------


def test_wilson_agrees_with_statsmodels():
    proportion = _oracle("statsmodels.stats.proportion")
    rng = random.Random(1)
    for _ in range(3000):
        n = rng.randrange(1, 2000)
        x = rng.randrange(0, n + 1)
        level = rng.choice([0.8, 0.9, 0.95, 0.99])
        low, high = proportion.proportion_confint(x, n, alpha=1 - level, method="wilson")
        interval = wilson(x, n, level)
        assert interval.low == pytest.approx(low, abs=1e-9)
        assert interval.high == pytest.approx(high, abs=1e-9)


def test_mcnemar_exact_agrees_with_statsmodels():
    tables = _oracle("statsmodels.stats.contingency_tables")
    rng = random.Random(2)
    for _ in range(3000):
        b01, b10 = rng.randrange(0, 300), rng.randrange(0, 300)
        expected = tables.mcnemar([[5, b01], [b10, 5]], exact=True).pvalue
        assert mcnemar_exact(b01, b10) == pytest.approx(expected, abs=1e-9)


def test_mcnemar_midp_is_the_exact_p_minus_the_observed_point_probability():
    scipy_stats = _oracle("scipy.stats")
    rng = random.Random(3)
    for _ in range(3000):
        b01, b10 = rng.randrange(0, 300), rng.randrange(0, 300)
        m, low = b01 + b10, min(b01, b10)
        expected = 2 * scipy_stats.binom.cdf(low, m, 0.5) - scipy_stats.binom.pmf(low, m, 0.5)
        assert mcnemar_midp(b01, b10) == pytest.approx(min(1.0, expected), abs=1e-9)
        assert mcnemar_midp(b01, b10) <= mcnemar_exact(b01, b10)
    assert mcnemar_midp(7, 7) == 1.0
    assert mcnemar_midp(0, 0) == mcnemar_exact(0, 0) == 1.0
    # The airway hyper-responsiveness table (Bentur et al. 2009) used by Fagerland et al.
    # (2013), b = 1, c = 7: exact p = 2 * 9/256, mid-p = that minus 8/256.
    assert mcnemar_exact(1, 7) == pytest.approx(0.0703125, abs=1e-12)
    assert mcnemar_midp(1, 7) == pytest.approx(0.0390625, abs=1e-12)


def test_holm_agrees_with_statsmodels(monkeypatch):
    multitest = _oracle("statsmodels.stats.multitest")
    # multipletests runs a full gc.collect() on every call: 3000 calls would take minutes.
    monkeypatch.setattr("gc.collect", lambda *args: 0)
    rng = random.Random(4)
    for _ in range(3000):
        m = rng.randrange(1, 12)
        p = [rng.choice([rng.random(), rng.random() / 100, 0.05, 1.0]) for _ in range(m)]
        expected = multitest.multipletests(p, method="holm")[1]
        assert holm(p) == pytest.approx(list(expected), abs=1e-12)


def test_pass_at_k_agrees_with_the_reference_estimator_and_with_enumeration():
    np = _oracle("numpy")
    rng = random.Random(5)
    for _ in range(3000):
        n = rng.randrange(1, 200)
        c = rng.randrange(0, n + 1)
        k = rng.randrange(1, n + 1)
        # Chen et al. (2021), the numerically stable numpy form from the paper.
        expected = 1.0 if n - c < k else 1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1))
        assert pass_at_k(n, c, k) == pytest.approx(float(expected), abs=1e-9)
    # Unbiased: the average over every k-subset of n samples.
    for n, c, k in [(6, 2, 3), (7, 4, 2), (8, 5, 5), (5, 5, 2), (5, 0, 1)]:
        outcomes = [True] * c + [False] * (n - c)
        subsets = list(itertools.combinations(outcomes, k))
        assert pass_at_k(n, c, k) == pytest.approx(
            sum(any(s) for s in subsets) / len(subsets), abs=1e-12
        )
        assert pass_hat_k(n, c, k) == pytest.approx(
            sum(all(s) for s in subsets) / len(subsets), abs=1e-12
        )


def _brute_sign_flip(differences):
    observed = abs(math.fsum(differences))
    tolerance = 1e-12 * math.fsum(abs(d) for d in differences)
    sums = (
        abs(math.fsum(s * d for s, d in zip(signs, differences, strict=True)))
        for signs in itertools.product((1, -1), repeat=len(differences))
    )
    hits = sum(total >= observed - tolerance for total in sums)
    return hits / 2 ** len(differences)


def test_sign_flip_exact_agrees_with_scipy_permutation_test():
    np = _oracle("numpy")
    scipy_stats = _oracle("scipy.stats")
    rng = random.Random(6)
    for trial in range(1000):
        n = rng.randrange(2, 11)  # scipy needs two observations
        if trial % 2:
            diffs = [rng.gauss(0.1, 1) for _ in range(n)]
        else:
            diffs = [rng.choice([-1, -0.5, 0, 0, 0.5, 1]) for _ in range(n)]
        result = scipy_stats.permutation_test(
            (np.array(diffs),),
            lambda x, axis: np.mean(x, axis=axis),
            permutation_type="samples",
            n_resamples=np.inf,
            vectorized=True,
        )
        ours = sign_flip_test(diffs)
        assert ours.exact
        assert ours.p_value == pytest.approx(result.pvalue, abs=1e-9)


def test_sign_flip_exact_agrees_with_enumeration():
    rng = random.Random(7)
    for trial in range(2000):
        n = rng.randrange(1, 13)
        if trial % 2:
            diffs = [rng.uniform(-1, 1) for _ in range(n)]
        else:
            diffs = [rng.choice([-1, -2 / 3, -1 / 3, 0, 1 / 3, 2 / 3, 1]) for _ in range(n)]
        assert sign_flip_test(diffs).p_value == pytest.approx(_brute_sign_flip(diffs), abs=1e-12)


def _exact_integer_sign_flip(values):
    """Exact two-sided p for integer differences, by convolving the sign distributions."""
    counts = {0: 1}
    for v in values:
        nxt: dict[int, int] = {}
        for s, c in counts.items():
            for t in (s + v, s - v):
                nxt[t] = nxt.get(t, 0) + c
        counts = nxt
    observed = abs(sum(values))
    return Fraction(sum(c for s, c in counts.items() if abs(s) >= observed), 2 ** len(values))


def test_sign_flip_monte_carlo_agrees_with_the_exact_distribution():
    rng = random.Random(8)
    grouped = [rng.choice([-2, -1, 0, 1, 1, 2, 2]) for _ in range(300)]  # few magnitudes
    many = [rng.gauss(0.08, 1) for _ in range(26)]  # 26 distinct magnitudes
    for diffs, exact in [
        (grouped, float(_exact_integer_sign_flip(grouped))),
        (many, None),
    ]:
        if exact is None:
            saved = stats._EXACT_SIGN_FLIP_MAX
            stats._EXACT_SIGN_FLIP_MAX = 30
            try:
                exact = sign_flip_test(diffs).p_value
            finally:
                stats._EXACT_SIGN_FLIP_MAX = saved
        result = sign_flip_test(diffs, resamples=20_000, seed=1)
        assert not result.exact
        se = math.sqrt(exact * (1 - exact) / 20_000)
        assert abs(result.p_value - exact) < 4 * se + 1e-4


def test_clustered_mean_agrees_with_statsmodels_cluster_robust_se():
    np = _oracle("numpy")
    sm = _oracle("statsmodels.api")
    rng = random.Random(9)
    for _ in range(1000):
        cases = [
            [float(rng.random() < 0.3 + 0.4 * (i % 3) / 2) for _ in range(rng.randrange(1, 5))]
            for i in range(rng.randrange(2, 60))
        ]
        flat = np.array([s for case in cases for s in case])
        groups = np.array([i for i, case in enumerate(cases) for _ in case])
        fit = sm.OLS(flat, np.ones_like(flat)).fit(
            cov_type="cluster", cov_kwds={"groups": groups, "use_correction": False}
        )
        n = len(flat)
        squares = float(((flat - flat.mean()) ** 2).sum())
        # Miller's clustered SE = the uncorrected sandwich SE, with the diagonal term taken as the
        # sample variance / n instead of the population variance / n.
        expected = math.sqrt(fit.bse[0] ** 2 + squares * (1 / (n * (n - 1)) - 1 / n**2))
        result = clustered_mean(cases)
        assert result.mean == pytest.approx(float(flat.mean()), abs=1e-12)
        assert result.standard_error == pytest.approx(expected, abs=1e-9)


def test_clustered_mean_without_repeats_is_the_usual_standard_error():
    import statistics

    rng = random.Random(10)
    values = [rng.random() for _ in range(50)]
    result = clustered_mean([[v] for v in values])
    assert result.standard_error == pytest.approx(statistics.stdev(values) / math.sqrt(50))
    assert result.interval.low < result.mean < result.interval.high
    # Perfectly correlated repeats carry no more information than one score per case.
    repeated = clustered_mean([[v] * 3 for v in values])
    assert repeated.standard_error > result.standard_error * 0.98


def test_percentile_quantiles_match_numpy():
    np = _oracle("numpy")
    rng = random.Random(11)
    for _ in range(2000):
        data = sorted(rng.random() for _ in range(rng.randrange(1, 50)))
        q = rng.random()
        assert stats.sorted_quantile(data, q) == pytest.approx(
            float(np.percentile(data, 100 * q)), abs=1e-12
        )


def test_binomial_sampler_has_the_binomial_distribution():
    scipy_stats = _oracle("scipy.stats")
    rng = random.Random(12)
    for n, p in [(20, 0.1), (1000, 0.5), (5000, 0.03), (300, 0.9), (40, 0.45)]:
        draws = [stats._binomial(rng, n, p) for _ in range(20_000)]
        counts: dict[int, int] = {}
        for d in draws:
            counts[d] = counts.get(d, 0) + 1
        # Kolmogorov-Smirnov distance against the exact CDF.
        distance, running = 0.0, 0
        for k in range(n + 1):
            running += counts.get(k, 0)
            distance = max(distance, abs(running / 20_000 - scipy_stats.binom.cdf(k, n, p)))
        assert distance < 0.015


def test_bootstrap_agrees_with_scipy_within_monte_carlo_error():
    np = _oracle("numpy")
    scipy_stats = _oracle("scipy.stats")
    rng = random.Random(13)
    for values in (
        [float(rng.random() < 0.7) for _ in range(400)],  # the multinomial path
        [rng.gauss(0.5, 0.2) for _ in range(60)],  # resampling cases directly
    ):
        for method, theirs_method in (("percentile", "percentile"), ("bca", "BCa")):
            ours = bootstrap_mean(values, resamples=20_000, seed=3, method=method)
            theirs = scipy_stats.bootstrap(
                (np.array(values),), np.mean, n_resamples=20_000, method=theirs_method, rng=3
            ).confidence_interval
            width = theirs.high - theirs.low
            assert ours.low == pytest.approx(theirs.low, abs=0.03 * width)
            assert ours.high == pytest.approx(theirs.high, abs=0.03 * width)


def _exact_mean(values) -> float:
    # The estimate as the library computes it: a resample holding every value once has
    # exactly this mean, whereas numpy's pairwise sum may differ in the last bit, which
    # would turn BCa's ties with the estimate into strict inequalities.
    return math.fsum(values) / len(values)


def test_bootstrap_intervals_agree_with_scipy_on_the_same_resamples(monkeypatch):
    # scipy.stats.bootstrap accepts a bootstrap distribution to reuse (``bootstrap_result``),
    # so both compute their intervals from the very same resampled means.
    np = _oracle("numpy")
    scipy_stats = _oracle("scipy.stats")
    resample = stats._bootstrap_means
    cache: dict[tuple[tuple[float, ...], int], list[float]] = {}

    def cached(values, resamples, seed):
        key = (tuple(values), seed)
        if key not in cache:
            cache[key] = resample(values, resamples, seed)
        return cache[key]

    monkeypatch.setattr(stats, "_bootstrap_means", cached)
    rng = random.Random(15)
    checked = 0
    for trial in range(600):
        n = rng.randrange(5, 80)
        kind = trial % 4
        if kind == 0:
            p = rng.random()
            values = [float(rng.random() < p) for _ in range(n)]
        elif kind == 1:
            values = [rng.choice([0.0, 0.5, 1.0]) for _ in range(n)]
        elif kind == 2:
            values = [rng.gauss(0, 1) for _ in range(n)]
        else:
            values = [rng.expovariate(1.0) for _ in range(n)]
        level = rng.choice([0.9, 0.95, 0.99])
        seed = rng.randrange(1000)
        means = cached(values, 1000, seed)
        for method, theirs_method in (("percentile", "percentile"), ("bca", "BCa")):
            ours = bootstrap_mean(values, level, 1000, seed, method)
            if method == "bca" and not ours.method.startswith("BCa"):
                continue  # degenerate: scipy returns NaN here, we fall back to percentile
            theirs = scipy_stats.bootstrap(
                (np.array(values),),
                _exact_mean,
                vectorized=False,
                n_resamples=0,
                bootstrap_result=types.SimpleNamespace(bootstrap_distribution=np.array(means)),
                method=theirs_method,
                confidence_level=level,
            ).confidence_interval
            assert ours.low == pytest.approx(float(theirs.low), abs=1e-9)
            assert ours.high == pytest.approx(float(theirs.high), abs=1e-9)
            checked += 1
    assert checked > 1100


def test_bootstrap_is_deterministic_and_paired():
    values = [random.Random(i).random() for i in range(40)]
    assert bootstrap_mean(values, seed=4) == bootstrap_mean(values, seed=4)
    assert bootstrap_mean(values, seed=4) != bootstrap_mean(values, seed=5)
    a = [random.Random(i).random() for i in range(80)]
    b = [x + 0.1 for x in a]  # a constant shift: the paired interval is exactly that shift
    difference, interval = paired_bootstrap_difference(a, b, resamples=1000)
    assert difference == pytest.approx(0.1)
    assert interval.low == pytest.approx(0.1)
    assert interval.high == pytest.approx(0.1)


# --- coverage in simulation ----------------------------------------------------------------


def _independent(p_a: float, p_b: float) -> tuple[float, float, float, float]:
    """Cell probabilities (both, b only, a only, neither) when outcomes are independent."""
    return (p_a * p_b, p_b * (1 - p_a), p_a * (1 - p_b), (1 - p_a) * (1 - p_b))


def _coverage(cells, n: int, trials: int, seed: int) -> float:
    rng = random.Random(seed)
    truth = cells[1] - cells[2]
    weights = [round(c * 1_000_000) for c in cells]
    covered = 0
    for _ in range(trials):
        counts = stats._multinomial(rng, n, weights)
        interval = paired_proportion_difference(
            [True] * counts[0] + [False] * counts[1] + [True] * counts[2] + [False] * counts[3],
            [True] * counts[0] + [True] * counts[1] + [False] * counts[2] + [False] * counts[3],
        )[1]
        covered += interval.low <= truth <= interval.high
    return covered / trials


@pytest.mark.parametrize("n", [50, 300])
@pytest.mark.parametrize(("p_a", "p_b"), [(0.80, 0.85), (0.95, 0.97), (0.80, 0.80)])
def test_paired_interval_covers_near_nominal(n, p_a, p_b):
    assert 0.93 <= _coverage(_independent(p_a, p_b), n, 1500, seed=n) <= 0.97


@pytest.mark.parametrize(
    "cells",
    [(0.75, 0.10, 0.05, 0.10), (0.94, 0.03, 0.01, 0.02), (0.75, 0.05, 0.05, 0.15)],
    ids=["80->85", "95->97", "no difference"],
)
def test_paired_interval_never_undercovers_correlated_outcomes(cells):
    # Outcomes correlated across variants (hard cases hard for both) leave few discordant
    # cases; the interval then errs wide (95->97 on 50 cases: about 2 discordant, ~98.6%).
    for n in (50, 300):
        assert _coverage(cells, n, 1500, seed=n + 1) >= 0.93


# --- power -------------------------------------------------------------------------------


def _simulated_power(cells, n: int, trials: int, seed: int, alpha: float = 0.05) -> float:
    rng = random.Random(seed)
    weights = [round(c * 1_000_000) for c in cells]
    rejected = 0
    for _ in range(trials):
        counts = stats._multinomial(rng, n, weights)
        rejected += mcnemar_exact(counts[1], counts[2]) <= alpha
    return rejected / trials


@pytest.mark.parametrize(
    ("cells", "n"),
    [
        ((0.75, 0.10, 0.05, 0.10), 150),
        ((0.75, 0.10, 0.05, 0.10), 469),
        ((0.94, 0.03, 0.01, 0.02), 300),
        (_independent(0.80, 0.85), 400),
        ((0.50, 0.15, 0.05, 0.30), 60),
    ],
)
def test_power_paired_matches_a_simulation_of_the_exact_test(cells, n):
    p_a, p_b = cells[0] + cells[2], cells[0] + cells[1]
    predicted = power.power_paired(p_a, p_b, n, discordance=cells[1] + cells[2])
    assert abs(predicted - _simulated_power(cells, n, 3000, seed=n)) < 0.03


@pytest.mark.parametrize(
    ("p_baseline", "difference", "discordance"),
    [(0.80, 0.05, 0.15), (0.80, 0.10, 0.20), (0.95, 0.02, 0.04), (0.60, -0.08, None)],
)
def test_cases_needed_reaches_the_requested_power(p_baseline, difference, discordance):
    n = power.cases_needed(p_baseline, difference, discordance=discordance)
    psi = (
        power.independent_discordance(p_baseline, p_baseline + difference)
        if discordance is None
        else discordance
    )
    b_only, a_only = (psi + difference) / 2, (psi - difference) / 2
    both = p_baseline - a_only
    cells = (both, b_only, a_only, 1 - both - b_only - a_only)
    assert power.power_paired(p_baseline, p_baseline + difference, n, discordance=psi) >= 0.8
    assert _simulated_power(cells, n, 2000, seed=n) > 0.77
    # Connor's closed form alone is for the asymptotic test: a little short for the exact one.
    connor = power.cases_needed(p_baseline, difference, discordance=discordance, exact=False)
    assert connor <= n <= connor * 1.25


def test_cases_needed_matches_connors_worked_figure():
    # The closed form by hand: psi = 0.15, delta = 0.05, alpha = 0.05, power = 0.8.
    z_a, z_b = 1.959963984540054, 0.8416212335729143
    expected = (z_a * math.sqrt(0.15) + z_b * math.sqrt(0.15 - 0.0025)) ** 2 / 0.0025
    assert power.cases_needed(0.8, 0.05, discordance=0.15, exact=False) == math.ceil(expected)
    with pytest.raises(ValueError, match="discordance"):
        power.cases_needed(0.8, 0.05, discordance=0.01)


# --- verdicts ----------------------------------------------------------------------------


def _paired_sample(cells, n: int, seed: int) -> tuple[list[bool], list[bool]]:
    rng = random.Random(seed)
    a, b = [], []
    for cell in rng.choices(range(4), weights=cells, k=n):
        a.append(cell in (0, 2))
        b.append(cell in (0, 1))
    return a, b


def test_a_true_five_point_gain_on_70_cases_is_not_claimed():
    cells = (0.75, 0.10, 0.05, 0.10)  # 80% -> 85%
    claimed = 0
    for seed in range(100):
        a, b = _paired_sample(cells, 70, seed)
        text = verdict(compare_pass_fail("A", a, "B", b))
        claimed += text.startswith("B beats")
    # Power at N = 70 is low; a claim is the rare lucky draw, never the rule.
    assert claimed / 100 < 0.2
    a, b = _paired_sample(cells, 70, 0)
    comparison = compare_pass_fail("A", a, "B", b)
    text = verdict(comparison)
    assert text.startswith("no detectable difference between B and A at N = 70")
    assert "detecting 5 points would need about N = " in text
    assert comparison.cases_needed > 250


def test_a_clear_gain_is_claimed_with_holm_adjustment():
    a, b = _paired_sample((0.55, 0.20, 0.05, 0.20), 300, 1)
    c, d = _paired_sample((0.50, 0.10, 0.10, 0.30), 800, 2)
    first, second = holm_adjust(
        [compare_pass_fail("A", a, "B", b), compare_pass_fail("A", c, "C", d)]
    )
    text = verdict(first)
    assert text.startswith("B beats A by ")
    assert text.endswith(", Holm)")
    assert first.adjusted_p is not None
    assert first.adjusted_p >= first.p_value
    assert verdict(second).startswith("no detectable difference")
    assert verdict(second).endswith("; N = 800 detects 5 points with at least 80% power")


def test_verdict_needs_both_the_test_and_the_interval():
    interval = Interval(-0.01, 0.12, 0.95, "Tango score")
    comparison = Comparison("A", "B", 100, 0.05, interval, 0.01, "McNemar exact", 0.05, 900)
    assert verdict(comparison).startswith("no detectable difference")
    significant = Comparison(
        "A", "B", 100, -0.062, Interval(-0.103, -0.021, 0.95, "x"), 0.004, "t", 0.05, 900
    )
    assert verdict(significant) == "B trails A by 6.2 points (95% CI -10.3 to -2.1, p = 0.004)"


def test_graded_comparison_uses_paired_tests():
    rng = random.Random(14)
    a = [rng.choice([0.0, 0.5, 1.0]) for _ in range(200)]
    b = [min(1.0, x + rng.choice([0.0, 0.0, 0.5])) for x in a]
    comparison = compare_scores("A", a, "B", b, resamples=2000)
    assert comparison.test == "sign-flip permutation"
    assert verdict(comparison).startswith("B beats A by ")
    same = compare_scores("A", a, "B", list(a), resamples=2000)
    assert same.p_value == 1.0
    assert verdict(same).startswith("no detectable difference")


def test_a_baseline_at_the_ceiling_still_gets_a_verdict():
    comparison = compare_pass_fail("A", [True] * 40, "B", [True] * 39 + [False])
    assert comparison.cases_needed > 40
    assert verdict(comparison).startswith("no detectable difference between B and A at N = 40")


def test_flips_lists_the_cases_that_changed():
    result = flips(["q1", "q2", "q3", "q4"], [1, 0, 1, 0], [1, 1, 0, 0])
    assert result.wins == ("q2",)
    assert result.losses == ("q3",)
    assert result.ties == 2


# --- real data ---------------------------------------------------------------------------


def test_gsm8k_paired_reproduces_the_discordant_counts_and_the_exact_p():
    scipy_stats = _oracle("scipy.stats")
    rows = [json.loads(line) for line in (DATA / "gsm8k_paired.jsonl").read_text().splitlines()]
    a = [r["finetuning_175b"] for r in rows]
    b = [r["verification_175b"] for r in rows]
    assert (len(rows), sum(a), sum(b)) == (1319, 458, 742)
    result = flips([str(r["id"]) for r in rows], a, b)
    assert (len(result.wins), len(result.losses)) == (360, 76)
    expected = scipy_stats.binomtest(76, 436, 0.5).pvalue
    assert mcnemar_exact(360, 76) == pytest.approx(expected, rel=1e-9)
    comparison = compare_pass_fail("fine-tuned", a, "verifier", b)
    assert comparison.p_value == mcnemar_exact(360, 76)
    difference, interval = paired_proportion_difference(a, b)
    assert difference == pytest.approx((360 - 76) / 1319)
    assert interval.excludes(0.0)
    assert verdict(comparison).startswith("verifier beats fine-tuned by 21.5 points")


def test_invalid_inputs_are_rejected():
    with pytest.raises(ValueError, match="successes"):
        wilson(3, 2)
    with pytest.raises(ValueError, match="level"):
        wilson(1, 2, level=1.0)
    with pytest.raises(ValueError, match="equal lengths"):
        paired_proportion_difference([True], [True, False])
    with pytest.raises(ValueError, match="n="):
        pass_at_k(3, 4, 1)
    with pytest.raises(ValueError, match="at least 2"):
        bootstrap_mean([1.0])


# --- large samples --------------------------------------------------------------------------


def test_above_a_thousand_distinct_cases_the_normal_forms_agree_with_resampling():
    from promptlib.evals.stats import (
        NORMAL_ABOVE,
        normal_mean,
        sign_flip_normal,
    )

    for seed in range(3):
        rng = random.Random(seed)
        n = NORMAL_ABOVE + 200
        a = [rng.betavariate(0.5, 2) for _ in range(n)]  # skewed, as judge scores can be
        b = [min(1.0, max(0.0, x + rng.gauss(0.005, 0.2))) for x in a]
        boot, normal = bootstrap_mean(a, resamples=4000), normal_mean(a)
        assert abs(boot.low - normal.low) < 0.0015  # within 0.15 points, skew and all
        assert abs(boot.high - normal.high) < 0.0015
        diffs = [y - x for x, y in zip(a, b, strict=True)]
        exact_ish = sign_flip_test(diffs, resamples=4000, seed=seed).p_value
        assert abs(exact_ish - sign_flip_normal(diffs).p_value) < 0.03
        large = compare_scores("a", a, "b", b)
        assert large.interval.method == "paired normal (large N)"
        assert "normal approximation" in large.test
        small = compare_scores("a", a[:500], "b", b[:500], resamples=1000)
        assert "bootstrap" in small.interval.method

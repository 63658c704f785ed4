"""Statistics for comparing prompt variants: intervals, paired tests, and honest verdicts.

Standard library only. Comparisons are always paired (the same cases under both variants):
McNemar's exact test and Tango's score interval for pass/fail, a sign-flip permutation test and
a paired bootstrap for graded scores. ``verdict`` claims a difference only when the
multiplicity-adjusted p-value and the interval agree, and otherwise says how many cases a
real difference would take to detect.
"""

from __future__ import annotations

import bisect
import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import accumulate, compress
from statistics import NormalDist
from typing import Literal

from promptlib.evals.power import cases_needed, independent_discordance

__all__ = [
    "BootstrapMethod",
    "ClusteredMean",
    "Comparison",
    "Flips",
    "Interval",
    "SignFlipResult",
    "bootstrap_mean",
    "bounded_mean",
    "clustered_mean",
    "compare_pass_fail",
    "compare_scores",
    "flips",
    "holm",
    "holm_adjust",
    "mcnemar_exact",
    "mcnemar_midp",
    "newcombe_paired",
    "normal_mean",
    "paired_bootstrap_difference",
    "paired_proportion_difference",
    "pass_at_k",
    "pass_hat_k",
    "sign_flip_normal",
    "sign_flip_test",
    "t_quantile",
    "tango_paired",
    "verdict",
    "wilson",
]

_NORMAL = NormalDist()
_EXACT_SIGN_FLIP_MAX = 20
_LOW_BIT = bytes(i & 1 for i in range(256))
# Above this many cases with many distinct values, resampling costs seconds and its answer
# equals the normal approximation's within its own Monte Carlo error: see compare_scores.
NORMAL_ABOVE = 1_000
# Below this many cases a bootstrap interval covers well under its level.
SMALL_N = 20


@dataclass(frozen=True)
class Interval:
    """A two-sided confidence interval at ``level`` (e.g. 0.95), computed by ``method``."""

    low: float
    high: float
    level: float
    method: str

    def excludes(self, value: float = 0.0) -> bool:
        """Whether ``value`` lies outside the interval (0: a difference is established)."""
        return value < self.low or value > self.high


def _z(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be within (0, 1), got {level!r}")
    return _NORMAL.inv_cdf(0.5 + level / 2.0)


# --- per variant -------------------------------------------------------------------------


def wilson(successes: float, n: float, level: float = 0.95) -> Interval:
    """Wilson score interval for a binomial proportion (Wilson 1927, JASA 22:209-212).

    ``successes`` and ``n`` may be fractional: an effective sample size (Korn & Graubard
    1998) or scores in [0, 1] (see ``bounded_mean``).
    """
    if not n > 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n > 0, got {successes}/{n}")
    z = _z(level)
    z2 = z * z
    p = successes / n
    center = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return Interval(max(0.0, center - half), min(1.0, center + half), level, "wilson")


def bounded_mean(
    values: Sequence[float], level: float = 0.95, *, low: float = 0.0, high: float = 1.0
) -> Interval:
    """A conservative interval for the mean of ``values`` known to lie in [low, high].

    Scores in [0, 1] vary at most as much as pass/fail scores with the same mean, so
    Wilson's interval with that (Bernoulli) variance covers about its level whatever their
    distribution (like Wilson's own coverage it oscillates with N, dipping to about 0.84 at
    some small N), where a bootstrap of a handful of values covers far less (two scores of
    0.8 and 0.9 would give 0.8 to 0.9).
    """
    n = len(values)
    if n < 1:
        raise ValueError("need at least 1 value")
    span = high - low
    share = min(max((math.fsum(values) / n - low) / span, 0.0), 1.0)
    w = wilson(share * n, n, level)
    return Interval(low + w.low * span, low + w.high * span, level, "Wilson, bounded scores")


def _binomial(rng: random.Random, n: int, p: float) -> int:
    """One Binomial(n, p) draw: geometric skipping for small n*p, else Hormann's BTRS.

    Hormann (1993), "The generation of binomial random variates", J. Stat. Comput. Simul.
    46:101-110 (the same algorithm as ``random.binomialvariate`` in Python 3.12+).
    """
    if p <= 0.0 or n == 0:
        return 0
    if p >= 1.0:
        return n
    if p > 0.5:
        return n - _binomial(rng, n, 1.0 - p)
    if n * p < 10.0:
        x = y = 0
        c = math.log1p(-p)
        while True:
            y += math.floor(math.log(1.0 - rng.random()) / c) + 1
            if y > n:
                return x
            x += 1
    spq = math.sqrt(n * p * (1.0 - p))
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    vr = 0.92 - 4.2 / b
    alpha = (2.83 + 5.1 / b) * spq
    lpq = math.log(p / (1.0 - p))
    m = math.floor((n + 1) * p)
    h = math.lgamma(m + 1) + math.lgamma(n - m + 1)
    while True:
        u = rng.random() - 0.5
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + c)
        if k < 0 or k > n:
            continue
        v = rng.random()
        if us >= 0.07 and v <= vr:
            return k
        v *= alpha / (a / (us * us) + b)
        if math.log(v) <= h - math.lgamma(k + 1) - math.lgamma(n - k + 1) + (k - m) * lpq:
            return k


def _multinomial(rng: random.Random, n: int, weights: Sequence[int]) -> list[int]:
    """One multinomial draw of ``n`` over integer ``weights``, by conditional binomials."""
    counts = []
    left, mass = n, sum(weights)
    for w in weights:
        k = _binomial(rng, left, w / mass) if mass > 0 else 0
        counts.append(k)
        left -= k
        mass -= w
    return counts


def _bootstrap_means(values: Sequence[float], resamples: int, seed: int) -> list[float]:
    """Means of ``resamples`` bootstrap resamples of ``values`` (Efron 1979).

    Eval scores take few distinct values (pass/fail, a few grades, means of a few repeats),
    so a resample is drawn as multinomial counts over the distinct values: the same
    distribution as drawing cases with replacement, in O(distinct) instead of O(n).
    """
    n = len(values)
    rng = random.Random(seed)
    tally = Counter(values)
    if len(tally) * 40 < n:
        distinct = list(tally)
        weights = [tally[v] for v in distinct]
        return [
            math.fsum(c * v for c, v in zip(_multinomial(rng, n, weights), distinct, strict=True))
            / n
            for _ in range(resamples)
        ]
    pool = list(values)
    return [math.fsum(rng.choices(pool, k=n)) / n for _ in range(resamples)]


def sorted_quantile(ordered: Sequence[float], q: float) -> float:
    """Linear-interpolation quantile of sorted data (numpy's default, Hyndman-Fan type 7)."""
    position = q * (len(ordered) - 1)
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    fraction = position - lower
    return ordered[lower] + (ordered[upper] - ordered[lower]) * fraction


BootstrapMethod = Literal["bca", "percentile"]


def _bca_levels(
    values: Sequence[float], ordered: Sequence[float], level: float
) -> tuple[float, float]:
    """BCa's adjusted quantile levels for the mean (Efron & Tibshirani 1993, ch. 14.3).

    ``z0 = Phi^-1(share of bootstrap means below the estimate, ties counted half)``; the
    acceleration ``a = sum U^3 / (6 (sum U^2)^1.5)`` with jackknife influence ``U_i``, which
    for the mean is ``x_i - mean``; then ``Phi(z0 + (z0 + z) / (1 - a (z0 + z)))`` at
    ``z = Phi^-1(tail)`` and ``Phi^-1(1 - tail)``, as ``scipy.stats.bootstrap`` computes it.
    """
    mean = math.fsum(values) / len(values)
    below = bisect.bisect_left(ordered, mean)
    at_or_below = bisect.bisect_right(ordered, mean)
    z0 = _NORMAL.inv_cdf((below + at_or_below) / (2 * len(ordered)))
    residuals = [v - mean for v in values]
    squares = math.fsum(u * u for u in residuals)
    a = math.fsum(u**3 for u in residuals) / (6.0 * squares**1.5)
    tail = (1.0 - level) / 2.0
    levels = []
    for z in (_NORMAL.inv_cdf(tail), _NORMAL.inv_cdf(1.0 - tail)):
        levels.append(_NORMAL.cdf(z0 + (z0 + z) / (1.0 - a * (z0 + z))))
    return levels[0], levels[1]


def _bootstrap_interval(
    values: Sequence[float],
    level: float,
    resamples: int,
    seed: int,
    method: BootstrapMethod,
    label: str,
) -> Interval:
    if len(values) < 2:
        raise ValueError("the bootstrap needs at least 2 values")
    if resamples < 100:
        raise ValueError(f"resamples must be at least 100, got {resamples!r}")
    if method not in ("bca", "percentile"):
        raise ValueError(f"method must be 'bca' or 'percentile', got {method!r}")
    _z(level)
    means = sorted(_bootstrap_means(values, resamples, seed))
    tail = (1.0 - level) / 2.0
    low, high = tail, 1.0 - tail
    name = "percentile"
    # BCa is undefined when every value is equal or every resample lands on one side of the
    # estimate (z0 infinite); the percentile interval is then the honest fallback.
    if (
        method == "bca"
        and means[0] < means[-1]
        and means[0] < math.fsum(values) / len(values) < means[-1]
    ):
        low, high = _bca_levels(values, means, level)
        name = "BCa"
    return Interval(
        sorted_quantile(means, low), sorted_quantile(means, high), level, f"{label}{name} bootstrap"
    )


def bootstrap_mean(
    values: Sequence[float],
    level: float = 0.95,
    resamples: int = 10_000,
    seed: int = 0,
    method: BootstrapMethod = "bca",
) -> Interval:
    """Bootstrap interval for the mean: BCa (default) or percentile.

    Efron & Tibshirani (1993), "An Introduction to the Bootstrap", ch. 13 (percentile) and
    14.3 (BCa). Quantiles interpolate linearly; given the same bootstrap distribution, both
    agree with ``scipy.stats.bootstrap`` (``method="BCa"`` / ``"percentile"``).
    """
    return _bootstrap_interval(values, level, resamples, seed, method, "")


@dataclass(frozen=True)
class ClusteredMean:
    """A mean over repeated scores with its cluster-robust standard error by case."""

    mean: float
    standard_error: float
    cases: int
    scores: int
    interval: Interval


def clustered_mean(scores_by_case: Sequence[Sequence[float]], level: float = 0.95) -> ClusteredMean:
    """Mean of all scores, with the standard error clustered by case, and a normal interval.

    Miller (2024), "Adding Error Bars to Evals", arXiv:2411.00640, clustered standard error:
    ``SE^2 = SE_CLT^2 + (1/n^2) sum_c sum_i sum_{j != i} (s_ic - mean)(s_jc - mean)``, where
    ``SE_CLT^2`` is the sample variance over all n scores divided by n. Repeats of a case are
    correlated, so treating them as independent would understate the error.
    """
    flat = [float(s) for case in scores_by_case for s in case]
    n = len(flat)
    if n < 2 or any(len(case) == 0 for case in scores_by_case):
        raise ValueError("need at least 2 scores and no empty case")
    mean = math.fsum(flat) / n
    squares = math.fsum((s - mean) ** 2 for s in flat)
    # sum over i != j within a case = (sum of residuals)^2 - sum of squared residuals
    within = math.fsum(
        math.fsum(s - mean for s in case) ** 2 - math.fsum((s - mean) ** 2 for s in case)
        for case in scores_by_case
    )
    variance = max(squares / (n - 1) / n + within / (n * n), 0.0)
    se = math.sqrt(variance)
    z = _z(level)
    interval = Interval(mean - z * se, mean + z * se, level, "normal, cluster-robust SE by case")
    return ClusteredMean(mean, se, len(scores_by_case), n, interval)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples with c correct: ``1 - C(n-c, k) / C(n, k)``.

    Chen et al. (2021), "Evaluating Large Language Models Trained on Code", section 2.1.
    """
    _check_nck(n, c, k)
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """Unbiased pass^k (all k of k samples pass) from n samples with c correct: C(c,k)/C(n,k).

    Yao et al. (2024), "tau-bench", arXiv:2406.12045, section 5.
    """
    _check_nck(n, c, k)
    return math.comb(c, k) / math.comb(n, k)


def _check_nck(n: int, c: int, k: int) -> None:
    if not (0 <= c <= n and 1 <= k <= n):
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")


# --- paired pass/fail --------------------------------------------------------------------


def _paired_counts(a: Sequence[bool], b: Sequence[bool]) -> tuple[int, int, int, int]:
    """(both pass, only b passes, only a passes, neither) over paired cases."""
    if len(a) != len(b):
        raise ValueError(f"paired data must have equal lengths, got {len(a)} and {len(b)}")
    tally = Counter((bool(x), bool(y)) for x, y in zip(a, b, strict=True))
    return tally[True, True], tally[False, True], tally[True, False], tally[False, False]


def newcombe_paired(
    both: int, b_only: int, a_only: int, neither: int, level: float = 0.95
) -> Interval:
    """Interval for p_b - p_a on paired data: Newcombe's hybrid score method 10.

    Newcombe (1998), Stat. Med. 17:2635-2650, method 10: Wilson intervals (l1, u1) for
    p1 = p_b and (l2, u2) for p2 = p_a, combined with the correlation phi between them;
    ``L = theta - sqrt(d1^2 - 2 phi d1 e2 + e2^2)`` with d1 = p1 - l1, e2 = u2 - p2 (and the
    mirror for U). phi carries Newcombe's correction: the numerator ad - bc becomes
    ad - bc - n/2 when ad - bc > n/2, and 0 when 0 <= ad - bc <= n/2; phi is 0 when a
    margin is empty.
    """
    n = both + b_only + a_only + neither
    if n < 1 or min(both, b_only, a_only, neither) < 0:
        raise ValueError("counts must be non-negative with a positive total")
    p1, p2 = (both + b_only) / n, (both + a_only) / n
    w1 = wilson(both + b_only, n, level)
    w2 = wilson(both + a_only, n, level)
    margins = (both + b_only) * (a_only + neither) * (both + a_only) * (b_only + neither)
    phi = 0.0
    if margins > 0:
        cross = both * neither - b_only * a_only
        if cross > n / 2:
            phi = (cross - n / 2) / math.sqrt(margins)
        elif cross < 0:
            phi = cross / math.sqrt(margins)
    theta = p1 - p2
    d1, e1 = p1 - w1.low, w1.high - p1
    d2, e2 = p2 - w2.low, w2.high - p2
    low = theta - math.sqrt(max(d1 * d1 - 2 * phi * d1 * e2 + e2 * e2, 0.0))
    high = theta + math.sqrt(max(e1 * e1 - 2 * phi * e1 * d2 + d2 * d2, 0.0))
    return Interval(max(-1.0, low), min(1.0, high), level, "Newcombe hybrid score (method 10)")


def tango_paired(
    both: int, b_only: int, a_only: int, neither: int, level: float = 0.95
) -> Interval:
    """Interval for p_b - p_a on paired data: Tango's asymptotic score interval.

    Tango (1998), Stat. Med. 17:891-908: all delta with |Z(delta)| <= z, where
    ``Z = (f - g - n delta) / sqrt(n (2 q + delta (1 - delta)))``, f = b_only, g = a_only, and
    q the restricted maximum-likelihood P(a only) given delta,
    ``q = (sqrt(W^2 + 8 n g delta (1 - delta)) - W) / (4 n)``,
    ``W = -f - g + (2n - f + g) delta``. At delta = 0, Z is McNemar's statistic, so the
    interval excludes 0 exactly when the (uncorrected) McNemar test rejects.
    """
    n = both + b_only + a_only + neither
    if n < 1 or min(both, b_only, a_only, neither) < 0:
        raise ValueError("counts must be non-negative with a positive total")
    z = _z(level)
    f, g = b_only, a_only

    def score(delta: float) -> float:
        w = -f - g + (2 * n - f + g) * delta
        q = (math.sqrt(max(w * w + 8 * n * g * delta * (1 - delta), 0.0)) - w) / (4 * n)
        numerator = f - g - n * delta
        variance = n * (2 * q + delta * (1 - delta))
        if variance <= 0.0:
            return math.copysign(math.inf, numerator) if numerator else 0.0
        return numerator / math.sqrt(variance)

    def solve(target: float) -> float:
        # Z decreases in delta; bisect for Z(delta) = target within [-1, 1].
        low, high = -1.0, 1.0
        for _ in range(64):
            middle = (low + high) / 2
            if score(middle) > target:
                low = middle
            else:
                high = middle
        return (low + high) / 2

    return Interval(solve(z), solve(-z), level, "Tango score")


def paired_proportion_difference(
    a: Sequence[bool], b: Sequence[bool], level: float = 0.95
) -> tuple[float, Interval]:
    """Pass-rate difference ``mean(b) - mean(a)`` on the same cases, with Tango's interval.

    Tango's score interval (see ``tango_paired``) rather than Newcombe's method 10 (see
    ``newcombe_paired``): at the sparse discordance typical of evals (95% -> 97% on 50
    cases), Newcombe's interval covers about 98.5%, wider than needed, where Tango's covers
    about 95.8%; elsewhere they agree closely.
    """
    both, b_only, a_only, neither = _paired_counts(a, b)
    n = len(a)
    if n == 0:
        raise ValueError("no paired cases")
    return (b_only - a_only) / n, tango_paired(both, b_only, a_only, neither, level)


def _lower_tail(b01: int, b10: int) -> tuple[int, int, int]:
    """(2^m * P(X <= min), 2^m * P(X = min), m) for X ~ Binomial(m = b01 + b10, 1/2)."""
    if b01 < 0 or b10 < 0:
        raise ValueError("discordant counts must be non-negative")
    m, low = b01 + b10, min(b01, b10)
    cumulative, term = 0, 1
    for x in range(low + 1):
        cumulative += term
        if x < low:
            term = term * (m - x) // (x + 1)
    return cumulative, term, m


def mcnemar_exact(b01: int, b10: int) -> float:
    """McNemar's exact test: two-sided p = min(1, 2 P(X <= min(b01, b10))), X ~ Bin(m, 1/2).

    The conditional binomial test on the m = b01 + b10 discordant pairs (as statsmodels'
    ``mcnemar(exact=True)``); exact integer sums, one rounding at the end.
    """
    cumulative, _, m = _lower_tail(b01, b10)
    return min(1.0, 2 * cumulative / (1 << m))


def mcnemar_midp(b01: int, b10: int) -> float:
    """McNemar mid-p: ``2 P(X <= min) - P(X = min)``, X ~ Binomial(b01 + b10, 1/2).

    Fagerland, Lydersen & Laake (2013), BMC Med. Res. Methodol. 13:91: the exact two-sided
    p before capping at 1, minus the probability of the observed count. It equals 1
    when b01 == b10. Less conservative than the exact test, with type I error close to nominal.
    """
    cumulative, point, m = _lower_tail(b01, b10)
    return min(1.0, (2 * cumulative - point) / (1 << m))


# --- paired graded scores ----------------------------------------------------------------


@dataclass(frozen=True)
class SignFlipResult:
    """A two-sided sign-flip permutation test of mean paired difference 0."""

    mean_difference: float
    p_value: float
    exact: bool
    resamples: int


def _half_sums(values: Sequence[float]) -> list[float]:
    sums = [0.0]
    for v in values:
        sums = [s + v for s in sums] + [s - v for s in sums]
    return sums


def sign_flip_test(
    differences: Sequence[float], resamples: int = 10_000, seed: int = 0
) -> SignFlipResult:
    """Paired permutation test: how often a random sign flip of each difference is as extreme.

    Exact over all 2^n flips when at most 20 differences are non-zero (zeros flip to
    themselves and leave the p-value unchanged), by meet-in-the-middle; otherwise Monte Carlo
    with p = (hits + 1) / (resamples + 1) (Phipson & Smyth 2010). Two-sided: |sum| at least
    the observed |sum|, which for this symmetric null equals scipy's
    ``permutation_test(..., permutation_type="samples")`` doubling of the smaller tail.
    """
    n = len(differences)
    if n == 0:
        raise ValueError("no differences")
    mean = math.fsum(differences) / n
    nonzero = [float(d) for d in differences if d != 0]
    observed = abs(math.fsum(nonzero))
    # Sums of the same magnitudes in another order may differ in the last bits.
    tolerance = 1e-12 * math.fsum(abs(d) for d in nonzero)
    threshold = observed - tolerance
    if not nonzero or observed <= tolerance:
        return SignFlipResult(mean, 1.0, True, 0)
    if len(nonzero) <= _EXACT_SIGN_FLIP_MAX:
        half = len(nonzero) // 2
        left = _half_sums(nonzero[:half])
        right = sorted(_half_sums(nonzero[half:]))
        hits = 0
        for s in left:
            hits += len(right) - bisect.bisect_left(right, threshold - s)
            hits += bisect.bisect_right(right, -threshold - s)
        return SignFlipResult(mean, min(1.0, hits / (len(left) * len(right))), True, 0)
    if resamples < 100:
        raise ValueError(f"resamples must be at least 100, got {resamples!r}")
    rng = random.Random(seed)
    total = math.fsum(nonzero)
    tally = Counter(abs(d) for d in nonzero)
    hits = 0
    if len(tally) * 40 < len(nonzero):
        # Few distinct magnitudes: how many of each flip is Binomial(count, 1/2), and the
        # flipped sum is the total minus twice the flipped part.
        signed = Counter(nonzero)
        groups = [(v, signed[v]) for v in signed]
        for _ in range(resamples):
            flipped = math.fsum(v * _binomial(rng, c, 0.5) for v, c in groups)
            hits += abs(total - 2 * flipped) >= threshold
    else:
        # One random byte per difference, its low bit choosing whether it flips.
        for _ in range(resamples):
            chosen = rng.randbytes(len(nonzero)).translate(_LOW_BIT)
            flipped = math.fsum(compress(nonzero, chosen))
            hits += abs(total - 2 * flipped) >= threshold
    return SignFlipResult(mean, (hits + 1) / (resamples + 1), False, resamples)


def paired_bootstrap_difference(
    a: Sequence[float],
    b: Sequence[float],
    level: float = 0.95,
    resamples: int = 10_000,
    seed: int = 0,
    method: BootstrapMethod = "bca",
) -> tuple[float, Interval]:
    """Mean difference ``mean(b) - mean(a)`` on the same cases, with a bootstrap interval.

    Cases are resampled as pairs (the bootstrap of the per-case differences), which keeps
    the pairing; see ``bootstrap_mean``.
    """
    if len(a) != len(b):
        raise ValueError(f"paired data must have equal lengths, got {len(a)} and {len(b)}")
    diffs = [float(y) - float(x) for x, y in zip(a, b, strict=True)]
    interval = _bootstrap_interval(diffs, level, resamples, seed, method, "paired ")
    return math.fsum(diffs) / len(diffs), interval


# --- multiplicity and flips --------------------------------------------------------------


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm (1979) step-down adjusted p-values, in the input order.

    Sorted ascending, the i-th (0-based) of m becomes max over j <= i of (m - j) p_(j),
    capped at 1 (as statsmodels' ``multipletests(method="holm")``).
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    scaled = [min(1.0, (m - rank) * p_values[i]) for rank, i in enumerate(order)]
    adjusted = [0.0] * m
    for i, value in zip(order, accumulate(scaled, max), strict=True):
        adjusted[i] = value
    return adjusted


@dataclass(frozen=True)
class Flips:
    """Cases where the candidate (b) beat, lost to, or tied the baseline (a)."""

    wins: tuple[str, ...]
    losses: tuple[str, ...]
    ties: int


def flips(case_ids: Sequence[str], a: Sequence[float], b: Sequence[float]) -> Flips:
    """Split paired cases into wins (b > a), losses (b < a) and ties; ids in input order."""
    if not len(case_ids) == len(a) == len(b):
        raise ValueError("case_ids, a and b must have equal lengths")
    wins = tuple(c for c, x, y in zip(case_ids, a, b, strict=True) if y > x)
    losses = tuple(c for c, x, y in zip(case_ids, a, b, strict=True) if y < x)
    return Flips(wins, losses, len(case_ids) - len(wins) - len(losses))


# --- comparisons and verdicts ------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """A paired comparison of a candidate against a baseline on the same cases.

    ``difference`` is candidate minus baseline (a proportion or mean score);
    ``adjusted_p`` is set by ``holm_adjust`` when several candidates share a baseline;
    ``cases_needed`` is the N at which ``detect`` would be found with 80% power.
    """

    baseline: str
    candidate: str
    n: int
    difference: float
    interval: Interval
    p_value: float
    test: str
    detect: float
    cases_needed: int
    adjusted_p: float | None = None


def compare_pass_fail(
    baseline: str,
    a: Sequence[bool],
    candidate: str,
    b: Sequence[bool],
    *,
    level: float = 0.95,
    detect: float = 0.05,
    tests: int = 1,
) -> Comparison:
    """Pass/fail comparison: Tango's score interval and McNemar's exact test.

    ``tests``: how many candidates share the baseline; cases needed are then planned at
    ``alpha / tests``, the level Holm's procedure asks of its first test.

    ``cases_needed`` uses the observed discordance when it is at least ``detect`` (the
    smallest discordance compatible with that difference), otherwise independence.
    """
    both, b_only, a_only, neither = _paired_counts(a, b)
    n = len(a)
    if n == 0:
        raise ValueError("no paired cases")
    p_a = (both + a_only) / n
    observed = (b_only + a_only) / n
    # At a ceiling (or floor) the gain can only be sought the other way.
    target = detect if 0.0 <= p_a + detect <= 1.0 else -detect
    discordance = observed if observed >= abs(target) else None
    if discordance is None and independent_discordance(p_a, p_a + target) < abs(target):
        discordance = abs(target)
    p_b = p_a + target
    if discordance is not None:  # no more than the two pass rates leave room for
        discordance = min(discordance, min(p_b, 1.0 - p_a) + min(p_a, 1.0 - p_b))
    needed = cases_needed(p_a, target, discordance=discordance, alpha=(1.0 - level) / tests)
    return Comparison(
        baseline=baseline,
        candidate=candidate,
        n=n,
        difference=(b_only - a_only) / n,
        interval=tango_paired(both, b_only, a_only, neither, level),
        p_value=mcnemar_exact(b_only, a_only),
        test="McNemar exact",
        detect=detect,
        cases_needed=needed,
    )


def _many_distinct(values: Sequence[float]) -> bool:
    return len(set(values)) * 40 >= len(values)


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom.

    Exact for 1 and 2 degrees of freedom; beyond, the Cornish-Fisher expansion in the normal
    quantile (Abramowitz & Stegun 26.7.5): from 3 degrees of freedom on, within 0.2% of the
    exact value for p up to 0.975 and 1% up to 0.995 (widening intervals, not deciding
    tests, is what it is used for).
    """
    if not 0.0 < p < 1.0 or df < 1:
        raise ValueError(f"need 0 < p < 1 and df >= 1, got p={p!r}, df={df!r}")
    if df == 1:
        return math.tan(math.pi * (p - 0.5))
    if df == 2:
        return (2.0 * p - 1.0) / math.sqrt(2.0 * p * (1.0 - p))
    z, v = _NORMAL.inv_cdf(p), float(df)
    return (
        z
        + (z**3 + z) / (4 * v)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3)
        + (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / (92160 * v**4)
    )


def _sd(values: Sequence[float]) -> float:
    if len(values) < 2:
        return 0.0
    mean = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))


def _fewest_cases(alpha: float) -> int:
    """The fewest paired cases on which a two-sided exact test can reach ``alpha`` at all:
    every case going one way has probability 2 / 2^n."""
    return max(2, math.ceil(math.log2(2.0 / alpha) - 1e-12))


def normal_mean(values: Sequence[float], level: float = 0.95) -> Interval:
    """The normal-theory interval ``mean ± z s / sqrt(n)`` for a large sample."""
    n = len(values)
    if n < 2:
        raise ValueError("need at least 2 values")
    mean = math.fsum(values) / n
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = _z(level) * sd / math.sqrt(n)
    return Interval(mean - half, mean + half, level, "normal (large N)")


def sign_flip_normal(differences: Sequence[float]) -> SignFlipResult:
    """The sign-flip test's large-sample form: ``sum d / sqrt(sum d^2)`` is standard normal.

    Under the null each difference's sign is a fair coin, so the sum has mean 0 and
    variance ``sum d^2`` exactly; the central limit theorem gives the rest.
    """
    n = len(differences)
    if n == 0:
        raise ValueError("no differences")
    total = math.fsum(differences)
    spread = math.sqrt(math.fsum(d * d for d in differences))
    p = 1.0 if spread == 0 else min(1.0, 2.0 * _NORMAL.cdf(-abs(total) / spread))
    return SignFlipResult(total / n, p, False, 0)


def compare_scores(
    baseline: str,
    a: Sequence[float],
    candidate: str,
    b: Sequence[float],
    *,
    level: float = 0.95,
    detect: float = 0.05,
    resamples: int = 10_000,
    seed: int = 0,
    normal_above: int = NORMAL_ABOVE,
    tests: int = 1,
) -> Comparison:
    """Graded comparison: paired BCa bootstrap interval and sign-flip permutation test.

    Above ``normal_above`` cases whose differences take many distinct values, the normal
    interval of the mean difference and the sign-flip test's normal form (``normal_mean``,
    ``sign_flip_normal``) stand in for resampling, which would take seconds to give the same
    answer within its own Monte Carlo error. ``cases_needed`` is the normal approximation
    ``(z_{1-alpha/2} + z_0.8)^2 sd^2 / detect^2`` with sd the observed standard deviation
    of per-case differences.
    """
    if len(a) != len(b):
        raise ValueError(f"paired data must have equal lengths, got {len(a)} and {len(b)}")
    diffs = [float(y) - float(x) for x, y in zip(a, b, strict=True)]
    sd = _sd(diffs)
    n = len(diffs)
    if sd == 0.0:
        # Every case moved by the same amount (identical answers at temperature 0, say):
        # resampling gives an interval of no width. By the rule of three (Hanley &
        # Lippman-Hand 1983), a case that would move differently has a chance of at most
        # 3/n at 95% (-ln(alpha)/n in general), and could move the mean that far towards
        # either end of [-1, 1].
        difference = math.fsum(diffs) / n
        share = min(1.0, -math.log(1.0 - level) / n)
        interval = Interval(
            max(-1.0, difference - share * (1.0 + difference)),
            min(1.0, difference + share * (1.0 - difference)),
            level,
            "paired, rule of three (every difference equal)",
        )
        test = sign_flip_test(diffs, resamples, seed)
        name = "sign-flip permutation" + (" (exact)" if test.exact else "")
    elif n < SMALL_N:
        # A handful of cases: a bootstrap covers far less than it claims; the bounded
        # interval says how little is known.
        difference = math.fsum(diffs) / n
        interval = replace(
            bounded_mean(diffs, level, low=-1.0, high=1.0),
            method="paired, Wilson, bounded differences",
        )
        test = sign_flip_test(diffs, resamples, seed)
        name = "sign-flip permutation" + (" (exact)" if test.exact else "")
    elif n > normal_above and _many_distinct(diffs):
        interval = normal_mean(diffs, level)
        interval = replace(interval, method="paired normal (large N)")
        difference = math.fsum(diffs) / n
        test = sign_flip_normal(diffs)
        name = "sign-flip permutation (normal approximation, large N)"
    else:
        difference, interval = paired_bootstrap_difference(a, b, level, resamples, seed)
        test = sign_flip_test(diffs, resamples, seed)
        name = "sign-flip permutation" + (" (exact)" if test.exact else "")
    z = _NORMAL.inv_cdf(1.0 - (1.0 - level) / (2 * tests)) + _NORMAL.inv_cdf(0.8)
    # Plan with the spread the interval assumed: the largest differences in [-1, 1] can
    # have under 20 cases (as the bounded interval does), and with none observed the
    # least a real difference of ``detect`` implies; never "any N will do".
    spread = sd
    if n < SMALL_N:
        spread = max(spread, math.sqrt(max(1.0 - difference**2, 0.0)))
    spread = max(spread, math.sqrt(abs(detect)))
    needed = max(_fewest_cases((1.0 - level) / tests), math.ceil((z * spread / detect) ** 2))
    return Comparison(
        baseline=baseline,
        candidate=candidate,
        n=n,
        difference=difference,
        interval=interval,
        p_value=test.p_value,
        test=name,
        detect=detect,
        cases_needed=needed,
    )


def holm_adjust(comparisons: Sequence[Comparison]) -> list[Comparison]:
    """The comparisons with ``adjusted_p`` set by Holm's method across all of them."""
    adjusted = holm([c.p_value for c in comparisons])
    return [replace(c, adjusted_p=p) for c, p in zip(comparisons, adjusted, strict=True)]


def _points(x: float) -> str:
    return f"{100 * x:.1f}"


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def verdict(comparison: Comparison, *, alpha: float | None = None) -> str:
    """One sentence that claims a difference only when the test and the interval agree.

    A difference is claimed when the (Holm-adjusted, if set) p-value is below ``alpha``
    (default: 1 - the interval's level) and the interval excludes 0.
    """
    c = comparison
    alpha = 1.0 - c.interval.level if alpha is None else alpha
    p = c.p_value if c.adjusted_p is None else c.adjusted_p
    holm_note = ", Holm" if c.adjusted_p is not None else ""
    ci = (
        f"{round(100 * c.interval.level)}% CI {_points(c.interval.low)} to "
        f"{_points(c.interval.high)}" + (" unadjusted" if c.adjusted_p is not None else "")
    )
    if p < alpha and c.interval.excludes(0.0):
        verb = "beats" if c.difference > 0 else "trails"
        return (
            f"{c.candidate} {verb} {c.baseline} by {_points(abs(c.difference))} points "
            f"({ci}, {_p(p)}{holm_note})"
        )
    detect = f"{100 * abs(c.detect):g} points"
    power_note = (
        f"detecting {detect} would need about N = {c.cases_needed}"
        if c.cases_needed > c.n
        else f"N = {c.n} detects {detect} with at least 80% power"
    )
    return (
        f"no detectable difference between {c.candidate} and {c.baseline} at N = {c.n} "
        f"({_points(c.difference)} points, {ci}, {_p(p)}{holm_note}); {power_note}"
    )

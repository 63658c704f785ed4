"""Power and sample size for the paired pass/fail comparison (the exact McNemar test).

Standard library only. ``cases_needed`` starts from Connor's (1987) closed form; ``power_paired`` is
the exact power of the test the library runs (``stats.mcnemar_exact``), summed over the
binomial distribution of discordant pairs, so it carries the exact test's conservatism.
"""

from __future__ import annotations

import functools
import math
from statistics import NormalDist

__all__ = ["cases_needed", "independent_discordance", "power_paired"]

_NORMAL = NormalDist()
# Above this many cases, power and N come from the normal approximation (Connor 1987),
# which the exact test's power matches to within a point there.
NORMAL_ABOVE = 20_000


def independent_discordance(p_a: float, p_b: float) -> float:
    """The discordance P(exactly one passes) if the two variants fail independently.

    Eval outcomes are usually positively correlated (hard cases are hard for both), so this
    overstates discordance and errs towards needing more cases, never fewer.
    """
    return p_a * (1.0 - p_b) + p_b * (1.0 - p_a)


def _check(p_a: float, p_b: float, discordance: float | None, alpha: float) -> tuple[float, float]:
    for name, p in (("p_a", p_a), ("p_b", p_b)):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{name} must be within [0, 1], got {p!r}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be within (0, 1), got {alpha!r}")
    delta = p_b - p_a
    psi = independent_discordance(p_a, p_b) if discordance is None else discordance
    # Discordance is P(b only) + P(a only) and their difference is delta, so psi >= |delta|;
    # and each cell is at most the smaller of the two margins' room.
    most = min(p_b, 1.0 - p_a) + min(p_a, 1.0 - p_b)
    if not abs(delta) - 1e-12 <= psi <= most + 1e-12:
        raise ValueError(
            f"discordance must be within [|p_b - p_a|, min(p_b, 1 - p_a) + min(p_a, 1 - p_b)] "
            f"= [{abs(delta):g}, {most:g}] for pass rates {p_a:g} and {p_b:g}"
        )
    return delta, psi


def cases_needed(
    p_baseline: float,
    difference: float,
    *,
    discordance: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    exact: bool = True,
) -> int:
    """Paired cases needed to detect ``difference`` with a two-sided McNemar test.

    Connor (1987), Biometrics 43:207-211:
    ``n = (z_{1-alpha/2} sqrt(psi) + z_{power} sqrt(psi - delta^2))^2 / delta^2``, with
    ``psi`` the discordance (probability that exactly one variant passes a case) and
    ``delta`` the difference in pass rates. Without ``discordance``, independence is
    assumed (see ``independent_discordance``), which is conservative for evals.

    With ``exact`` (the default), N is then raised until the exact power of the test the
    library runs (``power_paired``) reaches ``power``; ``exact=False`` gives Connor's N.
    """
    if difference == 0:
        raise ValueError("difference must be non-zero")
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must be within (0, 1), got {power!r}")
    delta, psi = _check(p_baseline, p_baseline + difference, discordance, alpha)
    z_a = _NORMAL.inv_cdf(1.0 - alpha / 2.0)
    z_b = _NORMAL.inv_cdf(power)
    root = z_a * math.sqrt(psi) + z_b * math.sqrt(max(psi - delta * delta, 0.0))
    n = max(1, math.ceil(root * root / (delta * delta) - 1e-9))
    if not exact or n > NORMAL_ABOVE:
        return n
    # The exact test is conservative, so Connor's N falls a few points short of the power
    # asked for; step up 1% at a time until the exact power reaches it.
    p_b = p_baseline + difference
    while power_paired(p_baseline, p_b, n, discordance=psi, alpha=alpha) < power:
        n += max(1, n // 100)
    return n


def _log_pmf(k: int, n: int, p: float) -> float:
    return (
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + k * math.log(p)
        + (n - k) * math.log1p(-p)
    )


def _cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), 0 < p < 1.

    Sums pmf terms downward from k and stops once they no longer matter; when k is above the
    mode it sums the complement instead, so the sum always starts below the mode, where the
    terms fall off geometrically: O(sqrt(n)) terms rather than O(n).
    """
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if k > n * p:
        return 1.0 - _cdf(n - k - 1, n, 1.0 - p)
    term = math.exp(_log_pmf(k, n, p))
    total = term
    odds = (1.0 - p) / p
    for x in range(k, 0, -1):
        term *= x / (n - x + 1) * odds
        total += term
        if term <= total * 1e-17:
            break
    return total


@functools.lru_cache(maxsize=1 << 16)  # the same m recur across power evaluations
def _critical_count(m: int, alpha: float) -> int:
    """The largest min(b01, b10) the exact test rejects at ``alpha`` with m discordant pairs.

    ``-1`` when no split of ``m`` reaches ``alpha``: the rejection region of
    ``stats.mcnemar_exact``, found near its normal approximation.
    """
    if m == 0:
        return -1
    k = max(-1, math.floor(m / 2 - _NORMAL.inv_cdf(1 - alpha / 2) * math.sqrt(m) / 2))
    while k >= 0 and 2 * _cdf(k, m, 0.5) > alpha:
        k -= 1
    while k + 1 <= m // 2 and 2 * _cdf(k + 1, m, 0.5) <= alpha:
        k += 1
    return k


def power_paired(
    p_a: float,
    p_b: float,
    n: int,
    *,
    discordance: float | None = None,
    alpha: float = 0.05,
) -> float:
    """Exact power of ``stats.mcnemar_exact`` at ``alpha`` on ``n`` paired cases.

    The number of discordant cases is Binomial(n, psi); given m of them, the candidate-only
    count is Binomial(m, (psi + delta) / (2 psi)); the power sums P(reject) over both.
    ``discordance`` defaults to independence (see ``independent_discordance``).
    """
    if n < 1:
        raise ValueError(f"n must be positive, got {n!r}")
    delta, psi = _check(p_a, p_b, discordance, alpha)
    if psi == 0.0:
        return 0.0
    if n > NORMAL_ABOVE:  # the exact sum would take seconds; the two agree closely here
        spread = math.sqrt(max(psi - delta * delta, 1e-300))
        z_a = _NORMAL.inv_cdf(1.0 - alpha / 2.0)
        return _NORMAL.cdf((abs(delta) * math.sqrt(n) - z_a * math.sqrt(psi)) / spread)
    q = (psi + delta) / (2.0 * psi)
    # Only the bulk of Binomial(n, psi) matters; beyond 12 sd the mass is below 1e-30.
    sd = math.sqrt(n * psi * (1.0 - psi))
    lo = max(1, math.floor(n * psi - 12 * sd - 1))
    hi = min(n, math.ceil(n * psi + 12 * sd + 1))
    total = 0.0
    for m in range(lo, hi + 1):
        k = _critical_count(m, alpha)
        if k < 0:
            continue
        weight = 1.0 if psi >= 1.0 else math.exp(_log_pmf(m, n, psi))
        # q of 0 or 1: every discordant case goes one way, and m > 2k always rejects.
        reject = 1.0 if q <= 0.0 or q >= 1.0 else _cdf(k, m, q) + _cdf(k, m, 1.0 - q)
        total += weight * min(reject, 1.0)
    return min(1.0, total)

"""The documented path against the direct one: ``Registry(...).render("name@label", ...)``
beside ``template.render(...)`` for the same template and inputs.

The registry checks the modification times of what a reference depends on (the file
itself, and the labels file for ``name@label`` or the lock file for ``name``) and reads the
disk again only when one changed, so edits are picked up without re-reading every time.

    python benchmarks/bench_registry.py
"""

from __future__ import annotations

import statistics
import sys
import timeit
from pathlib import Path


def main() -> None:
    sys.path.insert(0, str(Path(__file__).parents[1]))
    from promptlib import Registry

    registry = Registry(Path(__file__).parents[1] / "templates")
    template = registry.get("ticket-priority@production")
    ratios, registry_us, direct_us = [], [], []
    for _ in range(15):
        reg = (
            timeit.timeit(
                lambda: registry.render("ticket-priority@production", ticket="x"), number=2000
            )
            / 2000
        )
        direct = timeit.timeit(lambda: template.render(ticket="x"), number=2000) / 2000
        registry_us.append(reg * 1e6)
        direct_us.append(direct * 1e6)
        ratios.append(reg / direct)
    print(
        f"Registry.render {statistics.median(registry_us):.1f} us, Template.render "
        f"{statistics.median(direct_us):.1f} us: {statistics.median(ratios):.2f}x "
        "(median of 15 rounds of 2000)"
    )


if __name__ == "__main__":
    main()

"""Time `import promptlib` against `import jinja2, pydantic` in fresh interpreters.

Each import runs in its own new process, alternating, many times; the median is reported.
`import pydantic` alone is lazy, so the reference also imports what any pydantic model
needs (`from pydantic import BaseModel`) in a second line, for context.

    python benchmarks/bench_import.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys

STATEMENTS = {
    "import jinja2, pydantic": "import jinja2, pydantic",
    "... + from pydantic import BaseModel": (
        "import jinja2, pydantic; from pydantic import BaseModel"
    ),
    "import promptlib": "import promptlib",
}
RUNS = 30


def once(statement: str) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout) * 1000


def main() -> None:
    for statement in STATEMENTS.values():  # warm the OS file cache and the .pyc files
        once(statement)
    samples: dict[str, list[float]] = {name: [] for name in STATEMENTS}
    for _ in range(RUNS):
        for name, statement in STATEMENTS.items():
            samples[name].append(once(statement))
    reference = statistics.median(samples["import jinja2, pydantic"])
    print(f"python {sys.version.split()[0]}, median of {RUNS} fresh processes each")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:40} {median:7.1f} ms  {median / reference:.2f}x")
    print("command: python benchmarks/bench_import.py")


if __name__ == "__main__":
    main()

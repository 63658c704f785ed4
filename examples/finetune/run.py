"""Prompt or fine-tune, on 200 BANKING77 queries: export, check, measure, decide.

Offline by default: both sides are answered by the mock model, so the cost side is real
(tokens counted from the actual requests, catalog prices) and the quality side only shows
the machinery. Give real models to settle it for real:

    python examples/finetune/run.py
    python examples/finetune/run.py --prompt-model openai:gpt-4o-mini \\
        --finetuned-model openai:ft:gpt-4o-mini-2024-07-18:your-org::abc123
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from promptlib import Registry, finetune
from promptlib.evals import Experiment, exact, load_dataset, run

HERE = Path(__file__).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompt-model", default="mock:gpt-4o-mini")
    parser.add_argument("--finetuned-model", default="mock:ft:gpt-4o-mini-2024-07-18:example::b77")
    parser.add_argument("--requests-per-month", type=int, default=300_000)
    parser.add_argument("--out", help="where the files and the results store go (default: temp)")
    args = parser.parse_args()
    work = Path(args.out or tempfile.mkdtemp(prefix="promptlib-finetune-"))
    templates = Registry(HERE / "templates")
    dataset = load_dataset(HERE / "datasets" / "banking77_sample.jsonl")

    print("== 1. export: the short prompt's requests, the expected intent as the answer")
    exported = finetune.export_training_data(
        dataset,
        templates.get("banking-intent-ft@1.0.0"),
        work / "data",
        stratify="expected",
        seed=7,
    )
    for name, count in exported.counts.items():
        print(f"{name}: {count} examples -> {exported.files[name]}")

    print("\n== 2. check the training file for gpt-4o-mini")
    report = finetune.check_file(
        exported.files["train"], "gpt-4o-mini", label="intent", against=[exported.files["test"]]
    )
    cost = "unknown" if report.cost is None else f"${report.cost:.4f}"
    print(
        f"{report.examples} examples, {'ok' if report.ok else 'errors: ' + str(report.errors)}; "
        f"~{report.billable_tokens:,} tokens x {report.epochs} epochs, training {cost}"
    )
    for warning in report.warnings:
        print(f"warning: {warning}")

    print("\n== 3. evaluate both on the held-out test split")
    store = work / "evals.sqlite"
    test = exported.datasets["test"]
    runs = {}
    for side, ref, model in (
        ("prompt", "banking-intent@1.0.0", args.prompt_model),
        ("finetuned", "banking-intent-ft@1.0.0", args.finetuned_model),
    ):
        experiment = Experiment(
            name=f"banking-{side}",
            dataset=test,
            variants=[ref],
            models=[model],
            scorers=[exact()],
            registry=templates,
        )
        result = run(experiment, store=store, progress=False)
        runs[side] = (result.run_id, ref)
        print(f"{side}: {ref} on {model}: {result.done} results, ${result.spent:.6f}")

    print("\n== 4. prompt or fine-tune?")
    training = finetune.TrainingCost(
        report.billable_tokens, report.epochs, report.training_price, engineering=200
    )
    decision = finetune.decide(
        *runs["prompt"],
        *runs["finetuned"],
        training,
        requests_per_month=args.requests_per_month,
        store=store,
        manifest=exported.manifest,  # every case evaluated was held out of training
    )
    print(finetune.render(decision), end="")


if __name__ == "__main__":
    main()

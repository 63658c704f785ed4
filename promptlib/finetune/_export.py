"""Exporting training data: each case rendered through a template, its expected output as
the assistant's answer, split into train, validation and test files without leakage."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from promptlib._errors import ConfigurationError, PromptlibError
from promptlib._hashing import canonical_json
from promptlib._messages import Prompt
from promptlib._templates.template import Template
from promptlib._tokens.budget import without_examples
from promptlib._validation import summary
from promptlib.evals._dataset import Case, Dataset
from promptlib.evals._splits import check_leakage, split

__all__ = ["ExportResult", "export_training_data"]

Format = Literal["openai", "bedrock"]
DEFAULT_SPLITS: Mapping[str, float] = {"train": 0.8, "validation": 0.1, "test": 0.1}
_SPLIT_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class ExportResult:
    """What was written.

    Attributes:
        files: split name → its JSONL file (``test`` holds the held-out cases the head-to-head
            evaluation uses; keep them out of training). With a ``test`` split, its cases
            are also written as a dataset, ``test.cases.jsonl``, for the evaluation.
        counts: split name → examples written.
        labels: split name → stratum → count (when stratified).
        manifest: the file recording the template, dataset, seed and the case ids of each
            split.
    """

    files: dict[str, Path]
    counts: dict[str, int]
    labels: dict[str, dict[str, int]]
    manifest: Path
    datasets: dict[str, Dataset]


def _answer(template: Template[Any, Any], case: Case, prompt: Prompt[Any]) -> str:
    expected = case.expected
    if expected is None:
        raise ConfigurationError(
            f"case {case.id!r} has no expected output: the assistant's answer in the "
            "training data is the case's expected value"
        )
    if prompt.output is None:
        if not isinstance(expected, str):
            raise ConfigurationError(
                f"case {case.id!r}: template {template.label} answers in text, and the "
                f"expected value is a {type(expected).__name__}; give text"
            )
        return expected
    if prompt.output_model is not None:
        try:
            value = prompt.output_model.model_validate(expected)
        except ValidationError as exc:
            raise ConfigurationError(
                f"case {case.id!r}: the expected value does not fit the output model "
                f"{prompt.output_model.__name__} of {template.label} ({summary(exc)}); "
                "fix the dataset, or export with a template whose output it fits"
            ) from None
        return value.model_dump_json() if isinstance(value, BaseModel) else json.dumps(value)
    from promptlib._validation import schema_violations

    problems = schema_violations(prompt.output.schema, expected)
    if problems:
        raise ConfigurationError(
            f"case {case.id!r}: the expected value does not match the output schema of "
            f"{template.label}: {problems[0]}"
        )
    return json.dumps(expected, ensure_ascii=False)


def _text(prompt: Prompt[Any], index: int) -> str:
    message = prompt.messages[index]
    if any(not hasattr(part, "text") for part in message.content):
        raise ConfigurationError(
            f"template {prompt.meta.template}: message {index + 1} holds an image; "
            "fine-tuning data here is text only"
        )
    return message.text


def _openai_line(prompt: Prompt[Any], answer: str, weight: int | None) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    for index, message in enumerate(prompt.messages):
        entry: dict[str, Any] = {"role": message.role, "content": _text(prompt, index)}
        if message.name is not None:
            entry["name"] = message.name
        if weight is not None and message.role == "assistant":
            entry["weight"] = 0  # a few-shot answer: context, not what is taught
        messages.append(entry)
    if messages and messages[-1]["role"] == "assistant":  # a prefill: the answer replaces it
        answer = _after_prefill(prompt, messages.pop()["content"], answer)
    final: dict[str, Any] = {"role": "assistant", "content": answer}
    if weight is not None:
        final["weight"] = weight
    return {"messages": [*messages, final]}


def _after_prefill(prompt: Prompt[Any], prefill: str, answer: str) -> str:
    """The answer in place of a template's assistant prefill, which it must begin with."""
    if not answer.startswith(prefill):
        raise ConfigurationError(
            f"template {prompt.meta.template} ends with an assistant prefill {prefill[:40]!r} "
            "that the expected answer does not begin with: the trained answer would not "
            "follow it"
        )
    return answer


def _bedrock_line(prompt: Prompt[Any], answer: str) -> dict[str, Any]:
    system = "\n\n".join(
        _text(prompt, i) for i, m in enumerate(prompt.messages) if m.role == "system"
    )
    turns: list[dict[str, Any]] = []
    for index, message in enumerate(prompt.messages):
        if message.role == "system":
            continue
        text = _text(prompt, index)
        if turns and turns[-1]["role"] == message.role:  # the format alternates strictly
            turns[-1]["content"] += "\n\n" + text
        else:
            turns.append({"role": message.role, "content": text})
    if not turns or turns[0]["role"] != "user":
        raise ConfigurationError(
            f"template {prompt.meta.template}: the Bedrock format starts with a user turn, "
            "and this template's first turn (after the system prompt) is the assistant's"
        )
    if turns[-1]["role"] == "assistant":
        turns[-1]["content"] = _after_prefill(prompt, turns[-1]["content"], answer)
    else:
        turns.append({"role": "assistant", "content": answer})
    line: dict[str, Any] = {"system": system} if system else {}
    line["messages"] = turns
    return line


def _earlier_export(folder: Path) -> list[Path]:
    """The files an earlier export wrote in ``folder`` (its manifest names its splits)."""
    manifest = folder / "manifest.json"
    try:
        splits = json.loads(manifest.read_text(encoding="utf-8")).get("splits", {})
    except (OSError, ValueError, AttributeError):
        return []
    named = [folder / f"{name}.jsonl" for name in splits if _SPLIT_NAME.fullmatch(str(name))]
    return [p for p in [*named, folder / "test.cases.jsonl", manifest] if p.is_file()]


def export_training_data(
    dataset: Dataset,
    template: Template[Any, Any],
    out: str | Path,
    *,
    format: Format = "openai",
    splits: Mapping[str, float] = DEFAULT_SPLITS,
    seed: int = 0,
    stratify: str | None = None,
    few_shot: bool = False,
    weight: int | None = None,
    overwrite: bool = False,
    expected_field: str | None = None,
) -> ExportResult:
    """Write fine-tuning files for ``template`` from ``dataset``.

    Each case is rendered through the template with its inputs, and its expected output
    (validated against the template's output model) becomes the assistant's answer.

    Args:
        dataset: labelled cases (see :func:`promptlib.evals.load_dataset`).
        template: the template whose prompts the model is trained on.
        out: the folder to write ``<split>.jsonl`` and ``manifest.json`` to.
        format: ``openai`` (chat fine-tuning JSONL) or ``bedrock`` (Claude on Amazon
            Bedrock: ``system`` + alternating ``messages``).
        splits: split name → share of the cases, e.g. ``{"train": 0.8, "validation": 0.1,
            "test": 0.1}``; cases with the same inputs stay in one split.
        seed: another seed, another (equally reproducible) split.
        stratify: keep each stratum's share in every split: ``"expected"``,
            ``"input:<field>"``, ``"metadata:<key>"`` (see :func:`promptlib.evals.split`).
        few_shot: keep the template's few-shot examples (usually not: training teaches
            by example).
        weight: OpenAI only: the ``weight`` of the answer (0 or 1); kept few-shot answers
            get 0.
        overwrite: replace the files of an earlier export in ``out`` (refused otherwise).
        expected_field: for text expected values (a CSV column), the output model's field
            they fill: ``"intent"`` makes ``card_arrival`` the answer ``{"intent":
            "card_arrival"}``.

    Raises:
        ConfigurationError: a case without an expected value, or one that does not fit the
            output model; a chain-of-thought template; bad splits.
    """
    if format not in ("openai", "bedrock"):
        raise ConfigurationError(f"format={format!r}: use 'openai' or 'bedrock'")
    if weight not in (None, 0, 1):
        raise ConfigurationError(f"weight={weight!r}: OpenAI takes 0 or 1")
    if weight is not None and format != "openai":
        raise ConfigurationError("weight= is OpenAI's: the Bedrock format has none")
    for name in splits:
        if not isinstance(name, str) or not _SPLIT_NAME.fullmatch(name):
            raise ConfigurationError(
                f"split name {name!r}: use 1-64 letters, digits, '_' or '-' (it names a file)"
            )
    parts = split(dataset, splits, seed=seed, stratify=stratify)
    check_leakage(parts)
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise ConfigurationError(f"--out {folder} is a file: name a folder")
    earlier = sorted(p.name for p in folder.glob("*.jsonl")) if folder.is_dir() else []
    if (earlier or (folder / "manifest.json").exists()) and not overwrite:
        raise ConfigurationError(
            f"{folder} holds an earlier export ({', '.join(earlier) or 'manifest.json'}): "
            "choose another folder, or replace it (overwrite=True, --force)"
        )
    files, counts, labels = {}, {}, {}
    lines: dict[str, list[str]] = {}
    for name, part in parts.items():
        rendered = []
        for case in part:
            try:
                prompt = template.render(**case.inputs)
            except PromptlibError as exc:
                raise ConfigurationError(f"case {case.id!r} does not render: {exc}") from exc
            if prompt.reasoning is not None:
                raise ConfigurationError(
                    f"template {template.label} asks for chain-of-thought, and the dataset "
                    "has no reasoning to train on: export with a variant without it"
                )
            if not few_shot:
                prompt = without_examples(prompt)
            if expected_field is not None and isinstance(case.expected, str):
                case = replace(case, expected={expected_field: case.expected})
            answer = _answer(template, case, prompt)
            line = (
                _openai_line(prompt, answer, weight)
                if format == "openai"
                else _bedrock_line(prompt, answer)
            )
            rendered.append(json.dumps(line, ensure_ascii=False) + "\n")
        lines[name] = rendered
        if stratify == "expected":
            counted = Counter(canonical_json(c.expected) for c in part)
            labels[name] = dict(counted.most_common())
    # Written once every case has rendered, into a new folder that then takes the place
    # of ``out``: an export is whole or absent, and none leaves an earlier split behind.
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    except OSError as exc:
        raise ConfigurationError(f"cannot write to {folder}: {exc.strerror or exc}") from None
    for name, rendered in lines.items():
        files[name] = folder / f"{name}.jsonl"
        (staging / f"{name}.jsonl").write_text("".join(rendered), encoding="utf-8")
        counts[name] = len(rendered)
    # The held-out cases as a dataset, for the head-to-head evaluation (an experiment's
    # dataset = "<out>/test.cases.jsonl").
    held_out = parts.get("test")
    if held_out is not None:
        (staging / "test.cases.jsonl").write_text(
            "".join(json.dumps(case.content(), ensure_ascii=False) + "\n" for case in held_out),
            encoding="utf-8",
        )
    manifest = folder / "manifest.json"
    (staging / "manifest.json").write_text(
        json.dumps(
            {
                "format": format,
                "template": template.label,
                "template_hash": template.hash,
                "dataset": {"name": dataset.name, "hash": dataset.hash},
                "seed": seed,
                "stratify": stratify,
                "few_shot": few_shot,
                "splits": {name: list(part.ids) for name, part in parts.items()},
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for stale in _earlier_export(folder):  # an earlier export's files only
            stale.unlink()
        for written in staging.iterdir():
            os.replace(written, folder / written.name)
    except OSError as exc:
        raise ConfigurationError(f"cannot write {folder}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(files, counts, labels, manifest, parts)


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib.finetune", ExportResult, export_training_data)

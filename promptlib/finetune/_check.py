"""Checking a fine-tuning file before it is uploaded: format errors by category, token
counts against the model's own limit, what training will bill, and data-quality warnings.

The OpenAI checks and figures follow OpenAI's data-preparation cookbook
(``Chat_finetuning_data_prep.ipynb``): the same error categories, the same per-message
token rule, billable tokens capped at the example limit, and the same default epochs.
Token counts are estimates, as the cookbook says of its own: the provider counts training
tokens its own way.
"""

from __future__ import annotations

import itertools
import json
import statistics
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from promptlib._errors import ConfigurationError
from promptlib._files import FileProblem, read_bounded_text
from promptlib.finetune._training import TrainingInfo, TrainingTable

__all__ = ["CheckReport", "Distribution", "check_file", "default_epochs"]

Format = Literal["openai", "bedrock"]

# The cookbook's categories, then promptlib's own.
OPENAI_CATEGORIES = (
    "data_type",
    "missing_messages_list",
    "message_missing_key",
    "message_unrecognized_key",
    "unrecognized_role",
    "missing_content",
    "example_missing_assistant_message",
    "invalid_json",
    "bad_weight",
    "unrecognized_key",
    "wrong_format",
)
BEDROCK_CATEGORIES = (
    "data_type",
    "invalid_json",
    "unrecognized_key",
    "system_not_text",
    "too_few_messages",
    "first_not_user",
    "last_not_assistant",
    "not_alternating",
    "message_unrecognized_key",
    "unrecognized_role",
    "missing_content",
)
_OPENAI_KEYS = {"role", "content", "name", "function_call", "weight", "tool_calls", "tool_call_id"}
_OPENAI_ROLES = {"system", "developer", "user", "assistant", "function", "tool"}
_OPENAI_LINE_KEYS = {"messages", "tools", "parallel_tool_calls", "functions"}
# Fine-tuning files are large but bounded: a bigger one is a mistake (or not a file).
MAX_FILE_BYTES = 1_000_000_000
MIN_EXAMPLES, WARN_EXAMPLES = 10, 100
# The cookbook's default-epochs rule.
_TARGET_EPOCHS, _MIN_TARGET, _MAX_TARGET, _MIN_EPOCHS, _MAX_EPOCHS = 3, 100, 25_000, 1, 25
_LISTED = 10  # line numbers listed per problem


@dataclass(frozen=True)
class Distribution:
    """min, max, mean, median and the 10th and 90th percentiles of a per-example count."""

    min: float
    max: float
    mean: float
    median: float
    p10: float
    p90: float

    @classmethod
    def of(cls, values: list[int]) -> Distribution:
        if not values:
            return cls(0, 0, 0, 0, 0, 0)
        from promptlib.evals._summary import quantile

        ordered = sorted(values)
        points = [float(v) for v in ordered]

        def at(share: float) -> float:  # linear interpolation, numpy's default
            return quantile(points, share) or 0.0

        return cls(
            ordered[0],
            ordered[-1],
            statistics.fmean(ordered),
            statistics.median(ordered),
            at(0.1),
            at(0.9),
        )

    def to_dict(self) -> dict[str, float]:
        return {
            "min": self.min,
            "max": self.max,
            "mean": round(self.mean, 2),
            "median": self.median,
            "p10": round(self.p10, 2),
            "p90": round(self.p90, 2),
        }


@dataclass(frozen=True)
class CheckReport:
    """What ``promptlib finetune check`` found.

    Attributes:
        errors: category → the (1-based) lines with that problem; any error fails the check.
        problems: what fails the check for the whole file (too few examples).
        warnings: data-quality findings that do not fail it (too few examples, class
            imbalance, duplicates).
        billable_tokens: training tokens per epoch: each example's tokens, capped at the
            example limit.
        epochs: the epochs training runs (the provider's default for this many examples,
            unless given).
        charged_tokens: ``billable_tokens * epochs``.
        cost: ``charged_tokens`` at the model's training price, or ``None`` when that
            price is unknown.
    """

    path: str
    format: Format
    model: str
    encoding: str
    examples: int
    errors: dict[str, list[int]]
    problems: list[str]
    warnings: list[str]
    missing_system: int
    missing_user: int
    messages: Distribution
    tokens: Distribution
    assistant_tokens: Distribution
    example_limit: int
    over_limit: list[int]
    billable_tokens: int
    epochs: int
    charged_tokens: int
    training_price: Decimal | None
    cost: Decimal | None
    source: str
    labels: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "model": self.model,
            "ok": self.ok,
            "examples": self.examples,
            "errors": {k: {"count": len(v), "lines": v[:_LISTED]} for k, v in self.errors.items()},
            "problems": list(self.problems),
            "warnings": list(self.warnings),
            "missing_system": self.missing_system,
            "missing_user": self.missing_user,
            "messages_per_example": self.messages.to_dict(),
            "tokens_per_example": self.tokens.to_dict(),
            "assistant_tokens_per_example": self.assistant_tokens.to_dict(),
            "counts": f"estimate ({self.encoding}, the cookbook's per-message rule)",
            "example_limit": self.example_limit,
            "over_limit": {"count": len(self.over_limit), "lines": self.over_limit[:_LISTED]},
            "billable_tokens": self.billable_tokens,
            "epochs": self.epochs,
            "charged_tokens": self.charged_tokens,
            "training_price_per_million": None
            if self.training_price is None
            else str(self.training_price),
            "estimated_cost": None if self.cost is None else str(self.cost),
            "labels": dict(self.labels),
            "source": self.source,
        }


def default_epochs(examples: int) -> int:
    """The epochs the provider trains for by default on ``examples`` examples (the
    cookbook's rule: 3, more for small files, fewer for very large ones)."""
    if examples <= 0:
        return _TARGET_EPOCHS
    if examples * _TARGET_EPOCHS < _MIN_TARGET:
        return min(_MAX_EPOCHS, _MIN_TARGET // examples)
    if examples * _TARGET_EPOCHS > _MAX_TARGET:
        return max(_MIN_EPOCHS, _MAX_TARGET // examples)
    return _TARGET_EPOCHS


def _lines(path: Path) -> list[tuple[int, str]]:
    try:
        text = read_bounded_text(path, MAX_FILE_BYTES)
    except FileProblem as problem:
        raise ConfigurationError(f"cannot read {path}: {problem.message}") from problem
    # Only newlines end a line: U+2028 and friends are text inside JSON strings.
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    return [(n, line) for n, line in enumerate(lines, 1) if line.strip()]


_OPENAI_ONLY_ROLES = {"system", "developer", "tool", "function"}
_OPENAI_ONLY_KEYS = {"tool_calls", "tool_call_id", "function_call", "weight", "name"}


def _detect(records: list[tuple[int, Any]]) -> tuple[Format | None, int | None]:
    """The format the file shows, and the first line showing it; ``None`` when its lines
    fit both (user and assistant turns alone)."""
    for number, record in records:
        if not isinstance(record, dict):
            continue
        if "system" in record:
            return "bedrock", number
        messages = record.get("messages")
        if not isinstance(messages, list):
            continue
        for message in messages:
            if not isinstance(message, dict):
                continue
            role = message.get("role")
            if (isinstance(role, str) and role in _OPENAI_ONLY_ROLES) or (
                set(message) & _OPENAI_ONLY_KEYS
            ):
                return "openai", number
        if set(record) & {"tools", "functions", "parallel_tool_calls"}:
            return "openai", number
    return None, None


class _Tokens:
    def __init__(self, encoding: str) -> None:
        from promptlib._tokens.encodings import get_encoding

        self.name = encoding
        self.encoding = get_encoding(encoding)

    def text(self, value: Any) -> int:
        if isinstance(value, str):
            return len(self.encoding.encode(value, disallowed_special=()))
        if isinstance(value, list):  # content parts: their text
            return sum(self.text(p.get("text")) for p in value if isinstance(p, dict))
        return 0

    def message(self, message: dict[str, Any]) -> int:
        tokens = 3
        for key, value in message.items():
            if key == "weight":
                continue
            if isinstance(value, dict | list) and key != "content":  # tool calls, function_call
                value = json.dumps(value, ensure_ascii=False)
            tokens += self.text(value)
            if key == "name":
                tokens += 1
        return tokens

    def tools(self, record: dict[str, Any]) -> int:
        """Function definitions of a line, by the cookbook's per-function rule."""
        from promptlib._tokens.features import function_tools_tokens

        tools = record.get("tools") or record.get("functions")
        if not isinstance(tools, list) or not tools:
            return 0
        return function_tools_tokens(tools, self.name)


def _openai_problems(record: Any) -> list[str]:
    if not isinstance(record, dict):
        return ["data_type"]
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        return ["missing_messages_list"]
    found: list[str] = ["unrecognized_key"] if set(record) - _OPENAI_LINE_KEYS else []
    if "system" in record:
        found.append("unrecognized_key")  # a Bedrock line: OpenAI takes no top-level system
    for message in messages:
        if not isinstance(message, dict):
            found.append("data_type")
            continue
        if "role" not in message or ("content" not in message and not _calls(message)):
            found.append("message_missing_key")
        if set(message) - _OPENAI_KEYS:
            found.append("message_unrecognized_key")
        role = message.get("role")
        if not isinstance(role, str) or role not in _OPENAI_ROLES:
            found.append("unrecognized_role")
        content = message.get("content")
        if not _calls(message) and (not content or not isinstance(content, str | list)):
            found.append("missing_content")
        weight = message.get("weight", 0)
        if isinstance(weight, bool) or weight not in (0, 1):
            found.append("bad_weight")
    if not any(isinstance(m, dict) and m.get("role") == "assistant" for m in messages):
        found.append("example_missing_assistant_message")
    return found


def _calls(message: dict[str, Any]) -> bool:
    return bool(message.get("function_call") or message.get("tool_calls"))


def _bedrock_problems(record: Any) -> list[str]:
    if not isinstance(record, dict):
        return ["data_type"]
    found: list[str] = []
    if set(record) - {"system", "messages"}:
        found.append("unrecognized_key")
    if "system" in record and not isinstance(record["system"], str):
        found.append("system_not_text")
    messages = record.get("messages")
    if not isinstance(messages, list) or len(messages) < 2:
        return [*found, "too_few_messages"]
    roles = [m.get("role") if isinstance(m, dict) else None for m in messages]
    if roles[0] != "user":
        found.append("first_not_user")
    if roles[-1] != "assistant":
        found.append("last_not_assistant")
    if any(a == b for a, b in itertools.pairwise(roles)):
        found.append("not_alternating")
    for message in messages:
        if not isinstance(message, dict):
            found.append("data_type")
            continue
        if set(message) - {"role", "content"}:
            found.append("message_unrecognized_key")
        if not isinstance(message.get("role"), str) or message["role"] not in ("user", "assistant"):
            found.append("unrecognized_role")
        if not isinstance(message.get("content"), str) or not message["content"]:
            found.append("missing_content")
    return found


def _conversation(record: dict[str, Any], kind: Format) -> list[dict[str, Any]]:
    given = record.get("messages")
    messages = [m for m in given if isinstance(m, dict)] if isinstance(given, list) else []
    if kind == "bedrock" and isinstance(record.get("system"), str):
        return [{"role": "system", "content": record["system"]}, *messages]
    return messages


def _normalized(text: str) -> str:
    """The same request up to case, spacing and Unicode forms ("1+3" stays apart from
    "1-3", and "$1" from "€1")."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _prompt_key(messages: list[dict[str, Any]], tools: Any = None) -> str:
    """What an example asks, normalized: its messages before the last assistant turn (the
    system prompt included: one text under two instructions is two requests), and its
    tools."""
    last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=-1)
    asked = messages[:last] if last >= 0 else messages
    text = " | ".join(f"{m.get('role')}: {m.get('content', '')}" for m in asked)
    if tools:
        text += " | tools: " + json.dumps(tools, sort_keys=True)
    return _normalized(text)


def _answer(messages: list[dict[str, Any]]) -> str:
    answers = [m for m in messages if m.get("role") == "assistant"]
    content = answers[-1].get("content") if answers else None
    return content if isinstance(content, str) else json.dumps(content, sort_keys=True)


def _label(answer: str, label: str) -> str | None:
    if label == "assistant":
        return answer.strip()
    try:
        value = json.loads(answer)
    except (ValueError, RecursionError):
        return None
    if isinstance(value, dict) and label in value:
        found = value[label]
        if not isinstance(found, str):
            return json.dumps(found, sort_keys=True, ensure_ascii=False)
        try:  # a string that reads as another JSON value is quoted: 1 is not "1"
            json.loads(found)
        except (ValueError, RecursionError):
            return found
        return json.dumps(found, ensure_ascii=False)
    return None


def _listed(lines: list[int]) -> str:
    shown = ", ".join(str(n) for n in lines[:_LISTED])
    return shown + (f" and {len(lines) - _LISTED} more" if len(lines) > _LISTED else "")


def check_file(
    path: str | Path,
    model: str,
    *,
    format: Format | None = None,
    epochs: int | None = None,
    example_limit: int | None = None,
    training_price: Decimal | float | None = None,
    label: str | None = None,
    against: list[str | Path] | None = None,
    table: TrainingTable | None = None,
) -> CheckReport:
    """Check a fine-tuning file for ``model``.

    Args:
        path: the JSONL file.
        model: the base model (``gpt-4o-mini-2024-07-18``, ``gpt-4o-mini``, ...): its
            tokenizer, example limit and training price come from the training table.
        format: ``openai`` (chat fine-tuning) or ``bedrock`` (Claude on Amazon Bedrock);
            by default, recognised from the file.
        epochs: the epochs you will train for (default: the provider's default).
        example_limit, training_price: values the table lacks or you know better
            (tokens; dollars per million training tokens).
        label: report the class balance of this field of the assistant's JSON answer
            (``"assistant"``: of the whole answer).
        against: other files (validation, test): examples that ask what one of them asks
            are errors (``overlap``), since a model would be scored on what it learned.
        table: the training table (default: promptlib's).

    Raises:
        ConfigurationError: the file cannot be read; the model is unknown, or its example
            limit is (give ``example_limit``).
    """
    file = Path(path)
    if not isinstance(model, str) or not model:
        raise ConfigurationError(f"model={model!r}: give the base model, e.g. 'gpt-4o-mini'")
    try:
        price = None if training_price is None else Decimal(str(training_price))
    except ArithmeticError:
        raise ConfigurationError(f"training_price={training_price!r}: give dollars") from None
    info: TrainingInfo = (table or TrainingTable.default()).with_overrides(
        model, example_limit=example_limit, training=price
    )
    if info.example_limit is None:
        raise ConfigurationError(
            f"the example token limit of {info.model!r} is not known ({info.source}); give "
            "it: --example-limit N (check_file(..., example_limit=N))"
        )
    if epochs is not None and (
        isinstance(epochs, bool) or not isinstance(epochs, int) or not 1 <= epochs <= 50
    ):
        raise ConfigurationError(f"epochs={epochs}: use 1 to 50")
    records: list[tuple[int, Any]] = []
    errors: dict[str, list[int]] = {}
    for number, line in _lines(file):
        try:
            records.append((number, json.loads(line)))
        except (ValueError, RecursionError):
            errors.setdefault("invalid_json", []).append(number)
    expected: Format = "bedrock" if info.provider == "anthropic-bedrock" else "openai"
    kind: Format = format or expected
    shown, where = _detect(records)
    if format is None and shown is not None and shown != expected and where is not None:
        errors.setdefault("wrong_format", []).append(where)
    if kind not in ("openai", "bedrock"):  # (a format given by the caller)
        raise ConfigurationError(f"format={kind!r}: use 'openai' or 'bedrock'")
    problems = _openai_problems if kind == "openai" else _bedrock_problems
    counter = _Tokens(info.encoding)
    sizes, answer_sizes, message_counts = [], [], []
    over: list[int] = []
    missing_system = missing_user = 0
    prompts: dict[str, list[int]] = {}
    exact: dict[str, list[int]] = {}
    labels: Counter[str] = Counter()
    answers_by_prompt: dict[str, set[str]] = {}
    for number, record in records:
        found = problems(record)
        for category in dict.fromkeys(found):
            errors.setdefault(category, []).append(number)
        if "data_type" in found or "missing_messages_list" in found:
            continue
        messages = _conversation(record, kind)
        roles = [m.get("role") for m in messages]
        missing_system += "system" not in roles
        missing_user += "user" not in roles
        message_counts.append(len(messages))
        tokens = sum(counter.message(m) for m in messages) + 3 + counter.tools(record)
        sizes.append(tokens)
        if tokens > info.example_limit:
            over.append(number)
        answer_sizes.append(
            sum(counter.text(m.get("content")) for m in messages if m.get("role") == "assistant")
        )
        key = _prompt_key(messages, record.get("tools") or record.get("functions"))
        prompts.setdefault(key, []).append(number)
        answer = _answer(messages)
        answers_by_prompt.setdefault(key, set()).add(answer)
        exact.setdefault(json.dumps(record, sort_keys=True), []).append(number)
        if label is not None:
            value = _label(answer, label)
            labels[value if value is not None else "(no label)"] += 1
    if against:
        overlap = _overlap(prompts, against, kind)
        if overlap:
            errors["overlap"] = overlap
    examples = len(records)  # the lines that are JSON (the others are errors)
    warnings = _warnings(examples, exact, prompts, answers_by_prompt, labels)
    problems_found = []
    if examples < MIN_EXAMPLES:
        problems_found.append(
            f"{examples} examples: fine-tuning needs at least {MIN_EXAMPLES} (gains usually "
            "show from 50 to 100)"
        )
    runs = epochs or default_epochs(examples)
    billable = sum(min(info.example_limit, n) for n in sizes)
    charged = billable * runs
    cost = None if info.training is None else info.training * charged / Decimal(1_000_000)
    return CheckReport(
        path=str(file),
        format=kind,
        model=info.model,
        encoding=info.encoding,
        examples=examples,
        errors=errors,
        problems=problems_found,
        warnings=warnings,
        missing_system=missing_system,
        missing_user=missing_user,
        messages=Distribution.of(message_counts),
        tokens=Distribution.of(sizes),
        assistant_tokens=Distribution.of(answer_sizes),
        example_limit=info.example_limit,
        over_limit=over,
        billable_tokens=billable,
        epochs=runs,
        charged_tokens=charged,
        training_price=info.training,
        cost=cost,
        source=f"{info.source} ({info.as_of})" if info.as_of else info.source,
        labels=dict(labels.most_common()),
    )


def _warnings(
    examples: int,
    exact: dict[str, list[int]],
    prompts: dict[str, list[int]],
    answers: dict[str, set[str]],
    labels: Counter[str],
) -> list[str]:
    found = []
    if MIN_EXAMPLES <= examples < WARN_EXAMPLES:
        found.append(f"only {examples} examples: gains usually show from 50 to 100 upward")
    copies = [lines for lines in exact.values() if len(lines) > 1]
    if copies:
        repeated = sum(len(lines) - 1 for lines in copies)
        first = copies[0]
        found.append(
            f"{repeated} exact duplicate example(s), e.g. lines {_listed(first)}: they weigh "
            "those examples more; remove them unless that is meant"
        )
    near = [lines for key, lines in prompts.items() if len(lines) > 1 and key]
    exact_lines = {tuple(lines) for lines in copies}
    near = [lines for lines in near if tuple(lines) not in exact_lines]
    if near:
        conflicting = [
            lines for key, lines in prompts.items() if len(lines) > 1 and len(answers[key]) > 1
        ]
        found.append(
            f"{len(near)} group(s) of near-duplicate examples (the same request up to case "
            f"and spacing), e.g. lines {_listed(near[0])}"
            + (
                f"; {len(conflicting)} of them answer differently, e.g. lines "
                f"{_listed(conflicting[0])}: the model is taught two answers"
                if conflicting
                else ""
            )
        )
    if len(labels) > 1:
        most, fewest = labels.most_common()[0], labels.most_common()[-1]
        if most[1] >= 10 * fewest[1]:
            found.append(
                f"class imbalance: {most[0]!r} has {most[1]} examples, {fewest[0]!r} "
                f"{fewest[1]}: the model will lean to the common classes; balance them, or "
                "accept it knowingly"
            )
        thin = [name for name, count in labels.items() if count < 5]
        if thin:
            found.append(
                f"{len(thin)} class(es) with fewer than 5 examples, e.g. {thin[0]!r}: too "
                "few to learn from"
            )
    return found


def _overlap(prompts: dict[str, list[int]], against: list[str | Path], kind: Format) -> list[int]:
    asked: set[str] = set()
    for other in against:
        for _, line in _lines(Path(other)):
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if isinstance(record, dict):
                tools = record.get("tools") or record.get("functions")
                asked.add(_prompt_key(_conversation(record, kind), tools))
    return sorted(n for key, lines in prompts.items() if key and key in asked for n in lines)


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib.finetune", CheckReport, Distribution, check_file, default_epochs)

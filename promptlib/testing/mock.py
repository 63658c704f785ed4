"""A provider for tests: scripted replies, realistic usage, every call recorded.

``MockProvider`` answers like the real adapters (``complete``, ``acomplete``, ``stream``,
``astream``) without a network, counts tokens with the same tokenizer, prices them from
the catalog, and records each call with the request a real adapter would have built.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic

from typing_extensions import TypeVar

from promptlib.errors import (
    ConfigurationError,
    OutputParseError,
    OutputValidationError,
    ProviderUnavailableError,
    RateLimitError,
)
from promptlib.messages import Prompt
from promptlib.providers.completion import Completion, completion_of
from promptlib.providers.openai import OpenAIProvider
from promptlib.testing.fake import fake_from_schema
from promptlib.tokens.catalog import Catalog
from promptlib.tokens.cost import Usage
from promptlib.tokens.encodings import get_encoding

__all__ = ["Failure", "MockCall", "MockProvider"]

OutputT = TypeVar("OutputT")


@dataclass(frozen=True)
class Failure:
    """A scripted failure: ``Failure("rate_limit")``, ``"server_error"`` or ``"invalid_output"``.

    ``invalid_output`` replies with ``text`` (default: not JSON), which fails validation
    and goes through the repair loop like a real invalid reply.
    """

    kind: str
    text: str = "this is not the JSON you asked for"

    def __post_init__(self) -> None:
        if self.kind not in ("rate_limit", "server_error", "invalid_output"):
            raise ConfigurationError(
                f"Failure({self.kind!r}): use 'rate_limit', 'server_error' or 'invalid_output'"
            )


Reply = str | Mapping[str, Any] | Failure
Script = (
    Sequence[Reply] | Mapping[str, Reply | Sequence[Reply]] | Callable[[Prompt[Any]], Reply] | None
)


@dataclass(frozen=True)
class MockCall:
    """One call the mock answered: the prompt, the request a real adapter would have
    sent, the model and the reply text."""

    prompt: Prompt[Any]
    request: dict[str, Any]
    model: str
    text: str

    @property
    def template(self) -> str | None:
        return self.prompt.meta.template

    @property
    def version(self) -> str | None:
        return self.prompt.meta.version

    @property
    def inputs(self) -> Mapping[str, Any]:
        return self.prompt.meta.inputs


@dataclass
class MockProvider:
    """Answers prompts from a script instead of a model.

    Args:
        replies: what to answer: a list (used in order; the last one repeats), a mapping
            from template name to a reply or a list of them, a function of the Prompt, or
            ``None`` (default) for a schema-valid fake output generated from the prompt's
            output schema (plain text ``"mock reply"`` without one). A reply is text, a
            dict (sent as JSON), or a :class:`Failure`.
        model: the model to report and price (default: the prompt's, else ``gpt-4o-mini``).
        output_tokens: fixed output tokens to report; by default they are counted.
        catalog: the model catalog, for costs.
    """

    replies: Script = None
    model: str | None = None
    output_tokens: int | None = None
    catalog: Catalog | None = None
    calls: list[MockCall] = field(default_factory=list)
    name: str = "mock"
    _cursor: dict[str, int] = field(default_factory=dict, repr=False)

    # --- scripting -------------------------------------------------------------------------

    def _reply_for(self, prompt: Prompt[Any]) -> Reply:
        script = self.replies
        if script is None:
            return _fake_reply(prompt)
        if callable(script):
            return script(prompt)
        if isinstance(script, Mapping):
            template = prompt.meta.template or ""
            if template not in script:
                raise ConfigurationError(
                    f"MockProvider has no reply for template {template!r} (scripted: "
                    f"{', '.join(map(repr, script)) or 'none'})"
                )
            entry = script[template]
            if isinstance(entry, (str, Mapping, Failure)):
                return entry
            return self._next(template, entry)
        return self._next("", script)

    def _next(self, key: str, replies: Sequence[Reply]) -> Reply:
        if not replies:
            raise ConfigurationError("MockProvider was given an empty list of replies")
        index = self._cursor.get(key, 0)
        self._cursor[key] = index + 1
        return replies[min(index, len(replies) - 1)]

    # --- answering -------------------------------------------------------------------------

    def _model(self, prompt: Prompt[Any], model: str | None) -> str:
        return model or self.model or prompt.model or "gpt-4o-mini"

    def _usage(self, prompt: Prompt[Any], model: str, text: str) -> Usage:
        from promptlib.tokens.counting import count_tokens

        try:
            inputs = count_tokens(prompt, model, catalog=self.catalog).total
        except ConfigurationError:
            inputs = count_tokens(prompt, "gpt-4o-mini").total
        outputs = self.output_tokens
        if outputs is None:
            outputs = len(get_encoding("o200k_base").encode_ordinary(text))
        return Usage(inputs, outputs)

    def _request(self, prompt: Prompt[Any], model: str) -> dict[str, Any]:
        """The request the model's real adapter would build (OpenAI's for unknown models)."""
        name = model.split(":", 1)[-1]
        try:
            provider = (self.catalog or Catalog.default()).get(name).provider
        except ConfigurationError:
            provider = "openai"
        if provider == "anthropic":
            from promptlib.providers.anthropic import AnthropicProvider

            return AnthropicProvider(catalog=self.catalog).build_request(prompt, name)
        return OpenAIProvider().build_request(prompt, name)

    def _answer(self, prompt: Prompt[Any], model: str | None) -> Completion[Any]:
        started = time.perf_counter()
        name = self._model(prompt, model)
        request = self._request(prompt, name)
        usage = Usage(0, 0)
        problems: list[tuple[str, str]] = []
        for repair in range(3):
            reply = self._reply_for(prompt)
            if isinstance(reply, Failure) and reply.kind in ("rate_limit", "server_error"):
                self.calls.append(MockCall(prompt, request, name, ""))
                error = RateLimitError if reply.kind == "rate_limit" else ProviderUnavailableError
                raise error(
                    f"simulated {reply.kind.replace('_', ' ')}",
                    provider=self.name,
                    status=429 if reply.kind == "rate_limit" else 500,
                    request_id=f"mock-{len(self.calls)}",
                )
            text = reply.text if isinstance(reply, Failure) else _text(reply)
            self.calls.append(MockCall(prompt, request, name, text))
            usage = usage + self._usage(prompt, name, text)
            try:
                output = prompt.parse(text)
            except OutputParseError as problem:
                problems.append((text, str(problem)))
                continue
            return completion_of(
                prompt,
                text=text,
                output=output,
                provider=self.name,
                model=name,
                usage=usage,
                catalog=self.catalog,
                started=started,
                attempts=repair + 1,
                repairs=repair,
                request_id=f"mock-{len(self.calls)}",
                finish_reason="stop",
            )
        raise OutputValidationError(
            f"{self.name}: the reply still did not match the expected output after 2 "
            f"repair(s): {problems[-1][1]}",
            text=problems[-1][0],
            attempts=problems,
            usage=usage,
            last_response=None,
        )

    def build_request(self, prompt: Prompt[Any], model: str | None = None) -> dict[str, Any]:
        """The request an OpenAI adapter would send for ``prompt``."""
        return self._request(prompt, self._model(prompt, model))

    def complete(self, prompt: Prompt[OutputT], model: str | None = None) -> Completion[OutputT]:
        """Answer ``prompt`` from the script, as a real adapter would."""
        return self._answer(prompt, model)

    async def acomplete(
        self, prompt: Prompt[OutputT], model: str | None = None
    ) -> Completion[OutputT]:
        """The async twin of :meth:`complete`."""
        return self._answer(prompt, model)

    def stream(self, prompt: Prompt[OutputT], model: str | None = None) -> MockStream[OutputT]:
        """Stream the scripted reply in a few pieces, then expose ``.completion``."""
        return MockStream(self, prompt, model)

    def astream(self, prompt: Prompt[OutputT], model: str | None = None) -> MockStream[OutputT]:
        """The async twin of :meth:`stream` (``async for`` works on the same object)."""
        return MockStream(self, prompt, model)

    # --- assertions ------------------------------------------------------------------------

    def assert_called(self, times: int | None = None) -> None:
        """Fail unless the mock was called (exactly ``times`` times, if given)."""
        if times is None and not self.calls:
            raise AssertionError("MockProvider was never called")
        if times is not None and len(self.calls) != times:
            raise AssertionError(f"MockProvider was called {len(self.calls)} times, not {times}")

    def assert_called_with(
        self, template: str, version: str | None = None, **inputs: Any
    ) -> MockCall:
        """Fail unless some call rendered ``template`` (at ``version``) with these inputs."""
        for call in self.calls:
            if call.template != template or (version is not None and call.version != version):
                continue
            if all(call.inputs.get(key) == value for key, value in inputs.items()):
                return call
        seen = "\n".join(f"  - {c.template}@{c.version} {dict(c.inputs)}" for c in self.calls)
        wanted = f"{template}@{version or '*'} {inputs or ''}"
        raise AssertionError(f"no call matched {wanted}; calls made:\n{seen or '  (none)'}")


def _fake_reply(prompt: Prompt[Any]) -> str:
    """A reply in the form the prompt asks for: schema-valid JSON, after reasoning if asked."""
    answer = (
        "mock reply"
        if prompt.output is None
        else json.dumps(fake_from_schema(prompt.output.schema), ensure_ascii=False)
    )
    spec = prompt.reasoning
    if spec is None:
        return answer
    if spec.style == "tags":
        return (
            f"<{spec.reasoning_tag}>mock reasoning</{spec.reasoning_tag}>\n"
            f"<{spec.answer_tag}>{answer}</{spec.answer_tag}>"
        )
    return f"mock reasoning\n{spec.answer_prefix} {answer}"


def _text(reply: Reply) -> str:
    if isinstance(reply, str):
        return reply
    return json.dumps(reply, ensure_ascii=False)


class MockStream(Iterator[str], Generic[OutputT]):
    """Scripted reply in pieces; ``.completion`` once read to the end."""

    def __init__(self, provider: MockProvider, prompt: Prompt[OutputT], model: str | None) -> None:
        self._provider = provider
        self._prompt = prompt
        self._model = model
        self._pieces: list[str] | None = None
        self._completion: Completion[OutputT] | None = None

    def _start(self) -> list[str]:
        if self._pieces is None:
            self._completion = self._provider._answer(self._prompt, self._model)
            text = self._completion.text
            size = max(1, len(text) // 4)
            self._pieces = [text[i : i + size] for i in range(0, len(text), size)] or [""]
        return self._pieces

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        pieces = self._start()
        if not pieces:
            raise StopIteration
        return pieces.pop(0)

    def __aiter__(self) -> AsyncIterator[str]:
        async def pieces() -> AsyncIterator[str]:
            for piece in self:
                yield piece

        return pieces()

    @property
    def completion(self) -> Completion[OutputT]:
        """The full completion, once the stream has been read to its end."""
        if self._completion is None or self._pieces:
            raise RuntimeError("read the stream to its end before asking for its completion")
        return self._completion

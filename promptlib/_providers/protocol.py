"""What a provider is: the protocol the adapters, the mock, cassettes and yours satisfy.

Code that sends prompts (an evaluation, a batch job, your application) should accept a
:class:`Provider`, so the real adapters and :class:`~promptlib.testing.MockProvider` are
interchangeable::

    def answer(provider: promptlib.Provider, prompt: Prompt[Triage]) -> Triage:
        return provider.complete(prompt).output
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from typing_extensions import TypeVar

if TYPE_CHECKING:
    from promptlib._messages import Prompt
    from promptlib._providers.completion import Completion

__all__ = ["AsyncReplyStream", "Provider", "ReplyStream"]

OutputT = TypeVar("OutputT")


@runtime_checkable
class ReplyStream(Protocol[OutputT]):
    """A reply arriving in pieces: iterate for text deltas, then read ``completion``."""

    def __iter__(self) -> Iterator[str]: ...

    @property
    def completion(self) -> Completion[OutputT]: ...


@runtime_checkable
class AsyncReplyStream(Protocol[OutputT]):
    """The async twin of :class:`ReplyStream`: ``async for`` the deltas."""

    def __aiter__(self) -> AsyncIterator[str]: ...

    @property
    def completion(self) -> Completion[OutputT]: ...


@runtime_checkable
class Provider(Protocol):
    """Sends a :class:`~promptlib.Prompt` to a model and returns a typed
    :class:`~promptlib.Completion`.

    Satisfied by :class:`~promptlib.OpenAIProvider`, :class:`~promptlib.AnthropicProvider`,
    :class:`~promptlib.testing.MockProvider` and cassette providers. ``name`` appears as
    ``Completion.provider``; ``build_request`` shows what would be sent, without sending.
    """

    @property
    def name(self) -> str: ...

    def build_request(self, prompt: Prompt[Any], model: str | None = None) -> dict[str, Any]: ...

    def complete(
        self, prompt: Prompt[OutputT], model: str | None = None
    ) -> Completion[OutputT]: ...

    async def acomplete(
        self, prompt: Prompt[OutputT], model: str | None = None
    ) -> Completion[OutputT]: ...

    def stream(self, prompt: Prompt[OutputT], model: str | None = None) -> ReplyStream[OutputT]: ...

    def astream(
        self, prompt: Prompt[OutputT], model: str | None = None
    ) -> AsyncReplyStream[OutputT]: ...


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib", AsyncReplyStream, Provider, ReplyStream)

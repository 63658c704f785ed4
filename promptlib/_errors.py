"""The exceptions promptlib raises.

Every failure a user can cause is a :class:`PromptlibError`. The families separate
*you used it wrong* from *the model misbehaved*, so callers can catch exactly one::

    PromptlibError
    ├── UsageError                  you used promptlib wrong; the message says how to fix it
    │   ├── TemplateError           a template definition is invalid (syntax, variables, blocks)
    │   │   ├── TemplateSecurityError   the template tried something the sandbox forbids
    │   │   └── TemplateRenderError     rendering failed (e.g. an undefined attribute)
    │   ├── InputError              render inputs failed validation (names the fields)
    │   ├── PromptFormatError       a Prompt, message or part is malformed, or cannot be read back
    │   ├── BudgetExceededError     a prompt cannot be fitted into its token budget
    │   ├── RequestsBlockedError    a test tried to reach a real provider (see promptlib.testing)
    │   ├── StreamStateError        a stream was asked for its completion early, or read twice
    │   └── ConfigurationError      the setup is wrong: unknown model, missing tokenizer data, ...
    │       └── AuthenticationError     the provider refused the API key (401/403) or none is set
    ├── WaitTimeoutError            waiting for a batch or a fine-tune ran out of time (it goes on)
    ├── ProviderError               the provider failed; carries provider, status, request id
    │   ├── RateLimitError          429: too many requests (retried, honouring Retry-After)
    │   │   └── QuotaExceededError  429 insufficient_quota: out of credit (never retried)
    │   ├── ProviderUnavailableError    5xx, or Anthropic 529 overloaded (retried)
    │   ├── ProviderTimeoutError    the request timed out (retried)
    │   ├── ProviderConnectionError the connection failed (retried), or a stream ended early
    │   └── RequestRejectedError    400, 404, 413, 422: the provider refused the request as sent
    │       └── UnsupportedFeatureError  the server does not support what was asked (a mode)
    └── ModelOutputError            the model's reply does not have the expected form
        ├── OutputParseError        no final answer, invalid JSON, or schema validation failed
        │   └── ToolArgumentsError  a tool call's arguments are not JSON, or not the tool's model
        ├── OutputValidationError   still invalid after every repair attempt (keeps them all)
        ├── OutputTruncatedError    the reply was cut off at the token limit (not repaired)
        └── ModelRefusalError       the model refused to answer (not repaired)

    PromptlibWarning (UserWarning)
    └── UnusedInputWarning          an input field is declared but no block uses it

Messages name the template (``name@version``), the block and line where there is one,
what was wrong, and the fix.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthenticationError",
    "BudgetExceededError",
    "ConfigurationError",
    "InputError",
    "ModelOutputError",
    "ModelRefusalError",
    "OutputParseError",
    "OutputTruncatedError",
    "OutputValidationError",
    "PromptFormatError",
    "PromptlibError",
    "PromptlibWarning",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderTimeoutError",
    "ProviderUnavailableError",
    "QuotaExceededError",
    "RateLimitError",
    "RequestRejectedError",
    "RequestsBlockedError",
    "StreamStateError",
    "TemplateError",
    "TemplateRenderError",
    "TemplateSecurityError",
    "ToolArgumentsError",
    "UnsupportedFeatureError",
    "UnusedInputWarning",
    "UsageError",
    "WaitTimeoutError",
]


class PromptlibError(Exception):
    """Base class of every exception promptlib raises on purpose."""

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled (and deep-copied) as it is, not by calling __init__ again: many errors
        # take keyword-only arguments, and their message is already composed.
        return (_rebuilt, (type(self), self.args, dict(vars(self))))


def _rebuilt(cls: type[PromptlibError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls, *args)
    error.args = args
    vars(error).update(state)
    return error


class UsageError(PromptlibError):
    """promptlib was used in a way it does not support; the message says how to fix it."""


class TemplateError(UsageError):
    """A template definition is invalid.

    Attributes:
        template: ``name@version`` of the template, when known.
        location: where in the template, e.g. ``"block 2 (system), line 3"``.
        line: the line number inside the block's text or file, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        template: str | None = None,
        location: str | None = None,
        line: int | None = None,
    ) -> None:
        self.template = template
        self.location = location
        self.line = line
        self.reason = message
        where = ", ".join(p for p in (template and f"template {template!r}", location) if p)
        super().__init__(f"{where}: {message}" if where else message)


class TemplateSecurityError(TemplateError):
    """The template tried to reach Python internals or do something the sandbox forbids."""


class TemplateRenderError(TemplateError):
    """Rendering a template failed at run time, e.g. an undefined attribute of an input."""


class InputError(UsageError):
    """The inputs given to ``render`` did not validate against the template's input model.

    Attributes:
        template: ``name@version`` of the template.
        errors: one ``(field, problem)`` pair per invalid field.
    """

    def __init__(self, message: str, *, template: str, errors: list[tuple[str, str]]) -> None:
        self.template = template
        self.errors = errors
        super().__init__(message)


class PromptFormatError(UsageError):
    """A serialized Prompt (JSON or dict) is malformed or does not match its output model."""


class ConfigurationError(UsageError):
    """The setup is wrong: an unknown model, missing or corrupt tokenizer data, a bad catalog."""


class BudgetExceededError(UsageError):
    """A prompt does not fit its token budget and nothing more can be dropped.

    Attributes:
        tokens: the prompt's tokens after dropping everything that may be dropped.
        budget: the budget it had to fit.
    """

    def __init__(self, message: str, *, tokens: int, budget: int) -> None:
        self.tokens = tokens
        self.budget = budget
        super().__init__(message)


class RequestsBlockedError(UsageError):
    """A test tried to send a real request to a model provider; tests run offline."""


class StreamStateError(UsageError, RuntimeError):
    """A stream's completion was asked for before the stream was read to its end, or the
    stream was read a second time (ask the provider for a new one)."""


class WaitTimeoutError(PromptlibError, TimeoutError):
    """Waiting for a batch job or a fine-tune ran out of the time given; the work goes on
    at the provider: wait again, or collect later. Also a ``TimeoutError``."""


class ProviderError(PromptlibError):
    """The provider failed to answer.

    Attributes:
        provider: ``"openai"``, ``"anthropic"``, ...
        status: the HTTP status, when there was a response.
        request_id: the provider's request id, for their support.
        attempts: how many HTTP requests were made, retries included.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        request_id: str | None = None,
        attempts: int = 1,
    ) -> None:
        self.provider = provider
        self.status = status
        self.request_id = request_id
        self.attempts = attempts
        details = ", ".join(
            part
            for part in (
                f"HTTP {status}" if status else "",
                f"request id {request_id}" if request_id else "",
                f"after {attempts} attempts" if attempts > 1 else "",
            )
            if part
        )
        super().__init__(f"{provider}: {message}" + (f" ({details})" if details else ""))


class RateLimitError(ProviderError):
    """429: the provider is limiting the rate of requests; retried with backoff.

    Attributes:
        retry_after: the seconds the provider asked to wait, when it said.
    """

    retry_after: float | None = None


class QuotaExceededError(RateLimitError):
    """The account is out of credit or over its spend limit; never retried.

    OpenAI's 429 ``insufficient_quota``, Anthropic's credit-balance, billing and spend-limit
    errors.
    """


class ProviderUnavailableError(ProviderError):
    """5xx, or Anthropic's 529 overloaded: the provider could not answer now; retried."""


class ProviderTimeoutError(ProviderError):
    """The request timed out; retried."""


class ProviderConnectionError(ProviderError):
    """The connection to the provider failed (retried), or a stream ended before its end
    marker (not retried: what arrived was already delivered)."""


class RequestRejectedError(ProviderError):
    """400, 404, 413, 422: the provider refused the request as sent (e.g. an unknown model,
    or a request larger than the rate limit allows at all); never retried."""


class UnsupportedFeatureError(RequestRejectedError):
    """The server does not support a feature the request used, e.g. a structured-output
    mode of an OpenAI-compatible server; the message names the setting to change.

    Attributes:
        feature: what was refused, e.g. ``"response_format json_schema"``.
    """

    def __init__(
        self,
        message: str,
        *,
        feature: str,
        provider: str,
        status: int | None = None,
        request_id: str | None = None,
        attempts: int = 1,
    ) -> None:
        self.feature = feature
        super().__init__(
            message, provider=provider, status=status, request_id=request_id, attempts=attempts
        )


class AuthenticationError(ConfigurationError):
    """The API key is missing, or the provider refused it (401/403).

    Attributes:
        provider, status, request_id: as on :class:`ProviderError`.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        self.provider = provider
        self.status = status
        self.request_id = request_id
        super().__init__(f"{provider}: {message}")


class ModelOutputError(PromptlibError):
    """The model's reply does not have the form the prompt asked for.

    Attributes:
        text: the reply that could not be used, kept whole so nothing is lost.
    """

    def __init__(self, message: str, *, text: str) -> None:
        self.text = text
        super().__init__(message)


class OutputParseError(ModelOutputError):
    """The reply has no final answer, is not valid JSON, or fails the output schema."""


class ToolArgumentsError(OutputParseError):
    """A tool call's arguments are not a JSON object, or do not validate into the tool's
    model.

    Attributes:
        tool: the tool's name.
        text: the arguments as the model wrote them.
    """

    def __init__(self, message: str, *, tool: str, text: str) -> None:
        super().__init__(message, text=text)
        self.tool = tool


class PromptlibWarning(UserWarning):
    """Base class of the warnings promptlib emits."""


class UnusedInputWarning(PromptlibWarning):
    """An input field is declared by the input model but used by no block of the template."""


class OutputValidationError(ModelOutputError):
    """The reply stayed invalid after every repair attempt.

    Attributes:
        text: the last reply.
        attempts: every reply, in order, with the problem found in each.
        usage: the tokens spent on all attempts (a :class:`~promptlib.Usage`).
        last_response: the provider's last response object.
    """

    def __init__(
        self,
        message: str,
        *,
        text: str,
        attempts: list[tuple[str, str]],
        usage: object,
        last_response: object,
    ) -> None:
        self.attempts = attempts
        self.usage = usage
        self.last_response = last_response
        super().__init__(message, text=text)


class OutputTruncatedError(ModelOutputError):
    """The reply was cut off at the token limit before it was complete; not repaired,
    since asking again with the same limit would be cut off again.

    Attributes:
        text: the partial reply.
        max_tokens: the limit the request set (``None`` when the provider's default applied).
        usage: the tokens spent (a :class:`~promptlib.Usage`).
    """

    def __init__(self, message: str, *, text: str, max_tokens: int | None, usage: object) -> None:
        self.max_tokens = max_tokens
        self.usage = usage
        super().__init__(message, text=text)


class ModelRefusalError(ModelOutputError):
    """The model refused to answer; not repaired, since asking again would not help.

    Attributes:
        text: the refusal, as the model wrote it.
        usage: the tokens spent (a :class:`~promptlib.Usage`), when known.
    """

    def __init__(self, message: str, *, text: str, usage: object = None) -> None:
        self.usage = usage
        super().__init__(message, text=text)


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib", *(globals()[name] for name in __all__))

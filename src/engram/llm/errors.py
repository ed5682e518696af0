"""LLM provider errors, all :class:`~engram.errors.ProviderError` subclasses.

Hierarchy::

    ProviderError                   (engram.errors)
    └── LLMError                    a chat call failed; ``http_status``/``attempts`` say how
        ├── LLMRequestError         the server refused the request (4xx other than 429):
        │                           wrong model, bad key, unsupported parameter; not retried
        └── LLMOutputError          the model answered, but not usably: malformed or
                                    schema-invalid JSON after the re-asks, a refusal,
                                    output cut at max_tokens; ``last_text`` keeps the reply

Transient failures (timeouts, connection errors, 429, 5xx) are retried; when
the retries run out a plain :class:`LLMError` is raised with the last reason.
"""

from __future__ import annotations

from ..errors import ProviderError

__all__ = ["LLMError", "LLMOutputError", "LLMRequestError"]


class LLMError(ProviderError):
    """A chat completion call failed.

    ``http_status`` is the last HTTP status the LLM server sent (``None``
    when no response came back; ``status`` stays the REST status Engram
    itself answers with); ``attempts`` counts the HTTP requests sent.
    """

    code = "llm_error"

    def __init__(self, message: str, *, status: int | None = None, attempts: int = 0) -> None:
        super().__init__(message)
        self.http_status = status
        self.attempts = attempts


class LLMRequestError(LLMError):
    """The server refused the request itself; retrying the same request will not help."""

    code = "llm_request_refused"


class LLMOutputError(LLMError):
    """The model's reply could not be used. ``errors`` lists why, per attempt."""

    code = "llm_bad_output"

    def __init__(
        self,
        message: str,
        *,
        last_text: str = "",
        errors: list[str] | None = None,
        status: int | None = None,
        attempts: int = 0,
    ) -> None:
        super().__init__(message, status=status, attempts=attempts)
        self.last_text = last_text
        self.errors = errors or []

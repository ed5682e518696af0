"""LLMClient and AsyncLLMClient against the scripted OpenAI-compatible server.

Every behaviour test runs twice, once per client (``client_kind``), through
the same small facade, so the two clients are held to the same contract.
Waits between retries are recorded instead of slept (no test depends on time,
except the timeout tests, which use a server delay far above the timeout).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.scripted_llm import (
    RecordedRequest,
    ScriptedLLMServer,
    delay,
    drop,
    malformed,
    ok,
    rate_limited,
    raw,
    refusal,
    reject_response_format,
    server_error,
    status,
    truncated,
)

from engram.errors import ConfigError, InvalidInput, ProviderError
from engram.llm import (
    AsyncLLMClient,
    LLMClient,
    LLMError,
    LLMOutputError,
    LLMRequestError,
    LLMResponse,
    LLMSettings,
    Price,
    UsageLedger,
    UsageTotals,
    build_async_client,
    build_client,
)

pytest_plugins = ["support.fixtures"]

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer", "minimum": 0},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}
ASK = [{"role": "system", "content": "Extract."}, {"role": "user", "content": "Ada is 36."}]


class Facade:
    """Drives a sync or async client with the same blocking calls; records waits."""

    def __init__(self, client: LLMClient | AsyncLLMClient) -> None:
        self.client = client
        self.sleeps: list[float] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        if isinstance(client, AsyncLLMClient):
            self._loop = asyncio.new_event_loop()

            async def record_async(seconds: float) -> None:
                self.sleeps.append(seconds)

            setattr(client, "_sleep", record_async)  # noqa: B010 - replaces a method
        else:
            setattr(client, "_sleep", self.sleeps.append)  # noqa: B010

    def chat(self, messages: list[dict[str, Any]] = ASK, **kwargs: Any) -> LLMResponse:
        if isinstance(self.client, AsyncLLMClient):
            assert self._loop is not None
            return self._loop.run_until_complete(self.client.chat(messages, **kwargs))
        return self.client.chat(messages, **kwargs)

    @property
    def usage(self) -> UsageTotals:
        return self.client.usage

    def close(self) -> None:
        if isinstance(self.client, AsyncLLMClient):
            assert self._loop is not None
            self._loop.run_until_complete(self.client.aclose())
            self._loop.close()
        else:
            self.client.close()


MakeClient = Callable[..., Facade]


@pytest.fixture(params=["sync", "async"])
def client_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_client(client_kind: str, scripted_llm: ScriptedLLMServer) -> Iterator[MakeClient]:
    """``make_client(**kwargs)``: a client of ``client_kind`` on the scripted server."""
    made: list[Facade] = []

    def make(**kwargs: Any) -> Facade:
        args: dict[str, Any] = {
            "base_url": scripted_llm.base_url,
            "model": scripted_llm.model,
            "timeout": 5.0,
            **kwargs,
        }
        cls = AsyncLLMClient if client_kind == "async" else LLMClient
        facade = Facade(cls(**args))
        made.append(facade)
        return facade

    yield make
    for facade in made:
        facade.close()


def body(request: RecordedRequest) -> dict[str, Any]:
    assert isinstance(request.body, dict)
    return request.body


# -- plain calls ----------------------------------------------------------------


def test_ok_path_reports_text_usage_cost_and_totals(
    scripted_llm: ScriptedLLMServer, make_client: MakeClient
) -> None:
    scripted_llm.script(ok("Hello there.", usage=(12, 3)))
    client = make_client(prices={scripted_llm.model: Price(prompt=1.0, completion=2.0)})
    reply = client.chat(max_tokens=50)
    assert reply.text == "Hello there."
    assert reply.data is None
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total) == (
        12,
        3,
        15,
    )
    assert reply.cost == pytest.approx((12 * 1.0 + 3 * 2.0) / 1e6)
    assert reply.model == scripted_llm.model
    assert (reply.cached, reply.attempts, reply.finish_reason) == (False, 1, "stop")
    [sent] = scripted_llm.chat_requests
    assert body(sent) == {
        "model": scripted_llm.model,
        "messages": ASK,
        "temperature": 0.0,
        "max_tokens": 50,
    }
    assert sent.headers["content-type"] == "application/json"
    totals = client.usage
    assert totals["default"].calls == 1
    assert totals["default"].total_tokens == 15
    assert totals.total.cost == pytest.approx(reply.cost)
    assert totals["extract"].calls == 0


def test_usage_is_counted_per_stage(
    scripted_llm: ScriptedLLMServer, make_client: MakeClient
) -> None:
    scripted_llm.script(ok("a", usage=(10, 1)), ok("b", usage=(20, 2)), ok("c", usage=(5, 5)))
    client = make_client(stage="extract")
    client.chat()
    client.chat(stage="answer")
    client.chat()
    usage = client.usage
    assert usage["extract"].calls == 2
    assert usage["extract"].prompt_tokens == 15
    assert usage["answer"].total_tokens == 22
    assert usage.total.total_tokens == 43
    assert usage.total.unpriced_calls == 3  # no price table: cost unknown
    assert usage.total.requests == 3


def test_api_key_extra_headers_and_query_are_sent(scripted_llm: ScriptedLLMServer) -> None:
    scripted_llm.api_key = "sk-test"
    scripted_llm.script(ok("fine"))
    with LLMClient(
        scripted_llm.base_url + "?api-version=2024-10-21",
        "m",
        api_key="sk-test",
        extra_headers={"X-Trace": "t1"},
    ) as client:
        assert client.chat(ASK).text == "fine"
    [sent] = scripted_llm.chat_requests
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert sent.headers["x-trace"] == "t1"
    assert sent.query == "api-version=2024-10-21"


# -- structured output ------------------------------------------------------------


def test_json_schema_is_requested_and_validated(
    scripted_llm: ScriptedLLMServer, make_client: MakeClient
) -> None:
    scripted_llm.script(ok({"name": "Ada", "age": 36}))
    reply = make_client().chat(json_schema=PERSON, schema_name="person")
    assert reply.data == {"name": "Ada", "age": 36}
    assert reply.attempts == 1
    [sent] = scripted_llm.chat_requests
    assert body(sent)["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "person", "schema": PERSON, "strict": True},
    }
    assert body(sent)["messages"] == ASK  # no extra instructions in json_schema mode


def test_json_in_code_fences_and_prose_is_accepted(
    scripted_llm: ScriptedLLMServer, make_client: MakeClient
) -> None:
    fenced = 'Here you go:\n```json\n{"name": "Ada", "age": 36}\n```\nAnything else?'
    thinking = '<think>{maybe} "age"?</think>Result: {"name": "Bo", "age": 7} done'
    scripted_llm.script(ok(fenced), ok(thinking))
    client = make_client()
    assert client.chat(json_schema=PERSON).data == {"name": "Ada", "age": 36}
    assert client.chat(json_schema=PERSON).data == {"name": "Bo", "age": 7}


def test_schema_violation_is_sent_back_then_corrected(
    scripted_llm: ScriptedLLMServer, make_client: MakeClient
) -> None:
    scripted_llm.script(
        ok({"name": "Ada", "age": "36"}, usage=(30, 8)),
        ok({"name": "Ada", "age": 36}, usage=(50, 8)),
    )
    reply = make_client().chat(json_schema=PERSON)
    assert reply.data == {"name": "Ada", "age": 36}
    assert reply.attempts == 2
    assert reply.usage.total == 96  # both replies were billed
    second = body(scripted_llm.chat_requests[1])["messages"]
    assert second[: len(ASK)] == ASK
    assert second[-2] == {"role": "assistant", "content": '{"name": "Ada", "age": "36"}'}
    assert second[-1]["role"] == "user"
    assert "$.age: expected integer, got string" in second[-1]["content"]


def test_malformed_json_then_corrected_on_retry(
    scripted_llm: ScriptedLLMServer, make_client: MakeClient
) -> None:
    scripted_llm.script(malformed('{"name": "Ada", "age": 36'), ok({"name": "Ada", "age": 36}))
    client = make_client()
    reply = client.chat(json_schema=PERSON)
    assert reply.data == {"name": "Ada", "age": 36}
    assert reply.attempts == 2
    feedback = body(scripted_llm.chat_requests[1])["messages"][-1]["content"]
    assert "invalid JSON" in feedback
    assert json.dumps(PERSON, separators=(",", ":")) in feedback
    assert client.usage["default"].calls == 1


def test_malformed_forever_raises_without_partial_data(
    scripted_llm: ScriptedLLMServer, make_client: MakeClient
) -> None:
    scripted_llm.default = malformed('{"name": "Ada", "age": ')
    client = make_client(output_retries=2)
    with pytest.raises(LLMOutputError) as caught:
        client.chat(json_schema=PERSON)
    assert isinstance(caught.value, ProviderError)
    assert caught.value.attempts == 3
    assert len(caught.value.errors) == 3
    assert caught.value.last_text == '{"name": "Ada", "age": '
    assert len(scripted_llm.chat_requests) == 3
    usage = client.usage["default"]
    assert (usage.calls, usage.failed_calls, usage.requests) == (0, 1, 3)
    assert usage.total_tokens > 0  # failed calls still cost tokens


def test_nested_fragment_of_broken_json_is_never_used(
    scripted_llm: ScriptedLLMServer, make_client: MakeClient
) -> None:
    wrapper = {
        "type": "object",
        "properties": {"person": PERSON},
        "required": [],
    }
    scripted_llm.default = ok('{"oops": [{"person": {"name": "Ada", "age": 36}}')
    with pytest.raises(LLMOutputError):
        make_client(output_retries=0).chat(json_schema=wrapper)


def test_refusal_and_truncation_fail_at_once(
    scripted_llm: ScriptedLLMServer, make_client: MakeClient
) -> None:
    scripted_llm.script(refusal("No."), truncated('{"name": "Ada", "a'))
    client = make_client()
    with pytest.raises(LLMOutputError, match="refused: No."):
        client.chat(json_schema=PERSON)
    with pytest.raises(LLMOutputError, match="max_tokens"):
        client.chat(json_schema=PERSON, max_tokens=8)
    assert len(scripted_llm.chat_requests) == 2


# -- response_format fallback ---------------------------------------------------------


def test_response_format_falls_back_to_json_object_and_remembers(
    scripted_llm: ScriptedLLMServer, make_client: MakeClient
) -> None:
    scripted_llm.response_formats = ("json_object", "text")
    scripted_llm.default = ok({"name": "Ada", "age": 36})
    client = make_client()
    reply = client.chat(json_schema=PERSON)
    assert reply.data == {"name": "Ada", "age": 36}
    assert reply.attempts == 2
    first, second = scripted_llm.chat_requests
    assert body(first)["response_format"]["type"] == "json_schema"
    assert body(second)["response_format"] == {"type": "json_object"}
    assert "JSON Schema" in second.last_user  # json_object mode carries the schema in the prompt
    assert second.last_user.startswith("Ada is 36.")
    client.chat(json_schema=PERSON)  # the refusal is remembered: one request
    assert len(scripted_llm.chat_requests) == 3
    assert body(scripted_llm.chat_requests[2])["response_format"] == {"type": "json_object"}


def test_response_format_falls_back_to_plain_instructions(
    scripted_llm: ScriptedLLMServer, make_client: MakeClient
) -> None:
    scripted_llm.response_formats = ()
    scripted_llm.default = ok('Sure! {"name": "Ada", "age": 36}')
    reply = make_client().chat(json_schema=PERSON)
    assert reply.data == {"name": "Ada", "age": 36}
    strict = {"name": "result", "schema": PERSON, "strict": True}
    assert [r.response_format for r in scripted_llm.chat_requests] == [
        {"type": "json_schema", "json_schema": strict},
        {"type": "json_object"},
        None,
    ]
    assert "JSON Schema" in scripted_llm.chat_requests[-1].last_user


def test_one_shot_response_format_rejection(
    scripted_llm: ScriptedLLMServer, make_client: MakeClient
) -> None:
    scripted_llm.script(reject_response_format(), ok({"name": "Ada", "age": 36}))
    assert make_client().chat(json_schema=PERSON).attempts == 2


def test_max_tokens_renamed_when_server_asks(
    scripted_llm: ScriptedLLMServer, make_client: MakeClient
) -> None:
    message = (
        "Unsupported parameter: 'max_tokens' is not supported with this model. "
        "Use 'max_completion_tokens' instead."
    )
    scripted_llm.script(status(400, message, param="max_tokens"), ok("fine"))
    assert make_client().chat(max_tokens=20).text == "fine"
    last = body(scripted_llm.chat_requests[-1])
    assert last["max_completion_tokens"] == 20
    assert "max_tokens" not in last


# -- transient failures ---------------------------------------------------------------


def test_429_honours_retry_after_then_succeeds(
    scripted_llm: ScriptedLLMServer, make_client: MakeClient
) -> None:
    scripted_llm.script(rate_limited(retry_after=2), ok("done"))
    client = make_client()
    reply = client.chat()
    assert reply.text == "done"
    assert reply.attempts == 2
    assert client.sleeps == [2.0]


def test_retry_after_ms_header_is_preferred(
    scripted_llm: ScriptedLLMServer, make_client: MakeClient
) -> None:
    scripted_llm.script(status(429, headers={"retry-after-ms": "250", "Retry-After": "1"}), ok("x"))
    client = make_client()
    client.chat()
    assert client.sleeps == [0.25]


def test_retry_after_beyond_max_wait_fails_at_once(
    scripted_llm: ScriptedLLMServer, make_client: MakeClient
) -> None:
    scripted_llm.script(rate_limited(retry_after=3600), ok("never"))
    client = make_client(max_retry_wait=30)
    with pytest.raises(LLMError, match="3600s"):
        client.chat()
    assert client.sleeps == []
    assert len(scripted_llm.chat_requests) == 1


def test_server_errors_exhaust_retries_with_backoff(
    scripted_llm: ScriptedLLMServer, make_client: MakeClient
) -> None:
    scripted_llm.default = server_error(503)
    client = make_client(max_retries=3, backoff_base=0.5)
    with pytest.raises(LLMError) as caught:
        client.chat()
    assert not isinstance(caught.value, LLMRequestError | LLMOutputError)
    assert caught.value.http_status == 503
    assert caught.value.attempts == 4
    assert len(scripted_llm.chat_requests) == 4
    assert len(client.sleeps) == 3
    for n, wait in enumerate(client.sleeps):  # equal jitter: [base/2, base) * 2**n
        assert 0.25 * 2**n <= wait < 0.5 * 2**n
    assert client.usage["default"].failed_calls == 1


def test_500_then_success(scripted_llm: ScriptedLLMServer, make_client: MakeClient) -> None:
    scripted_llm.script(server_error(), server_error(502), ok("ok now"))
    reply = make_client().chat()
    assert (reply.text, reply.attempts) == ("ok now", 3)


def test_timeout_is_retried(scripted_llm: ScriptedLLMServer, make_client: MakeClient) -> None:
    scripted_llm.script(delay(3.0), ok("fast"))
    reply = make_client(timeout=0.3).chat()
    assert (reply.text, reply.attempts) == ("fast", 2)


def test_timeouts_exhausted_raise_provider_error(
    scripted_llm: ScriptedLLMServer, make_client: MakeClient
) -> None:
    scripted_llm.script(delay(3.0), delay(3.0))
    with pytest.raises(ProviderError, match="timeout"):
        make_client(timeout=0.3, max_retries=1).chat()
    assert len(scripted_llm.chat_requests) == 2


def test_dropped_connection_is_retried(
    scripted_llm: ScriptedLLMServer, make_client: MakeClient
) -> None:
    scripted_llm.script(drop(), ok("again"))
    reply = make_client().chat()
    assert (reply.text, reply.attempts) == ("again", 2)


def test_connection_refused_maps_to_provider_error(make_client: MakeClient) -> None:
    with ScriptedLLMServer() as gone:
        url = gone.base_url
    with pytest.raises(LLMError, match="connection error"):
        make_client(base_url=url, max_retries=1).chat()


# -- requests the server refuses --------------------------------------------------------


def test_bad_credentials_are_not_retried(
    scripted_llm: ScriptedLLMServer, make_client: MakeClient
) -> None:
    scripted_llm.api_key = "sk-right"
    client = make_client(api_key="sk-wrong")
    with pytest.raises(LLMRequestError, match="api_key") as caught:
        client.chat()
    assert caught.value.http_status == 401
    assert len(scripted_llm.chat_requests) == 1


def test_wrong_base_url_gives_a_hint(
    scripted_llm: ScriptedLLMServer, make_client: MakeClient
) -> None:
    client = make_client(base_url=f"http://127.0.0.1:{scripted_llm.port}")
    with pytest.raises(LLMRequestError, match="/v1"):
        client.chat()


def test_non_completion_body_is_an_error(
    scripted_llm: ScriptedLLMServer, make_client: MakeClient
) -> None:
    scripted_llm.script(raw(200, "<html>Welcome to nginx</html>", "text/html"))
    with pytest.raises(LLMError, match="non-JSON"):
        make_client().chat()
    assert len(scripted_llm.chat_requests) == 1


def test_html_gateway_error_is_retried(
    scripted_llm: ScriptedLLMServer, make_client: MakeClient
) -> None:
    scripted_llm.script(raw(502, "<html>Bad Gateway</html>", "text/html"), ok("through"))
    assert make_client().chat().text == "through"


def test_invalid_arguments_send_nothing(
    scripted_llm: ScriptedLLMServer, make_client: MakeClient
) -> None:
    client = make_client()
    bad_calls: list[dict[str, Any]] = [
        {"messages": []},
        {"messages": [{"role": "wizard", "content": "hi"}]},
        {"messages": [{"role": "user"}]},
        {"json_schema": {"$ref": "#/defs/x"}},
        {"json_schema": PERSON, "schema_name": "has space"},
        {"max_tokens": 0},
        {"temperature": "hot"},
        {"messages": [{"role": "user", "content": "hi", "metadata": object()}]},
        {"json_schema": {"type": "number", "maximum": float("nan")}},
    ]
    for kwargs in bad_calls:
        with pytest.raises(InvalidInput):
            client.chat(**kwargs)
    assert scripted_llm.requests == []


def test_remote_hosts_are_forbidden_in_tests(make_client: MakeClient) -> None:
    client = make_client(base_url="https://api.openai.com/v1")
    with pytest.raises(ConfigError, match="forbidden"):
        client.chat()


def test_bad_settings_raise_config_error() -> None:
    with pytest.raises(ConfigError):
        LLMClient("ftp://example.com", "m")
    with pytest.raises(ConfigError):
        LLMClient("http://127.0.0.1:1/v1", " ")
    with pytest.raises(ConfigError):
        LLMSettings(base_url="http://127.0.0.1:1/v1", model="m", stage_models={"answer": ""})


# -- cache ------------------------------------------------------------------------------


def test_cache_hit_sends_one_request_and_counts_no_tokens(
    scripted_llm: ScriptedLLMServer, make_client: MakeClient, tmp_path: Path
) -> None:
    scripted_llm.default = ok({"name": "Ada", "age": 36}, usage=(40, 10))
    client = make_client(cache_dir=tmp_path)
    first = client.chat(json_schema=PERSON)
    second = client.chat(json_schema=PERSON)
    assert len(scripted_llm.chat_requests) == 1
    assert (first.cached, second.cached) == (False, True)
    assert second.data == first.data
    assert second.text == first.text
    assert (second.usage.total, second.attempts, second.cost) == (0, 0, 0.0)
    usage = client.usage["default"]
    assert (usage.calls, usage.cached_calls, usage.total_tokens) == (2, 1, 50)

    client.chat(json_schema=PERSON, temperature=0.7)  # another request: a miss
    assert len(scripted_llm.chat_requests) == 2
    again = make_client(cache_dir=tmp_path).chat(json_schema=PERSON)  # survives the client
    assert again.cached
    assert len(scripted_llm.chat_requests) == 2


def test_failures_are_not_cached(
    scripted_llm: ScriptedLLMServer, make_client: MakeClient, tmp_path: Path
) -> None:
    scripted_llm.script(server_error(), ok("good"))
    client = make_client(cache_dir=tmp_path, max_retries=0)
    with pytest.raises(LLMError):
        client.chat()
    assert client.chat().cached is False
    assert client.chat().cached is True


def test_cache_is_shared_by_threads(scripted_llm: ScriptedLLMServer, tmp_path: Path) -> None:
    scripted_llm.default = lambda request: ok(f"echo {request.last_user}")
    with LLMClient(scripted_llm.base_url, "m", cache_dir=tmp_path) as client:

        def ask(i: int) -> LLMResponse:
            return client.chat([{"role": "user", "content": f"q{i % 5}"}])

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            replies = list(pool.map(ask, range(40)))
        assert [r.text for r in replies] == [f"echo q{i % 5}" for i in range(40)]
        assert client.usage.total.calls == 40
        # every question was answered by the server at least once, and the cache held
        assert {r.last_user for r in scripted_llm.chat_requests} == {f"q{i}" for i in range(5)}
        assert client.chat([{"role": "user", "content": "q3"}]).cached


# -- async specifics, settings, server ----------------------------------------------------


def test_async_calls_run_concurrently(scripted_llm: ScriptedLLMServer) -> None:
    scripted_llm.default = lambda request: ok(request.last_user.upper())

    async def main() -> list[str]:
        async with AsyncLLMClient(scripted_llm.base_url, "m") as client:
            replies = await asyncio.gather(
                *(client.chat([{"role": "user", "content": f"m{i}"}]) for i in range(6))
            )
            return [r.text for r in replies]

    assert asyncio.run(main()) == [f"M{i}" for i in range(6)]


def test_build_client_uses_stage_models_and_a_shared_ledger(
    scripted_llm: ScriptedLLMServer,
) -> None:
    settings = scripted_llm.settings(stage_models={"answer": "big-model"})
    ledger = UsageLedger()
    scripted_llm.default = ok("x", usage=(3, 1))
    with build_client(settings, "extract", ledger=ledger) as extract:
        extract.chat(ASK)
    with build_client(settings, "answer", ledger=ledger) as answer:
        answer.chat(ASK)
    sent = [body(r)["model"] for r in scripted_llm.chat_requests]
    assert sent == [scripted_llm.model, "big-model"]
    totals = ledger.snapshot()
    assert (totals["extract"].calls, totals["answer"].calls, totals.total.total_tokens) == (1, 1, 8)

    async def via_async() -> str:
        async with build_async_client(settings, "consolidate") as client:
            return (await client.chat(ASK)).model

    assert asyncio.run(via_async()) == scripted_llm.model
    assert "sk-secret" not in repr(scripted_llm.settings(api_key="sk-secret"))


def test_scripted_server_speaks_the_openai_format(scripted_llm: ScriptedLLMServer) -> None:
    scripted_llm.on("weather", ok("sunny"), times=1)
    scripted_llm.script(ok("queued"))
    with httpx.Client(base_url=scripted_llm.base_url) as http:
        models = http.get("/models").json()
        assert models["object"] == "list"
        assert models["data"][0]["id"] == scripted_llm.model
        payload = {"model": "m", "messages": [{"role": "user", "content": "weather?"}]}
        first = http.post("/chat/completions", json=payload).json()
        assert first["object"] == "chat.completion"
        assert first["choices"][0]["message"] == {"role": "assistant", "content": "sunny"}
        assert first["choices"][0]["finish_reason"] == "stop"
        assert set(first["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}
        second = http.post("/chat/completions", json=payload).json()  # rule used up
        assert second["choices"][0]["message"]["content"] == "queued"
        unscripted = http.post("/chat/completions", json=payload)
        assert unscripted.status_code == 500
        assert len(scripted_llm.unmatched) == 1
        bad = http.post("/chat/completions", json={"messages": []})
        assert bad.status_code == 400
        assert "error" in bad.json()


def test_quoted_example_before_the_answer_is_skipped(
    scripted_llm: ScriptedLLMServer, make_client: MakeClient
) -> None:
    scripted_llm.script(ok('Format: {"name": "..."}. Answer: {"name": "Ada", "age": 36}'))
    reply = make_client().chat(json_schema=PERSON)
    assert reply.data == {"name": "Ada", "age": 36}
    assert reply.attempts == 1


def test_nested_object_of_a_valid_reply_is_not_taken(
    scripted_llm: ScriptedLLMServer, make_client: MakeClient
) -> None:
    scripted_llm.script(ok({"person": {"name": "Ada", "age": 36}}))
    with pytest.raises(LLMOutputError, match="unexpected property 'person'"):
        make_client(output_retries=0).chat(json_schema=PERSON)

"""Pytest plugin: the ``scripted_llm`` fixture and the no-remote-LLM switch.

Enable it from ``tests/conftest.py`` with ``pytest_plugins = ["support.fixtures"]``
(or ``"tests.support.fixtures"`` when ``tests`` is a package).

* ``scripted_llm``: a started :class:`~support.scripted_llm.ScriptedLLMServer`
  (see its docstring), stopped after the test. ``scripted_llm.settings()``
  gives matching :class:`engram.llm.LLMSettings` with fast retries.
* For the whole session, LLM requests to any host but loopback are refused
  (:func:`engram.llm.set_remote_requests_allowed`), so no test can reach a
  real, paid model by accident.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engram.llm import set_remote_requests_allowed

from .scripted_llm import ScriptedLLMServer

__all__ = ["scripted_llm"]


@pytest.fixture(autouse=True, scope="session")
def _forbid_remote_llm_requests() -> Iterator[None]:
    previous = set_remote_requests_allowed(False)
    yield
    set_remote_requests_allowed(previous)


@pytest.fixture
def scripted_llm() -> Iterator[ScriptedLLMServer]:
    """A scripted OpenAI-compatible server on 127.0.0.1 (random port)."""
    with ScriptedLLMServer() as server:
        yield server

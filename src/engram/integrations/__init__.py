"""Engram inside agent frameworks, each adapter an optional extra.

* :mod:`.langgraph`: ``langgraph.store.base.BaseStore`` (``engramdb[langgraph]``)
* :mod:`.llamaindex`: a ``llama_index.core.memory.BaseMemoryBlock``
  (``engramdb[llamaindex]``)
* :mod:`.openai_agents`: an ``agents.memory.SessionABC`` session and function tools
  (``engramdb[openai-agents]``)
* :mod:`.tools`: OpenAI tools JSON and a dispatcher, for any agent (no extra)

Importing an adapter whose framework is not installed raises
:class:`~engram.errors.MissingDependency` naming the ``pip install`` command.
Nothing here touches the network at import or run time.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import MissingDependency

__all__ = ["require"]


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependency` naming ``engramdb[extra]``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(
            f"{module} is not installed: pip install 'engramdb[{extra}]'") from exc

"""``from engram.compat.mem0 import Memory``: mem0's open-source ``Memory`` over Engram.

The methods, arguments and return shapes of mem0's ``Memory`` (``mem0ai`` 2.x): ``add``,
``search``, ``get``, ``get_all``, ``update``, ``delete``, ``delete_all``, ``history``,
``reset``. Entities go in ``filters`` for ``search``/``get_all`` (``filters={"user_id":
"alice"}``) and as keywords for ``add``/``delete_all``, as in mem0 2.x.

>>> m = Memory.from_config({"path": "memory.db"})                  # doctest: +SKIP
>>> m.add("I'm allergic to nuts", user_id="alice")                 # doctest: +SKIP
{'results': [{'id': 'mem_...', 'memory': 'The user is allergic to nuts', 'event': 'ADD'}]}
>>> m.search("what can't alice eat?", filters={"user_id": "alice"})  # doctest: +SKIP

What differs from mem0 (see docs/migrate-from-mem0.md): memories are derived by Engram
(rules, or the configured LLM), with no LLM call unless one is configured; ``search``
ranks memories and verbatim messages (``categories: ["episode"]``) and applies
``threshold`` only when given (Engram's scores are not cosine similarities);
``delete_all`` is a verified hard delete; ``reset`` forgets every user, agent and run of
the store; mistakes raise :mod:`engram.errors` (``InvalidInput``, ``NotFound`` ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..engine import Engram
from ..errors import InvalidInput
from .mem0_core import ENTITY_KEYS, Mem0Core

__all__ = ["Memory"]

_UNSET: Any = object()


def _no_entities(kwargs: dict[str, Any], method: str) -> None:
    bad = sorted(set(kwargs) & set(ENTITY_KEYS))
    if bad:
        raise InvalidInput(f"{method}() takes {bad} inside filters, e.g. "
                           f"filters={{'user_id': '...'}}")
    if kwargs:
        raise InvalidInput(f"{method}() got unexpected arguments {sorted(kwargs)}")


class Memory:
    """mem0's ``Memory`` on an Engram store (``Memory(engram=Engram("memory.db"))``)."""

    def __init__(self, engram: Engram | None = None, *, path: str | Path | None = None
                 ) -> None:
        self.engram = engram if engram is not None else Engram(path)
        self._core = Mem0Core(self.engram)

    @classmethod
    def from_config(cls, config_dict: dict[str, Any]) -> Memory:
        """``{"path": "memory.db"}`` (or ``{"url": "postgresql://..."}``); mem0's own
        provider settings (llm, embedder, vector_store) do not apply and are refused."""
        config = dict(config_dict or {})
        unknown = sorted(set(config) - {"path", "url"})
        if unknown:
            raise InvalidInput(f"unknown settings {unknown}: Engram takes 'path' or 'url' "
                               "(models and stores are Engram's configuration)")
        if "url" in config:
            return cls(Engram(url=config["url"]))
        return cls(path=config.get("path"))

    def add(self, messages: Any, *, user_id: str | None = None, agent_id: str | None = None,
            run_id: str | None = None, metadata: dict[str, Any] | None = None,
            timestamp: Any = None, expiration_date: Any = None, infer: bool = True,
            memory_type: str | None = None, prompt: str | None = None) -> dict[str, Any]:
        """Store ``messages`` (a string, a message dict or a list of them) and derive
        memories (``infer=False``: keep the messages only). ``{"results": [{id, memory,
        event}]}``."""
        if memory_type is not None or prompt is not None:
            raise InvalidInput("memory_type and prompt are not supported by Engram")
        out = self._core.add({"messages": messages, "user_id": user_id, "agent_id": agent_id,
                              "run_id": run_id, "metadata": metadata, "timestamp": timestamp,
                              "infer": infer})
        return {"results": out["results"]}

    def get(self, memory_id: str) -> dict[str, Any] | None:
        """The memory (mem0's shape), or ``None`` when there is none with that id."""
        from ..errors import NotFound

        try:
            return self._core.get(memory_id)
        except NotFound:
            return None

    def get_all(self, *, filters: dict[str, Any] | None = None, top_k: int = 20,
                show_expired: bool = False, **kwargs: Any) -> dict[str, Any]:
        """``{"results": [...]}``: up to ``top_k`` memories matching ``filters``, newest first."""
        _no_entities(kwargs, "get_all")
        if not isinstance(top_k, int) or top_k < 1:
            raise InvalidInput("top_k must be a positive integer")
        return {"results": self._core.get_all({"filters": filters})[:top_k]}

    def search(self, query: str, *, top_k: int = 20, filters: dict[str, Any] | None = None,
               threshold: float | None = None, rerank: bool = False, explain: bool = False,
               reference_date: Any = None, show_expired: bool = False,
               **kwargs: Any) -> dict[str, Any]:
        """``{"results": [...]}``: the ``top_k`` best matches, each with its ``score``."""
        _no_entities(kwargs, "search")
        return self._core.search({"query": query, "top_k": top_k, "filters": filters,
                                  "threshold": threshold})

    def update(self, memory_id: str, text: str | None = None,
               metadata: dict[str, Any] | None = None, expiration_date: Any = _UNSET,
               data: str | None = None) -> dict[str, str]:
        """A new version of the memory (``data`` is mem0's old name for ``text``)."""
        text = text if text is not None else data
        body: dict[str, Any] = {"text": text, "metadata": metadata}
        if expiration_date is not _UNSET:
            body["expiration_date"] = expiration_date
        if text is None and metadata is None and expiration_date is _UNSET:
            raise InvalidInput("at least one of text, metadata, or expiration_date is needed")
        self._core.update(memory_id, body)
        return {"message": "Memory updated successfully!"}

    def delete(self, memory_id: str) -> dict[str, str]:
        """Soft delete: the memory leaves reads; its history stays."""
        self._core.delete(memory_id)
        return {"message": "Memory deleted successfully!"}

    def delete_all(self, user_id: str | None = None, agent_id: str | None = None,
                   run_id: str | None = None) -> dict[str, str]:
        """Verified hard delete of a user's, agent's or run's data (one entity required)."""
        if user_id is None and agent_id is None and run_id is None:
            raise InvalidInput("name a user_id, agent_id or run_id (reset() deletes all)")
        self._core.delete_all(user_id, agent_id, run_id)
        return {"message": "Memories deleted successfully!"}

    def history(self, memory_id: str) -> list[dict[str, Any]]:
        """Every version of the memory, oldest first (``event``, ``old_memory``,
        ``new_memory``, ``is_deleted`` ...)."""
        return self._core.history(memory_id)

    def reset(self) -> None:
        """Forget every user, agent and run of the store (verified hard deletes)."""
        for entity in self._core.entities():
            if entity["type"] in ("user", "agent"):
                self._core.delete_entity(entity["type"], entity["name"])
        for entity in self._core.entities():  # runs whose owners were all forgotten are gone
            self._core.delete_entity(entity["type"], entity["name"])

    def close(self) -> None:
        self.engram.close()

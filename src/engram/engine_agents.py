"""The agent-facing operations of :class:`~engram.engine.Engram` (:mod:`engram.agents`):
the user's profile, answering as the user, procedures with learned utility, task trees.

A mixin of the facade, one concept apart from the store and retrieval plumbing of
:mod:`engram.engine`: each method scopes its call as the engine does and hands it to
the :mod:`engram.agents` module that implements it.
"""

from __future__ import annotations

import builtins
import functools
from typing import TYPE_CHECKING, Any

from .models import Hit, Scope
from .validation import check_text

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .agents.persona import Draft, FormFill, PersonaRules
    from .agents.persona_llm import PersonaLLM
    from .agents.procedures import Procedure, ProcedureMemory, RankedProcedure, UtilityPolicy
    from .agents.profile import Profile
    from .agents.tasks import TaskTrees
    from .config import Config
    from .embed.base import Embedder
    from .ingest.pipeline import Ingest
    from .llm.config import LLMSettings
    from .store.base import Store

__all__ = ["AgentOps"]


class AgentOps:
    """Profile, persona, procedures and task trees over the engine's parts."""

    if TYPE_CHECKING:  # what the engine gives its mixins
        store: Store
        ingest: Ingest
        config: Config
        llm_settings: LLMSettings | None

        def embedder(self) -> Embedder: ...

        @property
        def llm(self) -> Any: ...

        def _scope(self, scope: Scope | None, user_id: str | None, agent_id: str | None,
                   session_id: str | None) -> Scope: ...

        def search(self, query: str, *, scope: Scope | None = None, limit: int = 10,
                   kinds: Iterable[str] | None = None, track_access: bool = True
                   ) -> builtins.list[Hit]: ...

        def count_tokens(self, text: str) -> int: ...

    # -- the user's profile, answering as the user (engram.agents) --------------
    def profile(self, *, scope: Scope | None = None, user_id: str | None = None,
                agent_id: str | None = None) -> Profile:
        """Current preferences with confidence and the attributes rules derived, across
        the user's sessions (see :mod:`engram.agents.profile`)."""
        from .agents.profile import build_profile

        return build_profile(self.store, self._scope(scope, user_id, agent_id, None))

    def fill_form(self, fields: builtins.list[str], *, scope: Scope | None = None,
                  user_id: str | None = None, agent_id: str | None = None,
                  use_llm: bool | None = None) -> FormFill:
        """Fill ``fields`` as the user would, each value citing its memories, empty where
        memory is silent; with the LLM when configured (``use_llm``: force or refuse it).
        See :mod:`engram.agents.persona`."""
        return self._persona(scope, user_id, agent_id, use_llm).fill(fields)

    def draft_reply(self, message: str, *, scope: Scope | None = None,
                    user_id: str | None = None, agent_id: str | None = None,
                    use_llm: bool | None = None) -> Draft:
        """A reply to ``message`` in the user's voice from their memories, citing them;
        ``""`` when memory is silent. See :mod:`engram.agents.persona`."""
        check_text(message, self.config.max_text_bytes, "message")
        return self._persona(scope, user_id, agent_id, use_llm).draft(message)

    def _persona(self, scope: Scope | None, user_id: str | None, agent_id: str | None,
                 use_llm: bool | None) -> PersonaRules | PersonaLLM:
        from .agents.persona_llm import build_persona

        sc = self._scope(scope, user_id, agent_id, None)
        llm = use_llm if use_llm is not None else self.llm_settings is not None
        return build_persona(self.store, sc, lambda q, n: self.search(
            q, scope=sc, limit=n, track_access=False), self.llm.clients["answer"] if llm else None)

    # -- agents: procedures with learned utility, task trees (engram.agents) ------
    @functools.cached_property
    def _procedures(self) -> ProcedureMemory:
        from .agents.procedures import ProcedureMemory

        def search(query: str, sc: Scope, limit: int) -> builtins.list[Hit]:
            return self.search(query, scope=sc, kinds=["procedure"], limit=limit,
                               track_access=False)

        def refine() -> Any:  # the LLM generalises the rule template when configured
            from .agents.procedures import llm_refiner

            return None if self.llm_settings is None else llm_refiner(
                self.llm.clients["answer"])

        return ProcedureMemory(self.ingest, search, self.embedder, self.config.max_text_bytes,
                               refine)

    def remember_procedure(self, task: str, *, steps: builtins.list[str] | None = None,
                           insight: str | None = None, outcome: Any = "success",
                           metadata: dict[str, Any] | None = None, scope: Scope | None = None,
                           user_id: str | None = None, agent_id: str | None = None,
                           session_id: str | None = None) -> Procedure:
        """Store a reusable strategy for ``task`` (see
        :meth:`engram.agents.procedures.ProcedureMemory.remember`)."""
        sc = self._scope(scope, user_id, agent_id, session_id)
        return self._procedures.remember(sc, task, steps=steps, insight=insight,
                                         outcome=outcome, metadata=metadata)

    def procedures(self, task: str, *, limit: int = 5, policy: UtilityPolicy | None = None,
                   scope: Scope | None = None, user_id: str | None = None,
                   agent_id: str | None = None,
                   session_id: str | None = None) -> builtins.list[RankedProcedure]:
        """Procedures for ``task``, relevance blended with learned utility and
        exploration (see :mod:`engram.agents.procedures`)."""
        sc = self._scope(scope, user_id, agent_id, session_id)
        return self._procedures.rank(sc, task, limit, policy)

    def feedback(self, memory_id: str, reward: Any, *, learning_rate: float | None = None,
                 expected_version: int | None = None, scope: Scope | None = None,
                 user_id: str | None = None, agent_id: str | None = None,
                 session_id: str | None = None) -> Procedure:
        """Reward (0..1) a procedure's use: its utility is updated, as a new version."""
        sc = self._scope(scope, user_id, agent_id, session_id)
        return self._procedures.feedback(sc, memory_id, reward, learning_rate,
                                         expected_version=expected_version)

    @functools.cached_property
    def tasks(self) -> TaskTrees:
        """Task memory trees: ``tasks.create/get/update/nodes/context`` (see
        :mod:`engram.agents.tasks`)."""
        from .agents.tasks import TaskTrees

        return TaskTrees(self.ingest, self.count_tokens, self.config.max_text_bytes)

"""The LLM's pass over new notes (A-MEM's note construction and link generation).

With an LLM configured, every write whose new memories made links enqueues one durable
``link_refine`` job (:data:`LINK_REFINE_JOB`, run by the engine's job runner like the
LLM extraction). For each new memory the model sees its text and the texts of the
memories the rules linked it to, and answers which links to keep, a few tags and a
one-line context. Then, as one new version of the note (reason ``links refined by the
LLM``):

* links the model did not keep are dropped, and so is their back-link on the older note;
* its tags and context replace the rules' only when every content word in them is a
  word of the memory itself (its text or keywords): a note never takes in words of
  another memory, so forgetting that memory leaves nothing of it here. Otherwise the
  rules' tags and context stay.

The model can only remove links (it never adds one the rules did not find: linking
stays local and cheap). A model failure is retried like any LLM job; a memory deleted
or forgotten meanwhile is skipped (and a forget removes the job itself).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..ids import new_id
from ..models import Memory, MemoryStatus, Scope
from ..recall.entities import keywords as content_words
from ..retrieval.links import note_of
from ..store.base import Job, Store, WriteBatch
from ..timeutil import now
from .links import Linker, _link_scope, _replace_note

if TYPE_CHECKING:
    from ..ingest.commit import Committer
    from ..ingest.jobs import JobRunner
    from ..llm.client import LLMClient

__all__ = ["LINK_REFINE_JOB", "SCHEMA", "install_linker", "refine_job", "refine_links"]

LINK_REFINE_JOB = "link_refine"

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "keep": {"type": "array", "items": {"type": "string"}},
        "tags": {"type": "array", "items": {"type": "string"}},
        "context": {"type": "string"},
    },
    "required": ["keep", "tags", "context"],
    "additionalProperties": False,
}

_SYSTEM = (
    "You organise an agent's memory notes. Given a NOTE and the CANDIDATES it was linked "
    "to, answer JSON: keep = ids of the candidates that are really related to the note "
    "(same person, place, thing, event or topic); tags = up to 5 short tags for the note; "
    "context = one short line saying what the note is about. Use only words of the NOTE "
    "in tags and context."
)


def refine_job(scope: Scope, memory_ids: list[str]) -> Job:
    """The job refining these new memories' notes (written after their batch)."""
    return Job(id=new_id("job"), kind=LINK_REFINE_JOB, scope=scope,
               payload={"memory_ids": list(memory_ids)}, created_at=now())


def _own(mem: Memory, note: dict[str, Any]) -> set[str]:
    return set(content_words(mem.text)) | {str(k).lower() for k in note.get("keywords") or ()}


def _only_own(text: str, own: set[str]) -> bool:
    return all(w in own for w in content_words(text))


def refine_links(store: Store, client: LLMClient, write: Callable[[WriteBatch], Any],
                 job: Job) -> int:
    """Run one ``link_refine`` job; returns the notes changed (the new ones and the
    older ones that lost a back-link)."""
    at = now()
    batch = WriteBatch()
    olds: dict[str, Memory] = {}
    drops: dict[str, set[str]] = {}
    ids = [str(i) for i in job.payload.get("memory_ids") or ()]
    for mid in ids:
        found = store.get_memories(job.scope, [mid])
        if not found or found[0].status != MemoryStatus.ACTIVE:
            continue
        mem = found[0]
        note = note_of(mem)
        outs = [x for x in note.get("links") or () if isinstance(x, dict) and x.get("dir") == "out"]
        ends = {m.id: m for m in store.get_memories(_link_scope(mem), [str(x["id"]) for x in outs])
                if m.status == MemoryStatus.ACTIVE}
        ends = {i: m for i, m in ends.items() if i not in ids}  # new ones change once
        if not ends:
            continue
        prompt = {"note": mem.text,
                  "candidates": [{"id": i, "text": m.text} for i, m in ends.items()]}
        data = client.chat([{"role": "system", "content": _SYSTEM},
                            {"role": "user", "content": json.dumps(prompt)}],
                           json_schema=SCHEMA, schema_name="links", stage="consolidate").data
        keep = {str(i) for i in data.get("keep") or ()} & set(ends)
        own = _own(mem, note)
        tags = [str(t).lower() for t in data.get("tags") or () if _only_own(str(t), own)][:5]
        context = str(data.get("context") or "")
        new_note = {
            **note,
            "links": [x for x in note.get("links") or ()
                      if not (isinstance(x, dict) and x.get("dir") == "out"
                              and x.get("id") not in keep)],
            "tags": tags or note.get("tags") or [],
            "context": context if context and _only_own(context, own) else note.get("context"),
            "refined": "llm",
        }
        _replace_note(batch, mem, new_note, at, "links refined by the LLM")
        for gone in set(ends) - keep:  # the older note loses its back-link
            olds[gone] = ends[gone]
            drops.setdefault(gone, set()).add(mem.id)
    for oid, srcs in drops.items():
        old_note = note_of(olds[oid])
        kept = [x for x in old_note.get("links") or ()
                if not (isinstance(x, dict) and x.get("id") in srcs)]
        _replace_note(batch, olds[oid], {**old_note, "links": kept}, at,
                      "links dropped by the LLM: " + ", ".join(sorted(srcs)))
    if batch.changed_memories:
        write(batch)
    return len(batch.changed_memories)



def install_linker(store: Store, committer: Committer, jobs: JobRunner,
                   llm: Callable[[], LLMClient] | None) -> Linker:
    """A :class:`~engram.agents.links.Linker` as ``committer``'s hook; with ``llm`` (the
    client, built on first use) the LLM's pass over new links runs as a job of ``jobs``."""
    linker = Linker(store)
    committer.on_new_memories = linker
    if llm is not None:
        client = llm
        write = functools.partial(committer.write, link=False)

        def handle(job: Job, _outcome: Any) -> None:
            refine_links(store, client(), write, job)

        linker.refine = refine_job
        jobs.register(LINK_REFINE_JOB, handle)
    return linker

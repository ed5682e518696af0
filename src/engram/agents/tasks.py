"""Task memory trees (issue #20, item 2).

An agent working on a multi-step task records a tree of tasks and subtasks.
Each node is a memory of kind ``plan`` (its text is the title), so it is
searchable, versioned and forgotten with its scope like any memory; no new table.
``metadata["task_tree"]`` is the tree's id (one listing with a metadata filter
reads a whole tree) and ``metadata["task"]`` holds the node::

    {"parent": <node id or None>, "status": "open|done|failed|blocked",
     "notes": [...], "result": <text or None>, "blocker": <text or None>}

Every change (status, note, result, blocker) is a new version, so
``history(node_id)`` shows how the task went.

:meth:`TaskTrees.context` gives the current node's prompt-ready context within a
token budget, in this order of priority: the node itself (title, status, notes),
its path from the root, open blockers (blocked nodes on the path, among its
siblings and in its subtree, with what blocks them), then finished siblings'
results (done or failed, most recently updated first). What does not fit is left
out whole, lowest priority first (the middle of a long path before the root and
the parent).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from ..errors import InvalidInput, NotFound
from ..ids import new_id
from ..ingest.derive import Candidate
from ..ingest.pipeline import Ingest
from ..models import Memory, MemoryKind, MemoryStatus, Operation, Scope, SearchFilters
from ..timeutil import format_dt
from ..validation import check_text, make_scope

__all__ = ["STATUSES", "TaskContext", "TaskNode", "TaskTrees"]

TREE_KEY = "task_tree"
TASK_KEY = "task"
STATUSES = ("open", "done", "failed", "blocked")
Status = Literal["open", "done", "failed", "blocked"]
MAX_NODES = 5000
MAX_NOTES = 200


@dataclass(frozen=True)
class TaskNode:
    """One task or subtask. ``tree`` is the tree's id; ``parent_id`` ``None`` for a root."""

    id: str
    tree: str
    parent_id: str | None
    title: str
    status: str
    notes: tuple[str, ...]
    result: str | None
    blocker: str | None
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def from_memory(cls, m: Memory) -> TaskNode:
        t = m.metadata.get(TASK_KEY)
        if m.kind != MemoryKind.PLAN or not isinstance(t, dict) or TREE_KEY not in m.metadata:
            raise NotFound(f"no task {m.id!r} in this scope")
        notes = t.get("notes") if isinstance(t.get("notes"), list) else []
        return cls(id=m.id, tree=str(m.metadata[TREE_KEY]), parent_id=t.get("parent"),
                   title=m.text, status=str(t.get("status") or "open"),
                   notes=tuple(str(n) for n in notes or ()), result=t.get("result"),
                   blocker=t.get("blocker"), created_at=m.created_at, updated_at=m.updated_at,
                   version=m.version)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "tree": self.tree, "parent_id": self.parent_id,
                "title": self.title, "status": self.status, "notes": list(self.notes),
                "result": self.result, "blocker": self.blocker,
                "created_at": format_dt(self.created_at),
                "updated_at": format_dt(self.updated_at), "version": self.version}


@dataclass(frozen=True)
class TaskContext:
    """The context of node ``node_id``: ``text`` (``tokens`` of at most ``max_tokens``)
    and the ids of what it holds; ``omitted``: items left out for the budget."""

    node_id: str
    text: str
    tokens: int
    max_tokens: int
    path: list[str]
    blockers: list[str]
    siblings: list[str]
    omitted: int

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _status(value: Any) -> Status:
    if value not in STATUSES:
        raise InvalidInput(f"status must be one of {list(STATUSES)}")
    return value  # type: ignore[no-any-return]


def _line(node: TaskNode) -> str:
    return f"[{node.status}] {node.title}"


class TaskTrees:
    """Create, change and read task trees (``Engram.tasks``). Every method names its
    scope like the engine's (``scope=`` or ``user_id``/``agent_id``/``session_id``);
    a node of another scope or tenant is :class:`~engram.errors.NotFound`."""

    def __init__(self, ingest: Ingest, count_tokens: Callable[[str], int],
                 max_text_bytes: int) -> None:
        self._ingest = ingest
        self._count = count_tokens
        self._max_bytes = max_text_bytes

    def _text(self, value: Any, what: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f"{what} must be a non-empty string")
        return check_text(value.strip(), self._max_bytes, what)

    def create(self, title: str, *, parent_id: str | None = None,
               notes: list[str] | None = None, status: str = "open",
               scope: Scope | None = None, user_id: str | None = None,
               agent_id: str | None = None, session_id: str | None = None) -> TaskNode:
        """A new task: a root (a new tree) or, with ``parent_id``, a subtask of that
        node (:class:`~engram.errors.NotFound` when it is not a task in ``sc``)."""
        sc = make_scope(scope, user_id, agent_id, session_id)
        text = self._text(title, "title")
        st = _status(status)
        note_list = [self._text(n, "note") for n in (notes or [])]
        if len(note_list) > MAX_NOTES:
            raise InvalidInput(f"at most {MAX_NOTES} notes")
        tree = self.get(parent_id, scope=sc).tree if parent_id is not None else new_id("tree")
        meta = {TREE_KEY: tree, TASK_KEY: {"parent": parent_id, "status": st,
                                           "notes": note_list, "result": None,
                                           "blocker": None}}
        cand = Candidate(kind=MemoryKind.PLAN, text=text, source_episode_ids=[], subject="",
                         importance=0.5)
        return TaskNode.from_memory(self._ingest.remember(sc, cand, meta))

    def get(self, node_id: str, *, scope: Scope | None = None, user_id: str | None = None,
            agent_id: str | None = None, session_id: str | None = None) -> TaskNode:
        """The node ``node_id`` (:class:`~engram.errors.NotFound` when it is not a task
        of ``sc``, or was deleted)."""
        sc = make_scope(scope, user_id, agent_id, session_id)
        if not isinstance(node_id, str) or not node_id:
            raise InvalidInput("node_id must be a non-empty string")
        found = self._ingest.store.get_memories(sc, [node_id])
        if not found or found[0].status != MemoryStatus.ACTIVE:
            raise NotFound(f"no task {node_id!r} in this scope")
        return TaskNode.from_memory(found[0])

    def update(self, node_id: str, *, status: str | None = None,
               note: str | None = None, result: str | None = None, blocker: str | None = None,
               expected_version: int | None = None, scope: Scope | None = None,
               user_id: str | None = None, agent_id: str | None = None,
               session_id: str | None = None) -> TaskNode:
        """A new version of the node: ``status`` set, ``note`` appended, ``result`` or
        ``blocker`` set (``blocker`` only with status ``blocked``; leaving ``blocked``
        clears it). Nothing changes on bad input."""
        sc = make_scope(scope, user_id, agent_id, session_id)
        st = _status(status) if status is not None else None
        changes: dict[str, Any] = {}
        if note is not None:
            changes["note"] = self._text(note, "note")
        if result is not None:
            changes["result"] = self._text(result, "result")
        if blocker is not None:
            changes["blocker"] = self._text(blocker, "blocker")
        if st is None and not changes:
            raise InvalidInput("nothing to update: give status, note, result or blocker")
        self.get(node_id, scope=sc)

        def change(old: Memory, at: datetime) -> Memory:
            t = dict(old.metadata[TASK_KEY])
            new_status = st or t.get("status") or "open"
            if "blocker" in changes and new_status != "blocked":
                raise InvalidInput("a blocker needs status 'blocked'")
            notes = list(t.get("notes") or [])
            if "note" in changes:
                if len(notes) >= MAX_NOTES:
                    raise InvalidInput(f"at most {MAX_NOTES} notes")
                notes.append(changes["note"])
            t.update(status=new_status, notes=notes,
                     result=changes.get("result", t.get("result")),
                     blocker=changes.get("blocker", t.get("blocker"))
                     if new_status == "blocked" else None)
            return dataclasses.replace(old, metadata={**old.metadata, TASK_KEY: t},
                                       updated_at=at, version=old.version + 1)

        why = f"task {st}" if st else "task updated"
        return TaskNode.from_memory(self._ingest.change(sc, node_id, Operation.UPDATE, change,
                                                        why, expected_version))

    def nodes(self, node_id: str, *, scope: Scope | None = None, user_id: str | None = None,
              agent_id: str | None = None, session_id: str | None = None) -> list[TaskNode]:
        """Every node of the tree ``node_id`` belongs to, oldest first."""
        sc = make_scope(scope, user_id, agent_id, session_id)
        tree = self.get(node_id, scope=sc).tree
        flt = SearchFilters(kinds=frozenset({"plan"}), metadata=((TREE_KEY, tree),))
        out: list[TaskNode] = []
        cursor: str | None = None
        while len(out) < MAX_NODES:
            page = self._ingest.store.list_memories(sc, flt, 500, cursor)
            out.extend(TaskNode.from_memory(m) for m in page.items if isinstance(m, Memory))
            cursor = page.next_cursor
            if cursor is None:
                break
        return sorted(out, key=lambda n: (n.created_at, n.id))

    def context(self, node_id: str, max_tokens: int = 512, *,
                scope: Scope | None = None, user_id: str | None = None,
                agent_id: str | None = None, session_id: str | None = None) -> TaskContext:
        """The node's context within ``max_tokens`` (see the module docstring)."""
        sc = make_scope(scope, user_id, agent_id, session_id)
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or \
                not 32 <= max_tokens <= 200_000:
            raise InvalidInput("max_tokens must be an integer between 32 and 200000")
        nodes = {n.id: n for n in self.nodes(node_id, scope=sc)}
        node = nodes[node_id]
        children: dict[str | None, list[TaskNode]] = {}
        for n in nodes.values():
            children.setdefault(n.parent_id, []).append(n)
        path: list[TaskNode] = []
        cur = node.parent_id
        while cur is not None and cur in nodes and len(path) < len(nodes):
            path.append(nodes[cur])
            cur = nodes[cur].parent_id
        path.reverse()
        siblings = [n for n in children.get(node.parent_id, []) if n.id != node.id]
        subtree, stack = [], list(children.get(node.id, []))
        while stack:
            n = stack.pop()
            subtree.append(n)
            stack.extend(children.get(n.id, []))
        blockers = [n for n in (path + siblings + subtree) if n.status == "blocked"]
        finished = sorted((n for n in siblings if n.status in ("done", "failed")),
                          key=lambda n: n.updated_at, reverse=True)
        head = [f"Current task: {_line(node)}"] + [f"  note: {x}" for x in node.notes]
        if node.status == "blocked" and node.blocker:
            head.append(f"  blocked by: {node.blocker}")
        # the path: root and parent first, the middle of a long path last
        order = ([0, len(path) - 1] if len(path) > 1 else [0] if path else []) + \
            list(range(len(path) - 2, 0, -1))
        path_lines = {i: f"{'  ' * i}- {_line(path[i])}" for i in range(len(path))}
        sections: list[tuple[str, str, list[tuple[str, str]]]] = [
            ("path", "Path from the root:", [(path[i].id, path_lines[i]) for i in order]),
            ("blockers", "Open blockers:",
             [(n.id, f"- {n.title}" + (f": {n.blocker}" if n.blocker else ""))
              for n in blockers if n.id != node.id]),
            ("siblings", "Finished sibling tasks:",
             [(n.id, f"- {_line(n)}" + (f" -> {n.result}" if n.result else ""))
              for n in finished]),
        ]
        return self._fit(node, head, sections, max_tokens, path)

    def _fit(self, node: TaskNode, head: list[str],
             sections: list[tuple[str, str, list[tuple[str, str]]]], budget: int,
             path: list[TaskNode]) -> TaskContext:
        """Greedy fill: the head (down to its first line, shortened if it alone is
        over the budget), then each
        section's items in priority order while the whole text fits ``budget``."""
        while len(head) > 1 and self._count("\n".join(head)) > budget:
            head.pop()
        while len(head[0]) > 20 and self._count(head[0]) > budget:  # a very long title
            head[0] = head[0][: int(len(head[0]) * 0.8)] + "..."
        kept: dict[str, list[tuple[str, str]]] = {name: [] for name, _, _ in sections}
        omitted = 0

        def render() -> str:
            out = list(head)
            for name, title, _ in sections:
                if kept[name]:
                    lines = kept[name]
                    if name == "path":  # back in root-to-parent order
                        rank = {n.id: i for i, n in enumerate(path)}
                        lines = sorted(lines, key=lambda x: rank[x[0]])
                    out += [title] + [text for _, text in lines]
            return "\n".join(out)

        for name, _, items in sections:
            for item in items:
                kept[name].append(item)
                if self._count(render()) > budget:
                    kept[name].pop()
                    omitted += 1
        text = render()
        return TaskContext(node_id=node.id, text=text, tokens=self._count(text),
                           max_tokens=budget,
                           path=[n.id for n in path if n.id in {i for i, _ in kept["path"]}],
                           blockers=[i for i, _ in kept["blockers"]],
                           siblings=[i for i, _ in kept["siblings"]], omitted=omitted)

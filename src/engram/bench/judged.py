"""Relevance judged by a reader, beside a data set's own evidence labels (pooled judgments).

A benchmark's labels list *some* of the turns that answer a question: "What cities did
Kevin visit?" is labelled with two turns, and a third, "I've only been to Orlando once",
answers it too. A ranking that puts the third first is scored a miss. Information
retrieval's answer is pooled judging (TREC): a reader, who sees neither the labels nor
which system ranked what, judges the turns the systems returned, and a turn judged
relevant counts as evidence beside the labelled ones. Turns nobody judged count as not
relevant, so a method whose hits were never judged can only be under-scored.

A judgments file holds one JSON object a line::

    {"set": "realtalk", "question": "Chat_3_Kevin_Paola/q50",
     "judged": ["D3:23", "D16:9", ...], "relevant": ["D3:23"]}

``judged`` lists every turn the reader saw for the question and ``relevant`` those
judged to state or directly show part of the answer (a subset of ``judged``). A path
names one such file or a folder of ``*.jsonl`` files. The labels are never changed:
:func:`judged_any` scores the labels and the judged turns together, and
:func:`unjudged` counts the turns of a ranking that neither label nor reader covers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .dataset import DatasetError
from .metrics import covered, distinct_ranking, recall_any

__all__ = ["Judgment", "judged_any", "load_judgments", "unjudged"]


@dataclass(frozen=True)
class Judgment:
    """What a reader judged of one question's turns: ``relevant`` is within ``judged``."""

    judged: frozenset[str]
    relevant: frozenset[str]


#: (set name, question id) -> what was judged
Judgments = Mapping[tuple[str, str], Judgment]


def _ids(row: dict[str, object], key: str, where: str) -> frozenset[str]:
    value = row.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise DatasetError(f"{where}: {key!r} must be a list of turn ids")
    return frozenset(value)


def _rows(path: Path) -> Iterable[tuple[str, int, str]]:
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    if not files:
        raise DatasetError(f"{path}: no *.jsonl judgments file")
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DatasetError(f"{f}: cannot read judgments ({exc})") from exc
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                yield str(f), n, line


def load_judgments(path: str | Path) -> dict[tuple[str, str], Judgment]:
    """Every judgment under ``path`` (a file, or a folder of ``*.jsonl``), keyed by
    ``(set, question)``. Raises :class:`~.dataset.DatasetError` naming the file and line
    of a row that is not a JSON object with ``set``, ``question``, ``judged`` and
    ``relevant``, whose ``relevant`` turns are not all ``judged``, or that judges a
    question a second time; nothing is returned then."""
    out: dict[tuple[str, str], Judgment] = {}
    for name, n, line in _rows(Path(path)):
        where = f"{name}:{n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{where}: not JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise DatasetError(f"{where}: a judgment must be a JSON object")
        key = row.get("set"), row.get("question")
        if not all(isinstance(k, str) and k for k in key):
            raise DatasetError(f"{where}: 'set' and 'question' must be non-empty strings")
        judged, relevant = _ids(row, "judged", where), _ids(row, "relevant", where)
        if not relevant <= judged:
            raise DatasetError(f"{where}: a relevant turn that was not judged: "
                               f"{sorted(relevant - judged)[0]}")
        if key in out:
            raise DatasetError(f"{where}: question {key[1]!r} of {key[0]!r} judged twice")
        out[key] = Judgment(judged, relevant)  # type: ignore[index]
    return out


def judged_any(retrieved: Sequence[Sequence[str]], gold: Iterable[str],
               judgment: Judgment | None, k: int = 10) -> float:
    """``recall_any@k`` of the distinct ranking with the judged-relevant turns counted
    beside the labelled ones; with no judgment, ``recall_any@k`` itself."""
    want = set(gold) | (judgment.relevant if judgment is not None else frozenset())
    return recall_any(distinct_ranking(retrieved), want, k)


def unjudged(retrieved: Sequence[Sequence[str]], gold: Iterable[str],
             judgment: Judgment | None, k: int = 10) -> int:
    """How many of the units of the first ``k`` distinct hits of ``retrieved`` are neither
    labelled nor judged: the ranking's share the judgments cannot speak for."""
    seen = set(gold) | (judgment.judged if judgment is not None else frozenset())
    return len(covered(distinct_ranking(retrieved), k) - seen)

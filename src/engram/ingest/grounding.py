"""The grounding gate: a proposed memory must be supported by the episodes it cites.

A candidate from the LLM is rejected (and logged) when it

* cites no episode (``no_citation``),
* cites an id that is not one of the episodes of this batch in this scope
  (``unknown_citation``: a hallucinated or out-of-scope id), or
* has no support in its cited episodes (``unsupported``): too few of its
  content words occur in them *and* its embedding is not close to theirs.

Support is measured two ways, with named thresholds:

* lexical: the share of the candidate's content words (stopwords, numbers,
  month names and the speakers' names left out) that occur, by a crude stem
  (common suffixes cut, first 5 letters), in the cited episodes or in the
  earlier messages shown to the model as context;
* dense: the best cosine between the candidate's vector and the vectors of
  the cited episodes (same embedder, normalised vectors).

A candidate passes when either signal is strong, or both are moderate.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..models import Episode
from ..text import query_terms
from .derive import Candidate

__all__ = [
    "COSINE_MODERATE",
    "COSINE_STRONG",
    "OVERLAP_MODERATE",
    "OVERLAP_STRONG",
    "GroundingReport",
    "Rejection",
    "check",
    "content_words",
    "lexical_support",
]

log = logging.getLogger("engram.llm")

#: share of content words found in the cited episodes that alone proves support
OVERLAP_STRONG = 0.6
#: share that proves support together with :data:`COSINE_MODERATE`
OVERLAP_MODERATE = 0.25
#: cosine with a cited episode that alone proves support
COSINE_STRONG = 0.6
#: cosine that proves support together with :data:`OVERLAP_MODERATE`
COSINE_MODERATE = 0.45

_STEM = 5
_MONTHS = frozenset(
    "january february march april may june july august september october november december"
    " jan feb mar apr jun jul aug sep sept oct nov dec".split()
)
_SUFFIXES = ("ing", "ed", "es", "s", "e")
_NUMBER = re.compile(r"^\d+(?:st|nd|rd|th)?$")


@dataclass(frozen=True)
class Rejection:
    """A proposed memory the gate refused, and why (``reason`` is a short code)."""

    text: str
    reason: str  # no_citation | unknown_citation | unsupported
    cited: tuple[str, ...] = ()
    overlap: float = 0.0
    cosine: float = 0.0


@dataclass
class GroundingReport:
    """What the gate let through and what it refused."""

    accepted: list[Candidate] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)


def content_words(text: str, ignore: frozenset[str] = frozenset()) -> list[str]:
    """Content words of ``text``: no stopwords, numbers, month names or ``ignore``d words."""
    words = query_terms(text, limit=256)
    return [
        w for w in words if w not in ignore and w not in _MONTHS and not _NUMBER.match(w)
    ]


def lexical_support(candidate: str, sources: Sequence[str], ignore: frozenset[str]) -> float:
    """Share of the candidate's content words found (by stem) in ``sources``; 1.0
    when the candidate has no content word left (nothing to contradict)."""
    words = content_words(candidate, ignore)
    if not words:
        return 1.0
    stems = {_stem(w) for s in sources for w in query_terms(s, keep_stopwords=True, limit=4096)}
    return sum(1 for w in words if _stem(w) in stems) / len(words)


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:_STEM]


def _names(episodes: Sequence[Episode]) -> frozenset[str]:
    out: set[str] = set()
    for ep in episodes:
        if ep.speaker:
            out.update(query_terms(ep.speaker, keep_stopwords=True))
    return frozenset(out)


def check(
    candidates: Sequence[Candidate],
    episodes: Mapping[str, Episode],
    candidate_vectors: Sequence[np.ndarray],
    episode_vectors: Mapping[str, np.ndarray],
    context: Sequence[str] = (),
) -> GroundingReport:
    """Split ``candidates`` into accepted and rejected (see the module docstring).

    ``episodes`` are the batch's episodes by id (all in one scope);
    ``episode_vectors`` their vectors by id (missing ones count as cosine 0);
    ``context`` the texts of the earlier messages the model saw (lexical support only).
    """
    report = GroundingReport()
    for cand, vec in zip(candidates, candidate_vectors, strict=True):
        cited = tuple(cand.source_episode_ids)
        if not cited:
            _reject(report, Rejection(cand.text, "no_citation"))
            continue
        unknown = [c for c in cited if c not in episodes]
        if unknown:
            _reject(report, Rejection(cand.text, "unknown_citation", cited))
            continue
        sources = [episodes[c] for c in cited]
        overlap = lexical_support(
            cand.text, [e.text for e in sources] + list(context), _names(sources)
        )
        cosines = [
            float(np.dot(vec, episode_vectors[c])) for c in cited if c in episode_vectors
        ]
        cosine = max(cosines, default=0.0)
        if (
            overlap >= OVERLAP_STRONG
            or cosine >= COSINE_STRONG
            or (overlap >= OVERLAP_MODERATE and cosine >= COSINE_MODERATE)
        ):
            report.accepted.append(cand)
        else:
            _reject(report, Rejection(cand.text, "unsupported", cited, overlap, cosine))
    return report


def _reject(report: GroundingReport, rejection: Rejection) -> None:
    # ids and scores only: log lines never carry what the user said
    log.info(
        "grounding gate rejected a proposed memory (%s, overlap=%.2f, cosine=%.2f)",
        rejection.reason, rejection.overlap, rejection.cosine,
    )
    report.rejected.append(rejection)

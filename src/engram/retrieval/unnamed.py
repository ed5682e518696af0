"""A question read without its names: the dense query weighs what is asked, not who.

The embedder reads a question as a whole, and a name is a strong part of it: in
"What sports does Paola watch?" the vector sits near every turn by or about Paola
(each is embedded as ``[date] Paola: text``) rather than near the turn about the
match she watched. The same question with its names taken out ("What sports
does watch?") is near what is asked. The dense signal searches with both
(:func:`embedded`, then :func:`mixed`)::

    q' = q / |q| + weight * u / |u|    (unit length, before centring)

``q`` the question's vector, ``u`` the vector of :func:`unnamed`. The names still
count, half as much at weight 1; the lexical signal and the reranker's ``names``
and ``speaker`` features still read them whole.

A name is a run of capitalised words the entity reader takes for a name
(:func:`engram.recall.entities.extract_entities`, kind ``"name"``: people, places,
products), with a possessive ending; a quoted title stays ("What did Mel think of
'Becoming Nicole'?"), it is what is asked about. A question without names, or with
nothing left but question words, embeds nothing more.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np

from ..embed.base import Embedder
from ..index.lexical import tokens
from ..recall.entities import extract_entities

__all__ = ["Embedded", "embedded", "mixed", "query_vector", "unnamed"]

#: a possessive ending left after a name ("Paola's", "James'")
_POSSESSIVE = re.compile(r"^(?:'s|'|s')(?=\W|$)")
#: what is left of a name between words
_SPACES = re.compile(r"\s+")
#: what joins two names ("Jon and Gina", "Jon, Gina and Tim"): taken out with them
_JOIN = re.compile(r"\s*(?:,\s*)?(?:(?:and|or|&)\s+)?", re.I)
#: an opening quote: a name right after one is a title's word ("'Becoming Nicole'")
_QUOTES = "'\"\u201c\u2018"


def unnamed(query: str) -> str | None:
    """``query`` with the names in it taken out, or ``None``: no name in it, or
    nothing left that the lexical index would read (a question about a name alone,
    "Who is Caroline?")."""
    text = query.replace("\u2019", "'")
    spans = sorted(m.span for m in extract_entities(text, names_only=True)
                   if m.kind == "name" and not (m.span[0] and text[m.span[0] - 1] in _QUOTES))
    if not spans:
        return None
    cut: list[list[int]] = []
    for start, end in spans:
        rest = _POSSESSIVE.match(text[end:])
        end += rest.end() if rest else 0
        if cut and _JOIN.fullmatch(text[cut[-1][1]:start]):
            cut[-1][1] = end  # "Jon and Gina": one cut
        else:
            cut.append([start, end])
    parts: list[str] = []
    at = 0
    for start, end in cut:
        parts.append(text[at:start])
        at = end
    parts.append(text[at:])
    out = _SPACES.sub(" ", " ".join(p.strip() for p in parts if p.strip())).strip()
    out = re.sub(r"\s+([?.!,])", r"\1", out)
    if not tokens(out) or out == query.strip():
        return None
    return out


class Embedded(NamedTuple):
    """A question's vector and the vector of its :func:`unnamed` reading (``None``: at
    weight 0, or a question :func:`unnamed` leaves alone), made by :func:`embedded` for
    one weight. A caller that needs the question's vector before it searches (a context
    block's standing instructions, the semantic cache) hands both to the search, which
    then embeds nothing more."""

    vector: np.ndarray
    unnamed: np.ndarray | None


def embedded(query: str, embedder: Embedder, weight: float,
             given: np.ndarray | Embedded | None = None) -> Embedded:
    """The question's vector (``given`` when there is one) and the vector of its
    :func:`unnamed` reading (``None`` at weight 0 or when :func:`unnamed` leaves the
    question alone). Both are embedded in one call when neither is given (the
    embedder's two passes at once). An :class:`Embedded` given is returned as it is:
    it was made by this function for the same question and weight."""
    if isinstance(given, Embedded):
        return given
    text = unnamed(query) if weight > 0 else None
    if text is None:
        return Embedded(given if given is not None else embedder.embed_one(query, "query"),
                        None)
    if given is not None:
        return Embedded(given, embedder.embed_one(text, "query"))
    both = embedder.embed([query, text], "query")
    return Embedded(both[0], both[1])


def mixed(vec: np.ndarray, u: np.ndarray | None, weight: float) -> np.ndarray:
    """``unit(vec/|vec| + weight * u/|u|)``, float32; ``vec`` unchanged without ``u``,
    at weight 0, or when a vector is zero or of another shape. The restated question
    (:func:`engram.retrieval.reformulate.query_vectors`) is mixed in the same way."""
    if u is None or weight <= 0:
        return vec
    uu = np.asarray(u, dtype=np.float64).reshape(-1)
    q = np.asarray(vec, dtype=np.float64).reshape(-1)
    nq, nu = np.linalg.norm(q), np.linalg.norm(uu)
    if nq == 0 or nu == 0 or q.shape != uu.shape:
        return vec
    m = q / nq + weight * (uu / nu)
    norm = np.linalg.norm(m)
    return vec if norm == 0 else (m / norm).astype(np.float32)


def query_vector(query: str, vec: np.ndarray, embedder: Embedder, weight: float) -> np.ndarray:
    """``vec`` (the question's vector) with the question read without its names
    mixed in at ``weight`` (:func:`mixed`); nothing is embedded at weight 0 or for a
    query :func:`unnamed` leaves alone."""
    return mixed(vec, embedded(query, embedder, weight, vec)[1], weight)

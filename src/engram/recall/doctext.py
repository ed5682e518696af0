"""What to add to a message's text before lexical indexing.

Measured on LoCoMo dev (BM25 over turns, R_any@10): text alone 0.592; with
the session date 0.616; with the speaker 0.650; with the image caption 0.660.
Annotations of relative dates change little there but let "7 May 2023" find
"yesterday" said on 8 May 2023.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from .timeexpr import annotate
from .timeformat import day_labels

__all__ = ["index_suffix"]


def index_suffix(
    text: str,
    occurred_at: datetime | None,
    *,
    speaker: str | None = None,
    extra: Iterable[str] = (),
) -> str:
    """Space-joined extra terms for the lexical index of one message.

    In order: the speaker, each ``extra`` string (an image caption, a title),
    the day phrases of ``occurred_at`` in its own timezone (``2023-05-08 8 May
    2023 May 2023``) and :func:`~engram.recall.timeexpr.annotate` of ``text``
    against ``occurred_at``. Empty parts are skipped; ``""`` when nothing is
    left. ``occurred_at`` must be aware when given; any date of years 1..9999
    works (a mention that would resolve past the calendar's ends is left out).
    """
    parts = [p.strip() for p in (speaker or "", *extra) if p and p.strip()]
    if occurred_at is not None:
        parts.extend(day_labels(occurred_at.date()))
        note = annotate(text, occurred_at)
        if note:
            parts.append(note)
    return " ".join(parts)

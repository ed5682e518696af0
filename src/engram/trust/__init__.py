"""Trust: memory-poisoning defence (:mod:`.poisoning`, :mod:`.provenance`) and optional
encryption at rest (:mod:`.encryption`, needs ``pip install 'engramdb[crypto]'``)."""

from __future__ import annotations

from .cascade import scan
from .poisoning import Verdict

__all__ = ["Verdict", "scan"]

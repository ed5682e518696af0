"""Trust: memory-poisoning defence (:mod:`.poisoning`, :mod:`.provenance`) and optional
encryption at rest (:mod:`.encryption`, needs ``pip install 'engramdb[crypto]'``)."""

from __future__ import annotations

from .poisoning import Verdict, scan

__all__ = ["Verdict", "scan"]

"""Local text analysis for retrieval: time expressions and entity mentions, no LLM.

Pure functions with no store dependency; indexing and search call them.
"""

from __future__ import annotations

from .timeexpr import Granularity, TimeMention, annotate, resolve_time_expressions

__all__ = ["Granularity", "TimeMention", "annotate", "resolve_time_expressions"]

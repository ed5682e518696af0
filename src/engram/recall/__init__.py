"""Local text analysis for retrieval: time expressions and entity mentions, no LLM.

Pure functions with no store dependency; indexing and search call them.

* :func:`resolve_time_expressions` / :func:`annotate`: dates in a message,
  resolved against the time it was said, and phrases to index with it.
* :func:`parse_query_time`: the date range and "when?" intent of a question.
* :func:`extract_entities` / :func:`query_entities` / :func:`query_names`: names,
  titles, keywords.
"""

from __future__ import annotations

from .doctext import index_suffix
from .entities import (
    EntityMention,
    QueryEntities,
    collect_names,
    entity_keys,
    extract_entities,
    keywords,
    query_entities,
    query_names,
)
from .querytime import QueryTime, parse_query_time
from .timeexpr import Granularity, TimeMention, annotate, resolve_time_expressions
from .timeformat import date_labels, day_label, month_label

__all__ = [
    "EntityMention",
    "Granularity",
    "QueryEntities",
    "QueryTime",
    "TimeMention",
    "annotate",
    "collect_names",
    "date_labels",
    "day_label",
    "entity_keys",
    "extract_entities",
    "index_suffix",
    "keywords",
    "month_label",
    "parse_query_time",
    "query_entities",
    "query_names",
    "resolve_time_expressions",
]

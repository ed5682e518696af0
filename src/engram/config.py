"""Configuration, resolved in one place with one precedence:

    explicit argument  >  config file (TOML)  >  environment (ENGRAM_*)  >  default

Nothing here runs at import time: :func:`resolve_config` reads the file and the
environment only when called. The config file is ``--config PATH``, else
``$ENGRAM_CONFIG``, else ``<user config dir>/engram/engram.toml`` if it exists.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import ConfigError

__all__ = ["Config", "default_db_path", "resolve_config"]


def default_db_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("engram", appauthor=False)) / "engram.db"


@dataclass(frozen=True)
class Config:
    """Every setting Engram reads. Field names double as TOML keys; the
    environment variable of a field is ``ENGRAM_<FIELD>`` in upper case."""

    #: store URL: ``sqlite:///path.db`` (default under the user data dir) or ``postgresql://...``
    store: str = ""
    #: embedder spec ``provider:model`` (see :mod:`engram.embed.registry`)
    embedder: str = "onnx:all-MiniLM-L6-v2-int8"
    #: base URL / key for an OpenAI-compatible embeddings endpoint
    embedder_base_url: str | None = None
    embedder_api_key: str | None = None
    #: onnxruntime intra-op threads for the local embedder
    embed_threads: int = 1
    #: forward passes of one embedding batch run on this many threads at once (the
    #: local embedder: a large batch then uses that many cores; vectors agree to
    #: cosine >= .9999). 2: a batch (the embed queue's, a many-message ``add``)
    #: uses both cores of a small machine; a one-message ``add`` is one pass.
    embed_workers: int = 2
    #: make episode vectors after ``add`` returns, from a durable job queue
    #: (:mod:`engram.ingest.embed_queue`); off: ``add`` embeds before it returns.
    #: Unset (``None``): on once the engine runs its jobs in the background
    #: (:meth:`engram.Engram.start_jobs`: ``engram serve``, ``engram mcp``), so a
    #: thread keeps the delay short; off for plain library use
    embed_queue: bool | None = None
    #: seconds a done ``embed`` job is kept after it finished, then deleted (its
    #: record only says the vectors were made); ``0``: kept for ever
    embed_job_retention: float = 3600.0
    #: seconds a done derive / LLM job is kept after it finished, then deleted (its
    #: record, ``GET /v1/jobs/{id}``, lists the operations it made); ``0``: kept for
    #: ever. Failed jobs are never deleted (see ``engram.ingest.jobs``)
    job_retention: float = 7 * 86_400.0
    #: largest accepted text per message or memory, in bytes (UTF-8)
    max_text_bytes: int = 32_768
    #: default retrieval preset (see :mod:`engram.retrieval.config`)
    preset: str = "recall"
    #: SQLite durability: FULL (fsync each commit) or NORMAL (fsync at checkpoints)
    sqlite_synchronous: str = "FULL"
    #: derive memories from episodes with the built-in rules
    derive_rules: bool = True
    #: link each new memory to related ones and evolve their notes (engram.agents.links)
    link_notes: bool = True
    #: answer repeated and near-identical searches from a cache (engram.agents.cache)
    semantic_cache: bool = False
    #: OpenAI-compatible chat endpoint for the LLM pipeline (optional)
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    #: per-stage model overrides, e.g. {"extract": "small-model"}
    llm_stage_models: dict[str, str] = field(default_factory=dict)
    llm_timeout: float = 60.0
    llm_cache_dir: str | None = None
    #: server settings
    host: str = "127.0.0.1"
    port: int = 8420
    max_body_bytes: int = 1_048_576
    max_batch_items: int = 500
    max_query_chars: int = 2_000
    rate_limit_per_minute: int = 600
    #: failed authentications (unknown or revoked key) per client address per minute;
    #: past it the address gets 429 until the bucket refills. 0 = unlimited
    auth_failures_per_minute: int = 10
    #: server log lines: "text" (one line per record, control characters escaped) or "json"
    log_format: str = "text"
    #: encryption at rest: URL-safe base64 master key (32 bytes); None: off.
    #: Resolved like every setting (env ``ENGRAM_ENCRYPTION_KEY``); needs the ``crypto`` extra
    encryption_key: str | None = None
    #: keep the lexical (BM25) index when encrypting: it stores the plain words
    encryption_lexical: bool = True
    #: per-tenant quotas on the server (0 = unlimited): items (episodes + memories), text bytes
    quota_max_items: int = 0
    quota_max_bytes: int = 0

    def store_url(self) -> str:
        if self.store:
            if "://" not in self.store:
                return f"sqlite:///{Path(self.store).expanduser()}"
            return self.store
        return f"sqlite:///{default_db_path()}"

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)


_LOG_FORMATS = ("text", "json")
#: settings whose default (``None``: decided at run time) does not give their type
_NONE_DEFAULT_TYPES: dict[str, Any] = {"embed_queue": bool}
_ENV_ALIASES = {"llm_api_key": ("ENGRAM_LLM_API_KEY", "OPENAI_API_KEY")}


def _target(defaults: Config, name: str) -> Any:
    return _NONE_DEFAULT_TYPES.get(name, getattr(defaults, name))


def _coerce(name: str, value: Any, target: Any) -> Any:
    if value is None:
        return None
    kind = target if isinstance(target, type) else type(target)
    try:
        if isinstance(target, bool) or kind is bool:
            if isinstance(value, bool):
                return value
            return str(value).strip().lower() in {"1", "true", "yes", "on"}
        if isinstance(target, int) and not isinstance(target, bool):
            return int(value)
        if isinstance(target, float):
            return float(value)
        if isinstance(target, dict):
            if isinstance(value, dict):
                return {str(k): str(v) for k, v in value.items()}
            pairs = [p.split("=", 1) for p in str(value).split(",") if "=" in p]
            return {k.strip(): v.strip() for k, v in pairs}
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name}: cannot use {value!r}") from exc
    return str(value)


def resolve_config(
    *,
    config_file: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Config:
    """Build a :class:`Config` from arguments > file > environment > defaults.

    ``overrides`` with value ``None`` are ignored (so CLI options left unset
    fall through). Unknown keys in overrides or the file raise ConfigError.
    """
    env = os.environ if env is None else env
    defaults = Config()
    names = {f.name for f in fields(Config)}
    values: dict[str, Any] = {}

    for f in fields(Config):
        keys = _ENV_ALIASES.get(f.name, (f"ENGRAM_{f.name.upper()}",))
        for key in keys:
            if key in env and env[key] != "":
                values[f.name] = _coerce(f.name, env[key], _target(defaults, f.name))
                break

    path = config_file or env.get("ENGRAM_CONFIG")
    if path is None:
        import platformdirs

        candidate = Path(platformdirs.user_config_dir("engram", appauthor=False)) / "engram.toml"
        path = candidate if candidate.exists() else None
    if path is not None:
        p = Path(path).expanduser()
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {p} does not exist") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {p} is not valid TOML: {exc}") from exc
        flat = dict(data.get("engram", data))
        unknown = sorted(set(flat) - names)
        if unknown:
            raise ConfigError(f"config file {p}: unknown settings {', '.join(unknown)}")
        for k, v in flat.items():
            values[k] = _coerce(k, v, _target(defaults, k))

    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ConfigError(f"unknown settings {', '.join(unknown)}")
    for k, v in overrides.items():
        if v is not None:
            values[k] = _coerce(k, v, _target(defaults, k))
    if "log_format" in values:
        values["log_format"] = str(values["log_format"]).strip().lower()
        if values["log_format"] not in _LOG_FORMATS:
            raise ConfigError(f"setting log_format: {values['log_format']!r} is not one of "
                              f"{', '.join(_LOG_FORMATS)}")
    return dataclasses.replace(defaults, **values)

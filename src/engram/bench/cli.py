"""``engram bench``: the benchmark commands (a click group the main CLI mounts).

    engram bench locomo [--data PATH] [--preset recall,hybrid] [--out DIR] [--llm ...]
    engram bench longmemeval --data longmemeval_s.json [--limit 50] ...

Each run prints the tables and headlines, and writes ``<out>/<benchmark>-<time>.json``
(the full report) and ``.png`` (recall@k curves). User mistakes exit with
status 2 and a one-line message; other Engram errors with status 1.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from ..config import Config
from ..errors import EngramError, InvalidInput
from .dataset import BenchDataset

__all__ = ["bench"]

F = TypeVar("F", bound=Callable[..., Any])


def _csv(value: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in value.split(",") if p.strip())


def _ints(value: str) -> tuple[int, ...]:
    try:
        out = tuple(int(p) for p in _csv(value))
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {value!r}") from None
    if not out or any(v < 1 for v in out):
        raise click.BadParameter(f"expected positive integers, got {value!r}")
    return out


def _common(f: F) -> F:
    options = [
        click.option(
            "--preset",
            "presets",
            default="recall,hybrid",
            show_default=True,
            help="Engram retrieval presets to evaluate, comma-separated (first = headline).",
        ),
        click.option(
            "--baselines",
            default="bm25,dense",
            show_default=True,
            help="Baseline presets run in the same pass, comma-separated.",
        ),
        click.option("--depth", default=50, show_default=True, help="Hits retrieved per question."),
        click.option(
            "--ks", default="1,5,10,20", show_default=True, help="Recall cut-offs, comma-separated."
        ),
        click.option(
            "--budgets",
            default="256,512,1024,2048",
            show_default=True,
            help="Token budgets for answer coverage, comma-separated.",
        ),
        click.option("--no-coverage", is_flag=True, help="Skip the context() coverage pass."),
        click.option("--no-full-context", is_flag=True, help="Skip the full-context baseline."),
        click.option(
            "--out",
            type=click.Path(file_okay=False, path_type=Path),
            default=Path("bench-results"),
            show_default=True,
            help="Directory for the JSON report and the PNG chart.",
        ),
        click.option("--no-chart", is_flag=True, help="Do not draw the PNG chart."),
        click.option(
            "--embedder",
            "embedder_spec",
            default=None,
            help="Embedder spec (default: the built-in local model).",
        ),
        click.option("--threads", default=1, show_default=True, help="Embedder threads."),
        click.option(
            "--workdir",
            type=click.Path(file_okay=False),
            default=None,
            help="Put the benchmark database here (default: a temporary directory).",
        ),
        click.option("--keep-db", is_flag=True, help="Keep the benchmark database afterwards."),
        click.option("--quiet", "-q", is_flag=True, help="No progress bars."),
        click.option("--llm", is_flag=True, help="QA mode: answer and judge with an LLM."),
        click.option(
            "--llm-base-url", default=None, help="OpenAI-compatible base URL (else llm_base_url)."
        ),
        click.option("--llm-model", default=None, help="Answer model (else llm_model)."),
        click.option("--judge-model", default=None, help="Judge model (default: answer model)."),
        click.option(
            "--llm-key-env",
            default=None,
            help="Environment variable holding the API key (default: Engram's llm_api_key "
            "setting, i.e. ENGRAM_LLM_API_KEY or OPENAI_API_KEY).",
        ),
        click.option(
            "--qa-methods",
            default="",
            help="Methods answered in QA mode, comma-separated: presets and/or 'full' "
            "(default: the headline preset).",
        ),
        click.option("--qa-budget", default=1024, show_default=True, help="Context tokens."),
        click.option("--concurrency", default=4, show_default=True, help="Parallel LLM calls."),
        click.option("--llm-cache", default=None, help="LLM response cache directory."),
    ]
    for opt in reversed(options):
        f = opt(f)
    return f


def _qa_config(opts: dict[str, Any]) -> Any:
    if not opts["llm"]:
        return None
    import os

    from ..config import resolve_config
    from .qa import QAConfig

    conf = resolve_config()
    base_url = opts["llm_base_url"] or conf.llm_base_url
    model = opts["llm_model"] or conf.llm_model
    if not base_url or not model:
        raise InvalidInput("--llm needs --llm-base-url and --llm-model (or llm_base_url/llm_model)")
    key = os.environ.get(opts["llm_key_env"]) if opts["llm_key_env"] else conf.llm_api_key
    return QAConfig(
        base_url=base_url,
        answer_model=model,
        judge_model=opts["judge_model"],
        api_key=key,
        budget=opts["qa_budget"],
        methods=_csv(opts["qa_methods"]),
        concurrency=opts["concurrency"],
        cache_dir=opts["llm_cache"],
    )


def _run(dataset_loader: Callable[[], BenchDataset], opts: dict[str, Any], **limits: Any) -> None:
    from .report import render_report, write_json
    from .runner import BenchConfig, run_benchmark

    try:
        cfg = BenchConfig(
            presets=_csv(opts["presets"]),
            baselines=_csv(opts["baselines"]),
            ks=_ints(opts["ks"]),
            depth=opts["depth"],
            budgets=_ints(opts["budgets"]),
            coverage=not opts["no_coverage"],
            full_context=not opts["no_full_context"],
            workdir=opts["workdir"],
            keep_db=opts["keep_db"],
            progress=not opts["quiet"],
            qa=_qa_config(opts),
            **limits,
        )
        if not cfg.presets and not cfg.baselines:
            raise InvalidInput("nothing to run: give --preset or --baselines")
        embedder = None
        if opts["embedder_spec"] or opts["threads"] != 1:
            from ..embed.registry import get_embedder

            spec = opts["embedder_spec"] or "default"
            extra = {"threads": opts["threads"]} if opts["threads"] != 1 else {}
            embedder = get_embedder(spec, **extra)
        report = run_benchmark(dataset_loader(), cfg, embedder=embedder)
        render_report(report)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out: Path = opts["out"]
        json_path = write_json(report, out / f"{report.benchmark}-{stamp}.json")
        click.echo(f"report: {json_path}")
        if not opts["no_chart"]:
            from .chart import write_chart

            click.echo(f"chart: {write_chart(report, out / f'{report.benchmark}-{stamp}.png')}")
    except InvalidInput as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except EngramError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


@click.group("bench")
def bench() -> None:
    """Benchmarks: retrieval recall, answer coverage, latency, optional LLM QA."""


@bench.command("locomo")
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    default=None,
    help="A file in the locomo10.json layout (or a directory holding one). "
    "Default: ../shared/data/locomo from the repository root.",
)
@click.option("--conversations", type=int, default=None, help="Only the first N conversations.")
@click.option("--questions", type=int, default=None, help="Only the first N questions of each.")
@_common
def locomo_cmd(
    data: Path | None, conversations: int | None, questions: int | None, **opts: Any
) -> None:
    """LoCoMo: each conversation in its own scope; categories 1-4 scored, 5 apart."""
    from .locomo import load_locomo
    from .paths import default_locomo_path

    def load() -> BenchDataset:
        path = data or default_locomo_path()
        if path is None:
            raise InvalidInput("no LoCoMo data found; pass --data PATH (a locomo10.json file)")
        return load_locomo(path)

    _run(load, opts, conversations=conversations, questions=questions)


@bench.command("longmemeval")
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    required=True,
    help="longmemeval_s.json, longmemeval_m.json or longmemeval_oracle.json.",
)
@click.option("--limit", type=int, default=None, help="Only the first N questions.")
@_common
def longmemeval_cmd(data: Path, limit: int | None, **opts: Any) -> None:
    """LongMemEval: each question's haystack in its own scope; abstention kept apart."""
    from .longmemeval import load_longmemeval

    _run(lambda: load_longmemeval(data, limit=limit), opts)


@bench.command("all")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder holding locomo/, realtalk/, beam/, letta/ (default: ../shared/data "
    "from the repository root).",
)
@click.option(
    "--sets",
    default="locomo,realtalk,beam,letta_read,letta_update",
    show_default=True,
    help="Data sets to run, comma-separated.",
)
@click.option("--limit", type=int, default=None,
              help="Only the first N conversations of each part (dev, held) of each set.")
@click.option("--questions", type=int, default=None,
              help="Only the first N questions of each conversation.")
@click.option("--beam-500k", is_flag=True, help="Read BEAM's 500K chats too (slow).")
@click.option("--preset", "presets", default="recall", show_default=True,
              help="Engram presets under test, comma-separated (first = headline).")
@click.option("--baselines", default="bm25,dense", show_default=True,
              help="Baseline presets run in the same pass.")
@click.option("--depth", default=50, show_default=True, help="Hits retrieved per question.")
@click.option("--no-coverage", is_flag=True, help="Skip the 1,024-token context() pass.")
@click.option(
    "--embed-cache",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="SQLite file of document embeddings reused across runs "
    "(default: <out>/embed-cache.sqlite; queries are always embedded).",
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("bench-results"), show_default=True, help="Where the JSON goes.")
@click.option("--threads", default=1, show_default=True, help="Embedder threads.")
@click.option("--workers", default=Config.embed_workers, show_default=True,
              help="Embedding passes run at once (the engine's embed_workers: a search's "
              "question and its unnamed reading are two passes).")
@click.option(
    "--judged",
    type=click.Path(path_type=Path),
    default=None,
    help="Relevance judgments (a .jsonl file or a folder of them, e.g. tools/judged): "
    "R_any@10 is also given with the turns a reader judged relevant beside the labels.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def all_cmd(
    data_dir: Path | None, sets: str, limit: int | None, questions: int | None,
    beam_500k: bool, presets: str, baselines: str, depth: int, no_coverage: bool,
    embed_cache: Path | None, out: Path, threads: int, workers: int, judged: Path | None,
    quiet: bool,
) -> None:
    """Every data set (LoCoMo, REALTALK, BEAM, letta read/update), dev and held-apart
    parts, with the baselines in the same run: one table and one JSON report."""
    import json

    from .judged import load_judgments
    from .paths import default_data_dir
    from .runner import BenchConfig
    from .suite import SETS, render_suite, run_suite

    try:
        root = data_dir or default_data_dir()
        if root is None or not root.is_dir():
            raise InvalidInput("no data directory; pass --data-dir (holding locomo/, beam/, ...)")
        names = _csv(sets)
        unknown = [n for n in names if n not in SETS]
        if unknown:
            raise InvalidInput(
                f"unknown data set(s) {', '.join(unknown)}; known: {', '.join(SETS)}"
            )
        cfg = BenchConfig(
            presets=_csv(presets), baselines=_csv(baselines), depth=depth, budgets=(1024,),
            coverage=not no_coverage, full_context=False, progress=not quiet,
        )
        judgments = None if judged is None else load_judgments(judged)
        from ..embed.registry import get_embedder
        from .diskcache import DiskCachedEmbedder

        inner = get_embedder("default", workers=workers,
                             **({"threads": threads} if threads != 1 else {}))
        embedder = DiskCachedEmbedder(inner, embed_cache or out / "embed-cache.sqlite")
        try:
            report = run_suite(
                root, cfg, sets=names, limit=limit, questions=questions,
                beam_sizes=("100K", "500K") if beam_500k else ("100K",),
                embedder=embedder, echo=None if quiet else click.echo, judgments=judgments,
            )
        finally:
            embedder.close()
        click.echo(render_suite(report))
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"all-{stamp}.json"
        path.write_text(json.dumps(report.to_dict(questions=True), default=str, indent=1))
        click.echo(f"report: {path}")
    except InvalidInput as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except EngramError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


#: other benchmark commands defined next to this module: (module, attribute)
_EXTRA_COMMANDS: tuple[tuple[str, str], ...] = (
    ("engram.bench.scale", "scale_command"),
    ("engram.bench.ingest", "ingest_command"),
    ("engram.bench.agent", "agent_command"),
    ("engram.bench.prefs", "prefs_command"),
    ("engram.bench.cache", "cache_command"),
    ("engram.bench.guard", "guard_command"),
)


def _mount_extra_commands() -> None:
    """Add the commands other bench modules define (e.g. ``scale``), when importable."""
    import importlib

    for module, attr in _EXTRA_COMMANDS:
        try:
            cmd = getattr(importlib.import_module(module), attr, None)
        except ImportError:
            continue
        if isinstance(cmd, click.Command):
            bench.add_command(cmd)


_mount_extra_commands()


def main() -> None:  # pragma: no cover - convenience entry point
    bench()

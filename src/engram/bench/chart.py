"""PNG chart of recall@k curves per method (matplotlib, Agg backend, ``bench`` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import MissingDependency
from .results import BenchReport

__all__ = ["pyplot", "save_figure", "write_chart"]


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (no display needed).

    Raises :class:`MissingDependency` when matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependency(
            "the benchmark chart needs matplotlib: pip install 'engramdb[bench]'"
        ) from exc
    return plt


def save_figure(fig: Any, path: str | Path) -> Path:
    """Lay out ``fig``, write it as a PNG at ``path`` (folders made) and close it."""
    fig.tight_layout()
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, dpi=110)
    pyplot().close(fig)
    return p


def write_chart(report: BenchReport, path: str | Path) -> Path:
    """Draw recall_any@k and recall_all@k (turn and session level) for every method.

    Raises :class:`MissingDependency` when matplotlib is not installed.
    """
    plt = pyplot()
    ks = [int(k) for k in report.config.get("ks", [1, 5, 10, 20])]
    panels = [
        ("turn", "recall_any", "Turn level, any gold turn"),
        ("turn", "recall_all", "Turn level, all gold turns"),
        ("session", "recall_any", "Session level, any gold session"),
        ("session", "recall_all", "Session level, all gold sessions"),
    ]
    fig, axes = plt.subplots(2, 2, figsize=(11, 8), sharex=True, sharey=True)
    for ax, (level, metric, title) in zip(axes.flat, panels, strict=True):
        for m in report.methods:
            agg = m.turn if level == "turn" else m.session
            if not agg.counts.get("all"):
                continue
            ys = [100 * agg.overall.get(f"{metric}@{k}", 0.0) for k in ks]
            style = "-" if m.kind == "engram" else "--"
            ax.plot(ks, ys, style, marker="o", label=f"{m.name} ({m.kind})")
        ax.set_title(title, fontsize=10)
        ax.set_xscale("log")
        ax.set_xticks(ks)
        ax.set_xticklabels([str(k) for k in ks])
        ax.set_ylim(0, 100)
        ax.grid(True, alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("k")
    for ax in axes[:, 0]:
        ax.set_ylabel("recall (%)")
    axes.flat[0].legend(fontsize=8, loc="lower right")
    fig.suptitle(
        f"{report.benchmark}: {report.counts.get('scored', 0)} scored questions "
        f"(data sha256 {report.dataset_sha256[:12]})",
        fontsize=11,
    )
    return save_figure(fig, path)

"""``engram bench agent``: does memory make an agent better at its work?

A simulated, deterministic multi-episode environment: an on-call agent gets a
stream of incident tasks ("the nightly build of Atlas fails with an import
error on ci-3"). Each task belongs to one of :data:`FAMILIES`; each family has a
*fix* (a strategy of tool steps that works 90% of the time), a *decoy* (a
cheaper strategy that works half the time) and the rest of :data:`STRATEGIES`
work 5% of the time. Half-way through, a platform upgrade changes the fix of
three families (``later_fix``): what worked stops working. The agent knows
every strategy but not which fits; it may try three per task, each costing its
number of steps. Whether strategy ``s`` works on task ``i`` is drawn once from
``(seed, i, s)``, so every policy meets the very same luck (common random numbers).

Policies, each on its own fresh SQLite store:

* ``none``: no memory; tries strategies in a random order.
* ``episodes``: plain episode memory: each task's transcript is stored verbatim
  (``add``, no derivation); before a task it searches past transcripts and first
  tries the strategies that worked in the closest ones (those that failed in the
  closest are tried last), then a random order.
* ``procedures``: procedural memory with feedback: ``procedures(task)`` ranks
  stored strategies (relevance, learned utility, exploration); each strategy tried
  from memory gets ``feedback`` (1 worked, 0 failed); any other strategy tried is
  stored with ``remember_procedure`` (abstracted from the task) and its outcome.
  Strategies whose utility is below :data:`MIN_UTILITY` are tried last.

Reported per policy: success rate and mean steps per task, overall and per
block of tasks (the learning curve), as JSON and a PNG chart.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import MissingDependency

__all__ = ["FAMILIES", "STRATEGIES", "AgentReport", "agent_command", "run_agent_bench"]

#: the agent's tool library: strategy name -> steps (``{target}`` etc. filled per task)
STRATEGIES: dict[str, tuple[str, ...]] = {
    "retry": ("retry the failing command once",),
    "restart": ("stop {target}", "start {target} again"),
    "clear-cache": ("clear the cache of {target}", "rerun the job"),
    "config": ("open the configuration of {target}", "fix the wrong setting", "reload {target}"),
    "dependencies": ("pin the dependency versions of {target}", "reinstall the packages",
                     "rerun the job"),
    "debug": ("read the logs of {target} on {host}", "find the first error",
              "patch the code", "rerun the job"),
    "rollback": ("find the last good release of {target}", "roll {target} back to it"),
    "scale-out": ("add two replicas to {target}", "wait for the health checks"),
    "permissions": ("check the permissions of {path}", "grant access to {user}",
                    "rerun the job"),
    "disk": ("check the free space on {host}", "delete old files under {path}",
             "rerun the job"),
}


@dataclass(frozen=True)
class Family:
    name: str
    template: str
    fix: str
    decoy: str
    #: the fix after the platform upgrade half-way through the tasks (None: unchanged)
    later_fix: str | None = None

    def fix_at(self, index: int, total: int) -> str:
        return self.later_fix if self.later_fix and index >= total // 2 else self.fix


FAMILIES: tuple[Family, ...] = (
    Family("build", "The nightly build of {target} fails with an import error on {host}",
           "dependencies", "retry", "config"),
    Family("deploy", "Service {target} returns HTTP 503 since the deploy at {time}",
           "rollback", "restart", "debug"),
    Family("upload", "Uploads to {path} fail for {user} with access denied", "permissions",
           "clear-cache"),
    Family("space", "Writes to the database on {host} fail since {date}: no space left",
           "disk", "restart"),
    Family("latency", "Checkout in {target} is slow under load, p95 is {n} ms", "scale-out",
           "clear-cache", "config"),
    Family("crash", "The {target} worker crashes after {n} jobs with a stack trace", "debug",
           "retry"),
)
FIX_P, DECOY_P, OTHER_P = 0.9, 0.5, 0.05
ATTEMPTS = 3
#: the procedural agent's floor on a remembered strategy's utility
MIN_UTILITY = 0.35
POLICIES = ("none", "episodes", "procedures")
_TARGETS = ("Atlas", "Nimbus", "Orion", "Vega", "Helix", "Quartz", "Juniper", "Falcon")
_USERS = ("Maria", "Kenji", "Amara", "Lukas", "Priya", "Tomas")


@dataclass(frozen=True)
class Task:
    index: int
    family: Family
    slots: dict[str, str]
    total: int

    @property
    def fix(self) -> str:
        return self.family.fix_at(self.index, self.total)

    @property
    def text(self) -> str:
        return self.family.template.format(**self.slots)

    def steps(self, strategy: str) -> list[str]:
        return [s.format(**self.slots) for s in STRATEGIES[strategy]]


def make_tasks(n: int, seed: int) -> list[Task]:
    """``n`` tasks, the families interleaved at random, instance details drawn per task."""
    rng = random.Random(f"tasks:{seed}")
    out = []
    for i in range(n):
        fam = FAMILIES[rng.randrange(len(FAMILIES))]
        slots = {"target": rng.choice(_TARGETS), "host": f"host{rng.randint(1, 99)}.internal",
                 "time": f"{rng.randint(0, 23):02d}:{rng.choice(['00', '15', '30', '45'])}",
                 "path": f"/srv/{rng.choice(['media', 'docs', 'exports'])}/{rng.randint(1, 9)}",
                 "user": rng.choice(_USERS), "date": f"2025-{rng.randint(1, 12):02d}-"
                                                      f"{rng.randint(1, 28):02d}",
                 "n": str(rng.randint(120, 5000))}
        out.append(Task(i, fam, slots, n))
    return out


def works(task: Task, strategy: str, seed: int) -> bool:
    """Whether ``strategy`` fixes ``task`` (drawn once per (seed, task, strategy))."""
    p = FIX_P if strategy == task.fix else DECOY_P if strategy == task.family.decoy \
        else OTHER_P
    return random.Random(f"works:{seed}:{task.index}:{strategy}").random() < p


def random_order(task: Task, seed: int) -> list[str]:
    order = sorted(STRATEGIES)
    random.Random(f"order:{seed}:{task.index}").shuffle(order)
    return order


@dataclass
class Outcome:
    success: bool
    steps: int
    tried: list[str]
    from_memory: int = 0


def attempt(task: Task, seed: int, preferred: Sequence[str], avoid: Sequence[str] = (),
            on_try: Callable[[str, bool], None] | None = None) -> Outcome:
    """Try ``preferred`` strategies first, then the random order (``avoid`` last), at
    most :data:`ATTEMPTS`; ``on_try(strategy, worked)`` after each."""
    seen: set[str] = set()
    rest = [s for s in random_order(task, seed) if s not in avoid] + list(avoid)
    out = Outcome(False, 0, [])
    for s in list(preferred) + rest:
        if s in seen or s not in STRATEGIES:
            continue
        seen.add(s)
        ok = works(task, s, seed)
        out.tried.append(s)
        out.steps += len(STRATEGIES[s])
        out.from_memory += s in preferred
        if on_try is not None:
            on_try(s, ok)
        if ok:
            out.success = True
            return out
        if len(out.tried) == ATTEMPTS:
            return out
    return out


# -- policies -------------------------------------------------------------------------------
class NoMemory:
    def run(self, task: Task, seed: int) -> Outcome:
        return attempt(task, seed, [])


class EpisodeMemory:
    """Plain episode memory: transcripts stored verbatim, searched, replayed."""

    def __init__(self, eg: Any) -> None:
        self.eg = eg

    def run(self, task: Task, seed: int) -> Outcome:
        hits = self.eg.search(task.text, agent_id="oncall", kinds=["episode"], limit=3)
        worked: list[str] = []
        failed: list[str] = []
        for rank, h in enumerate(hits):
            for s in STRATEGIES:
                if f"{s}: worked" in h.text and s not in worked:
                    worked.append(s)
                if rank == 0 and f"{s}: failed" in h.text:
                    failed.append(s)
        out = attempt(task, seed, worked, [s for s in failed if s not in worked])
        log = "; ".join(f"{s}: {'worked' if i == len(out.tried) - 1 and out.success else 'failed'}"
                        for i, s in enumerate(out.tried))
        self.eg.add({"text": f"Task: {task.text}. Tried {log}.", "role": "assistant"},
                    agent_id="oncall", derive=False)
        return out


class ProceduralMemory:
    """Procedures ranked by relevance, utility and exploration; feedback after each try.

    Every strategy tried is remembered for the task: one that worked or failed outside
    memory is stored with that outcome, one tried from memory gets ``feedback``.
    Remembered strategies whose utility is at least :data:`MIN_UTILITY` are tried
    first, in the ranked order; those below it are tried last
    (the episode agent likewise puts what failed in its closest episode last)."""

    def __init__(self, eg: Any) -> None:
        self.eg = eg

    def run(self, task: Task, seed: int) -> Outcome:
        from ..agents.procedures import abstract

        by_steps = {tuple(abstract(x) for x in task.steps(s)): s for s in STRATEGIES}
        ranked = self.eg.procedures(task.text, limit=len(STRATEGIES), agent_id="oncall")
        ids: dict[str, str] = {}
        preferred: list[str] = []
        avoid: list[str] = []
        for r in ranked:
            s = by_steps.get(tuple(r.procedure.steps))
            if s is None or s in ids:
                continue
            ids[s] = r.procedure.id
            good = r.procedure.utility.value >= MIN_UTILITY
            (preferred if good else avoid).append(s)

        def on_try(s: str, ok: bool) -> None:
            if s in ids:
                self.eg.feedback(ids[s], 1.0 if ok else 0.0, agent_id="oncall")
            else:
                self.eg.remember_procedure(task.text, steps=task.steps(s),
                                           outcome="success" if ok else "failure",
                                           agent_id="oncall")

        return attempt(task, seed, preferred, avoid, on_try=on_try)


# -- the run ----------------------------------------------------------------------------------
@dataclass
class PolicyResult:
    policy: str
    tasks: int
    success_rate: float
    mean_steps: float
    curve_success: list[float]
    curve_steps: list[float]
    from_memory_tries: int
    seconds: float


@dataclass
class AgentReport:
    tasks: int
    seeds: list[int]
    block: int
    results: list[PolicyResult] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _curve(values: Sequence[float], block: int) -> list[float]:
    return [round(sum(values[i:i + block]) / len(values[i:i + block]), 4)
            for i in range(0, len(values), block)]


def run_agent_bench(tasks: int = 120, seeds: Sequence[int] = (1, 2, 3), block: int = 20,
                    policies: Sequence[str] = POLICIES, embedder: Any = None,
                    progress: Callable[[str], None] | None = None) -> AgentReport:
    """Run every policy over ``tasks`` tasks per seed; curves average the seeds per
    block of ``block`` tasks."""
    from ..embed.registry import get_embedder
    from ..engine import Engram

    emb = embedder if embedder is not None else get_embedder()
    report = AgentReport(tasks=tasks, seeds=list(seeds), block=block, environment={
        "families": [asdict(f) for f in FAMILIES], "strategies": len(STRATEGIES),
        "attempts": ATTEMPTS, "p_fix": FIX_P, "p_decoy": DECOY_P, "p_other": OTHER_P})
    for policy in policies:
        start = time.perf_counter()
        succ = [0.0] * tasks
        steps = [0.0] * tasks
        mem_tries = 0
        for seed in seeds:
            with tempfile.TemporaryDirectory() as tmp:
                eg = None if policy == "none" else Engram(Path(tmp) / "agent.db",
                                                          embedder=emb)
                runner = (NoMemory() if eg is None else EpisodeMemory(eg)
                          if policy == "episodes" else ProceduralMemory(eg))
                try:
                    for task in make_tasks(tasks, seed):
                        out = runner.run(task, seed)
                        succ[task.index] += out.success / len(seeds)
                        steps[task.index] += out.steps / len(seeds)
                        mem_tries += out.from_memory
                finally:
                    if eg is not None:
                        eg.close()  # the shared embedder stays open (not owned)
            if progress is not None:
                progress(f"{policy}: seed {seed} done")
        report.results.append(PolicyResult(
            policy=policy, tasks=tasks * len(seeds),
            success_rate=round(sum(succ) / tasks, 4), mean_steps=round(sum(steps) / tasks, 3),
            curve_success=_curve(succ, block), curve_steps=_curve(steps, block),
            from_memory_tries=mem_tries, seconds=round(time.perf_counter() - start, 2)))
    return report


def format_report(report: AgentReport) -> str:
    lines = [f"bench agent: {report.tasks} tasks x {len(report.seeds)} seeds, "
             f"{len(FAMILIES)} task families, {len(STRATEGIES)} strategies, "
             f"{ATTEMPTS} tries per task",
             f"{'policy':<12}{'success':>9}{'steps':>8}  success per block of {report.block}"]
    for r in report.results:
        curve = " ".join(f"{v:.2f}" for v in r.curve_success)
        lines.append(f"{r.policy:<12}{r.success_rate:>9.3f}{r.mean_steps:>8.2f}  {curve}")
    lines.append(f"{'':<29}steps per block")
    for r in report.results:
        lines.append(f"{r.policy:<29}" + " ".join(f"{v:.2f}" for v in r.curve_steps))
    return "\n".join(lines)


def write_agent_chart(report: AgentReport, path: str | Path) -> Path:
    """Success rate and steps per task against the task index (block means)."""
    from .chart import pyplot, save_figure

    fig, (a, b) = pyplot().subplots(1, 2, figsize=(11, 4))
    for r in report.results:
        xs = [report.block * (i + 1) for i in range(len(r.curve_success))]
        a.plot(xs, [100 * v for v in r.curve_success], marker="o", label=r.policy)
        b.plot(xs, r.curve_steps, marker="o", label=r.policy)
    a.set_ylabel("tasks solved (%)")
    a.set_ylim(0, 100)
    b.set_ylabel("steps per task")
    for ax in (a, b):
        ax.set_xlabel("task (end of block)")
        ax.grid(True, alpha=0.3)
    a.legend(loc="lower right")
    fig.suptitle(f"engram bench agent: {report.tasks} tasks x {len(report.seeds)} seeds")
    return save_figure(fig, path)


def _agent_command() -> object:
    import click

    @click.command("agent")
    @click.option("--tasks", default=120, show_default=True, help="Tasks per seed.")
    @click.option("--seeds", default="1,2,3", show_default=True,
                  help="Environment seeds, comma-separated.")
    @click.option("--block", default=20, show_default=True, help="Tasks per curve point.")
    @click.option("--policies", default=",".join(POLICIES), show_default=True,
                  help="Policies to compare, comma-separated.")
    @click.option("--out", type=click.Path(path_type=Path),
                  default=Path("bench-results/agent.json"), show_default=True,
                  help="JSON report path (the chart is written beside it as .png).")
    @click.option("--chart/--no-chart", default=True, show_default=True)
    def agent(tasks: int, seeds: str, block: int, policies: str, out: Path,
              chart: bool) -> None:
        """Agents with no memory, episode memory, and procedures with feedback on a
        simulated multi-episode task environment: success and steps per task."""
        try:
            seed_list = [int(x) for x in seeds.split(",") if x.strip()]
        except ValueError:
            raise click.BadParameter(f"--seeds takes comma-separated integers, "
                                     f"got {seeds!r}") from None
        chosen = [p.strip() for p in policies.split(",") if p.strip()]
        if not seed_list or tasks < 1 or block < 1:
            raise click.BadParameter("--tasks, --block and --seeds must be positive")
        if not chosen or set(chosen) - set(POLICIES):
            raise click.BadParameter(f"--policies: choose from {', '.join(POLICIES)}")
        report = run_agent_bench(tasks, seed_list, block, chosen,
                                 progress=lambda m: click.echo(f"bench agent: {m}", err=True))
        click.echo(format_report(report))
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report.to_dict(), indent=2))
        click.echo(f"JSON report: {out}")
        if chart:
            try:
                click.echo(f"chart: {write_agent_chart(report, out.with_suffix('.png'))}")
            except MissingDependency as exc:
                click.echo(f"chart skipped: {exc}", err=True)

    return agent


agent_command = _agent_command()

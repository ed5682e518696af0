"""SQLite answers episode neighbours from each user's session order in memory (#21):
the same lists as its SQL query, after any mix of writes, deletes and writes by
another connection, and nothing of a forgotten user is kept."""

from __future__ import annotations

import random
from pathlib import Path

from contract_helpers import add_episode, at, episode

from engram.models import Scope
from engram.store.sqlite import SQLiteStore


def _same_as_sql(store: SQLiteStore, scopes: list[Scope], ids: list[str]) -> None:
    for scope in scopes:
        for radius in (1, 3):
            got = store.episode_neighbours(scope, ids, radius)
            want = store._sql_neighbours(scope, ids, radius)
            assert list(got) == list(want), (scope, radius)  # same keys, same order
            assert got == want, (scope, radius)


def test_in_memory_neighbours_equal_the_sql_ones_through_random_changes(
    tmp_path: Path,
) -> None:
    rng = random.Random(11)
    db = tmp_path / "n.db"
    store = SQLiteStore(db, synchronous="OFF")
    other = SQLiteStore(db, synchronous="OFF")  # another connection
    store.migrate()
    scopes = [Scope(user_id=u, agent_id=a, session_id=s, tenant="t")
              for u in ("u1", "u2") for a in (None, "ag") for s in (None, "s1", "s2")]
    asked = [Scope(user_id="u1", tenant="t"), Scope(user_id="u2", tenant="t"),
             Scope(user_id="u1", agent_id="ag", tenant="t"),
             Scope(user_id="u1", session_id="s1", tenant="t"),
             Scope(user_id="u1", tenant="elsewhere")]
    made: list[str] = []
    for step in range(240):
        writer = other if rng.random() < 0.3 else store
        if made and rng.random() < 0.15:
            gone = rng.sample(made, k=min(len(made), rng.randint(1, 3)))
            writer.delete_episodes("t", gone)
            made = [m for m in made if m not in gone]
        else:
            eid = f"e{step}"
            # few distinct times: many ties, broken by insertion order
            add_episode(writer, episode(eid, rng.choice(scopes), f"turn {step}",
                                        at(seconds=rng.randint(0, 30))))
            made.append(eid)
        if step % 20 == 0 and made:
            ids = rng.sample(made, k=min(len(made), 12)) + ["missing"]
            _same_as_sql(store, asked, ids)
    _same_as_sql(store, asked, made)
    store.close()
    other.close()


def test_a_forget_drops_the_users_episode_order(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "f.db")
    store.migrate()
    user = Scope(user_id="gone", session_id="s", tenant="t")
    for i in range(3):
        add_episode(store, episode(f"g{i}", user, "secret turn", at(seconds=i)))
    assert store.episode_neighbours(Scope(user_id="gone", tenant="t"), ["g1"], 1)["g1"]
    store.forget(Scope(user_id="gone", tenant="t"))
    assert store._streams == {}  # no id or time of the forgotten user stays in memory
    assert store.episode_neighbours(Scope(user_id="gone", tenant="t"), ["g1"], 1) == {}
    store.close()

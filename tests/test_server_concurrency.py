"""Concurrent requests and forgets against a real ``engram serve`` (issue #13 items 2, 6).

* ``derive: "sync"`` from several writers superseding facts of two users: every
  request answers 200 (never 409) and each user ends with one current value.
* ``POST /v1/messages`` (background derive) then at once ``POST /v1/forget``:
  once the job has ended, the user has no rows and the job record is gone.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from server_fixtures import RunningServer

CITIES = ["Lisbon", "Berlin", "Paris", "Madrid", "Oslo", "Rome"]


def _wait_job(c: httpx.Client, job_id: str) -> dict[str, Any]:
    for _ in range(600):
        job = c.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError("job never finished")


def test_sync_derive_from_concurrent_superseding_writers_never_conflicts(
    server: RunningServer,
) -> None:
    def write(i: int) -> list[int]:
        codes = []
        with server.client(server.key_a) as c:
            for k, city in enumerate(CITIES):
                r = c.post("/v1/messages", json={
                    "user_id": f"mover{i % 2}", "derive": "sync",
                    "messages": [{"text": f"I moved to {city} (note {i}-{k})"}]})
                codes.append(r.status_code)
        return codes

    with ThreadPoolExecutor(6) as pool:
        codes = [code for batch in pool.map(write, range(6)) for code in batch]
    assert set(codes) == {200}  # before the fix: about half were 409
    with server.client(server.key_a) as c:
        for user in ("mover0", "mover1"):
            items = c.get("/v1/memories", params={"user_id": user, "limit": 100}).json()["items"]
            assert len([m for m in items if m["attribute"]]) == 1
            episodes = c.get("/v1/memories", params={"user_id": user, "type": "episode",
                                                     "limit": 100}).json()["items"]
            assert len(episodes) == 3 * len(CITIES)


def test_forget_right_after_a_background_derive_leaves_nothing(server: RunningServer) -> None:
    facts = [f"I love fruit number {n} and I moved to {CITIES[n % 6]} {n}" for n in range(60)]
    with server.client(server.key_a) as c:
        for trial in range(3):
            user = f"erased-{trial}"
            r = c.post("/v1/messages", json={"user_id": user, "derive": "background",
                                             "messages": [{"text": t} for t in facts]})
            assert r.status_code == 200, r.text
            job_id = r.json()["job_id"]
            assert c.post("/v1/forget", json={"user_id": user}).json()["verified"]
            # one worker runs jobs in order: when a later job is done, this one ended
            later = c.post("/v1/messages", json={"user_id": "bystander", "derive": "background",
                                                 "messages": [{"text": "I love tea"}]})
            _wait_job(c, later.json()["job_id"])
            assert c.get("/v1/export", params={"user_id": user}).text == ""
            job = c.get(f"/v1/jobs/{job_id}")
            assert job.status_code == 404  # the record held memory text: purged
            assert "fruit" not in job.text

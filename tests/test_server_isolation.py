"""Tenant isolation: a key of tenant beta never reads or changes tenant alpha's data,
whatever ids it sends (random ones, or ids taken from alpha)."""

from __future__ import annotations

import json
import random
import string
import time

from server_fixtures import RunningServer


def _rand_id(rng: random.Random) -> str:
    prefix = rng.choice(["mem_", "ep_", "job_", ""])
    return prefix + "".join(rng.choices(string.ascii_lowercase + string.digits, k=26))


def test_tenant_b_cannot_touch_tenant_a(server: RunningServer) -> None:
    a, b = server.client(server.key_a), server.client(server.key_b)
    with a, b:
        r = a.post("/v1/messages", json={"user_id": "shared-user", "messages": [
            {"text": "My secret password hint is aubergine", "id": "dup-1"}]}).json()
        ep_id = r["episodes"][0]["id"]
        for _ in range(300):
            if a.get(f"/v1/jobs/{r['job_id']}").json()["status"] == "done":
                break
            time.sleep(0.1)
        a.post("/v1/memories", json={"user_id": "shared-user", "kind": "fact",
                                     "text": "The password hint is aubergine"})
        mem_ids = [m["id"] for m in a.get("/v1/memories", params={"user_id": "shared-user"}
                                          ).json()["items"]]
        assert mem_ids
        before = a.get("/v1/export", params={"user_id": "shared-user"}).text

        rng = random.Random(1234)
        stolen = [ep_id, *mem_ids, r["job_id"]]
        ids = stolen + [_rand_id(rng) for _ in range(20)]
        for item in ids:
            for user in ("shared-user", None):
                params = {"user_id": user or "someone"}
                assert b.get(f"/v1/items/{item}", params=params).status_code == 404
                assert b.get(f"/v1/memories/{item}/history", params=params).status_code == 404
                assert b.delete(f"/v1/memories/{item}", params=params).status_code == 404
                assert b.patch(f"/v1/memories/{item}", json={**params, "text": "pwned"}
                               ).status_code == 404
            assert b.get(f"/v1/jobs/{item}").status_code == 404

        # same user id, same client message id: beta sees and changes nothing of alpha's
        hits = b.post("/v1/search", json={"user_id": "shared-user", "query": "password hint"}
                      ).json()["hits"]
        assert hits == []
        assert b.get("/v1/memories", params={"user_id": "shared-user"}).json()["items"] == []
        assert b.get("/v1/export", params={"user_id": "shared-user"}).text == ""
        assert b.get("/v1/stats", params={"user_id": "shared-user"}).json()["episodes"] == 0
        dup = b.post("/v1/messages", json={"user_id": "shared-user", "messages": [
            {"text": "beta's own message", "id": "dup-1"}]}).json()
        assert dup["episodes"][0]["created"] is True
        assert b.post("/v1/forget", json={"user_id": "shared-user"}).json()["verified"]

        # importing alpha's dump with beta's key lands in beta, never in alpha
        imp = b.post("/v1/import", content=before,
                     headers={"content-type": "application/x-ndjson"})
        assert imp.status_code == 200, imp.text
        mine = b.get("/v1/export", params={"user_id": "shared-user"}).text.splitlines()
        assert mine and all(json.loads(x)["tenant"] == "beta" for x in mine)
        forged = "\n".join(json.dumps({**json.loads(x), "tenant": "alpha", "text": "forged"})
                           for x in before.splitlines() if json.loads(x)["type"] == "episode")
        b.post("/v1/import", content=forged, headers={"content-type": "application/x-ndjson"})

        # alpha's data is exactly as it was
        assert a.get("/v1/export", params={"user_id": "shared-user"}).text == before
        hits = a.post("/v1/search", json={"user_id": "shared-user", "query": "password hint"}
                      ).json()["hits"]
        assert hits and all(h["item"]["tenant"] == "alpha" for h in hits)

        # non-admin keys cannot see or mint keys, nor read store-wide stats
        assert b.post("/v1/keys", json={"tenant": "alpha", "admin": True}).status_code == 403
        assert b.get("/v1/stats").status_code == 400

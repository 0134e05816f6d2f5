"""Failed API authentications are limited per address (bearer-token guessing gets 429, not endless 401s)."""
from __future__ import annotations

import secrets


def _guess(client, addr="198.51.100.7"):
    return client.get("/api/v1/companies", headers={"Authorization": f"Bearer ppt_{secrets.token_urlsafe(32)}"},
                      environ_base={"REMOTE_ADDR": addr})


def test_random_bearer_tokens_are_limited_per_address(app, client, world, token_for):
    limit = int(app.config["API_AUTH_FAILURE_LIMIT"].split()[0])
    for i in range(limit):
        assert _guess(client).status_code == 401, i

    resp = _guess(client)
    assert resp.status_code == 429
    assert resp.mimetype == "application/problem+json"
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    assert "invalid API token" in resp.get_json()["detail"]

    # while the address waits, even a valid token from it is not looked at (a right guess is not recognisable)
    valid = token_for(world.procurement)
    assert client.get("/api/v1/companies", headers=valid,
                      environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 429
    # other addresses are not affected
    assert client.get("/api/v1/companies", headers=valid,
                      environ_base={"REMOTE_ADDR": "198.51.100.8"}).status_code == 200
    assert _guess(client, addr="198.51.100.8").status_code == 401


def test_three_hundred_random_tokens_do_not_all_answer_401(client, world):
    codes = [_guess(client).status_code for _ in range(300)]
    assert set(codes) == {401, 429}
    assert codes.count(401) < 300 and codes[-1] == 429


def test_successful_requests_do_not_count_as_failures(app, client, world, token_for):
    valid = token_for(world.procurement)
    limit = int(app.config["API_AUTH_FAILURE_LIMIT"].split()[0])
    for _ in range(limit + 5):
        assert client.get("/api/v1/companies", headers=valid,
                          environ_base={"REMOTE_ADDR": "198.51.100.9"}).status_code == 200

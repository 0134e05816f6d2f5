from datetime import timedelta

import pytest

from portal.db import db, utcnow


def test_no_token_is_401_problem_json(client):
    r = client.get("/api/v1/companies")
    assert r.status_code == 401
    assert r.mimetype == "application/problem+json"
    body = r.get_json()
    assert body["status"] == 401 and "Bearer" in body["detail"] and body["title"]
    assert "Set-Cookie" not in r.headers


def test_wrong_scheme_and_unknown_token_are_401(client, world):
    assert client.get("/api/v1/companies", headers={"Authorization": "Basic abc"}).status_code == 401
    assert client.get("/api/v1/companies", headers={"Authorization": "Bearer ppt_nope"}).status_code == 401


def test_token_acts_as_user_and_records_last_use(client, world, token_for):
    from portal.api.models import ApiToken

    headers = token_for(world.procurement)
    r = client.get("/api/v1/companies?role=supplier", headers=headers)
    assert r.status_code == 200
    names = [c["display_name"] for c in r.get_json()["items"]]
    assert set(names) == {world.supplier_a.display_name, world.supplier_b.display_name}
    db.session.expire_all()
    assert db.session.query(ApiToken).one().last_used_at is not None


def test_token_is_stored_hashed(world):
    from portal.api.auth import create_token
    from portal.api.models import ApiToken

    _, raw = create_token(world.procurement, "erp")
    row = db.session.query(ApiToken).one()
    assert raw not in (row.token_hash, row.prefix) and len(row.token_hash) == 64 and raw.startswith(row.prefix)


def test_revoked_expired_and_deactivated_tokens_stop_working(client, world, token_for):
    from portal.accounts.services import set_member_active
    from portal.api.auth import revoke_token
    from portal.api.models import ApiToken

    h1 = token_for(world.procurement, "one")
    tok = db.session.query(ApiToken).filter_by(name="one").one()
    revoke_token(world.procurement, tok.id)
    assert client.get("/api/v1/companies", headers=h1).status_code == 401

    h2 = token_for(world.procurement, "two")
    tok2 = db.session.query(ApiToken).filter_by(name="two").one()
    tok2.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/api/v1/companies", headers=h2).status_code == 401

    h3 = token_for(world.procurement, "three")
    assert client.get("/api/v1/companies", headers=h3).status_code == 200
    set_member_active(world.buyer_admin, world.procurement.id, False)
    r = client.get("/api/v1/companies", headers=h3)
    assert r.status_code == 401 and "deactivated" in r.get_json()["detail"]


def test_another_users_token_cannot_be_revoked(world):
    from portal.api.auth import create_token, revoke_token
    from portal.errors import NotFound

    tok, _ = create_token(world.sales_a, "theirs")
    with pytest.raises(NotFound):
        revoke_token(world.procurement, tok.id)


def test_pagination_links_and_limits(client, world, token_for):
    from tests import factories

    for _ in range(5):
        factories.company("supplier")
    h = token_for(world.procurement)
    r = client.get("/api/v1/companies?role=supplier&per_page=3", headers=h).get_json()
    assert r["total"] == 7 and len(r["items"]) == 3 and r["links"]["prev"] is None
    assert "page=2" in r["links"]["next"]
    r2 = client.get(r["links"]["next"], headers=h).get_json()
    assert [c["id"] for c in r2["items"]] == sorted(c["id"] for c in r2["items"])
    assert not set(c["id"] for c in r["items"]) & set(c["id"] for c in r2["items"])
    bad = client.get("/api/v1/companies?per_page=1000", headers=h)
    assert bad.status_code == 422 and "per_page" in bad.get_json()["errors"]


def test_rate_limit_per_token_answers_429_with_retry_after(client, world, token_for, app, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "3 per minute")
    h = token_for(world.procurement)
    codes = [client.get("/api/v1/companies", headers=h).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = client.get("/api/v1/companies", headers=h)
    assert r.status_code == 429 and r.headers.get("Retry-After")
    assert r.mimetype == "application/problem+json"
    other = token_for(world.sales_a)  # another token has its own budget
    assert client.get("/api/v1/companies", headers=other).status_code == 200


def test_unknown_api_path_is_problem_json_404(client, world, token_for):
    r = client.get("/api/v1/nothing-here", headers=token_for(world.procurement))
    assert r.status_code == 404 and r.mimetype == "application/problem+json"


def test_openapi_document_and_local_docs(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.") and "/api/v1/companies" in spec["paths"]
    assert "bearerAuth" in spec["components"]["securitySchemes"]
    html = client.get("/api/v1/docs").get_data(as_text=True)
    assert "swagger-ui-bundle.js" in html and "http" not in html.split("<body>")[1].split("swagger-ui-bundle")[0].replace("http-equiv", "")
    assert client.get("/api/v1/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_token_page_shows_token_once_and_revokes(world, login):
    c = login(world.procurement)
    r = c.post("/account/tokens/", data={"name": "SAP connector"})
    page = r.get_data(as_text=True)
    assert "ppt_" in page and "shown only once" in page
    again = c.get("/account/tokens/").get_data(as_text=True)
    assert "SAP connector" in again and again.count("ppt_") == 1  # only the prefix in the list, no secret
    empty = c.post("/account/tokens/", data={"name": ""})
    assert "This field is required" in empty.get_data(as_text=True) or "Required" in empty.get_data(as_text=True)


def test_cli_creates_token(app, world):
    runner = app.test_cli_runner()
    res = runner.invoke(args=["tokens", "create", "--email", world.procurement.email, "--name", "script"])
    assert res.exit_code == 0 and res.output.strip().startswith("ppt_")
    bad = runner.invoke(args=["tokens", "create", "--email", "nobody@x.test", "--name", "x"])
    assert bad.exit_code != 0 and "No user" in bad.output

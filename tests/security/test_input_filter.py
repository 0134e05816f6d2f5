"""Input no column can store (NUL bytes, lone surrogates) and JSON nested deep enough to exhaust the parser are
refused with a sentence (400) by one request filter, before any view or parser sees them."""
from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from portal.accounts.models import User
from portal.db import db
from tests.accounts.helpers import fresh, text

LISTS = ["/orders/", "/rfqs/", "/catalog/suppliers", "/invoices/", "/quotes", "/catalog/items"]


@pytest.mark.parametrize("path", LISTS)
def test_nul_in_a_list_query_is_a_sentence(world, login, path):
    client = login(world.procurement if path != "/catalog/items" else world.sales_a)
    resp = client.get(path + "?q=%00")
    assert resp.status_code == 400
    assert "NUL byte" in text(resp)


def test_nul_in_the_signin_email_is_a_sentence(world, client):
    resp = client.post("/signin", data={"email": "a\x00@acme.test", "password": "whatever-it-is"})
    assert resp.status_code == 400
    assert "contains a character that cannot be saved" in text(resp)


def test_nul_in_a_form_field_saves_nothing(world, login):
    client = login(world.procurement)
    resp = client.post("/account", data={"prefs-name": "Eve\x00", "prefs-locale": "en_GB",
                                         "prefs-timezone": "UTC", "prefs-submit": "y"})
    assert resp.status_code == 400
    assert "“prefs-name” contains a character that cannot be saved" in text(resp)
    assert fresh(world.procurement).name != "Eve\x00"


@pytest.mark.parametrize("body", [
    b'{"title": "\\ud800", "deadline": "2030-01-01T10:00:00+00:00"}',
    b'{"title": "A\\u0000B", "deadline": "2030-01-01T10:00:00+00:00"}',
    b'{"title": "ok", "deadline": "2030-01-01T10:00:00+00:00", "lines": [{"description": "x\\udfff"}]}',
    b'{"\\ud800": 1}',
])
def test_unstorable_text_in_api_json_is_a_problem_sentence(world, client, token_for, body):
    resp = client.post("/api/v1/rfqs", data=body, content_type="application/json",
                       headers=token_for(world.procurement))
    assert resp.status_code == 400
    assert resp.mimetype == "application/problem+json"
    assert "cannot be saved" in resp.get_json()["detail"]


def test_deeply_nested_json_is_refused_quickly(world, client, token_for):
    body = b"[" * 100_000 + b"]" * 100_000  # 200 KB
    started = time.monotonic()
    resp = client.post("/api/v1/rfqs", data=body, content_type="application/json",
                       headers=token_for(world.procurement))
    assert resp.status_code == 400
    assert "nested too deeply" in resp.get_json()["detail"]
    assert time.monotonic() - started < 5


def test_brackets_inside_strings_do_not_count_as_nesting(world, client, token_for):
    from portal.web import json_depth

    assert json_depth(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\"{{{{"}') == 1
    assert json_depth(b"[" * 40 + b"]" * 40) == 40
    resp = client.post("/api/v1/rfqs", json={"title": "[" * 100 + " brackets", "deadline": "soon"},
                       headers=token_for(world.procurement))
    assert resp.status_code == 422  # the schema's answer about the deadline, not the filter's


def test_a_surrogate_pair_in_json_is_an_ordinary_character(world, client, token_for):
    resp = client.post("/api/v1/rfqs", data=b'{"title": "Bulbs \\ud83d\\udca1", "deadline": "soon"}',
                       content_type="application/json", headers=token_for(world.procurement))
    assert resp.status_code == 422  # past the filter: the schema speaks about the deadline
    assert "deadline" in resp.get_json()["errors"]


def test_ordinary_input_passes_the_filter(world, login):
    client = login(world.procurement)
    resp = client.post("/account", data={"prefs-name": "Zoë Ünal – 💡", "prefs-locale": "en_GB",
                                         "prefs-timezone": "UTC", "prefs-submit": "y"})
    assert resp.status_code == 302
    assert db.session.scalar(sa.select(User.name).where(User.id == world.procurement.id)) == "Zoë Ünal – 💡"

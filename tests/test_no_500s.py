"""Bad input gets a sentence, not a 500: every GET page, for every kind of person, with odd query strings and
with ids that are someone else's, missing, or absurd."""
from __future__ import annotations

import re

import pytest

from tests import factories

ODD_QUERIES = ["", "?page=abc&per_page=-1", "?page=999999999999999999999", "?status=zz&q=%27%22%3C",
               "?q=%00", "?status=%00zz", "?q=%ED%A0%80", "?q=%C0%80",
               "?months=abc&from=2026-13-45&to=yesterday", "?supplier_id=x&company_id=-5&sort=;drop"]
ODD_IDS = ["999999", "0", "99999999999999999999"]


def _get_rules(app):
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in ("static", "bootstrap.static") \
                or rule.rule.startswith("/api/") or "docs/assets" in rule.rule:
            continue
        yield rule


@pytest.mark.parametrize("who", ["procurement", "sales_a", "accounts_a", "buyer_admin", "approver", "buyer_accounts"])
def test_no_page_answers_500(app, world, login, who):
    r = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a])
    factories.quote(r, world.supplier_a, world.sales_a)
    factories.order(world.buyer, world.supplier_a, world.procurement, status="placed")
    client = login(getattr(world, who))
    failures = []
    for rule in _get_rules(app):
        args = [a for a in rule.arguments]
        if any(not re.search(rf"<(int:)?{a}>", rule.rule) for a in args):
            continue  # path/str converters with special meaning (tokens, file names) are tested where they live
        # Every odd query string on every page that exists (a list, or the one record with id 1), and every odd id
        # bare: an id that is someone else's, missing or absurd answers before any query string is read, so the
        # odd queries on an odd id (3 x 10 requests per page) tested nothing the two halves do not (one is kept).
        requests = []
        if not args:
            requests = [rule.rule + q for q in ODD_QUERIES]
        else:
            for value in ODD_IDS + ["1"]:
                path = rule.rule
                for a in args:
                    path = re.sub(rf"<(int:)?{a}>", value, path)
                requests += [path + q for q in (ODD_QUERIES if value == "1" else ["", ODD_QUERIES[1]])]
        for url in requests:
            resp = client.get(url)
            if resp.status_code >= 500 or ("%00" in url and resp.status_code not in (302, 400)):
                failures.append((url, resp.status_code))
    assert not failures, failures[:20]


ODD_FORMS = [{}, {"quantity": "abc", "lock_version": "zz", "version": "-1", "reason": "x" * 5000,
                  "email": "not-an-email", "amount": "1e999", "date": "2026-02-30", "deadline": "soon",
                  "roles": "emperor", "supplier_id": "999999999999", "page": "-3"}]
# NUL bytes in any field: refused by the request filter (400 with a sentence) before a view or database sees them
NUL_FORM = {"name": "Eve\x00", "title": "T\x00", "email": "a\x00@acme.test", "password": "pass\x00word",
            "reason": "\x00", "description": "x\x00y", "quantity": "1\x00", "website": "https://a\x00.example"}


@pytest.mark.parametrize("who", ["procurement", "sales_a", "accounts_a", "buyer_admin", "approver"])
def test_no_form_post_answers_500(app, world, login, who):
    r = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a])
    factories.quote(r, world.supplier_a, world.sales_a)
    factories.order(world.buyer, world.supplier_a, world.procurement, status="placed")
    client = login(getattr(world, who))
    failures = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.rule.startswith("/api/"):
            continue
        signs_out = rule.endpoint in ("auth.signout", "auth.signout_everywhere")  # only the NUL form, refused
        args = list(rule.arguments)
        if any(not re.search(rf"<(int:)?{a}>", rule.rule) for a in args):
            continue
        for value in (["1", "999999"] if args else [None]):
            path = rule.rule
            for a in args:
                path = re.sub(rf"<(int:)?{a}>", value, path)
            for form in ([] if signs_out else ODD_FORMS):
                resp = client.post(path, data=form)
                if resp.status_code >= 500:
                    failures.append((path, sorted(form), resp.status_code))
            resp = client.post(path, data=NUL_FORM)
            if resp.status_code != 400 or "cannot be saved" not in resp.get_data(as_text=True):
                failures.append((path, "NUL", resp.status_code))
    assert client.get("/account").status_code == 200  # still signed in: the crawl covered every form as this person
    assert not failures, failures[:20]


# Bodies no column can store or no parser should recurse into: NUL (\u0000), a lone surrogate (\ud800, which
# cannot even be encoded as UTF-8) and 100,000 nested arrays (RecursionError in a recursive parser).
ODD_JSON = [
    b'{"title": "A\\u0000B", "name": "n\\u0000", "description": "\\u0000", "reason": "\\u0000", "lines": []}',
    b'{"title": "\\ud800", "name": "\\udfff", "description": "\\ud800x", "reason": "\\ud800", "lines": []}',
    b'{"lines": [{"description": "\\ud800", "quantity": "1"}]}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a": ' * 50_000 + b"1" + b"}" * 50_000,
]


@pytest.mark.parametrize("who", ["procurement", "sales_a", "accounts_a"])
def test_no_api_body_answers_500(app, world, who):
    from portal.api.auth import create_token

    r = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a])
    factories.quote(r, world.supplier_a, world.sales_a)
    factories.order(world.buyer, world.supplier_a, world.procurement, status="placed")
    _, raw = create_token(getattr(world, who), "crawl")
    headers = {"Authorization": f"Bearer {raw}"}
    client = app.test_client()
    failures, seen = [], 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        for method in sorted({"POST", "PUT", "PATCH"} & rule.methods):
            path = rule.rule
            for a in rule.arguments:
                path = re.sub(rf"<(?:\w+:)?{a}>", "1", path)
            for body in ODD_JSON:
                resp = client.open(path, method=method, data=body, headers=headers,
                                   content_type="application/json")
                seen += 1
                problem = resp.get_json(silent=True) or {}
                if resp.status_code != 400 or resp.mimetype != "application/problem+json" \
                        or not problem.get("detail"):
                    failures.append((method, path, body[:30], resp.status_code))
    assert seen > 50  # the crawl reached the API's write operations
    assert not failures, failures[:20]

"""Bad input gets a sentence, not a 500: every GET page, for every kind of person, with odd query strings and
with ids that are someone else's, missing, or absurd."""
from __future__ import annotations

import re

import pytest

from tests import factories

ODD_QUERIES = ["", "?page=abc&per_page=-1", "?page=999999999999999999999", "?status=%00zz&q=%27%22%3C",
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
        paths = []
        if not args:
            paths = [rule.rule]
        else:
            for value in ODD_IDS + ["1"]:
                path = rule.rule
                for a in args:
                    path = re.sub(rf"<(int:)?{a}>", value, path)
                paths.append(path)
        for path in paths:
            for q in ODD_QUERIES:
                resp = client.get(path + q)
                if resp.status_code >= 500:
                    failures.append((path + q, resp.status_code))
    assert not failures, failures[:20]


ODD_FORMS = [{}, {"quantity": "abc", "lock_version": "zz", "version": "-1", "reason": "x" * 5000,
                  "email": "not-an-email", "amount": "1e999", "date": "2026-02-30", "deadline": "soon",
                  "roles": "emperor", "supplier_id": "999999999999", "page": "-3"}]


@pytest.mark.parametrize("who", ["procurement", "sales_a", "accounts_a", "buyer_admin", "approver"])
def test_no_form_post_answers_500(app, world, login, who):
    r = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a])
    factories.quote(r, world.supplier_a, world.sales_a)
    factories.order(world.buyer, world.supplier_a, world.procurement, status="placed")
    client = login(getattr(world, who))
    failures = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.rule.startswith("/api/") or rule.endpoint == "auth.signout":
            continue
        args = list(rule.arguments)
        if any(not re.search(rf"<(int:)?{a}>", rule.rule) for a in args):
            continue
        for value in (["1", "999999"] if args else [None]):
            path = rule.rule
            for a in args:
                path = re.sub(rf"<(int:)?{a}>", value, path)
            for form in ODD_FORMS:
                resp = client.post(path, data=form)
                if resp.status_code >= 500:
                    failures.append((path, sorted(form), resp.status_code))
    assert not failures, failures[:20]

"""The receivables API: GET /api/v1/aging (+ items) for the supplier's accounts team, the dunning history of an
invoice for both sides, and the letter PDF (202 while rendering)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from portal.db import db, utcnow
from portal.receivables import dunning
from portal.receivables.models import DunningSettings
from tests.receivables.conftest import open_invoice, set_days


@pytest.fixture
def token_for():
    from portal.api.auth import create_token

    def _make(user, name="test"):
        _, raw = create_token(user, name)
        return {"Authorization": f"Bearer {raw}"}

    return _make


def test_aging_over_the_api(rw, client, token_for):
    open_invoice(rw, "119.00", days_late=3)
    open_invoice(rw, "238.00", days_late=95, disputed=True)
    open_invoice(rw, "50.00", due_in=5, buyer=rw.buyer2, currency="USD")
    r = client.get("/api/v1/aging", headers=token_for(rw.accounts_a))
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["as_of"] == utcnow().date().isoformat()
    assert body["buckets"] == ["not_due", "d1_30", "d31_60", "d61_90", "d90_plus"]
    acme = next(c for c in body["customers"] if c["buyer_company_id"] == rw.buyer.id)
    assert acme["buckets"]["d1_30"] == {"amount": "119.00", "currency": "EUR"}
    assert acme["buckets"]["d90_plus"] == {"amount": "238.00", "currency": "EUR"}
    assert acme["total"]["amount"] == "357.00" and acme["disputed"]["amount"] == "238.00" and acme["invoices"] == 2
    totals = {t["currency"]: t for t in body["totals"]}
    assert totals["USD"]["buckets"]["not_due"]["amount"] == "50.00" and totals["EUR"]["total"]["amount"] == "357.00"
    items = client.get(f"/api/v1/aging/{rw.buyer.id}/items?bucket=d90_plus",
                       headers=token_for(rw.accounts_a)).get_json()["items"]
    assert [(i["open_amount"]["amount"], i["days_late"], i["disputed"]) for i in items] == [("238.00", 95, True)]
    bad = client.get(f"/api/v1/aging/{rw.buyer.id}/items?bucket=soon", headers=token_for(rw.accounts_a))
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"


def test_aging_is_for_supplier_accounts_only(rw, client, token_for):
    open_invoice(rw, "119.00", days_late=3)
    assert client.get("/api/v1/aging", headers=token_for(rw.buyer_accounts)).status_code == 404
    assert client.get("/api/v1/aging", headers=token_for(rw.sales_a)).status_code == 403
    assert client.get("/api/v1/aging").status_code == 401
    # Beta sees nothing of Alpha's, and Alpha's customer is not Beta's
    assert client.get("/api/v1/aging", headers=token_for(rw.accounts_b)).get_json()["customers"] == []
    assert client.get(f"/api/v1/aging/{rw.buyer.id}/items", headers=token_for(rw.accounts_b)).status_code == 404


def test_dunning_history_both_sides_and_letter(rw, client, token_for, run_jobs):
    set_days(rw.supplier_a, "3,14")
    db.session.add(DunningSettings(supplier_company_id=rw.supplier_a.id, charge_interest=True,
                                   reference_rate=Decimal("2.15"), reference_rate_date=date(2026, 7, 1)))
    db.session.commit()
    inv = open_invoice(rw, "1190.00", days_late=45)
    dunning.run_dunning()
    for user in (rw.accounts_a, rw.buyer_accounts):
        r = client.get(f"/api/v1/invoices/{inv.id}/dunning", headers=token_for(user))
        assert r.status_code == 200
        body = r.get_json()
        assert body["disputed"] is False and len(body["notices"]) == 1
        n = body["notices"][0]
        assert (n["level"], n["title"], n["days_late"]) == (2, "First dunning notice", 45)
        assert n["open_amount"] == {"amount": "1190.00", "currency": "EUR"}
        assert n["interest"] == {"rate_percent": "10.15", "amount": {"amount": "14.89", "currency": "EUR"}}
    pending = client.get(n["links"]["letter"], headers=token_for(rw.buyer_accounts))
    assert pending.status_code == 202 and pending.headers["Retry-After"]
    run_jobs()
    letter = client.get(n["links"]["letter"], headers=token_for(rw.buyer_accounts))
    assert letter.status_code == 200 and letter.data.startswith(b"%PDF")
    for outsider in (rw.buyer2_accounts, rw.accounts_b):
        assert client.get(f"/api/v1/invoices/{inv.id}/dunning", headers=token_for(outsider)).status_code == 404
        assert client.get(n["links"]["letter"], headers=token_for(outsider)).status_code == 404

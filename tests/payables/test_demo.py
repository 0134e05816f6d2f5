"""The demo shows payables in use: tolerances, an invoice approved automatically, one disputed, one executed
payment run with a cash discount whose SEPA file validates, and a remittance advice for Nordstahl."""
from __future__ import annotations

import sqlalchemy as sa
from lxml import etree

from portal.db import db


def test_demo_seed_shows_payables(app, demo_db):
    from portal.payables import runs, sepa
    from portal.payables.models import Dispute, InvoiceMatch, PaymentRun, RemittanceAdvice

    runner = app.test_cli_runner()
    result = demo_db.seed_result  # `flask demo seed`, run once per test run into the template this is a copy of
    assert result.exit_code == 0, result.output
    assert "payables demo: incomplete" not in result.output
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InvoiceMatch)
                             .where(InvoiceMatch.auto_approved.is_(True))) >= 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Dispute)) == 1
    run = db.session.scalars(sa.select(PaymentRun)).one()
    assert run.status.value == "executed" and run.total_discount > 0
    schema = etree.XMLSchema(etree.parse(str(sepa.xsd_path())))
    schema.assertValid(etree.fromstring(runs.sepa_bytes(run)))
    adv = db.session.scalars(sa.select(RemittanceAdvice)).one()
    assert adv.amount == run.total_amount and adv.status.value == "sent"
    # seeding again changes nothing
    assert runner.invoke(args=["demo", "seed", "--force"]).exit_code == 0
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PaymentRun)) == 1

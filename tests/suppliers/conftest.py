"""Supplier onboarding tests: helpers."""
from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa

from portal.db import db
from portal.notifications.models import OutboxMail
from tests.api.conftest import token_for  # noqa: F401 - the API tests' token fixture
from tests.rfq.conftest import _own_context_per_request, login  # noqa: F401 - one app context per request

GOOD_VAT = "DE136695976"
GOOD_IBAN = "DE89370400440532013000"


def text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def link_in_outbox(email: str) -> str:
    mail = db.session.scalar(sa.select(OutboxMail).where(OutboxMail.to_address == email)
                             .order_by(OutboxMail.id.desc()))
    assert mail is not None, f"no mail to {email}"
    return re.search(r"(/supplier-invitations/[A-Za-z0-9_.\-]+)", mail.body).group(1)


def registration(**over) -> dict:
    data = {"legal_name": "Neuland Metallbau GmbH", "display_name": "Neuland Metall", "country": "DE",
            "vat_number": GOOD_VAT, "address_line1": "Werkstraße 5", "postcode": "12345", "city": "Kassel",
            "currency": "EUR", "categories": "sheet metal, welding", "iban": GOOD_IBAN, "bic": "COBADEFFXXX",
            "bank_name": "Commerzbank", "contact0_name": "Nora Lang", "contact0_function": "Sales",
            "contact0_email": "nora@neuland.test", "contact0_phone": "+49 561 100",
            "name": "Nora Lang", "password": "Blech-und-Stahl-2026", "confirm": "Blech-und-Stahl-2026"}
    data.update(over)
    return data


@pytest.fixture
def open_rfq(world):
    from tests import factories

    return factories.rfq(world.buyer, world.procurement, status="open", suppliers=[world.supplier_a])

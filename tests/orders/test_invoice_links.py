"""The supplier's accounts team reaches invoicing from the order page; nobody else sees those buttons."""
from __future__ import annotations

from portal.orders import shipping
from tests.accounts.helpers import fresh, text


def test_invoice_buttons_on_the_order_page(world, order_in, login):
    o = order_in("acknowledged")
    s = shipping.record_shipment(o, world.sales_a, fresh(o).lock_version, {fresh(o).lines[0].id: "10"})
    supplier_accounts = text(login(world.accounts_a).get(f"/orders/{o.id}"))
    assert f"/invoices/new?shipment_id={s.id}" in supplier_accounts
    assert f"/invoices/new?order_id={o.id}" in supplier_accounts
    for person in (world.sales_a, world.procurement, world.buyer_accounts):
        page = text(login(person).get(f"/orders/{o.id}"))
        assert "/invoices/new" not in page, person.email

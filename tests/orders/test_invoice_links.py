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


def test_invoice_buttons_disappear_once_everything_shipped_is_invoiced(world, order_in, login):
    from portal.invoices import services as invoices

    world.supplier_a.iban = "DE89370400440532013000"
    o = order_in("acknowledged", lines=[("10", "2.00"), ("5", "3.00")])
    first = shipping.record_shipment(o, world.sales_a, fresh(o).lock_version, {fresh(o).lines[0].id: "10"})
    second = shipping.record_shipment(o, world.sales_a, fresh(o).lock_version, {fresh(o).lines[1].id: "5"})
    inv = invoices.create_draft(world.accounts_a, shipment_id=first.id)
    invoices.issue(inv, world.accounts_a, inv.lock_version)
    page = text(login(world.accounts_a).get(f"/orders/{o.id}"))
    assert f"/invoices/new?shipment_id={first.id}" not in page  # invoiced: no dead-end button
    assert f"/invoices/new?shipment_id={second.id}" in page and f"/invoices/new?order_id={o.id}" in page
    assert "Nothing for you to do" not in page

    picker = text(login(world.accounts_a).get("/invoices/new"))
    assert second.number in picker and first.number not in picker and "1 shipment with quantities" in picker

    inv = invoices.create_draft(world.accounts_a, shipment_id=second.id)
    invoices.issue(inv, world.accounts_a, inv.lock_version)
    page = text(login(world.accounts_a).get(f"/orders/{o.id}"))
    assert "/invoices/new" not in page
    assert "Every shipment is invoiced" in text(login(world.accounts_a).get("/invoices/new"))

"""Factories for the business world of the tests."""
from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field

from portal.accounts.models import Company, CompanyKind, User
from portal.db import db

PASSWORD = "correct-horse-battery"
_hash = None
_seq = itertools.count(1)


# The test people's hash is scrypt with a small work factor (N=2**10 instead of the production 2**15): checking it
# takes ~1 ms instead of ~100 ms, and the suite signs in through the real form some thousands of times. Sign-in
# reads the parameters from the stored hash, so the same code path runs; new passwords (sign-up, invitations,
# password changes) still get the production cost from portal.accounts.services.hash_password.
TEST_HASH_METHOD = "scrypt:1024:8:1"


def password_hash() -> str:
    global _hash
    if _hash is None:
        from werkzeug.security import generate_password_hash

        _hash = generate_password_hash(PASSWORD, method=TEST_HASH_METHOD)
    return _hash


def company(kind="buyer", name=None, country="DE", currency="EUR", commit=True, flush=True, **kw) -> Company:
    n = next(_seq)
    c = Company(legal_name=name or f"{kind.title()} Company {n} GmbH", display_name=name or f"{kind.title()} {n}",
                country=country, kind=CompanyKind(kind), default_currency=currency,
                address_line1=f"Teststraße {n}", postcode="10115", city="Berlin",
                **{"language": "en", **kw})  # documents in English unless a test asks for another language
    db.session.add(c)
    if commit:
        db.session.commit()
    elif flush:
        db.session.flush()
    return c


def user(company: Company, *roles, email=None, name=None, active=True, commit=True, flush=True) -> User:
    n = next(_seq)
    owner = {"company_id": company.id} if company.id is not None else {"company": company}  # (not flushed yet)
    u = User(**owner, email=email or f"user{n}@example.com", name=name or f"Person {n}",
             password_hash=password_hash(), active=active)
    u.set_roles(roles or ["admin"])
    db.session.add(u)
    if commit:
        db.session.commit()
    elif flush:
        db.session.flush()
    return u


_user = user


@dataclass
class World:
    buyer: Company
    supplier_a: Company
    supplier_b: Company
    people: dict = field(default_factory=dict)

    def __getattr__(self, item):
        try:
            return self.people[item]
        except KeyError:
            raise AttributeError(item)

    @classmethod
    def build(cls) -> "World":
        """One transaction and one flush for the whole world (it is built for ~1,500 tests per database: a commit
        per row cost ~0.3 s on PostgreSQL, a flush per row ~60 ms; one flush sends one INSERT per table)."""
        one = {"commit": False, "flush": False}
        buyer = company("buyer", name="Acme Buying GmbH", **one)
        sa_ = company("supplier", name="Supplier Alpha GmbH", categories="fasteners", **one)
        sb = company("supplier", name="Supplier Beta SAS", country="FR", categories="packaging", **one)
        w = cls(buyer=buyer, supplier_a=sa_, supplier_b=sb)
        user = functools.partial(_user, commit=False, flush=False)
        w.people = {
            "buyer_admin": user(buyer, "admin", email="admin@acme.test"),
            "procurement": user(buyer, "procurement", email="buyer@acme.test"),
            "procurement2": user(buyer, "procurement", email="buyer2@acme.test"),
            "approver": user(buyer, "approver", email="approver@acme.test"),
            "buyer_accounts": user(buyer, "accounts", email="accounts@acme.test"),
            "sales_a": user(sa_, "sales", email="sales@alpha.test"),
            "admin_a": user(sa_, "admin", email="admin@alpha.test"),
            "accounts_a": user(sa_, "accounts", email="accounts@alpha.test"),
            "sales_b": user(sb, "sales", email="sales@beta.test"),
            "admin_b": user(sb, "admin", email="admin@beta.test"),
        }
        db.session.commit()
        return w


# --------------------------------------------------------------------------------------------- sourcing
# Model-level builders (no service rules applied) so each domain's tests can set up any state directly.

def rfq(buyer: Company, creator: User, *, lines=3, status="open", sealed=True, deadline=None, currency="EUR",
        suppliers=(), title=None, quantities=None):
    from datetime import timedelta
    from decimal import Decimal

    from portal.db import utcnow
    from portal.numbering import format_reference, next_number
    from portal.rfq.models import Rfq, RfqInvitation, RfqLine
    from portal.rfq.states import RfqStatus

    now = utcnow()
    n = next_number(buyer.id, "RFQ", now.year)
    r = Rfq(buyer_company_id=buyer.id, reference=format_reference("RFQ", now.year, n, 4),
            title=title or f"Test RFQ {n}", currency=currency, deadline=deadline or now + timedelta(days=7),
            sealed=sealed, status=RfqStatus(status), created_by_id=creator.id,
            delivery_address="Teststraße 1, 10115 Berlin",
            published_at=None if status == "draft" else now)
    quantities = quantities or [Decimal(100 * (i + 1)) for i in range(lines)]
    for i, q in enumerate(quantities):
        r.lines.append(RfqLine(position=i + 1, description=f"Item {i + 1}", part_number=f"P-{i + 1:04d}",
                               quantity=Decimal(q), unit="pcs"))
    for s in suppliers:
        r.invitations.append(RfqInvitation(supplier_company_id=s.id, invited_by_id=creator.id))
    db.session.add(r)
    db.session.commit()
    return r


def quote(rfq_obj, supplier: Company, author: User, *, prices=None, submitted=True, shipping="0",
          valid_days=30, breaks=None, moq=None, pack_size=None, lead_time_days=10, declined=()):
    """A quote with one version; ``prices`` is a list of unit prices per RFQ line (str/Decimal)."""
    from datetime import timedelta
    from decimal import Decimal

    from portal.db import utcnow
    from portal.quotes.models import Quote, QuoteLine, QuoteVersion
    from portal.quotes.states import QuoteStatus

    prices = prices or ["10.00"] * len(rfq_obj.lines)
    q = Quote(rfq_id=rfq_obj.id, supplier_company_id=supplier.id, created_by_id=author.id,
              status=QuoteStatus.submitted if submitted else QuoteStatus.draft)
    v = QuoteVersion(number=1, created_by_id=author.id, shipping_cost=Decimal(shipping),
                     valid_until=(utcnow() + timedelta(days=valid_days)).date(),
                     submitted_at=utcnow() if submitted else None,
                     submitted_by_id=author.id if submitted else None,
                     rfq_amendment_no=rfq_obj.amendment_no)
    for i, (line, price) in enumerate(zip(rfq_obj.lines, prices)):
        if i in declined:
            v.lines.append(QuoteLine(rfq_line_id=line.id, declined=True, decline_reason="Not in our range"))
            continue
        v.lines.append(QuoteLine(rfq_line_id=line.id, unit_price=Decimal(str(price)),
                                 price_breaks=(breaks or {}).get(i, []), moq=moq, pack_size=pack_size,
                                 lead_time_days=lead_time_days))
    q.versions.append(v)
    db.session.add(q)
    db.session.flush()
    if submitted:
        q.current_version = v
        q.submitted_at = v.submitted_at
    else:
        q.draft_version = v
    db.session.commit()
    return q


# --------------------------------------------------------------------------------------------- ordering

def award(rfq_obj, awarded_by: User, specs, *, mode="split"):
    """An Award as the award service leaves it. ``specs``: (rfq line index, quote, qty, unit price) per line,
    each taken from that quote's current version."""
    from decimal import Decimal

    from portal.quotes.models import Award, AwardLine

    a = Award(rfq_id=rfq_obj.id, buyer_company_id=rfq_obj.buyer_company_id, mode=mode, awarded_by_id=awarded_by.id)
    for idx, q, qty, price in specs:
        line = rfq_obj.lines[idx]
        ql = next(x for x in q.current_version.lines if x.rfq_line_id == line.id)
        a.lines.append(AwardLine(rfq_line_id=line.id, quote_id=q.id, quote_line_id=ql.id,
                                 supplier_company_id=q.supplier_company_id, quantity=Decimal(qty),
                                 unit_price=Decimal(price), line_total=Decimal(qty) * Decimal(price)))
    db.session.add(a)
    db.session.commit()
    return a


def catalog_item(supplier: Company, *, sku=None, price="10.00", moq=None, pack_size=None, breaks=None,
                 active=True, currency="EUR", name=None):
    from decimal import Decimal

    from portal.catalog.models import CatalogItem

    n = next(_seq)
    item = CatalogItem(supplier_company_id=supplier.id, sku=sku or f"SKU-{n:05d}", name=name or f"Item {n}",
                       unit="pcs", unit_price=Decimal(price), moq=Decimal(moq) if moq else None,
                       pack_size=Decimal(pack_size) if pack_size else None, price_breaks=breaks or [],
                       currency=currency, active=active)
    db.session.add(item)
    db.session.commit()
    return item


def order(buyer: Company, supplier: Company, creator: User, *, status="draft", lines=None, currency="EUR",
          source="catalog", sent=None):
    """A purchase order; ``lines`` is a list of (quantity, unit_price) pairs (default two lines).

    An order in a state reached only after sending (submitted and later) is sent to the supplier (``sent_at``,
    stamped by the model); ``sent=True`` marks a cancelled one as cancelled after sending."""
    from decimal import Decimal

    from portal.money import quantize
    from portal.orders.models import OrderLine, OrderSource, PurchaseOrder
    from portal.orders.numbers import new_po_number, new_supplier_order_number
    from portal.db import utcnow
    from portal.orders.states import OrderStatus

    lines = lines or [("100", "2.50"), ("40", "12.00")]
    o = PurchaseOrder(buyer_company_id=buyer.id, supplier_company_id=supplier.id,
                      po_number=new_po_number(buyer.id), source=OrderSource(source), currency=currency,
                      status=OrderStatus(status), created_by_id=creator.id, delivery_address="Teststraße 1")
    total = Decimal("0")
    for i, (qty, price) in enumerate(lines, 1):
        lt = quantize(Decimal(qty) * Decimal(price), currency)
        total += lt
        o.lines.append(OrderLine(position=i, sku=f"SKU-{i:03d}", description=f"Line {i}", quantity=Decimal(qty),
                                 unit_price=Decimal(price), line_total=lt))
    o.total_net = total
    if sent:
        o.sent_at = o.sent_at or utcnow()
    if o.status not in (OrderStatus.draft, OrderStatus.awaiting_approval, OrderStatus.submitted):
        o.supplier_order_number = new_supplier_order_number(supplier.id)
    db.session.add(o)
    db.session.commit()
    return o


# ------------------------------------------------------------------------------------ comparison / award
# (added by the comparison & award work; builders only, model level)

def closed_rfq(buyer: Company, creator: User, *, sealed=True, **kw):
    """An RFQ past its deadline, closed, with sealed bids opened (what closing does), ready to award."""
    from datetime import timedelta

    from portal.db import utcnow
    from portal.rfq.states import RfqStatus

    r = rfq(buyer, creator, sealed=sealed, **kw)
    now = utcnow()
    r.deadline = now - timedelta(hours=1)
    r.status = RfqStatus.closed
    r.closed_at = now
    r.opened_at = now if sealed else None
    db.session.commit()
    return r


def withdraw_quote(q):
    """Mark a submitted quote withdrawn (as the supplier's withdrawal does)."""
    from portal.db import utcnow
    from portal.quotes.states import QuoteStatus

    q.status = QuoteStatus.withdrawn
    q.withdrawn_at = utcnow()
    db.session.commit()
    return q

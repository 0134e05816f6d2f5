"""Factories for the business world of the tests."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from portal.accounts.models import Company, CompanyKind, User
from portal.db import db

PASSWORD = "correct-horse-battery"
_hash = None
_seq = itertools.count(1)


def password_hash() -> str:
    global _hash
    if _hash is None:
        from portal.accounts.services import hash_password

        _hash = hash_password(PASSWORD)
    return _hash


def company(kind="buyer", name=None, country="DE", currency="EUR", **kw) -> Company:
    n = next(_seq)
    c = Company(legal_name=name or f"{kind.title()} Company {n} GmbH", display_name=name or f"{kind.title()} {n}",
                country=country, kind=CompanyKind(kind), default_currency=currency,
                address_line1=f"Teststraße {n}", postcode="10115", city="Berlin", **kw)
    db.session.add(c)
    db.session.commit()
    return c


def user(company: Company, *roles, email=None, name=None, active=True) -> User:
    n = next(_seq)
    u = User(company_id=company.id, email=email or f"user{n}@example.com", name=name or f"Person {n}",
             password_hash=password_hash(), active=active)
    u.set_roles(roles or ["admin"])
    db.session.add(u)
    db.session.commit()
    return u


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
        buyer = company("buyer", name="Acme Buying GmbH")
        sa_ = company("supplier", name="Supplier Alpha GmbH", categories="fasteners")
        sb = company("supplier", name="Supplier Beta SAS", country="FR", categories="packaging")
        w = cls(buyer=buyer, supplier_a=sa_, supplier_b=sb)
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
        return w

"""The demo world: two buyers, four suppliers, people of every role. Every password is `portal-demo`."""
from __future__ import annotations

import importlib

import sqlalchemy as sa

from portal.accounts.models import Company, User
from portal.accounts.services import build_company, hash_password
from portal.db import db

DEMO_PASSWORD = "portal-demo"

COMPANIES = [
    dict(key="hartmann", legal_name="Hartmann Maschinenbau GmbH", display_name="Hartmann Maschinenbau",
         country="DE", vat_number="DE342366712", kind="buyer", currency="EUR",
         address_line1="Industriestraße 14", postcode="70565", city="Stuttgart",
         iban="DE89370400440532013000", bic="COBADEFFXXX", bank_name="Commerzbank"),
    dict(key="vandijk", legal_name="Van Dijk Food Processing B.V.", display_name="Van Dijk Food",
         country="NL", vat_number="NL805888718B01", kind="buyer", currency="EUR",
         address_line1="Waalhaven Oostzijde 85", postcode="3087 BM", city="Rotterdam",
         iban="NL91ABNA0417164300", bic="ABNANL2A", bank_name="ABN AMRO"),
    dict(key="nordstahl", legal_name="Nordstahl Befestigungstechnik GmbH", display_name="Nordstahl Fasteners",
         country="DE", vat_number="DE676122202", kind="supplier", currency="EUR",
         address_line1="Hafenstraße 221", postcode="44147", city="Dortmund",
         categories="fasteners, fixings, threaded rod", iban="DE02120300000000202051", bic="BYLADEM1001",
         bank_name="Deutsche Kreditbank"),
    dict(key="lefevre", legal_name="Emballages Lefèvre SAS", display_name="Lefèvre Packaging",
         country="FR", vat_number="FR17185119393", kind="supplier", currency="EUR",
         address_line1="12 Rue de la Soie", postcode="69100", city="Villeurbanne",
         categories="packaging, cartons, pallets", iban="FR1420041010050500013M02606", bic="PSSTFRPPLYO",
         bank_name="La Banque Postale"),
    dict(key="polmet", legal_name="Polmet Industrial Supplies Sp. z o.o.", display_name="Polmet Industrial",
         country="PL", vat_number="PL5905595326", kind="supplier", currency="EUR",
         address_line1="ul. Głogowska 218", postcode="60-104", city="Poznań",
         categories="bearings, tools, fasteners", iban="PL61109010140000071219812874", bic="WBKPPLPP",
         bank_name="Santander Bank Polska"),
    dict(key="alpenwerk", legal_name="Alpenwerk Hydraulik GmbH", display_name="Alpenwerk Hydraulics",
         country="AT", vat_number="ATU78815356", kind="both", currency="EUR",
         address_line1="Wiener Straße 131", postcode="4020", city="Linz",
         categories="hydraulics, seals, hoses", iban="AT611904300234573201", bic="BKAUATWW",
         bank_name="UniCredit Bank Austria"),
]

PEOPLE = {
    "hartmann": [("Anna Keller", "anna.keller@hartmann.example", ["admin", "approver"]),
                 ("Jonas Weber", "jonas.weber@hartmann.example", ["procurement"]),
                 ("Petra Braun", "petra.braun@hartmann.example", ["approver"]),
                 ("Lukas Fischer", "lukas.fischer@hartmann.example", ["accounts"]),
                 ("Felix Wagner", "felix.wagner@hartmann.example", ["requester"])],  # requisitions (portal/requisitions/demo.py)
    "vandijk": [("Sanne de Vries", "sanne.devries@vandijk.example", ["admin", "approver"]),
                ("Daan Bakker", "daan.bakker@vandijk.example", ["procurement"]),
                ("Eva Jansen", "eva.jansen@vandijk.example", ["accounts"])],
    "nordstahl": [("Klaus Richter", "klaus.richter@nordstahl.example", ["admin"]),
                  ("Mia Schulz", "mia.schulz@nordstahl.example", ["sales"]),
                  ("Tobias Wolf", "tobias.wolf@nordstahl.example", ["accounts"])],
    "lefevre": [("Camille Lefèvre", "camille.lefevre@lefevre.example", ["admin", "sales"]),
                ("Hugo Martin", "hugo.martin@lefevre.example", ["accounts"])],
    "polmet": [("Katarzyna Nowak", "katarzyna.nowak@polmet.example", ["admin", "accounts"]),
               ("Piotr Zieliński", "piotr.zielinski@polmet.example", ["sales"])],
    "alpenwerk": [("Stefan Gruber", "stefan.gruber@alpenwerk.example", ["admin"]),
                  ("Lena Huber", "lena.huber@alpenwerk.example", ["sales", "procurement"]),
                  ("Markus Pichler", "markus.pichler@alpenwerk.example", ["accounts", "approver"])],
}

# Domain seeders run after the accounts, each given {key: Company} and {email: User}.
DOMAIN_SEEDERS = ["portal.rfq.demo", "portal.quotes.demo", "portal.catalog.demo", "portal.credit.demo",
                  "portal.orders.demo", "portal.invoices.demo", "portal.einvoice.demo", "portal.payables.demo", "portal.receivables.demo",
                  "portal.requisitions.demo", "portal.budgets.demo", "portal.frameworks.demo", "portal.suppliers.demo",
                  "portal.documents.demo"]  # last: the languages of documents issued from now on


def seed(force: bool = False) -> str:
    exists = db.session.scalar(sa.select(User.id).where(User.email == PEOPLE["hartmann"][0][1]))
    if exists and not force:
        return "Demo data already present; nothing to do."
    pw_hash = hash_password(DEMO_PASSWORD)
    companies: dict[str, Company] = {}
    users: dict[str, User] = {}
    for spec in COMPANIES:
        spec = dict(spec)
        key = spec.pop("key")
        existing = db.session.scalar(sa.select(Company).where(Company.vat_number == spec["vat_number"]))
        company = existing or build_company(**spec)
        db.session.add(company)
        db.session.flush()
        companies[key] = company
        for name, email, roles in PEOPLE[key]:
            user = db.session.scalar(sa.select(User).where(User.email == email))
            if user is None:
                user = User(company_id=company.id, email=email, name=name, password_hash=pw_hash)
                user.set_roles(roles)
                db.session.add(user)
            users[email] = user
    db.session.commit()
    for path in DOMAIN_SEEDERS:
        try:
            mod = importlib.import_module(path)
        except ModuleNotFoundError as exc:
            if exc.name != path:
                raise
            continue
        mod.seed(companies, users)
    return f"Seeded {len(companies)} companies and {len(users)} people. Password for all: {DEMO_PASSWORD}"

"""Operator commands: onboard companies and users, seed the demo world."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.errors import DomainError

companies_cli = AppGroup("companies", help="Onboard and list companies.")
users_cli = AppGroup("users", help="Create members of a company.")
demo_cli = AppGroup("demo", help="Demo data.")


def _fail(exc: DomainError):
    details = "; ".join(f"{k}: {v}" for k, v in exc.errors.items())
    raise click.ClickException(exc.message + (f" ({details})" if details and details not in exc.message else ""))


@companies_cli.command("create")
@click.option("--name", required=True, help="Legal name.")
@click.option("--display-name", default=None)
@click.option("--country", required=True, help="ISO country code, e.g. DE.")
@click.option("--vat", "vat", default=None, help="VAT/tax number, validated for the country.")
@click.option("--kind", type=click.Choice(["buyer", "supplier", "both"]), required=True)
@click.option("--currency", default="EUR", show_default=True)
@click.option("--address", default="", help="Street and number.")
@click.option("--postcode", default="")
@click.option("--city", default="")
@click.option("--categories", default="", help="Comma separated (suppliers).")
@click.option("--address2", default="", help="Second address line.")
@click.option("--iban", default=None, help="IBAN printed on invoices (validated).")
@click.option("--bic", default=None, help="BIC of the bank (validated).")
@click.option("--bank-name", default=None)
@click.option("--website", default=None, help="http(s) address.")
def companies_create(name, display_name, country, vat, kind, currency, address, postcode, city, categories,
                     address2, iban, bic, bank_name, website):
    """Create a company and print its id."""
    from portal.accounts.services import create_company

    try:
        company = create_company(legal_name=name, display_name=display_name, country=country, vat_number=vat,
                                 kind=kind, currency=currency, address_line1=address, address_line2=address2,
                                 postcode=postcode, city=city, categories=categories, iban=iban, bic=bic,
                                 bank_name=bank_name, website=website)
    except DomainError as exc:
        _fail(exc)
    click.echo(company.id)


@companies_cli.command("list")
def companies_list():
    import sqlalchemy as sa

    from portal.accounts.models import Company
    from portal.db import db

    for c in db.session.scalars(sa.select(Company).order_by(Company.id)):
        click.echo(f"{c.id}\t{c.kind.value}\t{c.country}\t{c.vat_number or '-'}\t{c.display_name}")


@users_cli.command("create")
@click.option("--company-id", type=int, required=True)
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["admin", "procurement", "sales", "accounts", "approver"]))
@click.option("--password", required=True)
def users_create(company_id, email, name, roles, password):
    """Create a member of a company and print the user's id."""
    from portal.accounts.services import create_user

    try:
        user = create_user(company_id=company_id, email=email, name=name, roles=roles, password=password)
    except DomainError as exc:
        _fail(exc)
    click.echo(user.id)


@demo_cli.command("seed")
@click.option("--force", is_flag=True, help="Seed even if demo data already exists.")
def demo_seed(force):
    """Create the demo world (companies, people, documents). Runs once unless --force."""
    from portal.demo import seed

    result = seed(force=force)
    click.echo(result)

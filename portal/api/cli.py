from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from portal.errors import DomainError

tokens_cli = AppGroup("tokens", help="Personal API tokens.")


@tokens_cli.command("create")
@click.option("--email", required=True, help="The user the token acts as.")
@click.option("--name", required=True, help="What the token is for.")
@click.option("--api-version", default=None, help="The API version the token answers in (default: the current "
                                                  "one; README: API versions).")
def create(email, name, api_version):
    """Create a token and print it (it is shown only once)."""
    from portal.accounts.models import User
    from portal.api.auth import create_token
    from portal.db import db

    user = db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No user with email {email}.")
    try:
        _, raw = create_token(user, name, api_version=api_version)
    except DomainError as exc:
        raise click.ClickException(exc.message)
    click.echo(raw)

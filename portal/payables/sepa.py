"""SEPA credit transfer files (pain.001.001.09) with ``sepaxml`` (MIT, maintained by Raphael Michel), which
also ships the ISO 20022 XSD the file is validated against (with lxml) before it is stored
(``sepaxml/schemas/pain.001.001.09.xsd``).

IBAN and BIC are checked with python-stdnum (checksums, country formats). Amounts go to sepaxml as integer
cents: only EUR is paid through a SEPA file; other currencies are listed apart in a run."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError as StdnumError

from portal.errors import ValidationFailed
from portal.i18n import _l
from portal.money import quantize

SCHEMA = "pain.001.001.09"
SEPA_CURRENCY = "EUR"


def xsd_path() -> Path:
    import sepaxml

    return Path(sepaxml.__file__).parent / "schemas" / f"{SCHEMA}.xsd"


_schema_cache: dict = {}


def validate_xml(data: bytes) -> None:
    """Validate against the pain.001.001.09 XSD (lxml, schema parsed once per process); a file that does not
    validate is never stored (an error here is a bug, not user input)."""
    from lxml import etree

    schema = _schema_cache.get(SCHEMA)
    if schema is None:
        schema = _schema_cache[SCHEMA] = etree.XMLSchema(etree.parse(str(xsd_path())))
    schema.assertValid(etree.fromstring(data))


def valid_iban(value: str | None) -> str | None:
    try:
        return stdnum_iban.validate(value or "") if value else None
    except StdnumError:
        return None


def valid_bic(value: str | None) -> str | None:
    try:
        return stdnum_bic.validate(value or "") if value else None
    except StdnumError:
        return None


def require_debtor_account(company) -> tuple[str, str]:
    """The buyer's own IBAN and BIC, validated; a sentence naming what to fix otherwise."""
    problems = []
    iban = valid_iban(company.iban)
    bic = valid_bic(company.bic)
    if not company.iban:
        problems.append("no IBAN")
    elif iban is None:
        problems.append(f"the IBAN {company.iban} is not valid (check digits or length)")
    if not company.bic:
        problems.append("no BIC")
    elif bic is None:
        problems.append(f"the BIC {company.bic} is not valid")
    if problems:
        raise ValidationFailed(_l("%(company)s has %(problems)s; an administrator enters the company's bank account "
                                  "under Company settings before payment runs can be made."),
                               company=company.display_name, problems=" and ".join(problems),
                               errors={"iban": _l("Enter a valid IBAN and BIC.")})
    return iban, bic


def cents(amount: Decimal) -> int:
    return int((quantize(amount, SEPA_CURRENCY) * 100).to_integral_value())


_ID_CHARS = re.compile(r"[^A-Za-z0-9/\-?:().,' +]")


def safe_id(text: str, limit: int = 35) -> str:
    return _ID_CHARS.sub("", text)[:limit] or "NOTPROVIDED"


def build_file(*, debtor_name: str, iban: str, bic: str, execution_date: date,
               transfers: list[dict]) -> tuple[bytes, str]:
    """One PmtInf (batch booking) with one transaction per transfer ({name, iban, bic|None, amount (Decimal, EUR),
    end_to_end_id, remittance}). Returns (the XML bytes, validated against the XSD; the message id)."""
    from sepaxml import SepaTransfer

    t = SepaTransfer({"name": debtor_name, "IBAN": iban, "BIC": bic, "batch": True, "currency": SEPA_CURRENCY},
                     schema=SCHEMA, clean=True)
    for tr in transfers:
        payment = {"name": tr["name"], "IBAN": tr["iban"], "amount": cents(tr["amount"]),
                   "execution_date": execution_date, "description": tr["remittance"][:140],
                   "endtoend_id": safe_id(tr["end_to_end_id"])}
        if tr.get("bic"):
            payment["BIC"] = tr["bic"]
        t.add_payment(payment)
    # sepaxml would validate with xmlschema, rebuilding the schema on every call (seconds); lxml validates the
    # same XSD in milliseconds once parsed.
    data = t.export(validate=False)
    validate_xml(data)
    return data, t.msg_id

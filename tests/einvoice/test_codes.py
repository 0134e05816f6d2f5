"""The code lists in portal/einvoice/code_lists.py are the ones the official CEN artefacts check (regenerate with
scripts/einvoice_codelists.py when the artefacts move on), and every code the portal writes is in them."""
from __future__ import annotations

import importlib.util
from decimal import Decimal
from pathlib import Path

import pytest

from portal.einvoice import code_lists, codes, ubl
from portal.einvoice.validation import artefacts_dir

pytestmark = pytest.mark.dialect_free  # sends no SQL: make test runs it in one of its two runs (tests/conftest.py)


def _script():
    path = Path(__file__).resolve().parents[2] / "scripts" / "einvoice_codelists.py"
    spec = importlib.util.spec_from_file_location("einvoice_codelists", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_stored_lists_equal_the_artefacts():
    """Each stored list is what both the CII and the UBL rules accept; a list only one syntax knows fails."""
    script = _script()
    texts = script.xslt_texts(artefacts_dir())
    for attr, (rule, _what) in script.RULES.items():
        stored = getattr(code_lists, attr)
        assert set(script.common(rule, texts)) == stored, (attr, rule)
        for t in texts:
            assert stored <= set(script.extract(t, rule)), (attr, rule)
    assert "SS" not in code_lists.COUNTRY_CODES and "AN" not in code_lists.COUNTRY_CODES  # the two differ here


def test_every_code_the_portal_writes_is_in_the_lists():
    assert set(codes.UNIT_ALIASES.values()) <= codes.UNIT_CODES
    assert set(codes.UNIT_WORDS) <= codes.UNIT_CODES
    assert {c for c, _ in codes.EXEMPTION_REASONS.values() if c} <= codes.VATEX_CODES
    assert {codes.STANDARD, codes.ZERO_RATED, codes.EXEMPT, codes.REVERSE_CHARGE, codes.INTRA_COMMUNITY,
            codes.EXPORT, codes.NOT_SUBJECT} <= codes.VAT_CATEGORY_CODES
    assert {codes.INVOICE, codes.CREDIT_NOTE} <= codes.DOCUMENT_TYPE_CODES
    assert codes.CREDIT_TRANSFER_SEPA in codes.PAYMENT_MEANS_CODES
    assert set(ubl.VAT_EAS.values()) <= codes.EAS_CODES
    assert {"DE", "FR", "NL", "AT", "PL", "GR"} <= codes.COUNTRY_CODES and "EL" not in codes.COUNTRY_CODES
    assert {"EUR", "USD", "JPY", "CHF", "GBP"} <= codes.CURRENCY_CODES


def test_unit_and_category_mapping():
    assert codes.unit_code("pcs") == "H87" and codes.unit_code("KG") == "KGM" and codes.unit_code(" m ") == "MTR"
    assert codes.unit_code("KGM") == "KGM"  # already a Rec 20 code
    assert codes.unit_code("bundles of joy") == "C62" and codes.unit_code(None) == "C62"
    assert codes.vat_category(Decimal("19")) == "S" and codes.vat_category("0") == "Z"
    assert codes.vat_category("0", exempt=True) == "E"
    assert codes.vat_category("19", reverse_charge=True) == "K"
    assert codes.exemption("K") == ("VATEX-EU-IC", "Intra-community supply")
    assert codes.vat_country("EL123456789") == "GR" and codes.normalise_vat("de 136 695 976") == "DE136695976"

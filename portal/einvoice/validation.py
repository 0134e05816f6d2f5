"""The official EN 16931 rules (CEN artefacts 1.3.16, compiled Schematron) run with Saxon, for tests, the
benchmark and `flask einvoice validate`. The stylesheets are compiled once per process and reused.

The artefacts live outside the repository in ``shared/en16931`` next to the checkout (found by searching upward
from the repository root), or where PORTAL_EN16931_DIR points; missing artefacts raise, never skip silently.
Needs saxonche (a dev dependency)."""
from __future__ import annotations

import os
import threading
from pathlib import Path

from lxml import etree

SVRL = "{http://purl.oclc.org/dsdl/svrl}"
FALLBACK = Path("/work/shared/en16931")
CII_NS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
UBL_NS = ("urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
          "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2")


class ArtefactsMissing(RuntimeError):
    pass


def artefacts_dir() -> Path:
    env = os.environ.get("PORTAL_EN16931_DIR")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve().parents[2]  # the repository root
    for parent in (here, *here.parents):
        candidates.append(parent / "shared" / "en16931")
    candidates.append(FALLBACK)
    for c in candidates:
        if (c / "validate.py").exists() and (c / "cii" / "xslt").is_dir():
            return c
    raise ArtefactsMissing("The EN 16931 validation artefacts were not found: looked for shared/en16931 above "
                           f"{here} and at {FALLBACK} (set PORTAL_EN16931_DIR).")


class Validator:
    """One Saxon processor and the two compiled stylesheets; ``failed(xml)`` lists the failed rules."""

    def __init__(self, base: Path | None = None):
        from saxonche import PySaxonProcessor

        base = base or artefacts_dir()
        self._proc = PySaxonProcessor(license=False)
        self._lock = threading.Lock()
        self._exe = {}
        for key, path in (("cii", base / "cii/xslt/EN16931-CII-validation.xslt"),
                          ("ubl", base / "ubl/xslt/EN16931-UBL-validation.xslt")):
            self._exe[key] = self._proc.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(path))

    def failed(self, xml: bytes) -> list[dict]:
        ns = etree.QName(etree.fromstring(xml)).namespace
        key = "cii" if ns == CII_NS else "ubl" if ns in UBL_NS else None
        if key is None:
            raise ValueError(f"not a CII or UBL invoice: namespace {ns}")
        with self._lock:
            node = self._proc.parse_xml(xml_text=xml.decode("utf-8"))
            out = self._exe[key].transform_to_string(xdm_node=node)
        report = etree.fromstring(out.encode("utf-8"))
        return [{"id": fa.get("id"), "flag": fa.get("flag") or "fatal", "location": fa.get("location"),
                 "text": " ".join((fa.findtext(SVRL + "text") or "").split())}
                for fa in report.iter(SVRL + "failed-assert")]

    def fatal(self, xml: bytes) -> list[dict]:
        return [f for f in self.failed(xml) if f["flag"] == "fatal"]


_shared: Validator | None = None


def validator() -> Validator:
    global _shared
    if _shared is None:
        _shared = Validator()
    return _shared

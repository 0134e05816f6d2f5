"""Supplier onboarding lifecycles: a buyer's status for a supplier, and the review of a questionnaire answer."""
from __future__ import annotations

import enum

from portal.errors import InvalidTransition
from portal.i18n import _l


class SupplierStatus(str, enum.Enum):
    new = "new"
    approved = "approved"
    blocked = "blocked"


TRANSITIONS: dict[SupplierStatus, set[SupplierStatus]] = {
    SupplierStatus.new: {SupplierStatus.approved, SupplierStatus.blocked},
    SupplierStatus.approved: {SupplierStatus.blocked},
    SupplierStatus.blocked: {SupplierStatus.approved},
}


def check(current: SupplierStatus, target: SupplierStatus) -> None:
    """Raise InvalidTransition (a sentence; 409 in the API) for an illegal move."""
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(_l("A supplier that is %(value)s cannot become %(value2)s."),
                                value=current.value, value2=target.value)


class AnswerReview(str, enum.Enum):
    pending = "pending"
    accepted = "accepted"
    rejected = "rejected"


class CertificateType(str, enum.Enum):
    iso9001 = "iso9001"
    iso14001 = "iso14001"
    iso45001 = "iso45001"
    iso50001 = "iso50001"
    iatf16949 = "iatf16949"
    other = "other"


CERTIFICATE_LABELS = {
    CertificateType.iso9001: "ISO 9001 (quality)",
    CertificateType.iso14001: "ISO 14001 (environment)",
    CertificateType.iso45001: "ISO 45001 (health and safety)",
    CertificateType.iso50001: "ISO 50001 (energy)",
    CertificateType.iatf16949: "IATF 16949 (automotive)",
    CertificateType.other: "Other",
}

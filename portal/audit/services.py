"""Record audit events. Helpers only add to the session; the calling service commits."""
from __future__ import annotations

import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.db import db


def record(entity_type: str, entity_id: int, action: str, *, actor=None, company_id=None,
           from_state=None, to_state=None, detail: str = "", visible_to_company_id=None) -> AuditEvent:
    ev = AuditEvent(
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        actor_id=getattr(actor, "id", actor),
        company_id=company_id,
        from_state=getattr(from_state, "value", from_state),
        to_state=getattr(to_state, "value", to_state),
        detail=detail,
        visible_to_company_id=visible_to_company_id,
    )
    db.session.add(ev)
    return ev


def trail(entity_type: str, entity_id: int, viewer_company_id: int) -> list[AuditEvent]:
    return list(db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
        .where(sa.or_(AuditEvent.visible_to_company_id.is_(None),
                      AuditEvent.visible_to_company_id == viewer_company_id))
        .order_by(AuditEvent.id)
    ))

"""Record audit events. Helpers only add to the session; the calling service commits."""
from __future__ import annotations

import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.db import db
from portal.notifications.messages import Message


def english(message: Message) -> str:
    """The English text of a message: the msgid with its figures in the neutral format the details always had
    ("1,190.00 EUR", "2026-03-31")."""
    from portal.errors import _neutral_money

    values = {}
    for key, value in message.params.items():
        if isinstance(value, dict) and "$money" in value:
            values[key] = _neutral_money(value["$money"], value.get("currency"))
        elif isinstance(value, dict) and "$date" in value:
            values[key] = value["$date"]
        elif isinstance(value, dict) and "$datetime" in value:
            values[key] = value["$datetime"][:16].replace("T", " ")
        elif isinstance(value, dict) and "$msg" in value:
            values[key] = english(Message(value["$msg"][0], value["$msg"][1] or {}))
        else:
            values[key] = value
    return message.msgid % values if values else message.msgid.replace("%%", "%")


def record(entity_type: str, entity_id: int, action: str, *, actor=None, company_id=None,
           from_state=None, to_state=None, detail="", visible_to_company_id=None) -> AuditEvent:
    """``detail`` is a plain text, or a ``msg(_l("..."), figure=...)`` (portal/notifications/messages.py) that
    pages word in the reader's language and format; its English text is stored in ``detail`` as well."""
    message = None
    if isinstance(detail, Message):
        message, detail = detail.to_json(), english(detail)
    ev = AuditEvent(
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        actor_id=getattr(actor, "id", actor),
        company_id=company_id,
        from_state=getattr(from_state, "value", from_state),
        to_state=getattr(to_state, "value", to_state),
        detail=detail,
        message=message,
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

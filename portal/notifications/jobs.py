from __future__ import annotations

from portal.db import db
from portal.jobs.queue import task
from portal.notifications.models import MailStatus, OutboxMail
from portal.notifications.services import deliver


@task()
def send_mail_job(mail_id: int) -> str:
    mail = db.session.get(OutboxMail, mail_id)
    if mail is None:
        return "gone"
    try:
        deliver(mail)
    except Exception as exc:
        db.session.rollback()
        mail = db.session.get(OutboxMail, mail_id)
        mail.status = MailStatus.failed
        mail.error = str(exc)
        db.session.commit()
        raise  # RQ retries with back-off
    return mail.status.value

from __future__ import annotations

from flask import url_for

from portal.accounts.models import Role
from portal.accounts.services import members, pending_invitations
from portal.i18n import state_label
from portal.jobs.titles import job_title
from portal.jobs.views import recent_for


def panels(user) -> list[dict]:
    out = []
    if user.has_role(Role.admin):
        invs = pending_invitations(user.company_id)
        people = members(user.company_id)
        out.append({
            "title": "Company members", "count": sum(1 for p in people if p.active),
            "count_label": "active", "link": url_for("company.members"), "link_label": "Manage members",
            "items": [(f"Invitation pending: {i.email}", url_for("company.members")) for i in invs
                      if i.state == "pending"][:5],
            "empty": "No invitations waiting.",
        })
    jobs = recent_for(user)
    if jobs:
        out.append({
            "title": "Background jobs", "count": sum(1 for j in jobs if not j.done), "count_label": "running",
            "link": url_for("jobs.index"), "link_label": "All jobs",
            "items": [(f"{job_title(j.title)} — {state_label(j.status).lower()}", url_for("jobs.detail", job_id=j.id))
                      for j in jobs],  # the status word in the reader's language
            "empty": "", "position": "last",  # a status tile, not a to-do: after the work tiles
        })
    return out

"""Company members: invitations (single use, expiring, revocable), roles, deactivation, tenant walls."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.accounts import services
from portal.accounts.models import Invitation, Role, User
from portal.audit.models import AuditEvent
from portal.db import db, utcnow
from portal.notifications.models import OutboxMail
from tests import factories
from tests.accounts.helpers import count, fresh, location_path, text

JOIN_PASSWORD = "Copper-Kettle-Harbour-5"


def invite_via_page(admin_client, email="nina@acme.example", roles=("procurement", "approver"),
                    name="Nina Neu"):
    resp = admin_client.post("/company/members", data={"email": email, "name": name, "roles": list(roles)})
    assert resp.status_code == 200
    m = re.search(r'data-testid="invitation-link".*?/invitations/([A-Za-z0-9_\-]+)',
                  resp.get_data(as_text=True), re.S)
    assert m, text(resp)[:1000]
    return m.group(1), resp


def accept(client, token, name="Nina Neu", password=JOIN_PASSWORD):
    return client.post(f"/invitations/{token}",
                       data={"name": name, "password": password, "confirm": password})


# ------------------------------------------------------------------------------------------- invitations

def test_admin_invites_and_link_works_once(world, login, app):
    admin = login(world.buyer_admin)
    token, page = invite_via_page(admin)
    assert "Invitation for nina@acme.example created" in text(page)

    inv = Invitation.query.one()
    assert inv.company_id == world.buyer.id
    assert inv.state == "pending"
    assert inv.token_hash != token  # only a hash is stored
    assert timedelta(hours=71) < inv.expires_at - utcnow() <= timedelta(hours=72)
    mail = OutboxMail.query.filter_by(to_address="nina@acme.example").one()
    assert f"/invitations/{token}" in mail.body

    newcomer = app.test_client()
    assert newcomer.get(f"/invitations/{token}").status_code == 200
    resp = accept(newcomer, token)
    assert resp.status_code == 302
    assert location_path(resp) == "/dashboard"
    assert newcomer.get("/dashboard").status_code == 200  # signed in as the new member

    user = User.query.filter_by(email="nina@acme.example").one()
    assert user.company_id == world.buyer.id
    assert user.roles == {Role.procurement, Role.approver}
    assert user.name == "Nina Neu"
    assert fresh(inv).state == "accepted"

    # the link is spent: both looking at it and posting to it are refused with a sentence
    again = app.test_client()
    resp = again.get(f"/invitations/{token}")
    assert resp.status_code == 410
    assert "This invitation has already been used. Sign in instead." in text(resp)
    resp = accept(again, token, name="Mallory", password="Another-Strong-Pass-1")
    assert resp.status_code == 410
    assert count(User, User.email == "nina@acme.example") == 1


def test_expired_invitation_refused(world, app):
    inv, token = services.invite(world.buyer_admin, email="late@acme.example", name="", roles=["sales"])
    inv.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()

    c = app.test_client()
    resp = c.get(f"/invitations/{token}")
    assert resp.status_code == 410
    assert "This invitation has expired. Ask your administrator for a new one." in text(resp)
    assert accept(c, token).status_code == 410
    assert count(User, User.email == "late@acme.example") == 0


def test_revoked_invitation_refused(world, login, app):
    admin = login(world.buyer_admin)
    token, _ = invite_via_page(admin)
    inv = Invitation.query.one()

    resp = admin.post(f"/company/invitations/{inv.id}/revoke")
    assert resp.status_code == 302
    assert fresh(inv).state == "revoked"

    c = app.test_client()
    resp = c.get(f"/invitations/{token}")
    assert resp.status_code == 410
    assert "This invitation was withdrawn by the company's administrator." in text(resp)
    assert accept(c, token).status_code == 410
    assert count(User, User.email == "nina@acme.example") == 0


def test_unknown_invitation_token_is_404(client):
    resp = client.get("/invitations/not-a-real-token")
    assert resp.status_code == 404
    assert "This invitation link is not valid." in text(resp)


def test_accepting_with_weak_password_keeps_invitation_open(world, app):
    inv, token = services.invite(world.buyer_admin, email="weak@acme.example", name="Wendy", roles=["sales"])
    c = app.test_client()
    resp = accept(c, token, name="Wendy", password="weak")
    assert resp.status_code == 200
    assert "Choose a stronger password" in text(resp)
    assert fresh(inv).state == "pending"
    assert count(User, User.email == "weak@acme.example") == 0


def test_inviting_an_existing_account_is_refused(world, login):
    factories.user(world.supplier_a, "sales", email="taken@alpha.example")
    admin = login(world.buyer_admin)
    resp = admin.post("/company/members", data={"email": "Taken@Alpha.example", "roles": ["procurement"]})
    assert resp.status_code == 200
    assert "An account with this email address already exists." in text(resp)
    assert count(Invitation) == 0


def test_invitation_needs_a_role(world, login):
    admin = login(world.buyer_admin)
    resp = admin.post("/company/members", data={"email": "norole@acme.example"})
    assert resp.status_code == 200
    assert "Choose at least one role." in text(resp)
    assert count(Invitation) == 0


@pytest.mark.parametrize("who", ["procurement", "approver", "buyer_accounts", "sales_a"])
def test_non_admin_gets_403_on_members(world, login, who):
    c = login(getattr(world, who))
    resp = c.get("/company/members")
    assert resp.status_code == 403
    assert "Your role does not allow this." in text(resp)
    target = world.procurement2 if who != "sales_a" else world.accounts_a
    assert c.post(f"/company/members/{target.id}/roles", data={"roles": ["admin"]}).status_code == 403
    assert c.post(f"/company/members/{target.id}/deactivate").status_code == 403
    assert c.post("/company/members", data={"email": "x@acme.example", "roles": ["admin"]}).status_code == 403
    assert count(Invitation) == 0
    assert Role.admin not in fresh(target).roles
    assert fresh(target).active


# ------------------------------------------------------------------------------------------- roles

def test_admin_changes_roles(world, login):
    admin = login(world.buyer_admin)
    resp = admin.post(f"/company/members/{world.procurement.id}/roles",
                      data={"roles": ["approver", "accounts"]})
    assert resp.status_code == 302
    assert fresh(world.procurement).roles == {Role.approver, Role.accounts}
    event = AuditEvent.query.filter_by(action="roles_changed", entity_id=world.procurement.id).one()
    assert event.actor_id == world.buyer_admin.id
    assert event.detail == "procurement → accounts, approver"


def test_cannot_remove_the_last_admin_role(world, login):
    admin = login(world.buyer_admin)
    resp = admin.post(f"/company/members/{world.buyer_admin.id}/roles", data={"roles": ["procurement"]},
                      follow_redirects=True)
    assert "The company needs at least one active administrator." in text(resp)
    assert fresh(world.buyer_admin).roles == {Role.admin}


def test_admin_role_can_move_when_another_admin_exists(world, login):
    second = factories.user(world.buyer, "admin", "procurement", email="second-admin@acme.example")
    admin = login(world.buyer_admin)
    resp = admin.post(f"/company/members/{world.buyer_admin.id}/roles", data={"roles": ["procurement"]})
    assert resp.status_code == 302
    assert fresh(world.buyer_admin).roles == {Role.procurement}
    # now `second` is the last admin and keeps the role
    with pytest.raises(services.Conflict):
        services.set_member_roles(fresh(second), second.id, ["procurement"])


def test_an_inactive_admin_does_not_count_as_the_remaining_admin(world):
    factories.user(world.buyer, "admin", email="retired-admin@acme.example", active=False)
    with pytest.raises(services.Conflict, match="at least one active administrator"):
        services.set_member_roles(world.buyer_admin, world.buyer_admin.id, ["procurement"])


# ------------------------------------------------------------------------------------------- deactivation

def test_admin_deactivates_and_reactivates_member(world, login):
    admin = login(world.buyer_admin)
    member = login(world.procurement)

    resp = admin.post(f"/company/members/{world.procurement.id}/deactivate")
    assert resp.status_code == 302
    user = fresh(world.procurement)
    assert not user.active
    assert user.session_version == 2
    assert location_path(member.get("/dashboard")) == "/signin"

    resp = admin.post(f"/company/members/{world.procurement.id}/activate")
    assert resp.status_code == 302
    assert fresh(world.procurement).active


def test_admin_cannot_deactivate_self(world, login):
    admin = login(world.buyer_admin)
    resp = admin.post(f"/company/members/{world.buyer_admin.id}/deactivate", follow_redirects=True)
    assert "You cannot deactivate yourself." in text(resp)
    assert fresh(world.buyer_admin).active


def test_a_deactivated_admin_no_longer_counts_as_an_admin(world):
    other_admin = factories.user(world.buyer, "admin", email="other-admin@acme.example")
    services.set_member_active(world.buyer_admin, other_admin.id, False)
    assert not fresh(other_admin).active
    with pytest.raises(services.Conflict, match="at least one active administrator"):
        services.set_member_roles(world.buyer_admin, world.buyer_admin.id, ["approver"])


# ------------------------------------------------------------------------------------------- tenant walls

def test_admin_of_another_company_gets_404(world, login):
    admin = login(world.buyer_admin)
    victim = world.sales_a

    resp = admin.post(f"/company/members/{victim.id}/roles", data={"roles": ["accounts"]})
    assert resp.status_code == 404
    resp = admin.post(f"/company/members/{victim.id}/deactivate")
    assert resp.status_code == 404

    victim = fresh(victim)
    assert victim.roles == {Role.sales}
    assert victim.active
    assert victim.session_version == 1


def test_revoking_another_companys_invitation_is_404(world, login):
    inv, _ = services.invite(world.admin_a, email="theirs@alpha.example", name="", roles=["sales"])
    admin = login(world.buyer_admin)
    assert admin.post(f"/company/invitations/{inv.id}/revoke").status_code == 404
    assert fresh(inv).state == "pending"


def test_members_page_lists_only_own_company(world, login):
    body = text(login(world.buyer_admin).get("/company/members"))
    assert world.procurement.email in body
    assert world.sales_a.email not in body
    assert world.admin_b.email not in body


def test_members_page_query_count_does_not_grow_with_members(world, login, count_queries):
    admin = login(world.buyer_admin)
    admin.get("/company/members")
    with count_queries() as few:
        assert admin.get("/company/members").status_code == 200
    for i in range(15):
        factories.user(world.buyer, "procurement", "accounts", email=f"extra{i}@acme.example")
    with count_queries() as many:
        assert admin.get("/company/members").status_code == 200
    assert many.count == few.count


def test_revoke_that_lands_between_lookup_and_accept_wins(world, monkeypatch):
    """The invitee's accept re-reads the invitation under its row lock: a revoke that committed after the link was
    looked up (two requests racing) refuses the accept instead of creating the member."""
    import pytest as _pytest

    from portal.accounts import services as acc
    from portal.accounts.models import User
    from portal.errors import Conflict

    inv, token = acc.invite(world.buyer_admin, email="late@acme.example", name="Late", roles=["procurement"])
    real_find = acc.find_invitation

    def find_then_revoke(t):
        found = real_find(t)
        acc.revoke_invitation(world.buyer_admin, found.id)  # the admin's request commits in between
        return found

    monkeypatch.setattr(acc, "find_invitation", find_then_revoke)
    with _pytest.raises(Conflict, match="withdrawn"):
        acc.accept_invitation(token, name="Late", password="a-long-good-password")
    from portal.db import db

    db.session.rollback()
    assert db.session.query(User).filter_by(email="late@acme.example").count() == 0

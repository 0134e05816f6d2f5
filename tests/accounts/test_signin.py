"""Sign-in, sessions, remember-me, sign-out and the sign-in rate limits."""
from __future__ import annotations

import pytest

from portal.accounts import services
from portal.accounts.models import User
from portal.db import db
from tests import factories
from tests.accounts.helpers import fresh, location_path, text

NEW_PASSWORD = "Fresh-Meadow-Quartz-7"
HOST = "portal.test"  # SERVER_NAME of the test app: the cookies' domain


def signin(client, email, password, remember=False, addr="127.0.0.1", next_=None):
    data = {"email": email, "password": password}
    if remember:
        data["remember"] = "y"
    if next_ is not None:
        data["next"] = next_
    return client.post("/signin", data=data, environ_base={"REMOTE_ADDR": addr})


def is_signed_in(client) -> bool:
    resp = client.get("/dashboard")
    if resp.status_code == 302:
        assert location_path(resp) == "/signin"
        return False
    assert resp.status_code == 200
    return True


def set_cookies(resp, name):
    return [c for c in resp.headers.getlist("Set-Cookie") if c.startswith(name + "=")]


# ------------------------------------------------------------------------------------------- the form

def test_correct_password_signs_in_and_records_last_login(world, client):
    user = world.procurement
    assert user.last_login_at is None
    resp = signin(client, "BUYER@acme.test", factories.PASSWORD)
    assert resp.status_code == 302
    assert location_path(resp) == "/dashboard"
    assert is_signed_in(client)
    assert fresh(user).last_login_at is not None


def test_wrong_password_refused_with_message(world, client):
    resp = signin(client, world.procurement.email, "not-the-password")
    assert resp.status_code == 200
    assert "The email address or password is not correct." in text(resp)
    assert not is_signed_in(client)


def test_unknown_email_gets_the_same_message(world, client):
    resp = signin(client, "nobody@acme.test", factories.PASSWORD)
    assert resp.status_code == 200
    assert "The email address or password is not correct." in text(resp)
    assert "deactivated" not in text(resp)


def test_deactivated_user_cannot_sign_in(world, client):
    gone = factories.user(world.buyer, "procurement", email="gone@acme.test", active=False)
    resp = signin(client, gone.email, factories.PASSWORD)
    assert resp.status_code == 200
    assert "This account has been deactivated. Ask your company's administrator." in text(resp)
    assert not is_signed_in(client)


def test_deactivated_wrong_password_does_not_reveal_the_account(world, client):
    gone = factories.user(world.buyer, "procurement", email="gone@acme.test", active=False)
    resp = signin(client, gone.email, "wrong-password-here")
    assert "The email address or password is not correct." in text(resp)
    assert "deactivated" not in text(resp)


@pytest.mark.parametrize("target, expected", [
    ("/company/", "/company/"),
    ("//evil.example/phish", "/dashboard"),
    ("https://evil.example/", "/dashboard"),
])
def test_next_is_followed_only_inside_the_portal(world, client, target, expected):
    resp = signin(client, world.buyer_admin.email, factories.PASSWORD, next_=target)
    assert resp.status_code == 302
    assert resp.headers["Location"] in (expected, f"http://{HOST}{expected}")


# ------------------------------------------------------------------------------------------- sessions

def test_deactivated_users_open_session_is_signed_out(world, login):
    c = login(world.procurement)
    assert is_signed_in(c)

    services.set_member_active(world.buyer_admin, world.procurement.id, False)

    resp = c.get("/dashboard")
    assert resp.status_code == 302
    assert location_path(resp) == "/signin"


def test_inactive_flag_alone_ends_the_session(world, login):
    """Even without the session_version bump, an inactive user is no one."""
    c = login(world.procurement)
    db.session.execute(db.update(User).where(User.id == world.procurement.id).values(active=False))
    db.session.commit()
    assert not is_signed_in(c)


def test_password_change_signs_out_other_sessions(world, login, app):
    user = world.procurement
    here, elsewhere = login(user), login(user)
    assert is_signed_in(elsewhere)

    resp = here.post("/account", data={"pw-current_password": factories.PASSWORD, "pw-password": NEW_PASSWORD,
                                       "pw-confirm": NEW_PASSWORD, "pw-submit": "y"})
    assert resp.status_code == 302, text(resp)[:500]
    assert location_path(resp) == "/account"

    assert fresh(user).session_version == 2
    assert is_signed_in(here)  # this browser got the new session version
    assert not is_signed_in(elsewhere)
    # old password no longer works, the new one does
    assert "not correct" in text(signin(app.test_client(), user.email, factories.PASSWORD))
    assert signin(app.test_client(), user.email, NEW_PASSWORD).status_code == 302


def test_password_change_with_wrong_current_password_changes_nothing(world, login):
    user = world.procurement
    c = login(user)
    resp = c.post("/account", data={"pw-current_password": "wrong-wrong-wrong", "pw-password": NEW_PASSWORD,
                                    "pw-confirm": NEW_PASSWORD, "pw-submit": "y"})
    assert resp.status_code == 200
    assert "Your current password is not correct." in text(resp)
    assert fresh(user).session_version == 1


def test_password_change_refuses_weak_new_password(world, login):
    user = world.procurement
    c = login(user)
    resp = c.post("/account", data={"pw-current_password": factories.PASSWORD, "pw-password": "short",
                                    "pw-confirm": "short", "pw-submit": "y"})
    assert resp.status_code == 200
    assert "Choose a stronger password" in text(resp)
    assert fresh(user).session_version == 1


def test_remember_me_cookie_is_httponly_and_only_when_asked(world, client, app):
    plain = signin(app.test_client(), world.procurement.email, factories.PASSWORD)
    assert set_cookies(plain, "remember_token") == []

    resp = signin(client, world.procurement.email, factories.PASSWORD, remember=True)
    assert resp.status_code == 302
    cookies = set_cookies(resp, "remember_token")
    assert len(cookies) == 1
    assert "HttpOnly" in cookies[0]
    assert "SameSite=Lax" in cookies[0]


def test_remember_me_cookie_restores_session_until_password_changes(world, client, app):
    user = world.procurement
    signin(client, user.email, factories.PASSWORD, remember=True)
    token = client.get_cookie("remember_token", domain=HOST)
    assert token is not None

    returning = app.test_client()  # a new browser session: only the remember-me cookie
    returning.set_cookie("remember_token", token.value, domain=HOST)
    assert is_signed_in(returning)

    services.change_password(fresh(user), factories.PASSWORD, NEW_PASSWORD)

    stolen = app.test_client()
    stolen.set_cookie("remember_token", token.value, domain=HOST)
    assert not is_signed_in(stolen)


def test_signout_is_post_only(world, login):
    c = login(world.procurement)
    resp = c.get("/signout")
    assert resp.status_code == 405
    assert is_signed_in(c)

    resp = c.post("/signout")
    assert resp.status_code == 302
    assert location_path(resp) == "/signin"
    assert not is_signed_in(c)


def test_pages_require_sign_in(client):
    resp = client.get("/company/members")
    assert resp.status_code == 302
    assert location_path(resp) == "/signin"


# ------------------------------------------------------------------------------------------- rate limits

def test_more_than_ten_attempts_for_one_account_answer_429(world, client):
    victim = world.procurement.email
    for i in range(10):  # from ten different addresses: only the per-account limit can trigger
        resp = signin(client, victim, f"guess-{i}-wrong", addr=f"10.0.0.{i + 1}")
        assert resp.status_code == 200, i

    resp = signin(client, victim, factories.PASSWORD, addr="10.0.0.99")  # even the right password
    assert resp.status_code == 429
    body = text(resp)
    assert "Slow down" in body
    assert "Too many sign-in attempts for this account. Wait a few minutes and try again." in body
    assert not is_signed_in(client)

    # another account from a fresh address is not affected
    other = signin(client, world.buyer_admin.email, factories.PASSWORD, addr="10.0.1.1")
    assert other.status_code == 302


def test_more_than_ten_attempts_from_one_address_answer_429(world, client):
    for i in range(10):
        resp = signin(client, f"probe{i}@acme.test", "wrong-password", addr="192.0.2.7")
        assert resp.status_code == 200, i

    resp = signin(client, world.procurement.email, factories.PASSWORD, addr="192.0.2.7")
    assert resp.status_code == 429
    assert "Too many sign-in attempts from your network. Wait a few minutes and try again." in text(resp)

    # the same account from another address still works
    assert signin(client, world.procurement.email, factories.PASSWORD, addr="192.0.2.8").status_code == 302


def test_successful_sign_ins_from_one_office_address_are_not_limited(world, client, app):
    """Twelve colleagues behind one address sign in, each in their own browser: none is refused."""
    people = [factories.user(world.buyer, "procurement", email=f"colleague{i}@acme.test") for i in range(12)]
    for person in people:
        own_browser = app.test_client()
        assert signin(own_browser, person.email, factories.PASSWORD, addr="192.0.2.9").status_code == 302, person.email
        assert is_signed_in(own_browser)
    for i in range(10):  # failures still count
        assert signin(client, f"probe{i}@acme.test", "wrong-password", addr="192.0.2.9").status_code == 200, i
    assert signin(client, people[0].email, factories.PASSWORD, addr="192.0.2.9").status_code == 429


def test_rate_limit_is_read_from_config_at_request_time(world, client, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "2 per 5 minutes")
    assert signin(client, world.procurement.email, "wrong-1-password").status_code == 200
    assert signin(client, world.procurement.email, "wrong-2-password").status_code == 200
    assert signin(client, world.procurement.email, "wrong-3-password").status_code == 429


def test_viewing_the_signin_page_is_not_limited(client):
    for _ in range(15):
        assert client.get("/signin").status_code == 200

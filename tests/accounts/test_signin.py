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
# Failed sign-ins count per account-and-address pair; an address is refused only for clear abuse; an account
# attacked from many addresses is slowed down for new browsers, never locked against its owner.

def test_failures_count_per_account_and_address_pair(world, client, app):
    victim = world.procurement.email
    for i in range(10):
        assert signin(client, victim, f"guess-{i}-wrong", addr="10.0.0.1").status_code == 200, i

    resp = signin(client, victim, factories.PASSWORD, addr="10.0.0.1")  # even the right password, from there
    assert resp.status_code == 429
    assert 1 <= int(resp.headers["Retry-After"]) <= 300
    body = text(resp)
    assert "Slow down" in body
    assert "Too many failed sign-ins for this account from your network. Wait a few minutes" in body
    assert not is_signed_in(client)

    # the same address for another account, and the same account from its owner's address, are not refused
    assert signin(app.test_client(), world.buyer_admin.email, factories.PASSWORD, addr="10.0.0.1").status_code == 302
    owner = app.test_client()
    assert signin(owner, victim, factories.PASSWORD, addr="10.0.0.2").status_code == 302
    assert is_signed_in(owner)


def test_failures_for_other_accounts_do_not_lock_out_colleagues_behind_the_same_address(world, client, app):
    """Eleven failed sign-ins on made-up addresses from one office address: the colleagues still get in."""
    for i in range(11):
        assert signin(client, f"probe{i}@acme.test", "wrong-password", addr="192.0.2.7").status_code == 200, i
    colleague = app.test_client()
    assert signin(colleague, world.procurement.email, factories.PASSWORD, addr="192.0.2.7").status_code == 302
    assert is_signed_in(colleague)


def test_clear_abuse_from_one_address_is_refused(world, client, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_ADDRESS_LIMIT", "12 per 5 minutes")
    for i in range(12):
        assert signin(client, f"probe{i}@acme.test", "wrong-password", addr="192.0.2.7").status_code == 200, i

    resp = signin(client, world.procurement.email, factories.PASSWORD, addr="192.0.2.7")
    assert resp.status_code == 429
    assert "Retry-After" in resp.headers
    assert "Too many failed sign-ins from your network. Wait a few minutes and try again." in text(resp)
    # the same account from another address still works
    assert signin(client, world.procurement.email, factories.PASSWORD, addr="192.0.2.8").status_code == 302


def test_owner_is_not_locked_out_by_failures_from_many_addresses(world, client, app):
    victim = world.procurement.email
    for i in range(30):  # a spread attack: one guess from each of thirty addresses
        assert signin(client, victim, f"guess-{i}-wrong", addr=f"10.0.0.{i + 1}").status_code == 200, i

    owner = app.test_client()
    assert signin(owner, victim, factories.PASSWORD, addr="10.9.9.9").status_code == 302
    assert is_signed_in(owner)


def test_attacked_account_slows_new_browsers_down_but_not_known_ones(world, client, app, monkeypatch):
    import time

    victim = world.procurement.email
    owner = app.test_client()
    assert signin(owner, victim, factories.PASSWORD, addr="10.9.9.9").status_code == 302  # a known browser now
    owner.post("/signout")

    for i in range(10):
        assert signin(client, victim, f"guess-{i}-wrong", addr=f"10.0.0.{i + 1}").status_code == 200, i

    # a new browser from a new address: one try, then a short wait
    stranger = app.test_client()
    assert signin(stranger, victim, "another-guess", addr="10.0.1.1").status_code == 200
    resp = signin(stranger, victim, factories.PASSWORD, addr="10.0.1.1")
    assert resp.status_code == 429
    wait = int(resp.headers["Retry-After"])
    assert 1 <= wait <= app.config["LOGIN_SLOWDOWN_SECONDS"]
    assert "each try from a new browser waits a moment" in text(resp)

    # the owner's browser is not slowed down: a typo, then the right password, at once
    assert signin(owner, victim, "typo-password", addr="10.9.9.9").status_code == 200
    assert signin(owner, victim, factories.PASSWORD, addr="10.9.9.9").status_code == 302
    assert is_signed_in(owner)

    # after the short wait the new browser may try again (and the right password gets in)
    monkeypatch.setitem(app.config, "LOGIN_SLOWDOWN_SECONDS", 1)
    other = app.test_client()
    assert signin(other, victim, "guess-x-wrong", addr="10.0.2.1").status_code == 200
    assert signin(other, victim, factories.PASSWORD, addr="10.0.2.1").status_code == 429
    time.sleep(1.2)
    assert signin(other, victim, factories.PASSWORD, addr="10.0.2.1").status_code == 302


def test_guessing_from_the_owners_address_does_not_lock_the_owners_browser(world, client, app):
    victim = world.procurement.email
    owner = app.test_client()
    assert signin(owner, victim, factories.PASSWORD, addr="192.0.2.50").status_code == 302
    owner.post("/signout")
    for i in range(10):  # a colleague at the same office address guesses
        assert signin(client, victim, f"guess-{i}-wrong", addr="192.0.2.50").status_code == 200, i
    assert signin(client, victim, factories.PASSWORD, addr="192.0.2.50").status_code == 429

    assert signin(owner, victim, factories.PASSWORD, addr="192.0.2.50").status_code == 302
    assert is_signed_in(owner)


def test_a_forged_known_browser_cookie_is_ignored(world, client, app):
    from portal.accounts import throttle

    victim = world.procurement.email
    for i in range(10):
        signin(client, victim, f"guess-{i}-wrong", addr=f"10.0.0.{i + 1}")
    forger = app.test_client()
    forger.set_cookie(throttle.KNOWN_COOKIE, "W10.forged.signature", domain=HOST)
    assert signin(forger, victim, "guess-wrong", addr="10.0.3.1").status_code == 200
    assert signin(forger, victim, "guess-wrong-2", addr="10.0.3.1").status_code == 429


def test_successful_sign_ins_from_one_office_address_are_not_limited(world, client, app):
    """Twelve colleagues behind one address sign in, each in their own browser: none is refused."""
    people = [factories.user(world.buyer, "procurement", email=f"colleague{i}@acme.test") for i in range(12)]
    for person in people:
        own_browser = app.test_client()
        assert signin(own_browser, person.email, factories.PASSWORD, addr="192.0.2.9").status_code == 302, person.email
        assert is_signed_in(own_browser)
    for i in range(10):  # failures still count, for the pair
        assert signin(client, people[0].email, f"wrong-{i}-password", addr="192.0.2.9").status_code == 200, i
    assert signin(client, people[0].email, factories.PASSWORD, addr="192.0.2.9").status_code == 429
    assert signin(app.test_client(), people[1].email, factories.PASSWORD, addr="192.0.2.9").status_code == 302


def test_a_successful_sign_in_forgives_the_pairs_earlier_failures(world, client, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_ACCOUNT_SLOWDOWN", "100 per 5 minutes")  # the pair rule alone
    user = world.procurement
    for i in range(9):
        assert signin(client, user.email, f"typo-{i}-password", addr="192.0.2.60").status_code == 200, i
    assert signin(client, user.email, factories.PASSWORD, addr="192.0.2.60").status_code == 302
    other = app.test_client()  # another (not yet known) browser at the same address, later that day
    for i in range(2):  # two typos: not the tenth and eleventh failure of the pair
        assert signin(other, user.email, f"typo-again-{i}", addr="192.0.2.60").status_code == 200, i
    assert signin(other, user.email, factories.PASSWORD, addr="192.0.2.60").status_code == 302


def test_rate_limit_is_read_from_config_at_request_time(world, client, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "2 per 5 minutes")
    assert signin(client, world.procurement.email, "wrong-1-password").status_code == 200
    assert signin(client, world.procurement.email, "wrong-2-password").status_code == 200
    assert signin(client, world.procurement.email, "wrong-3-password").status_code == 429


def test_viewing_the_signin_page_is_not_limited(client):
    for _ in range(15):
        assert client.get("/signin").status_code == 200


# ------------------------------------------------------------------------------------- trusted proxies

def _via_proxy(client, email, password, forwarded_for, proxy="10.10.0.1"):
    return client.post("/signin", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": proxy}, headers={"X-Forwarded-For": forwarded_for})


def test_without_trusted_proxies_forwarded_for_is_ignored(world, client, app, monkeypatch):
    monkeypatch.setitem(app.config, "TRUSTED_PROXIES", 0)
    victim = world.procurement.email
    for i in range(10):  # a client inventing a new X-Forwarded-For each time does not escape the limit
        assert _via_proxy(client, victim, f"guess-{i}-wrong", f"198.51.100.{i + 1}").status_code == 200, i
    assert _via_proxy(client, victim, "guess-wrong", "198.51.100.99").status_code == 429


def test_behind_a_trusted_proxy_each_client_has_its_own_bucket(world, client, app, monkeypatch):
    monkeypatch.setitem(app.config, "TRUSTED_PROXIES", 1)
    victim = world.procurement.email
    for i in range(10):  # spoofed earlier hops are not believed: the proxy's own entry is the client
        assert _via_proxy(client, victim, f"guess-{i}-wrong", f"1.2.3.{i}, 203.0.113.5").status_code == 200, i
    assert _via_proxy(client, victim, "guess-wrong", "9.9.9.9, 203.0.113.5").status_code == 429

    owner = app.test_client()  # another client behind the same proxy
    assert _via_proxy(owner, victim, factories.PASSWORD, "203.0.113.6").status_code == 302
    assert is_signed_in(owner)


# ------------------------------------------------------------------------------------------- sign-out

def test_signed_out_session_cookie_does_not_open_the_portal_again(world, client, app):
    signin(client, world.procurement.email, factories.PASSWORD)
    kept = client.get_cookie("session", domain=HOST).value  # someone copied the cookie before sign-out
    assert client.post("/signout").status_code == 302

    replay = app.test_client()
    replay.set_cookie("session", kept, domain=HOST)
    assert not is_signed_in(replay)


def test_signed_out_remember_me_cookie_does_not_open_the_portal_again(world, client, app):
    signin(client, world.procurement.email, factories.PASSWORD, remember=True)
    token = client.get_cookie("remember_token", domain=HOST).value
    assert client.post("/signout").status_code == 302

    returning = app.test_client()
    returning.set_cookie("remember_token", token, domain=HOST)
    assert not is_signed_in(returning)


def test_sign_out_everywhere_from_the_account_page(world, client, app):
    user = world.procurement
    laptop, phone = app.test_client(), app.test_client()
    signin(laptop, user.email, factories.PASSWORD)
    signin(phone, user.email, factories.PASSWORD, remember=True)
    remembered = phone.get_cookie("remember_token", domain=HOST).value

    page = text(laptop.get("/account"))
    assert "Sign out everywhere" in page and "/account/signout-everywhere" in page
    assert laptop.get("/account/signout-everywhere").status_code == 405

    resp = laptop.post("/account/signout-everywhere")
    assert resp.status_code == 302 and location_path(resp) == "/signin"
    assert not is_signed_in(laptop)
    assert not is_signed_in(phone)
    returning = app.test_client()
    returning.set_cookie("remember_token", remembered, domain=HOST)
    assert not is_signed_in(returning)
    # signing in again works
    assert signin(app.test_client(), user.email, factories.PASSWORD).status_code == 302


def test_with_rate_limiting_turned_off_sign_in_works_and_the_throttle_still_counts(world, client, app, monkeypatch):
    """RATELIMIT_ENABLED=False (Flask-Limiter's switch; the benchmarks set it) left Flask-Limiter without a
    strategy, and every sign-in answered 500 from the throttle. The throttle now counts in memory then."""
    from portal import ratelimit
    from portal.extensions import limiter

    monkeypatch.setattr(limiter, "enabled", False)  # what init_app leaves with RATELIMIT_ENABLED=False:
    monkeypatch.setattr(limiter, "_limiter", None)  # disabled, and no strategy built
    monkeypatch.setattr(ratelimit, "_memory", None)
    assert signin(app.test_client(), world.buyer_admin.email, factories.PASSWORD).status_code == 302
    victim = world.procurement.email
    for i in range(10):
        assert signin(client, victim, f"guess-{i}-wrong", addr="10.0.0.9").status_code == 200, i
    assert signin(client, victim, factories.PASSWORD, addr="10.0.0.9").status_code == 429

"""A job's progress card updates its status word from the job's JSON (static/app.js): the word is in the
reader's language, the status itself stays the machine value."""
from __future__ import annotations

from portal.db import db
from tests.jobs.test_jobs import start_export


def test_the_status_word_follows_the_readers_language(world, login):
    world.buyer_admin.language = "de"
    db.session.commit()
    admin = login(world.buyer_admin)
    rec = start_export(admin)
    body = admin.get(f"/jobs/{rec.id}.json").get_json()
    assert body["status"] == "queued" and body["status_label"] == "In Warteschlange"

    world.buyer_admin.language = "en"
    db.session.commit()
    assert admin.get(f"/jobs/{rec.id}.json").get_json()["status_label"] == "Queued"

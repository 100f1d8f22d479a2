"""Web chat session tokens: bound to the server's contact id, unforgeable, expiring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api import web_sessions

KEY = web_sessions.signing_key(b"k" * 32)
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def test_a_session_names_a_server_chosen_contact_and_verifies() -> None:
    token, session = web_sessions.issue(KEY, "loja", timedelta(hours=1), NOW)
    other_token, other = web_sessions.issue(KEY, "loja", timedelta(hours=1), NOW)
    assert session.contact_id.startswith("web_") and session.contact_id != other.contact_id
    assert web_sessions.verify(KEY, token, NOW) == session
    assert web_sessions.verify(KEY, other_token, NOW) == other


def test_forged_tampered_expired_or_foreign_tokens_are_refused() -> None:
    token, _ = web_sessions.issue(KEY, "loja", timedelta(hours=1), NOW)
    payload, signature = token.split(".")
    assert web_sessions.verify(KEY, token, NOW + timedelta(hours=2)) is None
    assert web_sessions.verify(web_sessions.signing_key(b"x" * 32), token, NOW) is None
    forged, _ = web_sessions.issue(web_sessions.signing_key(b"x" * 32), "loja", timedelta(1), NOW)
    assert web_sessions.verify(KEY, forged.split(".")[0] + "." + signature, NOW) is None
    for bad in ("", "tbs_", "tbs_a.b.c", "tba_x.y", payload + ".", token + "x"):
        assert web_sessions.verify(KEY, bad, NOW) is None

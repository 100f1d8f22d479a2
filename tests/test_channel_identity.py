"""Channel identity: nobody reaches a customer's conversation but that customer (and ops reading).

The takeover found from outside — post with a victim's contact id, read the CPF they typed,
speak to the agent as them, end their conversation — is replayed black box over real HTTP on
the dev server; then every channel route is tried with every kind of wrong credential.
"""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import admin_headers, pydantic_client
from tests.live import eventually, sse_events
from tests.test_handoff import flow, setup_omni
from transbordo.stack import running

CPF = "52998224725"


def web_flow(key: str) -> str:
    """The handoff test flow with the public web chat on."""
    return flow(key).replace("\nstart: inicio", "\nchannels: {web: true}\nstart: inicio")


async def web_session(http: httpx.AsyncClient, bot: str = "loja") -> dict[str, str]:
    opened = await http.post(f"/api/bots/{bot}/web-sessions", auth=None)
    assert opened.status_code == 201, opened.text
    return {"Authorization": f"Bearer {opened.json()['token']}"}


async def speak(http: httpx.AsyncClient, auth: dict[str, str], mid: str, text: str, **extra):  # type: ignore[no-untyped-def]
    return await http.post(
        "/api/bots/loja/messages", json={"message_id": mid, "text": text, **extra}, headers=auth
    )


async def publish(http: httpx.AsyncClient, source: str, bot: str = "loja") -> None:
    headers = {**admin_headers(), "Content-Type": "text/yaml"}
    published = await http.put(f"/api/bots/{bot}", content=source, headers=headers)
    assert published.status_code in (200, 201), published.text


async def a_victim_with_an_agent(http: httpx.AsyncClient) -> tuple[dict[str, str], str, str]:
    """A web chat customer who typed a CPF and is now with agent Ana: (session, conversation id,
    Ana's token)."""
    omni = await setup_omni(http)
    await publish(http, web_flow(omni.key))
    victim = await web_session(http)
    first = await speak(http, victim, "v1", f"oi, meu CPF é {CPF}")
    assert first.status_code == 200, first.text
    conversation = first.json()["conversation_id"]
    queued = await speak(http, victim, "v2", "1")
    assert queued.json()["status"] == "waiting", queued.text
    picked = await http.post(
        f"/api/agent/conversations/{conversation}/pickup", headers=omni.agent("Ana")
    )
    assert picked.status_code == 200, picked.text
    return victim, conversation, omni.agents["Ana"]["token"]


async def test_an_attacker_gets_nothing_of_the_victims_conversation(dev_env, settings, engine):
    """Black box over real sockets: the attacker knows the victim's conversation id and guesses
    contact ids, with no credential and with a web session of their own."""
    client = pydantic_client(dev_env)
    async with running(client, settings, engine, served=True) as stack:
        http = stack.http
        victim, conversation, _ = await a_victim_with_an_agent(http)
        async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as outsider:
            attacker = await web_session(outsider)
            attempts = [
                await outsider.post(
                    "/api/bots/loja/messages",
                    json={"contact_id": "web_anything", "message_id": "a1", "text": "oi"},
                ),
                await speak(outsider, attacker, "a2", "sou eu", contact_id="web_victim_guess"),
            ]
            for path in ("", "/messages", "/stream"):
                for auth in ({}, attacker):
                    attempts.append(
                        await outsider.get(f"/api/conversations/{conversation}{path}", headers=auth)
                    )
            for auth in ({}, attacker):
                attempts.append(
                    await outsider.post(f"/api/conversations/{conversation}/leave", headers=auth)
                )
            statuses = [a.status_code for a in attempts]
            assert statuses == [401, 403] + [401, 404] * 4, statuses
            assert all(CPF not in a.text for a in attempts)
            # the attacker's own messages open the attacker's own conversation, not the victim's
            own = await speak(outsider, attacker, "a3", "oi")
            assert own.status_code == 200 and own.json()["conversation_id"] != conversation
            assert CPF not in own.text

        # the victim is still with the agent, and the transcript holds only the victim's words
        state = await http.get(f"/api/conversations/{conversation}", headers=victim)
        assert state.json()["status"] == "in_service"

        async def recorded() -> list[str] | None:
            """The log trails the reply (recorded in batches by the workflow)."""
            said = await http.get(f"/api/conversations/{conversation}/messages", headers=victim)
            customer = [m["text"] for m in said.json() if m["from"] == "customer"]
            return customer if len(customer) >= 2 else None

        assert await eventually(recorded, "the transcript") == [f"oi, meu CPF é {CPF}", "1"]
        async with http.stream(
            "GET", f"/api/conversations/{conversation}/stream", headers=victim
        ) as live:
            assert live.status_code == 200
            first = await anext(sse_events(live))
            assert CPF in first.data["text"]


@pytest.fixture
async def identities(time_env, settings, engine):  # type: ignore[no-untyped-def]
    """A victim's conversation (loja) and one credential of every other kind."""
    async with running(pydantic_client(time_env), settings, engine) as stack:
        http = stack.http
        victim, conversation, agent_token = await a_victim_with_an_agent(http)
        await publish(http, "bot: outro\nstart: fim\nblocks:\n  fim: {type: end}\n", bot="outro")
        made = await http.post(
            "/api/bots/outro/channel-credentials", json={"name": "CRM"}, headers=admin_headers()
        )
        assert made.status_code == 201, made.text
        yield {
            "http": http,
            "conversation": conversation,
            "victim": victim,
            "nothing": {},
            "another contact's session": await web_session(http),
            "another bot's connector": {"Authorization": f"Bearer {made.json()['token']}"},
            "an agent": {"Authorization": f"Bearer {agent_token}"},
            "admin": admin_headers(),
            "loja's connector": {"Authorization": f"Bearer {http.auth.token('loja')}"},  # type: ignore[union-attr]
        }


EXPECTED = {
    # who: (GET conversation, GET messages, POST leave, POST a message naming the victim)
    "nothing": (401, 401, 401, 401),
    "another contact's session": (404, 404, 404, 403),
    "another bot's connector": (404, 404, 404, 403),
    "an agent": (401, 401, 401, 401),
    "admin": (200, 200, 404, 403),
}


async def test_every_channel_route_refuses_every_other_identity(identities) -> None:  # type: ignore[no-untyped-def]
    http, conversation = identities["http"], identities["conversation"]
    path = f"/api/conversations/{conversation}"
    for who, expected in EXPECTED.items():
        auth = identities[who]
        got = (
            await http.get(f"/api/conversations/{conversation}", headers=auth, auth=None),
            await http.get(f"{path}/messages", headers=auth, auth=None),
            await http.post(f"{path}/leave", headers=auth, auth=None),
            (
                await http.post(
                    "/api/bots/loja/messages",
                    json={"contact_id": "someone", "message_id": "x", "text": "oi"},
                    headers=auth,
                    auth=None,
                )
            ),
        )
        assert tuple(r.status_code for r in got) == expected, (who, [r.text for r in got])
        if who != "admin":
            assert all(CPF not in r.text for r in got), who
        for refused in (r for r in got if r.status_code >= 400):
            assert set(refused.json()) == {"detail", "code"}
    # nothing above changed the victim's conversation
    state = await http.get(f"/api/conversations/{conversation}", headers=identities["victim"])
    assert state.json()["status"] == "in_service"


async def test_a_connector_names_contacts_and_a_revoked_one_is_refused(identities) -> None:  # type: ignore[no-untyped-def]
    http = identities["http"]
    connector = identities["loja's connector"]
    turn = await http.post(
        "/api/bots/loja/messages",
        json={"contact_id": "5511988887777", "message_id": "c1", "text": "oi"},
        headers=connector,
    )
    assert turn.status_code == 200, turn.text
    conversation = turn.json()["conversation_id"]
    seen = await http.get(f"/api/conversations/{conversation}", headers=connector)
    assert seen.status_code == 200 and "contact_id" not in seen.json()
    # the connector also reads the web customer's conversation of its own bot (its backend)
    read = await http.get(f"/api/conversations/{identities['conversation']}", headers=connector)
    assert read.status_code == 200
    nameless = await http.post(
        "/api/bots/loja/messages", json={"message_id": "c2", "text": "oi"}, headers=connector
    )
    assert nameless.status_code == 422  # a connector must say who speaks

    listed = await http.get("/api/bots/loja/channel-credentials", headers=admin_headers())
    assert listed.status_code == 200
    assert all("token" not in c and c["token_prefix"].startswith("tbc_") for c in listed.json())
    for credential in listed.json():
        gone = await http.delete(
            f"/api/bots/loja/channel-credentials/{credential['id']}", headers=admin_headers()
        )
        assert gone.status_code == 204
    again = await http.get(f"/api/conversations/{conversation}", headers=connector)
    assert again.status_code == 401


async def test_web_sessions_only_for_bots_that_enable_the_web_chat(identities) -> None:  # type: ignore[no-untyped-def]
    http = identities["http"]
    for bot in ("outro", "nao-existe"):
        refused = await http.post(f"/api/bots/{bot}/web-sessions")
        assert refused.status_code == 404 and refused.json()["code"] == "no_web_chat"
    session = await web_session(http)
    # a signature that ends in "abc" already (1 in 65,536: its last base64 character is one of
    # 16) would make this "forgery" the real token
    real = session["Authorization"]
    forged = {"Authorization": real[:-3] + ("xyz" if real.endswith("abc") else "abc")}
    answer = await speak(http, forged, "f1", "oi")
    assert answer.status_code == 401
    mine = await speak(http, session, "s1", "oi")
    assert mine.status_code == 200
    conversation = mine.json()["conversation_id"]
    same = await speak(http, session, "s2", "2", contact_id="web_someone_else")
    assert same.status_code == 403
    mine_again = await http.get(f"/api/conversations/{conversation}", headers=session)
    assert mine_again.status_code == 200


async def test_strangers_cannot_spend_a_customers_allowance(time_env, settings, engine):
    """Posts without a valid credential, or from another contact's session, naming a victim's
    contact id, do not count against the victim's per-contact limit."""
    strict = settings.model_copy(update={"rate_limit_messages_per_contact": "2/minute"})
    async with running(pydantic_client(time_env), strict, engine) as stack:
        http = stack.http
        await publish(http, web_flow("tbk_not-a-key"))
        victim = {"contact_id": "5511977776666", "text": "oi"}
        for n in range(5):
            forged = await http.post(
                "/api/bots/loja/messages", json={**victim, "message_id": f"x{n}"}, auth=None
            )
            assert forged.status_code == 401
        stranger = await web_session(http)
        for n in range(3):
            posing = await speak(http, stranger, f"p{n}", "oi", contact_id=victim["contact_id"])
            assert posing.status_code == 403
        for n in range(2):  # the victim's connector still has the whole allowance
            real = await http.post(
                "/api/bots/loja/messages", json={**victim, "message_id": f"r{n}"}
            )
            assert real.status_code == 200, real.text
        over = await http.post("/api/bots/loja/messages", json={**victim, "message_id": "r9"})
        assert over.status_code == 429 and over.json()["code"] == "rate_limited"


async def test_a_web_session_ends_with_the_bots_web_chat(time_env, settings, engine):
    async with running(pydantic_client(time_env), settings, engine) as stack:
        http = stack.http
        await publish(http, web_flow("tbk_not-a-key"))
        session = await web_session(http)
        assert (await speak(http, session, "w1", "oi")).status_code == 200
        await publish(http, flow("tbk_not-a-key"))  # the designer turns the web chat off
        closed = await speak(http, session, "w2", "2")
        assert closed.status_code == 404 and closed.json()["code"] == "no_web_chat"

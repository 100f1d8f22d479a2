"""A customer's name is cleaned where it enters, never refused (an exploratory QA's findings).

A web chat name of zero-width spaces greeted "Olá, ​​! Bem-vindo."; one holding a right-to-left
override ("Maria \\u202eadneV ed ofnI") reordered the greeting and the agent's tab. Control and
format characters are dropped (a ZWJ inside an emoji sequence kept), white space folded, and a
name left empty is no name: the flow's no-name branch greets.
"""

from __future__ import annotations

import httpx
import pytest

from omni.names import contact_name
from tests import channel_payloads as p
from tests.channel_standin import WA_VERSION, standin
from tests.conftest import admin_headers, running_stack
from tests.test_channel_whatsapp import ACCESS_TOKEN, post_whatsapp, wait_for, whatsapp_bot
from tests.test_handoff import setup_omni

RLO = "Maria \u202eadneV ed ofnI"
"""A right-to-left override: shown as "Maria Info de Venda", reordering what follows it."""
FLOW = """\
bot: loja
human_service: {{platform: omni_v2, omni_key: "{key}", wait_time_notice: never}}
channels: {{web: true}}
start: inicio
blocks:
  inicio:
    type: message
    text: "Olá{{% if contact.name %}}, {{{{ contact.name }}}}{{% endif %}}! Bem-vindo."
    next: menu
  menu:
    type: menu
    text: Como posso ajudar?
    options:
      - {{label: Falar com um especialista, next: humano}}
      - {{label: Encerrar, next: fim}}
  humano:
    type: human
    service: Suporte
    check_hours: false
    on: {{finished: fim, closed: fim, unavailable: fim, voicemail: fim}}
  fim: {{type: end, text: Até logo!}}
"""


@pytest.mark.parametrize(
    ("given", "cleaned"),
    [
        ("\u200b\u200b", None),
        (RLO, "Maria adneV ed ofnI"),
        ("\u2067Ana\u2069 Souza\u202c", "Ana Souza"),
        ("\ufeffJoão\tda\n Silva ", "João da Silva"),
        ("Bia \U0001f469\u200d\U0001f4bb", "Bia \U0001f469\u200d\U0001f4bb"),  # ZWJ in an emoji
        ("Bia\u200d", "Bia"),
        ("Ana\u3164", "Ana"),  # a Hangul filler renders blank
        ("Jose\u0301", "José"),  # NFC
        ("\u0301\u0301", None),  # marks alone
        ("Ana\x00\x07", "Ana"),
        ("   ", None),
    ],
)
def test_a_contact_name_is_cleaned(given: str, cleaned: str | None) -> None:
    assert contact_name(given) == cleaned


async def greet(http: httpx.AsyncClient, name: str) -> dict:
    """A new web chat's first message, given `name`: the turn's answer."""
    opened = await http.post("/api/bots/loja/web-sessions", auth=None)
    assert opened.status_code == 201, opened.text
    session = {"Authorization": f"Bearer {opened.json()['token']}"}
    body = {"message_id": "m1", "text": "oi", "contact": {"name": name}}
    said = await http.post("/api/bots/loja/messages", json=body, headers=session)
    assert said.status_code == 200, said.text
    return {**said.json(), "session": session}


async def test_the_greeting_and_the_agent_get_the_cleaned_name(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        published = await http.put(
            "/api/bots/loja",
            content=FLOW.format(key=omni.key),
            headers={**admin_headers(), "Content-Type": "text/yaml"},
        )
        assert published.status_code == 201, published.text

        invisible = await greet(http, "\u200b\u200b")
        assert invisible["replies"][0]["text"] == "Olá! Bem-vindo."

        turned = await greet(http, RLO)
        assert turned["replies"][0]["text"] == "Olá, Maria adneV ed ofnI! Bem-vindo."
        body = {"message_id": "m2", "text": "1"}
        queued = await http.post("/api/bots/loja/messages", json=body, headers=turned["session"])
        assert queued.json()["status"] == "waiting", queued.text
        conversation = turned["conversation_id"]
        seen = await http.get(f"/api/agent/conversations/{conversation}", headers=omni.agent("Ana"))
        assert seen.status_code == 200, seen.text
        assert seen.json()["contact_name"] == "Maria adneV ed ofnI"

        # a connector's contact with a NUL in its name: the message is taken, the name cleaned
        body = {"contact_id": "5511", "message_id": "c1", "text": "oi"}
        body["contact"] = {"name": "Ana\0"}
        made = await http.post(
            "/api/bots/loja/channel-credentials", json={"name": "CRM"}, headers=admin_headers()
        )
        connector = {"Authorization": f"Bearer {made.json()['token']}"}
        taken = await http.post("/api/bots/loja/messages", json=body, headers=connector)
        assert taken.status_code == 200, taken.text
        assert taken.json()["replies"][0]["text"] == "Olá, Ana! Bem-vindo."


async def test_a_whatsapp_profile_name_is_cleaned(time_env, settings, engine):
    with standin(ACCESS_TOKEN) as phone:
        settings = settings.model_copy(update={"whatsapp_api_base": f"{phone.url}/{WA_VERSION}"})
        async with running_stack(time_env, settings, engine) as http:
            await whatsapp_bot(http, phone)
            named = p.whatsapp([p.wa_text("wamid.rlo", "oi")], name=f"\u200b{RLO}\u202c")
            taken = await post_whatsapp(http, named)
            assert taken.json() == {"messages": 1, "statuses": 0}, taken.text
            assert (await wait_for(phone, 2))[0] == "Olá, Maria adneV ed ofnI!"

"""Escape routes ("rotas de fuga"): keywords and inactivity, on while the bot owns the chat."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import conversation_handle, conversation_wid, running_stack
from tests.test_handoff import publish, say, setup_omni, texts

pytestmark = pytest.mark.asyncio

ROUTES = """
escape_routes:
  - {keywords: [atendente, "falar com humano"], goto: humano}
  - {keywords: [cardápio], text: "Nosso cardápio está em loja.example/cardapio"}
  - {inactivity_seconds: 300, text: Ainda está aí?}
  - {inactivity_seconds: 900, goto: tchau}
"""


def flow(key: str) -> str:
    return f"""
bot: loja
human_service: {{platform: omni_v2, omni_key: "{key}"}}
{ROUTES}
start: menu
blocks:
  menu:
    type: menu
    text: Como posso ajudar?
    options:
      - {{label: Segunda via, next: cpf}}
  cpf: {{type: question, text: Qual o seu CPF?, save_as: cpf, next: tchau}}
  humano:
    type: human
    service: Suporte
    text: Transferindo.
    on: {{finished: menu}}
  tchau: {{type: end, text: Até mais!}}
"""


async def transcript_texts(http, conversation_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    messages = (await http.get(f"/api/conversations/{conversation_id}/messages")).json()
    return [m["text"] for m in messages]


async def test_keywords_jump_or_answer_in_place(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        await say(http, "k", "1", "oi")
        await say(http, "k", "2", "1")
        menu_info = await say(http, "k", "3", "Vocês têm CARDÁPIO?")
        assert texts(menu_info) == ["Nosso cardápio está em loja.example/cardapio"]
        stays = await say(http, "k", "4", "12345")  # still at the CPF question
        assert texts(stays) == ["Até mais!"]
        await say(http, "k2", "1", "oi")
        partial = await say(http, "k2", "2", "atendentes")  # not the whole word: no route
        assert texts(partial)[0].startswith("Opção inválida")
        jumped = await say(http, "k2", "3", "Quero FALAR com humano, por favor!")
        assert texts(jumped) == ["Transferindo."] and jumped["status"] == "waiting"


async def test_routes_are_off_while_a_human_owns_the_chat_and_back_after(
    time_env, settings, engine
):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        await say(http, "h", "1", "oi")
        conversation = (await say(http, "h", "2", "atendente"))["conversation_id"]
        await http.post(
            f"/api/agent/conversations/{conversation}/pickup", headers=omni.agent("Ana")
        )
        during = await say(http, "h", "3", "qual o cardápio?")
        # only the pickup notice: the agent answers, not the bot's escape route
        assert texts(during) == ["Você está sendo atendido por Ana."]
        await http.post(
            f"/api/agent/conversations/{conversation}/finish",
            json={"return_to_bot": True},
            headers=omni.agent("Ana"),
        )
        after = await say(http, "h", "4", "cardápio")
        assert texts(after)[-1] == "Nosso cardápio está em loja.example/cardapio"


async def test_inactivity_routes_fire_once_per_silence(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        conversation = (await say(http, "quieto", "1", "oi"))["conversation_id"]
        handle = conversation_handle(time_env, conversation_wid("loja", "quieto"))
        async with time_env.time_skipping_unlocked():  # 300 s: a nudge; 900 s: goodbye
            assert (await handle.result()).status == "ended"
        said = await transcript_texts(http, conversation)
        assert said[-2:] == ["Ainda está aí?", "Até mais!"]
        assert said.count("Ainda está aí?") == 1


async def test_inactivity_routes_do_not_fire_while_waiting_for_an_agent(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http, abandon_seconds=2000)
        await publish(http, flow(omni.key))
        await say(http, "fila", "fila-1", "oi")
        turn = await say(http, "fila", "fila-2", "atendente")
        assert turn["status"] == "waiting"
        handle = conversation_handle(time_env, conversation_wid("loja", "fila"))
        async with time_env.time_skipping_unlocked():
            await asyncio.wait_for(handle.result(), timeout=60)  # abandoned after 2000 s
        said = await transcript_texts(http, turn["conversation_id"])
        assert "Ainda está aí?" not in said
        assert "Atendimento encerrado por inatividade." in said

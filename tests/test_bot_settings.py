"""PATCH /api/bots/{bot}/settings: the "Atendimento Humano" screen writes the bot's YAML."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from omni.keys import hash_key
from tests.conftest import admin_headers

pytestmark = pytest.mark.asyncio

LOJA = (Path(__file__).parent.parent / "flows" / "loja.yaml").read_text()
BARE = """\
# a bot with no human service yet
bot: bare
start: fim
blocks:
  fim: {type: end, text: Tchau!}   # the only block
"""


async def publish(api: httpx.AsyncClient, bot: str, source: str) -> None:
    answer = await api.put(
        f"/api/bots/{bot}", content=source, headers={**admin_headers(), "Content-Type": "text/yaml"}
    )
    assert answer.status_code in (200, 201), answer.text


async def patch(api: httpx.AsyncClient, bot: str, body: dict) -> httpx.Response:
    return await api.patch(f"/api/bots/{bot}/settings", json=body, headers=admin_headers())


async def source_of(api: httpx.AsyncClient, bot: str) -> str:
    return (await api.get(f"/api/bots/{bot}/source", headers=admin_headers())).text


async def test_patch_writes_a_new_version_and_keeps_comments_and_layout(admin_api):
    await publish(admin_api, "loja", LOJA)
    answer = await patch(
        admin_api,
        "loja",
        {
            "human_service": {"wait_time_notice": "never"},
            "schedule": {
                "hours": {"mon-fri": ["08:00-12:00", "13:00-18:00"], "sat": ["09:00-14:00"]},
                "holidays": [
                    {"date": "2026-12-25", "name": "Natal"},
                    {"date": "01-01", "name": "Ano Novo"},
                    {"date": "11-02", "name": "Finados"},
                ],
            },
        },
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["version"] == 2
    source = await source_of(admin_api, "loja")
    for kept in [
        "# Bot da Loja: saudação, menu, segunda via de boleto (CPF) e transbordo para o Suporte.",
        'human_service:                       # "Atendimento Humano"',
        "omni_key: ${LOJA_OMNI_KEY}         # API key da integração (Omni → Integrações)",
        "wait_time_notice: never            # avisa o tempo estimado de espera uma vez",
        '    mon-fri: ["08:00-12:00", "13:00-18:00"]',
        '    - {date: "01-01", name: Ano Novo}          # MM-DD: todo ano',
        "escape_routes:                       # rotas de fuga",
        '    service: Suporte                   # "Fila de atendimento"',
    ]:
        assert kept in source, kept
    assert '    sat: ["09:00-14:00"]' in source
    assert '    - {date: "11-02", name: Finados}\n\nescape_routes:' in source  # blank line kept
    # everything outside the two sections is byte for byte the same
    assert source.split("escape_routes:")[1] == LOJA.split("escape_routes:")[1]

    settings = (await admin_api.get("/api/bots/loja/settings", headers=admin_headers())).json()
    assert settings["version"] == 2
    assert settings["human_service"] == {"platform": "omni_v2", "wait_time_notice": "never"}
    assert settings["omni_key"] == {"state": "unset_variable", "variable": "LOJA_OMNI_KEY"}
    assert settings["schedule"]["hours"]["sat"] == ["09:00-14:00"]
    assert settings["blocks"]["humano"]["type"] == "human"


async def test_the_same_week_written_differently_keeps_the_files_day_keys(admin_api):
    await publish(admin_api, "loja", LOJA)
    same_week = {"mon": ["08:00-12:00", "13:00-18:00"], "tue-fri": ["13:00-18:00", "08:00-12:00"]}
    answer = await patch(
        admin_api, "loja", {"schedule": {"hours": {**same_week, "sat": ["09:00-13:00"]}}}
    )
    assert answer.status_code == 200 and answer.json()["version"] == 1  # nothing changed
    assert await source_of(admin_api, "loja") == LOJA


async def test_a_bad_schedule_is_422_with_the_line_and_no_new_version(admin_api):
    await publish(admin_api, "loja", LOJA)
    answer = await patch(admin_api, "loja", {"schedule": {"hours": {"mon": ["8-12"]}}})
    assert answer.status_code == 422
    [issue] = answer.json()["detail"]
    assert issue["line"] == 13 and issue["column"] > 1
    assert "bad time window '8-12'" in issue["message"]
    answer = await patch(
        admin_api, "loja", {"schedule": {"holidays": [{"date": "2026-02-30", "name": "x"}]}}
    )
    assert answer.status_code == 422
    assert "schedule.holidays[0].date" in answer.json()["detail"][0]["message"]
    answer = await patch(admin_api, "loja", {"schedule": {"timezone": "America/Sao_Pualo"}})
    assert answer.status_code == 422
    assert "unknown time zone" in answer.json()["detail"][0]["message"]
    bots = (await admin_api.get("/api/bots", headers=admin_headers())).json()
    assert [(b["bot"], b["version"]) for b in bots] == [("loja", 1)]


async def test_body_errors_name_the_field(admin_api):
    await publish(admin_api, "loja", LOJA)
    answer = await patch(admin_api, "loja", {"human_service": {"wait_time_notice": "always"}})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "human_service", "wait_time_notice"]
    answer = await patch(admin_api, "loja", {"human_service": {"platform": "omni_v3"}})
    assert answer.status_code == 422


async def test_a_typed_key_is_stored_hashed_and_survives_later_changes(admin_api):
    admin = admin_headers()
    await admin_api.post("/api/omni/services", json={"name": "Suporte"}, headers=admin)
    integration = await admin_api.post(
        "/api/omni/integrations", json={"service": "Suporte", "bot": "loja"}, headers=admin
    )
    key = integration.json()["api_key"]
    await publish(admin_api, "loja", LOJA)

    wrong = await patch(admin_api, "loja", {"human_service": {"omni_key": "tbk_not-a-real-key"}})
    assert wrong.status_code == 201
    assert any("matches no Omni integration" in w for w in wrong.json()["warnings"])

    answer = await patch(
        admin_api, "loja", {"human_service": {"omni_key": key, "wait_time_notice": "once"}}
    )
    assert answer.status_code == 201 and answer.json()["warnings"] == []
    source = await source_of(admin_api, "loja")
    assert key not in source and 'omni_key: "HIDDEN-OMNI-KEY"' in source
    settings = (await admin_api.get("/api/bots/loja/settings", headers=admin)).json()
    assert settings["omni_key"] == {"state": "configured", "variable": None}
    assert "omni_key" not in settings["human_service"]

    # a later change of the schedule only keeps the key working (the mask cannot be published)
    later = await patch(admin_api, "loja", {"schedule": {"holidays": []}})
    assert later.status_code == 201 and later.json()["warnings"] == []
    bot = (await admin_api.get("/api/bots/loja", headers=admin)).json()
    assert bot["flow"]["human_service"]["omni_key"] == "sha256:" + hash_key(key)
    assert key not in bot["source"]
    assert "holidays: []" in bot["source"]


async def test_sections_are_added_to_a_bot_without_them(admin_api):
    await publish(admin_api, "bare", BARE)
    answer = await patch(
        admin_api,
        "bare",
        {
            "human_service": {"omni_key": "tbk_x", "wait_time_notice": "once"},
            "schedule": {
                "hours": {"mon-sun": ["00:00-24:00"]},
                "holidays": [{"date": "12-25", "name": "Natal"}],
            },
        },
    )
    assert answer.status_code == 201, answer.text
    source = await source_of(admin_api, "bare")
    assert source.startswith("# a bot with no human service yet\nbot: bare\nhuman_service:\n")
    assert "  fim: {type: end, text: Tchau!}   # the only block" in source
    assert '  hours: {mon-sun: ["00:00-24:00"]}' in source
    assert '    - {date: "12-25", name: Natal}' in source


async def test_unknown_bot_and_credentials(admin_api):
    assert (await patch(admin_api, "nobody", {})).status_code == 404
    assert (
        await admin_api.get("/api/bots/nobody/settings", headers=admin_headers())
    ).status_code == 404
    assert (await admin_api.patch("/api/bots/loja/settings", json={})).status_code == 401

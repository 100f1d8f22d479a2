"""Publishing bots over HTTP: versions, line-numbered errors, Omni key warnings, no key in clear."""

from __future__ import annotations

import sqlalchemy as sa

from api.app import create_app
from tests.conftest import admin_headers, api_client, pydantic_client

YAML = {**admin_headers(), "Content-Type": "application/yaml"}

SIMPLE = """bot: faq
start: oi
blocks:
  oi: {type: end, text: Olá!}
"""


def with_key(key: str) -> str:
    return f"""bot: loja
human_service:
  platform: omni_v2
  omni_key: {key}
start: humano
blocks:
  humano: {{type: human, service: Suporte, check_hours: false}}
"""


async def test_publishing_makes_versions_only_when_the_bot_changes(admin_api):
    first = await admin_api.put("/api/bots/faq", content=SIMPLE, headers=YAML)
    assert first.status_code == 201 and first.json()["version"] == 1
    same = await admin_api.put("/api/bots/faq", content=SIMPLE, headers=YAML)
    assert same.status_code == 200 and same.json()["version"] == 1
    changed = SIMPLE.replace("Olá!", "Oi!")
    second = await admin_api.put("/api/bots/faq", content=changed, headers=YAML)
    assert second.status_code == 201 and second.json()["version"] == 2
    listed = (await admin_api.get("/api/bots", headers=admin_headers())).json()
    assert [(b["bot"], b["version"]) for b in listed] == [("faq", 2)]
    detail = (await admin_api.get("/api/bots/faq", headers=admin_headers())).json()
    assert detail["source"] == changed and detail["flow"]["blocks"]["oi"]["text"] == "Oi!"
    source = await admin_api.get("/api/bots/faq/source", headers=admin_headers())
    assert source.text == changed


async def test_a_broken_flow_gets_422_with_line_and_column(admin_api):
    broken = SIMPLE.replace("type: end", "type: fim")
    answer = await admin_api.put("/api/bots/faq", content=broken, headers=YAML)
    assert answer.status_code == 422
    assert answer.json()["code"] == "flow_invalid"
    [issue] = answer.json()["detail"]
    assert (issue["line"], issue["column"]) == (4, 14)
    assert "fim" in issue["message"]
    other_name = await admin_api.put("/api/bots/outro", content=SIMPLE, headers=YAML)
    assert other_name.status_code == 422
    assert "'faq', not 'outro'" in other_name.json()["detail"][0]["message"]
    assert other_name.json()["detail"][0]["code"] == "bot_name_mismatch"
    missing = await admin_api.get("/api/bots/nada", headers=admin_headers())
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_bot"


async def test_publishing_needs_the_admin_token(admin_api):
    answer = await admin_api.put(
        "/api/bots/faq", content=SIMPLE, headers={"Content-Type": "application/yaml"}
    )
    assert answer.status_code == 401


async def test_a_key_without_integration_publishes_with_a_warning(admin_api, monkeypatch):
    answer = await admin_api.put("/api/bots/loja", content=with_key("tbk_nao_existe"), headers=YAML)
    assert answer.status_code == 201
    assert answer.json()["warnings"] and "tbk_nao_existe" not in answer.text
    monkeypatch.delenv("LOJA_OMNI_KEY", raising=False)
    unset = await admin_api.put(
        "/api/bots/loja", content=with_key("${LOJA_OMNI_KEY}"), headers=YAML
    )
    assert unset.status_code == 201
    assert "LOJA_OMNI_KEY is not set" in unset.json()["warnings"][0]


async def test_a_key_that_is_also_other_text_masks_only_the_key(admin_api):
    """`omni_key: loja` in bot `loja`: the bot's name stays, so its settings can still change."""
    answer = await admin_api.put("/api/bots/loja", content=with_key("loja"), headers=YAML)
    assert answer.status_code == 201, answer.text
    source = (await admin_api.get("/api/bots/loja/source", headers=admin_headers())).text
    assert source.startswith("bot: loja\n") and "omni_key: HIDDEN-OMNI-KEY" in source
    again = await admin_api.put("/api/bots/loja", content=source, headers=YAML)
    assert again.status_code in (200, 201), again.text


async def test_a_live_key_publishes_cleanly_and_is_never_stored_in_clear(
    settings, engine, time_env
):
    app = create_app(settings, engine=engine, client=pydantic_client(time_env))
    async with api_client(app) as http:
        made = await http.post(
            "/api/omni/services", json={"name": "Suporte"}, headers=admin_headers()
        )
        assert made.status_code == 201
        key = (
            await http.post(
                "/api/omni/integrations",
                json={"service": "Suporte", "bot": "loja"},
                headers=admin_headers(),
            )
        ).json()["api_key"]
        answer = await http.put("/api/bots/loja", content=with_key(key), headers=YAML)
        assert answer.status_code == 201 and answer.json()["warnings"] == []
        detail = (await http.get("/api/bots/loja", headers=admin_headers())).json()
        assert key not in detail["source"] and key not in str(detail["flow"])
        assert detail["flow"]["human_service"]["omni_key"].startswith("sha256:")
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT source, flow FROM bot_versions")).all()
    assert all(key not in f"{row.source}{row.flow}" for row in stored)


async def test_bots_of_the_flows_folder_are_published_at_start_up(settings, engine, time_env):
    settings.flows_dir.mkdir()
    (settings.flows_dir / "faq.yaml").write_text(SIMPLE)
    (settings.flows_dir / "quebrado.yaml").write_text("bot: quebrado\nstart: x\n")
    app = create_app(settings, engine=engine, client=pydantic_client(time_env))
    async with api_client(app) as http:
        listed = (await http.get("/api/bots", headers=admin_headers())).json()
    assert [b["bot"] for b in listed] == ["faq"]


async def test_a_downloaded_source_published_again_keeps_its_key(settings, engine, time_env):
    app = create_app(settings, engine=engine, client=pydantic_client(time_env))
    async with api_client(app) as http:
        await http.post("/api/omni/services", json={"name": "Suporte"}, headers=admin_headers())
        key = (
            await http.post(
                "/api/omni/integrations",
                json={"service": "Suporte", "bot": "loja"},
                headers=admin_headers(),
            )
        ).json()["api_key"]
        await http.put("/api/bots/loja", content=with_key(key), headers=YAML)
        first = (await http.get("/api/bots/loja", headers=admin_headers())).json()
        downloaded = (await http.get("/api/bots/loja/source", headers=admin_headers())).text
        assert "HIDDEN-OMNI-KEY" in downloaded and key not in downloaded
        edited = downloaded.replace("humano: {type: human", "humano: {type: human, text: Oi")
        again = await http.put("/api/bots/loja", content=edited, headers=YAML)
        assert again.status_code == 201 and again.json()["warnings"] == []
        second = (await http.get("/api/bots/loja", headers=admin_headers())).json()
        assert second["version"] == 2
        kept = second["flow"]["human_service"]["omni_key"]
        assert kept == first["flow"]["human_service"]["omni_key"]


async def test_an_inline_unset_key_variable_is_a_warning_too(admin_api, monkeypatch):
    monkeypatch.delenv("LOJA_INLINE_OMNI_KEY", raising=False)
    source = with_key("x").replace(
        "human_service:\n  platform: omni_v2\n  omni_key: x\n",
        'human_service: {platform: omni_v2, omni_key: "${LOJA_INLINE_OMNI_KEY}"}\n',
    )
    answer = await admin_api.put("/api/bots/loja", content=source, headers=YAML)
    assert answer.status_code == 201, answer.text
    assert "LOJA_INLINE_OMNI_KEY is not set" in answer.json()["warnings"][0]


def test_two_publishes_at_once_both_get_a_version(postgres_engine) -> None:  # type: ignore[no-untyped-def]
    """The other publish commits between this one's read of the newest and its insert: this
    one is stored after it, not refused with a 500."""
    from datetime import UTC, datetime

    from bots.loader import load_flow
    from store import bots as bot_store
    from store.tables import bot_versions

    first = SIMPLE.replace("Olá!", "Oi!")
    bot_store.publish(postgres_engine, load_flow(first), first)
    raced = []

    @sa.event.listens_for(postgres_engine, "before_cursor_execute")
    def _another_publish_first(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith("INSERT INTO bot_versions") and not raced:
            raced.append(True)
            with postgres_engine.begin() as other:
                other.execute(
                    bot_versions.insert().values(
                        bot="faq", version=2, source="# theirs\n" + first,
                        flow=load_flow(first).model_dump(mode="json", by_alias=True),
                        created_at=datetime.now(UTC),
                    )
                )  # fmt: skip

    version, new = bot_store.publish(postgres_engine, load_flow(SIMPLE), SIMPLE)
    assert raced and new and version.version == 3
    assert bot_store.latest(postgres_engine, "faq").source == SIMPLE  # type: ignore[union-attr]

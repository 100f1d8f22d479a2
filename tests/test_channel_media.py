"""A WhatsApp customer's media becomes an attachment the agent opens: the webhook's entry
carries a pending attachment, `MediaFetchWorkflow` fetches the bytes from the platform
(GET /{media-id} → url → GET url with the bearer token, on the loopback stand-in) and the
agent downloads them; a media the platform does not have ends `failed` (409, pt-BR)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests import channel_payloads as p
from tests.attachment_files import PDF
from tests.channel_standin import WA_VERSION, standin
from tests.conftest import admin_headers, running_stack
from tests.live import eventually, skip_through
from tests.test_channel_whatsapp import ACCESS_TOKEN, post_whatsapp, wait_for, whatsapp_bot

pytestmark = pytest.mark.asyncio

DOCUMENT_ID = "1073860347848530"  # p.wa_document's media id


async def test_whatsapp_media_reaches_the_agent(time_env, settings, engine) -> None:  # type: ignore[no-untyped-def]
    with standin(ACCESS_TOKEN) as phone:
        phone.media[DOCUMENT_ID] = PDF
        settings = settings.model_copy(update={"whatsapp_api_base": f"{phone.url}/{WA_VERSION}"})
        async with running_stack(time_env, settings, engine) as http:
            omni, _ = await whatsapp_bot(http, phone)
            ana = omni.agent("Ana")
            await post_whatsapp(http, p.whatsapp([p.wa_text("wamid.in1", "oi")]))
            await wait_for(phone, 2)
            await post_whatsapp(
                http, p.whatsapp([p.wa_list_reply("wamid.in2", "1", "Falar com um especial…")])
            )
            await wait_for(phone, 3)
            document = p.whatsapp([p.wa_document("wamid.in3")])
            assert (await post_whatsapp(http, document)).status_code == 200
            # the platform sends the same webhook again: one attachment, one fetch
            assert (await post_whatsapp(http, document)).status_code == 200
            await post_whatsapp(http, p.whatsapp([p.wa_image("wamid.in4", None)]))

            [waiting] = (await http.get("/api/agent/queue", headers=ana)).json()
            conversation = waiting["conversation_id"]
            picked = await http.post(f"/api/agent/conversations/{conversation}/pickup", headers=ana)
            said = [m for m in picked.json()["transcript"] if m["from"] == "customer"]
            pdf_ref = said[2]["data"]["attachment"]
            assert pdf_ref["name"] == "boleto.pdf" and pdf_ref["type"] == "application/pdf"
            assert pdf_ref["size"] is None  # not known before the bytes come
            image_ref = said[3]["data"]["attachment"]

            async def fetched() -> bytes | None:
                got = await http.get(f"/api/agent/attachments/{pdf_ref['id']}", headers=ana)
                if got.status_code == 409:
                    assert got.json()["code"] == "attachment_pending"
                    return None
                assert got.status_code == 200, got.text
                return got.content

            assert await eventually(fetched, "the document fetched") == PDF
            media_gets = [g for g in phone.gets if g == f"/{WA_VERSION}/{DOCUMENT_ID}"]
            assert len(media_gets) == 1, phone.gets
            assert f"/wa-media/{DOCUMENT_ID}" in phone.gets

            async def refused() -> dict | None:
                got = await http.get(f"/api/agent/attachments/{image_ref['id']}", headers=ana)
                detail = got.json()
                return detail if detail["code"] == "attachment_unavailable" else None

            gone = await eventually(refused, "the missing image marked failed")
            assert gone["detail"] == "the file could not be fetched from the channel"
            assert phone.violations == []


async def test_telegram_media_is_fetched_with_getfile(time_env, settings, engine) -> None:  # type: ignore[no-untyped-def]
    """Telegram: getFile → file_path → /file/bot<token>/<path>; the admin reads the file."""
    from tests.test_channel_telegram import BOT_TOKEN, CHAT, FLOW

    with standin(BOT_TOKEN) as telegram:
        telegram.media["BQACAgEAAxkBAAIB"] = PDF
        settings = settings.model_copy(update={"telegram_api_base": telegram.url})
        async with running_stack(time_env, settings, engine, FLOW) as http:
            saved = await http.put(
                "/api/bots/loja/channels/telegram",
                json={"bot_token": BOT_TOKEN},
                headers=admin_headers(),
            )
            secret = {"X-Telegram-Bot-Api-Secret-Token": saved.json()["generated"]["secret_token"]}
            update = p.telegram_text(1, 10, CHAT, "x")
            del update["message"]["text"]
            update["message"]["document"] = {
                "file_id": "BQACAgEAAxkBAAIB",
                "file_unique_id": "AgADBQAC",
                "file_name": "nota.pdf",
                "mime_type": "application/pdf",
            }
            taken = await http.post("/api/channels/telegram/loja", json=update, headers=secret)
            assert taken.status_code == 200 and taken.json()["messages"] == 1, taken.text
            listed = await http.get("/api/supervisor/conversations", headers=admin_headers())
            [conversation] = [c["conversation_id"] for c in listed.json()]
            messages = await http.get(
                f"/api/conversations/{conversation}/messages", headers=admin_headers()
            )
            [ref] = [
                m["data"]["attachment"]
                for m in messages.json()
                if (m["data"] or {}).get("attachment")
            ]
            assert ref["name"] == "nota.pdf"
            link = f"/api/conversations/{conversation}/attachments/{ref['id']}"

            async def fetched() -> bytes | None:
                got = await http.get(link, headers=admin_headers())
                return got.content if got.status_code == 200 else None

            assert await eventually(fetched, "the Telegram document fetched") == PDF
            assert f"/bot{BOT_TOKEN}/getFile?file_id=BQACAgEAAxkBAAIB" in telegram.gets
            assert telegram.violations == []


async def test_a_media_the_platform_keeps_failing_ends_unavailable(
    time_env, settings, engine
) -> None:  # type: ignore[no-untyped-def]
    """The platform answers 503 for the file for the fetch's whole hour: once its retries run
    out the attachment is `failed` (409 attachment_unavailable), so the screens stop asking;
    before, it stayed `pending` for good and the agent's screen asked again forever."""
    with standin(ACCESS_TOKEN) as phone:
        phone.media[DOCUMENT_ID] = PDF
        phone.media_down.add(DOCUMENT_ID)
        settings = settings.model_copy(update={"whatsapp_api_base": f"{phone.url}/{WA_VERSION}"})
        async with running_stack(time_env, settings, engine) as http:
            await whatsapp_bot(http, phone)
            document = p.whatsapp([p.wa_document("wamid.down1")])
            assert (await post_whatsapp(http, document)).status_code == 200
            listed = await http.get("/api/supervisor/conversations", headers=admin_headers())
            [conversation] = [c["conversation_id"] for c in listed.json()]
            messages = await http.get(
                f"/api/conversations/{conversation}/messages", headers=admin_headers()
            )
            [ref] = [m["data"]["attachment"] for m in messages.json() if m["data"]]
            link = f"/api/conversations/{conversation}/attachments/{ref['id']}"

            async def tried() -> bool:
                return f"/wa-media/{DOCUMENT_ID}" in phone.gets

            await eventually(tried, "the first try")
            first = await http.get(link, headers=admin_headers())
            assert first.json()["code"] == "attachment_pending"
            await skip_through(time_env, timedelta(hours=1, minutes=5))

            async def given_up() -> dict | None:
                got = await http.get(link, headers=admin_headers())
                return got.json() if got.json()["code"] == "attachment_unavailable" else None

            gone = await eventually(given_up, "the attachment marked unavailable")
            assert gone["detail"] == "the file could not be fetched from the channel"
            tries = [g for g in phone.gets if g == f"/wa-media/{DOCUMENT_ID}"]
            assert len(tries) > 1  # retried through the hour, not refused at once
            assert phone.violations == []

"""The agent's error line (`#conv-error`) in a real Chromium: the reason a reply failed stays in
sight as long as that reply waits for its retry, whatever else comes meanwhile.

A reply is refused (a Playwright route answers 503, released by the test, never by a timer):
its text goes back to the box and the reason shows under it. The customer writes, the stream
shows the message and the screen draws the conversation again: the reason stays (it used to be
cleared by any message or list refresh, and the agent lost why the reply failed). It goes when
that failure no longer waits: the agent edits the text away, sends it again, or goes to
another conversation (the failed reply then stays with its own conversation as a "Não enviada"
line); a failure the stream shows applied (the server had it) takes its reason with it, unless
another failure it told of still waits in the box.

Each test plays in a `scene` of tests/test_browser_double_sends.py (the app served live with
the `loja` bot, a browser context, its console errors and one `Hold`).
"""

from __future__ import annotations

import httpx
import pytest

from tests.attachment_files import PDF
from tests.test_browser import browser
from tests.test_browser_double_sends import AGENT_MESSAGES, agent_post, expect, into_queue, scene

__all__ = ["browser"]

pytestmark = pytest.mark.asyncio

OVERLOADED_PT = "O sistema está sobrecarregado no momento. Tente de novo em alguns segundos."
"""What the screen says of the 503 the route answers (CODES_PT `overloaded`)."""


async def customer_says(base: str, connector: str, contact: str, text: str) -> None:
    """The contact (already talking with Ana) writes `text` through the channel connector."""
    auth = {"Authorization": f"Bearer {connector}"}
    body = {"contact_id": contact, "message_id": f"{contact}-{text}", "text": text}
    async with httpx.AsyncClient(base_url=base, headers=auth) as http:
        said = await http.post("/api/bots/loja/messages", json=body)
    assert said.is_success, said.text


async def test_the_reason_stays_while_the_failed_reply_waits_in_the_box(
    time_env, settings, engine, browser
):
    """A refused reply back in the box keeps its reason when the customer writes meanwhile (and
    when a second failure of the same text, shown as a line, turns out applied); editing the
    text away clears it; the text sent again clears it and reaches the customer once."""
    async with scene(time_env, settings, engine, browser) as s:
        agent, conversation = await s.picked_up()
        box = agent.get_by_label("Mensagem ao cliente")
        error = agent.locator("#conv-error")
        transcript = agent.locator("#transcript")

        await s.send_held(box, "Seu pedido sai hoje", failure="before")
        s.hold.release()
        await expect(box).to_have_value("Seu pedido sai hoje")  # back, to try again
        await expect(error).to_have_text(OVERLOADED_PT)

        await customer_says(s.base, s.connector, "5511", "Já saiu?")
        await expect(transcript.locator(".msg.customer", has_text="Já saiu?")).to_be_visible()
        await expect(error).to_have_text(OVERLOADED_PT)  # still why the box's reply waits
        await expect(box).to_have_value("Seu pedido sai hoje")
        await agent.locator("#reply-file").set_input_files(  # a file sent meanwhile
            files=[{"name": "boleto.pdf", "mimeType": "application/pdf", "buffer": PDF}]
        )
        await expect(transcript.locator(".attachment", has_text="boleto.pdf")).to_be_visible()
        await expect(error).to_have_text(OVERLOADED_PT)

        await box.fill("Seu pedido sai amanhã")  # the failed text edited away: nothing waits
        await expect(error).to_have_text("")
        await customer_says(s.base, s.connector, "5511", "Obrigado")
        await expect(transcript.locator(".msg.customer", has_text="Obrigado")).to_be_visible()
        await expect(error).to_have_text("")

        # "ok" refused twice: A back in the box, B a line; the server had B after all: once the
        # stream shows it, A still waits in the box, and so does the reason
        await s.send_held(box, "ok", failure="before")
        await s.send_held(box, "ok", failure="before")
        s.hold.release()
        await expect(box).to_have_value("ok")
        s.hold.release()
        await expect(transcript.locator(".unsent")).to_have_count(1)
        await expect(error).to_have_text(OVERLOADED_PT)
        taken = await s.resend(f"/api/agent/conversations/{conversation}/messages", s.token)
        assert taken.is_success, taken.text
        await expect(transcript.locator(".msg.agent", has_text="ok")).to_have_count(1)  # B
        await expect(transcript.locator(".unsent")).to_have_count(0)
        await expect(error).to_have_text(OVERLOADED_PT)

        async with agent.expect_response(agent_post) as retried:
            await box.press("Enter")  # A again: sent, nothing waits
        assert (await retried.value).ok
        await expect(error).to_have_text("")
        await expect(transcript.locator(".msg.agent", has_text="ok")).to_have_count(2)
        texts = [body["text"] for body in s.hold.seen]
        assert texts == ["Seu pedido sai hoje", "ok", "ok", "ok"], texts
        assert s.hold.seen[3]["message_id"] == s.hold.seen[1]["message_id"], s.hold.seen


async def test_the_reason_goes_when_the_agent_goes_to_another_conversation(
    time_env, settings, engine, browser
):
    """The reply refused in the first conversation keeps its reason while its customer writes;
    in the second conversation the error line is empty (it was the first one's), and back in
    the first the reply waits as a "Não enviada" line, without the old reason."""
    async with scene(time_env, settings, engine, browser) as s:
        agent = await s.agent()
        contacts = {await into_queue(s.base, s.connector, c): c for c in ("5511", "5522")}
        tabs = agent.locator("#conv-tabs button")
        for count in (1, 2):
            await agent.get_by_role("button", name="Atender próximo").click()
            await expect(tabs).to_have_count(count)
            # the pickup's answer opens it: a tab may show (from the agent stream) before then
            await expect(tabs.nth(count - 1)).to_have_attribute("aria-pressed", "true")
        await tabs.nth(0).click()
        await expect(tabs.nth(0)).to_have_attribute("aria-pressed", "true")
        await agent.route(AGENT_MESSAGES, s.hold)
        box = agent.get_by_label("Mensagem ao cliente")
        error = agent.locator("#conv-error")
        transcript = agent.locator("#transcript")
        contact = contacts[str(await tabs.nth(0).get_attribute("data-conversation"))]

        await s.send_held(box, "Já verifico", failure="before")
        s.hold.release()
        await expect(error).to_have_text(OVERLOADED_PT)
        await customer_says(s.base, s.connector, contact, "Estou aguardando")
        await expect(
            transcript.locator(".msg.customer", has_text="Estou aguardando")
        ).to_be_visible()
        await expect(error).to_have_text(OVERLOADED_PT)

        await tabs.nth(1).click()
        await expect(tabs.nth(1)).to_have_attribute("aria-pressed", "true")
        await expect(box).to_have_value("")  # the failed reply stays with its conversation
        await expect(error).to_have_text("")
        await tabs.nth(0).click()
        await expect(tabs.nth(0)).to_have_attribute("aria-pressed", "true")
        await expect(transcript.locator(".unsent")).to_have_text(
            "⚠ Não enviada: “Já verifico”. Envie o mesmo texto para tentar de novo."
        )
        await expect(error).to_have_text("")

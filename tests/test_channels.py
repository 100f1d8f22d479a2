"""The channels' pure parts: payload parsing, rendering within the platforms' limits, signatures,
the 24-hour window (no Temporal, no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from channels import signatures, telegram, whatsapp
from channels.model import Click, Outgoing, button_id, chunks, menu_tag
from channels.window import window_open
from tests import channel_payloads as p
from tests.channel_standin import telegram_problem, whatsapp_problem

WA = whatsapp.WhatsApp()
TG = telegram.Telegram()


def test_whatsapp_text_names_the_contact_and_acks_by_wamid() -> None:
    inbound, statuses = WA.parse(p.whatsapp([p.wa_text("wamid.A1", "oi")]))
    assert statuses == []
    [message] = inbound
    assert (message.platform_id, message.sender, message.text, message.name) == (
        "wamid.A1",
        p.CUSTOMER,
        "oi",
        "Maria Souza",
    )
    assert message.data == {"ack": {"message_id": "wamid.A1"}}


@pytest.mark.parametrize(
    ("payload", "text", "extra"),
    [
        (p.wa_button_reply("wamid.B", "2", "Sair"), "2", {"chosen": "Sair"}),
        (
            p.wa_list_reply("wamid.L", "1", "Falar com um especial…"),
            "1",
            {"chosen": "Falar com um especial…"},
        ),
        (
            p.wa_image("wamid.I", "meu boleto"),
            "[imagem] meu boleto",
            {"media": {"type": "image", "id": "1003383421387256", "mime_type": "image/jpeg"}},
        ),
        (p.wa_image("wamid.J", None), "[imagem]", None),
        (
            p.wa_document("wamid.D"),
            "[documento]",
            {
                "media": {
                    "type": "document",
                    "id": "1073860347848530",
                    "mime_type": "application/pdf",
                    "filename": "boleto.pdf",
                }
            },
        ),
    ],
)
def test_whatsapp_replies_and_media(payload, text, extra) -> None:  # type: ignore[no-untyped-def]
    [message], _ = WA.parse(p.whatsapp([payload]))
    assert message.text == text
    assert message.click is None  # a bare number: a menu sent before ids named their menu
    if extra is not None:
        assert {k: v for k, v in message.data.items() if k != "ack"} == extra


def test_whatsapp_button_ids_name_their_menu() -> None:
    """The option's number is the text; the menu's tag and the button's label come along, so
    a press on an older menu's button is told apart (workflows/menu_press.py)."""
    short, long = ["Sim", "Não"], ["Falar com um especialista em boletos atrasados", "Sair"]
    [buttons] = WA.render(p.CUSTOMER, Outgoing("menu", "Confirma?", short))
    reply = buttons.body["interactive"]["action"]["buttons"][1]["reply"]
    [pressed], _ = WA.parse(p.whatsapp([p.wa_button_reply("wamid.B", reply["id"], "Não")]))
    assert (pressed.text, pressed.click) == ("2", Click(menu_tag("Confirma?", short), "Não"))
    [listed] = WA.render(p.CUSTOMER, Outgoing("menu", "Como posso ajudar?", long))
    row = listed.body["interactive"]["action"]["sections"][0]["rows"][0]
    payload = p.wa_list_reply("wamid.L", row["id"], row["title"])
    payload["interactive"]["list_reply"]["description"] = row["description"]
    [chosen], _ = WA.parse(p.whatsapp([payload]))
    assert (chosen.text, chosen.click) == (
        "1",
        Click(menu_tag("Como posso ajudar?", long), long[0]),
    )
    assert chosen.data["chosen"] == "Falar com um especialis…"  # as the agent saw it before
    assert menu_tag("Confirma?", short) == menu_tag("Confirma?", list(short))
    assert menu_tag("Confirma?", short) != menu_tag("Confirma?", long)
    assert menu_tag("Confirma?", short) != menu_tag("Cancela?", short)  # "Sim" to another
    made_up = p.wa_button_reply("wamid.X", "m.zzzzzzzz.1", "x")  # not ours: read as before
    [other], _ = WA.parse(p.whatsapp([made_up]))
    assert (other.text, other.click) == ("m.zzzzzzzz.1", None)


def test_whatsapp_statuses_and_unknown_kinds() -> None:
    error = {"code": 131047, "title": "Re-engagement message"}
    payload = p.whatsapp(
        statuses=[p.wa_status("wamid.out1", "read"), p.wa_status("wamid.out2", "failed", error)]
    )
    inbound, statuses = WA.parse(payload)
    assert inbound == []
    assert [(s.platform_id, s.status, s.error) for s in statuses] == [
        ("wamid.out1", "read", None),
        ("wamid.out2", "failed", "131047: Re-engagement message"),
    ]
    sticker = {
        "from": p.CUSTOMER,
        "id": "wamid.S",
        "timestamp": "1",
        "type": "sticker",
        "sticker": {"id": "9"},
    }
    [said], _ = WA.parse(p.whatsapp([sticker]))
    assert (said.text, said.data["unsupported"]) == ("[mensagem não suportada: sticker]", "sticker")


@pytest.mark.parametrize("kind", ["location", "sticker", "contacts", "reaction"])
def test_whatsapp_unsupported_kinds_tell_the_agent(kind: str) -> None:
    message = {"from": p.CUSTOMER, "id": "wamid.U", "timestamp": "1", "type": kind, kind: {}}
    [said], _ = WA.parse(p.whatsapp([message]))
    assert said.text == f"[mensagem não suportada: {kind}]"


def test_one_change_meta_adds_does_not_drop_the_others() -> None:
    """An unknown status, a change or a message of a shape we do not know: the rest still
    comes through (docs/channels.md)."""
    payload = p.whatsapp(
        [p.wa_text("wamid.A1", "oi"), {"id": "wamid.broken"}],
        statuses=[p.wa_status("wamid.out1", "warning"), p.wa_status("wamid.out2", "read")],
    )
    payload["entry"][0]["changes"].insert(0, {"field": "messages", "value": "not an object"})
    inbound, statuses = WA.parse(payload)
    assert [m.text for m in inbound] == ["oi"]
    assert [(s.platform_id, s.status) for s in statuses] == [("wamid.out2", "read")]
    assert WA.parse(p.whatsapp(statuses=[p.wa_status("wamid.out3", "deleted")])) == ([], [])


def test_changes_for_another_number_of_the_app_are_dropped() -> None:
    payload = p.whatsapp([p.wa_text("wamid.A1", "oi")], statuses=[p.wa_status("wamid.o", "read")])
    assert len(WA.parse(payload, p.PHONE_NUMBER_ID)[0]) == 1
    assert WA.parse(payload, "999") == ([], [])
    del payload["entry"][0]["changes"][0]["value"]["metadata"]
    assert WA.parse(payload, p.PHONE_NUMBER_ID) == ([], [])


def test_long_data_strings_are_clipped() -> None:
    [pressed], _ = WA.parse(p.whatsapp([p.wa_button_reply("wamid.B", "2", "x" * 5000)]))
    assert len(pressed.data["chosen"]) == 200
    document = p.wa_document("wamid.D")
    document["document"]["filename"] = "a" * 1000 + ".pdf"
    [sent], _ = WA.parse(p.whatsapp([document]))
    assert len(sent.data["media"]["filename"]) == 200
    update = p.telegram_text(1, 2, 3, "")
    del update["message"]["text"]
    update["message"]["document"] = {"file_id": "F", "file_name": "b" * 999}
    [sent], _ = TG.parse(update)
    assert len(sent.data["media"]["filename"]) == 200


@pytest.mark.parametrize(
    ("options", "kind"),
    [
        (["Sim", "Não"], "button"),
        (["Um", "Dois", "Três"], "button"),
        (["Falar com um especialista", "Sair"], "list"),  # a title over 20 characters
        ([f"Opção {n}" for n in range(1, 5)], "list"),
        ([f"Opção {n}" for n in range(1, 11)], "list"),
        ([f"Opção {n}" for n in range(1, 12)], "text"),  # over 10 rows: numbered text
    ],
)
def test_whatsapp_menus_fit_the_limits(options: list[str], kind: str) -> None:
    requests = WA.render(p.CUSTOMER, Outgoing("menu", "Como posso ajudar?", options))
    for request in requests:
        assert whatsapp_problem(request.body) is None, request.body
    last = requests[-1].body
    if kind == "text":
        assert last["type"] == "text"
        assert last["text"]["body"].splitlines()[-1] == "11. Opção 11"
    else:
        assert last["interactive"]["type"] == kind
        ids = (
            [b["reply"]["id"] for b in last["interactive"]["action"]["buttons"]]
            if kind == "button"
            else [r["id"] for r in last["interactive"]["action"]["sections"][0]["rows"]]
        )
        assert ids == [
            button_id("Como posso ajudar?", options, n) for n in range(1, len(options) + 1)
        ]
        assert max(len(i) for i in ids) <= (256 if kind == "button" else 200)


def test_menus_drop_the_numbered_lines_the_transcript_adds() -> None:
    text = "Como posso ajudar?\n1. Sim\n2. Não"
    [request] = WA.render(p.CUSTOMER, Outgoing("menu", text, ["Sim", "Não"]))
    assert request.body["interactive"]["body"]["text"] == "Como posso ajudar?"
    many = [f"Opção {n}" for n in range(1, 12)]
    listed = "\n".join(f"{n}. {label}" for n, label in enumerate(many, 1))
    [plain] = WA.render(p.CUSTOMER, Outgoing("menu", f"Escolha:\n{listed}", many))
    assert plain.body["text"]["body"] == f"Escolha:\n{listed}"
    [tg] = TG.render("1", Outgoing("menu", text, ["Sim", "Não"]))
    assert tg.body["text"] == "Como posso ajudar?"


def test_long_texts_are_cut_within_4096_characters() -> None:
    text = ("palavra " * 1500).strip()
    requests = WA.render(p.CUSTOMER, Outgoing("text", text))
    assert len(requests) == 3
    assert all(whatsapp_problem(r.body) is None for r in requests)
    assert " ".join(r.body["text"]["body"] for r in requests) == text
    long_menu = WA.render(p.CUSTOMER, Outgoing("menu", "x" * 2000, ["Sim", "Não"]))
    assert [r.body["type"] for r in long_menu] == ["text", "interactive"]
    assert chunks("") == [""] and chunks("abc", 2) == ["ab", "c"]


def test_cards_read_as_text() -> None:
    cards = [
        {
            "title": "Promoção",
            "text": "10% off",
            "buttons": [{"label": "Ver", "url": "https://x.example/p"}],
        }
    ]
    [request] = WA.render(p.CUSTOMER, Outgoing("card", "Promoção", data={"cards": cards}))
    assert request.body["text"]["body"] == "Promoção\n10% off\nVer: https://x.example/p"


def test_telegram_text_menu_callback_and_ack() -> None:
    [message], _ = TG.parse(p.telegram_text(1, 1365, 1111111, "/start"))
    assert (message.sender, message.text, message.name, message.platform_id) == (
        "1111111",
        "/start",
        "João Silva",
        "1111111:1365",
    )
    assert TG.ack("1111111", message.data["ack"])[0].body == {
        "chat_id": 1111111,
        "action": "typing",
    }
    [request] = TG.render(
        "1111111", Outgoing("menu", "Como posso ajudar?", ["Segunda via", "Sair"])
    )
    assert telegram_problem("sendMessage", request.body) is None
    keyboard = request.body["reply_markup"]["inline_keyboard"]
    asked, options = "Como posso ajudar?", ["Segunda via", "Sair"]
    assert keyboard == [
        [{"text": "Segunda via", "callback_data": button_id(asked, options, 1)}],
        [{"text": "Sair", "callback_data": button_id(asked, options, 2)}],
    ]
    data = button_id(asked, options, 2)
    [pressed], _ = TG.parse(p.telegram_callback(2, 1111111, "4382bfdwdsb323b2d9", data, keyboard))
    assert (pressed.text, pressed.data["chosen"]) == ("2", "Sair")
    assert pressed.click == Click(menu_tag(asked, options), "Sair")
    many = [f"Opção {n}" for n in range(1, 101)]
    [big] = TG.render("1111111", Outgoing("menu", "Escolha:", many))
    assert telegram_problem("sendMessage", big.body) is None  # callback data ≤ 64 bytes
    old = [[{"text": "Sair", "callback_data": "2"}]]  # a keyboard sent before ids named menus
    [before], _ = TG.parse(p.telegram_callback(3, 1111111, "q-old", "2", old))
    assert (before.text, before.data["chosen"], before.click) == ("2", "Sair", None)
    ack = TG.ack("1111111", pressed.data["ack"])
    assert [(r.method, r.body) for r in ack] == [
        ("answerCallbackQuery", {"callback_query_id": "4382bfdwdsb323b2d9"})
    ]


def test_telegram_groups_are_ignored_and_unsupported_kinds_told() -> None:
    for kind in ("group", "supergroup", "channel"):
        update = p.telegram_text(1, 2, -100, "oi")
        update["message"]["chat"]["type"] = kind
        assert TG.parse(update) == ([], [])
        press = p.telegram_callback(2, -100, "q1", "1", [])
        press["callback_query"]["message"]["chat"]["type"] = kind
        assert TG.parse(press) == ([], [])
    for kind in ("video", "sticker", "location"):
        update = p.telegram_text(1, 2, 3, "")
        del update["message"]["text"]
        update["message"][kind] = {"file_id": "F"} if kind != "location" else {"latitude": 1.0}
        [said], _ = TG.parse(update)
        assert said.text == f"[mensagem não suportada: {kind}]"


def test_signatures() -> None:
    body = b'{"object":"whatsapp_business_account"}'
    good = signatures.whatsapp_signature("app-secret", body)
    assert signatures.whatsapp_signature_ok("app-secret", body, good)
    assert not signatures.whatsapp_signature_ok("other", body, good)
    assert not signatures.whatsapp_signature_ok("app-secret", body + b" ", good)
    assert not signatures.whatsapp_signature_ok("app-secret", body, None)
    assert not signatures.whatsapp_signature_ok("app-secret", body, good.removeprefix("sha256="))
    assert signatures.telegram_secret_ok("s3cret-token", "s3cret-token")
    assert not signatures.telegram_secret_ok("s3cret-token", "other")
    assert not signatures.telegram_secret_ok("", "")
    assert (
        signatures.verify_handshake("vt-12345678", "subscribe", "vt-12345678", "1158201444")
        == "1158201444"
    )
    assert signatures.verify_handshake("vt-12345678", "subscribe", "wrong", "1") is None
    assert signatures.verify_handshake("vt-12345678", "unsubscribe", "vt-12345678", "1") is None
    assert signatures.verify_handshake("", "subscribe", "", "1") is None
    assert not signatures.whatsapp_signature_ok("", body, signatures.whatsapp_signature("", body))


@pytest.mark.parametrize("made_up", ["sha256=çãõ", "sha256=" + "é" * 64, "ü", "sha256=\udcff"])
def test_non_ascii_signatures_are_refused_not_errors(made_up: str) -> None:
    body = b"{}"
    assert not signatures.whatsapp_signature_ok("app-secret", body, made_up)
    assert not signatures.telegram_secret_ok("s3cret-token", made_up)
    assert signatures.verify_handshake("vt-12345678", "subscribe", made_up, "1") is None


@pytest.mark.parametrize(
    ("silence", "open_"),
    [
        (None, False),
        (timedelta(0), True),
        (timedelta(hours=23, minutes=59), True),
        (timedelta(hours=24), False),
    ],
)
def test_the_24_hour_window(silence: timedelta | None, open_: bool) -> None:
    at = datetime(2026, 11, 29, 12, tzinfo=UTC)
    assert window_open(None if silence is None else at - silence, at) is open_


def test_every_process_sets_logging_up_with_quiet_http_clients() -> None:
    """worker.py, `up` and the CLI go through transbordo/logs.py (httpx at WARNING): no other
    `basicConfig` that would let request URLs (Telegram's hold the bot token) reach a log."""
    root = Path(__file__).resolve().parent.parent
    sources = [
        root / "worker.py",
        *(root / "transbordo").rglob("*.py"),
        *(root / "api").rglob("*.py"),
    ]
    calling = {
        str(path.relative_to(root))
        for path in sources
        if "logging.basicConfig(" in path.read_text(encoding="utf-8")
    }
    assert calling == {"transbordo/logs.py"}

"""`transbordo chat BOT`: talk to a bot from the terminal, as a channel would.

With a connector credential (`--token` or TRANSBORDO_CHANNEL_TOKEN) it names the contact, as a
company's backend does; without one it opens a web session, as the web chat does (the bot's
flow must enable `channels.web`), and the server chooses the contact."""

from __future__ import annotations

import secrets
import sys

import httpx


def run_chat(
    api: str, bot: str, contact: str | None, name: str | None, token: str | None = None
) -> int:
    """Read lines from stdin, send each as a customer message, print what comes back."""
    last_seq = 0
    conversation: str | None = None
    with httpx.Client(base_url=api, timeout=30) as client:
        try:
            contact, token = _identity(client, bot, contact, token)
        except httpx.TransportError as exc:
            _no_answer(api, bot, exc)
            return 1
        except ChatRefused as exc:
            print(f"! {exc}", file=sys.stderr, flush=True)
            return 1
        client.headers["Authorization"] = f"Bearer {token}"
        print(f"Conversando com {bot} como {contact}. Ctrl-D para sair.", flush=True)
        for number, line in enumerate(sys.stdin, start=1):
            text = line.strip()
            if not text:
                continue
            body: dict[str, object] = {
                "contact_id": contact,
                "message_id": f"{contact}-{secrets.token_hex(6)}-{number}",
                "text": text,
            }
            if name:
                body["contact"] = {"name": name}
            try:
                response = client.post(f"/api/bots/{bot}/messages", json=body)
            except httpx.TransportError as exc:
                _no_answer(api, bot, exc)
                return 1
            if response.status_code >= 400:
                print(f"! {response.status_code}: {_detail(response)}", flush=True)
                continue
            turn = response.json()
            if response.status_code == 202:
                print("* mensagem recebida; a resposta chega quando o bot voltar", flush=True)
            conversation = turn.get("conversation_id") or conversation
            for reply in turn["replies"]:
                _show(reply)
                last_seq = max(last_seq, reply["seq"])
            if conversation:
                last_seq = _show_others(client, conversation, last_seq)
            if turn["status"] == "ended":
                print("(conversa encerrada)", flush=True)
    return 0


def _no_answer(api: str, bot: str, exc: Exception) -> None:
    """The API did not answer: where the chat looked, and how to point it elsewhere."""
    print(
        f"! a API em {api} não respondeu: {exc}\n"
        f"  Se ela roda em outro endereço, informe-o: transbordo chat {bot} --api"
        " http://127.0.0.1:PORTA (a porta do `transbordo up --port`; com `up --data-dir D`,"
        f" transbordo chat {bot} --data-dir D a encontra).",
        file=sys.stderr,
        flush=True,
    )


class ChatRefused(Exception):
    """The API would not open a conversation for this terminal (said in pt-BR)."""


def _identity(
    client: httpx.Client, bot: str, contact: str | None, token: str | None
) -> tuple[str, str]:
    """(contact id, bearer token): a connector names its contact; otherwise a web session."""
    if token:
        return contact or f"terminal-{secrets.token_hex(4)}", token
    if contact:
        raise ChatRefused("--contact exige uma credencial de canal (--token tbc_…)")
    response = client.post(f"/api/bots/{bot}/web-sessions")
    if response.status_code == 429:
        wait = response.headers.get("Retry-After", "alguns")
        raise ChatRefused(f"muitas sessões abertas deste endereço; tente em {wait} s")
    if response.status_code != 201:
        raise ChatRefused(
            f"{bot} não atende pelo chat web (channels.web) ou não está publicado; "
            "use --token com uma credencial de canal do bot"
        )
    session = response.json()
    return str(session["contact_id"]), str(session["token"])


def _detail(response: httpx.Response) -> object:
    try:
        return response.json().get("detail")
    except ValueError:  # not JSON (a proxy's error page)
        return response.text[:200]


def _show(message: dict[str, object]) -> None:
    who = message.get("from")
    prefix = {"bot": "bot", "agent": "agente", "system": "*"}.get(str(who), str(who))
    print(f"{prefix}> {message.get('text')}", flush=True)


def _show_others(client: httpx.Client, conversation: str, after: int) -> int:
    """Messages that arrived outside the reply (agents, notices), shown once."""
    response = client.get(f"/api/conversations/{conversation}/messages", params={"after": after})
    if response.status_code != 200:
        return after
    for message in response.json():
        if message["from"] != "customer":
            _show(message)
        after = max(after, message["seq"])
    return after

"""`transbordo chat BOT`: talk to a bot from the terminal, as a channel would."""

from __future__ import annotations

import secrets
import sys

import httpx


def run_chat(api: str, bot: str, contact: str | None, name: str | None) -> int:
    """Read lines from stdin, send each as a customer message, print what comes back."""
    contact = contact or f"terminal-{secrets.token_hex(4)}"
    last_seq = 0
    conversation: str | None = None
    print(f"Conversando com {bot} como {contact}. Ctrl-D para sair.", flush=True)
    with httpx.Client(base_url=api, timeout=30) as client:
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
                print(f"! a API em {api} não respondeu: {exc}", file=sys.stderr, flush=True)
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

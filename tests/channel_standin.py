"""The platforms' send endpoints on loopback: WhatsApp Cloud API and Telegram Bot API stand-ins.

Each request is checked the way the platform checks it (path, auth, body schema, limits such as
3 buttons / 10 rows / 4096 characters); a bad one is answered as the platform would (400, 401)
and kept in `violations`. `script` makes the next sends answer 429 or 5xx (retries), `refuse`
makes a text be refused for good (a permanent failure). Acknowledgements (WhatsApp's read
receipts, Telegram's typing and callback answers) are taken unless `ack_script` says otherwise
for the next ones (429 or 5xx, as the platform answers when busy or down); `hold_acks` keeps
them unanswered (`held` lists them) until `release_acks`. `media` holds the customers' files the
platforms serve (WhatsApp: `GET /{media-id}` → url, `GET url` with the bearer token; Telegram:
`getFile` → file_path, `GET /file/bot<token>/<path>`); `gets` lists the GET paths asked.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WA_VERSION = "v21.0"


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int


@dataclass
class Standin:
    """What the stand-in received; `sends` are the accepted message sends, in order."""

    token: str
    phone_number_id: str = "106540352242922"
    requests: list[Seen] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    script: list[tuple[int, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    ack_script: list[tuple[int, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    held: list[dict[str, Any]] = field(default_factory=list)
    """Bodies of the acknowledgements waiting for `release_acks` (hold_acks)."""
    refuse: Callable[[dict[str, Any]], bool] = lambda body: False
    url: str = ""
    media: dict[str, bytes] = field(default_factory=dict)
    media_down: set[str] = field(default_factory=set)
    """Media ids whose bytes the platform answers 503 for (down, as long as they are here)."""
    gets: list[str] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _acks_go: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._acks_go.set()

    def hold_acks(self) -> None:
        """Acknowledgements from now on wait, unanswered, until `release_acks`."""
        self._acks_go.clear()

    def release_acks(self) -> None:
        self._acks_go.set()

    def sends(self) -> list[dict[str, Any]]:
        """Accepted message sends (not read receipts, typing or callback answers)."""
        return [s.body for s in self.requests if s.status == 200 and _is_send(s.path, s.body)]

    def wait(self, predicate: Callable[[Standin], bool], timeout: float = 60) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: predicate(self), timeout), (
                self.requests,
                self.violations,
            )

    def answer(
        self, path: str, headers: dict[str, str], body: dict[str, Any]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if path.startswith(f"/{WA_VERSION}/"):
            status, reply, extra = self._whatsapp(path, headers, body)
        else:
            status, reply, extra = self._telegram(path, body)
        with self._changed:
            self.requests.append(Seen(path, headers, body, status))
            self._changed.notify_all()
        return status, reply, extra

    def fetch(self, path: str, headers: dict[str, str]) -> tuple[int, bytes, str]:
        """A GET: media metadata or bytes, as the platforms serve them."""
        with self._changed:
            self.gets.append(path)
            self._changed.notify_all()
        wa_auth = headers.get("authorization") == f"Bearer {self.token}"
        tg_prefix = f"/bot{self.token}/getFile?file_id="
        if path.startswith(f"/{WA_VERSION}/") and path.count("/") == 2:
            media_id = path.rsplit("/", 1)[1]
            if not wa_auth:
                return _json(401, {"error": {"message": "Invalid OAuth token.", "code": 190}})
            if media_id not in self.media:
                return _json(404, {"error": {"message": "Unsupported get request.", "code": 100}})
            url = f"{self.url}/wa-media/{media_id}"
            size = len(self.media[media_id])
            return _json(
                200,
                {
                    "messaging_product": "whatsapp",
                    "url": url,
                    "id": media_id,
                    "file_size": size,
                    "mime_type": "application/octet-stream",
                },
            )
        if path.startswith("/wa-media/"):
            if path.removeprefix("/wa-media/") in self.media_down:
                return 503, b"", "text/plain"
            content = self.media.get(path.removeprefix("/wa-media/"))
            if not wa_auth or content is None:
                return 404, b"", "text/plain"
            return 200, content, "application/octet-stream"
        if path.startswith(tg_prefix):
            file_id = path.removeprefix(tg_prefix)
            if file_id not in self.media:
                return _json(
                    400,
                    {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"},
                )
            return _json(
                200,
                {"ok": True, "result": {"file_id": file_id, "file_path": f"documents/{file_id}"}},
            )
        if path.startswith(f"/file/bot{self.token}/documents/"):
            content = self.media.get(path.rsplit("/", 1)[1])
            return (200, content, "application/octet-stream") if content else (404, b"", "")
        self.violations.append(f"unknown GET {path}")
        return 404, b"", "text/plain"

    def _scripted(self) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        return self.script.pop(0) if self.script else None

    def _ack(self, body: dict[str, Any], taken: dict[str, Any]):  # type: ignore[no-untyped-def]
        """An acknowledgement's answer: held while `hold_acks`, then `ack_script`'s or taken."""
        if not self._acks_go.is_set():
            with self._changed:
                self.held.append(body)
                self._changed.notify_all()
            self._acks_go.wait()
            with self._changed:
                self.held.remove(body)
        if self.ack_script:
            return self.ack_script.pop(0)
        return 200, taken, {}

    def _whatsapp(self, path: str, headers: dict[str, str], body: dict[str, Any]):  # type: ignore[no-untyped-def]
        if path != f"/{WA_VERSION}/{self.phone_number_id}/messages":
            return self._bad_wa(f"unknown path {path}", 404)
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"error": {"message": "Invalid OAuth access token.", "code": 190}}, {}
        problem = whatsapp_problem(body)
        if problem:
            return self._bad_wa(problem)
        if body.get("status") == "read":
            return self._ack(body, {"success": True})
        scripted = self._scripted()
        if scripted:
            return scripted
        if self.refuse(body):
            return (
                400,
                {"error": {"message": "(#131026) Message undeliverable", "code": 131026}},
                {},
            )
        wamid = f"wamid.out{next(self._ids)}"
        to = body["to"]
        return (
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": wamid}],
            },
            {},
        )

    def _bad_wa(self, problem: str, status: int = 400):  # type: ignore[no-untyped-def]
        self.violations.append(problem)
        return status, {"error": {"message": f"(#100) {problem}", "code": 100}}, {}

    def _telegram(self, path: str, body: dict[str, Any]):  # type: ignore[no-untyped-def]
        prefix = f"/bot{self.token}/"
        if not path.startswith(prefix):
            self.violations.append(f"bad token in {path}")
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}, {}
        method = path.removeprefix(prefix)
        problem = telegram_problem(method, body)
        if problem:
            self.violations.append(problem)
            return (
                400,
                {"ok": False, "error_code": 400, "description": f"Bad Request: {problem}"},
                {},
            )
        if method != "sendMessage":
            return self._ack(body, {"ok": True, "result": True})
        scripted = self._scripted()
        if scripted:
            return scripted
        if self.refuse(body):
            return (
                403,
                {
                    "ok": False,
                    "error_code": 403,
                    "description": "Forbidden: bot was blocked by the user",
                },
                {},
            )
        result = {
            "message_id": next(self._ids),
            "chat": {"id": body["chat_id"]},
            "date": 0,
            "text": body["text"],
        }
        return 200, {"ok": True, "result": result}, {}


def _json(status: int, body: dict[str, Any]) -> tuple[int, bytes, str]:
    return status, json.dumps(body).encode(), "application/json"


def _is_send(path: str, body: dict[str, Any]) -> bool:
    if path.startswith(f"/{WA_VERSION}/"):
        return body.get("status") != "read"
    return path.endswith("/sendMessage")


def whatsapp_problem(body: dict[str, Any]) -> str | None:
    """What Meta's Cloud API would refuse in a `/messages` body (the rules we rely on)."""
    if body.get("messaging_product") != "whatsapp":
        return "messaging_product must be whatsapp"
    if body.get("status") == "read":
        return None if str(body.get("message_id", "")).startswith("wamid.") else "bad message_id"
    if not body.get("to"):
        return "to is required"
    kind = body.get("type")
    if kind == "text":
        text = body["text"]["body"]
        return None if 0 < len(text) <= 4096 else f"text body of {len(text)} characters"
    if kind == "template":
        template = body["template"]
        return (
            None
            if template.get("name") and template.get("language", {}).get("code")
            else "bad template"
        )
    if kind != "interactive":
        return f"unexpected type {kind}"
    return interactive_problem(body["interactive"])


def interactive_problem(interactive: dict[str, Any]) -> str | None:
    """Reply buttons: 1 to 3, titles ≤ 20; lists: 1 to 10 rows, titles ≤ 24, descriptions ≤ 72."""
    if len(interactive["body"]["text"]) > 1024:
        return "interactive body over 1024 characters"
    action = interactive["action"]
    if interactive["type"] == "button":
        buttons = action["buttons"]
        if not 1 <= len(buttons) <= 3:
            return f"{len(buttons)} buttons"
        if any(len(b["reply"]["title"]) > 20 for b in buttons):
            return "button title over 20 characters"
        return None
    if interactive["type"] == "list":
        rows = [r for s in action["sections"] for r in s["rows"]]
        if not 1 <= len(rows) <= 10:
            return f"{len(rows)} rows"
        if len(action["button"]) > 20:
            return "list button over 20 characters"
        if any(len(r["title"]) > 24 or len(r.get("description", "")) > 72 for r in rows):
            return "row title over 24 or description over 72 characters"
        return None
    return f"unexpected interactive type {interactive['type']}"


def telegram_problem(method: str, body: dict[str, Any]) -> str | None:
    if method == "sendMessage":
        if "chat_id" not in body:
            return "chat_id is required"
        if not 1 <= len(body.get("text", "")) <= 4096:
            return "message text is empty or too long"
        keyboard = (body.get("reply_markup") or {}).get("inline_keyboard", [])
        if any(len(b.get("callback_data", "").encode()) > 64 for row in keyboard for b in row):
            return "BUTTON_DATA_INVALID"
        return None
    if method == "sendChatAction":
        return None if body.get("action") == "typing" and "chat_id" in body else "bad chat action"
    if method == "answerCallbackQuery":
        return None if body.get("callback_query_id") else "callback_query_id is required"
    return f"unknown method {method}"


@contextmanager
def standin(token: str) -> Iterator[Standin]:
    """A stand-in of both platforms on a free loopback port; `url` is its base."""
    state = Standin(token=token)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                body = json.loads(raw)
            except ValueError:
                body = {}
            status, reply, extra = state.answer(self.path, headers, body)
            payload = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:  # noqa: N802
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, payload, content_type = state.fetch(self.path, headers)
            self.send_response(status)
            self.send_header("Content-Type", content_type or "text/plain")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()

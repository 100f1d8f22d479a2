// Tela de Atendimento: the agent's status, the queues of their services, their conversations.
// Live through GET /api/agent/stream (SSE over fetch, bearer token); polls when it is missing.
// One job a module: atendimento_session.js (sign-in, status, live updates), _queue.js (the
// queues, taking a conversation), _list.js (the conversations in service), _view.js (the one on
// screen), _actions.js (reply, transfer, finish), _unsent.js (failed replies, the error line),
// _state.js (what they share); and the desk, media, deliveries and supervisor modules.
import { deskMedia } from "./atendimento_media.js";
import { wireActions } from "./atendimento_actions.js";
import { wireQueue } from "./atendimento_queue.js";
import { start, wireSession } from "./atendimento_session.js";
import { state } from "./atendimento_state.js";
import { addMessages } from "./atendimento_view.js";

wireSession();
wireQueue();
wireActions();
start();
deskMedia({ selected: () => state.selected, onMessage: (id, message) => addMessages(id, [message]) });

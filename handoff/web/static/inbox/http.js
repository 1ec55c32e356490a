// atende inbox (/inbox): http — see /inbox/inbox.js.
import { createApi } from "../lib/api.js";
import { S } from "./state.js";
import { ERRORS } from "./vocab.js";

// ---------------------------------------------------------------- HTTP
export function errorText(code, serverMessage) {
  if (code && ERRORS[code]) return ERRORS[code];
  if (code && code.indexOf("not_eligible_") === 0) return ERRORS.not_eligible_not_in_queue;
  return serverMessage || ERRORS.generic;
}

export const api = createApi({
  describe: function (status, code, serverMessage) { return errorText(code, serverMessage); },
  networkText: ERRORS.network,
  sessionText: ""
});

export function convPath(id, action) {
  return "/api/conversations/" + encodeURIComponent(id) + (action ? "/" + action : "");
}

// A conversation outside the attendant's own queues (grant all_queues) opens only with a reason,
// which the hub writes to the audit log; it is kept for this page's later reads of it.
export function withReason(path, id) {
  const reason = S.reasons[id];
  return reason ? path + (path.indexOf("?") < 0 ? "?" : "&") + "reason=" + encodeURIComponent(reason) : path;
}

export function askReason() {
  const text = window.prompt("Esta conversa não é da sua fila. Informe o motivo do acesso " +
    "(de 3 a 300 caracteres); ele fica registrado na auditoria.");
  const reason = String(text || "").trim();
  return reason.length >= 3 && reason.length <= 300 ? reason : null;
}

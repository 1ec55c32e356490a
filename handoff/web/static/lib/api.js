/*
 * atende staff pages: the fetch wrapper every page script uses for the staff API.
 * Same-origin session cookie; `X-Requested-With: atende` (the hub's CSRF check, required on unsafe
 * methods, harmless on reads) and `Accept: application/json` on every request; JSON bodies.
 * A 401 sends the browser to /login?next=<this page>. Other failures throw an ApiError whose
 * message is pt-BR: the page's own text for the code, else the server's error message.
 */

export const NETWORK_TEXT = "Não foi possível falar com o servidor. Verifique a conexão e tente de novo.";
export const SESSION_TEXT = "Sua sessão terminou. Entre de novo.";
export const FORBIDDEN_TEXT = "Você não tem permissão para esta ação.";

export class ApiError extends Error {
  constructor(status, code, message, data) {
    super(message);
    this.status = status;
    this.code = code;
    this.data = data || {};
  }
}

/** /login?next=<next> (default: this page with its query). */
export function loginUrl(next) {
  return "/login?next=" + encodeURIComponent(next || (window.location.pathname + window.location.search));
}

export function toLogin(next) {
  window.location.replace(loginUrl(next));
}

function defaultDescribe(status, code, message) {
  return message || "Erro inesperado (" + status + ").";
}

/**
 * The bare request (the Response; rejects only when the server cannot be reached), for a page that
 * reads the answer itself (the sign-in page: its 401 is a wrong password, its 429 has Retry-After).
 */
export function request(method, path, body) {
  const headers = { Accept: "application/json", "X-Requested-With": "atende" };
  const init = { method: method, credentials: "same-origin", headers: headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  return fetch(path, init);
}

/**
 * An api(method, path, body) function for a page. options:
 *   next          the page to come back to after signing in (default: this page)
 *   describe      (status, code, serverMessage) -> pt-BR text of a refusal
 *   networkText   the text when the server cannot be reached
 *   sessionText   the message of the error thrown after a 401 (the page is leaving anyway)
 *   forbiddenText when set, the text of every 403 (else describe() decides)
 */
export function createApi(options) {
  const o = options || {};
  const describe = o.describe || defaultDescribe;
  const networkText = o.networkText || NETWORK_TEXT;
  const sessionText = o.sessionText === undefined ? SESSION_TEXT : o.sessionText;
  return async function api(method, path, body) {
    let response;
    try {
      response = await request(method, path, body);
    } catch (e) {
      throw new ApiError(0, "network", networkText);
    }
    if (response.status === 401) {
      toLogin(o.next);
      throw new ApiError(401, "unauthorized", sessionText);
    }
    let data;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      const err = (data && data.error) || {};
      const text = response.status === 403 && o.forbiddenText ? o.forbiddenText
        : describe(response.status, err.code, err.message, err);
      throw new ApiError(response.status, err.code || "error", text, err);
    }
    return data;
  };
}

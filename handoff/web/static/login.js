/*
 * atende: staff sign-in page (/login).
 *
 * Posts {email, password} to POST /api/auth/login, which sets the HttpOnly session cookie
 * `atende_session`; then goes to `?next=` (a path on this site only) or /inbox.
 * ES module (shared helpers: /static/lib/), no dependencies; texts are assigned with textContent only.
 */
import { NETWORK_TEXT, request } from "/static/lib/api.js";

const T = {
  missing: "Informe o e-mail e a senha.",
  bad: "E-mail ou senha inválidos.",
  locked: function (minutes) {
    return "Muitas tentativas de entrada. Tente novamente em " + minutes + (minutes === 1 ? " minuto." : " minutos.");
  },
  busy: "Entrando…",
  submit: "Entrar",
  network: NETWORK_TEXT,
  server: "O servidor não conseguiu concluir o login. Tente de novo em instantes."
};

// Only a path of this site: "/inbox", "/dashboard?from=…". Never "//other.site" or "https://…".
function safeNext(raw) {
  if (!raw || raw.charAt(0) !== "/" || raw.charAt(1) === "/" || raw.charAt(1) === "\\") return "/inbox";
  try {
    const url = new URL(raw, window.location.origin);
    if (url.origin !== window.location.origin) return "/inbox";
    if (url.pathname === "/login") return "/inbox";
    return url.pathname + url.search + url.hash;
  } catch (e) {
    return "/inbox";
  }
}

const next = safeNext(new URLSearchParams(window.location.search).get("next"));
const form = document.querySelector(".login-form");
const email = document.getElementById("login-email");
const password = document.getElementById("login-password");
const error = document.querySelector(".login-error");
const submit = form.querySelector('button[type="submit"]');

function showError(text) {
  error.textContent = text;
  error.hidden = false;
}

function setBusy(busy) {
  submit.disabled = busy;
  submit.textContent = busy ? T.busy : T.submit;
  form.setAttribute("aria-busy", busy ? "true" : "false");
}

form.addEventListener("submit", async function (event) {
  event.preventDefault();
  error.hidden = true;
  const body = { email: email.value.trim(), password: password.value };
  if (!body.email || !body.password) {
    showError(T.missing);
    (body.email ? password : email).focus();
    return;
  }
  setBusy(true);
  let response;
  try {
    response = await request("POST", "/api/auth/login", body);
  } catch (e) {
    setBusy(false);
    showError(T.network);
    return;
  }
  if (response.ok) {
    password.value = "";
    window.location.replace(next);
    return;
  }
  setBusy(false);
  if (response.status === 429) {
    const seconds = parseInt(response.headers.get("Retry-After") || "", 10);
    showError(T.locked(Math.max(1, Math.ceil((isNaN(seconds) ? 900 : seconds) / 60))));
    password.value = "";
  } else if (response.status === 401 || response.status === 400) {
    showError(response.status === 401 ? T.bad : T.missing);
    password.value = "";
    password.focus();
  } else {
    showError(T.server);
  }
});

email.focus();

/*
 * atende: the clinic team (/equipe, admins only).
 *
 * Data: GET /api/staff (every account, deactivated ones included) and GET /api/auth/me; changes:
 * POST /api/staff and PATCH /api/staff/<id>. Session cookie + `X-Requested-With: atende` via
 * /static/lib/api.js (docs/CONTRACTS.md). The hub has no endpoint listing its queues: the queue choices are
 * the queues of the existing accounts (an account without configured queues works in every queue,
 * so its `queues` is the full list) plus free text, which the API validates (400 unknown_queue).
 * ES module (shared helpers: /static/lib/), no dependencies; texts are assigned with textContent
 * only.
 */
import { createApi, loginUrl } from "/static/lib/api.js";
import { $, $all, announce as announceIn, el, showError } from "/static/lib/dom.js";

const ROLES = { attendant: "Atendente", manager: "Gestor", admin: "Administrador" };
const PRESENCE = { online: "Online", away: "Ausente", offline: "Offline" };
const QUEUES = { reception: "Recepção", clinical: "Enfermagem", billing: "Financeiro", exams: "Exames",
  on_call: "Plantão" };
const CHANNELS = {
  webchat: "Site", whatsapp: "WhatsApp", sms: "SMS", email: "E-mail", instagram: "Instagram",
  messenger: "Messenger", voice: "Telefone", telegram: "Telegram"
};
const FIELDS = {
  email: "e-mail", name: "nome", role: "papel", password: "senha (mínimo de 10 caracteres)",
  skills: "habilidades", queues: "filas", max_concurrent: "conversas simultâneas (de 1 a 50)",
  max_per_channel: "limite por canal (números a partir de 1)", active: "situação"
};


const S = { me: null, accounts: [], editing: null, target: null };
const ui = {
  rows: $('[data-testid="team-rows"]'),
  table: $('[data-testid="team-table"]'),
  status: $('[data-testid="team-status"]'),
  error: $('[data-testid="team-error"]'),
  meName: $('[data-testid="me-name"]'),
  createForm: $('[data-testid="create-form"]'),
  createError: $('[data-testid="create-error"]'),
  editDialog: $('[data-testid="edit-dialog"]'),
  passwordDialog: $('[data-testid="password-dialog"]'),
  deactivateDialog: $('[data-testid="deactivate-dialog"]')
};
function announce(text) { announceIn(ui.status, text); }
const api = createApi({ next: "/equipe", describe: describe });

// ---------------------------------------------------------------- helpers
function label(map, key) { return Object.prototype.hasOwnProperty.call(map, key) ? map[key] : key; }
function list(text) {
  return String(text || "").split(/[\s,;]+/).map(function (s) { return s.trim(); }).filter(Boolean);
}
function sameList(a, b) {
  const x = a.slice().sort(), y = b.slice().sort();
  return x.length === y.length && x.every(function (v, i) { return v === y[i]; });
}
function sameMap(a, b) {
  const ka = Object.keys(a), kb = Object.keys(b);
  return ka.length === kb.length && ka.every(function (k) { return b[k] === a[k]; });
}



// ---------------------------------------------------------------- API


// The API's error codes in pt-BR (its own messages are partly in English).
function describe(status, code, message) {
  const detail = String(message || "");
  const after = detail.indexOf(":") >= 0 ? detail.slice(detail.indexOf(":") + 1).trim() : "";
  switch (code) {
    case "self_lockout": return "Você não pode remover o seu próprio acesso de administrador.";
    case "last_admin": return "A clínica precisa de pelo menos um administrador ativo: ative ou promova outra pessoa antes.";
    case "email_taken": return "Já existe uma conta com este e-mail.";
    case "unknown_queue":
      return "Fila desconhecida" + (after ? ": " + after : "") + ". Use somente filas configuradas na clínica.";
    case "invalid_skills":
      return "Habilidades inválidas: use tipo:valor, com tipo specialty (especialidade), insurer (convênio) " +
        "ou unit (unidade). Ex.: insurer:unimed.";
    case "invalid_body": {
      const names = after ? after.split(",").map(function (f) {
        const key = f.trim().split(".")[0];
        return label(FIELDS, key);
      }) : [];
      return "Verifique os campos" + (names.length ? ": " + names.filter(function (n, i) {
        return names.indexOf(n) === i;
      }).join(", ") : "") + ".";
    }
    case "not_found": return "Conta não encontrada: atualize a lista.";
    case "forbidden": return "Acesso restrito a administradores.";
    case "csrf": return "Pedido recusado pelo servidor. Recarregue a página.";
    default: return "Não foi possível concluir a operação (erro " + status + "). Tente de novo.";
  }
}

// ---------------------------------------------------------------- queues
// Known queues: every account's effective queues, in the inbox's order first.
function knownQueues() {
  const names = [];
  Object.keys(QUEUES).forEach(function (q) {
    if (S.accounts.some(function (a) { return (a.queues || []).indexOf(q) >= 0; })) names.push(q);
  });
  S.accounts.forEach(function (a) {
    (a.queues || []).concat(a.queues_configured || []).forEach(function (q) {
      if (names.indexOf(q) < 0) names.push(q);
    });
  });
  return names;
}

function renderQueueOptions(form, prefix, checked) {
  const box = $("[data-queue-options]", form);
  const known = knownQueues();
  box.replaceChildren.apply(box, known.map(function (q) {
    const id = prefix + "-queue-" + q;
    return el("span", { class: "queue-option" }, [
      el("input", { type: "checkbox", id: id, name: "queue", value: q, checked: checked.indexOf(q) >= 0 }),
      el("label", { for: id, text: label(QUEUES, q) + (QUEUES[q] ? " (" + q + ")" : "") })
    ]);
  }));
  const extra = form.elements.namedItem("extra_queues");
  extra.value = checked.filter(function (q) { return known.indexOf(q) < 0; }).join(", ");
}

function formQueues(form) {
  const picked = $all('input[name="queue"]:checked', form).map(function (i) { return i.value; });
  list(form.elements.namedItem("extra_queues").value).forEach(function (q) {
    if (picked.indexOf(q) < 0) picked.push(q);
  });
  return picked;
}

// "whatsapp=2, webchat=3" -> {whatsapp: 2, webchat: 3}; null when malformed.
function parseCaps(text) {
  const caps = {};
  const parts = String(text || "").split(/[,;]+/).map(function (s) { return s.trim(); }).filter(Boolean);
  for (let i = 0; i < parts.length; i += 1) {
    const m = /^([a-z_]+)\s*[=:]\s*(\d{1,3})$/i.exec(parts[i]);
    if (!m || Number(m[2]) < 1) return null;
    caps[m[1].toLowerCase()] = Number(m[2]);
  }
  return caps;
}
function capsText(caps) {
  return Object.keys(caps || {}).map(function (k) { return k + "=" + caps[k]; }).join(", ");
}

// Shared checks of the create and edit forms; returns [fields, error text].
function readForm(form) {
  const name = form.elements.namedItem("name").value.trim();
  const max = Number(form.elements.namedItem("max_concurrent").value);
  const caps = parseCaps(form.elements.namedItem("max_per_channel").value);
  if (!name) return [null, "Informe o nome."];
  if (!Number.isInteger(max) || max < 1 || max > 50) return [null, "Conversas simultâneas: um número de 1 a 50."];
  if (caps === null) return [null, "Limite por canal: use canal=número, por exemplo whatsapp=2."];
  return [{
    name: name, role: form.elements.namedItem("role").value, queues: formQueues(form),
    skills: list(form.elements.namedItem("skills").value), max_concurrent: max, max_per_channel: caps,
    grants: $all('input[name="grant"]', form).filter(function (c) { return c.checked; })
      .map(function (c) { return c.value; })
  }, ""];
}

// ---------------------------------------------------------------- table
function capacityCell(a) {
  const lines = [el("span", { text: "até " + a.max_concurrent + (a.max_concurrent === 1 ? " conversa" : " conversas") })];
  lines.push(el("small", { text: "em andamento: " + (a.open || 0) }));
  const caps = Object.keys(a.max_per_channel || {});
  if (caps.length) {
    lines.push(el("small", { text: caps.map(function (c) {
      return label(CHANNELS, c) + " até " + a.max_per_channel[c];
    }).join(" · ") }));
  }
  return el("td", { "data-col": "capacity" }, lines);
}

function row(a) {
  const isMe = S.me && S.me.id === a.id;
  const configured = a.queues_configured || [];
  const queues = configured.length ? configured.map(function (q) { return label(QUEUES, q); }).join(", ")
    : "Todas as filas";
  const presence = a.active ? (a.presence || "offline") : "offline";
  const actions = [
    el("button", { type: "button", class: "btn btn--small", "data-action": "edit",
      "aria-label": "Editar " + a.name, text: "Editar" }),
    el("button", { type: "button", class: "btn btn--small", "data-action": "password",
      "aria-label": "Redefinir senha de " + a.name, text: "Redefinir senha" }),
    a.active
      ? el("button", { type: "button", class: "btn btn--small btn--danger", "data-action": "deactivate",
        "aria-label": "Desativar " + a.name, text: "Desativar" })
      : el("button", { type: "button", class: "btn btn--small", "data-action": "reactivate",
        "aria-label": "Reativar " + a.name, text: "Reativar" })
  ];
  return el("tr", { "data-testid": "staff-row", "data-id": a.id, "data-email": a.email,
    "data-active": a.active ? "true" : "false", class: a.active ? "" : "inactive" }, [
    el("th", { scope: "row", "data-col": "name" }, [
      document.createTextNode(a.name), isMe ? el("small", { class: "you", text: " (você)" }) : null
    ]),
    el("td", { "data-col": "email", text: a.email }),
    el("td", { "data-col": "role", text: label(ROLES, a.role) }),
    el("td", { "data-col": "queues" }, [
      el("span", { text: queues }),
      (a.skills || []).length ? el("small", { text: "Habilidades: " + a.skills.join(", ") }) : null
    ]),
    capacityCell(a),
    el("td", { "data-col": "presence" }, [
      el("span", { class: "presence", "data-presence": presence, text: label(PRESENCE, presence) })
    ]),
    el("td", { "data-col": "active" }, [
      el("span", { class: "pill", "data-active": a.active ? "true" : "false",
        text: a.active ? "Ativo" : "Desativado" })
    ]),
    el("td", { "data-col": "actions" }, [el("div", { class: "row-actions" }, actions)])
  ]);
}

function render() {
  const sorted = S.accounts.slice().sort(function (a, b) {
    if (a.active !== b.active) return a.active ? -1 : 1;
    return a.name.localeCompare(b.name, "pt-BR");
  });
  ui.rows.replaceChildren.apply(ui.rows, sorted.map(row));
  ui.table.setAttribute("aria-busy", "false");
  renderQueueOptions(ui.createForm, "create", formQueues(ui.createForm));
}

async function load() {
  ui.table.setAttribute("aria-busy", "true");
  try {
    const results = await Promise.all([api("GET", "/api/auth/me"), api("GET", "/api/staff")]);
    S.me = results[0];
    S.accounts = Array.isArray(results[1]) ? results[1] : [];
    ui.meName.textContent = (S.me && (S.me.name || S.me.email)) || "";
    showError(ui.error, "");
    render();
  } catch (e) {
    if (e.status !== 401) showError(ui.error, e.message);
    ui.table.setAttribute("aria-busy", "false");
  }
}

function account(id) {
  return S.accounts.find(function (a) { return String(a.id) === String(id); }) || null;
}

function upsert(view) {
  const i = S.accounts.findIndex(function (a) { return a.id === view.id; });
  if (i >= 0) S.accounts[i] = view; else S.accounts.push(view);
  render();
}

function setBusy(form, busy) {
  $all("button, input, select", form).forEach(function (n) { n.disabled = busy; });
  form.setAttribute("aria-busy", busy ? "true" : "false");
}

// ---------------------------------------------------------------- create
ui.createForm.addEventListener("submit", async function (event) {
  event.preventDefault();
  const form = ui.createForm;
  showError(ui.createError, "");
  const read = readForm(form);
  const email = form.elements.namedItem("email").value.trim();
  const password = form.elements.namedItem("password").value;
  let problem = read[1];
  if (!problem && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) problem = "Informe um e-mail válido.";
  if (!problem && password.length < 10) problem = "A senha inicial precisa ter pelo menos 10 caracteres.";
  if (problem) {
    showError(ui.createError, problem);
    return;
  }
  const body = Object.assign({ email: email, password: password }, read[0]);
  setBusy(form, true);
  try {
    const created = await api("POST", "/api/staff", body);
    form.reset();
    upsert(created);
    announce("Conta de " + created.name + " criada.");
    form.elements.namedItem("name").focus();
  } catch (e) {
    showError(ui.createError, e.message);
  } finally {
    setBusy(form, false);
  }
});

// ---------------------------------------------------------------- row actions
ui.rows.addEventListener("click", function (event) {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const a = account(button.closest("tr").getAttribute("data-id"));
  if (!a) return;
  const action = button.getAttribute("data-action");
  if (action === "edit") openEdit(a);
  else if (action === "password") openPassword(a);
  else if (action === "deactivate") openDeactivate(a);
  else if (action === "reactivate") reactivate(a, button);
});

$all("dialog [data-close]").forEach(function (b) {
  b.addEventListener("click", function () { b.closest("dialog").close(); });
});

function openEdit(a) {
  S.editing = a;
  const d = ui.editDialog;
  const form = $("form", d);
  showError($('[data-testid="edit-error"]', d), "");
  $("#edit-title", d).textContent = "Editar " + a.name;
  $("[data-edit-email]", d).textContent = a.email;
  form.elements.namedItem("name").value = a.name;
  form.elements.namedItem("role").value = a.role;
  form.elements.namedItem("skills").value = (a.skills || []).join(", ");
  form.elements.namedItem("max_concurrent").value = String(a.max_concurrent);
  form.elements.namedItem("max_per_channel").value = capsText(a.max_per_channel);
  $all('input[name="grant"]', form).forEach(function (c) { c.checked = (a.grants || []).indexOf(c.value) >= 0; });
  renderQueueOptions(form, "edit", a.queues_configured || []);
  d.showModal();
  form.elements.namedItem("name").focus();
}

$('[data-form="edit"]').addEventListener("submit", async function (event) {
  event.preventDefault();
  const form = event.currentTarget;
  const errorNode = $('[data-testid="edit-error"]', ui.editDialog);
  const a = S.editing;
  if (!a) return;
  showError(errorNode, "");
  const read = readForm(form);
  if (read[1]) {
    showError(errorNode, read[1]);
    return;
  }
  const f = read[0];
  const changes = {};
  if (f.name !== a.name) changes.name = f.name;
  if (f.role !== a.role) changes.role = f.role;
  if (!sameList(f.queues, a.queues_configured || [])) changes.queues = f.queues;
  if (!sameList(f.skills, a.skills || [])) changes.skills = f.skills;
  if (f.max_concurrent !== a.max_concurrent) changes.max_concurrent = f.max_concurrent;
  if (!sameMap(f.max_per_channel, a.max_per_channel || {})) changes.max_per_channel = f.max_per_channel;
  if (!sameList(f.grants, a.grants || [])) changes.grants = f.grants;
  if (!Object.keys(changes).length) {
    ui.editDialog.close();
    announce("Nada foi alterado.");
    return;
  }
  setBusy(form, true);
  try {
    const view = await api("PATCH", "/api/staff/" + a.id, changes);
    ui.editDialog.close();
    upsert(view);
    announce("Conta de " + view.name + " atualizada.");
  } catch (e) {
    showError(errorNode, e.message);
  } finally {
    setBusy(form, false);
  }
});

function openPassword(a) {
  S.target = a;
  const d = ui.passwordDialog;
  const form = $("form", d);
  showError($('[data-testid="password-error"]', d), "");
  $("#password-title", d).textContent = "Redefinir senha de " + a.name;
  $("[data-password-who]", d).textContent = a.email;
  form.reset();
  d.showModal();
  form.elements.namedItem("password").focus();
}

$('[data-form="password"]').addEventListener("submit", async function (event) {
  event.preventDefault();
  const form = event.currentTarget;
  const errorNode = $('[data-testid="password-error"]', ui.passwordDialog);
  const a = S.target;
  const password = form.elements.namedItem("password").value;
  if (!a) return;
  if (password.length < 10) {
    showError(errorNode, "A nova senha precisa ter pelo menos 10 caracteres.");
    return;
  }
  setBusy(form, true);
  try {
    const view = await api("PATCH", "/api/staff/" + a.id, { password: password });
    form.reset();
    ui.passwordDialog.close();
    if (S.me && view.id === S.me.id) { // the API ended our own sessions too
      window.location.replace(loginUrl("/equipe"));
      return;
    }
    upsert(view);
    announce("Senha de " + view.name + " redefinida. As sessões abertas dessa pessoa foram encerradas.");
  } catch (e) {
    showError(errorNode, e.message);
  } finally {
    setBusy(form, false);
  }
});

function openDeactivate(a) {
  S.target = a;
  const d = ui.deactivateDialog;
  showError($('[data-testid="deactivate-error"]', d), "");
  $("#deactivate-title", d).textContent = "Desativar " + a.name + "?";
  const open = a.open || 0;
  $('[data-testid="deactivate-text"]', d).textContent =
    a.name + " não poderá mais entrar e as sessões abertas serão encerradas. As conversas com essa pessoa" +
    (open ? " (" + open + " em andamento)" : "") + " voltam para a fila.";
  d.showModal();
  $('[data-close]', d).focus(); // the safe choice first
}

$('[data-form="deactivate"]').addEventListener("submit", async function (event) {
  event.preventDefault();
  const form = event.currentTarget;
  const errorNode = $('[data-testid="deactivate-error"]', ui.deactivateDialog);
  const a = S.target;
  if (!a) return;
  showError(errorNode, "");
  setBusy(form, true);
  try {
    const view = await api("PATCH", "/api/staff/" + a.id, { active: false });
    ui.deactivateDialog.close();
    upsert(view);
    announce("Conta de " + view.name + " desativada. As conversas dessa pessoa voltaram para a fila.");
  } catch (e) {
    showError(errorNode, e.message);
  } finally {
    setBusy(form, false);
  }
});

async function reactivate(a, button) {
  showError(ui.error, "");
  button.disabled = true;
  try {
    const view = await api("PATCH", "/api/staff/" + a.id, { active: true });
    upsert(view);
    announce("Conta de " + view.name + " reativada.");
  } catch (e) {
    button.disabled = false;
    showError(ui.error, e.message);
  }
}

// ---------------------------------------------------------------- page
$('[data-testid="team-refresh"]').addEventListener("click", async function () {
  await load();
  announce("Lista atualizada.");
});

$('[data-testid="logout"]').addEventListener("click", async function () {
  try { await api("POST", "/api/auth/logout"); } catch (e) { /* the cookie may be gone already */ }
  window.location.replace("/login");
});

load();

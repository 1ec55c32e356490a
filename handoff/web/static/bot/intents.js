// atende bot teaching page (/bot): intents — see /bot/bot.js.
import { $, $all, byTestId, el, showError } from "../lib/dom.js";
import { intentOptions } from "./review.js";
import { MAX_EXAMPLES, MIN_EXAMPLES, S, ui, WARN_EXAMPLES } from "./state.js";
import {
  announce, api, examplesOf, isAdmin, isSupervisor, knownQueues, label, normalize, plural, sentence,
  setBusy, showApiError, when
} from "./util.js";
import { QUEUES, REASONS } from "./vocab.js";

// ================================================================ reason choice (7 + new tags)
export const NEW_REASON = "__new__";

// `f` is the intent form's elements (HTMLFormControlsCollection), as everywhere in this file.
export function chosenReason(f) {
  const v = f.namedItem("reason").value;
  return v === NEW_REASON ? f.namedItem("new_reason").value.trim() : v;
}

export function showNewReason(f) {
  const wrap = ui.form.querySelector("[data-new-reason]");
  wrap.hidden = f.namedItem("reason").value !== NEW_REASON;
  f.namedItem("new_reason").required = !wrap.hidden;
}

// An intent whose reason is a tag the clinic created shows it in the "new reason" field.
export function setReason(f, reason) {
  const known = Array.prototype.some.call(f.namedItem("reason").options, function (o) {
    return o.value === reason && o.value !== NEW_REASON;
  });
  f.namedItem("reason").value = known ? reason : NEW_REASON;
  f.namedItem("new_reason").value = known ? "" : reason;
  showNewReason(f);
}

document.addEventListener("change", function (e) {
  if (e.target && e.target.id === "intent-reason") showNewReason(ui.form.elements);
});


// ================================================================ 2. staff intents
export function intentAction(i) {
  const parts = [];
  if (i.answer && i.answer.text) {
    const t = i.answer.text;
    parts.push(el("span", { class: "answer-preview", text: "Responde: " + (t.length > 140 ? t.slice(0, 139) + "…" : t) }));
    const buttons = i.answer.buttons || [];
    if (buttons.length) {
      parts.push(el("small", { text: "Botões: " + buttons.map(function (b) { return b.title; }).join(", ") }));
    }
  }
  if (i.handoff) {
    const bits = [];
    if (i.handoff.queue) bits.push("fila " + label(QUEUES, i.handoff.queue));
    if (i.handoff.skill) bits.push("habilidade " + i.handoff.skill);
    parts.push(el("small", { text: "Encaminha para a equipe: " + bits.join(", ") }));
  }
  return parts;
}

export function intentRow(i) {
  const examples = i.examples || [];
  const cells = [
    el("th", { scope: "row", "data-col": "name" }, [
      el("code", { text: i.name }),
      i.red_flag_override ? el("small", { class: "override-note",
        text: "Sinal de alerta liberado por " + (i.red_flag_override.by || "um administrador") }) : null
    ]),
    el("td", { "data-col": "reason", text: label(REASONS, i.reason) }),
    el("td", { "data-col": "examples" }, [
      el("span", { text: plural(examples.length, "exemplo", "exemplos") }),
      el("small", { text: examples.slice(0, 3).join(" · ") + (examples.length > 3 ? " …" : "") })
    ]),
    el("td", { "data-col": "action" }, intentAction(i)),
    el("td", { "data-col": "updated", text: when(i.updated_at) })
  ];
  if (isSupervisor()) {
    cells.push(el("td", { "data-col": "actions" }, [el("div", { class: "row-actions" }, [
      el("button", { type: "button", class: "btn btn--small", "data-action": "edit", "aria-label": "Editar " + i.name,
        text: "Editar" }),
      el("button", { type: "button", class: "btn btn--small btn--danger", "data-action": "delete",
        "aria-label": "Excluir " + i.name, text: "Excluir" })
    ])]));
  }
  return el("tr", { "data-testid": "intent-row", "data-name": i.name }, cells);
}

export function renderIntents() {
  ui.intentRows.replaceChildren.apply(ui.intentRows, S.intents.map(intentRow));
  ui.intentTable.setAttribute("aria-busy", "false");
  ui.intentTable.closest(".table-wrap").hidden = !S.intents.length;
  ui.intentsEmpty.hidden = !!S.intents.length;
  ui.layerVersion.textContent = S.version === null ? "" : "Versão do que a equipe ensinou: " + S.version;
  // the label choices follow the intents
  $all('[data-testid="review-intent-select"]').forEach(function (s) { intentOptions(s, s.value); });
}

export async function loadIntents() {
  const data = await api("GET", "/api/bot/intents");
  S.intents = (data && Array.isArray(data.intents)) ? data.intents : [];
  S.botIntents = (data && data.bot_intents) || {};
  S.version = data ? data.version : null;
  S.intentsLoaded = true;
  renderIntents();
}

export function renderQueueChoices() {
  const select = ui.form.elements.namedItem("queue");
  const current = select.value;
  const choices = [el("option", { value: "", text: "Não encaminhar" })].concat(knownQueues().map(function (q) {
    return el("option", { value: q, text: label(QUEUES, q) + (QUEUES[q] ? " (" + q + ")" : "") });
  }));
  select.replaceChildren.apply(select, choices);
  select.value = current;
}

export function updateCounter() {
  const lines = examplesOf(ui.form.elements.namedItem("examples").value);
  const distinct = new Set(lines.map(normalize).filter(Boolean)).size;
  const repeated = lines.length - distinct;
  let text = plural(distinct, "exemplo diferente", "exemplos diferentes");
  let level = "ok";
  if (distinct < MIN_EXAMPLES) {
    level = "error";
    text += " — mínimo de " + MIN_EXAMPLES + " para salvar";
  } else if (distinct < WARN_EXAMPLES) {
    level = "warn";
    text += " — recomendado pelo menos " + WARN_EXAMPLES + " para o bot reconhecer bem";
  } else if (lines.length > MAX_EXAMPLES) {
    level = "error";
    text += " — no máximo " + MAX_EXAMPLES;
  }
  if (repeated > 0) text += " (" + plural(repeated, "repetido", "repetidos") + ")";
  ui.counter.textContent = text;
  ui.counter.setAttribute("data-level", level);
  return { lines: lines, distinct: distinct, repeated: repeated };
}

export function resetForm() {
  S.editing = null;
  ui.form.reset();
  ui.form.elements.namedItem("name").disabled = false;
  ui.formTitle.textContent = "Nova intenção";
  ui.formSubmit.textContent = "Criar intenção";
  ui.formCancel.hidden = true;
  $("[data-override]", ui.form).hidden = true;
  showNewReason(ui.form.elements);
  showError(ui.formError, "");
  updateCounter();
}

export function showWarnings(title, warnings) {
  const parts = [el("p", { text: title })];
  if (warnings && warnings.length) {
    parts.push(el("ul", {}, warnings.map(function (w) { return el("li", { text: "Atenção: " + sentence(w) }); })));
  }
  ui.formWarnings.replaceChildren.apply(ui.formWarnings, parts);
  ui.formWarnings.hidden = false;
}

export function startIntentFrom(g) {
  if (S.editing) resetForm();
  const box = ui.form.elements.namedItem("examples");
  const rest = examplesOf(box.value).filter(function (l) { return normalize(l) !== normalize(g.text); });
  box.value = [g.text].concat(rest).join("\n");
  updateCounter();
  ui.formWarnings.hidden = true;
  ui.form.scrollIntoView({ block: "start" });
  ui.form.elements.namedItem("name").focus();
  announce("A mensagem virou o primeiro exemplo da nova intenção: complete o formulário.");
}

export function openEdit(i) {
  S.editing = i;
  const f = ui.form.elements;
  showError(ui.formError, "");
  ui.formWarnings.hidden = true;
  $("[data-override]", ui.form).hidden = true;
  f.namedItem("name").value = i.name;
  f.namedItem("name").disabled = true;
  setReason(f, i.reason);
  f.namedItem("examples").value = (i.examples || []).join("\n");
  f.namedItem("answer").value = i.answer ? i.answer.text : "";
  f.namedItem("queue").value = (i.handoff && i.handoff.queue) || "";
  f.namedItem("skill").value = (i.handoff && i.handoff.skill) || "";
  f.namedItem("override_reason").value = "";
  ui.formTitle.textContent = "Editar " + i.name;
  ui.formSubmit.textContent = "Salvar alterações";
  ui.formCancel.hidden = false;
  updateCounter();
  ui.form.scrollIntoView({ block: "start" });
  f.namedItem("reason").focus();
}

export function sameHandoff(a, b) {
  const x = a || {}, y = b || {};
  return (x.queue || null) === (y.queue || null) && (x.skill || null) === (y.skill || null) && !a === !b;
}
export function sameList(a, b) {
  return a.length === b.length && a.every(function (v, i) { return v === b[i]; });
}

ui.form.elements.namedItem("examples").addEventListener("input", updateCounter);
ui.formCancel.addEventListener("click", function () { resetForm(); announce("Edição cancelada."); });

ui.form.addEventListener("submit", async function (event) {
  event.preventDefault();
  const f = ui.form.elements;
  showError(ui.formError, "");
  ui.formWarnings.hidden = true;
  const counted = updateCounter();
  const name = f.namedItem("name").value.trim();
  const answer = f.namedItem("answer").value.trim();
  const queue = f.namedItem("queue").value;
  const skill = f.namedItem("skill").value.trim();
  const override = f.namedItem("override_reason").value.trim();
  const handoff = queue || skill ? Object.assign({}, queue ? { queue: queue } : {}, skill ? { skill: skill } : {}) : null;
  let problem = "";
  if (!S.editing && !name) problem = "Informe o nome da intenção.";
  else if (counted.distinct < MIN_EXAMPLES) {
    problem = "São necessários pelo menos " + MIN_EXAMPLES + " exemplos diferentes (há " + counted.distinct + ").";
  } else if (counted.repeated > 0) problem = "Há exemplos repetidos: deixe cada frase uma vez só.";
  else if (counted.lines.length > MAX_EXAMPLES) problem = "No máximo " + MAX_EXAMPLES + " exemplos por intenção.";
  else if (!answer && !handoff) problem = "Escreva a resposta do bot ou escolha para onde encaminhar a conversa.";
  else if (override && override.length < 10) problem = "A justificativa precisa ter pelo menos 10 caracteres.";
  if (problem) {
    showError(ui.formError, problem);
    return;
  }
  let method = "POST", path = "/api/bot/intents", body;
  if (S.editing) {
    const i = S.editing;
    body = {};
    if (chosenReason(f) !== i.reason) body.reason = chosenReason(f);
    if (!sameList(counted.lines, i.examples || [])) body.examples = counted.lines;
    if (answer !== (i.answer ? i.answer.text : "")) body.answer = answer || null;
    if (!sameHandoff(handoff, i.handoff)) body.handoff = handoff;
    if (!Object.keys(body).length) {
      resetForm();
      announce("Nada foi alterado.");
      return;
    }
    method = "PATCH";
    path = "/api/bot/intents/" + encodeURIComponent(i.name);
  } else {
    body = { name: name, reason: chosenReason(f), examples: counted.lines, answer: answer || null };
    if (handoff) body.handoff = handoff;
  }
  if (override) body.override_reason = override;
  setBusy(ui.form, true);
  try {
    const saved = await api(method, path, body);
    const editing = !!S.editing;
    resetForm();
    await loadIntents();
    showWarnings((editing ? "Intenção " + saved.name + " atualizada." : "Intenção " + saved.name + " criada.") +
      " Ela entra no bot no próximo modelo treinado e implantado.", saved.warnings);
    announce(editing ? "Intenção " + saved.name + " atualizada." : "Intenção " + saved.name + " criada.");
  } catch (e) {
    let extra = "";
    if (e.code === "red_flag_example") {
      if (isAdmin()) {
        $("[data-override]", ui.form).hidden = false;
        extra = "Como administrador, você pode liberar esses exemplos escrevendo uma justificativa e salvando de novo.";
      } else {
        extra = "Tire esses exemplos, use o motivo Urgente ou peça a um administrador.";
      }
    }
    showApiError(ui.formError, e, extra);
  } finally {
    setBusy(ui.form, false);
    if (S.editing) ui.form.elements.namedItem("name").disabled = true;
  }
});

ui.intentRows.addEventListener("click", function (event) {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const name = button.closest("tr").getAttribute("data-name");
  const i = S.intents.find(function (x) { return x.name === name; });
  if (!i) return;
  if (button.getAttribute("data-action") === "edit") openEdit(i);
  else openDelete(i);
});

export function openDelete(i) {
  S.deleting = i;
  const d = ui.deleteDialog;
  showError(byTestId("delete-error", d), "");
  $("#delete-title", d).textContent = "Excluir a intenção " + i.name + "?";
  byTestId("delete-text", d).textContent = "O bot deixa de reconhecer esta intenção a partir do próximo modelo " +
    "treinado e implantado. Os " + plural((i.examples || []).length, "exemplo", "exemplos") +
    " ficam no histórico de mudanças.";
  d.showModal();
  $("[data-close]", d).focus(); // the safe choice first
}

$all("dialog [data-close]").forEach(function (b) {
  b.addEventListener("click", function () { b.closest("dialog").close(); });
});

$('[data-form="delete"]').addEventListener("submit", async function (event) {
  event.preventDefault();
  const form = event.currentTarget;
  const i = S.deleting;
  if (!i) return;
  setBusy(form, true);
  try {
    await api("DELETE", "/api/bot/intents/" + encodeURIComponent(i.name));
    ui.deleteDialog.close();
    if (S.editing && S.editing.name === i.name) resetForm();
    ui.formWarnings.hidden = true;
    await loadIntents();
    announce("Intenção " + i.name + " excluída.");
  } catch (e) {
    showApiError(byTestId("delete-error", ui.deleteDialog), e);
  } finally {
    setBusy(form, false);
  }
});

// atende bot teaching page (/bot): answers — see /bot/bot.js.
import { $, byTestId, el, showError } from "../lib/dom.js";
import { S, ui } from "./state.js";
import { announce, api, isSupervisor, normalize, setBusy, showApiError } from "./util.js";

// ---------------------------------------------------------------- simple answers
export function answerRow(a) {
  const editing = S.answerEditing === a.name;
  const inputId = "answer-input-" + a.name;
  const body = [];
  if (editing) {
    body.push(el("form", { class: "answer-form", "data-testid": "answer-form", novalidate: true }, [
      el("label", { for: inputId, text: "Texto de " + a.name }),
      el("textarea", { id: inputId, name: "text", rows: "3", maxlength: "2000", "data-testid": "answer-input" }),
      el("small", { text: "Texto original do bot: " + a.default }),
      el("div", { class: "form-error", role: "alert", "data-testid": "answer-error", hidden: true }),
      el("div", { class: "row-actions" }, [
        el("button", { type: "submit", class: "btn btn--small btn--primary", "data-testid": "answer-save",
          text: "Salvar" }),
        el("button", { type: "button", class: "btn btn--small btn--ghost", "data-action": "cancel", text: "Cancelar" })
      ])
    ]));
  } else {
    body.push(el("p", { class: "answer-text", "data-testid": "answer-text", text: a.text }));
    if (a.edited) body.push(el("small", { class: "answer-default", text: "Texto original do bot: " + a.default }));
  }
  const actions = [];
  if (isSupervisor() && !editing) {
    actions.push(el("button", { type: "button", class: "btn btn--small", "data-action": "edit",
      "data-testid": "answer-edit", "aria-label": "Editar " + a.name, text: "Editar" }));
    if (a.edited) {
      actions.push(el("button", { type: "button", class: "btn btn--small btn--ghost", "data-action": "reset",
        "data-testid": "answer-reset", "aria-label": "Restaurar " + a.name, text: "Restaurar" }));
    }
  }
  const li = el("li", { class: "answer-item", "data-testid": "answer-row", "data-name": a.name,
    "data-edited": a.edited ? "true" : "false" }, [
    el("div", { class: "answer-head" }, [
      el("code", { text: a.name }),
      a.edited ? el("span", { class: "pill", "data-testid": "answer-edited", text: "editada pela equipe" }) : null,
      el("div", { class: "row-actions" }, actions)
    ]),
    el("div", { class: "answer-body" }, body),
    editing ? null : el("div", { class: "form-error", role: "alert", "data-testid": "answer-error", hidden: true })
  ]);
  if (editing) {
    const area = $("textarea", li);
    area.value = a.text;
    $("form", li).addEventListener("submit", function (event) { event.preventDefault(); saveAnswer(a, li); });
  }
  return li;
}

export function renderAnswers() {
  const q = normalize(ui.answersFilter.value);
  const shown = S.answers.filter(function (a) {
    return !q || normalize(a.name + " " + a.text).indexOf(q) >= 0 || a.name === S.answerEditing;
  });
  ui.answersList.replaceChildren.apply(ui.answersList, shown.length ? shown.map(answerRow)
    : [el("li", { class: "empty", text: "Nenhuma resposta encontrada." })]);
  ui.answersList.setAttribute("aria-busy", "false");
}

export async function loadAnswers() {
  const data = await api("GET", "/api/bot/answers");
  S.answers = (data && Array.isArray(data.answers)) ? data.answers : [];
  renderAnswers();
}

export function upsertAnswer(view) {
  S.answers = S.answers.map(function (a) {
    return a.name === view.name ? Object.assign({}, a, { text: view.text, edited: view.edited }) : a;
  });
}

export async function saveAnswer(a, li) {
  const text = $("textarea", li).value.trim();
  const errorNode = byTestId("answer-error", li);
  if (!text) {
    showError(errorNode, "Escreva o texto da resposta (ou use “Restaurar” para voltar ao texto do bot).");
    return;
  }
  if (text === a.text) {
    S.answerEditing = null;
    renderAnswers();
    announce("Nada foi alterado.");
    return;
  }
  setBusy(li, true);
  try {
    const view = await api("PUT", "/api/bot/answers/" + encodeURIComponent(a.name), { text: text });
    upsertAnswer(view);
    S.answerEditing = null;
    renderAnswers();
    announce("Resposta " + a.name + " salva. Vale a partir do próximo modelo implantado.");
  } catch (e) {
    setBusy(li, false);
    showApiError(errorNode, e);
  }
}

export async function resetAnswer(a, li) {
  setBusy(li, true);
  try {
    const view = await api("DELETE", "/api/bot/answers/" + encodeURIComponent(a.name));
    upsertAnswer(view);
    renderAnswers();
    announce("Resposta " + a.name + " restaurada ao texto original do bot.");
  } catch (e) {
    setBusy(li, false);
    showApiError(byTestId("answer-error", li), e);
  }
}

ui.answersList.addEventListener("click", function (event) {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const li = button.closest("li");
  const a = S.answers.find(function (x) { return x.name === li.getAttribute("data-name"); });
  if (!a) return;
  const action = button.getAttribute("data-action");
  if (action === "edit") {
    S.answerEditing = a.name;
    renderAnswers();
    const area = $('[data-testid="answer-input"]', ui.answersList);
    if (area) area.focus();
  }
  else if (action === "cancel") { S.answerEditing = null; renderAnswers(); }
  else if (action === "reset") resetAnswer(a, li);
});
ui.answersFilter.addEventListener("input", renderAnswers);

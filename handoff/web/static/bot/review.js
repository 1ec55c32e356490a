// atende bot teaching page (/bot): review — see /bot/bot.js.
import { $, byTestId, el, showError } from "../lib/dom.js";
import { startIntentFrom } from "./intents.js";
import { OTHER_INTENT, S, ui } from "./state.js";
import {
  announce, api, confidence, isAdmin, isSupervisor, label, plural, setBusy, showApiError, when
} from "./util.js";
import { FLAGS, REASONS } from "./vocab.js";

// ================================================================ 1. review inbox
export function intentOptions(select, current) {
  const staff = S.intents.map(function (i) { return i.name; });
  // the bot's own intents (GET /api/bot/intents "bot_intents"), plus any read in the review
  const seen = Object.keys(S.botIntents || {}).filter(function (n) { return staff.indexOf(n) < 0; });
  S.review.forEach(function (g) {
    if (g.intent && staff.indexOf(g.intent) < 0 && seen.indexOf(g.intent) < 0) seen.push(g.intent);
  });
  seen.sort();
  const children = [el("option", { value: "", text: "Escolha a intenção…" })];
  if (staff.length) {
    children.push(el("optgroup", { label: "Ensinadas pela equipe" }, S.intents.map(function (i) {
      return el("option", { value: i.name, text: i.name + " (" + label(REASONS, i.reason) + ")" });
    })));
  }
  if (seen.length) {
    children.push(el("optgroup", { label: "Do bot" }, seen.map(function (n) {
      const reason = (S.botIntents || {})[n];
      return el("option", { value: n, text: reason ? n + " (" + label(REASONS, reason) + ")" : n });
    })));
  }
  children.push(el("option", { value: OTHER_INTENT, text: "Outra intenção do bot (digitar o nome)" }));
  select.replaceChildren.apply(select, children);
  select.value = current && Array.prototype.some.call(select.options, function (o) { return o.value === current; })
    ? current : "";
}

export function reviewItem(g) {
  const id = g.id;
  const more = (g.conversation_ids || []).length - 1;
  const meta = [
    el("span", { class: "count", "data-testid": "review-count", text: plural(g.count, "mensagem", "mensagens") }),
    el("span", { "data-testid": "review-intent" }, [
      document.createTextNode("Bot leu: "),
      el("code", { text: g.intent || "—" }),
      document.createTextNode(" · "),
      el("span", { "data-testid": "review-confidence", text: confidence(g.confidence) })
    ]),
    g.reason ? el("span", { text: "Motivo: " + label(REASONS, g.reason) +
      (g.corrected_reason ? " → corrigido para " + label(REASONS, g.corrected_reason) : "") }) : null,
    el("span", { class: "when", text: when(g.last_at) })
  ];
  const flags = el("ul", { class: "flags", "aria-label": "Sinais" }, (g.flags || []).map(function (f) {
    return el("li", { class: "flag", "data-flag": f, "data-testid": "review-flag", text: label(FLAGS, f) });
  }));
  const link = el("a", { href: "/inbox?c=" + encodeURIComponent(g.conversation_id), "data-testid": "review-link",
    text: "Abrir conversa" + (more > 0 ? " (+" + plural(more, "outra", "outras") + ")" : "") });

  const selectId = "review-intent-" + id;
  const otherId = "review-other-" + id;
  const overrideId = "review-override-" + id;
  const select = el("select", { id: selectId, name: "intent", "data-testid": "review-intent-select" });
  intentOptions(select, "");
  const otherWrap = el("div", { class: "field", "data-other": true, hidden: true }, [
    el("label", { for: otherId, text: "Nome da intenção do bot" }),
    el("input", { id: otherId, name: "other", type: "text", maxlength: "64", autocomplete: "off",
      spellcheck: "false", "data-testid": "review-intent-other" })
  ]);
  const overrideWrap = el("div", { class: "field field--wide", "data-override": true, hidden: true }, [
    el("label", { for: overrideId, text: "Justificativa do administrador para liberar o sinal de alerta" }),
    el("textarea", { id: overrideId, name: "override_reason", rows: "2", maxlength: "500",
      "data-testid": "review-override" })
  ]);
  const form = el("form", { class: "review-actions", novalidate: true, "aria-label": "Classificar esta mensagem" }, [
    el("div", { class: "field" }, [el("label", { for: selectId, text: "Atribuir a intenção" }), select]),
    otherWrap,
    overrideWrap,
    el("div", { class: "row-actions" }, [
      el("button", { type: "submit", class: "btn btn--small btn--primary", "data-testid": "review-assign",
        text: "Atribuir" }),
      el("button", { type: "button", class: "btn btn--small", "data-action": "ignore", "data-testid": "review-ignore",
        text: "Ignorar" }),
      isSupervisor() ? el("button", { type: "button", class: "btn btn--small btn--ghost", "data-action": "new-intent",
        "data-testid": "review-new-intent", text: "Nova intenção com esta mensagem" }) : null
    ]),
    el("div", { class: "form-error field--wide", role: "alert", "data-testid": "review-error", hidden: true })
  ]);
  select.addEventListener("change", function () {
    otherWrap.hidden = select.value !== OTHER_INTENT;
    if (!otherWrap.hidden) $("input", otherWrap).focus();
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    assign(g, form);
  });
  $('[data-action="ignore"]', form).addEventListener("click", function () { ignore(g, form); });
  const newIntent = $('[data-action="new-intent"]', form);
  if (newIntent) newIntent.addEventListener("click", function () { startIntentFrom(g); });

  return el("li", { class: "review-item", "data-testid": "review-item", "data-id": id }, [
    el("blockquote", { class: "review-text", "data-testid": "review-text", text: g.text }),
    el("div", { class: "review-meta" }, meta),
    flags,
    el("p", { class: "review-link" }, [link]),
    form
  ]);
}

export function renderReview() {
  if (!S.reviewLoaded) return;
  ui.reviewList.replaceChildren.apply(ui.reviewList, S.review.map(reviewItem));
  ui.reviewList.setAttribute("aria-busy", "false");
  ui.reviewList.hidden = !S.review.length;
  ui.reviewEmpty.hidden = !!S.review.length;
}

export async function loadReview() {
  ui.reviewList.setAttribute("aria-busy", "true");
  const data = await api("GET", "/api/bot/review");
  S.review = (data && Array.isArray(data.items)) ? data.items : [];
  S.reviewLoaded = true;
  renderReview();
}

export function dropReviewGroup(g) {
  S.review = S.review.filter(function (x) { return x.id !== g.id; });
  renderReview();
}

export async function sendLabel(g, form, body, done) {
  const errorNode = byTestId("review-error", form);
  showError(errorNode, "");
  setBusy(form, true);
  try {
    await api("POST", "/api/bot/review/" + g.id, Object.assign({ message_ids: g.message_ids || [g.id] }, body));
    dropReviewGroup(g);
    announce(done);
  } catch (e) {
    setBusy(form, false);
    const overrideWrap = $("[data-override]", form);
    let extra = "";
    if (e.code === "red_flag_example") {
      if (isAdmin()) {
        overrideWrap.hidden = false;
        extra = "Como administrador, você pode liberar com uma justificativa e atribuir de novo.";
      } else {
        extra = "Atribua a uma intenção urgente ou peça a um administrador.";
      }
    }
    showApiError(errorNode, e, extra);
  }
}

export function assign(g, form) {
  const select = $("select", form);
  let intent = select.value;
  if (intent === OTHER_INTENT) intent = $('[data-testid="review-intent-other"]', form).value.trim();
  if (!intent) {
    showError(byTestId("review-error", form), "Escolha a intenção (ou digite o nome de uma intenção do bot).");
    select.focus();
    return;
  }
  const body = { intent: intent };
  const override = $("textarea", form).value.trim();
  if (override) body.override_reason = override;
  sendLabel(g, form, body, plural(g.count, "mensagem atribuída", "mensagens atribuídas") + " a " + intent + ".");
}

export function ignore(g, form) {
  sendLabel(g, form, { ignore: true }, plural(g.count, "mensagem ignorada", "mensagens ignoradas") + ".");
}

// atende bot teaching page (/bot): training — see /bot/bot.js.
import { $, $all, byTestId, el, showError } from "../lib/dom.js";
import { loadModels, renderModels } from "./registry.js";
import { ACTIVE, POLL_MS, S, ui } from "./state.js";
import {
  agentName, announce, api, confidence, delta, label, pct, plural, sentence, showApiError, when
} from "./util.js";
import { MODEL_STATUS, REASONS, STAGES } from "./vocab.js";

// ================================================================ 3. training and evaluation
export function stageText(stage) {
  const raw = String(stage || "");
  const cut = raw.indexOf(":");
  const head = cut >= 0 ? raw.slice(0, cut) : raw;
  let detail = cut >= 0 ? raw.slice(cut + 1).trim() : "";
  detail = detail.replace(/^cross-validation/, "validação cruzada")
    .replace(/^current vs candidate/, "comparando com o modelo no ar");
  return label(STAGES, head) + (detail ? " — " + detail : "");
}

export function metricCells(cur, cand, key) {
  const a = cur ? cur[key] : undefined, b = cand ? cand[key] : undefined;
  const d = delta(a, b);
  return [
    el("td", { "data-col": key + "-current", text: pct(a) }),
    el("td", { "data-col": key + "-candidate", text: pct(b) }),
    el("td", { "data-col": key + "-delta", class: "delta", "data-sign": d.sign, text: d.text })
  ];
}

export function reasonOrder(tables) {
  const keys = Object.keys(REASONS);
  tables.forEach(function (t) {
    Object.keys(t || {}).forEach(function (r) { if (keys.indexOf(r) < 0) keys.push(r); });
  });
  return keys.filter(function (r) { return tables.some(function (t) { return t && t[r]; }); });
}

export function renderEvalTable(table, frozen) {
  const cur = frozen.current || null, cand = frozen.candidate || null;
  const curRows = (cur && cur.per_reason) || {}, candRows = (cand && cand.per_reason) || {};
  const sub = function () {
    return [el("th", { scope: "col", text: "atual" }), el("th", { scope: "col", text: "candidato" }),
      el("th", { scope: "col", text: "diferença (p.p.)" })];
  };
  $("thead", table).replaceChildren(
    el("tr", {}, [
      el("th", { scope: "col", rowspan: "2", text: "Motivo" }),
      el("th", { scope: "colgroup", colspan: "3", text: "Precisão" }),
      el("th", { scope: "colgroup", colspan: "3", text: "Sensibilidade (recall)" }),
      el("th", { scope: "colgroup", colspan: "3", text: "F1" }),
      el("th", { scope: "col", rowspan: "2", text: "Mensagens" })
    ]),
    el("tr", {}, sub().concat(sub(), sub()))
  );
  const rows = reasonOrder([curRows, candRows]).map(function (r) {
    const c = curRows[r] || null, d = candRows[r] || null;
    const support = (d && d.support) || (c && c.support) || 0;
    return el("tr", { "data-reason": r, "data-testid": "eval-row" }, [el("th", { scope: "row", text: label(REASONS, r) })]
      .concat(metricCells(c, d, "precision"), metricCells(c, d, "recall"), metricCells(c, d, "f1"),
        [el("td", { text: String(support) })]));
  });
  const macro = delta(cur ? cur.macro_f1 : undefined, cand ? cand.macro_f1 : undefined);
  rows.push(el("tr", { class: "total", "data-testid": "eval-macro" }, [
    el("th", { scope: "row", text: "Média (F1 macro)" }),
    el("td", { colspan: "6" }),
    el("td", { text: pct(cur ? cur.macro_f1 : undefined) }),
    el("td", { text: pct(cand ? cand.macro_f1 : undefined) }),
    el("td", { class: "delta", "data-sign": macro.sign, text: macro.text }),
    el("td", { text: String((cand && cand.n) || (cur && cur.n) || 0) })
  ]));
  $("tbody", table).replaceChildren.apply($("tbody", table), rows);
}

export function sideTable(testid, caption, rows) {
  return el("table", { class: "teach-table compact", "data-testid": testid }, [
    el("caption", { class: "sr-only", text: caption }),
    el("thead", {}, [el("tr", {}, [el("th", { scope: "col", text: "" }), el("th", { scope: "col", text: "atual" }),
      el("th", { scope: "col", text: "candidato" })])]),
    el("tbody", {}, rows.map(function (r) {
      return el("tr", { "data-metric": r[0] }, [el("th", { scope: "row", text: r[1] }),
        el("td", { "data-col": "current", text: r[2] }), el("td", { "data-col": "candidate", text: r[3] })]);
    }))
  ]);
}

export function renderSuite(node, suite) {
  const cur = suite.current || null, cand = suite.candidate || null;
  const n = function (s, k) { return s && typeof s[k] === "number" ? String(s[k]) : "—"; };
  const p = function (s, k) { return s ? pct(s[k]) : "—"; };
  const parts = [
    el("p", { class: "eval-note", text: (cand ? n(cand, "emergencies") : n(cur, "emergencies")) + " emergências e " +
      (cand ? n(cand, "lookalikes") : n(cur, "lookalikes")) + " mensagens parecidas que não são urgência. " +
      "A sensibilidade para urgência precisa ficar em 100%." }),
    sideTable("suite-table", "Conjunto de segurança: modelo atual e candidato", [
      ["urgent_recall", "Sensibilidade para urgência", p(cur, "urgent_recall"), p(cand, "urgent_recall")],
      ["urgent_precision", "Precisão para urgência", p(cur, "urgent_precision"), p(cand, "urgent_precision")],
      ["false_alarms", "Falsos alarmes", n(cur, "false_alarms"), n(cand, "false_alarms")]
    ])
  ];
  const missed = (cand && cand.missed_emergencies) || [];
  if (missed.length) {
    parts.push(el("p", { class: "bad", text: "Emergências que o candidato não reconheceu:" }));
    parts.push(el("ul", { "data-testid": "suite-missed" }, missed.map(function (t) { return el("li", { text: t }); })));
  }
  node.replaceChildren.apply(node, parts);
}

export function renderStaffEval(node, staff) {
  if (!staff || !staff.n) {
    node.replaceChildren(el("p", { class: "eval-note", text: "Nenhum exemplo da equipe para avaliar." }));
    return;
  }
  const cur = staff.current || null, cv = staff.candidate_cv || null;
  const parts = [
    el("p", { class: "eval-note", text: plural(staff.n, "exemplo", "exemplos") + " da equipe, avaliados em " +
      (staff.k || 0) + " partes (validação cruzada): o candidato é testado em cada parte sem tê-la visto no treino; " +
      "o modelo atual nunca viu esses exemplos." }),
    sideTable("staff-table", "Mensagens da equipe: modelo atual e candidato (validação cruzada)", [
      ["reason_accuracy", "Motivo correto", cur ? pct(cur.reason_accuracy) : "—", cv ? pct(cv.reason_accuracy) : "—"],
      ["intent_accuracy", "Intenção correta", cur ? pct(cur.intent_accuracy) : "—", cv ? pct(cv.intent_accuracy) : "—"]
    ])
  ];
  const curRows = (cur && cur.per_reason) || {}, cvRows = (cv && cv.per_reason) || {};
  const reasons = reasonOrder([curRows, cvRows]);
  if (reasons.length) {
    parts.push(el("table", { class: "teach-table compact", "data-testid": "staff-reasons" }, [
      el("caption", { class: "sr-only", text: "F1 por motivo nas mensagens da equipe" }),
      el("thead", {}, [el("tr", {}, [el("th", { scope: "col", text: "Motivo" }),
        el("th", { scope: "col", text: "F1 atual" }), el("th", { scope: "col", text: "F1 candidato" }),
        el("th", { scope: "col", text: "diferença (p.p.)" }), el("th", { scope: "col", text: "Exemplos" })])]),
      el("tbody", {}, reasons.map(function (r) {
        const c = curRows[r] || null, d = cvRows[r] || null;
        const dd = delta(c ? c.f1 : undefined, d ? d.f1 : undefined);
        return el("tr", { "data-reason": r }, [el("th", { scope: "row", text: label(REASONS, r) }),
          el("td", { text: c ? pct(c.f1) : "—" }), el("td", { text: d ? pct(d.f1) : "—" }),
          el("td", { class: "delta", "data-sign": dd.sign, text: dd.text }),
          el("td", { text: String((d && d.support) || (c && c.support) || 0) })]);
      }))
    ]));
  }
  node.replaceChildren.apply(node, parts);
}

export function renderChanges(node, changes) {
  if (!changes || !changes.length) {
    node.replaceChildren(el("p", { class: "eval-note", "data-testid": "changes-empty",
      text: "Nenhuma mensagem da equipe muda de leitura." }));
    return;
  }
  const read = function (intent, conf) {
    return intent ? intent + " (" + confidence(conf) + ")" : "—";
  };
  node.replaceChildren(el("div", { class: "table-wrap" }, [el("table", { class: "teach-table compact",
    "data-testid": "changes-table" }, [
    el("caption", { class: "sr-only", text: "Mensagens da equipe cuja intenção prevista muda" }),
    el("thead", {}, [el("tr", {}, [el("th", { scope: "col", text: "Mensagem" }),
      el("th", { scope: "col", text: "Ensinada como" }), el("th", { scope: "col", text: "Modelo atual" }),
      el("th", { scope: "col", text: "Candidato" }), el("th", { scope: "col", text: "Candidato (validação cruzada)" })])]),
    el("tbody", {}, changes.map(function (c) {
      return el("tr", { "data-testid": "change-row" }, [el("td", { text: c.text }), el("td", { text: c.intent }),
        el("td", { text: read(c.current, c.current_confidence) }),
        el("td", { text: read(c.candidate, c.candidate_confidence) }),
        el("td", { text: read(c.candidate_cv, c.candidate_cv_confidence) })]);
    }))
  ])]));
}

export function renderGate(panel, m) {
  const gate = m.gate || { passed: false, reasons: [] };
  const status = byTestId("gate-status", panel);
  status.textContent = gate.passed ? "Aprovado" : "Reprovado";
  status.setAttribute("data-passed", gate.passed ? "true" : "false");
  const reasons = (gate.reasons || []).map(function (r) { return el("li", { text: sentence(r) }); });
  if (m.gate_override) {
    reasons.push(el("li", { class: "override-note", text: "Implantado mesmo assim por " +
      (m.gate_override.by || "um administrador") + ": " + m.gate_override.reason }));
  }
  const list = byTestId("gate-reasons", panel);
  list.replaceChildren.apply(list, reasons);
  list.hidden = !reasons.length;
}

export function renderRun(m) {
  const panel = ui.runPanel;
  panel.hidden = false;
  panel.setAttribute("data-id", m.id);
  panel.setAttribute("data-status", m.status);
  const active = !!ACTIVE[m.status];
  byTestId("run-title", panel).textContent = "Treino nº " + m.id + (m.layer_version !== null &&
    m.layer_version !== undefined ? " · ensinamentos da versão " + m.layer_version : "") +
    (m.created_at ? " · pedido em " + when(m.created_at) + (m.requested_by ? " por " + agentName(m.requested_by) : "") : "");
  const status = byTestId("run-status", panel);
  status.textContent = label(MODEL_STATUS, m.status);
  status.setAttribute("data-status", m.status);
  const progress = m.progress || {};
  const bar = byTestId("run-progress", panel);
  bar.value = typeof progress.pct === "number" ? progress.pct : 0;
  bar.setAttribute("aria-valuetext", (progress.pct || 0) + "%");
  bar.setAttribute("data-pct", String(progress.pct || 0));
  let stage = stageText(progress.stage) + " · " + (progress.pct || 0) + "%";
  if (m.status === "queued") stage = "Na fila: começa quando o treino em andamento terminar.";
  else if (m.status === "failed") stage = "Treino encerrado sem modelo.";
  else if (!active) stage = "Concluído · 100%";
  byTestId("run-stage", panel).textContent = stage;
  showError(byTestId("run-error", panel), m.status === "failed" && m.error ? sentence(m.error) : "");
  const evalNode = byTestId("run-eval", panel);
  if (active) {
    evalNode.hidden = true;
    return;
  }
  evalNode.hidden = false;
  renderGate(panel, m);
  const ev = m.evaluation || {};
  const frozen = ev.frozen || {};
  const hasEval = !!(frozen.candidate || frozen.current);
  $all("h4, .table-wrap, [data-testid='eval-suite'], [data-testid='eval-staff'], [data-testid='eval-changes'], " +
    "[data-testid='eval-frozen-note']", evalNode).forEach(function (n) { n.hidden = !hasEval; });
  if (!hasEval) return;
  const cur = frozen.current, cand = frozen.candidate;
  let note = (cand ? cand.n : cur.n) + " mensagens escritas por quem nunca viu os dados do bot. Acerto do motivo: " +
    (cur ? "atual " + pct(cur.accuracy) + ", " : "sem modelo atual para comparar, ") + "candidato " + pct(cand && cand.accuracy) + ".";
  if (typeof frozen.changed_reason_predictions === "number") {
    note += " " + plural(frozen.changed_reason_predictions, "mensagem muda", "mensagens mudam") + " de motivo.";
  }
  byTestId("eval-frozen-note", evalNode).textContent = note;
  renderEvalTable(byTestId("eval-table", evalNode), frozen);
  renderSuite(byTestId("eval-suite", evalNode), ev.suite || {});
  renderStaffEval(byTestId("eval-staff", evalNode), ev.staff || {});
  renderChanges(byTestId("eval-changes", evalNode), (ev.staff || {}).changes || []);
}

export function stopPolling() {
  if (S.pollTimer) window.clearTimeout(S.pollTimer);
  S.pollTimer = null;
}

export async function watch(id) {
  stopPolling();
  S.run = id;
  let m;
  try {
    m = await api("GET", "/api/bot/models/" + id);
  } catch (e) {
    if (S.run === id) showApiError(ui.trainError, e);
    S.pollTimer = window.setTimeout(function () { if (S.run === id) watch(id); }, POLL_MS * 3);
    return;
  }
  if (S.run !== id) return;
  showError(ui.trainError, "");
  renderRun(m);
  const i = S.models.findIndex(function (x) { return x.id === m.id; });
  if (i >= 0) { S.models[i] = m; renderModels(); }
  if (ACTIVE[m.status]) {
    S.pollTimer = window.setTimeout(function () { if (S.run === id) watch(id); }, POLL_MS);
  } else {
    announce(m.status === "failed" ? "Treino nº " + m.id + " falhou." : "Treino nº " + m.id + " terminou: " +
      (m.gate && m.gate.passed ? "aprovado na avaliação." : "reprovado na avaliação."));
    await loadModels(false);
  }
}

ui.trainButton.addEventListener("click", async function () {
  showError(ui.trainError, "");
  ui.trainButton.disabled = true;
  try {
    const started = await api("POST", "/api/bot/models");
    announce(started.status === "queued" && started.queued_behind
      ? "Treino nº " + started.id + " na fila: começa quando o treino em andamento terminar."
      : "Treino nº " + started.id + " começou.");
    await loadModels(false);
    watch(started.id);
  } catch (e) {
    showApiError(ui.trainError, e);
  } finally {
    ui.trainButton.disabled = false;
  }
});

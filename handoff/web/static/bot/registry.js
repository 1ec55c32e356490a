// atende bot teaching page (/bot): registry — see /bot/bot.js.
import { $, byTestId, el, showError } from "../lib/dom.js";
import { ACTIVE, S, ui } from "./state.js";
import { renderRun, stopPolling, watch } from "./training.js";
import { agentName, announce, api, isAdmin, label, setBusy, showApiError, when } from "./util.js";
import { MODEL_STATUS } from "./vocab.js";

// ================================================================ 4. the registry
export function modelRow(m) {
  const deployable = m.status === "ready" || m.status === "retired";
  const evaluated = !ACTIVE[m.status];
  const gate = m.gate || {};
  return el("tr", { "data-testid": "model-row", "data-id": m.id, "data-status": m.status,
    class: m.status === "deployed" ? "live" : "" }, [
    el("th", { scope: "row", "data-col": "id" }, [document.createTextNode("nº " + m.id)]),
    el("td", { "data-col": "status" }, [el("span", { class: "pill", "data-status": m.status, "data-testid": "model-status",
      text: label(MODEL_STATUS, m.status) })]),
    el("td", { "data-col": "layer", text: m.layer_version !== null && m.layer_version !== undefined
      ? "versão " + m.layer_version : "—" }),
    el("td", { "data-col": "requested" }, [el("span", { text: agentName(m.requested_by) || "—" }),
      el("small", { text: when(m.created_at) })]),
    el("td", { "data-col": "deployed" }, m.deployed_at
      ? [el("span", { text: agentName(m.deployed_by) || "—" }), el("small", { text: when(m.deployed_at) }),
        m.retired_at ? el("small", { text: "aposentado em " + when(m.retired_at) }) : null]
      : [el("span", { text: m.retired_at ? "aposentado em " + when(m.retired_at) : "—" })]),
    el("td", { "data-col": "gate" }, [
      evaluated ? el("span", { class: "gate-pill", "data-passed": gate.passed ? "true" : "false",
        text: gate.passed ? "Aprovado" : "Reprovado" }) : el("span", { class: "running", text: "em andamento" }),
      el("button", { type: "button", class: "btn btn--small btn--ghost", "data-action": "view",
        "data-testid": "view-" + m.id, "aria-label": "Ver o treino nº " + m.id,
        text: evaluated ? "Ver avaliação" : "Acompanhar" })
    ]),
    el("td", { "data-col": "actions" }, [
      deployable ? el("button", { type: "button", class: "btn btn--small btn--primary", "data-action": "deploy",
        "data-testid": "deploy-" + m.id, "aria-label": "Implantar a versão nº " + m.id, text: "Implantar" }) : null,
      m.status === "queued" ? el("button", { type: "button", class: "btn btn--small btn--ghost", "data-action": "cancel",
        "data-testid": "cancel-" + m.id, "aria-label": "Cancelar o treino nº " + m.id, text: "Cancelar" }) : null
    ])
  ]);
}

export function renderDeployed() {
  const live = S.models.find(function (m) { return m.status === "deployed"; }) ||
    (S.deployed !== null ? { id: S.deployed } : null);
  if (live) {
    ui.deployedVersion.setAttribute("data-deployed", String(live.id));
    ui.deployedVersion.textContent = "No ar: versão nº " + live.id +
      (live.layer_version !== null && live.layer_version !== undefined ? " (ensinamentos da versão " + live.layer_version + ")" : "") +
      (live.deployed_at ? ", implantada em " + when(live.deployed_at) +
        (live.deployed_by ? " por " + agentName(live.deployed_by) : "") : "") + ".";
    if (S.version !== null && typeof live.layer_version === "number" && live.layer_version < S.version) {
      ui.deployedVersion.textContent += " Há ensinamentos mais novos (versão " + S.version + ") ainda não treinados ou implantados.";
    }
  } else {
    ui.deployedVersion.setAttribute("data-deployed", "base");
    ui.deployedVersion.textContent = "No ar: modelo base do bot (nenhuma versão treinada pela equipe foi implantada).";
  }
}

export function renderModels() {
  ui.modelsRows.replaceChildren.apply(ui.modelsRows, S.models.map(modelRow));
  ui.modelsTable.setAttribute("aria-busy", "false");
  ui.modelsTable.closest(".table-wrap").hidden = !S.models.length;
  ui.modelsEmpty.hidden = !!S.models.length;
  renderDeployed();
}

export async function loadModels(showLatest) {
  ui.modelsTable.setAttribute("aria-busy", "true");
  const data = await api("GET", "/api/bot/models");
  S.models = (data && Array.isArray(data.models)) ? data.models : [];
  S.deployed = data ? data.deployed : null;
  S.staffNames = (data && data.staff) || {};
  ui.rollback.hidden = !(data && data.rollback_available);  // nothing to go back to: no button
  renderModels();
  if (showLatest && S.models.length && S.run === null) {
    const active = S.models.find(function (m) { return ACTIVE[m.status]; });
    if (active) watch(active.id);
    else renderRun(S.models[0]);
  }
}

export function hideOverride() {
  S.pendingDeploy = null;
  ui.overrideForm.hidden = true;
  ui.overrideForm.reset();
}

export async function deploy(id, overrideReason, busyRoot) {
  showError(ui.modelsError, "");
  setBusy(busyRoot, true);
  announce("Implantando a versão nº " + id + "… o bot continua respondendo com o modelo atual até terminar.");
  try {
    const body = overrideReason ? { override_reason: overrideReason } : {};
    await api("POST", "/api/bot/models/" + id + "/deploy", body);
    hideOverride();
    announce("Versão nº " + id + " implantada: o bot já responde com ela.");
    await loadModels(false);
  } catch (e) {
    if (e.code === "gate_failed") {
      if (isAdmin()) {
        S.pendingDeploy = id;
        ui.overrideForm.hidden = false;
        showApiError(ui.modelsError, e, "Como administrador, você pode implantar mesmo assim escrevendo uma justificativa.");
        $("textarea", ui.overrideForm).focus();
      } else {
        showApiError(ui.modelsError, e, "Somente um administrador pode implantar um modelo reprovado, com justificativa.");
      }
    } else {
      showApiError(ui.modelsError, e);
    }
    announce("");
  } finally {
    setBusy(busyRoot, false);
  }
}

ui.modelsRows.addEventListener("click", function (event) {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const id = Number(button.closest("tr").getAttribute("data-id"));
  const m = S.models.find(function (x) { return x.id === id; });
  if (!m) return;
  const action = button.getAttribute("data-action");
  if (action === "view") {
    if (ACTIVE[m.status]) watch(id); else { stopPolling(); S.run = id; renderRun(m); }
    ui.runPanel.scrollIntoView({ block: "start" });
  } else if (action === "cancel") {
    cancelRun(id, button);
  } else {
    hideOverride();
    deploy(id, null, button.closest("tr"));
  }
});

export async function cancelRun(id, button) {
  showError(ui.modelsError, "");
  button.disabled = true;
  try {
    await api("DELETE", "/api/bot/models/" + id);
    announce("Treino nº " + id + " cancelado.");
    await loadModels(false);
    if (S.run === id) watch(id);
  } catch (e) {
    button.disabled = false;
    showApiError(ui.modelsError, e);
  }
}

ui.overrideForm.addEventListener("submit", function (event) {
  event.preventDefault();
  const reason = $("textarea", ui.overrideForm).value.trim();
  if (reason.length < 10 || reason.length > 500) {
    showError(ui.modelsError, "A justificativa precisa ter de 10 a 500 caracteres.");
    return;
  }
  if (S.pendingDeploy !== null) deploy(S.pendingDeploy, reason, ui.overrideForm);
});
byTestId("override-cancel").addEventListener("click", function () {
  hideOverride();
  showError(ui.modelsError, "");
});

ui.rollback.addEventListener("click", async function () {
  showError(ui.modelsError, "");
  hideOverride();
  ui.rollback.disabled = true;
  announce("Voltando à versão anterior…");
  try {
    const result = await api("POST", "/api/bot/rollback");
    const back = result && result.deployed;
    announce("Versão nº " + result.rolled_back + " retirada do ar. " + (back && back.id !== null && back.id !== undefined
      ? "Voltou a versão nº " + back.id + "." : "Voltou o modelo base do bot."));
    await loadModels(false);
  } catch (e) {
    announce("");
    showApiError(ui.modelsError, e);
  } finally {
    ui.rollback.disabled = false;
  }
});

byTestId("models-refresh").addEventListener("click", async function () {
  try {
    await loadModels(false);
    announce("Lista de versões atualizada.");
  } catch (e) {
    showApiError(ui.modelsError, e);
  }
});

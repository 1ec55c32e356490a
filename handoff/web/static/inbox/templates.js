// atende inbox (/inbox): templates — see /inbox/inbox.js.
import { $all, el } from "../lib/dom.js";
import { updateComposerMode } from "./composer.js";
import { applyConversation, conversation, refreshDetail } from "./conversation.js";
import { api, convPath } from "./http.js";
import { actedOn, announce, toast } from "./notify.js";
import { refreshLists } from "./queue.js";
import { S, ui } from "./state.js";
import { liveMessage, scrollToBottom } from "./timeline.js";
import { firstName } from "./util.js";
import { ERRORS, T } from "./vocab.js";

// ---------------------------------------------------------------- WhatsApp templates
export const TEMPLATE_SENT = function (name) { return "Modelo “" + name + "” enviado."; };

export function channelTemplates(c) {
  const key = c && c.channel === "whatsapp" ? "twilio_content_sid" : "meta_name";
  return (S.templates || []).filter(function (t) { return !!t[key]; });
}

export function selectedTemplate() {
  const id = ui.templateSelect.value;
  return (S.templates || []).find(function (t) { return t.id === id; }) || null;
}

export async function loadTemplates() {
  if (S.templates !== null) return;
  S.templates = [];
  try {
    S.templates = await api("GET", "/api/templates");
  } catch (e) {
    S.templates = null; // try again next time
    if (e.status !== 401) toast(e.message, "error");
    return;
  }
  ui.templatePicker.removeAttribute("data-conv");
  updateComposerMode();
}

export function showTemplatePicker(show) {
  ui.templatePicker.hidden = !show;
  ui.templateSend.disabled = S.busy || !selectedTemplate();
  if (!show) return;
  if (S.templates === null) {
    loadTemplates();
    return;
  }
  if (ui.templatePicker.getAttribute("data-conv") === S.openId) return; // keep what the attendant typed
  ui.templatePicker.setAttribute("data-conv", S.openId);
  const list = channelTemplates(conversation());
  ui.templateSelect.replaceChildren.apply(ui.templateSelect, list.map(function (t) {
    return el("option", { value: t.id, text: t.name });
  }));
  renderTemplateVars();
}

export function renderTemplateVars() {
  const t = selectedTemplate();
  const patient = S.detail && S.detail.patient ? firstName(S.detail.patient.name) : "";
  ui.templateVars.replaceChildren.apply(ui.templateVars, (t ? t.variables : []).map(function (name, i) {
    const input = el("input", { type: "text", maxlength: "1024", required: true, "data-testid": "template-var",
      id: "template-var-" + i, value: name === "nome" ? patient : null });
    input.addEventListener("input", renderTemplatePreview);
    return el("label", { className: "template-var", for: "template-var-" + i }, [name, input]);
  }));
  renderTemplatePreview();
}

export function templateValues() {
  return $all("input", ui.templateVars).map(function (input) { return input.value.trim(); });
}

export function renderTemplatePreview() {
  const t = selectedTemplate();
  const values = templateValues();
  ui.templatePreview.textContent = t ? t.body.replace(/\{\{(\d+)\}\}/g, function (m, n) {
    return values[n - 1] || m;
  }) : T.noTemplates;
  ui.templateSend.disabled = S.busy || !t;
}

export async function submitTemplate() {
  const id = S.openId;
  const c = conversation();
  const t = selectedTemplate();
  if (!id || !c || !t || S.busy) return;
  const variables = templateValues();
  if (variables.some(function (v) { return !v; })) {
    toast(ERRORS.invalid_variables, "error");
    return;
  }
  S.busy = true;
  updateComposerMode();
  try {
    if (c.state === "queued") {
      actedOn(id);
      applyConversation(await api("POST", convPath(id, "claim")));
      refreshLists(0);
    }
    const res = await api("POST", convPath(id, "template"), { template_id: t.id, variables: variables });
    actedOn(id);
    if (res && res.message) liveMessage(Object.assign({ conversation_id: id }, res.message));
    scrollToBottom();
    applyConversation(res && res.conversation);
    ui.templatePicker.removeAttribute("data-conv"); // fresh variables for the next one
    toast(TEMPLATE_SENT(t.name), "ok"); // the picker resets: say what went out
    announce(TEMPLATE_SENT(t.name));
  } catch (e) {
    if (e.status !== 401) toast(e.message, "error");
    if (e.status === 409) refreshDetail();
  } finally {
    S.busy = false;
    updateComposerMode();
  }
}

ui.templateSelect.addEventListener("change", renderTemplateVars);
ui.templatePicker.addEventListener("submit", function (e) {
  e.preventDefault();
  submitTemplate();
});

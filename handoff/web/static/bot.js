/*
 * atende: "Ensinar o bot" (/bot) — staff teach the bot.
 *
 * 1. What the bot did not understand: GET /api/bot/review; label a group with an intent or ignore
 *    it: POST /api/bot/review/<id> {"intent"|"ignore": true, "message_ids"} (every staff role).
 * 2. Staff intents: GET/POST /api/bot/intents, PATCH/DELETE /api/bot/intents/<name>; simple
 *    answers: GET /api/bot/answers, PUT/DELETE /api/bot/answers/<utter> (writes: managers/admins).
 * 3. Training: POST /api/bot/models (202 {id}), then GET /api/bot/models/<id> every second while
 *    the run is queued/training/evaluating; its `evaluation` (bot/teaching/evaluate.py `compare`)
 *    is shown candidate vs current, then the gate (managers/admins).
 * 4. The registry: GET /api/bot/models, DELETE /api/bot/models/<id> (cancel a queued run),
 *    POST /api/bot/models/<id>/deploy {"override_reason"?}, POST /api/bot/rollback (managers/admins).
 * Contract: docs/CONTRACTS.md ("Bot teaching"). Session cookie + `X-Requested-With: atende`
 * (/static/lib/api.js). The API enforces the roles; the page only hides what a role cannot do.
 * No endpoint lists the bot's own intents: the label choices are the staff intents, the intents
 * the bot read in the review groups and a free text field (the API validates: 400 unknown_intent).
 * Queues for a hand-off come from GET /api/agents (effective queues of the team), like /equipe.
 * Native ES modules, no dependencies, no build: this entry wires the sections in /static/bot/
 * (review, intents, answers, training, registry) and the shared lib in /static/lib/.
 * Every server string is assigned with textContent only.
 */
import { $all, byTestId } from "/static/lib/dom.js";
import { loadAnswers } from "/static/bot/answers.js";
import { loadIntents, renderQueueChoices, updateCounter } from "/static/bot/intents.js";
import { loadModels } from "/static/bot/registry.js";
import { loadReview, renderReview } from "/static/bot/review.js";
import { S, ui } from "/static/bot/state.js";
import { announce, api, isAdmin, isSupervisor, showApiError } from "/static/bot/util.js";

// ================================================================ page
function applyRole(me) {
  S.me = me;
  ui.meName.textContent = me.name || me.email || "";
  document.body.setAttribute("data-role", me.role);
  $all("[data-supervisor]").forEach(function (n) { n.hidden = !isSupervisor(); });
  $all("[data-admin]").forEach(function (n) { n.hidden = !isAdmin(); });
  byTestId("readonly-note").hidden = isSupervisor();
}

async function guarded(task) {
  try {
    await task();
  } catch (e) {
    if (e.status !== 401) showApiError(ui.error, e);
  }
}

byTestId("review-refresh").addEventListener("click", async function () {
  await guarded(loadReview);
  announce("Lista de mensagens atualizada.");
});

byTestId("logout").addEventListener("click", async function () {
  try { await api("POST", "/api/auth/logout"); } catch (e) { /* the cookie may be gone already */ }
  window.location.replace("/login");
});

async function start() {
  let me;
  try {
    me = await api("GET", "/api/auth/me");
  } catch (e) {
    if (e.status !== 401) showApiError(ui.error, e);
    return;
  }
  applyRole(me);
  updateCounter();
  await Promise.all([guarded(loadIntents), guarded(loadReview), guarded(loadAnswers)]);
  renderReview(); // with the intents' choices
  if (isSupervisor()) {
    await guarded(async function () {
      try { S.agents = await api("GET", "/api/agents"); } catch (e) { S.agents = []; }
      if (!Array.isArray(S.agents)) S.agents = [];
      renderQueueChoices();
    });
    await guarded(function () { return loadModels(true); });
  }
}

start();

// atende bot teaching page (/bot): state — see /bot/bot.js.
import { byTestId } from "../lib/dom.js";

export const POLL_MS = 1000;
export const MIN_EXAMPLES = 5;
export const WARN_EXAMPLES = 10;
export const MAX_EXAMPLES = 200;
export const SUPERVISORS = { manager: 1, admin: 1 };
export const ACTIVE = { queued: 1, training: 1, evaluating: 1 };
export const OTHER_INTENT = "__other__";



export const S = {
  me: null, version: null, intents: [], review: [], answers: [], agents: [], models: [], deployed: null,
  editing: null, deleting: null, run: null, pollTimer: null, pendingDeploy: null, answerEditing: null,
  reviewLoaded: false, intentsLoaded: false
};
export const ui = {
  status: byTestId("teach-status"),
  error: byTestId("teach-error"),
  meName: byTestId("me-name"),
  reviewList: byTestId("review-list"),
  reviewEmpty: byTestId("review-empty"),
  intentRows: byTestId("intents-rows"),
  intentTable: byTestId("intents-table"),
  intentsEmpty: byTestId("intents-empty"),
  layerVersion: byTestId("layer-version"),
  form: byTestId("intent-form"),
  formTitle: byTestId("intent-form-title"),
  formError: byTestId("intent-error"),
  formWarnings: byTestId("intent-warnings"),
  formSubmit: byTestId("intent-submit"),
  formCancel: byTestId("intent-cancel"),
  counter: byTestId("example-count"),
  answersList: byTestId("answers-list"),
  answersFilter: byTestId("answers-filter"),
  trainButton: byTestId("train-button"),
  trainError: byTestId("train-error"),
  runPanel: byTestId("run-panel"),
  modelsRows: byTestId("models-rows"),
  modelsTable: byTestId("models-table"),
  modelsEmpty: byTestId("models-empty"),
  modelsError: byTestId("models-error"),
  deployedVersion: byTestId("deployed-version"),
  overrideForm: byTestId("override-form"),
  rollback: byTestId("rollback-button"),
  deleteDialog: byTestId("delete-dialog")
};

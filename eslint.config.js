// eslint (flat config) for the hub's browser scripts in handoff/web/static: `make lint` runs
// `npx eslint handoff/web/static`. Staff pages are native ES modules (no build step); the patient
// chat widget is made of classic scripts (widget.js, embedded cross-origin on clinic sites, and the
// two parts it loads: widget_transport.js, widget_ui.js).
import js from "@eslint/js";
import globals from "globals";

export default [
  js.configs.recommended,
  {
    files: ["handoff/web/static/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.browser },
    },
    rules: {
      "no-unused-vars": ["error", { caughtErrors: "none" }],
    },
  },
  {
    files: ["handoff/web/static/widget.js", "handoff/web/static/widget_transport.js",
      "handoff/web/static/widget_ui.js", "handoff/web/static/site.js"],
    languageOptions: { sourceType: "script" },
  },
];

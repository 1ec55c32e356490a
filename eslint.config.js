// eslint (flat config) for the hub's browser scripts in handoff/web/static: `make lint` runs
// `npx eslint handoff/web/static`. Staff pages are native ES modules (no build step); the patient
// chat widget is a classic script (embedded cross-origin on clinic sites).
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
    files: ["handoff/web/static/widget.js", "handoff/web/static/site.js"],
    languageOptions: { sourceType: "script" },
  },
];

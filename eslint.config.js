// One lint config for the whole workspace (flat config).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "**/.turbo/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // The share page's own script runs in the browser, beside tus-js-client's global `tus`.
    files: ["packages/share-web/src/assets/**/*.js"],
    languageOptions: { sourceType: "script", globals: { document: "readonly", tus: "readonly" } },
  },
  {
    // Cores and protocol are libraries: no terminal, no process globals. Apps own those.
    files: ["packages/{protocol,server-core,client-core,node-io,cluster-store,share-web}/src/**/*.ts"],
    ignores: ["packages/*/src/**/*.test.ts", "packages/*/src/testing/**"],
    rules: {
      "no-console": "error",
      "no-restricted-properties": [
        "error",
        { object: "process", property: "env", message: "Cores take validated config; read env in the apps." },
        { object: "process", property: "argv", message: "Cores take validated config; parse argv in the apps." },
        { object: "process", property: "exit", message: "Cores throw typed errors; apps choose exit codes." },
      ],
    },
  },
);

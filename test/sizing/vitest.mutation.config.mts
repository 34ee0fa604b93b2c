// Vitest settings for the mutation check only (stryker.config.mjs, docs/mutation.md): the fast
// unit tests that cover sizing/ and the Synapse routing. `npm test` and `npm run test:unit` never
// read this file. (It replaces Stryker's `testFiles` option, with which Stryker 9.6 activates
// static mutants too late and reports every one of them as survived: stryker-js#6144.)
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    include: ["test/sizing/**/*.test.ts", "test/synapse/**/*.test.ts"],
    isolate: true,
    testTimeout: 60_000,
  },
});

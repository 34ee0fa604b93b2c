// Mutation check (issue 17): `npm run test:mutation`. Not part of `npm test`.
// Mutates the pure sizing module and the Synapse HTTP routing, and runs only the fast unit tests
// that cover them (test/sizing, test/synapse). How to read the result: docs/mutation.md.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  plugins: ["@stryker-mutator/vitest-runner"],
  // The tests to run are the include list of this Vitest config (test/sizing, test/synapse), not
  // Stryker's `testFiles`: with `testFiles`, Stryker 9.6 activates static mutants (module-level
  // constants: the seed tables, the settings schema, the route patterns) after the module has
  // loaded, and reports each of them as survived (stryker-js#6144).
  vitest: { configFile: "test/sizing/vitest.mutation.config.mts", related: false },
  mutate: ["sizing/**/*.ts", "components/synapse/routing.ts"],
  coverageAnalysis: "perTest",
  // Two shared cores: one test runner at a time.
  concurrency: 1,
  timeoutMS: 30_000,
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: "reports/mutation/mutation.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  tempDirName: ".stryker-tmp",
  cleanTempDir: true,
  // Not needed by the unit tests; keeps the sandbox copy small (.cache holds the integration servers).
  ignorePatterns: [".cache", "dist", "out", "reports", "test/integration", "scripts", "policy"],
};

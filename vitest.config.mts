import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Pulumi's mock runtime keeps its state on Node's global: one file per isolated worker.
    isolate: true,
    pool: "forks",
    testTimeout: 60_000,
    globalSetup: ["./test/run-temp-dir.ts"],
    reporters: ["default", "./test/summary-reporter.ts"],
  },
});

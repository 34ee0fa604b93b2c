/**
 * Ends the run with one plain line, "N passed, N failed, N skipped", that CI tooling reads. A test
 * that did not run because a hook of its suite or file failed counts as failed, not skipped; so
 * does a file that failed to load (one failure for the file) and every unhandled error.
 */
import type { Reporter, TestCase, TestModule, TestSuite } from "vitest/node";

function hasErrors(node: TestSuite | TestModule): boolean {
  return node.state() === "failed" || node.errors().length > 0;
}

/** A failed hook (beforeAll, afterAll) on the test's suite or any suite or file above it. */
function underFailedHook(test: TestCase): boolean {
  for (let node: TestSuite | TestModule = test.parent; ; node = node.parent) {
    if (node.errors().length > 0) return true;
    if (node.type === "module") return false;
  }
}

export function summarize(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown> = []): { passed: number; failed: number; skipped: number } {
  const counts = { passed: 0, failed: 0, skipped: 0 };
  for (const module of testModules) {
    let failedHere = 0;
    for (const test of module.children.allTests()) {
      const state = test.result().state;
      if (state === "passed") counts.passed++;
      else if (state === "failed" || underFailedHook(test)) failedHere++;
      else counts.skipped++;
    }
    // A file that failed to load, or whose failure no test carries, still failed.
    if (failedHere === 0 && hasErrors(module)) failedHere = 1;
    counts.failed += failedHere;
  }
  counts.failed += unhandledErrors.length;
  return counts;
}

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    const counts = summarize(testModules, unhandledErrors);
    process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}

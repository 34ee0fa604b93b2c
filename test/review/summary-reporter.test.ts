/** The summary line CI reads counts a failed hook, an unloadable file and an unhandled error as failed. */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(__dirname, "..", "..");

describe("summary reporter", () => {
  it("a failing beforeAll fails its tests, an unloadable file fails once, an unhandled error fails the run; a deliberate skip stays skipped", () => {
    const r = spawnSync(join(ROOT, "node_modules", ".bin", "vitest"), ["run", "--config", join(ROOT, "test", "fixtures", "reporter", "vitest.config.mts")], { cwd: ROOT, encoding: "utf8" });
    expect(r.status).toBe(1);
    const line = r.stdout.split("\n").filter((l) => /^\d+ passed, \d+ failed, \d+ skipped$/.test(l));
    expect(line).toEqual(["2 passed, 4 failed, 1 skipped"]);
  }, 60_000);
});

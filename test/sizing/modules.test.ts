/**
 * Every module of the sizing code and the Synapse routing loads. Imported inside the test (not at
 * the top of the file) so that a module that throws while loading fails this test instead of
 * leaving the file with no tests: the mutation check (docs/mutation.md) reports a mutant that
 * breaks a module's loading as survived unless some test fails on it.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const SIZING = join(__dirname, "..", "..", "sizing");
const modules = readdirSync(SIZING)
  .filter((f) => f.endsWith(".ts"))
  .map((f) => `../../sizing/${f.replace(/\.ts$/, "")}`);

describe("modules load", () => {
  it("every sizing module and the routing module load and export something", async () => {
    expect(modules.length).toBeGreaterThan(10);
    for (const path of [...modules, "../../components/synapse/routing"]) {
      const mod = (await import(path)) as Record<string, unknown>;
      expect(typeof mod, path).toBe("object");
    }
    const sizing = await import("../../sizing");
    expect(typeof sizing.plan).toBe("function");
    expect(typeof sizing.parseSettings).toBe("function");
  });
});

/**
 * Invalid or dangerous stack configs and overrides, each through the whole program as a preview
 * runs it: refused with one line naming the key, and nothing declared but the read of the stack's
 * own previous outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { runProgram } from "../../bin/mock-runtime";
import { parseSettings, plan, storageState } from "../../sizing";
import type { RawSettings } from "../../sizing/settings";
import { BAD, BREAKS_INVARIANT, ok } from "../fixtures/bad-settings";

const previousOf = (raw: RawSettings) => ({ storage: storageState(plan(parseSettings(raw))) });

/** Changes that would lose data against what the stack already holds: [what, settings, previous, key, text]. */
const DANGEROUS: [string, RawSettings, Record<string, unknown>, string, RegExp][] = [
  ["dropping a MinIO pool by override", { ...ok, ccu: 20_000, overrides: { minio: { pools: 2 } } }, previousOf({ ...ok, ccu: 20_000 }), "overrides.minio.pools", /decommission/],
  ["dropping every extra pool on a downgrade", { ...ok, ccu: 1000, overrides: { minio: { pools: 1 } } }, previousOf({ ...ok, ccu: 10_000 }), "overrides.minio.pools", /deployment has 2 pools/],
  ["shrinking the database volume by override", { ...ok, ccu: 10_000, overrides: { postgres: { storageGB: 5100 } } }, previousOf({ ...ok, ccu: 20_000 }), "overrides.postgres.storageGB", /volume is 10100 GB/],
];

const ALL: [string, RawSettings, Record<string, unknown> | undefined, string, RegExp][] = [
  ...BAD.map(([what, raw, key, text]) => [what, raw, undefined, key, text] as [string, RawSettings, undefined, string, RegExp]),
  ...BREAKS_INVARIANT.map(([what, raw, key, text]) => [what, raw, undefined, key, text] as [string, RawSettings, undefined, string, RegExp]),
  ...DANGEROUS,
];

describe("bad and dangerous stack configs, at preview", () => {
  it("the corpus has at least 40 cases", () => expect(ALL.length).toBeGreaterThanOrEqual(40));

  it.each(ALL)("%s", async (_what, raw, previousOutputs, key, text) => {
    const error = (await runProgram(raw, previousOutputs ? { previousOutputs } : {}).then(
      () => undefined,
      (e: unknown) => e,
    )) as (Error & { declared?: { type: string }[] }) | undefined;
    expect(error, "the program accepted it").toBeDefined();
    expect(pulumi.RunError.isInstance(error)).toBe(true);
    expect(error!.message).not.toContain("\n");
    expect(error!.message).toContain(`matrix-scale:${key}`);
    expect(error!.message).toMatch(text);
    expect(error!.declared!.filter((r) => r.type !== "pulumi:pulumi:StackReference")).toEqual([]);
  });
});

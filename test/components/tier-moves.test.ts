/**
 * Every tier move, up and down, as the stack would run it (its recorded storage read back): no
 * stateful resource is replaced or deleted, existing MinIO pools and volumes are kept, and node
 * groups that must change instance type get a new group beside the old.
 */
import { describe, expect, it } from "vitest";
import { resourceDiff, statefulLosses } from "../../bin/diff";
import { runProgram, type MockRun } from "../../bin/mock-runtime";
import { TIER_USERS, TIERS } from "../fixtures/seed";
import { SERVER_NAME } from "../helpers";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const fresh = new Map<string, MockRun>();
async function first(tier: string, target: string): Promise<MockRun> {
  const key = `${tier}/${target}`;
  if (!fresh.has(key)) fresh.set(key, await runProgram({ ccu: TIER_USERS[tier]!, serverName: SERVER_NAME, target }));
  return fresh.get(key)!;
}

const pairs = TIERS.flatMap((a) => TIERS.filter((b) => b !== a).map((b) => [a, b] as const));

describe.each(["kubernetes", "aws"])("target %s: every tier move", (target) => {
  it.each(pairs)("%s → %s replaces or deletes no stateful resource", async (from, to) => {
    const before = await first(from, target);
    const after = await runProgram({ ccu: TIER_USERS[to]!, serverName: SERVER_NAME, target }, { previousOutputs: { storage: before.outputs.storage } });
    const diff = resourceDiff(before.resources, after.resources);
    expect(statefulLosses(diff)).toEqual([]);
    expect(diff.removed.filter((r) => r.type === "kubernetes:apps/v1:StatefulSet")).toEqual([]);

    const storageBefore = before.outputs.storage as Obj;
    const storageAfter = after.outputs.storage as Obj;
    expect(storageAfter.minio.pools.slice(0, storageBefore.minio.pools.length)).toEqual(storageBefore.minio.pools);
    expect(storageAfter.postgres.storageGB).toBeGreaterThanOrEqual(storageBefore.postgres.storageGB);

    // A node group is only ever removed beside a new group for the same pool.
    const removedGroups = diff.removed.filter((r) => r.type === "aws:eks/nodeGroup:NodeGroup");
    for (const group of removedGroups) {
      const role = group.name.split("-")[1];
      expect(diff.added.some((a) => a.type === "aws:eks/nodeGroup:NodeGroup" && a.name.split("-")[1] === role), group.name).toBe(true);
    }
  });
});

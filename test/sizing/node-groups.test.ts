/**
 * Node groups: one per pool, except storage (one per MinIO pool) and calls (one per service); the
 * pools whose pods hold zonal volumes (application, database, storage, monitoring) then get a group
 * per zone, nodes as even as they go (docs/hardware.md), so a replacement node comes back in its
 * volume's zone.
 */
import { describe, expect, it } from "vitest";
import { CALL_SERVICE_LABEL, MINIO_POOL_LABEL, nodeGroups, POOL_LABEL } from "../../sizing/inventory";
import { TIERS } from "../fixtures/seed";
import { planForTier, row } from "../helpers";

/** Nodes per zone, written out by hand: 1 → [1], 2 → [1, 1], 3 → [1, 1, 1], 4 → [2, 1, 1], 5 → [2, 2, 1], 6 → [2, 2, 2], 7 → [3, 2, 2], 13 → [5, 4, 4]. */
const BY_ZONE: Record<number, number[]> = { 1: [1], 2: [1, 1], 3: [1, 1, 1], 4: [2, 1, 1], 5: [2, 2, 1], 6: [2, 2, 2], 7: [3, 2, 2], 8: [3, 3, 2], 9: [3, 3, 3], 13: [5, 4, 4] };
const zoneIds = (id: string, n: number) => Array.from({ length: n }, (_, z) => (z === 0 ? id : `${id}-z${z}`));

describe("nodeGroups", () => {
  it.each(TIERS)("tier %s: storage split by MinIO pool and zone, calls by service, zonal pools by zone, the first group keeping the pool's id", (tier) => {
    const p = planForTier(tier);
    const groups = nodeGroups(p);
    const storage = groups.filter((g) => g.row.role === "storage");
    const poolIds = p.minio.pools.map((_, i) => (i === 0 ? "storage" : `storage-pool${i}`));
    expect(storage.map((g) => g.id)).toEqual(poolIds.flatMap((id, i) => zoneIds(id, BY_ZONE[p.minio.pools[i]!.servers]!.length)));
    expect(storage.map((g) => g.count)).toEqual(p.minio.pools.flatMap((pool) => BY_ZONE[pool.servers]!));
    expect(storage.map((g) => g.zone)).toEqual(p.minio.pools.flatMap((pool) => BY_ZONE[pool.servers]!.map((_, z) => z)));
    for (const g of storage) expect(g.labels).toEqual({ [POOL_LABEL]: "storage", [MINIO_POOL_LABEL]: g.id.startsWith("storage-pool") ? g.id.split("-")[1]!.slice(4) : "0" });
    const calls = groups.filter((g) => g.row.role === "calls");
    expect(calls.map((g) => [g.id, g.count, g.labels[CALL_SERVICE_LABEL], g.zone])).toEqual([
      ["calls", p.livekit.instances, "livekit", undefined],
      ["calls-coturn", p.coturn.instances, "coturn", undefined],
    ]);
    for (const role of ["application", "database", "monitoring"]) {
      const own = groups.filter((g) => g.row.role === role);
      const split = BY_ZONE[row(p, role).count]!;
      expect(own.map((g) => [g.id, g.count, g.zone]), role).toEqual(split.map((count, z) => [z === 0 ? role : `${role}-z${z}`, count, z]));
    }
    // Every server of the inventory is in exactly one group.
    for (const r of p.inventory.filter((x) => x.role !== "controlPlane")) expect(groups.filter((g) => g.row === r).reduce((acc, g) => acc + g.count, 0)).toBe(r.count);
  });

  it("spare nodes (an override above the members' count) join the first MinIO pool, then spread over its zones", () => {
    const p = planForTier("10k", { overrides: { nodePools: { storage: { count: 14 } } } });
    expect(row(p, "storage").count).toBe(14);
    const storage = nodeGroups(p).filter((g) => g.row.role === "storage");
    // Pool 0 gets 6 + 2 = 8 nodes (3, 3, 2), pool 1 its 6 (2 per zone).
    expect(storage.map((g) => [g.id, g.count])).toEqual([["storage", 3], ["storage-z1", 3], ["storage-z2", 2], ["storage-pool1", 2], ["storage-pool1-z1", 2], ["storage-pool1-z2", 2]]);
  });
});

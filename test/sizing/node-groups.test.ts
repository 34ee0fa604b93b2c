/** Node groups: one per pool, except storage (one per MinIO pool) and calls (one per service). */
import { describe, expect, it } from "vitest";
import { CALL_SERVICE_LABEL, MINIO_POOL_LABEL, nodeGroups, POOL_LABEL } from "../../sizing/inventory";
import { TIERS } from "../fixtures/seed";
import { planForTier, row } from "../helpers";

describe("nodeGroups", () => {
  it.each(TIERS)("tier %s: storage split by MinIO pool, calls by service, the first group keeping the pool's id", (tier) => {
    const p = planForTier(tier);
    const groups = nodeGroups(p);
    const storage = groups.filter((g) => g.row.role === "storage");
    expect(storage.map((g) => g.id)).toEqual(p.minio.pools.map((_, i) => (i === 0 ? "storage" : `storage-pool${i}`)));
    expect(storage.map((g) => g.count)).toEqual(p.minio.pools.map((pool) => pool.servers));
    storage.forEach((g, i) => expect(g.labels).toEqual({ [POOL_LABEL]: "storage", [MINIO_POOL_LABEL]: String(i) }));
    const calls = groups.filter((g) => g.row.role === "calls");
    expect(calls.map((g) => [g.id, g.count, g.labels[CALL_SERVICE_LABEL]])).toEqual([
      ["calls", p.livekit.instances, "livekit"],
      ["calls-coturn", p.coturn.instances, "coturn"],
    ]);
    const others = groups.filter((g) => g.row.role !== "storage" && g.row.role !== "calls");
    expect(others.map((g) => g.id)).toEqual(p.inventory.filter((r) => !["storage", "calls", "controlPlane"].includes(r.role)).map((r) => r.role));
    for (const g of others) expect(g.count).toBe(g.row.count);
    // Every server of the inventory is in exactly one group.
    for (const r of p.inventory.filter((x) => x.role !== "controlPlane")) expect(groups.filter((g) => g.row === r).reduce((acc, g) => acc + g.count, 0)).toBe(r.count);
  });

  it("spare nodes (an override above the members' count) join the first group", () => {
    const p = planForTier("10k", { overrides: { nodePools: { storage: { count: 10 } } } });
    expect(row(p, "storage").count).toBe(10);
    const storage = nodeGroups(p).filter((g) => g.row.role === "storage");
    expect(storage.map((g) => g.count)).toEqual([p.minio.pools[0]!.servers + 2, ...p.minio.pools.slice(1).map((pool) => pool.servers)]);
  });
});

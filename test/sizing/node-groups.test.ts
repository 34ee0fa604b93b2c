/** Node groups: one per pool, except storage, which has one per MinIO pool. */
import { describe, expect, it } from "vitest";
import { MINIO_POOL_LABEL, nodeGroups, POOL_LABEL } from "../../sizing/inventory";
import { TIERS } from "../fixtures/seed";
import { planForTier, row } from "../helpers";

describe("nodeGroups", () => {
  it.each(TIERS)("tier %s: every pool but the control plane; storage split by MinIO pool, the first keeping the pool's id", (tier) => {
    const p = planForTier(tier);
    const groups = nodeGroups(p.inventory, p.minio);
    const storage = groups.filter((g) => g.row.role === "storage");
    expect(storage.map((g) => g.id)).toEqual(p.minio.pools.map((_, i) => (i === 0 ? "storage" : `storage-pool${i}`)));
    expect(storage.map((g) => g.count)).toEqual(p.minio.pools.map((pool) => pool.servers));
    storage.forEach((g, i) => expect(g.labels).toEqual({ [POOL_LABEL]: "storage", [MINIO_POOL_LABEL]: String(i) }));
    const others = groups.filter((g) => g.row.role !== "storage");
    expect(others.map((g) => g.id)).toEqual(p.inventory.filter((r) => r.role !== "storage" && r.role !== "controlPlane").map((r) => r.role));
    for (const g of others) expect(g.count).toBe(g.row.count);
  });

  it("spare storage nodes (an override above the server count) join the first pool's group", () => {
    const p = planForTier("10k", { overrides: { nodePools: { storage: { count: 10 } } } });
    expect(row(p, "storage").count).toBe(10);
    const storage = nodeGroups(p.inventory, p.minio).filter((g) => g.row.role === "storage");
    expect(storage.map((g) => g.count)).toEqual([p.minio.pools[0]!.servers + 2, ...p.minio.pools.slice(1).map((pool) => pool.servers)]);
  });
});

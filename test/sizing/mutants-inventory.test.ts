/**
 * Inventory facts the mutation check (docs/mutation.md) found unpinned: each server row's disk
 * kind as the seed's server tables print it (test/fixtures/seed.ts: "500GB SSD", "1TB NVMe",
 * "2TB HDD"), and the node labels docs/hardware.md names for the split storage and call pools.
 */
import { describe, expect, it } from "vitest";
import { CALL_SERVICE_LABEL, MINIO_POOL_LABEL, nodeGroups } from "../../sizing/inventory";
import { ROLE_OF, SERVER_TABLES, TIERS } from "../fixtures/seed";
import { planForTier, row } from "../helpers";

describe("server rows", () => {
  it.each(TIERS)("tier %s: every row's disk is the seed's kind (SSD, NVMe, HDD) and priced", (tier) => {
    const p = planForTier(tier);
    for (const [name, , , , storage] of SERVER_TABLES[tier]!) {
      if (ROLE_OF[name] === "compliance") continue; // not provisioned (deviations.test.ts)
      const kind = /\s(SSD|NVMe|HDD)$/.exec(storage)![1]!.toLowerCase();
      const r = row(p, ROLE_OF[name]!);
      expect(r.disk, `${tier} ${name}`).toBe(kind);
      // EBS volume types (docs/sizing.md, "Cost"): throughput-optimised HDD is st1, SSD and NVMe gp3.
      expect(r.volumeType, `${tier} ${name}`).toBe(kind === "hdd" ? "st1" : "gp3");
      expect(Number.isFinite(r.monthlyUsd) && r.monthlyUsd > 0, `${tier} ${name} cost`).toBe(true);
    }
  });
});

describe("node labels of the split pools (docs/hardware.md)", () => {
  it("storage groups carry matrix-scale/minio-pool=<i>, call groups matrix-scale/call-service=<service>", () => {
    expect([MINIO_POOL_LABEL, CALL_SERVICE_LABEL]).toEqual(["matrix-scale/minio-pool", "matrix-scale/call-service"]);
    const groups = nodeGroups(planForTier("10k"));
    const labels = Object.fromEntries(groups.map((g) => [g.id, g.labels]));
    expect(labels["storage"]).toEqual({ "matrix-scale/pool": "storage", "matrix-scale/minio-pool": "0" });
    expect(labels["storage-pool1"]).toEqual({ "matrix-scale/pool": "storage", "matrix-scale/minio-pool": "1" });
    expect(labels["calls"]).toEqual({ "matrix-scale/pool": "calls", "matrix-scale/call-service": "livekit" });
    expect(labels["calls-coturn"]).toEqual({ "matrix-scale/pool": "calls", "matrix-scale/call-service": "coturn" });
  });
});

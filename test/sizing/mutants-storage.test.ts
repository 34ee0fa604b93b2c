/**
 * Storage rules the mutation check (docs/mutation.md) found unpinned, each against a value worked
 * out by hand from its source:
 * - MinIO's quorum when a server is lost (MinIO's erasure-coding documentation: an object needs
 *   its data shards to be read; a write needs the data shards, or one more when parity is exactly
 *   half the set). A storage pool whose server loss breaks that quorum is refused (N-1).
 * - the erasure-set rule of docs/sizing.md: the largest divisor of the pool's drives from 16 down
 *   to 4 that spreads evenly over its servers;
 * - the media warning of docs/sizing.md ("when it is less than the horizon");
 * - the seed's 9.2 max_connections at 20K (600), kept when the fleet fits 85% of it.
 */
import { describe, expect, it } from "vitest";
import { parseSettings, plan, PlanError, type Plan } from "../../sizing";
import type { StorageState } from "../../sizing/invariants";
import { erasureSetDrives, planMinio } from "../../sizing/objectstore";
import type { MinioPool } from "../../sizing/types";
import { POOLS_9_2 } from "../fixtures/seed";
import { planFor, SERVER_NAME, thrownBy } from "../helpers";

/** A 100-CCU deployment that already holds these MinIO pools (a stack's recorded storage output). */
function withPools(pools: MinioPool[], parity: number): Plan {
  const previous: StorageState = { tier: "100", ccu: 100, minio: { pools, parity }, postgres: { storageGB: 500 } };
  return plan(parseSettings({ ccu: 100, serverName: SERVER_NAME }), { previous });
}

const refusal = (f: () => unknown): PlanError => thrownBy(PlanError, f);

const pool = (servers: number, drivesPerServer: number, driveGB = 250): MinioPool => ({ servers, drivesPerServer, driveGB });
const storage = (p: Plan) => p.pools.find((u) => u.role === "storage")!;

describe("MinIO keeps its quorum with one server lost, or the storage pool is refused", () => {
  it("4 servers × 1 drive, EC:2 (parity half the set): one server is 1 drive; 3 of 4 left ≥ write quorum 2 + 1", () => {
    const p = withPools([pool(4, 1)], 2);
    expect([p.minio.erasureSetDrives, p.minio.parity]).toEqual([4, 2]);
    expect(storage(p).fitsNMinus1).toBe(true);
    expect(storage(p).nodes).toBe(4);
  });

  it("2 servers × 2 drives, EC:2: one server is 2 drives; 2 of 4 left < write quorum 3: refused", () => {
    const e = refusal(() => withPools([pool(2, 2)], 2));
    expect(e.rule).toBe("N-1");
    expect(e.key).toBe("overrides.nodePools.storage.count");
    expect(e.message).toMatch(/the storage pool \(2 nodes of .*\) cannot lose a node: its 2 pods request/);
    expect(e.fix.length).toBeGreaterThan(0);
  });

  it("1 server × 4 drives, EC:2: one server is the whole set: refused", () => {
    const e = refusal(() => withPools([pool(1, 4)], 2));
    expect(e.key).toBe("overrides.nodePools.storage.count");
    expect(e.message).toMatch(/the storage pool \(1 nodes of .*\) cannot lose a node: its 1 pods request/);
  });

  it("EC:4 on 16-drive sets: a 4 × 4 pool loses 4 drives (≤ 4, kept); an appended 2 × 8 pool would lose 8: refused", () => {
    expect(storage(withPools([pool(4, 4)], 4)).fitsNMinus1).toBe(true);
    // The 2 × 8 pool is one 16-drive set too (16 divides 16 and 2 divides 16).
    expect(erasureSetDrives(pool(2, 8))).toBe(16);
    const e = refusal(() => withPools([pool(4, 4), pool(2, 8, 125)], 4));
    expect(e.key).toBe("overrides.nodePools.storage.count");
    expect(e.message).toMatch(/the storage pool \(6 nodes of /);
  });
});

describe("MinIO erasure sets and pool counts", () => {
  it("12 servers × 4 drives: 16 divides 48 but does not spread over 12 servers (nor 12 over 16); 12 does", () => {
    expect(erasureSetDrives(pool(12, 4))).toBe(12);
    // 8 servers × 4 drives: 16 divides 32 and spreads 2 drives per server.
    expect(erasureSetDrives(pool(8, 4))).toBe(16);
  });

  it("asking for exactly the pools the deployment has is not shrinking it", () => {
    const old = pool(4, 4, 500);
    const m = planMinio("5k", 5000, { vcpu: 16, memoryGiB: 32 }, { minio: { pools: 2 } }, undefined, { pools: [old, old], parity: 4 });
    expect(m.pools).toEqual([old, old]);
    expect(planMinio("100", 100, { vcpu: 4, memoryGiB: 8 }, { minio: { pools: 1 } }, undefined, { pools: [old], parity: 4 }).pools).toEqual([old]);
  });

  it("media covering exactly the horizon does not warn; one month more of horizon does", () => {
    // 1k tier: 6 servers × 4 drives × 500 GB, EC:4 on 12-drive sets → 8,000 GB usable.
    // 600 users × 10% × 20 GB = 1,200 GB a year = 100 GB a month → 80 months; 600 is 60% of 1k (no tier warning).
    expect(planFor(600, { overrides: { minio: { growthHorizonMonths: 80 } } }).warnings).toEqual([]);
    expect(planFor(600, { overrides: { minio: { growthHorizonMonths: 81 } } }).warnings).toEqual([
      "media storage: 8000 GB usable covers 80 months of growth at 1200 GB/year, less than the 81-month horizon: add MinIO pools (overrides.minio.pools = 2)",
    ]);
  });
});

describe("the seed's max_connections at 20K", () => {
  it("kept (600, seed 9.2) when the fleet fits 85% of it: synchrotron cp_max 5 makes 689 − 29 × 7 = 486 < 510", () => {
    expect(POOLS_9_2["20k"]![3]).toBe(600);
    // README: 689 connections mid-rollout; 27 synchrotrons at the HPA maximum (⌈1.5 × 18⌉) and 2 rolling, cp_max 12 → 5.
    const p = planFor(20_000, { overrides: { synapse: { synchrotron: { cpMax: 5 } } } });
    expect(p.synapse.connectionsInRollout).toBe(689 - 29 * 7);
    expect([p.postgres.maxConnections, p.postgres.maxConnectionsSource]).toEqual([600, "seed"]);
    expect(p.postgres.parameters.max_connections).toBe("600");
    // Without the override it is raised (689 ≥ 510): the next step of 50 whose 85% exceeds 689 is 850.
    expect([planFor(20_000).postgres.maxConnections, planFor(20_000).postgres.maxConnectionsSource]).toEqual([850, "raised for the connection budget"]);
  });
});

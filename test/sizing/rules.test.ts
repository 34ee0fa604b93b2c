/**
 * The sizing rules beyond the seed's tables, each against numbers worked out by hand from the
 * seed, the README/docs and the published formulas they cite (EKS reservation, MinIO erasure
 * sets and default parity, AWS list prices in sizing/inventory.ts's header), never from the plan.
 */
import { describe, expect, it } from "vitest";
import { checkTransition, parseSettings, plan, PlanError, SettingsError, storageState } from "../../sizing";
import { chooseTier } from "../../sizing/index";
import { defaultParity, erasureSetDrives, keepsWriteQuorum, planMinio, setDrivesLost, usableGB } from "../../sizing/objectstore";
import { nodesInOneZone, nodesNeeded, pack } from "../../sizing/packing";
import { cheapestApplicationNodes } from "../../sizing/pools";
import { maxConnectionsFor, planPostgres } from "../../sizing/postgres";
import { ceilTo, floorTo } from "../../sizing/resources";
import { monitoringResources } from "../../sizing/monitoring";
import { addMonths, pgMemoryGiB } from "../../sizing/units";
import { instanceType } from "../../sizing/inventory";
import { PRICES } from "../../sizing/prices";
import { MEASURED_CAPACITY } from "../../sizing/measured";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Plan, Resources } from "../../sizing/types";
import { TIERS } from "../fixtures/seed";
import { onTarget, planFor, planForTier, row, SERVER_NAME, TEST_BACKUP_STORE, TEST_NODE_CIDRS, thrownBy } from "../helpers";
import { HPA_CONTROLLER } from "../fixtures/kubernetes";
import { allocatableOf } from "./pool-model";

/**
 * CPU and memory of a Resources value. (guaranteed() copies every field of what it is given, so a
 * size passed with its replica count carries a stray `replicas` in requests and limits: reported
 * in docs/mutation.md; the Kubernetes manifests read only vcpu and memoryGiB.)
 */
const sized = (r: Resources) => ({
  requests: { vcpu: r.requests.vcpu, memoryGiB: r.requests.memoryGiB },
  limits: { vcpu: r.limits.vcpu, memoryGiB: r.limits.memoryGiB },
});

const refusal = (f: () => unknown): PlanError => thrownBy(PlanError, f);

describe("tier choice and the seed 8.2 warnings", () => {
  it("the smallest tier that serves ccu, at each boundary", () => {
    const cases: [number, string][] = [[1, "100"], [100, "100"], [101, "1k"], [1000, "1k"], [1001, "5k"], [5000, "5k"], [5001, "10k"], [10_000, "10k"], [10_001, "20k"], [20_000, "20k"]];
    for (const [ccu, tier] of cases) {
      expect(chooseTier(ccu), String(ccu)).toBe(tier);
      expect(planFor(ccu).tier).toBe(tier);
    }
    const e = refusal(() => chooseTier(20_001));
    expect(e.key).toBe("ccu");
    expect(e.message).toMatch(/20001 users is above the largest tier \(20000\).*split the users over several deployments/);
  });

  it("a refusal carries its rule, key and fix", () => {
    const e = refusal(() => planFor(100, { overrides: { coturn: { instances: 1 } } }));
    expect([e.name, e.rule, e.key, e.fix]).toEqual(["PlanError", "HA minimum", "overrides.coturn.instances", "set instances to 2 or more"]);
  });

  it("an explicit tier above ccu is honoured", () => {
    expect(planFor(100, { tier: "5k" }).tier).toBe("5k");
    expect(planFor(100, { tier: "5k" }).tierCcu).toBe(5000);
  });

  it.each([
    [70, []],
    [71, ["ccu 71 is 71% of the 100 tier: plan the move to 1k (above 70%)"]],
    [90, ["ccu 90 is 90% of the 100 tier: plan the move to 1k (above 70%)"]],
    [91, ["ccu 91 is 91% of the 100 tier: move to 1k now (above 90%)"]],
    [4600, ["ccu 4600 is 92% of the 5k tier: move to 10k now (above 90%)"]],
    [14_000, []],
    [15_000, ["ccu 15000 is 75% of the largest tier: plan a second deployment"]],
    [19_000, ["ccu 19000 is 95% of the largest tier: plan a second deployment"]],
  ])("ccu %i warns %j", (ccu, expected) => {
    expect(planFor(ccu).warnings).toEqual(expected);
  });

  it("20k with an 18-month horizon: MinIO covers 14.4 months of growth: the warning gives the numbers, the date and the fix", () => {
    // 3 pools × 24 drives × 1000 GB × 8/12 = 48,000 GB usable; 20,000 users × 10% × 20 GB = 40,000 GB/year.
    // 48,000 / (40,000 / 12) = 14.4 months; 14.4 × 30.4375 = 438.3 days after 2026-01-01 = 2027-03-15.
    const overrides = { minio: { growthHorizonMonths: 18 } };
    const p = plan(parseSettings({ ccu: 20_000, serverName: SERVER_NAME, overrides, kubernetes: { backupStore: TEST_BACKUP_STORE, nodeCidrs: TEST_NODE_CIDRS } }), { asOf: new Date("2026-01-01T00:00:00Z") });
    // 40,000 × 18/12 = 60,000 GB needed, 12,000 more than usable: one more 16,000 GB pool.
    expect(p.warnings).toEqual([
      "ccu 20000 is 100% of the largest tier: plan a second deployment",
      "media storage: 48000 GB usable covers 14.4 months of growth at 40000 GB/year (around 2027-03-15), less than the 18-month horizon: add MinIO pools (overrides.minio.pools = 4)",
    ]);
    expect(p.minio.runsOutOn).toBe("2027-03-15");
    expect(planForTier("20k", { overrides }).warnings[1]).toMatch(/14\.4 months of growth at 40000 GB\/year, less than/);
    expect(planForTier("20k", { overrides }).minio.runsOutOn).toBeUndefined();
    // Four pools cover 19.2 months: no warning at 18.
    expect(planForTier("20k", { overrides: { minio: { pools: 4, growthHorizonMonths: 18 } } }).warnings).toEqual(["ccu 20000 is 100% of the largest tier: plan a second deployment"]);
    // 7000 users (70%: no tier warning) grow 14,000 GB a year: 32,000 GB cover 27.4 months.
    expect(planFor(7000, { overrides: { minio: { growthHorizonMonths: 28 } } }).warnings).toEqual([
      "media storage: 32000 GB usable covers 27.4 months of growth at 14000 GB/year, less than the 28-month horizon: add MinIO pools (overrides.minio.pools = 3)",
    ]);
    expect(planFor(7000, { overrides: { minio: { growthHorizonMonths: 27 } } }).warnings).toEqual([]);
    expect(planFor(7000, { overrides: { minio: { growthHorizonMonths: 27 } } }).minio.horizonMonths).toBe(27);
  });

  it("the default node ranges (every private range, so every pod too) warn with the key and the fix; narrowed ones and aws do not", () => {
    const nodeWarning = (p: Plan) => p.warnings.filter((w) => w.startsWith("kubernetes.nodeCidrs"));
    expect(nodeWarning(plan(parseSettings({ ccu: 1000, serverName: SERVER_NAME, kubernetes: { backupStore: TEST_BACKUP_STORE } })))).toEqual([
      "kubernetes.nodeCidrs is left at every private range, which holds the pods' addresses too: LiveKit's Redis then accepts any pod, and the pods allowed to reach the API server may reach any pod on its ports; set it to the nodes' and the API server's ranges (kubectl get nodes -o wide)",
    ]);
    expect(nodeWarning(planFor(1000))).toEqual([]);
    expect(nodeWarning(planFor(1000, { target: "aws", aws: { region: "eu-west-1" } }))).toEqual([]);
  });

  it("backups kept in MinIO take their share first: at 5K, 15,821 GB of 16,000 leave 0.2 months of media; the warnings say so and give both fixes", () => {
    // PostgreSQL at 5K: 10 GB + 2,500 GB/year (5,000 × 0.5) at the 12-month horizon = 2,510 GB of data;
    // weekly base backups over a 30-day window keep ⌈30/7⌉ + 1 = 6 of them (15,060 GB) and the WAL from the
    // oldest on, 30 + 7 days at 3 GB per GB of growth (2,500 × 3 / 365 × 37 = 760.3 GB): 15,821 GB.
    const p = plan(parseSettings({ ccu: 5000, serverName: SERVER_NAME, kubernetes: { nodeCidrs: TEST_NODE_CIDRS } }));
    expect(p.postgres.backup.storageGB).toBe(15_821);
    expect([p.minio.usableGB, p.minio.databaseBackupsGB]).toEqual([16_000, 15_821]);
    // (16,000 − 15,821) / (10,000 / 12) = 0.21 months; 15,821 + 10,000 = 25,821 GB needed: one more pool.
    expect(p.minio.monthsCovered).toBe(0.2);
    expect(p.warnings).toEqual([
      "ccu 5000 is 100% of the 5k tier: move to 10k now (above 90%)",
      "media storage: 16000 GB usable less 15821 GB of database backups covers 0.2 months of growth at 10000 GB/year, less than the 12-month horizon: add MinIO pools (overrides.minio.pools = 2)",
      "database backups go to the in-cluster MinIO with the media (one failure domain): set kubernetes.backupStore to an S3-compatible store of yours",
    ]);
    // With the store set, MinIO holds media only (the seed's sizing) and the store is the operator's.
    const elsewhere = planFor(5000);
    expect([elsewhere.minio.databaseBackupsGB, elsewhere.minio.monthsCovered]).toEqual([0, 19.2]);
  });

  it("on AWS with a bucket the backups are in the bill at S3 Standard's price", () => {
    const p = plan(parseSettings({ ccu: 20_000, serverName: SERVER_NAME, ...onTarget("aws") }));
    // 20K: 10,010 GB of data × 6 base backups + 10,000 × 3 / 365 × 37 GB of WAL = 63,102 GB; × $0.023 = $1,451.35.
    expect(p.bill.lines.find((l) => l.item === "database backups (S3 Standard)")).toEqual({ item: "database backups (S3 Standard)", quantity: 1, unit: "63102 GB at the growth horizon", monthlyUsd: 1451.35 });
    expect(p.minio.databaseBackupsGB).toBe(0);
  });
});

describe("PostgreSQL", () => {
  // Seed 2.3: 10 GB + 500 MB per user per year; 12 months, rounded up to 100 GB; never below the table.
  const EXPECTED: Record<string, { storageGB: number; growth: number; months: number; standbys: number; cpu: number; mem: number }> = {
    // Pod: the node model's allocatable (sizing/node-model.ts sources: m7i.xlarge 3.92 vCPU / 13.83 GiB,
    // 2xlarge 7.91 / 28.63, 4xlarge 15.89 / 56.34, 8xlarge 31.85 / 115.54) less the DaemonSets (0.38 / 0.271)
    // the margin (0.1 / 0.25) and the Barman Cloud sidecar in the same pod (1 / 1).
    "100": { storageGB: 500, growth: 50, months: 117.6, standbys: 1, cpu: 2.4, mem: 12.25 },
    "1k": { storageGB: 1000, growth: 500, months: 23.8, standbys: 1, cpu: 6.4, mem: 27 },
    "5k": { storageGB: 2600, growth: 2500, months: 12.4, standbys: 1, cpu: 14.4, mem: 54.75 },
    "10k": { storageGB: 5100, growth: 5000, months: 12.2, standbys: 1, cpu: 30.3, mem: 114 },
    "20k": { storageGB: 10_100, growth: 10_000, months: 12.1, standbys: 2, cpu: 30.3, mem: 114 },
  };

  it.each(TIERS)("tier %s: volume, growth, months covered, synchronous standbys, pod size", (tier) => {
    const pg = planForTier(tier).postgres;
    const e = EXPECTED[tier]!;
    expect([pg.storageGB, pg.growthGBPerYear, pg.monthsCovered, pg.synchronousStandbys]).toEqual([e.storageGB, e.growth, e.months, e.standbys]);
    // Node allocatable less DaemonSets, margin and sidecar, floored to 0.1 vCPU and 0.25 GiB; requests = limits.
    expect(pg.resources).toEqual({ requests: { vcpu: e.cpu, memoryGiB: e.mem }, limits: { vcpu: e.cpu, memoryGiB: e.mem } });
    expect(pg.pool).toBe("database");
    expect(row(planForTier(tier), "database").storageGB).toBe(e.storageGB);
  });

  it("max_connections affordable by memory: (12.25 GiB − 4 GiB shared_buffers) / 20 MB work_mem = 422 at 100", () => {
    expect(planFor(100, { overrides: { postgres: { maxConnections: 422 } } }).postgres.maxConnections).toBe(422);
    const e = refusal(() => planFor(100, { overrides: { postgres: { maxConnections: 423 } } }));
    expect(e.message).toMatch(/max_connections 423 \(for 151 Synapse connections at maximum autoscale during a rollout\) exceeds the 422 connections a 12\.25 GiB pod affords with shared_buffers 4 GiB and work_mem 20MB each/);
    expect(e.key).toBe("overrides.postgres.maxConnections");
  });

  it("the pod must hold shared_buffers (≤ 40%) and effective_cache_size", () => {
    // Tier 100: shared_buffers 4 GB, effective_cache_size 12 GB; the backup sidecar takes 1 GiB of the node.
    expect(planPostgres("100", 119, { instanceType: "m7i.xlarge", allocatable: { vcpu: 4, memoryGiB: 13 } }, {}).resources.limits.memoryGiB).toBe(12);
    const e = refusal(() => planPostgres("100", 119, { instanceType: "m7i.xlarge", allocatable: { vcpu: 4, memoryGiB: 12.9 } }, {}));
    expect(e.message).toMatch(/shared_buffers 4 GiB \(≤ 40%\) and effective_cache_size 12 GiB must fit the 11\.75 GiB pod/);
    expect(e.key).toBe("overrides.nodePools.database");
  });

  it("a raised max_connections that memory cannot afford names the fleet", () => {
    const e = refusal(() => planPostgres("100", 499, { instanceType: "m7i.xlarge", allocatable: { vcpu: 4, memoryGiB: 13.75 } }, {}));
    // 499 connections need 600 (0.85 × 550 = 467.5 ≤ 499 < 510), above the 499 affordable.
    expect(e.message).toMatch(/max_connections 600 \(for 499 Synapse connections/);
    expect(e.key).toBe("overrides.synapse");
    expect(maxConnectionsFor(499)).toBe(600);
    expect(maxConnectionsFor(509)).toBe(600);
    expect(maxConnectionsFor(510)).toBe(650);
    expect(maxConnectionsFor(0)).toBe(50);
  });

  it("volumes only grow: the stack's volume is kept, an override below it refused, below the growth rule refused", () => {
    const previous = storageState(planForTier("5k", { overrides: { postgres: { storageGB: 3000 } } }));
    const kept = plan(parseSettings({ ccu: 5000, serverName: SERVER_NAME }), { previous });
    expect(kept.postgres.storageGB).toBe(3000);
    expect(kept.postgres.monthsCovered).toBe(14.4); // (3000 − 10) / (2500 / 12) = 14.35
    const shrink = refusal(() => plan(parseSettings({ ccu: 5000, serverName: SERVER_NAME, overrides: { postgres: { storageGB: 2900 } } }), { previous }));
    expect(shrink.message).toMatch(/^volumes only grow: overrides\.postgres\.storageGB = 2900 GB but the database volume is 3000 GB; fix: set storageGB to 3000 or more/);
    const low = refusal(() => planForTier("5k", { overrides: { postgres: { storageGB: 2599 } } }));
    expect(low.message).toMatch(/2599 GB < 2600 GB \(max of the seed's 2000 GB and 10 GB \+ 2500 GB\/year × 12 months\)/);
    expect(planForTier("5k", { overrides: { postgres: { storageGB: 2600 } } }).postgres.storageGB).toBe(2600);
  });

  it("PostgreSQL memory values are binary units", () => {
    expect(pgMemoryGiB("4GB")).toBe(4);
    expect(pgMemoryGiB("16MB")).toBe(1 / 64);
    expect(pgMemoryGiB("512kB")).toBe(1 / 2048);
    expect(pgMemoryGiB("1TB")).toBe(1024);
    expect(pgMemoryGiB(" 1.5GB ")).toBe(1.5);
    expect(() => pgMemoryGiB("4G")).toThrow(/not a PostgreSQL memory value: 4G/);
    expect(() => pgMemoryGiB("x4GB")).toThrow();
  });
});

describe("MinIO", () => {
  it("erasure sets: the largest size from 16 down to 4 dividing the drives and spreading evenly over the servers", () => {
    const set = (servers: number, drivesPerServer: number) => erasureSetDrives({ servers, drivesPerServer, driveGB: 1 });
    expect(set(4, 4)).toBe(16);
    expect(set(5, 4)).toBe(10);
    expect(set(6, 4)).toBe(12);
    expect(set(7, 4)).toBe(14);
    expect(set(8, 4)).toBe(16);
    expect(set(3, 4)).toBe(12);
    expect(set(1, 4)).toBe(4);
    expect(set(16, 1)).toBe(16);
    expect(set(32, 1)).toBe(16);
    expect(() => set(1, 2)).toThrow(/1 servers × 2 drives cannot form an erasure set of 4 to 16 drives/);
    expect(() => set(1, 3)).toThrow(PlanError);
  });

  it("MinIO's default parity by set size (2–3: EC:1, 4–5: EC:2, 6–7: EC:3, 8–16: EC:4)", () => {
    expect([2, 3, 4, 5, 6, 7, 8, 12, 16].map(defaultParity)).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 4]);
  });

  it("usable = raw × (set − parity) / set", () => {
    expect(usableGB({ servers: 4, drivesPerServer: 4, driveGB: 1000 }, 4)).toBe(12_000);
    expect(usableGB({ servers: 5, drivesPerServer: 4, driveGB: 100 }, 4)).toBe(1200);
  });

  const EXPECTED: Record<string, [raw: number, usable: number, growth: number, months: number, driveGB: number, cpu: number, mem: number]> = {
    // Pools of 6 servers × 4 drives: two 12-drive sets, 8 of 12 drives hold data at EC:4.
    // Server pod: c7i.xlarge 3.92 / 6.43, 2xlarge 7.91 / 13.83, 4xlarge 15.89 / 26.74 (node model) less the
    // DaemonSets and the margin, 0.48 / 0.521, floored to 0.1 vCPU and 0.25 GiB.
    "100": [6000, 4000, 200, 240, 250, 3.4, 5.75],
    "1k": [12_000, 8000, 2000, 48, 500, 7.4, 13.25],
    "5k": [24_000, 16_000, 10_000, 19.2, 1000, 15.4, 26],
    "10k": [48_000, 32_000, 20_000, 19.2, 1000, 15.4, 26],
    "20k": [72_000, 48_000, 40_000, 14.4, 1000, 15.4, 26],
  };
  it.each(TIERS)("tier %s: raw, usable, growth (a tenth of the users × 20 GB a year), months covered, server size", (tier) => {
    const m = planForTier(tier).minio;
    const [raw, usable, growth, months, driveGB, cpu, mem] = EXPECTED[tier]!;
    expect([m.rawGB, m.usableGB, m.growthGBPerYear, m.monthsCovered, m.horizonMonths, m.driveFailuresTolerated]).toEqual([raw, usable, growth, months, 12, 4]);
    for (const pool of m.pools) expect(pool).toEqual({ servers: 6, drivesPerServer: 4, driveGB });
    expect(m.survivesZoneLoss).toBe(true);
    expect(m.resources.requests).toEqual({ vcpu: cpu, memoryGiB: mem });
    expect(m.setupJob).toEqual({ requests: { vcpu: 0.1, memoryGiB: 0.125 }, limits: { vcpu: 0.1, memoryGiB: 0.125 } });
    expect(m.pool).toBe("storage");
    // A storage node's disk is its four drives.
    expect(row(planForTier(tier), "storage").storageGB).toBe(4 * driveGB);
  });

  it("a previous deployment's pools are kept as they are and new pools appended; parity stays", () => {
    const old = { servers: 4, drivesPerServer: 4, driveGB: 500 };
    const m = planMinio("5k", 5000, { vcpu: 16, memoryGiB: 32 }, { minio: { pools: 2 } }, undefined, { pools: [old], parity: 4 });
    expect(m.pools).toEqual([old, { servers: 6, drivesPerServer: 4, driveGB: 1000 }]);
    expect(m.rawGB).toBe(8000 + 24_000);
    // 8,000 × 12/16 + 24,000 × 8/12.
    expect(m.usableGB).toBe(6000 + 16_000);
    // The kept 4-server pool puts 2 servers in one zone: 8 drives of its 16-drive set, above EC:4.
    expect(m.survivesZoneLoss).toBe(false);
    // More pools than requested are kept; fewer refused.
    expect(planMinio("100", 100, { vcpu: 4, memoryGiB: 8 }, {}, undefined, { pools: [old, old], parity: 4 }).pools).toHaveLength(2);
    const e = refusal(() => planMinio("100", 100, { vcpu: 4, memoryGiB: 8 }, { minio: { pools: 1 } }, undefined, { pools: [old, old], parity: 4 }));
    expect(e.message).toMatch(/overrides\.minio\.pools = 1 but the deployment has 2 pools; fix: set overrides\.minio\.pools = 2 or more/);
    // A kept parity the new pools cannot hold (EC:3 needs sets of 6 or more drives) is refused.
    const small = { servers: 1, drivesPerServer: 4, driveGB: 100 };
    const p = refusal(() => planMinio("100", 100, { vcpu: 4, memoryGiB: 8 }, {}, undefined, { pools: [small], parity: 3 }));
    expect(p.message).toMatch(/a pool of 1×4 drives cannot hold EC:3/);
    expect(planMinio("100", 100, { vcpu: 4, memoryGiB: 8 }, {}, undefined, { pools: [small], parity: 2 }).parity).toBe(2);
  });

  it("a zone's servers against the write quorum: 6 × 4 loses 2 servers, 4 drives of each 12-drive set (kept); 3 servers are 6 (lost); 4 × 4 keeps 1 server, not a zone's 2", () => {
    const six = { servers: 6, drivesPerServer: 4, driveGB: 1 };
    const four = { servers: 4, drivesPerServer: 4, driveGB: 1 };
    expect([nodesInOneZone(six.servers, 3), setDrivesLost(six, 2), keepsWriteQuorum(six, 4, 2), keepsWriteQuorum(six, 4, 3)]).toEqual([2, 4, true, false]);
    expect([nodesInOneZone(four.servers, 3), setDrivesLost(four, 1), keepsWriteQuorum(four, 4, 1), keepsWriteQuorum(four, 4, 2)]).toEqual([2, 4, true, false]);
    // EC:2 on a 4-drive set (parity half the set): writes need one drive more than the data drives.
    expect(keepsWriteQuorum({ servers: 4, drivesPerServer: 1, driveGB: 1 }, 2, 1)).toBe(true);
    expect(keepsWriteQuorum({ servers: 2, drivesPerServer: 2, driveGB: 1 }, 2, 1)).toBe(false);
  });

  it("a stack whose first pool predates zone alignment is warned, with what to do; the pools it appends are aligned", () => {
    const previous = { tier: "5k", ccu: 5000, minio: { pools: [{ servers: 4, drivesPerServer: 4, driveGB: 1000 }], parity: 4 }, postgres: { storageGB: 2600 } };
    const p = plan(parseSettings({ ccu: 10_000, serverName: SERVER_NAME }), { previous });
    expect(p.minio.pools.map((x) => x.servers)).toEqual([4, 6]);
    expect(p.minio.survivesZoneLoss).toBe(false);
    expect(p.warnings).toContain(
      "MinIO pool 1 (4 servers) puts 2 servers in one zone, more than EC:4 of each erasure set: media stops while that zone is out. A pool's layout is fixed; pools appended from now on are zone-aligned (6 servers)",
    );
    expect(planForTier("10k").warnings.some((w) => w.startsWith("MinIO pool"))).toBe(false);
  });

  it("storage node count follows the servers; the reason is given when it differs from the seed", () => {
    const p = planForTier("100", { overrides: { minio: { pools: 2 } } });
    expect(row(p, "storage").count).toBe(12);
    expect(row(p, "storage").countReason).toBe("one node per MinIO server; a pool has as many in every zone, so it survives one");
    expect(row(planForTier("10k", { overrides: { minio: { pools: 2 } } }), "storage").countReason).toBe("one node per MinIO server; a pool has as many in every zone, so it survives one");
    expect(row(planForTier("100"), "calls").countReason).toBe("one host per LiveKit and per coturn process");
    expect(row(planForTier("1k"), "calls").countReason).toBeUndefined();
    expect(row(planForTier("100"), "application").countReason).toBe("packed: the cheapest nodes its pods fit with one node lost (N-1), with a zone lost, and at maximum autoscale mid-rollout");
  });
});

describe("tier moves", () => {
  const base = () => storageState(planForTier("5k"));

  it("parity, drive count and drive size changes are refused; a larger drive is allowed", () => {
    const parity = { ...base(), minio: { ...base().minio, parity: 2 } };
    expect(() => checkTransition(base(), parity)).toThrow(/MinIO parity is fixed by the first pool: parity would change EC:4 → EC:2/);
    const drives = { ...base(), minio: { ...base().minio, pools: [{ servers: 6, drivesPerServer: 2, driveGB: 1000 }] } };
    expect(() => checkTransition(base(), drives)).toThrow(/pool 1 would change from 6×4×1000 GB to 6×2×1000 GB/);
    const servers = { ...base(), minio: { ...base().minio, pools: [{ servers: 5, drivesPerServer: 4, driveGB: 1000 }] } };
    expect(() => checkTransition(base(), servers)).toThrow(/MinIO pools are immutable/);
    const bigger = { ...base(), minio: { ...base().minio, pools: [{ servers: 6, drivesPerServer: 4, driveGB: 2000 }] } };
    expect(() => checkTransition(base(), bigger)).not.toThrow();
    const volume = { ...base(), postgres: { storageGB: 2500 } };
    expect(() => checkTransition(base(), volume)).toThrow(/moving 5k \(5000 users\) → 5k \(5000 users\) would shrink the database volume 2600 GB → 2500 GB/);
    expect(() => checkTransition(base(), { ...base(), postgres: { storageGB: 2600 } })).not.toThrow();
  });

  it("storageState records tier, ccu, pools, parity and the volume", () => {
    expect(storageState(planForTier("10k"))).toEqual({
      tier: "10k",
      ccu: 10_000,
      minio: { pools: [0, 1].map(() => ({ servers: 6, drivesPerServer: 4, driveGB: 1000 })), parity: 4 },
      postgres: { storageGB: 5100 },
    });
  });
});

describe("call hosts", () => {
  // Capped pod vCPU floored to whole cores × 125 participants (LiveKit) or 500 allocations (coturn, seed 11.3:
  // ~4,000 on 8 vCPU); ports: 4 per participant (LiveKit) or 1 per allocation, plus 25%.
  const EXPECTED: Record<string, { lk: [number, number, number, number]; turn: [number, number, number, number]; lkPod: [number, number]; turnPod: [number, number] }> = {
    // Pods: the node's allocatable less the DaemonSets and the margin (as MinIO's below), 3.4 / 7.4 / 15.4 vCPU.
    "100": { lk: [375, 50000, 51874, 2], turn: [1500, 40000, 41874, 2], lkPod: [3.4, 5.75], turnPod: [3.4, 4] },
    "1k": { lk: [875, 50000, 54374, 2], turn: [3500, 40000, 44374, 2], lkPod: [7.4, 13.25], turnPod: [7.4, 8] },
    "5k": { lk: [1875, 50000, 59374, 3], turn: [7500, 40000, 49374, 3], lkPod: [15.4, 26], turnPod: [15.4, 16] },
    "10k": { lk: [1875, 50000, 59374, 4], turn: [7500, 40000, 49374, 4], lkPod: [15.4, 26], turnPod: [15.4, 16] },
    "20k": { lk: [1875, 50000, 59374, 5], turn: [7500, 40000, 49374, 5], lkPod: [15.4, 26], turnPod: [15.4, 16] },
  };
  it.each(TIERS)("tier %s: capacity per host, port ranges, pod sizes", (tier) => {
    const p = planForTier(tier);
    const e = EXPECTED[tier]!;
    expect([p.livekit.capacityPerHost, p.livekit.ports.min, p.livekit.ports.max, p.livekit.instances]).toEqual(e.lk);
    expect([p.coturn.capacityPerHost, p.coturn.ports.min, p.coturn.ports.max, p.coturn.instances]).toEqual(e.turn);
    expect([p.livekit.resources.requests.vcpu, p.livekit.resources.requests.memoryGiB]).toEqual(e.lkPod);
    expect([p.coturn.resources.requests.vcpu, p.coturn.resources.requests.memoryGiB]).toEqual(e.turnPod);
    expect(p.coturn.quotaPerUser).toBe(12);
    expect(p.livekit).not.toHaveProperty("quotaPerUser");
    expect([p.livekit.pool, p.coturn.pool]).toEqual(["calls", "calls"]);
    expect({ ...p.livekit.jwtService, resources: sized(p.livekit.jwtService.resources) }).toEqual({ replicas: 2, resources: { requests: { vcpu: 0.1, memoryGiB: 0.125 }, limits: { vcpu: 0.1, memoryGiB: 0.125 } }, pool: "application" });
  });

  it("two coturn hosts at least", () => {
    const e = refusal(() => planFor(100, { overrides: { coturn: { instances: 1 } } }));
    expect(e.message).toBe("HA minimum: coturn instances 1 < 2; fix: set instances to 2 or more (matrix-scale:overrides.coturn.instances)");
    expect(planFor(100, { overrides: { coturn: { instances: 3 }, livekit: { instances: 4 } } }).coturn.instances).toBe(3);
  });
});

describe("Redis", () => {
  // maxmemory = 70% of the pod's memory (docs/sizing.md); volumes 3 × the largest tier's memory (24 and 12 GiB).
  const MAXMEMORY: Record<string, [number, number]> = { "100": [1433, 716], "1k": [2867, 1433], "5k": [5734, 2867], "10k": [11_468, 5734], "20k": [17_203, 8601] };
  it.each(TIERS)("tier %s: three data pods and three Sentinels (quorum 2), maxmemory, volume, sidecars", (tier) => {
    const { synapse, livekit } = planForTier(tier).redis;
    for (const r of [synapse, livekit]) {
      expect([r.instances, r.sentinels, r.quorum, r.downAfterMs, r.failoverTimeoutMs, r.pool]).toEqual([3, 3, 2, 5000, 30_000, "application"]);
      expect(r.sentinelResources).toEqual({ requests: { vcpu: 0.1, memoryGiB: 0.125 }, limits: { vcpu: 0.1, memoryGiB: 0.125 } });
      expect(r.exporterResources).toEqual({ requests: { vcpu: 0.05, memoryGiB: 0.0625 }, limits: { vcpu: 0.05, memoryGiB: 0.0625 } });
      expect(r.resources.limits).toEqual(r.resources.requests);
    }
    expect([synapse.maxmemoryMB, livekit.maxmemoryMB]).toEqual(MAXMEMORY[tier]);
    expect([synapse.storageGB, livekit.storageGB]).toEqual([72, 36]);
    // Synapse cannot speak Sentinel: a master-following proxy, for Synapse only.
    expect({ ...synapse.masterProxy, resources: sized(synapse.masterProxy!.resources) }).toEqual({ replicas: 2, resources: { requests: { vcpu: 0.1, memoryGiB: 0.125 }, limits: { vcpu: 0.1, memoryGiB: 0.125 } } });
    expect(livekit.masterProxy).toBeUndefined();
  });
});

describe("the Synapse fleet's duties and shape", () => {
  const W = (n: number) => `synapse-stream-writer-${n}`;
  const SINGLE_WRITERS: Record<string, string[]> = {
    // typing, to_device, account_data, presence, push_rules spread one per writer, in turn.
    "100": [W(0), W(1), W(0), W(1), W(0)],
    "10k": [W(0), W(1), W(2), W(0), W(1)],
    "20k": [W(0), W(1), W(2), W(3), W(0)],
  };
  it.each(["100", "10k", "20k"])("tier %s: stream writers, single-instance duties, listed instances", (tier) => {
    const s = planForTier(tier).synapse;
    const names = (base: string, n: number) => Array.from({ length: n }, (_, i) => `${base}-${i}`);
    const writers = s.workers.streamWriter.replicas;
    expect(s.streamWriters).toEqual({
      events: names("synapse-event-persister", s.workers.eventPersister.replicas),
      typing: [SINGLE_WRITERS[tier]![0]],
      to_device: [SINGLE_WRITERS[tier]![1]],
      account_data: [SINGLE_WRITERS[tier]![2]],
      presence: [SINGLE_WRITERS[tier]![3]],
      push_rules: [SINGLE_WRITERS[tier]![4]],
      receipts: names("synapse-stream-writer", writers),
      device_lists: names("synapse-stream-writer", writers),
      quarantined_media_changes: names("synapse-media-repository", s.workers.mediaRepository.replicas),
    });
    expect(s.singletons).toEqual({
      runBackgroundTasksOn: "synapse-background-worker-0",
      updateUserDirectoryFromWorker: "synapse-background-worker-0",
      notifyAppservicesFromWorker: "synapse-background-worker-0",
      mediaInstanceRunningBackgroundJobs: "synapse-media-repository-0",
    });
    expect(s.federationSenderInstances).toEqual(names("synapse-federation-sender", s.workers.federationSender.replicas));
    expect(s.pusherInstances).toEqual(names("synapse-pusher", s.workers.pusher.replicas));
    expect(s.federation).toBe(true);
  });

  it("kinds (seed 2.5: only synchrotrons and generic workers autoscale), names, pools, guaranteed resources", () => {
    const s = planForTier("5k").synapse;
    for (const w of Object.values(s.workers)) {
      const autoscaled = w.type === "synchrotron" || w.type === "generic";
      expect([w.kind, w.autoscaled], w.type).toEqual([autoscaled ? "Deployment" : "StatefulSet", autoscaled]);
      expect(w.instances, w.type).toEqual(autoscaled ? [] : Array.from({ length: w.replicas }, (_, i) => `${{ main: "synapse-main", eventPersister: "synapse-event-persister", federationSender: "synapse-federation-sender", mediaRepository: "synapse-media-repository", background: "synapse-background-worker", streamWriter: "synapse-stream-writer", pusher: "synapse-pusher" }[w.type as string]}-${i}`));
      expect(w.pool).toBe("application");
      expect(w.resources.limits).toEqual(w.resources.requests);
    }
  });

  describe("HPA CPU targets from measured capacity (deviation from seed 2.5's 70%)", () => {
    const TOLERANCE = HPA_CONTROLLER.tolerance;
    const firesAt = (w: { hpaTargetCpuUtilisation?: number; resources: Resources }) => (w.hpaTargetCpuUtilisation! / 100) * w.resources.requests.vcpu * (1 + TOLERANCE);
    it.each(["100", "1k", "5k", "10k", "20k"])("at %s a synchrotron and a generic worker scale up before one process reaches the CPU it used at the latency limit, and not at half of it", (tier) => {
      const s = planForTier(tier).synapse;
      for (const type of ["synchrotron", "generic"] as const) {
        const w = s.workers[type];
        const limit = Math.min(MEASURED_CAPACITY[type].cpuAtLatencyLimit, w.resources.requests.vcpu);
        expect(firesAt(w), `${tier} ${type}`).toBeLessThan(limit);
        expect(firesAt(w), `${tier} ${type}`).toBeGreaterThan(limit / 2);
      }
    });
    it("named workers carry no HPA target", () => {
      for (const w of Object.values(planForTier("20k").synapse.workers)) expect(w.hpaTargetCpuUtilisation === undefined, w.type).toBe(!w.autoscaled);
    });
  });

  it("without federation: senders not deployed, sized like the tier's and listed nowhere", () => {
    const s = planForTier("5k", { federation: false }).synapse;
    expect({ ...s.workers.federationSender, resources: sized(s.workers.federationSender.resources) }).toEqual({
      type: "federationSender",
      kind: "StatefulSet",
      replicas: 0,
      maxReplicas: 0,
      rolloutSurge: 0,
      autoscaled: false,
      resources: { requests: { vcpu: 1.5, memoryGiB: 2 }, limits: { vcpu: 1.5, memoryGiB: 2 } },
      cpMin: 5,
      cpMax: 5,
      instances: [],
      pool: "application",
      logLevel: "INFO",
      cacheFactor: 0.5,
      cacheMemory: { maxMiB: 1228, targetMiB: 921, minTtlMinutes: 5 },
    });
    expect(s.federation).toBe(false);
    expect(s.federationSenderInstances).toEqual([]);
  });

  it("rate limits and autoscaling behaviour from the seed (3.3 registration, 2.5 HPA; its 70% CPU target is replaced, see below)", () => {
    const s = planForTier("1k").synapse;
    expect(s.config.rcRegistration).toEqual({ perSecond: 0.1, burstCount: 3 });
    expect(s.autoscaling).toEqual({
      scaleUp: { stabilizationWindowSeconds: 60, pods: 2, periodSeconds: 60 },
      scaleDown: { stabilizationWindowSeconds: 300, pods: 1, periodSeconds: 120 },
    });
    expect(s.config.maxUploadMB).toBe(100);
    expect(planForTier("100").synapse.config.maxUploadMB).toBe(50);
  });

  it.each([
    // Seed 1.4: sync ⌈CCU/1250⌉, generic ⌈CCU/2500⌉, persisters ⌈CCU/10000⌉, senders ⌈CCU/5000⌉, each ≥ 2.
    ["synchrotron", 16, "ceil(20000 users / 1250)"],
    ["generic", 8, "ceil(20000 users / 2500)"],
    ["federationSender", 4, "ceil(20000 users / 5000)"],
  ])("20k: %s below its capacity rule (%i) is refused with the rule", (type, minimum, rule) => {
    const e = refusal(() => planFor(20_000, { overrides: { synapse: { [type]: { replicas: minimum - 1 } } } }));
    expect(e.message).toBe(
      `HA minimum: ${type} replicas ${minimum - 1} < ${minimum} = max(HA minimum 2, ${rule}); fix: set replicas to ${minimum} or more (matrix-scale:overrides.synapse.${type}.replicas)`,
    );
    expect(planFor(20_000, { overrides: { synapse: { [type]: { replicas: minimum } } } }).synapse.workers[type as "generic"].replicas).toBe(minimum);
  });

  it.each(["mediaRepository", "streamWriter", "pusher", "eventPersister"])("%s: two at least, whatever the users", (type) => {
    const e = refusal(() => planFor(100, { overrides: { synapse: { [type]: { replicas: 1 } } } }));
    const rule = type === "eventPersister" ? "max(HA minimum 2, ceil(100 users / 10000))" : "HA minimum";
    expect(e.message).toBe(`HA minimum: ${type} replicas 1 < 2 = ${rule}; fix: set replicas to 2 or more (matrix-scale:overrides.synapse.${type}.replicas)`);
  });

  it("single-instance types: main and the background worker", () => {
    const e = refusal(() => planFor(100, { overrides: { synapse: { background: { replicas: 2 } } } }));
    expect(e.message).toBe("single-instance process: background runs exactly one process, got 2; fix: remove the replicas override (matrix-scale:overrides.synapse.background.replicas)");
    expect(planFor(100, { overrides: { synapse: { main: { replicas: 1 } } } }).synapse.workers.main.replicas).toBe(1);
  });

  it("named types refuse maxReplicas even when it equals replicas", () => {
    const e = refusal(() => planFor(100, { overrides: { synapse: { pusher: { maxReplicas: 2 } } } }));
    expect(e.message).toMatch(/^named workers do not autoscale: pusher \(maxReplicas 2, replicas 2\)/);
    expect(planFor(100, { overrides: { synapse: { generic: { replicas: 3, maxReplicas: 3 } } } }).synapse.workers.generic.maxReplicas).toBe(3);
  });

  it("a cp_max override below cp_min lowers cp_min with it", () => {
    const w = planFor(100, { overrides: { synapse: { pusher: { cpMax: 3 } } } }).synapse.workers.pusher;
    expect([w.cpMin, w.cpMax]).toEqual([3, 3]);
  });
});

describe("servers and cost", () => {
  // AWS list prices (sizing/prices.ts, us-east-1), 730 hours; gp3 $0.08 per GB-month plus $0.005 per IOPS
  // and $0.04 per MiB/s above 3,000 and 125; st1 $0.045. Tier 100 on kubernetes (control plane listed).
  // Root disks: 40 GB, plus every Synapse pod's scratch on one node for the application pool (22 pods at
  // maximum autoscale mid-rollout × 1 GiB /tmp + 2 media pods × 20.5 GiB = 63 GiB = 67.6 GB), over 0.9,
  // rounded up to 10 GB: 120 GB; 50 GB elsewhere.
  const ROWS_100: [role: string, count: number, type: string, monthly: number, taints: boolean][] = [
    ["controlPlane", 3, "c7i.xlarge", 3 * (0.1785 * 730 + 50 * 0.08), false],
    ["application", 6, "c7i.2xlarge", 6 * (0.357 * 730 + 70 * 0.08), false],
    ["database", 3, "m7i.xlarge", 3 * (0.2016 * 730 + 50 * 0.08), true],
    ["storage", 6, "c7i.xlarge", 6 * (0.1785 * 730 + 50 * 0.08), true],
    ["calls", 4, "c7i.xlarge", 4 * (0.1785 * 730 + 50 * 0.08), true],
    ["monitoring", 1, "m7i.xlarge", 0.2016 * 730 + 50 * 0.08, false],
  ];
  // Volumes: PostgreSQL 3 × (500 GB, 3,000 IOPS, 125 MiB/s: the rule's 188 MiB/s is more than an m7i.xlarge
  // sustains to EBS, 149 MiB/s less the root disk's 125, so the gp3 baseline); MinIO 24 × 250 GB st1;
  // Redis 6 × 54 GB; Prometheus 500 GB and Loki 400 GB.
  const VOLUMES_100 = 3 * (500 * 0.08) + 24 * 250 * 0.045 + 6 * 54 * 0.08 + 900 * 0.08;

  it("tier 100: instance types, root disks, monthly cost per row, labels and taints, totals, the whole bill", () => {
    const p = planForTier("100");
    expect(p.inventory.map((r) => r.role)).toEqual(ROWS_100.map((r) => r[0]));
    for (const [role, count, type, monthly, tainted] of ROWS_100) {
      const r = row(p, role);
      expect([r.count, r.instanceType], role).toEqual([count, type]);
      expect(Math.abs(r.monthlyUsd - monthly), role).toBeLessThanOrEqual(0.005 + 1e-9);
      expect(r.labels).toEqual({ "matrix-scale/pool": role });
      expect(r.taints).toEqual(tainted ? [{ key: "matrix-scale/pool", value: role, effect: "NoSchedule" }] : []);
      expect(r.volumeType).toBe(role === "storage" ? "st1" : "gp3");
    }
    // Root disk: 20 Synapse pods at maximum mid-rollout (main 1, synchrotrons and generic workers 3 + 2 each, 2 each of
    // persisters, senders, stream writers, pushers, 1 background) with a 0.5 GiB /tmp, and 2 media workers with
    // 1 GiB /tmp and a 1 GiB store: 14 GiB = 15.03 GB; (40 + 15.03) / 0.9 = 61.1, up to the 10 GB step.
    expect(row(p, "application").rootDiskGB).toBe(70);
    // 23 servers; 12+48+12+24+16+4 vCPU; 24+96+48+48+32+16 GiB; volumes per node: etcd 100, Redis 6 × 54 / 6 = 54,
    // PostgreSQL 500, MinIO 1000, none, Prometheus + Loki 900.
    expect([p.totals.servers, p.totals.vcpu, p.totals.memoryGiB, p.totals.storageGB]).toEqual([23, 116, 264, 3 * 100 + 6 * 54 + 3 * 500 + 6 * 1000 + 900]);
    const sum = ROWS_100.reduce((n, r) => n + r[3], 0) + VOLUMES_100;
    expect(Math.abs(p.totals.monthlyUsd - sum)).toBeLessThanOrEqual(0.1);
    expect(p.bill.monthlyUsd).toBe(p.totals.monthlyUsd);
    expect(p.bill.eksSupport).toBeUndefined();
  });

  it("on AWS: no control-plane servers; NAT gateways, load balancers, public IPv4 and the EKS fee at its support level", () => {
    const p = planForTier("100", { target: "aws" });
    expect(p.inventory.map((r) => r.role)).not.toContain("controlPlane");
    // 3 NAT gateways ($0.045/h), 2 NLBs ($0.0225/h), 3 + 2 × 3 + 4 call hosts = 13 addresses ($0.005/h),
    // EKS 1.36 in standard support ($0.10/h).
    const network = (3 * 0.045 + 2 * 0.0225 + 13 * 0.005 + 0.1) * 730;
    const sum = ROWS_100.slice(1).reduce((n, r) => n + r[3], 0) + VOLUMES_100 + network;
    expect(Math.abs(p.totals.monthlyUsd - sum)).toBeLessThanOrEqual(0.1);
    expect(p.totals.servers).toBe(20);
    expect(p.bill.eksSupport).toBe("standard");
    // An existing VPC: no NAT gateways of ours, and 3 addresses fewer.
    const byo = planForTier("100", { target: "aws", aws: { vpcId: "vpc-0abc", privateSubnetIds: ["subnet-01", "subnet-02", "subnet-03"], publicSubnetIds: ["subnet-04", "subnet-05", "subnet-06"] } });
    expect(Math.abs(p.bill.monthlyUsd - byo.bill.monthlyUsd - 3 * (0.045 + 0.005) * 730)).toBeLessThanOrEqual(0.02);
    // Kubernetes 1.34 leaves standard support on 2026-12-02 (sizing/eks-versions.ts): a plan made after it pays
    // six times the fee and warns. Older versions cannot run the database volume's VolumeAttributesClass.
    const late = plan(parseSettings({ ccu: 100, serverName: SERVER_NAME, target: "aws", aws: { kubernetesVersion: "1.34" } }), { asOf: new Date("2026-12-15T00:00:00Z") });
    const onTime = plan(parseSettings({ ccu: 100, serverName: SERVER_NAME, target: "aws", aws: { kubernetesVersion: "1.34" } }), { asOf: new Date("2026-12-01T00:00:00Z") });
    expect(Math.abs(late.bill.monthlyUsd - onTime.bill.monthlyUsd - 0.5 * 730)).toBeLessThanOrEqual(0.02);
    expect([late.bill.eksSupport, onTime.bill.eksSupport]).toEqual(["extended", "standard"]);
    expect(late.warnings.some((w) => /aws\.kubernetesVersion = "1\.34" is in EKS extended support/.test(w))).toBe(true);
    expect(onTime.warnings.some((w) => /kubernetesVersion/.test(w))).toBe(false);
    expect(() => planForTier("100", { target: "aws", aws: { kubernetesVersion: "1.33" } })).toThrow(/aws\.kubernetesVersion.*VolumeAttributesClass.*1\.34/);
  });

  it.each([
    ["1k", { database: "m7i.2xlarge", storage: "c7i.2xlarge", monitoring: "m7i.2xlarge" }],
    ["5k", { database: "m7i.4xlarge", storage: "c7i.4xlarge", monitoring: "m7i.2xlarge" }],
    ["20k", { database: "m7i.8xlarge", storage: "c7i.4xlarge", monitoring: "m7i.4xlarge" }],
  ])("tier %s: instance families by memory per vCPU (2 → c7i, 4 → m7i, 8 → r7i)", (tier, types) => {
    const p = planForTier(tier);
    for (const [role, type] of Object.entries(types)) expect(row(p, role).instanceType, role).toBe(type);
  });
});

describe("node pool overrides", () => {
  it("counts above what the pools need are honoured; below, refused naming the pool and the need", () => {
    const p = planFor(100, { overrides: { nodePools: { application: { count: 10 }, database: { count: 4 }, storage: { count: 7 }, calls: { count: 5 }, compliance: { count: 2 }, monitoring: { count: 2 } } } });
    expect(p.inventory.filter((r) => r.role !== "controlPlane").map((r) => [r.role, r.count])).toEqual([
      ["application", 10],
      ["database", 4],
      ["storage", 7],
      ["calls", 5],
      ["compliance", 2],
      ["monitoring", 2],
    ]);
    expect(row(p, "application").countReason).toBe("overrides.nodePools.application.count (6 would do)");
    expect(row(planFor(100), "application").countReason).toBe("packed: the cheapest nodes its pods fit with one node lost (N-1), with a zone lost, and at maximum autoscale mid-rollout");
    expect(refusal(() => planFor(100, { overrides: { nodePools: { storage: { count: 5 } } } })).message).toBe(
      "pool holds its workload: 5 storage nodes < 6 needed for 6 MinIO servers, one per node; fix: set count to 6 or more (matrix-scale:overrides.nodePools.storage.count)",
    );
    expect(refusal(() => planFor(100, { overrides: { nodePools: { calls: { count: 3 } } } })).message).toBe(
      "pool holds its workload: 3 calls nodes < 4 needed for 2 LiveKit + 2 coturn hosts; fix: set count to 4 or more (matrix-scale:overrides.nodePools.calls.count)",
    );
    expect(refusal(() => planFor(100, { overrides: { nodePools: { application: { count: 3 } } } })).message).toBe(
      "pool holds its workload: 3 application nodes < 6 needed for its pods with one node or a zone lost; fix: set count to 6 or more (matrix-scale:overrides.nodePools.application.count)",
    );
    expect(planFor(100, { overrides: { nodePools: { database: { count: 3 } } } }).inventory.find((r) => r.role === "database")!.count).toBe(3);
  });

  it("which pools survive a node loss: rescheduling, quorum, or not at all (single servers)", () => {
    const k8s = planForTier("100");
    const fits = Object.fromEntries(k8s.pools.map((u) => [u.role, [u.fitsNMinus1, u.pods]]));
    expect(fits).toEqual({
      controlPlane: [true, 0],
      // 16 Synapse + 2 HAProxy + (3 Redis + 3 Sentinels) × 2 + 2 master proxies + 2 JWT service + 2 CloudNativePG operators
      // + the Barman Cloud plugin + cert-manager's controller, webhook and CA injector = 40.
      application: [true, 40],
      database: [true, 3],
      storage: [true, 6],
      calls: [true, 4],
      // One monitoring server: Prometheus, Alertmanager, Loki, Grafana, the operator, kube-state-metrics.
      monitoring: [false, 6],
    });
    // Nothing runs on a compliance server: the seed's one is not provisioned unless asked for.
    expect(k8s.inventory.map((r) => r.role)).not.toContain("compliance");
    expect(planFor(100, { overrides: { nodePools: { compliance: { count: 1 } } } }).pools.find((u) => u.role === "compliance")).toMatchObject({ nodes: 1, pods: 0, fitsNMinus1: false });
  });
});

describe("instance types and prices", () => {
  it("family by memory per vCPU, size by vCPU; anything else has no instance type", () => {
    expect(instanceType(2, 4)).toBe("c7i.large");
    expect(instanceType(4, 16)).toBe("m7i.xlarge");
    expect(instanceType(8, 64)).toBe("r7i.2xlarge");
    expect(instanceType(48, 192)).toBe("m7i.12xlarge");
    expect(instanceType(64, 512)).toBe("r7i.16xlarge");
    expect(instanceType(64, 128)).toBe("c7i.16xlarge");
    expect(() => instanceType(4, 12)).toThrow("no instance type for 4 vCPU / 12 GiB");
    expect(() => instanceType(6, 12)).toThrow("no instance type for 6 vCPU / 12 GiB");
  });

  it("the prices are dated as docs/sizing.md says", () => {
    expect(readFileSync(join(__dirname, "..", "..", "docs", "sizing.md"), "utf8")).toContain(`read ${PRICES.asOf}`);
    expect(PRICES.asOf).toBe("2026-11-30");
  });

  it("a storage node's disk is the average of its pool's drives when pools differ", () => {
    // A kept pool of 4 × 4 × 500 GB and a new 5k pool of 6 × 4 × 1000 GB: (8000 + 24000) GB / 10 servers.
    const previous = { tier: "1k", ccu: 1000, minio: { pools: [{ servers: 4, drivesPerServer: 4, driveGB: 500 }], parity: 4 }, postgres: { storageGB: 1000 } };
    const p = plan(parseSettings({ ccu: 5000, serverName: SERVER_NAME, overrides: { minio: { pools: 2 } } }), { previous });
    expect(row(p, "storage").storageGB).toBe(3200);
    expect(row(p, "storage").count).toBe(10);
  });
});

describe("monitoring", () => {
  it("a monitoring node that would leave Prometheus or Loki less than their least is refused, naming the node, the process and the fix", () => {
    // An m7i.large's allocatable (2 vCPU, about 7 GiB): Grafana's core alone takes half of it.
    const error = thrownBy(PlanError, () => monitoringResources({ vcpu: 1.9, memoryGiB: 6.5 }));
    expect(error.message).toMatch(/^monitoring node too small: the monitoring node \(1\.9 vCPU, 6\.5 GiB allocatable\) leaves prometheus .* below its least 1 vCPU and 4 GiB; fix: give this tier's monitoring server a larger instance type/);
    // The smallest seed monitoring node (tier 100) passes.
    expect(() => planForTier("100")).not.toThrow();
  });

  // docs/operations.md: volumes for the largest tier (500 GB Prometheus, 400 GB Loki), retention 85% of half
  // the tier's monitoring disk; thresholds from seed 8.2 and 11.4 and the operations page.
  const EXPECTED: Record<string, [retention: number, plan: number, urgent: number, db: number]> = {
    "100": [85, 70, 90, 140],
    "1k": [127, 700, 900, 210],
    "5k": [212, 3500, 4500, 280],
    "10k": [425, 7000, 9000, 385],
    "20k": [425, 14_000, 18_000, 595],
  };
  it.each(TIERS)("tier %s", (tier) => {
    const m = planForTier(tier).monitoring;
    const [retention, planAt, urgent, db] = EXPECTED[tier]!;
    const { resources, ...rest } = m;
    expect(rest).toEqual({
      // docs/operations.md: the certificate Jobs at 10m and 20 MiB, on the application pool.
      admissionWebhookJob: { resources: { requests: { vcpu: 0.01, memoryGiB: 20 / 1024 }, limits: { vcpu: 0.1, memoryGiB: 64 / 1024 } }, pool: "application" },
      prometheusStorageGB: 500,
      prometheusRetentionGB: retention,
      lokiStorageGB: 400,
      pool: "monitoring",
      thresholds: {
        ccuPlanUpgrade: planAt,
        ccuUrgent: urgent,
        cpuSustained: 0.75,
        memorySustained: 0.85,
        dbConnections: db,
        eventSendP99Seconds: 0.5,
        callFailureWarn: 0.02,
        callFailureCritical: 0.05,
        minioRunwayMonths: 2,
        replicationLagSeconds: 30,
        remoteMediaSweepStaleSeconds: 51 * 3600,
        // Twice Kubernetes' 300 s eviction from a NotReady node (docs/operations.md).
        podOnLostNodeSeconds: 600,
        // 15 minutes of failed sends (docs/operations.md).
        logShippingFailingSeconds: 900,
      },
      // The OpenTelemetry Collector chart's memory_limiter: 5 s, 80% of the limit, 25% spike; the collector's default queue of 1,000 requests of the reader's 100 lines.
      logAgent: { memoryLimiter: { checkIntervalSeconds: 5, limitPercent: 80, spikeLimitPercent: 25 }, queueLines: 100_000 },
    });
    // The small processes at what their projects publish (requests): Grafana's installation page (1 core,
    // 512 MB), the charts' commented suggestions (operator 100m/100Mi, kube-state-metrics 10m/32Mi,
    // Alertmanager 400Mi, node exporter 100m/30Mi, the k8s-sidecar 50m/50Mi), the operator's
    // config-reloader default (10m/50Mi).
    const mi = (n: number) => n / 1024;
    expect(requestsOf(resources.grafana)).toEqual([1, 0.5]);
    expect(requestsOf(resources.sidecar)).toEqual([0.05, mi(50)]);
    expect(requestsOf(resources.prometheusOperator)).toEqual([0.1, mi(100)]);
    expect(requestsOf(resources.kubeStateMetrics)).toEqual([0.01, mi(32)]);
    expect(requestsOf(resources.alertmanager)[1]).toBe(mi(400));
    expect(requestsOf(resources.nodeExporter)).toEqual([0.1, mi(30)]);
    expect(requestsOf(resources.configReloader)).toEqual([0.01, mi(50)]);
    expect(requestsOf(resources.logAgent)).toEqual([0.1, mi(128)]);
    // Prometheus (60%) and Loki (40%) share what the monitoring node leaves, floored to 0.1 vCPU and 0.25 GiB,
    // Guaranteed. By hand: the node's allocatable by pool-model.ts (m7i.xlarge 3.44 vCPU / 13.309 GiB,
    // m7i.2xlarge 7.43 / 28.109, m7i.4xlarge 15.41 / 55.818) less the other pods at their peak: Grafana
    // 1 + two sidecars 0.1, Loki's sidecar 0.05, Alertmanager 0.1, two reloaders 0.02, the operator and
    // kube-state-metrics twice while one rolls 0.22 = 1.49 vCPU; 512 + 100 + 50 + 400 + 100 + 200 + 64 =
    // 1,426 MiB. 5k: 5.94 vCPU and 26.716 GiB left: Prometheus 3.5 / 16, Loki 2.3 / 10.5.
    const SHARES: Record<string, [prometheus: [number, number], loki: [number, number]]> = {
      "100": [[1.1, 7], [0.7, 4.75]],
      "1k": [[3.5, 16], [2.3, 10.5]],
      "5k": [[3.5, 16], [2.3, 10.5]],
      "10k": [[8.3, 32.5], [5.5, 21.75]],
      "20k": [[8.3, 32.5], [5.5, 21.75]],
    };
    const node = row(planForTier(tier), "monitoring");
    expect(allocatableOf(node.vcpu, node.memoryGiB).vcpu).toBeCloseTo({ "100": 3.44, "1k": 7.43, "5k": 7.43, "10k": 15.41, "20k": 15.41 }[tier]!, 9);
    expect(requestsOf(resources.prometheus)).toEqual(SHARES[tier]![0]);
    expect(requestsOf(resources.loki)).toEqual(SHARES[tier]![1]);
    for (const r of [resources.prometheus, resources.loki]) expect(r.limits).toEqual(r.requests);
  });
});

const requestsOf = (r: { requests: { vcpu: number; memoryGiB: number } }) => [r.requests.vcpu, r.requests.memoryGiB] as const;

describe("routing slice of the plan", () => {
  it.each([
    ["100", 2, 0.25],
    ["1k", 2, 0.5],
    ["5k", 3, 1],
    ["10k", 3, 1],
    ["20k", 4, 2],
  ])("tier %s: HAProxy replicas and size from the README's table", (tier, replicas, size) => {
    const r = planForTier(tier).routing;
    expect({ ...r.haproxy, resources: sized(r.haproxy.resources) }).toEqual({ replicas, resources: { requests: { vcpu: size, memoryGiB: size }, limits: { vcpu: size, memoryGiB: size } }, pool: "application" });
    expect(r.timeouts).toEqual({ connectSeconds: 5, clientSeconds: 180, serverSeconds: 180, initialSyncSeconds: 900, queueSeconds: 60 });
    expect([r.initialSyncsPerSynchrotron, r.healthCheckIntervalSeconds]).toEqual([2, 5]);
  });
});

describe("small helpers", () => {
  it("floorTo and ceilTo step to the grid, tolerating float error", () => {
    expect(floorTo(3.57, 0.1)).toBe(3.5);
    expect(floorTo(13.872, 0.25)).toBe(13.75);
    expect(floorTo(0.3, 0.1)).toBe(0.3);
    expect(floorTo(14, 0.25)).toBe(14);
    expect(ceilTo(754.1, 50)).toBe(800);
    expect(ceilTo(750, 50)).toBe(750);
    expect(ceilTo(0.1 + 0.2, 0.1)).toBeCloseTo(0.3, 9);
  });

  it("addMonths: 30.4375 days a month, whole days, ISO date", () => {
    expect(addMonths(new Date("2026-01-01T00:00:00Z"), 10.8)).toBe("2026-11-25");
    expect(addMonths(new Date("2026-01-01T00:00:00Z"), 1)).toBe("2026-01-31");
    expect(addMonths(new Date("2026-01-01T00:00:00Z"), 0)).toBe("2026-01-01");
  });

  it("packing: spread groups, the epsilon, and a pod no node can hold", () => {
    const node = { vcpu: 1, memoryGiB: 1 };
    expect(pack([{ owner: "a", vcpu: 0.1 + 0.2, memoryGiB: 0.5 }, { owner: "b", vcpu: 0.7, memoryGiB: 0.5 }], node, 1)).toHaveLength(1);
    expect(pack([{ owner: "a", vcpu: 0.5, memoryGiB: 0.5, spreadGroup: "g" }, { owner: "b", vcpu: 0.5, memoryGiB: 0.5, spreadGroup: "g" }], node, 1)).toBeNull();
    expect(pack([{ owner: "a", vcpu: 0.5, memoryGiB: 0.5, spreadGroup: "g" }, { owner: "b", vcpu: 0.5, memoryGiB: 0.5, spreadGroup: "g" }], node, 2)).toEqual([
      { vcpu: 0.5, memoryGiB: 0.5 },
      { vcpu: 0.5, memoryGiB: 0.5 },
    ]);
    // Spread members are placed first: in input order the two plain pods would share a node and leave
    // both members only the other one.
    const mixed = [
      { owner: "a", vcpu: 0.5, memoryGiB: 0.1 },
      { owner: "b", vcpu: 0.5, memoryGiB: 0.1 },
      { owner: "m1", vcpu: 0.5, memoryGiB: 0.1, spreadGroup: "g" },
      { owner: "m2", vcpu: 0.5, memoryGiB: 0.1, spreadGroup: "g" },
    ];
    expect(pack(mixed, node, 2)).not.toBeNull();
    expect(pack([{ owner: "a", vcpu: 1.5, memoryGiB: 0.1 }], node, 3)).toBeNull();
    expect(nodesNeeded([{ owner: "a", vcpu: 1.5, memoryGiB: 0.1 }], [], node, 1, 5)).toBeNull();
    // At least 2 nodes, whatever `atLeast` says; then the least with one lost.
    expect(nodesNeeded([{ owner: "a", vcpu: 0.5, memoryGiB: 0.5 }], [], node, 0)).toBe(2);
    expect(nodesNeeded([0, 1, 2].map((i) => ({ owner: `p${i}`, vcpu: 0.6, memoryGiB: 0.1 })), [], node, 2)).toBe(4);
    // The maximum-autoscale set must fit every node.
    expect(nodesNeeded([], [0, 1, 2, 3, 4].map((i) => ({ owner: `p${i}`, vcpu: 0.6, memoryGiB: 0.1 })), node, 2)).toBe(5);
    // 999 members of one spread group need 999 nodes with one lost: 1000, the largest count searched.
    const members = Array.from({ length: 999 }, (_, i) => ({ owner: `m${i}`, vcpu: 0.1, memoryGiB: 0.1, spreadGroup: "g" }));
    expect(nodesNeeded(members, [], node, 999)).toBe(1000);
    expect(nodesNeeded([...members, { owner: "m999", vcpu: 0.1, memoryGiB: 0.1, spreadGroup: "g" }], [], node, 999)).toBeNull();
    const e = refusal(() =>
      cheapestApplicationNodes([{ owner: "haproxy", vcpu: 0.25, memoryGiB: 0.25 }, { owner: "synapse/main", vcpu: 40, memoryGiB: 200 }, { owner: "x", vcpu: 50, memoryGiB: 1 }], [], 3, [{ instanceType: "c7i.2xlarge", vcpu: 8, memoryGiB: 16, monthlyUsd: 1, allocatable: { vcpu: 7.56, memoryGiB: 13.87 } }]),
    );
    expect(e.message).toMatch(/^pods fit their pool: a synapse\/main pod \(40 vCPU, 200 GiB\) fits no application node \(the largest, c7i\.2xlarge, has 7\.56 vCPU, 13\.87 GiB allocatable\)/);
    expect(e.key).toBe("overrides.nodePools.application");
    // Each essential pod fits a node alone, but two of them do not: after a loss one may find every node that full.
    const pair = refusal(() =>
      cheapestApplicationNodes([{ owner: "synapse/main", vcpu: 4, memoryGiB: 4, essential: true }, { owner: "synapse/eventPersister", vcpu: 4, memoryGiB: 4, essential: true }], [], 3, [{ instanceType: "c7i.2xlarge", vcpu: 8, memoryGiB: 16, monthlyUsd: 1, allocatable: { vcpu: 7.56, memoryGiB: 13.87 } }]),
    );
    expect(pair.message).toMatch(/^pods fit their pool: a synapse\/main pod \(4 vCPU, 4 GiB\) must fit beside another essential pod of its size after a loss, and no application node has room for both \(the largest, c7i\.2xlarge, has 7\.56 vCPU/);
    expect(pair.key).toBe("overrides.nodePools.application");
  });
});

describe("Synapse processes: caches from their memory, logs at the configured level", () => {
  it("the seed's factor (9.3) for main; other types in proportion to their memory, at least Synapse's default 0.5 (by hand)", () => {
    // 20k: main 16 GiB at 4.0; event persisters 6 GiB → 1.5; synchrotrons 4 GiB → 1.0; senders 3 GiB → 0.75;
    // stream writers 2 GiB → 0.5; pushers 1 GiB → 0.25, raised to 0.5.
    const big = planForTier("20k").synapse.workers;
    expect([big.main, big.eventPersister, big.synchrotron, big.federationSender, big.streamWriter, big.pusher].map((w) => w.cacheFactor)).toEqual([4, 1.5, 1, 0.75, 0.5, 0.5]);
    // 5k: main 12 GiB at 2.0; persisters 4 GiB → 0.666…, down to the 0.05 step: 0.65; synchrotrons 3 GiB → 0.5.
    const mid = planForTier("5k").synapse.workers;
    expect([mid.main, mid.eventPersister, mid.synchrotron].map((w) => w.cacheFactor)).toEqual([2, 0.65, 0.5]);
    // Autotuning: 60% of the limit, evicting to 45% (20k synchrotron: 4 GiB = 4,096 MiB → 2,457 and 1,843).
    expect(big.synchrotron.cacheMemory).toEqual({ maxMiB: 2457, targetMiB: 1843, minTtlMinutes: 5 });
    // 100: the seed's 0.5 everywhere (no type is raised above the seed's own factor).
    expect(new Set(Object.values(planForTier("100").synapse.workers).map((w) => w.cacheFactor))).toEqual(new Set([0.5]));
  });

  it("logLevel for every type, overrides.synapse.<type>.logLevel for one; anything else refused naming the key", () => {
    expect(new Set(Object.values(planFor(1000).synapse.workers).map((w) => w.logLevel))).toEqual(new Set(["INFO"]));
    const p = planFor(1000, { logLevel: "WARNING", overrides: { synapse: { pusher: { logLevel: "DEBUG" } } } });
    expect(p.synapse.workers.pusher.logLevel).toBe("DEBUG");
    expect(p.synapse.workers.main.logLevel).toBe("WARNING");
    expect(thrownBy(SettingsError, () => planFor(1000, { logLevel: "TRACE" })).message).toMatch(/logLevel.*expected one of DEBUG, INFO, WARNING, ERROR/);
    expect(thrownBy(SettingsError, () => planFor(1000, { overrides: { synapse: { main: { logLevel: "debug" } } } })).message).toMatch(/overrides\.synapse\.main\.logLevel/);
  });
});

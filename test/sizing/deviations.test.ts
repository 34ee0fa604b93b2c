/**
 * Where the seed contradicts itself, the plan follows a stated rule. Each test names one
 * contradiction, proves it exists in the seed's own numbers, and shows what the plan does.
 */
import { describe, expect, it } from "vitest";
import { allocatable } from "../../sizing/packing";
import {
  CALLS_11,
  CLAIMED_TOTAL_STORAGE,
  gb,
  MINIO,
  PG_INSTANCES,
  POOLS_9_2,
  QUICK_REFERENCE,
  SERVER_TABLES,
  TIER_USERS,
  TIERS,
  tuning,
  PG_TUNING,
  vcpu,
  WORKERS_9_1,
} from "../fixtures/seed";
import { planForTier, row } from "../helpers";

const ceilMin2 = (n: number) => Math.max(2, Math.ceil(n));

describe("deviation: worker formulas (seed 1.4) vs the worker table (9.1)", () => {
  // Seed 1.4: sync CEIL(CCU/1250), generic CEIL(CCU/2500), persisters CEIL(CCU/10000), senders CEIL(CCU/5000), each ≥ 2.
  const formula = (users: number) => [ceilMin2(users / 1250), ceilMin2(users / 2500), ceilMin2(users / 10000), ceilMin2(users / 5000)];
  const names = ["synchrotron", "generic", "eventPersister", "federationSender"] as const;

  it("the two disagree in eight cells, and the table is always at least the formula", () => {
    const differing: string[] = [];
    for (const tier of TIERS) {
      const f = formula(TIER_USERS[tier]!);
      WORKERS_9_1[tier]!.slice(0, 4).forEach((table, i) => {
        expect(table).toBeGreaterThanOrEqual(f[i]!);
        if (table !== f[i]) differing.push(`${tier}/${names[i]}`);
      });
    }
    expect(differing).toEqual([
      "1k/synchrotron",
      "5k/synchrotron",
      "5k/generic",
      "5k/federationSender",
      "10k/federationSender",
      "20k/synchrotron",
      "20k/eventPersister",
      "20k/federationSender",
    ]);
  });

  it("the plan runs the table's counts, and refuses overrides below the formula for the actual ccu", async () => {
    const { planFor } = await import("../helpers");
    expect(planForTier("1k").synapse.workers.synchrotron.replicas).toBe(4);
    expect(() => planFor(5000, { overrides: { synapse: { synchrotron: { replicas: 3 } } } })).toThrow(/ceil\(5000 users \/ 1250\).*overrides\.synapse\.synchrotron\.replicas/);
  });
});

describe("deviation: max_connections formula (seed 1.4) vs the tables (9.2)", () => {
  it("100 + CCU/100 is below every table value and below the seed's own connection totals", () => {
    for (const tier of TIERS) {
      const formula = Math.min(600, 100 + TIER_USERS[tier]! / 100);
      const [, , total, table] = POOLS_9_2[tier]!;
      expect(formula).toBeLessThan(table);
      if (tier !== "100") expect(total).toBeGreaterThan(formula * 0.85);
      expect(planForTier(tier).postgres.maxConnections).toBeGreaterThanOrEqual(table);
    }
  });
});

describe("deviation: connection budget counts every process at maximum autoscale (seed 9.2 counts four types at base)", () => {
  // Worked out by hand in connection-budget.test.ts (header): every process at maximum autoscale × cp_max.
  const AT_MAX_SCALE: Record<string, [connections: number, maxConnections: number]> = {
    "100": [119, 200],
    "1k": [192, 300],
    "5k": [277, 400],
    "10k": [385, 500],
    "20k": [641, 800],
  };

  it.each(TIERS)("tier %s: plan budget covers all processes; seed's total is smaller", (tier) => {
    const p = planForTier(tier);
    const [mainCpMax, workerCpMax, seedTotal] = POOLS_9_2[tier]!;
    // The seed's total is main + worker cp_max × its four worker types at base (9.1).
    const [sync, generic, persisters, senders] = WORKERS_9_1[tier]!;
    expect(seedTotal).toBe(mainCpMax + workerCpMax * (sync + generic + persisters + senders));
    const [atMax, maxConnections] = AT_MAX_SCALE[tier]!;
    expect(p.synapse.connectionsAtMaxScale).toBe(atMax);
    expect(p.postgres.maxConnections).toBe(maxConnections);
    expect(atMax).toBeGreaterThan(seedTotal);
    expect(atMax * 100).toBeLessThan(maxConnections * 85);
  });

  it("20k: the seed's 600 cannot hold the fleet at maximum autoscale, so max_connections is raised to the next step that does", () => {
    const p = planForTier("20k");
    expect([p.synapse.connectionsAtMaxScale, p.postgres.maxConnections]).toEqual([641, 800]);
    expect(p.synapse.connectionsAtMaxScale).toBeGreaterThanOrEqual(600 * 0.85);
    expect(p.postgres.maxConnections).toBeGreaterThan(600);
    expect(p.postgres.maxConnectionsSource).toBe("raised for the connection budget");
    expect(p.synapse.connectionsAtMaxScale).toBeGreaterThanOrEqual((p.postgres.maxConnections - 50) * 0.85);
    expect(tuning(PG_TUNING["20k"]!).max_connections).toBe("600");
  });
});

describe("deviation: LiveKit and coturn formulas (seed 1.4) vs the instance tables (11.2, 11.3)", () => {
  it("the formulas give the HA minimum at every tier; the tables grow to 5; the plan follows the tables", () => {
    for (const tier of TIERS) {
      const users = TIER_USERS[tier]!;
      expect(ceilMin2((users * 0.1) / 1000)).toBe(2);
      expect(ceilMin2((users * 0.15) / 2000)).toBe(2);
      const p = planForTier(tier);
      expect([p.livekit.instances, p.coturn.instances]).toEqual([CALLS_11[tier]!.livekit, CALLS_11[tier]!.coturn]);
    }
    expect(CALLS_11["20k"]!.livekit).toBe(5);
  });
});

describe("deviation: quick-reference totals (8.1) do not add up from the inventories", () => {
  it.each(TIERS)("tier %s: the seed's vCPU and RAM totals differ from its own rows; the plan computes totals from rows", (tier) => {
    const rows = SERVER_TABLES[tier]!;
    const sum = (f: (r: (typeof rows)[number]) => number) => rows.reduce((n, r) => n + f(r), 0);
    const servers = sum((r) => r[1]);
    const cpu = sum((r) => r[1] * vcpu(r[2]));
    const ram = sum((r) => r[1] * gb(r[3]));
    const storage = sum((r) => r[1] * gb(r[4]));
    const claimed = QUICK_REFERENCE[tier]!;
    expect(servers).toBe(claimed.servers);
    expect(cpu).not.toBe(claimed.vcpu);
    expect(ram).not.toBe(claimed.ramGB);
    expect(storage).not.toBe(gb(CLAIMED_TOTAL_STORAGE[tier]!));

    const p = planForTier(tier);
    const planRows = p.inventory;
    expect(p.totals.servers).toBe(planRows.reduce((n, r) => n + r.count, 0));
    expect(p.totals.vcpu).toBe(planRows.reduce((n, r) => n + r.count * r.vcpu, 0));
    expect(p.totals.memoryGiB).toBe(planRows.reduce((n, r) => n + r.count * r.memoryGiB, 0));
    expect(p.totals.storageGB).toBe(planRows.reduce((n, r) => n + r.count * r.storageGB, 0));
  });
});

describe("deviation: MinIO usable capacity (seed 3-7 and 10.3) vs erasure-set math", () => {
  it.each(TIERS)("tier %s: 4 servers × 4 drives form one 16-drive set with EC:4, so 12 of 16 drives hold data", (tier) => {
    const p = planForTier(tier);
    const seed = MINIO[tier]!;
    const raw = seed.nodes * gb(seed.hdd);
    expect(p.minio.rawGB).toBe(raw);
    expect(p.minio.erasureSetDrives).toBe(16);
    expect(p.minio.parity).toBe(4);
    expect(p.minio.usableGB).toBe((raw * 12) / 16);
    // The seed claims raw/4 in its tier sections and raw/2 in 10.3; neither is what MinIO provides.
    expect(p.minio.usableGB).not.toBe(gb(seed.usable));
    expect(p.minio.usableGB).not.toBe(raw / 2);
  });
});

describe("deviation: PostgreSQL volume (seed tables) vs the growth formula (2.3)", () => {
  it("10 GB + 500 MB per user-year outgrows the table's volume within a year at 5k, 10k and 20k; the plan sizes for 12 months", () => {
    const outgrown: string[] = [];
    for (const tier of TIERS) {
      const yearOne = 10 + TIER_USERS[tier]! * 0.5;
      const table = gb(PG_INSTANCES[tier]![1]);
      if (yearOne > table) outgrown.push(tier);
      const p = planForTier(tier);
      expect(p.postgres.storageGB).toBeGreaterThanOrEqual(Math.max(table, yearOne));
      expect(p.postgres.storageGB).toBeLessThan(Math.max(table, yearOne) + 100);
      expect(p.postgres.monthsCovered).toBeGreaterThanOrEqual(12);
    }
    expect(outgrown).toEqual(["5k", "10k", "20k"]);
  });
});

describe("deviation: call servers at 100 CCU", () => {
  it("the seed puts 2 LiveKit and 2 coturn on 2 call servers (4 vCPU, 8 GB) though they ask 8 vCPU, 12 GB; the plan gives each its own host", () => {
    const [, count, cpu, ram] = SERVER_TABLES["100"]!.find((r) => r[0] === "Call Servers")!;
    expect(count).toBe(2);
    expect(vcpu(cpu)).toBeLessThan(4 + 4);
    expect(gb(ram)).toBeLessThan(8 + 4);
    const p = planForTier("100");
    expect(row(p, "calls").count).toBe(p.livekit.instances + p.coturn.instances);
    expect(row(p, "calls").count).toBe(4);
    for (const tier of TIERS.slice(1)) expect(row(planForTier(tier), "calls").count).toBe(SERVER_TABLES[tier]!.find((r) => r[0] === "Call Servers")![1]);
  });
});

describe("deviation: application nodes at 100 CCU", () => {
  it("the seed's 3 nodes cannot hold the fleet, Redis and Sentinels with one node lost; the plan adds a fourth", () => {
    const p = planForTier("100");
    const app = row(p, "application");
    const usage = p.pools.find((u) => u.role === "application")!;
    const perNode = allocatable({ vcpu: app.vcpu, memoryGiB: app.memoryGiB });
    expect(usage.requested.vcpu).toBeGreaterThan(2 * perNode.vcpu);
    expect(app.count).toBe(4);
    expect(app.countReason).toMatch(/one node lost/);
  });
});

describe("deviation: one-per-node workloads request what the node leaves allocatable", () => {
  it("PostgreSQL's seed size equals the whole database node; its pod requests the node less kubelet and DaemonSet reservations", () => {
    for (const tier of TIERS) {
      const p = planForTier(tier);
      const node = row(p, "database");
      expect(p.postgres.resources.requests.vcpu).toBeLessThan(node.vcpu);
      expect(p.postgres.resources.requests.vcpu).toBeLessThanOrEqual(node.allocatable.vcpu);
      expect(p.postgres.resources.requests.memoryGiB).toBeLessThanOrEqual(node.allocatable.memoryGiB);
    }
  });
});

describe("deviation: tuning parameters the seed lists only once carry forward", () => {
  it("random_page_cost, effective_io_concurrency and wal_buffers (listed at 100) apply at every tier", () => {
    const first = tuning(PG_TUNING["100"]!);
    for (const tier of TIERS) {
      const p = planForTier(tier);
      for (const name of ["random_page_cost", "effective_io_concurrency", "wal_buffers"]) expect(p.postgres.parameters[name]).toBe(first[name]);
    }
    expect(tuning(PG_TUNING["1k"]!).random_page_cost).toBeUndefined();
  });
});

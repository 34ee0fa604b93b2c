/** Property tests over random ccu and overrides: monotonic sizing and every invariant, checked independently. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { runs } from "./runs";
import { checkTransition, parseSettings, plan, PlanError, SettingsError, type Plan } from "../../sizing";
import type { RawSettings } from "../../sizing/settings";
import { TIER_USERS } from "../fixtures/seed";
import { SERVER_NAME } from "../helpers";
import { modelFleet, modelMaxConnections, tierFor, withinBudget, type ModelFleet } from "./fleet-model";
import { allocatableOf, applicationPods, verdict } from "./pool-model";

const ccuArb = fc.integer({ min: 1, max: 20_000 });
const planOf = (ccu: number, extra: RawSettings = {}) => plan(parseSettings({ ccu, serverName: SERVER_NAME, ...extra }));

/**
 * Invariants re-derived here, not by calling the sizing code. The fleet and its connection budget
 * are recomputed from the settings by the documented rule (fleet-model.ts: seed tables, README
 * counts, ⌈1.5 × base⌉, per-type cp_max), never added up from the plan's own per-worker numbers.
 */
function assertInvariants(p: Plan, expected: { fleet: ModelFleet; maxConnections?: number }): void {
  const workers = Object.values(p.synapse.workers);
  const { fleet } = expected;
  for (const w of workers) expect([w.replicas, w.maxReplicas, w.cpMax], w.type).toEqual([fleet.workers[w.type].replicas, fleet.workers[w.type].maxReplicas, fleet.workers[w.type].cpMax]);
  expect(p.synapse.processes).toBe(fleet.processes);
  expect(p.synapse.processesAtMaxScale).toBe(fleet.processesAtMaxScale);
  expect(p.synapse.connections).toBe(fleet.connections);
  expect(p.synapse.connectionsAtMaxScale).toBe(fleet.connectionsAtMaxScale);
  expect(p.synapse.connectionsInRollout).toBe(fleet.connectionsInRollout);
  const maxConnections = expected.maxConnections ?? modelMaxConnections(p.tier, fleet.connectionsInRollout);
  expect(p.postgres.maxConnections).toBe(maxConnections);
  expect(withinBudget(fleet.connectionsInRollout, maxConnections)).toBe(true);

  for (const w of workers) {
    if (w.type === "main" || w.type === "background") expect(w.replicas, w.type).toBe(1);
    else if (!(w.type === "federationSender" && !p.synapse.federation)) expect(w.replicas, w.type).toBeGreaterThanOrEqual(2);
    expect(w.maxReplicas).toBeGreaterThanOrEqual(w.replicas);
    if (!w.autoscaled) {
      expect(w.maxReplicas).toBe(w.replicas);
      expect(w.instances).toHaveLength(w.replicas);
    }
    expect(w.cpMin).toBeLessThanOrEqual(w.cpMax);
  }
  expect(p.postgres.instances).toBeGreaterThanOrEqual(3);
  expect(p.postgres.synchronousStandbys).toBeGreaterThanOrEqual(1);
  for (const r of [p.redis.synapse, p.redis.livekit]) expect([r.instances, r.sentinels, r.quorum]).toEqual([3, 3, 2]);
  for (const pool of p.minio.pools) expect(pool.servers).toBeGreaterThanOrEqual(4);
  expect(p.livekit.instances).toBeGreaterThanOrEqual(2);
  expect(p.coturn.instances).toBeGreaterThanOrEqual(2);

  // Every stream with a writer names running instances; single-writer streams have exactly one.
  const named = new Set(workers.flatMap((w) => w.instances));
  for (const [stream, writers] of Object.entries(p.synapse.streamWriters)) {
    expect(writers!.length, stream).toBeGreaterThan(0);
    for (const name of writers!) expect(named.has(name), `${stream} → ${name}`).toBe(true);
    if (["typing", "to_device", "account_data", "presence", "push_rules"].includes(stream)) expect(writers).toHaveLength(1);
  }

  // N-1 for the application pool: necessary condition on sums, with one node lost.
  const app = p.pools.find((u) => u.role === "application")!;
  expect(app.requested.vcpu).toBeLessThanOrEqual((app.nodes - 1) * app.allocatable.vcpu + 1e-6);
  expect(app.requested.memoryGiB).toBeLessThanOrEqual((app.nodes - 1) * app.allocatable.memoryGiB + 1e-6);
  expect(app.requestedAtMaxScale.vcpu).toBeLessThanOrEqual(app.nodes * app.allocatable.vcpu + 1e-6);
  // Every pool with pods survives losing a node, but the seed's one monitoring server, whose pods fit it.
  for (const u of p.pools) if (u.pods > 0 && u.role !== "monitoring") expect(u.fitsNMinus1, u.role).toBe(true);
  const monitoring = p.pools.find((u) => u.role === "monitoring");
  if (monitoring) {
    expect(monitoring.requested.vcpu).toBeLessThanOrEqual(monitoring.nodes * monitoring.allocatable.vcpu + 1e-6);
    expect(monitoring.requested.memoryGiB).toBeLessThanOrEqual(monitoring.nodes * monitoring.allocatable.memoryGiB + 1e-6);
  }
  // ...and not only by the plan's word: our own packer (pool-model.ts) must not prove the opposite,
  // and agrees whenever it can decide.
  const appRow = p.inventory.find((r) => r.role === "application")!;
  const ours = verdict(applicationPods(p), allocatableOf(appRow.vcpu, appRow.memoryGiB), app.nodes);
  expect(ours, "N-1 recomputed for the application pool").not.toBe(false);
  if (ours !== undefined) expect(app.fitsNMinus1).toBe(ours);
  const pg = p.pools.find((u) => u.role === "database")!;
  expect(pg.fitsNMinus1).toBe(p.postgres.instances - 1 >= 1 + p.postgres.synchronousStandbys);
  // One-per-node pools hold one member per node.
  const nodes = (role: string) => p.inventory.find((r) => r.role === role)!.count;
  expect(nodes("database")).toBeGreaterThanOrEqual(p.postgres.instances);
  expect(nodes("storage")).toBeGreaterThanOrEqual(p.minio.pools.reduce((n, x) => n + x.servers, 0));
  expect(nodes("calls")).toBeGreaterThanOrEqual(p.livekit.instances + p.coturn.instances);

  expect(p.totals.servers).toBe(p.inventory.reduce((n, r) => n + r.count, 0));
  expect(p.totals.vcpu).toBe(p.inventory.reduce((n, r) => n + r.count * r.vcpu, 0));
}

describe("sizing over random ccu", () => {
  it("picks the smallest tier that serves ccu and holds every invariant", () => {
    fc.assert(
      fc.property(ccuArb, fc.boolean(), (ccu, federation) => {
        const p = planOf(ccu, { federation });
        expect(p.tierCcu).toBeGreaterThanOrEqual(ccu);
        const smaller = Object.values(TIER_USERS).filter((n) => n < p.tierCcu);
        expect(smaller.every((n) => n < ccu)).toBe(true);
        expect(p.tier).toBe(tierFor(ccu));
        assertInvariants(p, { fleet: modelFleet(tierFor(ccu), federation) });
      }),
      runs(400),
    );
  });

  it("warns above 70% and urges the next tier above 90% (seed 8.2)", () => {
    fc.assert(
      fc.property(ccuArb, (ccu) => {
        const p = planOf(ccu);
        const share = ccu / p.tierCcu;
        const text = p.warnings.join("\n");
        if (share > 0.9) expect(text).toMatch(/now|second deployment/);
        else if (share > 0.7) expect(text).toMatch(/plan the move|second deployment/);
        else expect(text).not.toMatch(/% of the/);
      }),
      runs(300),
    );
  });

  // Not the server count: 100 users pack on 6 × c7i.2xlarge, 1,000 on 5 × c7i.4xlarge.
  it("is monotonic: more users never get fewer CPUs, memory, dollars, processes, connections or storage", () => {
    fc.assert(
      fc.property(ccuArb, ccuArb, (x, y) => {
        const [a, b] = [planOf(Math.min(x, y)), planOf(Math.max(x, y))];
        const keys: ((p: Plan) => number)[] = [
          (p) => p.totals.vcpu,
          (p) => p.totals.memoryGiB,
          (p) => p.totals.storageGB,
          (p) => p.totals.monthlyUsd,
          (p) => p.synapse.processes,
          (p) => p.synapse.connectionsAtMaxScale,
          (p) => p.postgres.maxConnections,
          (p) => p.postgres.storageGB,
          (p) => p.minio.usableGB,
          (p) => p.livekit.instances + p.coturn.instances,
        ];
        for (const key of keys) expect(key(b)).toBeGreaterThanOrEqual(key(a));
      }),
      runs(300),
    );
  });

  it("every upgrade is an allowed transition (storage only grows)", () => {
    fc.assert(
      fc.property(ccuArb, ccuArb, (x, y) => {
        expect(() => checkTransition(planOf(Math.min(x, y)), planOf(Math.max(x, y)))).not.toThrow();
      }),
      runs(200),
    );
  });

  it("a downgrade that would drop a MinIO pool or shrink the database volume is refused with the fix", () => {
    expect(() => checkTransition(planOf(20_000), planOf(10_000))).toThrow(/MinIO pools only grow.*decommission/);
    expect(() => checkTransition(planOf(5000), planOf(1000))).toThrow(/MinIO pools are immutable.*6×4×1000 GB to 6×4×500 GB/);
    expect(() => checkTransition(planOf(5000, { overrides: { postgres: { storageGB: 3000 } } }), planOf(5000))).toThrow(/volumes only grow.*3000 GB → 2600 GB/);
    const keptPools = planOf(10_000, { overrides: { minio: { pools: 3 }, postgres: { storageGB: 10_100 } } });
    expect(() => checkTransition(planOf(20_000), keptPools)).not.toThrow();
  });

  it("is deterministic", () => {
    fc.assert(
      fc.property(ccuArb, (ccu) => {
        expect(planOf(ccu)).toEqual(planOf(ccu));
      }),
      runs(50),
    );
  });
});

const workerOverride = fc.record(
  { replicas: fc.integer({ min: 1, max: 30 }), maxReplicas: fc.integer({ min: 1, max: 60 }), cpMax: fc.integer({ min: 1, max: 40 }) },
  { requiredKeys: [] },
);
const overridesArb = fc.record(
  {
    synapse: fc.record(
      {
        main: fc.record({ cpMax: fc.integer({ min: 1, max: 60 }) }, { requiredKeys: [] }),
        synchrotron: workerOverride,
        generic: workerOverride,
        eventPersister: fc.record({ replicas: fc.integer({ min: 1, max: 12 }), cpMax: fc.integer({ min: 1, max: 40 }) }, { requiredKeys: [] }),
        streamWriter: fc.record({ replicas: fc.integer({ min: 1, max: 8 }) }, { requiredKeys: [] }),
        mediaRepository: fc.record({ replicas: fc.integer({ min: 1, max: 8 }) }, { requiredKeys: [] }),
      },
      { requiredKeys: [] },
    ),
    postgres: fc.record({ maxConnections: fc.integer({ min: 100, max: 1500 }), storageGB: fc.integer({ min: 100, max: 20_000 }) }, { requiredKeys: [] }),
    minio: fc.record({ pools: fc.integer({ min: 1, max: 6 }) }, { requiredKeys: [] }),
    nodePools: fc.record({ application: fc.record({ count: fc.integer({ min: 1, max: 40 }) }) }, { requiredKeys: [] }),
    livekit: fc.record({ instances: fc.integer({ min: 1, max: 8 }) }),
    coturn: fc.record({ instances: fc.integer({ min: 1, max: 8 }) }),
  },
  { requiredKeys: [] },
);

describe("sizing over random overrides", () => {
  it("either refuses with a message naming a key, or honours the override and holds every invariant", () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(ccuArb, overridesArb, (ccu, overrides) => {
        let p: Plan;
        try {
          p = planOf(ccu, { overrides });
        } catch (error) {
          expect(error instanceof PlanError || error instanceof SettingsError).toBe(true);
          expect((error as Error).message).toMatch(/matrix-scale:[a-zA-Z.]+/);
          refused++;
          return;
        }
        accepted++;
        assertInvariants(p, { fleet: modelFleet(tierFor(ccu), true, overrides.synapse), maxConnections: overrides.postgres?.maxConnections });
        const sync = overrides.synapse?.synchrotron;
        if (sync?.replicas !== undefined) expect(p.synapse.workers.synchrotron.replicas).toBe(sync.replicas);
        if (sync?.cpMax !== undefined) expect(p.synapse.workers.synchrotron.cpMax).toBe(sync.cpMax);
        if (overrides.postgres?.maxConnections !== undefined) expect(p.postgres.maxConnections).toBe(overrides.postgres.maxConnections);
        if (overrides.minio?.pools !== undefined) expect(p.minio.pools).toHaveLength(overrides.minio.pools);
        if (overrides.livekit) expect(p.livekit.instances).toBe(overrides.livekit.instances);
      }),
      runs(600),
    );
    // Both outcomes occur (each in more than 1 sample of 30), so neither branch is vacuous.
    expect(accepted).toBeGreaterThan((accepted + refused) / 30);
    expect(refused).toBeGreaterThan((accepted + refused) / 30);
  });
});

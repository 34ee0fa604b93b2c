/** Every tier's plan against the seed's tables (fixtures transcribed from the guide). */
import { describe, expect, it } from "vitest";
import {
  CACHES_9_3,
  CALLS_11,
  gb,
  MEDIA_RETENTION_10_4,
  MINIO,
  PG_INSTANCES,
  PG_TUNING,
  POOLS_9_2,
  RATES_9_4,
  REDIS,
  ROLE_OF,
  SERVER_TABLES,
  SYNAPSE_RESOURCES,
  TIERS,
  tuning,
  vcpu,
  WORKERS_9_1,
} from "../fixtures/seed";
import { planForTier, row } from "../helpers";
import { MEASURED_CAPACITY } from "../../sizing/measured";

/** Cells where the plan deliberately differs; each is proven in deviations.test.ts. */
const COUNT_DEVIATIONS = new Set([...TIERS.flatMap((t) => [`${t}/application`, `${t}/storage`]), "100/calls"]);
/** Roles whose storage column is a data disk the plan keeps; elsewhere nodes get root disks sized for images and scratch. */
const STORAGE_KEPT = new Set(["controlPlane", "database", "storage"]);
const PARAMETER_DEVIATIONS = new Set(["10k/max_connections", "20k/max_connections"]);

// Plans are made inside each test, never at collection time: the mutation check (docs/mutation.md)
// attributes code run outside a test to no test, which makes every mutant of it "static".
describe.each(TIERS)("tier %s follows the seed's tables", (tier) => {
  it("picks the tier", () => expect(planForTier(tier).tier).toBe(tier));

  it("remote media retention (10.4)", () => expect(planForTier(tier).synapse.config.remoteMediaLifetimeDays).toBe(MEDIA_RETENTION_10_4.remoteMediaLifetimeDays));

  it("server inventory: every role with the seed's CPU, RAM and storage", () => {
    const p = planForTier(tier);
    for (const [name, count, cpu, ram, storage] of SERVER_TABLES[tier]!) {
      // Nothing runs on the compliance server: not provisioned (deviations.test.ts).
      if (ROLE_OF[name] === "compliance") continue;
      const r = row(p, ROLE_OF[name]!);
      // The application pool picks its own node shape (deviations.test.ts); every other role keeps the seed's.
      if (r.role !== "application") expect({ role: r.role, vcpu: r.vcpu, memoryGiB: r.memoryGiB }).toEqual({ role: ROLE_OF[name], vcpu: vcpu(cpu), memoryGiB: gb(ram) });
      // Database disks follow the PostgreSQL volume, which the growth rule may enlarge (deviations.test.ts).
      if (r.role === "database") expect(r.storageGB).toBe(Math.max(gb(storage), p.postgres.storageGB));
      else if (STORAGE_KEPT.has(r.role)) expect(r.storageGB, `${name} storage`).toBe(gb(storage));
      if (!COUNT_DEVIATIONS.has(`${tier}/${r.role}`)) expect(r.count, `${name} count`).toBe(count);
    }
  });

  it("Synapse workers (9.1) with the section's per-process resources", () => {
    const p = planForTier(tier);
    const [sync, generic, persisters, senders] = WORKERS_9_1[tier]!;
    const w = p.synapse.workers;
    expect([w.synchrotron.replicas, w.generic.replicas, w.eventPersister.replicas, w.federationSender.replicas]).toEqual([sync, generic, persisters, senders]);
    const res = SYNAPSE_RESOURCES[tier]!;
    const size = (type: keyof typeof w) => [w[type].resources.requests.vcpu, w[type].resources.requests.memoryGiB];
    expect(size("main")).toEqual([vcpu(res.main[0]), gb(res.main[1])]);
    // Deviation (test/sizing/deviations.test.ts): autoscaled processes request the CPU one can use, at most the seed's.
    for (const [type, [cpu, memory]] of [["synchrotron", res.sync], ["generic", res.generic]] as const) {
      expect(w[type].resources.requests.memoryGiB, type).toBe(gb(memory));
      expect(w[type].resources.requests.vcpu, type).toBeLessThanOrEqual(vcpu(cpu));
      expect(w[type].resources.requests.vcpu, type).toBeGreaterThanOrEqual(Math.min(vcpu(cpu), MEASURED_CAPACITY[type].cpuAtMost));
    }
    expect(size("eventPersister")).toEqual([vcpu(res.persister[0]), gb(res.persister[1])]);
    expect(size("federationSender")).toEqual([vcpu(res.sender[0]), gb(res.sender[1])]);
  });

  it("connection pools (9.2): main and database-heavy workers use the seed's cp_max", () => {
    const p = planForTier(tier);
    const [mainCpMax, workerCpMax] = POOLS_9_2[tier]!;
    const w = p.synapse.workers;
    expect(w.main.cpMax).toBe(mainCpMax);
    for (const type of ["synchrotron", "generic", "eventPersister"] as const) expect(w[type].cpMax, type).toBe(workerCpMax);
    for (const worker of Object.values(w)) expect(worker.cpMin, worker.type).toBeLessThanOrEqual(worker.cpMax);
  });

  it("caches and memory (9.3)", () => {
    const p = planForTier(tier);
    const [factor, eventCache, sharedBuffers, redisRam] = CACHES_9_3[tier]!;
    expect(p.synapse.config.cacheFactor).toBe(factor);
    expect(p.synapse.config.eventCacheSize).toBe(Number(eventCache.replace("K", "")) * 1000);
    expect(p.postgres.parameters.shared_buffers).toBe(sharedBuffers);
    expect(p.redis.synapse.resources.requests.memoryGiB).toBe(gb(redisRam));
  });

  it("rate limits and federation concurrency (9.4)", () => {
    const p = planForTier(tier);
    const [perSecond, burst, federation] = RATES_9_4[tier]!;
    // Element Call needs a burst of at least 30; the plan raises the seed's 25 at 100 CCU (deviations.test.ts).
    if (tier === "100") expect(p.synapse.config.rcMessage).toEqual({ perSecond, burstCount: 30 });
    else expect(p.synapse.config.rcMessage).toEqual({ perSecond, burstCount: burst });
    expect(p.synapse.config.federationMaxConcurrent).toBe(federation);
  });

  it("every PostgreSQL tuning parameter of the tier, with the seed's value", () => {
    const p = planForTier(tier);
    for (const [name, value] of Object.entries(tuning(PG_TUNING[tier]!))) {
      if (PARAMETER_DEVIATIONS.has(`${tier}/${name}`)) continue;
      expect(p.postgres.parameters[name], name).toBe(value);
    }
  });

  it("PostgreSQL instances and at least the seed's volume", () => {
    const p = planForTier(tier);
    const [instances, storage] = PG_INSTANCES[tier]!;
    expect(p.postgres.instances).toBe(instances);
    expect(p.postgres.storageGB).toBeGreaterThanOrEqual(gb(storage));
  });

  it("Redis for Synapse and for LiveKit, three each with Sentinels", () => {
    const p = planForTier(tier);
    const seed = REDIS[tier]!;
    for (const name of ["synapse", "livekit"] as const) {
      const r = p.redis[name];
      expect([r.resources.requests.vcpu, r.resources.requests.memoryGiB], name).toEqual([vcpu(seed[name][0]), gb(seed[name][1])]);
      expect([r.instances, r.sentinels]).toEqual([3, 3]);
    }
    expect(p.redis.synapse.persistence).toBe("aof");
    expect(p.redis.livekit.persistence).toBe("rdb");
  });

  it("MinIO: the seed's pool count and raw disk per server; six servers per pool where the seed has four (deviations.test.ts)", () => {
    const p = planForTier(tier);
    const seed = MINIO[tier]!;
    expect(p.minio.pools).toHaveLength(seed.pools);
    expect(seed.nodes / seed.pools).toBe(4);
    expect(p.minio.pools.map((pool) => pool.servers)).toEqual(Array(seed.pools).fill(6));
    for (const pool of p.minio.pools) expect(pool.drivesPerServer * pool.driveGB).toBe(gb(seed.hdd));
  });

  it("LiveKit and coturn instances (11.2, 11.3)", () => {
    const p = planForTier(tier);
    expect(p.livekit.instances).toBe(CALLS_11[tier]!.livekit);
    expect(p.coturn.instances).toBe(CALLS_11[tier]!.coturn);
  });
});

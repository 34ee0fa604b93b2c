/**
 * Every refusal of the sizing code, held to what docs/config.md promises: "fails with the rule,
 * the numbers and the fix" and names the key (`rule: detail; fix: fix (matrix-scale:key)`). The
 * key each case must name is the setting an operator changes (docs/config.md's table), the numbers
 * are the case's own inputs; the mutation check (docs/mutation.md) found refusals whose rule, key,
 * numbers or fix could be emptied without a test noticing.
 */
import { describe, expect, it } from "vitest";
import { checkTransition, parseSettings, plan, PlanError, storageState } from "../../sizing";
import { chooseTier } from "../../sizing/index";
import { erasureSetDrives, planMinio } from "../../sizing/objectstore";
import { cheapestApplicationNodes } from "../../sizing/pools";
import { planPostgres } from "../../sizing/postgres";
import { planFor, planForTier, SERVER_NAME, thrownBy } from "../helpers";

interface Refusal {
  rule: string;
  key: string;
  detail: string;
  fix: string;
}

/** The refusal `f` throws, split into its parts (and checked to be laid out as docs/config.md shows). */
function refusal(f: () => unknown): Refusal {
  const { rule, key, fix, message } = thrownBy(PlanError, f);
  const head = `${rule}: `;
  const tail = `; fix: ${fix} (matrix-scale:${key})`;
  expect(message.startsWith(head), message).toBe(true);
  expect(message.endsWith(tail), message).toBe(true);
  expect(message).not.toContain("\n");
  return { rule, key, fix, detail: message.slice(head.length, message.length - tail.length) };
}

/** A rule of a few words, the expected key, every number in the detail, a fix that says what to do. */
function expectRefusal(r: Refusal, key: string, numbers: (number | string)[], fixMentions: RegExp = /\w+ \w+/) {
  expect(r.rule, "rule").toMatch(/^\S.*\S$/);
  expect(r.rule).not.toBe(r.key);
  expect(r.key).toBe(key);
  for (const n of numbers) expect(r.detail, `detail names ${n}`).toContain(String(n));
  expect(r.fix, "fix").toMatch(fixMentions);
}

const old = { servers: 4, drivesPerServer: 4, driveGB: 500 };

describe("every refusal carries its rule, the key, the numbers and the fix", () => {
  it("ccu above the largest tier (20,000)", () => {
    expectRefusal(refusal(() => chooseTier(20_001)), "ccu", [20_001, 20_000], /deployments/);
  });

  it("a max_connections override the fleet overruns (10k: 300 × 85% = 255)", () => {
    expectRefusal(refusal(() => planFor(10_000, { overrides: { postgres: { maxConnections: 300 } } })), "overrides.postgres.maxConnections", [300, 255], /maxConnections/);
  });

  it("a pool that cannot form an erasure set of 4 to 16 drives (1 server × 2 drives)", () => {
    expectRefusal(refusal(() => erasureSetDrives({ servers: 1, drivesPerServer: 2, driveGB: 1 })), "overrides.minio", [1, 2, 4, 16], /servers/);
  });

  it("fewer MinIO pools than the deployment holds (1 < 2)", () => {
    const r = refusal(() => planMinio("100", 100, { vcpu: 4, memoryGiB: 8 }, { minio: { pools: 1 } }, undefined, { pools: [old, old], parity: 4 }));
    expectRefusal(r, "overrides.minio.pools", [1, 2], /2 or more/);
  });

  it("a kept parity a pool cannot hold (EC:3 on a 1 × 4 pool)", () => {
    const small = { servers: 1, drivesPerServer: 4, driveGB: 100 };
    const r = refusal(() => planMinio("100", 100, { vcpu: 4, memoryGiB: 8 }, {}, undefined, { pools: [small], parity: 3 }));
    expectRefusal(r, "overrides.minio.pools", ["1×4", "EC:3"], /parity/);
  });

  it("tier moves: dropping a pool (20k → 10k: 3 → 2 pools)", () => {
    const r = refusal(() => checkTransition(storageState(planForTier("20k")), storageState(planForTier("10k"))));
    expectRefusal(r, "overrides.minio.pools", ["20k", "10k", "3 → 2"], /= 3/);
  });

  it("tier moves: re-shaping a pool (5k → 1k: 1000 GB drives → 500 GB); the fix is to append (docs/sizing.md)", () => {
    const r = refusal(() => checkTransition(storageState(planForTier("5k")), storageState(planForTier("1k"))));
    expectRefusal(r, "overrides.minio.pools", ["6×4×1000 GB", "6×4×500 GB"], /append/);
  });

  it("tier moves: a parity change (EC:4 → EC:2)", () => {
    const before = storageState(planForTier("5k"));
    const r = refusal(() => checkTransition(before, { ...before, minio: { ...before.minio, parity: 2 } }));
    expectRefusal(r, "overrides.minio.pools", ["EC:4", "EC:2"]);
  });

  it("tier moves: a smaller database volume (2600 → 2500 GB); the fix keeps 2600", () => {
    const before = storageState(planForTier("5k"));
    const r = refusal(() => checkTransition(before, { ...before, postgres: { storageGB: 2500 } }));
    expectRefusal(r, "overrides.postgres.storageGB", [2600, 2500], /2600/);
  });

  it("a volume override below the deployment's volume (2900 < 3000 GB); the fix names 3000", () => {
    const previous = storageState(planForTier("5k", { overrides: { postgres: { storageGB: 3000 } } }));
    const r = refusal(() => plan(parseSettings({ ccu: 5000, serverName: SERVER_NAME, overrides: { postgres: { storageGB: 2900 } } }), { previous }));
    expectRefusal(r, "overrides.postgres.storageGB", [2900, 3000], /3000/);
  });

  it("a volume override below 12 months of growth (5k: 10 GB + 2500 GB/year → 2600 GB); the fix names 2600", () => {
    expectRefusal(refusal(() => planForTier("5k", { overrides: { postgres: { storageGB: 2599 } } })), "overrides.postgres.storageGB", [2599, 2600], /2600/);
  });

  it("PostgreSQL memory that does not fit its pod (100: effective_cache_size 12 GB on an 11.75 GiB pod)", () => {
    // 12.9 GiB allocatable less the backup sidecar's 1 GiB, floored to 0.25.
    const r = refusal(() => planPostgres("100", 119, { instanceType: "m7i.xlarge", allocatable: { vcpu: 4, memoryGiB: 12.9 } }, {}));
    expectRefusal(r, "overrides.nodePools.database", [4, 12, 11.75], /memory/);
  });

  it("max_connections beyond what PostgreSQL memory affords (100: 423 > 422)", () => {
    expectRefusal(refusal(() => planFor(100, { overrides: { postgres: { maxConnections: 423 } } })), "overrides.postgres.maxConnections", [423, 422]);
  });

  it("a pod larger than an application node", () => {
    const r = refusal(() => cheapestApplicationNodes([{ owner: "synapse/main", vcpu: 40, memoryGiB: 200 }], [], 3, [{ instanceType: "c7i.2xlarge", vcpu: 8, memoryGiB: 16, monthlyUsd: 1, allocatable: { vcpu: 7.56, memoryGiB: 13.87 } }]));
    expectRefusal(r, "overrides.nodePools.application", [40, 200, 7.56, 13.87]);
  });

  it("maxReplicas on a named worker type (pusher): the fix is replicas", () => {
    expectRefusal(refusal(() => planFor(100, { overrides: { synapse: { pusher: { maxReplicas: 2 } } } })), "overrides.synapse.pusher.maxReplicas", [2], /replicas/);
  });

  it("an HPA maximum below the base replicas (3 < 4); the fix names 4", () => {
    const r = refusal(() => planFor(100, { overrides: { synapse: { synchrotron: { replicas: 4, maxReplicas: 3 } } } }));
    expectRefusal(r, "overrides.synapse.synchrotron.maxReplicas", [3, 4], /4/);
  });

  it("federation senders set while federation is off", () => {
    const r = refusal(() => planFor(100, { federation: false, overrides: { synapse: { federationSender: { replicas: 2 } } } }));
    expectRefusal(r, "overrides.synapse.federationSender", [0], /federation/);
  });

  it("a storage pool that cannot lose a server (N-1): 2 servers × 2 drives at EC:2", () => {
    const previous = { tier: "100", ccu: 100, minio: { pools: [{ servers: 2, drivesPerServer: 2, driveGB: 250 }], parity: 2 }, postgres: { storageGB: 500 } };
    const r = refusal(() => plan(parseSettings({ ccu: 100, serverName: SERVER_NAME }), { previous }));
    expectRefusal(r, "overrides.nodePools.storage.count", ["storage", 2]);
  });
});

/** Stack config validation: every bad value rejected with one line naming the key. */
import { describe, expect, it } from "vitest";
import { parseSettings, plan, PlanError, SettingsError } from "../../sizing";
import type { RawSettings } from "../../sizing/settings";

const ok = { ccu: 100, serverName: "matrix.example.com" };

/** [what, settings, key the message must name, text the message must contain] */
const BAD: [string, RawSettings, string, RegExp][] = [
  ["missing ccu", { serverName: "m.example.com" }, "ccu", /missing/],
  ["zero ccu", { ...ok, ccu: 0 }, "ccu", /from 1 to 20000/],
  ["negative ccu", { ...ok, ccu: -5 }, "ccu", /-5/],
  ["fractional ccu", { ...ok, ccu: 10.5 }, "ccu", /10\.5/],
  ["fractional ccu as string", { ...ok, ccu: "10.5" }, "ccu", /whole number/],
  ["non-numeric ccu", { ...ok, ccu: "lots" }, "ccu", /"lots"/],
  ["ccu as boolean", { ...ok, ccu: true }, "ccu", /whole number/],
  ["ccu above the largest tier", { ...ok, ccu: 20001 }, "ccu", /20001/],
  ["unknown tier", { ...ok, tier: "50k" }, "tier", /one of 100, 1k, 5k, 10k, 20k/],
  ["tier smaller than ccu", { ...ok, ccu: 5000, tier: "1k" }, "tier", /serves 1000 users but ccu is 5000/],
  ["missing serverName", { ccu: 100 }, "serverName", /missing/],
  ["serverName with spaces", { ...ok, serverName: "my server" }, "serverName", /DNS name/],
  ["serverName upper case", { ...ok, serverName: "Matrix.Example.com" }, "serverName", /lower-case/],
  ["unknown target", { ...ok, target: "gcp" }, "target", /aws or kubernetes/],
  ["federation not boolean", { ...ok, federation: "maybe" }, "federation", /true or false/],
  ["unknown top-level key", { ...ok, replicas: 3 }, "replicas", /not a known setting.*ccu, tier/],
  ["unknown override group", { ...ok, overrides: { nginx: {} } }, "overrides.nginx", /accepted here: synapse/],
  ["unknown worker type", { ...ok, overrides: { synapse: { sync: { replicas: 6 } } } }, "overrides.synapse.sync", /synchrotron/],
  ["unknown worker knob", { ...ok, overrides: { synapse: { synchrotron: { threads: 2 } } } }, "overrides.synapse.synchrotron.threads", /replicas, maxReplicas, cpMax/],
  ["replicas as text", { ...ok, overrides: { synapse: { synchrotron: { replicas: "six" } } } }, "overrides.synapse.synchrotron.replicas", /"six"/],
  ["zero replicas", { ...ok, overrides: { synapse: { generic: { replicas: 0 } } } }, "overrides.synapse.generic.replicas", /from 1 to 200/],
  ["cpMax zero", { ...ok, overrides: { synapse: { main: { cpMax: 0 } } } }, "overrides.synapse.main.cpMax", /connection pool size/],
  ["maxConnections too low", { ...ok, overrides: { postgres: { maxConnections: 50 } } }, "overrides.postgres.maxConnections", /100 to 5000/],
  ["storage fractional", { ...ok, overrides: { postgres: { storageGB: 10.5 } } }, "overrides.postgres.storageGB", /volume size/],
  ["minio pools zero", { ...ok, overrides: { minio: { pools: 0 } } }, "overrides.minio.pools", /MinIO server pools/],
  ["unknown node pool", { ...ok, overrides: { nodePools: { gpu: { count: 2 } } } }, "overrides.nodePools.gpu", /application, database/],
  ["node pool without count", { ...ok, overrides: { nodePools: { application: {} } } }, "overrides.nodePools.application.count", /node count/],
  ["livekit instances text", { ...ok, overrides: { livekit: { instances: "2" , extra: 1 } } }, "overrides.livekit.extra", /instances/],
  ["overrides not an object", { ...ok, overrides: "big" }, "overrides", /"big"/],
  ["bad namespace", { ...ok, kubernetes: { namespace: "Matrix_NS" } }, "kubernetes.namespace", /namespace name/],
  ["unknown kubernetes key", { ...ok, kubernetes: { cluster: "x" } }, "kubernetes.cluster", /namespace, kubeconfig, context, renderDir/],
  ["bad region", { ...ok, aws: { region: "mars" } }, "aws.region", /AWS region/],
  ["bad vpc id", { ...ok, aws: { vpcId: "my-vpc" } }, "aws.vpcId", /vpc-/],
  ["vpc without subnets", { ...ok, aws: { vpcId: "vpc-0abc" } }, "aws.vpcId", /privateSubnetIds/],
  ["two availability zones", { ...ok, aws: { availabilityZones: ["a", "b"] } }, "aws.availabilityZones", /three/],
];

describe("bad settings are rejected with one line naming the key", () => {
  it("the corpus has at least 25 cases", () => expect(BAD.length).toBeGreaterThanOrEqual(25));

  it.each(BAD)("%s", (_what, raw, key, text) => {
    let error: unknown;
    try {
      parseSettings(raw);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SettingsError);
    const message = (error as SettingsError).message;
    expect(message).not.toContain("\n");
    expect(message).toContain(`matrix-scale:${key}`);
    expect(message).toMatch(text);
    expect((error as SettingsError).key).toBe(key);
  });
});

/** Valid settings whose plan breaks an invariant: [what, settings, key, rule]. */
const BREAKS_INVARIANT: [string, RawSettings, string, RegExp][] = [
  ["sync workers below the capacity rule", { ...ok, ccu: 5000, overrides: { synapse: { synchrotron: { replicas: 2 } } } }, "overrides.synapse.synchrotron.replicas", /HA minimum/],
  ["a single event persister", { ...ok, overrides: { synapse: { eventPersister: { replicas: 1 } } } }, "overrides.synapse.eventPersister.replicas", /HA minimum/],
  ["two main processes", { ...ok, overrides: { synapse: { main: { replicas: 2 } } } }, "overrides.synapse.main.replicas", /single-instance/],
  ["autoscaling a stream writer", { ...ok, overrides: { synapse: { streamWriter: { maxReplicas: 4 } } } }, "overrides.synapse.streamWriter.maxReplicas", /do not autoscale/],
  ["HPA max below min", { ...ok, overrides: { synapse: { synchrotron: { replicas: 4, maxReplicas: 3 } } } }, "overrides.synapse.synchrotron.maxReplicas", /autoscale range/],
  ["connection budget beyond what PostgreSQL memory affords", { ...ok, overrides: { synapse: { synchrotron: { cpMax: 100 } } } }, "overrides.synapse", /affords/],
  ["explicit max_connections beyond PostgreSQL memory", { ...ok, overrides: { postgres: { maxConnections: 2000 } } }, "overrides.postgres.maxConnections", /affords/],
  ["max_connections too small for the fleet", { ...ok, ccu: 10000, overrides: { postgres: { maxConnections: 300 } } }, "overrides.postgres.maxConnections", /connection budget/],
  ["database volume below growth", { ...ok, ccu: 5000, overrides: { postgres: { storageGB: 1000 } } }, "overrides.postgres.storageGB", /growth horizon/],
  ["one LiveKit host", { ...ok, overrides: { livekit: { instances: 1 } } }, "overrides.livekit.instances", /HA minimum/],
  ["too few application nodes", { ...ok, overrides: { nodePools: { application: { count: 2 } } } }, "overrides.nodePools.application.count", /one node lost/],
  ["database pool smaller than instances", { ...ok, overrides: { nodePools: { database: { count: 2 } } } }, "overrides.nodePools.database.count", /PostgreSQL instances/],
  ["federation sender override without federation", { ...ok, federation: false, overrides: { synapse: { federationSender: { replicas: 2 } } } }, "overrides.synapse.federationSender", /federation/],
];

describe("valid settings that break an invariant fail with the rule, the numbers and the fix", () => {
  it.each(BREAKS_INVARIANT)("%s", (_what, raw, key, rule) => {
    let error: unknown;
    try {
      plan(parseSettings(raw));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PlanError);
    const message = (error as PlanError).message;
    expect(message).toMatch(rule);
    expect(message).toMatch(/\d/);
    expect(message).toContain("fix:");
    expect(message).toContain(`matrix-scale:${key}`);
  });
});

describe("valid settings", () => {
  it("a larger worker pool raises max_connections to fit the budget, within what memory affords", () => {
    const p = plan(parseSettings({ ...ok, overrides: { synapse: { synchrotron: { cpMax: 40 } } } }));
    expect(p.postgres.maxConnections).toBeGreaterThan(200);
    expect(p.postgres.maxConnectionsSource).toBe("raised for the connection budget");
    expect(p.synapse.connectionsAtMaxScale).toBeLessThan(p.postgres.maxConnections * 0.85);
  });

  it("fills documented defaults", () => {
    const s = parseSettings({ ccu: "800", serverName: "matrix.example.com" });
    expect(s).toMatchObject({ ccu: 800, target: "kubernetes", federation: true, overrides: {}, kubernetes: { namespace: "matrix" } });
  });

  it("accepts stack-file strings for booleans and tiers given as numbers", () => {
    expect(parseSettings({ ...ok, federation: "false", tier: 100 })).toMatchObject({ federation: false, tier: "100" });
  });

  it("the seed's '800 CCU on 1K: 6 sync workers' override is valid and re-checked", () => {
    const p = plan(parseSettings({ ccu: 800, serverName: "m.example.com", overrides: { synapse: { synchrotron: { replicas: 6 } } } }));
    expect(p.tier).toBe("1k");
    expect(p.synapse.workers.synchrotron.replicas).toBe(6);
    expect(p.synapse.connectionsAtMaxScale).toBeLessThan(p.synapse.connectionLimit);
    expect(p.warnings.join()).toMatch(/80% of the 1k tier: plan the move to 5k/);
  });

  it("federation off: no federation senders, fewer processes", () => {
    const on = plan(parseSettings(ok));
    const off = plan(parseSettings({ ...ok, federation: false }));
    expect(off.synapse.workers.federationSender.replicas).toBe(0);
    expect(off.synapse.federationSenderInstances).toEqual([]);
    expect(off.synapse.processes).toBe(on.synapse.processes - on.synapse.workers.federationSender.replicas);
  });
});

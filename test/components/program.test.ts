/** The whole program under Pulumi's mock runtime, at every tier and target. */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runProgram, type MockRun } from "../../bin/mock-runtime";
import { SECRET_NAMES } from "../../components/secrets";
import { TIER_USERS, TIERS } from "../fixtures/seed";
import { onTarget, SERVER_NAME, TEST_CERTIFICATE_ARN, TEST_API_ACCESS_CIDRS } from "../helpers";
import { isKubernetesObject, manifestOf, validateManifest } from "./k8s-schema";

const runs = new Map<string, MockRun>();
async function run(tier: string, target = "kubernetes"): Promise<MockRun> {
  const key = `${tier}/${target}`;
  if (!runs.has(key)) runs.set(key, await runProgram({ ccu: TIER_USERS[tier]!, serverName: SERVER_NAME, ...onTarget(target) }));
  return runs.get(key)!;
}

/** Mocked generated values: passwords and strings are "mock-<name>", random bytes "mockbytes<name>…" in base64 (bin/mock-runtime.ts). */
const GENERATED = /mock-[a-z0-9-]+|mockbytes[A-Za-z0-9]+/g;
const RANDOM = /^random:/;

describe.each(TIERS)("tier %s", (tier) => {
  it("declares the namespace, the provider and one Secret per consumer", async () => {
    const { resources } = await run(tier);
    const types = resources.map((r) => r.type);
    expect(types).toContain("pulumi:providers:kubernetes");
    const namespaces = resources.filter((r) => r.type === "kubernetes:core/v1:Namespace").map((r) => (r.inputs.metadata as { name: string }).name);
    expect(namespaces.sort()).toEqual(["cert-manager", "cnpg-system", "matrix", "matrix-calls", "monitoring"]);
    const secrets = resources.filter((r) => r.type === "kubernetes:core/v1:Secret").map((r) => ({ name: (r.inputs.metadata as { name?: string }).name ?? r.name, namespace: (r.inputs.metadata as { namespace: string }).namespace }));
    const inNamespace = (ns: string) => secrets.filter((m) => m.namespace === ns).map((m) => m.name).sort();
    expect(inNamespace("matrix")).toEqual(Object.values(SECRET_NAMES).sort());
    // The call hosts' namespace holds only what LiveKit and coturn read.
    expect(inNamespace("matrix-calls")).toEqual(["livekit-config", SECRET_NAMES.turn]);
    expect(secrets.length).toBe(inNamespace("matrix").length + inNamespace("matrix-calls").length);
    expect(types).toContain("kubernetes:postgresql.cnpg.io/v1:Cluster");
  });

  it("every Kubernetes object has the field types the Kubernetes schemas give (kubernetes-models; unknown fields are refused by the strict API-server test, kube-validation)", async () => {
    const objects = (await run(tier)).resources.filter(isKubernetesObject);
    expect(objects.length).toBeGreaterThan(0);
    for (const r of objects) await expect(validateManifest(manifestOf(r)), r.name).resolves.toBeUndefined();
  });

  it.each(["kubernetes", "aws"])("target %s: generated secrets reach only Secrets: never a ConfigMap, a chart's values, a cloud resource or a stack output", async (target) => {
    const { resources, outputs } = await run(tier, target);
    const generators = resources.filter((r) => RANDOM.test(r.type));
    const secrets = resources.filter((r) => r.type === "kubernetes:core/v1:Secret");
    // Every generated value, passwords and key bytes alike, is found in some Secret.
    const inSecrets = new Set(JSON.stringify(secrets.map((s) => s.inputs)).match(GENERATED));
    const traced = [...inSecrets].map((v) => generators.find((g) => v.replace(/A*=?$/, "").includes(g.name.replace(/[^A-Za-z0-9]/g, "")) || v === `mock-${g.name}`)?.name);
    expect(new Set(traced)).toEqual(new Set(generators.map((g) => g.name)));
    for (const r of resources.filter((x) => x.type !== "kubernetes:core/v1:Secret" && !RANDOM.test(x.type))) {
      expect(JSON.stringify(r.inputs).match(GENERATED), `${r.type} ${r.name}`).toBeNull();
    }
    expect(JSON.stringify(outputs).match(GENERATED)).toBeNull();
  });

  it("every value in a Secret is a Pulumi secret, so state stores it encrypted", async () => {
    const secrets = (await run(tier)).resources.filter((r) => r.type === "kubernetes:core/v1:Secret");
    for (const s of secrets) {
      const generated = Object.keys(s.inputs.stringData as object).filter((k) => k !== "username");
      expect(generated.length).toBeGreaterThan(0);
      for (const key of generated) {
        const path = `stringData.${key}`;
        expect(s.secretPaths.some((p) => path === p || path.startsWith(`${p}.`)), `${s.name} ${path}`).toBe(true);
      }
    }
  });

  it("outputs the plan's inventory and connection budget", async () => {
    const { outputs } = await run(tier);
    expect(outputs.tier).toBe(tier);
    const budget = outputs.connectionBudget as { connectionsAtMaxScale: number; connectionsInRollout: number; limit: number };
    expect(budget.connectionsAtMaxScale).toBeLessThan(budget.connectionsInRollout);
    expect(budget.connectionsInRollout).toBeLessThan(budget.limit);
    const pools = outputs.requiredNodePools as { role: string; labels: Record<string, string>; taints: string[] }[];
    const storageGroups = pools.filter((p) => p.role === "storage");
    // Pools whose pods hold volumes come per zone (three groups once they have three nodes).
    expect([...new Set(pools.filter((p) => p.role !== "storage").map((p) => p.role))]).toEqual(["application", "database", "calls", "monitoring"]);
    for (const p of pools.filter((x) => x.role === "database")) expect((p as { zone?: number }).zone).toBeGreaterThanOrEqual(0);
    expect(pools.filter((p) => p.role === "calls").map((p) => p.labels["matrix-scale/call-service"])).toEqual(["livekit", "coturn"]);
    // Storage nodes come per MinIO pool (and per zone), labelled with the pool their servers select.
    expect([...new Set(storageGroups.map((p) => p.labels["matrix-scale/minio-pool"]))]).toEqual([...new Set(storageGroups.map((p) => p.labels["matrix-scale/minio-pool"]))].map((_, i) => String(i)));
    for (const p of pools) expect(p.labels["matrix-scale/pool"]).toBe(p.role);
    expect(pools.find((p) => p.role === "database")!.taints).toEqual(["matrix-scale/pool=database:NoSchedule"]);
  });
});

describe("secrets", () => {
  it("the Synapse Secret holds its config files; the signing key has Synapse's format: ed25519 a_<id> <unpadded base64 seed>", async () => {
    const { resources } = await run("100");
    const synapse = resources.find((r) => r.name === SECRET_NAMES.synapse)!;
    const data = synapse.inputs.stringData as Record<string, string>;
    expect(Object.keys(data).sort()).toEqual(["pgpass", "redis-password", "secrets.yaml", "signing.key"]);
    expect(data["signing.key"]).toMatch(/^ed25519 a_\S+ [A-Za-z0-9+/]{43}$/);
    expect(data.pgpass).toMatch(/^\*:\*:\*:synapse:mock-matrix-postgres-owner\n$/);
    const config = parse(data["secrets.yaml"]!) as Record<string, string>;
    expect(Object.keys(config).sort()).toEqual(["form_secret", "macaroon_secret_key", "registration_shared_secret", "turn_shared_secret", "worker_replication_secret"]);
    expect(config.turn_shared_secret).toBe("mock-matrix-turn");
  });

  it("the database owner Secret is basic-auth, as CloudNativePG expects", async () => {
    const { resources } = await run("100");
    const owner = resources.find((r) => r.name === SECRET_NAMES.postgresOwner)!;
    expect(owner.inputs.type).toBe("kubernetes.io/basic-auth");
    expect(Object.keys(owner.inputs.stringData as object).sort()).toEqual(["password", "username"]);
  });
});

describe("targets", () => {
  it("aws: no control-plane servers in the inventory (EKS runs it); kubernetes: the operator provides three", async () => {
    const aws = (await run("5k", "aws")).outputs.inventory as { role: string }[];
    const k8s = (await run("5k", "kubernetes")).outputs.inventory as { role: string }[];
    expect(aws.map((r) => r.role)).not.toContain("controlPlane");
    expect(k8s.map((r) => r.role)).toContain("controlPlane");
  });
});

describe("the AWS region: the stack's AWS provider and the deployment agree", () => {
  const withRegion = async (region: string | undefined, run: () => Promise<unknown>) => {
    const before = process.env.AWS_REGION;
    if (region === undefined) delete process.env.AWS_REGION;
    else process.env.AWS_REGION = region;
    try {
      return await run();
    } finally {
      if (before === undefined) delete process.env.AWS_REGION;
      else process.env.AWS_REGION = before;
    }
  };
  const zonesOf = (r: MockRun) => r.resources.filter((x) => x.type === "aws:ec2/subnet:Subnet").map((x) => x.inputs.availabilityZone).sort();

  it("aws.region unset: the provider's region, and its zones", async () => {
    const run = (await withRegion("eu-west-1", () => runProgram({ ccu: 100, serverName: SERVER_NAME, ...onTarget("aws") }))) as MockRun;
    expect([...new Set(zonesOf(run))]).toEqual(["eu-west-1a", "eu-west-1b", "eu-west-1c"]);
  });

  it("aws.region set to another region than the provider's: refused, naming the key, nothing created", async () => {
    const raw = { ccu: 100, serverName: SERVER_NAME, target: "aws", aws: { certificateArn: TEST_CERTIFICATE_ARN, apiAccessCidrs: TEST_API_ACCESS_CIDRS, region: "us-east-2" } };
    const error = (await withRegion("eu-west-1", () => runProgram(raw).catch((e: unknown) => e))) as Error & { declared?: { type: string }[] };
    expect(error.message).toMatch(/^matrix-scale:aws\.region = "us-east-2" but the stack's AWS provider is in eu-west-1/);
    // Only the read of the stack's own previous outputs (what it already stores) happened.
    expect(error.declared!.map((r) => r.type)).toEqual(["pulumi:pulumi:StackReference"]);
  });
});

describe("bad input creates nothing", () => {
  it.each([
    ["ccu missing", { serverName: SERVER_NAME }, /^matrix-scale:ccu = missing:/],
    ["ccu fractional", { ccu: "1.5", serverName: SERVER_NAME }, /^matrix-scale:ccu = "1\.5":/],
    ["override breaks the connection budget", { ccu: 100, serverName: SERVER_NAME, overrides: { postgres: { maxConnections: 100 }, synapse: { synchrotron: { cpMax: 30 } } } }, /^connection budget: .*261 connections.*during a rollout.*\(matrix-scale:overrides\.postgres\.maxConnections\)$/],
  ])("%s: refused, naming the key", async (_what, raw, message) => {
    let declared = -1;
    await expect(
      runProgram(raw).then((r) => {
        declared = r.resources.length;
      }),
    ).rejects.toThrow(message);
    expect(declared).toBe(-1);
  });

  it("the error names the key in one line, without a stack trace (a RunError)", async () => {
    const error = await runProgram({ ccu: "lots", serverName: SERVER_NAME }).catch((e: unknown) => e);
    expect(pulumi.RunError.isInstance(error)).toBe(true);
    expect((error as Error).message).toBe('matrix-scale:ccu = "lots": expected a whole number of concurrent users from 1 to 20000');
  });
});

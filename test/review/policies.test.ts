/** The policy pack's policies, called directly (no engine): clean on the program, firing on bad objects. */
import type { PolicyResource, ReportViolation, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { describe, expect, it } from "vitest";
import { runProgram } from "../../bin/mock-runtime";
import { disruptionBudgets, imagesPinned, noPrivilegedPods, noSecretsInConfigMaps, podsHaveRequestsAndLimits, POLICIES, replicationNeverExposed } from "../../policy/policies";
import { TIER_USERS, TIERS } from "../fixtures/seed";
import { SERVER_NAME } from "../helpers";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function checkResource(policy: ResourceValidationPolicy, type: string, props: Obj): string[] {
  const found: string[] = [];
  const report: ReportViolation = (message) => found.push(message);
  const validate = policy.validateResource as (args: Obj, report: ReportViolation) => void;
  validate({ type, props, urn: `urn:pulumi:t::p::${type}::x`, name: "x", opts: {}, isType: () => false, asType: () => undefined, getConfig: () => ({}) }, report);
  return found;
}

function checkStack(policy: StackValidationPolicy, resources: { type: string; props: Obj }[]): string[] {
  const found: string[] = [];
  const validate = policy.validateStack as (args: Obj, report: ReportViolation) => void;
  validate({ resources: resources.map((r) => ({ ...r, urn: "", name: "", opts: {}, dependencies: [], propertyDependencies: {} }) as unknown as PolicyResource), getConfig: () => ({}) }, (m) => found.push(m));
  return found;
}

const container = (extra: Obj = {}) => ({
  name: "c",
  image: "example/app:1.2.3",
  resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "100m", memory: "128Mi" } },
  securityContext: { allowPrivilegeEscalation: false },
  ...extra,
});
const deployment = (podSpec: Obj, labels: Obj = { app: "x" }, replicas = 2) => ({
  metadata: { name: "x", namespace: "matrix" },
  spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: podSpec } },
});

describe.each(TIERS.flatMap((t) => [[t, "kubernetes"], [t, "aws"]] as const))("tier %s, target %s", (tier, target) => {
  it("every policy passes on everything the program declares", async () => {
    const run = await runProgram({ ccu: TIER_USERS[tier]!, serverName: SERVER_NAME, target });
    const violations: string[] = [];
    for (const policy of POLICIES) {
      if ("validateResource" in policy) for (const r of run.resources) violations.push(...checkResource(policy, r.type, r.inputs).map((v) => `${policy.name}: ${v}`));
      else if ("validateStack" in policy) violations.push(...checkStack(policy, run.resources.map((r) => ({ type: r.type, props: r.inputs }))).map((v) => `${policy.name}: ${v}`));
    }
    expect(violations).toEqual([]);
  });
});

describe("each policy fires on what it forbids", () => {
  it("requests and limits", () => {
    expect(checkResource(podsHaveRequestsAndLimits, "kubernetes:apps/v1:Deployment", deployment({ containers: [container({ resources: { requests: { cpu: "1" } } })] }))).toEqual(
      expect.arrayContaining(["x/c: no memory requests", "x/c: no cpu limits", "x/c: no memory limits"]),
    );
  });

  it("privileges and host networking", () => {
    const found = checkResource(noPrivilegedPods, "kubernetes:apps/v1:StatefulSet", deployment({ hostNetwork: true, containers: [container({ securityContext: { privileged: true } })] }));
    expect(found).toEqual(expect.arrayContaining([expect.stringMatching(/host namespaces are reserved for call hosts/), "x/c: privileged", "x/c: allowPrivilegeEscalation is not false"]));
    expect(checkResource(noPrivilegedPods, "kubernetes:apps/v1:Deployment", deployment({ hostNetwork: true, containers: [container()] }, { "matrix-scale/call-host": "true" }))).toEqual([]);
  });

  it("the replication port behind a load balancer, a ClusterIP, or a proxy config", () => {
    expect(checkResource(replicationNeverExposed, "kubernetes:core/v1:Service", { metadata: { name: "s" }, spec: { type: "LoadBalancer", ports: [{ port: 9093 }] } })).toHaveLength(1);
    expect(checkResource(replicationNeverExposed, "kubernetes:core/v1:Service", { metadata: { name: "s" }, spec: { ports: [{ name: "replication", port: 9093 }] } })).toHaveLength(1);
    expect(checkResource(replicationNeverExposed, "kubernetes:core/v1:Service", { metadata: { name: "s" }, spec: { clusterIP: "None", ports: [{ name: "replication", port: 9093 }] } })).toEqual([]);
    expect(checkResource(replicationNeverExposed, "kubernetes:core/v1:ConfigMap", { metadata: { name: "p" }, data: { "haproxy.cfg": "server a synapse-main-0:9093 check" } })).toHaveLength(1);
  });

  it("literal secrets in a ConfigMap, but not paths, variables or flags", () => {
    expect(checkResource(noSecretsInConfigMaps, "kubernetes:core/v1:ConfigMap", { metadata: { name: "c" }, data: { "homeserver.yaml": "macaroon_secret_key: abcdefghijkl\n" } })).toEqual(["c: homeserver.yaml sets secret to a literal value"]);
    expect(checkResource(noSecretsInConfigMaps, "kubernetes:core/v1:ConfigMap", { metadata: { name: "c" }, data: { "redis.conf": "requirepass=hunter2hunter2" } })).toHaveLength(1);
    const clean = { "a.yaml": "password_path: /secrets/redis-password\n", "b.sh": "requirepass $REDIS_PASSWORD\n", "turnserver.conf": "use-auth-secret\n" };
    expect(checkResource(noSecretsInConfigMaps, "kubernetes:core/v1:ConfigMap", { metadata: { name: "c" }, data: clean })).toEqual([]);
  });

  it("unpinned images", () => {
    for (const image of ["example/app", "example/app:latest", "registry:5000/app"]) {
      expect(checkResource(imagesPinned, "kubernetes:apps/v1:Deployment", deployment({ containers: [container({ image })] })), image).toHaveLength(1);
    }
    expect(checkResource(imagesPinned, "kubernetes:apps/v1:Deployment", deployment({ containers: [container({ image: "example/app@sha256:abc" })] }))).toEqual([]);
  });

  it("a multi-replica workload without a disruption budget", () => {
    const workload = { type: "kubernetes:apps/v1:Deployment", props: deployment({ containers: [container()] }, { app: "web" }, 3) };
    expect(checkStack(disruptionBudgets, [workload])).toEqual(["x: 3 replicas and no PodDisruptionBudget"]);
    const pdb = { type: "kubernetes:policy/v1:PodDisruptionBudget", props: { metadata: { namespace: "matrix" }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: "web" } } } } };
    expect(checkStack(disruptionBudgets, [workload, pdb])).toEqual([]);
  });
});

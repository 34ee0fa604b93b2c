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

  it.each([
    ["an init container without limits", "kubernetes:apps/v1:StatefulSet", deployment({ containers: [container()], initContainers: [container({ name: "init", resources: { requests: { cpu: "1", memory: "1Gi" } } })] }), ["x/init: no cpu limits", "x/init: no memory limits"]],
    ["a DaemonSet container without requests", "kubernetes:apps/v1:DaemonSet", deployment({ containers: [container({ resources: { limits: { cpu: "1", memory: "1Gi" } } })] }), ["x/c: no cpu requests", "x/c: no memory requests"]],
    ["a Job container without anything", "kubernetes:batch/v1:Job", deployment({ containers: [container({ resources: {} })] }), ["x/c: no cpu requests", "x/c: no memory requests", "x/c: no cpu limits", "x/c: no memory limits"]],
  ] as const)("requests and limits: %s", (_what, type, props, expected) => {
    expect(checkResource(podsHaveRequestsAndLimits, type, props).sort()).toEqual([...expected].sort());
  });

  it.each([
    ["host PID", { hostPID: true, containers: [container()] }, [/host namespaces are reserved/]],
    ["host IPC", { hostIPC: true, containers: [container()] }, [/host namespaces are reserved/]],
    ["an added capability", { containers: [container({ securityContext: { allowPrivilegeEscalation: false, capabilities: { add: ["NET_ADMIN"] } } })] }, [/^x\/c: adds capabilities NET_ADMIN$/]],
    ["escalation left unset", { containers: [container({ securityContext: {} })] }, [/^x\/c: allowPrivilegeEscalation is not false$/]],
  ] as const)("privileges: %s", (_what, podSpec, expected) => {
    const found = checkResource(noPrivilegedPods, "kubernetes:apps/v1:Deployment", deployment(podSpec));
    expect(found).toHaveLength(expected.length);
    expected.forEach((pattern, i) => expect(found[i]).toMatch(pattern));
  });

  it.each([
    ["a NodePort Service on the replication port", { type: "NodePort", clusterIP: "None", ports: [{ port: 9093 }] }],
    ["a Service targeting port 9093", { ports: [{ port: 80, targetPort: 9093 }] }],
    ["a Service targeting the named replication port", { ports: [{ port: 80, targetPort: "replication" }] }],
  ])("replication: %s", (_what, spec) => {
    expect(checkResource(replicationNeverExposed, "kubernetes:core/v1:Service", { metadata: { name: "s" }, spec })).toEqual(["s: exposes the replication port"]);
  });

  it("replication: an nginx config proxying to 9093 and any Ingress are refused; a Service on other ports is not", () => {
    expect(checkResource(replicationNeverExposed, "kubernetes:core/v1:ConfigMap", { metadata: { name: "p" }, data: { "nginx.conf": "proxy_pass http://synapse-main-0:9093;" } })).toEqual(["p: nginx.conf proxies to the replication port"]);
    expect(checkResource(replicationNeverExposed, "kubernetes:networking.k8s.io/v1:Ingress", { metadata: { name: "i" } })).toEqual(["i: no Ingress: Synapse is reached through its HAProxy tier"]);
    expect(checkResource(replicationNeverExposed, "kubernetes:core/v1:Service", { metadata: { name: "s" }, spec: { type: "LoadBalancer", ports: [{ port: 443, targetPort: 8008 }] } })).toEqual([]);
    expect(checkResource(replicationNeverExposed, "kubernetes:core/v1:ConfigMap", { metadata: { name: "p" }, data: { "haproxy.cfg": "server a synapse-main-0:90930 check" } })).toEqual([]);
  });

  it("secrets: a `_file` setting and a variable are not literals; a Secret is not a ConfigMap", () => {
    expect(checkResource(noSecretsInConfigMaps, "kubernetes:core/v1:ConfigMap", { metadata: { name: "c" }, data: { "a.yaml": "signing_key_file: /secrets/signing.key\nmasterauth ${REDIS_PASSWORD}\n" } })).toEqual([]);
    expect(checkResource(noSecretsInConfigMaps, "kubernetes:core/v1:Secret", { metadata: { name: "c" }, data: { "a.yaml": "password: hunter2hunter2\n" } })).toEqual([]);
    expect(checkResource(noSecretsInConfigMaps, "kubernetes:core/v1:ConfigMap", { metadata: { name: "c" }, data: { "s.conf": "sentinel auth-pass mymaster $REDIS_PASSWORD\nmasterauth \"$REDIS_PASSWORD\"" } })).toEqual([]);
  });

  it.each([
    ["sentinel auth-pass mymaster s3cr3tvalue", "auth-pass"],
    ["requirepass hunter2hunter2", "requirepass"],
    ["masterauth   hunter2hunter2", "masterauth"],
    ["auth-pass=s3cr3tvalue", "auth-pass"],
  ])("secrets: Redis and Sentinel style `%s` is a literal", (line, key) => {
    expect(checkResource(noSecretsInConfigMaps, "kubernetes:core/v1:ConfigMap", { metadata: { name: "c" }, data: { "s.conf": line } })).toEqual([`c: s.conf sets ${key} to a literal value`]);
  });

  it("images: a container without an image is not pinned; an init container's image counts", () => {
    expect(checkResource(imagesPinned, "kubernetes:apps/v1:Deployment", deployment({ containers: [container({ image: undefined })] }))).toEqual(["x/c: image (none) is not pinned"]);
    expect(checkResource(imagesPinned, "kubernetes:batch/v1:Job", deployment({ containers: [container()], initContainers: [container({ name: "i", image: "busybox" })] }))).toEqual(["x/i: image busybox is not pinned"]);
  });

  it("budgets: a budget in another namespace or for other labels does not cover; one replica and Jobs need none", () => {
    const workload = { type: "kubernetes:apps/v1:StatefulSet", props: deployment({ containers: [container()] }, { app: "web", tier: "a" }, 2) };
    const pdb = (namespace: string, matchLabels: Obj) => ({ type: "kubernetes:policy/v1:PodDisruptionBudget", props: { metadata: { namespace }, spec: { maxUnavailable: 1, selector: { matchLabels } } } });
    expect(checkStack(disruptionBudgets, [workload, pdb("other", { app: "web" })])).toEqual(["x: 2 replicas and no PodDisruptionBudget"]);
    expect(checkStack(disruptionBudgets, [workload, pdb("matrix", { app: "api" })])).toEqual(["x: 2 replicas and no PodDisruptionBudget"]);
    expect(checkStack(disruptionBudgets, [workload, pdb("matrix", { app: "web" })])).toEqual([]);
    expect(checkStack(disruptionBudgets, [{ type: "kubernetes:apps/v1:Deployment", props: deployment({ containers: [container()] }, { app: "one" }, 1) }])).toEqual([]);
    expect(checkStack(disruptionBudgets, [{ type: "kubernetes:batch/v1:Job", props: deployment({ containers: [container()] }, { app: "job" }, 3) }])).toEqual([]);
  });
});

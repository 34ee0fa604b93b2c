/** The policy pack's policies, called directly (no engine): clean on the program, firing on bad objects. */
import type { PolicyResource, ReportViolation, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { describe, expect, it } from "vitest";
import { runProgram, type MockRun } from "../../bin/mock-runtime";
import {
  disruptionBudgets,
  imagesPinned,
  internetFacingListenersUseTls,
  noPrivilegedPods,
  noSecretsInConfigMaps,
  podsHaveRequestsAndLimits,
  POLICIES,
  replicationNeverExposed,
} from "../../policy/policies";
import { TIER_USERS, TIERS } from "../fixtures/seed";
import { SERVER_NAME, TEST_API_ACCESS_CIDRS } from "../helpers";

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

function programViolations(run: MockRun): string[] {
  const violations: string[] = [];
  for (const policy of POLICIES) {
    if ("validateResource" in policy) for (const r of run.resources) violations.push(...checkResource(policy, r.type, r.inputs).map((v) => `${policy.name}: ${v}`));
    else if ("validateStack" in policy) violations.push(...checkStack(policy, run.resources.map((r) => ({ type: r.type, props: r.inputs }))).map((v) => `${policy.name}: ${v}`));
  }
  return violations;
}

const CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d";

describe.each(TIERS.flatMap((t) => [[t, "kubernetes"], [t, "aws"]] as const))("tier %s, target %s", (tier, target) => {
  it("every policy passes on everything the program declares (AWS: with an ACM certificate)", async () => {
    const run = await runProgram({ ccu: TIER_USERS[tier]!, serverName: SERVER_NAME, target, ...(target === "aws" ? { aws: { certificateArn: CERTIFICATE, apiAccessCidrs: TEST_API_ACCESS_CIDRS } } : {}) });
    expect(programViolations(run)).toEqual([]);
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

describe("TLS on internet-facing listeners", () => {
  const LB = "service.beta.kubernetes.io/aws-load-balancer";
  const PUBLIC = { [`${LB}-scheme`]: "internet-facing" };
  const CERT = { [`${LB}-ssl-cert`]: "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d" };
  const HTTPS = { name: "https", port: 443, targetPort: 8443 };
  const HTTP = { name: "http", port: 80, targetPort: 8080 };
  const service = (annotations: Obj, ports: Obj[], spec: Obj = {}) => ({ metadata: { name: "s", annotations }, spec: { type: "LoadBalancer", ports, ...spec } });
  const check = (props: Obj, type = "kubernetes:core/v1:Service") => checkResource(internetFacingListenersUseTls, type, props);
  const PLAIN_80 = "s: port 80 (http) is internet-facing without TLS";

  it.each([
    ["TLS at the NLB on the listed port number", { ...PUBLIC, ...CERT, [`${LB}-ssl-ports`]: "443" }, [HTTPS]],
    ["TLS at the NLB on the listed port name", { ...PUBLIC, ...CERT, [`${LB}-ssl-ports`]: "https" }, [HTTPS]],
    ["a certificate that names no ports (TLS on every port)", { ...PUBLIC, ...CERT }, [HTTPS, HTTP]],
    ["a certificate for `*`", { ...PUBLIC, ...CERT, [`${LB}-ssl-ports`]: " * " }, [HTTPS, HTTP]],
    ["TLS at the NLB on 443, port 80 only redirecting", { ...PUBLIC, ...CERT, [`${LB}-ssl-ports`]: "443", "matrix-scale/redirect-only-ports": "80" }, [HTTPS, HTTP]],
    ["TLS passed through to the pods, port 80 only redirecting", { ...PUBLIC, "matrix-scale/tls": "passthrough", "matrix-scale/redirect-only-ports": "80" }, [HTTPS, HTTP]],
    ["redirect-only ports by name, in a list with spaces", { ...PUBLIC, ...CERT, [`${LB}-ssl-ports`]: "443", "matrix-scale/redirect-only-ports": "8080, http" }, [HTTPS, HTTP]],
    ["an explicit TCP protocol", { ...PUBLIC, ...CERT }, [{ ...HTTPS, protocol: "TCP" }]],
  ])("accepted: %s", (_what, annotations, ports) => {
    expect(check(service(annotations, ports))).toEqual([]);
  });

  it.each([
    ["a plain port beside TLS", { ...PUBLIC, ...CERT, [`${LB}-ssl-ports`]: "443" }, [HTTPS, HTTP], [PLAIN_80]],
    ["TLS ports without a certificate", { ...PUBLIC, [`${LB}-ssl-ports`]: "443,80" }, [HTTPS, HTTP], ["s: port 443 (https) is internet-facing without TLS", PLAIN_80]],
    ["redirect-only naming another port", { ...PUBLIC, ...CERT, [`${LB}-ssl-ports`]: "443", "matrix-scale/redirect-only-ports": "8080" }, [HTTPS, HTTP], [PLAIN_80]],
    ["an unknown TLS marker (and so no passthrough)", { ...PUBLIC, "matrix-scale/tls": "passthru" }, [HTTPS], ['s: matrix-scale/tls is "passthru"; only "passthrough" is understood', "s: port 443 (https) is internet-facing without TLS"]],
    ["UDP, even with a certificate for every port and passthrough", { ...PUBLIC, ...CERT, "matrix-scale/tls": "passthrough" }, [{ name: "turn", port: 3478, protocol: "UDP" }], ["s: port 3478 (turn) is internet-facing UDP, which carries no TLS"]],
    ["an unnamed plain port", PUBLIC, [{ port: 8448, targetPort: 8448 }], ["s: port 8448 is internet-facing without TLS"]],
    ["a scheme that is not `internal`", { [`${LB}-scheme`]: "public" }, [HTTP], [PLAIN_80]],
    ["no annotation (the in-tree provider's load balancers are public)", {}, [HTTP], [PLAIN_80]],
    ["the in-tree provider's internal annotation set to false", { [`${LB}-internal`]: "false" }, [HTTP], [PLAIN_80]],
    ["an in-tree NLB without a scheme", { [`${LB}-type`]: "nlb" }, [HTTP], [PLAIN_80]],
  ])("refused: %s", (_what, annotations, ports, expected) => {
    expect(check(service(annotations, ports))).toEqual(expected);
  });

  it("refused: a LoadBalancer Service with no annotations at all", () => {
    expect(check({ metadata: { name: "s" }, spec: { type: "LoadBalancer", ports: [HTTP] } })).toEqual([PLAIN_80]);
  });

  it.each([
    ["the internal scheme", { [`${LB}-scheme`]: "internal" }, {}],
    ["the controller's class without a scheme (it defaults to internal)", {}, { loadBalancerClass: "service.k8s.aws/nlb" }],
    ["the controller's `external` type without a scheme", { [`${LB}-type`]: "external" }, {}],
    ["the controller's legacy `nlb-ip` type without a scheme", { [`${LB}-type`]: "nlb-ip" }, {}],
    ["the in-tree provider's internal annotation", { [`${LB}-internal`]: "true" }, {}],
  ])("not internet-facing: %s", (_what, annotations, spec) => {
    expect(check(service(annotations, [HTTP], spec))).toEqual([]);
  });

  it("only LoadBalancer Services have listeners to check; one without ports has none", () => {
    expect(check({ metadata: { name: "s", annotations: PUBLIC }, spec: { type: "NodePort", ports: [HTTP] } })).toEqual([]);
    expect(check({ metadata: { name: "s", annotations: PUBLIC }, spec: { ports: [HTTP] } })).toEqual([]);
    expect(check(service(PUBLIC, [HTTP]), "kubernetes:apps/v1:Deployment")).toEqual([]);
    expect(check({ metadata: { name: "s", annotations: PUBLIC }, spec: { type: "LoadBalancer" } })).toEqual([]);
  });
});

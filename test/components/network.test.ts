/**
 * Network isolation under the mock runtime: what the program declares around its NetworkPolicies
 * (which pods they cover, the EKS settings that make them hold). Which connections the policies
 * allow is judged by an independent analyzer in test/integration/network-policies.test.ts.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runProgram, type DeclaredResource, type MockRun } from "../../bin/mock-runtime";
import { networkFlows } from "../../components/network/flows";
import { REDIS_SERVICES } from "../../components/redis";
import { TIER_USERS } from "../fixtures/seed";
import { onTarget, SERVER_NAME, TEST_API_ACCESS_CIDRS } from "../helpers";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;
const ofType = (run: MockRun, type: string) => run.resources.filter((r) => r.type === type);
const policies = (run: MockRun) => ofType(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy").map((r) => r.inputs as Obj);
const WORKLOADS = ["apps/v1:Deployment", "apps/v1:StatefulSet", "batch/v1:Job"].map((k) => `kubernetes:${k}`);
const templates = (run: MockRun): [DeclaredResource, Obj][] => run.resources.filter((r) => WORKLOADS.includes(r.type)).map((r) => [r, (r.inputs as Obj).spec.template]);
const selects = (selector: Obj, labels: Obj) => Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);

describe.each(["100", "20k"])("tier %s", (tier) => {
  let run: MockRun;
  const load = async () => (run ??= await runProgram({ ccu: TIER_USERS[tier]!, serverName: SERVER_NAME, ...onTarget("aws") }));

  it("each of the program's namespaces denies all ingress and egress by default and lets its pods resolve names", async () => {
    const all = policies(await load());
    for (const ns of ["matrix", "matrix-calls"]) {
      const deny = all.find((p) => p.metadata.namespace === ns && p.metadata.name === "default-deny")!;
      expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
      const dns = all.find((p) => p.metadata.namespace === ns && p.metadata.name === "allow-dns")!;
      expect(dns.spec.egress).toEqual([{ to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }], ports: [{ port: 53, protocol: "UDP" }, { port: 53, protocol: "TCP" }] }]);
    }
  });

  it("every pod that is not on the host network is selected by at least one allow policy of its namespace", async () => {
    const r = await load();
    const allow = policies(r).filter((p) => p.metadata.name.startsWith("allow-") && p.metadata.name !== "allow-dns");
    for (const [resource, template] of templates(r)) {
      if (template.spec.hostNetwork) continue;
      const ns = (resource.inputs as Obj).metadata.namespace;
      const covering = allow.filter((p) => p.metadata.namespace === ns && selects(p.spec.podSelector, template.metadata.labels));
      expect(covering.length, `${ns}/${(resource.inputs as Obj).metadata.name ?? resource.name}`).toBeGreaterThan(0);
    }
  });

  it("HAProxy reaches only the processes its configuration names as servers", async () => {
    const r = await load();
    const cfg = ofType(r, "kubernetes:core/v1:ConfigMap").map((c) => (c.inputs as Obj).data?.["haproxy.cfg"] as string | undefined).find((t) => t?.includes("backend main"))!;
    // Server hosts are `<pod>.<workload>.<ns>.svc…` (named processes) or `<workload>-routable.<ns>.svc…` (autoscaled).
    const named = [...cfg.matchAll(/ (synapse-[a-z-]+?)(?:-\d+\.\1|-routable)\.matrix\.svc/g)].map((m) => m[1]!);
    const routed = templates(r)
      .filter(([, t]) => t.metadata.labels["matrix-scale/http-routed"] === "true")
      .map(([res]) => (res.inputs as Obj).metadata.name as string);
    expect(named.length).toBeGreaterThan(3);
    expect([...new Set(routed)].sort()).toEqual([...new Set(named)].sort());
  });
});

describe("EKS enforces the policies and keeps pods off the node's credentials", () => {
  it("the VPC CNI runs its network policy agent; instance metadata answers one hop (the node, not its pods); the API is open only to the configured CIDRs", async () => {
    const run = await runProgram({ ccu: TIER_USERS["1k"]!, serverName: SERVER_NAME, ...onTarget("aws") });
    const cni = ofType(run, "aws:eks/addon:Addon").find((a) => (a.inputs as Obj).addonName === "vpc-cni")!.inputs as Obj;
    expect(JSON.parse(cni.configurationValues)).toEqual({ enableNetworkPolicy: "true" });
    for (const t of ofType(run, "aws:ec2/launchTemplate:LaunchTemplate")) expect((t.inputs as Obj).metadataOptions, t.name).toEqual({ httpTokens: "required", httpPutResponseHopLimit: 1 });
    const vpc = (ofType(run, "aws:eks/cluster:Cluster")[0]!.inputs as Obj).vpcConfig;
    expect(vpc).toMatchObject({ endpointPrivateAccess: true, endpointPublicAccess: true, publicAccessCidrs: TEST_API_ACCESS_CIDRS });

    const closed = await runProgram({ ccu: TIER_USERS["1k"]!, serverName: SERVER_NAME, target: "aws", aws: { ...(onTarget("aws").aws as Obj), apiAccessCidrs: [] } });
    const privateOnly = (ofType(closed, "aws:eks/cluster:Cluster")[0]!.inputs as Obj).vpcConfig;
    expect(privateOnly.endpointPublicAccess).toBe(false);
    expect(privateOnly.publicAccessCidrs).toBeUndefined();
  });
});

describe("docs/network.md", () => {
  it("lists every flow the program opens, with its reason", () => {
    const doc = readFileSync(join(__dirname, "..", "..", "docs", "network.md"), "utf8");
    const context = { namespace: "matrix", callHostsNamespace: "matrix-calls", operatorNamespace: "cnpg-system", redis: REDIS_SERVICES, callHostCidrs: [], apiServerCidrs: [] };
    // Backups to the in-cluster MinIO, an S3 bucket or an operator's store: the table lists every variant's flows.
    const stores = ["minio", "s3", { cidrs: ["198.51.100.0/24"], port: 443 }] as const;
    const flows = [...new Map(stores.flatMap((databaseBackups) => networkFlows({ ...context, databaseBackups })).map((f) => [f.why, f])).values()];
    // The flow table: from its header to the first line that is not a row.
    const lines = doc.split("\n");
    const start = lines.indexOf("| from | to | port | why |") + 2;
    const rows = lines.slice(start, start + lines.slice(start).findIndex((l) => !l.startsWith("| ")));
    for (const f of flows) expect(rows.some((r) => r.endsWith(`| ${f.why} |`)), f.why).toBe(true);
    expect(rows).toHaveLength(flows.length);
  });
});

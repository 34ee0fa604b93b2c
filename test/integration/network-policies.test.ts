/**
 * Network isolation, judged by an analyzer written apart from this project: network-config-analyzer
 * (PyPI) reads the rendered workloads and NetworkPolicies and lists every connection they allow.
 * That list must be exactly the connections the deployment needs, read from what each workload is
 * configured to reach (network/needed-flows.ts), never from the policies: every needed flow open,
 * everything else closed.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { runProgram } from "../../bin/mock-runtime";
import { MONITORING_NAMESPACE } from "../../components/naming";
import { TIER_USERS } from "../fixtures/seed";
import { onTarget } from "../helpers";
import { ROOT } from "./harness";
import { manifests, operatorStandIns, type Manifest } from "./kube/manifests";
import { INTERNET, neededFlows, type Endpoint, type NeededFlow, type World } from "./network/needed-flows";

const NCA = join(ROOT, ".cache", "venv-nca", "bin", "nca");
const OWN_NAMESPACES = ["matrix", "matrix-calls"];
const work = mkdtempSync(join(tmpdir(), "nca-"));
afterAll(() => process.env.KEEP_NCA ? undefined : rmSync(work, { recursive: true, force: true }));
const summary: string[] = [];
afterAll(() => console.log(["| case | needed flows (workload pairs and address ranges) | allowed by the analyzer | open but not needed |", "|---|---:|---:|---:|", ...summary].join("\n")));

/** Pods of namespaces the program does not isolate, as the charts label them (the analyzer needs someone to be). */
function foreignPods(world: World): Manifest[] {
  const deployment = (namespace: string, name: string, labels: Record<string, string>): Manifest => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace },
    spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name, image: "stand-in" }] } } },
  });
  return [
    // kube-prometheus-stack's Prometheus; the cloudnative-pg chart's operator (its selector label); CoreDNS.
    deployment(world.monitoringNamespace, "prometheus", { "app.kubernetes.io/name": "prometheus" }),
    deployment(world.operator.namespace, world.operator.name, { "app.kubernetes.io/name": "cloudnative-pg" }),
    deployment("kube-system", "kube-dns", { "k8s-app": "kube-dns" }),
  ];
}

interface Allowed {
  from: string;
  to: string;
  ports: string[];
}

/** Runs the analyzer; one line per allowed pair: `SRC => DST : CONN`, each end `ns/workload[Kind]` or an address range. */
function analyze(name: string, list: readonly Manifest[]): Allowed[] {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  const docs = (kinds: string[]) => list.filter((m) => kinds.includes(m.kind)).map((m) => stringify(m)).join("---\n");
  // Namespaces first: the analyzer labels a namespace only when it has read its object.
  const namespaces = [...new Set([...list.filter((m) => m.kind === "Namespace").map((m) => m.metadata.name), "kube-system"])];
  writeFileSync(join(dir, "namespaces.yaml"), namespaces.map((ns) => stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: { "kubernetes.io/metadata.name": ns } } })).join("---\n"));
  writeFileSync(join(dir, "workloads.yaml"), docs(["Deployment", "StatefulSet", "Job", "CronJob", "DaemonSet"]));
  writeFileSync(join(dir, "policies.yaml"), docs(["NetworkPolicy"]));
  const out = join(dir, "connectivity.txt");
  execFileSync(NCA, ["--connectivity", "-r", join(dir, "namespaces.yaml"), "-r", join(dir, "workloads.yaml"), "-r", join(dir, "policies.yaml"), "-o", "txt_no_fw_rules", "--output_endpoints", "pods", "-f", out], { stdio: "pipe", timeout: 120_000 });
  const text = readFileSync(out, "utf8");
  return text
    .split("\n")
    .filter((l) => l.includes(" => "))
    .map((line) => {
      const m = /^(.+?) => (.+?) : (.+)$/.exec(line.trim());
      if (!m) throw new Error(`unexpected analyzer line: ${line}`);
      return { from: m[1]!, to: m[2]!, ports: portKeys(m[3]!) };
    });
}

/** "All connections" or "{protocols:TCP, UDP,dst_ports:53,80-81}" as port keys. */
function portKeys(conn: string): string[] {
  if (conn === "All connections") return ["ALL"];
  const m = /^\{protocols:([A-Z, ]+)(?:,dst_ports:([0-9,-]+))?\}$/.exec(conn);
  if (!m) throw new Error(`unexpected connection: ${conn}`);
  const protocols = m[1]!.split(",").map((p) => p.trim());
  if (!m[2]) return protocols.map((p) => `${p}:*`);
  const ports = m[2].split(",").flatMap((r) => {
    const [a, b] = r.split("-").map(Number) as [number, number | undefined];
    return Array.from({ length: (b ?? a) - a + 1 }, (_, i) => a + i);
  });
  return protocols.flatMap((p) => ports.map((port) => `${p}:${port}`));
}

// A pod as the analyzer names it ("matrix/redis-synapse-1"): its workload ("matrix/redis-synapse").
const workloadOf = (pod: string) => pod.replace(/\[[A-Za-z]+\]$/, "").replace(/-[0-9a-z]{1,5}$/, "");
/** An address end: a range `a.b.c.d-e.f.g.h`, or one address. */
const isRange = (end: string) => /^\d+\.\d+\.\d+\.\d+(-\d+\.\d+\.\d+\.\d+)?$/.test(end);

const ip = (a: string) => a.split(".").reduce((n, o) => n * 256 + Number(o), 0);
function cidrRange(cidr: string): [number, number] {
  const [addr, bits] = cidr.split("/") as [string, string];
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(ip(addr) / size) * size;
  return [start, start + size - 1];
}
/** The addresses of an endpoint as disjoint ranges (its CIDRs minus its exceptions). */
function ranges(e: Endpoint): [number, number][] {
  let out = (e.cidrs ?? []).map(cidrRange);
  for (const ex of (e.except ?? []).map(cidrRange)) out = out.flatMap(([a, b]) => [...(a < ex[0] ? [[a, Math.min(b, ex[0] - 1)] as [number, number]] : []), ...(b > ex[1] ? [[Math.max(a, ex[1] + 1), b] as [number, number]] : [])]).filter(([a, b]) => a <= b);
  return out;
}
const covers = (outer: [number, number][], [a, b]: [number, number]) => {
  let at = a;
  for (const [x, y] of [...outer].sort((p, q) => p[0] - q[0])) if (x <= at && y >= at) at = y + 1;
  return at > b;
};
const rangeOf = (end: string): [number, number] => {
  const [from, to] = end.split("-") as [string, string | undefined];
  return [ip(from), ip(to ?? from)];
};
const allows = (ports: string[], key: string) => ports.includes("ALL") || ports.includes(key) || ports.includes(`${key.split(":")[0]}:*`);

const CASES = [
  { name: "tier 100, an existing cluster with its nodes in 10.20.0.0/16", raw: { ccu: TIER_USERS["100"]!, kubernetes: { nodeCidrs: ["10.20.0.0/16"] } }, nodes: ["10.20.0.0/16"], api: ["10.20.0.0/16"] },
  // The program's own VPC (10.42.0.0/16): call hosts in the public subnets (the upper half's first /20s). The API: EKS
  // gives Services 172.20.0.0/16 in a VPC of 10.0.0.0/8 (EKS user guide, "service-ipv4-cidr") and the `kubernetes`
  // Service takes its first address, which the VPC CNI judges before translating; the endpoint's interfaces are in the VPC.
  // An operator's S3-compatible store outside the cluster, named by its address (a documentation range, RFC 5737).
  {
    name: "tier 5k on an existing cluster, backups in an operator's store",
    raw: {
      ccu: TIER_USERS["5k"]!,
      kubernetes: { nodeCidrs: ["10.20.0.0/16"], backupStore: { endpoint: "https://198.51.100.7:9443", bucket: "example-pg-backups", credentialsSecret: "backup-store-keys", cidrs: ["198.51.100.7/32"] } },
    },
    nodes: ["10.20.0.0/16"],
    api: ["10.20.0.0/16"],
  },
  { name: "tier 20k on AWS, backups in an S3 bucket", raw: { ccu: TIER_USERS["20k"]!, ...onTarget("aws") }, nodes: ["10.42.128.0/20", "10.42.144.0/20", "10.42.160.0/20"], api: ["172.20.0.1/32", "10.42.0.0/16"] },
];

describe.each(CASES)("$name", ({ name, raw, nodes, api }) => {
  const world: World = { callHostCidrs: nodes, apiServerCidrs: api, monitoringNamespace: "monitoring", operator: { namespace: "cnpg-system", name: "cloudnative-pg" } };
  let needed: NeededFlow[];
  let allowed: Allowed[];

  it("the analyzer reads every workload and policy the program renders", async () => {
    const run = await runProgram({ serverName: "matrix.example.com", ...raw });
    // The monitoring namespace is not one the program isolates (its charts' pods live there): the log agent
    // in it is outside this analysis, like Prometheus, which reaches the program's pods as a foreign peer.
    const list = manifests(run.resources).filter((m) => !(m.kind === "DaemonSet" && m.metadata.namespace === MONITORING_NAMESPACE));
    const declared = [...list, ...operatorStandIns(list)];
    needed = neededFlows(declared, world);
    allowed = analyze(name.replace(/\W+/g, "-"), [...declared, ...foreignPods(world)]);
    expect(needed.length).toBeGreaterThan(20);
    expect(allowed.length).toBeGreaterThan(20);
  }, 300_000);

  /** The analyzer's pods of a workload, in any line. */
  const podsSeen = (workload: string) => new Set(allowed.flatMap((a) => [a.from, a.to]).filter((end) => !isRange(end) && workloadOf(end) === workload)).size;

  it("every connection the configuration needs is open", () => {
    const missing: string[] = [];
    for (const f of needed) {
      for (const key of f.ports) {
        if (f.from.cidrs || f.to.cidrs) {
          // Address ranges: the allowed ranges for this pod end and port together cover the needed ones.
          const podEnd = f.from.cidrs ? f.to.name : f.from.name;
          const lines = allowed.filter((a) => (f.from.cidrs ? isRange(a.from) && workloadOf(a.to) === podEnd : isRange(a.to) && workloadOf(a.from) === podEnd) && (key === "ALL" ? a.ports.includes("ALL") : allows(a.ports, key)));
          const open = lines.map((a) => rangeOf(f.from.cidrs ? a.from : a.to));
          for (const r of ranges(f.from.cidrs ? f.from : f.to)) if (!covers(open, r)) missing.push(`${f.from.name} => ${f.to.name} ${key} (${f.source})`);
        } else {
          const open = allowed.some((a) => workloadOf(a.from) === f.from.name && workloadOf(a.to) === f.to.name && allows(a.ports, key));
          // A workload's pods reach each other only when it has two: the analyzer then shows both.
          const onePod = f.from.name === f.to.name && podsSeen(f.from.name) < 2;
          if (!open && !onePod) missing.push(`${f.from.name} => ${f.to.name} ${key} (${f.source})`);
        }
      }
    }
    expect([...new Set(missing)]).toEqual([]);
  });

  it("everything else is closed: each connection the analyzer allows to or from the program's pods is one the configuration needs", () => {
    const own = (end: string) => OWN_NAMESPACES.includes(end.split("/")[0]!);
    const extra: string[] = [];
    for (const a of allowed.filter((x) => own(x.from) || own(x.to))) {
      // Host-network pods are outside every NetworkPolicy; their flows are judged from their nodes' addresses.
      if (a.from.startsWith("matrix-calls/") || a.to.startsWith("matrix-calls/")) continue;
      for (const key of a.ports) {
        const fits = needed.some((f) => {
          const portOk = f.ports.includes(key) || (key === "ALL" && f.ports.includes("ALL"));
          if (!portOk) return false;
          if (isRange(a.from)) return !!f.from.cidrs && f.to.name === workloadOf(a.to) && covers(ranges(f.from), rangeOf(a.from));
          if (isRange(a.to)) return !!f.to.cidrs && f.from.name === workloadOf(a.from) && covers(ranges(f.to), rangeOf(a.to));
          return f.from.name === workloadOf(a.from) && f.to.name === workloadOf(a.to);
        });
        if (!fits) extra.push(`${a.from} => ${a.to} ${key}`);
      }
    }
    const pairs = new Set(needed.map((f) => `${f.from.name} => ${f.to.name}`)).size;
    summary.push(`| ${name} | ${pairs} | ${allowed.filter((x) => own(x.from) || own(x.to)).length} | ${extra.length} |`);
    expect(extra).toEqual([]);
  });

  it("the internet reaches only the Synapse proxy, and Synapse and lk-jwt-service alone reach the internet (and the database when its backups go to S3)", () => {
    const fromOutside = allowed.filter((a) => isRange(a.from) && OWN_NAMESPACES.includes(a.to.split("/")[0]!) && !a.to.startsWith("matrix-calls/"));
    expect([...new Set(fromOutside.filter((a) => !covers(ranges({ name: "", cidrs: [...nodes, ...api] }), rangeOf(a.from))).map((a) => workloadOf(a.to)))]).toEqual(["matrix/synapse-haproxy"]);
    const publicRanges = ranges(INTERNET);
    const toInternet = allowed.filter((a) => isRange(a.to) && OWN_NAMESPACES.includes(a.from.split("/")[0]!) && !a.from.startsWith("matrix-calls/") && publicRanges.some(([x, y]) => rangeOf(a.to)[0] <= y && rangeOf(a.to)[1] >= x));
    const settings = raw as { aws?: { backupBucket?: string }; kubernetes?: { backupStore?: { endpoint: string } } };
    const storePort = settings.aws?.backupBucket ? "443" : settings.kubernetes?.backupStore ? new URL(settings.kubernetes.backupStore.endpoint).port : undefined;
    expect([...new Set(toInternet.map((a) => workloadOf(a.from).replace(/^matrix\/synapse-(?!haproxy).*/, "matrix/synapse")))].sort()).toEqual(["matrix/lk-jwt-service", ...(storePort ? ["matrix/postgres-instances"] : []), "matrix/synapse"]);
    if (storePort) {
      const ports = toInternet.filter((a) => workloadOf(a.from) === "matrix/postgres-instances").flatMap((a) => a.ports);
      expect(ports.length).toBeGreaterThan(0);
      expect(ports.every((p) => new RegExp(`\\b${storePort}$`).test(String(p))), ports.join(", ")).toBe(true);
    }
  });
});

/**
 * Every tier on a real control plane (etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler built from the pinned Kubernetes release; KWOK nodes): the program's objects are
 * accepted as sent (server-side apply, strict validation, PodSecurity), the controllers create
 * every pod, the real scheduler places them on nodes that report what the node model says an
 * EKS node of the plan's instance type reports, beside the cluster's DaemonSets, the pools are as full as
 * the plan says, and each pool loses its busiest node (drained through the eviction API) without
 * losing a service.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { N_MINUS_1_BY_RESCHEDULING } from "../../sizing/pools";
import { POOL_LABEL } from "../../sizing/inventory";
import type { Plan } from "../../sizing";
import type { Settings } from "../../sizing/settings";
import type { InventoryRole } from "../../sizing/types";
import { SERVER_TABLES, TIERS, WORKERS_9_1 } from "../fixtures/seed";
import {
  active,
  drainBusiest,
  loseZone,
  expectedPods,
  HOST_LABEL,
  ownerOf,
  poolReport,
  ZONE_LABEL,
  type ApplyResult,
  type DrainResult,
  type Pod,
  type PoolReport,
  type ZoneLoss,
} from "./kube/cluster";
import type { ControlPlane, KubeObject } from "./kube/control-plane";
import type { Manifest } from "./kube/manifests";
import { bootTier, servicesKept, SURVIVES, type BootedTier } from "./kube/tier";

const summary: string[] = [];

afterAll(() => {
  if (summary.length === 0) return;
  console.log(
    [
      "| tier | objects | pods | nodes | application | database | storage | calls | monitoring | N-1 (drained busiest node per pool) | zone lost: pods waiting | time |",
      "|---|---|---|---|---|---|---|---|---|---|---|---|",
      ...summary,
    ].join("\n"),
  );
});

describe.each(TIERS)("tier %s on a real control plane", (tier) => {
  let settings: Settings;
  let plan: Plan;
  let zones: string[];
  let cp: ControlPlane;
  let provisioner: BootedTier["provisioner"];
  let declared: Manifest[];
  let applied: ApplyResult;
  let pods: Pod[];
  let nodes: KubeObject[];
  let started = 0;
  const drains: DrainResult[] = [];
  let zoneLoss: ZoneLoss | undefined;

  beforeAll(async () => {
    started = Date.now();
    ({ settings, plan, zones, cp, provisioner, declared, applied, pods, nodes } = await bootTier(tier, `kube-${tier}`));
  }, 420_000);

  afterAll(async () => {
    provisioner?.stop();
    await cp?.stop();
    if (!pods) return;
    const pools = poolReport(nodes, pods);
    const usage = (role: string) => {
      const r = pools.find((p) => p.role === role);
      return r ? `${r.nodes} nodes, ${pct(r.requested.vcpu / r.allocatable.vcpu)} CPU / ${pct(r.requested.memoryGiB / r.allocatable.memoryGiB)} mem` : "-";
    };
    const n1 = drains.map((d) => `${d.role}: ${d.rescheduled}/${d.evicted} moved${d.waiting.length ? `, ${d.waiting.length} wait` : ""}`).join("; ");
    summary.push(`| ${tier} | ${applied.objects} | ${pods.length} | ${nodes.length} | ${usage("application")} | ${usage("database")} | ${usage("storage")} | ${usage("calls")} | ${usage("monitoring")} | ${n1} | ${zoneLoss ? `${zoneLoss.nodes} nodes: ${[...zoneLoss.workloads].filter(([, x]) => x.ready < x.replicas).map(([o, x]) => `${o.split("/")[1]} ${x.replicas - x.ready}`).join(", ") || "none"}` : "-"} | ${Math.round((Date.now() - started) / 1000)} s |`);
  }, 60_000);

  it("the API server accepts every object as the provider sends it, without a PodSecurity warning, and holds each one", () => {
    expect(applied.warnings).toEqual([]);
    const key = (o: { kind: string; metadata: { namespace?: string; name: string } }) => `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`;
    const kinds = [...new Set(declared.map((m) => m.kind))];
    const live = new Set(kinds.flatMap((kind) => cp.list(kind).map((o) => key({ ...o, kind }))));
    const missing = declared.map(key).filter((k) => !live.has(k));
    expect(missing).toEqual([]);
  });

  it("PodSecurity: the workloads' namespace enforces `restricted` (a host-network pod is refused); the call hosts' allows host networking", () => {
    const namespaces = new Map(cp.list("namespaces").map((n) => [n.metadata.name, n.metadata.labels?.["pod-security.kubernetes.io/enforce"]]));
    expect(namespaces.get(settings.kubernetes.namespace)).toBe("restricted");
    expect(namespaces.get(`${settings.kubernetes.namespace}-calls`)).toBe("privileged");
    const probe = { apiVersion: "v1", kind: "Pod", metadata: { name: "host-network-probe", namespace: settings.kubernetes.namespace }, spec: { hostNetwork: true, containers: [{ name: "c", image: "probe" }] } };
    const refused = cp.kubectl(["create", "--dry-run=server", "-f", "-"], JSON.stringify(probe));
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/violates PodSecurity "restricted:latest".*host namespaces/);
    const hostPods = active(pods).filter((p) => (p.spec as { hostNetwork?: boolean }).hostNetwork);
    // One host-network pod per call server: the seed's call-server count (3.2 … 7.2), except at 100
    // users, where the README's deviation runs 4 (one host per LiveKit and per coturn process).
    const callServers = tier === "100" ? 4 : seedCount(tier, "Call Servers");
    expect(hostPods.length).toBe(callServers);
    for (const p of hostPods) expect(p.metadata.namespace).toBe(`${settings.kubernetes.namespace}-calls`);
  });

  it("the controllers create every pod and the scheduler places all of them: none Pending", () => {
    expect(pods.length).toBe(expectedPods(declared));
    expect(pods.filter((p) => !p.spec.nodeName)).toEqual([]);
    // The HPAs' floors run the seed's 9.1 table: sync and generic workers per tier.
    const [sync, generic] = WORKERS_9_1[tier]!;
    for (const [name, count] of [["synapse-synchrotron", sync], ["synapse-generic-worker", generic]] as const) {
      expect(pods.filter((p) => ownerOf(p) === `${settings.kubernetes.namespace}/${name}`).length, name).toBe(count);
    }
  });

  it("every pod is on its pool, tolerated there, apart from its required anti-affinity peers, and spread over nodes", () => {
    const nodeByName = new Map(nodes.map((n) => [n.metadata.name, n]));
    for (const pod of active(pods)) {
      const node = nodeByName.get(pod.spec.nodeName!)!;
      const where = `${pod.metadata.namespace}/${pod.metadata.name} on ${node.metadata.name}`;
      for (const [key, value] of Object.entries(pod.spec.nodeSelector ?? {})) expect(node.metadata.labels?.[key], where).toBe(value);
      const taints = ((node.spec as { taints?: { key: string; value: string; effect: string }[] }).taints ?? []).filter((t) => t.effect === "NoSchedule");
      for (const t of taints) expect(pod.spec.tolerations?.some((tol) => tol.key === t.key && (tol.operator === "Exists" || tol.value === t.value)), where).toBe(true);
      for (const term of pod.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []) {
        const peers = active(pods).filter((other) => other !== pod && Object.entries(term.labelSelector.matchLabels).every(([k, v]) => other.metadata.labels?.[k] === v));
        const topology = (p: Pod) => nodeByName.get(p.spec.nodeName!)!.metadata.labels?.[term.topologyKey];
        for (const peer of peers) expect(topology(peer), `${where} and ${peer.metadata.name} share ${term.topologyKey}`).not.toBe(topology(pod));
      }
    }
    // No workload of two or more pods is on a single node or in a single zone.
    const byOwner = new Map<string, Pod[]>();
    for (const pod of active(pods)) byOwner.set(ownerOf(pod), [...(byOwner.get(ownerOf(pod)) ?? []), pod]);
    for (const [owner, members] of byOwner) {
      if (members.length < 2) continue;
      const spread = (label: string) => new Set(members.map((p) => nodeByName.get(p.spec.nodeName!)!.metadata.labels?.[label])).size;
      expect(spread(HOST_LABEL), `${owner} nodes`).toBeGreaterThanOrEqual(2);
      expect(spread(ZONE_LABEL), `${owner} zones`).toBeGreaterThanOrEqual(2);
    }
  });

  it("each pool carries exactly the requests the plan packed into it, within what its nodes report allocatable once the DaemonSets run", () => {
    const pools = poolReport(nodes, pods);
    for (const role of plan.inventory.map((r) => r.role).filter((r) => r !== "controlPlane")) {
      const measured = pools.find((p) => p.role === role) as PoolReport;
      const planned = plan.pools.find((p) => p.role === role)!;
      expect(measured.nodes, role).toBe(planned.nodes);
      expect(measured.requested.vcpu, role).toBeCloseTo(planned.requested.vcpu, 1);
      expect(measured.requested.memoryGiB, role).toBeCloseTo(planned.requested.memoryGiB, 1);
      expect(measured.requested.vcpu + measured.daemons.vcpu, role).toBeLessThanOrEqual(measured.allocatable.vcpu);
      expect(measured.requested.memoryGiB + measured.daemons.memoryGiB, role).toBeLessThanOrEqual(measured.allocatable.memoryGiB);
    }
  });

  it("each pool loses its busiest node (drain, PDBs honoured): pods without volumes move, volume-bound members keep their quorum", async () => {
    const withPods = [...new Set(active(pods).map((p) => nodes.find((n) => n.metadata.name === p.spec.nodeName)!.metadata.labels?.[POOL_LABEL]!))].sort();
    const volumeBound = new Set(declared.filter((m) => m.kind === "StatefulSet" && (m.spec as { volumeClaimTemplates?: unknown[] }).volumeClaimTemplates?.length).map((m) => `${m.metadata.namespace}/${m.metadata.name}`));
    const nodeCount = cp.list("nodes").length;
    for (const role of withPods) {
      // The pods on each node now, read before the drain picks its node.
      const onNode = new Map<string, number>();
      for (const p of active(cp.list<Pod>("pods"))) if (p.spec.nodeName) onNode.set(p.spec.nodeName, (onNode.get(p.spec.nodeName) ?? 0) + 1);
      const d = await drainBusiest(cp, role);
      drains.push(d);
      expect(d.evicted, `${role}: ${d.node} held ${onNode.get(d.node)} pods`).toBe(onNode.get(d.node));
      expect(d.rescheduled + d.waiting.length, `${role}: every evicted pod runs elsewhere or waits`).toBe(d.evicted);
      for (const w of d.workloads) {
        const waiting = d.waiting.filter((line) => line.startsWith(`${w.name}-`) || line.startsWith(`${w.name}:`));
        if (role === "monitoring") {
          // The seed's one monitoring server: its pods wait for it (docs/hardware.md: monitoring survives nothing).
          expect(w.ready, `${role}: ${w.name}`).toBe(0);
          for (const line of waiting) for (const reason of schedulerReasons(line).byReason.keys()) expect(reason, line).toMatch(WAITING_FOR_ITS_NODE);
        } else if (N_MINUS_1_BY_RESCHEDULING.has(role as InventoryRole) && !volumeBound.has(w.name)) {
          // A pool that survives by rescheduling: every pod without a volume runs again elsewhere.
          expect(waiting, `${role}: ${w.name}`).toEqual([]);
          expect(w.ready, `${role}: ${w.name}`).toBe(w.replicas);
        } else {
          // One member per node (or a zonal volume): the replacement may wait for its node or zone, the rest serve.
          expect(w.ready, `${role}: ${w.name} keeps all but one`).toBeGreaterThanOrEqual(w.replicas - 1);
          expect(w.ready, `${role}: ${w.name} keeps serving`).toBeGreaterThanOrEqual(1);
          for (const line of waiting) {
            const reasons = schedulerReasons(line);
            expect(reasons.total, `${line}: every node accounted for`).toBe(nodeCount);
            // The cordoned node is the only one refused as unschedulable; every other node is ruled out
            // by the pod's own placement: its pool, its volume's zone, its anti-affinity peers, or room.
            expect(reasons.byReason.get("were unschedulable"), line).toBe(1);
            for (const reason of reasons.byReason.keys()) expect(reason, `${role}: ${w.name} waits only for its node or its volume's zone`).toMatch(WAITING_FOR_ITS_NODE);
          }
        }
      }
    }
    expect(drains.map((d) => d.role)).toEqual(withPods);
  }, 900_000);

  it("a zone goes (every node of it deleted): each service keeps serving exactly where docs/hardware.md says it survives a zone", async () => {
    zoneLoss = await loseZone(cp, zones[0]!);
    const claims = SURVIVES[tier]!;
    const observed = servicesKept(plan, settings.kubernetes.namespace, zoneLoss.workloads);
    expect(Object.keys(observed).sort()).toEqual(Object.keys(claims).sort());
    for (const [service, keeps] of Object.entries(observed)) expect(keeps, `${tier} ${service} after losing ${zoneLoss.zone} (${zoneLoss.nodes} nodes); waiting: ${zoneLoss.waiting.join("; ") || "none"}`).toBe(claims[service]!.includes("zone"));
  }, 600_000);
});

/** Why the scheduler rules out nodes when a pod's own node is cordoned (kube-scheduler's filter messages). */
const WAITING_FOR_ITS_NODE = /^(were unschedulable|didn't match Pod's node affinity\/selector|had untolerated taint.*|had volume node affinity conflict|didn't match PersistentVolume's node affinity|didn't match pod anti-affinity rules|didn't satisfy existing pods anti-affinity rules|didn't match pod topology spread constraints|Insufficient (cpu|memory)|didn't have free ports for the requested pod ports)$/;

/**
 * The node counts per reason in a FailedScheduling message, e.g. "0/17 nodes are available:
 * 1 node(s) were unschedulable, 16 node(s) didn't match Pod's node affinity/selector. no new claims
 * to deallocate, preemption: …" (only the part before the first full stop lists the filters).
 */
function schedulerReasons(line: string): { total: number; byReason: Map<string, number> } {
  const match = /(\d+)\/(\d+) nodes are available: (.*?)\.(?: |$)/.exec(line);
  if (!match) throw new Error(`not a scheduler message: ${line}`);
  const byReason = new Map<string, number>();
  let counted = 0;
  for (const part of match[3]!.split(", ")) {
    const m = /^(\d+) (?:node\(s\) )?(.*)$/.exec(part);
    if (!m) throw new Error(`unexpected reason "${part}" in: ${line}`);
    const reason = m[2]!.replace(/\{[^}]*\}/, "").trim();
    byReason.set(reason, (byReason.get(reason) ?? 0) + Number(m[1]));
    counted += Number(m[1]);
  }
  // A node refused by one filter for two resources is counted under both, so the sum may exceed the nodes.
  return { total: Math.min(counted, Number(match[2])), byReason };
}

function seedCount(tier: string, role: string): number {
  return SERVER_TABLES[tier]!.find(([name]) => name === role)![1];
}

function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}

/**
 * Every tier on a real control plane (etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler built from the pinned Kubernetes release; KWOK nodes): the program's objects are
 * accepted as sent (server-side apply, strict validation, PodSecurity), the controllers create
 * every pod, the real scheduler places them on nodes made from the plan, the pools are as full as
 * the plan says, and each pool loses its busiest node (drained through the eviction API) without
 * losing a service.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runProgram } from "../../bin/mock-runtime";
import { defaultZones } from "../../components/nodepools/network";
import { N_MINUS_1_BY_RESCHEDULING } from "../../sizing/pools";
import { nodeGroups, POOL_LABEL } from "../../sizing/inventory";
import { parseSettings, plan as planOf, type Plan } from "../../sizing";
import type { InventoryRole } from "../../sizing/types";
import { TIER_USERS, TIERS } from "../fixtures/seed";
import { SERVER_NAME } from "../helpers";
import {
  active,
  addNodes,
  applyManifests,
  drainBusiest,
  expectedPods,
  HOST_LABEL,
  nodesFor,
  ownerOf,
  plannedPool,
  poolReport,
  startZonalProvisioner,
  waitForPlacement,
  ZONE_LABEL,
  type ApplyResult,
  type DrainResult,
  type Pod,
  type PoolReport,
} from "./kube/cluster";
import { ControlPlane, type KubeObject } from "./kube/control-plane";
import { manifests, operatorStandIns, type Manifest } from "./kube/manifests";

const summary: string[] = [];

afterAll(() => {
  if (summary.length === 0) return;
  console.log(
    [
      "| tier | objects | pods | nodes | application | database | storage | calls | N-1 (drained busiest node per pool) | time |",
      "|---|---|---|---|---|---|---|---|---|---|",
      ...summary,
    ].join("\n"),
  );
});

describe.each(TIERS)("tier %s on a real control plane", (tier) => {
  const raw = { ccu: TIER_USERS[tier]!, serverName: SERVER_NAME, target: "aws" };
  const settings = parseSettings(raw);
  const zones = defaultZones(settings.aws.region);
  let plan: Plan;
  let cp: ControlPlane;
  let provisioner: ReturnType<typeof startZonalProvisioner>;
  let declared: Manifest[];
  let applied: ApplyResult;
  let pods: Pod[];
  let nodes: KubeObject[];
  let started = 0;
  const drains: DrainResult[] = [];

  beforeAll(async () => {
    started = Date.now();
    plan = planOf(settings);
    const run = await runProgram(raw);
    const list = manifests(run.resources);
    declared = [...list, ...operatorStandIns(list)];
    cp = await ControlPlane.start(`kube-${tier}`);
    provisioner = startZonalProvisioner(cp);
    await addNodes(cp, nodesFor(nodeGroups(plan), zones));
    applied = await applyManifests(cp, declared);
    pods = await waitForPlacement(cp, expectedPods(declared), 240_000);
    nodes = cp.list("nodes");
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
    summary.push(`| ${tier} | ${applied.objects} | ${pods.length} | ${nodes.length} | ${usage("application")} | ${usage("database")} | ${usage("storage")} | ${usage("calls")} | ${n1} | ${Math.round((Date.now() - started) / 1000)} s |`);
  }, 60_000);

  it("the API server accepts every object as the provider sends it, without a PodSecurity warning", () => {
    expect(applied.objects).toBeGreaterThan(declared.length);
    expect(applied.warnings).toEqual([]);
    for (const kind of ["StatefulSet", "Deployment", "Service", "Secret", "ConfigMap", "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy", "StorageClass"]) {
      const live = cp.list(kind).filter((o) => o.metadata.namespace !== "default" && o.metadata.namespace !== "kube-system");
      const wanted = declared.filter((m) => m.kind === kind).map((m) => `${m.metadata.namespace ?? ""}/${m.metadata.name}`);
      expect(live.map((o) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`).sort(), kind).toEqual(expect.arrayContaining(wanted));
    }
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
    expect(hostPods.length).toBe(plan.livekit.instances + plan.coturn.instances);
    for (const p of hostPods) expect(p.metadata.namespace).toBe(`${settings.kubernetes.namespace}-calls`);
  });

  it("the controllers create every pod and the scheduler places all of them: none Pending", () => {
    expect(pods.length).toBe(expectedPods(declared));
    expect(pods.filter((p) => !p.spec.nodeName)).toEqual([]);
    // The HPAs' floors are the plan's base replicas for the stateless Synapse workers.
    for (const type of ["synchrotron", "generic"] as const) {
      const name = type === "generic" ? "synapse-generic-worker" : "synapse-synchrotron";
      expect(pods.filter((p) => ownerOf(p) === `${settings.kubernetes.namespace}/${name}`).length, name).toBe(plan.synapse.workers[type].replicas);
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

  it("each pool carries exactly the requests the plan packed into it, within its allocatable", () => {
    const pools = poolReport(nodes, pods);
    for (const role of plan.inventory.map((r) => r.role).filter((r) => r !== "controlPlane")) {
      const measured = pools.find((p) => p.role === role) as PoolReport;
      const planned = plannedPool(plan, role);
      expect(measured.nodes, role).toBe(planned.nodes);
      expect(measured.requested.vcpu, role).toBeCloseTo(planned.requested.vcpu, 1);
      expect(measured.requested.memoryGiB, role).toBeCloseTo(planned.requested.memoryGiB, 1);
      expect(measured.requested.vcpu, role).toBeLessThanOrEqual(measured.allocatable.vcpu);
      expect(measured.requested.memoryGiB, role).toBeLessThanOrEqual(measured.allocatable.memoryGiB);
    }
  });

  it("each pool loses its busiest node (drain, PDBs honoured): pods without volumes move, volume-bound members keep their quorum", async () => {
    const withPods = [...new Set(active(pods).map((p) => nodes.find((n) => n.metadata.name === p.spec.nodeName)!.metadata.labels?.[POOL_LABEL]!))].sort();
    const volumeBound = new Set(declared.filter((m) => m.kind === "StatefulSet" && (m.spec as { volumeClaimTemplates?: unknown[] }).volumeClaimTemplates?.length).map((m) => `${m.metadata.namespace}/${m.metadata.name}`));
    for (const role of withPods) {
      const d = await drainBusiest(cp, role);
      drains.push(d);
      expect(d.evicted, `${role}: ${d.node} held pods`).toBeGreaterThan(0);
      for (const w of d.workloads) {
        const waiting = d.waiting.filter((line) => line.startsWith(`${w.name}-`) || line.startsWith(`${w.name}:`));
        if (N_MINUS_1_BY_RESCHEDULING.has(role as InventoryRole) && !volumeBound.has(w.name)) {
          // A pool that survives by rescheduling: every pod without a volume runs again elsewhere.
          expect(waiting, `${role}: ${w.name}`).toEqual([]);
          expect(w.ready, `${role}: ${w.name}`).toBe(w.replicas);
        } else {
          // One member per node (or a zonal volume): the replacement may wait for its node or zone, the rest serve.
          expect(w.ready, `${role}: ${w.name} keeps all but one`).toBeGreaterThanOrEqual(w.replicas - 1);
          expect(w.ready, `${role}: ${w.name} keeps serving`).toBeGreaterThanOrEqual(1);
          for (const line of waiting) expect(line, `${role}: ${w.name} waits only for its node or its volume's zone`).toMatch(/node affinity|PersistentVolume's node affinity|anti-affinity|Insufficient|free ports|unschedulable/);
        }
      }
    }
    expect(drains.map((d) => d.role)).toEqual(withPods);
  }, 900_000);
});

function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}

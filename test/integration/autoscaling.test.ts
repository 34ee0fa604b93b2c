/**
 * Autoscaling that fires, judged by the real kube-controller-manager's HPA controller on the real
 * control plane: a 5K stack's synchrotron and generic-worker Deployments with the HPAs the program
 * declares, on KWOK nodes of the application pool, and the CPU each pod uses fed through the
 * resource metrics API (a stand-in for metrics-server, through the API server's aggregation layer:
 * kube/metrics-api.ts). The CPU fed is what `npm run bench:synapse` measured one process using at
 * the latency limit (sizing/measured.ts), not anything the plan derives.
 *
 * Three copies of the workloads run side by side, each in its own namespace:
 * - the program's HPAs, every pod at the measured CPU at the latency limit: they must scale up, at
 *   the pace of the declared behaviour, to their maximum and no further;
 * - the program's synchrotron HPA, every pod at half that load: no pod is added;
 * - the same synchrotron with the seed's HPA (70% CPU), at the latency limit: it never fires (the
 *   defect this target replaces), although the controller reads the metric.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runProgram, type MockRun } from "../../bin/mock-runtime";
import { parseSettings, plan as planOf } from "../../sizing";
import { nodeGroups } from "../../sizing/inventory";
import { MEASURED_CAPACITY } from "../../sizing/measured";
import type { Plan } from "../../sizing/types";
import { HPA_2_5, TIER_USERS } from "../fixtures/seed";
import { onTarget, SERVER_NAME } from "../helpers";
import { freePort, waitFor } from "./harness";
import { addNodes, applyManifests, isReady, nodesFor, testZones, type Pod } from "./kube/cluster";
import { ControlPlane, type KubeObject } from "./kube/control-plane";
import { manifests, type Manifest } from "./kube/manifests";
import { startMetricsApi, type MetricsApi } from "./kube/metrics-api";

const NAMESPACE = "matrix";
const QUIET = "quiet-load";
const SEED = "seed-target";
/** The seed's HPA target (section 2.5). */
const SEED_TARGET = HPA_2_5.averageUtilization;
/** kube-controller-manager's --horizontal-pod-autoscaler-sync-period (its default; the control plane sets none). */
const HPA_SYNC_SECONDS = 15;
const raw = { ccu: TIER_USERS["5k"]!, serverName: SERVER_NAME, ...onTarget("aws") };
const AUTOSCALED = { synchrotron: "synapse-synchrotron", generic: "synapse-generic-worker" } as const;

interface Hpa extends KubeObject {
  spec: { minReplicas: number; maxReplicas: number; scaleTargetRef: { name: string }; metrics: { resource: { target: { averageUtilization: number } } }[] };
  status?: { currentReplicas?: number; desiredReplicas?: number; currentMetrics?: { resource?: { current?: { averageUtilization?: number } } }[] };
}

/** The objects an autoscaled type needs to run, moved to another namespace (and its HPA's target changed). */
function copyInto(list: readonly Manifest[], namespace: string, names: readonly string[], target?: number): Manifest[] {
  const moved = (m: Manifest): Manifest => ({ ...m, metadata: { ...m.metadata, namespace } });
  const hpa = (m: Manifest): Manifest => {
    if (target === undefined) return moved(m);
    const spec = m.spec as Hpa["spec"];
    return moved({ ...m, spec: { ...spec, metrics: [{ ...spec.metrics[0]!, resource: { ...spec.metrics[0]!.resource, target: { ...spec.metrics[0]!.resource.target, averageUtilization: target } } }] } });
  };
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
    ...list.filter((m) => m.kind === "ServiceAccount" && m.metadata.namespace === NAMESPACE).map(moved),
    ...list.filter((m) => m.kind === "Deployment" && names.includes(m.metadata.name)).map(moved),
    ...list.filter((m) => m.kind === "HorizontalPodAutoscaler" && names.includes(m.metadata.name)).map(hpa),
  ];
}

describe("autoscaling on the real controller manager, fed the CPU one Synapse process was measured using at the latency limit", () => {
  let cp: ControlPlane;
  let run: MockRun;
  let metrics: MetricsApi;
  let plan: Plan;
  const loadSince = { at: 0 };
  /** Namespace → CPU (cores) each Synapse container uses; 0 until the load starts. */
  const load = new Map<string, Record<string, number>>();
  /** Samples of every HPA's replicas. */
  const samples: { at: number; namespace: string; name: string; current: number; desired: number; utilisation?: number }[] = [];
  let sampler: NodeJS.Timeout | undefined;

  const hpas = (namespace: string) => cp.list<Hpa>("hpa", namespace);
  const readyPods = (namespace: string, deployment: string) =>
    cp.list<Pod>("pods", namespace).filter((p) => !p.metadata.deletionTimestamp && p.metadata.name.startsWith(`${deployment}-`) && isReady(p)).length;

  beforeAll(async () => {
    run = await runProgram(raw);
    plan = planOf(parseSettings(raw));
    cp = await ControlPlane.start("autoscaling");
    const settings = parseSettings(raw);
    await addNodes(cp, nodesFor(nodeGroups(plan).filter((g) => g.row.role === "application"), testZones(settings.aws.region)));
    metrics = await startMetricsApi(cp, await freePort(), (pod, container) => {
      if (container !== "synapse") return 0;
      const type = Object.entries(AUTOSCALED).find(([, name]) => pod.metadata.name.startsWith(`${name}-`))?.[0];
      return type ? (load.get(pod.metadata.namespace!)?.[type] ?? 0) : 0;
    });
  }, 300_000);
  afterAll(async () => {
    clearInterval(sampler);
    await metrics?.stop();
    await cp?.stop();
  }, 60_000);

  it("the program's HPAs are applied with the plan's targets; every Deployment comes up at its minimum", async () => {
    const list = manifests(run.resources);
    const names = Object.values(AUTOSCALED);
    const declared = list.filter((m) => m.kind === "HorizontalPodAutoscaler").map((m) => m.metadata.name).sort();
    expect(declared).toEqual([...names].sort());
    await applyManifests(cp, [
      ...list.filter((m) => m.kind === "PriorityClass"),
      ...copyInto(list, NAMESPACE, names),
      ...copyInto(list, QUIET, [AUTOSCALED.synchrotron]),
      ...copyInto(list, SEED, [AUTOSCALED.synchrotron], SEED_TARGET),
    ]);
    const minimum = (type: keyof typeof AUTOSCALED) => plan.synapse.workers[type].replicas;
    const expected: [string, string, number][] = [
      [NAMESPACE, AUTOSCALED.synchrotron, minimum("synchrotron")],
      [NAMESPACE, AUTOSCALED.generic, minimum("generic")],
      [QUIET, AUTOSCALED.synchrotron, minimum("synchrotron")],
      [SEED, AUTOSCALED.synchrotron, minimum("synchrotron")],
    ];
    await waitFor("every Deployment at its HPA minimum, every pod ready", async () => (expected.every(([ns, name, n]) => readyPods(ns, name) === n) ? true : undefined), 180_000, 1000);
    // The plan's target, read back from what the API server holds.
    const target = (ns: string, name: string) => hpas(ns).find((h) => h.metadata.name === name)!.spec.metrics[0]!.resource.target.averageUtilization;
    expect(target(NAMESPACE, AUTOSCALED.synchrotron)).toBe(plan.synapse.workers.synchrotron.hpaTargetCpuUtilisation);
    expect(target(SEED, AUTOSCALED.synchrotron)).toBe(SEED_TARGET);
  }, 300_000);

  it("at the measured load the program's HPAs scale up to their maximum at the declared pace; half that load and the seed's target add nothing", async () => {
    const atLimit = { synchrotron: MEASURED_CAPACITY.synchrotron.cpuAtLatencyLimit, generic: MEASURED_CAPACITY.generic.cpuAtLatencyLimit };
    load.set(NAMESPACE, atLimit);
    load.set(SEED, atLimit);
    load.set(QUIET, { synchrotron: atLimit.synchrotron / 2 });
    loadSince.at = Date.now();
    sampler = setInterval(() => {
      for (const ns of [NAMESPACE, QUIET, SEED]) {
        for (const h of hpas(ns)) {
          samples.push({ at: Date.now() - loadSince.at, namespace: ns, name: h.metadata.name, current: h.status?.currentReplicas ?? 0, desired: h.status?.desiredReplicas ?? 0, utilisation: h.status?.currentMetrics?.[0]?.resource?.current?.averageUtilization });
        }
      }
    }, 2000);
    const { synchrotron, generic } = plan.synapse.workers;
    await waitFor("the program's HPAs at their maximum, every pod ready", async () =>
      readyPods(NAMESPACE, AUTOSCALED.synchrotron) === synchrotron.maxReplicas && readyPods(NAMESPACE, AUTOSCALED.generic) === generic.maxReplicas ? true : undefined,
    420_000, 2000);
    // One more sync period (15 s) and its margin: nothing goes beyond the maximum.
    await new Promise((r) => setTimeout(r, 20_000));
    clearInterval(sampler);

    const of = (ns: string, name: string) => samples.filter((s) => s.namespace === ns && s.name === name);
    const firstAbove = (ns: string, name: string, min: number) => of(ns, name).find((s) => s.desired > min);
    const upSynchrotron = firstAbove(NAMESPACE, AUTOSCALED.synchrotron, synchrotron.replicas);
    const upGeneric = firstAbove(NAMESPACE, AUTOSCALED.generic, generic.replicas);
    expect(upSynchrotron, "the synchrotron HPA scaled up").toBeDefined();
    expect(upGeneric, "the generic-worker HPA scaled up").toBeDefined();
    // The scale-up stabilisation window holds the first step back: the last recommendation made
    // before the load leaves the window at most one sync period (15 s) after the load began.
    // Then at most `pods` per period.
    const { scaleUp } = plan.synapse.autoscaling;
    expect(upSynchrotron!.at).toBeGreaterThanOrEqual((scaleUp.stabilizationWindowSeconds - HPA_SYNC_SECONDS) * 1000 - 2000);
    expect(upSynchrotron!.desired - synchrotron.replicas).toBeLessThanOrEqual(scaleUp.pods);
    expect(Math.max(...of(NAMESPACE, AUTOSCALED.synchrotron).map((s) => s.desired))).toBe(synchrotron.maxReplicas);
    expect(Math.max(...of(NAMESPACE, AUTOSCALED.generic).map((s) => s.desired))).toBe(generic.maxReplicas);

    // The controller read the fed CPU everywhere (a silent HPA would pass the checks below for nothing).
    const read = (ns: string) => of(ns, AUTOSCALED.synchrotron).filter((s) => s.utilisation !== undefined).at(-1)?.utilisation;
    // The controller's integer percentage of the millicores fed over the request.
    const percent = (cores: number) => Math.floor((100 * Math.round(cores * 1000)) / (synchrotron.resources.requests.vcpu * 1000));
    expect(read(SEED)).toBe(percent(atLimit.synchrotron));
    expect(read(QUIET)).toBe(percent(atLimit.synchrotron / 2));
    expect(Math.max(...of(QUIET, AUTOSCALED.synchrotron).map((s) => s.desired)), "half the load adds no pod").toBe(synchrotron.replicas);
    expect(Math.max(...of(SEED, AUTOSCALED.synchrotron).map((s) => s.desired)), "the seed's 70% target never fires").toBe(synchrotron.replicas);
    expect(metrics.reads.get(SEED) ?? 0).toBeGreaterThan(0);

    const maxAt = (ns: string, name: string, max: number) => of(ns, name).find((s) => s.desired === max)!.at;
    console.log(
      `HPA on the real controller manager, 5K, fed ${atLimit.synchrotron} / ${atLimit.generic} cores per pod (measured at the latency limit): ` +
        `synchrotron ${synchrotron.replicas} → ${upSynchrotron!.desired} at ${(upSynchrotron!.at / 1000).toFixed(0)} s, ${synchrotron.maxReplicas} at ${(maxAt(NAMESPACE, AUTOSCALED.synchrotron, synchrotron.maxReplicas) / 1000).toFixed(0)} s ` +
        `(target ${synchrotron.hpaTargetCpuUtilisation}%, read ${read(NAMESPACE) ?? "?"}%); generic ${generic.replicas} → ${generic.maxReplicas} at ${(maxAt(NAMESPACE, AUTOSCALED.generic, generic.maxReplicas) / 1000).toFixed(0)} s; ` +
        `seed's 70% target read ${read(SEED)}% and stayed at ${synchrotron.replicas}; half the load read ${read(QUIET)}% and stayed`,
    );
  }, 600_000);
});

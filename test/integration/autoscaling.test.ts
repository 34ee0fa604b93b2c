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
 *   the pace of the declared behaviour, to their maximum;
 * - the program's synchrotron HPA, every pod at half that load: no pod is added;
 * - the synchrotron as the seed sizes it (2 vCPU) with the seed's HPA (70% CPU), at the latency
 *   limit: it never fires (the defect this replaces), although the controller reads the metric.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runProgram, type MockRun } from "../../bin/mock-runtime";
import { parseSettings, plan as planOf } from "../../sizing";
import { nodeGroups } from "../../sizing/inventory";
import { WORKER_NAMES } from "../../sizing/synapse";
import { MEASURED_CAPACITY } from "../../sizing/measured";
import type { Plan } from "../../sizing/types";
import { HPA_2_5, SYNAPSE_RESOURCES, TIER_USERS, vcpu } from "../fixtures/seed";
import { onTarget, SERVER_NAME } from "../helpers";
import { freePort, waitFor } from "./harness";
import { addNodes, applyManifests, isReady, nodesFor, ownerOf, testZones, type Pod } from "./kube/cluster";
import { ControlPlane, type KubeObject } from "./kube/control-plane";
import { manifests, type Manifest } from "./kube/manifests";
import { startMetricsApi, type MetricsApi } from "./kube/metrics-api";

const NAMESPACE = "matrix";
const QUIET = "quiet-load";
const SEED = "seed-target";
/** The seed's HPA target (section 2.5). */
const SEED_TARGET = HPA_2_5.averageUtilization;
/** The seed's 5K synchrotron (its "Component Configuration → Synapse" block). */
const SEED_SYNCHROTRON_CPU = vcpu(SYNAPSE_RESOURCES["5k"]!.sync[0]);
const raw = { ccu: TIER_USERS["5k"]!, serverName: SERVER_NAME, ...onTarget("aws") };
const AUTOSCALED = { synchrotron: WORKER_NAMES.synchrotron, generic: WORKER_NAMES.generic } as const;

interface Hpa extends KubeObject {
  spec: { minReplicas: number; maxReplicas: number; scaleTargetRef: { name: string }; metrics: { resource: { target: { averageUtilization: number } } }[] };
  status?: { currentReplicas?: number; desiredReplicas?: number; currentMetrics?: { resource?: { current?: { averageUtilization?: number } } }[] };
}

interface Container {
  name: string;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
}

/** The seed's pods: the Synapse container with the seed section's CPU. */
function withSeedCpu(m: Manifest, cpu: number): Manifest {
  const spec = m.spec as { template: { spec: { containers: Container[] } } };
  const containers = spec.template.spec.containers.map((c) =>
    c.name === "synapse" ? { ...c, resources: { requests: { ...c.resources.requests, cpu: String(cpu) }, limits: { ...c.resources.limits, cpu: String(cpu) } } } : c,
  );
  return { ...m, spec: { ...spec, template: { ...spec.template, spec: { ...spec.template.spec, containers } } } };
}

/** The objects an autoscaled type needs to run, moved to another namespace (and, as the seed has them, its HPA's target and its pods' CPU). */
function copyInto(list: readonly Manifest[], namespace: string, names: readonly string[], seed?: { target: number; cpu: number }): Manifest[] {
  const moved = (m: Manifest): Manifest => ({ ...m, metadata: { ...m.metadata, namespace } });
  const target = seed?.target;
  const hpa = (m: Manifest): Manifest => {
    if (target === undefined) return moved(m);
    const spec = m.spec as Hpa["spec"];
    return moved({ ...m, spec: { ...spec, metrics: [{ ...spec.metrics[0]!, resource: { ...spec.metrics[0]!.resource, target: { ...spec.metrics[0]!.resource.target, averageUtilization: target } } }] } });
  };
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
    ...list.filter((m) => m.kind === "ServiceAccount" && m.metadata.namespace === NAMESPACE).map(moved),
    ...list.filter((m) => m.kind === "Deployment" && names.includes(m.metadata.name)).map((m) => moved(seed ? withSeedCpu(m, seed.cpu) : m)),
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
  /** Samples of every HPA's replicas (ms since the load began). */
  const samples: { at: number; namespace: string; name: string; current: number; desired: number; utilisation?: number }[] = [];
  const utilisationOf = (h: Hpa) => h.status?.currentMetrics?.[0]?.resource?.current?.averageUtilization;
  let sampler: NodeJS.Timeout | undefined;

  const hpas = (namespace: string) => cp.list<Hpa>("hpa", namespace);
  const deploymentSelector = (namespace: string, name: string) =>
    (JSON.parse(cp.must(["get", "deployment", name, "-n", namespace, "-o", "json"])) as { spec: { selector: { matchLabels: Record<string, string> } } }).spec.selector.matchLabels;
  const readyPods = (namespace: string, deployment: string) =>
    cp.list<Pod>("pods", namespace).filter((p) => !p.metadata.deletionTimestamp && ownerOf(p) === `${namespace}/${deployment}` && isReady(p)).length;

  beforeAll(async () => {
    run = await runProgram(raw);
    const settings = parseSettings(raw);
    plan = planOf(settings);
    cp = await ControlPlane.start("autoscaling");
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
      ...copyInto(list, SEED, [AUTOSCALED.synchrotron], { target: SEED_TARGET, cpu: SEED_SYNCHROTRON_CPU }),
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
    // Every controller reads the metrics before any load: a recommendation at zero load is on record.
    await waitFor("every HPA reading 0% CPU", async () => ([NAMESPACE, QUIET, SEED].every((ns) => hpas(ns).every((h) => utilisationOf(h) === 0)) ? true : undefined), 180_000, 1000);
  }, 420_000);

  it("at the measured load the program's HPAs scale up to their maximum at the declared pace; half that load and the seed's target add nothing", async () => {
    const atLimit = { synchrotron: MEASURED_CAPACITY.synchrotron.cpuAtLatencyLimit, generic: MEASURED_CAPACITY.generic.cpuAtLatencyLimit };
    load.set(NAMESPACE, atLimit);
    load.set(SEED, atLimit);
    load.set(QUIET, { synchrotron: atLimit.synchrotron / 2 });
    loadSince.at = Date.now();
    sampler = setInterval(() => {
      try {
        for (const ns of [NAMESPACE, QUIET, SEED]) {
          for (const h of hpas(ns)) {
            samples.push({ at: Date.now() - loadSince.at, namespace: ns, name: h.metadata.name, current: h.status?.currentReplicas ?? 0, desired: h.status?.desiredReplicas ?? 0, utilisation: utilisationOf(h) });
          }
        }
      } catch {
        // A listing that failed on a loaded machine is a sample missed; the next one comes in 2 s.
      }
    }, 2000);
    const { synchrotron, generic } = plan.synapse.workers;
    const of = (ns: string, name: string) => samples.filter((s) => s.namespace === ns && s.name === name);
    const sampledAt = (name: string, max: number) => of(NAMESPACE, name).some((s) => s.desired === max);
    await waitFor("the program's HPAs at their maximum (sampled), every pod ready", async () =>
      readyPods(NAMESPACE, AUTOSCALED.synchrotron) === synchrotron.maxReplicas && readyPods(NAMESPACE, AUTOSCALED.generic) === generic.maxReplicas &&
      sampledAt(AUTOSCALED.synchrotron, synchrotron.maxReplicas) && sampledAt(AUTOSCALED.generic, generic.maxReplicas) ? true : undefined,
    420_000, 2000);
    clearInterval(sampler);

    const firstAbove = (ns: string, name: string, min: number) => of(ns, name).find((s) => s.desired > min);
    const upSynchrotron = firstAbove(NAMESPACE, AUTOSCALED.synchrotron, synchrotron.replicas);
    const upGeneric = firstAbove(NAMESPACE, AUTOSCALED.generic, generic.replicas);
    expect(upSynchrotron, "the synchrotron HPA scaled up").toBeDefined();
    expect(upGeneric, "the generic-worker HPA scaled up").toBeDefined();
    // The scale-up stabilisation window holds the first step back until the controller's last read
    // at zero load has left it; then at most `pods` are added per period.
    const { scaleUp } = plan.synapse.autoscaling;
    const lastQuietRead = (name: string) => {
      const selector = Object.entries(deploymentSelector(NAMESPACE, name)).map(([k, v]) => `${k}=${v}`);
      const quiet = metrics.reads.filter((r) => r.namespace === NAMESPACE && r.cores === 0 && selector.every((pair) => r.selector.split(",").includes(pair)));
      expect(quiet.length, `the controller's reads for ${name} at zero load`).toBeGreaterThan(0);
      return Math.max(...quiet.map((r) => r.at)) - loadSince.at;
    };
    expect(upSynchrotron!.at).toBeGreaterThanOrEqual(lastQuietRead(AUTOSCALED.synchrotron) + scaleUp.stabilizationWindowSeconds * 1000 - 1000);
    expect(upGeneric!.at).toBeGreaterThanOrEqual(lastQuietRead(AUTOSCALED.generic) + scaleUp.stabilizationWindowSeconds * 1000 - 1000);
    expect(upSynchrotron!.desired - synchrotron.replicas).toBeLessThanOrEqual(scaleUp.pods);
    const secondStep = of(NAMESPACE, AUTOSCALED.synchrotron).find((s) => s.desired > upSynchrotron!.desired);
    expect(secondStep, "the synchrotron HPA took a second step").toBeDefined();
    expect(secondStep!.at - upSynchrotron!.at, "a period between steps").toBeGreaterThanOrEqual(scaleUp.periodSeconds * 1000 - 5000);
    expect(Math.max(...of(NAMESPACE, AUTOSCALED.synchrotron).map((s) => s.desired))).toBe(synchrotron.maxReplicas);
    expect(Math.max(...of(NAMESPACE, AUTOSCALED.generic).map((s) => s.desired))).toBe(generic.maxReplicas);

    // The controller read the fed CPU everywhere (a silent HPA would pass the checks below for nothing).
    const read = (ns: string) => of(ns, AUTOSCALED.synchrotron).filter((s) => s.utilisation !== undefined).at(-1)?.utilisation;
    // The controller's integer percentage of the millicores fed over the request.
    const percent = (cores: number, request: number) => Math.floor((100 * Math.round(cores * 1000)) / (request * 1000));
    expect(read(SEED)).toBe(percent(atLimit.synchrotron, SEED_SYNCHROTRON_CPU));
    expect(read(QUIET)).toBe(percent(atLimit.synchrotron / 2, synchrotron.resources.requests.vcpu));
    expect(Math.max(...of(QUIET, AUTOSCALED.synchrotron).map((s) => s.desired)), "half the load adds no pod").toBe(synchrotron.replicas);
    expect(Math.max(...of(SEED, AUTOSCALED.synchrotron).map((s) => s.desired)), "the seed's 70% target never fires").toBe(synchrotron.replicas);

    const maxAt = (ns: string, name: string, max: number) => of(ns, name).find((s) => s.desired === max)!.at;
    console.log(
      `HPA on the real controller manager, 5K, fed ${atLimit.synchrotron} / ${atLimit.generic} cores per pod (measured at the latency limit): ` +
        `synchrotron ${synchrotron.replicas} → ${upSynchrotron!.desired} at ${(upSynchrotron!.at / 1000).toFixed(0)} s, ${synchrotron.maxReplicas} at ${(maxAt(NAMESPACE, AUTOSCALED.synchrotron, synchrotron.maxReplicas) / 1000).toFixed(0)} s ` +
        `(target ${synchrotron.hpaTargetCpuUtilisation}%, read ${read(NAMESPACE) ?? "?"}%); generic ${generic.replicas} → ${generic.maxReplicas} at ${(maxAt(NAMESPACE, AUTOSCALED.generic, generic.maxReplicas) / 1000).toFixed(0)} s; ` +
        `the seed's pods (${SEED_SYNCHROTRON_CPU} vCPU) and 70% target read ${read(SEED)}% and stayed at ${synchrotron.replicas}; half the load read ${read(QUIET)}% and stayed`,
    );
  }, 600_000);
});

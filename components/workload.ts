/** Pieces every workload shares: resources, security, spreading, placement on a pool, disruption budgets. */
import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { componentLabels } from "./naming";
import { POOL_LABEL, poolTaints } from "../sizing/inventory";
import type { Resources } from "../sizing/types";
import type { InventoryRole } from "../sizing/types";

/** A short hash of configuration texts: a pod template that carries it restarts when they change. */
export function checksum(...texts: string[]): string {
  return createHash("sha256").update(texts.join("\0")).digest("hex").slice(0, 16);
}

/** A size in GiB as a Kubernetes quantity in whole MiB. */
export const mebibytes = (gib: number) => `${Math.round(gib * 1024)}Mi`;

const quantity = (r: Resources["requests"]) => ({ cpu: `${Math.round(r.vcpu * 1000)}m`, memory: mebibytes(r.memoryGiB) });

export function containerResources(resources: Resources) {
  return { requests: quantity(resources.requests), limits: quantity(resources.limits) };
}

/** A chart's pod at the plan's resources on the plan's pool (the `resources` and `nodeSelector` values charts share). */
export function chartPod(pool: string, resources: Resources) {
  return { resources: containerResources(resources), nodeSelector: { [POOL_LABEL]: pool } };
}

export const RESTRICTED_CONTAINER = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

/** A pod's security context: a non-root uid and its group, and with `volumes` the owner group of its volumes too. */
export function restrictedPod(uid: number, volumes = false) {
  return { runAsUser: uid, runAsGroup: uid, ...(volumes ? { fsGroup: uid } : {}), runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } };
}

export const ZONE_KEY = "topology.kubernetes.io/zone";

/**
 * Quorum members over zones, strictly: a zone never holds two of three, so losing it leaves a
 * majority. Nodes the pod does not tolerate (cordoned, or unreachable in an outage: the node
 * controller taints them) do not count as a zone, so the survivors still schedule.
 */
export function strictZoneSpread(labels: Record<string, string>) {
  return { maxSkew: 1, topologyKey: ZONE_KEY, whenUnsatisfiable: "DoNotSchedule", nodeTaintsPolicy: "Honor", labelSelector: { matchLabels: labels } };
}

/** Spread over nodes and zones; soft, except quorum members' zones (strictZoneSpread). */
export function spread(labels: Record<string, string>, quorum = false) {
  return ["kubernetes.io/hostname", ZONE_KEY].map((topologyKey) =>
    quorum && topologyKey === ZONE_KEY ? strictZoneSpread(labels) : { maxSkew: 1, topologyKey, whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: labels } },
  );
}

/** One pod may be down at a time; only for workloads that run at least two. */
export function disruptionBudget(name: string, namespace: pulumi.Input<string>, labels: Record<string, string>, selector: Record<string, string>): k8s.types.input.policy.v1.PodDisruptionBudget {
  return { metadata: { name, namespace, labels }, spec: { maxUnavailable: 1, selector: { matchLabels: selector } } };
}

/**
 * Placement on a node pool: its label, tolerations for its taint, spread of the workload's own
 * pods over nodes and zones, and (for one-per-node members such as Redis, MinIO servers, call
 * hosts) required anti-affinity on the hostname against the pods `onePerNode` selects (the
 * workload itself with `true`; a wider set, such as every call host, with labels).
 */
export function poolPlacement(pool: InventoryRole, selector: Record<string, string>, onePerNode: boolean | Record<string, string>) {
  const apart = onePerNode === true ? selector : onePerNode || undefined;
  return {
    nodeSelector: { [POOL_LABEL]: pool },
    tolerations: poolTaints(pool).map((t) => ({ key: t.key, operator: "Equal", value: t.value, effect: t.effect })),
    ...(apart ? { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: apart } }] } } } : {}),
    topologySpreadConstraints: spread(selector, apart !== undefined),
  };
}

/**
 * A namespace of its own for an operator or a chart. Protected and retained like the workloads'
 * namespace: deleting a namespace deletes every volume in it (Prometheus', Loki's), and a refused
 * `pulumi destroy` still deletes every unprotected resource it reaches.
 */
export function namespaceFor(name: string, component: string, opts: pulumi.CustomResourceOptions): k8s.core.v1.Namespace {
  return new k8s.core.v1.Namespace(name, { metadata: { name, labels: componentLabels(component) } }, { ...opts, protect: true, retainOnDelete: true });
}

/**
 * Local chart directories that replace the pinned charts, by chart name. TEST-ONLY: the engine
 * tests run where no chart repository is reachable; the stack config has no way to set this.
 */
export type ChartStandIns = Readonly<Record<string, string>>;

export interface ChartOptions {
  standIns?: ChartStandIns;
  /** False only under Pulumi's mock runtime, which cannot register transforms (nor run them). */
  transforms?: boolean;
}

/**
 * Keeps a chart's CRDs when the chart is removed or the stack destroyed: deleting a CRD deletes
 * every object of its kind, and with a CloudNativePG `Cluster` its pods and volumes (the engine
 * tests saw the database go with the operator's chart). Transforms reach the children of a chart,
 * which Pulumi's provider creates on the program's behalf.
 */
export const retainCrds: pulumi.ResourceTransform = (args) =>
  args.type === "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition" ? { props: args.props, opts: pulumi.mergeOptions(args.opts, { retainOnDelete: true }) } : undefined;

/** A chart at a pinned version from its repository, every object a resource of its own (helm v4). */
export function pinnedChart(
  name: string,
  spec: { chart: string; version: string; repo: string; namespace: string; values: Record<string, unknown> },
  opts: pulumi.ComponentResourceOptions,
  charts: ChartOptions = {},
): k8s.helm.v4.Chart {
  const local = charts.standIns?.[spec.chart];
  const source = local ? { chart: local } : { chart: spec.chart, version: spec.version, repositoryOpts: { repo: spec.repo } };
  return new k8s.helm.v4.Chart(name, { ...source, namespace: spec.namespace, values: spec.values }, charts.transforms === false ? opts : { ...opts, transforms: [...(opts.transforms ?? []), retainCrds] });
}

/**
 * Node-pool fit: pods placed onto identical nodes by first-fit decreasing, the way a scheduler
 * without preemption would fill them, honouring required spread (no two pods of one spread
 * group on a node). Pure and fast enough to run for every property-test sample.
 */
import { NODE_FILL_MARGIN } from "./additions";
import { DAEMONSETS, nodeAllocatable } from "./node-model";

export interface Capacity {
  vcpu: number;
  memoryGiB: number;
}

export interface PodDemand extends Capacity {
  /** e.g. "synapse/synchrotron"; for reports. */
  owner: string;
  /** Pods sharing a spread group must land on distinct nodes (required anti-affinity). */
  spreadGroup?: string;
  /** Bound to its zone by a volume (one per zone, strictZoneSpread): lost with its zone, never moved. */
  zonal?: boolean;
  /** Runs at the essential PriorityClass (components/naming.ts ESSENTIAL_PRIORITY): preempts the rest. */
  essential?: boolean;
}

/** The pods that need room after a zone goes: each volume-bound group leaves its member in that zone behind. */
export function afterZoneLoss(pods: readonly PodDemand[]): PodDemand[] {
  const leftBehind = new Set<string>();
  return pods.filter((p) => {
    if (!p.zonal || !p.spreadGroup || leftBehind.has(p.spreadGroup)) return true;
    leftBehind.add(p.spreadGroup);
    return false;
  });
}

/** The most nodes of `nodes` one zone holds, node groups spreading them as evenly as they go (sizing/inventory.ts perZone). */
export function nodesInOneZone(nodes: number, zones: number): number {
  return Math.ceil(nodes / zones);
}

const round = (n: number, decimals: number) => Math.round(n * 10 ** decimals) / 10 ** decimals;

/** What the cluster's DaemonSets request on every node (sizing/node-model.ts). */
export function daemonSetRequests(): Capacity {
  return sumDemand(DAEMONSETS.map((d) => d.requests));
}

/**
 * What pods may request on one node of an instance type: what the kubelet reports allocatable
 * (sizing/node-model.ts), less the DaemonSets and the margin kept for what requests nothing.
 */
export function allocatable(instanceType: string): Capacity {
  const node = nodeAllocatable(instanceType);
  const daemons = daemonSetRequests();
  return {
    vcpu: round(node.vcpu - daemons.vcpu - NODE_FILL_MARGIN.vcpu, 3),
    memoryGiB: round(node.memoryGiB - daemons.memoryGiB - NODE_FILL_MARGIN.memoryGiB, 3),
  };
}

export function sumDemand(pods: readonly Capacity[]): Capacity {
  return pods.reduce((acc, p) => ({ vcpu: acc.vcpu + p.vcpu, memoryGiB: acc.memoryGiB + p.memoryGiB }), {
    vcpu: 0,
    memoryGiB: 0,
  });
}

/**
 * Place pods on `nodes` nodes of `perNode` allocatable; returns per-node load, or null if some pod
 * does not fit. Spread-constrained pods go first (they are the hardest to place), then by size.
 */
export function pack(pods: readonly PodDemand[], perNode: Capacity, nodes: number): Capacity[] | null {
  const load = Array.from({ length: nodes }, () => ({ vcpu: 0, memoryGiB: 0, groups: new Set<string>() }));
  const weight = (p: PodDemand) => (p.spreadGroup ? 2 : 0) + p.vcpu / perNode.vcpu + p.memoryGiB / perNode.memoryGiB;
  const order = [...pods].sort((a, b) => weight(b) - weight(a));
  const epsilon = 1e-9;
  for (const pod of order) {
    const node = load.find(
      (n) =>
        n.vcpu + pod.vcpu <= perNode.vcpu + epsilon &&
        n.memoryGiB + pod.memoryGiB <= perNode.memoryGiB + epsilon &&
        !(pod.spreadGroup && n.groups.has(pod.spreadGroup)),
    );
    if (!node) return null;
    node.vcpu += pod.vcpu;
    node.memoryGiB += pod.memoryGiB;
    if (pod.spreadGroup) node.groups.add(pod.spreadGroup);
  }
  return load.map(({ vcpu, memoryGiB }) => ({ vcpu, memoryGiB }));
}

/**
 * Whether every essential pod finds room on `nodes` survivors under kube-scheduler's spread. The
 * scheduler spreads pods (least-allocated scoring), it does not pack them as `pack` does. The
 * model: a survivor holds its share of the other essential pods, and up to one pod more since pods
 * land whole; an essential pod preempts everything else, so it comes back when it fits beside
 * that; the largest is the hardest. A model, not a bound for every placement (that would need
 * several times the nodes); the control-plane zone loss checks it. Found there: at 100 CCU,
 * 2-vCPU processes on 3.6-vCPU nodes packed on paper and stayed Pending after a zone loss.
 */
export function essentialsReturn(pods: readonly PodDemand[], perNode: Capacity, nodes: number): boolean {
  const essential = pods.filter((p) => p.essential);
  if (essential.length === 0) return true;
  if (nodes < 1) return false;
  const total = sumDemand(essential);
  return (["vcpu", "memoryGiB"] as const).every((d) => {
    const largest = Math.max(...essential.map((p) => p[d]));
    return (total[d] - largest) / nodes + 2 * largest <= perNode[d] + 1e-9;
  });
}

/** One thing a pool's node count must satisfy, named for reports (`npm run bench` says which binds). */
export interface PoolCondition {
  name: string;
  holds(nodes: number): boolean;
}

/**
 * What a rescheduling pool of `n` nodes must hold: `pods` with one node lost, `podsAtMax` on all
 * nodes; with `zones`, `pods` (less what a lost zone's volumes hold) on the nodes the other zones
 * keep. After a loss the essential pods must also come back however the scheduler spread them
 * (`essentialsReturn`).
 */
export function poolConditions(pods: readonly PodDemand[], podsAtMax: readonly PodDemand[], perNode: Capacity, zones?: number): PoolCondition[] {
  const displaced = zones === undefined ? undefined : afterZoneLoss(pods);
  const zoneLeft = (n: number) => n - nodesInOneZone(n, zones!);
  return [
    { name: "base fleet with one node lost", holds: (n) => pack(pods, perNode, n - 1) !== null },
    { name: "essential pods back after a node loss", holds: (n) => essentialsReturn(pods, perNode, n - 1) },
    { name: "maximum autoscale mid-rollout", holds: (n) => pack(podsAtMax, perNode, n) !== null },
    ...(displaced === undefined
      ? []
      : [
          { name: "base fleet with a zone lost", holds: (n: number) => pack(displaced, perNode, zoneLeft(n)) !== null },
          { name: "essential pods back after a zone loss", holds: (n: number) => essentialsReturn(displaced, perNode, zoneLeft(n)) },
        ]),
  ];
}

/** Smallest node count ≥ `atLeast` (and 2) for which every one of `poolConditions` holds. */
export function nodesNeeded(
  pods: readonly PodDemand[],
  podsAtMax: readonly PodDemand[],
  perNode: Capacity,
  atLeast: number,
  limit = 1000,
  zones?: number,
): number | null {
  // However many nodes: the largest essential pod must fit beside one more of its size.
  if (!essentialsReturn(pods, perNode, Number.POSITIVE_INFINITY)) return null;
  const conditions = poolConditions(pods, podsAtMax, perNode, zones);
  for (let n = Math.max(atLeast, 2); n <= limit; n++) if (conditions.every((c) => c.holds(n))) return n;
  return null;
}

/** Which pods each node pool carries, how many nodes that takes, and how full the pool is. */
import { APPLICATION_NODES_FLOOR, ROUTING } from "./additions";
import { PlanError } from "./errors";
import { allocatable, essentialsReturn, nodesNeeded, pack, poolConditions, sumDemand, type Capacity, type PodDemand } from "./packing";
import { ZONE_COUNT } from "./inventory";
import { monitoringPods } from "./monitoring";
import { rolloutOverlap } from "./synapse";
import type { Plan, PoolUsage, RedisPlan, Resources, WorkerPlan } from "./types";
import type { InventoryRole } from "./types";

function pods(owner: string, count: number, resources: Resources, spreadGroup?: string): PodDemand[] {
  return Array.from({ length: count }, () => ({ owner, ...resources.requests, ...(spreadGroup ? { spreadGroup } : {}) }));
}

/** Pods at the essential PriorityClass: the components give it to these same pods. */
const essential = (list: PodDemand[]): PodDemand[] => list.map((p) => ({ ...p, essential: true }));

function sumResources(a: Resources, b: Resources): Resources {
  const add = (x: Capacity, y: Capacity) => ({ vcpu: x.vcpu + y.vcpu, memoryGiB: x.memoryGiB + y.memoryGiB });
  return { requests: add(a.requests, b.requests), limits: add(a.limits, b.limits) };
}

function redisPods(name: string, redis: RedisPlan): PodDemand[] {
  return [
    // A data pod is Redis plus its metrics exporter.
    ...pods(`redis-${name}`, redis.instances, sumResources(redis.resources, redis.exporterResources), `redis-${name}`).map((p) => ({ ...p, zonal: true })),
    ...pods(`sentinel-${name}`, redis.sentinels, redis.sentinelResources, `sentinel-${name}`),
    ...(redis.masterProxy ? pods(`redis-${name}-master-proxy`, redis.masterProxy.replicas, redis.masterProxy.resources) : []),
  ];
}

function monitoringLoad(resources: Plan["monitoring"]["resources"]): { base: PodDemand[]; max: PodDemand[] } {
  const { base, max } = monitoringPods(resources);
  const demand = (list: typeof base) => list.map(({ owner, requests }) => ({ owner, ...requests }));
  return { base: demand(base), max: demand(max) };
}

const CERT_MANAGER_DEPLOYMENTS = ["controller", "webhook", "cainjector"] as const;

type PlanParts = Pick<Plan, "synapse" | "routing" | "redis" | "postgres" | "minio" | "livekit" | "coturn" | "monitoring">;

/**
 * Pods per pool at base replicas, and at maximum autoscale while the Deployments roll (the surge
 * pod and the old pod still draining both hold their requests on a node).
 */
export function podsByPool(p: PlanParts): Record<InventoryRole, { base: PodDemand[]; max: PodDemand[] }> {
  const workers = Object.values(p.synapse.workers) as WorkerPlan[];
  const lbc = p.routing.loadBalancerController;
  const shared = essential([
    ...pods("haproxy", p.routing.haproxy.replicas, p.routing.haproxy.resources),
    ...redisPods("synapse", p.redis.synapse),
    ...redisPods("livekit", p.redis.livekit),
    ...pods("lk-jwt-service", p.livekit.jwtService.replicas, p.livekit.jwtService.resources),
    // Not ours to preempt: counted with the pods that cannot give way.
    ...(lbc ? pods("aws-load-balancer-controller", lbc.replicas, lbc.resources) : []),
    ...pods("cloudnative-pg", p.postgres.operator.replicas, p.postgres.operator.resources),
    ...pods("barman-cloud", p.postgres.backupPlugin.replicas, p.postgres.backupPlugin.resources),
    ...CERT_MANAGER_DEPLOYMENTS.flatMap((name) => pods(`cert-manager-${name}`, p.postgres.certManager.replicas, p.postgres.certManager[name])),
  ]);
  // A media worker's pod also runs the scratch cleaner.
  const podResources = (w: WorkerPlan) => (w.type === "mediaRepository" ? sumResources(w.resources, p.synapse.scratch.cleanup.resources) : w.resources);
  const synapse = (count: (w: WorkerPlan) => number) =>
    workers.flatMap((w) => {
      const list = pods(`synapse/${w.type}`, count(w), podResources(w));
      return w.autoscaled ? list : essential(list);
    });
  // The shared Deployments roll one pod at a time too: a surging pod and an old one draining; HAProxy's
  // pods start in a second and drain for minutes behind the NLB, so every old one may be draining at once.
  const extra = rolloutOverlap({ rolloutSurge: ROUTING.rolloutSurgePods });
  const rolling = [
    ...pods("haproxy", p.routing.haproxy.replicas + ROUTING.rolloutSurgePods, p.routing.haproxy.resources),
    ...[p.redis.synapse, p.redis.livekit].flatMap((r, i) => (r.masterProxy ? pods(`redis-master-proxy-${i}`, extra, r.masterProxy.resources) : [])),
    ...pods("lk-jwt-service", extra, p.livekit.jwtService.resources),
    ...(lbc ? pods("aws-load-balancer-controller", extra, lbc.resources) : []),
    ...pods("cloudnative-pg", extra, p.postgres.operator.resources),
    // The plugin's Deployment is recreated, not rolled; cert-manager's roll, and its API check runs after an upgrade.
    ...CERT_MANAGER_DEPLOYMENTS.flatMap((name) => pods(`cert-manager-${name}`, extra, p.postgres.certManager[name])),
    ...pods("cert-manager-startupapicheck", 1, p.postgres.certManager.startupCheck),
    // Jobs, not rollouts (the daily sweep; the monitoring chart's certificate Job at an upgrade): counted once with everything that comes and goes.
    ...pods("synapse-remote-media-sweep", 1, p.synapse.remoteMediaSweep.resources),
    ...pods("admission-webhook-certificate", 1, p.monitoring.admissionWebhookJob.resources),
  ];
  const same = (list: PodDemand[]) => ({ base: list, max: list });
  const minioServers = p.minio.pools.reduce((acc, pool) => acc + pool.servers, 0);
  return {
    application: { base: [...synapse((w) => w.replicas), ...shared], max: [...synapse((w) => w.maxReplicas + rolloutOverlap(w)), ...shared, ...rolling] },
    database: same(pods("postgres", p.postgres.instances, sumResources(p.postgres.resources, p.postgres.backupPlugin.sidecar), "postgres")),
    storage: same(pods("minio", minioServers, p.minio.resources, "minio")),
    calls: same([...pods("livekit", p.livekit.instances, p.livekit.resources, "call-host"), ...pods("coturn", p.coturn.instances, p.coturn.resources, "call-host")]),
    monitoring: monitoringLoad(p.monitoring.resources),
    compliance: same([]),
    controlPlane: same([]),
  };
}

/** An application node shape and how many of it the pool needs. */
export interface ApplicationNodes {
  instanceType: string;
  vcpu: number;
  memoryGiB: number;
  count: number;
}

/**
 * The cheapest application pool: for every instance type the node model knows, the fewest nodes,
 * not below the HA floor, on which its pods fit with one node lost (base replicas) and on every
 * node at maximum autoscale mid-rollout (with `zones`, also on the nodes the other zones keep when
 * the largest goes), and their price; the cheapest total wins, fewer nodes on
 * a tie. The pods' own mix of CPU and memory picks the family, so neither is left idle for the
 * other. The seed's count is a reference, not a floor.
 */
export function cheapestApplicationNodes(
  base: PodDemand[],
  max: PodDemand[],
  floor: number,
  candidates: readonly { instanceType: string; vcpu: number; memoryGiB: number; monthlyUsd: number; allocatable: Capacity }[],
  /** Also hold the base fleet on the nodes the other zones keep when one goes. */
  zones?: number,
): ApplicationNodes {
  let best: (ApplicationNodes & { cost: number }) | undefined;
  const largest = { vcpu: Math.max(...max.map((p) => p.vcpu)), memoryGiB: Math.max(...max.map((p) => p.memoryGiB)) };
  for (const c of candidates) {
    // A node smaller than the largest pod holds nothing: no need to search for a count.
    if (largest.vcpu > c.allocatable.vcpu || largest.memoryGiB > c.allocatable.memoryGiB) continue;
    const count = nodesNeeded(base, max, c.allocatable, lowerBound(base, max, c.allocatable, floor), undefined, zones);
    if (count === null) continue;
    const cost = count * c.monthlyUsd;
    if (!best || cost < best.cost - 1e-6 || (Math.abs(cost - best.cost) <= 1e-6 && count < best.count)) best = { instanceType: c.instanceType, vcpu: c.vcpu, memoryGiB: c.memoryGiB, count, cost };
  }
  if (!best) {
    const roomiest = [...candidates].sort((a, b) => b.allocatable.memoryGiB - a.allocatable.memoryGiB)[0];
    if (roomiest && !essentialsReturn(base, roomiest.allocatable, Number.POSITIVE_INFINITY)) {
      const share = (p: PodDemand) => p.vcpu / roomiest.allocatable.vcpu + p.memoryGiB / roomiest.allocatable.memoryGiB;
      const essential = base.filter((p) => p.essential).reduce((a, b) => (share(b) > share(a) ? b : a));
      throw new PlanError(
        "pods fit their pool",
        "overrides.nodePools.application",
        `a ${essential.owner} pod (${essential.vcpu} vCPU, ${essential.memoryGiB} GiB) must fit beside another essential pod of its size after a loss, and no application node has room for both (the largest, ${roomiest.instanceType}, has ${roomiest.allocatable.vcpu} vCPU, ${roomiest.allocatable.memoryGiB} GiB allocatable)`,
        "reduce the worker size",
      );
    }
    const pod = [...base, ...max].sort((a, b) => b.memoryGiB - a.memoryGiB)[0];
    throw new PlanError(
      "pods fit their pool",
      "overrides.nodePools.application",
      `a ${pod?.owner} pod (${pod?.vcpu} vCPU, ${pod?.memoryGiB} GiB) fits no application node (the largest, ${roomiest?.instanceType}, has ${roomiest?.allocatable.vcpu} vCPU, ${roomiest?.allocatable.memoryGiB} GiB allocatable)`,
      "reduce the worker size",
    );
  }
  return { instanceType: best.instanceType, vcpu: best.vcpu, memoryGiB: best.memoryGiB, count: best.count };
}

/**
 * What sets the application pool's count: the conditions one node fewer would break, or the HA
 * floor when none would (an override above the need reads the same).
 */
export function applicationBinds(p: Plan): string[] {
  const row = p.inventory.find((r) => r.role === "application");
  if (!row) return [];
  const load = podsByPool(p).application;
  const failing = poolConditions(load.base, load.max, allocatable(row.instanceType), ZONE_COUNT)
    .filter((c) => !c.holds(row.count - 1))
    .map((c) => c.name);
  return failing.length > 0 ? failing : [`the floor of ${APPLICATION_NODES_FLOOR} nodes`];
}

/** No fewer nodes than the floor, nor than the requests need (one more for the base fleet's N-1). */
function lowerBound(base: PodDemand[], max: PodDemand[], perNode: Capacity, floor: number): number {
  const need = (pods: PodDemand[]) => Math.max(Math.ceil(sumDemand(pods).vcpu / perNode.vcpu - 1e-9), Math.ceil(sumDemand(pods).memoryGiB / perNode.memoryGiB - 1e-9));
  return Math.max(floor, need(base) + 1, need(max));
}

/** How a pool survives losing a node: rescheduling its pods, or a quorum of one-per-node members. */
export const N_MINUS_1_BY_RESCHEDULING: ReadonlySet<InventoryRole> = new Set(["application"]);

export function poolUsage(role: InventoryRole, nodes: number, perNode: Capacity, load: { base: PodDemand[]; max: PodDemand[] }, quorumSurvives: boolean): PoolUsage {
  const requested = sumDemand(load.base);
  const atMax = sumDemand(load.max);
  const survivors = Math.max(nodes - 1, 0);
  const fitsNMinus1 = N_MINUS_1_BY_RESCHEDULING.has(role)
    ? pack(load.base, perNode, survivors) !== null
    : quorumSurvives && pack(load.base, perNode, nodes) !== null;
  // Rescheduling pools are measured against the nodes left after a loss; quorum pools against all.
  const counted = N_MINUS_1_BY_RESCHEDULING.has(role) ? survivors : nodes;
  const share = (used: number, per: number) => (counted === 0 ? 0 : Math.round((used / (per * counted)) * 1000) / 1000);
  return {
    role,
    nodes,
    allocatable: perNode,
    requested: round2(requested),
    requestedAtMaxScale: round2(atMax),
    utilisationNMinus1: { vcpu: share(requested.vcpu, perNode.vcpu), memoryGiB: share(requested.memoryGiB, perNode.memoryGiB) },
    fitsNMinus1,
    pods: load.base.length,
  };
}

function round2(c: Capacity): Capacity {
  return { vcpu: Math.round(c.vcpu * 100) / 100, memoryGiB: Math.round(c.memoryGiB * 100) / 100 };
}

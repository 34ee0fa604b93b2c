/**
 * plan(settings) → Plan: the single source of every number the program provisions.
 * Pure and deterministic (the date for "runs out on" messages is an explicit option).
 */
import { planEdge } from "./edge";
import { APPLICATION_NODES_FLOOR, HAPROXY, LOAD_BALANCER_CONTROLLER, PLAN_UPGRADE_AT, ROOT_DISK, ROUTING, URGENT_UPGRADE_AT } from "./additions";
import { planMonitoring } from "./monitoring";
import { monthlyBill } from "./bill";
import { eksVersionWarning } from "./eks-versions";
import { planCalls } from "./calls";
import { PlanError } from "./errors";
import { instanceType, inventoryRow, totals, ZONE_COUNT, type ServerSpec } from "./inventory";
import { keepsWriteQuorum, planMinio, usableGB, zoneAlignedServers } from "./objectstore";
import { allocatable, nodesInOneZone } from "./packing";
import { cheapestApplicationNodes, podsByPool, poolUsage } from "./pools";
import { planPostgres } from "./postgres";
import { planRedis } from "./redis";
import { guaranteed, resourcesOf } from "./resources";
import { PRIVATE_RANGES, type PoolRole, type Settings } from "./settings";
import { INSTANCE_MODELS } from "./node-model";
import { instanceMonthlyUsd, PRICES } from "./prices";
import { connectionLimit, planSynapseFleet, rolloutOverlap } from "./synapse";
import { GIB_IN_GB } from "./units";
import { TIER_CCU, TIER_IDS, TIER_TABLES, type TierId } from "./tiers";
import type { StorageState } from "./invariants";
import type { InventoryRole, MinioPlan, Plan, PostgresPlan } from "./types";

export interface PlanOptions {
  /** The date media-capacity warnings count from; omitted, warnings give months only. */
  asOf?: Date;
  /** What the deployment already stores data in: kept (pools) or never shrunk (volumes). */
  previous?: StorageState;
}

export function chooseTier(ccu: number): TierId {
  const tier = TIER_IDS.find((t) => TIER_CCU[t] >= ccu);
  if (!tier) throw new PlanError("tier", "ccu", `${ccu} users is above the largest tier (${TIER_CCU["20k"]})`, "split the users over several deployments");
  return tier;
}

function requireCount(role: PoolRole, count: number, required: number, what: string): void {
  if (count < required) {
    throw new PlanError("pool holds its workload", `overrides.nodePools.${role}.count`, `${count} ${role} nodes < ${required} needed for ${what}`, `set count to ${required} or more`);
  }
}

function postgresSurvivesNodeLoss(pg: PostgresPlan): boolean {
  return pg.instances - 1 >= 1 + pg.synchronousStandbys;
}

function minioSurvivesServerLoss(minio: MinioPlan): boolean {
  return minio.pools.every((pool) => keepsWriteQuorum(pool, minio.parity, 1));
}

export function plan(settings: Settings, options: PlanOptions = {}): Plan {
  const tier = settings.tier ?? chooseTier(settings.ccu);
  const table = TIER_TABLES[tier];
  const overrides = settings.overrides;
  const seedServers = table.servers;
  const nodeOverride = (role: PoolRole) => overrides.nodePools?.[role]?.count;
  // A pool's node as the seed sizes it: its instance type and what pods may request on it.
  const seedNode = (role: PoolRole) => {
    const type = instanceType(seedServers[role].vcpu, seedServers[role].memoryGiB);
    return { instanceType: type, allocatable: allocatable(type) };
  };
  const perNode = (role: PoolRole) => seedNode(role).allocatable;

  const fleet = planSynapseFleet({ tier, ccu: settings.ccu, federation: settings.federation, logLevel: settings.logLevel, overrides });
  const postgres = planPostgres(tier, fleet.connectionsInRollout, seedNode("database"), overrides, options.previous?.postgres.storageGB);
  const synapse = { ...fleet, connectionLimit: connectionLimit(postgres.maxConnections) };
  if (synapse.connectionsInRollout >= synapse.connectionLimit) {
    throw new PlanError(
      "connection budget",
      "overrides.postgres.maxConnections",
      `Synapse opens up to ${synapse.connectionsInRollout} connections at maximum autoscale during a rollout, not below 85% of max_connections ${postgres.maxConnections} (${synapse.connectionLimit})`,
      "raise postgres.maxConnections, lower a worker's cpMax or maxReplicas",
    );
  }
  const redis = planRedis(tier);
  const backupsApart = backupsElsewhere(settings);
  const minio = planMinio(tier, settings.ccu, perNode("storage"), overrides, options.asOf, options.previous?.minio, backupsApart ? 0 : postgres.backup.storageGB);
  const calls = planCalls(tier, perNode("calls"), overrides);
  const haproxy = HAPROXY[tier];
  const parts = {
    synapse,
    routing: {
      haproxy: { replicas: haproxy.replicas, resources: guaranteed(haproxy), pool: "application" as const },
      timeouts: { ...ROUTING.timeouts },
      initialSyncsPerSynchrotron: ROUTING.initialSyncsPerSynchrotron,
      healthCheckIntervalSeconds: ROUTING.healthCheckIntervalSeconds,
      edge: planEdge(settings, synapse),
      ...(settings.target === "aws"
        ? { loadBalancerController: { replicas: LOAD_BALANCER_CONTROLLER.replicas, resources: resourcesOf(LOAD_BALANCER_CONTROLLER) } }
        : {}),
    },
    redis,
    postgres,
    minio,
    livekit: calls.livekit,
    coturn: calls.coturn,
  };

  const monitoring = planMonitoring(TIER_CCU[tier], seedServers.monitoring.storageGB, postgres.maxConnections, perNode("monitoring"), synapse.remoteMediaSweep.deadlineSeconds);
  const load = podsByPool({ ...parts, monitoring });
  const app = cheapestApplicationNodes(load.application.base, load.application.max, APPLICATION_NODES_FLOOR, APPLICATION_CANDIDATES, ZONE_COUNT);
  const appNeeded = app.count;
  const appCount = nodeOverride("application") ?? appNeeded;
  requireCount("application", appCount, appNeeded, "its pods with one node or a zone lost");
  const minioServers = minio.pools.reduce((acc, p) => acc + p.servers, 0);
  const callHosts = calls.livekit.instances + calls.coturn.instances;
  const counts: Record<PoolRole, { count: number; reason?: string }> = {
    application: {
      count: appCount,
      reason:
        appCount === appNeeded
          ? "packed: the cheapest nodes its pods fit with one node lost (N-1), with a zone lost, and at maximum autoscale mid-rollout"
          : `overrides.nodePools.application.count (${appNeeded} would do)`,
    },
    database: { count: nodeOverride("database") ?? postgres.instances },
    storage: { count: nodeOverride("storage") ?? minioServers, ...(minioServers !== seedServers.storage.count ? { reason: "one node per MinIO server; a pool has as many in every zone, so it survives one" } : {}) },
    calls: { count: nodeOverride("calls") ?? callHosts, ...(callHosts !== seedServers.calls.count ? { reason: "one host per LiveKit and per coturn process" } : {}) },
    // Nothing of this deployment runs on a compliance server: none unless the operator asks for them.
    compliance: { count: nodeOverride("compliance") ?? 0, ...(seedServers.compliance.count > 0 ? { reason: "no workload runs there" } : {}) },
    monitoring: { count: nodeOverride("monitoring") ?? seedServers.monitoring.count },
  };
  requireCount("database", counts.database.count, postgres.instances, `${postgres.instances} PostgreSQL instances, one per node`);
  requireCount("storage", counts.storage.count, minioServers, `${minioServers} MinIO servers, one per node`);
  requireCount("calls", counts.calls.count, callHosts, `${calls.livekit.instances} LiveKit + ${calls.coturn.instances} coturn hosts`);

  const specs: ServerSpec[] = [];
  const rootDiskGB = (role: InventoryRole) => rootDisk(role === "application" ? applicationScratchGiB(synapse) : 0);
  if (settings.target === "kubernetes") specs.push({ role: "controlPlane", ...seedServers.controlPlane, rootDiskGB: rootDiskGB("controlPlane") });
  for (const role of Object.keys(counts) as PoolRole[]) {
    // The application pool's node shape is its own (cheapestApplicationNodes); the others are the seed's.
    const seed = role === "application" ? { ...seedServers.application, vcpu: app.vcpu, memoryGiB: app.memoryGiB } : seedServers[role];
    if (counts[role].count === 0) continue;
    const storageGB = volumesPerNode(role, counts[role].count, { postgres, minio, redis, monitoring });
    specs.push({ role, ...seed, storageGB, rootDiskGB: rootDiskGB(role), count: counts[role].count, ...(counts[role].reason ? { countReason: counts[role].reason } : {}) });
  }
  const inventory = specs.map(inventoryRow);

  const survives: Record<InventoryRole, boolean> = {
    application: true,
    database: postgresSurvivesNodeLoss(postgres),
    storage: minioSurvivesServerLoss(minio),
    calls: calls.livekit.instances >= 2 && calls.coturn.instances >= 2,
    compliance: false,
    monitoring: false,
    controlPlane: true,
  };
  const pools = inventory.map((row) => poolUsage(row.role, row.count, row.allocatable, load[row.role], survives[row.role]));
  for (const usage of pools) {
    // One monitoring server, as the seed has it: a node loss stops monitoring (docs/hardware.md); its
    // processes are sized to what that node leaves (sizing/monitoring.ts), so they fit it by construction.
    if (usage.pods > 0 && usage.role !== "monitoring" && !usage.fitsNMinus1) {
      throw new PlanError(
        "N-1",
        `overrides.nodePools.${usage.role}.count`,
        `the ${usage.role} pool (${usage.nodes} nodes of ${usage.allocatable.vcpu} vCPU / ${usage.allocatable.memoryGiB} GiB allocatable) cannot lose a node: its ${usage.pods} pods request ${usage.requested.vcpu} vCPU / ${usage.requested.memoryGiB} GiB`,
        `add ${usage.role} nodes`,
      );
    }
  }

  const on = options.asOf ?? new Date(`${PRICES.asOf}T00:00:00Z`);
  const aws = settings.target === "aws";
  const bill = monthlyBill(
    { inventory, postgres, minio, redis, monitoring },
    aws ? { zones: ZONE_COUNT, createsVpc: !settings.aws.vpcId, loadBalancers: INTERNET_FACING_LOAD_BALANCERS, kubernetesVersion: settings.aws.kubernetesVersion, on, backupBucket: backupsApart } : undefined,
  );
  const versionWarning = aws ? eksVersionWarning(settings.aws.kubernetesVersion, on) : undefined;
  return {
    ccu: settings.ccu,
    tier,
    tierCcu: TIER_CCU[tier],
    target: settings.target,
    serverName: settings.serverName,
    inventory,
    totals: totals(inventory, bill),
    ...parts,
    pools,
    monitoring,
    bill,
    warnings: [...warnings(settings.ccu, tier, minio), ...(versionWarning ? [versionWarning] : []), ...backupWarning(settings), ...nodeCidrsWarning(settings)],
  };
}

/** Every instance type the node model knows, priced: the application pool picks the cheapest that holds its pods. */
const APPLICATION_CANDIDATES = Object.entries(INSTANCE_MODELS).map(([type, m]) => ({ instanceType: type, vcpu: m.vcpu, memoryGiB: m.memoryGiB, monthlyUsd: instanceMonthlyUsd(type), allocatable: allocatable(type) }));

/** HAProxy's and LiveKit's Services of type LoadBalancer. */
const INTERNET_FACING_LOAD_BALANCERS = 2;

/** A node's root disk for `scratchGiB` of pod scratch that may land on it (ROOT_DISK). */
function rootDisk(scratchGiB: number): number {
  const neededGB = (ROOT_DISK.baseGB + scratchGiB * GIB_IN_GB) / (1 - ROOT_DISK.evictionShare);
  return Math.ceil(neededGB / ROOT_DISK.stepGB) * ROOT_DISK.stepGB;
}

/**
 * Every Synapse pod's scratch limit at maximum autoscale mid-rollout, as if all landed on one node
 * (the smaller emptyDirs of HAProxy and Redis, 64 MiB each, fit the base allowance).
 */
function applicationScratchGiB(synapse: Pick<Plan["synapse"], "workers" | "scratch">): number {
  return Object.values(synapse.workers).reduce((sum, w) => {
    const perPod = w.type === "mediaRepository" ? synapse.scratch.mediaTmpGiB + synapse.scratch.mediaGiB : synapse.scratch.tmpGiB;
    return sum + (w.maxReplicas + rolloutOverlap(w)) * perPod;
  }, 0);
}

/**
 * Persistent volumes a pool's pods hold, per node: a database node's PostgreSQL volume, a storage
 * node's MinIO drives; Redis on the application pool and Prometheus and Loki on the monitoring
 * pool, shared out over their nodes; none on call hosts.
 */
function volumesPerNode(role: PoolRole, nodes: number, p: { postgres: PostgresPlan; minio: MinioPlan; redis: Plan["redis"]; monitoring: Plan["monitoring"] }): number {
  switch (role) {
    case "database":
      return p.postgres.storageGB;
    case "storage":
      return minioDiskPerServer(p.minio);
    case "application":
      return Math.ceil((p.redis.synapse.instances * p.redis.synapse.storageGB + p.redis.livekit.instances * p.redis.livekit.storageGB) / nodes);
    case "monitoring":
      return Math.ceil((p.monitoring.prometheusStorageGB + p.monitoring.lokiStorageGB) / nodes);
    default:
      return 0;
  }
}

/** Pools (the last one's shape appended) whose usable capacity holds the backups and the horizon's media. */
function poolsForHorizon(minio: MinioPlan): number {
  const needed = minio.databaseBackupsGB + (minio.growthGBPerYear * minio.horizonMonths) / 12;
  const perPool = usableGB(minio.pools.at(-1)!, minio.parity);
  return minio.pools.length + Math.max(1, Math.ceil((needed - minio.usableGB) / perPool));
}

function minioDiskPerServer(minio: MinioPlan): number {
  const servers = minio.pools.reduce((n, p) => n + p.servers, 0);
  return Math.round(minio.pools.reduce((n, p) => n + p.servers * p.drivesPerServer * p.driveGB, 0) / servers);
}

/** Whether the database's backups go to a store of the operator's (not the in-cluster MinIO). */
export function backupsElsewhere(settings: Settings): boolean {
  return settings.target === "aws" ? !!settings.aws.backupBucket : !!settings.kubernetes.backupStore;
}

/** Backups belong in a store apart from the media: one failure domain otherwise. */
function backupWarning(settings: Settings): string[] {
  if (backupsElsewhere(settings)) return [];
  const fix = settings.target === "aws" ? "set aws.backupBucket to an S3 bucket of yours" : "set kubernetes.backupStore to an S3-compatible store of yours";
  return [`database backups go to the in-cluster MinIO with the media (one failure domain): ${fix}`];
}

/** The default node ranges (target kubernetes) hold every pod address too, so the policies that open them to the call hosts and the API server open them to any pod. */
function nodeCidrsWarning(settings: Settings): string[] {
  if (settings.target === "aws") return [];
  const cidrs = settings.kubernetes.nodeCidrs;
  if (cidrs.length !== PRIVATE_RANGES.length || !PRIVATE_RANGES.every((r) => cidrs.includes(r))) return [];
  return ["kubernetes.nodeCidrs is left at every private range, which holds the pods' addresses too: LiveKit's Redis then accepts any pod, and the pods allowed to reach the API server may reach any pod on its ports; set it to the nodes' and the API server's ranges (kubectl get nodes -o wide)"];
}

function warnings(ccu: number, tier: TierId, minio: MinioPlan): string[] {
  const out: string[] = [];
  const share = ccu / TIER_CCU[tier];
  const next = TIER_IDS[TIER_IDS.indexOf(tier) + 1];
  const pct = Math.round(share * 100);
  if (share > URGENT_UPGRADE_AT) {
    out.push(next ? `ccu ${ccu} is ${pct}% of the ${tier} tier: move to ${next} now (above ${URGENT_UPGRADE_AT * 100}%)` : `ccu ${ccu} is ${pct}% of the largest tier: plan a second deployment`);
  } else if (share > PLAN_UPGRADE_AT) {
    out.push(next ? `ccu ${ccu} is ${pct}% of the ${tier} tier: plan the move to ${next} (above ${PLAN_UPGRADE_AT * 100}%)` : `ccu ${ccu} is ${pct}% of the largest tier: plan a second deployment`);
  }
  if (minio.monthsCovered < minio.horizonMonths) {
    const when = minio.runsOutOn ? ` (around ${minio.runsOutOn})` : "";
    out.push(
      `media storage: ${minio.usableGB} GB usable${minio.databaseBackupsGB ? ` less ${minio.databaseBackupsGB} GB of database backups` : ""} covers ${minio.monthsCovered} months of growth at ${minio.growthGBPerYear} GB/year${when}, ` +
        `less than the ${minio.horizonMonths}-month horizon: add MinIO pools (overrides.minio.pools = ${poolsForHorizon(minio)})`,
    );
  }
  minio.pools.forEach((pool, i) => {
    const inZone = nodesInOneZone(pool.servers, ZONE_COUNT);
    if (!keepsWriteQuorum(pool, minio.parity, inZone)) {
      out.push(
        `MinIO pool ${i + 1} (${pool.servers} servers) puts ${inZone} servers in one zone, more than EC:${minio.parity} of each erasure set: media stops while that zone is out. ` +
          `A pool's layout is fixed; pools appended from now on are zone-aligned (${zoneAlignedServers(pool.servers)} servers)`,
      );
    }
  });
  return out;
}

export { PlanError } from "./errors";
export { checkTransition, storageState, type StorageState } from "./invariants";
export { parseSettings, requireDeployable, SettingsError, type Settings } from "./settings";
export type { Plan } from "./types";

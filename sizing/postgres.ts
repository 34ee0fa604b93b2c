/** PostgreSQL: instances, durability, resources, volume, max_connections and the tuning set. */
import { BARMAN_CLOUD_PLUGIN, CERT_MANAGER, CNPG_OPERATOR, DATABASE_BACKUP, DATABASE_VOLUME, WAL_GB_PER_GROWTH_GB, DEFAULT_GROWTH_HORIZON_MONTHS, MAX_CONNECTIONS_STEP } from "./additions";
import { PlanError } from "./errors";
import type { Capacity } from "./packing";
import { cappedToNode, ceilTo, guaranteed, resourcesOf } from "./resources";
import type { Overrides } from "./settings";
import { connectionLimit } from "./synapse";
import { TIER_CCU, TIER_TABLES, type TierId } from "./tiers";
import type { PostgresPlan } from "./types";
import { pgMemoryGiB } from "./units";
import { PRICES } from "./prices";
import { ebsBaseline } from "./node-model";

/** Seed 2.3: 10 GB once plus 500 MB per user per year. */
export const PG_BASE_GB = 10;
export const PG_GB_PER_USER_YEAR = 0.5;
const VOLUME_STEP_GB = 100;

/**
 * The tier's tuning set. The seed lists some parameters only at the tier that introduces them
 * (random_page_cost, effective_io_concurrency and wal_buffers at 100 CCU, autovacuum settings
 * from 1K): each carries forward to larger tiers until a tier sets it again.
 */
export function tierParameters(tier: TierId): Record<string, string> {
  const order = Object.keys(TIER_TABLES) as TierId[];
  const merged: Record<string, string> = {};
  for (const t of order.slice(0, order.indexOf(tier) + 1)) Object.assign(merged, TIER_TABLES[t].postgres.parameters);
  return merged;
}

/** Smallest max_connections, in steps, that keeps `connections` below the budget share. */
export function maxConnectionsFor(connections: number): number {
  let value = ceilTo(connections / 0.85, MAX_CONNECTIONS_STEP);
  while (connectionLimit(value) <= connections) value += MAX_CONNECTIONS_STEP;
  return value;
}

export function planPostgres(
  tier: TierId,
  /** Synapse's connections at maximum autoscale during a rollout. */
  connectionsInRollout: number,
  node: { instanceType: string; allocatable: Capacity },
  overrides: Overrides,
  previousStorageGB = 0,
): PostgresPlan {
  const seed = TIER_TABLES[tier].postgres;
  const seedMax = Number(seed.parameters.max_connections);
  const override = overrides.postgres?.maxConnections;
  let maxConnections: number;
  let source: PostgresPlan["maxConnectionsSource"];
  if (override !== undefined) {
    maxConnections = override;
    source = "override";
  } else if (connectionLimit(seedMax) > connectionsInRollout) {
    maxConnections = seedMax;
    source = "seed";
  } else {
    maxConnections = maxConnectionsFor(connectionsInRollout);
    source = "raised for the connection budget";
  }

  const growthGBPerYear = TIER_CCU[tier] * PG_GB_PER_USER_YEAR;
  const horizon = DEFAULT_GROWTH_HORIZON_MONTHS;
  const dataAtHorizonGB = PG_BASE_GB + (growthGBPerYear * horizon) / 12;
  const sizedForGrowth = ceilTo(dataAtHorizonGB, VOLUME_STEP_GB);
  // Volumes only grow: a deployment keeps at least the volume it has.
  const minimumStorage = Math.max(seed.storageGB, sizedForGrowth, previousStorageGB);
  const storageGB = overrides.postgres?.storageGB ?? minimumStorage;
  if (storageGB < previousStorageGB) {
    throw new PlanError("volumes only grow", "overrides.postgres.storageGB", `overrides.postgres.storageGB = ${storageGB} GB but the database volume is ${previousStorageGB} GB`, `set storageGB to ${previousStorageGB} or more, or remove it`);
  }
  if (storageGB < minimumStorage) {
    throw new PlanError(
      "database volume covers the growth horizon",
      "overrides.postgres.storageGB",
      `${storageGB} GB < ${minimumStorage} GB (max of the seed's ${seed.storageGB} GB and ${PG_BASE_GB} GB + ${growthGBPerYear} GB/year × ${horizon} months)`,
      `set storageGB to ${minimumStorage} or more, or remove it`,
    );
  }

  // The backup sidecar shares the instance's pod: PostgreSQL gets what the node leaves after it.
  const sidecar = guaranteed(BARMAN_CLOUD_PLUGIN.sidecar);
  const resources = cappedToNode(seed, { vcpu: node.allocatable.vcpu - sidecar.requests.vcpu, memoryGiB: node.allocatable.memoryGiB - sidecar.requests.memoryGiB });
  const parameters: Record<string, string> = { ...tierParameters(tier), max_connections: String(maxConnections), archive_timeout: `${DATABASE_BACKUP.archiveTimeoutS}s` };
  const memory = resources.limits.memoryGiB;
  const sharedBuffers = pgMemoryGiB(parameters.shared_buffers!);
  const cache = pgMemoryGiB(parameters.effective_cache_size!);
  if (sharedBuffers > memory * 0.4 || cache > memory) {
    throw new PlanError(
      "PostgreSQL memory fits its pod",
      "overrides.nodePools.database",
      `shared_buffers ${sharedBuffers} GiB (≤ 40%) and effective_cache_size ${cache} GiB must fit the ${memory} GiB pod`,
      "use database nodes with more memory",
    );
  }
  const workMem = pgMemoryGiB(parameters.work_mem!);
  const affordable = Math.floor((memory - sharedBuffers) / workMem);
  if (maxConnections > affordable) {
    throw new PlanError(
      "connection budget fits PostgreSQL memory",
      source === "override" ? "overrides.postgres.maxConnections" : "overrides.synapse",
      `max_connections ${maxConnections} (for ${connectionsInRollout} Synapse connections at maximum autoscale during a rollout) exceeds the ${affordable} connections a ${memory} GiB pod affords with shared_buffers ${sharedBuffers} GiB and work_mem ${parameters.work_mem} each`,
      "lower worker cpMax or maxReplicas overrides, or move to a larger tier",
    );
  }
  return {
    instances: seed.instances,
    synchronousStandbys: Math.max(1, Math.floor((seed.instances - 1) / 2)),
    resources,
    operator: { replicas: CNPG_OPERATOR.replicas, resources: resourcesOf(CNPG_OPERATOR), pool: "application" },
    backupPlugin: { replicas: BARMAN_CLOUD_PLUGIN.replicas, resources: resourcesOf(BARMAN_CLOUD_PLUGIN), sidecar, pool: "application", evictAfterSeconds: BARMAN_CLOUD_PLUGIN.evictAfterSeconds },
    certManager: {
      replicas: CERT_MANAGER.replicas,
      controller: resourcesOf(CERT_MANAGER.controller),
      webhook: resourcesOf(CERT_MANAGER.webhook),
      cainjector: resourcesOf(CERT_MANAGER.cainjector),
      startupCheck: resourcesOf(CERT_MANAGER.startupCheck),
      pool: "application",
    },
    storageGB,
    volume: databaseVolume(TIER_CCU[tier], storageGB, node.instanceType),
    maxConnections,
    maxConnectionsSource: source,
    parameters,
    growthGBPerYear,
    monthsCovered: Math.round(((storageGB - PG_BASE_GB) / (growthGBPerYear / 12)) * 10) / 10,
    pool: "database",
    backup: { ...DATABASE_BACKUP, storageGB: backupStorageGB(dataAtHorizonGB, growthGBPerYear) },
  };
}

/**
 * What the backup store holds at the growth horizon: every base backup the recovery window needs
 * (those taken within it and the one before) of the database at that size, and the WAL from the
 * oldest of them on (up to the window plus one interval).
 */
export function backupStorageGB(databaseGB: number, growthGBPerYear: number): number {
  const { retentionDays, baseBackupEveryDays } = DATABASE_BACKUP;
  const baseBackups = Math.ceil(retentionDays / baseBackupEveryDays) + 1;
  const wal = ((growthGBPerYear * WAL_GB_PER_GROWTH_GB) / 365) * (retentionDays + baseBackupEveryDays);
  return Math.ceil(baseBackups * databaseGB + wal);
}

/**
 * gp3 performance for the database volume (DATABASE_VOLUME), within what gp3 allows for its size and
 * what the instance sustains to EBS (its baseline, less the root disk's gp3 baseline): provisioning
 * more than the node can drive is paid for and never delivered.
 */
export function databaseVolume(users: number, storageGB: number, instanceType: string): PostgresPlan["volume"] {
  const gp3 = PRICES.ebs.gp3;
  const node = ebsBaseline(instanceType);
  const nodeIops = Math.max(gp3.baselineIops, node.iops - gp3.baselineIops);
  const nodeMiBps = Math.max(gp3.baselineMiBps, node.mibps - gp3.baselineMiBps);
  const iops = Math.min(gp3.maxIops, gp3.maxIopsPerGB * storageGB, nodeIops, Math.max(gp3.baselineIops, users * DATABASE_VOLUME.iopsPerUser));
  const throughputMiBps = Math.min(gp3.maxMiBps, gp3.maxMiBpsPerIops * iops, nodeMiBps, Math.max(gp3.baselineMiBps, Math.ceil(iops * DATABASE_VOLUME.mibpsPerIops)));
  return { iops, throughputMiBps };
}

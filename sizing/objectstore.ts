/** MinIO: erasure-coded server pools, real erasure-set math, and months of media growth covered. */
import { COORDINATED_RESTART, DEFAULT_GROWTH_HORIZON_MONTHS, MINIO_DRIVES_PER_SERVER, SETUP_JOB } from "./additions";
import { PlanError } from "./errors";
import { ZONE_COUNT } from "./inventory";
import { nodesInOneZone, type Capacity } from "./packing";
import { cappedToNode, guaranteed } from "./resources";
import type { Overrides } from "./settings";
import { TIER_TABLES, type TierId } from "./tiers";
import type { MinioPlan, MinioPool } from "./types";
import { addMonths } from "./units";

/** Seed 10.1: 10% of users upload, 20 GB each per year. */
export const UPLOADER_SHARE = 0.1;
export const GB_PER_UPLOADER_YEAR = 20;

/**
 * Drives per erasure set MinIO picks for a pool: the largest divisor of the pool's drive count
 * from 16 down to 4 that spreads evenly over its servers.
 */
export function erasureSetDrives(pool: MinioPool): number {
  const drives = pool.servers * pool.drivesPerServer;
  for (let size = 16; size >= 4; size--) {
    if (drives % size === 0 && (size % pool.servers === 0 || pool.servers % size === 0)) return size;
  }
  throw new PlanError(
    "MinIO erasure set",
    "overrides.minio",
    `${pool.servers} servers × ${pool.drivesPerServer} drives cannot form an erasure set of 4 to 16 drives`,
    "use 4 or more servers per pool",
  );
}

/** MinIO's default parity for the STANDARD storage class, by erasure-set size. */
export function defaultParity(setDrives: number): number {
  if (setDrives >= 8) return 4;
  if (setDrives >= 6) return 3;
  if (setDrives >= 4) return 2;
  return 1;
}

/**
 * Servers per pool: the seed's count rounded up to whole zones (4 → 6 over 3 zones). Each zone
 * then holds the same share of every erasure set, a third of it, within EC:4 of a 12-drive set;
 * the seed's 4 servers put 2 in one zone, half of a 16-drive set, and the pool stops with that zone.
 */
export function zoneAlignedServers(seedServers: number, zones = ZONE_COUNT): number {
  return Math.ceil(seedServers / zones) * zones;
}

/** Drives of one erasure set on `lostServers` servers of the pool (MinIO spreads every set evenly over the servers it spans). */
export function setDrivesLost(pool: MinioPool, lostServers: number): number {
  const set = erasureSetDrives(pool);
  return set >= pool.servers ? lostServers * (set / pool.servers) : Math.min(lostServers, set);
}

/** MinIO keeps writing while a set keeps its write quorum: `parity` drives lost, one fewer when parity is half the set. */
export function keepsWriteQuorum(pool: MinioPool, parity: number, lostServers: number): boolean {
  const lost = setDrivesLost(pool, lostServers);
  return parity * 2 < erasureSetDrives(pool) ? lost <= parity : lost < parity;
}

export function usableGB(pool: MinioPool, parity: number): number {
  const set = erasureSetDrives(pool);
  return pool.servers * pool.drivesPerServer * pool.driveGB * ((set - parity) / set);
}

export function mediaGrowthGBPerYear(ccu: number): number {
  return ccu * UPLOADER_SHARE * GB_PER_UPLOADER_YEAR;
}

/**
 * Pools are immutable once created: with a previous deployment, its pools stay exactly as they
 * are (whatever the tier now says) and new pools, shaped by the current tier, are appended.
 */
export function planMinio(
  tier: TierId,
  ccu: number,
  nodeAllocatable: Capacity,
  overrides: Overrides,
  asOf?: Date,
  previous?: { pools: MinioPool[]; parity: number },
  /** Database backups kept in this store (none when they go to a bucket of the operator's). */
  databaseBackupsGB = 0,
): MinioPlan {
  const seed = TIER_TABLES[tier].minio;
  const requested = overrides.minio?.pools;
  if (previous && requested !== undefined && requested < previous.pools.length) {
    throw new PlanError(
      "MinIO pools only grow",
      "overrides.minio.pools",
      `overrides.minio.pools = ${requested} but the deployment has ${previous.pools.length} pools`,
      `set overrides.minio.pools = ${previous.pools.length} or more; a pool can only leave after \`mc admin decommission\` has drained it`,
    );
  }
  const pool: MinioPool = {
    servers: zoneAlignedServers(seed.serversPerPool),
    drivesPerServer: MINIO_DRIVES_PER_SERVER,
    driveGB: seed.driveGB / MINIO_DRIVES_PER_SERVER,
  };
  const kept = previous?.pools.map((p) => ({ ...p })) ?? [];
  const wanted = Math.max(requested ?? seed.pools, kept.length);
  const pools = [...kept, ...Array.from({ length: wanted - kept.length }, () => ({ ...pool }))];
  const set = erasureSetDrives(pools[0]!);
  const parity = previous?.parity ?? defaultParity(set);
  const rawGB = pools.reduce((acc, p) => acc + p.servers * p.drivesPerServer * p.driveGB, 0);
  for (const p of pools) {
    if (erasureSetDrives(p) < 2 * parity) {
      throw new PlanError("MinIO parity is fixed by the first pool", "overrides.minio.pools", `a pool of ${p.servers}×${p.drivesPerServer} drives cannot hold EC:${parity}`, "use pools with at least twice the parity in drives");
    }
  }
  const usable = Math.floor(pools.reduce((acc, p) => acc + usableGB(p, parity), 0));
  const growthGBPerYear = mediaGrowthGBPerYear(ccu);
  const monthsCovered = Math.round((Math.max(0, usable - databaseBackupsGB) / (growthGBPerYear / 12)) * 10) / 10;
  const horizonMonths = overrides.minio?.growthHorizonMonths ?? DEFAULT_GROWTH_HORIZON_MONTHS;
  return {
    pools,
    parity,
    erasureSetDrives: set,
    rawGB,
    usableGB: usable,
    driveFailuresTolerated: parity,
    survivesZoneLoss: pools.every((p) => keepsWriteQuorum(p, parity, nodesInOneZone(p.servers, ZONE_COUNT))),
    resources: cappedToNode(seed, nodeAllocatable),
    growthGBPerYear,
    databaseBackupsGB,
    monthsCovered,
    horizonMonths,
    ...(asOf ? { runsOutOn: addMonths(asOf, monthsCovered) } : {}),
    pool: "storage",
    setupJob: guaranteed(SETUP_JOB),
    restart: { ...COORDINATED_RESTART },
  };
}

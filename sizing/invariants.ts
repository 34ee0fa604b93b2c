/**
 * Invariants between two plans (a tier move or an override change): storage only grows.
 * Shrinking or removing a MinIO pool, changing the parity the first pool fixed, or shrinking a
 * database volume would lose data or be refused by the software, so the plan refuses it first.
 */
import { PlanError } from "./errors";
import type { MinioPool, Plan } from "./types";

/** What a deployment holds data in: recorded as a stack output, checked on the next run. */
export interface StorageState {
  tier: string;
  ccu: number;
  minio: { pools: MinioPool[]; parity: number };
  postgres: { storageGB: number };
}

export function storageState(plan: Plan): StorageState {
  return { tier: plan.tier, ccu: plan.ccu, minio: { pools: plan.minio.pools, parity: plan.minio.parity }, postgres: { storageGB: plan.postgres.storageGB } };
}

export function checkTransition(previous: Plan | StorageState, next: Plan | StorageState): void {
  const from = `${previous.tier} (${previous.ccu} users)`;
  const to = `${next.tier} (${next.ccu} users)`;
  if (next.minio.pools.length < previous.minio.pools.length) {
    throw new PlanError(
      "MinIO pools only grow",
      "overrides.minio.pools",
      `moving ${from} → ${to} would drop MinIO pools ${previous.minio.pools.length} → ${next.minio.pools.length}`,
      `keep overrides.minio.pools = ${previous.minio.pools.length}; a pool can only leave after \`mc admin decommission\` has drained it`,
    );
  }
  previous.minio.pools.forEach((before, i) => {
    const after = next.minio.pools[i]!;
    if (after.servers !== before.servers || after.drivesPerServer !== before.drivesPerServer || after.driveGB < before.driveGB) {
      throw new PlanError(
        "MinIO pools are immutable",
        "overrides.minio.pools",
        `pool ${i + 1} would change from ${before.servers}×${before.drivesPerServer}×${before.driveGB} GB to ${after.servers}×${after.drivesPerServer}×${after.driveGB} GB`,
        "keep existing pools as they are and append a new pool",
      );
    }
  });
  if (next.minio.parity !== previous.minio.parity) {
    throw new PlanError("MinIO parity is fixed by the first pool", "overrides.minio.pools", `parity would change EC:${previous.minio.parity} → EC:${next.minio.parity}`, "keep the first pool's layout");
  }
  if (next.postgres.storageGB < previous.postgres.storageGB) {
    throw new PlanError(
      "volumes only grow",
      "overrides.postgres.storageGB",
      `moving ${from} → ${to} would shrink the database volume ${previous.postgres.storageGB} GB → ${next.postgres.storageGB} GB`,
      `set overrides.postgres.storageGB = ${previous.postgres.storageGB}`,
    );
  }
}

/**
 * Servers: an AWS instance type per role spec, labels and taints per pool, allocatable per
 * node, and the monthly cost estimate.
 *
 * Prices: AWS On-Demand list prices for Linux in us-east-1, from the AWS EC2 and EBS pricing
 * pages as published in 2025 (read 2025-11); 730 hours per month. They are estimates for
 * comparing tiers, not quotes: other regions, savings plans and data transfer differ.
 */
import { allocatable } from "./packing";
import type { DiskKind } from "./tiers";
import type { InventoryRole, InventoryRow, MinioPlan, Taint, Totals } from "./types";

export const PRICES_AS_OF = "2025-11";
export const HOURS_PER_MONTH = 730;
export const EKS_CONTROL_PLANE_USD_PER_HOUR = 0.1;

/** Instance family by memory per vCPU (GiB). */
const FAMILY_BY_RATIO: Readonly<Record<number, string>> = { 2: "c7i", 4: "m7i", 8: "r7i" };
const SIZE_BY_VCPU: Readonly<Record<number, string>> = { 2: "large", 4: "xlarge", 8: "2xlarge", 16: "4xlarge", 32: "8xlarge", 48: "12xlarge", 64: "16xlarge" };

/** USD per hour. */
export const INSTANCE_USD_PER_HOUR: Readonly<Record<string, number>> = {
  "c7i.large": 0.08925,
  "c7i.xlarge": 0.1785,
  "c7i.2xlarge": 0.357,
  "c7i.4xlarge": 0.714,
  "c7i.8xlarge": 1.428,
  "c7i.12xlarge": 2.142,
  "c7i.16xlarge": 2.856,
  "m7i.large": 0.1008,
  "m7i.xlarge": 0.2016,
  "m7i.2xlarge": 0.4032,
  "m7i.4xlarge": 0.8064,
  "m7i.8xlarge": 1.6128,
  "m7i.12xlarge": 2.4192,
  "m7i.16xlarge": 3.2256,
  "r7i.large": 0.1323,
  "r7i.xlarge": 0.2646,
  "r7i.2xlarge": 0.5292,
  "r7i.4xlarge": 1.0584,
  "r7i.8xlarge": 2.1168,
  "r7i.12xlarge": 3.1752,
  "r7i.16xlarge": 4.2336,
};

/** USD per GB-month. NVMe-class database disks are gp3 with provisioned IOPS on EKS. */
export const VOLUME_USD_PER_GB_MONTH = { gp3: 0.08, st1: 0.045 } as const;
export const VOLUME_TYPE_BY_DISK: Readonly<Record<DiskKind, "gp3" | "st1">> = { ssd: "gp3", nvme: "gp3", hdd: "st1" };

export function instanceType(vcpu: number, memoryGiB: number): string {
  const family = FAMILY_BY_RATIO[memoryGiB / vcpu];
  const size = SIZE_BY_VCPU[vcpu];
  if (!family || !size) throw new Error(`no instance type for ${vcpu} vCPU / ${memoryGiB} GiB`);
  return `${family}.${size}`;
}

/** Pools that run only their own workload: everything else is kept off by a taint. */
const TAINTED: ReadonlySet<InventoryRole> = new Set(["database", "storage", "calls", "compliance"]);
export const POOL_LABEL = "matrix-scale/pool";

export function poolLabels(role: InventoryRole): Record<string, string> {
  return { [POOL_LABEL]: role };
}

export function poolTaints(role: InventoryRole): Taint[] {
  return TAINTED.has(role) ? [{ key: POOL_LABEL, value: role, effect: "NoSchedule" }] : [];
}

export type ServerSpec = Pick<InventoryRow, "role" | "count" | "vcpu" | "memoryGiB" | "storageGB" | "disk" | "countReason">;

export function inventoryRow(spec: ServerSpec): InventoryRow {
  const type = instanceType(spec.vcpu, spec.memoryGiB);
  const volumeType = VOLUME_TYPE_BY_DISK[spec.disk];
  const perServer = INSTANCE_USD_PER_HOUR[type]! * HOURS_PER_MONTH + spec.storageGB * VOLUME_USD_PER_GB_MONTH[volumeType];
  return {
    role: spec.role,
    count: spec.count,
    vcpu: spec.vcpu,
    memoryGiB: spec.memoryGiB,
    storageGB: spec.storageGB,
    disk: spec.disk,
    volumeType,
    instanceType: type,
    allocatable: allocatable(spec),
    labels: poolLabels(spec.role),
    taints: poolTaints(spec.role),
    monthlyUsd: Math.round(perServer * spec.count * 100) / 100,
    ...(spec.countReason ? { countReason: spec.countReason } : {}),
  };
}

/** Totals are always computed from the rows; the EKS fee is added when AWS runs the control plane. */
export function totals(rows: readonly InventoryRow[], managedControlPlane: boolean): Totals {
  const sum = (f: (r: InventoryRow) => number) => rows.reduce((acc, r) => acc + f(r), 0);
  const fee = managedControlPlane ? EKS_CONTROL_PLANE_USD_PER_HOUR * HOURS_PER_MONTH : 0;
  return {
    servers: sum((r) => r.count),
    vcpu: sum((r) => r.count * r.vcpu),
    memoryGiB: sum((r) => r.count * r.memoryGiB),
    storageGB: sum((r) => r.count * r.storageGB),
    monthlyUsd: Math.round((sum((r) => r.monthlyUsd) + fee) * 100) / 100,
  };
}


/** Storage nodes carry the MinIO pool whose servers they run. */
export const MINIO_POOL_LABEL = "matrix-scale/minio-pool";
/** Call nodes carry the service (LiveKit or coturn) they host. */
export const CALL_SERVICE_LABEL = "matrix-scale/call-service";

/** A group of identical nodes: a managed node group on AWS, a labelled set of nodes elsewhere. */
export interface NodeGroupSpec {
  /** The pool's role, or `<role>-<part>` for the further groups a pool is split into. */
  id: string;
  row: InventoryRow;
  count: number;
  labels: Record<string, string>;
}

type GroupedPlan = { inventory: readonly InventoryRow[]; minio: Pick<MinioPlan, "pools">; livekit: { instances: number }; coturn: { instances: number } };

/**
 * The node groups an inventory needs: one per role, except the pools of one-per-node members that
 * must not take each other's nodes, split into groups of their own (each spread over the zones):
 * - storage, one group per MinIO pool: appending a pool restarts every MinIO server (each lists
 *   every pool), and on shared nodes a new pool's server could take the node a restarting server
 *   (its volumes in that node's zone) is about to come back to;
 * - calls, one group per service: on shared nodes one service could take every host of a zone and
 *   leave the other all its hosts in a single zone.
 * The first group keeps the pool's id (and any spare nodes), so an existing group keeps its name.
 */
export function nodeGroups(plan: GroupedPlan): NodeGroupSpec[] {
  const split = (row: InventoryRow, label: string, parts: { id: string; value: string; count: number }[]): NodeGroupSpec[] => {
    const spare = row.count - parts.reduce((acc, p) => acc + p.count, 0);
    return parts.map((part, i) => ({
      id: i === 0 ? row.role : `${row.role}-${part.id}`,
      row,
      count: part.count + (i === 0 ? spare : 0),
      labels: { ...row.labels, [label]: part.value },
    }));
  };
  return plan.inventory
    .filter((row) => row.role !== "controlPlane")
    .flatMap((row): NodeGroupSpec[] => {
      if (row.role === "storage") return split(row, MINIO_POOL_LABEL, plan.minio.pools.map((pool, i) => ({ id: `pool${i}`, value: String(i), count: pool.servers })));
      if (row.role === "calls") {
        const services = (["livekit", "coturn"] as const).map((name) => ({ id: name, value: name, count: plan[name].instances }));
        return split(row, CALL_SERVICE_LABEL, services);
      }
      return [{ id: row.role, row, count: row.count, labels: row.labels }];
    });
}

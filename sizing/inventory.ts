/**
 * Servers: an AWS instance type per role spec, labels and taints per pool, allocatable per node,
 * and each pool's share of the bill (nodes and their root disks; prices from sizing/prices.ts).
 */
import { allocatable } from "./packing";
import { instanceMonthlyUsd, volumeMonthlyUsd } from "./prices";
import type { DiskKind } from "./tiers";
import type { Bill, InventoryRole, InventoryRow, MinioPlan, Taint, Totals } from "./types";

/** Instance family by memory per vCPU (GiB). */
const FAMILY_BY_RATIO: Readonly<Record<number, string>> = { 2: "c7i", 4: "m7i", 8: "r7i" };
const SIZE_BY_VCPU: Readonly<Record<number, string>> = { 2: "large", 4: "xlarge", 8: "2xlarge", 16: "4xlarge", 32: "8xlarge", 48: "12xlarge", 64: "16xlarge" };

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

export type ServerSpec = Pick<InventoryRow, "role" | "count" | "vcpu" | "memoryGiB" | "storageGB" | "rootDiskGB" | "disk" | "countReason">;

export function inventoryRow(spec: ServerSpec): InventoryRow {
  const type = instanceType(spec.vcpu, spec.memoryGiB);
  const volumeType = VOLUME_TYPE_BY_DISK[spec.disk];
  const perServer = instanceMonthlyUsd(type) + volumeMonthlyUsd("gp3", spec.rootDiskGB);
  return {
    role: spec.role,
    count: spec.count,
    vcpu: spec.vcpu,
    memoryGiB: spec.memoryGiB,
    storageGB: spec.storageGB,
    disk: spec.disk,
    volumeType,
    instanceType: type,
    rootDiskGB: spec.rootDiskGB,
    allocatable: allocatable(type),
    labels: poolLabels(spec.role),
    taints: poolTaints(spec.role),
    monthlyUsd: Math.round(perServer * spec.count * 100) / 100,
    ...(spec.countReason ? { countReason: spec.countReason } : {}),
  };
}

/** Totals are always computed from the rows; the cost is the whole bill's. */
export function totals(rows: readonly InventoryRow[], bill: Pick<Bill, "monthlyUsd">): Totals {
  const sum = (f: (r: InventoryRow) => number) => rows.reduce((acc, r) => acc + f(r), 0);
  return {
    servers: sum((r) => r.count),
    vcpu: sum((r) => r.count * r.vcpu),
    memoryGiB: sum((r) => r.count * r.memoryGiB),
    storageGB: sum((r) => r.count * r.storageGB),
    monthlyUsd: bill.monthlyUsd,
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
  /** The zone (an index into the deployment's three) a group of a zonal pool lives in; unset: all zones. */
  zone?: number;
}

/** The zones a deployment spreads over (settings take exactly three). */
export const ZONE_COUNT = 3;

/**
 * Pools whose pods hold zonal volumes (EBS): a node group per zone, so a replacement node comes
 * back in the zone of the volume whose pod lost its node (a group over three zones may bring it
 * anywhere, and the pod stays Pending). Call hosts hold no volumes.
 */
export const ZONAL_POOLS: ReadonlySet<InventoryRole> = new Set(["application", "database", "storage", "monitoring"]);

/** `count` nodes over the zones, as evenly as they go (the first zones take the extra ones). */
export function perZone(count: number, zones = ZONE_COUNT): number[] {
  return Array.from({ length: zones }, (_, i) => Math.floor(count / zones) + (i < count % zones ? 1 : 0));
}

/** A zonal pool's group split into one group per zone that has nodes; the first keeps the group's id. */
function byZone(group: NodeGroupSpec): NodeGroupSpec[] {
  if (!ZONAL_POOLS.has(group.row.role)) return [group];
  return perZone(group.count)
    .map((count, zone) => ({ ...group, id: zone === 0 ? group.id : `${group.id}-z${zone}`, count, zone }))
    .filter((g) => g.count > 0);
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
 * Each group of a zonal pool is then split by zone (byZone).
 */
export function nodeGroups(plan: GroupedPlan): NodeGroupSpec[] {
  return poolGroups(plan).flatMap(byZone);
}

function poolGroups(plan: GroupedPlan): NodeGroupSpec[] {
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

/**
 * The whole monthly bill of a plan, priced from one dated table (sizing/prices.ts): the nodes, their
 * root disks, every persistent volume (PostgreSQL with its provisioned IOPS, MinIO drives, Redis,
 * Prometheus and Loki), and on AWS the network (NAT gateways, load balancers, public IPv4
 * addresses) and the EKS control plane at its version's support level. Pure.
 */
import { supportLevel } from "./eks-versions";
import { instanceMonthlyUsd, PRICES, volumeMonthlyUsd } from "./prices";
import type { Bill, BillLine, InventoryRow, Plan } from "./types";

/** What the program creates on AWS that is billed by the hour (components/nodepools, the Services of type LoadBalancer). */
export interface AwsFootprint {
  zones: number;
  /** NAT gateways exist only when the program creates the VPC. */
  createsVpc: boolean;
  /** Internet-facing NLBs: HAProxy and LiveKit's signalling. */
  loadBalancers: number;
  kubernetesVersion: string;
  /** The day the EKS support level is judged on. */
  on: Date;
  /** Database backups go to an S3 bucket of the operator's (otherwise into MinIO, whose drives are priced). */
  backupBucket: boolean;
}

/** Parts of the bill the table cannot price: they depend on traffic or on the operator's account. */
export const NOT_PRICED = [
  "data transfer out and between zones",
  "NAT gateway data processing ($/GB)",
  "load balancer capacity units",
  "CloudWatch logs of the control plane",
  "S3 requests for the backups, and snapshots",
] as const;

const cents = (usd: number) => Math.round(usd * 100) / 100;
const hourly = (usdPerHour: number) => usdPerHour * PRICES.hoursPerMonth;

type Priced = Pick<Plan, "inventory" | "postgres" | "minio" | "redis" | "monitoring">;

function nodeLines(inventory: readonly InventoryRow[]): BillLine[] {
  return inventory.map((row) => ({ item: `${row.role} nodes`, quantity: row.count, unit: row.instanceType, monthlyUsd: cents(row.count * instanceMonthlyUsd(row.instanceType)) }));
}

function volumeLines(plan: Priced): BillLine[] {
  const rootGB = plan.inventory.reduce((n, r) => n + r.count * r.rootDiskGB, 0);
  const nodes = plan.inventory.reduce((n, r) => n + r.count, 0);
  const pg = plan.postgres;
  const drives = plan.minio.pools.flatMap((pool) => Array.from({ length: pool.servers * pool.drivesPerServer }, () => pool.driveGB));
  const redis = [plan.redis.synapse, plan.redis.livekit];
  const redisVolumes = redis.reduce((n, r) => n + r.instances, 0);
  return [
    { item: "root disks (gp3)", quantity: nodes, unit: `${rootGB} GB in all`, monthlyUsd: cents(plan.inventory.reduce((n, r) => n + r.count * volumeMonthlyUsd("gp3", r.rootDiskGB), 0)) },
    {
      item: "PostgreSQL volumes (gp3)",
      quantity: pg.instances,
      unit: `${pg.storageGB} GB, ${pg.volume.iops} IOPS, ${pg.volume.throughputMiBps} MiB/s`,
      monthlyUsd: cents(pg.instances * volumeMonthlyUsd("gp3", pg.storageGB, pg.volume.iops, pg.volume.throughputMiBps)),
    },
    { item: "MinIO drives (st1)", quantity: drives.length, unit: `${drives.reduce((a, b) => a + b, 0)} GB in all`, monthlyUsd: cents(drives.reduce((n, gb) => n + volumeMonthlyUsd("st1", gb), 0)) },
    { item: "Redis volumes (gp3)", quantity: redisVolumes, unit: `${redis.reduce((n, r) => n + r.instances * r.storageGB, 0)} GB in all`, monthlyUsd: cents(redis.reduce((n, r) => n + r.instances * volumeMonthlyUsd("gp3", r.storageGB), 0)) },
    {
      item: "Prometheus and Loki volumes (gp3)",
      quantity: 2,
      unit: `${plan.monitoring.prometheusStorageGB} + ${plan.monitoring.lokiStorageGB} GB`,
      monthlyUsd: cents(volumeMonthlyUsd("gp3", plan.monitoring.prometheusStorageGB) + volumeMonthlyUsd("gp3", plan.monitoring.lokiStorageGB)),
    },
  ];
}

function awsLines(plan: Priced, aws: AwsFootprint): { lines: BillLine[]; eksSupport: "standard" | "extended" } {
  const natGateways = aws.createsVpc ? aws.zones : 0;
  const callHosts = plan.inventory.find((r) => r.role === "calls")?.count ?? 0;
  // One address per NAT gateway, per load balancer per zone, and per call host (public subnets).
  const addresses = natGateways + aws.loadBalancers * aws.zones + callHosts;
  const level = supportLevel(aws.kubernetesVersion, aws.on) === "extended" ? "extended" : "standard";
  const eksPerHour = level === "extended" ? PRICES.eks.extendedUsdPerHour : PRICES.eks.standardUsdPerHour;
  return {
    eksSupport: level,
    lines: [
      { item: "NAT gateways", quantity: natGateways, unit: "one per zone", monthlyUsd: cents(natGateways * hourly(PRICES.natGateway.usdPerHour)) },
      { item: "network load balancers", quantity: aws.loadBalancers, unit: "HAProxy, LiveKit", monthlyUsd: cents(aws.loadBalancers * hourly(PRICES.networkLoadBalancer.usdPerHour)) },
      { item: "public IPv4 addresses", quantity: addresses, unit: "NAT, load balancers, call hosts", monthlyUsd: cents(addresses * hourly(PRICES.publicIpv4.usdPerHour)) },
      { item: "EKS control plane", quantity: 1, unit: `Kubernetes ${aws.kubernetesVersion}, ${level} support`, monthlyUsd: cents(hourly(eksPerHour)) },
      ...(aws.backupBucket
        ? [{ item: "database backups (S3 Standard)", quantity: 1, unit: `${plan.postgres.backup.storageGB} GB at the growth horizon`, monthlyUsd: cents(plan.postgres.backup.storageGB * PRICES.s3.standardUsdPerGBMonth) }]
        : []),
    ],
  };
}

/** The bill: on AWS everything the program creates; elsewhere the AWS price of the same servers and volumes. */
export function monthlyBill(plan: Priced, aws?: AwsFootprint): Bill {
  const network = aws ? awsLines(plan, aws) : undefined;
  const lines = [...nodeLines(plan.inventory), ...volumeLines(plan), ...(network?.lines ?? [])].filter((l) => l.quantity > 0);
  return {
    pricesAsOf: PRICES.asOf,
    region: PRICES.region,
    lines,
    monthlyUsd: cents(lines.reduce((n, l) => n + l.monthlyUsd, 0)),
    ...(network ? { eksSupport: network.eksSupport } : {}),
    notPriced: [...NOT_PRICED],
  };
}

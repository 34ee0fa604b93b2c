/**
 * The price table against worked examples from its sources: the Amazon EBS pricing page's examples
 * (https://aws.amazon.com/ebs/pricing/, a volume kept 12 hours of a 30-day month, so 12/720 of the
 * monthly cost) and infracost's us-east-1 golden file for EBS volumes
 * (internal/providers/terraform/aws/testdata/ebs_volume_test/ebs_volume_test.golden), plus the gp3
 * limits AWS published in 2025 (80,000 IOPS, 2,000 MiB/s, 500 IOPS per GB, 0.25 MiB/s per IOPS).
 */
import { describe, expect, it } from "vitest";
import { instanceMonthlyUsd, PRICE_SOURCES, PRICES, volumeMonthlyUsd } from "../../sizing/prices";

const TWELVE_HOURS_OF_A_30_DAY_MONTH = 12 / 720;

describe("EBS volumes against the AWS EBS pricing page's examples", () => {
  it("example 1 (gp3, 2,000 GB, 10,000 IOPS): storage $2.667 + IOPS $0.583 for 12 hours", () => {
    // The example's throughput line uses "a region that charges $0.06"; us-east-1 charges $0.04, so
    // the 500 MB/s part is checked on its own below, not against the example's $0.375.
    expect(volumeMonthlyUsd("gp3", 2000, 10_000) * TWELVE_HOURS_OF_A_30_DAY_MONTH).toBeCloseTo(2.667 + 0.583, 3);
    const throughputOnly = volumeMonthlyUsd("gp3", 2000, 10_000, 500) - volumeMonthlyUsd("gp3", 2000, 10_000);
    expect(throughputOnly).toBeCloseTo((500 - 125) * 0.04, 10);
  });

  it("examples 3 and 4 (io2, 2,000 GB, 1,000 IOPS): $4.167 storage + $1.083 IOPS = $5.25 for 12 hours", () => {
    expect(volumeMonthlyUsd("io2", 2000, 1000) * TWELVE_HOURS_OF_A_30_DAY_MONTH).toBeCloseTo(5.25, 3);
  });

  it("example 5 (st1, 2,000 GB): $1.50 for 12 hours", () => {
    expect(volumeMonthlyUsd("st1", 2000) * TWELVE_HOURS_OF_A_30_DAY_MONTH).toBeCloseTo(1.5, 10);
  });
});

describe("EBS volumes against infracost's us-east-1 golden file", () => {
  it("gp3 40 GB, 4,000 IOPS, 130 MiB/s: $3.20 + $5.00 + $0.20", () => {
    expect(volumeMonthlyUsd("gp3", 40, 4000, 130)).toBeCloseTo(3.2 + 5.0 + 0.2, 10);
  });
  it("io2 30 GB, 300 IOPS: $3.75 + $19.50", () => {
    expect(volumeMonthlyUsd("io2", 30, 300)).toBeCloseTo(3.75 + 19.5, 10);
  });
  it("st1 40 GB: $1.80", () => {
    expect(volumeMonthlyUsd("st1", 40)).toBeCloseTo(1.8, 10);
  });
});

describe("gp3: baseline free, limits enforced", () => {
  it("the 3,000 IOPS / 125 MiB/s baseline costs nothing beyond storage, even on a 1 GB volume", () => {
    expect(volumeMonthlyUsd("gp3", 1)).toBeCloseTo(0.08, 10);
    expect(volumeMonthlyUsd("gp3", 1, 3000, 125)).toBeCloseTo(0.08, 10);
    expect(volumeMonthlyUsd("gp3", 100, 2000, 100)).toBeCloseTo(8, 10);
  });

  it("80,000 IOPS needs 160 GB (500 per GB); 2,000 MiB/s needs 8,000 IOPS (0.25 MiB/s each)", () => {
    expect(volumeMonthlyUsd("gp3", 160, 80_000)).toBeCloseTo(160 * 0.08 + 77_000 * 0.005, 10);
    expect(() => volumeMonthlyUsd("gp3", 159, 80_000)).toThrow(/at most 79500 IOPS/);
    expect(() => volumeMonthlyUsd("gp3", 1000, 80_001)).toThrow(/at most 80000 IOPS/);
    expect(volumeMonthlyUsd("gp3", 16, 8000, 2000)).toBeCloseTo(16 * 0.08 + 5000 * 0.005 + 1875 * 0.04, 10);
    expect(() => volumeMonthlyUsd("gp3", 16, 7999, 2000)).toThrow(/at most 1999.75 MiB\/s/);
    expect(() => volumeMonthlyUsd("gp3", 1000, 80_000, 2001)).toThrow(/at most 2000 MiB\/s/);
    expect(() => volumeMonthlyUsd("gp3", 1, 3000, 751)).toThrow(/at most 750 MiB\/s/);
  });

  it("the published limits are the ones in the table", () => {
    const gp3 = PRICES.ebs.gp3;
    expect([gp3.maxIops, gp3.maxMiBps, gp3.maxIopsPerGB, gp3.maxMiBpsPerIops]).toEqual([80_000, 2000, 500, 0.25]);
    expect(gp3.maxIops / gp3.maxIopsPerGB).toBe(160);
    expect(gp3.maxMiBps / gp3.maxMiBpsPerIops).toBe(8000);
  });
});

describe("io2 and st1 refuse what cannot be bought", () => {
  it("io2 needs IOPS, takes no throughput, stays in the first tier and within 1,000 IOPS per GB", () => {
    expect(() => volumeMonthlyUsd("io2", 100)).toThrow(/needs provisioned IOPS/);
    expect(() => volumeMonthlyUsd("io2", 100, 1000, 250)).toThrow(/throughput/);
    expect(volumeMonthlyUsd("io2", 100, 32_000)).toBeCloseTo(100 * 0.125 + 32_000 * 0.065, 10);
    expect(() => volumeMonthlyUsd("io2", 100, 32_001)).toThrow(/32,000/);
    expect(() => volumeMonthlyUsd("io2", 10, 10_001)).toThrow(/at most 10000 IOPS/);
  });
  it("st1 takes neither IOPS nor throughput", () => {
    expect(() => volumeMonthlyUsd("st1", 500, 1000)).toThrow(/st1/);
    expect(() => volumeMonthlyUsd("st1", 500, undefined, 250)).toThrow(/st1/);
  });
  it("sizes, IOPS and throughput must be finite and not negative", () => {
    expect(() => volumeMonthlyUsd("gp3", -1)).toThrow(/sizeGB/);
    expect(() => volumeMonthlyUsd("gp3", Number.NaN)).toThrow(/sizeGB/);
    expect(() => volumeMonthlyUsd("gp3", 10, -1)).toThrow(/iops/);
    expect(() => volumeMonthlyUsd("gp3", 10, 3000, Number.POSITIVE_INFINITY)).toThrow(/throughputMiBps/);
  });
});

describe("instances", () => {
  it("a month is 730 hours of the hourly price", () => {
    expect(instanceMonthlyUsd("c7i.large")).toBeCloseTo(0.08925 * 730, 10);
    expect(instanceMonthlyUsd("r7i.16xlarge")).toBeCloseTo(4.2336 * 730, 10);
  });

  it("an unknown type throws naming it, including names that exist on every object", () => {
    expect(() => instanceMonthlyUsd("c7i.24xlarge")).toThrow(/"c7i\.24xlarge"/);
    expect(() => instanceMonthlyUsd("toString")).toThrow(/"toString"/);
  });

  it("every family and size is priced, and each family's price per vCPU is the same at every size", () => {
    const vcpus = { large: 2, xlarge: 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32, "12xlarge": 48, "16xlarge": 64 } as const;
    const table: Readonly<Record<string, number>> = PRICES.instanceUsdPerHour;
    expect(Object.keys(table)).toHaveLength(21);
    for (const family of ["c7i", "m7i", "r7i"]) {
      const perVcpu = table[`${family}.large`]! / 2;
      for (const [size, n] of Object.entries(vcpus)) expect(table[`${family}.${size}`]).toBeCloseTo(perVcpu * n, 10);
    }
  });
});

describe("the rest of the table", () => {
  it("holds the us-east-1 network and EKS rates and a source for each", () => {
    expect(PRICES.natGateway).toEqual({ usdPerHour: 0.045, usdPerGB: 0.045 });
    expect(PRICES.networkLoadBalancer).toEqual({ usdPerHour: 0.0225, usdPerNlcuHour: 0.006 });
    expect(PRICES.publicIpv4.usdPerHour).toBe(0.005);
    expect(PRICES.eks).toEqual({ standardUsdPerHour: 0.1, extendedUsdPerHour: 0.6 });
    expect([PRICES.region, PRICES.hoursPerMonth]).toEqual(["us-east-1", 730]);
    expect(PRICES.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const s of PRICE_SOURCES) expect(s.source).toMatch(/^https:\/\//);
    const covered = PRICE_SOURCES.map((s) => s.what).join(" ");
    for (const word of ["EC2", "gp3", "io2", "st1", "NAT", "NLB", "IPv4", "EKS"]) expect(covered).toContain(word);
  });
});

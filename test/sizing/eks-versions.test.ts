/**
 * The EKS version calendar (sizing/eks-versions.ts) against the lifecycle rules of the Amazon EKS
 * User Guide ("Understand the Kubernetes version lifecycle on EKS"): 14 months of standard support
 * from the EKS release, then 12 months of extended support; the calendar's dates are UTC+0 days,
 * extended support billing starts at the beginning of the end-of-standard-support day, and no
 * cluster can be created from the end-of-extended-support day on. Extended support costs $0.60 a
 * cluster-hour against $0.10 (AWS containers blog, extended support pricing): six times.
 */
import { describe, expect, it } from "vitest";
import {
  EKS_CALENDAR_AS_OF,
  EKS_CLUSTER_HOUR_USD,
  EKS_VERSIONS,
  eksVersion,
  eksVersionWarning,
  EXTENDED_SUPPORT_FEE_MULTIPLE,
  newestStandardVersion,
  offeredVersions,
  supportLevel,
} from "../../sizing/eks-versions";
import { DEFAULT_EKS_VERSION, SETTINGS_DATE } from "../../sizing/settings";

const at = (iso: string) => new Date(iso.length === 10 ? `${iso}T00:00:00Z` : iso);
const AS_OF = at(EKS_CALENDAR_AS_OF);

/** An ISO date `months` calendar months later, same day of the month. */
function monthsAfter(date: string, months: number): string {
  const d = at(date);
  d.setUTCMonth(d.getUTCMonth() + months);
  return d.toISOString().slice(0, 10);
}

describe("the calendar", () => {
  it("is dated 2026-11-30, the day the settings judge versions on", () => {
    expect(EKS_CALENDAR_AS_OF).toBe("2026-11-30");
    expect(SETTINGS_DATE.toISOString()).toBe("2026-11-30T00:00:00.000Z");
  });

  it("holds 1.31 to 1.36, oldest first, each with ISO dates and a source", () => {
    expect(EKS_VERSIONS.map((v) => v.version)).toEqual(["1.31", "1.32", "1.33", "1.34", "1.35", "1.36"]);
    for (const v of EKS_VERSIONS) {
      for (const date of [v.released, v.endOfStandardSupport, v.endOfExtendedSupport]) expect(at(date).toISOString().slice(0, 10), v.version).toBe(date);
      expect(v.source, v.version).toMatch(/^https:\/\//);
    }
    // Releases in order: the newest version is the last one.
    const released = EKS_VERSIONS.map((v) => v.released);
    expect([...released].sort()).toEqual(released);
  });

  it.each(EKS_VERSIONS.map((v) => [v.version, v] as const))("%s: 14 months of standard support, then 12 of extended support", (_version, v) => {
    expect(v.endOfStandardSupport).toBe(monthsAfter(v.released, 14));
    expect(v.endOfExtendedSupport).toBe(monthsAfter(v.endOfStandardSupport, 12));
  });

  it("the AWS calendar's dates", () => {
    const row = (version: string) => {
      const v = eksVersion(version)!;
      return [v.released, v.endOfStandardSupport, v.endOfExtendedSupport];
    };
    expect(row("1.31")).toEqual(["2024-09-26", "2025-11-26", "2026-11-26"]);
    expect(row("1.32")).toEqual(["2025-01-23", "2026-03-23", "2027-03-23"]);
    expect(row("1.33")).toEqual(["2025-05-29", "2026-07-29", "2027-07-29"]);
    expect(row("1.34")).toEqual(["2025-10-02", "2026-12-02", "2027-12-02"]);
    expect(row("1.35")).toEqual(["2026-01-27", "2027-03-27", "2028-03-27"]);
    expect(row("1.36")).toEqual(["2026-06-02", "2027-08-02", "2028-08-02"]);
    expect(eksVersion("1.30")).toBeUndefined();
  });

  it("extended support costs six times the standard fee ($0.60 against $0.10 a cluster-hour)", () => {
    expect(EKS_CLUSTER_HOUR_USD).toEqual({ standard: 0.1, extended: 0.6 });
    expect(EXTENDED_SUPPORT_FEE_MULTIPLE).toBe(6);
  });
});

describe("supportLevel", () => {
  it.each([
    ["1.31", "unsupported"],
    ["1.32", "extended"],
    ["1.33", "extended"],
    ["1.34", "standard"],
    ["1.35", "standard"],
    ["1.36", "standard"],
    ["1.30", "unsupported"],
    ["1.37", "unsupported"],
    ["", "unsupported"],
  ])("%s on 2026-11-30: %s", (version, level) => expect(supportLevel(version, AS_OF)).toBe(level));

  it("the days are UTC days: each period starts at 00:00 UTC of its date", () => {
    // 1.34: released 2025-10-02, extended from 2026-12-02, gone from 2027-12-02.
    expect(supportLevel("1.34", at("2025-10-01T23:59:59.999Z"))).toBe("unsupported");
    expect(supportLevel("1.34", at("2025-10-02"))).toBe("standard");
    expect(supportLevel("1.34", at("2026-12-01T23:59:59.999Z"))).toBe("standard");
    expect(supportLevel("1.34", at("2026-12-02"))).toBe("extended");
    expect(supportLevel("1.34", at("2026-12-02T23:00:00Z"))).toBe("extended");
    expect(supportLevel("1.34", at("2027-12-01T23:59:59.999Z"))).toBe("extended");
    expect(supportLevel("1.34", at("2027-12-02"))).toBe("unsupported");
    // A time zone ahead of UTC does not move the day: 2026-12-02 01:00 in UTC+2 is still 2026-12-01 UTC.
    expect(supportLevel("1.34", at("2026-12-02T01:00:00+02:00"))).toBe("standard");
  });

  it("offeredVersions: what a cluster can be created with, oldest first", () => {
    expect(offeredVersions(AS_OF)).toEqual(["1.32", "1.33", "1.34", "1.35", "1.36"]);
    expect(offeredVersions(at("2026-11-25"))).toEqual(["1.31", "1.32", "1.33", "1.34", "1.35", "1.36"]);
    expect(offeredVersions(at("2024-09-25"))).toEqual([]);
  });
});

describe("the default version", () => {
  it("is the newest version in standard support on the calendar's date", () => {
    expect(newestStandardVersion(AS_OF)).toBe("1.36");
    expect(DEFAULT_EKS_VERSION).toBe(newestStandardVersion(AS_OF));
    expect(supportLevel(DEFAULT_EKS_VERSION, AS_OF)).toBe("standard");
  });

  it("stays in standard support longer than any other version offered on that date", () => {
    const end = eksVersion(DEFAULT_EKS_VERSION)!.endOfStandardSupport;
    expect(end).toBe("2027-08-02");
    for (const v of EKS_VERSIONS.filter((x) => x.version !== DEFAULT_EKS_VERSION)) expect(v.endOfStandardSupport < end, v.version).toBe(true);
    expect(supportLevel(DEFAULT_EKS_VERSION, at("2027-08-01"))).toBe("standard");
    expect(supportLevel(DEFAULT_EKS_VERSION, at("2027-08-02"))).toBe("extended");
  });

  it("newestStandardVersion follows the calendar, and is undefined when no version is in standard support", () => {
    expect(newestStandardVersion(at("2026-03-01"))).toBe("1.35");
    expect(newestStandardVersion(at("2026-06-02"))).toBe("1.36");
    expect(newestStandardVersion(at("2024-09-26"))).toBe("1.31");
    expect(newestStandardVersion(at("2024-09-25"))).toBeUndefined();
    expect(newestStandardVersion(at("2027-08-02"))).toBeUndefined();
  });
});

describe("eksVersionWarning", () => {
  it("names the key, the dates, the 6× fee and the version to upgrade to, on one line", () => {
    expect(eksVersionWarning("1.33", AS_OF)).toBe(
      'matrix-scale:aws.kubernetesVersion = "1.33" is in EKS extended support since 2026-07-29 (until 2027-07-29): ' +
        "the control plane costs 6× the standard fee ($0.60 instead of $0.10 per cluster-hour); upgrade to 1.36",
    );
    expect(eksVersionWarning("1.32", AS_OF)).toMatch(/^matrix-scale:aws\.kubernetesVersion = "1\.32" is in EKS extended support since 2026-03-23 \(until 2027-03-23\): .* 6× .*; upgrade to 1\.36$/);
    expect(eksVersionWarning("1.33", AS_OF)).not.toContain("\n");
  });

  it("no upgrade is suggested when no version is in standard support", () => {
    expect(eksVersionWarning("1.36", at("2027-08-02"))).toBe(
      'matrix-scale:aws.kubernetesVersion = "1.36" is in EKS extended support since 2027-08-02 (until 2028-08-02): ' +
        "the control plane costs 6× the standard fee ($0.60 instead of $0.10 per cluster-hour)",
    );
  });

  it.each(["1.34", "1.35", "1.36", "1.31", "1.30", "1.37"])("%s on 2026-11-30: no warning (standard, or refused by the settings)", (version) => {
    expect(eksVersionWarning(version, AS_OF)).toBeUndefined();
  });
});

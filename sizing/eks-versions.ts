/**
 * Amazon EKS Kubernetes versions and their support windows (pure, dated data).
 *
 * Rules, from the Amazon EKS User Guide, "Understand the Kubernetes version lifecycle on EKS"
 * (https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html; source text:
 * https://github.com/awsdocs/amazon-eks-user-guide/blob/mainline/latest/ug/versioning/kubernetes-versions.adoc):
 * - a minor version is in standard support for 14 months after its Amazon EKS release, then in
 *   extended support for the next 12 months;
 * - "Billing for extended support starts at the beginning of the day that the version reaches end
 *   of standard support, in the UTC+0 timezone", and the calendar's dates are UTC+0: the end of
 *   standard support date is the first day of extended support;
 * - "On the end of extended support date, you can no longer create new Amazon EKS clusters with
 *   the unsupported version": the end of extended support date is the first day it is not offered.
 *
 * Extended support costs $0.60 per cluster-hour instead of $0.10: six times the standard fee
 * (https://aws.amazon.com/blogs/containers/amazon-eks-extended-support-for-kubernetes-versions-pricing/).
 *
 * The table holds what could be confirmed from a source on `EKS_CALENDAR_AS_OF`; each row names
 * its source. Versions EKS released since are missing until a row is added (the settings refuse a
 * version not in the table, so adding the row is what makes a new version usable).
 */
import { PRICES } from "./prices";

export type SupportLevel = "standard" | "extended" | "unsupported";

export interface EksVersion {
  /** Kubernetes minor version as EKS names it, e.g. "1.36". */
  readonly version: string;
  /** Amazon EKS release (UTC date). */
  readonly released: string;
  /** First day of extended support (UTC date). */
  readonly endOfStandardSupport: string;
  /** First day the version is no longer offered (UTC date). */
  readonly endOfExtendedSupport: string;
  /** Where the dates come from. */
  readonly source: string;
}

/** The day the table was last checked against its sources (UTC). */
export const EKS_CALENDAR_AS_OF = "2026-11-30";

/** Control-plane fee in standard and in extended support, USD per cluster-hour (sizing/prices.ts). */
export const EKS_CLUSTER_HOUR_USD = { standard: PRICES.eks.standardUsdPerHour, extended: PRICES.eks.extendedUsdPerHour } as const;

/** How many times the standard fee extended support costs: 6. */
export const EXTENDED_SUPPORT_FEE_MULTIPLE = Math.round(EKS_CLUSTER_HOUR_USD.extended / EKS_CLUSTER_HOUR_USD.standard);

const EKS_CALENDAR_ADOC =
  "https://github.com/awsdocs/amazon-eks-user-guide/blob/mainline/latest/ug/versioning/kubernetes-versions.adoc (Amazon EKS Kubernetes release calendar)";

/** Oldest first. */
export const EKS_VERSIONS: readonly EksVersion[] = [
  { version: "1.31", released: "2024-09-26", endOfStandardSupport: "2025-11-26", endOfExtendedSupport: "2026-11-26", source: EKS_CALENDAR_ADOC },
  { version: "1.32", released: "2025-01-23", endOfStandardSupport: "2026-03-23", endOfExtendedSupport: "2027-03-23", source: EKS_CALENDAR_ADOC },
  { version: "1.33", released: "2025-05-29", endOfStandardSupport: "2026-07-29", endOfExtendedSupport: "2027-07-29", source: EKS_CALENDAR_ADOC },
  { version: "1.34", released: "2025-10-02", endOfStandardSupport: "2026-12-02", endOfExtendedSupport: "2027-12-02", source: EKS_CALENDAR_ADOC },
  {
    version: "1.35",
    released: "2026-01-27",
    endOfStandardSupport: "2027-03-27",
    endOfExtendedSupport: "2028-03-27",
    // The AWS calendar row ("1.35 | December 17, 2025 | January 27, 2026 | March 27, 2027 | March 27, 2028")
    // as endoflife.date and the AWS samples' EKS review skill (verified 2026-04-24) reproduce it.
    source:
      "https://endoflife.date/amazon-eks (1.35: end of support 27 Mar 2027, extended support 27 Mar 2028); " +
      "https://aws-samples.github.io/sample-apex-skills/docs/skills/eks-operation-review/references/cluster-lifecycle (1.35: March 27, 2027 / March 27, 2028)",
  },
  {
    version: "1.36",
    released: "2026-06-02",
    endOfStandardSupport: "2027-08-02",
    // 12 months after the end of standard support (the lifecycle rule above).
    endOfExtendedSupport: "2028-08-02",
    source:
      "https://docs.aws.amazon.com/he_il/eks/latest/userguide/kubernetes-versions-standard.html (\"Kubernetes 1.36 is now available in Amazon EKS\"); " +
      "https://devopsdreams.blogspot.com/2026/08/kubernetes-136-on-amazon-eks-upgrade.html (\"reached Amazon EKS on June 2, 2026 and remains in standard support through August 2, 2027\"; " +
      "the same 14 months as every row above); end of extended support = end of standard support + 12 months",
  },
];

const DAY_MS = 86_400_000;

/** Midnight UTC of an ISO date. */
function utc(date: string): number {
  return Date.parse(`${date}T00:00:00Z`);
}

/** The start (00:00 UTC) of the day `on` falls in. */
function dayOf(on: Date): number {
  return Math.floor(on.getTime() / DAY_MS) * DAY_MS;
}

export function eksVersion(version: string): EksVersion | undefined {
  return EKS_VERSIONS.find((v) => v.version === version);
}

/**
 * Where `version` stands on the day `on` falls in (UTC): "standard" from its EKS release up to the
 * day before end of standard support, "extended" from that day up to the day before end of extended
 * support, "unsupported" otherwise (not in the table, not released yet, or past extended support).
 */
export function supportLevel(version: string, on: Date): SupportLevel {
  const v = eksVersion(version);
  if (!v) return "unsupported";
  const day = dayOf(on);
  if (day < utc(v.released) || day >= utc(v.endOfExtendedSupport)) return "unsupported";
  return day < utc(v.endOfStandardSupport) ? "standard" : "extended";
}

/** The newest version in standard support on `on` (the one whose standard support lasts longest), if any. */
export function newestStandardVersion(on: Date): string | undefined {
  return EKS_VERSIONS.filter((v) => supportLevel(v.version, on) === "standard").at(-1)?.version;
}

/** Versions a cluster can be created with on `on`, oldest first. */
export function offeredVersions(on: Date): string[] {
  return EKS_VERSIONS.filter((v) => supportLevel(v.version, on) !== "unsupported").map((v) => v.version);
}

/**
 * A one-line warning when `version` is in extended support on `on` (the control plane costs six
 * times the standard fee); undefined in standard support, and for a version EKS does not offer
 * (the settings refuse that one).
 */
export function eksVersionWarning(version: string, on: Date): string | undefined {
  if (supportLevel(version, on) !== "extended") return undefined;
  const v = eksVersion(version)!;
  const upgrade = newestStandardVersion(on);
  return (
    `matrix-scale:aws.kubernetesVersion = "${version}" is in EKS extended support since ${v.endOfStandardSupport} (until ${v.endOfExtendedSupport}): ` +
    `the control plane costs ${EXTENDED_SUPPORT_FEE_MULTIPLE}× the standard fee ($${EKS_CLUSTER_HOUR_USD.extended.toFixed(2)} instead of $${EKS_CLUSTER_HOUR_USD.standard.toFixed(2)} per cluster-hour)` +
    (upgrade ? `; upgrade to ${upgrade}` : "")
  );
}

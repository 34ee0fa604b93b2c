/** PostgreSQL memory settings ("4GB", "16MB", "512kB") in GiB; PostgreSQL's units are binary. */
export function pgMemoryGiB(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(kB|MB|GB|TB)$/.exec(value.trim());
  if (!match) throw new Error(`not a PostgreSQL memory value: ${value}`);
  const scale = { kB: 1 / 1024 ** 2, MB: 1 / 1024, GB: 1, TB: 1024 }[match[2] as "kB" | "MB" | "GB" | "TB"];
  return Number(match[1]) * scale;
}

/** Months after `asOf` as an ISO date (yyyy-mm-dd), for "runs out on" messages. */
export function addMonths(asOf: Date, months: number): string {
  const days = Math.floor(months * 30.4375);
  return new Date(asOf.getTime() + days * 86_400_000).toISOString().slice(0, 10);
}

/** Gigabytes (10^9 bytes, how EBS sizes volumes) in one GiB. */
export const GIB_IN_GB = 2 ** 30 / 1e9;

/** A size in MiB as GiB (what the plan counts in). */
export const mibToGiB = (mib: number): number => mib / 1024;

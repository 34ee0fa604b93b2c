import { expect } from "vitest";
import { parseSettings, plan, type Plan } from "../sizing";
import type { RawSettings } from "../sizing/settings";
import type { TierId } from "../sizing/tiers";
import { TIER_USERS } from "./fixtures/seed";

export const SERVER_NAME = "matrix.test.example";

/**
 * A store of the operator's for the database backups (target kubernetes), as a production stack sets
 * one: the sizing tests then see MinIO holding media only, as the seed's tables size it. Tests of
 * backups kept in MinIO pass `kubernetes` without it.
 */
export const TEST_BACKUP_STORE = { endpoint: "https://backups.example.net", bucket: "example-matrix-backups", credentialsSecret: "backup-store-keys", cidrs: ["198.51.100.0/24"] };

/** The nodes' range of the test stacks (target kubernetes), narrowed as a production stack narrows it. */
export const TEST_NODE_CIDRS = ["10.0.0.0/16"];

export function planFor(ccu: number, extra: RawSettings = {}): Plan {
  const onKubernetes = (extra.target ?? "kubernetes") === "kubernetes";
  return plan(parseSettings({ ccu, serverName: SERVER_NAME, target: "kubernetes", ...(onKubernetes ? { kubernetes: { backupStore: TEST_BACKUP_STORE, nodeCidrs: TEST_NODE_CIDRS } } : {}), ...extra }));
}

export function planForTier(tier: string, extra: RawSettings = {}): Plan {
  return planFor(TIER_USERS[tier]!, extra);
}

export function row(p: Plan, role: string) {
  const found = p.inventory.find((r) => r.role === role);
  if (!found) throw new Error(`no ${role} row`);
  return found;
}

export const asTier = (t: string) => t as TierId;

/** An ACM certificate ARN for tests of target aws (the program requires one there). */
export const TEST_CERTIFICATE_ARN = "arn:aws:acm:us-east-1:111122223333:certificate/00000000-0000-0000-0000-000000000000";

/** Where tests of target aws open the EKS API (documentation range, RFC 5737). */
export const TEST_API_ACCESS_CIDRS = ["203.0.113.0/24"];

/** The operator's S3 bucket for database backups in tests of target aws. */
export const TEST_BACKUP_BUCKET = "example-matrix-backups";

/** Settings for a target: on aws with the certificate and API access a deployment there requires, and a backup bucket. */
export function onTarget(target: string): RawSettings {
  return target === "aws" ? { target, aws: { certificateArn: TEST_CERTIFICATE_ARN, apiAccessCidrs: TEST_API_ACCESS_CIDRS, backupBucket: TEST_BACKUP_BUCKET } } : { target };
}

/** The error `f` throws, checked to be a `kind`; fails the test when `f` returns. */
export function thrownBy<E extends Error>(kind: new (...args: never[]) => E, f: () => unknown): E {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(kind);
    return e as E;
  }
  throw new Error(`${kind.name} expected, nothing thrown`);
}

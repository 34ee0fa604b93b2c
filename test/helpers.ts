import { parseSettings, plan, type Plan } from "../sizing";
import type { RawSettings } from "../sizing/settings";
import type { TierId } from "../sizing/tiers";
import { TIER_USERS } from "./fixtures/seed";

export const SERVER_NAME = "matrix.test.example";

export function planFor(ccu: number, extra: RawSettings = {}): Plan {
  return plan(parseSettings({ ccu, serverName: SERVER_NAME, target: "kubernetes", ...extra }));
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

/** LiveKit and coturn: one process per call host, counts and sizes per tier. */
import { CALLS, LK_JWT_SERVICE } from "./additions";
import { PlanError } from "./errors";
import type { Capacity } from "./packing";
import { cappedToNode, guaranteed } from "./resources";
import type { Overrides } from "./settings";
import { TIER_TABLES, type TierId } from "./tiers";
import type { CallHostPlan, Plan } from "./types";

export const CALL_HOSTS_HA_MIN = 2;

function callHosts(name: "livekit" | "coturn", seedInstances: number, seedSize: Capacity, allocatable: Capacity, override?: number): CallHostPlan {
  const instances = override ?? seedInstances;
  if (instances < CALL_HOSTS_HA_MIN) {
    throw new PlanError("HA minimum", `overrides.${name}.instances`, `${name} instances ${instances} < ${CALL_HOSTS_HA_MIN}`, `set instances to ${CALL_HOSTS_HA_MIN} or more`);
  }
  const resources = cappedToNode(seedSize, allocatable);
  const vcpu = Math.floor(resources.requests.vcpu);
  const capacityPerHost = vcpu * (name === "coturn" ? CALLS.turnAllocationsPerVcpu : CALLS.livekitParticipantsPerVcpu);
  const portsNeeded = Math.ceil(capacityPerHost * (name === "coturn" ? 1 : CALLS.livekitPortsPerParticipant) * CALLS.relayPortHeadroom);
  const start = name === "coturn" ? CALLS.turnRelayPortsStart : CALLS.livekitRtcPortsStart;
  return {
    instances,
    resources,
    pool: "calls",
    ports: { min: start, max: start + portsNeeded - 1 },
    capacityPerHost,
    ...(name === "coturn" ? { quotaPerUser: CALLS.turnQuotaPerUser } : {}),
  };
}

export function planCalls(tier: TierId, callNodeAllocatable: Capacity, overrides: Overrides): { livekit: Plan["livekit"]; coturn: CallHostPlan } {
  const seed = TIER_TABLES[tier];
  return {
    livekit: {
      ...callHosts("livekit", seed.livekit.instances, seed.livekit, callNodeAllocatable, overrides.livekit?.instances),
      jwtService: { replicas: LK_JWT_SERVICE.replicas, resources: guaranteed(LK_JWT_SERVICE), pool: "application" },
    },
    coturn: callHosts("coturn", seed.coturn.instances, seed.coturn, callNodeAllocatable, overrides.coturn?.instances),
  };
}

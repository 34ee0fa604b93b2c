/**
 * The Pulumi program: stack config → settings → plan → components. Settings and plan are
 * computed before any resource is declared, so invalid input creates nothing.
 */
import * as pulumi from "@pulumi/pulumi";
import { Cluster } from "./components/cluster";
import { rawSettingsFromStack } from "./components/config";
import { Secrets } from "./components/secrets";
import { Synapse } from "./components/synapse";
import { parseSettings, plan, PlanError, SettingsError, type Plan, type Settings } from "./sizing";

export interface ProgramOptions {
  asOf?: Date;
}

/** Settings and plan, or a RunError carrying the one-line message (no stack trace for bad input). */
export function loadStack(options: ProgramOptions = {}): { settings: Settings; plan: Plan } {
  try {
    const settings = parseSettings(rawSettingsFromStack());
    return { settings, plan: plan(settings, options) };
  } catch (error) {
    if (error instanceof SettingsError || error instanceof PlanError) throw new pulumi.RunError(error.message);
    throw error;
  }
}

export function program(options: ProgramOptions = {}) {
  const { settings, plan: thePlan } = loadStack(options);
  const cluster = new Cluster("matrix", { kubernetes: settings.kubernetes, inventory: thePlan.inventory });
  const secrets = new Secrets("matrix", { namespace: cluster.namespace, provider: cluster.provider });
  new Synapse(
    "synapse",
    {
      synapse: thePlan.synapse,
      routing: thePlan.routing,
      serverName: thePlan.serverName,
      target: thePlan.target,
      namespace: settings.kubernetes.namespace,
      provider: cluster.provider,
      secrets: {
        ...secrets.synapse,
        turnSharedSecret: secrets.turnSharedSecret,
        postgresPassword: secrets.postgresPassword,
        redisSynapsePassword: secrets.redisSynapsePassword,
      },
    },
    { dependsOn: [secrets] },
  );

  return {
    tier: thePlan.tier,
    ccu: thePlan.ccu,
    namespace: cluster.namespace,
    inventory: thePlan.inventory.map(({ role, count, instanceType, vcpu, memoryGiB, storageGB }) => ({ role, count, instanceType, vcpu, memoryGiB, storageGB })),
    totals: thePlan.totals,
    requiredNodePools: cluster.requiredNodePools,
    connectionBudget: {
      processes: thePlan.synapse.processes,
      connections: thePlan.synapse.connections,
      connectionsAtMaxScale: thePlan.synapse.connectionsAtMaxScale,
      limit: thePlan.synapse.connectionLimit,
      maxConnections: thePlan.postgres.maxConnections,
    },
    warnings: thePlan.warnings,
  };
}

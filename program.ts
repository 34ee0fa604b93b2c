/**
 * The Pulumi program: stack config → settings → plan → components. Settings, plan and the check
 * against what the stack already holds run before any resource is declared, so invalid input or a
 * change that would lose data creates nothing.
 */
import * as pulumi from "@pulumi/pulumi";
import { Cluster } from "./components/cluster";
import { rawSettingsFromStack } from "./components/config";
import { Calls } from "./components/calls";
import { callHostsNamespace, publicNames, SERVICE_NAMES } from "./components/naming";
import { Monitoring } from "./components/monitoring";
import { NetworkIsolation } from "./components/network";
import { ObjectStore } from "./components/objectstore";
import { OPERATOR_NAMESPACE, Postgres } from "./components/postgres";
import { backupPrefix, CLUSTER_NAME } from "./components/postgres/cluster";
import { Redis, REDIS_SERVICES } from "./components/redis";
import { Secrets } from "./components/secrets";
import { Synapse } from "./components/synapse";
import { MC_IMAGE, MINIO_IMAGE, SYNAPSE_IMAGE } from "./components/versions";
import type { ChartOptions, ChartStandIns } from "./components/workload";
import { nodeGroups } from "./sizing/inventory";
import { eksDefaultServiceCidr, kubernetesServiceAddress } from "./sizing/settings";
import { parseSettings, plan, PlanError, requireDeployable, SettingsError, storageState, type Plan, type Settings, type StorageState } from "./sizing";

/** The port an HTTPS URL names, or 443. */
const httpsPort = (url: string) => Number(new URL(url).port || 443);

export interface ProgramOptions {
  asOf?: Date;
  previous?: StorageState;
  /** TEST-ONLY: local charts in place of the pinned ones (see components/workload.ts). */
  chartStandIns?: ChartStandIns;
  /** Running under Pulumi's mock runtime (bin/mock-runtime.ts), which cannot register transforms. */
  mockRuntime?: boolean;
}

/** Stack output holding what the deployment stores data in; read back on the next run. */
export const STORAGE_OUTPUT = "storage";

/** Settings and plan, or a RunError carrying the one-line message (no stack trace for bad input). */
export function loadStack(options: ProgramOptions = {}): { settings: Settings; plan: Plan } {
  try {
    const settings = requireDeployable(parseSettings(rawSettingsFromStack()));
    return { settings, plan: plan(settings, options) };
  } catch (error) {
    if (error instanceof SettingsError || error instanceof PlanError) throw new pulumi.RunError(error.message);
    throw error;
  }
}

/** The storage this stack's last update recorded (self reference), if any. */
async function previousStorage(): Promise<StorageState | undefined> {
  const self = new pulumi.StackReference(`${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`);
  const details = await self.getOutputDetails(STORAGE_OUTPUT);
  return (details.value ?? details.secretValue) as StorageState | undefined;
}

export async function program(options: ProgramOptions = {}) {
  // What the stack already stores data in shapes the plan: existing pools are kept, volumes never shrink.
  const previous = await previousStorage();
  const { settings, plan: thePlan } = loadStack({ ...options, ...(previous ? { previous } : {}) });

  const namespace = settings.kubernetes.namespace;
  const aws = settings.target === "aws";
  const groups = nodeGroups(thePlan);
  // The AWS SDK is loaded only for the target that uses it (it is most of the program's load time).
  const awsParts = aws ? await import("./components/nodepools") : undefined;
  const nodePools = awsParts
    ? new awsParts.NodePools("matrix", { aws: settings.aws, zones: settings.aws.availabilityZones ?? (await awsParts.regionZones()), inventory: thePlan.inventory, calls: thePlan, groups })
    : undefined;
  const cluster = new Cluster("matrix", {
    kubernetes: settings.kubernetes,
    inventory: thePlan.inventory,
    groups,
    ...(nodePools ? { kubeconfig: nodePools.kubeconfig } : {}),
    createStorageClasses: aws,
    databaseVolume: thePlan.postgres.volume,
    podReadinessGates: aws,
  });
  const charts: ChartOptions = { ...(options.chartStandIns ? { standIns: options.chartStandIns } : {}), transforms: !options.mockRuntime };
  // Load-balancer Services wait for the controller that gives them their NLB.
  const controllerSize = thePlan.routing.loadBalancerController;
  const loadBalancerController = nodePools && awsParts && controllerSize
    ? new awsParts.LoadBalancerController("matrix", {
        clusterName: nodePools.clusterName,
        region: settings.aws.region,
        vpcId: nodePools.vpcId,
        oidcProvider: nodePools.oidcProvider,
        provider: cluster.provider,
        pool: thePlan.routing.haproxy.pool,
        size: controllerSize,
        charts,
      })
    : undefined;
  const serviceDependsOn = loadBalancerController ? [loadBalancerController] : [];
  const secrets = new Secrets("matrix", { namespace: cluster.namespace, callHostsNamespace: cluster.callHostsNamespace, provider: cluster.provider });
  const after = { dependsOn: [secrets] };
  const objectStore = new ObjectStore("minio", { minio: thePlan.minio, namespace, provider: cluster.provider, image: settings.kubernetes.minioImage ?? MINIO_IMAGE, mcImage: settings.kubernetes.mcImage ?? MC_IMAGE }, after);
  // On AWS with a bucket of the operator's, the instances keep backups there through their own IAM role.
  const backupBucket = settings.aws.backupBucket;
  const backupStore = settings.kubernetes.backupStore;
  const backupRoleArn =
    nodePools && awsParts && backupBucket
      ? awsParts.backupRole("matrix-postgres-backup", nodePools.oidcProvider, { namespace, name: CLUSTER_NAME }, backupBucket, backupPrefix(namespace)).arn
      : undefined;
  new Postgres(
    "postgres",
    {
      postgres: thePlan.postgres,
      namespace,
      provider: cluster.provider,
      charts,
      provisionedVolumes: aws,
      ...(backupBucket && backupRoleArn ? { backupBucket: { bucket: backupBucket, roleArn: backupRoleArn } } : {}),
      ...(backupStore ? { backupStore } : {}),
      essentialPriority: cluster.essentialPriority,
    },
    { dependsOn: [secrets, objectStore] },
  );
  const redisSynapse = new Redis("redis-synapse", { name: "synapse", redis: thePlan.redis.synapse, namespace, provider: cluster.provider, passwordSecret: secrets.names.redisSynapse, essentialPriority: cluster.essentialPriority }, after);
  const redisLivekit = new Redis("redis-livekit", { name: "livekit", redis: thePlan.redis.livekit, namespace, provider: cluster.provider, passwordSecret: secrets.names.redisLivekit, essentialPriority: cluster.essentialPriority }, after);
  if (redisSynapse.masterService !== SERVICE_NAMES.redisSynapseMaster) throw new Error("Synapse's Redis endpoint and the Redis component disagree");
  new Calls(
    "calls",
    {
      livekit: thePlan.livekit,
      coturn: thePlan.coturn,
      serverName: thePlan.serverName,
      target: thePlan.target,
      namespace,
      hostNamespace: cluster.callHostsNamespace,
      provider: cluster.provider,
      essentialPriority: cluster.essentialPriority,
      livekitSentinels: redisLivekit.sentinels,
      clusterCidrs: nodePools ? [nodePools.vpcCidr] : [],
      ...(settings.aws.certificateArn ? { certificateArn: settings.aws.certificateArn } : {}),
      serviceDependsOn,
      secrets: {
        turnSharedSecret: secrets.turnSharedSecret,
        livekitApiKey: secrets.livekitApiKey,
        livekitApiSecret: secrets.livekitApiSecret,
        redisLivekitPassword: secrets.redisLivekitPassword,
      },
    },
    after,
  );
  new Synapse(
    "synapse",
    {
      essentialPriority: cluster.essentialPriority,
      image: settings.kubernetes.synapseImage ?? SYNAPSE_IMAGE,
      synapse: thePlan.synapse,
      routing: thePlan.routing,
      serverName: thePlan.serverName,
      target: thePlan.target,
      namespace,
      provider: cluster.provider,
      secrets: {
        ...secrets.synapse,
        turnSharedSecret: secrets.turnSharedSecret,
        postgresPassword: secrets.postgresPassword,
        redisSynapsePassword: secrets.redisSynapsePassword,
      },
      serviceDependsOn,
    },
    after,
  );

  new Monitoring("monitoring", { plan: thePlan, namespace, provider: cluster.provider, charts }, after);
  new NetworkIsolation("network", {
    namespace,
    callHostsNamespace: callHostsNamespace(namespace),
    operatorNamespace: OPERATOR_NAMESPACE,
    redis: REDIS_SERVICES,
    // On AWS call hosts are in the public subnets; the API server is the `kubernetes` Service's address
    // (the VPC CNI judges egress before kube-proxy translates it) and the endpoint's interfaces in the VPC.
    callHostCidrs: nodePools ? nodePools.callHostCidrs : settings.kubernetes.nodeCidrs,
    apiServerCidrs: nodePools ? [`${kubernetesServiceAddress(eksDefaultServiceCidr([nodePools.vpcCidr]))}/32`, nodePools.vpcCidr] : settings.kubernetes.nodeCidrs,
    databaseBackups: backupRoleArn ? "s3" : backupStore ? { cidrs: backupStore.cidrs, port: httpsPort(backupStore.endpoint) } : "minio",
    provider: cluster.provider,
  }, { dependsOn: [cluster] });

  return {
    tier: thePlan.tier,
    ccu: thePlan.ccu,
    namespace: cluster.namespace,
    callHostsNamespace: cluster.callHostsNamespace,
    inventory: thePlan.inventory.map(({ role, count, instanceType, vcpu, memoryGiB, storageGB }) => ({ role, count, instanceType, vcpu, memoryGiB, storageGB })),
    totals: thePlan.totals,
    requiredNodePools: cluster.requiredNodePools,
    connectionBudget: {
      processes: thePlan.synapse.processes,
      connections: thePlan.synapse.connections,
      connectionsAtMaxScale: thePlan.synapse.connectionsAtMaxScale,
      connectionsInRollout: thePlan.synapse.connectionsInRollout,
      limit: thePlan.synapse.connectionLimit,
      maxConnections: thePlan.postgres.maxConnections,
    },
    livekitRedisSentinels: redisLivekit.sentinels,
    dnsRecords: publicNames(thePlan.serverName),
    ...(nodePools ? { eksCluster: nodePools.clusterName } : {}),
    [STORAGE_OUTPUT]: storageState(thePlan),
    warnings: thePlan.warnings,
  };
}

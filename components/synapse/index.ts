/**
 * The Synapse component: main and every worker as Kubernetes workloads, their config (rendered by
 * ./config.ts), the HAProxy routing tier (./routing.ts) and the policies around them. Thin: every
 * number comes from its plan slice, every object shape from the pure builders.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { WorkerType } from "../../sizing/settings";
import { WORKER_NAMES } from "../../sizing/synapse";
import type { Plan, SynapsePlan } from "../../sizing/types";
import { componentLabels, DATABASE, LK_JWT, MEDIA_BUCKET, publicNames, SERVICE_NAMES } from "../naming";
import { SECRET_NAMES, type SynapseSecretOutputs } from "../secrets";
import { CURL_IMAGE, HAPROXY_IMAGE } from "../versions";
import { accountWithRole, coordinatedRestart, gateRules, SKIP_AWAIT, specHash, topologyGate, type Workload } from "../coordinated-restart";
import { renderLogConfig, renderPgpass, renderProcessConfig, renderSecretsConfig, renderSharedConfig, SECRET_FILES, topologyOf, toYaml, type SynapseEndpoints } from "./config";
import { HAPROXY_CERTIFICATE, haproxyDeployment, haproxyService, HAPROXY_PORTS, HAPROXY_SELECTOR } from "./haproxy";
import { routableServiceName } from "../../sizing/edge";
import { CONFIG_FILE, headlessService, routableService, horizontalAutoscaler, MOUNTS, podTemplate, selectorLabels, SYNAPSE_POD_SELECTOR, SYNAPSE_TOPOLOGY, SYNAPSE_UID, synapseLabels } from "./manifests";
import { checksum, disruptionBudget } from "../workload";
import { kubernetesServers, renderHaproxyConfig, routedTypes, rtcFoci, wellKnownClient } from "./routing";
import { kubernetesPlacement, POD_PORTS, processes, type SynapseProcess } from "./topology";
import { databaseUri, remoteMediaSweepCronJob, REMOTE_MEDIA_SWEEP_NAME } from "./remote-media";

export interface SynapseArgs {
  /** The PriorityClass of the named processes and HAProxy (Cluster.essentialPriority). */
  essentialPriority: pulumi.Resource;
  synapse: SynapsePlan;
  routing: Plan["routing"];
  serverName: string;
  target: Plan["target"];
  namespace: string;
  provider: k8s.Provider;
  secrets: SynapseSecretOutputs & {
    turnSharedSecret: pulumi.Output<string>;
    postgresPassword: pulumi.Output<string>;
    redisSynapsePassword: pulumi.Output<string>;
  };
  /** The Synapse image, with the S3 media storage provider built in (images/synapse). */
  image: string;
  /** What the load-balancer Service and HAProxy's pods wait for (on AWS: the load balancer controller). */
  serviceDependsOn?: pulumi.Resource[];
}

export function kubernetesEndpoints(serverName: string, namespace: string): SynapseEndpoints {
  const svc = (name: string) => `${name}.${namespace}.svc.cluster.local`;
  return {
    serverName,
    publicBaseUrl: `https://${serverName}/`,
    database: { host: svc(SERVICE_NAMES.postgresReadWrite), port: DATABASE.port, name: DATABASE.name, user: DATABASE.owner },
    redis: { host: svc(SERVICE_NAMES.redisSynapseMaster), port: 6379 },
    objectStore: { endpoint: `http://${svc(SERVICE_NAMES.minio)}:9000`, bucket: MEDIA_BUCKET, region: "us-east-1" },
    turnUris: ["udp", "tcp"].map((transport) => `turn:${publicNames(serverName).turn}:3478?transport=${transport}`),
    secretsDir: MOUNTS.secrets,
    pgpassPath: `${MOUNTS.runtime}/${SECRET_FILES.pgpass}`,
    mediaStorePath: MOUNTS.media,
    logConfigPath: `${MOUNTS.process}/${CONFIG_FILE.log}`,
    rtcTransports: rtcFoci(serverName, LK_JWT.pathPrefix),
  };
}

/** Rendered configuration per type: what each type's pods mount, and the checksum that rolls them. */
export function renderFleetConfig(synapse: SynapsePlan, routing: Plan["routing"], serverName: string, namespace: string) {
  const placement = kubernetesPlacement(synapse, namespace);
  const endpoints = kubernetesEndpoints(serverName, namespace);
  const all = processes(synapse);
  const sharedConfig = renderSharedConfig(synapse, all, placement, endpoints);
  const shared = toYaml(sharedConfig);
  const types = Object.values(synapse.workers).filter((w) => w.replicas > 0);
  const perType = Object.fromEntries(
    types.map((w) => {
      // Pods of one type share a config: every worker takes its worker_name from its pod name.
      const representative: SynapseProcess = { ...all.find((p) => p.type === w.type)!, ...(w.type === "main" ? {} : { name: undefined }) };
      const text = toYaml(renderProcessConfig(representative, w, placement, endpoints));
      const log = renderLogConfig(w.logLevel);
      return [w.type, { process: representative, text, log, checksum: checksum(shared, text, log) }];
    }),
  ) as Partial<Record<WorkerType, { process: SynapseProcess; text: string; log: string; checksum: string }>>;
  const haproxy = renderHaproxyConfig({ synapse, routing, serverName }, kubernetesServers(synapse, routing.edge, namespace, POD_PORTS.http), {
    bind: "0.0.0.0",
    ports: HAPROXY_PORTS,
    certificate: HAPROXY_CERTIFICATE,
    dnsResolvers: true,
    rtc: {
      wellKnownClient: wellKnownClient(serverName, LK_JWT.pathPrefix),
      jwtServer: { kind: "server", name: SERVICE_NAMES.lkJwt, host: `${SERVICE_NAMES.lkJwt}.${namespace}.svc.cluster.local`, port: LK_JWT.port },
      jwtPathPrefix: LK_JWT.pathPrefix,
    },
  });
  return { shared, perType, haproxy, haproxyChecksum: checksum(haproxy), topology: specHash(topologyOf(sharedConfig)), objectStore: endpoints.objectStore!, database: endpoints.database };
}

export class Synapse extends pulumi.ComponentResource {
  readonly haproxyService: pulumi.Output<string>;

  constructor(name: string, args: SynapseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("matrix-scale:synapse:Synapse", name, {}, opts);
    const child = { parent: this, provider: args.provider };
    const ns = args.namespace;
    const rendered = renderFleetConfig(args.synapse, args.routing, args.serverName, ns);

    const configMap = (id: string, data: Record<string, string>) =>
      new k8s.core.v1.ConfigMap(id, { metadata: { namespace: ns, labels: componentLabels("synapse-config") }, immutable: true, data }, child);
    const shared = configMap("synapse-shared", { [CONFIG_FILE.shared]: rendered.shared });

    const s = args.secrets;
    new k8s.core.v1.Secret(
      SECRET_NAMES.synapse,
      {
        metadata: { name: SECRET_NAMES.synapse, namespace: ns, labels: componentLabels("synapse-config") },
        type: "Opaque",
        stringData: {
          [SECRET_FILES.config]: pulumi
            .all([s.macaroonSecretKey, s.registrationSharedSecret, s.formSecret, s.workerReplicationSecret, s.turnSharedSecret])
            .apply(([macaroonSecretKey, registrationSharedSecret, formSecret, workerReplicationSecret, turnSharedSecret]) =>
              renderSecretsConfig({ macaroonSecretKey, registrationSharedSecret, formSecret, workerReplicationSecret, turnSharedSecret }),
            ),
          [SECRET_FILES.signingKey]: s.signingKey,
          [SECRET_FILES.pgpass]: s.postgresPassword.apply((password) => renderPgpass(DATABASE.owner, password)),
          [SECRET_FILES.redisPassword]: s.redisSynapsePassword,
        },
      },
      child,
    );

    const routed = routedTypes(args.synapse);
    const restart = args.synapse.restart;
    const topology = { label: SYNAPSE_TOPOLOGY.label, value: rendered.topology };
    const gate = topologyGate({ selector: SYNAPSE_POD_SELECTOR, current: topology, configMap: SYNAPSE_TOPOLOGY.configMap, pollSeconds: restart.pollSeconds, image: args.image, resources: restart.gate });
    // Pods naming a ServiceAccount are refused until it exists.
    const gateAccess = accountWithRole(SYNAPSE_TOPOLOGY.account, ns, gateRules(SYNAPSE_TOPOLOGY.configMap), child);
    const workloads: { resource: pulumi.Resource; workload: Workload }[] = [];
    for (const worker of Object.values(args.synapse.workers)) {
      const config = rendered.perType[worker.type];
      if (!config) continue;
      const workloadName = WORKER_NAMES[worker.type];
      const own = configMap(workloadName, { [CONFIG_FILE.process]: config.text, [CONFIG_FILE.log]: config.log });
      const template = podTemplate({
        process: config.process,
        worker,
        image: args.image,
        sharedConfigMap: shared.metadata.name,
        processConfigMap: own.metadata.name,
        secretName: SECRET_NAMES.synapse,
        mediaSecretName: SECRET_NAMES.minioSynapse,
        checksum: config.checksum,
        drain: args.routing.edge.drain,
        probeTimeoutSeconds: args.routing.edge.healthCheck.timeoutSeconds,
        scratch: args.synapse.scratch,
        objectStore: rendered.objectStore,
        routed: routed.has(worker.type),
        topology: rendered.topology,
        gate,
      });
      // The coordinating Job waits for every roll: a roll onto a new topology completes only through it.
      const metadata = { name: workloadName, namespace: ns, labels: synapseLabels(worker.type), annotations: SKIP_AWAIT };
      const selector = { matchLabels: selectorLabels(worker.type) };
      new k8s.core.v1.Service(workloadName, headlessService(worker.type, ns, config.process.replication), child);
      if (worker.autoscaled) new k8s.core.v1.Service(routableServiceName(workloadName), routableService(worker.type, ns), child);
      if (worker.autoscaled) {
        // The HPA owns the replica count (its minReplicas is the plan's base). Declaring `replicas` too
        // would make every server-side apply reset the fleet to its floor, or conflict with the HPA's
        // writes through the scale subresource.
        // The surge the connection budget counts; no pod stops before its replacement is ready.
        const strategy = { type: "RollingUpdate", rollingUpdate: { maxSurge: worker.rolloutSurge, maxUnavailable: 0 } };
        const resource = new k8s.apps.v1.Deployment(workloadName, { metadata, spec: { selector, template, strategy } }, { ...child, dependsOn: gateAccess });
        workloads.push({ resource, workload: { kind: "deployments", name: workloadName } });
        new k8s.autoscaling.v2.HorizontalPodAutoscaler(workloadName, horizontalAutoscaler(worker, ns, args.synapse.autoscaling), child);
      } else {
        const resource = new k8s.apps.v1.StatefulSet(
          workloadName,
          { metadata, spec: { serviceName: workloadName, replicas: worker.replicas, podManagementPolicy: "Parallel", selector, template } },
          // Pods naming a PriorityClass are refused until it exists.
          { ...child, dependsOn: [args.essentialPriority, ...gateAccess] },
        );
        workloads.push({ resource, workload: { kind: "statefulsets", name: workloadName } });
      }
      if (worker.replicas >= 2) new k8s.policy.v1.PodDisruptionBudget(workloadName, disruptionBudget(workloadName, ns, synapseLabels(worker.type), selectorLabels(worker.type)), child);
    }

    // Named after the workloads are applied: their new pods wait for it (the gate) to name their topology.
    const declared = new k8s.core.v1.ConfigMap(
      SYNAPSE_TOPOLOGY.configMap,
      { metadata: { name: SYNAPSE_TOPOLOGY.configMap, namespace: ns, labels: componentLabels(SYNAPSE_TOPOLOGY.configMap), annotations: { [topology.label]: topology.value } } },
      { ...child, dependsOn: workloads.map((w) => w.resource) },
    );
    coordinatedRestart(
      {
        name: SYNAPSE_TOPOLOGY.restart,
        namespace: ns,
        selector: SYNAPSE_POD_SELECTOR,
        hash: specHash({ rendered, synapse: args.synapse, image: args.image }),
        current: topology,
        workloads: workloads.map((w) => w.workload),
        timeoutSeconds: restart.timeoutSeconds,
        pollSeconds: restart.pollSeconds,
        image: CURL_IMAGE,
        resources: restart.job,
        uid: SYNAPSE_UID,
        effect:
          "every Synapse process stops at once and starts with the new instance map and shard lists, as Synapse requires: " +
          "requests fail from the moment the StatefulSets replace their first pods (the new ones wait for the old ones to stop) " +
          `until main and the stream writers run again: about the old processes' ${args.routing.edge.drain.preStopSeconds} s drain plus a start ` +
          "(every process, the autoscaled ones included, starts at once)",
      },
      [...workloads.map((w) => w.resource), declared],
      child,
    );

    new k8s.batch.v1.CronJob(
      REMOTE_MEDIA_SWEEP_NAME,
      remoteMediaSweepCronJob({
        sweep: args.synapse.remoteMediaSweep,
        namespace: ns,
        image: args.image,
        databaseUri: databaseUri(rendered.database, REMOTE_MEDIA_SWEEP_NAME),
        serverName: args.serverName,
        databaseSecret: SECRET_NAMES.postgresOwner,
        objectStore: rendered.objectStore,
        mediaSecret: SECRET_NAMES.minioSynapse,
        uid: SYNAPSE_UID,
      }),
      child,
    );

    const haproxyConfig = configMap(SERVICE_NAMES.haproxy, { [CONFIG_FILE.haproxy]: rendered.haproxy });
    // Its pods need the controller's readiness-gate webhook running when they are created.
    new k8s.apps.v1.Deployment(SERVICE_NAMES.haproxy, haproxyDeployment(args.routing, ns, HAPROXY_IMAGE, haproxyConfig.metadata.name, rendered.haproxyChecksum), {
      ...child,
      dependsOn: [args.essentialPriority, ...(args.serviceDependsOn ?? [])],
    });
    const service = new k8s.core.v1.Service(SERVICE_NAMES.haproxy, haproxyService(args.routing, args.target, ns), { ...child, dependsOn: args.serviceDependsOn ?? [] });
    new k8s.policy.v1.PodDisruptionBudget(SERVICE_NAMES.haproxy, disruptionBudget(SERVICE_NAMES.haproxy, ns, componentLabels("synapse-routing"), HAPROXY_SELECTOR), child);

    this.haproxyService = service.metadata.name;
    this.registerOutputs({ haproxyService: this.haproxyService });
  }
}

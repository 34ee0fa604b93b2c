/**
 * Redis with Sentinel, used twice: for Synapse (AOF, plus the master-following proxy Synapse
 * connects to) and for LiveKit (RDB; LiveKit speaks Sentinel itself). Three data pods and three
 * Sentinels, one per node, with the start scripts of ./config.ts. Images: Valkey (BSD-3, the
 * maintained fork of Redis 7.2), protocol- and config-compatible with the Redis the tests run.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { RedisPlan } from "../../sizing/types";
import { componentLabels, ESSENTIAL_PRIORITY, STORAGE_CLASSES } from "../naming";
import { HAPROXY_IMAGE, REDIS_EXPORTER_IMAGE, REDIS_IMAGE } from "../versions";
import { containerResources, disruptionBudget, poolPlacement, RESTRICTED_CONTAINER, restrictedPod } from "../workload";
import { redisStartScript, renderMasterProxyConfig, renderRedisConf, renderSentinelBase, sentinelStartScript } from "./config";

export const REDIS_PORT = 6379;
export const SENTINEL_PORT = 26379;
export const REDIS_EXPORTER_PORT = 9121;
const PROXY_HEALTH_PORT = 8404;
const UID = 999;

/** The deployment's Redis services, and who uses each: Synapse's processes, and LiveKit from the call hosts' network. */
export const REDIS_SERVICES = [
  { name: "synapse", client: "synapse" },
  { name: "livekit", client: "callHosts" },
] as const;
export type RedisServiceName = (typeof REDIS_SERVICES)[number]["name"];

export interface RedisArgs {
  /** Names every object redis-<name>…. */
  name: RedisServiceName;
  redis: RedisPlan;
  namespace: string;
  provider: k8s.Provider;
  passwordSecret: string;
  /** The PriorityClass its pods run at (Cluster.essentialPriority): a quorum is never preempted. */
  essentialPriority: pulumi.Resource;
}

/** Pod selectors of one Redis service's data nodes, Sentinels and master proxy (the workloads and their network policies). */
export function redisSelectors(name: string) {
  return {
    data: { "app.kubernetes.io/name": "redis", "app.kubernetes.io/component": `redis-${name}` },
    sentinel: { "app.kubernetes.io/name": "redis", "app.kubernetes.io/component": `redis-${name}-sentinel` },
    proxy: { "app.kubernetes.io/name": "redis-master-proxy", "app.kubernetes.io/component": `redis-${name}-master` },
  };
}

export function redisNames(name: string, namespace: string, plan: RedisPlan) {
  const data = `redis-${name}`;
  const sentinel = `redis-${name}-sentinel`;
  const fqdn = (set: string, i: number) => `${set}-${i}.${set}.${namespace}.svc.cluster.local`;
  return {
    data,
    sentinel,
    proxy: `redis-${name}-master`,
    dataHosts: Array.from({ length: plan.instances }, (_, i) => fqdn(data, i)),
    sentinelHosts: Array.from({ length: plan.sentinels }, (_, i) => fqdn(sentinel, i)),
  };
}

export class Redis extends pulumi.ComponentResource {
  /** Sentinel addresses (host:port) for clients that speak Sentinel. */
  readonly sentinels: string[];
  /** A Service that always reaches the master, when masterProxy is on. */
  readonly masterService?: string;

  constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super("matrix-scale:redis:Redis", name, {}, opts);
    // Its pods name the PriorityClass, refused until it exists.
    const child = { parent: this, provider: args.provider, dependsOn: [args.essentialPriority] };
    const ns = args.namespace;
    const plan = args.redis;
    const names = redisNames(args.name, ns, plan);
    this.sentinels = names.sentinelHosts.map((h) => `${h}:${SENTINEL_PORT}`);

    const config = new k8s.core.v1.ConfigMap(
      `${names.data}-config`,
      {
        metadata: { namespace: ns, labels: componentLabels(names.data) },
        immutable: true,
        data: {
          "redis.conf": renderRedisConf(plan, { port: REDIS_PORT, bind: "0.0.0.0", dir: "/data", announceHostnames: true }),
          "sentinel.conf": renderSentinelBase({ port: SENTINEL_PORT, bind: "0.0.0.0", dir: "/run/redis", announceHostnames: true }),
          "start-redis.sh": redisStartScript(plan),
          "start-sentinel.sh": sentinelStartScript(plan),
        },
      },
      child,
    );
    const password = { name: "REDIS_PASSWORD", valueFrom: { secretKeyRef: { name: args.passwordSecret, key: "password" } } };
    const commonEnv = (set: string, port: number) => [
      password,
      { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: "SELF_HOST", value: `$(POD_NAME).${set}.${ns}.svc.cluster.local` },
      { name: "SELF_PORT", value: String(port) },
      { name: "PEERS", value: names.dataHosts.map((host) => `${host}:${REDIS_PORT}`).join(" ") },
      { name: "SENTINELS", value: this.sentinels.join(" ") },
      { name: "RUNTIME", value: "/run/redis" },
      { name: "ANNOUNCE", value: "yes" },
    ];
    const probe = (port: number, command: string) => ({
      exec: { command: ["sh", "-c", `$(command -v valkey-cli || command -v redis-cli) -p ${port} -a "$REDIS_PASSWORD" --no-auth-warning ${command}`] },
      periodSeconds: 5,
    });
    const ping = (port: number) => probe(port, "ping | grep -q PONG");
    const replicating = (port: number) => probe(port, "INFO replication | grep -Eq '^(role:master|master_link_status:up)'");

    const statefulSet = (set: string, kind: "data" | "sentinel") => {
      const labels = componentLabels(set, { "app.kubernetes.io/name": "redis" });
      const selector = redisSelectors(args.name)[kind];
      const port = kind === "data" ? REDIS_PORT : SENTINEL_PORT;
      new k8s.core.v1.Service(
        set,
        { metadata: { name: set, namespace: ns, labels }, spec: { clusterIP: "None", publishNotReadyAddresses: true, selector, ports: [{ name: "redis", port }] } },
        child,
      );
      const resources = containerResources(kind === "data" ? plan.resources : plan.sentinelResources);
      new k8s.apps.v1.StatefulSet(
        set,
        {
          metadata: { name: set, namespace: ns, labels },
          spec: {
            serviceName: set,
            replicas: kind === "data" ? plan.instances : plan.sentinels,
            podManagementPolicy: "Parallel",
            selector: { matchLabels: selector },
            template: {
              metadata: { labels },
              spec: {
                ...poolPlacement(plan.pool, selector, true),
                priorityClassName: ESSENTIAL_PRIORITY.name,
                securityContext: restrictedPod(UID, true),
                containers: [
                  {
                    name: kind === "data" ? "redis" : "sentinel",
                    image: REDIS_IMAGE,
                    command: ["sh", `/config/${kind === "data" ? "start-redis.sh" : "start-sentinel.sh"}`],
                    env: [...commonEnv(set, port), { name: "CONFIG", value: `/config/${kind === "data" ? "redis.conf" : "sentinel.conf"}` }],
                    ports: [{ name: "redis", containerPort: port }],
                    resources,
                    // A data node is ready once it is the master or a replica in sync with one.
                    readinessProbe: kind === "data" ? replicating(port) : ping(port),
                    livenessProbe: { ...ping(port), periodSeconds: 10, failureThreshold: 6 },
                    securityContext: RESTRICTED_CONTAINER,
                    volumeMounts: [
                      { name: "config", mountPath: "/config", readOnly: true },
                      { name: "runtime", mountPath: "/run/redis" },
                      ...(kind === "data" ? [{ name: "data", mountPath: "/data" }] : []),
                    ],
                  },
                  ...(kind === "data"
                    ? [
                        {
                          name: "exporter",
                          image: REDIS_EXPORTER_IMAGE,
                          env: [password, { name: "REDIS_ADDR", value: `redis://localhost:${REDIS_PORT}` }],
                          ports: [{ name: "metrics", containerPort: REDIS_EXPORTER_PORT }],
                          resources: containerResources(plan.exporterResources),
                          securityContext: RESTRICTED_CONTAINER,
                        },
                      ]
                    : []),
                ],
                volumes: [
                  { name: "config", configMap: { name: config.metadata.name } },
                  { name: "runtime", emptyDir: { sizeLimit: "64Mi" } },
                ],
              },
            },
            ...(kind === "data"
              ? {
                  volumeClaimTemplates: [
                    {
                      metadata: { name: "data" },
                      spec: { accessModes: ["ReadWriteOnce"], storageClassName: STORAGE_CLASSES.application, resources: { requests: { storage: `${plan.storageGB}G` } } },
                    },
                  ],
                }
              : {}),
          },
        },
        kind === "data" ? { ...child, protect: true, retainOnDelete: true } : child,
      );
      new k8s.policy.v1.PodDisruptionBudget(set, disruptionBudget(set, ns, labels, selector), child);
    };
    statefulSet(names.data, "data");
    statefulSet(names.sentinel, "sentinel");

    if (plan.masterProxy) {
      const selector = redisSelectors(args.name).proxy;
      const labels = componentLabels(names.proxy, { "app.kubernetes.io/name": "redis-master-proxy" });
      const proxyConfig = new k8s.core.v1.ConfigMap(
        names.proxy,
        {
          metadata: { namespace: ns, labels },
          immutable: true,
          data: {
            "haproxy.cfg": renderMasterProxyConfig(
              names.dataHosts.map((host, i) => ({ name: `${names.data}-${i}`, host, port: REDIS_PORT })),
              { bind: "0.0.0.0", port: REDIS_PORT, healthPort: PROXY_HEALTH_PORT, dnsResolvers: true },
            ),
          },
        },
        child,
      );
      new k8s.apps.v1.Deployment(
        names.proxy,
        {
          metadata: { name: names.proxy, namespace: ns, labels },
          spec: {
            replicas: plan.masterProxy.replicas,
            selector: { matchLabels: selector },
            template: {
              metadata: { labels },
              spec: {
                ...poolPlacement(plan.pool, selector, false),
                priorityClassName: ESSENTIAL_PRIORITY.name,
                securityContext: { runAsNonRoot: true, runAsUser: 99, runAsGroup: 99, seccompProfile: { type: "RuntimeDefault" } },
                containers: [
                  {
                    name: "haproxy",
                    image: HAPROXY_IMAGE,
                    command: ["haproxy", "-db", "-f", "/config/haproxy.cfg"],
                    env: [password],
                    ports: [
                      { name: "redis", containerPort: REDIS_PORT },
                      { name: "health", containerPort: PROXY_HEALTH_PORT },
                    ],
                    resources: containerResources(plan.masterProxy.resources),
                    // Ready only while exactly one master is visible.
                    readinessProbe: { httpGet: { path: "/healthz", port: "health" }, periodSeconds: 2 },
                    securityContext: RESTRICTED_CONTAINER,
                    volumeMounts: [{ name: "config", mountPath: "/config", readOnly: true }],
                  },
                ],
                volumes: [{ name: "config", configMap: { name: proxyConfig.metadata.name } }],
              },
            },
          },
        },
        child,
      );
      new k8s.core.v1.Service(
        names.proxy,
        { metadata: { name: names.proxy, namespace: ns, labels }, spec: { selector, ports: [{ name: "redis", port: REDIS_PORT, targetPort: "redis" }] } },
        child,
      );
      new k8s.policy.v1.PodDisruptionBudget(names.proxy, disruptionBudget(names.proxy, ns, labels, selector), child);
      this.masterService = names.proxy;
    }
    this.registerOutputs({ sentinels: this.sentinels, masterService: this.masterService });
  }
}

/**
 * Every connection the deployment needs, as one list (pure). The NetworkPolicies are generated from
 * it (policies.ts): each namespace the program owns denies everything, and each flow here opens
 * exactly its source's egress and its destination's ingress. A flow names why it exists.
 */
import type * as pulumi from "@pulumi/pulumi";
import { DATABASE, LK_JWT, MONITORING_NAMESPACE } from "../naming";
import { MINIO_PORTS, MINIO_RESTART_SELECTOR, MINIO_SELECTOR, MINIO_SETUP_SELECTOR } from "../objectstore/server";
import { INSTANCE_PORTS, INSTANCE_SELECTOR, OPERATOR_SELECTOR } from "../postgres/cluster";
import { REDIS_EXPORTER_PORT, REDIS_PORT, redisSelectors, SENTINEL_PORT } from "../redis/index";
import { HAPROXY_PORTS, HAPROXY_SELECTOR } from "../synapse/haproxy";
import { ROUTED_POD_SELECTOR, SYNAPSE_POD_SELECTOR, SYNAPSE_TOPOLOGY } from "../synapse/manifests";
import { REMOTE_MEDIA_SWEEP_NAME, REMOTE_MEDIA_SWEEP_SELECTOR } from "../synapse/remote-media";
import { POD_PORTS } from "../synapse/topology";

/** Pods the program runs, in one of its namespaces: the policies select them. */
export interface OwnPods {
  kind: "pods";
  /** Names the pods' NetworkPolicy. */
  name: string;
  namespace: string;
  selector: Readonly<Record<string, string>>;
}

/** Pods of a namespace the program does not isolate (an operator, the monitoring stack, cluster DNS). */
export interface ForeignPods {
  kind: "namespace";
  namespace: string;
  selector?: Readonly<Record<string, string>>;
}

/** Addresses outside the cluster's pods: the internet, the nodes' subnets, the API server. */
export interface Addresses {
  kind: "cidrs";
  cidrs: readonly pulumi.Input<string>[];
  /** Ranges inside every one of `cidrs` that stay closed. */
  except?: readonly string[];
}

export type Peer = OwnPods | ForeignPods | Addresses;
/** A port number, or a container port's name: then only pods that declare that port are reached. */
export interface FlowPort {
  port: number | string;
  protocol?: "TCP" | "UDP";
}
export interface Flow {
  from: Peer;
  to: Peer;
  ports: readonly FlowPort[];
  why: string;
}

export interface FlowContext {
  /** The workloads' namespace and the call hosts' (host networking). */
  namespace: string;
  callHostsNamespace: string;
  operatorNamespace: string;
  /** Each Redis service and who uses it: Synapse through the master proxy (it cannot speak Sentinel), or LiveKit on the call hosts. */
  redis: readonly { name: string; client: "synapse" | "callHosts" }[];
  /** Where the call hosts' node addresses are (LiveKit reaches its Redis from the host network). */
  callHostCidrs: readonly pulumi.Input<string>[];
  /**
   * Where the Kubernetes API server answers (CloudNativePG's instance manager reports through it):
   * the `kubernetes` Service's address too where the CNI judges egress before translating it (EKS).
   */
  apiServerCidrs: readonly pulumi.Input<string>[];
  /** Where the database's backups go: the in-cluster MinIO, an S3 bucket, or an operator's store at these addresses. */
  databaseBackups: "minio" | "s3" | { cidrs: readonly string[]; port: number };
}

/** Private, shared, link-local (the instance metadata service) and loopback ranges: never "the internet". */
export const NOT_INTERNET = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8"] as const;
const INTERNET: Addresses = { kind: "cidrs", cidrs: ["0.0.0.0/0"], except: NOT_INTERNET };
const ANYWHERE: Addresses = { kind: "cidrs", cidrs: ["0.0.0.0/0"] };
/** The API server's secure port: 443 on EKS, 6443 where the server listens itself. */
const API_SERVER_PORTS = [443, 6443] as const;
export const CLUSTER_DNS: ForeignPods = { kind: "namespace", namespace: "kube-system", selector: { "k8s-app": "kube-dns" } };
export const DNS_PORTS: readonly FlowPort[] = [{ port: 53, protocol: "UDP" }, { port: 53, protocol: "TCP" }];
const tcp = (...ports: (number | string)[]): FlowPort[] => ports.map((port) => ({ port }));
/** A Synapse container port by its name (the pods of the processes that do not declare it are not reached). */
const synapsePort = (name: keyof typeof POD_PORTS) => name;
/** Prometheus's pods, as the Prometheus operator labels them (not Grafana, Alertmanager or the log agents). */
const PROMETHEUS_SELECTOR = { "app.kubernetes.io/name": "prometheus" };

function backupFlow(store: FlowContext["databaseBackups"], postgres: OwnPods, minio: OwnPods): Flow {
  if (store === "s3") return { from: postgres, to: INTERNET, ports: tcp(443), why: "base backups and WAL archive in the operator's S3 bucket (and STS for the instances' IAM role)" };
  if (store === "minio") return { from: postgres, to: minio, ports: tcp(MINIO_PORTS.api), why: "base backups and WAL archive" };
  return { from: postgres, to: { kind: "cidrs", cidrs: store.cidrs }, ports: tcp(store.port), why: "base backups and WAL archive in the operator's store" };
}

export function networkFlows(ctx: FlowContext): Flow[] {
  const own = (name: string, selector: Readonly<Record<string, string>>): OwnPods => ({ kind: "pods", name, namespace: ctx.namespace, selector });
  const synapse = own("synapse", SYNAPSE_POD_SELECTOR);
  const haproxy = own("synapse-haproxy", HAPROXY_SELECTOR);
  const routed = own("synapse-routed", ROUTED_POD_SELECTOR);
  const postgres = own("postgres", INSTANCE_SELECTOR);
  const minio = own("minio", MINIO_SELECTOR);
  const minioSetup = own("minio-setup", MINIO_SETUP_SELECTOR);
  const minioRestart = own("minio-restart", MINIO_RESTART_SELECTOR);
  const synapseRestart = own(SYNAPSE_TOPOLOGY.restart, { "app.kubernetes.io/component": SYNAPSE_TOPOLOGY.restart });
  const lkJwt = own("lk-jwt-service", LK_JWT.selector);
  const remoteMediaSweep = own(REMOTE_MEDIA_SWEEP_NAME, REMOTE_MEDIA_SWEEP_SELECTOR);
  const monitoring: ForeignPods = { kind: "namespace", namespace: MONITORING_NAMESPACE, selector: PROMETHEUS_SELECTOR };
  const operator: ForeignPods = { kind: "namespace", namespace: ctx.operatorNamespace, selector: OPERATOR_SELECTOR };
  const callHosts: Addresses = { kind: "cidrs", cidrs: ctx.callHostCidrs };

  const flows: Flow[] = [
    { from: ANYWHERE, to: haproxy, ports: tcp(HAPROXY_PORTS.https, HAPROXY_PORTS.http), why: "clients and the load balancer's health checks reach Synapse's proxy" },
    { from: haproxy, to: routed, ports: tcp(synapsePort("http")), why: "HAProxy routes each endpoint to its Synapse process" },
    { from: haproxy, to: lkJwt, ports: tcp(LK_JWT.port), why: "HAProxy routes Element Call's token requests" },
    { from: synapse, to: synapse, ports: tcp(synapsePort("replication")), why: "instance_map: stream writers and the main process answer replication requests" },
    { from: synapse, to: postgres, ports: tcp(DATABASE.port), why: "Synapse's database" },
    { from: synapse, to: minio, ports: tcp(MINIO_PORTS.api), why: "the media store (S3 provider)" },
    { from: remoteMediaSweep, to: postgres, ports: tcp(DATABASE.port), why: "the remote-media sweep reads which media Synapse still records" },
    { from: remoteMediaSweep, to: minio, ports: tcp(MINIO_PORTS.api), why: "the remote-media sweep lists and deletes other servers' media" },
    { from: synapse, to: INTERNET, ports: [], why: "federation, push gateways, URL previews and remote media, on any port" },
    { from: synapse, to: { kind: "cidrs", cidrs: ctx.apiServerCidrs }, ports: tcp(...API_SERVER_PORTS), why: "each pod's topology gate waits until no process of another topology runs" },
    { from: synapseRestart, to: { kind: "cidrs", cidrs: ctx.apiServerCidrs }, ports: tcp(...API_SERVER_PORTS), why: "the restart job stops every Synapse process of another topology and watches the fleet come back" },
    { from: lkJwt, to: INTERNET, ports: [], why: "LiveKit's public URL and the homeservers whose OpenID tokens it checks, on any port (server discovery may name any)" },
    { from: postgres, to: postgres, ports: tcp(DATABASE.port), why: "streaming replication and new instances cloning the primary" },
    { from: operator, to: postgres, ports: tcp(INSTANCE_PORTS.status, DATABASE.port), why: "the operator reads each instance's status" },
    { from: postgres, to: { kind: "cidrs", cidrs: ctx.apiServerCidrs }, ports: tcp(...API_SERVER_PORTS), why: "the instance manager reports to the Kubernetes API" },
    backupFlow(ctx.databaseBackups, postgres, minio),
    { from: minio, to: minio, ports: tcp(MINIO_PORTS.api), why: "MinIO servers of every pool talk to each other" },
    { from: minioSetup, to: minio, ports: tcp(MINIO_PORTS.api), why: "the setup job creates buckets, users and policies" },
    { from: minioRestart, to: { kind: "cidrs", cidrs: ctx.apiServerCidrs }, ports: tcp(...API_SERVER_PORTS), why: "the restart job stops every MinIO server together and watches them come back" },
    { from: minioRestart, to: minio, ports: tcp(MINIO_PORTS.api), why: "the restart job checks the cluster's write quorum" },
    { from: monitoring, to: synapse, ports: tcp(synapsePort("metrics")), why: "Prometheus scrapes Synapse" },
    { from: monitoring, to: haproxy, ports: tcp(HAPROXY_PORTS.stats), why: "Prometheus scrapes HAProxy" },
    { from: monitoring, to: minio, ports: tcp(MINIO_PORTS.api), why: "Prometheus scrapes MinIO's cluster metrics" },
    { from: monitoring, to: postgres, ports: tcp(INSTANCE_PORTS.metrics), why: "Prometheus scrapes PostgreSQL" },
  ];
  for (const { name, client } of ctx.redis) {
    const selectors = redisSelectors(name);
    const data = own(`redis-${name}`, selectors.data);
    const sentinel = own(`redis-${name}-sentinel`, selectors.sentinel);
    flows.push(
      { from: data, to: data, ports: tcp(REDIS_PORT), why: `Redis (${name}): replication and the start-up election` },
      { from: data, to: sentinel, ports: tcp(SENTINEL_PORT), why: `Redis (${name}): a data node asks the Sentinels for the master` },
      { from: sentinel, to: data, ports: tcp(REDIS_PORT), why: `Redis (${name}): Sentinels watch and fail over the data nodes` },
      { from: sentinel, to: sentinel, ports: tcp(SENTINEL_PORT), why: `Redis (${name}): Sentinels agree on the master` },
      { from: monitoring, to: data, ports: tcp(REDIS_EXPORTER_PORT), why: `Prometheus scrapes Redis (${name})` },
    );
    if (client === "synapse") {
      const proxy = own(`redis-${name}-master`, selectors.proxy);
      flows.push(
        { from: synapse, to: proxy, ports: tcp(REDIS_PORT), why: `Synapse reaches the Redis (${name}) master through its proxy` },
        { from: proxy, to: data, ports: tcp(REDIS_PORT), why: `the proxy finds and forwards to the Redis (${name}) master` },
      );
    } else {
      flows.push(
        { from: callHosts, to: sentinel, ports: tcp(SENTINEL_PORT), why: `LiveKit (host network) asks the Sentinels for the Redis (${name}) master` },
        { from: callHosts, to: data, ports: tcp(REDIS_PORT), why: `LiveKit (host network) uses Redis (${name})` },
      );
    }
  }
  return flows;
}

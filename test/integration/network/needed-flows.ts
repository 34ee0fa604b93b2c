/**
 * The connections the deployment needs, read from what each workload is configured to reach, never
 * from its NetworkPolicies: every `<host>.<namespace>.svc.cluster.local` a workload's containers or
 * mounted ConfigMaps and Secrets name, resolved through the Service to the pods behind it; every
 * PodMonitor and ServiceMonitor (Prometheus scrapes); every Service the internet reaches.
 * What no configuration file names comes from the software's own documentation, cited where it is
 * added (CloudNativePG, Sentinel clients, the Matrix federation port, cluster DNS).
 */
import type { Manifest } from "../kube/manifests";

export interface Endpoint {
  /** `namespace/workload`, or a named set of addresses. */
  name: string;
  cidrs?: readonly string[];
  except?: readonly string[];
}
/** "TCP:5432", "UDP:53", or "ALL". */
export type PortKey = string;
export interface NeededFlow {
  from: Endpoint;
  to: Endpoint;
  ports: PortKey[];
  source: string;
}

interface Container {
  name: string;
  volumeMounts?: { name: string }[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  env?: { name: string; value?: string }[];
  args?: string[];
  command?: string[];
}
interface PodSpec {
  hostNetwork?: boolean;
  automountServiceAccountToken?: boolean;
  containers: Container[];
  initContainers?: Container[];
  volumes?: { name: string; configMap?: { name: string }; secret?: { secretName: string }; projected?: { sources: { configMap?: { name: string }; secret?: { name: string }; serviceAccountToken?: unknown }[] } }[];
}
export interface Workload {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  spec: PodSpec;
  /** Configuration text the workload reads. */
  text: string;
}

export interface World {
  /** Addresses of the call hosts' nodes (host networking) and of the API server. */
  callHostCidrs: readonly string[];
  apiServerCidrs: readonly string[];
  monitoringNamespace: string;
  /** Where the CloudNativePG operator runs, and its pods' labels (the chart's). */
  operator: { namespace: string; name: string };
}

function callsTheApi(spec: PodSpec): boolean {
  const usesApi = (c: Container) => [...(c.command ?? []), ...(c.args ?? [])].some((x) => x.includes("KUBERNETES_SERVICE_HOST"));
  const containers = [...spec.containers, ...(spec.initContainers ?? [])];
  if (spec.automountServiceAccountToken) return containers.some(usesApi);
  const tokenVolumes = new Set((spec.volumes ?? []).filter((v) => v.projected?.sources.some((s) => s.serviceAccountToken)).map((v) => v.name));
  return containers.some((c) => usesApi(c) && (c.volumeMounts ?? []).some((m) => tokenVolumes.has(m.name)));
}

const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"]);
/** Not the internet: private (RFC 1918), shared (RFC 6598), link-local (RFC 3927) and loopback ranges. */
const INTERNET_EXCEPT = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8"];
export const INTERNET: Endpoint = { name: "internet", cidrs: ["0.0.0.0/0"], except: INTERNET_EXCEPT };
export const ANYWHERE: Endpoint = { name: "anywhere", cidrs: ["0.0.0.0/0"] };

const spec = (m: Manifest) => m.spec as Record<string, unknown>;
const templateOf = (m: Manifest) => (spec(m).template ?? (spec(m).jobTemplate as { spec: { template: unknown } } | undefined)?.spec.template) as { metadata?: { labels?: Record<string, string> }; spec: PodSpec };

function dataText(m: Manifest | undefined): string {
  if (!m) return "";
  const o = m as unknown as { data?: Record<string, string>; stringData?: Record<string, string> };
  return Object.values({ ...o.data, ...o.stringData }).join("\n");
}

export function workloads(list: readonly Manifest[]): Workload[] {
  const byName = (kind: string, ns: string, name: string) => list.find((m) => m.kind === kind && m.metadata.namespace === ns && m.metadata.name === name);
  return list
    .filter((m) => WORKLOAD_KINDS.has(m.kind))
    .map((m) => {
      const ns = m.metadata.namespace!;
      const template = templateOf(m);
      const mounted = (template.spec.volumes ?? []).flatMap((v) => [
        ...(v.configMap ? [byName("ConfigMap", ns, v.configMap.name)] : []),
        ...(v.secret ? [byName("Secret", ns, v.secret.secretName)] : []),
        ...(v.projected?.sources ?? []).map((s) => (s.configMap ? byName("ConfigMap", ns, s.configMap.name) : s.secret ? byName("Secret", ns, s.secret.name) : undefined)),
      ]);
      const containers = [...template.spec.containers, ...(template.spec.initContainers ?? [])];
      const own = containers.map((c) => [...(c.env ?? []).map((e) => e.value ?? ""), ...(c.args ?? []), ...(c.command ?? [])].join("\n"));
      return { namespace: ns, name: m.metadata.name, labels: template.metadata?.labels ?? {}, spec: template.spec, text: [...own, ...mounted.map(dataText)].join("\n") };
    });
}

const matches = (labels: Record<string, string>, selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
const id = (w: Workload) => `${w.namespace}/${w.name}`;
const containerPorts = (w: Workload) => w.spec.containers.flatMap((c) => c.ports ?? []);

/** A Service port (number) to the port its pods listen on, resolved on one target workload. */
function targetPort(w: Workload, target: number | string): number | undefined {
  if (typeof target === "number") return target;
  return containerPorts(w).find((p) => p.name === target)?.containerPort;
}

interface Service {
  metadata: { name: string; namespace: string; annotations?: Record<string, string> };
  spec: { type?: string; selector?: Record<string, string>; ports: { name?: string; port: number; targetPort?: number | string }[] };
}

/**
 * Services CloudNativePG creates for a Cluster (docs "Service management": `-rw` to the primary,
 * `-ro` to replicas, `-r` to any instance), on PostgreSQL's port, selecting its instances.
 */
function operatorServices(list: readonly Manifest[]): Service[] {
  return list
    .filter((m) => m.apiVersion === "postgresql.cnpg.io/v1" && m.kind === "Cluster")
    .flatMap((m) => ["rw", "ro", "r"].map((suffix) => ({ metadata: { name: `${m.metadata.name}-${suffix}`, namespace: m.metadata.namespace! }, spec: { selector: { "cnpg.io/cluster": m.metadata.name }, ports: [{ port: 5432 }] } })));
}

const HOST = /((?:[a-z0-9]([-a-z0-9]*[a-z0-9])?\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9-]+)\.svc(?:\.cluster\.local)?(?::(\d+))?/g;

/** Each `<host>.<namespace>.svc.cluster.local[:port]` in `text`, with the port given there or on a following `port:` line. */
export function references(text: string): { service: string; namespace: string; port: number }[] {
  const found: { service: string; namespace: string; port: number }[] = [];
  for (const m of text.matchAll(HOST)) {
    // `$(POD_NAME).<service>…`: a pod's own name, filled in by Kubernetes (what it announces, not what it reaches).
    if (text.slice(0, m.index).endsWith(").")) continue;
    const labels = m[1]!.split(".");
    const service = labels[labels.length - 1]!;
    const port = m[5] ?? /^[^\n]*\n?\s*port:\s*(\d+)/.exec(text.slice(m.index! + m[0].length))?.[1];
    // A name whose port this reading cannot find would drop a needed flow unseen.
    if (!port) throw new Error(`no port found for ${m[0]} (neither host:port nor a following port: line)`);
    found.push({ service, namespace: m[4]!, port: Number(port) });
  }
  return found;
}

export function neededFlows(list: readonly Manifest[], world: World): NeededFlow[] {
  const all = workloads(list);
  const services = [...(list.filter((m) => m.kind === "Service") as unknown as Service[]), ...operatorServices(list)];
  const podsOf = (ns: string, selector: Record<string, string>) => all.filter((w) => w.namespace === ns && matches(w.labels, selector));
  const endpoint = (w: Workload): Endpoint => (w.spec.hostNetwork ? { name: "call hosts", cidrs: world.callHostCidrs } : { name: id(w) });
  const flows: NeededFlow[] = [];
  const add = (from: Endpoint, to: Endpoint, ports: PortKey[], source: string) => flows.push({ from, to, ports, source });

  /** Where a reference to Service `svc` on `port` lands: each target workload and its listening port. */
  const resolve = (svc: Service, port: number) => {
    const entry = svc.spec.ports.find((p) => p.port === port);
    const targets = entry && svc.spec.selector ? podsOf(svc.metadata.namespace, svc.spec.selector) : [];
    if (!entry || targets.length === 0) throw new Error(`Service ${svc.metadata.namespace}/${svc.metadata.name} has no port ${port} or no pods behind it`);
    return targets.map((w) => {
      const listening = targetPort(w, entry.targetPort ?? entry.port);
      if (listening === undefined) throw new Error(`${id(w)} declares no port ${String(entry.targetPort)} for ${svc.metadata.name}`);
      return { w, port: listening };
    });
  };
  const referenced = (w: Workload) =>
    references(w.text).flatMap((r) => {
      const svc = services.find((s) => s.metadata.name === r.service && s.metadata.namespace === r.namespace);
      if (!svc) throw new Error(`${id(w)} names ${r.service}.${r.namespace}, which no Service provides`);
      return resolve(svc, r.port);
    });

  for (const w of all) {
    for (const t of referenced(w)) if (!t.w.spec.hostNetwork) add(endpoint(w), endpoint(t.w), [`TCP:${t.port}`], `${id(w)}'s configuration names it`);
    // A Sentinel client then connects to the master the Sentinels name: the data nodes they watch.
    for (const sentinel of referenced(w).filter((t) => t.w.spec.containers.some((c) => c.name === "sentinel"))) {
      for (const data of referenced(sentinel.w).filter((t) => t.w !== sentinel.w)) add(endpoint(w), endpoint(data.w), [`TCP:${data.port}`], `${id(w)} follows ${id(sentinel.w)} to the master`);
    }
    // A pod given its ServiceAccount token (every container, or one through a projected volume) whose command uses the in-cluster API address talks to the API server.
    if (callsTheApi(w.spec)) add(endpoint(w), { name: "API server", cidrs: world.apiServerCidrs }, ["TCP:443", "TCP:6443"], `${id(w)} calls the Kubernetes API`);
    // Cluster DNS (every name above is resolved there).
    if (!w.spec.hostNetwork) add(endpoint(w), { name: "kube-system/kube-dns" }, ["UDP:53", "TCP:53"], "cluster DNS");
  }

  // Prometheus scrapes what the monitors select, on their named ports.
  const prometheus: Endpoint = { name: `${world.monitoringNamespace}/prometheus` };
  for (const m of list.filter((x) => x.kind === "PodMonitor" || x.kind === "ServiceMonitor")) {
    const s = spec(m) as { selector: { matchLabels: Record<string, string> }; namespaceSelector?: { matchNames?: string[] }; podMetricsEndpoints?: { port: string }[]; endpoints?: { port: string }[] };
    const namespaces = s.namespaceSelector?.matchNames ?? [m.metadata.namespace!];
    for (const ns of namespaces) {
      if (m.kind === "PodMonitor") {
        for (const w of podsOf(ns, s.selector.matchLabels)) for (const e of s.podMetricsEndpoints ?? []) {
          const port = targetPort(w, e.port);
          if (port !== undefined && !w.spec.hostNetwork) add(prometheus, endpoint(w), [`TCP:${port}`], `PodMonitor ${m.metadata.name}`);
        }
      } else {
        for (const svc of services.filter((x) => x.metadata.namespace === ns && x.spec.selector && matches((x as unknown as Manifest).metadata.labels ?? {}, s.selector.matchLabels))) {
          for (const e of s.endpoints ?? []) {
            const entry = svc.spec.ports.find((p) => p.name === e.port);
            if (entry) for (const t of resolve(svc, entry.port)) add(prometheus, endpoint(t.w), [`TCP:${t.port}`], `ServiceMonitor ${m.metadata.name}`);
          }
        }
      }
    }
  }

  // The internet reaches what a LoadBalancer Service exposes, and on an existing cluster the Service the
  // operator's own load balancer targets (the one annotated with its TLS mode); host-network pods are not policed.
  for (const svc of services.filter((s) => s.spec.type === "LoadBalancer" || s.metadata.annotations?.["matrix-scale/tls"])) {
    for (const entry of svc.spec.ports) for (const t of resolve(svc, entry.port)) if (!t.w.spec.hostNetwork) add(ANYWHERE, endpoint(t.w), [`TCP:${t.port}`], `LoadBalancer ${svc.metadata.name}`);
  }

  for (const cluster of list.filter((m) => m.apiVersion === "postgresql.cnpg.io/v1" && m.kind === "Cluster")) {
    const instances = podsOf(cluster.metadata.namespace!, { "cnpg.io/cluster": cluster.metadata.name });
    const operator: Endpoint = { name: `${world.operator.namespace}/${world.operator.name}` };
    const c = spec(cluster) as { monitoring?: { enablePodMonitor?: boolean }; plugins?: { name: string; parameters?: { barmanObjectName?: string } }[] };
    // The object stores the Barman Cloud plugin's sidecar, in every instance pod, writes to: the ObjectStores the Cluster's plugins name.
    const stores = (c.plugins ?? [])
      .filter((p) => p.name === "barman-cloud.cloudnative-pg.io")
      .map((p) => {
        const store = list.find((m) => m.kind === "ObjectStore" && m.metadata.name === p.parameters?.barmanObjectName && m.metadata.namespace === cluster.metadata.namespace);
        if (!store) throw new Error(`the Cluster ${cluster.metadata.name} names the ObjectStore ${p.parameters?.barmanObjectName}, which is not declared`);
        return (spec(store) as { configuration: { endpointURL?: string; destinationPath?: string } }).configuration;
      });
    for (const w of instances) {
      // CloudNativePG docs, "Networking": the operator reaches every instance on 8000 and 5432, instances reach each other.
      add(operator, endpoint(w), ["TCP:8000", "TCP:5432"], "CloudNativePG: operator to instances");
      add(endpoint(w), endpoint(w), ["TCP:5432"], "CloudNativePG: instances to each other");
      // The instance manager talks to the API server (443 on EKS; kube-apiserver's own default is 6443).
      add(endpoint(w), { name: "API server", cidrs: world.apiServerCidrs }, ["TCP:443", "TCP:6443"], "CloudNativePG: instance manager to the Kubernetes API");
      // enablePodMonitor: the operator's PodMonitor scrapes the instances' metrics port (9187, docs "Monitoring").
      if (c.monitoring?.enablePodMonitor) add(prometheus, endpoint(w), ["TCP:9187"], "CloudNativePG PodMonitor");
      for (const store of stores) {
        // An s3:// destination without an endpoint is AWS S3 over HTTPS (barman-cloud's default endpoint).
        if (store.destinationPath?.startsWith("s3://") && !store.endpointURL) add(endpoint(w), INTERNET, ["TCP:443"], "CloudNativePG backups to AWS S3");
        const backup = store.endpointURL;
        // A store outside the cluster named by its address: that address, on the URL's port.
        const outside = backup ? new URL(backup) : undefined;
        if (outside && /^\d+\.\d+\.\d+\.\d+$/.test(outside.hostname)) {
          add(endpoint(w), { name: `backup store ${outside.host}`, cidrs: [`${outside.hostname}/32`] }, [`TCP:${outside.port || (outside.protocol === "https:" ? 443 : 80)}`], "CloudNativePG backups to the operator's store");
        }
        if (backup)
          for (const r of references(backup)) {
            const svc = services.find((s) => s.metadata.name === r.service && s.metadata.namespace === r.namespace)!;
            for (const t of resolve(svc, r.port)) add(endpoint(w), endpoint(t.w), [`TCP:${t.port}`], "CloudNativePG backups");
          }
      }
    }
  }

  // Outside the cluster, on any port: Synapse federates, pushes and fetches remote media and previews;
  // lk-jwt-service reaches LiveKit's public URL and checks OpenID tokens at homeservers. Matrix server
  // discovery (.well-known, SRV) may name any port (Matrix spec, "Resolving server names").
  for (const w of all) {
    const app = w.labels["app.kubernetes.io/name"];
    if (app === "synapse" || app === "lk-jwt-service") add(endpoint(w), INTERNET, ["ALL"], `${app}: federation and outbound HTTPS`);
  }
  return flows;
}

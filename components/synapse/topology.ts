/**
 * The Synapse processes a plan runs and how each is reached: names, listener resources and
 * ports. A Placement says where processes live: Kubernetes pods (same ports everywhere, DNS
 * names) or loopback (one host, distinct ports) for the integration tests.
 */
import type { WorkerType } from "../../sizing/settings";
import { WORKER_NAMES } from "../../sizing/synapse";
import type { SynapsePlan, WorkerPlan } from "../../sizing/types";

export type HttpResource = "client" | "federation" | "openid" | "media";

export interface SynapseProcess {
  type: WorkerType;
  /** worker_name / instance name; undefined for autoscaled pods, which take their pod name at start. */
  name?: string;
  /** Resources on the public HTTP listener (every HTTP listener also answers /health). */
  resources: HttpResource[];
  /** Whether others reach it over HTTP replication (it is in instance_map). */
  replication: boolean;
}

export interface ProcessPorts {
  http: number;
  replication: number;
  metrics: number;
}

export interface Placement {
  bindAddresses: string[];
  ports(process: SynapseProcess): ProcessPorts;
  /** Host other processes use to reach a named instance's replication listener. */
  replicationHost(name: string): string;
}

/** The instance name Synapse reserves for the main process in instance_map. */
export const MAIN_INSTANCE = "main";

/**
 * Public resources each type serves; federation ones only when federation is on. Main answers the
 * OpenID user-info endpoint either way (the `federation` resource includes it), where the call
 * service checks a caller's OpenID token: on a generic worker the pinned release fails it
 * (GenericWorkerStore has no get_user_id_for_open_id_token), and the worker docs do not list it.
 */
export function httpResources(type: WorkerType, federation: boolean): HttpResource[] {
  const fed: HttpResource[] = federation ? ["federation"] : [];
  switch (type) {
    case "main":
      return ["client", ...(federation ? fed : ["openid" as const])];
    case "generic":
      return ["client", ...fed];
    case "synchrotron":
    case "streamWriter":
      return ["client"];
    case "mediaRepository":
      return ["media"];
    default:
      return [];
  }
}

/** Types listed by name in instance_map: every stream writer and listed duty, and main. */
export function inInstanceMap(worker: WorkerPlan): boolean {
  return !worker.autoscaled && worker.type !== "background";
}

/**
 * One process per named instance; autoscaled types give `perDeployment` processes: one unnamed
 * template on Kubernetes (pods are alike), or explicit named copies on loopback.
 */
export function processes(synapse: SynapsePlan, autoscaledCopies?: (worker: WorkerPlan) => number): SynapseProcess[] {
  const out: SynapseProcess[] = [];
  for (const worker of Object.values(synapse.workers)) {
    if (worker.replicas === 0) continue;
    const resources = httpResources(worker.type, synapse.federation);
    const replication = inInstanceMap(worker);
    if (worker.type === "main") {
      out.push({ type: "main", name: MAIN_INSTANCE, resources, replication: true });
    } else if (worker.autoscaled) {
      const copies = autoscaledCopies?.(worker);
      if (copies === undefined) out.push({ type: worker.type, resources, replication: false });
      else for (let i = 0; i < copies; i++) out.push({ type: worker.type, name: `${WORKER_NAMES[worker.type]}-${i}`, resources, replication: false });
    } else {
      for (const name of worker.instances) out.push({ type: worker.type, name, resources, replication });
    }
  }
  return out;
}

/** Ports every Synapse pod uses on Kubernetes. */
export const POD_PORTS: ProcessPorts = { http: 8008, replication: 9093, metrics: 9000 };

/** Pods of one StatefulSet per named type, each behind the StatefulSet's headless Service. */
export function kubernetesPlacement(synapse: SynapsePlan, namespace: string): Placement {
  const statefulSetOf = new Map<string, string>();
  for (const worker of Object.values(synapse.workers)) for (const name of worker.instances) statefulSetOf.set(name, WORKER_NAMES[worker.type]);
  return {
    bindAddresses: ["0.0.0.0"],
    ports: () => POD_PORTS,
    replicationHost(name) {
      const pod = name === MAIN_INSTANCE ? `${WORKER_NAMES.main}-0` : name;
      const service = name === MAIN_INSTANCE ? WORKER_NAMES.main : statefulSetOf.get(name);
      if (!service) throw new Error(`${name} is not a named Synapse instance`);
      return `${pod}.${service}.${namespace}.svc.cluster.local`;
    },
  };
}

/** Every process on 127.0.0.1 with its own three ports, from `basePort` up. */
export function loopbackPlacement(all: readonly SynapseProcess[], basePort: number): Placement {
  const index = new Map(all.map((p, i) => [p.name ?? `${p.type}`, i]));
  return {
    bindAddresses: ["127.0.0.1"],
    ports(process) {
      const i = index.get(process.name ?? process.type);
      if (i === undefined) throw new Error(`unknown process ${process.name}`);
      return { http: basePort + i * 3, replication: basePort + i * 3 + 1, metrics: basePort + i * 3 + 2 };
    },
    replicationHost: () => "127.0.0.1",
  };
}

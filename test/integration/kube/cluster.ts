/**
 * What the control-plane tests do to a cluster: nodes from the plan's inventory, volumes the way
 * the EBS CSI driver provisions them (zonal, where the scheduler put the pod), the program's
 * manifests applied as Pulumi applies them (server-side, strict field validation), and the
 * questions asked of the result (where every pod landed, how full each pool is).
 */
import { POOL_LABEL, type NodeGroupSpec } from "../../../sizing/inventory";
import { DAEMONSETS, memoryCapacityGiB, nodeAllocatable, INSTANCE_MODELS } from "../../../sizing/node-model";
import type { Capacity } from "../../../sizing/packing";
import { waitFor } from "../harness";
import type { ControlPlane, KubeObject } from "./control-plane";
import type { Manifest } from "./manifests";
import { crdsFor } from "./operator-crds";

export const ZONE_LABEL = "topology.kubernetes.io/zone";

/** Zone names for the test's nodes: the region and a letter, as the mock runtime answers getAvailabilityZones. */
export function testZones(region: string): string[] {
  return ["a", "b", "c"].map((z) => `${region}${z}`);
}
export const HOST_LABEL = "kubernetes.io/hostname";
/** The field manager Pulumi's Kubernetes provider applies with. */
export const FIELD_MANAGER = "pulumi-kubernetes";

const milli = (vcpu: number) => `${Math.round(vcpu * 1000)}m`;
const mebi = (gib: number) => `${Math.floor(gib * 1024)}Mi`;

/**
 * One node per server of each node group (nodeGroups: a pool, or a MinIO pool's storage), as a
 * managed node group lays them out: in its zone (zonal pools) or spread over the zones in turn, labelled and tainted as the
 * plan says. What each node reports comes from the node model (sizing/node-model.ts: the
 * instance's vCPUs, the memory the kubelet sees, nodeadm's reservation, the node group's pod cap),
 * never from the plan's own allocatable; the DaemonSets take their share as real pods
 * (daemonSets()). The control plane is the provider's.
 */
export function nodesFor(groups: readonly NodeGroupSpec[], zones: readonly string[]): Manifest[] {
  return groups.flatMap(({ id, row, count, labels, zone }) =>
    Array.from({ length: count }, (_, i) => {
      const name = `${id.toLowerCase()}-${i}`;
      const model = INSTANCE_MODELS[row.instanceType];
      if (!model) throw new Error(`the node model has no ${row.instanceType}`);
      const allocatable = nodeAllocatable(row.instanceType);
      return {
        apiVersion: "v1",
        kind: "Node",
        metadata: {
          name,
          labels: {
            ...labels,
            [HOST_LABEL]: name,
            [ZONE_LABEL]: zones[zone ?? i % zones.length]!,
            "node.kubernetes.io/instance-type": row.instanceType,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            type: "kwok",
          },
          annotations: { "kwok.x-k8s.io/node": "fake" },
        },
        spec: { taints: row.taints },
        status: {
          capacity: { cpu: String(model.vcpu), memory: mebi(memoryCapacityGiB(row.instanceType)), pods: String(allocatable.pods) },
          allocatable: { cpu: milli(allocatable.vcpu), memory: mebi(allocatable.memoryGiB), pods: String(allocatable.pods) },
        },
      };
    }),
  );
}

/**
 * The DaemonSets an EKS cluster runs on every node (the node model's list), with their requests and
 * tolerations; the ones the program declares itself come from its manifests instead.
 */
export function daemonSets(declared: readonly Manifest[]): Manifest[] {
  const own = declared.filter((m) => m.kind === "DaemonSet");
  const modelled = DAEMONSETS.filter((d) => d.declaredByProgram);
  const same = (d: (typeof DAEMONSETS)[number], m: Manifest) => m.metadata.name === d.name && m.metadata.namespace === d.namespace;
  const missing = modelled.filter((d) => !own.some((m) => same(d, m)));
  if (missing.length) throw new Error(`the node model counts DaemonSets the program does not declare: ${missing.map((d) => `${d.namespace}/${d.name}`).join(", ")}`);
  const uncounted = own.filter((m) => !modelled.some((d) => same(d, m)));
  if (uncounted.length) throw new Error(`the program declares DaemonSets the node model does not count: ${uncounted.map((m) => `${m.metadata.namespace}/${m.metadata.name}`).join(", ")}`);
  return [...DAEMONSETS.filter((d) => !d.declaredByProgram).map(standIn), ...own];
}

function standIn(d: (typeof DAEMONSETS)[number]): Manifest {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: d.name, namespace: "kube-system" },
    spec: {
      selector: { matchLabels: { "k8s-app": d.name } },
      template: {
        metadata: { labels: { "k8s-app": d.name } },
        spec: {
          priorityClassName: "system-node-critical",
          tolerations: d.tolerateAllTaints ? [{ operator: "Exists" }] : [],
          containers: [{ name: d.name, image: `${d.name}:model`, resources: { requests: { cpu: milli(d.requests.vcpu), memory: mebi(d.requests.memoryGiB) } } }],
        },
      },
    },
  };
}

/** Starts the DaemonSets (the program's with their namespaces, as the engine would) and waits until one pod of each runs on every node. */
export async function startDaemonSets(cp: ControlPlane, declared: readonly Manifest[]): Promise<void> {
  const list = daemonSets(declared);
  const namespaces = declared.filter((m) => m.kind === "Namespace" && list.some((d) => d.metadata.namespace === m.metadata.name));
  await applyManifests(cp, [...namespaces, ...list]);
  const nodes = cp.list("nodes").length;
  await waitFor(`${list.length} DaemonSets on ${nodes} nodes`, async () => {
    const running = cp.list<Pod>("pods").filter((p) => isDaemonPod(p) && isReady(p));
    return running.length === nodes * list.length ? true : undefined;
  }, 120_000, 1000);
}

export function isDaemonPod(pod: Pod): boolean {
  return pod.metadata.ownerReferences?.[0]?.kind === "DaemonSet";
}

/** Per node group, the largest count and node any of the given plans asks for (nodes for a sequence of tiers). */
export function envelope(groups: NodeGroupSpec[][]): NodeGroupSpec[] {
  const ids = [...new Set(groups.flat().map((g) => g.id))];
  return ids.map((id) => {
    const all = groups.flat().filter((g) => g.id === id);
    const largest = [...all].sort((a, b) => b.row.allocatable.vcpu - a.row.allocatable.vcpu || b.row.allocatable.memoryGiB - a.row.allocatable.memoryGiB)[0]!;
    return { ...largest, count: Math.max(...all.map((g) => g.count)) };
  });
}

/** Creates the nodes and waits until KWOK reports each Ready with the plan's allocatable. */
export async function addNodes(cp: ControlPlane, nodes: readonly Manifest[]): Promise<void> {
  cp.must(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: nodes }));
  for (const node of nodes) {
    const status = JSON.stringify({ status: node.status });
    cp.must(["patch", "node", node.metadata.name, "--subresource=status", "--type=merge", "-p", status]);
  }
  const want = new Map(nodes.map((n) => [n.metadata.name, (n.status as { allocatable: Record<string, string> }).allocatable]));
  await waitFor(`${nodes.length} nodes Ready with their allocatable`, async () => {
    const live = cp.list("nodes").filter((n) => want.has(n.metadata.name));
    const ready = live.filter((n) => {
      const allocatable = (n.status as { allocatable: Record<string, string> }).allocatable;
      const a = want.get(n.metadata.name)!;
      return readyStatus(n) === "True" && allocatable.cpu === a.cpu && allocatable.memory === a.memory;
    });
    return ready.length === want.size ? true : undefined;
  }, 60_000, 500);
}

interface Pvc extends KubeObject {
  spec: { storageClassName?: string; accessModes: string[]; resources: { requests: { storage: string } }; volumeName?: string };
  status: { phase: string };
}

/**
 * Provisions a volume for every claim the scheduler has chosen a node for (WaitForFirstConsumer),
 * in that node's zone, as the EBS CSI driver does: the PersistentVolume controller binds it, and a
 * pod that later moves must stay in its volume's zone. Runs until stopped.
 */
export function startZonalProvisioner(cp: ControlPlane): { stop(): void; provisioned(): number } {
  const done = new Set<string>();
  const tick = () => {
    const claims = cp.list<Pvc>("persistentvolumeclaims").filter((c) => !c.spec.volumeName && c.metadata.annotations?.["volume.kubernetes.io/selected-node"]);
    if (claims.length === 0) return;
    const zones = new Map(cp.list("nodes").map((n) => [n.metadata.name, n.metadata.labels?.[ZONE_LABEL] ?? ""]));
    const volumes = claims
      .filter((c) => !done.has(c.metadata.uid!))
      .map((c) => {
        done.add(c.metadata.uid!);
        const zone = zones.get(c.metadata.annotations!["volume.kubernetes.io/selected-node"]!)!;
        return {
          apiVersion: "v1",
          kind: "PersistentVolume",
          metadata: { name: `pv-${c.metadata.uid}`, annotations: { "pv.kubernetes.io/provisioned-by": "ebs.csi.aws.com" } },
          spec: {
            capacity: { storage: c.spec.resources.requests.storage },
            accessModes: c.spec.accessModes,
            storageClassName: c.spec.storageClassName,
            persistentVolumeReclaimPolicy: "Retain",
            claimRef: { namespace: c.metadata.namespace, name: c.metadata.name, uid: c.metadata.uid },
            csi: { driver: "ebs.csi.aws.com", volumeHandle: `vol-${c.metadata.uid}`, fsType: "ext4" },
            nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: ZONE_LABEL, operator: "In", values: [zone] }] }] } },
          },
        };
      });
    if (volumes.length > 0) cp.must(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: volumes }));
  };
  const timer = setInterval(() => {
    try {
      tick();
    } catch {
      /* the next tick tries again */
    }
  }, 1000);
  return { stop: () => clearInterval(timer), provisioned: () => done.size };
}

export interface ApplyResult {
  objects: number;
  /** PodSecurity or deprecation warnings the API server returned. */
  warnings: string[];
}

/** Every CRD Established; polled rather than `kubectl wait`: a CRD created a moment ago has no status yet, which kubectl wait reports as an error. */
export async function crdsEstablished(cp: ControlPlane): Promise<void> {
  await waitFor("every CRD Established", async () => {
    const crds = JSON.parse(cp.must(["get", "crd", "-o", "json"])) as { items: { status?: { conditions?: { type: string; status: string }[] } }[] };
    return crds.items.every((crd) => crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) ? true : undefined;
  }, 120_000, 500);
}

/**
 * Applies manifests as Pulumi's provider does (server-side apply, its field manager, strict field
 * validation, no forced conflicts): definitions first (namespaces, CRDs, storage classes), then
 * everything else. Throws with the API server's words if any object is refused.
 */
export async function applyManifests(cp: ControlPlane, list: readonly Manifest[]): Promise<ApplyResult> {
  // What the engine creates before the workloads (they depend on it): namespaces, CRDs, storage and priority classes.
  const first = new Set(["Namespace", "CustomResourceDefinition", "StorageClass", "PriorityClass"]);
  const definitions = [...list.filter((m) => first.has(m.kind)), ...crdsFor(list)];
  const rest = list.filter((m) => !first.has(m.kind));
  const warnings: string[] = [];
  const apply = (items: readonly Manifest[]) => {
    if (items.length === 0) return;
    const r = cp.kubectl(["apply", "--server-side", `--field-manager=${FIELD_MANAGER}`, "--validate=strict", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items }));
    if (r.status !== 0) throw new Error(`the API server refused objects:\n${r.stderr.slice(0, 6000)}`);
    warnings.push(...r.stderr.split("\n").filter((line) => line.startsWith("Warning:")));
  };
  apply(definitions);
  await crdsEstablished(cp);
  apply(rest);
  return { objects: definitions.length + rest.length, warnings };
}

export interface Pod extends KubeObject {
  spec: {
    nodeName?: string;
    nodeSelector?: Record<string, string>;
    tolerations?: { key?: string; operator?: string; value?: string; effect?: string }[];
    affinity?: { podAntiAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { topologyKey: string; labelSelector: { matchLabels: Record<string, string> } }[] } };
    containers: { resources?: { requests?: Record<string, string> } }[];
    initContainers?: { restartPolicy?: string; resources?: { requests?: Record<string, string> } }[];
  };
  status: { phase: string; conditions?: { type: string; status: string }[]; nominatedNodeName?: string };
}

export function cpuOf(quantity: string | undefined): number {
  if (!quantity) return 0;
  return quantity.endsWith("m") ? Number(quantity.slice(0, -1)) / 1000 : Number(quantity);
}

export function gibOf(quantity: string | undefined): number {
  if (!quantity) return 0;
  const units: Record<string, number> = { Ki: 2 ** -20, Mi: 2 ** -10, Gi: 1, Ti: 2 ** 10, k: 1e3 / 2 ** 30, M: 1e6 / 2 ** 30, G: 1e9 / 2 ** 30 };
  const match = /^([0-9.]+)([A-Za-z]*)$/.exec(quantity);
  if (!match) throw new Error(`unknown quantity ${quantity}`);
  return Number(match[1]) * (match[2] ? units[match[2]]! : 2 ** -30);
}

/**
 * What the scheduler counts for a pod (Kubernetes "Sidecar containers", resource sharing): the
 * containers plus every native sidecar (an init container with `restartPolicy: Always`, running
 * beside them), or a plain init container plus the sidecars started before it, whichever is larger.
 */
export function podRequests(pod: Pod): Capacity {
  const request = (f: (r: Record<string, string>) => number) => {
    let sidecars = 0;
    let initPeak = 0;
    for (const c of pod.spec.initContainers ?? []) {
      const own = f(c.resources?.requests ?? {});
      if (c.restartPolicy === "Always") sidecars += own;
      else initPeak = Math.max(initPeak, own + sidecars);
    }
    const containers = pod.spec.containers.reduce((acc, c) => acc + f(c.resources?.requests ?? {}), 0);
    return Math.max(containers + sidecars, initPeak);
  };
  return { vcpu: request((r) => cpuOf(r.cpu)), memoryGiB: request((r) => gibOf(r.memory)) };
}

/** The workload a pod belongs to (owner chain flattened: ReplicaSet names lose their hash). */
export function ownerOf(pod: Pod): string {
  const owner = pod.metadata.ownerReferences?.[0];
  if (!owner) return pod.metadata.name;
  const name = owner.kind === "ReplicaSet" ? owner.name.replace(/-[a-z0-9]+$/, "") : owner.name;
  return `${pod.metadata.namespace}/${name}`;
}

/** The program's pods that hold resources on a node (a finished Job's pod does not; the cluster's DaemonSets are not the program's). */
export function active(pods: readonly Pod[]): Pod[] {
  return pods.filter((p) => !finished(p) && !p.metadata.deletionTimestamp && !isDaemonPod(p));
}

function finished(pod: Pod): boolean {
  return pod.status.phase === "Succeeded" || pod.status.phase === "Failed";
}

export function isReady(pod: Pod): boolean {
  return pod.status.phase === "Running" && !!pod.status.conditions?.some((c) => c.type === "Ready" && c.status === "True");
}

export interface PoolReport {
  role: string;
  nodes: number;
  /** What the DaemonSets' pods request on the pool's nodes. */
  daemons: Capacity;
  pods: number;
  requested: Capacity;
  allocatable: Capacity;
}

/** Per pool: nodes, pods placed, what those pods request and what the pool's nodes offer. */
export function poolReport(nodes: readonly KubeObject[], pods: readonly Pod[]): PoolReport[] {
  const poolOf = new Map(nodes.map((n) => [n.metadata.name, n.metadata.labels?.[POOL_LABEL] ?? "?"]));
  const roles = [...new Set(poolOf.values())];
  return roles.map((role) => {
    const members = nodes.filter((n) => poolOf.get(n.metadata.name) === role);
    const placed = active(pods).filter((p) => p.spec.nodeName && poolOf.get(p.spec.nodeName) === role);
    const sum = (list: Pod[]) => list.map(podRequests).reduce((a, r) => ({ vcpu: a.vcpu + r.vcpu, memoryGiB: a.memoryGiB + r.memoryGiB }), { vcpu: 0, memoryGiB: 0 });
    const requested = sum(placed);
    const daemons = sum(pods.filter((p) => isDaemonPod(p) && p.spec.nodeName && poolOf.get(p.spec.nodeName) === role));
    const allocatable = members
      .map((n) => (n.status as { allocatable: Record<string, string> }).allocatable)
      .reduce((a, r) => ({ vcpu: a.vcpu + cpuOf(r.cpu), memoryGiB: a.memoryGiB + gibOf(r.memory) }), { vcpu: 0, memoryGiB: 0 });
    return { role, nodes: members.length, pods: placed.length, requested, daemons, allocatable };
  });
}

/** Pods the workloads in these manifests should run (an HPA's minimum where it owns the count). */
export function expectedPods(list: readonly Manifest[]): number {
  const hpaMin = new Map(
    list
      .filter((m) => m.kind === "HorizontalPodAutoscaler")
      .map((m) => {
        const spec = m.spec as { scaleTargetRef: { name: string }; minReplicas: number };
        return [`${m.metadata.namespace}/${spec.scaleTargetRef.name}`, spec.minReplicas];
      }),
  );
  return list.reduce((count, m) => {
    const spec = m.spec as { replicas?: number; completions?: number } | undefined;
    if (m.kind === "StatefulSet") return count + (spec?.replicas ?? 1);
    if (m.kind === "Deployment") return count + (spec?.replicas ?? hpaMin.get(`${m.metadata.namespace}/${m.metadata.name}`) ?? 1);
    if (m.kind === "Job") return count + (spec?.completions ?? 1);
    return count;
  }, 0);
}

/** The reasons the scheduler gave for pods it could not place (its FailedScheduling events). */
export function schedulingFailures(cp: ControlPlane, pods: readonly Pod[]): string[] {
  const pending = new Set(pods.filter((p) => !p.spec.nodeName).map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
  const events = cp.list<KubeObject & { reason: string; message: string; involvedObject: { name: string; namespace: string } }>("events");
  return events
    .filter((e) => (e.reason === "FailedScheduling" || e.reason === "FailedCreate") && (e.reason === "FailedCreate" || pending.has(`${e.involvedObject.namespace}/${e.involvedObject.name}`)))
    .map((e) => `${e.involvedObject.namespace}/${e.involvedObject.name}: ${e.reason}: ${e.message}`);
}

/** Waits until `count` pods exist and every one is placed and started (or finished, for a Job). */
export async function waitForPlacement(cp: ControlPlane, count: number, timeoutMs: number): Promise<Pod[]> {
  let last: Pod[] = [];
  try {
    return await waitFor(`${count} pods placed and running`, async () => {
      last = cp.list<Pod>("pods").filter((p) => !p.metadata.deletionTimestamp && !isDaemonPod(p));
      const settled = last.filter((p) => p.spec.nodeName && (isReady(p) || p.status.phase === "Succeeded"));
      return last.length === count && settled.length === count ? last : undefined;
    }, timeoutMs, 1000);
  } catch (error) {
    const pending = last.filter((p) => !p.spec.nodeName).map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
    const notReady = last.filter((p) => p.spec.nodeName && !isReady(p) && p.status.phase !== "Succeeded").map((p) => `${p.metadata.namespace}/${p.metadata.name} (${p.status.phase})`);
    throw new Error(`${String(error)}\n${last.length} pods exist (${count} expected); not placed: ${pending.join(", ") || "none"}; placed, not ready: ${notReady.join(", ") || "none"}\n${schedulingFailures(cp, last).slice(0, 30).join("\n")}`);
  }
}

export interface DrainResult {
  role: string;
  node: string;
  evicted: number;
  /** Evicted pods whose replacement runs on another node. */
  rescheduled: number;
  /** Replacements waiting: "namespace/workload: the scheduler's reason". */
  waiting: string[];
  /** Per workload that lost a pod: pods ready after the drain, and how many it runs. */
  workloads: { name: string; ready: number; replicas: number }[];
  seconds: number;
}

/**
 * Cordons and drains the pool's busiest node (by requested CPU) through the eviction API, which
 * honours every PodDisruptionBudget, then waits until each evicted pod's replacement runs
 * elsewhere or the scheduler says why it cannot. The node is uncordoned afterwards and every pod
 * must be back.
 */
export async function drainBusiest(cp: ControlPlane, role: string): Promise<DrainResult> {
  const started = Date.now();
  const nodes = cp.list("nodes").filter((n) => n.metadata.labels?.[POOL_LABEL] === role);
  // A finished Job's pod is deleted by the drain and never replaced: count the pods that run.
  const before = active(cp.list<Pod>("pods"));
  const expected = before.length;
  const load = (node: string) => before.filter((p) => p.spec.nodeName === node).reduce((acc, p) => acc + podRequests(p).vcpu, 0);
  const node = nodes.map((n) => n.metadata.name).sort((a, b) => load(b) - load(a) || a.localeCompare(b))[0]!;
  const evictedPods = before.filter((p) => p.spec.nodeName === node);
  const owners = new Set(evictedPods.map(ownerOf));
  cp.must(["drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--grace-period=1", "--timeout=240s"]);

  const settled = await settle(cp, `the pods evicted from ${node}`, expected, new Set([node]), 240_000);
  const waiting = waitingFor(cp, settled);
  const workloads = [...owners].sort().map((name) => {
    const members = active(settled).filter((p) => ownerOf(p) === name);
    return { name, ready: members.filter(isReady).length, replicas: members.length };
  });
  const result: DrainResult = {
    role,
    node,
    evicted: evictedPods.length,
    rescheduled: evictedPods.length - waiting.length,
    waiting,
    workloads,
    seconds: 0,
  };
  cp.must(["uncordon", node]);
  await waitFor(`every pod running again after ${node} came back`, async () => {
    const pods = active(cp.list<Pod>("pods"));
    return pods.length === expected && pods.every((p) => p.spec.nodeName && isReady(p)) ? true : undefined;
  }, 240_000, 1000);
  return { ...result, seconds: Math.round((Date.now() - started) / 100) / 10 };
}

/**
 * Waits until `expected` pods exist, none on the `gone` nodes, each ready or refused by the scheduler
 * with no preemption under way (a refused pod that evicts lower-priority ones carries a nominated
 * node until it binds). A state with pods waiting counts only once it has held for `STILL_MS`, longer
 * than the scheduler's retry back-off: a refusal seen mid-reschedule may still turn into a placement.
 */
async function settle(cp: ControlPlane, what: string, expected: number, gone: ReadonlySet<string>, timeoutMs: number): Promise<Pod[]> {
  let unsettled: Pod[] = [];
  let count = 0;
  let seen = "";
  let since = Date.now();
  return waitFor(`${what} to be replaced or refused`, async () => {
    const pods = active(cp.list<Pod>("pods"));
    count = pods.length;
    unsettled = pods.filter((p) => (p.spec.nodeName ? gone.has(p.spec.nodeName) || !isReady(p) : !unschedulable(p) || !!p.status.nominatedNodeName));
    const state = pods.map((p) => `${p.metadata.namespace}/${p.metadata.name}@${p.spec.nodeName ?? "-"}:${isReady(p)}`).sort().join(" ");
    if (state !== seen) [seen, since] = [state, Date.now()];
    if (pods.length !== expected || unsettled.length > 0) return undefined;
    const waiting = pods.some((p) => !p.spec.nodeName);
    return !waiting || Date.now() - since >= STILL_MS ? pods : undefined;
  }, timeoutMs, 1000).catch((error: unknown) => {
    const described = unsettled.map((p) => `${p.metadata.namespace}/${p.metadata.name} on ${p.spec.nodeName ?? "-"}: ${p.status.phase} ${JSON.stringify(p.status.conditions ?? [])}`);
    throw new Error(`${String(error)}\n${count} pods (${expected} expected); unsettled:\n${described.join("\n")}`);
  });
}

/** The pods left unplaced, each as "namespace/pod: the scheduler's reason". */
function waitingFor(cp: ControlPlane, pods: readonly Pod[]): string[] {
  const waitingPods = pods.filter((p) => !p.spec.nodeName);
  const reasons = new Map(schedulingFailures(cp, waitingPods).map((line) => [line.split(":")[0]!, line]));
  return waitingPods.map((p) => reasons.get(`${p.metadata.namespace}/${p.metadata.name}`) ?? `${ownerOf(p)}: pending`);
}

/** kube-scheduler retries a refused pod after at most podMaxBackoffSeconds (10 s by default). */
const STILL_MS = 12_000;

function unschedulable(pod: Pod): boolean {
  return !!pod.status.conditions?.some((c) => c.type === "PodScheduled" && c.status === "False");
}

export interface ZoneLoss {
  zone: string;
  nodes: number;
  /** Per workload: pods ready after the loss, how many it runs, and its kind (StatefulSet, ReplicaSet). */
  workloads: Map<string, { ready: number; replicas: number; kind: string }>;
  /** Pods left waiting: "namespace/pod: the scheduler's reason". */
  waiting: string[];
  seconds: number;
}

/**
 * A zone goes, as in an outage: every node of it is deleted (its kubelets are gone), the pod
 * garbage collector removes the pods bound to them, the controllers create replacements, and the
 * scheduler places each on what is left or says why not. Waits until every pod is ready or refused.
 */
export async function loseZone(cp: ControlPlane, zone: string): Promise<ZoneLoss> {
  const started = Date.now();
  const lost = nodesOfZone(cp, zone);
  const expected = active(cp.list<Pod>("pods")).length;
  cp.must(["delete", "node", ...lost, "--wait=false"]);
  const settled = await settle(cp, `the pods of zone ${zone}`, expected, new Set(lost), 300_000);
  return zoneLossOf(cp, zone, lost, started, settled);
}

/** What a zone's loss left, `started` ms ago: the settled pods' workloads (with `held` pods counted, never ready) and what waits. */
function zoneLossOf(cp: ControlPlane, zone: string, lost: readonly string[], started: number, settled: readonly Pod[], held: readonly Pod[] = []): ZoneLoss {
  return { zone, nodes: lost.length, workloads: workloadsOf(settled, held), waiting: waitingFor(cp, settled), seconds: Math.round((Date.now() - started) / 1000) };
}

function nodesOfZone(cp: ControlPlane, zone: string): string[] {
  return cp.list("nodes").filter((n) => n.metadata.labels?.[ZONE_LABEL] === zone).map((n) => n.metadata.name);
}

/** Per workload: its pods ready, how many it runs (`held`: pods it still counts as its own, never ready), and its kind. */
function workloadsOf(pods: readonly Pod[], held: readonly Pod[] = []): ZoneLoss["workloads"] {
  const workloads: ZoneLoss["workloads"] = new Map();
  for (const p of [...pods, ...held]) {
    const w = workloads.get(ownerOf(p)) ?? { ready: 0, replicas: 0, kind: p.metadata.ownerReferences?.[0]?.kind ?? "Pod" };
    workloads.set(ownerOf(p), { ...w, ready: w.ready + (held.includes(p) ? 0 : isReady(p) ? 1 : 0), replicas: w.replicas + 1 });
  }
  return workloads;
}

/** The node taint an operator applies to a node known to be down (Kubernetes' non-graceful node shutdown). */
export const OUT_OF_SERVICE_TAINT = "node.kubernetes.io/out-of-service=nodeshutdown:NoExecute";

export interface ZoneOutage {
  zone: string;
  nodes: number;
  /** Before anyone acts: the nodes NotReady and tainted unreachable, their pods evicted. */
  unanswered: ZoneLoss;
  /** The StatefulSet pods still held on the lost nodes then (being deleted, never confirmed, so never replaced). */
  held: string[];
  /** After the operator taints the lost nodes out of service (docs/hardware.md). */
  outOfService: ZoneLoss;
}

/**
 * A zone stops answering, as in a real outage: its nodes stay, but nothing renews their leases or
 * answers for their pods. The node controller marks them NotReady and taints them unreachable; once
 * the pods' toleration runs out it evicts them, their controllers replace the Deployments' pods and
 * the scheduler places them, while a StatefulSet waits for its pod's deletion to be confirmed, which
 * never comes. Then the operator's step: the out-of-service taint, after which the pod garbage
 * collector removes those pods and the StatefulSets replace them. Needs a control plane started with
 * `lostNodes`.
 */
export async function zoneStopsAnswering(cp: ControlPlane, zone: string): Promise<ZoneOutage> {
  let started = Date.now();
  const lost = nodesOfZone(cp, zone);
  const gone = new Set(lost);
  const expected = active(cp.list<Pod>("pods")).length;
  await cp.manageOnly(`${ZONE_LABEL} notin (${zone})`);
  // Every pod on the lost nodes evicted (being deleted), the nodes unreachable: the controller's doing, not the test's.
  const heldPods = await waitFor(`zone ${zone}'s nodes unreachable and their pods evicted`, async () => {
    const nodes = cp.list("nodes").filter((n) => gone.has(n.metadata.name));
    const unreachable = nodes.every((n) => readyStatus(n) === "Unknown" && taintKeys(n).includes("node.kubernetes.io/unreachable"));
    const there = podsOn(cp, gone);
    return unreachable && there.every((p) => !!p.metadata.deletionTimestamp) ? there.filter((p) => p.metadata.ownerReferences?.[0]?.kind === "StatefulSet") : undefined;
  }, 300_000, 2000);
  const settledUnanswered = await settle(cp, `the Deployments' pods of zone ${zone}`, expected - heldPods.length, gone, 300_000);
  // Still held: the same pods, on the same nodes, never replaced.
  const stillHeld = cp.list<Pod>("pods").filter((p) => heldPods.some((h) => h.metadata.uid === p.metadata.uid));
  const unanswered = zoneLossOf(cp, zone, lost, started, settledUnanswered, stillHeld);
  const held = stillHeld.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort();

  started = Date.now();
  cp.must(["taint", "node", ...lost, OUT_OF_SERVICE_TAINT]);
  const settledOutOfService = await settle(cp, `the StatefulSets' pods of zone ${zone}`, expected, gone, 300_000);
  // The pod garbage collector (every 20 s) removes every pod the lost nodes held.
  await waitFor(`no pod left on zone ${zone}'s nodes`, async () => (podsOn(cp, gone).length === 0 ? true : undefined), 60_000, 2000);
  const outOfService = zoneLossOf(cp, zone, lost, started, settledOutOfService);
  return { zone, nodes: lost.length, unanswered, held, outOfService };
}

/** The program's pods bound to `nodes`, finished ones aside. */
function podsOn(cp: ControlPlane, nodes: ReadonlySet<string>): Pod[] {
  return cp.list<Pod>("pods").filter((p) => !!p.spec.nodeName && nodes.has(p.spec.nodeName) && !isDaemonPod(p) && !finished(p));
}

function readyStatus(node: KubeObject): string | undefined {
  return (node as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions?.find((c) => c.type === "Ready")?.status;
}

function taintKeys(node: KubeObject): string[] {
  return ((node as { spec?: { taints?: { key: string }[] } }).spec?.taints ?? []).map((t) => t.key);
}

/**
 * What polling can prove about when `old` pods stopped. A listing takes seconds on a loaded
 * machine, so a pod's stop is known only between two bounds: `lastAlive`, the start of the last
 * listing that showed it running and not being deleted (it ran at some instant after that), and
 * `stopped`, the end of the first listing that showed it gone or being deleted. `lastRunning` also
 * counts a pod being deleted whose phase is still Running (its processes drain).
 */
export interface StopWatch {
  lastAlive: Map<string, number>;
  lastRunning: Map<string, number>;
  stopped: Map<string, number>;
  /** Stops polling; true when every old pod was seen stopping. */
  end(): boolean;
  /** Whether the bounds allow one instant at which every pod stopped (one request, not a roll). */
  together(): boolean;
}

/** `listedAt`: when the listing `old` came from started. */
export function watchStops(list: () => Pod[], old: readonly Pod[], listedAt: number, everyMs = 100): StopWatch {
  const lastAlive = new Map(old.map((p) => [p.metadata.uid!, listedAt]));
  const lastRunning = new Map(lastAlive);
  const stopped = new Map<string, number>();
  const timer = setInterval(() => {
    const asked = Date.now();
    let pods: Pod[];
    try {
      pods = list();
    } catch {
      return; // a failed listing proves nothing; the bounds only widen
    }
    const now = new Map(pods.map((p) => [p.metadata.uid!, p]));
    const returned = Date.now();
    for (const p of old) {
      const uid = p.metadata.uid!;
      const seen = now.get(uid);
      if (seen?.status.phase === "Running") lastRunning.set(uid, asked);
      if (seen && !seen.metadata.deletionTimestamp && seen.status.phase === "Running") lastAlive.set(uid, asked);
      else if (!stopped.has(uid)) stopped.set(uid, returned);
    }
  }, everyMs);
  return {
    lastAlive,
    lastRunning,
    stopped,
    end: () => {
      clearInterval(timer);
      return stopped.size === old.length;
    },
    // Stopped at one instant T: each pod ran after its lastAlive and stopped by T, so every lastAlive precedes
    // every stopped. In a roll, a pod is seen stopped before the next one is last seen running.
    together: () => Math.max(...lastAlive.values()) <= Math.min(...stopped.values()),
  };
}

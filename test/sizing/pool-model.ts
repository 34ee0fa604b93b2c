/**
 * N-1 recomputed without the sizing code (used by n-minus-1.test.ts and properties.test.ts): the
 * application pool's pods enumerated from the plan's process list (docs/sizing.md: "the Synapse
 * fleet, HAProxy and both Redis deployments", with their Sentinels, exporters, master proxy and
 * the LiveKit JWT service), node allocatable from the published EKS numbers docs/sizing.md cites,
 * and a packer of our own:
 *   - a packing found here on nodes − 1 proves the pool fits (the plan must say true);
 *   - a failed necessary condition proves it does not (the plan must say false).
 */
import type { Plan, Resources } from "../../sizing/types";

export interface Pod {
  owner: string;
  vcpu: number;
  memoryGiB: number;
  /** Pods of one group must run on distinct nodes (required anti-affinity). */
  group?: string;
  /** At the essential PriorityClass (docs/hardware.md): preempts the others. */
  essential?: boolean;
}
export interface Node {
  vcpu: number;
  memoryGiB: number;
}

/** amazon-eks-ami nodeadm/internal/kubelet/eni-max-pods.txt: max pods by instance size (c7i, m7i, r7i alike). */
const ENI_MAX_PODS_BY_VCPU: Record<number, number> = { 2: 29, 4: 58, 8: 58, 16: 234, 32: 234, 48: 234, 64: 737 };

/**
 * What pods may request on a node, as docs/sizing.md "Nodes" states it: the memory the kubelet sees
 * is the nominal less Karpenter's 7.5% VM overhead; nodeadm reserves CPU (6% of the first core, 1% of
 * the second, 0.5% of the next two, 0.25% of the rest, in whole millicores) and memory (255 MiB +
 * 11 MiB × the ENI max pods + 100 MiB eviction); the DaemonSets request 0.38 vCPU and 278 MiB (VPC CNI
 * 0.05, kube-proxy 0.1, EBS CSI 0.03 and 120 MiB, node exporter 0.1 and 30 MiB as its chart suggests,
 * the log agent 0.1 and 128 MiB); 0.1 vCPU and 0.25 GiB are kept as margin.
 */
export function allocatableOf(cores: number, memoryGiB: number): Node {
  const milli = Math.floor(60 * Math.min(cores, 1)) + Math.floor(10 * clamp(cores - 1, 0, 1)) + Math.floor(5 * clamp(cores - 2, 0, 2)) + Math.floor(2.5 * Math.max(cores - 4, 0));
  const memoryReservedMiB = 255 + 11 * ENI_MAX_PODS_BY_VCPU[cores]! + 100;
  const capacityMiB = memoryGiB * 1024 * 0.925;
  return { vcpu: cores - milli / 1000 - 0.38 - 0.1, memoryGiB: (capacityMiB - memoryReservedMiB) / 1024 - 278 / 1024 - 0.25 };
}
const clamp = (n: number, lo: number, hi: number) => Math.min(Math.max(n, lo), hi);

const each = (owner: string, count: number, r: Resources, group?: string): Pod[] =>
  Array.from({ length: count }, () => ({ owner, vcpu: r.requests.vcpu, memoryGiB: r.requests.memoryGiB, ...(group ? { group } : {}) }));

/**
 * docs/hardware.md: Synapse's named processes, HAProxy, Redis with its Sentinels and master proxy,
 * and lk-jwt-service run at the essential PriorityClass; synchrotrons and generic workers do not.
 */
const isEssential = (owner: string) => !["synchrotron", "generic"].includes(owner);

/** docs/sizing.md: mid-rollout, one surging and one draining pod more of each autoscaled type. */
const ROLLOUT_EXTRA_PODS = 2;

/** The application pool's pods at base replicas, or at maximum autoscale mid-rollout. */
export function applicationPods(p: Plan, atMax = false): Pod[] {
  const pods: Pod[] = [];
  const atMaxOf = (w: Plan["synapse"]["workers"][keyof Plan["synapse"]["workers"]]) => w.maxReplicas + (w.autoscaled ? ROLLOUT_EXTRA_PODS : 0);
  // docs/synapse.md: a media worker's pod runs the scratch cleaner beside Synapse.
  const cleaner = p.synapse.scratch.cleanup.resources.requests;
  const podOf = (w: Plan["synapse"]["workers"][keyof Plan["synapse"]["workers"]]): Resources =>
    w.type === "mediaRepository" ? { requests: { vcpu: w.resources.requests.vcpu + cleaner.vcpu, memoryGiB: w.resources.requests.memoryGiB + cleaner.memoryGiB }, limits: w.resources.limits } : w.resources;
  for (const w of Object.values(p.synapse.workers)) pods.push(...each(w.type, atMax ? atMaxOf(w) : w.replicas, podOf(w)));
  pods.push(...each("haproxy", p.routing.haproxy.replicas, p.routing.haproxy.resources));
  for (const [name, r] of Object.entries(p.redis)) {
    const dataPod: Resources = {
      requests: { vcpu: r.resources.requests.vcpu + r.exporterResources.requests.vcpu, memoryGiB: r.resources.requests.memoryGiB + r.exporterResources.requests.memoryGiB },
      limits: r.resources.limits,
    };
    pods.push(...each(`redis-${name}`, r.instances, dataPod, `redis-${name}`), ...each(`sentinel-${name}`, r.sentinels, r.sentinelResources, `sentinel-${name}`));
    if (r.masterProxy) pods.push(...each(`proxy-${name}`, r.masterProxy.replicas, r.masterProxy.resources));
  }
  pods.push(...each("lk-jwt-service", p.livekit.jwtService.replicas, p.livekit.jwtService.resources));
  // docs/hardware.md: on AWS the Load Balancer Controller's pods run on the application pool too.
  const controller = p.routing.loadBalancerController;
  if (controller) pods.push(...each("aws-load-balancer-controller", controller.replicas + (atMax ? ROLLOUT_EXTRA_PODS : 0), controller.resources));
  // docs/data-tier.md: the CloudNativePG operator, two replicas at its chart's suggestion (requests 100m, 100Mi).
  const operator = { requests: { vcpu: 0.1, memoryGiB: 100 / 1024 }, limits: { vcpu: 0.1, memoryGiB: 200 / 1024 } };
  pods.push(...each("cloudnative-pg", 2 + (atMax ? ROLLOUT_EXTRA_PODS : 0), operator));
  // docs/data-tier.md: the Barman Cloud plugin, one replica at its chart's suggestion (100m, 100Mi),
  // recreated rather than rolled; cert-manager's controller, webhook and CA injector at 10m and 32Mi
  // each, rolled, and its API check Job after an upgrade.
  pods.push(...each("barman-cloud", 1, { requests: { vcpu: 0.1, memoryGiB: 100 / 1024 }, limits: { vcpu: 0.1, memoryGiB: 200 / 1024 } }));
  const certManager = { requests: { vcpu: 0.01, memoryGiB: 32 / 1024 }, limits: { vcpu: 0.1, memoryGiB: 128 / 1024 } };
  for (const name of ["controller", "webhook", "cainjector"]) pods.push(...each(`cert-manager-${name}`, 1 + (atMax ? ROLLOUT_EXTRA_PODS : 0), certManager));
  if (atMax) pods.push(...each("cert-manager-startupapicheck", 1, certManager));
  // docs/synapse.md: the daily remote-media sweep Job, 0.1 vCPU and 256 MiB, Guaranteed, counted at the peak.
  if (atMax) pods.push(...each("synapse-remote-media-sweep", 1, { requests: { vcpu: 0.1, memoryGiB: 0.25 }, limits: { vcpu: 0.1, memoryGiB: 0.25 } }));
  // docs/operations.md: the monitoring chart's admission-webhook certificate Job (10m, 20 MiB) runs here at an upgrade.
  if (atMax) pods.push(...each("admission-webhook-certificate", 1, { requests: { vcpu: 0.01, memoryGiB: 20 / 1024 }, limits: { vcpu: 0.1, memoryGiB: 64 / 1024 } }));
  if (atMax) {
    // docs/sizing.md: the shared Deployments roll one pod at a time too (one surging, one draining);
    // HAProxy's old pods may all be draining at once (one surging, every replica draining).
    pods.push(...each("haproxy", p.routing.haproxy.replicas + 1, p.routing.haproxy.resources), ...each("lk-jwt-service", ROLLOUT_EXTRA_PODS, p.livekit.jwtService.resources));
    for (const r of Object.values(p.redis)) if (r.masterProxy) pods.push(...each("proxy", ROLLOUT_EXTRA_PODS, r.masterProxy.resources));
  }
  return pods.map((x) => (isEssential(x.owner) ? { ...x, essential: true } : x));
}

/**
 * docs/sizing.md "Pools": the scheduler spreads pods, so after a loss each of the `nodes` left may
 * hold its even share of the other essential pods and one essential pod more; every essential pod
 * must still fit beside that (the others it preempts).
 */
export function essentialRoom(pods: Pod[], node: Node, nodes: number): boolean {
  const essential = pods.filter((x) => x.essential);
  const all = total(essential);
  for (const dim of ["vcpu", "memoryGiB"] as const) {
    const biggest = essential.reduce((m, x) => Math.max(m, x[dim]), 0);
    for (const x of essential) if ((all[dim] - x[dim]) / nodes + biggest + x[dim] > node[dim] + EPS) return false;
  }
  return true;
}

/**
 * docs/hardware.md: node groups spread a pool's nodes over 3 zones as evenly as they go, so the
 * largest zone holds ⌈n/3⌉ of them; when it goes, each Redis data pod whose volume is in it stays
 * behind (one per Redis service), and everything else needs room on the nodes left.
 */
export const ZONES = 3;
export const nodesLeftAfterZoneLoss = (nodes: number) => nodes - Math.ceil(nodes / ZONES);
export function podsAfterZoneLoss(pods: Pod[]): Pod[] {
  const behind = new Set<string>();
  return pods.filter((x) => {
    const volumeBound = x.group !== undefined && /^redis-/.test(x.group);
    if (!volumeBound || behind.has(x.group!)) return true;
    behind.add(x.group!);
    return false;
  });
}

const EPS = 1e-6;
export const total = (pods: Pod[]) => pods.reduce((acc, x) => ({ vcpu: acc.vcpu + x.vcpu, memoryGiB: acc.memoryGiB + x.memoryGiB }), { vcpu: 0, memoryGiB: 0 });

/** Sufficient: best fit (least memory left), spread members first, then largest vCPU. A packing proves the fit. */
export function packs(pods: Pod[], node: Node, nodes: number): boolean {
  const bins = Array.from({ length: nodes }, () => ({ vcpu: 0, memoryGiB: 0, groups: [] as string[] }));
  const order = [...pods].sort((a, b) => Number(!!b.group) - Number(!!a.group) || b.vcpu - a.vcpu || b.memoryGiB - a.memoryGiB);
  for (const pod of order) {
    const fits = bins.filter((b) => b.vcpu + pod.vcpu <= node.vcpu + EPS && b.memoryGiB + pod.memoryGiB <= node.memoryGiB + EPS && !(pod.group && b.groups.includes(pod.group)));
    if (fits.length === 0) return false;
    const target = fits.reduce((a, b) => (b.memoryGiB > a.memoryGiB ? b : a));
    target.vcpu += pod.vcpu;
    target.memoryGiB += pod.memoryGiB;
    if (pod.group) target.groups.push(pod.group);
  }
  return true;
}

/** Necessary: totals fit, each spread group has a node per member, pods above half a node cannot share one. */
export function mayFit(pods: Pod[], node: Node, nodes: number): boolean {
  const sum = total(pods);
  if (sum.vcpu > nodes * node.vcpu + EPS || sum.memoryGiB > nodes * node.memoryGiB + EPS) return false;
  const groups = new Map<string, number>();
  for (const pod of pods) if (pod.group) groups.set(pod.group, (groups.get(pod.group) ?? 0) + 1);
  if ([...groups.values()].some((n) => n > nodes)) return false;
  const big = pods.filter((x) => x.vcpu > node.vcpu / 2 + EPS || x.memoryGiB > node.memoryGiB / 2 + EPS).length;
  if (big > nodes) return false;
  return pods.every((x) => x.vcpu <= node.vcpu + EPS && x.memoryGiB <= node.memoryGiB + EPS);
}

/** Our verdict on N-1 for a rescheduling pool: true, false, or undefined when neither test decides. */
export function verdict(pods: Pod[], node: Node, nodes: number): boolean | undefined {
  if (packs(pods, node, nodes - 1)) return true;
  if (!mayFit(pods, node, nodes - 1)) return false;
  return undefined;
}


/**
 * The edge in front of Synapse: where TLS ends, who may reach the admin API, how large HAProxy's
 * DNS answers get, and how long a pod keeps serving after Kubernetes starts to stop it.
 * Pure: settings and the Synapse fleet in, numbers out.
 */
import { ROUTING } from "./additions";
import type { Settings } from "./settings";
import { WORKER_NAMES } from "./synapse";
import type { EdgePlan, SynapsePlan, WorkerPlan } from "./types";

/**
 * Bytes of a DNS response carrying `addresses` A records for one name (RFC 1035 4.1): the 12-byte
 * header, the question (the name in wire form, type, class), one answer per address (a 2-byte
 * pointer to the question's name, type, class, TTL, length, 4 address bytes) and the EDNS0 OPT
 * record HAProxy asks for (RFC 6891 6.1.2: 11 bytes with no options).
 */
export function dnsResponseBytes(name: string, addresses: number): number {
  const nameInWire = name.length + 2;
  return 12 + nameInWire + 4 + addresses * 16 + 11;
}

/** Ready pods a discovered type can have at once: its HPA maximum plus a rollout's surge. */
export function discoverySlots(worker: Pick<WorkerPlan, "maxReplicas" | "rolloutSurge">): number {
  return worker.maxReplicas + worker.rolloutSurge;
}

/**
 * HAProxy finds an autoscaled type's pods through a headless Service of ready pods only
 * (`<type>-routable`), so a stopping pod leaves the answer as soon as it stops being ready.
 */
export function routableServiceName(serviceName: string): string {
  return `${serviceName}-routable`;
}

/** The most addresses one discovered Service answers with: an autoscaled type at its maximum plus a rollout's surge. */
export function largestDiscoveredAnswer(synapse: SynapsePlan, namespace: string): { name: string; addresses: number } {
  const candidates = Object.values(synapse.workers)
    .filter((w) => w.autoscaled)
    .map((w) => ({ name: `${routableServiceName(WORKER_NAMES[w.type])}.${namespace}.svc.cluster.local`, addresses: discoverySlots(w) }));
  return candidates.reduce((a, b) => (dnsResponseBytes(b.name, b.addresses) > dnsResponseBytes(a.name, a.addresses) ? b : a));
}

/** DNS's smallest guaranteed UDP payload (RFC 1035 2.3.4), HAProxy's default. */
const MINIMUM_PAYLOAD = 512;

export function planEdge(settings: Pick<Settings, "target" | "edge" | "aws" | "kubernetes">, synapse: SynapsePlan): EdgePlan {
  const r = ROUTING;
  const largest = largestDiscoveredAnswer(synapse, settings.kubernetes.namespace);
  // Noticing a pod is gone: its address leaves the DNS answer (TTL, next resolution, hold), and
  // failing checks take it out if it still resolves. Summed: the worst case of either.
  const detectionSeconds = r.healthCheckFall * r.healthCheckIntervalSeconds + r.dns.recordTtlSeconds + r.dns.resolveSeconds + r.dns.holdSeconds;
  const preStopSeconds = detectionSeconds + r.drainMarginSeconds;
  const aws = settings.target === "aws";
  return {
    // Without a certificate (the offline plan only: the program requires one on AWS) TLS passes through to HAProxy.
    tls: aws && settings.aws.certificateArn ? { terminatesAt: "load-balancer", certificateArn: settings.aws.certificateArn } : { terminatesAt: "haproxy", secretName: settings.edge.tlsSecret },
    proxyProtocol: aws || settings.edge.proxyProtocol,
    adminCidrs: [...settings.edge.adminCidrs],
    healthCheck: { intervalSeconds: r.healthCheckIntervalSeconds, fall: r.healthCheckFall, rise: r.healthCheckRise, timeoutSeconds: r.probeTimeoutSeconds },
    dns: {
      resolveSeconds: r.dns.resolveSeconds,
      recordTtlSeconds: r.dns.recordTtlSeconds,
      holdSeconds: r.dns.holdSeconds,
      largestAnswer: largest,
      payloadBytes: Math.max(MINIMUM_PAYLOAD, dnsResponseBytes(largest.name, largest.addresses)),
      slots: Object.fromEntries(Object.values(synapse.workers).filter((w) => w.autoscaled).map((w) => [w.type, discoverySlots(w)])),
    },
    drain: { detectionSeconds, preStopSeconds, terminationGraceSeconds: preStopSeconds + r.shutdownSeconds },
    loadBalancer: {
      deregistrationSeconds: r.loadBalancerDeregistrationSeconds,
      haproxyPreStopSeconds: r.loadBalancerDeregistrationSeconds + r.drainMarginSeconds,
      // A long-polling /sync (the client timeout) may finish after the preStop.
      haproxyTerminationGraceSeconds: r.loadBalancerDeregistrationSeconds + r.drainMarginSeconds + r.timeouts.clientSeconds,
    },
    hstsMaxAgeSeconds: r.hstsMaxAgeSeconds,
  };
}

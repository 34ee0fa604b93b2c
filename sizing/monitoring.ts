/**
 * The monitoring plan: volumes, retention, alert thresholds, and what each monitoring process
 * requests on the monitoring node (pure).
 */
import { ADMISSION_WEBHOOK_JOB, MONITORING, MONITORING_PROCESSES, PLAN_UPGRADE_AT, URGENT_UPGRADE_AT } from "./additions";
import { PlanError } from "./errors";
import { LOG_AGENT, NODE_EXPORTER } from "./node-model";
import { sumDemand, type Capacity } from "./packing";
import { floorTo, guaranteed, resourcesOf } from "./resources";
import { TIER_TABLES } from "./tiers";
import type { Plan, Resources } from "./types";

type MonitoringResources = Plan["monitoring"]["resources"];

/**
 * Grafana, its sidecars, Alertmanager, the Prometheus operator, kube-state-metrics and the config
 * reloaders at their published sizes; Prometheus and Loki share what the monitoring node leaves
 * allocatable after them and after a rolling update's extra pod (Guaranteed, so neither takes the
 * other's memory). Node exporter and the log agent are DaemonSets, counted on every node by the node model.
 */
export function monitoringResources(nodeAllocatable: Capacity): MonitoringResources {
  const p = MONITORING_PROCESSES;
  const fixed = {
    grafana: resourcesOf(p.grafana),
    sidecar: resourcesOf(p.sidecar),
    alertmanager: resourcesOf(p.alertmanager),
    prometheusOperator: resourcesOf(p.prometheusOperator),
    kubeStateMetrics: resourcesOf(p.kubeStateMetrics),
    configReloader: resourcesOf(p.configReloader),
    nodeExporter: resourcesOf(NODE_EXPORTER),
    logAgent: resourcesOf(LOG_AGENT),
  };
  const none = guaranteed({ vcpu: 0, memoryGiB: 0 });
  const taken = sumDemand(monitoringPods({ ...fixed, prometheus: none, loki: none }).max.map((pod) => pod.requests));
  const left = { vcpu: nodeAllocatable.vcpu - taken.vcpu, memoryGiB: nodeAllocatable.memoryGiB - taken.memoryGiB };
  const share = (process: keyof typeof MONITORING.least, s: number) => {
    const size = { vcpu: floorTo(left.vcpu * s, 0.1), memoryGiB: floorTo(left.memoryGiB * s, 0.25) };
    const least = MONITORING.least[process];
    if (size.vcpu < least.vcpu || size.memoryGiB < least.memoryGiB)
      throw new PlanError(
        "monitoring node too small",
        "ccu",
        `the monitoring node (${nodeAllocatable.vcpu} vCPU, ${nodeAllocatable.memoryGiB} GiB allocatable) leaves ${process} ${size.vcpu} vCPU and ${size.memoryGiB} GiB after the other monitoring processes, below its least ${least.vcpu} vCPU and ${least.memoryGiB} GiB`,
        "give this tier's monitoring server a larger instance type (sizing/tiers.ts)",
      );
    return guaranteed(size);
  };
  return { prometheus: share("prometheus", MONITORING.prometheusComputeShare), loki: share("loki", 1 - MONITORING.prometheusComputeShare), ...fixed };
}

/**
 * Prometheus and Loki volumes come from StatefulSet templates, which cannot change: they are sized
 * for the largest tier's monitoring disk from day one; retention follows this tier's disk.
 */
export function planMonitoring(tierCcu: number, storageGB: number, maxConnections: number, nodeAllocatable: Capacity, sweepDeadlineSeconds: number): Plan["monitoring"] {
  const m = MONITORING;
  const largest = Math.max(...Object.values(TIER_TABLES).map((t) => t.servers.monitoring.storageGB));
  return {
    prometheusStorageGB: Math.floor(largest * m.prometheusShare),
    prometheusRetentionGB: Math.floor(storageGB * m.prometheusShare * m.retentionSizeShare),
    lokiStorageGB: Math.floor(largest * m.lokiShare),
    pool: "monitoring",
    resources: monitoringResources(nodeAllocatable),
    logAgent: { memoryLimiter: { ...m.logAgentMemoryLimiter }, queueLines: m.logAgentQueueLines },
    admissionWebhookJob: { resources: resourcesOf(ADMISSION_WEBHOOK_JOB), pool: "application" },
    thresholds: {
      ccuPlanUpgrade: Math.round(tierCcu * PLAN_UPGRADE_AT),
      ccuUrgent: Math.round(tierCcu * URGENT_UPGRADE_AT),
      cpuSustained: m.cpuSustained,
      memorySustained: m.memorySustained,
      dbConnections: Math.floor(maxConnections * m.dbConnectionsShare),
      eventSendP99Seconds: m.eventSendP99Seconds,
      callFailureWarn: m.callFailureWarn,
      callFailureCritical: m.callFailureCritical,
      minioRunwayMonths: m.poolLeadTimeMonths,
      replicationLagSeconds: m.replicationLagSeconds,
      remoteMediaSweepStaleSeconds: m.remoteMediaSweepMissedRuns * 86_400 + sweepDeadlineSeconds,
      podOnLostNodeSeconds: m.podOnLostNodeSeconds,
      logShippingFailingSeconds: m.logShippingFailingSeconds,
    },
  };
}

type MonitoringPod = { owner: string; requests: Capacity };

/**
 * The monitoring pool's pods as the scheduler counts them: each pod's containers summed (the config
 * reloader in Prometheus's and Alertmanager's, two sidecars in Grafana's, one in Loki's); at the
 * peak, the extra pod a rolling update of the operator or kube-state-metrics adds. Grafana's
 * Deployment is recreated instead (its 1-core pod has no room beside the old one); Prometheus,
 * Alertmanager and Loki are StatefulSets, which replace a pod without an extra one.
 */
export function monitoringPods(r: MonitoringResources): { base: MonitoringPod[]; max: MonitoringPod[] } {
  const pod = (owner: string, ...containers: Resources[]): MonitoringPod => ({ owner, requests: sumDemand(containers.map((c) => c.requests)) });
  const operator = pod("prometheus-operator", r.prometheusOperator);
  const stateMetrics = pod("kube-state-metrics", r.kubeStateMetrics);
  const base = [
    pod("prometheus", r.prometheus, r.configReloader),
    pod("alertmanager", r.alertmanager, r.configReloader),
    pod("loki", r.loki, r.sidecar),
    pod("grafana", r.grafana, r.sidecar, r.sidecar),
    operator,
    stateMetrics,
  ];
  return { base, max: [...base, operator, stateMetrics] };
}

/**
 * Alert rules (pure): every threshold comes from the plan (tier capacity, max_connections) or from
 * the seed's operating thresholds carried in the plan (8.2, 11.4). Prometheus rule-file format; the
 * component wraps it in a PrometheusRule.
 */
import type { Plan } from "../../sizing/types";
import { MONITORING_NAMESPACE } from "../naming";
import { LOG_AGENT_NAME } from "./log-agent";
import { REMOTE_MEDIA_SWEEP_NAME } from "../synapse/remote-media";

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: "warning" | "critical" };
  annotations: { summary: string; action: string };
}

const SECONDS_PER_MONTH = 30 * 86_400;

export function alertRules(plan: Pick<Plan, "tier" | "tierCcu" | "monitoring" | "postgres">, namespace: string): { groups: { name: string; rules: AlertRule[] }[] } {
  const t = plan.monitoring.thresholds;
  const ns = `namespace="${namespace}"`;
  const agent = `namespace="${MONITORING_NAMESPACE}",exporter="otlp_http"`;
  // Containers near their limits: the deployment's and the monitoring's own (Prometheus and Loki fill their node).
  const watched = `namespace=~"${namespace}|${MONITORING_NAMESPACE}"`;
  const syncs = `sum(synapse_http_server_in_flight_requests_count{servlet="SyncRestServlet"})`;
  const joins = (state: string) => `sum(increase(livekit_participant_join_total{state="${state}"}[15m]))`;
  const callFailure = `(${joins("rtc_init")} - ${joins("rtc_connected")}) / ${joins("rtc_init")}`;
  const rule = (alert: string, expr: string, forDuration: string, severity: "warning" | "critical", summary: string, action: string): AlertRule => ({
    alert,
    expr,
    for: forDuration,
    labels: { severity },
    annotations: { summary, action },
  });
  return {
    groups: [
      {
        name: "matrix-scale.capacity",
        rules: [
          rule("MatrixScaleUsersAbovePlanThreshold", `${syncs} > ${t.ccuPlanUpgrade}`, "30m", "warning", `More than ${t.ccuPlanUpgrade} connected clients (70% of the ${plan.tier} tier's ${plan.tierCcu})`, "Plan the move to the next tier"),
          rule("MatrixScaleUsersAboveUrgentThreshold", `${syncs} > ${t.ccuUrgent}`, "10m", "critical", `More than ${t.ccuUrgent} connected clients (90% of the ${plan.tier} tier's ${plan.tierCcu})`, "Move to the next tier now"),
          rule(
            "MatrixScaleCpuSustained",
            `sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{${watched},container!=""}[5m])) / sum by (namespace, pod, container) (kube_pod_container_resource_limits{${watched},resource="cpu"}) > ${t.cpuSustained}`,
            "15m",
            "warning",
            `A container has used more than ${t.cpuSustained * 100}% of its CPU for 15 minutes`,
            "Add workers or move to larger nodes",
          ),
          rule(
            "MatrixScaleMemorySustained",
            `sum by (namespace, pod, container) (container_memory_working_set_bytes{${watched},container!=""}) / sum by (namespace, pod, container) (kube_pod_container_resource_limits{${watched},resource="memory"}) > ${t.memorySustained}`,
            "15m",
            "warning",
            `A container has used more than ${t.memorySustained * 100}% of its memory for 15 minutes`,
            "Give the process more memory (node RAM)",
          ),
          rule(
            "MatrixScaleDatabaseConnections",
            // max_connections is a per-instance limit: compare each instance's backends (the
            // PodMonitor's `pod` label), not the sum over the primary and its standbys.
            `max(sum by (pod) (cnpg_backends_total{${ns}})) > ${t.dbConnections}`,
            "10m",
            "warning",
            `More than ${t.dbConnections} database connections (70% of max_connections ${plan.postgres.maxConnections})`,
            "Add workers' pool headroom or scale the database",
          ),
          rule(
            "MatrixScaleMediaRunway",
            `predict_linear(minio_cluster_capacity_usable_free_bytes[7d], ${t.minioRunwayMonths * SECONDS_PER_MONTH}) < 0`,
            "1h",
            "warning",
            `Media storage runs out within ${t.minioRunwayMonths} months, the time it takes to add a MinIO pool`,
            "Append a MinIO pool (overrides.minio.pools)",
          ),
        ],
      },
      {
        name: "matrix-scale.service",
        rules: [
          rule(
            "MatrixScaleEventSendLatency",
            `histogram_quantile(0.99, sum by (le) (rate(synapse_http_server_response_time_seconds_bucket{servlet="RoomSendEventRestServlet"}[5m]))) > ${t.eventSendP99Seconds}`,
            "10m",
            "warning",
            `p99 event send latency above ${t.eventSendP99Seconds * 1000} ms`,
            "Add sync and event workers",
          ),
          rule("MatrixScaleCallFailures", `${callFailure} > ${t.callFailureWarn}`, "15m", "warning", `More than ${t.callFailureWarn * 100}% of call joins fail`, "Check LiveKit and coturn; add call hosts"),
          rule("MatrixScaleCallFailuresCritical", `${callFailure} > ${t.callFailureCritical}`, "10m", "critical", `More than ${t.callFailureCritical * 100}% of call joins fail`, "Add LiveKit and coturn hosts now"),
          rule(
            "MatrixScaleWalArchivingFailing",
            // PostgreSQL retries a failed archive_command about once a minute; its failures counted by
            // CloudNativePG's default pg_stat_archiver query. Until archiving resumes WAL stays in pg_wal.
            `sum(increase(cnpg_pg_stat_archiver_failed_count{${ns}}[5m])) > 0`,
            "15m",
            "critical",
            "PostgreSQL has failed to archive WAL to the backup store for 15 minutes",
            "Check the Barman Cloud sidecar's log and the ObjectStore's endpoint and credentials: WAL accumulates on the database volume until it resumes",
          ),
          rule(
            "MatrixScaleRemoteMediaSweepStale",
            // kube-state-metrics' CronJob metrics; a CronJob that never succeeded counts from its creation.
            `time() - max(kube_cronjob_status_last_successful_time{${ns},cronjob="${REMOTE_MEDIA_SWEEP_NAME}"} or kube_cronjob_created{${ns},cronjob="${REMOTE_MEDIA_SWEEP_NAME}"}) > ${t.remoteMediaSweepStaleSeconds}`,
            "30m",
            "warning",
            `The remote-media sweep has not succeeded for ${t.remoteMediaSweepStaleSeconds / 3600} hours`,
            "Read the last sweep Job's log (a refusal names its cause): other servers' media accumulate in the bucket until it runs",
          ),
          rule(
            "MatrixScalePodOnLostNode",
            // kube-state-metrics: a pod on a node whose Ready condition is not true (False or Unknown).
            // A Deployment's or a Job's is replaced by its controller; a StatefulSet's or the database's
            // stays until the node is gone or out of service. `max by` folds the series of two
            // kube-state-metrics replicas (or one rolling over) into one per pod.
            `max by (namespace, pod, node) (kube_pod_info{${ns},created_by_kind!~"ReplicaSet|Job"}) and on (node) kube_node_status_condition{condition="Ready",status="true"} == 0`,
            `${Math.ceil(t.podOnLostNodeSeconds / 60)}m`,
            "critical",
            `A pod has been on a node that is not ready for ${t.podOnLostNodeSeconds / 60} minutes: it is not replaced until the node is out of service`,
            "If the node is down, taint it: kubectl taint node NODE node.kubernetes.io/out-of-service=nodeshutdown:NoExecute (docs/hardware.md); remove the taint once it is back",
          ),
          rule(
            "MatrixScaleLogsNotShipped",
            // The log agent's queue for Loki holds batches and none was sent for 5 minutes: Loki is down or
            // unreachable. The agent keeps the batches on the node and retries; a full queue stops its reading,
            // and the kubelet rotates the files meanwhile. A busy agent that sends has batches queued too.
            `max by (pod) (otelcol_exporter_queue_size{${agent}}) > 0 unless max by (pod) (rate(otelcol_exporter_sent_log_records{${agent}}[5m])) > 0`,
            `${t.logShippingFailingSeconds / 60}m`,
            "warning",
            `A log agent has sent nothing to Loki for ${t.logShippingFailingSeconds / 60} minutes while lines wait`,
            "Check Loki's pod, volume and log; the agent sends the waiting batches once Loki takes them (docs/operations.md)",
          ),
          rule(
            "MatrixScaleLogsRefused",
            // Loki answered what the exporter does not retry (anything but 429, 502, 503, 504: a limit, a line
            // too long or too old, a 500): those lines are dropped. A send cut short by the agent's own stop
            // counts too, though its lines stay queued.
            `sum by (pod) (increase(otelcol_exporter_send_failed_log_records{${agent}}[15m])) > 0`,
            // Fires a minute after a refusal and stays for the window's 15 minutes.
            "1m",
            "warning",
            "Loki refused log lines with an answer that is not retried: they are likely lost",
            "Read the log agent's log for Loki's reason (a limit in Loki's limits_config, or lines older than it accepts)",
          ),
          rule(
            "MatrixScaleLogAgentUnavailable",
            // A node without a running log agent: its pods' lines are read once an agent runs again, unless rotated away first.
            `max(kube_daemonset_status_number_unavailable{namespace="${MONITORING_NAMESPACE}",daemonset="${LOG_AGENT_NAME}"}) > 0`,
            `${t.logShippingFailingSeconds / 60}m`,
            "warning",
            `A node has had no running log agent for ${t.logShippingFailingSeconds / 60} minutes`,
            "kubectl -n monitoring get pods -l app.kubernetes.io/name=log-agent -o wide: read the failing pod's events and log",
          ),
          rule("MatrixScaleDatabaseReplicationLag", `max(cnpg_pg_replication_lag{${ns}}) > ${t.replicationLagSeconds}`, "5m", "critical", `A PostgreSQL standby lags more than ${t.replicationLagSeconds} s`, "Check the standby's node and disk"),
        ],
      },
    ],
  };
}

/**
 * promtool `test rules` cases for every alert rule: input series whose value is just above the
 * expected threshold (the alert fires once its `for:` has elapsed, not before) and just below it
 * (silent), plus series the rule must ignore (other namespaces, other servlets, the pod-level
 * cgroup, other resources). Thresholds come from test/fixtures/alert-thresholds.ts (the seed),
 * never from the plan.
 */
import type { ExpectedThresholds } from "../../fixtures/alert-thresholds";

/** Relative distance from a continuous threshold: above = T × 1.01, below = T × 0.99. */
export const EPS = 0.01;

export interface Series {
  series: string;
  values: string;
}

export interface AlertCase {
  severity: "warning" | "critical";
  /** Series whose value is just above the threshold. */
  above: (minutes: number, evalMinute: number) => Series[];
  /** Series whose value is just below it (integers: at it; the comparison is strict). */
  below: (minutes: number, evalMinute: number) => Series[];
  /** Labels the firing alert carries besides `severity` (what the aggregation keeps). */
  labels: Record<string, string>;
  /** What the summary must say, from the independent thresholds. */
  summaryMentions: string[];
  /** The threshold as a human reads it, for the report. */
  threshold: string;
}

const sel = (metric: string, labels: Record<string, string>) => `${metric}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(",")}}`;
/** A constant gauge for `minutes` + 1 samples one minute apart. */
const gauge = (series: string, value: number, minutes: number): Series => ({ series, values: `${num(value)}x${minutes}` });
/** A counter from 0 growing by `perMinute` each minute. */
const counter = (series: string, perMinute: number, minutes: number): Series => ({ series, values: `0+${num(perMinute)}x${minutes}` });
/** A gauge from `start` changing by `perMinute` each minute. */
const linear = (series: string, start: number, perMinute: number, minutes: number): Series => ({ series, values: `${num(start)}${perMinute < 0 ? "-" : "+"}${num(Math.abs(perMinute))}x${minutes}` });
const num = (n: number) => {
  if (!Number.isFinite(n)) throw new Error(`not a finite number: ${n}`);
  return String(n);
};

const NS = "matrix";
const OTHER_NS = "elsewhere";

/** Synapse's response-time buckets (the `le` values real Synapse 1.163 emits; checked in the metrics test). */
export const SYNAPSE_RESPONSE_TIME_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];

/**
 * Cumulative bucket counts (per `requests` observations) whose p99, by histogram_quantile's
 * linear interpolation, is `q`: a share `a` of the requests at or below the bucket's lower bound,
 * the rest inside it, with lo + (hi − lo)(0.99 − a)/(1 − a) = q.
 */
export function bucketsWithP99(q: number, requests: number): Map<string, number> {
  const bounds = SYNAPSE_RESPONSE_TIME_BUCKETS;
  const i = bounds.findIndex((b) => b >= q);
  if (i <= 0) throw new Error(`p99 ${q} is not inside one of Synapse's buckets`);
  const [lo, hi] = [bounds[i - 1]!, bounds[i]!];
  const f = (q - lo) / (hi - lo);
  const a = (0.99 - f) / (1 - f);
  if (!(a >= 0 && a < 0.99)) throw new Error(`no bucket shape gives p99 ${q}`);
  const out = new Map<string, number>();
  for (const b of bounds) out.set(String(b), b < lo ? 0 : b === lo ? a * requests : requests);
  out.set("+Inf", requests);
  return out;
}

/** The p99 histogram_quantile computes from cumulative buckets (to check bucketsWithP99). */
export function p99Of(buckets: Map<string, number>): number {
  const entries = [...buckets].map(([le, n]) => [le === "+Inf" ? Infinity : Number(le), n] as const).sort((x, y) => x[0] - y[0]);
  const rank = 0.99 * entries.at(-1)![1];
  let [prevLe, prevN] = [0, 0];
  for (const [le, n] of entries) {
    if (n >= rank) return prevLe + (le - prevLe) * ((rank - prevN) / (n - prevN));
    [prevLe, prevN] = [le, n];
  }
  return NaN;
}

export function alertCases(t: ExpectedThresholds): Record<string, AlertCase> {
  // --- connected clients: in-flight /sync long-polls over two synchrotrons; other servlets ignored
  const syncSeries = (pod: string, servlet = "SyncRestServlet") =>
    sel("synapse_http_server_in_flight_requests_count", { namespace: NS, pod, job: "synapse", method: "GET", servlet, server_name: "matrix.test" });
  const syncs = (total: number) => (minutes: number) => [
    gauge(syncSeries("synapse-synchrotron-0"), Math.ceil(total / 2), minutes),
    gauge(syncSeries("synapse-synchrotron-1"), Math.floor(total / 2), minutes),
    gauge(syncSeries("synapse-generic-0", "RoomMessageListRestServlet"), 10 * t.tierCcu, minutes),
  ];

  // --- container CPU and memory against the container's limit (cAdvisor / kube-state-metrics)
  const pod = "synapse-synchrotron-0";
  const container = "synapse";
  const limits = (resource: "cpu" | "memory", unit: string, value: number, labels = { namespace: NS, pod, container }) => ({
    series: sel("kube_pod_container_resource_limits", { ...labels, node: "app-1", resource, unit, uid: `uid-${labels.pod}` }),
    value,
  });
  const cadvisor = (metric: string, labels: Record<string, string>) => sel(metric, { ...labels, id: `/kubepods/${labels.pod}/${labels.container}`, image: "synapse:test", name: "c1" });
  const cpu = (share: number) => (minutes: number) => {
    const cores = t.syncWorker.vcpu;
    const other = { namespace: OTHER_NS, pod: "busy-0", container: "busy" };
    return [
      counter(cadvisor("container_cpu_usage_seconds_total", { namespace: NS, pod, container, cpu: "total" }), cores * share * 60, minutes),
      // the pod-level cgroup (container="") and another namespace are ignored
      counter(cadvisor("container_cpu_usage_seconds_total", { namespace: NS, pod, container: "", cpu: "total" }), cores * 10 * 60, minutes),
      counter(cadvisor("container_cpu_usage_seconds_total", { ...other, cpu: "total" }), cores * 60, minutes),
      ...[limits("cpu", "core", cores), limits("memory", "byte", t.syncWorker.memoryBytes), limits("cpu", "core", cores / 10, other)].map((l) => gauge(l.series, l.value, minutes)),
    ];
  };
  const memory = (share: number) => (minutes: number) => {
    const bytes = t.syncWorker.memoryBytes;
    const other = { namespace: OTHER_NS, pod: "busy-0", container: "busy" };
    return [
      gauge(cadvisor("container_memory_working_set_bytes", { namespace: NS, pod, container }), Math.round(bytes * share), minutes),
      gauge(cadvisor("container_memory_working_set_bytes", { namespace: NS, pod, container: "" }), bytes * 10, minutes),
      gauge(cadvisor("container_memory_working_set_bytes", other), bytes, minutes),
      ...[limits("memory", "byte", bytes), limits("cpu", "core", t.syncWorker.vcpu), limits("memory", "byte", bytes / 10, other)].map((l) => gauge(l.series, l.value, minutes)),
    ];
  };

  // --- PostgreSQL backends (CloudNativePG `backends` query) per instance against max_connections
  const backends = (podName: string, state: string, ns = NS) =>
    sel("cnpg_backends_total", { namespace: ns, pod: podName, datname: "synapse", usename: "synapse", application_name: "", state });
  const connections = (primary: number) => (minutes: number) => [
    gauge(backends("postgres-1", "active"), Math.floor(primary / 3), minutes),
    gauge(backends("postgres-1", "idle"), primary - Math.floor(primary / 3), minutes),
    // standbys: the exporter's own connections; another namespace's database
    gauge(backends("postgres-2", "idle"), 3, minutes),
    gauge(backends("postgres-3", "idle"), 3, minutes),
    gauge(backends("other-1", "idle", OTHER_NS), 10 * t.maxConnections, minutes),
  ];

  // --- media runway: free space at the 7-day trend must last the pool lead time
  const minioLabels = { namespace: NS, job: "minio", service: "minio", instance: "10.0.0.1:9000", server: "minio-0-0.minio:9000" };
  /** Free space that is `t.mediaUsableBytes` at `evalMinute`, falling `drain` bytes per second. */
  const freeSpace = (drainShare: number) => (minutes: number, evalMinute: number) => {
    const drain = (t.mediaUsableBytes / t.mediaRunwaySeconds) * drainShare;
    return [linear(sel("minio_cluster_capacity_usable_free_bytes", minioLabels), t.mediaUsableBytes + drain * 60 * evalMinute, -drain * 60, minutes)];
  };

  // --- p99 of event sends (RoomSendEventRestServlet) over two processes; slow /sync long-polls ignored
  const latency = (q: number) => (minutes: number) => {
    const perMinute = 1000;
    const buckets = bucketsWithP99(q, perMinute);
    const out: Series[] = [];
    for (const p of ["synapse-generic-0", "synapse-generic-1"]) {
      for (const [le, n] of buckets) out.push(counter(sel("synapse_http_server_response_time_seconds_bucket", { namespace: NS, pod: p, method: "PUT", servlet: "RoomSendEventRestServlet", tag: "", code: "200", le }), n / 2, minutes));
      for (const [le] of buckets) out.push(counter(sel("synapse_http_server_response_time_seconds_bucket", { namespace: NS, pod: p, method: "GET", servlet: "SyncRestServlet", tag: "", code: "200", le }), le === "+Inf" || Number(le) >= 10 ? 100 : 0, minutes));
    }
    return out;
  };

  // --- call joins: rtc_init that never reach rtc_connected, over two LiveKit nodes
  const joins = (failure: number) => (minutes: number) => {
    const perMinute = 1000;
    const out: Series[] = [];
    for (const node of ["ND_a", "ND_b"]) {
      const join = (state: string) => sel("livekit_participant_join_total", { namespace: `${NS}-calls`, pod: `livekit-${node}`, node_id: node, node_type: "SERVER", state });
      out.push(counter(join("signal_connected"), (perMinute / 2) * 1.1, minutes));
      out.push(counter(join("rtc_init"), perMinute / 2, minutes));
      out.push(counter(join("rtc_connected"), (perMinute / 2) * (1 - failure), minutes));
    }
    return out;
  };

  // --- replication lag: the primary reports 0, standbys their replay delay
  const lagSeries = (podName: string, ns = NS) => sel("cnpg_pg_replication_lag", { namespace: ns, pod: podName });
  const lag = (seconds: number) => (minutes: number) => [
    gauge(lagSeries("postgres-1"), 0, minutes),
    gauge(lagSeries("postgres-2"), seconds, minutes),
    gauge(lagSeries("postgres-3"), 1, minutes),
    gauge(lagSeries("other-2", OTHER_NS), 100 * t.replicationLagSeconds, minutes),
  ];

  // --- WAL archiving: the primary's failed attempts (PostgreSQL retries about once a minute); a standby reports none
  const archiveFailures = (ns = NS, podName = "postgres-1") => sel("cnpg_pg_stat_archiver_failed_count", { namespace: ns, pod: podName });
  const archiving = (failuresPerMinute: number) => (minutes: number) => [
    counter(archiveFailures(), failuresPerMinute, minutes),
    gauge(archiveFailures(NS, "postgres-2"), 0, minutes),
    counter(archiveFailures(OTHER_NS, "other-1"), 5, minutes),
  ];

  // --- the remote-media sweep's last success (kube-state-metrics, seconds since the epoch), another CronJob ignored;
  // promtool's clock starts at 0, so "stale by s at the evaluation" is a last success at evalMinute × 60 − s.
  const cronjob = (name: string, ns = NS) => sel("kube_cronjob_status_last_successful_time", { namespace: ns, cronjob: name });
  const sweepStale = (share: number) => (minutes: number, evalMinute: number) => [
    gauge(cronjob("synapse-remote-media-sweep"), evalMinute * 60 - t.remoteMediaSweepStaleSeconds * share, minutes),
    gauge(cronjob("other-job"), -10 * t.remoteMediaSweepStaleSeconds, minutes),
    gauge(cronjob("synapse-remote-media-sweep", OTHER_NS), -10 * t.remoteMediaSweepStaleSeconds, minutes),
  ];

  // --- a pod on a lost node (kube-state-metrics): the pod's node (kube_pod_info, twice: two kube-state-metrics
  // replicas) and the node's Ready condition. On a node that is not ready it fires once the rule's for: (the
  // threshold) has elapsed, being deleted or not (the node controller may never evict); on a ready node it is
  // silent. Always ignored: a Deployment's and a Job's pods (replaced by their controllers) and another namespace's,
  // on the lost node.
  const podInfo = (podName: string, node: string, kind: string, instance: string, ns = NS) =>
    sel("kube_pod_info", { namespace: ns, pod: podName, node, created_by_kind: kind, created_by_name: podName.replace(/-[^-]+$/, ""), uid: `uid-${podName}`, instance });
  const readiness = (node: string, ready: "true" | "unknown", minutes: number) => ["true", "false", "unknown"].map((status) => gauge(sel("kube_node_status_condition", { node, condition: "Ready", status }), status === ready ? 1 : 0, minutes));
  const onLostNode = (nodeOfPod: "lost" | "up") => (minutes: number) => [
    ...readiness("lost", "unknown", minutes),
    ...readiness("up", "true", minutes),
    ...["ksm-0", "ksm-1"].map((instance) => gauge(podInfo("synapse-main-0", nodeOfPod, "StatefulSet", instance), 1, minutes)),
    gauge(sel("kube_pod_deletion_timestamp", { namespace: NS, pod: "synapse-main-0", uid: "uid-synapse-main-0" }), 0, minutes),
    gauge(podInfo("synapse-generic-worker-7d9f-x2k4q", "lost", "ReplicaSet", "ksm-0"), 1, minutes),
    gauge(podInfo("synapse-restart-8x2kq", "lost", "Job", "ksm-0"), 1, minutes),
    gauge(podInfo("other-0", "lost", "StatefulSet", "ksm-0", OTHER_NS), 1, minutes),
  ];

  // --- the log agent (the collector's own metrics, scraped in the monitoring namespace). Not shipped: batches in
  // the queue and nothing sent fires; batches in the queue of an agent that sends (busy, healthy) is silent.
  // Refused: any batch Loki refused for good fires at once, none is silent. Always ignored: another exporter's
  // and another namespace's collector.
  const agentSel = (metric: string, pod: string, exporter = "otlp_http", ns = "monitoring") => sel(metric, { namespace: ns, pod, exporter, data_type: "logs" });
  const ignoredAgents = (metric: string, minutes: number, series: (s: string, m: number) => Series) => [series(agentSel(metric, "log-agent-x2k4q", "debug"), minutes), series(agentSel(metric, "collector-0", "otlp_http", OTHER_NS), minutes)];
  const logsWaiting = (sentPerMinute: number) => (minutes: number) => [
    gauge(agentSel("otelcol_exporter_queue_size", "log-agent-x2k4q"), 3, minutes),
    counter(sel("otelcol_exporter_sent_log_records", { namespace: "monitoring", pod: "log-agent-x2k4q", exporter: "otlp_http" }), sentPerMinute, minutes),
    ...ignoredAgents("otelcol_exporter_queue_size", minutes, (s, m) => gauge(s, 7, m)),
  ];
  const logsRefused = (perMinute: number) => (minutes: number) => [
    counter(sel("otelcol_exporter_send_failed_log_records", { namespace: "monitoring", pod: "log-agent-x2k4q", exporter: "otlp_http" }), perMinute, minutes),
    ...ignoredAgents("otelcol_exporter_send_failed_log_records", minutes, (s, m) => counter(s, 50, m)),
  ];
  const agentsUnavailable = (n: number) => (minutes: number) => [
    gauge(sel("kube_daemonset_status_number_unavailable", { namespace: "monitoring", daemonset: "log-agent" }), n, minutes),
    gauge(sel("kube_daemonset_status_number_unavailable", { namespace: "monitoring", daemonset: "prometheus-node-exporter" }), 2, minutes),
  ];

  const pct = (share: number) => `${Math.round(share * 1000) / 10}%`;
  return {
    MatrixScaleUsersAbovePlanThreshold: {
      severity: "warning",
      above: syncs(t.ccuPlan + 1),
      below: syncs(t.ccuPlan),
      labels: {},
      summaryMentions: [`${t.ccuPlan} connected clients`, "70%", `${t.tierCcu}`],
      threshold: `> ${t.ccuPlan} in-flight /sync (70% of ${t.tierCcu}; seed 8.2)`,
    },
    MatrixScaleUsersAboveUrgentThreshold: {
      severity: "critical",
      above: syncs(t.ccuUrgent + 1),
      below: syncs(t.ccuUrgent),
      labels: {},
      summaryMentions: [`${t.ccuUrgent} connected clients`, "90%", `${t.tierCcu}`],
      threshold: `> ${t.ccuUrgent} in-flight /sync (90% of ${t.tierCcu}; seed 8.2)`,
    },
    MatrixScaleCpuSustained: {
      severity: "warning",
      above: cpu(t.cpuShare * (1 + EPS)),
      below: cpu(t.cpuShare * (1 - EPS)),
      labels: { namespace: NS, pod, container },
      summaryMentions: [pct(t.cpuShare)],
      threshold: `> ${pct(t.cpuShare)} of the CPU limit (tested on a ${t.syncWorker.vcpu}-vCPU synchrotron; seed 8.2)`,
    },
    MatrixScaleMemorySustained: {
      severity: "warning",
      above: memory(t.memoryShare * (1 + EPS)),
      below: memory(t.memoryShare * (1 - EPS)),
      labels: { namespace: NS, pod, container },
      summaryMentions: [pct(t.memoryShare)],
      threshold: `> ${pct(t.memoryShare)} of the memory limit (tested on a ${t.syncWorker.memoryBytes / 1e9} GB synchrotron; seed 8.2)`,
    },
    MatrixScaleDatabaseConnections: {
      severity: "warning",
      above: connections(t.dbConnections + 1),
      below: connections(t.dbConnections),
      labels: {},
      summaryMentions: [`${t.dbConnections} database connections`, "70%", `${t.maxConnections}`],
      threshold: `> ${t.dbConnections} backends on one instance (70% of max_connections ${t.maxConnections}: seed 8.2; ${t.maxConnectionsSource})`,
    },
    MatrixScaleMediaRunway: {
      severity: "warning",
      above: freeSpace(1 + EPS),
      below: freeSpace(1 - EPS),
      labels: minioLabels,
      summaryMentions: [`${t.mediaRunwaySeconds / (30 * 86_400)} months`],
      threshold: `free space gone within ${t.mediaRunwaySeconds / 86_400} days: with ${t.mediaUsableBytes / 1e12} TB free, a drain above ${Math.round(t.mediaUsableBytes / t.mediaRunwaySeconds)} B/s (docs/operations.md; seed MinIO usable)`,
    },
    MatrixScaleEventSendLatency: {
      severity: "warning",
      above: latency(t.eventSendP99Seconds * (1 + EPS)),
      below: latency(t.eventSendP99Seconds * (1 - EPS)),
      labels: {},
      summaryMentions: [`${t.eventSendP99Seconds * 1000} ms`],
      threshold: `p99 > ${t.eventSendP99Seconds * 1000} ms (seed 8.2)`,
    },
    MatrixScaleCallFailures: {
      severity: "warning",
      above: joins(t.callFailureWarn * (1 + EPS)),
      below: joins(t.callFailureWarn * (1 - EPS)),
      labels: {},
      summaryMentions: [pct(t.callFailureWarn)],
      threshold: `> ${pct(t.callFailureWarn)} of joins fail (seed 11.4)`,
    },
    MatrixScaleCallFailuresCritical: {
      severity: "critical",
      above: joins(t.callFailureCritical * (1 + EPS)),
      below: joins(t.callFailureCritical * (1 - EPS)),
      labels: {},
      summaryMentions: [pct(t.callFailureCritical)],
      threshold: `> ${pct(t.callFailureCritical)} of joins fail (seed 8.2)`,
    },
    MatrixScaleWalArchivingFailing: {
      severity: "critical",
      above: archiving(1),
      below: archiving(0),
      labels: {},
      summaryMentions: ["archive WAL", "15 minutes"],
      threshold: "any failed WAL archive for 15 minutes (PostgreSQL's pg_stat_archiver)",
    },
    MatrixScaleRemoteMediaSweepStale: {
      severity: "warning",
      above: sweepStale(1 + EPS),
      below: sweepStale(1 - EPS),
      labels: {},
      summaryMentions: [`${t.remoteMediaSweepStaleSeconds / 3600} hours`],
      threshold: `no successful sweep for > ${t.remoteMediaSweepStaleSeconds / 3600} h (docs/synapse.md)`,
    },
    MatrixScalePodOnLostNode: {
      severity: "critical",
      above: onLostNode("lost"),
      below: onLostNode("up"),
      labels: { namespace: NS, pod: "synapse-main-0", node: "lost" },
      summaryMentions: [`${t.podOnLostNodeSeconds / 60} minutes`, "not ready"],
      threshold: `a StatefulSet's pod ${t.podOnLostNodeSeconds / 60} min on a node not ready, none on a ready one (docs/hardware.md)`,
    },
    MatrixScaleLogsNotShipped: {
      severity: "warning",
      above: logsWaiting(0),
      below: logsWaiting(600),
      labels: { pod: "log-agent-x2k4q" },
      summaryMentions: [`${t.logShippingFailingSeconds / 60} minutes`, "Loki"],
      threshold: `batches waiting and nothing sent for ${t.logShippingFailingSeconds / 60} min (docs/operations.md)`,
    },
    MatrixScaleLogsRefused: {
      severity: "warning",
      above: logsRefused(1),
      below: logsRefused(0),
      labels: { pod: "log-agent-x2k4q" },
      summaryMentions: ["refused", "lost"],
      threshold: "any batch Loki refused for good",
    },
    MatrixScaleLogAgentUnavailable: {
      severity: "warning",
      above: agentsUnavailable(1),
      below: agentsUnavailable(0),
      labels: {},
      summaryMentions: [`${t.logShippingFailingSeconds / 60} minutes`],
      threshold: `a node without a running log agent for ${t.logShippingFailingSeconds / 60} min`,
    },
    MatrixScaleDatabaseReplicationLag: {
      severity: "critical",
      above: lag(t.replicationLagSeconds * (1 + EPS)),
      below: lag(t.replicationLagSeconds * (1 - EPS)),
      labels: {},
      summaryMentions: [`${t.replicationLagSeconds} s`],
      threshold: `> ${t.replicationLagSeconds} s (docs/operations.md)`,
    },
  };
}

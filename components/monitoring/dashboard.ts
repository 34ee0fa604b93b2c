/** The tier summary dashboard (pure): provisioned capacity from the plan next to what is used. */
import type { Plan } from "../../sizing/types";

type Panel = Record<string, unknown>;

function stat(id: number, title: string, expr: string, x: number, y: number, thresholds: { value: number; color: string }[]): Panel {
  return {
    id,
    title,
    type: "stat",
    gridPos: { h: 6, w: 8, x, y },
    targets: [{ expr, refId: "A" }],
    fieldConfig: { defaults: { thresholds: { mode: "absolute", steps: [{ value: null, color: "green" }, ...thresholds] } }, overrides: [] },
  };
}

function timeseries(id: number, title: string, targets: { expr: string; legend: string }[], x: number, y: number): Panel {
  return { id, title, type: "timeseries", gridPos: { h: 8, w: 12, x, y }, targets: targets.map((t, i) => ({ expr: t.expr, legendFormat: t.legend, refId: String.fromCharCode(65 + i) })) };
}

export function tierDashboard(plan: Plan, namespace: string): Record<string, unknown> {
  const t = plan.monitoring.thresholds;
  const ns = `namespace="${namespace}"`;
  const pools = plan.pools.filter((p) => p.pods > 0);
  return {
    title: `matrix-scale: ${plan.tier} tier (${plan.tierCcu} users)`,
    uid: `matrix-scale-${plan.tier}`,
    tags: ["matrix-scale"],
    schemaVersion: 39,
    time: { from: "now-24h", to: "now" },
    panels: [
      stat(1, `Connected clients (tier ${plan.tierCcu})`, `sum(synapse_http_server_in_flight_requests_count{servlet="SyncRestServlet"})`, 0, 0, [
        { value: t.ccuPlanUpgrade, color: "orange" },
        { value: t.ccuUrgent, color: "red" },
      ]),
      stat(2, `Database connections (max_connections ${plan.postgres.maxConnections})`, `max(sum by (pod) (cnpg_backends_total{${ns}}))`, 8, 0, [{ value: t.dbConnections, color: "orange" }]),
      stat(3, `Media free (usable ${plan.minio.usableGB} GB)`, `minio_cluster_capacity_usable_free_bytes / 1e9`, 16, 0, [{ value: plan.minio.usableGB * 0.2, color: "green" }]),
      timeseries(
        4,
        "CPU requested vs used, per pool",
        pools.flatMap((p) => [
          { expr: `vector(${p.requested.vcpu})`, legend: `${p.role} requested` },
          { expr: `vector(${p.nodes * p.allocatable.vcpu})`, legend: `${p.role} allocatable` },
        ]).concat([{ expr: `sum(rate(container_cpu_usage_seconds_total{${ns},container!=""}[5m]))`, legend: "used" }]),
        0,
        6,
      ),
      timeseries(
        5,
        "Synapse processes (base, maximum) vs running",
        [
          { expr: `vector(${plan.synapse.processes})`, legend: "base" },
          { expr: `vector(${plan.synapse.processesAtMaxScale})`, legend: "maximum autoscale" },
          { expr: `count(up{${ns},job=~".*synapse.*"} == 1)`, legend: "running" },
        ],
        12,
        6,
      ),
    ],
  };
}

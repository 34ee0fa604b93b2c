/** Monitoring under the mock runtime: every alert threshold equals the plan's number at every tier. */
import { describe, expect, it } from "vitest";
import { runProgram, type MockRun } from "../../bin/mock-runtime";
import { parseSettings, plan } from "../../sizing";
import type { Plan } from "../../sizing/types";
import { TIER_USERS, TIERS } from "../fixtures/seed";
import { SERVER_NAME } from "../helpers";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe.each(TIERS)("tier %s", (tier) => {
  let ctx: { run: MockRun; plan: Plan };
  const load = async () => (ctx ??= { run: await runProgram({ ccu: TIER_USERS[tier]!, serverName: SERVER_NAME }), plan: plan(parseSettings({ ccu: TIER_USERS[tier]!, serverName: SERVER_NAME })) });
  const rules = (run: MockRun) => ((run.resources.find((r) => r.inputs.kind === "PrometheusRule")!.inputs.spec as Obj).groups as Obj[]).flatMap((g) => g.rules as Obj[]);
  const threshold = (run: MockRun, alert: string) => Number(/> ([\d.]+)$/.exec(rules(run).find((r) => r.alert === alert)!.expr)![1]);

  it("capacity alerts fire at 70% and 90% of this tier's users, and at 70% of this tier's max_connections", async () => {
    const { run, plan: p } = await load();
    expect(threshold(run, "MatrixScaleUsersAbovePlanThreshold")).toBe(Math.round(p.tierCcu * 0.7));
    expect(threshold(run, "MatrixScaleUsersAboveUrgentThreshold")).toBe(Math.round(p.tierCcu * 0.9));
    expect(threshold(run, "MatrixScaleDatabaseConnections")).toBe(Math.floor(p.postgres.maxConnections * 0.7));
  });

  it("operating thresholds: CPU 75%, memory 85%, p99 event send 500 ms, call failures 2% and 5%, replication lag", async () => {
    const { run, plan: p } = await load();
    expect(threshold(run, "MatrixScaleCpuSustained")).toBe(0.75);
    expect(threshold(run, "MatrixScaleMemorySustained")).toBe(0.85);
    expect(threshold(run, "MatrixScaleEventSendLatency")).toBe(0.5);
    expect(threshold(run, "MatrixScaleCallFailures")).toBe(0.02);
    expect(threshold(run, "MatrixScaleCallFailuresCritical")).toBe(0.05);
    expect(threshold(run, "MatrixScaleDatabaseReplicationLag")).toBe(p.monitoring.thresholds.replicationLagSeconds);
    const runway = rules(run).find((r) => r.alert === "MatrixScaleMediaRunway")!.expr as string;
    expect(runway).toContain(`${p.monitoring.thresholds.minioRunwayMonths * 30 * 86400}) < 0`);
  });

  it("Prometheus retention follows the plan's monitoring volume; everything runs on the monitoring pool", async () => {
    const { run, plan: p } = await load();
    const stack = run.resources.find((r) => r.type === "kubernetes:helm.sh/v4:Chart" && r.name === "kube-prometheus-stack")!.inputs as Obj;
    const spec = stack.values.prometheus.prometheusSpec;
    expect(spec.retentionSize).toBe(`${p.monitoring.prometheusRetentionGB}GB`);
    expect(spec.storageSpec.volumeClaimTemplate.spec.resources.requests.storage).toBe(`${p.monitoring.prometheusStorageGB}G`);
    expect(spec.nodeSelector).toEqual({ "matrix-scale/pool": "monitoring" });
    // Retention follows this tier's monitoring disk; the volume (a StatefulSet template) is the largest tier's.
    expect(p.monitoring.prometheusRetentionGB).toBe(Math.floor((p.inventory.find((r) => r.role === "monitoring")!.storageGB / 2) * 0.85));
    expect(p.monitoring.prometheusStorageGB).toBe(500);
  });

  it("monitors for Synapse, HAProxy, LiveKit, MinIO, Redis and coturn (PostgreSQL's comes from the operator), and the tier dashboard", async () => {
    const { run, plan: p } = await load();
    const monitors = run.resources.filter((r) => ["PodMonitor", "ServiceMonitor"].includes(String(r.inputs.kind))).map((r) => (r.inputs.metadata as Obj).name);
    expect(monitors.sort()).toEqual(["coturn", "livekit", "minio", "redis", "synapse", "synapse-haproxy"]);
    const dashboard = JSON.parse((run.resources.find((r) => r.name === "matrix-scale-dashboard")!.inputs.data as Obj)["matrix-scale.json"]);
    expect(dashboard.title).toContain(`${p.tierCcu} users`);
    expect(JSON.stringify(dashboard)).toContain(`vector(${p.synapse.processesAtMaxScale})`);
  });
});

/** Monitoring under the mock runtime: every alert threshold at every tier, against numbers worked out by hand from the seed. */
import { describe, expect, it } from "vitest";
import { runProgram, type MockRun } from "../../bin/mock-runtime";
import { parseSettings, plan } from "../../sizing";
import { parse as parseYaml } from "yaml";
import { logAgentConfigYaml } from "../../components/monitoring/log-agent";
import { DAEMONSETS } from "../../sizing/node-model";
import type { Plan } from "../../sizing/types";
import { TIER_USERS, TIERS } from "../fixtures/seed";
import { SERVER_NAME } from "../helpers";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * Expected thresholds per tier, computed by hand (not by the sizing module):
 * - users: seed 8.2 "Average CCU > 70% of current tier", "Peak CCU > 90% of current tier";
 * - database connections: seed 8.2 "> 70% of max_connections", with max_connections from seed 9.2
 *   (200, 300, 400, 500, 600), except 10k: 550 and 20k: 850 (README, seed deviations: the budget at
 *   maximum autoscale during a rollout needs them);
 * - Prometheus retention: half of the seed's monitoring-server disk (3.2 … 7.2: 200 GB, 300 GB,
 *   500 GB, 1 TB, 1 TB), kept at 85% of that (docs/operations.md), rounded down.
 */
const EXPECTED: Record<string, { users: [number, number]; dbConnections: number; retentionGB: number }> = {
  "100": { users: [70, 90], dbConnections: 140, retentionGB: 85 },
  "1k": { users: [700, 900], dbConnections: 210, retentionGB: 127 },
  "5k": { users: [3500, 4500], dbConnections: 280, retentionGB: 212 },
  "10k": { users: [7000, 9000], dbConnections: 385, retentionGB: 425 },
  "20k": { users: [14000, 18000], dbConnections: 595, retentionGB: 425 },
};

describe.each(TIERS)("tier %s", (tier) => {
  let ctx: { run: MockRun; plan: Plan };
  const load = async () => (ctx ??= { run: await runProgram({ ccu: TIER_USERS[tier]!, serverName: SERVER_NAME }), plan: plan(parseSettings({ ccu: TIER_USERS[tier]!, serverName: SERVER_NAME })) });
  const rules = (run: MockRun) => ((run.resources.find((r) => r.inputs.kind === "PrometheusRule")!.inputs.spec as Obj).groups as Obj[]).flatMap((g) => g.rules as Obj[]);
  const threshold = (run: MockRun, alert: string) => Number(/> ([\d.]+)$/.exec(rules(run).find((r) => r.alert === alert)!.expr)![1]);
  const expected = EXPECTED[tier]!;

  it("capacity alerts fire at 70% and 90% of this tier's users, and at 70% of this tier's max_connections", async () => {
    const { run } = await load();
    expect(threshold(run, "MatrixScaleUsersAbovePlanThreshold")).toBe(expected.users[0]);
    expect(threshold(run, "MatrixScaleUsersAboveUrgentThreshold")).toBe(expected.users[1]);
    expect(threshold(run, "MatrixScaleDatabaseConnections")).toBe(expected.dbConnections);
  });

  it("operating thresholds (seed 8.2, 11.4; docs/operations.md): CPU 75%, memory 85%, p99 event send 500 ms, call failures 2% and 5%, replication lag 30 s, media runway 2 months", async () => {
    const { run } = await load();
    expect(threshold(run, "MatrixScaleCpuSustained")).toBe(0.75);
    expect(threshold(run, "MatrixScaleMemorySustained")).toBe(0.85);
    expect(threshold(run, "MatrixScaleEventSendLatency")).toBe(0.5);
    expect(threshold(run, "MatrixScaleCallFailures")).toBe(0.02);
    expect(threshold(run, "MatrixScaleCallFailuresCritical")).toBe(0.05);
    expect(threshold(run, "MatrixScaleDatabaseReplicationLag")).toBe(30);
    const runway = rules(run).find((r) => r.alert === "MatrixScaleMediaRunway")!.expr as string;
    expect(runway).toContain(`${2 * 30 * 86400}) < 0`);
  });

  it("Prometheus retention follows this tier's monitoring disk; the volume is the largest tier's; everything runs on the monitoring pool", async () => {
    const { run } = await load();
    const stack = run.resources.find((r) => r.type === "kubernetes:helm.sh/v4:Chart" && r.name === "kube-prometheus-stack")!.inputs as Obj;
    const spec = stack.values.prometheus.prometheusSpec;
    expect(spec.retentionSize).toBe(`${expected.retentionGB}GB`);
    // Half of the largest tier's 1 TB monitoring disk: a StatefulSet's volume template never changes on a tier move.
    expect(spec.storageSpec.volumeClaimTemplate.spec.resources.requests.storage).toBe("500G");
    expect(spec.nodeSelector).toEqual({ "matrix-scale/pool": "monitoring" });
  });

  it("every monitoring process requests what the plan gives it, on the monitoring pool; node exporter what the node model counts on every node", async () => {
    const { run, plan: p } = await load();
    const chart = (name: string) => (run.resources.find((r) => r.type === "kubernetes:helm.sh/v4:Chart" && r.name === name)!.inputs as Obj).values;
    const stack = chart("kube-prometheus-stack");
    const loki = chart("loki");
    const r = p.monitoring.resources;
    const k8s = (x: { requests: { vcpu: number; memoryGiB: number }; limits: { vcpu: number; memoryGiB: number } }) => ({
      requests: { cpu: `${Math.round(x.requests.vcpu * 1000)}m`, memory: `${Math.round(x.requests.memoryGiB * 1024)}Mi` },
      limits: { cpu: `${Math.round(x.limits.vcpu * 1000)}m`, memory: `${Math.round(x.limits.memoryGiB * 1024)}Mi` },
    });
    const placed: [string, Obj, typeof r.prometheus][] = [
      ["prometheus", stack.prometheus.prometheusSpec, r.prometheus],
      ["alertmanager", stack.alertmanager.alertmanagerSpec, r.alertmanager],
      ["grafana", stack.grafana, r.grafana],
      ["operator", stack.prometheusOperator, r.prometheusOperator],
      ["kube-state-metrics", stack["kube-state-metrics"], r.kubeStateMetrics],
      ["loki", loki.singleBinary, r.loki],
    ];
    for (const [name, values, planned] of placed) {
      expect(values.resources, name).toEqual(k8s(planned));
      expect(values.nodeSelector, name).toEqual({ "matrix-scale/pool": "monitoring" });
    }
    expect(stack.prometheusOperator.prometheusConfigReloader.resources).toEqual(k8s(r.configReloader));
    expect(stack.grafana.sidecar.resources).toEqual(k8s(r.sidecar));
    expect(loki.sidecar.resources).toEqual(k8s(r.sidecar));
    // The admission webhook's certificate Jobs: the plan's size, on the application pool (not the monitoring node).
    expect(stack.prometheusOperator.admissionWebhooks.patch).toEqual({ nodeSelector: { "matrix-scale/pool": "application" }, resources: k8s(p.monitoring.admissionWebhookJob.resources) });
    expect(p.monitoring.admissionWebhookJob.resources.requests).toEqual({ vcpu: 0.01, memoryGiB: 20 / 1024 });
    // No room for a surging Grafana pod beside the old one: it is recreated.
    expect(stack.grafana.deploymentStrategy).toEqual({ type: "Recreate" });
    // Node exporter runs on every node at its chart's commented suggestion, as the node model counts it.
    expect(stack["prometheus-node-exporter"].resources).toEqual({ requests: { cpu: "100m", memory: "30Mi" }, limits: { cpu: "200m", memory: "50Mi" } });
    expect(DAEMONSETS.find((d) => d.name === "prometheus-node-exporter")!.requests).toEqual({ vcpu: 0.1, memoryGiB: 30 / 1024 });
  });

  it("monitors for Synapse, HAProxy, LiveKit, MinIO, Redis, coturn and the log agent (PostgreSQL's comes from the operator), and the tier dashboard", async () => {
    const { run, plan: p } = await load();
    const monitors = run.resources.filter((r) => ["PodMonitor", "ServiceMonitor"].includes(String(r.inputs.kind))).map((r) => r.inputs.metadata as Obj);
    expect(monitors.map((m) => m.name).sort()).toEqual(["coturn", "livekit", "log-agent", "minio", "redis", "synapse", "synapse-haproxy"]);
    const agentMonitor = run.resources.find((r) => r.inputs.kind === "PodMonitor" && (r.inputs.metadata as Obj).name === "log-agent")!.inputs as Obj;
    expect(agentMonitor.metadata.namespace).toBe("monitoring");
    expect(agentMonitor.spec.namespaceSelector).toEqual({ matchNames: ["monitoring"] });
    const dashboard = JSON.parse((run.resources.find((r) => r.name === "matrix-scale-dashboard")!.inputs.data as Obj)["matrix-scale.json"]);
    expect(dashboard.title).toContain(`${p.tierCcu} users`);
    expect(JSON.stringify(dashboard)).toContain(`vector(${p.synapse.processesAtMaxScale})`);
  });
});

describe("the log agent", () => {
  const settings = { ccu: 5000, serverName: SERVER_NAME };
  let run: MockRun;
  const load = async () => (run ??= await runProgram(settings));
  const byKind = (kind: string) => run.resources.filter((r) => r.inputs.kind === kind && (r.inputs.metadata as Obj).name === "log-agent").map((r) => r.inputs as Obj);

  it("is one DaemonSet in the monitoring namespace on every node, whatever its taint, at the node model's requests", async () => {
    await load();
    const [ds] = byKind("DaemonSet");
    expect(byKind("DaemonSet")).toHaveLength(1);
    expect(ds!.metadata.namespace).toBe("monitoring");
    const pod = ds!.spec.template.spec;
    expect(pod.tolerations).toEqual([{ operator: "Exists" }]);
    expect(pod.nodeSelector).toBeUndefined();
    expect(pod.priorityClassName).toBe("system-node-critical");
    const model = DAEMONSETS.find((d) => d.name === "log-agent")!;
    expect([model.namespace, model.tolerateAllTaints, model.declaredByProgram]).toEqual(["monitoring", true, true]);
    // 100m and 128Mi (test/integration/log-agent.test.ts measures the real agent against them).
    expect(pod.containers[0].resources.requests).toEqual({ cpu: "100m", memory: "128Mi" });
    expect(model.requests).toEqual({ vcpu: 0.1, memoryGiB: 0.125 });
  });

  it("reads the kubelet's pod logs read-only and keeps its offsets and queue on the node; no service account token, no privilege", async () => {
    await load();
    const pod = byKind("DaemonSet")[0]!.spec.template.spec;
    const volumes = Object.fromEntries((pod.volumes as Obj[]).map((v) => [v.name, v]));
    expect(volumes.pods.hostPath).toEqual({ path: "/var/log/pods", type: "Directory" });
    expect(volumes.state.hostPath.path).toMatch(/^\/var\/lib\//);
    const mounts = Object.fromEntries((pod.containers[0].volumeMounts as Obj[]).map((m) => [m.name, m]));
    expect(mounts.pods).toMatchObject({ mountPath: "/var/log/pods", readOnly: true });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.containers[0].securityContext.privileged).toBeUndefined();
    expect(pod.containers[0].securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
  });

  it("runs the configuration its ConfigMap holds, which the integration test runs in the real collector, and restarts when it changes", async () => {
    await load();
    const [cm] = byKind("ConfigMap");
    const config = parseYaml(cm!.data["config.yaml"]);
    const ds = byKind("DaemonSet")[0]!;
    expect(cm!.data["config.yaml"]).toBe(logAgentConfigYaml(plan(parseSettings(settings))));
    expect(config.receivers.file_log.include).toEqual(["/var/log/pods/*/*/*.log", "/var/log/pods/*/*/*.log.*"]);
    expect(ds.spec.template.spec.containers[0].args).toEqual(["--config=/conf/config.yaml", "--feature-gates=stanza.synchronousLogEmitter"]);
    expect(config.exporters.otlp_http.endpoint).toBe("http://loki.monitoring.svc:3100/otlp");
    expect(ds.spec.template.metadata.annotations["matrix-scale/config-checksum"]).toMatch(/^[0-9a-f]{16}$/);
    expect(ds.spec.template.spec.volumes.find((v: Obj) => v.name === "config").configMap.name).toBe("log-agent");
  });
});

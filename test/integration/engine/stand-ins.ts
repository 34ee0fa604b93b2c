/**
 * TEST-ONLY STAND-IN charts for the engine tests: no chart repository is reachable here, so each
 * pinned chart the program installs is replaced by a local chart of the same name and version that
 * carries only what the program's own objects need from it: the CRDs of the custom kinds the
 * program declares (CloudNativePG's Cluster and ScheduledBackup; the Prometheus operator's rule and
 * monitors). The operators themselves are not run; their workloads are out of the picture.
 * The program takes them through ProgramOptions.chartStandIns, which stack config cannot set.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { CNPG_CHART_VERSION, KUBE_PROMETHEUS_STACK_CHART, LOKI_CHART } from "../../../components/versions";
import type { ChartStandIns } from "../../../components/workload";
import { minimalCrd, type CustomKind } from "../kube/manifests";

const STAND_INS: Record<string, { version: string; kinds: CustomKind[] }> = {
  "cloudnative-pg": {
    version: CNPG_CHART_VERSION,
    kinds: [
      { group: "postgresql.cnpg.io", version: "v1", kind: "Cluster" },
      { group: "postgresql.cnpg.io", version: "v1", kind: "ScheduledBackup" },
    ],
  },
  "kube-prometheus-stack": {
    version: KUBE_PROMETHEUS_STACK_CHART,
    kinds: [
      { group: "monitoring.coreos.com", version: "v1", kind: "PrometheusRule" },
      { group: "monitoring.coreos.com", version: "v1", kind: "PodMonitor" },
      { group: "monitoring.coreos.com", version: "v1", kind: "ServiceMonitor" },
    ],
  },
  loki: { version: LOKI_CHART, kinds: [] },
};

/** Writes the stand-in charts under `dir` and returns them by chart name. */
export function writeChartStandIns(dir: string): ChartStandIns {
  const charts: Record<string, string> = {};
  for (const [name, { version, kinds }] of Object.entries(STAND_INS)) {
    const chart = join(dir, name);
    mkdirSync(join(chart, "templates"), { recursive: true });
    writeFileSync(join(chart, "Chart.yaml"), stringify({ apiVersion: "v2", name, version, description: `TEST-ONLY STAND-IN for the ${name} chart: the CRDs the program's objects need, nothing else` }));
    writeFileSync(join(chart, "templates", "crds.yaml"), kinds.map((k) => stringify(minimalCrd(k))).join("---\n"));
    charts[name] = chart;
  }
  return charts;
}

/**
 * TEST-ONLY STAND-IN charts for the engine tests: no chart repository is reachable here, so each
 * pinned chart the program installs is replaced by a local chart of the same name and version that
 * carries only what the program's own objects need from it: the CRDs of the custom kinds the
 * program declares (CloudNativePG's Cluster and ScheduledBackup; the Barman Cloud plugin's
 * ObjectStore; the Prometheus operator's rule and monitors), exactly as the operators' releases publish them (operator-crds.ts), so the API server
 * checks the program's custom objects against the real schemas. The operators themselves are not
 * run; their workloads are out of the picture. The program takes the stand-ins through
 * ProgramOptions.chartStandIns, which stack config cannot set.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { BARMAN_CLOUD_PLUGIN_CHART, CERT_MANAGER_CHART, CNPG_CHART_VERSION, KUBE_PROMETHEUS_STACK_CHART, LOKI_CHART } from "../../../components/versions";
import type { ChartStandIns } from "../../../components/workload";
import { operatorCrds, type OperatorName } from "../kube/operator-crds";

const STAND_INS: Record<string, { version: string; operator?: OperatorName; kinds: string[] }> = {
  "cloudnative-pg": { version: CNPG_CHART_VERSION, operator: "cloudnative-pg", kinds: ["Cluster", "ScheduledBackup"] },
  "plugin-barman-cloud": { version: BARMAN_CLOUD_PLUGIN_CHART, operator: "plugin-barman-cloud", kinds: ["ObjectStore"] },
  "cert-manager": { version: CERT_MANAGER_CHART, kinds: [] },
  "kube-prometheus-stack": { version: KUBE_PROMETHEUS_STACK_CHART, operator: "prometheus-operator", kinds: ["PrometheusRule", "PodMonitor", "ServiceMonitor"] },
  loki: { version: LOKI_CHART, kinds: [] },
};

/** Writes the stand-in charts under `dir` and returns them by chart name. */
export function writeChartStandIns(dir: string): ChartStandIns {
  const charts: Record<string, string> = {};
  for (const [name, { version, operator, kinds }] of Object.entries(STAND_INS)) {
    const chart = join(dir, name);
    mkdirSync(join(chart, "templates"), { recursive: true });
    writeFileSync(join(chart, "Chart.yaml"), stringify({ apiVersion: "v2", name, version, description: `TEST-ONLY STAND-IN for the ${name} chart: the CRDs the program's objects need, nothing else` }));
    const crds = operator ? operatorCrds(operator).filter((c) => kinds.includes(c.spec.names.kind)) : [];
    if (crds.length !== kinds.length) throw new Error(`${name}: the ${operator} release defines ${crds.map((c) => c.spec.names.kind).join(", ")}, wanted ${kinds.join(", ")}`);
    writeFileSync(join(chart, "templates", "crds.yaml"), crds.map((c) => stringify(c)).join("---\n"));
    charts[name] = chart;
  }
  return charts;
}

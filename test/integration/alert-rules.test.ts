/**
 * The rendered alert rules, checked by Prometheus' own promtool at every tier against thresholds
 * computed from the scaling guide (test/fixtures/alert-thresholds.ts: seed 8.2, 9.2, 11.4, the
 * MinIO blocks, and docs/operations.md where the guide states no number), never from the plan:
 *   - `promtool check rules` accepts every rule;
 *   - `promtool test rules`: every rendered rule (a new rule without a case fails) fires just above
 *     its threshold, with its labels and annotations, once its `for:` has elapsed and not before,
 *     and stays silent just below (test/integration/metrics/alert-cases.ts);
 *   - every metric name (and every exporter label value matched on) is one a real exporter emits:
 *     Synapse, LiveKit, MinIO and the log agent started on loopback and scraped; CloudNativePG's names derived
 *     from its default queries, which run on a real PostgreSQL; cAdvisor and kube-state-metrics
 *     from their upstream documentation (no kubelet or kube-state-metrics runs in the tests).
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { alertRules, type AlertRule } from "../../components/monitoring/rules";
import { expectedThresholds } from "../fixtures/alert-thresholds";
import { CADVISOR, KUBE_STATE_METRICS, type DocumentedExporter } from "../fixtures/kubernetes-metrics";
import { TIER_USERS, TIERS } from "../fixtures/seed";
import { planFor } from "../helpers";
import { Services, startPostgres } from "./harness";
import { alertCases, bucketsWithP99, EPS, p99Of, SYNAPSE_RESPONSE_TIME_BUCKETS } from "./metrics/alert-cases";
import { cnpgMetricNames, cnpgQueries, queryColumns, scrapeLivekit, scrapeLogAgent, scrapeMinio, scrapeSynapse, type CnpgMetric, type Sample } from "./metrics/exporters";
import { selectors, type Matcher } from "./metrics/promql";

const NAMESPACE = "matrix";
const services = new Services("alert-rules");
afterAll(() => services.stopAll(), 30_000);

/** promtool, without blocking the event loop (the real servers below boot meanwhile). */
function promtool(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("promtool", args, { cwd: services.dir, timeout: 240_000 });
    let [stdout, stderr] = ["", ""];
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", (e) => resolve({ status: null, stdout, stderr: stderr + String(e) }));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

const rulesOf = (tier: string): AlertRule[] => alertRules(planFor(TIER_USERS[tier]!), NAMESPACE).groups.flatMap((g) => g.rules);

/** The longest rate/increase window of an expression, in minutes (multi-day regression windows need no filling). */
function fillMinutes(expr: string): number {
  const windows = [...expr.matchAll(/\[(\d+)([smhd])\]/g)].map(([, n, unit]) => (Number(n) * { s: 1 / 60, m: 1, h: 60, d: 1440 }[unit as "s"]));
  return Math.max(0, ...windows.filter((w) => w < 1440));
}

/** "30m" / "1h" → minutes. */
function minutesOf(duration: string): number {
  const m = /^(\d+)(m|h)$/.exec(duration);
  if (!m) throw new Error(`unexpected for: ${duration}`);
  return Number(m[1]) * (m[2] === "h" ? 60 : 1);
}

describe.concurrent.each(TIERS)("alert rules for the %s tier", (tier) => {
  const expected = expectedThresholds(tier);
  const rendered = alertRules(planFor(TIER_USERS[tier]!), NAMESPACE);
  const rules = rendered.groups.flatMap((g) => g.rules);
  const cases = alertCases(expected);
  const rulesFile = join(services.dir, `rules-${tier}.yaml`);
  writeFileSync(rulesFile, stringify(rendered));

  it("every rendered rule has a promtool case, and every case a rule", () => {
    expect(rules.map((r) => r.alert).sort()).toEqual(Object.keys(cases).sort());
  });

  it("promtool check rules accepts every rule", async () => {
    const r = await promtool("check", "rules", rulesFile);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
  }, 300_000);

  it("severities, and summaries that state the seed's thresholds", () => {
    for (const rule of rules) {
      const c = cases[rule.alert]!;
      expect(rule.labels.severity, rule.alert).toBe(c.severity);
      for (const text of c.summaryMentions) expect(rule.annotations.summary, rule.alert).toContain(text);
    }
  });

  it("promtool test rules: each rule fires just above its threshold once its for: has elapsed, and stays silent just below", async () => {
    const tests = rules.flatMap((rule) => {
      const c = cases[rule.alert]!;
      const forMinutes = minutesOf(rule.for);
      // Rates and increases read low until their window is full of samples: the condition may
      // start that late, so the firing check comes that window (plus 2 minutes) after the `for:`.
      const evalMinute = forMinutes + fillMinutes(rule.expr) + 2;
      const span = evalMinute + 3;
      const fired = [{ exp_labels: { severity: c.severity, ...c.labels }, exp_annotations: rule.annotations }];
      return [
        {
          name: `${rule.alert} [${c.threshold}] at ${(1 + EPS).toFixed(2)} × the threshold: pending before ${rule.for}, firing after`,
          interval: "1m",
          input_series: c.above(span, evalMinute),
          alert_rule_test: [
            { eval_time: `${forMinutes - 1}m`, alertname: rule.alert, exp_alerts: [] },
            { eval_time: `${evalMinute}m`, alertname: rule.alert, exp_alerts: fired },
          ],
        },
        {
          name: `${rule.alert} [${c.threshold}] just below (integers: at) the threshold: silent`,
          interval: "1m",
          input_series: c.below(span, evalMinute),
          alert_rule_test: [{ eval_time: `${evalMinute}m`, alertname: rule.alert, exp_alerts: [] }],
        },
      ];
    });
    const testFile = join(services.dir, `test-${tier}.yaml`);
    writeFileSync(testFile, stringify({ rule_files: [rulesFile], evaluation_interval: "1m", tests }, { lineWidth: 0 }));
    const r = await promtool("test", "rules", testFile);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS/);
  }, 300_000);
});

it("the latency cases' buckets give histogram_quantile's p99 just above and just below 500 ms", () => {
  for (const q of [0.5 * (1 + EPS), 0.5 * (1 - EPS)]) expect(p99Of(bucketsWithP99(q, 1000))).toBeCloseTo(q, 9);
});

// -------------------------------------------------------------------------------------------------
// Metric names against the real exporters

type Source = "synapse" | "livekit" | "minio" | "log-agent" | "cloudnative-pg" | "cadvisor" | "kube-state-metrics";

/** Where each metric the rules use comes from. A new metric without an entry fails the test. */
const SOURCES: Record<string, Source> = {
  synapse_http_server_in_flight_requests_count: "synapse",
  synapse_http_server_response_time_seconds_bucket: "synapse",
  livekit_participant_join_total: "livekit",
  minio_cluster_capacity_usable_free_bytes: "minio",
  cnpg_backends_total: "cloudnative-pg",
  cnpg_pg_replication_lag: "cloudnative-pg",
  cnpg_pg_stat_archiver_failed_count: "cloudnative-pg",
  container_cpu_usage_seconds_total: "cadvisor",
  container_memory_working_set_bytes: "cadvisor",
  kube_pod_container_resource_limits: "kube-state-metrics",
  kube_cronjob_created: "kube-state-metrics",
  kube_cronjob_status_last_successful_time: "kube-state-metrics",
  kube_pod_info: "kube-state-metrics",
  kube_node_status_condition: "kube-state-metrics",
  otelcol_exporter_queue_size: "log-agent",
  otelcol_exporter_sent_log_records: "log-agent",
  otelcol_exporter_send_failed_log_records: "log-agent",
  kube_daemonset_status_number_unavailable: "kube-state-metrics",
};

const DOCUMENTED: Partial<Record<Source, DocumentedExporter>> = { cadvisor: CADVISOR, "kube-state-metrics": KUBE_STATE_METRICS };

/**
 * Labels Prometheus gives every series of a target (the Prometheus Operator's PodMonitor and
 * ServiceMonitor relabeling: namespace, pod, container, service, endpoint, job, instance), not the
 * exporter: they are not looked for in what the exporter serves.
 */
const TARGET_LABELS = new Set(["namespace", "pod", "container", "service", "endpoint", "job", "instance"]);

/** Every selector of every tier's rules, by metric name. */
const used = new Map<string, Matcher[][]>();
for (const tier of TIERS) for (const rule of rulesOf(tier)) for (const s of selectors(rule.expr)) used.set(s.metric, [...(used.get(s.metric) ?? []), s.matchers]);

interface Exported {
  scraped: Partial<Record<Source, Sample[]>>;
  cnpg: Map<string, CnpgMetric>;
  /** Columns each CloudNativePG query the rules use returns on a real PostgreSQL. */
  columns: Record<string, string[]>;
}

/**
 * The real servers start in a file-level hook that does not wait for them, so they boot while
 * promtool runs; the metric tests wait for them. Each waits a bounded time; all are stopped after
 * the file (once their start has settled, so none is left behind).
 */
const exporters = new Services("alert-rules-exporters");
let exported: Promise<Exported>;
beforeAll(() => {
  exported = (async () => {
    const [synapse, livekit, minio, logAgent, pg] = await Promise.all([scrapeSynapse(exporters), scrapeLivekit(exporters), scrapeMinio(exporters), scrapeLogAgent(exporters), startPostgres(exporters)]).catch((error: Error) => {
      const logs = ["synapse", "livekit", "minio", "log-agent", "postgres"].map((n) => `--- ${n}\n${exporters.log(n).slice(-2000)}`).join("\n");
      throw new Error(`${error.message}\n${logs}`);
    });
    const queries = cnpgQueries();
    const cnpg = cnpgMetricNames(queries);
    const queriesUsed = new Set([...used.keys()].flatMap((name) => cnpg.get(name)?.query ?? []));
    const columns = Object.fromEntries([...queriesUsed].map((q) => [q, queryColumns(pg.psql, queries[q]!.query)]));
    return { scraped: { synapse: synapse.samples, livekit, minio, "log-agent": logAgent }, cnpg, columns };
  })();
  exported.catch(() => undefined);
});
afterAll(async () => {
  await exported?.catch(() => undefined);
  await exporters.stopAll();
}, 150_000);

describe("every metric name in the rules is one a real exporter emits", () => {
  let scraped: Exported["scraped"];
  let cnpg: Exported["cnpg"];
  let columns: Exported["columns"];
  beforeAll(async () => {
    ({ scraped, cnpg, columns } = await exported);
  }, 240_000);

  it("each metric the rules use has a known source, and each source entry is used", () => {
    expect([...used.keys()].sort()).toEqual(Object.keys(SOURCES).sort());
  });

  it.each(Object.keys(SOURCES))("%s", (metric) => {
    const source = SOURCES[metric]!;
    const matchers = used.get(metric)!.flat().filter((m) => !TARGET_LABELS.has(m.label) || DOCUMENTED[source]);
    const samples = scraped[source];
    if (samples) {
      const series = samples.filter((s) => s.name === metric);
      expect(series.length, `${source} does not emit ${metric}`).toBeGreaterThan(0);
      for (const m of matchers.filter((x) => x.op === "=")) {
        expect(series.map((s) => s.labels[m.label]), `${metric}{${m.label}="${m.value}"} from ${source}`).toContain(m.value);
      }
      for (const m of matchers.filter((x) => x.op !== "=")) expect(series.some((s) => m.label in s.labels), `${metric} has no label ${m.label}`).toBe(true);
    } else if (source === "cloudnative-pg") {
      const m = cnpg.get(metric);
      expect(m, `CloudNativePG's default queries define no ${metric}`).toBeDefined();
      expect(columns[m!.query], `query ${m!.query} on PostgreSQL`).toContain(m!.column);
      for (const x of matchers) expect(m!.labels, `${metric} label ${x.label}`).toContain(x.label);
    } else {
      const doc = DOCUMENTED[source]!;
      const m = doc.metrics[metric];
      expect(m, `${doc.source} lists no ${metric}`).toBeDefined();
      for (const x of matchers) {
        expect(m!.labels, `${metric} label ${x.label} (${doc.source})`).toContain(x.label);
        if (x.op === "=" && m!.values?.[x.label]) expect(m!.values[x.label]).toContain(x.value);
      }
    }
  });

  it("Synapse's response-time buckets are the ones the latency cases interpolate in", () => {
    const les = scraped
      .synapse!.filter((s) => s.name === "synapse_http_server_response_time_seconds_bucket" && s.labels.servlet === "RoomSendEventRestServlet")
      .map((s) => s.labels.le!)
      .filter((le) => le !== "+Inf")
      .map(Number);
    expect([...new Set(les)].sort((a, b) => a - b)).toEqual(SYNAPSE_RESPONSE_TIME_BUCKETS);
  });
});

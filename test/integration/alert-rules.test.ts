/**
 * The rendered alert rules, checked by Prometheus' own promtool at every tier: `check rules`, and
 * `test rules` with series just above and just below each tier's thresholds.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { alertRules } from "../../components/monitoring/rules";
import { TIER_USERS, TIERS } from "../fixtures/seed";
import { planFor } from "../helpers";
import { Services } from "./harness";

const services = new Services("promtool");
afterAll(() => services.stopAll());

function promtool(...args: string[]) {
  return spawnSync("promtool", args, { encoding: "utf8", cwd: services.dir });
}

/** A constant series for 40 minutes (long enough for every `for:`). */
const flat = (series: string, value: number) => ({ series, values: `${value}x40` });

describe.each(TIERS)("alert rules for the %s tier", (tier) => {
  const p = planFor(TIER_USERS[tier]!);
  const t = p.monitoring.thresholds;
  const rulesFile = join(services.dir, `rules-${tier}.yaml`);
  const rendered = alertRules(p, "matrix");
  writeFileSync(rulesFile, stringify(rendered));
  const annotationsOf = (alert: string) => rendered.groups.flatMap((g) => g.rules).find((r) => r.alert === alert)!.annotations;

  it("promtool check rules accepts them", () => {
    const r = promtool("check", "rules", rulesFile);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS: 10 rules found/);
  });

  it("promtool test rules: each threshold fires just above the plan's number and not below", () => {
    const fired = (alert: string, severity = "warning") => [{ exp_labels: { severity }, exp_annotations: annotationsOf(alert) }];
    const tests = [
      {
        name: "users above 70% and 90% of the tier",
        interval: "1m",
        input_series: [flat(`synapse_http_server_in_flight_requests_count{servlet="SyncRestServlet",method="GET"}`, t.ccuUrgent + 1)],
        alert_rule_test: [
          { eval_time: "35m", alertname: "MatrixScaleUsersAbovePlanThreshold", exp_alerts: fired("MatrixScaleUsersAbovePlanThreshold") },
          { eval_time: "35m", alertname: "MatrixScaleUsersAboveUrgentThreshold", exp_alerts: fired("MatrixScaleUsersAboveUrgentThreshold", "critical") },
        ],
      },
      {
        name: "users at the threshold do not alert",
        interval: "1m",
        input_series: [flat(`synapse_http_server_in_flight_requests_count{servlet="SyncRestServlet",method="GET"}`, t.ccuPlanUpgrade)],
        alert_rule_test: [{ eval_time: "35m", alertname: "MatrixScaleUsersAbovePlanThreshold", exp_alerts: [] }],
      },
      {
        name: "database connections above 70% of this tier's max_connections",
        interval: "1m",
        input_series: [flat(`cnpg_backends_total{namespace="matrix",pod="postgres-1"}`, t.dbConnections + 1)],
        alert_rule_test: [{ eval_time: "15m", alertname: "MatrixScaleDatabaseConnections", exp_alerts: fired("MatrixScaleDatabaseConnections") }],
      },
      {
        name: "database connections at 70% do not alert",
        interval: "1m",
        input_series: [flat(`cnpg_backends_total{namespace="matrix",pod="postgres-1"}`, t.dbConnections)],
        alert_rule_test: [{ eval_time: "15m", alertname: "MatrixScaleDatabaseConnections", exp_alerts: [] }],
      },
      {
        name: "slow event sends",
        interval: "1m",
        input_series: [
          { series: `synapse_http_server_response_time_seconds_bucket{servlet="RoomSendEventRestServlet",le="0.5"}`, values: "0+1x40" },
          { series: `synapse_http_server_response_time_seconds_bucket{servlet="RoomSendEventRestServlet",le="1"}`, values: "0+100x40" },
          { series: `synapse_http_server_response_time_seconds_bucket{servlet="RoomSendEventRestServlet",le="+Inf"}`, values: "0+100x40" },
        ],
        alert_rule_test: [{ eval_time: "20m", alertname: "MatrixScaleEventSendLatency", exp_alerts: fired("MatrixScaleEventSendLatency") }],
      },
      {
        name: "call joins failing at 10%",
        interval: "1m",
        input_series: [
          { series: `livekit_participant_join_total{state="rtc_init"}`, values: "0+10x40" },
          { series: `livekit_participant_join_total{state="rtc_connected"}`, values: "0+9x40" },
        ],
        alert_rule_test: [
          { eval_time: "35m", alertname: "MatrixScaleCallFailures", exp_alerts: fired("MatrixScaleCallFailures") },
          { eval_time: "35m", alertname: "MatrixScaleCallFailuresCritical", exp_alerts: fired("MatrixScaleCallFailuresCritical", "critical") },
        ],
      },
    ];
    const testFile = join(services.dir, `test-${tier}.yaml`);
    writeFileSync(testFile, stringify({ rule_files: [rulesFile], evaluation_interval: "1m", tests }));
    const r = promtool("test", "rules", testFile);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS/);
  });
});

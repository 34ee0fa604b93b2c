/** The preview gate on preview documents in Pulumi's JSON format, one per case. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { effectOf } from "../../bin/changes";
import { gate, parseUrn, type PreviewStep } from "../../bin/gate";

const urn = (type: string, name: string, parent = "matrix-scale:minio:ObjectStore") => `urn:pulumi:prod::matrix-scale::${parent}$${type}::${name}`;
const step = (op: string, type: string, name: string, extra: Partial<PreviewStep> = {}): PreviewStep => ({ op, urn: urn(type, name), ...extra });

describe("preview gate", () => {
  it("parses nested component URNs", () => {
    expect(parseUrn(urn("kubernetes:apps/v1:StatefulSet", "minio-pool-0"))).toEqual({ type: "kubernetes:apps/v1:StatefulSet", name: "minio-pool-0" });
  });

  it.each([
    ["replacing a MinIO pool", step("replace", "kubernetes:apps/v1:StatefulSet", "minio-pool-0", { replaceReasons: ["spec.volumeClaimTemplates"] }), /replace: kubernetes:apps\/v1:StatefulSet minio-pool-0 holds data \(changes to spec\.volumeClaimTemplates force a replacement\)/],
    ["create-replacement of the database", step("create-replacement", "kubernetes:postgresql.cnpg.io/v1:Cluster", "postgres"), /Cluster postgres holds data/],
    ["delete-replaced of Redis data", step("delete-replaced", "kubernetes:apps/v1:StatefulSet", "redis-synapse"), /redis-synapse holds data/],
    ["deleting a MinIO pool", step("delete", "kubernetes:apps/v1:StatefulSet", "minio-pool-2"), /delete: .*minio-pool-2 holds data/],
    ["deleting a PVC", step("delete", "kubernetes:core/v1:PersistentVolumeClaim", "data0-minio-pool-0-0"), /PersistentVolumeClaim data0-minio-pool-0-0 holds data/],
    ["replacing a StorageClass", step("replace", "kubernetes:storage.k8s.io/v1:StorageClass", "matrix-scale-database", { replaceReasons: ["parameters"] }), /StorageClass matrix-scale-database holds data/],
    ["deleting the namespace", step("delete", "kubernetes:core/v1:Namespace", "matrix-namespace"), /Namespace matrix-namespace holds data/],
    ["deleting the database pool's node group with no new one", step("delete", "aws:eks/nodeGroup:NodeGroup", "matrix-database-m7i-4xlarge"), /database pool's node group and no new group replaces it/],
  ])("refuses %s", (_what, s, message) => {
    const violations = gate({ steps: [s] });
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatch(message);
  });

  it.each([
    ["updating a StatefulSet in place", [step("update", "kubernetes:apps/v1:StatefulSet", "minio-pool-0")]],
    ["replacing an immutable ConfigMap", [step("replace", "kubernetes:core/v1:ConfigMap", "synapse-shared", { replaceReasons: ["data"] })]],
    ["replacing a Synapse worker Deployment", [step("replace", "kubernetes:apps/v1:Deployment", "synapse-synchrotron")]],
    ["adding a MinIO pool", [step("create", "kubernetes:apps/v1:StatefulSet", "minio-pool-1")]],
    ["a node group swapped for a new one of the same pool", [step("create", "aws:eks/nodeGroup:NodeGroup", "matrix-database-m7i-8xlarge"), step("delete", "aws:eks/nodeGroup:NodeGroup", "matrix-database-m7i-4xlarge")]],
    ["a preview with nothing to change (only the root stack is listed)", [{ op: "same", urn: "urn:pulumi:prod::matrix-scale::pulumi:pulumi:Stack::matrix-scale-prod" }]],
  ])("passes %s", (_what, steps) => {
    expect(gate({ steps })).toEqual([]);
  });

  it.each([
    ["a preview with no steps (the program did not run)", {}, 0, /no steps: it did not run/],
    ["an error diagnostic", { steps: [step("same", "kubernetes:apps/v1:StatefulSet", "minio-pool-0")], diagnostics: [{ severity: "error", message: "unable to replace resource\nmore", urn: urn("kubernetes:core/v1:Namespace", "matrix-namespace") }] }, 0, /reported an error on matrix-namespace: unable to replace resource$/],
    ["a failed preview whose steps look safe", { steps: [step("update", "kubernetes:apps/v1:Deployment", "synapse-haproxy")] }, 255, /pulumi preview exited 255/],
  ])("refuses %s", (_what, doc, exitCode, message) => {
    const violations = gate(doc, exitCode);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatch(message);
  });

  it("warnings do not refuse a preview", () => {
    expect(gate({ steps: [step("same", "kubernetes:apps/v1:StatefulSet", "minio-pool-0")], diagnostics: [{ severity: "warning", message: "deprecated" }] })).toEqual([]);
  });

  it("as a command: exit 1 with the reasons, exit 0 on a safe preview", () => {
    const dir = mkdtempSync(join(tmpdir(), "gate-"));
    const bad = join(dir, "bad.json");
    const good = join(dir, "good.json");
    writeFileSync(bad, JSON.stringify({ steps: [step("replace", "kubernetes:postgresql.cnpg.io/v1:Cluster", "postgres", { replaceReasons: ["metadata.name"] })], changeSummary: { replace: 1 } }));
    writeFileSync(good, JSON.stringify({ steps: [step("update", "kubernetes:apps/v1:Deployment", "synapse-haproxy")], changeSummary: { update: 1 } }));
    const tsx = join(__dirname, "..", "..", "node_modules", ".bin", "tsx");
    const script = join(__dirname, "..", "..", "bin", "preview-gate.ts");
    const refused = spawnSync(tsx, [script, bad], { encoding: "utf8" });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/Cluster postgres holds data \(changes to metadata\.name force a replacement\)/);
    const passed = spawnSync(tsx, [script, good], { encoding: "utf8" });
    expect(passed.status).toBe(0);
    expect(passed.stdout).toMatch(/1 steps, no stateful resource replaced or deleted/);
    const failedPreview = spawnSync(tsx, [script, good, "--preview-exit-code", "255"], { encoding: "utf8" });
    expect(failedPreview.status).toBe(1);
    expect(failedPreview.stderr).toMatch(/pulumi preview exited 255/);
    const noStatus = spawnSync(tsx, [script, good, "--preview-exit-code", ""], { encoding: "utf8" });
    expect(noStatus.status).toBe(2);
    expect(noStatus.stderr).toMatch(/--preview-exit-code "" is not an exit status/);
  });
});

describe("change classification", () => {
  it.each([
    ["kubernetes:apps/v1:StatefulSet", "spec.volumeClaimTemplates[data0].spec.resources.requests.storage", "replace"],
    ["kubernetes:apps/v1:StatefulSet", "spec.serviceName", "replace"],
    ["kubernetes:apps/v1:StatefulSet", "spec.replicas", "in-place"],
    ["kubernetes:apps/v1:StatefulSet", "spec.template.spec.containers[synapse].resources.limits.cpu", "restart"],
    ["kubernetes:apps/v1:Deployment", "spec.selector.matchLabels.app", "replace"],
    ["kubernetes:core/v1:Service", "spec.clusterIP", "replace"],
    ["kubernetes:core/v1:Service", "spec.ports", "in-place"],
    ["kubernetes:core/v1:ConfigMap", "data.homeserver.yaml", "replace"],
    ["kubernetes:core/v1:Secret", "stringData.password", "replace"],
    ["kubernetes:core/v1:Secret", "metadata.labels.app", "in-place"],
    ["kubernetes:core/v1:Secret", "type", "replace"],
    ["kubernetes:core/v1:PersistentVolumeClaim", "spec.storageClassName", "replace"],
    ["kubernetes:storage.k8s.io/v1:StorageClass", "parameters.type", "replace"],
    ["kubernetes:apps/v1:StatefulSet", "metadata.name", "replace"],
    ["aws:eks/nodeGroup:NodeGroup", "instanceTypes", "replace"],
    ["aws:eks/nodeGroup:NodeGroup", "scalingConfig.desiredSize", "in-place"],
    ["kubernetes:postgresql.cnpg.io/v1:Cluster", "spec.instances", "in-place"],
    // kube-prometheus-stack renders these into the pods' templates (or Prometheus's arguments): a rolling restart.
    ["kubernetes:helm.sh/v4:Chart", "values.prometheus.prometheusSpec.resources.requests.cpu", "restart"],
    ["kubernetes:helm.sh/v4:Chart", "values.singleBinary.resources.limits.memory", "restart"],
    ["kubernetes:helm.sh/v4:Chart", "values.prometheus.prometheusSpec.retentionSize", "restart"],
  ])("%s %s → %s", (type, path, effect) => {
    expect(effectOf(type, path)).toBe(effect);
  });
});

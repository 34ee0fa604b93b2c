/**
 * Strict validation of every Kubernetes object the program declares, at every tier and on both
 * targets, by the real API server of the control-plane tests: built-in kinds against the pinned
 * Kubernetes release's own schemas, custom kinds against the CRDs CloudNativePG and the Prometheus
 * operator publish at the releases the pinned charts ship. Each object goes through a server-side
 * apply dry run with `fieldValidation=Strict`, so an unknown or duplicated field is refused, not
 * pruned. PodSecurity admission runs too: a warning fails the test.
 *
 * Not validated here, and why: the AWS resources (no AWS API or provider is reachable) and the
 * values passed to the Helm charts (the charts cannot be downloaded; the engine tests install
 * stand-ins that carry the same CRDs). The configuration files inside ConfigMaps and Secrets are
 * proven by starting the real servers with them (see docs/testing.md).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runProgram } from "../../bin/mock-runtime";
import { TIER_USERS, TIERS } from "../fixtures/seed";
import { onTarget, SERVER_NAME } from "../helpers";
import { crdsEstablished } from "./kube/cluster";
import { ControlPlane } from "./kube/control-plane";
import { manifests, type Manifest } from "./kube/manifests";
import { allOperatorCrds, crdsFor, customKinds } from "./kube/operator-crds";

const TARGETS = ["kubernetes", "aws"] as const;
const FIELD_MANAGER = "matrix-scale-validation";

let cp: ControlPlane;
const table: string[] = [];

/** Server-side apply dry run with strict field validation; returns kubectl's status and messages. */
function dryRun(items: readonly Manifest[]) {
  return cp.kubectl(
    ["apply", "--server-side", `--field-manager=${FIELD_MANAGER}`, "--dry-run=server", "--validate=strict", "-f", "-"],
    JSON.stringify({ apiVersion: "v1", kind: "List", items }),
  );
}

function warningsOf(stderr: string): string[] {
  return stderr.split("\n").filter((line) => line.startsWith("Warning:"));
}

beforeAll(async () => {
  cp = await ControlPlane.start("kube-validation");
  const crds = allOperatorCrds();
  cp.must(["apply", "--server-side", `--field-manager=${FIELD_MANAGER}`, "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: crds }));
  await crdsEstablished(cp);
}, 180_000);

afterAll(async () => {
  await cp?.stop();
  if (table.length) console.log(["| tier | target | objects | custom objects (kinds) |", "|---|---|---|---|", ...table].join("\n"));
}, 60_000);

describe("the API server refuses what a permissive validator accepts", () => {
  const deployment = (spec: Record<string, unknown>): Manifest => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "probe", namespace: "default" },
    spec: { selector: { matchLabels: { app: "probe" } }, template: { metadata: { labels: { app: "probe" } }, spec: { containers: [{ name: "c", image: "probe:1" }] } }, ...spec },
  });
  const cluster = (spec: Record<string, unknown>): Manifest => ({
    apiVersion: "postgresql.cnpg.io/v1",
    kind: "Cluster",
    metadata: { name: "probe", namespace: "default" },
    spec: { instances: 3, storage: { size: "1Gi" }, ...spec },
  });
  const objectStore = (spec: Record<string, unknown>): Manifest => ({
    apiVersion: "barmancloud.cnpg.io/v1",
    kind: "ObjectStore",
    metadata: { name: "probe", namespace: "default" },
    spec: { configuration: { destinationPath: "s3://probe/" }, ...spec },
  });

  /** A create request straight to the API server (no client-side check), as a dry run with strict field validation. */
  const serverCreate = (object: Manifest) => {
    const [group, version] = object.apiVersion.includes("/") ? object.apiVersion.split("/") : ["", object.apiVersion];
    const plural = `${object.kind.toLowerCase()}s`;
    const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
    return cp.kubectl(["create", "--raw", `${base}/namespaces/default/${plural}?dryRun=All&fieldValidation=Strict`, "-f", "-"], JSON.stringify(object));
  };

  it("accepts the well-formed probes (so the refusals below are about the one wrong field)", () => {
    const r = dryRun([deployment({}), cluster({ affinity: { enablePodAntiAffinity: true } }), objectStore({ retentionPolicy: "30d" })]);
    expect(r.status, r.stderr).toBe(0);
    for (const object of [deployment({}), cluster({}), objectStore({})]) {
      const created = serverCreate(object);
      expect(created.status, created.stderr).toBe(0);
    }
  });

  it.each([
    ["a Deployment with `bogusField` in its spec", deployment({ bogusField: true }), "spec.bogusField"],
    ["a pod template with `nodeSelectr`", deployment({ template: { metadata: { labels: { app: "probe" } }, spec: { nodeSelectr: { a: "b" }, containers: [{ name: "c", image: "probe:1" }] } } }), "spec.template.spec.nodeSelectr"],
    ["a CloudNativePG Cluster with `affinty`", cluster({ affinty: { enablePodAntiAffinity: true } }), "spec.affinty"],
    ["a CloudNativePG Cluster with a misspelt PostgreSQL parameters block", cluster({ postgresql: { paramters: { max_connections: "100" } } }), "spec.postgresql.paramters"],
    ["a Barman Cloud ObjectStore with a misspelt sidecar block", objectStore({ instanceSidecarConfig: { resources: {} } }), "spec.instanceSidecarConfig"],
    ["a PrometheusRule with an unknown rule field", { apiVersion: "monitoring.coreos.com/v1", kind: "PrometheusRule", metadata: { name: "probe", namespace: "default" }, spec: { groups: [{ name: "g", rules: [{ alert: "A", expr: "1", fore: "5m" }] }] } } as Manifest, "spec.groups[0].rules[0].fore"],
  ])("%s is refused by the API server, naming the field, and by kubectl's apply", (_what, object, field) => {
    const server = serverCreate(object);
    expect(server.status).not.toBe(0);
    expect(server.stderr.replace(/\\"/g, '"')).toContain(`unknown field "${field}"`);
    const applied = dryRun([object]);
    expect(applied.status).not.toBe(0);
    expect(applied.stderr).toContain(`unknown field "${field.split(".").pop()!.replace(/\[\d+\]/g, "")}"`);
  });
});

describe.each(TIERS.flatMap((tier) => TARGETS.map((target) => [tier, target] as const)))("tier %s, target %s", (tier, target) => {
  let declared: Manifest[];

  beforeAll(async () => {
    const run = await runProgram({ ccu: TIER_USERS[tier]!, serverName: SERVER_NAME, ...onTarget(target) });
    declared = manifests(run.resources);
  }, 120_000);

  it("every custom kind is served by a CRD of an operator the program installs, at the version the object names", () => {
    const kinds = customKinds(declared);
    expect(kinds).toEqual(expect.arrayContaining(["postgresql.cnpg.io/v1 Cluster", "monitoring.coreos.com/v1 PrometheusRule"]));
    expect(crdsFor(declared).map((c) => `${c.spec.group}/${c.spec.versions.find((v) => v.storage)?.name} ${c.spec.names.kind}`).sort()).toEqual(kinds);
  });

  it("every object is accepted by strict server-side validation, without a warning", () => {
    const namespaces = declared.filter((m) => m.kind === "Namespace");
    const rest = declared.filter((m) => m.kind !== "Namespace");
    expect(namespaces.length).toBeGreaterThan(0);
    // Namespaced dry runs need their namespace to exist.
    cp.must(["apply", "--server-side", `--field-manager=${FIELD_MANAGER}`, "--validate=strict", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: namespaces }));
    const r = dryRun(rest);
    expect(r.status, r.stderr.slice(0, 4000)).toBe(0);
    expect(warningsOf(r.stderr)).toEqual([]);
    // kubectl reports each object it sent: all of them reached the server.
    const reported = r.stdout.split("\n").filter((line) => / (serverside-applied|created|configured|unchanged) \(server dry run\)$/.test(line));
    expect(reported.length).toBe(rest.length);
    const custom = declared.filter((m) => customKinds([m]).length > 0);
    table.push(`| ${tier} | ${target} | ${declared.length} | ${custom.length} (${[...new Set(custom.map((m) => m.kind))].join(", ")}) |`);
  });
});


/**
 * The real Pulumi engine against the real control plane: the CLI and the Kubernetes provider built
 * from the Go module proxy (scripts/install-pulumi.sh), the program as an inline Automation API
 * program, a file backend, a passphrase secrets provider. A stack at 100 users on
 * `target: kubernetes` is brought up, then moved through every tier up to 20K and back down with
 * `pulumi config set matrix-scale:ccu`, each move previewed (`pulumi preview --json`, judged by the
 * project's gate as CI does) and applied with `pulumi up`. The engine's own steps are compared with
 * `plan --from`'s classification (run as a command on the stack file the engine wrote), and every
 * object that holds data must keep its UID. Then protection is observed: destroy and a replacing
 * change are refused, and what is retained on delete is still in the cluster after a destroy.
 *
 * Stand-ins (test-only, see their files): the random provider (test/engine/random-standin.ts) and
 * the Helm charts (engine/stand-ins.ts). Everything else is the real engine and provider.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { PulumiFn, Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseUrn } from "../../bin/gate";
import { STORAGE_CLASSES } from "../../components/naming";
import { SECRET_NAMES } from "../../components/secrets";
import { program } from "../../program";
import { parseSettings, plan as planOf } from "../../sizing";
import { nodeGroups } from "../../sizing/inventory";
import { TIER_USERS } from "../fixtures/seed";
import { SERVER_NAME } from "../helpers";
import { collectSteps, engineInstalled, engineProject, engineStack, previewJson, runCli, type EngineProject, type PreviewRun } from "./engine/engine";
import { writeChartStandIns } from "./engine/stand-ins";
import { ROOT, waitFor } from "./harness";
import { addNodes, envelope, nodesFor, startZonalProvisioner, testZones, type Pod } from "./kube/cluster";
import { ControlPlane, type KubeObject } from "./kube/control-plane";

const SEQUENCE = ["100", "1k", "5k", "10k", "20k", "10k", "5k", "1k", "100"];
const NAMESPACE = "matrix";
const AS_OF = new Date("2026-11-01T00:00:00Z");
const TSX = join(ROOT, "node_modules", ".bin", "tsx");
/** Objects whose deletion or recreation loses data or the database's definition. */
const KEPT_KINDS = ["statefulsets", "persistentvolumeclaims", "clusters.postgresql.cnpg.io", "namespaces"];

/** A replacement is several steps in the engine's JSON (create-replacement, replace, delete-replaced). */
const REPLACE_OPS = new Set(["replace", "create-replacement", "delete-replaced"]);

type Expected = "create" | "delete" | "update" | "replace";

interface TierDiffJson {
  resources: {
    added: { type: string; name: string }[];
    removed: { type: string; name: string }[];
    changed: { type: string; name: string; effect: "in-place" | "restart" | "replace" }[];
  };
}

/** `plan --from`'s verdict per resource, as the engine would name its step. */
function expectedSteps(diff: TierDiffJson): Map<string, Expected> {
  const out = new Map<string, Expected>();
  for (const r of diff.resources.added) out.set(`${r.type}::${r.name}`, "create");
  for (const r of diff.resources.removed) out.set(`${r.type}::${r.name}`, "delete");
  for (const r of diff.resources.changed) out.set(`${r.type}::${r.name}`, r.effect === "replace" ? "replace" : "update");
  return out;
}

/** The engine's step per resource (a replacement's several steps folded into one). */
function engineSteps(preview: PreviewRun): Map<string, string> {
  return stepsByResource(preview.document.steps ?? []);
}

function stepsByResource(steps: readonly { op: string; urn: string }[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const step of steps) {
    const { type, name } = parseUrn(step.urn);
    const key = `${type}::${name}`;
    const op = REPLACE_OPS.has(step.op) ? "replace" : step.op;
    if (out.get(key) !== "replace") out.set(key, op);
  }
  return out;
}

/** Resources compared step by step: not the charts (stand-ins), not the engine's own (stack, providers, stack reference). */
const compared = (key: string) => !key.startsWith("kubernetes:helm.sh/v4:Chart::") && !key.startsWith("pulumi:");

/**
 * Where the engine and the tier diff disagree, over every resource either names (the engine lists
 * every resource with --show-sames; the tier diff lists what it expects to change). Charts and the
 * engine's own resources (stack, providers, the stack reference) are left out: with stand-in charts
 * the engine cannot show what the real chart's objects would do.
 */
function disagreements(expected: Map<string, Expected>, engine: Map<string, string>): string[] {
  const out: string[] = [];
  for (const key of new Set([...expected.keys(), ...engine.keys()])) {
    if (!compared(key)) continue;
    const want = expected.get(key) ?? "same";
    const got = engine.get(key) ?? "(no step)";
    if (want !== got) out.push(`${key}: plan --from says ${want}, the engine ${got}`);
  }
  return out;
}

function gateCommand(dir: string, preview: PreviewRun): { status: number; output: string } {
  const file = join(dir, `preview-${Date.now()}.json`);
  writeFileSync(file, preview.stdout);
  const r = spawnSync(TSX, [join(ROOT, "bin", "preview-gate.ts"), file, "--preview-exit-code", String(preview.exitCode)], { encoding: "utf8" });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

/** `npm run plan -- --stack FILE --from M --storage S --json`, as the workflow runs it for a pull request. */
function tierDiff(stackFile: string, fromCcu: number, storage: unknown): TierDiffJson {
  const storageFile = join(dirname(stackFile), "storage.json");
  writeFileSync(storageFile, JSON.stringify(storage));
  const r = spawnSync(TSX, [join(ROOT, "bin", "plan.ts"), "--stack", stackFile, "--from", String(fromCcu), "--storage", storageFile, "--json"], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`plan --from failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as TierDiffJson;
}

interface Move {
  move: string;
  steps: string;
  previewSeconds: number;
  upSeconds: number;
}

describe("the real Pulumi engine", () => {
  let cp: ControlPlane;
  let provisioner: ReturnType<typeof startZonalProvisioner>;
  let project: EngineProject;
  let stack: Stack;
  let inline: PulumiFn;
  const moves: Move[] = [];

  beforeAll(async () => {
    if (!engineInstalled()) throw new Error("the Pulumi CLI is not installed: run `npm test` (scripts/install-pulumi.sh builds it)");
    cp = await ControlPlane.start("engine");
    provisioner = startZonalProvisioner(cp);
    // What the operator's existing cluster provides: the node pools and storage classes the program names.
    const raw = (tier: string) => ({ ccu: TIER_USERS[tier]!, serverName: SERVER_NAME, target: "kubernetes" });
    const plans = SEQUENCE.map((tier) => planOf(parseSettings(raw(tier)), { asOf: AS_OF }));
    await addNodes(cp, nodesFor(envelope(plans.map((p) => nodeGroups(p))), testZones("us-east-1")));
    const classes = Object.values(STORAGE_CLASSES).map((name) => ({ apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name }, provisioner: "ebs.csi.aws.com", volumeBindingMode: "WaitForFirstConsumer", reclaimPolicy: "Retain", allowVolumeExpansion: true }));
    cp.must(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: classes }));

    project = engineProject();
    const chartStandIns = writeChartStandIns(mkdtempSync(join(tmpdir(), "charts-")));
    inline = () => program({ asOf: AS_OF, chartStandIns });
    stack = await engineStack(project, "engine", inline);
    await stack.setConfig("matrix-scale:ccu", { value: "100" });
    await stack.setConfig("matrix-scale:serverName", { value: SERVER_NAME });
    await stack.setConfig("matrix-scale:target", { value: "kubernetes" });
    await stack.setConfig("matrix-scale:kubernetes.namespace", { value: NAMESPACE }, true);
    await stack.setConfig("matrix-scale:kubernetes.kubeconfig", { value: cp.kubeconfig }, true);
  }, 300_000);

  afterAll(async () => {
    provisioner?.stop();
    await cp?.stop();
    if (refusedDestroyDeleted.length) console.log(`the refused destroy deleted these unprotected workloads: ${refusedDestroyDeleted.join(", ")}`);
    if (moves.length) console.log(["| move | engine steps | preview | up |", "|---|---|---|---|", ...moves.map((m) => `| ${m.move} | ${m.steps} | ${m.previewSeconds} s | ${m.upSeconds} s |`)].join("\n"));
  }, 60_000);

  let peakClaims = 0;
  let refusedDestroyDeleted: string[] = [];
  const stackFile = () => join(project.workDir, "Pulumi.engine.yaml");
  const claims = () => cp.list("persistentvolumeclaims").length;
  const uids = () => new Map(KEPT_KINDS.flatMap((kind) => cp.list(kind).map((o: KubeObject) => [`${kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`, o.metadata.uid!])));
  const summary = (p: PreviewRun) => Object.entries(p.document.changeSummary ?? {}).map(([op, n]) => `${n} ${op}`).join(", ");

  async function previewAndUp(label: string, check: (preview: PreviewRun) => void): Promise<void> {
    let started = Date.now();
    const preview = await previewJson(stack, inline);
    const previewSeconds = Math.round((Date.now() - started) / 1000);
    expect(preview.exitCode, `${label}: pulumi preview failed:\n${preview.stderr.slice(-3000)}`).toBe(0);
    const verdict = gateCommand(project.workDir, preview);
    expect(verdict.status, `${label}: the gate refused the engine's preview: ${verdict.output}`).toBe(0);
    check(preview);
    started = Date.now();
    const { steps, onEvent } = collectSteps();
    await stack.up({ onEvent, color: "never" });
    // What `pulumi up` did to each resource is what the preview the gate passed said it would do.
    const planned = engineSteps(preview);
    const done = stepsByResource(steps);
    const differs = [...new Set([...planned.keys(), ...done.keys()])].filter((k) => compared(k) && (planned.get(k) ?? "same") !== (done.get(k) ?? "same")).map((k) => `${k}: previewed ${planned.get(k) ?? "same"}, applied ${done.get(k) ?? "same"}`);
    expect(differs, `${label}: pulumi up did other than its preview`).toEqual([]);
    moves.push({ move: label, steps: summary(preview), previewSeconds, upSeconds: Math.round((Date.now() - started) / 1000) });
  }

  it("pulumi up at 100 users on target kubernetes creates every object", async () => {
    await previewAndUp("(none) → 100", (preview) => {
      const creates = (preview.document.steps ?? []).filter((s) => s.op === "create").length;
      expect(creates).toBeGreaterThan(100);
    });
    const outputs = await stack.outputs();
    expect(outputs.tier!.value).toBe("100");
    expect(cp.list("statefulsets").filter((s) => s.metadata.namespace === NAMESPACE).length).toBeGreaterThan(5);
    expect(cp.list("clusters.postgresql.cnpg.io").map((c) => c.metadata.name)).toEqual(["postgres"]);
    peakClaims = claims();
  }, 900_000);

  it("every tier move up to 20K and back: the gate passes the real preview, the engine agrees with plan --from, nothing that holds data is recreated", async () => {
    for (let i = 1; i < SEQUENCE.length; i++) {
      const from = SEQUENCE[i - 1]!;
      const to = SEQUENCE[i]!;
      const label = `${from} → ${to}`;
      await stack.setConfig("matrix-scale:ccu", { value: String(TIER_USERS[to]) });
      const storageBefore = (await stack.outputs()).storage!.value as { minio: { pools: unknown[] } };
      // The plan CLI reads the stack file as `pulumi config set` rewrote it, and the stack's storage output.
      const expected = expectedSteps(tierDiff(stackFile(), TIER_USERS[from]!, storageBefore));
      const before = uids();
      await previewAndUp(label, (preview) => {
        const engine = engineSteps(preview);
        expect([...engine.values()].filter((op) => op === "same").length, `${label}: the preview lists unchanged resources`).toBeGreaterThan(50);
        expect(disagreements(expected, engine), label).toEqual([]);
      });
      const after = uids();
      for (const [name, uid] of before) expect(after.get(name), `${label}: ${name}`).toBe(uid);
      // Pods the up just created may still be in the scheduler's queue: a pod that cannot fit stays unplaced.
      const unplaced = () => cp.list<Pod>("pods").filter((p) => !p.spec.nodeName).map((p) => p.metadata.name);
      await waitFor(`${label}: every pod placed`, async () => (unplaced().length === 0 ? true : undefined), 60_000, 1000).catch(() => undefined);
      expect(unplaced(), `${label}: pods the scheduler could not place`).toEqual([]);
      peakClaims = Math.max(peakClaims, claims());
      // The self-reference: the stack read its own last storage output, so no MinIO pool is dropped.
      const storageAfter = (await stack.outputs()).storage!.value as { minio: { pools: unknown[] } };
      expect(storageAfter.minio.pools.length, label).toBeGreaterThanOrEqual(storageBefore.minio.pools.length);
    }
    // Back at 100 users, every volume claim any tier made is still there (a scale-down keeps volumes).
    expect(claims()).toBe(peakClaims);
  }, 3_600_000);

  it("a scale-up by the HPA survives a pulumi up that rolls the synchrotrons", async () => {
    // The HPA scales through the scale subresource under load: scaled to its maximum here, then a
    // configuration change (the synchrotrons' pool size) makes `pulumi up` roll their Deployment.
    const hpa = cp.list("horizontalpodautoscalers").find((h) => h.metadata.name === "synapse-synchrotron")!;
    const { minReplicas, maxReplicas } = hpa.spec as { minReplicas: number; maxReplicas: number };
    expect(maxReplicas).toBeGreaterThan(minReplicas);
    cp.must(["scale", "deployment", "synapse-synchrotron", "-n", NAMESPACE, `--replicas=${maxReplicas}`]);
    const cpMax = planOf(parseSettings({ ccu: 100, serverName: SERVER_NAME, target: "kubernetes" }), { asOf: AS_OF }).synapse.workers.synchrotron.cpMax;
    await stack.setConfig("matrix-scale:overrides.synapse.synchrotron.cpMax", { value: String(cpMax - 1) }, true);
    const preview = await previewJson(stack, inline);
    expect(preview.exitCode, preview.stderr.slice(-2000)).toBe(0);
    expect(gateCommand(project.workDir, preview).status).toBe(0);
    expect(engineSteps(preview).get("kubernetes:apps/v1:Deployment::synapse-synchrotron")).toBe("update");
    const generation = (JSON.parse(cp.must(["get", "deployment", "synapse-synchrotron", "-n", NAMESPACE, "-o", "json"])) as { metadata: { generation: number } }).metadata.generation;
    await stack.up({ color: "never" });
    const after = JSON.parse(cp.must(["get", "deployment", "synapse-synchrotron", "-n", NAMESPACE, "-o", "json"])) as { metadata: { generation: number }; spec: { replicas: number } };
    expect(after.metadata.generation, "pulumi up rolled the synchrotrons").toBeGreaterThan(generation);
    // Without metrics the HPA holds the count it has: a reset by the apply would show here.
    expect(after.spec.replicas).toBe(maxReplicas);
  }, 600_000);

  it("protection is real: destroy and a replacing change are refused; retained objects outlive a destroy", async () => {
    // What holds data or grants access to it: volumes, the database, the Redis and MinIO StatefulSets,
    // the namespaces, the generated credentials.
    const credentialSecrets: string[] = Object.values(SECRET_NAMES).filter((n) => n !== SECRET_NAMES.synapse);
    const holdsData = (key: string) => !key.startsWith("statefulsets/") || /\/(redis-(synapse|livekit)|minio-pool-\d+)$/.test(key);
    const dataAndCredentials = () =>
      new Map([
        ...[...uids()].filter(([key]) => holdsData(key)),
        // The credential Secrets (Synapse's own config Secret is derived from them and made again by the next up).
        ...cp.list("secrets").filter((o) => credentialSecrets.some((n) => o.metadata.name.startsWith(n))).map((o) => [`secrets/${o.metadata.namespace}/${o.metadata.name}`, o.metadata.uid!] as const),
      ]);
    const workloads = () => [...cp.list("statefulsets"), ...cp.list("deployments")].filter((o) => o.metadata.namespace !== "kube-system").map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
    const beforeRefusals = dataAndCredentials();
    const workloadsBefore = workloads();
    await expect(stack.destroy({ color: "never" })).rejects.toThrow(/protected/);
    // A namespace change would replace every object, the protected namespace first.
    await stack.setConfig("matrix-scale:kubernetes.namespace", { value: "elsewhere" }, true);
    const refused = await previewJson(stack, inline);
    expect(refused.exitCode).not.toBe(0);
    expect(`${refused.stdout}${refused.stderr}`).toMatch(/protect/);
    expect(gateCommand(project.workDir, refused).status).toBe(1);
    await stack.setConfig("matrix-scale:kubernetes.namespace", { value: NAMESPACE }, true);
    // The refused operations lost nothing that holds data or credentials. (A refused destroy still
    // deletes every unprotected resource it reaches: the engine continues past protected deletes.)
    expect(dataAndCredentials()).toEqual(beforeRefusals);
    refusedDestroyDeleted = workloadsBefore.filter((w) => !workloads().includes(w));

    const retained = (o: KubeObject) => o.metadata.namespace === NAMESPACE && /^(redis-(synapse|livekit)|minio-pool-\d+)$/.test(o.metadata.name);
    const keptStatefulSets = cp.list("statefulsets").filter(retained).map((o) => o.metadata.uid);
    const claimsBefore = cp.list("persistentvolumeclaims").map((o) => o.metadata.uid).sort();
    const database = cp.list("clusters.postgresql.cnpg.io").map((o) => o.metadata.uid);
    const namespaces = cp.list("namespaces").filter((n) => [NAMESPACE, `${NAMESPACE}-calls`].includes(n.metadata.name)).map((n) => n.metadata.uid);
    expect(keptStatefulSets.length).toBeGreaterThanOrEqual(5); // two Redis and every MinIO pool (three since 20K)
    expect(namespaces).toHaveLength(2);

    await runCli(stack.workspace as never, ["state", "unprotect", "--all", "--yes", "--stack", stack.name]);
    await stack.destroy({ color: "never" });
    // The operator chart's CRDs are retained, so the database object (and the volumes it owns) stays.
    expect(cp.list("customresourcedefinitions").map((c) => c.metadata.name)).toContain("clusters.postgresql.cnpg.io");
    expect(cp.list("clusters.postgresql.cnpg.io").map((o) => o.metadata.uid)).toEqual(database);
    expect(cp.list("statefulsets").filter(retained).map((o) => o.metadata.uid)).toEqual(keptStatefulSets);
    expect(cp.list("persistentvolumeclaims").map((o) => o.metadata.uid).sort()).toEqual(claimsBefore);
    expect(cp.list("namespaces").filter((n) => [NAMESPACE, `${NAMESPACE}-calls`].includes(n.metadata.name)).map((n) => n.metadata.uid)).toEqual(namespaces);
    // What is not retained is gone, in both namespaces.
    const gone = (kind: string) => cp.list(kind).filter((o) => [NAMESPACE, `${NAMESPACE}-calls`].includes(o.metadata.namespace ?? ""));
    expect(gone("deployments").map((o) => o.metadata.name)).toEqual([]);
    expect(gone("statefulsets").filter((o) => !retained(o)).map((o) => o.metadata.name)).toEqual([]);
  }, 900_000);
});

describe("the committed stack files under the real engine", () => {
  beforeAll(() => {
    if (!engineInstalled()) throw new Error("the Pulumi CLI is not installed: run `npm test` (scripts/install-pulumi.sh builds it)");
  });

  it.each(readdirSync(ROOT).filter((f) => /^Pulumi\.[a-z0-9-]+\.yaml$/.test(f)))("%s passes the engine's config validation against Pulumi.yaml", async (file) => {
    const project = engineProject([file]);
    const stack = await engineStack(project, file.split(".")[1]!, async () => ({}));
    const preview = await previewJson(stack, async () => ({}));
    expect(preview.exitCode, preview.stderr).toBe(0);
  }, 120_000);

  it("the engine refuses a stack that lacks a key Pulumi.yaml declares without a default (the check can fail)", async () => {
    const declared = `${readFileSync(join(ROOT, "Pulumi.yaml"), "utf8")}  matrix-scale:undeclaredInStacks:\n    type: string\n`;
    const project = engineProject(["Pulumi.dev.yaml"], declared);
    const stack = await engineStack(project, "dev", async () => ({}));
    const preview = await previewJson(stack, async () => ({}));
    expect(preview.exitCode).not.toBe(0);
    expect(preview.stderr + preview.stdout).toMatch(/missing configuration value 'matrix-scale:undeclaredInStacks'/);
  }, 120_000);

  it("the dev stack renders its manifests to its directory, as the README tells a newcomer", async () => {
    const project = engineProject(["Pulumi.dev.yaml"]);
    const chartStandIns = writeChartStandIns(mkdtempSync(join(tmpdir(), "charts-")));
    const stack = await engineStack(project, "dev", () => program({ asOf: AS_OF, chartStandIns }));
    await stack.up({ color: "never" });
    const dir = join(project.workDir, "out", "manifests");
    expect(existsSync(dir)).toBe(true);
    const files = readdirSync(join(dir, "1-manifest"));
    const kinds = new Set(files.map((f) => readFileSync(join(dir, "1-manifest", f), "utf8")).map((text) => /^kind: (\w+)$/m.exec(text)?.[1]));
    for (const kind of ["Namespace", "StatefulSet", "Deployment", "Service", "ConfigMap", "Secret", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "Cluster"]) expect(kinds, kind).toContain(kind);
    expect(readdirSync(join(dir, "0-crd")).length).toBeGreaterThan(0);
  }, 600_000);
});

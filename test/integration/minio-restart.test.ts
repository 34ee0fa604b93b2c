/**
 * MinIO pool expansion the Kubernetes way, on the real control plane (kube-apiserver,
 * kube-controller-manager, kube-scheduler; KWOK nodes of the storage pool): a 5K stack's MinIO
 * objects, then the same stack at 10K (one pool appended) applied as the engine applies them.
 * The StatefulSet controller does not roll the old pool (OnDelete); then the coordinating Job's own
 * script, as rendered, runs with a token of the Job's ServiceAccount (so the Role is what grants
 * it): every old server is stopped in one request, the controller recreates them on the new
 * specification, and the script waits for every pool before it asks for the cluster's health.
 * What MinIO itself does through the same sequence is test/integration/minio.test.ts.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runProgram, type MockRun } from "../../bin/mock-runtime";
import { restartScript, SPEC_LABEL } from "../../components/coordinated-restart";
import { MINIO_RESTART_NAME, MINIO_SELECTOR } from "../../components/objectstore/server";
import { parseSettings, plan as planOf, storageState } from "../../sizing";
import { nodeGroups } from "../../sizing/inventory";
import { TIER_USERS } from "../fixtures/seed";
import { onTarget, SERVER_NAME } from "../helpers";
import { addNodes, applyManifests, isReady, nodesFor, startZonalProvisioner, testZones, watchStops, type Pod } from "./kube/cluster";
import { ControlPlane } from "./kube/control-plane";
import { coordinatingJob, runInCluster, serviceAccountDir } from "./kube/in-cluster";
import { waitFor } from "./harness";
import { manifests, type Manifest } from "./kube/manifests";

const NAMESPACE = "matrix";
const raw = (tier: string) => ({ ccu: TIER_USERS[tier]!, serverName: SERVER_NAME, ...onTarget("aws") });
const isMinio = (m: Manifest) =>
  ["Namespace", "StorageClass", "PriorityClass"].includes(m.kind) ||
  ["minio", "minio-headless", MINIO_RESTART_NAME].includes(m.metadata.name) ||
  /^minio-pool-\d+$/.test(m.metadata.name) ||
  m.metadata.labels?.["app.kubernetes.io/component"] === MINIO_RESTART_NAME;

describe("MinIO pool expansion on a real control plane: every server restarts together", () => {
  let cp: ControlPlane;
  let provisioner: ReturnType<typeof startZonalProvisioner>;
  let at5k: MockRun;
  let at10k: MockRun;
  let health: Server;
  let healthUrl = "";
  const healthCalls: number[] = [];
  const allMinioPods = () => cp.list<Pod>("pods", NAMESPACE).filter((p) => p.metadata.labels?.["app.kubernetes.io/name"] === MINIO_SELECTOR["app.kubernetes.io/name"]);
  const minioPods = () => allMinioPods().filter((p) => !p.metadata.deletionTimestamp);
  const serviceAccount = () => serviceAccountDir(cp, MINIO_RESTART_NAME, NAMESPACE);
  // The script bounds itself; the kill only stops a hung one, well inside the test's own timeout.
  const runScript = (script: string, dir: string) => runInCluster(cp, script, dir, 200_000);

  beforeAll(async () => {
    at5k = await runProgram(raw("5k"));
    at10k = await runProgram(raw("10k"), { previousOutputs: { storage: at5k.outputs.storage } });
    const settings = parseSettings(raw("10k"));
    const plan10k = planOf(settings, { previous: storageState(planOf(parseSettings(raw("5k")))) });
    cp = await ControlPlane.start("minio-restart");
    provisioner = startZonalProvisioner(cp);
    await addNodes(cp, nodesFor(nodeGroups(plan10k).filter((g) => g.row.role === "storage"), testZones(settings.aws.region)));
    health = createServer((_req, res) => {
      healthCalls.push(Date.now());
      res.end("ok");
    });
    await new Promise<void>((r) => health.listen(0, "127.0.0.1", () => r()));
    healthUrl = `http://127.0.0.1:${(health.address() as AddressInfo).port}/minio/health/cluster`;
  }, 300_000);
  afterAll(async () => {
    provisioner?.stop();
    health?.close();
    await cp?.stop();
  }, 60_000);

  it("applying the 10K objects over a running 5K pool adds the second pool and restarts nothing by itself", async () => {
    await applyManifests(cp, manifests(at5k.resources).filter(isMinio));
    const servers5k = (at5k.outputs.storage as { minio: { pools: { servers: number }[] } }).minio.pools.reduce((n, p) => n + p.servers, 0);
    const first = await waitFor(`${servers5k} MinIO servers ready`, async () => {
      const pods = minioPods();
      return pods.length === servers5k && pods.every(isReady) ? pods : undefined;
    }, 120_000, 500);
    await applyManifests(cp, manifests(at10k.resources).filter(isMinio));
    await new Promise((r) => setTimeout(r, 5000));
    const stillThere = minioPods().filter((p) => first.some((f) => f.metadata.uid === p.metadata.uid));
    expect(stillThere).toHaveLength(servers5k);
    expect(new Set(stillThere.map((p) => p.metadata.labels?.[SPEC_LABEL]))).toEqual(new Set([first[0]!.metadata.labels?.[SPEC_LABEL]]));
  }, 300_000);

  it("the Job's script, with the Job's own ServiceAccount, stops every old server in one request and waits for every pool on the new specification before the health check", async () => {
    const { hash, script } = coordinatingJob(manifests(at10k.resources), MINIO_RESTART_NAME);
    const listedAt = Date.now();
    const old = minioPods().filter((p) => p.metadata.labels?.[SPEC_LABEL] !== hash && p.status.phase === "Running");
    expect(old.length).toBeGreaterThan(0);
    const dir = serviceAccount();
    const stops = watchStops(allMinioPods, old, listedAt, 250);
    const healthUrlInScript = /curl -sS --fail --max-time 5 -o \/dev\/null "([^"]+)"/.exec(script)![1]!;
    const result = await runScript(script.replace(healthUrlInScript, healthUrl), dir);
    const allStopped = stops.end();
    expect(result.code, `${result.out}\n${cp.kubectl(["get", "statefulsets,pods", "-n", NAMESPACE, "-o", "wide", "--show-labels"]).stdout}\n${cp.kubectl(["get", "statefulsets", "-n", NAMESPACE, "-o", "jsonpath={range .items[*]}{.metadata.name} {.status}{\"\\n\"}{end}"]).stdout}`).toBe(0);
    expect(result.out).toContain(`stopped every pod not on ${SPEC_LABEL}=${hash}`);

    const pods = minioPods();
    const total = (at10k.outputs.storage as { minio: { pools: { servers: number }[] } }).minio.pools.reduce((n, p) => n + p.servers, 0);
    expect(pods).toHaveLength(total);
    expect(pods.every((p) => p.metadata.labels?.[SPEC_LABEL] === hash && isReady(p))).toBe(true);
    // Every old server went at one instant: one request, not a roll.
    expect(allStopped, "every old server was seen stopping").toBe(true);
    expect(stops.together(), "one request, not a roll").toBe(true);
    // The health check came after every pool was settled (the script's last step), exactly once it answered.
    const lastOld = Math.max(...stops.lastRunning.values());
    expect(healthCalls.length).toBeGreaterThanOrEqual(1);
    expect(healthCalls[0]!).toBeGreaterThanOrEqual(lastOld);
    console.log(`MinIO restart on the control plane: ${old.length} old servers stopped at one instant; health asked ${healthCalls[0]! - lastOld} ms after the last was seen running; ${total} servers on ${hash}`);
  }, 240_000);

  it("the script fails when a pool never settles (the wait can fail), and without the Role's grant it cannot stop a pod", async () => {
    const dir = serviceAccount();
    // One server more than the pool's nodes: the new one cannot be placed (one server per node).
    const servers = Number(cp.must(["get", "statefulset", "minio-pool-1", "-n", NAMESPACE, "-o", "jsonpath={.spec.replicas}"]).trim());
    cp.must(["scale", "statefulset", "minio-pool-1", "-n", NAMESPACE, `--replicas=${servers + 1}`]);
    const none = { selector: { "app.kubernetes.io/name": "no-such-pods" }, current: { label: SPEC_LABEL, value: "x" }, healthUrl, pollSeconds: 1 };
    const stuck = await runScript(restartScript({ ...none, workloads: [{ kind: "statefulsets", name: "minio-pool-1" }], timeoutSeconds: 6 }), dir);
    expect(stuck.code).not.toBe(0);
    expect(stuck.out).toMatch(/gave up after 6 s waiting for: settled statefulsets minio-pool-1/);
    // The Role names its StatefulSets: another one is forbidden.
    const refused = await runScript(restartScript({ ...none, workloads: [{ kind: "statefulsets", name: "redis-synapse" }], timeoutSeconds: 4 }), dir);
    expect(refused.code).not.toBe(0);
    expect(refused.out).toMatch(/403/);
  }, 60_000);
});

/**
 * A shard change the Kubernetes way, on the real control plane (kube-apiserver,
 * kube-controller-manager, kube-scheduler; KWOK nodes of the application pool): a 5K stack's
 * Synapse objects, then the 10K ones (more named workers: a new instance_map) applied in the
 * engine's order: the workloads, then the topology ConfigMap, then the coordinating Job.
 *
 * KWOK runs no containers, so this test stands in for the kubelet's one step that matters here:
 * each pod's gate (its init container's script, as rendered) runs on this machine with a token of
 * the pods' ServiceAccount, and KWOK makes a pod ready only once its gate has exited 0 (the pod is
 * annotated then; the stages file below asks for that annotation). Everything else is the real
 * controllers: the StatefulSets' and Deployments' rolls, the old ReplicaSets recreating stopped
 * pods, the Job's script with the Job's own ServiceAccount.
 * What Synapse itself does through the same sequence is test/integration/synapse-shard-change.test.ts.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runProgram, type MockRun } from "../../bin/mock-runtime";
import { SYNAPSE_POD_SELECTOR, SYNAPSE_TOPOLOGY } from "../../components/synapse/manifests";
import { parseSettings, plan as planOf } from "../../sizing";
import { nodeGroups } from "../../sizing/inventory";
import { TIER_USERS } from "../fixtures/seed";
import { onTarget, SERVER_NAME } from "../helpers";
import { waitFor } from "./harness";
import { addNodes, applyManifests, isReady, nodesFor, testZones, watchStops, type Pod } from "./kube/cluster";
import { ControlPlane, KWOK_STAGES } from "./kube/control-plane";
import { coordinatingJob, runInCluster, serviceAccountDir, startInCluster, type InClusterRun } from "./kube/in-cluster";
import { manifests, type Manifest } from "./kube/manifests";

const NAMESPACE = "matrix";
const GATE_PASSED = "matrix-scale-test/gate";
const raw = (tier: string) => ({ ccu: TIER_USERS[tier]!, serverName: SERVER_NAME, ...onTarget("aws") });
const isSynapse = (m: Manifest) =>
  ["Namespace", "PriorityClass"].includes(m.kind) ||
  (m.metadata.name.startsWith("synapse") && !m.metadata.name.startsWith("synapse-haproxy") && m.kind !== "Job" && m.kind !== "NetworkPolicy");
const isTopologyMap = (m: Manifest) => m.kind === "ConfigMap" && m.metadata.name === SYNAPSE_TOPOLOGY.configMap;
const topologyOf = (p: Pod) => p.metadata.labels?.[SYNAPSE_TOPOLOGY.label];

/** KWOK's stages, except that a pod becomes ready only once the test's kubelet stand-in has seen its gate pass. */
function gatedStages(dir: string): string {
  const stages = readFileSync(KWOK_STAGES, "utf8");
  const marker = "  name: pod-ready\n";
  const at = stages.indexOf(marker);
  const selector = stages.indexOf("    matchExpressions:\n", at);
  if (at < 0 || selector < 0) throw new Error(`no pod-ready stage with matchExpressions in ${KWOK_STAGES}`);
  const insertAt = selector + "    matchExpressions:\n".length;
  const file = join(dir, "kwok-stages-gated.yaml");
  writeFileSync(file, `${stages.slice(0, insertAt)}    - key: '.metadata.annotations["${GATE_PASSED}"]'\n      operator: 'In'\n      values:\n      - 'passed'\n${stages.slice(insertAt)}`);
  return file;
}

describe("a Synapse shard change on a real control plane: every process stops, then all start on the new map", () => {
  let cp: ControlPlane;
  let at5k: MockRun;
  let at10k: MockRun;
  let gateAccount = "";
  const gates = new Map<string, InClusterRun>();
  /** When each pod's gate passed (pod uid → ms), and the topology it passed on. */
  const passed = new Map<string, { at: number; topology: string | undefined }>();
  const running: { at: number; topologies: Set<string | undefined> }[] = [];
  let kubelet: NodeJS.Timeout | undefined;

  const synapsePods = () => cp.list<Pod>("pods", NAMESPACE).filter((p) => p.metadata.labels?.["app.kubernetes.io/name"] === SYNAPSE_POD_SELECTOR["app.kubernetes.io/name"]);
  const live = () => synapsePods().filter((p) => !p.metadata.deletionTimestamp);

  /** The kubelet stand-in: runs each scheduled pod's gate once; a gate that passes marks its pod. */
  const standInKubelet = () => {
    const pods = synapsePods();
    running.push({ at: Date.now(), topologies: new Set(pods.filter((p) => p.status.phase === "Running").map(topologyOf)) });
    for (const pod of pods) {
      const uid = pod.metadata.uid!;
      if (pod.metadata.deletionTimestamp) {
        gates.get(uid)?.stop();
        continue;
      }
      if (gates.has(uid) || !pod.spec.nodeName) continue;
      const gate = (pod.spec.initContainers as { name: string; command: string[] }[]).find((c) => c.name === "topology-gate")!;
      const run = startInCluster(cp, gate.command[2]!, gateAccount, 600_000);
      gates.set(uid, run);
      void run.done.then(({ code }) => {
        if (code !== 0) return;
        passed.set(uid, { at: Date.now(), topology: topologyOf(pod) });
        cp.kubectl(["annotate", "pod", pod.metadata.name, "-n", NAMESPACE, `${GATE_PASSED}=passed`]);
      });
    }
  };

  beforeAll(async () => {
    at5k = await runProgram(raw("5k"));
    at10k = await runProgram(raw("10k"), { previousOutputs: { storage: at5k.outputs.storage } });
    const settings = parseSettings(raw("10k"));
    cp = await ControlPlane.start("synapse-restart", { kwokStages: gatedStages(join(process.env.TMPDIR ?? "/tmp")) });
    await addNodes(cp, nodesFor(nodeGroups(planOf(settings)).filter((g) => g.row.role === "application"), testZones(settings.aws.region)));
  }, 300_000);
  afterAll(async () => {
    clearInterval(kubelet);
    for (const g of gates.values()) g.stop();
    await cp?.stop();
  }, 60_000);

  it("at 5K every pod's gate waits for the topology ConfigMap, then every process starts", async () => {
    const list = manifests(at5k.resources).filter(isSynapse);
    await applyManifests(cp, list.filter((m) => !isTopologyMap(m)));
    gateAccount = serviceAccountDir(cp, SYNAPSE_TOPOLOGY.account, NAMESPACE);
    kubelet = setInterval(standInKubelet, 200);
    const expected = planOf(parseSettings(raw("5k"))).synapse.processes;
    const waiting = await waitFor(`${expected} Synapse pods placed, each with its gate running`, async () => {
      const pods = live();
      return pods.length === expected && pods.every((p) => gates.has(p.metadata.uid!)) ? pods : undefined;
    }, 120_000, 500);
    // Time in which a gate that could pass would have passed.
    await new Promise((r) => setTimeout(r, 3000));
    expect([...passed.values()], "gates passed before the ConfigMap names their topology").toEqual([]);
    expect(waiting.filter(isReady), "ready before the ConfigMap names their topology").toEqual([]);
    await applyManifests(cp, list.filter(isTopologyMap));
    await waitFor(`${expected} Synapse pods ready`, async () => {
      const pods = live();
      return pods.length === expected && pods.every(isReady) ? true : undefined;
    }, 120_000, 500);
  }, 420_000);

  it("the 10K workloads alone restart nothing on the new map: their first new pods wait at the gate beside the running fleet", async () => {
    const before = live();
    const old = before[0] ? topologyOf(before[0]) : undefined;
    await applyManifests(cp, manifests(at10k.resources).filter(isSynapse).filter((m) => !isTopologyMap(m)));
    // The rolls create their first pods on the new topology; they wait at the gate.
    const fresh = await waitFor("the rolls' first pods on the new topology, each with its gate running", async () => {
      const now = live().filter((p) => topologyOf(p) !== old);
      return now.some((p) => gates.has(p.metadata.uid!)) ? now : undefined;
    }, 60_000, 500);
    // Time in which a gate that could pass would have passed.
    await new Promise((r) => setTimeout(r, 3000));
    expect(fresh.filter((p) => live().some((q) => q.metadata.uid === p.metadata.uid && isReady(q)))).toEqual([]);
    expect([...passed.values()].filter((p) => p.topology !== old)).toEqual([]);
  }, 120_000);

  it("the Job's script stops every process of the old map in one request; no new process starts before the last old one stops; the fleet settles on the new map", async () => {
    const list = manifests(at10k.resources);
    await applyManifests(cp, list.filter(isSynapse).filter(isTopologyMap));
    const { name, script } = coordinatingJob(list, SYNAPSE_TOPOLOGY.restart);
    const hash = /matrix-scale%2Ftopology!%3D([0-9a-f]+)/.exec(script)![1]!;
    const listedAt = Date.now();
    const old = live().filter((p) => topologyOf(p) !== hash && p.status.phase === "Running");
    expect(old.length).toBeGreaterThan(0);
    const stops = watchStops(synapsePods, old, listedAt);
    const started = Date.now();
    const result = await runInCluster(cp, script, serviceAccountDir(cp, SYNAPSE_TOPOLOGY.restart, NAMESPACE), 300_000);
    const settled = Date.now();
    const allStopped = stops.end();
    expect(result.code, `${name}\n${result.out}\n${cp.kubectl(["get", "statefulsets,deployments,pods", "-n", NAMESPACE, "-o", "wide", "--show-labels"]).stdout}`).toBe(0);
    expect(result.out).toContain(`stopped every pod not on ${SYNAPSE_TOPOLOGY.label}=${hash}`);

    const plan10k = planOf(parseSettings(raw("10k")));
    const pods = live();
    expect(pods.filter((p) => topologyOf(p) === hash && isReady(p))).toHaveLength(plan10k.synapse.processes);
    // The old ReplicaSets were scaled to none: nothing of the old map is left, so every autoscaled pod started at once.
    expect(pods.filter((p) => topologyOf(p) !== hash).map((p) => p.metadata.name)).toEqual([]);
    expect(allStopped, "every old process was seen stopping").toBe(true);
    // One collection delete: one instant at which every old process stopped; a roll would wait for each
    // successor pod to be created and pass its gate before stopping the next.
    expect(stops.together(), "one request, not a roll").toBe(true);
    const firstNew = Math.min(...[...passed.values()].filter((p) => p.topology === hash).map((p) => p.at));
    const lastOld = Math.max(...stops.lastRunning.values());
    // A gate passes only once no old pod runs: after each was last seen running.
    expect(firstNew).toBeGreaterThanOrEqual(lastOld);
    // At no sample did processes of two topologies run at once.
    expect(running.filter((s) => s.topologies.size > 1).map((s) => [...s.topologies])).toEqual([]);
    console.log(
      `Synapse shard change on the control plane: ${old.length} old processes stopped at one instant (last seen running ${lastOld - started} ms after the Job started); ` +
        `first new process ${firstNew - lastOld} ms after that; all ${plan10k.synapse.processes} on ${hash} ${((settled - started) / 1000).toFixed(1)} s after the Job started`,
    );
  }, 360_000);
});

/**
 * Every tier move, up and down, as the stack would run it (its recorded storage read back): no
 * resource that holds data is replaced or deleted, existing MinIO pools and volumes are kept, and
 * node groups that must change instance type get a new group beside the old.
 *
 * What holds data and what forces a replacement are written here from the Kubernetes API
 * reference and the providers' schemas, not taken from the program's own classifier
 * (bin/changes.ts); the engine tests prove the same on the real engine by object UIDs.
 */
import { describe, expect, it } from "vitest";
import { resourceDiff } from "../../bin/diff";
import { runProgram, type DeclaredResource, type MockRun } from "../../bin/mock-runtime";
import { TIER_USERS, TIERS } from "../fixtures/seed";
import { onTarget, SERVER_NAME } from "../helpers";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const fresh = new Map<string, MockRun>();
async function first(tier: string, target: string): Promise<MockRun> {
  const key = `${tier}/${target}`;
  if (!fresh.has(key)) fresh.set(key, await runProgram({ ccu: TIER_USERS[tier]!, serverName: SERVER_NAME, ...onTarget(target) }));
  return fresh.get(key)!;
}

/** Resources whose loss or replacement loses data or locks clients out (docs/data-tier.md). */
function holdsData(r: DeclaredResource): boolean {
  if (r.type === "kubernetes:apps/v1:StatefulSet") return ((r.inputs.spec as Obj | undefined)?.volumeClaimTemplates ?? []).length > 0;
  // A Secret with a fixed name is deleted before its replacement exists: pods that start in between
  // fail. A provider-named one (a configuration file such as LiveKit's) is created beside the old.
  if (r.type === "kubernetes:core/v1:Secret") return !r.autoName;
  return [
    "kubernetes:postgresql.cnpg.io/v1:Cluster",
    "kubernetes:core/v1:PersistentVolumeClaim",
    "kubernetes:core/v1:Namespace",
    // Generated credentials: a new value locks every client out.
    "random:index/randomPassword:RandomPassword",
    "random:index/randomString:RandomString",
    "random:index/randomBytes:RandomBytes",
    "aws:eks/cluster:Cluster",
  ].includes(r.type);
}

/**
 * Input paths whose change makes Pulumi replace the resource:
 * - every Kubernetes object: its name and namespace (the object's identity);
 * - StatefulSet: every spec field except replicas, template, updateStrategy,
 *   persistentVolumeClaimRetentionPolicy, minReadySeconds, ordinals, revisionHistoryLimit (the API
 *   server refuses other updates: "updates to statefulset spec for fields other than ... are forbidden");
 * - PersistentVolumeClaim: every spec field except the storage request (which may only grow);
 * - Secret: its data (the provider replaces a Secret whose data changes);
 * - random resources: every input (each is marked "forces replacement" in the random provider's schema);
 * - EKS cluster: its name and role (ForceNew in the AWS provider).
 */
function replacementPaths(r: DeclaredResource, next: DeclaredResource): string[] {
  const changed = (path: string[]) => JSON.stringify(dig(r.inputs, path)) !== JSON.stringify(dig(next.inputs, path));
  const keys = (path: string[]) => [...new Set([...Object.keys((dig(r.inputs, path) as Obj | undefined) ?? {}), ...Object.keys((dig(next.inputs, path) as Obj | undefined) ?? {})])];
  const found: string[] = [];
  const check = (path: string[]) => changed(path) && found.push(path.join("."));
  if (r.type.startsWith("kubernetes:")) {
    check(["metadata", "name"]);
    check(["metadata", "namespace"]);
    if (r.autoName !== next.autoName) found.push("(auto-name)");
  }
  if (r.type === "kubernetes:apps/v1:StatefulSet") {
    const mutable = new Set(["replicas", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy", "minReadySeconds", "ordinals", "revisionHistoryLimit"]);
    for (const k of keys(["spec"]).filter((k) => !mutable.has(k))) check(["spec", k]);
  }
  if (r.type === "kubernetes:core/v1:PersistentVolumeClaim") for (const k of keys(["spec"]).filter((k) => k !== "resources")) check(["spec", k]);
  if (r.type === "kubernetes:core/v1:Secret") for (const k of ["data", "stringData", "type"]) check([k]);
  if (r.type.startsWith("random:")) for (const k of keys([])) check([k]);
  if (r.type === "aws:eks/cluster:Cluster") for (const k of ["name", "roleArn"]) check([k]);
  return found;
}

function dig(value: unknown, path: string[]): unknown {
  return path.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Obj)[k] : undefined), value);
}

/** What a move would lose: data-holding resources deleted or replaced. */
function losses(before: readonly DeclaredResource[], after: readonly DeclaredResource[]): string[] {
  const next = new Map(after.map((r) => [r.urn, r]));
  return before.filter(holdsData).flatMap((r) => {
    const successor = next.get(r.urn);
    if (!successor) return [`${r.type} ${r.name} deleted`];
    const paths = replacementPaths(r, successor);
    return paths.length ? [`${r.type} ${r.name} replaced (${paths.join(", ")})`] : [];
  });
}

describe("the data-loss judge can fail", () => {
  const sts = (claims: unknown[], serviceName = "s"): DeclaredResource => ({ type: "kubernetes:apps/v1:StatefulSet", name: "minio-pool-0", urn: "u1", inputs: { metadata: { name: "m" }, spec: { serviceName, replicas: 4, volumeClaimTemplates: claims } }, secretPaths: [] });
  it.each([
    ["a deleted volume-carrying StatefulSet", [sts([{ size: 1 }])], [], /deleted/],
    ["a StatefulSet whose volume templates change", [sts([{ size: 1 }])], [sts([{ size: 2 }])], /replaced \(spec.volumeClaimTemplates\)/],
    ["a StatefulSet whose service name changes", [sts([{ size: 1 }])], [sts([{ size: 1 }], "t")], /replaced \(spec.serviceName\)/],
  ] as const)("%s is a loss", (_what, before, after, message) => {
    expect(losses(before, after).join("\n")).toMatch(message);
  });
  it("more replicas are not", () => {
    const before = sts([{ size: 1 }]);
    const after = { ...before, inputs: { ...before.inputs, spec: { ...(before.inputs.spec as Obj), replicas: 8 } } };
    expect(losses([before], [after])).toEqual([]);
  });
});

const pairs = TIERS.flatMap((a) => TIERS.filter((b) => b !== a).map((b) => [a, b] as const));

describe.each(["kubernetes", "aws"])("target %s: every tier move", (target) => {
  it.each(pairs)("%s → %s replaces or deletes nothing that holds data", async (from, to) => {
    const before = await first(from, target);
    const after = await runProgram({ ccu: TIER_USERS[to]!, serverName: SERVER_NAME, ...onTarget(target) }, { previousOutputs: { storage: before.outputs.storage } });
    expect(losses(before.resources, after.resources)).toEqual([]);
    const diff = resourceDiff(before.resources, after.resources);

    const storageBefore = before.outputs.storage as Obj;
    const storageAfter = after.outputs.storage as Obj;
    expect(storageAfter.minio.pools.slice(0, storageBefore.minio.pools.length)).toEqual(storageBefore.minio.pools);
    expect(storageAfter.postgres.storageGB).toBeGreaterThanOrEqual(storageBefore.postgres.storageGB);

    // A node group is only ever removed beside a new group for the same pool.
    const removedGroups = diff.removed.filter((r) => r.type === "aws:eks/nodeGroup:NodeGroup");
    for (const group of removedGroups) {
      const role = group.name.split("-")[1];
      expect(diff.added.some((a) => a.type === "aws:eks/nodeGroup:NodeGroup" && a.name.split("-")[1] === role), group.name).toBe(true);
    }
  });
});

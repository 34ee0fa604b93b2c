/**
 * The tier diff's "while it applies, and by hand" rules. Each fixture is written here from the
 * behaviour of the software that acts on the change (CloudNativePG's rolling-update and scaling
 * code, PostgreSQL's hot-standby rule, Kubernetes' StatefulSet retention default, EKS's managed
 * node update phases, EC2 Auto Scaling's termination policy, the EBS ModifyVolume cooldown), not
 * from the program's resources; then real tier moves of the program show the rules firing where
 * the tiers' tables say they must.
 */
import { describe, expect, it } from "vitest";
import { consequences, secretsReadBy, type Consequence } from "../../bin/consequences";
import { runProgram, type DeclaredResource } from "../../bin/mock-runtime";
import { PARAMETER_CONTEXT } from "../../bin/postgres-parameters";
import { TIER_USERS } from "../fixtures/seed";
import { onTarget, SERVER_NAME } from "../helpers";

type Obj = Record<string, unknown>;
let urn = 0;
function resource(type: string, name: string, inputs: Obj, autoName?: string): DeclaredResource {
  return { type, name, urn: `urn:${type}:${name}:${urn++}`, inputs, secretPaths: [], ...(autoName ? { autoName } : {}) };
}
/** The same resource (same URN) with other inputs. */
const changed = (r: DeclaredResource, inputs: Obj): DeclaredResource => ({ ...r, inputs });
const only = (list: Consequence[]) => {
  expect(list).toHaveLength(1);
  return list[0]!;
};

const storageClass = (name: string, reclaimPolicy?: string) =>
  resource("kubernetes:storage.k8s.io/v1:StorageClass", name, { metadata: { name }, provisioner: "ebs.csi.aws.com", ...(reclaimPolicy ? { reclaimPolicy } : {}) });

describe("Secrets whose data changes", () => {
  const secret = resource("kubernetes:core/v1:Secret", "creds", { metadata: { name: "creds", namespace: "matrix" }, stringData: { password: "a" } });
  const reader = resource("kubernetes:apps/v1:Deployment", "app", {
    metadata: { name: "app", namespace: "matrix" },
    spec: { template: { spec: { containers: [{ env: [{ name: "P", valueFrom: { secretKeyRef: { name: "creds", key: "password" } } }] }] } } },
  });
  const bystander = resource("kubernetes:apps/v1:Deployment", "other", { metadata: { name: "other", namespace: "matrix" }, spec: { template: { spec: { containers: [{ image: "x" }] } } } });

  it("a fixed name is deleted first, and a reader whose template does not change must be restarted by hand", () => {
    const c = only(consequences([secret, reader, bystander], [changed(secret, { ...secret.inputs, stringData: { password: "b" } }), reader, bystander]));
    expect(c.during).toMatch(/deleted, then created/);
    expect(c.byHand).toBe("after pulumi up, restart what still holds the old value: kubectl -n matrix rollout restart deployment/app");
  });

  it("a reader whose template changes restarts anyway: nothing by hand", () => {
    const rolled = changed(reader, { ...reader.inputs, spec: { template: { spec: { containers: [{ image: "y", env: (reader.inputs as any).spec.template.spec.containers[0].env }] } } } }); // eslint-disable-line @typescript-eslint/no-explicit-any
    const c = only(consequences([secret, reader], [changed(secret, { ...secret.inputs, stringData: { password: "b" } }), rolled]));
    expect(c.byHand).toBeUndefined();
  });

  it("a provider-named Secret is created before the old one goes; unchanged data is no consequence", () => {
    const named = resource("kubernetes:core/v1:Secret", "cfg", { metadata: { namespace: "matrix" }, stringData: { a: "1" } }, "cfg-1234");
    expect(only(consequences([named], [changed(named, { ...named.inputs, stringData: { a: "2" } })])).during).toMatch(/created under a new name before the old one is deleted/);
    expect(consequences([secret, reader], [secret, reader])).toEqual([]);
  });

  it("reads every way a pod can name a Secret", () => {
    const template = {
      spec: {
        containers: [{ env: [{ valueFrom: { secretKeyRef: { name: "a" } } }], envFrom: [{ secretRef: { name: "b" } }] }],
        volumes: [{ secret: { secretName: "c" } }, { projected: { sources: [{ secret: { name: "d" } }] } }, { configMap: { name: "not-a-secret" } }],
      },
    };
    expect([...secretsReadBy(template)].sort()).toEqual(["a", "b", "c", "d"]);
  });
});

describe("a CloudNativePG Cluster that changes", () => {
  const cluster = (spec: Obj) => resource("kubernetes:postgresql.cnpg.io/v1:Cluster", "postgres", { metadata: { name: "postgres", namespace: "matrix" }, spec });
  const base = { instances: 3, primaryUpdateStrategy: "unsupervised", postgresql: { parameters: { shared_buffers: "4GB", max_connections: "200", work_mem: "20MB" } }, resources: { requests: { cpu: "2" } }, storage: { size: "100G", storageClass: "db" } };
  const move = (spec: Obj, extra: DeclaredResource[] = []) => {
    const before = cluster(base);
    return consequences([before, ...extra], [changed(before, { ...before.inputs, spec: { ...base, ...spec } }), ...extra]);
  };
  const params = (p: Obj) => ({ postgresql: { parameters: { ...base.postgresql.parameters, ...p } } });

  it("raising a restart parameter: standbys first, then a switchover", () => {
    const c = only(move(params({ shared_buffers: "8GB" })));
    expect(c.during).toMatch(/^shared_buffers need a restart: CloudNativePG restarts each standby in turn, then switches the primary over/);
  });

  it("lowering a hot-standby-sensitive parameter: the primary restarts in place first, no switchover", () => {
    const c = only(move(params({ max_connections: "100" })));
    expect(c.during).toMatch(/lowering max_connections must reach the primary before any standby.*restarts the primary in place first, without a switchover/);
  });

  it("a reload parameter only: reloaded, no restart", () => {
    expect(only(move(params({ work_mem: "40MB" }))).during).toBe("work_mem is reloaded without a restart");
  });

  it("a parameter with no known context is taken to need a restart", () => {
    expect(PARAMETER_CONTEXT.wal_level).toBeUndefined();
    expect(only(move(params({ wal_level: "logical" }))).during).toMatch(/^wal_level need a restart/);
  });

  it("resources or the image restart the instances too; supervised leaves the switchover to the operator", () => {
    expect(only(move({ resources: { requests: { cpu: "4" } } })).during).toMatch(/^the instances' resources change: CloudNativePG restarts each standby/);
    const c = only(move({ imageName: "postgresql:17.7", primaryUpdateStrategy: "supervised" }));
    expect(c.during).toMatch(/^the image changes: .*waits for a switchover/);
    expect(c.byHand).toMatch(/^when the standbys are updated: kubectl cnpg promote postgres <an updated standby> -n matrix$/);
  });

  // The Barman Cloud plugin's migration.md: moving the Cluster to the plugin "will trigger a rolling update";
  // its usage.md: sidecar settings "take effect at the next Cluster reconciliation, and could generate a rollout".
  it("moving backups to the plugin, or changing the sidecar its ObjectStore sets, restarts the instances with a switchover", () => {
    const plugins = [{ name: "barman-cloud.cloudnative-pg.io", isWALArchiver: true, parameters: { barmanObjectName: "store" } }];
    expect(only(move({ plugins, backup: undefined })).during).toMatch(/^the backup plugin changes \(its sidecar joins or leaves every instance pod\): CloudNativePG restarts each standby in turn, then switches the primary over/);
    const store = (cpu: string, name = "store") =>
      resource("kubernetes:barmancloud.cnpg.io/v1:ObjectStore", name, { metadata: { name, namespace: "matrix" }, spec: { instanceSidecarConfiguration: { resources: { requests: { cpu } } } } });
    const before = cluster({ ...base, plugins });
    const was = store("1");
    const resized = changed(was, store("2").inputs);
    expect(only(consequences([before, was], [before, resized])).during).toMatch(/^the backup sidecar's settings change: CloudNativePG restarts each standby/);
    // Another ObjectStore, one the Cluster does not name, changes nothing for it.
    const other = store("1", "elsewhere");
    expect(consequences([before, was, other], [before, was, changed(other, store("2", "elsewhere").inputs)])).toEqual([]);
  });

  it("fewer instances: their claims are deleted, and volumes a Retain class keeps are left to delete by hand", () => {
    const kept = only(move({ instances: 2 }, [storageClass("db", "Retain")]));
    expect(kept.during).toBe("CloudNativePG removes 1 standby instance and deletes its volume claim");
    expect(kept.byHand).toMatch(/Released PersistentVolumes .*grep 'postgres-' \| grep Released/);
    expect(only(move({ instances: 2 }, [storageClass("db")])).byHand).toBeUndefined();
  });

  it("more instances: new standbys cloned from the primary", () => {
    expect(only(move({ instances: 5 })).during).toBe("2 new standbys are cloned from the primary (pg_basebackup streams the whole database from it)");
  });

  it("an EBS volume that grows and changes performance in one move needs two modifications 6 hours apart", () => {
    const both = only(move({ storage: { size: "200G", storageClass: "db", pvcTemplate: { volumeAttributesClassName: "fast" } } }, [storageClass("db", "Retain")]));
    expect(both.during).toBe("the volumes grow to 200G and take the new IOPS and throughput, online; EBS accepts one modification per volume every 6 hours (EC2 ModifyVolume)");
    expect(both.byHand).toMatch(/two modifications/);
    const grow = only(move({ storage: { size: "200G", storageClass: "db" } }, [storageClass("db", "Retain")]));
    expect(grow.byHand).toBeUndefined();
  });
});

describe("a StatefulSet with volumes scaled down", () => {
  const set = (replicas: number, extra: Obj = {}) =>
    resource("kubernetes:apps/v1:StatefulSet", "redis", {
      metadata: { name: "redis", namespace: "matrix" },
      spec: { replicas, volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { storageClassName: "app" } }], ...extra },
    });
  const scale = (from: DeclaredResource, replicas: number) => changed(from, { ...from.inputs, spec: { ...(from.inputs.spec as Obj), replicas } });

  it("keeps the removed ordinals' claims, named as the StatefulSet controller names them", () => {
    const before = set(5);
    const c = only(consequences([before, storageClass("app", "Retain")], [scale(before, 3), storageClass("app", "Retain")]));
    expect(c.during).toMatch(/their volume claims stay \(data-redis-3, data-redis-4\)/);
    expect(c.byHand).toBe("when the data is no longer wanted: kubectl -n matrix delete pvc data-redis-3 data-redis-4; their PersistentVolumes are retained (Released) and their disks billed until deleted too");
  });

  it("nothing when the claims are deleted on scale-down, when it grows, or without volumes", () => {
    const deleting = set(5, { persistentVolumeClaimRetentionPolicy: { whenScaled: "Delete" } });
    expect(consequences([deleting], [scale(deleting, 3)])).toEqual([]);
    const small = set(3);
    expect(consequences([small], [scale(small, 5)])).toEqual([]);
    const plain = resource("kubernetes:apps/v1:StatefulSet", "web", { metadata: { name: "web" }, spec: { replicas: 5 } });
    expect(consequences([plain], [scale(plain, 3)])).toEqual([]);
  });
});

describe("node groups", () => {
  const template = resource("aws:ec2/launchTemplate:LaunchTemplate", "matrix-monitoring", { blockDeviceMappings: [{ ebs: { volumeSize: 50 } }] });
  const group = (name: string, desiredSize: number) =>
    resource("aws:eks/nodeGroup:NodeGroup", name, { instanceTypes: ["m7i.xlarge"], scalingConfig: { desiredSize, minSize: desiredSize, maxSize: desiredSize }, updateConfig: { maxUnavailable: 1 } });

  it("a launch template change rolls every node of the group built on it, and only that group", () => {
    const mine = group("matrix-monitoring-m7i-xlarge", 1);
    const other = group("matrix-monitoring-z1-m7i-xlarge", 1);
    const c = only(consequences([template, mine, other], [changed(template, { blockDeviceMappings: [{ ebs: { volumeSize: 80 } }] }), mine, other]));
    expect(c.subject).toBe("NodeGroup matrix-monitoring-m7i-xlarge");
    expect(c.during).toMatch(/every node is replaced .* drains the old ones 1 at a time through the eviction API/);
    expect(c.byHand).toMatch(/PodEvictionFailure/);
    expect(consequences([template, mine], [template, mine])).toEqual([]);
  });

  it("a group that shrinks says the Auto Scaling group picks, and how to choose with scale-in protection", () => {
    const before = group("matrix-database-m7i-8xlarge", 2);
    const c = only(consequences([before], [changed(before, { ...before.inputs, scalingConfig: { desiredSize: 1, minSize: 1, maxSize: 1 } })]));
    expect(c.during).toMatch(/^2 → 1 nodes: the Auto Scaling group picks which 1 go/);
    expect(c.byHand).toMatch(/grep ' matrix-database-m7i-8xlarge-'.*kubectl drain.*set-instance-protection --protected-from-scale-in.*pulumi up.*--no-protected-from-scale-in/);
    const grows = group("matrix-database-m7i-8xlarge", 1);
    expect(consequences([grows], [changed(grows, { ...grows.inputs, scalingConfig: { desiredSize: 2, minSize: 2, maxSize: 2 } })])).toEqual([]);
  });
});

describe("a coordinating Job", () => {
  // components/coordinated-restart.ts: a run stops every pod of the fleet without the label value in its annotation.
  const job = (hash: string, stops: string) =>
    resource("kubernetes:batch/v1:Job", "fleet-restart", {
      metadata: { name: `fleet-restart-${hash}`, annotations: { "matrix-scale/coordinated-restart": "every process stops at once", "matrix-scale/stops-pods-not-on": `matrix-scale/topology=${stops}` } },
    });

  it("a new run with a new label value stops the fleet, and the diff says so", () => {
    const before = job("aaa", "t1");
    const after = changed(before, job("bbb", "t2").inputs);
    expect(only(consequences([before], [after])).during).toMatch(/^every process stops at once; pulumi up waits for it/);
  });

  it("a new run that keeps the label value only waits for the rolls: nothing to say", () => {
    const before = job("aaa", "t1");
    expect(consequences([before], [changed(before, job("bbb", "t1").inputs)])).toEqual([]);
  });

  it("a coordinating Job new to a running deployment stops its fleet once (the pods carry no label yet); on a first install there is nothing to stop", () => {
    const running = resource("kubernetes:apps/v1:StatefulSet", "fleet", { metadata: { name: "fleet" } });
    const added = job("aaa", "t1");
    expect(only(consequences([running], [running, added])).subject).toBe("Job fleet-restart");
    expect(consequences([], [running, added])).toEqual([]);
  });
});

describe("real tier moves of the program (target aws)", () => {
  const run = (ccu: number, previous?: Obj) => runProgram({ ccu, serverName: SERVER_NAME, ...onTarget("aws") }, previous ? { previousOutputs: { storage: previous } } : {});
  const movesOf = async (from: string, to: string) => {
    const before = await run(TIER_USERS[from]!);
    const after = await run(TIER_USERS[to]!, before.outputs.storage as Obj);
    return consequences(before.resources, after.resources);
  };

  it("20K → 10K: the database goes from 5 instances to 3 (seed tables) in per-zone groups of 2/2/1 → 1/1/1, so two standbys go and two zones' groups shrink", async () => {
    const found = await movesOf("20k", "10k");
    expect(found.filter((c) => c.subject === "Cluster postgres").map((c) => c.during)).toContain("CloudNativePG removes 2 standby instances and deletes their volume claims");
    expect(found.filter((c) => /^NodeGroup matrix-database/.test(c.subject)).map((c) => c.subject).sort()).toEqual(["NodeGroup matrix-database-m7i-8xlarge", "NodeGroup matrix-database-z1-m7i-8xlarge"]);
    // 850 → 550 connections (seed): the primary restarts in place.
    expect(found.some((c) => /lowering max_connections .* restarts the primary in place/.test(c.during))).toBe(true);
  });

  it("5K → 10K: a restart with a switchover, and a volume that grows and speeds up at once", async () => {
    const found = await movesOf("5k", "10k");
    expect(found.some((c) => /switches the primary over to an updated standby/.test(c.during))).toBe(true);
    expect(found.some((c) => /grow to .* and take the new IOPS and throughput/.test(c.during) && /two modifications/.test(c.byHand ?? ""))).toBe(true);
    // The tables name more workers at 10K (instance_map changes): every Synapse process restarts together.
    expect(found.some((c) => c.subject === "Job synapse-restart" && /every Synapse process stops at once/.test(c.during))).toBe(true);
  });

  it("10K → 10K with more synchrotrons: the Synapse fleet rolls, no coordinated stop", async () => {
    const before = await run(TIER_USERS["10k"]!);
    const after = await runProgram({ ccu: TIER_USERS["10k"]!, serverName: SERVER_NAME, ...onTarget("aws"), overrides: { synapse: { synchrotron: { replicas: 9 } } } } as never, { previousOutputs: { storage: before.outputs.storage } });
    expect(consequences(before.resources, after.resources).filter((c) => c.subject === "Job synapse-restart")).toEqual([]);
  });
});

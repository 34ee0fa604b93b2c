/** The data tier under Pulumi's mock runtime: PostgreSQL, both Redis deployments, MinIO pools. */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runProgram, type MockRun } from "../../bin/mock-runtime";
import { parseSettings, plan, storageState } from "../../sizing";
import type { Plan } from "../../sizing/types";
import { TIER_USERS, TIERS } from "../fixtures/seed";
import { onTarget, SERVER_NAME, TEST_BACKUP_BUCKET, TEST_CERTIFICATE_ARN } from "../helpers";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const settings = (ccu: number, extra: Obj = {}) => ({ ccu, serverName: SERVER_NAME, ...extra });
const byName = (run: MockRun, type: string, name: string) => run.resources.find((r) => r.type === `kubernetes:${type}` && (r.inputs.metadata as Obj)?.name === name);
const spec = (run: MockRun, type: string, name: string) => byName(run, type, name)!.inputs.spec as Obj;
/** Where the Barman Cloud plugin archives: the ObjectStore's settings (the in-tree `barmanObjectStore` schema). */
const archive = (run: MockRun) => spec(run, "barmancloud.cnpg.io/v1:ObjectStore", "postgres-backups").configuration as Obj;
const chartValues = (run: MockRun, name: string) => (run.resources.find((r) => r.type === "kubernetes:helm.sh/v4:Chart" && r.name === name)!.inputs as Obj).values as Obj;
const mi = (gib: number) => `${Math.round(gib * 1024)}Mi`;
const milli = (vcpu: number) => `${Math.round(vcpu * 1000)}m`;

describe.each(TIERS)("tier %s", (tier) => {
  let ctx: { run: MockRun; plan: Plan };
  const load = async () => (ctx ??= { run: await runProgram(settings(TIER_USERS[tier]!)), plan: plan(parseSettings(settings(TIER_USERS[tier]!))) });

  it("PostgreSQL: a CloudNativePG Cluster with the plan's instances, volume, resources and every parameter", async () => {
    const { run, plan: p } = await load();
    const cluster = spec(run, "postgresql.cnpg.io/v1:Cluster", "postgres");
    expect(cluster.instances).toBe(p.postgres.instances);
    expect(cluster.postgresql.parameters).toEqual(p.postgres.parameters);
    expect(cluster.postgresql.synchronous).toEqual({ method: "any", number: p.postgres.synchronousStandbys, dataDurability: "required" });
    expect(cluster.storage.size).toBe(`${p.postgres.storageGB}G`);
    expect(cluster.resources.requests).toEqual({ cpu: `${Math.round(p.postgres.resources.requests.vcpu * 1000)}m`, memory: `${Math.round(p.postgres.resources.requests.memoryGiB * 1024)}Mi` });
    expect(cluster.affinity).toMatchObject({ podAntiAffinityType: "required", topologyKey: "kubernetes.io/hostname", nodeSelector: { "matrix-scale/pool": "database" } });
    expect(cluster.affinity.tolerations).toEqual([{ key: "matrix-scale/pool", operator: "Equal", value: "database", effect: "NoSchedule" }]);
    expect(cluster.topologySpreadConstraints[0]).toMatchObject({ topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "DoNotSchedule" });
    expect(cluster.bootstrap.initdb).toMatchObject({ database: "synapse", owner: "synapse", encoding: "UTF8", localeCollate: "C", localeCType: "C", secret: { name: "postgres-synapse-owner" } });
    expect(cluster.monitoring.enablePodMonitor).toBe(true);
    // Backups by the Barman Cloud plugin: the in-tree `backup` section is gone (one atomic change, the plugin's migration guide).
    expect(cluster.backup).toBeUndefined();
    expect(cluster.plugins).toEqual([{ name: "barman-cloud.cloudnative-pg.io", isWALArchiver: true, parameters: { barmanObjectName: "postgres-backups" } }]);
    expect(archive(run)).toMatchObject({ destinationPath: "s3://synapse-db-backups/", endpointURL: "http://minio.matrix.svc.cluster.local:9000", wal: { compression: "gzip" }, data: { compression: "gzip" } });
    expect(archive(run).serverName).toBeUndefined();
    const objectStore = spec(run, "barmancloud.cnpg.io/v1:ObjectStore", "postgres-backups");
    expect(objectStore.retentionPolicy).toBe(`${p.postgres.backup.retentionDays}d`);
    // The sidecar in every instance pod, requests equal to limits (the pod stays Guaranteed).
    const sidecar = { cpu: milli(p.postgres.backupPlugin.sidecar.requests.vcpu), memory: mi(p.postgres.backupPlugin.sidecar.requests.memoryGiB) };
    expect(objectStore.instanceSidecarConfiguration).toEqual({ resources: { requests: sidecar, limits: sidecar } });
    expect(spec(run, "postgresql.cnpg.io/v1:ScheduledBackup", "postgres-daily")).toEqual({
      method: "plugin",
      pluginConfiguration: { name: "barman-cloud.cloudnative-pg.io" },
      cluster: { name: "postgres" },
      schedule: "0 0 3 * * 0",
      immediate: true,
      backupOwnerReference: "self",
    });
    const chart = run.resources.find((r) => r.type === "kubernetes:helm.sh/v4:Chart" && r.name === "cloudnative-pg")!;
    expect(chart.inputs).toMatchObject({ chart: "cloudnative-pg", version: expect.stringMatching(/^\d+\.\d+\.\d+$/) });
    // The operator: two replicas in different zones on the application pool, at its chart's commented suggestion.
    expect((chart.inputs as Obj).values).toMatchObject({
      replicaCount: 2,
      resources: { requests: { cpu: "100m", memory: "100Mi" }, limits: { cpu: "100m", memory: "200Mi" } },
      nodeSelector: { "matrix-scale/pool": "application" },
      affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: "topology.kubernetes.io/zone", labelSelector: { matchLabels: { "app.kubernetes.io/name": "cloudnative-pg" } } }] } },
    });
  });

  it("the Barman Cloud plugin runs beside the operator, cert-manager issues its certificates; both sized and placed by the plan", async () => {
    const { run, plan: p } = await load();
    const chart = (name: string) => run.resources.find((r) => r.type === "kubernetes:helm.sh/v4:Chart" && r.name === name)!.inputs as Obj;
    expect(chart("plugin-barman-cloud")).toMatchObject({ chart: "plugin-barman-cloud", namespace: chart("cloudnative-pg").namespace, version: expect.stringMatching(/^\d+\.\d+\.\d+$/) });
    expect(chart("cert-manager")).toMatchObject({ chart: "cert-manager", namespace: "cert-manager", version: expect.stringMatching(/^v\d+\.\d+\.\d+$/) });
    const pod = (r: Plan["postgres"]["operator"]["resources"]) => ({ requests: { cpu: milli(r.requests.vcpu), memory: mi(r.requests.memoryGiB) }, limits: { cpu: milli(r.limits.vcpu), memory: mi(r.limits.memoryGiB) } });
    const onApplication = { "matrix-scale/pool": "application" };
    // CloudNativePG 1.30.1 reconciles a Cluster (failover included) only when it reaches its plugins
    // (internal/controller/cluster_controller.go): the plugin runs essential and leaves a lost node fast.
    const evict = (key: string) => ({ key, operator: "Exists", effect: "NoExecute", tolerationSeconds: p.postgres.backupPlugin.evictAfterSeconds });
    expect(p.postgres.backupPlugin.evictAfterSeconds).toBeLessThan(300);
    expect(chartValues(run, "plugin-barman-cloud")).toEqual({
      crds: { create: true },
      replicaCount: p.postgres.backupPlugin.replicas,
      resources: pod(p.postgres.backupPlugin.resources),
      nodeSelector: onApplication,
      priorityClassName: "matrix-scale-essential",
      tolerations: [evict("node.kubernetes.io/unreachable"), evict("node.kubernetes.io/not-ready")],
    });
    expect(run.resources.some((r) => r.type === "kubernetes:scheduling.k8s.io/v1:PriorityClass" && (r.inputs.metadata as Obj).name === "matrix-scale-essential")).toBe(true);
    const cm = p.postgres.certManager;
    expect(chartValues(run, "cert-manager")).toEqual({
      crds: { enabled: true, keep: true },
      replicaCount: cm.replicas,
      resources: pod(cm.controller),
      nodeSelector: onApplication,
      webhook: { replicaCount: cm.replicas, resources: pod(cm.webhook), nodeSelector: onApplication },
      cainjector: { replicaCount: cm.replicas, resources: pod(cm.cainjector), nodeSelector: onApplication },
      startupapicheck: { resources: pod(cm.startupCheck), nodeSelector: onApplication },
    });
  });

  it("Synapse reaches PostgreSQL through the Cluster's read-write Service and Redis through the master proxy", async () => {
    const { run } = await load();
    const shared = parse((run.resources.find((r) => r.name === "synapse-shared")!.inputs.data as Obj)["homeserver.yaml"]) as Obj;
    expect(shared.redis.host).toBe("redis-synapse-master.matrix.svc.cluster.local");
    expect(byName(run, "core/v1:Service", "redis-synapse-master")).toBeDefined();
    const main = parse((run.resources.find((r) => r.name === "synapse-main" && r.type === "kubernetes:core/v1:ConfigMap")!.inputs.data as Obj)["process.yaml"]) as Obj;
    expect(main.database.args.host).toBe("postgres-rw.matrix.svc.cluster.local");
  });

  it.each(["synapse", "livekit"] as const)("Redis for %s: three data pods and three Sentinels, one per node, sized by the plan", async (name) => {
    const { run, plan: p } = await load();
    const r = p.redis[name];
    const data = spec(run, "apps/v1:StatefulSet", `redis-${name}`);
    const sentinel = spec(run, "apps/v1:StatefulSet", `redis-${name}-sentinel`);
    expect([data.replicas, sentinel.replicas]).toEqual([r.instances, r.sentinels]);
    expect(data.volumeClaimTemplates[0].spec.resources.requests.storage).toBe(`${r.storageGB}G`);
    expect(data.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey).toBe("kubernetes.io/hostname");
    expect(data.template.spec.containers[0].resources.limits.memory).toBe(`${r.resources.limits.memoryGiB * 1024}Mi`);
    const config = run.resources.find((x) => x.name === `redis-${name}-config`)!.inputs.data as Obj;
    expect(config["redis.conf"]).toContain(name === "synapse" ? "appendonly yes" : "appendonly no");
    expect(config["redis.conf"]).toContain(`maxmemory ${r.maxmemoryMB}mb`);
    expect(config["start-sentinel.sh"]).toContain(`sentinel monitor mymaster $master_host $master_port ${r.quorum}`);
    expect(config["start-sentinel.sh"]).toContain(`down-after-milliseconds mymaster ${r.downAfterMs}`);
    expect(Object.values(config).join("\n")).not.toMatch(/mock-/);
    expect(byName(run, "policy/v1:PodDisruptionBudget", `redis-${name}`)).toBeDefined();
  });

  it("LiveKit gets the Sentinel addresses (it speaks Sentinel); only Synapse's Redis has a master proxy", async () => {
    const { run } = await load();
    const sentinels = run.outputs.livekitRedisSentinels as string[];
    expect(sentinels).toEqual([0, 1, 2].map((i) => `redis-livekit-sentinel-${i}.redis-livekit-sentinel.matrix.svc.cluster.local:26379`));
    expect(byName(run, "core/v1:Service", "redis-livekit-master")).toBeUndefined();
  });

  it("MinIO: one StatefulSet per pool of the plan, drives and sizes from the plan, every pool in every server's arguments", async () => {
    const { run, plan: p } = await load();
    const pools = p.minio.pools;
    const sets = pools.map((_, i) => spec(run, "apps/v1:StatefulSet", `minio-pool-${i}`));
    expect(byName(run, "apps/v1:StatefulSet", `minio-pool-${pools.length}`)).toBeUndefined();
    sets.forEach((set, i) => {
      expect(set.replicas).toBe(pools[i]!.servers);
      expect(set.serviceName).toBe("minio-headless");
      expect(set.volumeClaimTemplates.map((v: Obj) => v.spec.resources.requests.storage)).toEqual(Array(pools[i]!.drivesPerServer).fill(`${pools[i]!.driveGB}G`));
      const c = set.template.spec.containers[0];
      expect(c.args.filter((a: string) => a.startsWith("http://"))).toEqual(pools.map((pool, j) => `http://minio-pool-${j}-{0...${pool.servers - 1}}.minio-headless.matrix.svc.cluster.local:9000/data{0...${pool.drivesPerServer - 1}}`));
      expect(c.env).toContainEqual({ name: "MINIO_STORAGE_CLASS_STANDARD", value: `EC:${p.minio.parity}` });
      // Each pool on storage nodes of its own (see nodeGroups).
      expect(set.template.spec.nodeSelector).toEqual({ "matrix-scale/pool": "storage", "matrix-scale/minio-pool": String(i) });
      expect(set.template.spec.tolerations).toEqual([{ key: "matrix-scale/pool", operator: "Equal", value: "storage", effect: "NoSchedule" }]);
    });
    const job = run.resources.find((r) => r.type === "kubernetes:batch/v1:Job" && r.name === "minio-setup")!.inputs.spec as Obj;
    const script = job.template.spec.containers[0].command[2] as string;
    expect(script).toContain("mc mb --ignore-existing store/synapse-media");
    expect(script).toContain("mc mb --ignore-existing store/synapse-db-backups");
    expect(script).toContain('"Resource":["arn:aws:s3:::synapse-media/*"]');
    // Every key the script reads comes from a Secret the program declares, holding that key
    // (the script itself is proven with real mc and MinIO by test/integration/minio-setup.test.ts).
    const env = job.template.spec.containers[0].env as Obj[];
    const secrets = new Map(run.resources.filter((r) => r.type === "kubernetes:core/v1:Secret").map((r) => [(r.inputs.metadata as Obj).name as string, r.inputs as Obj]));
    const read = [...script.matchAll(/"\$(\w+)"/g)].map((m) => m[1]!);
    expect(read.length).toBeGreaterThanOrEqual(6);
    for (const name of read) {
      const ref = env.find((e) => e.name === name)?.valueFrom?.secretKeyRef;
      expect(ref, name).toBeDefined();
      const secret = secrets.get(ref.name);
      expect(Object.keys({ ...secret?.stringData, ...secret?.data }), `${name} from ${ref.name}`).toContain(ref.key);
    }
    expect(script).not.toMatch(/mock-/);
  });
});

describe("MinIO servers restart together, never one by one", () => {
  const jobOf = (run: MockRun) => run.resources.find((r) => r.type === "kubernetes:batch/v1:Job" && r.name === "minio-restart")!;
  /** The specification a run is for: its pod template's label (a new one replaces the Job). */
  const hashOf = (run: MockRun) => (jobOf(run).inputs.spec as Obj).template.metadata.labels["matrix-scale/fleet-spec"] as string;
  const sets = (run: MockRun) => run.resources.filter((r) => r.type === "kubernetes:apps/v1:StatefulSet" && /^minio-pool-\d+$/.test(r.name));

  it("no pool's StatefulSet rolls by itself, every server's pods carry the one specification hash the Job is named after, and the engine leaves the waiting to the Job", async () => {
    const run = await runProgram(settings(10_000));
    const hash = hashOf(run);
    expect(hash).toMatch(/^[0-9a-f]{12}$/);
    expect(sets(run).length).toBeGreaterThanOrEqual(2);
    for (const set of sets(run)) {
      const s = set.inputs.spec as Obj;
      expect(s.updateStrategy).toEqual({ type: "OnDelete" });
      expect(s.template.metadata.labels["matrix-scale/spec"]).toBe(hash);
      expect((set.inputs.metadata as Obj).annotations).toEqual({ "pulumi.com/skipAwait": "true" });
    }
  });

  it("the Job runs after every pool, with a ServiceAccount that may only stop pods and read the pools' StatefulSets", async () => {
    const run = await runProgram(settings(10_000));
    const job = jobOf(run);
    const pod = (job.inputs.spec as Obj).template.spec;
    expect(pod.serviceAccountName).toBe("minio-restart");
    expect(pod.automountServiceAccountToken).toBe(true);
    expect((job.inputs.spec as Obj).backoffLimit).toBe(0);
    const role = run.resources.find((r) => r.type === "kubernetes:rbac.authorization.k8s.io/v1:Role" && r.name === "minio-restart")!;
    expect(role.inputs.rules).toEqual([
      { apiGroups: [""], resources: ["pods"], verbs: ["list", "deletecollection"] },
      { apiGroups: ["apps"], resources: ["statefulsets"], verbs: ["get"], resourceNames: sets(run).map((s) => s.name) },
    ]);
    const account = run.resources.find((r) => r.type === "kubernetes:core/v1:ServiceAccount" && r.name === "minio-restart")!;
    expect(account.inputs.automountServiceAccountToken).toBe(false);
    const script = pod.containers[0].command[2] as string;
    for (const set of sets(run)) expect(script).toContain(`wait_for settled statefulsets ${set.name}`);
    expect(script.indexOf("k -X DELETE")).toBeLessThan(script.indexOf("wait_for settled"));
    expect(script.indexOf("wait_for settled")).toBeLessThan(script.indexOf("wait_for healthy"));
    expect(script).toContain("http://minio.matrix.svc.cluster.local:9000/minio/health/cluster");
  });

  it("a new pool changes every server's specification (a new Job: all restart); the same plan twice, or a change elsewhere, does not", async () => {
    const at5k = await runProgram(settings(5000));
    const again = await runProgram(settings(5000));
    const elsewhere = await runProgram(settings(5000, { overrides: { livekit: { instances: 5 }, postgres: { maxConnections: 500 } } }));
    const expanded = await runProgram(settings(5000, { overrides: { minio: { pools: 2 } } }));
    expect(hashOf(again)).toBe(hashOf(at5k));
    expect(hashOf(elsewhere)).toBe(hashOf(at5k));
    expect(hashOf(expanded)).not.toBe(hashOf(at5k));
  });
});

describe("the stack plans around what it already stores, and refuses overrides that would lose data", () => {
  const previous = (ccu: number, extra: Obj = {}) => ({ storage: storageState(plan(parseSettings(settings(ccu, extra)))) });

  it("a downgrade 20k → 10k keeps every MinIO pool and the database volume, and reduces the rest", async () => {
    const run = await runProgram(settings(10_000), { previousOutputs: previous(20_000) });
    const storage = run.outputs.storage as Obj;
    expect(storage.minio.pools).toHaveLength(3);
    expect(storage.postgres.storageGB).toBe(10_100);
    // The packed 10k application pool (test/sizing/deviations.test.ts): 6 × m7i.8xlarge, not 20k's 5 × m7i.12xlarge.
    const app = (run.outputs.inventory as Obj[]).find((r) => r.role === "application")!;
    expect([app.count, app.instanceType]).toEqual([6, "m7i.8xlarge"]);
  });

  it("an override that asks for fewer MinIO pools than the deployment has is refused with the fix", async () => {
    const error = await runProgram(settings(10_000, { overrides: { minio: { pools: 2 } } }), { previousOutputs: previous(20_000) }).catch((e: unknown) => e);
    expect(pulumi.RunError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/MinIO pools only grow: overrides\.minio\.pools = 2 but the deployment has 3 pools.*decommission.*matrix-scale:overrides\.minio\.pools/);
  });

  it("an override that would shrink the database volume is refused", async () => {
    const error = await runProgram(settings(5000, { overrides: { postgres: { storageGB: 2600 } } }), { previousOutputs: previous(5000, { overrides: { postgres: { storageGB: 3000 } } }) }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/volumes only grow.*2600 GB but the database volume is 3000 GB/);
  });

  it("moving up a tier is allowed and records the new storage", async () => {
    const run = await runProgram(settings(10_000), { previousOutputs: previous(5000) });
    expect((run.outputs.storage as Obj).minio.pools).toHaveLength(2);
  });

  it("keeping the pools on a downgrade (overrides) is allowed", async () => {
    const run = await runProgram(settings(10_000, { overrides: { minio: { pools: 3 }, postgres: { storageGB: 10_100 } } }), { previousOutputs: previous(20_000) });
    expect((run.outputs.storage as Obj).minio.pools).toHaveLength(3);
  });
});

describe("database backups on AWS go to the operator's S3 bucket, apart from the media store", () => {
  const aws = (extra: Obj = {}) => ({ ...settings(5000), ...onTarget("aws"), ...extra });

  it("the instances assume an IAM role only their ServiceAccount can, allowed the bucket's listing and this deployment's prefix; barman-cloud takes its credentials from it", async () => {
    const run = await runProgram(aws());
    const cluster = spec(run, "postgresql.cnpg.io/v1:Cluster", "postgres");
    expect(archive(run)).toMatchObject({ destinationPath: `s3://${TEST_BACKUP_BUCKET}/matrix-scale/matrix/postgres/`, s3Credentials: { inheritFromIAMRole: true } });
    expect(archive(run).endpointURL).toBeUndefined();
    expect(Object.keys(cluster.serviceAccountTemplate.metadata.annotations)).toEqual(["eks.amazonaws.com/role-arn"]);
    const policy = JSON.parse(run.resources.find((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && r.name === "matrix-postgres-backup")!.inputs.policy as string) as Obj;
    expect(policy.Statement).toEqual([
      { Effect: "Allow", Action: ["s3:ListBucket", "s3:GetBucketLocation"], Resource: [`arn:aws:s3:::${TEST_BACKUP_BUCKET}`] },
      { Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource: [`arn:aws:s3:::${TEST_BACKUP_BUCKET}/matrix-scale/matrix/postgres/*`] },
    ]);
    // CloudNativePG runs the instances as a ServiceAccount named after the Cluster; the trust policy names exactly it.
    const trust = JSON.parse(run.resources.find((r) => r.type === "aws:iam/role:Role" && r.name === "matrix-postgres-backup")!.inputs.assumeRolePolicy as string) as Obj;
    expect(JSON.stringify(trust)).toContain('"system:serviceaccount:matrix:postgres"');
    expect(plan(parseSettings(aws())).warnings.join("\n")).not.toMatch(/backups go to the in-cluster MinIO/);
  });

  it("without a bucket they stay in the in-cluster MinIO, and the plan warns that media and backups share one failure domain", async () => {
    const raw = { ...settings(5000), target: "aws", aws: { certificateArn: TEST_CERTIFICATE_ARN, apiAccessCidrs: [] } };
    const run = await runProgram(raw);
    expect(archive(run).endpointURL).toBe("http://minio.matrix.svc.cluster.local:9000");
    expect(run.resources.some((r) => r.name === "matrix-postgres-backup")).toBe(false);
    expect(plan(parseSettings(raw)).warnings).toContain("database backups go to the in-cluster MinIO with the media (one failure domain): set aws.backupBucket to an S3 bucket of yours");
  });

  it("a bucket name S3 would refuse is refused, naming the key", () => {
    expect(() => parseSettings(aws({ aws: { backupBucket: "Not_A_Bucket" } }))).toThrow(/aws\.backupBucket.*expected an S3 bucket name/);
  });
});

describe("database backups in an S3-compatible store of the operator's (target kubernetes)", () => {
  const store = { endpoint: "https://backups.example.net:9443", bucket: "example-pg-backups", credentialsSecret: "backup-store-keys", cidrs: ["198.51.100.0/24"] };
  const raw = { ...settings(5000), kubernetes: { backupStore: store } };

  it("the Cluster archives under this deployment's prefix at the store's endpoint with the keys of the operator's Secret; the database may reach only the store's addresses on its port", async () => {
    const run = await runProgram(raw);
    expect(archive(run)).toMatchObject({
      destinationPath: "s3://example-pg-backups/matrix-scale/matrix/postgres/",
      endpointURL: "https://backups.example.net:9443",
      s3Credentials: { accessKeyId: { name: "backup-store-keys", key: "ACCESS_KEY_ID" }, secretAccessKey: { name: "backup-store-keys", key: "ACCESS_SECRET_KEY" } },
    });
    const egress = run.resources
      .filter((r) => r.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy")
      .filter((r) => JSON.stringify((r.inputs.spec as Obj).podSelector).includes("postgres"))
      .flatMap((r) => ((r.inputs.spec as Obj).egress ?? []) as Obj[]);
    expect(egress).toContainEqual(expect.objectContaining({ to: [{ ipBlock: { cidr: "198.51.100.0/24" } }], ports: [{ protocol: "TCP", port: 9443 }] }));
    expect(JSON.stringify(egress)).not.toContain(`"port":9000`);
    expect(plan(parseSettings(raw)).warnings.join("\n")).not.toMatch(/backups go to the in-cluster MinIO/);
  });

  it("refused where it cannot work: plain HTTP, no addresses, or on target aws (which uses aws.backupBucket)", () => {
    expect(() => parseSettings({ ...raw, kubernetes: { backupStore: { ...store, endpoint: "http://backups.example.net" } } })).toThrow(/kubernetes\.backupStore\.endpoint.*HTTPS/);
    expect(() => parseSettings({ ...raw, kubernetes: { backupStore: { ...store, cidrs: [] } } })).toThrow(/kubernetes\.backupStore\.cidrs/);
    expect(() => parseSettings({ ...raw, kubernetes: { backupStore: { ...store, cidrs: ["0.0.0.0/0"] } } })).toThrow(/kubernetes\.backupStore\.cidrs.*not every address/);
    for (const endpoint of ["https:backups.example.net", "https://backups.example.net/bucket", "https://user:pw@backups.example.net", "https://backups.example.net/?x=1"])
      expect(() => parseSettings({ ...raw, kubernetes: { backupStore: { ...store, endpoint } } }), endpoint).toThrow(/kubernetes\.backupStore\.endpoint/);
    expect(() => parseSettings({ ...raw, ...onTarget("aws"), kubernetes: { backupStore: store } })).toThrow(/kubernetes\.backupStore.*aws\.backupBucket/);
  });
});

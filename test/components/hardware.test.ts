/** The hardware tier and call hosts under Pulumi's mock runtime, at every tier, for both targets. */
import { describe, expect, it } from "vitest";
import { runProgram, type DeclaredResource, type MockRun } from "../../bin/mock-runtime";
import { parseSettings, plan } from "../../sizing";
import type { Plan } from "../../sizing/types";
import { TIER_USERS, TIERS } from "../fixtures/seed";
import { onTarget, SERVER_NAME } from "../helpers";
import { isKubernetesObject, manifestOf, validateManifest } from "./k8s-schema";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const settings = (ccu: number, target: string) => ({ ccu, serverName: SERVER_NAME, ...onTarget(target) });
const ofType = (run: MockRun, type: string) => run.resources.filter((r) => r.type === type);
const podSpecs = (run: MockRun): [DeclaredResource, Obj][] =>
  run.resources
    .filter((r) => ["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet"].includes(r.type))
    .map((r) => [r, (r.inputs.spec as Obj).template.spec as Obj]);

describe.each(TIERS)("tier %s on AWS", (tier) => {
  let ctx: { run: MockRun; plan: Plan };
  const load = async () => (ctx ??= { run: await runProgram(settings(TIER_USERS[tier]!, "aws")), plan: plan(parseSettings(settings(TIER_USERS[tier]!, "aws"))) });

  it("one managed node group per inventory role (storage: per MinIO pool; calls: per service; volume-holding pools: per zone) with the plan's instance type, count, labels and taints", async () => {
    const { run, plan: p } = await load();
    const groups = ofType(run, "aws:eks/nodeGroup:NodeGroup").map((r) => r.inputs as Obj);
    const rows = p.inventory.filter((r) => r.role !== "controlPlane");
    // A group per zone that has nodes (up to three) for application, database, monitoring and each MinIO pool; two for calls.
    const zonal = (n: number) => Math.min(n, 3);
    const expected = rows.reduce((n, r) => n + (r.role === "calls" ? 2 : r.role === "storage" ? p.minio.pools.reduce((m, pool) => m + zonal(pool.servers), 0) : zonal(r.count)), 0);
    expect(groups).toHaveLength(expected);
    // Each zonal group lives in exactly one private subnet, one zone's; call hosts in the three public ones.
    for (const g of groups) {
      if (g.labels["matrix-scale/pool"] === "calls") expect(g.subnetIds.map((id: string) => id.replace(/-us-east-1[abc]-id$/, ""))).toEqual(["matrix-public", "matrix-public", "matrix-public"]);
      else expect(g.subnetIds, JSON.stringify(g.labels)).toEqual([expect.stringMatching(/^matrix-private-us-east-1[abc]-id$/)]);
    }
    for (const role of ["application", "database"]) {
      const zones = groups.filter((g) => g.labels["matrix-scale/pool"] === role).map((g) => g.subnetIds[0]);
      expect(new Set(zones).size, role).toBe(zones.length);
    }
    for (const row of rows) {
      const members = groups.filter((g) => g.labels["matrix-scale/pool"] === row.role);
      for (const group of members) {
        expect(group.instanceTypes).toEqual([row.instanceType]);
        expect(group.taints).toEqual(row.taints.map((t) => ({ key: t.key, value: t.value, effect: "NO_SCHEDULE" })));
      }
      expect(members.reduce((acc, g) => acc + g.scalingConfig.desiredSize, 0), row.role).toBe(row.count);
    }
    // MinIO pool i's servers have nodes of their own, as many as it has servers, over the zones.
    p.minio.pools.forEach((pool, i) => {
      const own = groups.filter((g) => g.labels["matrix-scale/minio-pool"] === String(i));
      expect(own.reduce((n, g) => n + g.scalingConfig.desiredSize, 0)).toBe(pool.servers);
      for (const g of own) expect(g.scalingConfig.minSize).toBe(g.scalingConfig.desiredSize);
    });
    // Each call service has hosts of its own, as many as it has instances.
    for (const service of ["livekit", "coturn"] as const) {
      const group = groups.find((g) => g.labels["matrix-scale/call-service"] === service)!;
      expect(group.scalingConfig.desiredSize, service).toBe(p[service].instances);
    }
    expect(p.inventory.some((r) => r.role === "controlPlane")).toBe(false);
  });

  it("a VPC over three zones with public and private subnets; call hosts in public subnets", async () => {
    const { run } = await load();
    const subnets = ofType(run, "aws:ec2/subnet:Subnet").map((r) => r.inputs as Obj);
    expect(new Set(subnets.map((s) => s.availabilityZone)).size).toBe(3);
    expect(subnets.filter((s) => s.mapPublicIpOnLaunch)).toHaveLength(3);
    expect(ofType(run, "aws:ec2/natGateway:NatGateway")).toHaveLength(3);
    const cluster = ofType(run, "aws:eks/cluster:Cluster")[0]!.inputs as Obj;
    expect(cluster.accessConfig.authenticationMode).toBe("API");
    expect(cluster.enabledClusterLogTypes).toContain("audit");
    expect(ofType(run, "aws:eks/addon:Addon").map((a) => (a.inputs as Obj).addonName).sort()).toEqual(["aws-ebs-csi-driver", "vpc-cni"]);
  });

  it("the call-host security group opens exactly the TURN and LiveKit ports of the plan", async () => {
    const { run, plan: p } = await load();
    const sg = ofType(run, "aws:ec2/securityGroup:SecurityGroup")[0]!.inputs as Obj;
    const rules = sg.ingress.map((r: Obj) => `${r.protocol}:${r.fromPort}-${r.toPort}`).sort();
    expect(rules).toEqual(
      [`udp:3478-3478`, `tcp:3478-3478`, `udp:${p.coturn.ports.min}-${p.coturn.ports.max}`, `udp:${p.livekit.ports.min}-${p.livekit.ports.max}`, "tcp:7881-7881"].sort(),
    );
  });

  it("gp3/st1 StorageClasses: encrypted, expandable, WaitForFirstConsumer, retained", async () => {
    const { run } = await load();
    const classes = ofType(run, "kubernetes:storage.k8s.io/v1:StorageClass").map((r) => r.inputs as Obj);
    expect(classes.map((c) => c.metadata.name).sort()).toEqual(["matrix-scale-application", "matrix-scale-database", "matrix-scale-storage"]);
    for (const c of classes) expect(c).toMatchObject({ provisioner: "ebs.csi.aws.com", allowVolumeExpansion: true, volumeBindingMode: "WaitForFirstConsumer", reclaimPolicy: "Retain", parameters: { encrypted: "true" } });
    expect(classes.find((c) => c.metadata.name === "matrix-scale-storage")!.parameters.type).toBe("st1");
  });

  it("every workload's pool selector names a pool that exists, and tolerates that pool's taint", async () => {
    const { run, plan: p } = await load();
    const pools = new Map(p.inventory.map((r) => [r.role as string, r]));
    for (const [resource, spec] of podSpecs(run)) {
      const pool = spec.nodeSelector?.["matrix-scale/pool"];
      expect(pools.has(pool), `${resource.name} → ${pool}`).toBe(true);
      for (const taint of pools.get(pool)!.taints) expect(spec.tolerations, resource.name).toContainEqual({ key: taint.key, operator: "Equal", value: taint.value, effect: taint.effect });
    }
  });

  it("every Kubernetes object validates against the Kubernetes and CRD schemas (AWS target)", async () => {
    const { run } = await load();
    const objects = run.resources.filter(isKubernetesObject);
    expect(objects.length).toBeGreaterThan(50);
    for (const r of objects) await expect(validateManifest(manifestOf(r)), r.name).resolves.toBeUndefined();
  });

  it("call hosts: LiveKit and coturn as many as the plan says, host networking, one call process per host", async () => {
    const { run, plan: p } = await load();
    const deployment = (name: string) => ofType(run, "kubernetes:apps/v1:Deployment").find((r) => r.name === name)!.inputs.spec as Obj;
    for (const [name, count] of [["livekit", p.livekit.instances], ["coturn", p.coturn.instances]] as const) {
      const d = deployment(name);
      expect(d.replicas).toBe(count);
      expect(d.template.spec.hostNetwork).toBe(true);
      const anti = d.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0];
      expect(anti).toEqual({ topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: { "matrix-scale/call-host": "true" } } });
      // Spread by the service's own pods: spreading all call hosts together could leave one service in one zone.
      for (const constraint of d.template.spec.topologySpreadConstraints) expect(constraint.labelSelector, name).toEqual({ matchLabels: { "app.kubernetes.io/name": name } });
      // On the service's own call nodes: one service can never take all of a zone's hosts from the other.
      expect(d.template.spec.nodeSelector).toEqual({ "matrix-scale/pool": "calls", "matrix-scale/call-service": name });
      expect(d.template.metadata.namespace ?? ofType(run, "kubernetes:apps/v1:Deployment").find((r) => r.name === name)!.inputs.metadata).toMatchObject({ namespace: "matrix-calls" });
    }
    expect(p.inventory.find((r) => r.role === "calls")!.count).toBe(p.livekit.instances + p.coturn.instances);
    const coturn = deployment("coturn").template.spec.containers[0];
    expect(coturn.command[2]).toMatch(/--static-auth-secret="\$TURN_SECRET" .*--prometheus-port=9641$/);
    expect(coturn.ports).toContainEqual({ name: "metrics", containerPort: 9641 });
    expect(ofType(run, "kubernetes:core/v1:Service").find((r) => r.name === "livekit")!.inputs.spec).toMatchObject({ type: "LoadBalancer" });
  });
});

describe("target kubernetes", () => {
  it("creates no AWS resource and no StorageClass, and outputs the node pools the operator must provide", async () => {
    const run = await runProgram(settings(5000, "kubernetes"));
    expect(run.resources.filter((r) => r.type.startsWith("aws:"))).toEqual([]);
    expect(ofType(run, "kubernetes:storage.k8s.io/v1:StorageClass")).toEqual([]);
    const pools = run.outputs.requiredNodePools as { role: string; count: number; labels: Obj; taints: string[] }[];
    // Call nodes per service: 3 for LiveKit, 3 for coturn at 5K.
    expect(pools.filter((p) => p.role === "calls").map((p) => [p.labels["matrix-scale/call-service"], p.count, p.taints])).toEqual([
      ["livekit", 3, ["matrix-scale/pool=calls:NoSchedule"]],
      ["coturn", 3, ["matrix-scale/pool=calls:NoSchedule"]],
    ]);
  });
});

describe("TURN configuration", () => {
  it("coturn's config holds no secret and denies the VPC's range when it is not already private", async () => {
    const run = await runProgram(settings(100, "aws"));
    const conf = (run.resources.find((r) => r.name === "coturn" && r.type === "kubernetes:core/v1:ConfigMap")!.inputs.data as Obj)["turnserver.conf"] as string;
    expect(conf).toContain("use-auth-secret");
    expect(conf).not.toMatch(/^static-auth-secret|mock-/m);
    expect(conf).toContain("denied-peer-ip=10.42.0.0-10.42.255.255");
    expect(conf).toContain("realm=matrix.test.example");
  });

  it("the well-known document points clients at the LiveKit token service (Element Call)", async () => {
    const run = await runProgram(settings(100, "kubernetes"));
    const cfg = (run.resources.find((r) => r.name === "synapse-haproxy" && r.type === "kubernetes:core/v1:ConfigMap")!.inputs.data as Obj)["haproxy.cfg"] as string;
    expect(cfg).toContain('"org.matrix.msc4143.rtc_foci":[{"type":"livekit","livekit_service_url":"https://matrix.test.example/livekit/jwt"}]');
    expect(cfg).toMatch(/server lk-jwt-service lk-jwt-service\.matrix\.svc\.cluster\.local:8080/);
  });
});

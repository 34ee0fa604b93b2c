/** The Synapse component under Pulumi's mock runtime: workloads, names, config and rollout rules. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runProgram, type DeclaredResource, type MockRun } from "../../bin/mock-runtime";
import { parseSettings, plan } from "../../sizing";
import type { RawSettings } from "../../sizing/settings";
import { WORKER_NAMES } from "../../sizing/synapse";
import { TOPOLOGY_KEYS } from "../../components/synapse/config";
import type { Plan } from "../../sizing/types";
import { MEDIA_RETENTION_10_4, TIER_USERS, TIERS } from "../fixtures/seed";
import { runRecordingDependencies } from "../dependencies";
import { SERVER_NAME, TEST_API_ACCESS_CIDRS } from "../helpers";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function program(extra: RawSettings = {}, ccu = 100): Promise<{ run: MockRun; plan: Plan }> {
  const raw = { ccu, serverName: SERVER_NAME, ...extra };
  return { run: await runProgram(raw), plan: plan(parseSettings(raw)) };
}

const ofKind = (run: MockRun, kind: string) => run.resources.filter((r) => r.type === `kubernetes:${kind}`);
const named = (run: MockRun, kind: string, name: string) => ofKind(run, kind).find((r) => (r.inputs.metadata as Obj).name === name);
const configMapData = (r: DeclaredResource) => (r.inputs.data ?? {}) as Record<string, string>;

function sharedConfig(run: MockRun): Obj {
  const cm = ofKind(run, "core/v1:ConfigMap").find((r) => configMapData(r)["homeserver.yaml"]);
  return parse(configMapData(cm!)["homeserver.yaml"]!);
}

function processConfig(run: MockRun, workload: string): Obj {
  const cm = ofKind(run, "core/v1:ConfigMap").find((r) => r.name === workload);
  return parse(configMapData(cm!)["process.yaml"]!);
}

function podTemplate(run: MockRun, workload: string): Obj {
  const w = named(run, "apps/v1:StatefulSet", workload) ?? named(run, "apps/v1:Deployment", workload);
  return (w!.inputs.spec as Obj).template;
}

const checksumOf = (run: MockRun, workload: string) => podTemplate(run, workload).metadata.annotations["matrix-scale/config-checksum"] as string;

describe.each(TIERS)("tier %s", (tier) => {
  let ctx: { run: MockRun; plan: Plan };
  const load = async () => (ctx ??= await program({}, TIER_USERS[tier]!));

  it("every named type is a StatefulSet whose pod DNS names are exactly the instance_map hosts", async () => {
    const { run, plan: p } = await load();
    const instanceMap = sharedConfig(run).instance_map as Record<string, { host: string; port: number }>;
    const expectedHosts: Record<string, string> = {};
    for (const sts of ofKind(run, "apps/v1:StatefulSet").filter((r) => r.name.startsWith("synapse-"))) {
      const { name, namespace } = sts.inputs.metadata as Obj;
      const spec = sts.inputs.spec as Obj;
      expect(spec.serviceName).toBe(name);
      const service = named(run, "core/v1:Service", name)!;
      expect((service.inputs.spec as Obj).clusterIP).toBe("None");
      const container = spec.template.spec.containers[0];
      const replication = container.ports.find((x: Obj) => x.name === "replication");
      for (let i = 0; i < spec.replicas; i++) {
        const pod = `${name}-${i}`;
        if (!replication) continue;
        const instance = name === "synapse-main" ? "main" : pod;
        expectedHosts[instance] = `${pod}.${name}.${namespace}.svc.cluster.local:${replication.containerPort}`;
      }
    }
    const actual = Object.fromEntries(Object.entries(instanceMap).map(([k, v]) => [k, `${v.host}:${v.port}`]));
    expect(actual).toEqual(expectedHosts);
    expect(Object.keys(instanceMap)[0]).toBe("main");
    const named_ = Object.values(p.synapse.workers).filter((w) => !w.autoscaled && w.type !== "main" && w.type !== "background");
    for (const w of named_) for (const name of w.instances) expect(instanceMap[name], name).toBeDefined();
  });

  it("Element Call: delayed events up to the plan's limit, their management rate, and the RTC transport the well-known announces", async () => {
    const { run, plan: p } = await load();
    const shared = sharedConfig(run);
    expect(shared.max_event_delay_duration).toBe(p.synapse.config.matrixRtc.maxEventDelay);
    expect(shared.rc_delayed_event_mgmt).toEqual({ per_second: p.synapse.config.matrixRtc.delayedEventManagement.perSecond, burst_count: p.synapse.config.matrixRtc.delayedEventManagement.burstCount });
    expect(shared.rc_message).toEqual({ per_second: p.synapse.config.rcMessage.perSecond, burst_count: p.synapse.config.rcMessage.burstCount });
    expect(shared.experimental_features).toEqual({ msc4222_enabled: true, msc4143_enabled: true });
    const focus = [{ type: "livekit", livekit_service_url: `https://${SERVER_NAME}/livekit/jwt` }];
    expect(shared.matrix_rtc).toEqual({ transports: focus });
    const haproxy = Object.values(ofKind(run, "core/v1:ConfigMap").map(configMapData).find((d) => d["haproxy.cfg"])!)[0]!;
    expect(haproxy).toContain(`"org.matrix.msc4143.rtc_foci":${JSON.stringify(focus)}`);
  });

  it("media scratch: each media pod runs the cleaner on its store with the plan's numbers; /tmp and the store sized by the plan; HAProxy lets the plan's uploads in flight reach one media worker", async () => {
    const { run, plan: p } = await load();
    const sc = p.synapse.scratch;
    const media = podTemplate(run, "synapse-media-repository").spec;
    const cleaner = media.containers.find((c: Obj) => c.name === "scratch-cleaner");
    expect(cleaner.command.slice(0, 2)).toEqual(["python", "-c"]);
    // The store, and the bucket and endpoint the S3 provider uses (each copy is checked there before it goes).
    const provider = sharedConfig(run).media_storage_providers[0].config;
    // Other servers' media is forgotten after the seed's days (10.4).
    expect(sharedConfig(run).media_retention).toEqual({ remote_media_lifetime: `${MEDIA_RETENTION_10_4.remoteMediaLifetimeDays}d` });
    expect(cleaner.command.slice(3)).toEqual(["/data/media", provider.bucket, provider.endpoint_url, provider.region_name]);
    expect(cleaner.command[2]).toContain(`KEEP_S, EVERY_S, ABOVE, TO, EMPTY_DIR_S = ${sc.cleanup.keepMinutes * 60}, ${sc.cleanup.everySeconds}, ${sc.cleanup.trimAboveMiB} * MIB, ${sc.cleanup.trimToMiB} * MIB,`);
    const synapse = media.containers.find((c: Obj) => c.name === "synapse");
    expect(cleaner.env.filter((e: Obj) => e.name.startsWith("AWS_"))).toEqual(synapse.env.filter((e: Obj) => e.name.startsWith("AWS_")));
    expect(cleaner.resources).toEqual({ requests: { cpu: `${sc.cleanup.resources.requests.vcpu * 1000}m`, memory: `${sc.cleanup.resources.requests.memoryGiB * 1024}Mi` }, limits: { cpu: `${sc.cleanup.resources.limits.vcpu * 1000}m`, memory: `${sc.cleanup.resources.limits.memoryGiB * 1024}Mi` } });
    expect(cleaner.volumeMounts).toEqual([{ name: "media", mountPath: "/data/media" }]);
    const volume = (spec: Obj, name: string) => spec.volumes.find((v: Obj) => v.name === name).emptyDir.sizeLimit;
    expect([volume(media, "tmp"), volume(media, "media")]).toEqual([`${sc.mediaTmpGiB * 1024}Mi`, `${sc.mediaGiB * 1024}Mi`]);
    // Uploads in flight fit: each spools into /tmp and lands in the store, up to the plan's upload limit.
    expect(sc.mediaTmpGiB * 1024).toBeGreaterThanOrEqual(sc.uploadsInFlight * p.synapse.config.maxUploadMB);
    // Above the threshold: the uploads in flight, and one more set completed before the cleaner's next round.
    expect(sc.mediaGiB * 1024 - sc.cleanup.trimAboveMiB).toBeGreaterThanOrEqual(2 * sc.uploadsInFlight * p.synapse.config.maxUploadMB);
    const generic = podTemplate(run, "synapse-generic-worker").spec;
    expect(generic.containers.map((c: Obj) => c.name)).toEqual(["synapse"]);
    expect(volume(generic, "tmp")).toBe(`${sc.tmpGiB * 1024}Mi`);
    const cfg = configMapData(ofKind(run, "core/v1:ConfigMap").find((r) => r.name === "synapse-haproxy")!)["haproxy.cfg"]!;
    const start = cfg.indexOf("\nbackend media_upload\n");
    const upload = cfg.slice(start, cfg.indexOf("\n\n", start + 1));
    expect(upload).toContain(`maxconn ${sc.uploadsInFlight}`);
    expect(cfg).toContain("use_backend media_upload if r_media_upload\n");
  });

  it("stream writers, federation senders and pushers are all in instance_map and serve replication", async () => {
    const { run, plan: p } = await load();
    const shared = sharedConfig(run);
    const listed = [...Object.values(shared.stream_writers as Record<string, string[]>).flat(), ...shared.federation_sender_instances, ...shared.pusher_instances];
    for (const name of listed) expect(shared.instance_map[name], name).toBeDefined();
    expect(shared.stream_writers).toEqual(p.synapse.streamWriters);
    for (const stream of ["typing", "to_device", "account_data", "presence", "push_rules"]) expect(shared.stream_writers[stream]).toHaveLength(1);
    expect(shared.send_federation).toBe(false);
    expect(shared.start_pushers).toBe(false);
    expect(shared.enable_media_repo).toBe(false);
    expect(shared.media_instance_running_background_jobs).toBe(p.synapse.workers.mediaRepository.instances[0]);
    expect(shared.run_background_tasks_on).toBe("synapse-background-worker-0");
    expect(processConfig(run, "synapse-media-repository").enable_media_repo).toBe(true);
  });

  it("stateless workers are Deployments with an HPA from the plan's replicas to its maximum, with seed 2.5's behaviour and the plan's CPU target", async () => {
    const { run, plan: p } = await load();
    for (const type of ["synchrotron", "generic"] as const) {
      const w = p.synapse.workers[type];
      const name = type === "generic" ? "synapse-generic-worker" : "synapse-synchrotron";
      const deployment = named(run, "apps/v1:Deployment", name);
      expect(deployment, name).toBeDefined();
      // The HPA alone sets the replica count: a declared one would be reapplied over its scaling.
      expect((deployment!.inputs.spec as Obj).replicas, name).toBeUndefined();
      const hpa = named(run, "autoscaling/v2:HorizontalPodAutoscaler", name)!.inputs.spec as Obj;
      expect([hpa.minReplicas, hpa.maxReplicas]).toEqual([w.replicas, w.maxReplicas]);
      expect(hpa.metrics[0].resource.target.averageUtilization).toBe(w.hpaTargetCpuUtilisation);
      expect(w.hpaTargetCpuUtilisation).toBeGreaterThan(0);
      expect(hpa.behavior.scaleUp).toEqual({ stabilizationWindowSeconds: 60, policies: [{ type: "Pods", value: 2, periodSeconds: 60 }] });
      expect(hpa.behavior.scaleDown).toEqual({ stabilizationWindowSeconds: 300, policies: [{ type: "Pods", value: 1, periodSeconds: 120 }] });
      expect(processConfig(run, name).worker_name).toBeUndefined();
      expect(podTemplate(run, name).spec.containers[0].command.join(" ")).toContain("worker_name: $POD_NAME");
    }
  });

  it("each process type gets its plan's resources, database pool, app-pool placement and restricted security", async () => {
    const { run, plan: p } = await load();
    for (const w of Object.values(p.synapse.workers).filter((x) => x.replicas > 0)) {
      const name = WORKER_NAMES[w.type];
      const pod = podTemplate(run, name).spec;
      const c = pod.containers[0];
      expect(c.resources.requests).toEqual({ cpu: `${w.resources.requests.vcpu * 1000}m`, memory: `${w.resources.requests.memoryGiB * 1024}Mi` });
      expect(c.resources.limits).toEqual(c.resources.requests);
      const db = processConfig(run, name).database.args;
      expect([db.cp_min, db.cp_max], name).toEqual([w.cpMin, w.cpMax]);
      expect(pod.nodeSelector).toEqual({ "matrix-scale/pool": "application" });
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
      expect(c.readinessProbe.httpGet.path).toBe("/health");
      // The project's build of the pinned release with the media provider (images/synapse), tagged with the release and the requirements' hash.
      expect(c.image).toMatch(/^ghcr\.io\/matrix-scale\/synapse:v\d+\.\d+\.\d+-[0-9a-f]{12}$/);
    }
  });

  it("a PodDisruptionBudget for every workload with two or more replicas, none for single ones", async () => {
    const { run, plan: p } = await load();
    const budgets = new Set(ofKind(run, "policy/v1:PodDisruptionBudget").map((r) => (r.inputs.metadata as Obj).name));
    for (const w of Object.values(p.synapse.workers).filter((x) => x.replicas > 0)) {
      expect(budgets.has(WORKER_NAMES[w.type]), `${w.type} (${w.replicas} replicas)`).toBe(w.replicas >= 2);
    }
    expect(budgets.has("synapse-haproxy")).toBe(true);
  });

  it("HAProxy: the plan's replicas; the replication port is never a backend and its path is denied", async () => {
    const { run, plan: p } = await load();
    expect((named(run, "apps/v1:Deployment", "synapse-haproxy")!.inputs.spec as Obj).replicas).toBe(p.routing.haproxy.replicas);
    const cfg = configMapData(ofKind(run, "core/v1:ConfigMap").find((r) => r.name === "synapse-haproxy")!)["haproxy.cfg"]!;
    expect(cfg).not.toMatch(/:9093/);
    expect(cfg).toContain("http-request deny deny_status 404 if { path,url_dec -m beg /_synapse/replication }");
    // A slot for each pod the HPA maximum and a 25% surge can run, from the Service of ready pods.
    // The HPA maximum and the one pod a rollout surges (docs/synapse.md).
    const slots = p.synapse.workers.synchrotron.maxReplicas + 1;
    expect(cfg).toMatch(new RegExp(`server-template synchrotron ${slots} synapse-synchrotron-routable\\.matrix\\.svc\\.cluster\\.local:8008`));
  });

  it("the front door: HTTPS from the TLS Secret, port 80 redirect-only, Synapse pods drain longer than HAProxy takes to notice", async () => {
    const { run } = await load();
    const haproxy = (named(run, "apps/v1:Deployment", "synapse-haproxy")!.inputs.spec as Obj).template.spec;
    expect(haproxy.containers[0].ports).toEqual([
      { name: "https", containerPort: 8443 },
      { name: "http", containerPort: 8080 },
      { name: "stats", containerPort: 8405 },
    ]);
    expect(haproxy.volumes).toContainEqual({ name: "tls", secret: { secretName: "matrix-tls", defaultMode: 0o440 } });
    // The kubelet gives Secret files to the pod's fsGroup: without it uid 99 could not read the key (0440 root:root).
    expect([haproxy.securityContext.runAsUser, haproxy.securityContext.fsGroup]).toEqual([99, 99]);
    // Behind the NLB: 60 s deregistration + 5 s, then up to a 180 s long-poll (docs/synapse.md).
    expect(haproxy.containers[0].lifecycle).toEqual({ preStop: { sleep: { seconds: 65 } } });
    expect(haproxy.terminationGracePeriodSeconds).toBe(245);
    // HAProxy discovers autoscaled pods through a Service of ready pods only: a stopping pod leaves it at once.
    for (const name of ["synapse-synchrotron-routable", "synapse-generic-worker-routable"]) {
      const routable = named(run, "core/v1:Service", name)!.inputs.spec as Obj;
      expect([routable.clusterIP, routable.publishNotReadyAddresses, routable.selector], name).toEqual([
        "None",
        false,
        (named(run, "core/v1:Service", name.replace(/-routable$/, ""))!.inputs.spec as Obj).selector,
      ]);
    }
    const cfg = configMapData(ofKind(run, "core/v1:ConfigMap").find((r) => r.name === "synapse-haproxy")!)["haproxy.cfg"]!;
    const mount = haproxy.containers[0].volumeMounts.find((m: Obj) => m.name === "tls");
    expect(cfg).toContain(`bind 0.0.0.0:8443 ssl crt ${mount.mountPath}/tls.crt alpn h2,http/1.1\n`);
    const service = named(run, "core/v1:Service", "synapse-haproxy")!.inputs as Obj;
    expect(service.spec).toEqual({
      type: "ClusterIP",
      selector: { "app.kubernetes.io/name": "haproxy", "app.kubernetes.io/component": "synapse-routing" },
      ports: [
        { name: "https", port: 443, targetPort: "https" },
        { name: "http", port: 80, targetPort: "http" },
      ],
    });
    // docs/synapse.md: 3 checks 5 s apart + 5 s TTL + 1 s + 5 s hold = 26 s to notice; pods keep serving 31 s, then 30 s to shut down.
    for (const workload of ["synapse-main", "synapse-synchrotron", "synapse-generic-worker"]) {
      const pod = podTemplate(run, workload).spec;
      expect(pod.terminationGracePeriodSeconds, workload).toBe(61);
      expect(pod.containers[0].lifecycle, workload).toEqual({ preStop: { sleep: { seconds: 31 } } });
      for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"]) expect(pod.containers[0][probe].timeoutSeconds, `${workload} ${probe}`).toBe(5);
    }
  });
});


describe("a config change rolls exactly the processes that must restart", () => {
  it("a pool size for one type changes only that type's checksum", async () => {
    const before = (await program()).run;
    const after = (await program({ overrides: { synapse: { pusher: { cpMax: 4 } } } })).run;
    const workloads = ["synapse-main", "synapse-synchrotron", "synapse-generic-worker", "synapse-event-persister", "synapse-stream-writer", "synapse-media-repository", "synapse-pusher"];
    const changed = workloads.filter((w) => checksumOf(before, w) !== checksumOf(after, w));
    expect(changed).toEqual(["synapse-pusher"]);
  });

  it("adding a stream writer changes instance_map and stream_writers, so every process restarts", async () => {
    const before = (await program()).run;
    const after = (await program({ overrides: { synapse: { streamWriter: { replicas: 3 } } } })).run;
    expect(sharedConfig(after).stream_writers).not.toEqual(sharedConfig(before).stream_writers);
    for (const w of ["synapse-main", "synapse-synchrotron", "synapse-generic-worker", "synapse-event-persister", "synapse-pusher", "synapse-background-worker"]) {
      expect(checksumOf(after, w), w).not.toBe(checksumOf(before, w));
    }
  });

  it("autoscaling range changes restart nothing (the HPA adds pods, no config names them)", async () => {
    const before = (await program()).run;
    const after = (await program({ overrides: { synapse: { synchrotron: { maxReplicas: 5 } } } })).run;
    for (const w of ["synapse-main", "synapse-synchrotron", "synapse-event-persister"]) expect(checksumOf(after, w), w).toBe(checksumOf(before, w));
  });
});

describe("federation off", () => {
  it("no federation senders, no federation listeners, no federation routes", async () => {
    const { run } = await program({ federation: false });
    expect(named(run, "apps/v1:StatefulSet", "synapse-federation-sender")).toBeUndefined();
    const shared = sharedConfig(run);
    expect(shared.federation_sender_instances).toEqual([]);
    expect(shared.federation_domain_whitelist).toEqual([]);
    for (const cm of ofKind(run, "core/v1:ConfigMap").filter((r) => configMapData(r)["process.yaml"])) {
      const config = parse(configMapData(cm)["process.yaml"]!) as Obj;
      const names = (config.listeners ?? config.worker_listeners).flatMap((l: Obj) => (l.resources ?? []).flatMap((r: Obj) => r.names));
      expect(names, cm.name).not.toContain("federation");
    }
    const cfg = configMapData(ofKind(run, "core/v1:ConfigMap").find((r) => r.name === "synapse-haproxy")!)["haproxy.cfg"]!;
    expect(cfg).not.toMatch(/_matrix\/federation\/v1\/send|backend federation/);
  });
});

describe("the front door on AWS", () => {
  it("an internet-facing NLB of the AWS Load Balancer Controller: IP targets, PROXY protocol v2, TLS with the ACM certificate on 443", async () => {
    const arn = "arn:aws:acm:us-east-1:111122223333:certificate/edge";
    const { run } = await program({ target: "aws", aws: { certificateArn: arn, apiAccessCidrs: TEST_API_ACCESS_CIDRS } });
    const service = named(run, "core/v1:Service", "synapse-haproxy")!.inputs as Obj;
    const lb = "service.beta.kubernetes.io/aws-load-balancer";
    expect(service.metadata.annotations).toEqual({
      "matrix-scale/redirect-only-ports": "80",
      [`${lb}-type`]: "external",
      [`${lb}-nlb-target-type`]: "ip",
      [`${lb}-scheme`]: "internet-facing",
      [`${lb}-proxy-protocol`]: "*",
      [`${lb}-attributes`]: "load_balancing.cross_zone.enabled=true",
      [`${lb}-target-group-attributes`]: "deregistration_delay.timeout_seconds=60",
      [`${lb}-ssl-cert`]: arn,
      [`${lb}-ssl-ports`]: "443",
      [`${lb}-ssl-negotiation-policy`]: "ELBSecurityPolicy-TLS13-1-2-2021-06",
    });
    expect(service.spec.type).toBe("LoadBalancer");
    const haproxy = (named(run, "apps/v1:Deployment", "synapse-haproxy")!.inputs.spec as Obj).template.spec;
    expect(haproxy.volumes.some((v: Obj) => v.name === "tls")).toBe(false);
    const cfg = configMapData(ofKind(run, "core/v1:ConfigMap").find((r) => r.name === "synapse-haproxy")!)["haproxy.cfg"]!;
    expect(cfg).toContain("bind 0.0.0.0:8443 accept-proxy\n");
  });

  it("without a certificate ARN nothing is declared: the key is named", async () => {
    await expect(program({ target: "aws" })).rejects.toThrow(/matrix-scale:aws\.certificateArn is missing: target aws ends TLS at the load balancers/);
  });
});

describe("shard changes restart every Synapse process together, never in a roll", () => {
  const TOPOLOGY = "matrix-scale/topology";
  const workloadsOf = (run: MockRun) => [...ofKind(run, "apps/v1:StatefulSet"), ...ofKind(run, "apps/v1:Deployment")].filter((r) => /^synapse-(?!haproxy)/.test(r.name));
  const topologyOf = (run: MockRun) => {
    const values = new Set(workloadsOf(run).map((w) => (w.inputs.spec as Obj).template.metadata.labels[TOPOLOGY] as string));
    expect(values.size).toBe(1);
    return [...values][0]!;
  };
  const jobOf = (run: MockRun) => ofKind(run, "batch/v1:Job").find((r) => r.name === "synapse-restart")!;
  const at = (synapse: Obj, ccu = 5000) => program({ overrides: { synapse } } as RawSettings, ccu).then((x) => x.run);

  it("every pod waits in a gate holding the only token of the pod; the gate may list pods and read one ConfigMap; the engine leaves the waiting to the Job", async () => {
    const { run } = await program({}, 5000);
    const hash = topologyOf(run);
    expect(hash).toMatch(/^[0-9a-f]{12}$/);
    for (const w of workloadsOf(run)) {
      const pod = (w.inputs.spec as Obj).template.spec;
      expect((w.inputs.metadata as Obj).annotations, w.name).toEqual({ "pulumi.com/skipAwait": "true" });
      expect([pod.serviceAccountName, pod.automountServiceAccountToken], w.name).toEqual(["synapse", false]);
      const gate = pod.initContainers[0];
      expect(gate.name, w.name).toBe("topology-gate");
      const tokenVolume = pod.volumes.find((v: Obj) => v.projected?.sources.some((s: Obj) => s.serviceAccountToken));
      expect(gate.volumeMounts).toEqual([{ name: tokenVolume.name, mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true }]);
      // Synapse itself (and the media provider's installer) never sees the token.
      for (const c of [...pod.containers, ...pod.initContainers.slice(1)]) expect(c.volumeMounts.map((m: Obj) => m.name), `${w.name} ${c.name}`).not.toContain(tokenVolume.name);
      expect(gate.command[2]).toContain(`matrix-scale%2Ftopology!%3D${hash}`);
      // Synapse's StatefulSets keep rolling one pod at a time for every other change.
      expect((w.inputs.spec as Obj).updateStrategy, w.name).toBeUndefined();
    }
    const role = ofKind(run, "rbac.authorization.k8s.io/v1:Role").find((r) => r.name === "synapse")!;
    expect(role.inputs.rules).toEqual([
      { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
      { apiGroups: [""], resources: ["configmaps"], verbs: ["get"], resourceNames: ["synapse-topology"] },
    ]);
    const declared = named(run, "core/v1:ConfigMap", "synapse-topology")!;
    expect((declared.inputs.metadata as Obj).annotations).toEqual({ [TOPOLOGY]: hash });
    expect(declared.inputs.data).toBeUndefined();
  });

  it("the Job stops pods of another topology, may read exactly the fleet's workloads, and runs after them and the ConfigMap", async () => {
    const { run } = await program({}, 5000);
    const job = jobOf(run);
    const metadata = job.inputs.metadata as Obj;
    expect(metadata.annotations["matrix-scale/stops-pods-not-on"]).toBe(`${TOPOLOGY}=${topologyOf(run)}`);
    const role = ofKind(run, "rbac.authorization.k8s.io/v1:Role").find((r) => r.name === "synapse-restart")!;
    const names = (kind: string) => workloadsOf(run).filter((w) => w.type === `kubernetes:apps/v1:${kind}`).map((w) => (w.inputs.metadata as Obj).name).sort();
    const rules = role.inputs.rules as Obj[];
    expect(rules[0]).toEqual({ apiGroups: [""], resources: ["pods"], verbs: ["list", "deletecollection"] });
    expect(rules.find((r) => r.resources[0] === "statefulsets")!.resourceNames.sort()).toEqual(names("StatefulSet"));
    expect(rules.find((r) => r.resources[0] === "deployments")!.resourceNames.sort()).toEqual(names("Deployment"));
    const script = (job.inputs.spec as Obj).template.spec.containers[0].command[2] as string;
    for (const w of workloadsOf(run)) expect(script).toContain(`wait_for settled ${w.type.endsWith("StatefulSet") ? "statefulsets" : "deployments"} ${w.name}`);
    expect(script).not.toContain("wait_for healthy");
    const { dependencies, timeouts } = await runRecordingDependencies({ ccu: 5000, serverName: SERVER_NAME });
    // The engine waits as long as the Job may run; a failed Job is replaced on the next update, and every run has a name of its own.
    const p = plan(parseSettings({ ccu: 5000, serverName: SERVER_NAME }));
    const deadline = (job.inputs.spec as Obj).activeDeadlineSeconds as number;
    expect(deadline).toBeGreaterThan(p.synapse.restart.timeoutSeconds);
    expect(timeouts.get("kubernetes:batch/v1:Job::synapse-restart")).toEqual({ create: `${deadline + 60}s`, update: `${deadline + 60}s` });
    expect(metadata.annotations["pulumi.com/replaceUnready"]).toBe("true");
    expect(metadata.name).toBeUndefined();
    expect(rules).toContainEqual({ apiGroups: ["apps"], resources: ["replicasets/scale"], verbs: ["patch"] });
    expect(script.indexOf("wait_for stop_replicasets")).toBeLessThan(script.indexOf("wait_for stop_pods"));
    const key = (w: DeclaredResource) => `${w.type}::${w.name}`;
    const topologyMap = "kubernetes:core/v1:ConfigMap::synapse-topology";
    expect(dependencies.get(key(job))).toEqual(expect.arrayContaining([...workloadsOf(run).map(key), topologyMap]));
    expect(dependencies.get(topologyMap)).toEqual(expect.arrayContaining(workloadsOf(run).map(key)));
  });

  it("the topology changes with the event persisters, federation senders, pushers and stream writers; not with the autoscaled types or pool sizes", async () => {
    const base = topologyOf(await at({}));
    expect(topologyOf(await at({}))).toBe(base);
    for (const change of [{ eventPersister: { replicas: 3 } }, { federationSender: { replicas: 3 } }, { pusher: { replicas: 3 } }, { streamWriter: { replicas: 3 } }])
      expect(topologyOf(await at(change)), JSON.stringify(change)).not.toBe(base);
    for (const same of [{ synchrotron: { replicas: 5, maxReplicas: 10 } }, { generic: { replicas: 5 } }, { eventPersister: { cpMax: 7 } }])
      expect(topologyOf(await at(same)), JSON.stringify(same)).toBe(base);
  });

  it("the keys that make the topology are exactly the shared config's keys that name a Synapse instance", async () => {
    const { run, plan: p } = await program({}, 20_000);
    const shared = sharedConfig(run);
    const instances = new Set(["main", ...Object.values(p.synapse.workers).flatMap((w) => w.instances)]);
    const names = (v: unknown): boolean => (typeof v === "string" ? instances.has(v) : Array.isArray(v) ? v.some(names) : !!v && typeof v === "object" && Object.entries(v).some(([k, x]) => instances.has(k) || names(x)));
    const naming = Object.keys(shared).filter((k) => names(shared[k])).sort();
    // Plus the switches that move a duty off main (send_federation, start_pushers, enable_media_repo).
    expect(naming).toEqual(TOPOLOGY_KEYS.filter((k) => !["send_federation", "start_pushers", "enable_media_repo"].includes(k)).sort());
  });
});

describe("Synapse logging and caches per type", () => {
  it("each type's ConfigMap carries its log configuration (JSON lines at its level) and its cache factor; a level change restarts that type only", async () => {
    const { run, plan: p } = await program({ overrides: { synapse: { pusher: { logLevel: "DEBUG" } } } }, 20_000);
    for (const w of Object.values(p.synapse.workers).filter((x) => x.replicas > 0)) {
      const cm = ofKind(run, "core/v1:ConfigMap").find((r) => r.name === WORKER_NAMES[w.type])!;
      const log = parse(configMapData(cm)["log.yaml"]!) as Obj;
      expect(log.root, w.type).toEqual({ level: w.logLevel, handlers: ["console"] });
      // The formatter built into the image: a module of images/synapse, whose class extends Synapse's JSON formatter.
      const [module, cls] = [String(log.formatters.structured.class).split(".").slice(0, -1).join("/"), String(log.formatters.structured.class).split(".").pop()];
      expect(readFileSync(join(__dirname, "..", "..", "images", "synapse", `${module}.py`), "utf8")).toMatch(new RegExp(`^class ${cls}\\(TerseJsonFormatter\\):`, "m"));
      expect(log.handlers.console.stream).toBe("ext://sys.stdout");
      const own = processConfig(run, WORKER_NAMES[w.type]);
      // Synapse reads main's from log_config and a worker's from worker_log_config only.
      expect(own[w.type === "main" ? "log_config" : "worker_log_config"], w.type).toBe("/config/process/log.yaml");
      expect(own[w.type === "main" ? "worker_log_config" : "log_config"], w.type).toBeUndefined();
      expect(own.caches, w.type).toEqual({
        global_factor: w.cacheFactor,
        cache_autotuning: { max_cache_memory_usage: `${w.cacheMemory.maxMiB}M`, target_cache_memory_usage: `${w.cacheMemory.targetMiB}M`, min_cache_ttl: "5m" },
      });
    }
    expect(sharedConfig(run).caches).toBeUndefined();
    // Autotuning reads jemalloc's statistics: the start command preloads it as the image's start script does.
    expect(podTemplate(run, WORKER_NAMES.synchrotron).spec.containers[0].command[2]).toContain('export LD_PRELOAD="$jemalloc"');
    const quiet = await program({}, 20_000);
    const changed = Object.values(WORKER_NAMES).filter((n) => named(run, "apps/v1:StatefulSet", n) ?? named(run, "apps/v1:Deployment", n)).filter((n) => checksumOf(run, n) !== checksumOf(quiet.run, n));
    expect(changed).toEqual([WORKER_NAMES.pusher]);
  });
});

describe("the remote-media sweep", () => {
  it("is a daily CronJob on the application pool at the plan's schedule, limits and size, in the Synapse image, with Synapse's database role and the media user's keys from their Secrets, never both runs at once", async () => {
    const { run, plan: p } = await program({}, 5000);
    const cron = named(run, "batch/v1:CronJob", "synapse-remote-media-sweep")!;
    const spec = cron.inputs.spec as Obj;
    const sweep = p.synapse.remoteMediaSweep;
    expect([spec.schedule, spec.timeZone, spec.concurrencyPolicy]).toEqual([sweep.schedule, "Etc/UTC", "Forbid"]);
    const job = spec.jobTemplate.spec;
    expect([job.backoffLimit, job.activeDeadlineSeconds]).toEqual([sweep.retries, sweep.deadlineSeconds]);
    const pod = job.template.spec;
    expect(pod.nodeSelector).toEqual({ "matrix-scale/pool": "application" });
    expect(pod.automountServiceAccountToken).toBe(false);
    const [container] = pod.containers;
    const media = podTemplate(run, WORKER_NAMES.mediaRepository).spec.containers[0];
    expect(container.image).toBe(media.image);
    expect(container.resources).toEqual({
      requests: { cpu: `${sweep.resources.requests.vcpu * 1000}m`, memory: `${sweep.resources.requests.memoryGiB * 1024}Mi` },
      limits: { cpu: `${sweep.resources.limits.vcpu * 1000}m`, memory: `${sweep.resources.limits.memoryGiB * 1024}Mi` },
    });
    // Its arguments: the read-write Service of the database (no password in the URI), and the bucket the media workers use.
    const shared = sharedConfig(run);
    const provider = shared.media_storage_providers[0].config;
    const db = processConfig(run, "synapse-main").database.args;
    expect(container.command.slice(4)).toEqual([provider.bucket, provider.endpoint_url, provider.region_name, SERVER_NAME]);
    const uri = new URL(container.command[3]);
    expect([uri.protocol, uri.username, uri.password, uri.hostname, Number(uri.port), uri.pathname]).toEqual(["postgresql:", db.user, "", db.host, db.port, `/${db.dbname}`]);
    // Synapse's own keepalives: a dead database node ends the run in seconds, not at the deadline.
    for (const k of ["keepalives_idle", "keepalives_interval", "keepalives_count"]) expect(uri.searchParams.get(k), k).toBe(String(db[k]));
    expect([pod.restartPolicy, spec.startingDeadlineSeconds, pod.securityContext.runAsNonRoot, container.securityContext.readOnlyRootFilesystem]).toEqual(["Never", sweep.deadlineSeconds, true, true]);
    // A refusal fails the Job at once; other failures are retried.
    expect(job.podFailurePolicy.rules).toEqual([{ action: "FailJob", onExitCodes: { containerName: "sweep", operator: "In", values: [2] } }]);
    expect(container.command[2]).toContain(`GRACE_S, PREFIXES, BATCH, REFUSED = ${sweep.graceMinutes * 60},`);
    const fromSecret = Object.fromEntries(container.env.filter((e: Obj) => e.valueFrom).map((e: Obj) => [e.name, e.valueFrom.secretKeyRef]));
    expect(fromSecret).toEqual({
      PGPASSWORD: { name: "postgres-synapse-owner", key: "password" },
      AWS_ACCESS_KEY_ID: media.env.find((e: Obj) => e.name === "AWS_ACCESS_KEY_ID").valueFrom.secretKeyRef,
      AWS_SECRET_ACCESS_KEY: media.env.find((e: Obj) => e.name === "AWS_SECRET_ACCESS_KEY").valueFrom.secretKeyRef,
    });
    expect(container.env.filter((e: Obj) => e.value !== undefined && /PASSWORD|SECRET|KEY/.test(e.name))).toEqual([]);
  });
});

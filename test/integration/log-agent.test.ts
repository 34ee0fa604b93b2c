/**
 * The log agent with the rendered configuration: the OpenTelemetry Collector (built from the Go
 * module proxy with the components of the image's release, scripts/otelcol) tails a kubelet-style
 * `/var/log/pods` tree in a temporary directory and ships to an OTLP/HTTP receiver on loopback at
 * Loki's path (`/otlp/v1/logs`). The receiver is a second collector: its OTLP receiver decodes what
 * the agent sent, as Loki's endpoint would, and hands the records to the test as JSON.
 *
 * Checked: which lines are shipped and with which pod labels; the agent's own logs are not; CRI
 * partial lines are joined; nothing is lost while the receiver is down long enough to fill the queue
 * (the reading stops instead), with a restart of the agent meanwhile, nor across a kill of the agent
 * with lines queued, nor in a file the kubelet rotated while the agent was down, and nothing is sent
 * twice where nothing was killed; the queue metric the alert watches; idle it stays within the
 * plan's memory request, and a burst stays below its container's limit.
 */
import { randomUUID } from "node:crypto";
import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { logAgentConfigYaml, type LogAgentPaths } from "../../components/monitoring/log-agent";
import { planFor } from "../helpers";
import { freePort, Services, waitFor } from "./harness";
import { loopbackLogAgentPaths, OTELCOL, startLogAgent } from "./metrics/exporters";

const NODE = "node-a";
/** The tier's plan with a queue of 500 lines, so that an outage of a few seconds fills it (the plan's is 100,000). */
const tierPlan = planFor(5000);
const QUEUE_LINES = 500;
const plan = { ...tierPlan, monitoring: { ...tierPlan.monitoring, logAgent: { ...tierPlan.monitoring.logAgent, queueLines: QUEUE_LINES } } };
/** The exporter's queue of batches waiting to be sent, as the agent exports it (MatrixScaleLogsNotShipped watches it). */
const QUEUE_SIZE = "otelcol_exporter_queue_size";

interface Shipped {
  body: string;
  resource: Record<string, string>;
  attributes: Record<string, string>;
}

type KeyValue = { key: string; value: { stringValue?: string } };
const flat = (list: KeyValue[] = []) => Object.fromEntries(list.map((a) => [a.key, a.value.stringValue ?? JSON.stringify(a.value)]));

/** The records the receiving collector forwards (OTLP/JSON), in arrival order. */
function sink(received: Shipped[]): Server {
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const body = JSON.parse((req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw).toString("utf8")) as {
        resourceLogs: { resource: { attributes: KeyValue[] }; scopeLogs: { logRecords: { body: { stringValue: string }; attributes: KeyValue[] }[] }[] }[];
      };
      for (const r of body.resourceLogs)
        for (const s of r.scopeLogs) for (const l of s.logRecords) received.push({ body: l.body.stringValue, resource: flat(r.resource.attributes), attributes: flat(l.attributes) });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
}

/** A pod's log file as the kubelet lays it out: `<namespace>_<pod>_<uid>/<container>/0.log`, CRI lines. */
function podLog(pods: string, namespace: string, pod: string, container = "main") {
  const uid = randomUUID();
  const dir = join(pods, `${namespace}_${pod}_${uid}`, container);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "0.log");
  const cri = (lines: string[], stream = "stdout", tag = "F") => lines.map((l) => `${new Date().toISOString()} ${stream} ${tag} ${l}\n`).join("");
  return {
    uid,
    file,
    create: (lines: string[] = []) => writeFileSync(file, cri(lines)),
    write: (lines: string[], stream = "stdout") => appendFileSync(file, cri(lines, stream)),
    partial: (head: string, tail: string) => appendFileSync(file, cri([head], "stdout", "P") + cri([tail], "stdout", "F")),
  };
}

const lines = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag}-${i}`);

describe("the log agent (OpenTelemetry Collector) with the rendered configuration", () => {
  const services = new Services("log-agent");
  const received: Shipped[] = [];
  const server = sink(received);
  const pods = join(services.dir, "pods");
  let paths: LogAgentPaths;
  const synapse = podLog(pods, "synapse", "synapse-main-0", "synapse");

  const bodies = () => received.map((r) => r.body);
  const count = (body: string) => bodies().filter((b) => b === body).length;
  const arrived = async (expected: string[], timeoutMs = 60_000) => {
    try {
      await waitFor(`${expected.length} lines shipped`, async () => (expected.every((l) => count(l) > 0) ? true : undefined), timeoutMs, 250);
    } catch (error) {
      const missing = expected.filter((l) => count(l) === 0);
      throw new Error(`${String(error)}; ${missing.length} missing (first: ${JSON.stringify(missing[0])}); last received: ${JSON.stringify(bodies().slice(-3))}; agent log: ${services.log("agent").split("\n").filter((l) => /error|warn/i.test(l)).slice(-3).join("\n")}`);
    }
  };
  /** Lines written by `write`, once they have all arrived. */
  const shipped = async (write: (l: string[]) => void, tag: string, n: number) => {
    const written = lines(tag, n);
    write(written);
    await arrived(written);
    return written;
  };
  /** After a moment for anything sent twice to arrive, the lines that did not arrive exactly once. */
  const notOnce = async (expected: string[]) => {
    await new Promise((r) => setTimeout(r, 3000));
    return expected.filter((l) => count(l) !== 1);
  };
  const metrics = async () => (await fetch(`http://127.0.0.1:${paths.metricsPort}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
  const metric = (text: string, name: string) =>
    text.split("\n").filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `)).reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0);

  const startAgent = async () => {
    startLogAgent(services, "agent", join(services.dir, "agent.yaml"), plan, NODE);
    await waitFor("the agent's health check", async () => ((await fetch(`http://127.0.0.1:${paths.healthPort}/`, { signal: AbortSignal.timeout(2000) })).ok ? true : undefined), 30_000);
  };
  const startReceiver = async () => {
    services.start("receiver", OTELCOL, [`--config=${join(services.dir, "receiver.yaml")}`]);
    await waitFor("the receiver", async () => ((await fetch(receiverConfigUrl(), { method: "POST", body: "{}", headers: { "content-type": "application/json" }, signal: AbortSignal.timeout(2000) })).status < 500 ? true : undefined), 30_000);
  };
  let receiverPort = 0;
  const receiverConfigUrl = () => `http://127.0.0.1:${receiverPort}/otlp/v1/logs`;

  beforeAll(async () => {
    const sinkPort = await freePort();
    await new Promise<void>((resolve) => server.listen(sinkPort, "127.0.0.1", resolve));
    receiverPort = await freePort();
    paths = await loopbackLogAgentPaths(services.dir, `http://127.0.0.1:${receiverPort}/otlp`);
    writeFileSync(join(services.dir, "agent.yaml"), logAgentConfigYaml(plan, paths));
    // Loki's OTLP path; records go on to the test as JSON, uncompressed, and are not retried (the agent retries).
    const receiverConfig = stringify({
      receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${receiverPort}`, logs_url_path: "/otlp/v1/logs" } } } },
      exporters: { otlp_http: { endpoint: `http://127.0.0.1:${sinkPort}`, encoding: "json", compression: "none", sending_queue: { enabled: false }, retry_on_failure: { enabled: false } } },
      service: { telemetry: { metrics: { level: "none" } }, pipelines: { logs: { receivers: ["otlp"], exporters: ["otlp_http"] } } },
    });
    writeFileSync(join(services.dir, "receiver.yaml"), receiverConfig);
    mkdirSync(pods, { recursive: true });
    synapse.create(lines("before-first-start", 3));
    await startReceiver();
    await startAgent();
  }, 120_000);
  afterAll(async () => {
    await services.stopAll();
    await new Promise((resolve) => server.close(resolve));
  }, 60_000);

  it("ships what a pod wrote before the agent's first start and after, labelled with the pod's namespace, name, uid, container and node", async () => {
    synapse.write(lines("after-start", 5));
    synapse.write(["an error line"], "stderr");
    await arrived([...lines("after-start", 5), "an error line"]);
    const record = received.find((r) => r.body === "after-start-0")!;
    expect(record.resource).toMatchObject({ "k8s.namespace.name": "synapse", "k8s.pod.name": "synapse-main-0", "k8s.pod.uid": synapse.uid, "k8s.container.name": "synapse", "k8s.node.name": NODE });
    expect(record.attributes["log.iostream"]).toBe("stdout");
    expect(received.find((r) => r.body === "an error line")!.attributes["log.iostream"]).toBe("stderr");
    await arrived(lines("before-first-start", 3));
  }, 90_000);

  it("reads a pod that starts later from its first line, joins the CRI runtime's partial lines, and never reads the agent's own logs", async () => {
    const worker = podLog(pods, "synapse", "synapse-generic-worker-7c9d-x2x1q", "synapse");
    const own = podLog(pods, "monitoring", "log-agent-8kx2p", "otelcol");
    own.create(lines("agent-own", 3));
    worker.create(lines("new-pod", 2));
    worker.partial("a long line split by the runtime, ", "joined again");
    worker.write(["after the long line"]);
    await arrived([...lines("new-pod", 2), "a long line split by the runtime, joined again", "after the long line"]);
    expect(received.find((r) => r.body === "new-pod-0")!.resource["k8s.pod.name"]).toBe("synapse-generic-worker-7c9d-x2x1q");
    own.write(lines("agent-own-later", 3));
    synapse.write(["marker after the agent's own lines"]);
    await arrived(["marker after the agent's own lines"]);
    expect(bodies().filter((b) => b.startsWith("agent-own"))).toEqual([]);
  }, 90_000);

  it("loses nothing while the receiver is down long enough to fill the queue, nor when the agent is restarted meanwhile: reading stops, then every line arrives once it is back", async () => {
    await waitFor("an empty queue", async () => (metric(await metrics(), QUEUE_SIZE) === 0 ? true : undefined), 30_000, 500);
    await services.stop("receiver");
    const during = lines("while-loki-is-down", 3000);
    synapse.write(during);
    const capacity = metric(await metrics(), "otelcol_exporter_queue_capacity");
    expect(capacity).toBe(QUEUE_LINES);
    // Full: less room than one more read of up to 100 lines.
    await waitFor("a full queue", async () => (metric(await metrics(), QUEUE_SIZE) > capacity - 100 ? true : undefined), 60_000, 500);
    await new Promise((r) => setTimeout(r, 3000));
    const text = await metrics();
    // Full, and nothing refused or dropped: the reader waits (the receiver's accepted count stays below what was written).
    expect([metric(text, "otelcol_exporter_enqueue_failed_log_records"), metric(text, "otelcol_exporter_send_failed_log_records")]).toEqual([0, 0]);
    expect(metric(text, "otelcol_receiver_accepted_log_records")).toBeLessThan(during.length);
    // A rolling update or a drain during the outage: a graceful stop with the queue full and the reader waiting.
    await services.stop("agent");
    await startAgent();
    await startReceiver();
    await arrived(during, 180_000);
    await waitFor("an empty queue", async () => (metric(await metrics(), QUEUE_SIZE) === 0 ? true : undefined), 60_000, 500);
  }, 300_000);

  it("loses nothing and repeats nothing across a restart of the agent, nor across a kill with lines queued (offsets and queue on the node's disk)", async () => {
    const before = await shipped(synapse.write, "before-restart", 100);
    await services.stop("agent");
    const whileStopped = lines("while-the-agent-is-stopped", 200);
    synapse.write(whileStopped);
    await startAgent();
    await arrived(whileStopped);
    // Batches queued for a receiver that is down, then the agent killed without a chance to flush.
    await services.stop("receiver");
    const queued = lines("queued-when-killed", 300);
    synapse.write(queued);
    await waitFor("batches queued", async () => (metric(await metrics(), QUEUE_SIZE) > 0 ? true : undefined), 60_000, 250);
    process.kill(-services.pid("agent")!, "SIGKILL");
    await waitFor("the agent gone", async () => (services.running("agent") ? undefined : true), 10_000);
    await startAgent();
    await startReceiver();
    await arrived(queued, 120_000);
    expect(await notOnce([...before, ...whileStopped, ...queued])).toEqual([]);
  }, 300_000);

  it("reads to its end a file the kubelet rotated while the agent was down, once, and the new file from its start", async () => {
    const rotating = podLog(pods, "synapse", "synapse-stream-writer-events-0", "synapse");
    const read = await shipped(rotating.create, "read-before-rotation", 50);
    await services.stop("agent");
    const unread = lines("unread-when-rotated", 50);
    rotating.write(unread);
    // The kubelet's rotation: the full file renamed with the time, a new one in its place.
    renameSync(rotating.file, `${rotating.file}.20261202-143000`);
    const fresh = lines("after-rotation", 50);
    rotating.create(fresh);
    await startAgent();
    await arrived([...unread, ...fresh]);
    expect(await notOnce([...read, ...unread, ...fresh])).toEqual([]);
  }, 180_000);

  it("idle, the agent stays within the plan's memory request; a burst from twenty new pods stays below its container's limit", async () => {
    const status = () => readFileSync(`/proc/${services.pid("agent")}/status`, "utf8");
    const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status())![1]) / 1024;
    const idleMiB = kib("VmRSS");
    const writers = Array.from({ length: 20 }, (_, i) => podLog(pods, "synapse", `synapse-synchrotron-${i}`, "synapse"));
    const padding = "x".repeat(200);
    const burst: string[] = [];
    for (const [i, w] of writers.entries()) {
      const mine = lines(`burst-${i}`, 5000).map((l) => `${l} ${padding}`);
      w.create(mine);
      burst.push(mine[0]!, mine.at(-1)!);
    }
    await arrived(burst, 240_000);
    const peakMiB = kib("VmHWM");
    const resources = plan.monitoring.resources.logAgent;
    const requestMiB = resources.requests.memoryGiB * 1024;
    const limitMiB = resources.limits.memoryGiB * 1024;
    console.log(`log agent: idle RSS ${Math.round(idleMiB)} MiB (request ${requestMiB}); 100,000 lines (${Math.round((100_000 * 230) / 2 ** 20)} MiB) from 20 new pods at once: peak RSS ${Math.round(peakMiB)} MiB (container limit ${limitMiB}: the pod is not killed)`);
    expect(idleMiB).toBeLessThan(requestMiB);
    expect(peakMiB).toBeLessThan(limitMiB);
  }, 300_000);
});

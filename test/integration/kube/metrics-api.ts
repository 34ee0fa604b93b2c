/**
 * A test-only stand-in for metrics-server: the resource metrics API (metrics.k8s.io/v1beta1) that
 * the real kube-controller-manager's HPA controller reads, served on loopback through the real
 * API server's aggregation layer (an APIService whose Service is ExternalName `localhost`). KWOK's
 * pods burn no CPU, so the test says what each pod uses: `usage(pod, container)` in cores. The
 * answers have metrics-server's shape: one PodMetrics per running pod the label selector matches,
 * a usage for every container, a timestamp and a window.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { join } from "node:path";
import { waitFor } from "../harness";
import { AGGREGATED_API_SERVICE, KUBE_BIN, type ControlPlane, type KubeObject } from "./control-plane";

const GROUP_VERSION = "metrics.k8s.io/v1beta1";
const WINDOW_SECONDS = 15;

interface MetricsPod extends KubeObject {
  spec: { containers: { name: string }[] };
  status?: { phase?: string };
}

export type Usage = (pod: MetricsPod, container: string) => number;

export interface MetricsRead {
  at: number;
  namespace: string;
  /** The label selector the read asked with (the HPA's scale target's). */
  selector: string;
  /** CPU (cores) served for the pods the read listed. */
  cores: number;
}

export interface MetricsApi {
  /** Every pod-metrics read answered (the controller's reads), in order. */
  reads: MetricsRead[];
  stop(): Promise<void>;
}

const json = (value: unknown) => JSON.stringify(value);

/** A pod's PodMetrics, and the cores it reports (the sum over its containers, as served: whole millicores). */
function podMetrics(pod: MetricsPod, usage: Usage) {
  const containers = pod.spec.containers.map((c) => ({ name: c.name, milli: Math.round(usage(pod, c.name) * 1000) }));
  const metrics = {
    metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace, labels: pod.metadata.labels ?? {}, creationTimestamp: new Date().toISOString() },
    timestamp: new Date().toISOString(),
    window: `${WINDOW_SECONDS}s`,
    containers: containers.map((c) => ({ name: c.name, usage: { cpu: `${c.milli}m`, memory: "0" } })),
  };
  return { metrics, cores: containers.reduce((sum, c) => sum + c.milli, 0) / 1000 };
}

/** Starts the stand-in and registers it with the API server; resolves once the APIService is Available. */
export async function startMetricsApi(cp: ControlPlane, port: number, usage: Usage): Promise<MetricsApi> {
  const reads: MetricsRead[] = [];
  /** The pods a read asks for, listed without blocking the event loop (the API server waits on the answer). */
  const listPods = (namespace: string, selector: string) =>
    new Promise<MetricsPod[]>((resolve, reject) =>
      execFile(KUBE_BIN, ["kubectl", `--kubeconfig=${cp.kubeconfig}`, "get", "pods", "-n", namespace, "-o", "json", ...(selector ? ["-l", selector] : [])], { maxBuffer: 64 * 1024 * 1024, timeout: 30_000 }, (error, stdout, stderr) =>
        {
          if (error) return reject(new Error(`${error.message}: ${stderr}`));
          try {
            resolve((JSON.parse(stdout) as { items: MetricsPod[] }).items);
          } catch (parseError) {
            reject(parseError as Error);
          }
        },
      ),
    );
  const server: Server = createServer({ cert: readFileSync(join(cp.pki, "aggregated.crt")), key: readFileSync(join(cp.pki, "aggregated.key")) }, (req, res) => {
    const url = new URL(req.url ?? "/", "https://localhost");
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(json(body));
    };
    if (url.pathname === "/apis") {
      return send(200, { kind: "APIGroupList", apiVersion: "v1", groups: [{ name: "metrics.k8s.io", versions: [{ groupVersion: GROUP_VERSION, version: "v1beta1" }], preferredVersion: { groupVersion: GROUP_VERSION, version: "v1beta1" } }] });
    }
    if (url.pathname === `/apis/${GROUP_VERSION}`) {
      return send(200, {
        kind: "APIResourceList",
        apiVersion: "v1",
        groupVersion: GROUP_VERSION,
        resources: [
          { name: "pods", singularName: "", namespaced: true, kind: "PodMetrics", verbs: ["get", "list"] },
          { name: "nodes", singularName: "", namespaced: false, kind: "NodeMetrics", verbs: ["get", "list"] },
        ],
      });
    }
    const pods = url.pathname.match(/^\/apis\/metrics\.k8s\.io\/v1beta1\/namespaces\/([^/]+)\/pods$/);
    if (pods) {
      const namespace = decodeURIComponent(pods[1]!);
      const selector = url.searchParams.get("labelSelector") ?? "";
      listPods(namespace, selector)
        .then((listed) => {
          const running = listed.filter((p) => p.status?.phase === "Running" && !p.metadata.deletionTimestamp);
          const served = running.map((p) => podMetrics(p, usage));
          reads.push({ at: Date.now(), namespace, selector, cores: served.reduce((sum, s) => sum + s.cores, 0) });
          send(200, { kind: "PodMetricsList", apiVersion: GROUP_VERSION, metadata: {}, items: served.map((s) => s.metrics) });
        })
        .catch((error: Error) => send(500, { kind: "Status", apiVersion: "v1", status: "Failure", message: error.message }));
      return;
    }
    send(404, { kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404, message: `${url.pathname} is not served here` });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const caBundle = readFileSync(join(cp.pki, "ca.crt")).toString("base64");
  cp.must(
    ["apply", "-f", "-"],
    json({
      apiVersion: "v1",
      kind: "List",
      items: [
        { apiVersion: "v1", kind: "Service", metadata: { ...AGGREGATED_API_SERVICE }, spec: { type: "ExternalName", externalName: "localhost" } },
        {
          apiVersion: "apiregistration.k8s.io/v1",
          kind: "APIService",
          metadata: { name: "v1beta1.metrics.k8s.io" },
          spec: { group: "metrics.k8s.io", version: "v1beta1", groupPriorityMinimum: 100, versionPriority: 100, caBundle, service: { ...AGGREGATED_API_SERVICE, port } },
        },
      ],
    }),
  );
  const available = () => cp.kubectl(["get", "apiservice", "v1beta1.metrics.k8s.io", "-o", "jsonpath={.status.conditions[?(@.type=='Available')].status}"]).stdout.trim() === "True";
  await waitFor("the metrics APIService Available", async () => (available() ? true : undefined), 60_000, 500).catch((error: Error) => {
    throw new Error(`${error.message}\n${cp.kubectl(["get", "apiservice", "v1beta1.metrics.k8s.io", "-o", "yaml"]).stdout}`);
  });
  return { reads, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

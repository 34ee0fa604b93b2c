/**
 * Runs a rendered in-cluster script (a Job's or an init container's: POSIX sh and curl) on this
 * machine against a test control plane, as a pod of a given ServiceAccount would: a token the API
 * server issued for that account, the cluster CA, the namespace, and the API's address in the
 * variables the kubelet sets. So the Role the program grants is what allows or refuses each call.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RUN_LABEL } from "../../../components/coordinated-restart";
import type { ControlPlane } from "./control-plane";
import type { Manifest } from "./manifests";

/** A directory laid out like a pod's service-account mount, for `account` in `namespace`. */
export function serviceAccountDir(cp: ControlPlane, account: string, namespace: string): string {
  const dir = join(cp.services.dir, "serviceaccounts", account);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "token"), cp.must(["create", "token", account, "-n", namespace, "--duration=1h"]).trim());
  writeFileSync(join(dir, "namespace"), namespace);
  writeFileSync(join(dir, "ca.crt"), readFileSync(join(cp.services.dir, "pki", "ca.crt")));
  return dir;
}

export interface InClusterRun {
  /** Resolves with the exit code (-1 if killed) and the output. */
  done: Promise<{ code: number; out: string }>;
  stop(): void;
}

/** Starts the script; it is killed after `timeoutMs` whatever it is doing. */
export function startInCluster(cp: ControlPlane, script: string, accountDir: string, timeoutMs: number): InClusterRun {
  const server = new URL(cp.must(["config", "view", "-o", "jsonpath={.clusters[0].cluster.server}"]).trim());
  const child = spawn("sh", ["-c", script], {
    env: { ...process.env, SERVICEACCOUNT: accountDir, KUBERNETES_SERVICE_HOST: server.hostname, KUBERNETES_SERVICE_PORT: server.port },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d) => (out += String(d)));
  child.stderr.on("data", (d) => (out += String(d)));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const done = new Promise<{ code: number; out: string }>((resolve) =>
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out });
    }),
  );
  return { done, stop: () => child.kill("SIGKILL") };
}

export const runInCluster = (cp: ControlPlane, script: string, accountDir: string, timeoutMs = 60_000) => startInCluster(cp, script, accountDir, timeoutMs).done;

/** A coordinating Job among the rendered manifests (its component label): its name, the specification it runs for, and its script. */
export function coordinatingJob(list: readonly Manifest[], component: string): { name: string; hash: string; script: string } {
  const job = list.find((m) => m.kind === "Job" && m.metadata.labels?.["app.kubernetes.io/component"] === component);
  if (!job) throw new Error(`no Job of component ${component}`);
  const template = (job.spec as { template: { metadata: { labels: Record<string, string> }; spec: { containers: { command: string[] }[] } } }).template;
  return { name: job.metadata.name, hash: template.metadata.labels[RUN_LABEL]!, script: template.spec.containers[0]!.command[2]! };
}

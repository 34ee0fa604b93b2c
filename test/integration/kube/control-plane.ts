/**
 * A real Kubernetes control plane for tests, on 127.0.0.1: etcd, kube-apiserver,
 * kube-controller-manager and kube-scheduler (one binary built from the pinned Kubernetes release
 * by scripts/install-kube.sh) and KWOK simulating the nodes' kubelets. Certificates are generated
 * per run; every process is bounded in time and stopped by stop().
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import * as https from "node:https";
import { join } from "node:path";
import { freePortBlock, GaveUp, ROOT, Services, waitFor } from "../harness";

export const KUBE_BIN = join(ROOT, ".cache", "bin", "kube-testbed");
export const KWOK_BIN = join(ROOT, ".cache", "bin", "kwok");
/** kwok's own node and pod stages, assembled from its module by the install script. */
export const KWOK_STAGES = join(ROOT, ".cache", "kwok-stages.yaml");

/**
 * The Service an aggregated API server on this machine is registered under (ExternalName
 * `localhost`): the API server checks the server's certificate for `<name>.<namespace>.svc`.
 */
export const AGGREGATED_API_SERVICE = { name: "aggregated-api", namespace: "kube-system" } as const;

/** Range the API server allocates Service addresses from; nothing is ever sent there. */
const SERVICE_CIDR = "10.96.0.0/16";

function openssl(dir: string, ...args: string[]): void {
  const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
}

/** A CA, the API server's serving certificate, an admin client certificate and the service-account key pair. */
function certificates(dir: string): void {
  const key = (name: string) => openssl(dir, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key`);
  key("ca");
  openssl(dir, "req", "-x509", "-new", "-key", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=matrix-scale-test-ca");
  const sign = (name: string, subject: string, extensions: string) => {
    key(name);
    openssl(dir, "req", "-new", "-key", `${name}.key`, "-out", `${name}.csr`, "-subj", subject);
    writeFileSync(join(dir, `${name}.ext`), extensions);
    openssl(dir, "x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "2", "-extfile", `${name}.ext`);
  };
  sign("apiserver", "/CN=kube-apiserver", "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n");
  sign("admin", "/O=system:masters/CN=matrix-scale-test-admin", "extendedKeyUsage=clientAuth\n");
  // The aggregation layer: the API server's client certificate towards aggregated API servers, and
  // a serving certificate for one on loopback (an APIService whose Service is ExternalName localhost).
  sign("front-proxy-client", "/CN=front-proxy-client", "extendedKeyUsage=clientAuth\n");
  const { name, namespace } = AGGREGATED_API_SERVICE;
  sign("aggregated", "/CN=localhost", `subjectAltName=DNS:localhost,DNS:${name}.${namespace}.svc,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n`);
  key("service-account");
  openssl(dir, "ec", "-in", "service-account.key", "-pubout", "-out", "service-account.pub");
}

function kubeconfig(dir: string, server: string): string {
  const path = join(dir, "admin.kubeconfig");
  writeFileSync(
    path,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      `- name: test\n  cluster:\n    server: ${server}\n    certificate-authority: ${join(dir, "ca.crt")}`,
      "users:",
      `- name: admin\n  user:\n    client-certificate: ${join(dir, "admin.crt")}\n    client-key: ${join(dir, "admin.key")}`,
      "contexts:",
      "- name: test\n  context:\n    cluster: test\n    user: admin",
      "current-context: test",
      "",
    ].join("\n"),
  );
  return path;
}

export interface KubectlResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface LostNodes {
  evictAfterSeconds: number;
}

export class ControlPlane {
  readonly services: Services;
  readonly kubeconfig: string;
  /** The run's CA (ca.crt) and certificates, among them `aggregated.crt`/`.key` for an aggregated API server on localhost. */
  readonly pki: string;
  private readonly ports: { etcdClient: number; etcdPeer: number; apiserver: number; controllerManager: number; scheduler: number };

  private constructor(
    services: Services,
    kubeconfigPath: string,
    ports: ControlPlane["ports"],
    private readonly kwokStages: string,
    private readonly lostNodes: LostNodes | undefined,
  ) {
    this.services = services;
    this.kubeconfig = kubeconfigPath;
    this.pki = join(services.dir, "pki");
    this.ports = ports;
  }

  /**
   * Starts every component and waits until the API server is healthy and nodes can be managed.
   * `kwokStages` replaces KWOK's stages file (how fake pods progress). `lostNodes`: for a test that
   * stops nodes' heartbeats (`manageOnly`), the node controller runs with Kubernetes' own grace
   * period (a node whose lease is not renewed for it turns NotReady; with few nodes KWOK renews every
   * lease in time), and pods that set no toleration of their own leave an unreachable or not-ready
   * node after `evictAfterSeconds` instead of Kubernetes' 300 (time compressed, nothing else changed).
   */
  static async start(prefix: string, options: { kwokStages?: string; lostNodes?: LostNodes } = {}): Promise<ControlPlane> {
    const services = new Services(prefix);
    const pki = join(services.dir, "pki");
    mkdirSync(pki);
    certificates(pki);
    const base = await freePortBlock(5);
    const ports = { etcdClient: base, etcdPeer: base + 1, apiserver: base + 2, controllerManager: base + 3, scheduler: base + 4 };
    const server = `https://127.0.0.1:${ports.apiserver}`;
    const plane = new ControlPlane(services, kubeconfig(pki, server), ports, options.kwokStages ?? KWOK_STAGES, options.lostNodes);
    try {
      await plane.boot(pki);
    } catch (error) {
      await plane.stop({ keepLogs: true });
      throw error;
    }
    return plane;
  }

  private component(name: string, args: string[]): void {
    this.services.start(name, KUBE_BIN, [name, ...args]);
  }

  private alive(name: string): void {
    if (!this.services.running(name)) throw new GaveUp(`${name} exited:\n${this.services.log(name).slice(-3000)}`);
  }

  private async boot(pki: string): Promise<void> {
    const { etcdClient, etcdPeer, apiserver, controllerManager, scheduler } = this.ports;
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    this.component("etcd", [
      "--name=test",
      `--data-dir=${join(this.services.dir, "etcd")}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=test=http://127.0.0.1:${etcdPeer}`,
      "--listen-metrics-urls=",
      // A test cluster's data is thrown away: skip fsync, keep the database small.
      "--unsafe-no-fsync",
      "--quota-backend-bytes=1073741824",
      "--log-level=warn",
    ]);
    await waitFor("etcd to answer", async () => {
      this.alive("etcd");
      const response = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(2000) });
      return response.ok ? true : undefined;
    }, 30_000);

    this.component("kube-apiserver", [
      `--etcd-servers=${etcdUrl}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${apiserver}`,
      `--tls-cert-file=${join(pki, "apiserver.crt")}`,
      `--tls-private-key-file=${join(pki, "apiserver.key")}`,
      `--client-ca-file=${join(pki, "ca.crt")}`,
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${join(pki, "service-account.pub")}`,
      `--service-account-signing-key-file=${join(pki, "service-account.key")}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      "--authorization-mode=Node,RBAC",
      `--proxy-client-cert-file=${join(pki, "front-proxy-client.crt")}`,
      `--proxy-client-key-file=${join(pki, "front-proxy-client.key")}`,
      `--requestheader-client-ca-file=${join(pki, "ca.crt")}`,
      "--requestheader-allowed-names=front-proxy-client",
      "--requestheader-username-headers=X-Remote-User",
      "--requestheader-group-headers=X-Remote-Group",
      "--requestheader-extra-headers-prefix=X-Remote-Extra-",
      // The `kubernetes` Service's endpoint would be 127.0.0.1, which Endpoints refuse; nothing here needs it.
      "--endpoint-reconciler-type=none",
      ...(this.lostNodes ? [`--default-not-ready-toleration-seconds=${this.lostNodes.evictAfterSeconds}`, `--default-unreachable-toleration-seconds=${this.lostNodes.evictAfterSeconds}`] : []),
      "--profiling=false",
      "--v=1",
    ]);
    await waitFor("kube-apiserver to be ready", async () => {
      this.alive("kube-apiserver");
      const r = this.kubectl(["get", "--raw", "/readyz"]);
      return r.status === 0 && r.stdout.trim() === "ok" ? true : undefined;
    }, 90_000, 500);

    const kubeconfigArg = `--kubeconfig=${this.kubeconfig}`;
    this.component("kube-controller-manager", [
      kubeconfigArg,
      "--bind-address=127.0.0.1",
      `--secure-port=${controllerManager}`,
      "--leader-elect=false",
      `--service-account-private-key-file=${join(pki, "service-account.key")}`,
      `--root-ca-file=${join(pki, "ca.crt")}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      "--use-service-account-credentials=false",
      // KWOK renews 50 node leases from one process: on a loaded 2-core machine a renewal can be
      // late, and the default 50 s grace would mark the node NotReady and its pods unready. Tests
      // that drain or delete nodes do not rely on detecting a failed node, so allow a late lease.
      ...(this.lostNodes ? [] : ["--node-monitor-grace-period=5m"]),
      "--profiling=false",
      "--v=1",
    ]);
    this.component("kube-scheduler", [kubeconfigArg, "--bind-address=127.0.0.1", `--secure-port=${scheduler}`, "--leader-elect=false", "--profiling=false", "--v=1"]);
    this.startKwok(["--manage-all-nodes=true"]);
    for (const [name, port] of [["kube-controller-manager", controllerManager], ["kube-scheduler", scheduler]] as const) {
      await waitFor(`${name} to be healthy`, async () => {
        this.alive(name);
        return (await healthz(port)) ? true : undefined;
      }, 60_000, 500);
    }
    // The default ServiceAccount exists once the controller manager's token and SA controllers run.
    await waitFor("the default ServiceAccount", async () => {
      this.alive("kube-controller-manager");
      return this.kubectl(["get", "serviceaccount", "default", "-n", "default"]).status === 0 ? true : undefined;
    }, 60_000, 500);
    this.alive("kwok");
  }

  /** KWOK: the kubelet of every node it manages (`which`: its manage-nodes flag). */
  private startKwok(which: string[]): void {
    this.services.start("kwok", KWOK_BIN, [
      `--kubeconfig=${this.kubeconfig}`,
      `--config=${this.kwokStages}`,
      ...which,
      "--node-lease-duration-seconds=40",
      "--cidr=10.244.0.0/16",
      "--node-ip=127.0.0.1",
    ]);
  }

  /**
   * From now on KWOK is the kubelet of the nodes `labelSelector` matches only: the others stop
   * renewing their leases and answering for their pods, as nodes do whose zone has gone.
   */
  async manageOnly(labelSelector: string): Promise<void> {
    await this.services.stop("kwok");
    this.startKwok([`--manage-nodes-with-label-selector=${labelSelector}`]);
    // A wrong selector or flag ends KWOK at once.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    this.alive("kwok");
  }

  kubectl(args: string[], input?: string): KubectlResult {
    const r = spawnSync(KUBE_BIN, ["kubectl", `--kubeconfig=${this.kubeconfig}`, ...args], {
      encoding: "utf8",
      input,
      timeout: 300_000,
      maxBuffer: 256 * 1024 * 1024,
    });
    return { status: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? (r.error ? String(r.error) : "") };
  }

  /** kubectl that must succeed; its stdout. */
  must(args: string[], input?: string): string {
    const r = this.kubectl(args, input);
    if (r.status !== 0) throw new Error(`kubectl ${args.join(" ")} failed (${r.status}): ${r.stderr.slice(0, 4000)}`);
    return r.stdout;
  }

  /** Every object of a kind, as JSON. */
  list<T = KubeObject>(kind: string, namespace?: string): T[] {
    const scope = namespace ? ["-n", namespace] : ["--all-namespaces"];
    return (JSON.parse(this.must(["get", kind, ...scope, "-o", "json"])) as { items: T[] }).items;
  }

  async stop(options: { keepLogs?: boolean } = {}): Promise<void> {
    // kwok and the controllers first, so nothing writes to an API server that is going away.
    for (const name of ["kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"]) await this.services.stop(name);
    await this.services.stopAll({ keepDir: options.keepLogs ?? false });
  }
}

/** A component's /healthz (self-signed serving certificate, generated at its start). */
function healthz(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = https.get({ host: "127.0.0.1", port, path: "/healthz", rejectUnauthorized: false, timeout: 2000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on("error", () => resolve(false));
    request.on("timeout", () => request.destroy());
  });
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: { kind: string; name: string }[]; deletionTimestamp?: string };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

/**
 * Policies for `pulumi preview --policy-pack policy`: workload hygiene the deployment relies on.
 * Plain objects (no PolicyPack here: constructing one starts a server), unit-tested directly.
 */
import type { ReportViolation, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { NLB_ANNOTATION, NLB_LOAD_BALANCER_CLASS } from "../components/load-balancer";
import { TLS_POLICY_ANNOTATIONS } from "../components/naming";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const WORKLOADS: Record<string, (props: Obj) => Obj | undefined> = {
  "kubernetes:apps/v1:Deployment": (p) => p.spec?.template,
  "kubernetes:apps/v1:StatefulSet": (p) => p.spec?.template,
  "kubernetes:apps/v1:DaemonSet": (p) => p.spec?.template,
  "kubernetes:batch/v1:Job": (p) => p.spec?.template,
};

function podTemplate(type: string, props: Obj): Obj | undefined {
  return WORKLOADS[type]?.(props);
}

function containers(template: Obj): Obj[] {
  return [...(template.spec?.containers ?? []), ...(template.spec?.initContainers ?? [])];
}

const label = (props: Obj) => props.metadata?.name ?? "(unnamed)";

export const podsHaveRequestsAndLimits: ResourceValidationPolicy = {
  name: "pods-have-requests-and-limits",
  description: "Every container requests and limits CPU and memory (the N-1 sizing counts them).",
  enforcementLevel: "mandatory",
  validateResource: ({ type, props }, report: ReportViolation) => {
    const template = podTemplate(type, props);
    if (!template) return;
    for (const c of containers(template)) {
      for (const kind of ["requests", "limits"] as const) {
        for (const res of ["cpu", "memory"]) {
          if (!c.resources?.[kind]?.[res]) report(`${label(props)}/${c.name}: no ${res} ${kind}`);
        }
      }
    }
  },
};

/** Call hosts need host networking (media ports on the host); nothing else may have it. */
export const CALL_HOST_LABEL = "matrix-scale/call-host";

export const noPrivilegedPods: ResourceValidationPolicy = {
  name: "no-privileged-pods",
  description: "No privileged containers or privilege escalation; host networking only on call hosts.",
  enforcementLevel: "mandatory",
  validateResource: ({ type, props }, report: ReportViolation) => {
    const template = podTemplate(type, props);
    if (!template) return;
    const spec = template.spec ?? {};
    if ((spec.hostNetwork || spec.hostPID || spec.hostIPC) && template.metadata?.labels?.[CALL_HOST_LABEL] !== "true") {
      report(`${label(props)}: host namespaces are reserved for call hosts (label ${CALL_HOST_LABEL}=true)`);
    }
    for (const c of containers(template)) {
      const sc = c.securityContext ?? {};
      if (sc.privileged) report(`${label(props)}/${c.name}: privileged`);
      if (sc.allowPrivilegeEscalation !== false) report(`${label(props)}/${c.name}: allowPrivilegeEscalation is not false`);
      if ((sc.capabilities?.add ?? []).length) report(`${label(props)}/${c.name}: adds capabilities ${sc.capabilities.add.join(", ")}`);
    }
  },
};

const REPLICATION_PORT = 9093;

export const replicationNeverExposed: ResourceValidationPolicy = {
  name: "replication-listener-never-exposed",
  description: "Synapse's replication listener is reachable only inside the cluster, never through a proxy or a load balancer.",
  enforcementLevel: "mandatory",
  validateResource: ({ type, props }, report: ReportViolation) => {
    if (type === "kubernetes:core/v1:Service") {
      const exposed = props.spec?.type === "LoadBalancer" || props.spec?.type === "NodePort";
      const replication = (props.spec?.ports ?? []).some((p: Obj) => p.port === REPLICATION_PORT || p.targetPort === REPLICATION_PORT || p.targetPort === "replication" || p.name === "replication");
      if (replication && (exposed || props.spec?.clusterIP !== "None")) report(`${label(props)}: exposes the replication port`);
    }
    if (type === "kubernetes:core/v1:ConfigMap") {
      for (const [key, value] of Object.entries(props.data ?? {})) {
        if (/haproxy|nginx/.test(key) && new RegExp(`:${REPLICATION_PORT}\\b`).test(String(value))) report(`${label(props)}: ${key} proxies to the replication port`);
      }
    }
    if (type === "kubernetes:networking.k8s.io/v1:Ingress") report(`${label(props)}: no Ingress: Synapse is reached through its HAProxy tier`);
  },
};

/**
 * Settings that hold a secret, each capturing (key, value): YAML and INI style (`key: value`,
 * `key=value`) and Redis/Sentinel style (`requirepass value`, `sentinel auth-pass <master> value`).
 */
const SECRET_SETTINGS = [
  /^\s*[-\w.]*(password|secret|token|macaroon|private_?key|requirepass|masterauth|auth-pass)[-\w]*\s*[:=]\s*(\S+)/i,
  /^\s*(requirepass|masterauth)\s+(\S+)\s*$/i,
  /^\s*sentinel\s+(auth-pass)\s+\S+\s+(\S+)\s*$/i,
];

/** A literal: not a variable, a path setting, or a value too short to be a credential. */
function isLiteral(value: string): boolean {
  return !/^["']?\$/.test(value) && !value.startsWith("#") && value.replace(/^["']|["']$/g, "").length >= 6;
}

export const noSecretsInConfigMaps: ResourceValidationPolicy = {
  name: "no-secrets-in-configmaps",
  description: "ConfigMaps hold no credentials: secrets live in Secrets (and Pulumi secrets).",
  enforcementLevel: "mandatory",
  validateResource: ({ type, props }, report: ReportViolation) => {
    if (type !== "kubernetes:core/v1:ConfigMap") return;
    for (const [key, value] of Object.entries(props.data ?? {})) {
      for (const line of String(value).split("\n")) {
        if (/_path\s*[:=]|_file\s*[:=]|use-auth-secret/.test(line)) continue;
        const match = SECRET_SETTINGS.map((pattern) => pattern.exec(line)).find((m) => m && isLiteral(m[2]!));
        if (match) report(`${label(props)}: ${key} sets ${match[1]} to a literal value`);
      }
    }
  },
};

export const imagesPinned: ResourceValidationPolicy = {
  name: "images-pinned",
  description: "Every image names a version (a tag other than latest, or a digest).",
  enforcementLevel: "mandatory",
  validateResource: ({ type, props }, report: ReportViolation) => {
    const template = podTemplate(type, props);
    if (!template) return;
    for (const c of containers(template)) {
      const image = String(c.image ?? "");
      const tag = image.includes("@sha256:") ? "digest" : /:([^/:]+)$/.exec(image)?.[1];
      if (!tag || tag === "latest") report(`${label(props)}/${c.name}: image ${image || "(none)"} is not pinned`);
    }
  },
};

/**
 * Whether a LoadBalancer Service gets a public address: its scheme annotation says so (anything but
 * `internal` counts as public); without one, the AWS Load Balancer Controller makes internal load
 * balancers, and the in-tree provider (as most clouds) public ones unless marked internal.
 */
function internetFacing(annotations: Record<string, string>, spec: Obj): boolean {
  const scheme = annotations[`${NLB_ANNOTATION}-scheme`];
  if (scheme !== undefined) return scheme !== "internal";
  const type = annotations[`${NLB_ANNOTATION}-type`];
  if (spec.loadBalancerClass === NLB_LOAD_BALANCER_CLASS || type === "external" || type === "nlb-ip") return false;
  const internal = annotations[`${NLB_ANNOTATION}-internal`];
  return internal === undefined || internal === "false";
}

/** A comma-separated list of ports (numbers or names); `*` is every port. */
function portList(value: string | undefined): Set<string> | "all" {
  if (value?.trim() === "*") return "all";
  return new Set((value ?? "").split(",").map((p) => p.trim()).filter(Boolean));
}

const TLS_PASSTHROUGH = "passthrough";

export const internetFacingListenersUseTls: ResourceValidationPolicy = {
  name: "internet-facing-listeners-use-tls",
  description:
    "Every port of an internet-facing load balancer carries TLS: ended at the NLB with a certificate, passed through to pods that end it, or only redirecting to HTTPS.",
  enforcementLevel: "mandatory",
  validateResource: ({ type, props }, report: ReportViolation) => {
    if (type !== "kubernetes:core/v1:Service" || props.spec?.type !== "LoadBalancer") return;
    const annotations: Record<string, string> = props.metadata?.annotations ?? {};
    if (!internetFacing(annotations, props.spec)) return;
    const marker = annotations[TLS_POLICY_ANNOTATIONS.tls];
    if (marker !== undefined && marker !== TLS_PASSTHROUGH) report(`${label(props)}: ${TLS_POLICY_ANNOTATIONS.tls} is "${marker}"; only "${TLS_PASSTHROUGH}" is understood`);
    // The controller (and the in-tree provider) put TLS on every port when a certificate names no ports.
    const atLoadBalancer = annotations[`${NLB_ANNOTATION}-ssl-cert`] ? portList(annotations[`${NLB_ANNOTATION}-ssl-ports`] ?? "*") : new Set<string>();
    const redirectOnly = portList(annotations[TLS_POLICY_ANNOTATIONS.redirectOnlyPorts]);
    for (const port of (props.spec.ports ?? []) as Obj[]) {
      const which = `port ${port.port}${port.name ? ` (${port.name})` : ""}`;
      if ((port.protocol ?? "TCP") === "UDP") {
        report(`${label(props)}: ${which} is internet-facing UDP, which carries no TLS`);
        continue;
      }
      const keys = [String(port.port), ...(port.name ? [String(port.name)] : [])];
      const listed = (ports: Set<string> | "all") => ports === "all" || keys.some((k) => ports.has(k));
      if (marker === TLS_PASSTHROUGH || listed(atLoadBalancer) || listed(redirectOnly)) continue;
      report(`${label(props)}: ${which} is internet-facing without TLS`);
    }
  },
};

export const disruptionBudgets: StackValidationPolicy = {
  name: "pdb-for-multi-replica-workloads",
  description: "Every workload running two or more pods has a PodDisruptionBudget selecting them.",
  enforcementLevel: "mandatory",
  validateStack: ({ resources }, report: ReportViolation) => {
    const budgets = resources.filter((r) => r.type === "kubernetes:policy/v1:PodDisruptionBudget").map((r) => r.props as Obj);
    for (const r of resources) {
      const props = r.props as Obj;
      const template = podTemplate(r.type, props);
      if (!template || r.type === "kubernetes:batch/v1:Job" || (props.spec?.replicas ?? 1) < 2) continue;
      const labels = template.metadata?.labels ?? {};
      const covered = budgets.some(
        (b) => (b.metadata?.namespace ?? "") === (props.metadata?.namespace ?? "") && Object.entries(b.spec?.selector?.matchLabels ?? { _: "_" }).every(([k, v]) => labels[k] === v),
      );
      if (!covered) report(`${label(props)}: ${props.spec.replicas} replicas and no PodDisruptionBudget`);
    }
  },
};

export const POLICIES = [podsHaveRequestsAndLimits, noPrivilegedPods, replicationNeverExposed, noSecretsInConfigMaps, imagesPinned, internetFacingListenersUseTls, disruptionBudgets];

/**
 * Restarting a fleet together, the Kubernetes way. Every pod of the fleet carries a label saying
 * which configuration it must agree on with the others (MinIO: the servers' whole specification;
 * Synapse: the processes' topology). A Job, a new one for each specification of the fleet, runs once
 * the workloads hold it: it stops every pod whose label differs in one request, then waits
 * until every workload has all its pods on the new specification and ready, then until the service
 * reports healthy. Fleets whose workloads roll by themselves keep their pods from starting beside
 * a different configuration with a gate (topologyGate below). `pulumi up` waits for the Job, so a
 * fleet that does not come back fails the update. The Job talks to the API with curl and its own
 * ServiceAccount, allowed to list and delete the fleet's pods and read its workloads.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Resources } from "../sizing/types";
import { componentLabels } from "./naming";
import { checksum, containerResources, RESTRICTED_CONTAINER, restrictedPod } from "./workload";

/** The label a fleet's pod template carries: the hash of the rest of the template. */
export const SPEC_LABEL = "matrix-scale/spec";
/** On a coordinating Job: what its run does to the service, for the tier diff. */
export const RESTART_ANNOTATION = "matrix-scale/coordinated-restart";
/** On a coordinating Job: `label=value`; a run stops every pod of the fleet without it (the tier diff compares it). */
export const STOPS_ANNOTATION = "matrix-scale/stops-pods-not-on";
/** On a coordinating Job's pod template: the fleet specification the run is for. A new one changes the template, so the engine replaces the Job: a new run under a new generated name. */
export const RUN_LABEL = "matrix-scale/fleet-spec";
/** The workloads' readiness is the Job's to wait for: the engine would wait for a roll that only the Job completes. */
export const SKIP_AWAIT = { "pulumi.com/skipAwait": "true" } as const;

export function specHash(template: unknown): string {
  return checksum(JSON.stringify(template)).slice(0, 12);
}

export interface Workload {
  kind: "statefulsets" | "deployments";
  name: string;
}

export interface RestartScript {
  /** Label selector of the fleet's pods (every workload's). */
  selector: Readonly<Record<string, string>>;
  /** Every pod of the fleet without this label value is stopped, in one request. */
  current: { label: string; value: string };
  workloads: readonly Workload[];
  /** Answers 2xx once the restarted fleet serves as a whole; without it, every pod ready is enough. */
  healthUrl?: string;
  timeoutSeconds: number;
  pollSeconds: number;
}

/** The fleet's pods whose label is not `current`'s value, as a URL-encoded label selector. */
const otherThan = (selector: Readonly<Record<string, string>>, current: { label: string; value: string }) =>
  encodeURIComponent([...Object.entries(selector).map(([k, v]) => `${k}=${v}`), `${current.label}!=${current.value}`].join(","));

/** Shell pieces both scripts use: the ServiceAccount, the API address, an authenticated curl. */
const API_PRELUDE = `sa=\${SERVICEACCOUNT:-/var/run/secrets/kubernetes.io/serviceaccount}
api="https://\${KUBERNETES_SERVICE_HOST}:\${KUBERNETES_SERVICE_PORT}"
ns=$(cat "$sa/namespace")
k() { curl -sS --fail --max-time 10 --cacert "$sa/ca.crt" -H "Authorization: Bearer $(cat "$sa/token")" "$@"; }`;

/**
 * The Job's shell script (POSIX sh and curl). It reads the in-cluster ServiceAccount and the
 * API server's address from the standard places; SERVICEACCOUNT may point elsewhere (tests).
 * A workload's desired replicas are read from it (an autoscaler may have set them).
 */
export function restartScript(o: RestartScript): string {
  const stale = otherThan(o.selector, o.current);
  return `set -eu
${API_PRELUDE}
deadline=$(( $(date +%s) + ${o.timeoutSeconds} ))
wait_for() { until "$@"; do [ "$(date +%s)" -lt "$deadline" ] || { echo "gave up after ${o.timeoutSeconds} s waiting for: $*"; exit 1; }; sleep ${o.pollSeconds}; done; }
# The API server answers curl with indented JSON unless asked not to: one line. The object's own status starts with observedGeneration (its conditions carry "status" keys too).
get() { k "$api/apis/apps/v1/namespaces/$ns/$1/$2?pretty=false"; }
number() { sed -n "s/.*\\"$1\\":\\([0-9][0-9]*\\).*/\\1/p"; }
observed() { s=$(get "$1" "$2"); g=$(printf '%s' "\${s%%\\"spec\\":*}" | number generation); st=\${s##*\\"status\\":\\{\\"observedGeneration\\":}; [ -n "$g" ] && [ "\${st%%[!0-9]*}" = "$g" ]; }
# Desired replicas come first in the spec, before the pod template; observed leaves the object in $s and its status in $st.
settled() { observed "$1" "$2" || return 1; sp=\${s#*\\"spec\\":}; want=$(printf '%s' "\${sp%%\\"template\\":*}" | number replicas); [ -n "$want" ] || return 1; for f in replicas updatedReplicas readyReplicas; do [ "$(printf '%s' "$st" | number $f)" = "$want" ] || return 1; done; echo "$2: $want pods on the new specification, ready"; }
${o.workloads.map((w) => `wait_for observed ${w.kind} ${w.name}`).join("\n")}
${
  o.workloads.some((w) => w.kind === "deployments")
    ? `# Old ReplicaSets to none at once: their controller would bring them back and remove them only a surge at a time.
stale_replicasets() { l=$(k "$api/apis/apps/v1/namespaces/$ns/replicasets?labelSelector=${stale}&pretty=false") || return 1; printf '%s' "$l" | grep -o '"metadata":{"name":"[^"]*"' | sed 's/.*"name":"//; s/"$//'; }
scale_to_none() { k -X PATCH -o /dev/null -H "Content-Type: application/merge-patch+json" -d '{"spec":{"replicas":0}}' "$api/apis/apps/v1/namespaces/$ns/replicasets/$1/scale"; }
stop_replicasets() { names=$(stale_replicasets) || return 1; for r in $names; do scale_to_none "$r" || return 1; done; }
wait_for stop_replicasets
`
    : ""
}stop_pods() { k -X DELETE -o /dev/null "$api/api/v1/namespaces/$ns/pods?labelSelector=${stale}"; }
wait_for stop_pods
echo "stopped every pod not on ${o.current.label}=${o.current.value}"
${o.workloads.map((w) => `wait_for settled ${w.kind} ${w.name}`).join("\n")}
${
  o.healthUrl
    ? `healthy() { curl -sS --fail --max-time 5 -o /dev/null "${o.healthUrl}"; }
wait_for healthy
echo "healthy: ${o.healthUrl}"`
    : `echo "every pod ready"`
}
`;
}

export interface GateScript {
  /** Label selector of the fleet's pods. */
  selector: Readonly<Record<string, string>>;
  /** This pod's label and value. */
  current: { label: string; value: string };
  /** The ConfigMap whose annotation `current.label` names the value the fleet must run (an annotation: a change is an update in place). */
  configMap: string;
  pollSeconds: number;
}

/**
 * An init container's script: the pod starts only when its value is the one the ConfigMap names
 * (a pod of a superseded specification, recreated by its old ReplicaSet, never starts) and no pod
 * of the fleet with another value is running. Waits without a deadline: the Job bounds the restart.
 */
export function gateScript(o: GateScript): string {
  const others = otherThan(o.selector, o.current);
  return `set -eu
# PID 1 of its container: without a handler, SIGTERM would wait out the grace period.
trap 'exit 0' TERM
pause() { sleep ${o.pollSeconds} & wait $!; }
${API_PRELUDE}
declared() { k "$api/api/v1/namespaces/$ns/configmaps/${o.configMap}?pretty=false" | sed -n 's|.*"${o.current.label}":"\\([^"]*\\)".*|\\1|p'; }
until [ "$(declared || true)" = "${o.current.value}" ]; do echo "waiting: ${o.configMap} does not name ${o.current.value}"; pause; done
until k "$api/api/v1/namespaces/$ns/pods?labelSelector=${others}&fieldSelector=status.phase%3DRunning&limit=1&pretty=false" | grep -q '"items":\\[\\]'; do echo "waiting: pods of another ${o.current.label} are running"; pause; done
echo "no pod of another ${o.current.label} runs: starting on ${o.current.value}"
`;
}

type PolicyRule = k8s.types.input.rbac.v1.PolicyRule;

/** A ServiceAccount (no token mounted unless a pod asks) with a Role of `rules` bound to it; all named `name`. */
export function accountWithRole(name: string, namespace: string, rules: PolicyRule[], opts: pulumi.CustomResourceOptions): pulumi.Resource[] {
  const metadata = { name, namespace, labels: componentLabels(name) };
  return [
    new k8s.core.v1.ServiceAccount(name, { metadata, automountServiceAccountToken: false }, opts),
    new k8s.rbac.v1.Role(name, { metadata, rules }, opts),
    new k8s.rbac.v1.RoleBinding(name, { metadata, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name }, subjects: [{ kind: "ServiceAccount", name, namespace }] }, opts),
  ];
}

export interface CoordinatedRestartArgs extends RestartScript {
  /** Names the ServiceAccount and Role, and prefixes the Job's generated name. */
  name: string;
  /** The fleet's whole specification (RUN_LABEL): a new one is a new Job, which waits for the fleet again. */
  hash: string;
  namespace: string;
  image: string;
  resources: Resources;
  uid: number;
  /** What a run that stops pods does to the service, shown by the tier diff. */
  effect: string;
}

/** The ServiceAccount, its Role and binding, and the Job, which runs after `after` (the workloads) are updated. */
export function coordinatedRestart(args: CoordinatedRestartArgs, after: readonly pulumi.Resource[], opts: pulumi.CustomResourceOptions): k8s.batch.v1.Job {
  const labels = componentLabels(args.name);
  const engineWait = `${jobSeconds(args) + 60}s`;
  const kinds = [...new Set(args.workloads.map((w) => w.kind))];
  const access = accountWithRole(
    args.name,
    args.namespace,
    [
      { apiGroups: [""], resources: ["pods"], verbs: ["list", "deletecollection"] },
      ...(kinds.includes("deployments")
        ? [
            { apiGroups: ["apps"], resources: ["replicasets"], verbs: ["list"] },
            { apiGroups: ["apps"], resources: ["replicasets/scale"], verbs: ["patch"] },
          ]
        : []),
      ...kinds.map((kind) => ({ apiGroups: ["apps"], resources: [kind], verbs: ["get"], resourceNames: args.workloads.filter((w) => w.kind === kind).map((w) => w.name) })),
    ],
    opts,
  );
  return new k8s.batch.v1.Job(
    args.name,
    {
      // Named by the engine: a retry after a failure, or a return to an earlier specification, is a new run (never an old Job adopted).
      metadata: {
        namespace: args.namespace,
        labels,
        annotations: {
          [RESTART_ANNOTATION]: args.effect,
          [STOPS_ANNOTATION]: `${args.current.label}=${args.current.value}`,
          // A Job that failed is replaced on the next update instead of being waited on again.
          "pulumi.com/replaceUnready": "true",
        },
      },
      spec: {
        backoffLimit: 0,
        activeDeadlineSeconds: jobSeconds(args),
        template: {
          metadata: { labels: { ...labels, [RUN_LABEL]: args.hash } },
          spec: {
            restartPolicy: "Never",
            serviceAccountName: args.name,
            automountServiceAccountToken: true,
            securityContext: restrictedPod(args.uid),
            containers: [{ name: "restart", image: args.image, command: ["sh", "-c", restartScript(args)], resources: containerResources(args.resources), securityContext: RESTRICTED_CONTAINER }],
          },
        },
      },
    },
    // The engine waits as long as the Job may run (its own default is 10 minutes).
    { ...opts, dependsOn: [...after, ...access], customTimeouts: { create: engineWait, update: engineWait } },
  );
}

const jobSeconds = (args: Pick<RestartScript, "timeoutSeconds">) => args.timeoutSeconds + 60;

/** Where the gate container finds its token, CA and namespace: the standard in-cluster path. */
export const GATE_TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
const GATE_VOLUME = "api-token";

export interface TopologyGateArgs extends GateScript {
  image: string;
  resources: Resources;
}

/** The shortest life the API server issues a projected token for; the kubelet renews it. */
const TOKEN_SECONDS = 600;

/**
 * The gate's pieces of a pod spec: an init container running gateScript with the pod's
 * ServiceAccount token projected into it alone (the main container gets none), and the volume.
 */
export function topologyGate(args: TopologyGateArgs) {
  return {
    initContainer: {
      name: "topology-gate",
      image: args.image,
      command: ["sh", "-c", gateScript(args)],
      resources: containerResources(args.resources),
      securityContext: RESTRICTED_CONTAINER,
      volumeMounts: [{ name: GATE_VOLUME, mountPath: GATE_TOKEN_DIR, readOnly: true }],
    },
    volume: {
      name: GATE_VOLUME,
      projected: {
        sources: [
          { serviceAccountToken: { path: "token", expirationSeconds: TOKEN_SECONDS } },
          { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
          { downwardAPI: { items: [{ path: "namespace", fieldRef: { fieldPath: "metadata.namespace" } }] } },
        ],
      },
    },
  };
}

/** What the gate's ServiceAccount may do: list the fleet's pods, read the one ConfigMap. */
export function gateRules(configMap: string): PolicyRule[] {
  return [
    { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
    { apiGroups: [""], resources: ["configmaps"], verbs: ["get"], resourceNames: [configMap] },
  ];
}

/**
 * Restarting a fleet together, the Kubernetes way: its StatefulSets never roll by themselves
 * (`updateStrategy: OnDelete`) and their pods carry a hash of their specification; a Job named
 * after that hash runs once the StatefulSets hold the new specification, stops every pod on an
 * older one at once through the API, and waits until every StatefulSet has all its pods on the new
 * specification and ready, then until the service reports healthy. `pulumi up` waits for the Job,
 * so a fleet that does not come back fails the update. The Job talks to the API with curl and its
 * own ServiceAccount, allowed to list and delete the fleet's pods and read its StatefulSets.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Resources } from "../sizing/types";
import { componentLabels } from "./naming";
import { checksum, containerResources, RESTRICTED_CONTAINER } from "./workload";

/** The label a fleet's pod template carries: the hash of the rest of the template. */
export const SPEC_LABEL = "matrix-scale/spec";
/** On a coordinating Job: what its run does to the service, for the tier diff. */
export const RESTART_ANNOTATION = "matrix-scale/coordinated-restart";
/** The StatefulSets' readiness is the Job's to wait for: the engine would wait for a roll that OnDelete never starts. */
export const SKIP_AWAIT = { "pulumi.com/skipAwait": "true" } as const;

export function specHash(template: unknown): string {
  return checksum(JSON.stringify(template)).slice(0, 12);
}

export interface RestartScript {
  /** Label selector of the fleet's pods (every StatefulSet's). */
  selector: Readonly<Record<string, string>>;
  hash: string;
  statefulSets: readonly { name: string; replicas: number }[];
  /** Answers 2xx once the restarted fleet serves as a whole. */
  healthUrl: string;
  timeoutSeconds: number;
  pollSeconds: number;
}

const selectorParam = (selector: Readonly<Record<string, string>>, extra: string[] = []) => encodeURIComponent([...Object.entries(selector).map(([k, v]) => `${k}=${v}`), ...extra].join(","));

/**
 * The Job's shell script (POSIX sh and curl). It reads the in-cluster ServiceAccount and the
 * API server's address from the standard places; SERVICEACCOUNT may point elsewhere (tests).
 */
export function restartScript(o: RestartScript): string {
  const stale = selectorParam(o.selector, [`${SPEC_LABEL}!=${o.hash}`]);
  return `set -eu
sa=\${SERVICEACCOUNT:-/var/run/secrets/kubernetes.io/serviceaccount}
api="https://\${KUBERNETES_SERVICE_HOST}:\${KUBERNETES_SERVICE_PORT}"
ns=$(cat "$sa/namespace")
deadline=$(( $(date +%s) + ${o.timeoutSeconds} ))
k() { curl -sS --fail --max-time 10 --cacert "$sa/ca.crt" -H "Authorization: Bearer $(cat "$sa/token")" "$@"; }
wait_for() { until "$@"; do [ "$(date +%s)" -lt "$deadline" ] || { echo "gave up after ${o.timeoutSeconds} s waiting for: $*"; exit 1; }; sleep ${o.pollSeconds}; done; }
# The API server answers curl with indented JSON unless asked not to: one line, so the last "status" key is the object's own.
sts() { k "$api/apis/apps/v1/namespaces/$ns/statefulsets/$1?pretty=false"; }
number() { sed -n "s/.*\\"$1\\":\\([0-9][0-9]*\\).*/\\1/p"; }
observed() { s=$(sts "$1"); g=$(printf '%s' "\${s%%\\"spec\\":*}" | number generation); [ -n "$g" ] && [ "$(printf '%s' "\${s##*\\"status\\":}" | number observedGeneration)" = "$g" ]; }
settled() { s=$(sts "$1"); st=\${s##*\\"status\\":}; for f in replicas updatedReplicas readyReplicas; do [ "$(printf '%s' "$st" | number $f)" = "$2" ] || return 1; done; }
healthy() { curl -sS --fail --max-time 5 -o /dev/null "${o.healthUrl}"; }
${o.statefulSets.map((s) => `wait_for observed ${s.name}`).join("\n")}
k -X DELETE -o /dev/null "$api/api/v1/namespaces/$ns/pods?labelSelector=${stale}"
echo "stopped every pod not on specification ${o.hash}"
${o.statefulSets.map((s) => `wait_for settled ${s.name} ${s.replicas}\necho "${s.name}: ${s.replicas} pods on ${o.hash}, ready"`).join("\n")}
wait_for healthy
echo "healthy: ${o.healthUrl}"
`;
}

export interface CoordinatedRestartArgs extends RestartScript {
  /** Names the ServiceAccount, Role and Job (the Job's name adds the hash). */
  name: string;
  namespace: string;
  image: string;
  resources: Resources;
  uid: number;
  /** What the run does to the service, shown by the tier diff. */
  effect: string;
}

/** The ServiceAccount, its Role and binding, and the Job, which runs after `after` (the StatefulSets) are updated. */
export function coordinatedRestart(args: CoordinatedRestartArgs, after: readonly pulumi.Resource[], opts: pulumi.CustomResourceOptions): k8s.batch.v1.Job {
  const labels = componentLabels(args.name);
  const metadata = { name: args.name, namespace: args.namespace, labels };
  const account = new k8s.core.v1.ServiceAccount(args.name, { metadata, automountServiceAccountToken: false }, opts);
  const role = new k8s.rbac.v1.Role(
    args.name,
    {
      metadata,
      rules: [
        { apiGroups: [""], resources: ["pods"], verbs: ["list", "deletecollection"] },
        { apiGroups: ["apps"], resources: ["statefulsets"], verbs: ["get"], resourceNames: args.statefulSets.map((s) => s.name) },
      ],
    },
    opts,
  );
  const binding = new k8s.rbac.v1.RoleBinding(
    args.name,
    { metadata, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: args.name }, subjects: [{ kind: "ServiceAccount", name: args.name, namespace: args.namespace }] },
    opts,
  );
  return new k8s.batch.v1.Job(
    args.name,
    {
      metadata: { name: `${args.name}-${args.hash}`, namespace: args.namespace, labels, annotations: { [RESTART_ANNOTATION]: args.effect } },
      spec: {
        backoffLimit: 0,
        activeDeadlineSeconds: args.timeoutSeconds + 60,
        template: {
          metadata: { labels },
          spec: {
            restartPolicy: "Never",
            serviceAccountName: args.name,
            automountServiceAccountToken: true,
            securityContext: { runAsUser: args.uid, runAsGroup: args.uid, runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
            containers: [{ name: "restart", image: args.image, command: ["sh", "-c", restartScript(args)], resources: containerResources(args.resources), securityContext: RESTRICTED_CONTAINER }],
          },
        },
      },
    },
    { ...opts, dependsOn: [...after, account, role, binding] },
  );
}

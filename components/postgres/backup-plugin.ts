/**
 * The Barman Cloud plugin's chart values and cert-manager's, which issues the certificates the
 * operator and the plugin authenticate each other with (pure). Every pod at the plan's resources on
 * the plan's pool.
 */
import type { PostgresPlan } from "../../sizing/types";
import { ESSENTIAL_PRIORITY } from "../naming";
import { chartPod } from "../workload";

export const CERT_MANAGER_NAMESPACE = "cert-manager";

/**
 * cert-manager: its CRDs installed by the chart (kept if the chart goes by the program's
 * `retainCrds`, as every chart's are: certificates would go with them; `crds.keep` does the same for
 * a Helm-managed install), each Deployment and the API check Job sized and placed.
 */
export function certManagerValues(pg: PostgresPlan): Record<string, unknown> {
  const cm = pg.certManager;
  return {
    crds: { enabled: true, keep: true },
    replicaCount: cm.replicas,
    ...chartPod(cm.pool, cm.controller),
    webhook: { replicaCount: cm.replicas, ...chartPod(cm.pool, cm.webhook) },
    cainjector: { replicaCount: cm.replicas, ...chartPod(cm.pool, cm.cainjector) },
    startupapicheck: chartPod(cm.pool, cm.startupCheck),
  };
}

/**
 * The plugin's Deployment (the chart creates its Issuer, certificates and ObjectStore CRD). The
 * operator reconciles the Cluster, failover included, only when it reaches the plugin: so it runs
 * at the essential PriorityClass and leaves a lost node after the plan's seconds, not five minutes.
 */
export function backupPluginValues(pg: PostgresPlan): Record<string, unknown> {
  const plugin = pg.backupPlugin;
  const evict = (key: string) => ({ key, operator: "Exists", effect: "NoExecute", tolerationSeconds: plugin.evictAfterSeconds });
  return {
    crds: { create: true },
    replicaCount: plugin.replicas,
    ...chartPod(plugin.pool, plugin.resources),
    priorityClassName: ESSENTIAL_PRIORITY.name,
    tolerations: [evict("node.kubernetes.io/unreachable"), evict("node.kubernetes.io/not-ready")],
  };
}

/**
 * What a change does to the running deployment beyond the engine's create/update/replace, and what
 * the operator must do by hand. Each rule reads the declared resources before and after; the
 * behaviour each one states is the documented behaviour of the software that acts on the change
 * (cited at the rule), never inferred from this program.
 */
import { RESTART_ANNOTATION, STOPS_ANNOTATION } from "../components/coordinated-restart";
import type { DeclaredResource } from "./mock-runtime";
import { HOT_STANDBY_SENSITIVE, PARAMETER_CONTEXT } from "./postgres-parameters";

export interface Consequence {
  /** The resource the rule fired on, as `Kind name`. */
  subject: string;
  /** What happens while `pulumi up` applies the change. */
  during: string;
  /** What the operator does by hand, before or after, when there is something to do. */
  byHand?: string;
}

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Rule = (before: ReadonlyMap<string, DeclaredResource>, after: ReadonlyMap<string, DeclaredResource>) => Consequence[];

const TYPES = {
  secret: "kubernetes:core/v1:Secret",
  cluster: "kubernetes:postgresql.cnpg.io/v1:Cluster",
  objectStore: "kubernetes:barmancloud.cnpg.io/v1:ObjectStore",
  statefulSet: "kubernetes:apps/v1:StatefulSet",
  storageClass: "kubernetes:storage.k8s.io/v1:StorageClass",
  launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
  nodeGroup: "aws:eks/nodeGroup:NodeGroup",
} as const;
const WORKLOADS: Readonly<Record<string, string>> = {
  "kubernetes:apps/v1:Deployment": "deployment",
  "kubernetes:apps/v1:StatefulSet": "statefulset",
  "kubernetes:apps/v1:DaemonSet": "daemonset",
};

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const spec = (r: DeclaredResource): Obj => (r.inputs.spec as Obj | undefined) ?? {};
const objectName = (r: DeclaredResource): string => r.autoName ?? ((r.inputs.metadata as Obj | undefined)?.name as string | undefined) ?? r.name;
const namespaceOf = (r: DeclaredResource): string => ((r.inputs.metadata as Obj | undefined)?.namespace as string | undefined) ?? "default";
const annotation = (r: DeclaredResource, key: string) => ((r.inputs.metadata as Obj | undefined)?.annotations as Record<string, string> | undefined)?.[key];
const kindOf = (type: string) => type.split(":").pop()!;
const subject = (r: DeclaredResource) => `${kindOf(r.type)} ${r.name}`;

/** Pairs of the same resource before and after, of one type. */
function kept(before: ReadonlyMap<string, DeclaredResource>, after: ReadonlyMap<string, DeclaredResource>, type: string): [DeclaredResource, DeclaredResource][] {
  return [...after.values()].filter((r) => r.type === type && before.has(r.urn)).map((r) => [before.get(r.urn)!, r]);
}

/** Secret names a pod template reads: env and envFrom references, secret volumes, projected sources. */
export function secretsReadBy(template: unknown): Set<string> {
  const names = new Set<string>();
  const walk = (v: unknown, key?: string) => {
    if (Array.isArray(v)) return v.forEach((x) => walk(x));
    if (!v || typeof v !== "object") return;
    const o = v as Obj;
    if ((key === "secretKeyRef" || key === "secretRef") && typeof o.name === "string") names.add(o.name);
    if (key === "secret" && typeof (o.secretName ?? o.name) === "string") names.add((o.secretName ?? o.name) as string);
    for (const [k, x] of Object.entries(o)) walk(x, k);
  };
  walk(template);
  return names;
}

/**
 * A Secret whose data changes is replaced (pulumi-kubernetes leaves Secrets immutable unless the
 * provider sets enableSecretMutable). With a fixed name the old one is deleted first; either way a
 * running pod keeps what it read at start (Kubernetes: environment variables are not updated), so
 * pods whose template did not change read the new value only after a restart.
 */
export const secretReplacements: Rule = (before, after) =>
  kept(before, after, TYPES.secret)
    .filter(([a, b]) => !same(a.inputs.data, b.inputs.data) || !same(a.inputs.stringData, b.inputs.stringData) || a.inputs.type !== b.inputs.type)
    .flatMap(([a, b]) => {
      const name = objectName(b);
      const readers = [...after.values()].filter((w) => WORKLOADS[w.type] && namespaceOf(w) === namespaceOf(b) && secretsReadBy(spec(w).template).has(name));
      const stale = readers.filter((w) => before.has(w.urn) && same(spec(before.get(w.urn)!).template, spec(w).template));
      const fixed = a.autoName === undefined;
      const during = fixed
        ? `deleted, then created with the new data (its name is fixed): a pod that starts in between waits in CreateContainerConfigError until it exists`
        : `created under a new name before the old one is deleted; the pods that read it restart with the new name`;
      return [
        {
          subject: subject(b),
          during,
          ...(stale.length
            ? { byHand: `after pulumi up, restart what still holds the old value: kubectl -n ${namespaceOf(b)} rollout restart ${stale.map((w) => `${WORKLOADS[w.type]}/${objectName(w)}`).join(" ")}` }
            : {}),
        },
      ];
    });

/**
 * The sidecar settings of the ObjectStores a Cluster's plugins name: the Barman Cloud plugin injects
 * its sidecar from them, and a change "could generate a rollout of the Cluster" (the plugin's
 * usage.md, "Configuring the plugin instance sidecar").
 */
function sidecarSettings(resources: ReadonlyMap<string, DeclaredResource>, cluster: DeclaredResource): unknown[] {
  const names = ((spec(cluster).plugins as Obj[] | undefined) ?? []).map((p) => (p.parameters as Obj | undefined)?.barmanObjectName as string | undefined);
  const stores = [...resources.values()].filter((r) => r.type === TYPES.objectStore && namespaceOf(r) === namespaceOf(cluster));
  return names.map((name) => {
    const store = stores.find((s) => objectName(s) === name);
    return store ? spec(store).instanceSidecarConfiguration : undefined;
  });
}

/** CloudNativePG's reaction to a Cluster change (its "Rolling updates" and "Scaling" documentation). */
export const postgresChanges: Rule = (before, after) =>
  kept(before, after, TYPES.cluster).flatMap(([a, b]) => {
    const was = spec(a);
    const now = spec(b);
    const out: Consequence[] = [];
    const params = (s: Obj) => ((s.postgresql as Obj | undefined)?.parameters as Record<string, string> | undefined) ?? {};
    const changed = [...new Set([...Object.keys(params(was)), ...Object.keys(params(now))])].filter((p) => params(was)[p] !== params(now)[p]).sort();
    // A parameter this program has no context for is treated as needing a restart.
    const restartParams = changed.filter((p) => (PARAMETER_CONTEXT[p] ?? "postmaster") === "postmaster");
    const reloadParams = changed.filter((p) => !restartParams.includes(p));
    const lowered = HOT_STANDBY_SENSITIVE.filter((p) => Number(params(now)[p]) < Number(params(was)[p]));
    const causes = [
      ...(restartParams.length ? [`${restartParams.join(", ")} need a restart`] : []),
      ...(!same(was.resources, now.resources) ? ["the instances' resources change"] : []),
      ...(was.imageName !== now.imageName ? ["the image changes"] : []),
      // The plugin's migration guide: switching the Cluster to the plugin "will trigger a rolling update".
      ...(!same(was.plugins, now.plugins) ? ["the backup plugin changes (its sidecar joins or leaves every instance pod)"] : []),
      ...(same(was.plugins, now.plugins) && !same(sidecarSettings(before, a), sidecarSettings(after, b)) ? ["the backup sidecar's settings change"] : []),
    ];
    const supervised = now.primaryUpdateStrategy === "supervised";
    if (causes.length) {
      const primary = lowered.length
        ? `lowering ${lowered.join(", ")} must reach the primary before any standby (a standby refuses to run below its primary), so CloudNativePG restarts the primary in place first, without a switchover: writes stop for the length of a PostgreSQL restart and Synapse reconnects; then each standby restarts in turn`
        : `CloudNativePG restarts each standby in turn, then ${supervised ? "waits for a switchover" : "switches the primary over to an updated standby"}: writes pause for the switchover and Synapse reconnects`;
      out.push({
        subject: subject(b),
        during: `${causes.join("; ")}: ${primary}`,
        ...(supervised && !lowered.length ? { byHand: `when the standbys are updated: kubectl cnpg promote ${objectName(b)} <an updated standby> -n ${namespaceOf(b)}` } : {}),
      });
    }
    if (reloadParams.length) out.push({ subject: subject(b), during: `${reloadParams.join(", ")} ${reloadParams.length === 1 ? "is" : "are"} reloaded without a restart` });

    const instancesWas = Number(was.instances);
    const instancesNow = Number(now.instances);
    if (instancesNow > instancesWas) {
      out.push({ subject: subject(b), during: `${instancesNow - instancesWas} new standby${instancesNow - instancesWas === 1 ? " is" : "s are"} cloned from the primary (pg_basebackup streams the whole database from it)` });
    }
    if (instancesNow < instancesWas) {
      const reclaim = reclaimPolicy(after, (now.storage as Obj | undefined)?.storageClass);
      out.push({
        subject: subject(b),
        during: `CloudNativePG removes ${instancesWas - instancesNow} standby instance${instancesWas - instancesNow === 1 ? "" : "s"} and deletes ${instancesWas - instancesNow === 1 ? "its volume claim" : "their volume claims"}`,
        ...(reclaim === "Retain"
          ? {
              byHand: `their volumes stay as Released PersistentVolumes (StorageClass ${(now.storage as Obj).storageClass} retains; the disks are still billed): once the cluster is healthy, list them with kubectl get pv -o custom-columns=PV:.metadata.name,CLAIM:.spec.claimRef.name,PHASE:.status.phase | grep '${objectName(b)}-' | grep Released, and delete each PV and its disk`,
            }
          : {}),
      });
    }
    const storage = (s: Obj) => (s.storage as Obj | undefined) ?? {};
    const resized = storage(was).size !== storage(now).size;
    const remodelled = !same((storage(was).pvcTemplate as Obj | undefined)?.volumeAttributesClassName, (storage(now).pvcTemplate as Obj | undefined)?.volumeAttributesClassName);
    if (resized || remodelled) {
      const what = `the volumes ${[resized ? `grow to ${String(storage(now).size)}` : "", remodelled ? "take the new IOPS and throughput" : ""].filter(Boolean).join(" and ")}, online`;
      const ebs = provisioner(after, storage(now).storageClass) === "ebs.csi.aws.com";
      out.push({
        subject: subject(b),
        during: `${what}${ebs ? "; EBS accepts one modification per volume every 6 hours (EC2 ModifyVolume)" : ""}`,
        ...(ebs && resized && remodelled
          ? { byHand: "a size and a performance change are two modifications: the second is refused until 6 hours after the first; move in two steps 6 hours apart, or expect the claims to report the refused modification until then" }
          : {}),
      });
    }
    return out;
  });

function storageClassNamed(resources: ReadonlyMap<string, DeclaredResource>, name: unknown): DeclaredResource | undefined {
  return [...resources.values()].find((r) => r.type === TYPES.storageClass && objectName(r) === name);
}
/** Kubernetes' default reclaim policy for a dynamically provisioned volume is Delete. */
const reclaimPolicy = (resources: ReadonlyMap<string, DeclaredResource>, name: unknown) => (storageClassNamed(resources, name)?.inputs.reclaimPolicy as string | undefined) ?? "Delete";
const provisioner = (resources: ReadonlyMap<string, DeclaredResource>, name: unknown) => storageClassNamed(resources, name)?.inputs.provisioner as string | undefined;

/**
 * A StatefulSet scaled down keeps the claims of the removed ordinals (Kubernetes: the default
 * persistentVolumeClaimRetentionPolicy is Retain on scale-down); a later scale-up reattaches them.
 */
export const statefulSetLeftovers: Rule = (before, after) =>
  kept(before, after, TYPES.statefulSet).flatMap(([a, b]) => {
    const was = Number(spec(a).replicas ?? 1);
    const now = Number(spec(b).replicas ?? 1);
    const claims = (spec(b).volumeClaimTemplates as Obj[] | undefined) ?? [];
    if (now >= was || !claims.length || (spec(b).persistentVolumeClaimRetentionPolicy as Obj | undefined)?.whenScaled === "Delete") return [];
    const set = objectName(b);
    const names = claims.flatMap((c) => Array.from({ length: was - now }, (_, k) => `${(c.metadata as Obj).name as string}-${set}-${now + k}`));
    const retained = claims.some((c) => reclaimPolicy(after, (c.spec as Obj | undefined)?.storageClassName) === "Retain");
    return [
      {
        subject: subject(b),
        during: `pods ${set}-${now}…${set}-${was - 1} stop; their volume claims stay (${names.join(", ")}) and would be reattached by a later scale-up`,
        byHand: `when the data is no longer wanted: kubectl -n ${namespaceOf(b)} delete pvc ${names.join(" ")}${retained ? "; their PersistentVolumes are retained (Released) and their disks billed until deleted too" : ""}`,
      },
    ];
  });

const groupOf = (template: DeclaredResource, groups: readonly DeclaredResource[]) =>
  groups.filter((g) => g.name === `${template.name}-${String((g.inputs.instanceTypes as string[] | undefined)?.[0] ?? "").replace(".", "-")}`);

/**
 * A launch template change is a new template version; a node group on it rolls every node (EKS
 * "managed node update behavior": a new node per zone, then the old ones cordoned and drained
 * through the eviction API `maxUnavailable` at a time; a pod that cannot be evicted within 15
 * minutes fails the update with PodEvictionFailure unless it is forced).
 */
export const launchTemplateRolls: Rule = (before, after) => {
  const groups = [...after.values()].filter((r) => r.type === TYPES.nodeGroup && before.has(r.urn));
  return kept(before, after, TYPES.launchTemplate)
    .filter(([a, b]) => !same(a.inputs, b.inputs))
    .flatMap(([, t]) =>
      groupOf(t, groups).map((g) => ({
        subject: subject(g),
        during: `every node is replaced (its launch template ${t.name} changes): EKS starts new nodes, then drains the old ones ${String((g.inputs.updateConfig as Obj | undefined)?.maxUnavailable ?? 1)} at a time through the eviction API, honouring the PodDisruptionBudgets`,
        byHand: "if pulumi up reports PodEvictionFailure (a budget held a pod for 15 minutes), find the budget with kubectl get pdb -A, let its workload recover, and run pulumi up again; never force it",
      })),
    );
};

/**
 * A node group whose size goes down loses the nodes its Auto Scaling group picks (EC2 Auto
 * Scaling's default termination policy: balance the zones, then the oldest launch template), which
 * can be the node of a database primary or a quorum member. Instances protected from scale-in are
 * never picked.
 */
export const nodeGroupScaleIns: Rule = (before, after) =>
  kept(before, after, TYPES.nodeGroup).flatMap(([a, b]) => {
    const size = (r: DeclaredResource) => Number((r.inputs.scalingConfig as Obj | undefined)?.desiredSize);
    if (!(size(b) < size(a))) return [];
    return [
      {
        subject: subject(b),
        during: `${size(a)} → ${size(b)} nodes: the Auto Scaling group picks which ${size(a) - size(b)} go, possibly one holding a database primary, a quorum member or a MinIO server`,
        byHand:
          // EKS labels each node with its group's name, which Pulumi derives from the resource name plus a random suffix.
          `before pulumi up, choose the ${size(a) - size(b)} to remove (the group's nodes: kubectl get nodes -L eks.amazonaws.com/nodegroup | grep ' ${b.name}-'; what each holds: kubectl get pods -A -o wide --field-selector spec.nodeName=<node>); ` +
          `drain them (kubectl drain <node> --ignore-daemonsets --delete-emptydir-data); protect the others from scale-in (aws autoscaling set-instance-protection --protected-from-scale-in --auto-scaling-group-name <ASG: aws eks describe-nodegroup --query 'nodegroup.resources.autoScalingGroups[0].name'> --instance-ids <their ids, from .spec.providerID>); ` +
          `run pulumi up; then remove the protection (--no-protected-from-scale-in)`,
      },
    ];
  });

/**
 * A coordinating Job (components/coordinated-restart.ts) is replaced, under a new name, for each new
 * specification of its fleet: a new name is a new run. It stops the whole fleet at once only when the label value it keeps
 * (its STOPS_ANNOTATION) changes; otherwise it only waits for the workloads' own rolls.
 */
export const coordinatedRestarts: Rule = (before, after) => {
  const stops = (b: DeclaredResource) => {
    const effect = annotation(b, RESTART_ANNOTATION);
    return effect ? [{ subject: subject(b), during: `${effect}; pulumi up waits for it and fails if the fleet does not come back` }] : [];
  };
  const changed = kept(before, after, "kubernetes:batch/v1:Job").filter(([a, b]) => objectName(a) !== objectName(b) && annotation(a, STOPS_ANNOTATION) !== annotation(b, STOPS_ANNOTATION));
  // A coordinating Job new to a running deployment: its fleet's pods carry no label yet, so its first run stops them all.
  const added = before.size === 0 ? [] : [...after.values()].filter((r) => r.type === "kubernetes:batch/v1:Job" && !before.has(r.urn) && annotation(r, STOPS_ANNOTATION));
  return [...changed.map(([, b]) => b), ...added].flatMap(stops);
};

export const RULES: readonly Rule[] = [secretReplacements, postgresChanges, statefulSetLeftovers, launchTemplateRolls, nodeGroupScaleIns, coordinatedRestarts];

export function consequences(before: readonly DeclaredResource[], after: readonly DeclaredResource[]): Consequence[] {
  const index = (list: readonly DeclaredResource[]) => new Map(list.map((r) => [r.urn, r]));
  const a = index(before);
  const b = index(after);
  return RULES.flatMap((rule) => rule(a, b));
}

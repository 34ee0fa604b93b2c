/**
 * The operators' own CustomResourceDefinitions, as their releases publish them
 * (scripts/install-operator-schemas.sh fetches them from the operators' Go modules at the releases
 * the pinned charts ship): CloudNativePG, its Barman Cloud plugin and the Prometheus operator. With these installed, the API
 * server checks custom objects against the real schemas, unknown fields included.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import versions from "../../../versions.json";
import { ROOT } from "../harness";
import type { Manifest } from "./manifests";

export const OPERATOR_SCHEMAS = join(ROOT, ".cache", "operators");

/** The operators whose CRDs the program's custom objects need, with the release each chart ships. */
export const OPERATORS = [
  { name: "cloudnative-pg", release: versions.cnpgOperator, chart: `cloudnative-pg ${versions.cnpgChart}` },
  { name: "plugin-barman-cloud", release: versions.barmanCloudPlugin, chart: `plugin-barman-cloud ${versions.barmanCloudPluginChart}` },
  { name: "prometheus-operator", release: versions.prometheusOperator, chart: `kube-prometheus-stack ${versions.kubePrometheusStackChart}` },
] as const;

export type OperatorName = (typeof OPERATORS)[number]["name"];

interface Crd extends Manifest {
  spec: { group: string; names: { kind: string }; versions: { name: string; served: boolean; storage: boolean }[] };
}

/** Every CRD one operator's release publishes. */
export function operatorCrds(name: OperatorName): Crd[] {
  const operator = OPERATORS.find((o) => o.name === name)!;
  const dir = join(OPERATOR_SCHEMAS, `${name}-${operator.release}`, "crds");
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort();
  } catch {
    throw new Error(`${dir} is missing: run scripts/install-operator-schemas.sh (the test command does)`);
  }
  return files.flatMap((f) =>
    parseAllDocuments(readFileSync(join(dir, f), "utf8"))
      .map((d) => d.toJSON() as Crd | null)
      .filter((d): d is Crd => d?.kind === "CustomResourceDefinition"),
  );
}

/** Every CRD of every operator the program installs. */
export function allOperatorCrds(): Crd[] {
  return OPERATORS.flatMap((o) => operatorCrds(o.name));
}

const BUILT_IN_GROUPS = new Set(["", "apps", "batch", "policy", "autoscaling", "networking.k8s.io", "storage.k8s.io", "scheduling.k8s.io", "rbac.authorization.k8s.io", "apiextensions.k8s.io"]);

/** `group/version Kind` of each custom object in the list. */
export function customKinds(list: readonly Manifest[]): string[] {
  const kinds = new Set<string>();
  for (const m of list) {
    const group = m.apiVersion.includes("/") ? m.apiVersion.split("/")[0]! : "";
    if (!BUILT_IN_GROUPS.has(group)) kinds.add(`${m.apiVersion} ${m.kind}`);
  }
  return [...kinds].sort();
}

/**
 * The real CRDs that serve the list's custom kinds; a custom kind no operator defines (or a version
 * it does not serve) is an error, never a permissive stand-in.
 */
export function crdsFor(list: readonly Manifest[], crds: readonly Crd[] = allOperatorCrds()): Crd[] {
  const needed = new Map<string, Crd>();
  for (const kind of customKinds(list)) {
    const [apiVersion, name] = kind.split(" ") as [string, string];
    const [group, version] = apiVersion.split("/") as [string, string];
    const crd = crds.find((c) => c.spec.group === group && c.spec.names.kind === name && c.spec.versions.some((v) => v.name === version && v.served));
    if (!crd) throw new Error(`no operator the program installs serves ${kind}`);
    needed.set(crd.metadata.name, crd);
  }
  return [...needed.values()];
}

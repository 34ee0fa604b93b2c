/** Validates a Kubernetes object against the upstream OpenAPI schemas (kubernetes-models). */
export { isKubernetesObject, manifestOf } from "../../bin/mock-runtime";

/** Model packages for custom resources; core kinds come from kubernetes-models. */
const CRD_MODELS: Record<string, string> = { "postgresql.cnpg.io": "@kubernetes-models/cloudnative-pg", "monitoring.coreos.com": "@kubernetes-models/prometheus-operator" };
/**
 * Groups no model package covers (npm has none for the Barman Cloud plugin): the strict API-server
 * test (kube-validation) checks them against the CRD the plugin's release publishes.
 */
export const SERVER_VALIDATED_ONLY = new Set(["barmancloud.cnpg.io"]);

export async function validateManifest(manifest: Record<string, unknown>): Promise<void> {
  const apiVersion = String(manifest.apiVersion);
  const kind = String(manifest.kind);
  const group = apiVersion.includes("/") ? apiVersion.split("/")[0]! : "";
  if (SERVER_VALIDATED_ONLY.has(group)) return;
  const pkg = CRD_MODELS[group] ?? "kubernetes-models";
  const module = (await import(/* @vite-ignore */ `${pkg}/${apiVersion}/${kind}`)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = module[kind];
  if (!Model) throw new Error(`no schema for ${apiVersion} ${kind}`);
  new Model(manifest).validate();
}

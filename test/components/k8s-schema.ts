/** Validates a Kubernetes object against the upstream OpenAPI schemas (kubernetes-models). */
import type { DeclaredResource } from "../../bin/mock-runtime";

const TOKEN = /^kubernetes:([a-z0-9.]+)\/([a-z0-9]+):([A-Za-z]+)$/;

/** Kubernetes API objects (not providers or the Helm chart component, which renders its own). */
export function isKubernetesObject(r: DeclaredResource): boolean {
  return TOKEN.test(r.type) && !r.type.startsWith("kubernetes:helm.sh/");
}

/** Model packages for custom resources; core kinds come from kubernetes-models. */
const CRD_MODELS: Record<string, string> = { "postgresql.cnpg.io": "@kubernetes-models/cloudnative-pg", "monitoring.coreos.com": "@kubernetes-models/prometheus-operator" };

export function manifestOf(r: DeclaredResource): Record<string, unknown> {
  const [, group, version, kind] = TOKEN.exec(r.type)!;
  const apiVersion = group === "core" ? version! : `${group}/${version}`;
  return { ...r.inputs, apiVersion, kind };
}

export async function validateManifest(manifest: Record<string, unknown>): Promise<void> {
  const apiVersion = String(manifest.apiVersion);
  const kind = String(manifest.kind);
  const group = apiVersion.includes("/") ? apiVersion.split("/")[0]! : "";
  const pkg = CRD_MODELS[group] ?? "kubernetes-models";
  const module = (await import(/* @vite-ignore */ `${pkg}/${apiVersion}/${kind}`)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = module[kind];
  if (!Model) throw new Error(`no schema for ${apiVersion} ${kind}`);
  new Model(manifest).validate();
}

/** Validates a Kubernetes object against the upstream OpenAPI schemas (kubernetes-models). */
import type { DeclaredResource } from "../../bin/mock-runtime";

const TOKEN = /^kubernetes:([a-z0-9.]+)\/([a-z0-9]+):([A-Za-z]+)$/;

export function isKubernetesObject(r: DeclaredResource): boolean {
  return TOKEN.test(r.type);
}

export function manifestOf(r: DeclaredResource): Record<string, unknown> {
  const [, group, version, kind] = TOKEN.exec(r.type)!;
  const apiVersion = group === "core" ? version! : `${group}/${version}`;
  return { ...r.inputs, apiVersion, kind };
}

export async function validateManifest(manifest: Record<string, unknown>): Promise<void> {
  const apiVersion = String(manifest.apiVersion);
  const kind = String(manifest.kind);
  const module = (await import(/* @vite-ignore */ `kubernetes-models/${apiVersion}/${kind}`)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = module[kind];
  if (!Model) throw new Error(`no schema for ${apiVersion} ${kind}`);
  new Model(manifest).validate();
}

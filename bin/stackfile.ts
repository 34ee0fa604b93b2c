/**
 * Reads a stack file into raw settings (the `matrix-scale:` keys, namespace stripped): a stack name
 * reads Pulumi.<stack>.yaml beside the project, a path (ending in .yaml) reads that file. Files
 * written by `pulumi config set` (quoted values, `encryptionsalt`, secure values) read the same.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { CONFIG_NAMESPACE, type RawSettings } from "../sizing/settings";

export class StackFileError extends Error {}

export function readStackFile(stack: string, dir = join(__dirname, "..")): RawSettings {
  const path = /\.ya?ml$/.test(stack) ? resolve(stack) : join(dir, `Pulumi.${stack}.yaml`);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new StackFileError(`--stack ${stack}: no stack file ${path}`);
  }
  const config = (parse(text) as { config?: Record<string, unknown> } | null)?.config ?? {};
  const raw: RawSettings = {};
  for (const [key, value] of Object.entries(config)) {
    const [namespace, name] = key.split(":");
    if (namespace === CONFIG_NAMESPACE && name) raw[name] = withoutSecrets(value);
  }
  return raw;
}

/** The placeholder for an encrypted value (`pulumi config set --secret`): the plan needs no secret. */
const SECRET_PLACEHOLDER = "[secret]";

/** Encrypted leaves (`{secure: …}`) become the placeholder, so a stack with secrets still plans. */
function withoutSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (value === null || typeof value !== "object") return value;
  const record = value as Record<string, unknown>;
  if (Object.keys(record).length === 1 && typeof record.secure === "string") return SECRET_PLACEHOLDER;
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, withoutSecrets(v)]));
}

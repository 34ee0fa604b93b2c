/**
 * Reads the stack config (namespace `matrix-scale`) into raw settings for sizing/settings.ts.
 * Pulumi config values arrive as strings; objects are JSON. Validation happens in parseSettings,
 * never here, so the CLI and the program reject the same inputs with the same messages.
 */
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, SETTING_KEYS, SettingsError, type RawSettings } from "../sizing/settings";

const SCALAR_KEYS = ["ccu", "tier", "serverName", "target", "federation"] as const;
/** Every other setting is an object, given as JSON (or with `pulumi config set --path`). */
const OBJECT_KEYS = SETTING_KEYS.filter((k) => !(SCALAR_KEYS as readonly string[]).includes(k));

export function rawSettingsFromStack(config = new pulumi.Config(CONFIG_NAMESPACE)): RawSettings {
  const raw: RawSettings = {};
  for (const key of SCALAR_KEYS) {
    const value = config.get(key);
    if (value !== undefined) raw[key] = value;
  }
  for (const key of OBJECT_KEYS) {
    const value = config.get(key);
    if (value === undefined) continue;
    try {
      raw[key] = JSON.parse(value);
    } catch {
      throw new SettingsError(key, `${CONFIG_NAMESPACE}:${key} = ${JSON.stringify(value)}: expected an object; set it with \`pulumi config set --path ${CONFIG_NAMESPACE}:${key}.<name> <value>\``);
    }
  }
  agreeOnRegion(raw);
  const known = new Set<string>([...SCALAR_KEYS, ...OBJECT_KEYS]);
  const unknown = Object.keys(allStackConfig()).find((k) => k.startsWith(`${CONFIG_NAMESPACE}:`) && !known.has(k.slice(CONFIG_NAMESPACE.length + 1)));
  if (unknown) {
    throw new SettingsError(unknown, `${unknown} is not a known setting; accepted: ${[...known].join(", ")}`);
  }
  return raw;
}

/**
 * The AWS resources are created by the stack's default AWS provider (its `aws:region`, profile,
 * roles and default tags): the deployment's `aws.region` takes that region when unset, and must
 * agree with it when both are set.
 */
function agreeOnRegion(raw: RawSettings): void {
  const stackRegion = new pulumi.Config("aws").get("region") ?? process.env.AWS_REGION;
  if (!stackRegion || raw.target !== "aws") return;
  const awsSettings = (raw.aws ?? {}) as Record<string, unknown>;
  if (awsSettings.region === undefined) raw.aws = { ...awsSettings, region: stackRegion };
  else if (awsSettings.region !== stackRegion) {
    throw new SettingsError(
      "aws.region",
      `${CONFIG_NAMESPACE}:aws.region = ${JSON.stringify(awsSettings.region)} but the stack's AWS provider is in ${stackRegion} (aws:region or AWS_REGION); set both to the same region, or remove aws.region`,
    );
  }
}

function allStackConfig(): Record<string, string> {
  return pulumi.runtime.allConfig();
}

/**
 * Stack config contract (namespace `matrix-scale`): parsing and validation.
 * Pure: takes the raw values a Pulumi stack (or the CLI) provides and returns typed
 * settings, or throws a SettingsError whose single-line message names the key, the value
 * and what is accepted.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { TIER_CCU, TIER_IDS, type TierId } from "./tiers";

export const CONFIG_NAMESPACE = "matrix-scale";

export const WORKER_TYPES = [
  "main",
  "synchrotron",
  "generic",
  "eventPersister",
  "federationSender",
  "mediaRepository",
  "background",
  "streamWriter",
  "pusher",
] as const;
export type WorkerType = (typeof WORKER_TYPES)[number];

export const POOL_ROLES = ["application", "database", "storage", "calls", "compliance", "monitoring"] as const;
export type PoolRole = (typeof POOL_ROLES)[number];

export class SettingsError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
    this.name = "SettingsError";
  }
}

const LARGEST_TIER_CCU = Math.max(...Object.values(TIER_CCU));

const wholeNumber = (what: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess(
    (v) => (typeof v === "string" && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v),
    z
      .number({ error: `expected ${what}` })
      .int({ error: `expected ${what}` })
      .min(min, { error: `expected ${what}` })
      .max(max, { error: `expected ${what}` }),
  );

const booleanish = z.preprocess(
  (v) => (v === "true" ? true : v === "false" ? false : v),
  z.boolean({ error: "expected true or false" }),
);

const workerOverride = z.strictObject({
  replicas: wholeNumber("a whole number of replicas from 1 to 200", 1, 200).optional(),
  maxReplicas: wholeNumber("a whole number of replicas from 1 to 400", 1, 400).optional(),
  cpMax: wholeNumber("a connection pool size from 1 to 100", 1, 100).optional(),
});

const overridesSchema = z.strictObject({
  synapse: z.strictObject(Object.fromEntries(WORKER_TYPES.map((t) => [t, workerOverride.optional()]))).optional(),
  postgres: z
    .strictObject({
      maxConnections: wholeNumber("a max_connections value from 100 to 5000", 100, 5000).optional(),
      storageGB: wholeNumber("a volume size in GB from 10 to 65536", 10, 65_536).optional(),
    })
    .optional(),
  minio: z
    .strictObject({
      pools: wholeNumber("a number of MinIO server pools from 1 to 32", 1, 32).optional(),
      growthHorizonMonths: wholeNumber("a number of months from 1 to 120", 1, 120).optional(),
    })
    .optional(),
  nodePools: z
    .strictObject(
      Object.fromEntries(
        POOL_ROLES.map((r) => [r, z.strictObject({ count: wholeNumber("a node count from 1 to 500", 1, 500) }).optional()]),
      ),
    )
    .optional(),
  livekit: z.strictObject({ instances: wholeNumber("a number of LiveKit hosts from 1 to 100", 1, 100) }).optional(),
  coturn: z.strictObject({ instances: wholeNumber("a number of coturn hosts from 1 to 100", 1, 100) }).optional(),
});

/**
 * A server name without a port: federation finds this deployment through its
 * /.well-known/matrix/server on 443; a name with a port would send other servers straight to that port.
 */
const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const K8S_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** An IPv4 or IPv6 network in CIDR notation whose host bits are zero. */
export function isCidr(value: string): boolean {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(value);
  if (!match) return false;
  const [, address, bits] = match as unknown as [string, string, string];
  const family = isIP(address);
  const prefix = Number(bits);
  if (family === 0 || prefix > (family === 4 ? 32 : 128)) return false;
  if (family === 6) return true;
  const value32 = address.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
  const hostBits = 32 - prefix;
  return value32 % 2 ** hostBits === 0;
}

const settingsSchema = z.strictObject({
  ccu: wholeNumber(`a whole number of concurrent users from 1 to ${LARGEST_TIER_CCU}`, 1, LARGEST_TIER_CCU),
  tier: z
    .preprocess((v) => (typeof v === "number" ? String(v) : v), z.enum(TIER_IDS, { error: `expected one of ${TIER_IDS.join(", ")}` }))
    .optional(),
  serverName: z.string({ error: "expected a DNS name such as matrix.example.com" }).regex(DNS_NAME, {
    error: "expected a lower-case DNS name without a port, such as matrix.example.com",
  }),
  target: z.enum(["aws", "kubernetes"], { error: "expected aws or kubernetes" }).default("kubernetes"),
  federation: booleanish.default(true),
  overrides: overridesSchema.default({}),
  kubernetes: z
    .strictObject({
      namespace: z.string().regex(K8S_NAME, { error: "expected a Kubernetes namespace name (lower-case, dashes)" }).default("matrix"),
      kubeconfig: z.string({ error: "expected a path to a kubeconfig file" }).optional(),
      context: z.string({ error: "expected a kubeconfig context name" }).optional(),
      renderDir: z.string({ error: "expected a directory path" }).optional(),
      minioImage: z.string().regex(/^[\w.\-/:@]+$/, { error: "expected an image reference such as quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z" }).optional(),
    })
    .default({ namespace: "matrix" }),
  edge: z
    .strictObject({
      /** Where the admin API answers from; none by default. */
      adminCidrs: z.array(z.string().refine(isCidr, { error: "expected CIDR blocks such as 203.0.113.0/24" })).default([]),
      /** The kubernetes.io/tls Secret HAProxy serves HTTPS with (unless an ACM certificate terminates TLS at the NLB). */
      tlsSecret: z.string().regex(K8S_NAME, { error: "expected the name of a kubernetes.io/tls Secret in the namespace" }).default("matrix-tls"),
      /** The operator's load balancer sends the PROXY protocol (always on AWS, where the NLB does). */
      proxyProtocol: booleanish.default(false),
    })
    .default({ adminCidrs: [], tlsSecret: "matrix-tls", proxyProtocol: false }),
  aws: z
    .strictObject({
      region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { error: "expected an AWS region such as eu-west-1" }).default("us-east-1"),
      vpcId: z.string().regex(/^vpc-[0-9a-f]+$/, { error: "expected a VPC id such as vpc-0abc123" }).optional(),
      privateSubnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]+$/, { error: "expected subnet ids" })).optional(),
      publicSubnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]+$/, { error: "expected subnet ids" })).optional(),
      availabilityZones: z.array(z.string()).length(3, { error: "expected exactly three availability zones" }).optional(),
      vpcCidr: z.string().regex(/^10\.\d{1,3}\.0\.0\/16$/, { error: "expected a /16 in 10.0.0.0/8 such as 10.42.0.0/16" }).default("10.42.0.0/16"),
      kubernetesVersion: z.string().regex(/^1\.\d{2}$/, { error: "expected an EKS Kubernetes version such as 1.33" }).default("1.33"),
      certificateArn: z.string().regex(/^arn:aws:acm:/, { error: "expected an ACM certificate ARN" }).optional(),
    })
    .default({ region: "us-east-1", vpcCidr: "10.42.0.0/16", kubernetesVersion: "1.33" }),
});

export type Overrides = z.infer<typeof overridesSchema>;
export type Settings = z.infer<typeof settingsSchema> & { tier?: TierId };

/** Raw settings: every value as the stack file or the CLI gives it (strings or parsed objects). */
export type RawSettings = Record<string, unknown>;

function describe(value: unknown): string {
  if (value === undefined) return "missing";
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node: unknown = root;
  for (const part of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<PropertyKey, unknown>)[part];
  }
  return node;
}

/** Parse and validate; throws SettingsError with one line naming the key, the value and what is accepted. */
export function parseSettings(raw: RawSettings): Settings {
  const result = settingsSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const path = issue.path.map(String);
    if (issue.code === "unrecognized_keys") {
      const unknownKey = [...path, issue.keys[0]!].join(".");
      const accepted = acceptedKeys(issue.path);
      throw new SettingsError(
        unknownKey,
        `${CONFIG_NAMESPACE}:${unknownKey} is not a known setting; accepted here: ${accepted.join(", ")}`,
      );
    }
    const key = path.join(".") || "(root)";
    throw new SettingsError(key, `${CONFIG_NAMESPACE}:${key} = ${describe(valueAt(raw, issue.path))}: ${issue.message}`);
  }
  const settings = result.data as Settings;
  if (settings.tier !== undefined && TIER_CCU[settings.tier] < settings.ccu) {
    throw new SettingsError(
      "tier",
      `${CONFIG_NAMESPACE}:tier = "${settings.tier}" serves ${TIER_CCU[settings.tier]} users but ccu is ${settings.ccu}; ` +
        `remove tier or pick one of ${TIER_IDS.filter((t) => TIER_CCU[t] >= settings.ccu).join(", ")}`,
    );
  }
  if (settings.aws.vpcId && !(settings.aws.privateSubnetIds?.length && settings.aws.publicSubnetIds?.length)) {
    throw new SettingsError(
      "aws.vpcId",
      `${CONFIG_NAMESPACE}:aws.vpcId = "${settings.aws.vpcId}": an existing VPC also needs aws.privateSubnetIds and aws.publicSubnetIds`,
    );
  }
  return settings;
}

/**
 * What a deployment needs beyond a plan: on AWS, TLS ends at the load balancers (LiveKit cannot end
 * it itself), so the ACM certificate is required. The offline plan CLI sizes without it.
 */
export function requireDeployable(settings: Settings): Settings {
  if (settings.target === "aws" && !settings.aws.certificateArn) {
    throw new SettingsError(
      "aws.certificateArn",
      `${CONFIG_NAMESPACE}:aws.certificateArn is missing: target aws ends TLS at the load balancers; ` +
        `set the ARN of an ACM certificate for ${settings.serverName} and livekit.${settings.serverName}`,
    );
  }
  return settings;
}

function acceptedKeys(path: readonly PropertyKey[]): string[] {
  let schema: z.ZodType = settingsSchema;
  for (const part of path) {
    schema = unwrap(schema);
    if (schema instanceof z.ZodObject) schema = (schema.shape as Record<string, z.ZodType>)[String(part)]!;
  }
  schema = unwrap(schema);
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s: z.ZodType = schema;
  while (s instanceof z.ZodOptional || s instanceof z.ZodDefault) s = s.unwrap() as z.ZodType;
  return s;
}

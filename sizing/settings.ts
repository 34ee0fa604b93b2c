/**
 * Stack config contract (namespace `matrix-scale`): parsing and validation.
 * Pure: takes the raw values a Pulumi stack (or the CLI) provides and returns typed
 * settings, or throws a SettingsError whose single-line message names the key, the value
 * and what is accepted.
 */
import { isIP, SocketAddress } from "node:net";
import { z } from "zod";
import { EKS_CALENDAR_AS_OF, eksVersion, offeredVersions, supportLevel } from "./eks-versions";
import { TIER_CCU, TIER_IDS, type TierId } from "./tiers";

export const CONFIG_NAMESPACE = "matrix-scale";

/** RFC 1918: where a cluster's nodes are unless the operator narrows `kubernetes.nodeCidrs`. */
export const PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"] as const;

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

/**
 * The EKS Kubernetes version a cluster gets unless `aws.kubernetesVersion` says otherwise: a
 * literal, so that the same settings always give the same cluster. 1.36 is the newest version EKS
 * releases that a source confirms on sizing/eks-versions.ts's date (2026-11-30): in standard support
 * until 2027-08-02, longer than any other (1.35 until 2027-03-27, 1.34 until 2026-12-02). It is
 * also the minor version the control-plane tests run (versions.json: Kubernetes v1.36.3).
 */
export const DEFAULT_EKS_VERSION = "1.36";

/** The day version support is judged on: the EKS calendar's own date, so parsing never reads the clock. */
export const SETTINGS_DATE = new Date(`${EKS_CALENDAR_AS_OF}T00:00:00Z`);

/**
 * Kubernetes name limits (k8s.io/apimachinery v0.36.3 pkg/util/validation/validation.go:
 * DNS1123LabelMaxLength = DNS1035LabelMaxLength = 63, DNS1123SubdomainMaxLength = 253; namespaces
 * are DNS-1123 labels, Services DNS-1035 labels, Secrets DNS-1123 subdomains: k8s.io/kubernetes
 * v1.36.3 pkg/apis/core/validation/validation.go; https://kubernetes.io/docs/concepts/overview/working-with-objects/names/).
 */
export const K8S_LABEL_MAX = 63;
/** A DNS name's length limit (RFC 1123 2.1; the same 253 as a Kubernetes DNS subdomain). */
export const DNS_NAME_MAX = 253;

/**
 * The call hosts' namespace is `<namespace>` and this suffix (components/naming.ts
 * `callHostsNamespace`; the settings tests check the two agree). A namespace name, and the
 * `kubernetes.io/metadata.name` label value Kubernetes gives it, are at most 63 characters.
 */
export const CALL_HOSTS_NAMESPACE_SUFFIX = "-calls";
/** The longest `kubernetes.namespace` whose call-hosts namespace still fits: 57. */
export const NAMESPACE_MAX = K8S_LABEL_MAX - CALL_HOSTS_NAMESPACE_SUFFIX.length;

/** The longest public name derived from `serverName` (components/naming.ts `publicNames`): LiveKit's. */
export const LONGEST_NAME_PREFIX = "livekit.";
/** The longest `serverName` whose derived names are still DNS names: 245. */
export const SERVER_NAME_MAX = DNS_NAME_MAX - LONGEST_NAME_PREFIX.length;

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

/** Python logging levels Synapse's processes log at. */
export const LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
const logLevel = z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(", ")}` });

const workerOverride = z.strictObject({
  logLevel: logLevel.optional(),
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

/**
 * The Service CIDR EKS gives a cluster created without `kubernetesNetworkConfig.serviceIpv4Cidr`
 * (components/nodepools sets none): "either the 10.100.0.0/16 or 172.20.0.0/16 CIDR blocks"
 * (https://docs.aws.amazon.com/eks/latest/APIReference/API_KubernetesNetworkConfigRequest.html),
 * 172.20.0.0/16 when one of the VPC's CIDR blocks is in 10.0.0.0/8 and 10.100.0.0/16 otherwise (the
 * rule AWS's node bootstrap applies to pick the cluster DNS address:
 * https://github.com/awslabs/amazon-eks-ami/blob/main/files/bootstrap.sh, `TEN_RANGE`).
 * `aws.vpcCidr` only accepts a /16 in 10.0.0.0/8, so a VPC the program creates always gets
 * 172.20.0.0/16, which it cannot overlap: the settings test checks every accepted block.
 */
/** The `kubernetes` Service's address: the first of the Service range (Kubernetes allocates it so). */
export function kubernetesServiceAddress(serviceCidr: string): string {
  const [a, b, c, d] = serviceCidr.split("/")[0]!.split(".").map(Number) as [number, number, number, number];
  return [a, b, c, d + 1].join(".");
}

export function eksDefaultServiceCidr(vpcCidrs: readonly string[]): "172.20.0.0/16" | "10.100.0.0/16" {
  return vpcCidrs.some((c) => c.startsWith("10.")) ? "172.20.0.0/16" : "10.100.0.0/16";
}

/** Whether two IPv4 CIDR blocks share an address. */
export function ipv4CidrsOverlap(a: string, b: string): boolean {
  const range = (cidr: string) => {
    const [address, bits] = cidr.split("/") as [string, string];
    const start = address.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
    return [start, start + 2 ** (32 - Number(bits)) - 1] as const;
  };
  const [aStart, aEnd] = range(a);
  const [bStart, bEnd] = range(b);
  return aStart <= bEnd && bStart <= aEnd;
}

/** A URL that is only an origin (scheme, host, port): no user, path, query or fragment. */
function isOrigin(url: string): boolean {
  try {
    return new URL(url).origin === url.replace(/\/$/, "");
  } catch {
    return false;
  }
}

/** S3's bucket naming rules: 3–63 lower-case letters, digits, dots and hyphens, a letter or digit at each end. */
const S3_BUCKET = z.string().regex(/^(?=.{3,63}$)[a-z0-9][a-z0-9.-]*[a-z0-9]$/, { error: "expected an S3 bucket name (3 to 63 lower-case letters, digits, dots and hyphens)" });

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
  /** The level every Synapse process logs at (overrides.synapse.<type>.logLevel sets one type's). */
  logLevel: logLevel.default("INFO"),
  overrides: overridesSchema.default({}),
  kubernetes: z
    .strictObject({
      namespace: z.string().regex(K8S_NAME, { error: "expected a Kubernetes namespace name (lower-case, dashes)" }).default("matrix"),
      kubeconfig: z.string({ error: "expected a path to a kubeconfig file" }).optional(),
      context: z.string({ error: "expected a kubeconfig context name" }).optional(),
      renderDir: z.string({ error: "expected a directory path" }).optional(),
      minioImage: z.string().regex(/^[\w.\-/:@]+$/, { error: "expected an image reference such as quay.io/minio/minio:RELEASE.2025-10-15T17-29-55Z" }).optional(),
      /**
       * An S3-compatible store of the operator's for the database's base backups and WAL, apart from
       * the media store (target kubernetes; on aws, aws.backupBucket): its HTTPS endpoint, a bucket,
       * a Secret in the namespace holding ACCESS_KEY_ID and ACCESS_SECRET_KEY, and the CIDR blocks
       * the endpoint answers from (the database's network policy opens them on the endpoint's port).
       * Without it the backups go to the in-cluster MinIO, whose capacity they then share with media.
       */
      backupStore: z
        .strictObject({
          endpoint: z.url({ protocol: /^https$/, error: "expected the store's HTTPS endpoint, such as https://s3.example.net" }).refine(isOrigin, { error: "expected only the scheme, host and port, such as https://s3.example.net:9443 (the bucket is a key of its own)" }),
          bucket: S3_BUCKET,
          credentialsSecret: z.string().regex(K8S_NAME, { error: "expected the name of a Secret in the namespace with ACCESS_KEY_ID and ACCESS_SECRET_KEY" }),
          cidrs: z
            .array(z.string().refine(isCidr, { error: "expected CIDR blocks such as 198.51.100.0/24" }).refine((c) => !c.endsWith("/0"), { error: "expected the store's own addresses, not every address" }))
            .min(1, { error: "expected the CIDR blocks the endpoint answers from" }),
        })
        .optional(),
      /**
       * The Synapse image every process runs. It must have the S3 media storage provider built in, as
       * images/synapse builds it (the default is that build): pods install nothing at start.
       */
      synapseImage: z.string().regex(/^[\w.\-/:@]+$/, { error: "expected an image reference such as registry.example.net/synapse:v1.163.2-media" }).optional(),
      /** The MinIO client image the setup Job runs (bucket, user and policy creation). */
      mcImage: z.string().regex(/^[\w.\-/:@]+$/, { error: "expected an image reference such as quay.io/minio/mc:RELEASE.2025-04-16T18-13-26Z" }).optional(),
      /**
       * Where the cluster's nodes and its API server have their addresses: the call hosts reach
       * LiveKit's Redis from the host network, and CloudNativePG's instances reach the API server.
       * The private ranges unless narrowed (target kubernetes; on aws the VPC's own ranges are used).
       */
      nodeCidrs: z.array(z.string().refine(isCidr, { error: "expected CIDR blocks such as 10.0.0.0/16" })).min(1, { error: "expected at least one CIDR block" }).default([...PRIVATE_RANGES]),
    })
    .default({ namespace: "matrix", nodeCidrs: [...PRIVATE_RANGES] }),
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
      /**
       * Only a /16 in 10.0.0.0/8: EKS then gives Services 172.20.0.0/16, which no such VPC overlaps
       * (see eksDefaultServiceCidr).
       */
      vpcCidr: z
        .string()
        .regex(/^10\.\d{1,3}\.0\.0\/16$/, { error: "expected a /16 in 10.0.0.0/8 such as 10.42.0.0/16" })
        .refine(isCidr, { error: "expected a /16 in 10.0.0.0/8 such as 10.42.0.0/16" })
        .default("10.42.0.0/16"),
      kubernetesVersion: z.string().regex(/^1\.\d{2}$/, { error: `expected an EKS Kubernetes version such as ${DEFAULT_EKS_VERSION}` }).default(DEFAULT_EKS_VERSION),
      certificateArn: z.string().regex(/^arn:aws:acm:/, { error: "expected an ACM certificate ARN" }).optional(),
      /** Who may reach the EKS API from the internet (where `pulumi up` and operators run); [] keeps it inside the VPC. Required to deploy. */
      apiAccessCidrs: z.array(z.string().refine(isCidr, { error: "expected CIDR blocks such as 203.0.113.0/24" })).optional(),
      /**
       * An S3 bucket of the operator's for the database's base backups and WAL, apart from the media
       * store (S3 naming rules: 3–63 lower-case letters, digits, dots and hyphens, a letter or digit at
       * each end). Without it they go to the in-cluster MinIO, with the media (a plan warning says so).
       */
      backupBucket: S3_BUCKET.optional(),
    })
    .default({ region: "us-east-1", vpcCidr: "10.42.0.0/16", kubernetesVersion: DEFAULT_EKS_VERSION }),
});

/** Every top-level stack setting. */
export const SETTING_KEYS = Object.keys(settingsSchema.shape) as (keyof z.infer<typeof settingsSchema>)[];

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
  checkNames(settings);
  checkAdminCidrs(settings.edge.adminCidrs);
  checkPinnedImage("kubernetes.minioImage", settings.kubernetes.minioImage, "quay.io/minio/minio:RELEASE.2025-10-15T17-29-55Z or quay.io/minio/minio@sha256:<64 hex digits>");
  checkMinioRelease(settings.kubernetes.minioImage);
  checkPinnedImage("kubernetes.synapseImage", settings.kubernetes.synapseImage, "registry.example.net/synapse:v1.163.2-media or registry.example.net/synapse@sha256:<64 hex digits>");
  checkPinnedImage("kubernetes.mcImage", settings.kubernetes.mcImage, "quay.io/minio/mc:RELEASE.2025-04-16T18-13-26Z or quay.io/minio/mc@sha256:<64 hex digits>");
  checkAws(settings.aws, settings.target);
  if (settings.target === "aws" && settings.kubernetes.backupStore) {
    refuse("kubernetes.backupStore", settings.kubernetes.backupStore.endpoint, "on target aws the backups go to aws.backupBucket (with an IAM role, no keys): set that instead");
  }
  return settings;
}

function refuse(key: string, value: unknown, why: string): never {
  throw new SettingsError(key, `${CONFIG_NAMESPACE}:${key} = ${describe(value)}: ${why}`);
}

/** The first value listed twice (as `same` spells values), if any. */
function repeated<T>(values: readonly T[], same: (value: T) => string = String): T | undefined {
  const seen = new Set<string>();
  for (const value of values) {
    const id = same(value);
    if (seen.has(id)) return value;
    seen.add(id);
  }
  return undefined;
}

/** Names the program derives from the settings, within Kubernetes' and DNS's limits. */
function checkNames(settings: Settings): void {
  const { namespace } = settings.kubernetes;
  if (namespace.length > NAMESPACE_MAX) {
    const calls = `${namespace}${CALL_HOSTS_NAMESPACE_SUFFIX}`;
    refuse(
      "kubernetes.namespace",
      namespace,
      `the call hosts' namespace ${calls} would be ${calls.length} characters, over the ${K8S_LABEL_MAX} Kubernetes allows a namespace name; ` +
        `use a namespace of at most ${NAMESPACE_MAX} characters`,
    );
  }
  if (settings.serverName.length > SERVER_NAME_MAX) {
    refuse(
      "serverName",
      settings.serverName,
      `${LONGEST_NAME_PREFIX}<serverName> would be ${settings.serverName.length + LONGEST_NAME_PREFIX.length} characters, over the ${DNS_NAME_MAX} a DNS name may have; ` +
        `use a server name of at most ${SERVER_NAME_MAX} characters`,
    );
  }
}

/** A CIDR block as one spelling per network (IPv6 addresses compressed and lower-cased). */
function cidrIdentity(cidr: string): string {
  const [address, bits] = cidr.split("/") as [string, string];
  return isIP(address) === 6 ? `${new SocketAddress({ address, family: "ipv6" }).address}/${bits}` : cidr;
}

function checkAdminCidrs(cidrs: readonly string[]): void {
  const everyone = cidrs.find((c) => c.endsWith("/0"));
  if (everyone !== undefined) {
    refuse(
      "edge.adminCidrs",
      cidrs,
      `${everyone} opens the admin API to every address on the internet; list only the networks administrators connect from, such as 203.0.113.0/24`,
    );
  }
  const twice = repeated(cidrs, cidrIdentity);
  if (twice !== undefined) refuse("edge.adminCidrs", cidrs, `${twice} is listed twice; list each network once`);
}

/** A digest pins an image (OCI image-spec descriptor.md: a sha256 digest is 64 lower-case hexadecimal digits). */
const PINNING_DIGEST = /@sha256:[a-f0-9]{64}$/;
/** A tag (distribution/reference grammar: `[\w][\w.-]{0,127}`). */
const TAG = /^\w[\w.-]{0,127}$/;

function checkPinnedImage(key: string, image: string | undefined, example: string): void {
  if (image === undefined || PINNING_DIGEST.test(image)) return;
  const pin = `pin a release tag or a digest, such as ${example}`;
  if (image.includes("@")) refuse(key, image, `expected a digest @sha256: followed by 64 lower-case hexadecimal digits; ${pin}`);
  const lastPart = image.slice(image.lastIndexOf("/") + 1);
  const colon = lastPart.indexOf(":");
  if (colon < 0) refuse(key, image, `no tag, so the image is whatever :latest is when a node pulls it; ${pin}`);
  const tag = lastPart.slice(colon + 1);
  if (!TAG.test(tag)) refuse(key, image, `"${tag}" is not an image tag; ${pin}`);
  if (tag === "latest") refuse(key, image, `:latest moves to each new release; ${pin}`);
}

/**
 * CVE-2025-62506 (MinIO: privilege escalation through the session policies of service accounts and
 * STS credentials) is fixed first in RELEASE.2025-10-15T17-29-55Z (the CVE record and MinIO's advisory). MinIO's
 * release tags sort by date, so an earlier tag is an unfixed server.
 */
export const MINIO_FIRST_FIXED_RELEASE = "RELEASE.2025-10-15T17-29-55Z";
const MINIO_RELEASE_TAG = /:(RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z)/;

function checkMinioRelease(image: string | undefined): void {
  const release = image === undefined ? undefined : MINIO_RELEASE_TAG.exec(image)?.[1];
  if (release !== undefined && release < MINIO_FIRST_FIXED_RELEASE) {
    refuse(
      "kubernetes.minioImage",
      image!,
      `${release} predates the fix for CVE-2025-62506 (privilege escalation through session policies), first in ${MINIO_FIRST_FIXED_RELEASE}; ` +
        "leave the setting out (the default is built from a fixed source: images/minio/Dockerfile) or pin that release or a later one",
    );
  }
}

/** The oldest Kubernetes this program runs on EKS: VolumeAttributesClass went GA (storage.k8s.io/v1) in 1.34. */
export const MINIMUM_EKS_VERSION = "1.34";

function checkAws(aws: Settings["aws"], target: Settings["target"]): void {
  const version = aws.kubernetesVersion;
  if (supportLevel(version, SETTINGS_DATE) === "unsupported") {
    const known = eksVersion(version);
    const offered = `use one of ${offeredVersions(SETTINGS_DATE).join(", ")} (the default is ${DEFAULT_EKS_VERSION})`;
    refuse(
      "aws.kubernetesVersion",
      version,
      known && SETTINGS_DATE.getTime() >= Date.parse(`${known.endOfExtendedSupport}T00:00:00Z`)
        ? `EKS extended support for ${version} ended on ${known.endOfExtendedSupport}; ${offered}`
        : `EKS does not offer ${version} as of ${EKS_CALENDAR_AS_OF} (sizing/eks-versions.ts); ${offered}`,
    );
  }

  const [major, minor] = version.split(".").map(Number) as [number, number];
  const [needMajor, needMinor] = MINIMUM_EKS_VERSION.split(".").map(Number) as [number, number];
  if (target === "aws" && (major < needMajor || (major === needMajor && minor < needMinor))) {
    refuse(
      "aws.kubernetesVersion",
      version,
      `the database volume's IOPS and throughput are a VolumeAttributesClass (storage.k8s.io/v1), served from Kubernetes ${MINIMUM_EKS_VERSION}; use ${MINIMUM_EKS_VERSION} or later (the default is ${DEFAULT_EKS_VERSION})`,
    );
  }

  const zones = aws.availabilityZones;
  if (zones) {
    const examples = ["a", "b", "c"].map((letter) => `${aws.region}${letter}`).join(", ");
    const foreign = zones.find((zone) => !(zone.length === aws.region.length + 1 && zone.startsWith(aws.region) && /[a-z]$/.test(zone)));
    if (foreign !== undefined) {
      refuse(
        "aws.availabilityZones",
        zones,
        `${JSON.stringify(foreign)} is not a zone of aws.region ${aws.region}; expected the region and one letter, such as ${examples}`,
      );
    }
    const twice = repeated(zones);
    if (twice !== undefined) refuse("aws.availabilityZones", zones, `${twice} is listed twice; expected three distinct zones of ${aws.region}, such as ${examples}`);
  }

  const lists = [
    ["aws.privateSubnetIds", aws.privateSubnetIds],
    ["aws.publicSubnetIds", aws.publicSubnetIds],
  ] as const;
  if (!aws.vpcId && lists.some(([, ids]) => ids !== undefined)) {
    throw new SettingsError(
      "aws.vpcId",
      `${CONFIG_NAMESPACE}:aws.vpcId is missing: aws.privateSubnetIds and aws.publicSubnetIds name subnets of an existing VPC; ` +
        `set aws.vpcId to that VPC, or remove the subnet ids to have the program create one`,
    );
  }
  const seen = new Map<string, string>();
  for (const [key, ids] of lists) {
    if (ids === undefined) continue;
    if (ids.length !== 3) refuse(key, ids, `expected exactly three subnet ids, one in each of the three availability zones`);
    for (const id of ids) {
      const first = seen.get(id);
      if (first !== undefined) refuse(key, ids, first === key ? `${id} is listed twice; give one subnet per zone` : `${id} is also in ${first}; a subnet is either private or public`);
      seen.set(id, key);
    }
  }
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
  if (settings.target === "aws" && !settings.aws.apiAccessCidrs) {
    throw new SettingsError(
      "aws.apiAccessCidrs",
      `${CONFIG_NAMESPACE}:aws.apiAccessCidrs is missing: target aws opens the EKS API only to these CIDR blocks; ` +
        `set where \`pulumi up\` and the operators run (such as ["203.0.113.0/24"]), or [] to keep the API inside the VPC`,
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

/**
 * Runs the real Pulumi program in-process under Pulumi's mock runtime: no CLI, no cloud, no
 * cluster. Used by the plan CLI, the benchmark and the component tests.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, type RawSettings } from "../sizing/settings";

export interface DeclaredResource {
  type: string;
  name: string;
  urn: string;
  inputs: Record<string, unknown>;
  /** Input paths Pulumi marked secret (stored encrypted in state). */
  secretPaths: string[];
  /** The name the Kubernetes provider gives an object declared without `metadata.name`. */
  autoName?: string;
}

export interface MockRun {
  resources: DeclaredResource[];
  outputs: Record<string, unknown>;
}

/**
 * The Kubernetes provider names an object declared without `metadata.name` `<resource name>-<suffix>`;
 * the suffix here comes from the content, so a changed object gets a new name as a replacement would.
 */
export function kubernetesAutoName(type: string, name: string, inputs: Record<string, unknown>): string | undefined {
  if (!type.startsWith("kubernetes:") || type.startsWith("kubernetes:helm.sh/")) return undefined;
  const metadata = inputs.metadata as { name?: unknown } | undefined;
  if (!metadata || metadata.name !== undefined) return undefined;
  return `${name}-${createHash("sha256").update(JSON.stringify(inputs)).digest("hex").slice(0, 8)}`;
}

/** 32 mock random bytes whose base64 form carries a findable marker, so tests can trace where a generated key ends up. */
function mockBytes(name: string): { base64: string; hex: string } {
  const base64 = `mockbytes${name.replace(/[^A-Za-z0-9]/g, "")}`.padEnd(42, "A").slice(0, 42) + "A=";
  return { base64, hex: Buffer.from(base64, "base64").toString("hex") };
}

const MOCK_ACCOUNT = "123456789012";

/** Fake provider answers for the outputs some resources compute (everything else echoes inputs). */
function mockState(type: string, name: string, inputs: Record<string, unknown>, autoName: string | undefined): Record<string, unknown> {
  if (autoName) return { ...inputs, metadata: { ...(inputs.metadata as object), name: autoName } };
  switch (type) {
    case "random:index/randomPassword:RandomPassword":
    case "random:index/randomString:RandomString":
      return { ...inputs, result: `mock-${name}` };
    case "aws:eks/cluster:Cluster":
      return {
        ...inputs,
        name,
        endpoint: `https://${name}.eks.mock`,
        certificateAuthority: { data: Buffer.from("mock-ca").toString("base64") },
        identities: [{ oidcs: [{ issuer: `https://oidc.eks.mock/id/${name}` }] }],
        vpcConfig: { ...(inputs.vpcConfig as object), clusterSecurityGroupId: "sg-cluster-mock" },
      };
    case "aws:ec2/launchTemplate:LaunchTemplate":
      return { ...inputs, latestVersion: 1 };
    // IAM objects are referred to by name and ARN (attachments, trust policies, IRSA annotations).
    case "aws:iam/role:Role":
    case "aws:iam/policy:Policy":
      return { ...inputs, name, arn: `arn:aws:iam::${MOCK_ACCOUNT}:${type === "aws:iam/role:Role" ? "role" : "policy"}/${name}` };
    case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
      return { ...inputs, arn: `arn:aws:iam::${MOCK_ACCOUNT}:oidc-provider/${String(inputs.url).replace(/^https:\/\//, "")}` };
    case "random:index/randomBytes:RandomBytes":
      return { ...inputs, ...mockBytes(name) };
    default:
      return inputs;
  }
}

/** The Kubernetes object a `kubernetes:<group>/<version>:<Kind>` resource is sent as (not providers or Helm charts). */
export interface KubernetesManifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

const KUBERNETES_TYPE = /^kubernetes:([a-z0-9.]+)\/([a-z0-9]+):([A-Za-z]+)$/;

export function isKubernetesObject(r: Pick<DeclaredResource, "type">): boolean {
  return KUBERNETES_TYPE.test(r.type) && !r.type.startsWith("kubernetes:helm.sh/");
}

/** The object as the provider sends it: apiVersion and kind from the type, the provider's name if auto-named. */
export function manifestOf(r: DeclaredResource): KubernetesManifest {
  const [, group, version, kind] = KUBERNETES_TYPE.exec(r.type) ?? [];
  if (!isKubernetesObject(r) || !kind) throw new Error(`${r.type} is not a Kubernetes object`);
  const apiVersion = group === "core" ? version! : `${group}/${version}`;
  const metadata = { ...(r.inputs.metadata as object), ...(r.autoName ? { name: r.autoName } : {}) } as KubernetesManifest["metadata"];
  return { ...r.inputs, apiVersion, kind, metadata };
}

/** Pulumi marks secret values in resource inputs with this signature key. */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** Resource inputs as the provider would see them: secret wrappers removed. */
export function unwrapSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (record[SECRET_SIG_KEY] === SECRET_SIG_VALUE) return unwrapSecrets(record.value);
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

export function secretPaths(value: unknown, prefix = ""): string[] {
  if (value === null || typeof value !== "object") return [];
  const record = value as Record<string, unknown>;
  if (record[SECRET_SIG_KEY] === SECRET_SIG_VALUE) return [prefix];
  return Object.entries(record).flatMap(([k, v]) => secretPaths(v, prefix ? `${prefix}.${k}` : k));
}

export function stackConfig(raw: RawSettings): Record<string, string> {
  return Object.fromEntries(
    Object.entries(raw).map(([key, value]) => [`${CONFIG_NAMESPACE}:${key}`, typeof value === "string" ? value : JSON.stringify(value)]),
  );
}

/** The default AWS provider's region: its environment, else the region the settings name (their default when unset). */
function awsRegion(raw: RawSettings): string {
  const aws = (typeof raw.aws === "string" ? JSON.parse(raw.aws) : raw.aws) as { region?: string } | undefined;
  return process.env.AWS_REGION ?? aws?.region ?? "us-east-1";
}

/**
 * Declare the program's resources for these settings. `preview` true mimics `pulumi preview`
 * (unknown outputs stay unknown); false mimics `pulumi up` with the mocked provider answers.
 */
export async function runProgram(raw: RawSettings, options: { asOf?: Date; preview?: boolean; previousOutputs?: Record<string, unknown> } = {}): Promise<MockRun> {
  const resources: DeclaredResource[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const urn = `urn:pulumi:mock::matrix-scale::${args.type}::${args.name}`;
        const inputs = unwrapSecrets(args.inputs) as Record<string, unknown>;
        const autoName = kubernetesAutoName(args.type, args.name, inputs);
        resources.push({ type: args.type, name: args.name, urn, inputs, secretPaths: secretPaths(args.inputs), ...(autoName ? { autoName } : {}) });
        if (args.type === "pulumi:pulumi:StackReference") return { id: args.name, state: { outputs: options.previousOutputs ?? {}, secretOutputNames: [] } };
        return { id: `${args.name}-id`, state: mockState(args.type, args.name, args.inputs, autoName) };
      },
      // The region's zones as EC2 names them in most regions: the region and a letter.
      call: (args) => (args.token === "aws:index/getAvailabilityZones:getAvailabilityZones" ? { names: ["a", "b", "c"].map((z) => `${awsRegion(raw)}${z}`), zoneIds: [] } : args.inputs),
    },
    "matrix-scale",
    "mock",
    options.preview ?? false,
    "organization",
  );
  pulumi.runtime.setAllConfig(stackConfig(raw));
  const { program } = await import("../program");
  let declared: unknown;
  try {
    declared = await program({ mockRuntime: true, ...(options.asOf ? { asOf: options.asOf } : {}) });
  } catch (error) {
    // What had been declared when the program refused: tests assert that nothing was.
    await settle(resources);
    if (error && typeof error === "object") Object.assign(error, { declared: resources.map(({ type, name }) => ({ type, name })) });
    throw error;
  }
  const outputs = (await resolve(declared)) as Record<string, unknown>;
  await settle(resources);
  return { resources, outputs };
}

async function resolve(value: unknown): Promise<unknown> {
  return new Promise((done) => {
    const output = pulumi.output(value) as unknown as pulumi.Output<unknown>;
    output.apply((v) => done(v));
  });
}

/** Resource registration is asynchronous: wait until no new resource appears for a while. */
async function settle(resources: DeclaredResource[]): Promise<void> {
  let seen = -1;
  let quiet = 0;
  while (quiet < 25) {
    await new Promise((r) => setImmediate(r));
    if (resources.length === seen) quiet++;
    else {
      seen = resources.length;
      quiet = 0;
    }
  }
}

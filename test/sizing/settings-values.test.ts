/**
 * Stack-config values at the edges of what each key accepts: the documented defaults
 * (docs/config.md), DNS names as Matrix server names (RFC 1123 labels of 1–63 characters, 253 in
 * all, no port), Kubernetes namespace names (RFC 1123 labels), AWS identifiers.
 */
import { describe, expect, it } from "vitest";
import { parseSettings, SettingsError } from "../../sizing";
import { DEFAULT_EKS_VERSION, type RawSettings } from "../../sizing/settings";
import { ok } from "../fixtures/bad-settings";
import { thrownBy } from "../helpers";

const accepts = (raw: RawSettings) => parseSettings({ ...ok, ...raw });
const refusedKey = (raw: RawSettings): string => thrownBy(SettingsError, () => parseSettings({ ...ok, ...raw })).key;

describe("documented defaults (docs/config.md)", () => {
  it("target kubernetes, federation on, Synapse logs at INFO, no overrides, namespace matrix, AWS us-east-1 / 10.42.0.0/16 / 1.36", () => {
    expect(DEFAULT_EKS_VERSION).toBe("1.36");
    expect(parseSettings(ok)).toEqual({
      ccu: 100,
      serverName: "matrix.example.com",
      target: "kubernetes",
      federation: true,
      logLevel: "INFO",
      overrides: {},
      kubernetes: { namespace: "matrix", nodeCidrs: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"] },
      edge: { adminCidrs: [], tlsSecret: "matrix-tls", proxyProtocol: false },
      aws: { region: "us-east-1", vpcCidr: "10.42.0.0/16", kubernetesVersion: "1.36" },
    });
    // An object given without its defaulted keys still gets them.
    expect(accepts({ kubernetes: { renderDir: "out" }, aws: { region: "eu-west-1" } })).toMatchObject({
      kubernetes: { namespace: "matrix", renderDir: "out", nodeCidrs: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"] },
      aws: { region: "eu-west-1", vpcCidr: "10.42.0.0/16", kubernetesVersion: "1.36" },
    });
  });
});

describe("numbers as a stack file writes them", () => {
  it.each([
    ["12", 12],
    [" 12 ", 12],
    [12, 12],
  ])("ccu %j is %i", (value, expected) => expect(accepts({ ccu: value }).ccu).toBe(expected));

  it.each([["1e3"], ["12a"], ["a12"], [""], ["1 2"], ["-5"], [null], [[12]]])("ccu %j is refused", (value) => {
    expect(refusedKey({ ccu: value })).toBe("ccu");
  });

  it("ranges are inclusive at both ends", () => {
    expect(accepts({ ccu: 1 }).ccu).toBe(1);
    expect(accepts({ ccu: 20_000 }).ccu).toBe(20_000);
    const o = (overrides: object) => accepts({ overrides }).overrides;
    expect(o({ synapse: { generic: { replicas: 200, maxReplicas: 400, cpMax: 100 } } })).toEqual({ synapse: { generic: { replicas: 200, maxReplicas: 400, cpMax: 100 } } });
    expect(refusedKey({ overrides: { synapse: { generic: { replicas: 201 } } } })).toBe("overrides.synapse.generic.replicas");
    expect(refusedKey({ overrides: { synapse: { generic: { maxReplicas: 401 } } } })).toBe("overrides.synapse.generic.maxReplicas");
    expect(refusedKey({ overrides: { synapse: { generic: { maxReplicas: 0 } } } })).toBe("overrides.synapse.generic.maxReplicas");
    expect(refusedKey({ overrides: { synapse: { generic: { cpMax: 101 } } } })).toBe("overrides.synapse.generic.cpMax");
    expect(o({ postgres: { maxConnections: 100, storageGB: 10 } })).toEqual({ postgres: { maxConnections: 100, storageGB: 10 } });
    expect(o({ postgres: { maxConnections: 5000, storageGB: 65_536 } })).toEqual({ postgres: { maxConnections: 5000, storageGB: 65_536 } });
    expect(refusedKey({ overrides: { postgres: { maxConnections: 5001 } } })).toBe("overrides.postgres.maxConnections");
    expect(refusedKey({ overrides: { postgres: { storageGB: 9 } } })).toBe("overrides.postgres.storageGB");
    expect(refusedKey({ overrides: { postgres: { storageGB: 65_537 } } })).toBe("overrides.postgres.storageGB");
    expect(o({ minio: { pools: 32, growthHorizonMonths: 120 } })).toEqual({ minio: { pools: 32, growthHorizonMonths: 120 } });
    expect(refusedKey({ overrides: { minio: { pools: 33 } } })).toBe("overrides.minio.pools");
    expect(refusedKey({ overrides: { minio: { growthHorizonMonths: 0 } } })).toBe("overrides.minio.growthHorizonMonths");
    expect(refusedKey({ overrides: { minio: { growthHorizonMonths: 121 } } })).toBe("overrides.minio.growthHorizonMonths");
    expect(o({ nodePools: { storage: { count: 500 } }, livekit: { instances: 100 }, coturn: { instances: 1 } })).toEqual({ nodePools: { storage: { count: 500 } }, livekit: { instances: 100 }, coturn: { instances: 1 } });
    expect(refusedKey({ overrides: { nodePools: { storage: { count: 501 } } } })).toBe("overrides.nodePools.storage.count");
    expect(refusedKey({ overrides: { livekit: { instances: 101 } } })).toBe("overrides.livekit.instances");
    expect(refusedKey({ overrides: { coturn: { instances: 0 } } })).toBe("overrides.coturn.instances");
    expect(refusedKey({ overrides: { coturn: {} } })).toBe("overrides.coturn.instances");
  });

  it("booleans: true, false, and the strings a stack file holds", () => {
    expect(accepts({ federation: "true" }).federation).toBe(true);
    expect(accepts({ federation: "false" }).federation).toBe(false);
    expect(accepts({ federation: false }).federation).toBe(false);
    expect(refusedKey({ federation: "yes" })).toBe("federation");
    expect(refusedKey({ federation: 1 })).toBe("federation");
  });

  it("tiers as names or numbers", () => {
    expect(accepts({ tier: "1k" }).tier).toBe("1k");
    expect(accepts({ tier: 100 }).tier).toBe("100");
    expect(refusedKey({ tier: 1000 })).toBe("tier");
    expect(accepts({ ccu: 1000, tier: "1k" }).tier).toBe("1k");
  });
});

describe("names", () => {
  const label63 = "a".repeat(63);
  it.each([
    ["matrix.example.com", true],
    ["example.com", true],
    ["localhost", true],
    // A port would send federation to that port, past the well-known on 443 (docs/synapse.md).
    ["matrix.example.com:8448", false],
    ["m-1.example.com", true],
    [`${label63}.example.com`, true],
    [`${"a".repeat(64)}.example.com`, false],
    [`${Array.from({ length: 4 }, () => label63).join(".")}`, false], // 255 characters
    // 253 characters: a DNS name, but livekit.<serverName> (261) would not be (settings.test.ts).
    [`${Array.from({ length: 3 }, () => label63).join(".")}.${"a".repeat(61)}`, false],
    ["-matrix.example.com", false],
    ["matrix-.example.com", false],
    ["matrix..example.com", false],
    ["matrix.example.com.", false],
    ["matrix.example.com:", false],
    ["matrix.example.com:123456", false],
    ["matrix_example.com", false],
    ["https://matrix.example.com", false],
    ["", false],
  ])("serverName %j accepted: %s", (name, accepted) => {
    if (accepted) expect(accepts({ serverName: name }).serverName).toBe(name);
    else expect(refusedKey({ serverName: name })).toBe("serverName");
  });

  it.each([
    ["matrix", true],
    ["m", true],
    ["matrix-prod-2", true],
    // 57: <namespace>-calls is 63, the most a namespace name may have (settings.test.ts).
    ["a".repeat(57), true],
    ["a".repeat(63), false],
    ["a".repeat(64), false],
    ["-matrix", false],
    ["matrix-", false],
    ["matrix.prod", false],
    ["", false],
  ])("kubernetes.namespace %j accepted: %s", (name, accepted) => {
    if (accepted) expect(accepts({ kubernetes: { namespace: name } }).kubernetes.namespace).toBe(name);
    else expect(refusedKey({ kubernetes: { namespace: name } })).toBe("kubernetes.namespace");
  });

  it("image references and paths", () => {
    const image = "quay.io/minio/minio:RELEASE.2025-10-15T17-29-55Z";
    expect(accepts({ kubernetes: { minioImage: image } }).kubernetes.minioImage).toBe(image);
    const digest = `registry.local:5000/minio@sha256:${"0a".repeat(32)}`;
    expect(accepts({ kubernetes: { minioImage: digest } }).kubernetes.minioImage).toBe(digest);
    expect(refusedKey({ kubernetes: { minioImage: "minio latest" } })).toBe("kubernetes.minioImage");
    expect(refusedKey({ kubernetes: { minioImage: "" } })).toBe("kubernetes.minioImage");
    expect(accepts({ kubernetes: { kubeconfig: "~/.kube/config", context: "prod" } }).kubernetes).toMatchObject({ kubeconfig: "~/.kube/config", context: "prod" });
    expect(refusedKey({ kubernetes: { kubeconfig: 3 } })).toBe("kubernetes.kubeconfig");
    expect(refusedKey({ kubernetes: { context: false } })).toBe("kubernetes.context");
    expect(refusedKey({ kubernetes: { renderDir: {} } })).toBe("kubernetes.renderDir");
  });
});

describe("AWS", () => {
  it.each([
    ["us-east-1", true],
    ["eu-west-3", true],
    ["ap-southeast-2", true],
    ["us-gov-west-1", true],
    ["eu-west", false],
    ["eu-west-12", false],
    ["EU-west-1", false],
    ["euwest-1", false],
    ["u-west-1", false],
    [" eu-west-1", false],
  ])("region %j accepted: %s", (region, accepted) => {
    if (accepted) expect(accepts({ aws: { region } }).aws.region).toBe(region);
    else expect(refusedKey({ aws: { region } })).toBe("aws.region");
  });

  it("VPC, subnets, CIDR, Kubernetes version, certificate", () => {
    const vpc = { vpcId: "vpc-0abc123", privateSubnetIds: ["subnet-0a", "subnet-1b", "subnet-1c"], publicSubnetIds: ["subnet-2a", "subnet-2b", "subnet-2c"] };
    expect(accepts({ aws: vpc }).aws).toMatchObject(vpc);
    expect(refusedKey({ aws: { ...vpc, vpcId: "vpc-0ABC" } })).toBe("aws.vpcId");
    expect(refusedKey({ aws: { ...vpc, vpcId: "vpc-" } })).toBe("aws.vpcId");
    expect(refusedKey({ aws: { ...vpc, vpcId: "xvpc-0abc" } })).toBe("aws.vpcId");
    expect(refusedKey({ aws: { ...vpc, privateSubnetIds: ["subnet-0a", "sub-1", "subnet-1c"] } })).toBe("aws.privateSubnetIds.1");
    expect(refusedKey({ aws: { ...vpc, publicSubnetIds: ["subnet-"] } })).toBe("aws.publicSubnetIds.0");
    expect(refusedKey({ aws: { ...vpc, publicSubnetIds: ["xsubnet-0a"] } })).toBe("aws.publicSubnetIds.0");
    // An existing VPC needs both subnet lists, non-empty.
    expect(refusedKey({ aws: { vpcId: "vpc-0abc", privateSubnetIds: ["subnet-0a"] } })).toBe("aws.vpcId");
    expect(refusedKey({ aws: { vpcId: "vpc-0abc", publicSubnetIds: ["subnet-0a"] } })).toBe("aws.vpcId");
    expect(refusedKey({ aws: { vpcId: "vpc-0abc", privateSubnetIds: [], publicSubnetIds: ["subnet-0a"] } })).toBe("aws.vpcId");
    // Subnets without a VPC id are refused naming aws.vpcId (settings.test.ts).
    expect(refusedKey({ aws: { privateSubnetIds: ["subnet-0a"] } })).toBe("aws.vpcId");

    expect(accepts({ aws: { vpcCidr: "10.0.0.0/16" } }).aws.vpcCidr).toBe("10.0.0.0/16");
    expect(accepts({ aws: { vpcCidr: "10.255.0.0/16" } }).aws.vpcCidr).toBe("10.255.0.0/16");
    for (const cidr of ["10.42.0.0/24", "10.42.1.0/16", "192.168.0.0/16", "10.1234.0.0/16", "x10.42.0.0/16", "10.42.0.0/160"]) expect(refusedKey({ aws: { vpcCidr: cidr } }), cidr).toBe("aws.vpcCidr");

    expect(accepts({ aws: { kubernetesVersion: "1.34" } }).aws.kubernetesVersion).toBe("1.34");
    for (const v of ["1.3", "1.334", "v1.33", "2", "1.33 "]) expect(refusedKey({ aws: { kubernetesVersion: v } }), v).toBe("aws.kubernetesVersion");

    const arn = "arn:aws:acm:us-east-1:123456789012:certificate/abc";
    expect(accepts({ aws: { certificateArn: arn } }).aws.certificateArn).toBe(arn);
    expect(refusedKey({ aws: { certificateArn: "arn:aws:iam::123:server-certificate/x" } })).toBe("aws.certificateArn");
    expect(refusedKey({ aws: { certificateArn: ` ${arn}` } })).toBe("aws.certificateArn");

    expect(accepts({ aws: { availabilityZones: ["us-east-1a", "us-east-1b", "us-east-1c"] } }).aws.availabilityZones).toEqual(["us-east-1a", "us-east-1b", "us-east-1c"]);
    expect(refusedKey({ aws: { availabilityZones: ["a", "b", "c", "d"] } })).toBe("aws.availabilityZones");
  });
});

describe("edge", () => {
  it("admin networks: IPv4 and IPv6 CIDR blocks with their host bits zero", () => {
    const cidrs = ["203.0.113.0/24", "10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32", "::1/128"];
    expect(accepts({ edge: { adminCidrs: cidrs } }).edge.adminCidrs).toEqual(cidrs);
    for (const bad of ["203.0.113.1/24", "203.0.113.0", "256.0.0.0/8", "2001:db8::/129", "10.0.0.0/-1"]) expect(refusedKey({ edge: { adminCidrs: [bad] } }), bad).toBe("edge.adminCidrs.0");
  });
});

describe("messages", () => {
  // docs/config.md: one line that names the key, the value and what is accepted.
  it.each([
    [{ ccu: "lots" }, 'matrix-scale:ccu = "lots": expected a whole number of concurrent users from 1 to 20000'],
    [{ ccu: 10.5 }, "matrix-scale:ccu = 10.5: expected a whole number of concurrent users from 1 to 20000"],
    [{ ccu: 0 }, "matrix-scale:ccu = 0: expected a whole number of concurrent users from 1 to 20000"],
    [{ ccu: 20_001 }, "matrix-scale:ccu = 20001: expected a whole number of concurrent users from 1 to 20000"],
    [{ tier: "2k" }, 'matrix-scale:tier = "2k": expected one of 100, 1k, 5k, 10k, 20k'],
    [{ serverName: 7 }, "matrix-scale:serverName = 7: expected a DNS name such as matrix.example.com"],
    [{ serverName: "A.example.com" }, 'matrix-scale:serverName = "A.example.com": expected a lower-case DNS name without a port, such as matrix.example.com'],
    [{ target: "azure" }, 'matrix-scale:target = "azure": expected aws or kubernetes'],
    [{ federation: "no" }, 'matrix-scale:federation = "no": expected true or false'],
    [{ overrides: { synapse: { generic: { maxReplicas: 401 } } } }, "matrix-scale:overrides.synapse.generic.maxReplicas = 401: expected a whole number of replicas from 1 to 400"],
    [{ overrides: { synapse: { generic: { replicas: 1.5 } } } }, "matrix-scale:overrides.synapse.generic.replicas = 1.5: expected a whole number of replicas from 1 to 200"],
    [{ overrides: { synapse: { main: { cpMax: 101 } } } }, "matrix-scale:overrides.synapse.main.cpMax = 101: expected a connection pool size from 1 to 100"],
    [{ overrides: { postgres: { maxConnections: "many" } } }, 'matrix-scale:overrides.postgres.maxConnections = "many": expected a max_connections value from 100 to 5000'],
    [{ overrides: { postgres: { storageGB: 70_000 } } }, "matrix-scale:overrides.postgres.storageGB = 70000: expected a volume size in GB from 10 to 65536"],
    [{ overrides: { minio: { pools: 40 } } }, "matrix-scale:overrides.minio.pools = 40: expected a number of MinIO server pools from 1 to 32"],
    [{ overrides: { minio: { growthHorizonMonths: 200 } } }, "matrix-scale:overrides.minio.growthHorizonMonths = 200: expected a number of months from 1 to 120"],
    [{ overrides: { nodePools: { calls: { count: 0 } } } }, "matrix-scale:overrides.nodePools.calls.count = 0: expected a node count from 1 to 500"],
    [{ overrides: { livekit: { instances: 0 } } }, "matrix-scale:overrides.livekit.instances = 0: expected a number of LiveKit hosts from 1 to 100"],
    [{ overrides: { coturn: { instances: 101 } } }, "matrix-scale:overrides.coturn.instances = 101: expected a number of coturn hosts from 1 to 100"],
    [{ kubernetes: { namespace: "Matrix" } }, 'matrix-scale:kubernetes.namespace = "Matrix": expected a Kubernetes namespace name (lower-case, dashes)'],
    [{ kubernetes: { kubeconfig: 1 } }, "matrix-scale:kubernetes.kubeconfig = 1: expected a path to a kubeconfig file"],
    [{ kubernetes: { context: 1 } }, "matrix-scale:kubernetes.context = 1: expected a kubeconfig context name"],
    [{ kubernetes: { renderDir: 1 } }, "matrix-scale:kubernetes.renderDir = 1: expected a directory path"],
    [{ kubernetes: { minioImage: "a b" } }, 'matrix-scale:kubernetes.minioImage = "a b": expected an image reference such as quay.io/minio/minio:RELEASE.2025-10-15T17-29-55Z'],
    [{ edge: { adminCidrs: ["10.0.0.1/8"] } }, 'matrix-scale:edge.adminCidrs.0 = "10.0.0.1/8": expected CIDR blocks such as 203.0.113.0/24'],
    [{ edge: { adminCidrs: ["10.0.0.0/33"] } }, 'matrix-scale:edge.adminCidrs.0 = "10.0.0.0/33": expected CIDR blocks such as 203.0.113.0/24'],
    [{ edge: { adminCidrs: ["example.com/24"] } }, 'matrix-scale:edge.adminCidrs.0 = "example.com/24": expected CIDR blocks such as 203.0.113.0/24'],
    [{ edge: { tlsSecret: "Matrix_TLS" } }, 'matrix-scale:edge.tlsSecret = "Matrix_TLS": expected the name of a kubernetes.io/tls Secret in the namespace'],
    [{ aws: { region: "mars" } }, 'matrix-scale:aws.region = "mars": expected an AWS region such as eu-west-1'],
    [{ aws: { vpcId: "vpc-XYZ" } }, 'matrix-scale:aws.vpcId = "vpc-XYZ": expected a VPC id such as vpc-0abc123'],
    [{ aws: { publicSubnetIds: ["s-1"] } }, 'matrix-scale:aws.publicSubnetIds.0 = "s-1": expected subnet ids'],
    [{ aws: { availabilityZones: ["a"] } }, 'matrix-scale:aws.availabilityZones = ["a"]: expected exactly three availability zones'],
    [{ aws: { vpcCidr: "10.0.0.0/8" } }, 'matrix-scale:aws.vpcCidr = "10.0.0.0/8": expected a /16 in 10.0.0.0/8 such as 10.42.0.0/16'],
    [{ aws: { kubernetesVersion: "1.9" } }, 'matrix-scale:aws.kubernetesVersion = "1.9": expected an EKS Kubernetes version such as 1.36'],
    [{ aws: { certificateArn: "arn:aws:iam::1:x" } }, 'matrix-scale:aws.certificateArn = "arn:aws:iam::1:x": expected an ACM certificate ARN'],
    [{ aws: { vpcId: "vpc-0abc" } }, 'matrix-scale:aws.vpcId = "vpc-0abc": an existing VPC also needs aws.privateSubnetIds and aws.publicSubnetIds'],
  ])("%j: %s", (raw, message) => {
    let error: unknown;
    try {
      parseSettings({ ...ok, ...raw });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SettingsError);
    expect((error as Error).message).toBe(message);
    expect((error as Error).name).toBe("SettingsError");
  });

  it("a long value is shortened to 57 characters and an ellipsis; a 60-character one is shown whole", () => {
    const long = "x".repeat(80);
    let message = "";
    try {
      parseSettings({ ...ok, serverName: long });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toBe(`matrix-scale:serverName = ${JSON.stringify(long).slice(0, 57)}...: expected a lower-case DNS name without a port, such as matrix.example.com`);
    const sixty = "Y".repeat(58); // JSON adds the two quotes: 60 characters
    try {
      parseSettings({ ...ok, serverName: sixty });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toBe(`matrix-scale:serverName = "${sixty}": expected a lower-case DNS name without a port, such as matrix.example.com`);
  });

  it("the value is read along the issue's path, through arrays, and missing when a parent is not an object", () => {
    let message = "";
    try {
      parseSettings({ ...ok, aws: { privateSubnetIds: ["subnet-0a", "bad"] } });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toBe('matrix-scale:aws.privateSubnetIds.1 = "bad": expected subnet ids');
    try {
      parseSettings({ ...ok, overrides: { synapse: { generic: null } } });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^matrix-scale:overrides\.synapse\.generic = null: /);
  });

  it("accepted keys are listed for nested unknown keys, through optional and defaulted objects", () => {
    const unknown = (raw: RawSettings) => {
      try {
        parseSettings({ ...ok, ...raw });
      } catch (e) {
        return (e as Error).message;
      }
      return "";
    };
    expect(unknown({ aws: { zone: "a" } })).toBe(
      "matrix-scale:aws.zone is not a known setting; accepted here: region, vpcId, privateSubnetIds, publicSubnetIds, availabilityZones, vpcCidr, kubernetesVersion, certificateArn, apiAccessCidrs, backupBucket",
    );
    expect(unknown({ overrides: { postgres: { workMem: 1 } } })).toBe("matrix-scale:overrides.postgres.workMem is not a known setting; accepted here: maxConnections, storageGB");
    expect(unknown({ overrides: { minio: { drives: 1 } } })).toBe("matrix-scale:overrides.minio.drives is not a known setting; accepted here: pools, growthHorizonMonths");
    expect(unknown({ overrides: { nodePools: { storage: { count: 4, size: 2 } } } })).toBe("matrix-scale:overrides.nodePools.storage.size is not a known setting; accepted here: count");
    expect(unknown({ overrides: { coturn: { instances: 2, ports: 1 } } })).toBe("matrix-scale:overrides.coturn.ports is not a known setting; accepted here: instances");
  });

  it("settings that are not an object at all name the root", () => {
    let error: unknown;
    try {
      parseSettings(null as unknown as RawSettings);
    } catch (e) {
      error = e;
    }
    expect((error as SettingsError).key).toBe("(root)");
    expect((error as Error).message).toMatch(/^matrix-scale:\(root\) = null: /);
  });

  it("tier smaller than ccu lists the tiers that serve it", () => {
    let message = "";
    try {
      parseSettings({ ...ok, ccu: 1001, tier: "100" });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toBe('matrix-scale:tier = "100" serves 100 users but ccu is 1001; remove tier or pick one of 5k, 10k, 20k');
  });
});

/** Stack config validation: every bad value rejected with one line naming the key. */
import { describe, expect, it } from "vitest";
import { callHostsNamespace, publicNames, SERVICE_NAMES } from "../../components/naming";
import { parseSettings, plan, PlanError, SettingsError } from "../../sizing";
import {
  CALL_HOSTS_NAMESPACE_SUFFIX,
  DEFAULT_EKS_VERSION,
  eksDefaultServiceCidr,
  ipv4CidrsOverlap,
  LONGEST_NAME_PREFIX,
  NAMESPACE_MAX,
  type RawSettings,
  SERVER_NAME_MAX,
} from "../../sizing/settings";
import { BAD, BREAKS_INVARIANT, ok } from "../fixtures/bad-settings";
import { thrownBy } from "../helpers";

/**
 * The case with its named key taken away: a key `ok` has (ccu, serverName) gets ok's value, any
 * other key is deleted, and objects the deletion leaves empty are deleted too. If the case was
 * refused for that key and nothing else, what remains is valid.
 */
function withoutKey(raw: RawSettings, key: string): RawSettings {
  const copy = structuredClone(raw) as Record<string, unknown>;
  if (key in ok) return { ...copy, [key]: ok[key as keyof typeof ok] };
  const path = key.split(".");
  const chain: Record<string, unknown>[] = [copy];
  for (const part of path.slice(0, -1)) {
    const next = chain.at(-1)![part];
    if (next === null || typeof next !== "object" || Array.isArray(next)) break;
    chain.push(next as Record<string, unknown>);
  }
  if (chain.length === path.length) delete chain.at(-1)![path.at(-1)!];
  for (let i = chain.length - 1; i > 0; i--) {
    if (Object.keys(chain[i]!).length > 0) break;
    delete chain[i - 1]![path[i - 1]!];
  }
  return copy;
}

describe("bad settings are rejected with one line naming the key", () => {
  it("the corpus has at least 25 cases", () => expect(BAD.length).toBeGreaterThanOrEqual(25));

  it("case names are unique", () => expect(new Set(BAD.map(([what]) => what)).size).toBe(BAD.length));

  it.each(BAD)("%s", (_what, raw, key, text) => {
    let error: unknown;
    try {
      parseSettings(raw);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SettingsError);
    const message = (error as SettingsError).message;
    expect(message).not.toContain("\n");
    // Exactly the key: the message opens with it (not a longer or shorter key that contains it).
    expect(message.startsWith(`matrix-scale:${key} `), message).toBe(true);
    expect(message).toMatch(text);
    expect((error as SettingsError).key).toBe(key);
  });

  it.each(BAD)("%s: refused for that key only (without it the settings are valid)", (_what, raw, key) => {
    expect(() => parseSettings(withoutKey(raw, key))).not.toThrow();
  });
});

describe("valid settings that break an invariant fail with the rule, the numbers and the fix", () => {
  it.each(BREAKS_INVARIANT)("%s", (_what, raw, key, rule) => {
    let error: unknown;
    try {
      plan(parseSettings(raw));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PlanError);
    const message = (error as PlanError).message;
    expect(message).toMatch(rule);
    expect(message).toMatch(/\d/);
    expect(message).toContain("fix:");
    // Exactly the key, which closes the message.
    expect((error as PlanError).key).toBe(key);
    expect(message.endsWith(`(matrix-scale:${key})`), message).toBe(true);
  });

  it.each(BREAKS_INVARIANT)("%s: refused for that key only (without it the plan is made)", (_what, raw, key) => {
    expect(() => plan(parseSettings(withoutKey(raw, key)))).not.toThrow();
  });
});

describe("valid settings", () => {
  it("a larger worker pool raises max_connections to fit the budget, within what memory affords", () => {
    const p = plan(parseSettings({ ...ok, overrides: { synapse: { synchrotron: { cpMax: 40 } } } }));
    expect(p.postgres.maxConnections).toBeGreaterThan(200);
    expect(p.postgres.maxConnectionsSource).toBe("raised for the connection budget");
    expect(p.synapse.connectionsAtMaxScale).toBeLessThan(p.postgres.maxConnections * 0.85);
  });

  it("fills documented defaults", () => {
    const s = parseSettings({ ccu: "800", serverName: "matrix.example.com" });
    expect(s).toMatchObject({ ccu: 800, target: "kubernetes", federation: true, overrides: {}, kubernetes: { namespace: "matrix" } });
  });

  it("accepts stack-file strings for booleans and tiers given as numbers", () => {
    expect(parseSettings({ ...ok, federation: "false", tier: 100 })).toMatchObject({ federation: false, tier: "100" });
  });

  it("the seed's '800 CCU on 1K: 6 sync workers' override is valid and re-checked", () => {
    const p = plan(parseSettings({ ccu: 800, serverName: "m.example.com", overrides: { synapse: { synchrotron: { replicas: 6 } } } }));
    expect(p.tier).toBe("1k");
    expect(p.synapse.workers.synchrotron.replicas).toBe(6);
    expect(p.synapse.connectionsAtMaxScale).toBeLessThan(p.synapse.connectionLimit);
    expect(p.warnings.join()).toMatch(/80% of the 1k tier: plan the move to 5k/);
  });

  it("federation off: no federation senders, fewer processes", () => {
    const on = plan(parseSettings(ok));
    const off = plan(parseSettings({ ...ok, federation: false }));
    expect(off.synapse.workers.federationSender.replicas).toBe(0);
    expect(off.synapse.federationSenderInstances).toEqual([]);
    expect(off.synapse.processes).toBe(on.synapse.processes - on.synapse.workers.federationSender.replicas);
  });
});

/** The refusal of `raw` (over `ok`): its key and its one-line message. */
function refusal(raw: RawSettings): { key: string; message: string } {
  const e = thrownBy(SettingsError, () => parseSettings({ ...ok, ...raw }));
  expect(e.message).not.toContain("\n");
  return { key: e.key, message: e.message };
}
const accepts = (raw: RawSettings) => parseSettings({ ...ok, ...raw });

/** Kubernetes' DNS-1035 label (Service names): k8s.io/apimachinery pkg/util/validation, dns1035LabelFmt, at most 63. */
const DNS1035_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** Kubernetes' DNS-1123 label (namespace names), at most 63. */
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A DNS name: RFC 1123 labels of 1 to 63 characters, 253 in all. */
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

describe("settings refused in context (sizing/eks-versions.ts, Kubernetes and DNS name limits)", () => {
  describe("aws.kubernetesVersion: offered by EKS on the calendar's date (2026-11-30)", () => {
    it.each(["1.32", "1.33", "1.34", "1.35", "1.36"])("%s is accepted (1.32 and 1.33 in extended support, warned about elsewhere)", (version) => {
      expect(accepts({ aws: { kubernetesVersion: version } }).aws.kubernetesVersion).toBe(version);
    });

    it("the default is 1.36", () => expect(accepts({}).aws.kubernetesVersion).toBe(DEFAULT_EKS_VERSION));

    it("past its end of extended support (1.31: 2026-11-26): refused with the versions to use instead", () => {
      expect(refusal({ aws: { kubernetesVersion: "1.31" } })).toEqual({
        key: "aws.kubernetesVersion",
        message: 'matrix-scale:aws.kubernetesVersion = "1.31": EKS extended support for 1.31 ended on 2026-11-26; use one of 1.32, 1.33, 1.34, 1.35, 1.36 (the default is 1.36)',
      });
    });

    it.each(["1.30", "1.29", "1.37", "1.99", "1.10"])("%s, not in the calendar: refused", (version) => {
      expect(refusal({ aws: { kubernetesVersion: version } })).toEqual({
        key: "aws.kubernetesVersion",
        message: `matrix-scale:aws.kubernetesVersion = "${version}": EKS does not offer ${version} as of 2026-11-30 (sizing/eks-versions.ts); use one of 1.32, 1.33, 1.34, 1.35, 1.36 (the default is 1.36)`,
      });
    });
  });

  describe("aws.availabilityZones: three distinct zones of aws.region (the region code and one letter)", () => {
    it.each([
      ["us-east-1", ["us-east-1a", "us-east-1b", "us-east-1c"]],
      ["us-east-1", ["us-east-1f", "us-east-1d", "us-east-1z"]],
      ["eu-west-3", ["eu-west-3c", "eu-west-3a", "eu-west-3b"]],
      ["us-gov-west-1", ["us-gov-west-1a", "us-gov-west-1b", "us-gov-west-1c"]],
    ])("%s: %j accepted", (region, zones) => {
      expect(accepts({ aws: { region, availabilityZones: zones } }).aws.availabilityZones).toEqual(zones);
    });

    it("the default region is the one zones are checked against", () => {
      expect(refusal({ aws: { availabilityZones: ["eu-west-1a", "eu-west-1b", "eu-west-1c"] } }).message).toBe(
        'matrix-scale:aws.availabilityZones = ["eu-west-1a","eu-west-1b","eu-west-1c"]: "eu-west-1a" is not a zone of aws.region us-east-1; expected the region and one letter, such as us-east-1a, us-east-1b, us-east-1c',
      );
    });

    it.each([
      ["us-east-1"], // the region itself
      ["us-east-1ab"], // two letters
      ["us-east-1A"], // upper case
      ["us-east-11"], // a digit
      ["us-east-1-"],
      ["xus-east-1"],
      ["us-west-2-lax-1a"], // a Local Zone
      ["us-east-2a"], // another region
      [""],
    ])("%j is not a zone of us-east-1", (zone) => {
      const r = refusal({ aws: { availabilityZones: ["us-east-1a", "us-east-1b", zone] } });
      expect(r.key).toBe("aws.availabilityZones");
      expect(r.message).toContain(`: ${JSON.stringify(zone)} is not a zone of aws.region us-east-1; expected the region and one letter, such as us-east-1a, us-east-1b, us-east-1c`);
    });

    it("a zone listed twice", () => {
      expect(refusal({ aws: { region: "eu-west-1", availabilityZones: ["eu-west-1b", "eu-west-1a", "eu-west-1b"] } })).toEqual({
        key: "aws.availabilityZones",
        message: 'matrix-scale:aws.availabilityZones = ["eu-west-1b","eu-west-1a","eu-west-1b"]: eu-west-1b is listed twice; expected three distinct zones of eu-west-1, such as eu-west-1a, eu-west-1b, eu-west-1c',
      });
    });
  });

  describe("aws.privateSubnetIds / aws.publicSubnetIds: with aws.vpcId, one per zone, each once", () => {
    const vpc = { vpcId: "vpc-0abc", privateSubnetIds: ["subnet-1a", "subnet-1b", "subnet-1c"], publicSubnetIds: ["subnet-2a", "subnet-2b", "subnet-2c"] };
    const noVpc =
      "matrix-scale:aws.vpcId is missing: aws.privateSubnetIds and aws.publicSubnetIds name subnets of an existing VPC; set aws.vpcId to that VPC, or remove the subnet ids to have the program create one";

    it("three private and three public subnets, all different: accepted", () => expect(accepts({ aws: vpc }).aws).toMatchObject(vpc));

    it.each([
      [{ privateSubnetIds: vpc.privateSubnetIds }],
      [{ publicSubnetIds: vpc.publicSubnetIds }],
      [{ privateSubnetIds: vpc.privateSubnetIds, publicSubnetIds: vpc.publicSubnetIds }],
      [{ privateSubnetIds: [] }],
    ])("subnets without aws.vpcId %j: refused naming aws.vpcId", (aws) => {
      expect(refusal({ aws })).toEqual({ key: "aws.vpcId", message: noVpc });
    });

    it.each([
      ["privateSubnetIds", ["subnet-1a", "subnet-1b"]],
      ["privateSubnetIds", ["subnet-1a", "subnet-1b", "subnet-1c", "subnet-1d"]],
      ["publicSubnetIds", ["subnet-2a"]],
      ["publicSubnetIds", ["subnet-2a", "subnet-2b", "subnet-2c", "subnet-2d"]],
    ])("aws.%s with %j: not one per zone", (key, ids) => {
      expect(refusal({ aws: { ...vpc, [key]: ids } })).toEqual({
        key: `aws.${key}`,
        message: `matrix-scale:aws.${key} = ${JSON.stringify(ids)}: expected exactly three subnet ids, one in each of the three availability zones`,
      });
    });

    it("a subnet listed twice in one list, or in both lists", () => {
      expect(refusal({ aws: { ...vpc, publicSubnetIds: ["subnet-2a", "subnet-2b", "subnet-2a"] } })).toEqual({
        key: "aws.publicSubnetIds",
        message: 'matrix-scale:aws.publicSubnetIds = ["subnet-2a","subnet-2b","subnet-2a"]: subnet-2a is listed twice; give one subnet per zone',
      });
      expect(refusal({ aws: { ...vpc, privateSubnetIds: ["subnet-1a", "subnet-1a", "subnet-1c"] } }).key).toBe("aws.privateSubnetIds");
      expect(refusal({ aws: { ...vpc, publicSubnetIds: ["subnet-2a", "subnet-1c", "subnet-2c"] } })).toEqual({
        key: "aws.publicSubnetIds",
        message: 'matrix-scale:aws.publicSubnetIds = ["subnet-2a","subnet-1c","subnet-2c"]: subnet-1c is also in aws.privateSubnetIds; a subnet is either private or public',
      });
    });
  });

  describe("aws.vpcCidr and the Service CIDR EKS picks", () => {
    it("every /16 of 10.0.0.0/8 is accepted, and none overlaps the 172.20.0.0/16 EKS then gives Services", () => {
      for (let b = 0; b <= 255; b++) {
        const cidr = `10.${b}.0.0/16`;
        expect(accepts({ aws: { vpcCidr: cidr } }).aws.vpcCidr).toBe(cidr);
        expect(eksDefaultServiceCidr([cidr])).toBe("172.20.0.0/16");
        expect(ipv4CidrsOverlap(cidr, eksDefaultServiceCidr([cidr])), cidr).toBe(false);
      }
      // 10.100.0.0/16, the other block EKS uses, is fine as a VPC: EKS then picks 172.20.0.0/16.
      expect(accepts({ aws: { vpcCidr: "10.100.0.0/16" } }).aws.vpcCidr).toBe("10.100.0.0/16");
    });

    it.each(["10.256.0.0/16", "10.300.0.0/16", "10.999.0.0/16"])("%s: the second octet is above 255", (cidr) => {
      expect(refusal({ aws: { vpcCidr: cidr } })).toEqual({ key: "aws.vpcCidr", message: `matrix-scale:aws.vpcCidr = "${cidr}": expected a /16 in 10.0.0.0/8 such as 10.42.0.0/16` });
    });

    it("eksDefaultServiceCidr: 172.20.0.0/16 when any VPC block is in 10.0.0.0/8, else 10.100.0.0/16", () => {
      expect(eksDefaultServiceCidr(["192.168.0.0/16"])).toBe("10.100.0.0/16");
      expect(eksDefaultServiceCidr(["172.20.0.0/16"])).toBe("10.100.0.0/16");
      expect(eksDefaultServiceCidr(["192.168.0.0/16", "10.1.0.0/16"])).toBe("172.20.0.0/16");
      expect(eksDefaultServiceCidr([])).toBe("10.100.0.0/16");
      // "10." is a prefix of the address, not of the text: 110.x is not in 10.0.0.0/8.
      expect(eksDefaultServiceCidr(["110.0.0.0/16"])).toBe("10.100.0.0/16");
    });

    it("ipv4CidrsOverlap: blocks sharing an address, down to the first and last ones", () => {
      expect(ipv4CidrsOverlap("172.20.0.0/16", "172.20.255.0/24")).toBe(true);
      expect(ipv4CidrsOverlap("172.16.0.0/12", "172.20.0.0/16")).toBe(true);
      expect(ipv4CidrsOverlap("172.20.0.0/16", "172.16.0.0/12")).toBe(true);
      expect(ipv4CidrsOverlap("172.20.0.0/16", "172.21.0.0/16")).toBe(false);
      expect(ipv4CidrsOverlap("172.21.0.0/16", "172.20.0.0/16")).toBe(false);
      expect(ipv4CidrsOverlap("10.0.0.0/8", "10.255.255.255/32")).toBe(true);
      expect(ipv4CidrsOverlap("10.0.0.0/8", "11.0.0.0/32")).toBe(false);
      expect(ipv4CidrsOverlap("9.255.255.255/32", "10.0.0.0/8")).toBe(false);
      expect(ipv4CidrsOverlap("10.0.0.0/8", "10.0.0.0/8")).toBe(true);
    });
  });

  describe("kubernetes.namespace: <namespace>-calls is a namespace name too (63 characters at most)", () => {
    it("the call hosts' namespace is the one the program creates (components/naming.ts)", () => {
      expect(callHostsNamespace("matrix")).toBe(`matrix${CALL_HOSTS_NAMESPACE_SUFFIX}`);
      expect(NAMESPACE_MAX).toBe(57);
    });

    it("57 characters: accepted, and every name derived from it is valid", () => {
      const ns = "n".repeat(57);
      expect(accepts({ kubernetes: { namespace: ns } }).kubernetes.namespace).toBe(ns);
      expect(callHostsNamespace(ns)).toHaveLength(63);
      expect(callHostsNamespace(ns)).toMatch(DNS1123_LABEL);
      // Services keep fixed names (DNS-1035 labels); their DNS names in the longest namespace are DNS names.
      for (const service of Object.values(SERVICE_NAMES)) {
        expect(service).toMatch(DNS1035_LABEL);
        expect(`${service}.${ns}.svc.cluster.local`).toMatch(DNS_NAME);
      }
    });

    it("58 characters: refused, naming the call hosts' namespace and the limit", () => {
      const ns = "n".repeat(58);
      expect(refusal({ kubernetes: { namespace: ns } })).toEqual({
        key: "kubernetes.namespace",
        message: `matrix-scale:kubernetes.namespace = "${ns}": the call hosts' namespace ${ns}-calls would be 64 characters, over the 63 Kubernetes allows a namespace name; use a namespace of at most 57 characters`,
      });
    });
  });

  describe("serverName: livekit.<serverName> is a DNS name too (253 characters at most)", () => {
    const name = (length: number) => `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(length - 192)}`;

    it("245 characters: accepted, and the names derived from it are DNS names (components/naming.ts)", () => {
      expect(SERVER_NAME_MAX).toBe(245);
      expect(LONGEST_NAME_PREFIX).toBe("livekit.");
      expect(accepts({ serverName: name(245) }).serverName).toBe(name(245));
      for (const derived of Object.values(publicNames(name(245)))) expect(derived).toMatch(DNS_NAME);
      expect(publicNames(name(245)).livekit).toHaveLength(253);
    });

    it("246 characters: refused with the limit", () => {
      expect(refusal({ serverName: name(246) })).toEqual({
        key: "serverName",
        message: `matrix-scale:serverName = ${JSON.stringify(name(246)).slice(0, 57)}...: livekit.<serverName> would be 254 characters, over the 253 a DNS name may have; use a server name of at most 245 characters`,
      });
    });
  });

  describe("edge.adminCidrs: never the whole internet, each network once", () => {
    it.each([["0.0.0.0/0"], ["::/0"], ["2001:db8::/0"]])("%s: refused", (everyone) => {
      expect(refusal({ edge: { adminCidrs: ["203.0.113.0/24", everyone] } })).toEqual({
        key: "edge.adminCidrs",
        message: `matrix-scale:edge.adminCidrs = ${JSON.stringify(["203.0.113.0/24", everyone])}: ${everyone} opens the admin API to every address on the internet; list only the networks administrators connect from, such as 203.0.113.0/24`,
      });
    });

    it("the largest blocks short of everything are accepted (the operator's choice)", () => {
      expect(accepts({ edge: { adminCidrs: ["0.0.0.0/1", "128.0.0.0/1", "::/1"] } }).edge.adminCidrs).toEqual(["0.0.0.0/1", "128.0.0.0/1", "::/1"]);
    });

    it.each([
      [["203.0.113.0/24", "203.0.113.0/24"], "203.0.113.0/24"],
      [["2001:db8::/32", "192.0.2.0/24", "2001:0DB8:0:0::/32"], "2001:0DB8:0:0::/32"],
    ])("%j: a network listed twice (IPv6 however spelled)", (cidrs, twice) => {
      expect(refusal({ edge: { adminCidrs: cidrs } })).toEqual({
        key: "edge.adminCidrs",
        message: `matrix-scale:edge.adminCidrs = ${JSON.stringify(cidrs)}: ${twice} is listed twice; list each network once`,
      });
    });

    it("the same address with other prefixes is another network", () => {
      const cidrs = ["10.0.0.0/8", "10.0.0.0/16", "2001:db8::/32", "2001:db8::/48"];
      expect(accepts({ edge: { adminCidrs: cidrs } }).edge.adminCidrs).toEqual(cidrs);
    });
  });

  describe("kubernetes.minioImage: pinned by a tag other than latest, or by a sha256 digest", () => {
    const digest = "0123456789abcdef".repeat(4);
    const pin =
      "pin a release tag or a digest, such as quay.io/minio/minio:RELEASE.2025-10-15T17-29-55Z or quay.io/minio/minio@sha256:<64 hex digits>";

    it.each([
      ["quay.io/minio/minio:RELEASE.2025-10-15T17-29-55Z"],
      ["minio:v1"],
      ["registry.local:5000/minio:RELEASE.2025-10-15T17-29-55Z"],
      [`quay.io/minio/minio@sha256:${digest}`],
      [`registry.local:5000/minio@sha256:${digest}`],
      [`quay.io/minio/minio:latest@sha256:${digest}`], // the digest pins it, whatever the tag
      [`minio:${"t".repeat(128)}`], // the longest tag
      ["minio:_v1.2-3"],
      ["minio:Latest"], // another tag than latest
    ])("%s: accepted", (image) => {
      expect(accepts({ kubernetes: { minioImage: image } }).kubernetes.minioImage).toBe(image);
    });

    it.each([
      ["quay.io/minio/minio", `no tag, so the image is whatever :latest is when a node pulls it; ${pin}`],
      ["registry.local:5000/minio", `no tag, so the image is whatever :latest is when a node pulls it; ${pin}`],
      ["minio", `no tag, so the image is whatever :latest is when a node pulls it; ${pin}`],
      ["quay.io/minio/minio:latest", `:latest moves to each new release; ${pin}`],
      ["registry.local:5000/minio:latest", `:latest moves to each new release; ${pin}`],
      ["minio:", `"" is not an image tag; ${pin}`],
      ["minio:-v1", `"-v1" is not an image tag; ${pin}`],
      ["minio:.v1", `".v1" is not an image tag; ${pin}`],
      [`minio:${"t".repeat(129)}`, `"${"t".repeat(129)}" is not an image tag; ${pin}`],
      ["minio:v1:v2", `"v1:v2" is not an image tag; ${pin}`],
      ["minio@sha256:abc", `expected a digest @sha256: followed by 64 lower-case hexadecimal digits; ${pin}`],
      [`minio@sha256:${digest.toUpperCase()}`, `expected a digest @sha256: followed by 64 lower-case hexadecimal digits; ${pin}`],
      [`minio@sha256:${digest}0`, `expected a digest @sha256: followed by 64 lower-case hexadecimal digits; ${pin}`],
      [`minio@sha512:${digest}${digest}`, `expected a digest @sha256: followed by 64 lower-case hexadecimal digits; ${pin}`],
      [`minio@sha256:${digest}:v1`, `expected a digest @sha256: followed by 64 lower-case hexadecimal digits; ${pin}`],
    ])("%s: refused", (image, why) => {
      const r = refusal({ kubernetes: { minioImage: image } });
      expect(r.key).toBe("kubernetes.minioImage");
      expect(r.message.endsWith(`: ${why}`), r.message).toBe(true);
      expect(r.message.startsWith("matrix-scale:kubernetes.minioImage = ")).toBe(true);
    });

    // CVE-2025-62506 is fixed first in RELEASE.2025-10-15T17-29-55Z (the CVE record).
    it.each([["quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z"], ["quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z"], [`minio:RELEASE.2025-10-15T17-29-54Z@sha256:${digest}`]])(
      "%s: refused, it predates the fix for CVE-2025-62506",
      (image) => {
        const r = refusal({ kubernetes: { minioImage: image } });
        expect(r.key).toBe("kubernetes.minioImage");
        expect(r.message).toMatch(/predates the fix for CVE-2025-62506 .*first in RELEASE\.2025-10-15T17-29-55Z; leave the setting out/);
      },
    );
    it.each([["quay.io/minio/minio:RELEASE.2025-10-15T17-29-55Z"], ["quay.io/minio/minio:RELEASE.2026-01-01T00-00-00Z"]])("%s: accepted, the fix is in", (image) => {
      expect(accepts({ kubernetes: { minioImage: image } }).kubernetes.minioImage).toBe(image);
    });
  });

  describe("kubernetes.mcImage: pinned like the server's image", () => {
    it("a release tag is accepted; no tag or :latest is refused, naming the key", () => {
      expect(accepts({ kubernetes: { mcImage: "quay.io/minio/mc:RELEASE.2025-04-16T18-13-26Z" } }).kubernetes.mcImage).toBe("quay.io/minio/mc:RELEASE.2025-04-16T18-13-26Z");
      for (const image of ["quay.io/minio/mc", "quay.io/minio/mc:latest"]) {
        const r = refusal({ kubernetes: { mcImage: image } });
        expect(r.key).toBe("kubernetes.mcImage");
        expect(r.message).toMatch(/such as quay\.io\/minio\/mc:RELEASE\.2025-04-16T18-13-26Z/);
      }
    });
  });
});

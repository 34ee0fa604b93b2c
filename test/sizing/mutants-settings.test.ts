/**
 * Stack-config values the mutation check (docs/mutation.md) found unpinned, each against its
 * source: docs/config.md (tier as a name or a number; defaults), RFC 1123 host names (labels of
 * 1 to 63 characters), AWS subnet ids (`subnet-` and hexadecimal digits, nothing before or after).
 */
import { describe, expect, it } from "vitest";
import { parseSettings, SettingsError } from "../../sizing";
import type { RawSettings } from "../../sizing/settings";
import { ok } from "../fixtures/bad-settings";
import { thrownBy } from "../helpers";

const refused = (raw: RawSettings): SettingsError => thrownBy(SettingsError, () => parseSettings({ ...ok, ...raw }));

describe("settings at the edges the mutation check found", () => {
  it("tier is a name or a number, never a list holding one", () => {
    expect(refused({ tier: ["1k"] }).key).toBe("tier");
    expect(refused({ tier: [100] }).key).toBe("tier");
  });

  it("a tier smaller than ccu lists every tier that serves ccu, the one of exactly ccu users included", () => {
    // 1,000 users: the 1k tier serves them (README: tiers of 100, 1K, 5K, 10K, 20K users).
    expect(refused({ ccu: 1000, tier: "100" }).message).toBe('matrix-scale:tier = "100" serves 100 users but ccu is 1000; remove tier or pick one of 1k, 5k, 10k, 20k');
  });

  it.each(["matrix.a.example.com", "a.b", "m.x.y.z"])("serverName %j: one-character labels are valid host-name labels", (name) => {
    expect(parseSettings({ ...ok, serverName: name }).serverName).toBe(name);
  });

  it("aws given without region still defaults to us-east-1 (docs/config.md)", () => {
    expect(parseSettings({ ...ok, aws: { kubernetesVersion: "1.34" } }).aws.region).toBe("us-east-1");
    expect(parseSettings({ ...ok, aws: {} }).aws).toEqual({ region: "us-east-1", vpcCidr: "10.42.0.0/16", kubernetesVersion: "1.36" });
  });

  it.each([
    ["privateSubnetIds", "xsubnet-0a"],
    ["privateSubnetIds", "subnet-0ag"],
    ["privateSubnetIds", "subnet-0a "],
    ["publicSubnetIds", "xsubnet-0a"],
    ["publicSubnetIds", "subnet-0ag"],
    ["publicSubnetIds", "subnet-0a/1"],
  ])("aws.%s %j is not a subnet id", (key, id) => {
    expect(refused({ aws: { vpcId: "vpc-0abc", privateSubnetIds: ["subnet-0a"], publicSubnetIds: ["subnet-1b"], [key]: [id] } }).key).toBe(`aws.${key}.0`);
  });
});

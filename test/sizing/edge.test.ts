/**
 * The edge plan against numbers worked out by hand from their sources: DNS message sizes from
 * RFC 1035 4.1 and RFC 6891 6.1.2, the synchrotron ceiling from the seed's 9.1 table (18 at 20K)
 * and the HPA rule in docs/sizing.md (maximum ⌈1.5 × base⌉), Kubernetes' default maxSurge of 25%,
 * and the drain times from HAProxy's check settings and CoreDNS's default TTL (docs/synapse.md).
 */
import { describe, expect, it } from "vitest";
import { parseSettings, requireDeployable } from "../../sizing";
import { dnsResponseBytes } from "../../sizing/edge";
import { planFor } from "../helpers";

describe("DNS answers HAProxy must accept", () => {
  it("a response's size, byte by byte: header, question, 16 bytes per A record, the EDNS0 OPT record", () => {
    // "a.b" in wire form is 1 a 1 b 0 = 5 bytes; question adds type and class (4).
    expect(dnsResponseBytes("a.b", 0)).toBe(12 + 5 + 4 + 11);
    expect(dnsResponseBytes("a.b", 3)).toBe(12 + 5 + 4 + 3 * 16 + 11);
  });

  // [tier users, Service, addresses = HPA maximum + the one pod a rollout surges, accepted_payload_size]
  it.each([
    [100, "synapse-generic-worker-routable.matrix.svc.cluster.local", 3 + 1, 512],
    [1000, "synapse-synchrotron-routable.matrix.svc.cluster.local", 6 + 1, 512],
    [5000, "synapse-synchrotron-routable.matrix.svc.cluster.local", 9 + 1, 512],
    [10_000, "synapse-synchrotron-routable.matrix.svc.cluster.local", 12 + 1, 512],
    // 18 synchrotrons (seed 9.1) × 1.5 = 27, plus 1 surging: 12 + 55 + 4 + 28 × 16 + 11 = 530 bytes, past DNS's 512.
    [20_000, "synapse-synchrotron-routable.matrix.svc.cluster.local", 27 + 1, 530],
  ])("%i users: %s answers with %i addresses; HAProxy accepts %i bytes", (ccu, name, addresses, payload) => {
    const dns = planFor(ccu).routing.edge.dns;
    expect(dns.largestAnswer).toEqual({ name, addresses });
    expect(dns.payloadBytes).toBe(payload);
  });

  it("a longer namespace makes every answer longer: 57 characters at 20K need 581 bytes", () => {
    const namespace = "n".repeat(57);
    const dns = planFor(20_000, { kubernetes: { namespace } }).routing.edge.dns;
    expect(dns.payloadBytes).toBe(530 + 57 - "matrix".length);
    // A slot per pod that can be ready at once: the HPA maximum plus the surge.
    expect(planFor(20_000).routing.edge.dns.slots).toEqual({ synchrotron: 27 + 1, generic: 12 + 1 });
  });
});

describe("drain and TLS", () => {
  it("Synapse pods keep serving past HAProxy's detection: 3 failed checks 5 s apart, the 5 s DNS TTL, 1 s to re-resolve, 5 s hold", () => {
    const { drain, healthCheck, loadBalancer, hstsMaxAgeSeconds } = planFor(5000).routing.edge;
    // HAProxy behind the NLB: a 60 s deregistration delay, 5 s more, then a 180 s long-poll may finish.
    expect(loadBalancer).toEqual({ deregistrationSeconds: 60, haproxyPreStopSeconds: 65, haproxyTerminationGraceSeconds: 245 });
    expect(hstsMaxAgeSeconds).toBe(365 * 24 * 3600);
    expect(healthCheck).toEqual({ intervalSeconds: 5, fall: 3, rise: 2, timeoutSeconds: 5 });
    expect(drain).toEqual({ detectionSeconds: 15 + 5 + 1 + 5, preStopSeconds: 31, terminationGraceSeconds: 61 });
  });

  it("TLS at HAProxy from the named Secret, or at the NLB with the ACM certificate AWS requires; the PROXY protocol on AWS", () => {
    expect(planFor(100).routing.edge).toMatchObject({ tls: { terminatesAt: "haproxy", secretName: "matrix-tls" }, proxyProtocol: false, adminCidrs: [] });
    expect(planFor(100, { edge: { tlsSecret: "edge-cert" } }).routing.edge.tls).toEqual({ terminatesAt: "haproxy", secretName: "edge-cert" });
    // On an existing cluster the client's address survives the operator's load balancer only if it sends the PROXY protocol.
    expect(planFor(100, { edge: { proxyProtocol: true } }).routing.edge).toMatchObject({ tls: { terminatesAt: "haproxy" }, proxyProtocol: true });
    const arn = "arn:aws:acm:eu-west-1:111122223333:certificate/abc";
    expect(planFor(100, { target: "aws", aws: { certificateArn: arn } }).routing.edge).toMatchObject({ tls: { terminatesAt: "load-balancer", certificateArn: arn }, proxyProtocol: true });
    // The offline plan sizes AWS without a certificate (TLS passing through to HAProxy); a deployment requires one.
    expect(planFor(100, { target: "aws" }).routing.edge.tls).toEqual({ terminatesAt: "haproxy", secretName: "matrix-tls" });
    const settings = parseSettings({ ccu: 100, serverName: "matrix.test.example", target: "aws" });
    expect(() => requireDeployable(settings)).toThrow(
      "matrix-scale:aws.certificateArn is missing: target aws ends TLS at the load balancers; set the ARN of an ACM certificate for matrix.test.example and livekit.matrix.test.example",
    );
    // The EKS API opens only to the CIDR blocks the operator names ([] keeps it inside the VPC).
    expect(() => requireDeployable(parseSettings({ ccu: 100, serverName: "matrix.test.example", target: "aws", aws: { certificateArn: arn } }))).toThrow(
      "matrix-scale:aws.apiAccessCidrs is missing: target aws opens the EKS API only to these CIDR blocks; set where `pulumi up` and the operators run (such as [\"203.0.113.0/24\"]), or [] to keep the API inside the VPC",
    );
    expect(requireDeployable(parseSettings({ ccu: 100, serverName: "matrix.test.example", target: "aws", aws: { certificateArn: arn, apiAccessCidrs: [] } }))).toBeTruthy();
    expect(requireDeployable(parseSettings({ ccu: 100, serverName: "matrix.test.example" }))).toBeTruthy();
    // The certificate is for the NLB: on an existing cluster HAProxy still serves the Secret.
    expect(planFor(100, { aws: { certificateArn: arn } }).routing.edge.tls.terminatesAt).toBe("haproxy");
  });
});

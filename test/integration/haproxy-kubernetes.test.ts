/**
 * The HAProxy configuration the program deploys on Kubernetes, checked by the real haproxy -c at
 * every tier, with and without federation, on both targets; and the DNS answers it must accept,
 * measured by an independent DNS encoder (Twisted's, from the Synapse environment).
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { renderFleetConfig } from "../../components/synapse";
import { renderHaproxyConfig } from "../../components/synapse/routing";
import { HAPROXY_CERTIFICATE } from "../../components/synapse/haproxy";
import { TIER_USERS, TIERS } from "../fixtures/seed";
import { planFor, TEST_API_ACCESS_CIDRS } from "../helpers";
import { freePortBlock, httpOk, PYTHON, Services, waitFor } from "./harness";
import { makeTestCa } from "./synapse-fleet";

const services = new Services("haproxy-check");
afterAll(() => services.stopAll());
const certificate = makeTestCa(join(services.dir, "ca")).issue("matrix.test.example", []).certificate;

const TARGETS = {
  kubernetes: {},
  "aws, TLS at the NLB": { target: "aws", aws: { certificateArn: "arn:aws:acm:us-east-1:111122223333:certificate/test", apiAccessCidrs: TEST_API_ACCESS_CIDRS } },
};

describe.each(TIERS.flatMap((t) => Object.keys(TARGETS).flatMap((target) => [[t, target, true], [t, target, false]] as const)))("tier %s, %s, federation %s", (tier, target, federation) => {
  it("haproxy -c accepts the rendered configuration", () => {
    const p = planFor(TIER_USERS[tier]!, { federation, ...TARGETS[target as keyof typeof TARGETS] });
    const { haproxy } = renderFleetConfig(p.synapse, p.routing, p.serverName, "matrix");
    // The certificate the pod mounts from its Secret, here one the test's CA issued.
    const file = join(services.dir, `haproxy-${tier}-${target.replace(/\W+/g, "-")}-${federation}.cfg`);
    writeFileSync(file, haproxy.replaceAll(HAPROXY_CERTIFICATE, certificate));
    const check = spawnSync("haproxy", ["-c", "-f", file], { encoding: "utf8" });
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
  });
});

/** Bytes of a DNS response with `addresses` A records for `name` and an EDNS0 OPT record, as Twisted encodes it. */
function encodedResponseBytes(name: string, addresses: number): number {
  const script = [
    "import sys",
    "from twisted.names import dns",
    "name, n = sys.argv[1].encode(), int(sys.argv[2])",
    "m = dns.Message(id=1, answer=True, maxSize=65535)",
    "m.queries = [dns.Query(name, dns.A, dns.IN)]",
    "m.answers = [dns.RRHeader(name=name, type=dns.A, cls=dns.IN, ttl=5, payload=dns.Record_A(f'10.1.{i // 250}.{i % 250 + 1}')) for i in range(n)]",
    "m.additional = [dns._OPTHeader(udpPayloadSize=4096, version=0)]",
    "wire = m.toStr()",
    "assert not m.trunc",
    "print(len(wire))",
  ].join("\n");
  const r = spawnSync(PYTHON, ["-c", script, name, String(addresses)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return Number(r.stdout.trim());
}

describe.each(TIERS)("tier %s: HAProxy's DNS payload", (tier) => {
  it("the largest Service answer (an autoscaled type at its HPA maximum plus the pod a rollout surges) fits accepted_payload_size", () => {
    const p = planFor(TIER_USERS[tier]!);
    const { dns } = p.routing.edge;
    const autoscaled = Object.values(p.synapse.workers).filter((w) => w.autoscaled);
    // Every discovered Service, not only the one the plan picked.
    for (const w of autoscaled) {
      // docs/synapse.md: a rollout replaces one pod at a time (maxSurge 1).
      const addresses = w.maxReplicas + 1;
      // The Service of ready pods HAProxy resolves (docs/synapse.md), found in the rendered config.
      const name = `${w.type === "synchrotron" ? "synapse-synchrotron" : "synapse-generic-worker"}-routable.matrix.svc.cluster.local`;
      expect(renderFleetConfig(p.synapse, p.routing, p.serverName, "matrix").haproxy).toContain(` ${addresses} ${name}:8008 `);
      expect(encodedResponseBytes(name, addresses), `${name} × ${addresses}`).toBeLessThanOrEqual(dns.payloadBytes);
    }
    const { haproxy } = renderFleetConfig(p.synapse, p.routing, p.serverName, "matrix");
    expect(haproxy).toContain(`  accepted_payload_size ${dns.payloadBytes}\n`);
  });
});

/**
 * A PROXY protocol v2 header as an NLB sends it (haproxy.org proxy-protocol.txt, section 2.2):
 * signature, v2 PROXY command, TCP over IPv4, the client's and the listener's addresses and ports,
 * and a PP2_TYPE_AWS TLV (0xEA, subtype 0x01: the VPC endpoint id) such as AWS adds.
 */
function proxyV2Header(client: string, clientPort: number, listener: string, listenerPort: number): Buffer {
  const ipv4 = (address: string) => Buffer.from(address.split(".").map(Number));
  const port = (n: number) => Buffer.from([n >> 8, n & 0xff]);
  const endpoint = Buffer.from("vpce-0123456789abcdef0");
  const tlv = Buffer.concat([Buffer.from([0xea, 0, endpoint.length + 1, 0x01]), endpoint]);
  const body = Buffer.concat([ipv4(client), ipv4(listener), port(clientPort), port(listenerPort), tlv]);
  const signature = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
  return Buffer.concat([signature, Buffer.from([0x21, 0x11]), port(body.length), body]);
}

/** One raw HTTP/1.1 exchange on a fresh connection, after a PROXY protocol v2 header naming `client` as the source. */
function viaLoadBalancer(port: number, client: string, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.end(Buffer.concat([proxyV2Header(client, 40000, "10.42.0.10", 443), Buffer.from(request)])));
    let response = "";
    socket.setTimeout(10_000, () => socket.destroy(new Error("no answer")));
    socket.on("data", (d: Buffer) => (response += d.toString()));
    socket.on("end", () => resolve(response));
    socket.on("error", reject);
  });
}

describe("AWS: behind the NLB (TLS at the NLB, PROXY protocol v2 on both ports), the real HAProxy", () => {
  let backend: Server;
  const seen: Record<string, string | string[] | undefined>[] = [];
  let ports: { https: number; http: number; stats: number; backend: number };

  afterAll(() => backend?.close());

  it("takes the client's address from the PROXY header, replaces a forged X-Forwarded-For, says https, and redirects port 80", async () => {
    const base = await freePortBlock(4);
    ports = { https: base, http: base + 1, stats: base + 2, backend: base + 3 };
    // Every Synapse backend is one echo server here: what it receives is what Synapse would.
    backend = createServer((req, res) => {
      if (req.url !== "/health") seen.push(req.headers);
      res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
    }).listen(ports.backend, "127.0.0.1");
    const p = planFor(100, { target: "aws", aws: { certificateArn: "arn:aws:acm:us-east-1:111122223333:certificate/test" } });
    const config = renderHaproxyConfig(p, () => [{ kind: "server", name: "echo", host: "127.0.0.1", port: ports.backend }], {
      bind: "127.0.0.1",
      ports: { https: ports.https, http: ports.http, stats: ports.stats },
      dnsResolvers: false,
    });
    const file = join(services.dir, "haproxy-aws.cfg");
    writeFileSync(file, config);
    services.start("haproxy-aws", "haproxy", ["-db", "-f", file]);
    await waitFor("HAProxy to answer", () => httpOk(`http://127.0.0.1:${ports.stats}/healthz`), 20_000);
    await waitFor("the echo backend to be up", async () => ((await (await fetch(`http://127.0.0.1:${ports.stats}/metrics`)).text()).match(/^haproxy_backend_active_servers\{proxy="client"\} 1$/m) ? true : undefined), 30_000, 500);

    const answer = await viaLoadBalancer(ports.https, "198.51.100.7", "GET /_matrix/client/v3/login HTTP/1.1\r\nHost: matrix.test.example\r\nX-Forwarded-For: 203.0.113.9\r\nConnection: close\r\n\r\n");
    expect(answer.split("\r\n")[0]).toBe("HTTP/1.1 200 OK");
    expect(seen.at(-1)!["x-forwarded-for"]).toBe("198.51.100.7");
    expect(seen.at(-1)!["x-forwarded-proto"]).toBe("https");
    // The admin API is refused to that client (no admin networks configured).
    const admin = await viaLoadBalancer(ports.https, "198.51.100.7", "GET /_synapse/admin/v1/server_version HTTP/1.1\r\nHost: matrix.test.example\r\nConnection: close\r\n\r\n");
    expect(admin.split("\r\n")[0]).toBe("HTTP/1.1 403 Forbidden");
    const redirect = await viaLoadBalancer(ports.http, "198.51.100.7", "GET /_matrix/client/versions HTTP/1.1\r\nHost: matrix.test.example\r\nConnection: close\r\n\r\n");
    expect(redirect.split("\r\n")[0]).toBe("HTTP/1.1 301 Moved Permanently");
    expect(redirect).toMatch(/\r\nlocation: https:\/\/matrix\.test\.example\/_matrix\/client\/versions\r\n/i);
    // Without the load balancer's header the connection is refused: nothing reaches HAProxy around the NLB.
    const direct = await fetch(`http://127.0.0.1:${ports.https}/_matrix/client/versions`).then((r) => r.status, () => "refused");
    expect(direct).toBe("refused");
  });
});

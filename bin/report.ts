/** The plan CLI's outputs: the JSON contract (DESIGN.md) and the human report. */
import type { Plan } from "../sizing/types";
import type { DeclaredResource } from "./mock-runtime";

export function planJson(plan: Plan, resources: readonly DeclaredResource[]) {
  return {
    ccu: plan.ccu,
    tier: plan.tier,
    tierCcu: plan.tierCcu,
    target: plan.target,
    inventory: plan.inventory.map(({ role, count, vcpu, memoryGiB, storageGB, instanceType, volumeType, monthlyUsd, countReason }) => ({
      role,
      count,
      vcpu,
      memoryGiB,
      storageGB,
      instanceType,
      volumeType,
      monthlyUsd,
      ...(countReason ? { countReason } : {}),
    })),
    totals: plan.totals,
    synapse: {
      workers: Object.fromEntries(
        Object.values(plan.synapse.workers).map((w) => [
          w.type,
          {
            replicas: w.replicas,
            maxReplicas: w.maxReplicas,
            cpMin: w.cpMin,
            cpMax: w.cpMax,
            kind: w.kind,
            vcpu: w.resources.requests.vcpu,
            memoryGiB: w.resources.requests.memoryGiB,
            instances: w.instances,
          },
        ]),
      ),
      processes: plan.synapse.processes,
      processesAtMaxScale: plan.synapse.processesAtMaxScale,
      connections: plan.synapse.connections,
      connectionsAtMaxScale: plan.synapse.connectionsAtMaxScale,
      connectionLimit: plan.synapse.connectionLimit,
      streamWriters: plan.synapse.streamWriters,
      singletons: plan.synapse.singletons,
      config: plan.synapse.config,
      autoscaling: plan.synapse.autoscaling,
    },
    routing: plan.routing,
    postgres: plan.postgres,
    redis: plan.redis,
    minio: plan.minio,
    livekit: plan.livekit,
    coturn: plan.coturn,
    pools: plan.pools,
    resources: resources.map(({ type, name }) => ({ type, name })),
    warnings: plan.warnings,
    /** The headline again at the end, for readers of a long document's tail. */
    summary: { tier: plan.tier, ccu: plan.ccu, servers: plan.totals.servers, monthlyUsd: plan.totals.monthlyUsd, processes: plan.synapse.processes, warnings: plan.warnings.length },
  };
}

export type PlanJson = ReturnType<typeof planJson>;

function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...cells.slice(1).map(line)].join("\n");
}

const usd = (n: number) => `$${Math.round(n).toLocaleString("en-US")}`;
const num = (n: number) => n.toLocaleString("en-US", { maximumFractionDigits: 2 });
const pct = (n: number) => `${Math.round(n * 100)}%`;

export function countByType(resources: readonly DeclaredResource[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const r of resources) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

export function humanReport(plan: Plan, resources: readonly DeclaredResource[]): string {
  const out: string[] = [];
  out.push(`matrix-scale plan: ${num(plan.ccu)} concurrent users → tier ${plan.tier} (${pct(plan.ccu / plan.tierCcu)} of ${num(plan.tierCcu)}), target ${plan.target}`);
  out.push(plan.warnings.length ? plan.warnings.map((w) => `  ! ${w}`).join("\n") : "  no warnings");

  out.push("\nServers");
  out.push(
    table(
      ["role", "count", "vCPU", "GiB", "disk GB", "instance", "volume", "$/month", "note"],
      [
        ...plan.inventory.map((r) => [r.role, r.count, r.vcpu, r.memoryGiB, num(r.storageGB), r.instanceType, r.volumeType, usd(r.monthlyUsd), r.countReason ?? ""]),
        ["total", plan.totals.servers, num(plan.totals.vcpu), num(plan.totals.memoryGiB), num(plan.totals.storageGB), "", "", usd(plan.totals.monthlyUsd), plan.target === "aws" ? "incl. EKS control plane" : "AWS-equivalent estimate"],
      ],
    ),
  );

  out.push("\nSynapse fleet");
  const workers = Object.values(plan.synapse.workers);
  out.push(
    table(
      ["type", "kind", "replicas", "max", "vCPU", "GiB", "cp_min", "cp_max", "conns@max"],
      workers.map((w) => [w.type, w.autoscaled ? "Deployment+HPA" : w.kind, w.replicas, w.maxReplicas, w.resources.requests.vcpu, w.resources.requests.memoryGiB, w.cpMin, w.cpMax, w.maxReplicas * w.cpMax]),
    ),
  );
  const s = plan.synapse;
  out.push(
    `processes ${s.processes} (${s.processesAtMaxScale} at max autoscale); database connections ${s.connections} (${s.connectionsAtMaxScale} at max) ` +
      `< 85% of max_connections ${plan.postgres.maxConnections} = ${num(s.connectionLimit)} [${plan.postgres.maxConnectionsSource}]`,
  );
  out.push(`stream writers: ${Object.entries(s.streamWriters).map(([k, v]) => `${k}→${v!.length > 1 ? `${v!.length} writers` : v![0]}`).join(", ")}`);
  out.push(
    `config: caches ×${s.config.cacheFactor}, event cache ${num(s.config.eventCacheSize)}, uploads ≤ ${s.config.maxUploadMB} MB, ` +
      `rc_message ${s.config.rcMessage.perSecond}/s burst ${s.config.rcMessage.burstCount}, federation concurrency ${s.config.federationMaxConcurrent}` +
      (s.federation ? "" : " (federation off)"),
  );
  out.push(`routing: HAProxy × ${plan.routing.haproxy.replicas}`);

  const pg = plan.postgres;
  const mio = plan.minio;
  out.push("\nData and calls");
  out.push(
    `PostgreSQL: ${pg.instances} instances (${pg.synchronousStandbys} synchronous standby), ${pg.resources.requests.vcpu} vCPU / ${pg.resources.requests.memoryGiB} GiB each, ` +
      `${num(pg.storageGB)} GB volume (${pg.monthsCovered} months at ${num(pg.growthGBPerYear)} GB/year); ` +
      Object.entries(pg.parameters)
        .map(([k, v]) => `${k}=${v}`)
        .join(" "),
  );
  for (const [name, r] of Object.entries(plan.redis)) {
    out.push(`Redis (${name}): ${r.instances} × ${r.resources.requests.vcpu} vCPU / ${r.resources.requests.memoryGiB} GiB, ${r.sentinels} Sentinels (quorum ${r.quorum}), ${r.persistence.toUpperCase()}, maxmemory ${r.maxmemoryMB} MB`);
  }
  out.push(
    `MinIO: ${mio.pools.length} pool(s) of ${mio.pools[0]!.servers} servers × ${mio.pools[0]!.drivesPerServer} drives × ${num(mio.pools[0]!.driveGB)} GB, ` +
      `EC:${mio.parity} over ${mio.erasureSetDrives}-drive sets; ${num(mio.rawGB)} GB raw, ${num(mio.usableGB)} GB usable; ` +
      `media grows ${num(mio.growthGBPerYear)} GB/year → ${mio.monthsCovered} months covered`,
  );
  out.push(`LiveKit: ${plan.livekit.instances} hosts × ${plan.livekit.resources.requests.vcpu} vCPU / ${plan.livekit.resources.requests.memoryGiB} GiB; coturn: ${plan.coturn.instances} hosts × ${plan.coturn.resources.requests.vcpu} vCPU / ${plan.coturn.resources.requests.memoryGiB} GiB`);

  out.push("\nNode pools (requests vs allocatable; application survives a node loss by rescheduling, the others by quorum)");
  out.push(
    table(
      ["pool", "nodes", "alloc vCPU", "alloc GiB", "pods", "req vCPU", "req GiB", "vCPU use", "mem use", "N-1"],
      plan.pools.map((p) => [p.role, p.nodes, p.allocatable.vcpu, p.allocatable.memoryGiB, p.pods, num(p.requested.vcpu), num(p.requested.memoryGiB), pct(p.utilisationNMinus1.vcpu), pct(p.utilisationNMinus1.memoryGiB), p.pods === 0 ? "-" : p.fitsNMinus1 ? "ok" : "FAILS"]),
    ),
  );

  out.push(`\nResources declared by the program (${resources.length})`);
  out.push(table(["type", "count"], countByType(resources)));
  return out.join("\n");
}

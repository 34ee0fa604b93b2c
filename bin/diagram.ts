/**
 * Topology pictures of a tier (pure): node pools, hosts, processes, data stores and the routes
 * between them, as Mermaid (rendered by GitHub and most Markdown viewers) and as a standalone SVG.
 */
import type { Plan } from "../sizing/types";

interface Box {
  id: string;
  label: string;
  store?: boolean;
}

interface Group {
  id: string;
  title: string;
  boxes: Box[];
}

const range = (min: number, max: number) => (min === max ? `×${min}` : `×${min}–${max}`);
const gb = (n: number) => `${n.toLocaleString("en-US")} GB`;

/** The picture's content, shared by both renderers. */
export function topology(plan: Plan): { groups: Group[]; edges: [string, string, string?][] } {
  const w = plan.synapse.workers;
  const pool = (role: string) => plan.inventory.find((r) => r.role === role)!;
  const title = (role: string, name: string) => `${name} · ${pool(role).count} × ${pool(role).instanceType}`;
  const workers: Box[] = Object.values(w)
    .filter((x) => x.replicas > 0)
    .map((x) => ({ id: x.type, label: `${x.type} ${range(x.replicas, x.maxReplicas)}` }));
  const groups: Group[] = [
    { id: "clients", title: "internet", boxes: [{ id: "users", label: `Matrix clients (${plan.ccu.toLocaleString("en-US")} users)` }] },
    {
      id: "application",
      title: title("application", "application pool"),
      boxes: [
        { id: "haproxy", label: `HAProxy ${range(plan.routing.haproxy.replicas, plan.routing.haproxy.replicas)}` },
        ...workers,
        { id: "redis_synapse", label: `Redis (Synapse) ×${plan.redis.synapse.instances} + ${plan.redis.synapse.sentinels} Sentinels`, store: true },
        { id: "redis_livekit", label: `Redis (LiveKit) ×${plan.redis.livekit.instances} + ${plan.redis.livekit.sentinels} Sentinels`, store: true },
        { id: "jwt", label: `lk-jwt-service ×${plan.livekit.jwtService.replicas}` },
      ],
    },
    { id: "database", title: title("database", "database pool"), boxes: [{ id: "postgres", label: `PostgreSQL ×${plan.postgres.instances} (${plan.postgres.synchronousStandbys} sync standby) · ${gb(plan.postgres.storageGB)}`, store: true }] },
    {
      id: "storage",
      title: title("storage", "storage pool"),
      boxes: [{ id: "minio", label: `MinIO ${plan.minio.pools.length} pool(s) × ${plan.minio.pools[0]!.servers} servers · EC:${plan.minio.parity} · ${gb(plan.minio.usableGB)} usable`, store: true }],
    },
    {
      id: "calls",
      title: title("calls", "calls pool"),
      boxes: [
        { id: "livekit", label: `LiveKit ×${plan.livekit.instances}` },
        { id: "coturn", label: `coturn ×${plan.coturn.instances}` },
      ],
    },
    { id: "monitoring", title: title("monitoring", "monitoring"), boxes: [{ id: "prometheus", label: `Prometheus · Grafana · Loki (${gb(plan.monitoring.prometheusStorageGB)})` }] },
  ];
  const toWorkers = workers.filter((x) => ["main", "synchrotron", "generic", "mediaRepository", "streamWriter"].includes(x.id)).map((x) => ["haproxy", x.id, "HTTP"] as [string, string, string]);
  const edges: [string, string, string?][] = [
    ["users", "haproxy", "HTTPS"],
    ["users", "livekit", "WebRTC"],
    ["users", "coturn", "TURN"],
    ...toWorkers,
    ["haproxy", "jwt", "/livekit/jwt"],
    ...workers.map((x) => [x.id, "postgres"] as [string, string]),
    ...workers.map((x) => [x.id, "redis_synapse"] as [string, string]),
    ["mediaRepository", "minio", "S3"],
    ["postgres", "minio", "WAL + backups"],
    ["livekit", "redis_livekit", "Sentinel"],
    ["jwt", "livekit"],
    ["prometheus", "haproxy", "scrape"],
  ];
  return { groups, edges };
}

export function mermaid(plan: Plan): string {
  const { groups, edges } = topology(plan);
  const lines = ["flowchart LR"];
  for (const g of groups) {
    lines.push(`  subgraph ${g.id}["${g.title}"]`);
    for (const b of g.boxes) lines.push(b.store ? `    ${b.id}[("${b.label}")]` : `    ${b.id}["${b.label}"]`);
    lines.push("  end");
  }
  for (const [a, b, label] of edges) lines.push(label ? `  ${a} -->|${label}| ${b}` : `  ${a} --> ${b}`);
  return `${lines.join("\n")}\n`;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A column layout: clients, application pool, data pools, call pool; arrows between boxes. */
export function svg(plan: Plan): string {
  const { groups, edges } = topology(plan);
  const columns: string[][] = [["clients", "monitoring"], ["application"], ["database", "storage"], ["calls"]];
  const boxW = 330;
  const boxH = 26;
  const gap = 8;
  const colW = boxW + 60;
  const pos = new Map<string, { x: number; y: number }>();
  const parts: string[] = [];
  let height = 0;
  columns.forEach((col, ci) => {
    let y = 20;
    for (const gid of col) {
      const g = groups.find((x) => x.id === gid)!;
      const h = 34 + g.boxes.length * (boxH + gap);
      const x = 20 + ci * (colW + 40);
      parts.push(`<rect x="${x}" y="${y}" width="${colW}" height="${h}" rx="10" fill="#f4f6fb" stroke="#8a94a6"/>`);
      parts.push(`<text x="${x + 12}" y="${y + 20}" font-size="13" font-weight="bold" fill="#1f2937">${esc(g.title)}</text>`);
      g.boxes.forEach((b, bi) => {
        const bx = x + 30;
        const by = y + 30 + bi * (boxH + gap);
        pos.set(b.id, { x: bx, y: by });
        parts.push(`<rect x="${bx}" y="${by}" width="${boxW}" height="${boxH}" rx="${b.store ? 12 : 4}" fill="${b.store ? "#e0f2fe" : "#ffffff"}" stroke="#4b5563"/>`);
        parts.push(`<text x="${bx + 8}" y="${by + 17}" font-size="12" fill="#111827">${esc(b.label)}</text>`);
      });
      y += h + 24;
    }
    height = Math.max(height, y);
  });
  const column = (id: string) => columns.findIndex((col) => col.some((gid) => groups.find((g) => g.id === gid)!.boxes.some((b) => b.id === id)));
  const workerTypes = new Set(Object.keys(plan.synapse.workers));
  // Arrows between columns only, and one per worker-to-store route (from main) to keep it legible.
  const arrows = edges
    .filter(([a, b]) => pos.has(a) && pos.has(b) && column(a) !== column(b))
    .filter(([a]) => !workerTypes.has(a) || a === "main" || a === "mediaRepository")
    .map(([a, b]) => {
      const from = pos.get(a)!;
      const to = pos.get(b)!;
      const forward = to.x >= from.x;
      const x1 = forward ? from.x + boxW : from.x;
      const x2 = forward ? to.x : to.x + boxW;
      return `<line x1="${x1}" y1="${from.y + boxH / 2}" x2="${x2}" y2="${to.y + boxH / 2}" stroke="#6b7280" stroke-width="1" marker-end="url(#arrow)" opacity="0.55"/>`;
    });
  const width = 20 + columns.length * (colW + 40);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#6b7280"/></marker></defs>`,
    `<title>matrix-scale ${plan.tier} tier topology</title>`,
    ...parts,
    ...arrows,
    "</svg>",
    "",
  ].join("\n");
}

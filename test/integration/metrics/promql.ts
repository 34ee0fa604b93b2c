/**
 * The vector selectors of a PromQL expression: metric names with their label matchers. Enough
 * PromQL for the alert rules (no string literals outside matchers, no `@` modifiers).
 */

export interface Matcher {
  label: string;
  op: "=" | "!=" | "=~" | "!~";
  value: string;
}

export interface Selector {
  metric: string;
  matchers: Matcher[];
}

const KEYWORDS = new Set(["and", "or", "unless", "bool", "offset", "inf", "nan"]);

export function selectors(expr: string): Selector[] {
  // Grouping and matching clauses name labels, not metrics; range selectors hold durations.
  const text = expr.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ").replace(/\[[^\]]*\]/g, " ");
  const out: Selector[] = [];
  for (const m of text.matchAll(/(?<![\w.:])([a-zA-Z_:][\w:]*)\s*(\{[^}]*\})?/g)) {
    const [whole, name, braces] = m as unknown as [string, string, string | undefined];
    const next = text.slice(m.index! + whole.length).trimStart()[0];
    if (!braces && next === "(") continue; // a function or an aggregation
    if (KEYWORDS.has(name.toLowerCase())) continue;
    const matchers = [...(braces ?? "").matchAll(/([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)].map(([, label, op, value]) => ({ label: label!, op: op as Matcher["op"], value: value! }));
    out.push({ metric: name, matchers });
  }
  return out;
}

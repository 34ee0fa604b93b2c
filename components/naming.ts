/** Names and labels every component shares, so selectors and object names never drift apart. */
export const PROJECT_LABELS = { "app.kubernetes.io/part-of": "matrix-scale", "app.kubernetes.io/managed-by": "pulumi" } as const;

export function componentLabels(component: string, extra: Record<string, string> = {}): Record<string, string> {
  return { ...PROJECT_LABELS, "app.kubernetes.io/component": component, ...extra };
}

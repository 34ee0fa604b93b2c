/** An invariant a plan breaks: names the rule, the numbers and the fix. Nothing is created. */
export class PlanError extends Error {
  constructor(
    readonly rule: string,
    readonly key: string,
    detail: string,
    readonly fix: string,
  ) {
    super(`${rule}: ${detail}; fix: ${fix} (matrix-scale:${key})`);
    this.name = "PlanError";
  }
}

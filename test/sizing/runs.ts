/**
 * fast-check settings for the property tests. Under the mutation check (Stryker sets
 * STRYKER_MUTATOR_WORKER in its test-runner processes) every surviving mutant re-runs every test
 * that covers it, so the property tests run a tenth of their samples there, from a fixed seed so
 * that a mutation run is reproducible. `npm run test:unit` keeps the full count and a random seed.
 */
export const UNDER_MUTATION = process.env.STRYKER_MUTATOR_WORKER !== undefined;

export function runs(numRuns: number): { numRuns: number; seed?: number } {
  return UNDER_MUTATION ? { numRuns: Math.max(20, Math.ceil(numRuns / 10)), seed: 17 } : { numRuns };
}

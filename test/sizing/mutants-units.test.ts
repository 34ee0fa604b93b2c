/**
 * PostgreSQL memory values as PostgreSQL reads them (documentation, "Parameter Names and Values":
 * a number with a case-sensitive unit, whitespace allowed between them, a fractional value
 * allowed), which the mutation check (docs/mutation.md) found unpinned at their edges.
 */
import { describe, expect, it } from "vitest";
import { pgMemoryGiB } from "../../sizing/units";

describe("PostgreSQL memory values", () => {
  it("whitespace between the number and the unit; fractions with more than one digit", () => {
    expect(pgMemoryGiB("4 GB")).toBe(4);
    expect(pgMemoryGiB("64  MB")).toBe(1 / 16);
    expect(pgMemoryGiB("1.25GB")).toBe(1.25);
    expect(pgMemoryGiB("0.125TB")).toBe(128);
  });

  it.each(["4GBx", "4 GB 2", "4xGB", "4-GB", "4gb"])("%j is not a memory value", (value) => {
    expect(() => pgMemoryGiB(value)).toThrow(`not a PostgreSQL memory value: ${value}`);
  });
});

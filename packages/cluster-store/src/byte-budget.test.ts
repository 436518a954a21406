import { describe, expect, it } from "vitest";
import { ByteBudget } from "./byte-budget.js";

describe("ByteBudget", () => {
  it("grants what fits at once and makes the rest wait, first come first served", async () => {
    const budget = new ByteBudget(100);
    expect(budget.tryTake(60)).toBe(true);
    expect(budget.tryTake(50)).toBe(false);
    const order: string[] = [];
    const first = budget.take(50).then(() => order.push("first"));
    const second = budget.take(10).then(() => order.push("second"));
    expect(budget.tryTake(1)).toBe(false); // someone is waiting: no overtaking
    budget.give(60);
    await Promise.all([first, second]);
    expect(order).toEqual(["first", "second"]);
    expect(budget.used).toBe(60);
  });

  it("lets a request larger than the limit through once the budget is empty", async () => {
    const budget = new ByteBudget(10);
    budget.takeNow(5);
    let granted = false;
    const big = budget.take(50).then(() => (granted = true));
    await Promise.resolve();
    expect(granted).toBe(false);
    budget.give(5);
    await big;
    expect(budget.used).toBe(50);
  });
});

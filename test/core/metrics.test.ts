import { expect } from "chai";
import { Registry } from "prom-client";
import { CoinCounter } from "../../offchain/core/metrics";

describe("coin counter", () => {
  it("exposes the float nearest the exact total, where summing rounded amounts drifts", async () => {
    const registry = new Registry();
    const counter = new CoinCounter(registry, "zg_test_wei_total", "test");
    const amounts = [2n ** 53n, 1n, 1n];
    let naive = 0;
    for (const amount of amounts) {
      counter.add(amount);
      naive += Number(amount);
    }
    const exact = amounts.reduce((sum, amount) => sum + amount, 0n);
    const value = (await registry.getSingleMetric("zg_test_wei_total")?.get())?.values[0].value;
    expect(value).to.equal(Number(exact));
    expect(BigInt(value as number)).to.equal(exact);
    // What `inc(Number(wei))` reported: each 1 wei was lost against 2^53.
    expect(naive).to.not.equal(value);
    expect((await registry.getMetricsAsJSON())[0].type).to.equal("counter");
  });

  it("refuses to decrease", () => {
    const counter = new CoinCounter(new Registry(), "zg_test_wei_total", "test");
    expect(() => counter.add(-1n)).to.throw(RangeError, "a coin counter cannot decrease (-1)");
  });
});

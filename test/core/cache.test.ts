import { expect } from "chai";
import { BoundedCache } from "../../offchain/core/cache";

describe("BoundedCache", function () {
  it("keeps at most maxEntries, the least recently used leaving first", () => {
    const cache = new BoundedCache<string, number>({ maxEntries: 2 });
    cache.set("a", 1);
    cache.set("b", 2);
    expect(cache.get("a")).to.equal(1); // a is now the most recently used
    cache.set("c", 3);
    expect([cache.get("a"), cache.get("b"), cache.get("c")]).to.deep.equal([1, undefined, 3]);
    expect(cache.size).to.equal(2);
  });

  it("keeps at most maxWeight in all, and does not keep a value heavier than that alone", () => {
    const cache = new BoundedCache<string, string>({ maxWeight: 10, weigh: (value) => value.length });
    cache.set("a", "xxxx");
    cache.set("b", "yyyy");
    expect(cache.weight).to.equal(8);
    cache.set("c", "zzzz");
    expect([cache.get("a"), cache.get("b"), cache.get("c")]).to.deep.equal([undefined, "yyyy", "zzzz"]);
    expect(cache.weight).to.equal(8);
    expect(cache.set("d", "w".repeat(11))).to.equal(false);
    expect(cache.get("d")).to.equal(undefined);
    expect(cache.weight).to.equal(8);
    cache.set("b", "yy"); // replacing a value replaces its weight
    expect(cache.weight).to.equal(6);
    cache.delete("c");
    expect([cache.size, cache.weight]).to.deep.equal([1, 2]);
  });

  it("never serves an entry older than ttlMs, and drops expired ones on writes", () => {
    let now = 1_000;
    const cache = new BoundedCache<string, number>({ ttlMs: 100, now: () => now });
    cache.set("a", 1);
    now += 60;
    cache.set("b", 2);
    now += 50;
    expect(cache.get("a")).to.equal(undefined);
    expect(cache.get("b")).to.equal(2);
    expect(cache.size).to.equal(1);
    now += 200;
    cache.set("c", 3); // b expired: dropped by this write
    expect(cache.size).to.equal(1);
    expect(new BoundedCache<string, number>({ ttlMs: 0 }).set("a", 1)).to.equal(false);
  });
});

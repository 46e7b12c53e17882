import { Counter, type Registry } from "prom-client";

/**
 * A Prometheus counter of coin that keeps the exact amount: each amount is added to a bigint total of wei, and
 * the total becomes a number only when the registry is scraped. Prometheus values are float64, exact only up to
 * 2^53 wei (about 0.009 coin): counting with `inc(Number(wei))` rounded each amount and added up the rounding
 * errors, a drift that grew with every increment. The value exposed here is the float nearest the exact total.
 */
export class CoinCounter {
  private total = 0n;

  constructor(metrics: Registry, name: string, help: string) {
    const read = () => this.total;
    new Counter({
      name,
      help,
      registers: [metrics],
      collect() {
        this.reset();
        this.inc(Number(read()));
      },
    });
  }

  /** Adds `wei` (never negative: a counter only grows). */
  add(wei: bigint): void {
    if (wei < 0n) throw new RangeError(`a coin counter cannot decrease (${wei})`);
    this.total += wei;
  }
}

import { getAddress } from "ethers";
import { Counter, type Registry } from "prom-client";
import { firstLine } from "../core/errors";
import type { Logger } from "../core/log";
import { CoinCounter } from "../core/metrics";
import type { DurableStore } from "../core/store";
import type { ServingClient } from "./client";
import type { InferenceOracle, OracleConfig, UserAccount } from "./oracle";

export type SettlementConfig = Pick<
  OracleConfig,
  "settleIntervalMs" | "settleCheckMs" | "refundMarginSeconds" | "maxBatch"
>;

const USER_PREFIX = "serving/user/";

/**
 * Settles the oracle's vouchers on-chain: a user's latest voucher is settled once it has been unsettled for
 * `settleIntervalMs`, or at once when one of the user's refunds unlocks within `refundMarginSeconds` (after the
 * unlock the user could take the coin back). Up to `maxBatch` users per transaction. What the chain settled is
 * read back from `voucherStateOf`, so a settlement lost in a crash is simply found settled on the next pass.
 */
export class Settler {
  private readonly unsettled = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private oracle: InferenceOracle | undefined;
  private readonly paid: CoinCounter;
  private readonly batches: Counter;

  constructor(
    private readonly client: ServingClient,
    private readonly store: DurableStore,
    private readonly config: SettlementConfig,
    private readonly log: Logger,
    metrics: Registry,
  ) {
    this.paid = new CoinCounter(
      metrics,
      "zg_oracle_settled_wei_total",
      "Coin paid to the provider by settlements (wei)",
    );
    this.batches = new Counter({
      name: "zg_oracle_settlements_total",
      help: "Settlement transactions by outcome",
      labelNames: ["outcome"],
      registers: [metrics],
    });
  }

  async start(oracle: InferenceOracle): Promise<void> {
    this.oracle = oracle;
    for await (const [key, account] of this.store.entries<UserAccount>(USER_PREFIX)) {
      if ((account.voucher?.amount ?? 0n) > account.settled)
        this.unsettled.add(getAddress(key.slice(USER_PREFIX.length)));
    }
    this.schedule();
  }

  /** Called when a user's voucher grows past what is settled. */
  noteUnsettled(user: string, account: UserAccount): void {
    if ((account.voucher?.amount ?? 0n) > account.settled) this.unsettled.add(user);
  }

  /** Settles every unsettled voucher now, whatever its age (also what a stop does not do: state is durable). */
  settleAll(): Promise<void> {
    return this.pass(true);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.pass(false)
        .catch((error: unknown) => this.log.warn("settlement pass failed", { error: firstLine(error) }))
        .finally(() => {
          if (this.timer) this.schedule();
        });
    }, this.config.settleCheckMs);
  }

  private pass(force: boolean): Promise<void> {
    const previous = this.running ?? Promise.resolve();
    const next = previous.then(() => this.settleDue(force));
    this.running = next.catch(() => undefined);
    return next;
  }

  private async settleDue(force: boolean): Promise<void> {
    const oracle = this.oracle as InferenceOracle;
    const now = Date.now();
    const due: { user: string; account: UserAccount }[] = [];
    for (const user of [...this.unsettled].sort()) {
      const account = await oracle.accountOf(user);
      const voucher = account.voucher;
      if (!voucher || voucher.amount <= account.settled) {
        this.unsettled.delete(user);
        continue;
      }
      const old = now - (account.unsettledSince ?? now) >= this.config.settleIntervalMs;
      if (force || old || (await this.refundUnlocksSoon(user))) due.push({ user, account });
    }
    for (let start = 0; start < due.length; start += this.config.maxBatch) {
      await this.settleBatch(due.slice(start, start + this.config.maxBatch));
    }
  }

  private async refundUnlocksSoon(user: string): Promise<boolean> {
    const oracle = this.oracle as InferenceOracle;
    const sub = await this.client.subAccount(user, oracle.provider);
    const horizon = BigInt(Math.floor(Date.now() / 1000) + this.config.refundMarginSeconds);
    return sub.refunds.some((refund) => refund.unlockAt <= horizon);
  }

  private async settleBatch(batch: { user: string; account: UserAccount }[]): Promise<void> {
    const oracle = this.oracle as InferenceOracle;
    const vouchers = batch.map(({ user, account }) => ({
      user,
      amount: account.voucher?.amount ?? 0n,
      nonce: account.voucher?.nonce ?? 0n,
      signature: account.voucher?.signature ?? "0x",
    }));
    let outcome;
    try {
      outcome = await this.client.settle(vouchers);
      this.batches.inc({ outcome: "mined" });
    } catch (error) {
      this.batches.inc({ outcome: "failed" });
      throw error;
    }
    const paid = outcome.reduce((sum, result) => sum + result.paid, 0n);
    this.paid.add(paid);
    for (const result of outcome) {
      if (result.rejection !== "None") {
        this.log.warn("voucher rejected on-chain", { user: result.user, reason: result.rejection });
      }
    }
    // The chain's record is the truth, whatever this batch did (a rejected voucher may have been settled by an
    // earlier transaction this process did not see through).
    for (const { user } of batch) {
      const state = await this.client.voucherState(user, oracle.provider);
      await oracle.withUser(user, async () => {
        const account = await oracle.accountOf(user);
        const settledAll = (account.voucher?.amount ?? 0n) <= state.settled;
        const next: UserAccount = {
          ...account,
          settled: state.settled,
          settledNonce: state.nonce,
          unsettledSince: settledAll ? undefined : Date.now(),
        };
        await this.store.put(`${USER_PREFIX}${user.toLowerCase()}`, next);
        if (settledAll) this.unsettled.delete(user);
      });
      oracle.forgetBalance(user);
    }
    this.log.info("settled", { users: batch.length, paid: paid.toString() });
  }
}

import type { JsonRpcProvider, Log } from "ethers";
import { ZgError, firstLine } from "./errors";
import type { Logger } from "./log";
import type { DurableStore, StoreOp } from "./store";

/** Which logs to follow: one contract, optionally narrowed to some event topics. */
export interface LogFilter {
  address: string;
  topics?: (string | string[] | null)[];
}

/** What handling one range produced: store writes, and what to do once they are durable. */
export interface RangeResult {
  ops: StoreOp[];
  /** Runs after the writes and the cursor are committed (e.g. to publish in-memory state). */
  afterCommit?: () => void;
}

/** Handles the logs of one block range without writing: the reader commits the result with the cursor. */
export type LogHandler = (
  logs: Log[],
  range: { fromBlock: number; toBlock: number; /** The unix time of block `toBlock`. */ toBlockTime: number },
) => Promise<RangeResult>;

export interface ChainReaderOptions {
  /** Names the cursor in the store, so several readers can share one store. */
  name: string;
  provider: JsonRpcProvider;
  store: DurableStore;
  filters: LogFilter[];
  /** Blocks a log must be buried under before it is processed (reorg safety). */
  confirmations: number;
  /** The first block to read when the store has no cursor yet. */
  startBlock: number;
  pollIntervalMs: number;
  /** The widest block range asked of the RPC endpoint in one `eth_getLogs`. */
  maxBlockRange?: number;
  log: Logger;
}

interface Cursor {
  block: number;
  hash: string;
}

/**
 * Follows contract logs through JSON-RPC, exactly once: a range's handler writes and the new cursor are
 * committed in one atomic, durable batch, so a crash replays at most the range in flight, never skips it.
 * Logs are processed only once `confirmations` blocks deep; on restart the reader resumes after its cursor,
 * and refuses to run when the chain no longer holds the block the cursor names (a different chain, or a
 * reorg deeper than the confirmation depth).
 */
export class ChainReader {
  private stopped = false;
  private cursor: Cursor | undefined;
  private headBlock = 0;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private exclusive: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: ChainReaderOptions) {}

  private get cursorKey(): string {
    return `reader/${this.options.name}/cursor`;
  }

  /** The last block whose logs are fully processed, or `startBlock - 1` before the first range. */
  get processedBlock(): number {
    return this.cursor?.block ?? this.options.startBlock - 1;
  }

  /** The hash of `processedBlock`, once a range has been processed (read with the range, no call of its own). */
  get processedBlockHash(): string | undefined {
    return this.cursor?.hash;
  }

  get head(): number {
    return this.headBlock;
  }

  /** Loads and checks the cursor, then processes ranges in the background until `stop()`. */
  async start(handler: LogHandler): Promise<void> {
    this.cursor = await this.options.store.get<Cursor>(this.cursorKey);
    if (this.cursor) {
      const block = await this.options.provider.getBlock(this.cursor.block);
      if (!block || block.hash !== this.cursor.hash) {
        throw new ZgError(
          `the chain no longer holds block ${this.cursor.block} (${this.cursor.hash}) that this data directory ` +
            "was built from: it belongs to another chain, or a reorg went deeper than the confirmation depth",
          "BAD_CONFIG",
        );
      }
      this.options.log.info("resuming chain reader", {
        reader: this.options.name,
        fromBlock: this.cursor.block + 1,
      });
    }
    this.loop = this.run(handler);
  }

  /**
   * Processes every confirmed range up to the current head; returns the number of ranges. Calls are
   * serialised, so the background loop and a direct call never handle the same range twice.
   */
  catchUp(handler: LogHandler): Promise<number> {
    const run = this.exclusive.then(() => this.catchUpNow(handler));
    this.exclusive = run.catch(() => undefined);
    return run;
  }

  private async catchUpNow(handler: LogHandler): Promise<number> {
    const { provider, confirmations } = this.options;
    // Asked directly: ethers' getBlockNumber() may answer from a cache up to 250 ms old.
    this.headBlock = Number(BigInt((await provider.send("eth_blockNumber", [])) as string));
    const safe = this.headBlock - confirmations;
    let ranges = 0;
    while (!this.stopped && this.processedBlock < safe) {
      const fromBlock = this.processedBlock + 1;
      const toBlock = Math.min(safe, fromBlock + (this.options.maxBlockRange ?? 2000) - 1);
      await this.processRange(handler, fromBlock, toBlock);
      ranges += 1;
    }
    return ranges;
  }

  private async processRange(handler: LogHandler, fromBlock: number, toBlock: number): Promise<void> {
    const { provider, filters, store } = this.options;
    const batches = await Promise.all(
      filters.map((filter) =>
        provider.getLogs({ address: filter.address, topics: filter.topics, fromBlock, toBlock }),
      ),
    );
    const logs = batches.flat().sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
    const block = await provider.getBlock(toBlock);
    if (!block?.hash) throw new ZgError(`block ${toBlock} is not available from the RPC endpoint`, "NETWORK");
    const result = await handler(logs, { fromBlock, toBlock, toBlockTime: block.timestamp });
    const cursor: Cursor = { block: toBlock, hash: block.hash };
    await store.batch([...result.ops, { type: "put", key: this.cursorKey, value: cursor }]);
    this.cursor = cursor;
    result.afterCommit?.();
  }

  private async run(handler: LogHandler): Promise<void> {
    let backoffMs = this.options.pollIntervalMs;
    while (!this.stopped) {
      try {
        await this.catchUp(handler);
        backoffMs = this.options.pollIntervalMs;
      } catch (error) {
        // Nothing is skipped: the same range is tried again after a growing pause.
        this.options.log.warn("chain reader failed, retrying", {
          reader: this.options.name,
          error: firstLine(error),
          backoffMs,
        });
        backoffMs = Math.min(backoffMs * 2, 30_000);
      }
      await this.sleep(backoffMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Stops after the range in flight has been committed. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }
}

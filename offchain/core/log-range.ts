import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { getAddress, toQuantity, type JsonRpcProvider } from "ethers";
import { ZgError, firstLine } from "./errors";

/** A log as the cache keeps it: what decoding and ordering need, nothing more. */
export interface CachedLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: number;
  transactionHash: string;
  index: number;
}

interface ContractCache {
  /** The topic0 set the logs were read with (a different set reads again from the start). */
  topics: string[];
  /** The last block read (only blocks at least `confirmations` deep are cached). */
  scannedTo: number;
  logs: CachedLog[];
}

interface CacheFile {
  version: 1;
  /** A block the cache was read up to and its hash: another chain (or a devnet started again) discards it. */
  anchor?: { block: number; hash: string };
  contracts: Record<string, ContractCache>;
  blockTimes: Record<string, number>;
  senders: Record<string, string>;
}

export interface RangeLogReaderOptions {
  provider: JsonRpcProvider;
  /** The first block any contract of the deployment can have logged in. */
  startBlock: number;
  /** The widest range asked in one `eth_getLogs`; halved, down to one block, when the endpoint refuses a range. */
  maxBlockRange?: number;
  /** Blocks a log must be buried under before it is cached (the rest is read again next time). */
  confirmations?: number;
  /** Where the cache survives between runs (a JSON file); in memory only when absent. */
  cacheFile?: string;
}

/** Calls per JSON-RPC batch (public endpoints commonly accept 100), and batches in flight at once. */
const BATCH = 100;
const PARALLEL_BATCHES = 4;

/** The endpoint-side refusals that mean "ask for fewer blocks", as the common RPC providers word them. */
const RANGE_REFUSAL =
  /range|too many|limited to|exceed|too large|too wide|block.*(span|window)|query returned more than|response size/i;

/**
 * Reads the logs of a set of contracts over the whole deployment in bounded block ranges, and keeps what it read:
 * a second read asks the endpoint only for blocks it has not seen. A range the endpoint refuses (most public RPCs
 * cap `eth_getLogs` at a few thousand blocks or results) is split in two until it passes, so the reader works
 * against an endpoint whose limit it does not know. Block times and transaction senders are cached alike.
 */
export class RangeLogReader {
  private cache: CacheFile;
  private range: number;
  private checked: Promise<void> | undefined;
  /** `eth_getLogs` calls made, for tests and the bench. */
  calls = 0;

  constructor(private readonly options: RangeLogReaderOptions) {
    this.range = Math.max(1, options.maxBlockRange ?? 10_000);
    this.cache = loadCache(options.cacheFile);
  }

  /** Every log of `address` whose topic0 is one of `topics`, oldest first, up to block `head`. */
  async logs(address: string, topics: string[], head: number): Promise<CachedLog[]> {
    this.checked ??= this.checkAnchor();
    await this.checked;
    const key = address.toLowerCase();
    const wanted = [...topics].sort();
    let entry = this.cache.contracts[key];
    if (!entry || entry.topics.join() !== wanted.join()) {
      entry = { topics: wanted, scannedTo: this.options.startBlock - 1, logs: [] };
      this.cache.contracts[key] = entry;
    }
    const safe = head - (this.options.confirmations ?? 0);
    const fresh: CachedLog[] = [];
    for (let from = entry.scannedTo + 1; from <= head;) {
      const to = Math.min(head, from + this.range - 1);
      const logs = await this.read(address, [wanted], from, to);
      // Cached only below the confirmation depth: a reorg can still replace what is above it.
      for (const log of logs) (log.blockNumber <= safe ? entry.logs : fresh).push(log);
      if (to <= safe) entry.scannedTo = to;
      else if (from <= safe) entry.scannedTo = safe;
      from = to + 1;
    }
    return [...entry.logs, ...fresh];
  }

  /**
   * Every log of `address` matching `topics` (as `eth_getLogs` takes them: per position a hash, a set of hashes, or
   * null for any), oldest first, from the start block to `head`: read in ranges like `logs`, kept in no cache.
   */
  async find(address: string, topics: (string | string[] | null)[], head: number): Promise<CachedLog[]> {
    const found: CachedLog[] = [];
    for (let from = this.options.startBlock; from <= head;) {
      const to = Math.min(head, from + this.range - 1);
      found.push(...(await this.read(address, topics, from, to)));
      from = to + 1;
    }
    return found;
  }

  /** The unix times of these blocks, each asked once (in JSON-RPC batches). */
  async blockTimes(blocks: number[]): Promise<Map<number, number>> {
    const missing = [...new Set(blocks)].filter((block) => this.cache.blockTimes[block] === undefined);
    const headers = await this.batch<{ timestamp: string } | null>(
      missing.map((block) => ({ method: "eth_getBlockByNumber", params: [toQuantity(block), false] })),
    );
    missing.forEach((block, i) => {
      const header = headers[i];
      if (!header) throw new ZgError(`block ${block} is not available from the RPC endpoint`, "NETWORK");
      this.cache.blockTimes[block] = Number(header.timestamp);
    });
    return new Map(blocks.map((block) => [block, this.cache.blockTimes[block]]));
  }

  /** The sender of each transaction, each asked once (in JSON-RPC batches). */
  async senders(hashes: string[]): Promise<Map<string, string>> {
    const missing = [...new Set(hashes)].filter((hash) => this.cache.senders[hash] === undefined);
    const transactions = await this.batch<{ from: string } | null>(
      missing.map((hash) => ({ method: "eth_getTransactionByHash", params: [hash] })),
    );
    missing.forEach((hash, i) => {
      const tx = transactions[i];
      if (!tx) throw new ZgError(`transaction ${hash} is not available from the RPC endpoint`, "NETWORK");
      this.cache.senders[hash] = getAddress(tx.from);
    });
    return new Map(hashes.map((hash) => [hash, this.cache.senders[hash]]));
  }

  /**
   * Calls in JSON-RPC batches of at most BATCH, a few batches at a time, parsed by the platform's JSON (ethers'
   * own decoding of large answers costs more than the endpoint's work here). Answers come back in call order.
   */
  private async batch<T>(calls: { method: string; params: unknown[] }[]): Promise<T[]> {
    const url = this.options.provider._getConnection().url;
    const chunks: { method: string; params: unknown[] }[][] = [];
    for (let i = 0; i < calls.length; i += BATCH) chunks.push(calls.slice(i, i + BATCH));
    const answers: T[][] = new Array<T[]>(chunks.length);
    let next = 0;
    const worker = async () => {
      for (let index = next++; index < chunks.length; index = next++) {
        const chunk = chunks[index];
        const response = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(chunk.map((call, id) => ({ jsonrpc: "2.0", id, ...call }))),
          signal: AbortSignal.timeout(30_000),
        });
        const body = (await response.json().catch(() => undefined)) as
          { id: number; result?: T; error?: { message?: string } }[] | undefined;
        if (!response.ok || !Array.isArray(body))
          throw new ZgError(
            `the RPC endpoint ${url} refused a batch of ${chunk.length} calls (HTTP ${response.status})`,
            "NETWORK",
          );
        const byId = new Map(body.map((answer) => [answer.id, answer]));
        answers[index] = chunk.map((call, id) => {
          const answer = byId.get(id);
          if (!answer || answer.error)
            throw new ZgError(`${call.method} failed: ${answer?.error?.message ?? "no answer"}`, "NETWORK");
          return answer.result as T;
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_BATCHES, chunks.length) }, worker));
    return answers.flat();
  }

  /** Writes the cache file (atomically), when there is one. */
  async save(): Promise<void> {
    const file = this.options.cacheFile;
    if (!file) return;
    const block = Math.max(
      this.options.startBlock,
      ...Object.values(this.cache.contracts).map((c) => c.scannedTo),
    );
    const header = await this.options.provider.getBlock(block);
    if (header?.hash) this.cache.anchor = { block, hash: header.hash };
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(`${file}.tmp`, JSON.stringify(this.cache));
    renameSync(`${file}.tmp`, file);
  }

  private async checkAnchor(): Promise<void> {
    const anchor = this.cache.anchor;
    if (!anchor) return;
    const header = await this.options.provider.getBlock(anchor.block);
    if (header?.hash !== anchor.hash) this.cache = { version: 1, contracts: {}, blockTimes: {}, senders: {} };
  }

  /** One range, split in halves while the endpoint refuses it; the narrower width is kept for what follows. */
  private async read(
    address: string,
    topics: (string | string[] | null)[],
    from: number,
    to: number,
  ): Promise<CachedLog[]> {
    let logs: RawLog[];
    try {
      this.calls += 1;
      [logs] = await this.batch<RawLog[]>([
        {
          method: "eth_getLogs",
          params: [{ address, topics, fromBlock: toQuantity(from), toBlock: toQuantity(to) }],
        },
      ]);
    } catch (error) {
      if (to === from || !RANGE_REFUSAL.test(firstLine(error))) throw error;
      const middle = from + Math.floor((to - from) / 2);
      this.range = Math.max(1, middle - from + 1);
      return [
        ...(await this.read(address, topics, from, middle)),
        ...(await this.read(address, topics, middle + 1, to)),
      ];
    }
    return logs.map((log) => ({
      address: log.address,
      topics: log.topics,
      data: log.data,
      blockNumber: Number(log.blockNumber),
      transactionHash: log.transactionHash,
      index: Number(log.logIndex),
    }));
  }
}

/** A log as JSON-RPC answers it. */
interface RawLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string;
  transactionHash: string;
  logIndex: string;
}

function loadCache(file: string | undefined): CacheFile {
  const empty: CacheFile = { version: 1, contracts: {}, blockTimes: {}, senders: {} };
  if (!file || !existsSync(file)) return empty;
  try {
    const read = JSON.parse(readFileSync(file, "utf8")) as CacheFile;
    return read.version === 1 ? read : empty;
  } catch {
    // A torn or foreign file is only a cache: start again.
    return empty;
  }
}

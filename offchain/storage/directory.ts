import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { firstLine } from "../core/errors";
import type { Logger } from "../core/log";
import { regionString, roleId, type StakingClient } from "../staking/client";
import { decodeShardMetadata, shardSchema } from "./log";
import type { ShardConfig } from "./types";

/** A storage node as clients discover it on-chain (NodeStaking, role STORAGE). */
export interface StorageNodeInfo {
  operator: string;
  url: string;
  region: string;
  shard: ShardConfig;
}

/** A storage node as the 0G indexer describes it (`indexer_getShardedNodes`, the SDK's `ShardedNode`). */
export interface ShardedNode {
  url: string;
  config: ShardConfig;
  /** Milliseconds; 0G's indexer measures it, ours does not (always 0). */
  latency: number;
  /** Unix seconds since this node has listed it. */
  since: number;
}

const STORAGE = roleId("STORAGE");

/**
 * The active storage nodes that announced an endpoint and a valid shard, in NodeStaking's order, optionally of one
 * region, as of `blockTag` (default: the latest block), in one call (`activeNodesOf`).
 */
export async function readStorageNodes(
  staking: StakingClient,
  region?: string,
  blockTag: number | "latest" = "latest",
): Promise<StorageNodeInfo[]> {
  const [active, infos] = await staking.contract.activeNodesOf(STORAGE, { blockTag });
  const nodes: StorageNodeInfo[] = [];
  active.forEach((operator, n) => {
    const info = { endpoint: infos[n].endpoint, region: regionString(infos[n].region) };
    const shard = decodeShardMetadata(infos[n].metadata);
    if (!info.endpoint || !shard) return;
    nodes.push({ operator, url: info.endpoint, region: info.region, shard });
  });
  return inRegion(nodes, region);
}

/** The storage nodes of `nodes` in `region` (all of them when `region` is undefined). */
export function inRegion(nodes: readonly StorageNodeInfo[], region?: string): StorageNodeInfo[] {
  return nodes.filter((node) => region === undefined || node.region === region);
}

/** How long a client trusts the node directory it last read from the chain, to find a file's holders. */
export const DIRECTORY_TTL_MS = 10 * 60_000;

const cachedDirectory = z.object({
  readAt: z.number().int().nonnegative(),
  nodes: z.array(
    z.object({
      operator: z.string(),
      url: z.string().url(),
      region: z.string(),
      shard: shardSchema,
    }),
  ),
});

/**
 * The last directory a client read from the chain, kept in a file (one per chain and NodeStaking) so that the
 * next command can find a file's holders without a chain call. It only tells a download where to ask: every
 * segment is still checked against the root, and a download that finds no holder, or not every shard, in it
 * reads the chain again. Unreadable, malformed or older than `ttlMs`: not there.
 */
export class DirectoryCache {
  constructor(
    readonly file: string,
    private readonly ttlMs = DIRECTORY_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The cache of the directory of `stakingAddress` on chain `chainId`, in the folder `dir`. */
  static in(dir: string, chainId: number, stakingAddress: string): DirectoryCache {
    return new DirectoryCache(path.join(dir, `${chainId}-${stakingAddress.toLowerCase()}.json`));
  }

  async read(): Promise<StorageNodeInfo[] | undefined> {
    const text = await readFile(this.file, "utf8").catch(() => undefined);
    if (text === undefined) return undefined;
    let parsed: z.infer<typeof cachedDirectory>;
    try {
      parsed = cachedDirectory.parse(JSON.parse(text));
    } catch {
      return undefined;
    }
    const age = this.now() - parsed.readAt;
    return age >= 0 && age < this.ttlMs ? parsed.nodes : undefined;
  }

  /** Keeps `nodes` as read now; written whole (a reader sees the old file or the new one, never a part). */
  async write(nodes: readonly StorageNodeInfo[]): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    const partial = `${this.file}.${randomBytes(6).toString("hex")}.partial`;
    await writeFile(partial, JSON.stringify({ readAt: this.now(), nodes }));
    await rename(partial, this.file);
  }
}

/** The NodeStaking events after which the set of active storage nodes, or what they announced, may differ. */
const CHANGING_EVENTS = [
  "Staked",
  "Exited",
  "Slashed",
  "Jailed",
  "Unjailed",
  "AdmissionSet",
  "MinStakeSet",
  "NodeInfoSet",
] as const;

/**
 * A storage node's own view of the active storage nodes, kept in memory so that discovery requests cost no chain
 * call. It is read in full at start (as of the head), then again, as of the block the node's chain reader reached,
 * only when that reader sees a NodeStaking event that can change it in a later block (`changed`), when the chain's
 * time passes the end of a member's jail (`tick`), or after a failed read (at the next `tick`). Reads never
 * overlap: a change during a read is one more read after it.
 */
export class StorageDirectory {
  private entries: { node: StorageNodeInfo; since: number }[] = [];
  /** The block the directory was last read at. */
  private readAt = -1;
  /** The block the next read should reach. */
  private target = -1;
  /** The earliest end of a storage member's jail that is still ahead (unix seconds). */
  private releaseAt = Infinity;
  private chainTime = 0;
  private stale = false;
  private reading: Promise<void> | undefined;
  private generation = 0;

  constructor(
    private readonly staking: StakingClient,
    private readonly log: Logger,
  ) {}

  /** The topic hashes of the NodeStaking events that change the directory (one `eth_getLogs` filter). */
  topics(): string[] {
    return CHANGING_EVENTS.map((name) => this.staking.contract.interface.getEvent(name).topicHash);
  }

  /** The first read, as of block `head` of unix time `chainTime`; a failure is the node's start-up failure. */
  async load(head: number, chainTime: number): Promise<void> {
    this.chainTime = chainTime;
    await this.read(head);
  }

  /**
   * NodeStaking emitted an event that may change the directory, in a block up to `block`: read it again as of
   * `block` (in the background), unless the last read already saw that block.
   */
  changed(block: number): void {
    if (block > this.readAt) this.schedule(block);
  }

  /**
   * The chain reader reached `block`, of unix time `chainTime`: read again if a jail has ended since the last read,
   * or the last read failed.
   */
  tick(block: number, chainTime: number): void {
    this.chainTime = Math.max(this.chainTime, chainTime);
    if (this.stale || this.chainTime >= this.releaseAt) this.schedule(block);
  }

  /** The active storage nodes, as of the last read. */
  nodes(): readonly StorageNodeInfo[] {
    return this.entries.map((entry) => entry.node);
  }

  /** The same nodes as the 0G indexer lists them. */
  sharded(): ShardedNode[] {
    return this.entries.map(({ node, since }) => sharded(node, since));
  }

  /** Counts the reads that changed the directory (a cache keyed on it is dropped when the nodes change). */
  get version(): number {
    return this.generation;
  }

  async stop(): Promise<void> {
    await this.reading;
  }

  private schedule(block: number): void {
    this.target = Math.max(this.target, block);
    if (this.reading) return;
    this.reading = (async () => {
      while (this.target > this.readAt || this.stale) {
        try {
          await this.read(this.target);
        } catch (error) {
          this.stale = true;
          this.log.warn("reading the storage nodes from NodeStaking failed; retrying at the next block", {
            error: firstLine(error),
          });
          return;
        }
      }
    })().finally(() => (this.reading = undefined));
  }

  private async read(block: number): Promise<void> {
    const [nodes, members] = await Promise.all([
      readStorageNodes(this.staking, undefined, block),
      this.staking.contract.membersOf(STORAGE, { blockTag: block }),
    ]);
    const active = new Set(nodes.map((node) => node.operator));
    const positions = await Promise.all(
      members
        .filter((operator) => !active.has(operator))
        .map((operator) => this.staking.contract.positionOf(operator, STORAGE, { blockTag: block })),
    );
    const jailEnds = positions.map((p) => Number(p.jailedUntil)).filter((end) => end > this.chainTime);
    this.releaseAt = Math.min(Infinity, ...jailEnds);

    const now = Math.floor(Date.now() / 1000);
    const before = new Map(this.entries.map((entry) => [key(entry.node), entry.since]));
    const entries = nodes.map((node) => ({ node, since: before.get(key(node)) ?? now }));
    if (
      entries.map((entry) => key(entry.node)).join() !== this.entries.map((entry) => key(entry.node)).join()
    )
      this.generation += 1;
    this.entries = entries;
    this.readAt = Math.max(this.readAt, block);
    this.stale = false;
  }
}

function key(node: StorageNodeInfo): string {
  return `${node.operator} ${node.url} ${node.region} ${node.shard.shardId}/${node.shard.numShard}`;
}

export function sharded(node: StorageNodeInfo, since: number): ShardedNode {
  return {
    url: node.url,
    config: { shardId: node.shard.shardId, numShard: node.shard.numShard },
    latency: 0,
    since,
  };
}

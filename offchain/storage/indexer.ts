import { isHexString } from "ethers";
import { JsonRpcError, type JsonRpcMethods } from "../core/jsonrpc";
import { RateLimiter } from "../core/limits";
import type { LogEntry } from "./log";
import { sharded, type ShardedNode, type StorageDirectory } from "./directory";
import { StorageRpc } from "./rpc";

/** How long a file's locations are reused before the nodes are asked again. */
const LOCATIONS_TTL_MS = 2_000;
/** The most files whose locations are kept. */
const LOCATIONS_CACHED = 1024;
/** How long one node is given to say whether it holds a file. */
const PEER_TIMEOUT_MS = 5_000;
/** Lookups that ask the other nodes, in all (every client together): 20 a second, 40 at once. */
const LOOKUP_RATE = { perSecond: 20, burst: 40 };

export interface IndexerSources {
  directory: StorageDirectory;
  /** The first log entry of a root, from the node's own log. */
  entryOf(root: string): Promise<LogEntry | undefined>;
  /** Whether this node holds its shard of the entry completely. */
  finalizedHere(entry: LogEntry): Promise<boolean>;
  /** This node's operator address, when it has a key (it answers for itself without a call). */
  self?: string;
}

/**
 * The part of the 0G indexer's JSON-RPC that the official SDK's `Indexer` uses to upload and download, served by
 * every storage node from its own view of the chain (see docs/storage.md, "Discovery"):
 *
 * - `indexer_getShardedNodes` → `{trusted, discovered}`: every active storage node in `trusted` (staked and
 *   announced in NodeStaking), `discovered` empty. Answered from memory: no chain call, no network call.
 * - `indexer_getFileLocations(root)` → the active nodes that hold their shard of the file completely (they answer
 *   `zgs_getFileInfo` with `finalized`), the set the SDK's `Downloader` needs. A root not on the log: `[]` from
 *   the node's own log. Otherwise one `zgs_getFileInfo` to each other active node, shared by concurrent callers and
 *   reused for 2 s; such lookups are limited to 20 a second in all (-32005 beyond).
 *
 * Anyone may call them, like every method of the node, within the server's per-client limits.
 */
export function indexerMethods(sources: IndexerSources): JsonRpcMethods {
  const locations = new FileLocations(sources);
  return {
    indexer_getShardedNodes: async (params) => {
      if (params.length > 0) throw JsonRpcError.invalidParams("indexer_getShardedNodes takes no parameters");
      return { trusted: sources.directory.sharded(), discovered: [] };
    },
    indexer_getFileLocations: async (params) => {
      if (params.length !== 1) throw JsonRpcError.invalidParams("expected one parameter: [root]");
      const [root] = params;
      if (typeof root !== "string" || !isHexString(root, 32))
        throw JsonRpcError.invalidParams("root must be a 32-byte 0x-hex hash");
      const entry = await sources.entryOf(root);
      return entry ? locations.of(entry) : [];
    },
  };
}

/** Who holds each file, asked of the nodes at most once per file every `LOCATIONS_TTL_MS`. */
class FileLocations {
  private readonly cache = new Map<string, { at: number; version: number; nodes: ShardedNode[] }>();
  private readonly pending = new Map<string, Promise<ShardedNode[]>>();
  private readonly lookups = new RateLimiter(LOOKUP_RATE);

  constructor(private readonly sources: IndexerSources) {}

  of(entry: LogEntry): Promise<ShardedNode[]> {
    const key = entry.root.toLowerCase();
    const version = this.sources.directory.version;
    const cached = this.cache.get(key);
    if (cached && cached.version === version && Date.now() - cached.at < LOCATIONS_TTL_MS)
      return Promise.resolve(cached.nodes);
    const running = this.pending.get(key);
    if (running) return running;
    const wait = this.lookups.take("lookups");
    if (wait > 0) throw JsonRpcError.limitExceeded(wait);
    const lookup = this.ask(entry)
      .then((nodes) => {
        this.cache.delete(key);
        this.cache.set(key, { at: Date.now(), version, nodes });
        if (this.cache.size > LOCATIONS_CACHED) this.cache.delete(this.cache.keys().next().value as string);
        return nodes;
      })
      .finally(() => this.pending.delete(key));
    this.pending.set(key, lookup);
    return lookup;
  }

  private async ask(entry: LogEntry): Promise<ShardedNode[]> {
    const { directory, self } = this.sources;
    const nodes = directory.nodes();
    const listed = directory.sharded();
    const holds = await Promise.all(
      nodes.map(async (node) => {
        if (self !== undefined && node.operator.toLowerCase() === self.toLowerCase())
          return this.sources.finalizedHere(entry);
        const info = await new StorageRpc(node.url, PEER_TIMEOUT_MS).fileInfo(entry.root).catch(() => null);
        return info?.finalized === true;
      }),
    );
    return nodes.flatMap((node, n) => (holds[n] ? [listed[n] ?? sharded(node, 0)] : []));
  }
}

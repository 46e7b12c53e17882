import type { ServerResponse } from "node:http";
import { encodeBytes32String, isHexString, ZeroAddress, ZeroHash, type Log } from "ethers";
import { Counter, Gauge } from "prom-client";
import { z } from "zod";
import { Flow__factory, StorageChallenges__factory, type Flow } from "../../typechain-types";
import { ChainReader } from "../core/chain-reader";
import { firstLine, ZgError } from "../core/errors";
import {
  BodyTooLargeError,
  header,
  HttpError,
  readBody,
  refuseBody,
  replyJson,
  sendError,
} from "../core/http";
import { JsonRpcError, type JsonRpcMethods } from "../core/jsonrpc";
import type { Logger } from "../core/log";
import type { DurableStore, StoreOp } from "../core/store";
import type { RunningWorker, WorkerConfig, WorkerRuntime, WorkerService } from "../core/worker";
import { StakingClient } from "../staking/client";
import { storage as manifest } from "./module";
import { StorageDirectory } from "./directory";
import { indexerMethods } from "./indexer";
import {
  encodeShardMetadata,
  fileInfo,
  shardSchema,
  globalSegmentIndex,
  inShard,
  sectorCount,
  segmentCount,
  segmentLength,
  shardSegments,
  submissionRoot,
  type LogEntry,
} from "./log";
import { decodeParityTags, type ParityTags } from "./erasure";
import {
  base64Bytes,
  fileLayout,
  SECTOR_SIZE,
  SECTORS_PER_SEGMENT,
  segmentRootsOf,
  segmentSectors,
  useMerkleWorkers,
  verifySegmentProof,
} from "./merkle";
import { SegmentFiles } from "./segment-files";
import { ChallengeResponder, type ChallengeRecord, type HeldFiles } from "./responder";
import {
  decodeFrames,
  encodeFrame,
  MAX_FRAME_BYTES,
  MAX_LEMMA,
  parseIndexes,
  SEGMENTS_ROUTE,
  type SegmentFrame,
} from "./wire";
import type { SegmentProof, NodeStatus, ParityEntry, SegmentWithProof, ShardConfig } from "./types";

const storageNodeConfig = {
  /** Which segments this node holds: those whose log-wide index % numShard == shardId. */
  shard: shardSchema.default({ shardId: 0, numShard: 1 }),
  /** Region code announced on-chain (data-residency rules), at most 32 bytes. */
  region: z.string().max(32).default(""),
  /** The URL clients reach this node at; announced in NodeStaking when set. */
  publicUrl: z.string().url().optional(),
  /** The most segments one upload request may carry. */
  maxSegmentsPerRequest: z.number().int().min(1).max(1024).default(32),
  /**
   * Threads that hash the segments received (default one per core); 0 hashes on the node's own thread, for
   * nodes that share a machine with others (the devnet's six).
   */
  hashThreads: z.number().int().min(0).max(8).optional(),
};
export type StorageNodeConfig = WorkerConfig & z.output<z.ZodObject<typeof storageNodeConfig>>;

interface FileState {
  uploaded: number;
  finalized: boolean;
}

const seqKey = (seq: number) => seq.toString().padStart(12, "0");
const entryKey = (seq: number) => `log/tx/${seqKey(seq)}`;
const rootKey = (root: string, seq: number) => `log/root/${root.toLowerCase()}/${seqKey(seq)}`;
const stateKey = (seq: number) => `file/${seqKey(seq)}/state`;
const proofKey = (seq: number, index: number) =>
  `file/${seqKey(seq)}/proof/${index.toString().padStart(9, "0")}`;
const parityKey = (dataRoot: string, seq: number) => `parity/${dataRoot.toLowerCase()}/${seqKey(seq)}`;
const NEXT_SEQ_KEY = "log/nextTxSeq";
/** How many roots' log entries the node keeps at hand (cleared when full). */
const RECENT_ROOTS = 1024;

/** The parity code a submission's tags declare, if they are ours; malformed ones are logged and ignored. */
function parityTagsOf(entry: LogEntry, log: Logger): ParityTags | undefined {
  try {
    return decodeParityTags(entry.tags);
  } catch (error) {
    log.warn("ignoring malformed parity tags", { seq: entry.seq, error: firstLine(error) });
    return undefined;
  }
}

/**
 * The storage node (`zg node storage`): follows Flow `Submit` events, accepts a file's segments only with
 * a valid Merkle proof to the submitted root, keeps the segments of its shard durably, and serves them
 * through the 0G storage JSON-RPC, so the official 0G SDK can upload to and download from it.
 */
export const storageNode: WorkerService<typeof storageNodeConfig> = {
  config: storageNodeConfig,
  requireKey: false,
  needs: manifest.contracts.flow.name,
  start: startStorageNode,
};

async function startStorageNode(runtime: WorkerRuntime<StorageNodeConfig>): Promise<RunningWorker> {
  const { chain, store, log, metrics, config } = runtime;
  const shard: ShardConfig = config.shard;
  const flowAddress = await chain.moduleAddress(manifest.contracts.flow.name);
  const flow = Flow__factory.connect(flowAddress, chain.provider);
  const staking = await StakingClient.connect(chain);
  const stakingAddress = await staking.contract.getAddress();
  // The active storage nodes, for discovery (indexer_*): read now, then again when NodeStaking says they changed.
  const directory = new StorageDirectory(staking, log);
  const head = await chain.provider.getBlock("latest");
  if (!head) throw new ZgError("the RPC endpoint has no latest block", "NETWORK");
  await directory.load(head.number, head.timestamp);
  let nextTxSeq = (await store.get<number>(NEXT_SEQ_KEY)) ?? 0;

  const segmentsStored = new Counter({
    name: "zg_storage_segments_stored_total",
    help: "Segments accepted",
    registers: [metrics],
  });
  const segmentsRefused = new Counter({
    name: "zg_storage_segments_refused_total",
    help: "Segments refused (bad proof, wrong shard, malformed)",
    registers: [metrics],
  });
  const filesFinalized = new Counter({
    name: "zg_storage_files_finalized_total",
    help: "Files completed on this node",
    registers: [metrics],
  });
  const logEntries = new Gauge({
    name: "zg_storage_log_entries",
    help: "Submissions seen in the log",
    registers: [metrics],
  });
  logEntries.set(nextTxSeq);

  const reader = new ChainReader({
    name: "flow",
    provider: chain.provider,
    store,
    filters: [
      { address: flowAddress, topics: [flow.interface.getEvent("Submit").topicHash] },
      { address: stakingAddress, topics: [directory.topics()] },
    ],
    confirmations: config.confirmations,
    startBlock: runtime.startBlock,
    pollIntervalMs: config.pollIntervalMs,
    log,
  });
  await reader.start(async (logs, range) => {
    const ops: StoreOp[] = [];
    let next = nextTxSeq;
    let stakingChanged = false;
    for (const entryLog of logs) {
      if (entryLog.address.toLowerCase() === stakingAddress.toLowerCase()) {
        stakingChanged = true;
        continue;
      }
      const entry = parseSubmit(flow, entryLog);
      if (!entry) continue;
      ops.push(
        { type: "put", key: entryKey(entry.seq), value: entry },
        { type: "put", key: rootKey(entry.root, entry.seq), value: true },
      );
      if (shardSegments(entry, shard).length === 0) {
        // Nothing of this file falls in our shard: it is complete here from the start.
        ops.push({
          type: "put",
          key: stateKey(entry.seq),
          value: { uploaded: 0, finalized: true } satisfies FileState,
        });
      }
      const parity = parityTagsOf(entry, log);
      if (parity) {
        const value: ParityEntry = { root: entry.root, txSeq: entry.seq, k: parity.k, m: parity.m };
        ops.push({ type: "put", key: parityKey(parity.dataRoot, entry.seq), value });
      }
      next = Math.max(next, entry.seq + 1);
      log.info("log entry", {
        seq: entry.seq,
        root: entry.root,
        size: entry.size,
        start: entry.startEntryIndex,
      });
    }
    ops.push({ type: "put", key: NEXT_SEQ_KEY, value: next });
    return {
      ops,
      afterCommit: () => {
        nextTxSeq = next;
        logEntries.set(next);
        if (stakingChanged) directory.changed(range.toBlock);
        directory.tick(range.toBlock, range.toBlockTime);
      },
    };
  });

  /**
   * The hash of the last block the log is synced to, from the chain reader's own state: N status calls make no
   * chain call (before the first range, one call, shared, for the block before the start block).
   */
  let beforeStart: Promise<string> | undefined;
  const syncBlockHash = async (height: number): Promise<string> => {
    if (height < 0) return ZeroHash;
    const known = reader.processedBlockHash;
    if (known !== undefined) return known;
    beforeStart ??= chain.provider.getBlock(height).then(
      (block) => block?.hash ?? ZeroHash,
      (error: unknown) => {
        beforeStart = undefined;
        throw error;
      },
    );
    return beforeStart;
  };

  if (config.hashThreads !== undefined) useMerkleWorkers(config.hashThreads);
  const segmentFiles = await SegmentFiles.open(config.dataDir);
  const adopted = await segmentFiles.adoptFromStore(store);
  if (adopted > 0) log.info("moved segments from the store into segment files", { segments: adopted });
  const files = new FileStore(store, segmentFiles);
  const locks = new KeyedLock();
  const responder = await startResponder(runtime, files, () => reader.head);

  /** The JSON-RPC uploads: an array of segments in the 0G shape (base64 data). */
  async function acceptJson(entry: LogEntry, segments: unknown): Promise<null> {
    if (!Array.isArray(segments) || segments.length === 0)
      throw JsonRpcError.invalidParams("expected a non-empty array of segments");
    await accept(entry, segments, (raw) => checkSegment(entry, raw, shard));
    return null;
  }

  /** Stores the segments of one request that are new here, each checked, and returns how many were. */
  async function accept<T>(
    entry: LogEntry,
    segments: T[],
    check: (segment: T) => CheckedSegment,
  ): Promise<number> {
    if (segments.length > config.maxSegmentsPerRequest) {
      throw JsonRpcError.invalidParams(`at most ${config.maxSegmentsPerRequest} segments per request`);
    }
    if ((await files.state(entry.seq)).finalized)
      throw JsonRpcError.invalidParams("already uploaded and finalized");
    // Every segment is checked against the root before the file's lock is taken, so that requests to one file
    // verify while another one writes; the lock covers only the state and the durable write.
    const checked = segments.map(check);
    const numSegments = fileLayout(entry.size).numSegmentsPadded;
    const roots = await segmentRootsOf(
      checked.map(({ index, bytes }) => ({ bytes, sectors: segmentSectors(entry.size, index) })),
    );
    checked.forEach(({ index, proof }, i) => {
      if (!verifySegmentProof(proof, roots[i], entry.root, index, numSegments))
        throw JsonRpcError.invalidParams(`segment ${index}: the proof does not lead to root ${entry.root}`);
    });
    return locks.run(entry.seq, async () => {
      const state = await files.state(entry.seq);
      if (state.finalized) throw JsonRpcError.invalidParams("already uploaded and finalized");
      const ops: StoreOp[] = [];
      const fresh = new Map<number, CheckedSegment>();
      for (const segment of checked) {
        if (fresh.has(segment.index) || (await store.get(proofKey(entry.seq, segment.index))) !== undefined)
          continue;
        fresh.set(segment.index, segment);
        ops.push({ type: "put", key: proofKey(entry.seq, segment.index), value: segment.proof });
      }
      const added = fresh.size;
      // The bytes are on disk before the store says they are held.
      await segmentFiles.write(entry.seq, [...fresh.values()]);
      const uploaded = state.uploaded + added;
      const finalized = uploaded === shardSegments(entry, shard).length;
      ops.push({ type: "put", key: stateKey(entry.seq), value: { uploaded, finalized } satisfies FileState });
      await store.batch(ops);
      segmentsStored.inc(added);
      if (finalized) {
        filesFinalized.inc();
        log.info("file finalized", { seq: entry.seq, root: entry.root, segments: uploaded });
        await responder?.responder.noteComplete(entry.root);
      }
      return added;
    });
  }

  const countRefusals = (method: (params: unknown[]) => Promise<unknown>) => async (params: unknown[]) => {
    try {
      return await method(params);
    } catch (error) {
      if (error instanceof JsonRpcError && error.data !== "already uploaded and finalized")
        segmentsRefused.inc();
      throw error;
    }
  };

  const rpc: JsonRpcMethods = {
    zgs_getStatus: async (): Promise<NodeStatus> => {
      const height = reader.processedBlock;
      return {
        connectedPeers: 0,
        logSyncHeight: height,
        logSyncBlock: await syncBlockHash(height),
        nextTxSeq,
        networkIdentity: {
          chainId: chain.chainId,
          flowAddress,
          p2pProtocolVersion: { major: 0, minor: 4, build: 0 },
        },
      };
    },
    zgs_getShardConfig: async () => shard,
    ...indexerMethods({
      directory,
      entryOf: (root) => files.byRoot(root),
      finalizedHere: async (entry) => (await files.state(entry.seq)).finalized,
      self: chain.address,
    }),
    /** Ours: the parity submissions (Reed-Solomon, see erasure.ts) that protect a data root. */
    zg_getParity: async ([root]) => {
      const found: ParityEntry[] = [];
      for await (const [, value] of store.entries<ParityEntry>(`parity/${hash(root, "root").toLowerCase()}/`))
        found.push(value);
      return found;
    },
    zgs_getFileInfo: async ([root]) => {
      const entry = await files.byRoot(hash(root, "root"));
      return entry ? files.info(entry) : null;
    },
    zgs_getFileInfoByTxSeq: async ([seq]) => {
      const entry = await files.bySeq(index(seq, "txSeq"));
      return entry ? files.info(entry) : null;
    },
    zgs_uploadSegment: countRefusals(async ([segment]) =>
      acceptJson(await files.forUpload(segment), [segment]),
    ),
    zgs_uploadSegments: countRefusals(async ([segments]) => {
      if (!Array.isArray(segments) || segments.length === 0)
        throw JsonRpcError.invalidParams("expected a non-empty array of segments");
      return acceptJson(await files.forUpload(segments[0]), segments);
    }),
    zgs_uploadSegmentByTxSeq: countRefusals(async ([segment, seq]) =>
      acceptJson(await files.required(index(seq, "txSeq")), [segment]),
    ),
    zgs_uploadSegmentsByTxSeq: countRefusals(async ([segments, seq]) =>
      acceptJson(await files.required(index(seq, "txSeq")), segments),
    ),
    zgs_downloadSegment: async ([root, start, end]) => {
      const entry = await files.byRoot(hash(root, "root"));
      return entry ? files.sectors(entry, index(start, "startIndex"), index(end, "endIndex")) : null;
    },
    zgs_downloadSegmentByTxSeq: async ([seq, start, end]) => {
      const entry = await files.bySeq(index(seq, "txSeq"));
      return entry ? files.sectors(entry, index(start, "startIndex"), index(end, "endIndex")) : null;
    },
    zgs_downloadSegmentWithProof: async ([root, segmentIndex]) => {
      const entry = await files.byRoot(hash(root, "root"));
      return entry ? files.withProof(entry, index(segmentIndex, "index")) : null;
    },
    zgs_downloadSegmentWithProofByTxSeq: async ([seq, segmentIndex]) => {
      const entry = await files.bySeq(index(seq, "txSeq"));
      return entry ? files.withProof(entry, index(segmentIndex, "index")) : null;
    },
  };

  /**
   * The binary segment routes (wire.ts). Anyone may call them, as the JSON-RPC: an upload is kept only when
   * every segment proves against the root on the log, for this node's shard. A request costs one rate token
   * per segment (an upload's counted from its Content-Length, before its body is read) and carries at most
   * `maxSegmentsPerRequest` segments.
   */
  const maxFrameBody = config.maxSegmentsPerRequest * MAX_FRAME_BYTES;
  const binaryRefusal = (error: unknown) => {
    const refused =
      error instanceof BodyTooLargeError
        ? undefined
        : error instanceof JsonRpcError
          ? typeof error.data === "string"
            ? error.data
            : error.message
          : error instanceof ZgError && error.code === "BAD_INPUT"
            ? error.message
            : undefined;
    if (refused === undefined) return error;
    if (refused !== "already uploaded and finalized") segmentsRefused.inc();
    return new HttpError(400, refused);
  };
  const http: RunningWorker["http"] = (request, response, route, charge) => {
    if (!route.startsWith(SEGMENTS_ROUTE)) return false;
    const target = route.slice(SEGMENTS_ROUTE.length);
    if (request.method === "POST") {
      const declared = Number(header(request, "content-length") ?? NaN);
      if (!Number.isSafeInteger(declared) || declared < 0) {
        refuseBody(response);
        sendError(response, 411, "a segment upload needs a Content-Length");
        return true;
      }
      if (declared > maxFrameBody) {
        refuseBody(response);
        sendError(response, 413, `request body over ${maxFrameBody} bytes`);
        return true;
      }
      // A full segment with its proof is at most one frame's bytes: a body of N full segments pays N tokens.
      if (!charge(Math.min(Math.ceil(declared / MAX_FRAME_BYTES), config.maxSegmentsPerRequest) - 1))
        return true;
      let bodyRead = false;
      return replyJson(
        response,
        async () => {
          try {
            if (!/^\d{1,15}$/.test(target))
              throw JsonRpcError.invalidParams("txSeq must be a non-negative integer");
            const entry = await files.required(Number(target));
            const body = await readBody(request, maxFrameBody);
            bodyRead = true;
            const frames = decodeFrames(body).map((frame) => {
              if (!frame) throw JsonRpcError.invalidParams("an upload has no empty frames");
              return frame;
            });
            if (frames.length === 0) throw JsonRpcError.invalidParams("expected at least one segment");
            return { stored: await accept(entry, frames, (frame) => checkReceived(entry, frame, shard)) };
          } catch (error) {
            // A body refused unread is not read after the answer either: its connection closes.
            if (!bodyRead) refuseBody(response);
            throw binaryRefusal(error);
          }
        },
        { log },
      );
    }
    if (request.method === "GET") {
      const indexes = parseIndexes(
        new URL(request.url ?? "/", "http://node").searchParams.get("indexes"),
        config.maxSegmentsPerRequest,
      );
      if (typeof indexes === "string") {
        sendError(response, 400, indexes);
        return true;
      }
      if (!charge(indexes.length - 1)) return true;
      void (async () => {
        const entry = await files.byRoot(hash(target, "root"));
        return Promise.all(indexes.map((i) => (entry ? files.frame(entry, i) : null)));
      })().then(
        (frames) => sendFrames(response, indexes, frames),
        (error: unknown) => {
          const refusal = binaryRefusal(error);
          if (refusal instanceof HttpError) sendError(response, 400, refusal.message);
          else {
            log.error("segment download failed", { error: firstLine(error) });
            sendError(response, 500, "internal error");
          }
        },
      );
      return true;
    }
    refuseBody(response);
    sendError(response, 405, "GET or POST");
    return true;
  };

  // Its own announcement changes the directory: read it now rather than when the chain reader sees the event.
  if (config.publicUrl && (await announce(runtime, staking, config.publicUrl, shard, config.region)))
    directory.changed(await chain.provider.getBlockNumber());

  return {
    rpc,
    http,
    // A full request of segments in base64, with proofs and JSON framing.
    maxRequestBytes:
      config.maxSegmentsPerRequest * (Math.ceil((SECTORS_PER_SEGMENT * SECTOR_SIZE * 4) / 3) + 8192),
    health: () => ({
      flow: flowAddress,
      shard,
      region: config.region,
      processedBlock: reader.processedBlock,
      headBlock: reader.head,
      nextTxSeq,
      storageNodes: directory.nodes().length,
      challenges: responder ? responder.recent() : "disabled",
    }),
    stop: async () => {
      await responder?.stop();
      await reader.stop();
      await directory.stop();
    },
  };
}

/**
 * Runs the challenge responder when the deployment has StorageChallenges and the node has a key: one tick
 * per poll interval when there is something to do (a new head block from the chain reader, or a file newly
 * complete), each declaring newly complete files and answering open challenges.
 */
async function startResponder(
  runtime: WorkerRuntime<StorageNodeConfig>,
  files: FileStore,
  head: () => number,
) {
  const { chain, store, log, metrics, config } = runtime;
  const address = await chain.registry.tryGetModule(encodeBytes32String(manifest.contracts.challenges.name));
  if (address === ZeroAddress || !chain.address) {
    if (address !== ZeroAddress)
      log.warn("storage challenges are deployed but the node has no key: it cannot answer them");
    return undefined;
  }
  const responder = new ChallengeResponder(
    chain,
    StorageChallenges__factory.connect(address, chain.signer),
    store,
    files,
    log,
    metrics,
  );
  let stopped = false;
  let recent: ChallengeRecord[] = [];
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (!stopped) {
      const at = head();
      try {
        if (responder.due(at)) {
          await responder.tick(at);
          recent = await responder.history(10);
        }
      } catch (error) {
        log.warn("challenge responder tick failed", { error: firstLine(error) });
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, config.pollIntervalMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  })();
  return {
    responder,
    recent: () => recent,
    stop: async () => {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}

/** The node's view of the log entries and the segments it holds. */
class FileStore implements HeldFiles {
  /** Log entries by root, of the roots asked for lately. */
  private readonly recent = new Map<string, LogEntry>();

  constructor(
    private readonly store: DurableStore,
    private readonly segmentFiles: SegmentFiles,
  ) {}

  async segment(
    entry: LogEntry,
    index: number,
  ): Promise<{ bytes: Uint8Array; proof: SegmentProof } | undefined> {
    // Both at once: a segment is held when its proof is stored (its bytes, synced first, are then in its file).
    const [proof, bytes] = await Promise.all([
      this.store.get<SegmentProof>(proofKey(entry.seq, index)),
      this.segmentFiles.read(entry.seq, index, segmentLength(entry.size, index)),
    ]);
    return proof && bytes ? { bytes, proof } : undefined;
  }

  bySeq(seq: number): Promise<LogEntry | undefined> {
    return this.store.get<LogEntry>(entryKey(seq));
  }

  async required(seq: number): Promise<LogEntry> {
    const entry = await this.bySeq(seq);
    if (!entry) throw JsonRpcError.invalidParams(`no log entry ${seq} yet (the node may still be syncing)`);
    return entry;
  }

  /** The first submission of a root (a root submitted twice is stored once, under its first txSeq). */
  async byRoot(root: string): Promise<LogEntry | undefined> {
    const known = this.recent.get(root.toLowerCase());
    if (known) return known;
    for await (const key of this.store.keys(`log/root/${root.toLowerCase()}/`)) {
      const entry = await this.bySeq(Number(key.slice(key.lastIndexOf("/") + 1)));
      if (entry) {
        // A root's first log entry never changes: every segment request of a transfer asks for it.
        if (this.recent.size >= RECENT_ROOTS) this.recent.clear();
        this.recent.set(root.toLowerCase(), entry);
      }
      return entry;
    }
    return undefined;
  }

  async forUpload(segment: unknown): Promise<LogEntry> {
    const root = (segment as { root?: unknown } | null)?.root;
    const entry = await this.byRoot(hash(root, "segment root"));
    if (!entry)
      throw JsonRpcError.invalidParams(`no log entry for root ${String(root)} yet (submit it first)`);
    return entry;
  }

  async state(seq: number): Promise<FileState> {
    return (await this.store.get<FileState>(stateKey(seq))) ?? { uploaded: 0, finalized: false };
  }

  async info(entry: LogEntry) {
    const state = await this.state(entry.seq);
    return fileInfo(entry, state.uploaded, state.finalized);
  }

  /** Sectors [start, end) of the file, within one segment this node holds, as base64; null when not held. */
  async sectors(entry: LogEntry, start: number, end: number): Promise<string | null> {
    const total = sectorCount(entry.size);
    if (end <= start || end > total)
      throw JsonRpcError.invalidParams(
        `sector range [${start}, ${end}) is outside the file's ${total} sectors`,
      );
    const segment = Math.floor(start / SECTORS_PER_SEGMENT);
    if (Math.floor((end - 1) / SECTORS_PER_SEGMENT) !== segment)
      throw JsonRpcError.invalidParams("a sector range must lie within one segment");
    const bytes = (await this.segment(entry, segment))?.bytes;
    if (!bytes) return null;
    const offset = (start - segment * SECTORS_PER_SEGMENT) * SECTOR_SIZE;
    return Buffer.from(bytes.subarray(offset, offset + (end - start) * SECTOR_SIZE)).toString("base64");
  }

  /** Segment `segment` of the file with its proof, as the binary routes send it; null when not held here. */
  async frame(entry: LogEntry, segment: number): Promise<Omit<SegmentFrame, "index"> | null> {
    if (segment >= segmentCount(entry.size))
      throw JsonRpcError.invalidParams(`segment ${segment} is outside the file`);
    return (await this.segment(entry, segment)) ?? null;
  }

  async withProof(entry: LogEntry, segment: number): Promise<SegmentWithProof | null> {
    if (segment >= segmentCount(entry.size))
      throw JsonRpcError.invalidParams(`segment ${segment} is outside the file`);
    const held = await this.segment(entry, segment);
    if (!held) return null;
    const { bytes, proof } = held;
    return {
      root: entry.root,
      data: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("base64"),
      index: segment,
      proof,
      fileSize: entry.size,
    };
  }
}

/** A received segment whose shape is right for its log entry and this node's shard (its proof not yet checked). */
interface CheckedSegment {
  index: number;
  bytes: Uint8Array;
  proof: SegmentProof;
}

/** Validates one segment uploaded through the JSON-RPC (the 0G shape, base64 data): see `checkReceived`. */
function checkSegment(entry: LogEntry, raw: unknown, shard: ShardConfig): CheckedSegment {
  const segment = raw as Partial<SegmentWithProof> | null;
  if (!segment || typeof segment !== "object")
    throw JsonRpcError.invalidParams("a segment must be an object");
  if (hash(segment.root, "segment root").toLowerCase() !== entry.root.toLowerCase()) {
    throw JsonRpcError.invalidParams(
      `segment root ${segment.root} is not the root of log entry ${entry.seq}`,
    );
  }
  if (segment.fileSize !== entry.size)
    throw JsonRpcError.invalidParams(`fileSize ${segment.fileSize} is not the submitted ${entry.size}`);
  const bytes = base64Bytes(segment.data);
  if (!bytes) throw JsonRpcError.invalidParams("segment data must be base64");
  return checkReceived(entry, { index: segment.index, bytes, proof: segment.proof }, shard);
}

/**
 * Validates one uploaded segment's shape against its log entry and this node's shard: its index, its length and
 * the shape of its proof (the caller checks the proof itself, hashing a request's segments together).
 */
function checkReceived(
  entry: LogEntry,
  segment: { index: unknown; bytes: Uint8Array; proof: unknown },
  shard: ShardConfig,
): CheckedSegment {
  const segmentIndex = index(segment.index, "segment index");
  const count = segmentCount(entry.size);
  if (segmentIndex >= count)
    throw JsonRpcError.invalidParams(`segment ${segmentIndex} is outside the file's ${count} segments`);
  if (!inShard(shard, globalSegmentIndex(entry, segmentIndex))) {
    throw JsonRpcError.invalidParams(
      `segment ${segmentIndex} is not in this node's shard ${shard.shardId}/${shard.numShard}`,
    );
  }
  const { bytes } = segment;
  const expected = segmentLength(entry.size, segmentIndex);
  if (bytes.length !== expected)
    throw JsonRpcError.invalidParams(
      `segment ${segmentIndex} has ${bytes.length} bytes, expected ${expected}`,
    );
  const proof = segment.proof as Partial<SegmentProof> | undefined;
  if (
    !proof ||
    !Array.isArray(proof.lemma) ||
    !Array.isArray(proof.path) ||
    proof.lemma.length > MAX_LEMMA ||
    proof.path.length > MAX_LEMMA
  ) {
    throw JsonRpcError.invalidParams("segment proof must be {lemma: hash[], path: bool[]}");
  }
  if (!proof.lemma.every((h) => isHexString(h, 32)) || !proof.path.every((p) => typeof p === "boolean")) {
    throw JsonRpcError.invalidParams("segment proof must be {lemma: hash[], path: bool[]}");
  }
  return { index: segmentIndex, bytes, proof: { lemma: proof.lemma, path: proof.path } };
}

/** Answers a download with one frame per index, written piece by piece (no segment copied). */
function sendFrames(
  response: ServerResponse,
  indexes: number[],
  frames: (Omit<SegmentFrame, "index"> | null)[],
): void {
  const pieces = frames.flatMap((frame, i) => encodeFrame(indexes[i], frame));
  const length = pieces.reduce((sum, piece) => sum + piece.length, 0);
  response.writeHead(200, { "content-type": "application/octet-stream", "content-length": length });
  response.cork();
  for (const piece of pieces) response.write(piece);
  response.uncork();
  response.end();
}

function parseSubmit(flow: Flow, entryLog: Log): LogEntry | undefined {
  const parsed = flow.interface.parseLog(entryLog);
  if (!parsed || parsed.name !== "Submit") return undefined;
  // Positional: `length` on an ethers Result is the number of fields, not the struct's `length`.
  const [length, tags, rawNodes] = parsed.args.submission as unknown as [bigint, string, [string, bigint][]];
  const nodes = rawNodes.map(([root, height]) => ({ root, height: Number(height) }));
  return {
    seq: Number(parsed.args.submissionIndex),
    root: submissionRoot(nodes),
    size: Number(length),
    startEntryIndex: Number(parsed.args.startPos),
    nodes,
    tags,
    submitter: parsed.args.sender as string,
    blockNumber: entryLog.blockNumber,
  };
}

/**
 * Publishes the node's URL, region and shard in NodeStaking when they changed (then true); warns when not staked.
 */
async function announce(
  runtime: WorkerRuntime<StorageNodeConfig>,
  staking: StakingClient,
  publicUrl: string,
  shard: ShardConfig,
  region: string,
): Promise<boolean> {
  const { chain, log } = runtime;
  if (!chain.address) {
    log.warn("publicUrl is set but the node has no key: it cannot announce itself");
    return false;
  }
  const metadata = encodeShardMetadata(shard);
  const outcome = await staking.announceIfChanged(chain.address, "STORAGE", {
    endpoint: publicUrl,
    region,
    metadata,
  });
  if (outcome === "not-member")
    log.warn("this node's operator is not staked for STORAGE: clients will not discover it", {
      operator: chain.address,
    });
  if (outcome !== "announced") return false;
  log.info("announced in NodeStaking", { endpoint: publicUrl, region, shard });
  return true;
}

function hash(value: unknown, what: string): string {
  if (typeof value !== "string" || !isHexString(value, 32))
    throw JsonRpcError.invalidParams(`${what} must be a 32-byte 0x-hex hash`);
  return value;
}

function index(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0)
    throw JsonRpcError.invalidParams(`${what} must be a non-negative integer`);
  return value;
}

/** Runs tasks one at a time per key (uploads to the same file), concurrently across keys. */
class KeyedLock {
  private readonly tails = new Map<number, Promise<unknown>>();

  run<T>(key: number, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}

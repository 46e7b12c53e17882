import { mkdtemp, open, readFile, rm, stat, writeFile, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { formatEther } from "ethers";
import { Flow__factory, Market__factory, type Flow, type Market } from "../../typechain-types";
import type { ZgChain } from "../core/chain";
import { storage } from "./module";
import { firstLine, ZgError } from "../core/errors";
import { StakingClient } from "../staking/client";
import {
  encodeParity,
  decodeStripe,
  encodeParityTags,
  ParityReader,
  stripeLayout,
  type ErasureCode,
} from "./erasure";
import { DirectoryCache, inRegion, readStorageNodes, type StorageNodeInfo } from "./directory";
import { globalSegmentIndex, inShard, segmentCount, segmentLength, type LogEntry } from "./log";
import {
  computeFileMerkle,
  provenFrames,
  SEGMENT_SIZE,
  segmentProof,
  prepareMerkle,
  type FileMerkle,
  type MerkleSource,
} from "./merkle";
import { StorageRpc } from "./rpc";
import type { FileInfo, ParityEntry, ShardConfig } from "./types";
import type { SegmentFrame } from "./wire";

export type { StorageNodeInfo } from "./directory";

/** Progress of a long transfer, in bytes. */
export type Progress = (event: {
  phase: "hash" | "submit" | "upload" | "parity" | "finalize" | "download" | "repair";
  done: number;
  total: number;
}) => void;

export interface UploadOptions {
  /** Complete copies to place (default 1). */
  replicas?: number;
  /** Reed-Solomon parity as a companion submission, placed on other nodes (e.g. {k: 4, m: 2}). */
  ec?: ErasureCode;
  /** Use only nodes announcing this region. */
  region?: string;
  onProgress?: Progress;
}

/** Where an upload's time went, in milliseconds (a phase skipped on resume is 0). */
export interface UploadPhases {
  /** The file root (for parity: the parity encoding and its root). */
  hash: number;
  /** The Flow submission, until its receipt. */
  submit: number;
  /** Until every chosen node has seen the log entry. */
  logEntry: number;
  /** Every segment sent to the nodes that hold it. */
  transfer: number;
  /** Until every chosen node says the file is complete. */
  finality: number;
  /** The whole upload, from choosing the nodes to the result (parity runs beside the data). */
  elapsed: number;
}

export interface UploadResult {
  root: string;
  txSeq: number;
  size: number;
  /** Whether this call paid for the submission (false when resuming one already on the log). */
  submitted: boolean;
  phases: UploadPhases;
  parity?: { root: string; txSeq: number; code: ErasureCode; phases: UploadPhases };
}

export interface DownloadResult {
  size: number;
  /** Segments rebuilt from parity. */
  repaired: number;
  /** Milliseconds: finding the file on the nodes, then fetching and verifying every segment, and both. */
  phases: { lookup: number; transfer: number; elapsed: number };
}

/** Segments per upload request (a node takes 32 by default) and per download batch. */
const UPLOAD_BATCH = 8;
const DOWNLOAD_BATCH = 8;
/**
 * Requests in flight per node: one being verified and written by the node while the next is on the wire.
 */
const WINDOW = 2;
/**
 * Requests in flight across all the nodes of a transfer, data and parity together (8 MiB of segments), whatever
 * the number of nodes: what bounds a client's memory.
 */
const IN_FLIGHT = 4;
const RETRIES = 4;

/**
 * The storage SDK: computes 0G-compatible roots, submits files to the Flow (paying the Market's price),
 * uploads their segments to the staked storage nodes that hold each shard, and downloads them back,
 * verifying every segment's proof and rebuilding lost ones from Reed-Solomon parity.
 */
export class StorageClient {
  private constructor(
    private readonly chain: ZgChain,
    readonly flow: Flow,
    readonly market: Market,
    private readonly staking: StakingClient,
    private readonly directory: DirectoryCache | undefined,
  ) {}

  /**
   * `directoryCache`: a folder where the node directory read from the chain is kept between clients (the CLI uses
   * ZG_HOME/storage-nodes), so that a download can find a file's holders without reading the chain again.
   */
  static async connect(chain: ZgChain, options: { directoryCache?: string } = {}): Promise<StorageClient> {
    // The chain calls below leave this thread idle: its hasher, which every upload and download uses, is readied
    // meanwhile.
    prepareMerkle(0);
    const flow = Flow__factory.connect(await chain.moduleAddress(storage.contracts.flow.name), chain.runner);
    const market = Market__factory.connect(
      await chain.moduleAddress(storage.contracts.market.name),
      chain.runner,
    );
    const staking = await StakingClient.connect(chain);
    const directory =
      options.directoryCache === undefined
        ? undefined
        : DirectoryCache.in(options.directoryCache, chain.chainId, await staking.contract.getAddress());
    return new StorageClient(chain, flow, market, staking, directory);
  }

  /** The active storage nodes that announced an endpoint and a shard, optionally in one region, from the chain. */
  async nodes(region?: string): Promise<StorageNodeInfo[]> {
    const nodes = await readStorageNodes(this.staking);
    await this.directory?.write(nodes).catch(() => undefined);
    return inRegion(nodes, region);
  }

  /**
   * Where a file is: the directory's nodes, their RPCs, what each says of the file (null: it does not know it) and
   * the file's entry (`wait`: see `ask`). The cached directory is tried first when it is fresh; when no node of it
   * knows the file, or the ones that do miss a shard of it, the directory is read again from the chain.
   */
  private async locate(root: string, wait: Wait): Promise<Located> {
    const cached = await this.directory?.read();
    if (cached) {
      const found = await ask(cached, root, true, wait);
      if (found.info && spreadSegments(found, found.info).unplaced.length === 0) return found;
    }
    return ask(await this.nodes(), root, false, wait);
  }

  /**
   * Uploads a file (path or bytes); resumes a file already submitted without paying again. With parity, the data
   * and its parity are paid for in one Flow transaction and sent at the same time, to disjoint nodes.
   */
  async upload(input: string | Uint8Array, options: UploadOptions = {}): Promise<UploadResult> {
    const began = performance.now();
    const replicas = options.replicas ?? 1;
    if (!Number.isInteger(replicas) || replicas < 1)
      throw new ZgError("replicas must be a positive integer", "BAD_INPUT");
    const available = await this.nodes(options.region);
    const where = options.region ? ` in region '${options.region}'` : "";
    // With parity, spread each stripe over as many nodes as possible (finest shards first), so that losing
    // any m nodes loses at most m shards of a stripe.
    const dataNodes = selectNodes(available, replicas, options.ec ? "spread" : "few");
    if (!dataNodes) {
      throw new ZgError(
        `not enough storage nodes${where} for ${replicas} replica(s) (${available.length} active)`,
        "NOT_FOUND",
      );
    }
    const ec = options.ec;
    let parityNodes: StorageNodeInfo[] | undefined;
    if (ec) {
      const rest = available.filter((node) => !dataNodes.includes(node));
      parityNodes = selectNodes(rest, 1, "spread");
      if (!parityNodes) {
        throw new ZgError(
          `parity needs storage nodes${where} that hold none of the data: ${rest.length} left, too few to cover every shard`,
          "NOT_FOUND",
        );
      }
    }
    const source = await FileSource.open(input);
    const sources = [source];
    // The parity and its root need nothing of the data's root (only its submission's tags do): they are computed
    // beside it.
    const parityPrepared = ec ? prepareParity(input, ec) : undefined;
    // Its failure is the upload's, reported where it is awaited (not as an unhandled rejection meanwhile).
    parityPrepared?.catch(() => undefined);
    try {
      options.onProgress?.({ phase: "hash", done: 0, total: source.size });
      const started = performance.now();
      const merkle = await computeFileMerkle(input);
      const parts: Part[] = [
        { source, merkle, tags: "0x", nodes: dataNodes, phase: "upload", hash: performance.now() - started },
      ];
      if (ec && parityNodes && parityPrepared) {
        const prepared = await parityPrepared;
        const paritySource = await FileSource.open(prepared.parity);
        sources.push(paritySource);
        parts.push({
          source: paritySource,
          merkle: prepared.merkle,
          tags: encodeParityTags({ dataRoot: merkle.root, dataSize: source.size, k: ec.k, m: ec.m }),
          nodes: parityNodes,
          phase: "parity",
          hash: prepared.hash,
        });
      }
      const [data, parity] = await this.store(parts, options.onProgress);
      const result: UploadResult = {
        root: merkle.root,
        txSeq: data.txSeq,
        size: source.size,
        submitted: data.submitted,
        phases: { ...data.phases, elapsed: performance.now() - began },
      };
      if (ec && parity)
        result.parity = { root: parity.root, txSeq: parity.txSeq, code: ec, phases: parity.phases };
      return result;
    } finally {
      for (const opened of sources) await opened.close();
      await parityPrepared?.then(
        (prepared) => prepared.discard(),
        () => undefined,
      );
    }
  }

  /**
   * Pays for the parts the nodes do not know yet (one transaction for all of them), then uploads every part's
   * segments to the nodes that hold them: each node gets WINDOW requests of UPLOAD_BATCH segments in flight, all
   * parts sharing IN_FLIGHT, read from their sources as they are sent.
   */
  private async store(
    parts: Part[],
    onProgress: Progress | undefined,
  ): Promise<{ root: string; txSeq: number; submitted: boolean; phases: UploadPhases }[]> {
    const began = performance.now();
    const rpcsOf = parts.map((part) => part.nodes.map((node) => new StorageRpc(node.url)));
    // Every chosen node must answer before anything is paid for.
    await Promise.all(rpcsOf.flat().map((rpc) => rpc.shardConfig()));
    const known = await Promise.all(rpcsOf.map((rpcs, i) => firstKnown(rpcs, parts[i].merkle.root)));
    const unpaid = parts.filter((_, i) => !known[i]);
    if (unpaid.length > 0) await this.submit(unpaid, onProgress);
    const submit = performance.now() - began;
    const slots = new Slots(IN_FLIGHT);
    return Promise.all(
      parts.map(async (part, i) => {
        const phases = await this.transfer(part, rpcsOf[i], slots, onProgress);
        return {
          root: part.merkle.root,
          txSeq: phases.txSeq,
          submitted: !known[i],
          phases: {
            hash: part.hash,
            submit,
            ...phases.phases,
            elapsed: part.hash + submit + phases.elapsed,
          },
        };
      }),
    );
  }

  /** Waits for the nodes to see a paid part's log entry, sends it every segment, and waits until they hold it. */
  private async transfer(
    part: Part,
    rpcs: StorageRpc[],
    slots: Slots,
    onProgress: Progress | undefined,
  ): Promise<{
    txSeq: number;
    elapsed: number;
    phases: Pick<UploadPhases, "logEntry" | "transfer" | "finality">;
  }> {
    const { source, merkle, nodes, phase } = part;
    const phases = { logEntry: 0, transfer: 0, finality: 0 };
    const began = performance.now();
    let started = began;
    const lap = (name: keyof typeof phases) => {
      const now = performance.now();
      phases[name] = now - started;
      started = now;
    };
    try {
      const info = await waitForNodes(rpcs, merkle.root, (node) => node !== null, "see the submission of");
      lap("logEntry");
      const logEntry: Pick<LogEntry, "startEntryIndex"> = { startEntryIndex: info.tx.startEntryIndex };
      const total = segmentCount(source.size);
      const file = { txSeq: info.tx.seq, root: merkle.root, fileSize: source.size };
      let done = 0;
      await Promise.all(
        nodes.map(async (node, n) => {
          const rpc = rpcs[n];
          const current = await rpc.fileInfo(merkle.root);
          if (current?.finalized) return;
          const indexes = [...Array(total).keys()].filter((i) =>
            inShard(node.shard, globalSegmentIndex(logEntry, i)),
          );
          await inWindow(chunks(indexes, UPLOAD_BATCH), WINDOW, (indexes) =>
            slots.run(async () => {
              const batch = await Promise.all(indexes.map((i) => frameOf(source, merkle, i)));
              await withRetries(`upload to ${node.url}`, () => rpc.uploadSegments(file, batch));
              done += batch.length;
              onProgress?.({ phase, done: Math.min(done, total), total });
            }),
          );
        }),
      );
      lap("transfer");
      onProgress?.({ phase: "finalize", done: 0, total: nodes.length });
      await waitForNodes(rpcs, merkle.root, (node) => node?.finalized === true, "finalize");
      lap("finality");
      return { txSeq: info.tx.seq, elapsed: performance.now() - began, phases };
    } catch (error) {
      // The file is on the log (paid for): say so, and how to finish without paying again.
      throw new ZgError(
        `${firstLine(error)}; the file ${merkle.root} is already paid for: run the same command again to resume without paying twice`,
        error instanceof ZgError ? error.code : "NETWORK",
        { cause: error },
      );
    }
  }

  /** Submits the parts to the Flow in one transaction, paying their sectors × the Market's price. */
  private async submit(parts: Part[], onProgress?: Progress): Promise<void> {
    const submissions = parts.map((part) => ({ ...part.merkle.submission, tags: part.tags }));
    const price = await this.market.pricePerSector();
    const sectors = submissions
      .flatMap((submission) => submission.nodes)
      .reduce((sum: bigint, node: { height: number }) => sum + (1n << BigInt(node.height)), 0n);
    const fee = sectors * price;
    const address = this.chain.address;
    if (!address)
      throw new ZgError(
        "uploading signs a transaction: pass --key <keystore> or --private-key",
        "BAD_CONFIG",
      );
    const balance = await this.chain.provider.getBalance(address);
    if (balance < fee) {
      throw new ZgError(
        `account ${address} holds ${formatEther(balance)} but storing this file costs ${formatEther(fee)}`,
        "INSUFFICIENT_FUNDS",
      );
    }
    onProgress?.({ phase: "submit", done: 0, total: 1 });
    const requests = submissions.map((data) => ({ data, submitter: address }));
    await this.chain.send(
      requests.length === 1
        ? "submit to the storage log"
        : `submit ${requests.length} files to the storage log`,
      () =>
        requests.length === 1
          ? this.flow.submit(requests[0], { value: fee })
          : this.flow.batchSubmit(requests, { value: fee }),
    );
    onProgress?.({ phase: "submit", done: 1, total: 1 });
  }

  /** The file's log entry as the nodes know it, and which nodes hold it (completely when `finalized`). */
  async info(
    root: string,
  ): Promise<
    { info: FileInfo; nodes: { url: string; finalized: boolean }[]; parity: ParityEntry[] } | undefined
  > {
    const { nodes, known, info } = await this.locate(root, "all");
    if (!info) return undefined;
    const holders = nodes.flatMap((node, n) =>
      known[n] ? [{ url: node.url, finalized: known[n].finalized }] : [],
    );
    return { info, nodes: holders, parity: await this.parityOf(root, nodes) };
  }

  /** Downloads a (small) file into memory, verified like `download`; refused when over `maxBytes`. */
  async downloadBytes(root: string, options: { maxBytes?: number } = {}): Promise<Uint8Array> {
    const dir = await mkdtemp(path.join(tmpdir(), "zg-download-"));
    try {
      const out = path.join(dir, "file");
      await this.download(root, out, undefined, options);
      return new Uint8Array(await readFile(out));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * Downloads a file to `out`: every segment verified by proof, lost ones rebuilt from parity. A file the nodes
   * say is over `maxBytes` is refused before any segment is fetched (and no more than its stated size is fetched).
   * Segments are spread over the nodes that know the file, each node sent WINDOW batches of DOWNLOAD_BATCH at a
   * time; a segment a node fails to give (or gives wrong) is then sought on every other node of its shard (of
   * the chain's directory, if the nodes came from the cached one), then rebuilt from parity.
   */
  async download(
    root: string,
    out: string,
    onProgress?: Progress,
    options: { maxBytes?: number } = {},
  ): Promise<DownloadResult> {
    let started = performance.now();
    let located = await this.locate(root, "cover");
    const info = located.info;
    if (!info) throw new ZgError(`no storage node knows a file with root ${root}`, "NOT_FOUND");
    const size = info.tx.size;
    if (options.maxBytes !== undefined && size > options.maxBytes) {
      throw new ZgError(
        `the file ${root} is ${size} bytes, over the ${options.maxBytes} allowed`,
        "BAD_INPUT",
      );
    }
    const lookup = performance.now() - started;
    started = performance.now();
    const total = segmentCount(size);
    // The output is opened while the first segments are asked for (its error, if any, is the first write's).
    const opening = open(out, "w");
    opening.catch(() => undefined);
    let repaired = 0;
    let done = 0;
    const write = async (index: number, segment: Uint8Array) => {
      const bytes = segment.subarray(0, Math.min(SEGMENT_SIZE, size - index * SEGMENT_SIZE));
      await (await opening).write(bytes, 0, bytes.length, index * SEGMENT_SIZE);
      done += 1;
      onProgress?.({ phase: "download", done, total });
    };
    try {
      const plan = spreadSegments(located, info);
      const missed: number[] = [...plan.unplaced];
      const slots = new Slots(IN_FLIGHT);
      const transfers = Promise.all(
        plan.perNode.map((indexes, n) =>
          // A node given few segments gets them in WINDOW requests rather than one, to verify the first sooner.
          inWindow(
            chunks(indexes, Math.min(DOWNLOAD_BATCH, Math.ceil(indexes.length / WINDOW))),
            WINDOW,
            (batch) =>
              slots.run(async () => {
                const frames = await located.rpcs[n].downloadSegments(root, size, batch).catch(() => []);
                const segments = await segmentsOf(batch, frames, root, info);
                for (const [i, index] of batch.entries()) {
                  const segment = segments[i];
                  if (segment) await write(index, segment);
                  else missed.push(index);
                }
              }),
          ),
        ),
      );
      // The first requests are out: ready the hashing while the nodes answer.
      prepareMerkle(size);
      await transfers;
      let parity: ParityEntry[] | undefined;
      for (const index of missed.sort((a, b) => a - b)) {
        let segment = await fetchVerified(located, root, info, index);
        if (!segment && located.cached) {
          located = await ask(await this.nodes(), root, false, "cover");
          segment = await fetchVerified(located, root, info, index);
        }
        if (!segment) {
          parity ??= await this.parityOf(root, located.nodes);
          segment = await this.repair(located, root, info, index, parity);
          repaired += 1;
          onProgress?.({ phase: "repair", done: repaired, total });
        }
        await write(index, segment);
      }
      if (total === 0) await writeFile(out, new Uint8Array());
    } finally {
      await (await opening).close();
    }
    const transfer = performance.now() - started;
    return { size, repaired, phases: { lookup, transfer, elapsed: lookup + transfer } };
  }

  private async parityOf(root: string, nodes: StorageNodeInfo[]): Promise<ParityEntry[]> {
    for (const node of nodes) {
      const entries = await new StorageRpc(node.url).parityOf(root).catch(() => undefined);
      if (entries && entries.length > 0) return entries;
    }
    return [];
  }

  /** Rebuilds data segment `index` from any k verified shards of its stripe. */
  private async repair(
    located: Located,
    root: string,
    info: FileInfo,
    index: number,
    parity: ParityEntry[],
  ): Promise<Uint8Array> {
    for (const candidate of parity) {
      const { k, m } = candidate;
      const layout = stripeLayout(info.tx.size, k, m);
      const stripe = Math.floor(index / k);
      const parityInfo = await firstKnown(located.rpcs, candidate.root);
      if (!parityInfo) continue;
      const shards: (Uint8Array | undefined)[] = [];
      let present = 0;
      for (let p = 0; p < k + m && present < k; p++) {
        let shard: Uint8Array | undefined;
        if (p < k) {
          const dataIndex = stripe * k + p;
          shard =
            dataIndex >= layout.dataSegments
              ? new Uint8Array(SEGMENT_SIZE)
              : await fetchVerified(located, root, info, dataIndex);
        } else {
          shard = await fetchVerified(located, candidate.root, parityInfo, stripe * m + (p - k));
        }
        shards.push(shard ? padSegment(shard) : undefined);
        if (shard) present += 1;
      }
      while (shards.length < k + m) shards.push(undefined);
      if (present < k) continue;
      return decodeStripe(shards, k, m)[index - stripe * k];
    }
    throw new ZgError(
      `segment ${index} of ${root} is on no reachable node, and no parity can rebuild it`,
      "NOT_FOUND",
    );
  }
}

/**
 * Segment `index` of the file with its proof, to upload. The nodes verify every segment against the root before
 * they keep it: hashing it here too would only spend the client's CPU (a file changed since it was hashed is
 * refused by them, with the segment named).
 */
async function frameOf(source: FileSource, merkle: FileMerkle, index: number): Promise<SegmentFrame> {
  return { index, proof: segmentProof(merkle, index), bytes: await source.segment(index) };
}

/** One submission of an upload (the data, or its parity), and the nodes it goes to. */
interface Part {
  source: FileSource;
  merkle: FileMerkle;
  tags: string;
  nodes: StorageNodeInfo[];
  phase: "upload" | "parity";
  /** Milliseconds spent computing its root (for parity: encoding it too). */
  hash: number;
}

/** The parity of an upload and its root, ready to submit; `discard` releases what reads it. */
interface PreparedParity {
  parity: Uint8Array | ParityReader;
  merkle: FileMerkle;
  /** Milliseconds spent encoding and hashing it. */
  hash: number;
  discard(): Promise<void>;
}

/**
 * The parity of the data and its root. Bytes are encoded in memory; the parity of a file is computed from it
 * stripe by stripe whenever it is read (to hash it, then to send it), so that it costs no disk and bounded memory.
 */
async function prepareParity(input: string | Uint8Array, code: ErasureCode): Promise<PreparedParity> {
  const started = performance.now();
  const parity =
    typeof input === "string"
      ? await ParityReader.open(input, code.k, code.m)
      : encodeParity(input, code.k, code.m);
  const discard = async () => {
    if (parity instanceof ParityReader) await parity.close();
  };
  try {
    return { parity, merkle: await computeFileMerkle(parity), hash: performance.now() - started, discard };
  } catch (error) {
    await discard();
    throw error;
  }
}

function padSegment(bytes: Uint8Array): Uint8Array {
  if (bytes.length === SEGMENT_SIZE) return bytes;
  const padded = new Uint8Array(SEGMENT_SIZE);
  padded.set(bytes);
  return padded;
}

/** Fetches a segment from any node of its shard and returns it only if its proof leads to `root`. */
async function fetchVerified(
  { nodes, rpcs }: Located,
  root: string,
  info: FileInfo,
  index: number,
): Promise<Uint8Array | undefined> {
  const global = globalSegmentIndex({ startEntryIndex: info.tx.startEntryIndex }, index);
  for (let n = 0; n < nodes.length; n++) {
    if (!inShard(nodes[n].shard, global)) continue;
    const frames = await rpcs[n].downloadSegments(root, info.tx.size, [index]).catch(() => []);
    const [bytes] = await segmentsOf([index], frames, root, info);
    if (bytes) return bytes;
  }
  return undefined;
}

/**
 * The bytes of what a node answered for segments `indexes` of `root`, each only if it is that segment (the
 * file's, at that index, of its length) and its proof leads to `root`: everything a node sends is untrusted.
 */
async function segmentsOf(
  indexes: number[],
  frames: (SegmentFrame | null)[],
  root: string,
  info: FileInfo,
): Promise<(Uint8Array | undefined)[]> {
  const size = info.tx.size;
  const claimed = indexes.map((index, i) => {
    const frame = frames[i];
    return frame?.index === index && frame.bytes.length === segmentLength(size, index) ? frame : null;
  });
  return provenFrames(root, size, claimed);
}

/**
 * Which node to ask first for each of the file's `total` segments: among the nodes that know the file and whose
 * shard holds the segment (those that hold it completely first), the one given the fewest so far.
 */
function spreadSegments(
  { nodes, known }: Located,
  info: FileInfo,
): { perNode: number[][]; unplaced: number[] } {
  const total = segmentCount(info.tx.size);
  const perNode: number[][] = nodes.map(() => []);
  const unplaced: number[] = [];
  const order = [...nodes.keys()]
    .filter((n) => known[n] !== null)
    .sort((a, b) => Number(known[b]!.finalized) - Number(known[a]!.finalized));
  for (let index = 0; index < total; index++) {
    const global = globalSegmentIndex({ startEntryIndex: info.tx.startEntryIndex }, index);
    let best: number | undefined;
    for (const n of order) {
      if (!inShard(nodes[n].shard, global)) continue;
      if (best === undefined) best = n;
      else if (known[n]!.finalized === known[best]!.finalized && perNode[n].length < perNode[best].length)
        best = n;
    }
    if (best === undefined) unplaced.push(index);
    else perNode[best].push(index);
  }
  return { perNode, unplaced };
}

/** A file's place among the storage nodes: see `StorageClient.locate`. */
interface Located {
  nodes: StorageNodeInfo[];
  rpcs: StorageRpc[];
  known: (FileInfo | null)[];
  info: FileInfo | undefined;
  /** Whether the nodes came from the cached directory rather than the chain. */
  cached: boolean;
}

/** Whether `ask` waits for every node's answer, or only until the file's whole holders cover every shard of it. */
type Wait = "all" | "cover";

/**
 * Asks every node of `nodes` about the file `root`, all at once, and waits for every answer, or (`cover`) only
 * until the nodes that answered holding the whole file cover every shard of it: then a slow or silent node delays
 * no download that does not need it (its late answer is not used).
 */
async function ask(nodes: StorageNodeInfo[], root: string, cached: boolean, wait: Wait): Promise<Located> {
  const rpcs = nodes.map((node) => new StorageRpc(node.url));
  const known: (FileInfo | null)[] = nodes.map(() => null);
  await new Promise<void>((resolve) => {
    let pending = nodes.length;
    if (pending === 0) resolve();
    rpcs.forEach((rpc, n) =>
      rpc
        .fileInfo(root)
        .catch(() => null)
        .then((found) => {
          known[n] = found;
          pending -= 1;
          if (pending === 0) resolve();
          else if (wait === "cover" && found?.finalized && finalizedCover({ nodes, known }, found)) resolve();
        }),
    );
  });
  const answered = [...known];
  return {
    nodes,
    rpcs,
    known: answered,
    info: answered.find((found) => found !== null) ?? undefined,
    cached,
  };
}

/** Whether the nodes that said they hold the whole file (finalized) cover every segment's shard. */
function finalizedCover({ nodes, known }: Pick<Located, "nodes" | "known">, info: FileInfo): boolean {
  const holders = nodes.filter((_, n) => known[n]?.finalized);
  const total = segmentCount(info.tx.size);
  for (let index = 0; index < total; index++) {
    const global = globalSegmentIndex({ startEntryIndex: info.tx.startEntryIndex }, index);
    if (!holders.some((node) => inShard(node.shard, global))) return false;
  }
  return true;
}

/** `items` in consecutive runs of at most `size`. */
function chunks<T>(items: T[], size: number): T[][] {
  const runs: T[][] = [];
  for (let i = 0; i < items.length; i += size) runs.push(items.slice(i, i + size));
  return runs;
}

/** A number of slots shared by tasks: `run` waits for a free one, so that at most that many run at once. */
class Slots {
  private readonly waiting: (() => void)[] = [];

  constructor(private free: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free -= 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free += 1;
    }
  }
}

/** Runs `task` over `items` with at most `window` at a time; the first failure stops new tasks and is thrown. */
async function inWindow<T>(items: T[], window: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < items.length) {
      const item = items[next++];
      try {
        await task(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, items.length) }, lane));
}

/**
 * A node set holding `replicas` complete copies: every shard residue covered that many times. "few" takes
 * coarse shards first (fewest nodes); "spread" takes fine shards first (consecutive segments on distinct nodes).
 */
export function selectNodes<N extends { shard: ShardConfig }>(
  nodes: N[],
  replicas: number,
  prefer: "few" | "spread" = "few",
): N[] | undefined {
  const finest = Math.max(1, ...nodes.map((node) => node.shard.numShard));
  const coverage = new Array<number>(finest).fill(0);
  const chosen: N[] = [];
  const order = prefer === "few" ? 1 : -1;
  for (const node of [...nodes].sort((a, b) => order * (a.shard.numShard - b.shard.numShard))) {
    if (coverage.every((count) => count >= replicas)) break;
    const residues = [...coverage.keys()].filter((r) => r % node.shard.numShard === node.shard.shardId);
    if (residues.every((r) => coverage[r] >= replicas)) continue;
    for (const r of residues) coverage[r] += 1;
    chosen.push(node);
  }
  return coverage.every((count) => count >= replicas) ? chosen : undefined;
}

async function firstKnown(rpcs: StorageRpc[], root: string): Promise<FileInfo | undefined> {
  for (const rpc of rpcs) {
    const info = await rpc.fileInfo(root).catch(() => null);
    if (info) return info;
  }
  return undefined;
}

/**
 * Polls every node's view of `root` until all of them satisfy `done` (synced the submission, or finalized
 * it); an unreachable node fails at once, since there is nothing to wait for.
 */
async function waitForNodes(
  rpcs: StorageRpc[],
  root: string,
  done: (info: FileInfo | null) => boolean,
  what: string,
  timeoutMs = 120_000,
): Promise<FileInfo> {
  const deadline = Date.now() + timeoutMs;
  // Soon after a submission on a local chain, seconds after it on a public one: polls start quick and slow down.
  for (let pauseMs = 25; ; pauseMs = Math.min(500, pauseMs * 1.5)) {
    const infos = await Promise.all(rpcs.map((rpc) => rpc.fileInfo(root)));
    if (infos.every(done)) return infos[0]!;
    if (Date.now() > deadline) throw new ZgError(`storage nodes did not ${what} ${root} in time`, "NETWORK");
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}

async function withRetries<T>(what: string, task: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await task();
    } catch (error) {
      if (attempt >= RETRIES || /Invalid params/.test(String((error as Error).message))) {
        throw new ZgError(`${what} failed: ${firstLine(error)}`, "NETWORK", { cause: error });
      }
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
    }
  }
}

/** Reads a file's segments (whole sectors, the last zero-padded) from a path, from memory or from a source. */
class FileSource {
  private constructor(
    readonly size: number,
    private readonly handle: FileHandle | undefined,
    private readonly from: Uint8Array | MerkleSource | undefined,
  ) {}

  static async open(input: string | Uint8Array | MerkleSource): Promise<FileSource> {
    if (typeof input !== "string")
      return new FileSource(input instanceof Uint8Array ? input.length : input.size, undefined, input);
    const info = await stat(input).catch(() => undefined);
    if (!info?.isFile()) throw new ZgError(`${input} is not a readable file`, "BAD_INPUT");
    return new FileSource(info.size, await open(input, "r"), undefined);
  }

  async segment(index: number): Promise<Uint8Array> {
    const length = segmentLength(this.size, index);
    const out = new Uint8Array(length);
    const offset = index * SEGMENT_SIZE;
    const available = Math.min(length, this.size - offset);
    if (this.from instanceof Uint8Array) out.set(this.from.subarray(offset, offset + available));
    else if (this.from) await this.from.read(out.subarray(0, available), offset);
    else await this.handle!.read(out, 0, available, offset);
    return out;
  }

  async close(): Promise<void> {
    await this.handle?.close();
  }
}

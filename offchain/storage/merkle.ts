/**
 * The 0G storage Merkle maths: a file's root, its segment roots, its Flow submission and its segment proofs,
 * bit for bit as the official 0G TS SDK (`@0gfoundation/0g-ts-sdk` 1.2.8, `lib.commonjs/file/`) computes
 * them, and ≈29× faster (bench/merkle.ts, 2-core box: 536 MB/s against the SDK's 18 MB/s on 256 MiB).
 *
 * The SDK's rules, as read from its code:
 * - A sector (the SDK's "chunk") is 256 bytes; its leaf is keccak256 of the sector, the last one zero-padded.
 * - The file is first flow-padded with zero sectors to `paddedSectors(numSectors)` (computePaddedSize).
 * - A segment is 1024 sectors; its root is the SDK tree over its sectors. The last segment of the padded
 *   file may be partial: its tree has only the sectors that remain (it is not padded to 1024). Segments
 *   made only of flow padding are part of the file tree too.
 * - The file root is the SDK tree over the segment roots of the padded file. An SDK tree pairs neighbours
 *   level by level and promotes an odd trailing node unchanged.
 * - The submission splits the padded sectors into descending powers of two (splitNodes); each node's root
 *   is the tree over its own sectors (its segment roots for nodes of 1024 sectors or more) and its height
 *   is log2 of its sector count.
 * - A segment proof is the SDK's `proofAt(segmentIndex)` in the file tree: `lemma = [segment root,
 *   siblings bottom-up…, file root]` and `path[i]` true when the running node is the left child; a
 *   promoted level adds nothing. A file of one segment has `lemma = [root]`, `path = []`.
 *
 * Empty input: the SDK returns a null tree (no root) and a submission with no nodes, which the Flow
 * contract cannot accept. There is no 0G root for 0 bytes, so every function here rejects a 0-byte file
 * with ZgError("BAD_INPUT").
 */
import { open, type FileHandle } from "node:fs/promises";
import { availableParallelism } from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { isHexString } from "ethers";
import { ZgError } from "../core/errors";
import {
  HASH_SIZE,
  MERKLE_WORKER_ROLE,
  MerkleKernel,
  SECTOR_SIZE,
  SECTORS_PER_SEGMENT,
  SEGMENT_SIZE,
  type SegmentHashReply,
  type SegmentHashRequest,
} from "./merkle-worker";

export { SECTOR_SIZE, SECTORS_PER_SEGMENT, SEGMENT_SIZE };

/** Bytes read on demand: `read` fills `target` with the bytes at `position`, or throws. */
export interface MerkleSource {
  size: number;
  read(target: Uint8Array, position: number): Promise<void>;
}

/** What to hash: the bytes themselves, the path of a file (streamed, never loaded whole), or a source. */
export type MerkleInput = Uint8Array | string | MerkleSource;

/** How `computeFileMerkle` hashes: `auto` uses the worker pool above 8 MiB, this thread below. */
export type MerkleHashing = "auto" | "in-thread" | "workers";

export interface FileMerkleOptions {
  /** The submission's `tags` (0x-hex bytes), as passed to the SDK's `createSubmission(tags)`; default "0x". */
  tags?: string;
  /** Default "auto". "workers" fails rather than falling back when the pool cannot start. */
  hashing?: MerkleHashing;
}

/** How a file of `size` bytes is laid out in sectors and segments (the SDK's counters). */
export interface FileLayout {
  /** File size in bytes. */
  size: number;
  /** Sectors holding data: ceil(size / 256) (SDK `numChunks()`). */
  numSectors: number;
  /** Sectors after flow padding (SDK `computePaddedSize(numChunks)[0]`): the leaves of all segment trees. */
  numSectorsPadded: number;
  /** Segments holding data: ceil(size / 256 KiB) (SDK `numSegments()`); only these are uploaded. */
  numSegments: number;
  /** Segments of the padded file (SDK `numSegmentsPadded()`): the leaves of the file tree. */
  numSegmentsPadded: number;
}

/** One node of a Flow submission: a subtree of 2^height sectors and its root. */
export interface SubmissionNode {
  root: string;
  height: number;
}

/** The Flow `Submission` (the `data` of the SDK's `createSubmission(tags)`). */
export interface Submission {
  /** File size in bytes. */
  length: number;
  tags: string;
  nodes: SubmissionNode[];
}

/** A file's Merkle data. Hashes are 0x-prefixed lowercase hex, as the SDK prints them. */
export interface FileMerkle extends FileLayout {
  /** The file root (SDK `(await file.merkleTree())[0].rootHash()`). */
  root: string;
  /** The root of every segment of the padded file, in order (`numSegmentsPadded` of them). */
  segmentRoots: string[];
  submission: Submission;
}

/** A segment proof in the SDK / 0G node JSON shape (`FileProof`). */
export interface SegmentProof {
  lemma: string[];
  path: boolean[];
}

/** A segment as the SDK uploads it and a node serves it (`SegmentWithProof`). */
export interface SegmentWithProof {
  /** The file root. */
  root: string;
  /** The segment's bytes in base64: whole sectors, the last sector of the file zero-padded. */
  data: string;
  index: number;
  proof: SegmentProof;
  fileSize: number;
}

/** Inputs up to this size are hashed on the calling thread in "auto" mode (~25 ms). */
const IN_THREAD_MAX = 8 * 1024 * 1024;
/** Segments per read / per worker task (4 MiB). */
const BATCH_SEGMENTS = 16;
const BATCH_SIZE = BATCH_SEGMENTS * SEGMENT_SIZE;
/** Tasks queued per worker, so that a worker never waits for the next read. */
const TASKS_PER_WORKER = 2;
const MAX_WORKERS = 8;

// --- Layout -----------------------------------------------------------------------------------------------

/** Sectors after flow padding (SDK `computePaddedSize`): a power of two stays; otherwise round up to a
 * multiple of nextPow2/16 (or of 1 below 16 sectors), which caps padding at about 1/16. */
export function paddedSectors(numSectors: number): number {
  assertCount(numSectors, "sector count");
  const nextPow2 = nextPowerOfTwo(numSectors);
  if (nextPow2 === numSectors) return numSectors;
  const minChunk = nextPow2 >= 16 ? nextPow2 / 16 : 1;
  return Math.ceil(numSectors / minChunk) * minChunk;
}

/** The sector counts of the submission nodes (SDK `splitNodes`): the padded sectors as descending powers
 * of two. */
export function submissionNodeSizes(numSectors: number): number[] {
  let remaining = paddedSectors(numSectors);
  const sizes: number[] = [];
  for (let size = nextPowerOfTwo(numSectors); remaining > 0; size /= 2) {
    if (remaining >= size) {
      sizes.push(size);
      remaining -= size;
    }
  }
  return sizes;
}

/** The layout of a file of `size` bytes (> 0). */
export function fileLayout(size: number): FileLayout {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new ZgError(`file size must be a non-negative integer, not ${size}`, "BAD_INPUT");
  }
  if (size === 0) {
    throw new ZgError(
      "a 0-byte file has no 0G Merkle root (the 0G SDK yields no tree for it); store at least 1 byte",
      "BAD_INPUT",
    );
  }
  const numSectors = Math.ceil(size / SECTOR_SIZE);
  const numSectorsPadded = paddedSectors(numSectors);
  return {
    size,
    numSectors,
    numSectorsPadded,
    numSegments: Math.ceil(size / SEGMENT_SIZE),
    numSegmentsPadded: Math.ceil(numSectorsPadded / SECTORS_PER_SEGMENT),
  };
}

/** Leaves of segment `segmentIndex` in the file tree of a `fileSize`-byte file: 1024, or fewer for the last
 * segment of the padded file. This is how far the segment's bytes are zero-padded before hashing. */
export function segmentSectors(fileSize: number, segmentIndex: number): number {
  const layout = fileLayout(fileSize);
  if (!Number.isSafeInteger(segmentIndex) || segmentIndex < 0 || segmentIndex >= layout.numSegmentsPadded) {
    throw new ZgError(
      `segment index ${segmentIndex} is outside 0..${layout.numSegmentsPadded - 1}`,
      "BAD_INPUT",
    );
  }
  return Math.min(SECTORS_PER_SEGMENT, layout.numSectorsPadded - segmentIndex * SECTORS_PER_SEGMENT);
}

// --- Roots ------------------------------------------------------------------------------------------------

/**
 * The Merkle data of a file: root, segment roots, counters and the Flow submission, equal to the SDK's
 * `merkleTree()` and `createSubmission(tags)` for the same bytes. A path is read in 4 MiB batches, and
 * above 8 MiB the batches are hashed by a pool of worker threads (one per core).
 */
export async function computeFileMerkle(
  input: MerkleInput,
  options: FileMerkleOptions = {},
): Promise<FileMerkle> {
  const tags = options.tags ?? "0x";
  if (!isHexString(tags) || tags.length % 2 !== 0) {
    throw new ZgError(
      `submission tags must be 0x-prefixed hex bytes, not ${JSON.stringify(tags)}`,
      "BAD_INPUT",
    );
  }
  const hashing = options.hashing ?? "auto";
  if (typeof input === "string") {
    let file: FileHandle;
    try {
      file = await open(input, "r");
    } catch (error) {
      throw new ZgError(`cannot open ${input}: ${(error as Error).message}`, "BAD_INPUT", { cause: error });
    }
    try {
      const { size } = await file.stat();
      return await merkleOf(fileSource(file, input, size), tags, hashing);
    } finally {
      await file.close();
    }
  }
  if (input instanceof Uint8Array) return merkleOf(bytesSource(input), tags, hashing);
  if (
    input &&
    typeof input === "object" &&
    typeof input.read === "function" &&
    Number.isSafeInteger(input.size)
  )
    return merkleOf(input, tags, hashing);
  throw new ZgError(
    "computeFileMerkle takes bytes (a Uint8Array or Buffer), a file path or a MerkleSource",
    "BAD_INPUT",
  );
}

/** The file root alone (SDK `merkleTree()` → `rootHash()`). */
export async function fileRoot(
  input: MerkleInput,
  options: Omit<FileMerkleOptions, "tags"> = {},
): Promise<string> {
  return (await computeFileMerkle(input, options)).root;
}

/** The same submission with other tags (the nodes do not depend on them). */
export function createSubmission(merkle: FileMerkle, tags = "0x"): Submission {
  if (!isHexString(tags) || tags.length % 2 !== 0) {
    throw new ZgError(
      `submission tags must be 0x-prefixed hex bytes, not ${JSON.stringify(tags)}`,
      "BAD_INPUT",
    );
  }
  return { length: merkle.size, tags, nodes: merkle.submission.nodes.map((node) => ({ ...node })) };
}

/**
 * The root of one segment from its bytes (SDK `AbstractFile.segmentRoot`): the bytes are zero-padded to
 * `sectors` sectors, by default to the next whole sector. For the last data segment of a file pass
 * `segmentSectors(fileSize, index)`, since flow padding may extend that segment's tree.
 */
export function segmentRoot(data: Uint8Array, sectors?: number): string {
  const leaves = sectors ?? Math.ceil(data.length / SECTOR_SIZE);
  if (!Number.isSafeInteger(leaves) || leaves < 1 || leaves > SECTORS_PER_SEGMENT) {
    throw new ZgError(`a segment has 1 to ${SECTORS_PER_SEGMENT} sectors, not ${leaves}`, "BAD_INPUT");
  }
  if (data.length > leaves * SECTOR_SIZE) {
    throw new ZgError(`${data.length} bytes do not fit in ${leaves} sectors`, "BAD_INPUT");
  }
  const root = new Uint8Array(HASH_SIZE);
  kernel().sectorsRoot(data, leaves, root);
  return toHex(root);
}

// --- Proofs -----------------------------------------------------------------------------------------------

/** The proof of segment `segmentIndex` in the file tree, as the SDK's `tree.proofAt(segmentIndex)`. */
export function segmentProof(merkle: FileMerkle, segmentIndex: number): SegmentProof {
  const count = merkle.numSegmentsPadded;
  if (!Number.isSafeInteger(segmentIndex) || segmentIndex < 0 || segmentIndex >= count) {
    throw new ZgError(`segment index ${segmentIndex} is outside 0..${count - 1}`, "BAD_INPUT");
  }
  const levels = treeLevelsOf(merkle);
  if (count === 1) return { lemma: [merkle.root], path: [] };
  const lemma = [hashAt(levels[0], segmentIndex)];
  const proofPath: boolean[] = [];
  let index = segmentIndex;
  for (let depth = 0; depth < levels.length - 1; depth++) {
    const width = levels[depth].length / HASH_SIZE;
    if (index % 2 === 1) {
      lemma.push(hashAt(levels[depth], index - 1));
      proofPath.push(false);
    } else if (index + 1 < width) {
      lemma.push(hashAt(levels[depth], index + 1));
      proofPath.push(true);
    } // else the node is promoted: no sibling at this level
    index = Math.floor(index / 2);
  }
  lemma.push(merkle.root);
  return { lemma, path: proofPath };
}

/**
 * Whether `proof` proves that `segment` (its root as hex, or its bytes) is segment `segmentIndex` of the
 * `numSegments`-leaf file tree with root `fileRoot`. Bytes are zero-padded to whole sectors, or, when
 * `fileSize` is given, to the segment's sector count in that file (needed for the last data segment when
 * flow padding extends it). Stricter than the SDK's `Proof.validateHash`: the path must be exactly the
 * path of `segmentIndex` among `numSegments` leaves, and a one-leaf proof must equal `fileRoot`.
 * Anything wrong with the proof, the segment or the index gives false; a malformed `fileRoot`,
 * `numSegments` or `fileSize` throws ZgError("BAD_INPUT").
 */
export function verifySegmentProof(
  proof: SegmentProof,
  segment: string | Uint8Array,
  fileRoot: string,
  segmentIndex: number,
  numSegments: number,
  fileSize?: number,
): boolean {
  if (!isHash(fileRoot))
    throw new ZgError(`file root must be a 32-byte hex hash, not ${fileRoot}`, "BAD_INPUT");
  assertCount(numSegments, "segment count");
  if (fileSize !== undefined && fileLayout(fileSize).numSegmentsPadded !== numSegments) {
    throw new ZgError(
      `a ${fileSize}-byte file has ${fileLayout(fileSize).numSegmentsPadded} segments, not ${numSegments}`,
      "BAD_INPUT",
    );
  }
  if (!Number.isSafeInteger(segmentIndex) || segmentIndex < 0 || segmentIndex >= numSegments) return false;
  let leaf: string;
  if (typeof segment === "string") {
    if (!isHash(segment)) return false;
    leaf = segment.toLowerCase();
  } else if (segment instanceof Uint8Array) {
    const sectors =
      fileSize === undefined
        ? Math.ceil(segment.length / SECTOR_SIZE)
        : segmentSectors(fileSize, segmentIndex);
    if (segment.length === 0 || sectors > SECTORS_PER_SEGMENT || segment.length > sectors * SECTOR_SIZE)
      return false;
    leaf = segmentRoot(segment, sectors);
  } else {
    return false;
  }
  return verifyPath(proof, leaf, fileRoot.toLowerCase(), segmentIndex, numSegments);
}

/** The upload form of segment `segmentIndex` (a data segment), checked against the segment's root. `data`
 * is the segment as read from the file (the last one may be short; it is sector-padded like the SDK's).
 * `check: false` skips hashing the bytes again: for a sender whose receivers verify every segment against the
 * root anyway (our storage nodes do), so that a file changed since it was hashed is still refused, by them. */
export function segmentWithProof(
  merkle: FileMerkle,
  segmentIndex: number,
  data: Uint8Array,
  options: { check?: boolean } = {},
): SegmentWithProof {
  if (!Number.isSafeInteger(segmentIndex) || segmentIndex < 0 || segmentIndex >= merkle.numSegments) {
    throw new ZgError(
      `data segment index ${segmentIndex} is outside 0..${merkle.numSegments - 1}`,
      "BAD_INPUT",
    );
  }
  const dataSectors = Math.min(SECTORS_PER_SEGMENT, merkle.numSectors - segmentIndex * SECTORS_PER_SEGMENT);
  const rawLength = Math.min(SEGMENT_SIZE, merkle.size - segmentIndex * SEGMENT_SIZE);
  if (data.length !== rawLength && data.length !== dataSectors * SECTOR_SIZE) {
    throw new ZgError(
      `segment ${segmentIndex} of a ${merkle.size}-byte file has ${rawLength} bytes, not ${data.length}`,
      "BAD_INPUT",
    );
  }
  let padded = data;
  if (data.length !== dataSectors * SECTOR_SIZE) {
    padded = new Uint8Array(dataSectors * SECTOR_SIZE);
    padded.set(data);
  }
  if (
    options.check !== false &&
    segmentRoot(padded, segmentSectors(merkle.size, segmentIndex)) !== merkle.segmentRoots[segmentIndex]
  ) {
    throw new ZgError(`these bytes are not segment ${segmentIndex} of file ${merkle.root}`, "BAD_INPUT");
  }
  return {
    root: merkle.root,
    data: Buffer.from(padded.buffer, padded.byteOffset, padded.length).toString("base64"),
    index: segmentIndex,
    proof: segmentProof(merkle, segmentIndex),
    fileSize: merkle.size,
  };
}

/** Whether a segment served by a node (or built by `segmentWithProof`) belongs to the file it names.
 * Everything in it is untrusted: anything malformed gives false. */
export function verifySegmentWithProof(segment: SegmentWithProof): boolean {
  const claim = segmentClaim(segment);
  return claim !== undefined && claimHolds(claim, segmentRoot(claim.bytes, claim.sectors));
}

/**
 * Checks segments of the file `root` of `fileSize` bytes, given as bytes with the index and proof a node claims
 * for them (null for one it did not give), many at once, their hashing on the worker pool: the bytes of each one
 * that is that segment of that file, of its length, with a proof that leads to `root`; undefined for any other.
 */
export async function provenFrames(
  root: string,
  fileSize: number,
  frames: ({ index: number; bytes: Uint8Array; proof: SegmentProof } | null)[],
): Promise<(Uint8Array | undefined)[]> {
  // A file small enough to hash on this thread is, rather than waiting for the worker pool to start.
  const hashing = fileSize <= IN_THREAD_MAX ? "in-thread" : "auto";
  const numSegments = fileLayout(fileSize).numSegmentsPadded;
  return provenClaims(
    frames.map((frame) => {
      if (!frame || !Number.isSafeInteger(frame.index) || frame.index < 0 || frame.index >= numSegments)
        return undefined;
      const sectors = segmentSectors(fileSize, frame.index);
      const { bytes } = frame;
      if (bytes.length === 0 || bytes.length > sectors * SECTOR_SIZE) return undefined;
      return { bytes, sectors, proof: frame.proof, root, index: frame.index, numSegments };
    }),
    hashing,
  );
}

async function provenClaims(
  claims: (SegmentClaim | undefined)[],
  hashing: "auto" | "in-thread" = "auto",
): Promise<(Uint8Array | undefined)[]> {
  const present = claims.filter((claim): claim is SegmentClaim => claim !== undefined);
  const roots = await segmentRootsOf(present, hashing);
  let next = 0;
  return claims.map((claim) => (claim && claimHolds(claim, roots[next++]) ? claim.bytes : undefined));
}

/** What a segment with proof claims, decoded and checked for shape; undefined when anything is malformed. */
interface SegmentClaim {
  bytes: Uint8Array;
  sectors: number;
  proof: SegmentProof;
  root: string;
  index: number;
  numSegments: number;
}

function segmentClaim(segment: SegmentWithProof): SegmentClaim | undefined {
  const candidate = segment as Partial<SegmentWithProof> | null;
  if (!candidate || !isHash(candidate.root)) return undefined;
  const { fileSize, index } = candidate;
  if (!Number.isSafeInteger(fileSize) || (fileSize as number) <= 0) return undefined;
  const numSegments = fileLayout(fileSize as number).numSegmentsPadded;
  if (!Number.isSafeInteger(index) || (index as number) < 0 || (index as number) >= numSegments)
    return undefined;
  const bytes = base64Bytes(candidate.data);
  const sectors = segmentSectors(fileSize as number, index as number);
  if (!bytes || bytes.length === 0 || bytes.length > sectors * SECTOR_SIZE) return undefined;
  return {
    bytes,
    sectors,
    proof: candidate.proof as SegmentProof,
    root: candidate.root,
    index: index as number,
    numSegments,
  };
}

function claimHolds(claim: SegmentClaim, segmentRootHex: string): boolean {
  return verifyPath(claim.proof, segmentRootHex, claim.root.toLowerCase(), claim.index, claim.numSegments);
}

/**
 * The roots of segments given as bytes and leaf counts (`segmentRoot` of each). Whole segments go to the worker
 * pool in one task when there are several of them, it runs and `hashing` is "auto", so that the caller's thread is free meanwhile;
 * anything else is hashed here.
 */
export async function segmentRootsOf(
  segments: { bytes: Uint8Array; sectors: number }[],
  hashing: "auto" | "in-thread" = "auto",
): Promise<string[]> {
  const roots: string[] = new Array(segments.length);
  const whole = segments.flatMap((segment, i) => (segment.sectors === SECTORS_PER_SEGMENT ? [i] : []));
  if (hashing === "auto" && whole.length >= 2 && poolWanted()) {
    const buffer = new ArrayBuffer(whole.length * SEGMENT_SIZE);
    const packed = new Uint8Array(buffer);
    whole.forEach((i, slot) => packed.set(segments[i].bytes, slot * SEGMENT_SIZE));
    try {
      const hashed = await getPool().hash(buffer, buffer.byteLength, whole.length * SECTORS_PER_SEGMENT);
      whole.forEach((i, slot) => (roots[i] = hashAt(hashed.roots, slot)));
    } catch (error) {
      if (!(error instanceof PoolUnavailableError)) throw error;
      poolUnavailable = error;
    }
  }
  segments.forEach((segment, i) => (roots[i] ??= segmentRoot(segment.bytes, segment.sectors)));
  return roots;
}

/**
 * The bytes of padded base64 text, or undefined when it is not base64. Node's decoder skips characters outside
 * the alphabet and stops at an early "=", so a decoded length short of the text's is what betrays them: O(1)
 * beyond the decode itself, where a regular expression over a 350 KB segment cost more than hashing it.
 */
export function base64Bytes(text: unknown): Uint8Array | undefined {
  if (typeof text !== "string" || text.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(text, "base64");
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  if (bytes.length !== (text.length / 4) * 3 - padding) return undefined;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * Readies the hashing a caller will need to verify a file of `fileSize` bytes, for it to happen while the caller
 * waits for the bytes: the worker pool for a file too large for this thread, so that the first segments do not
 * wait for the workers to start; otherwise this thread's hasher (its WebAssembly emitted, compiled and run once,
 * 5 to 15 ms in a fresh process), once the I/O already under way has been started. Later calls cost nothing.
 */
export function prepareMerkle(fileSize: number): void {
  if (fileSize > IN_THREAD_MAX && poolWanted()) getPool();
  else if (!sharedKernel)
    setImmediate(() =>
      kernel().sectorsRoot(new Uint8Array(SEGMENT_SIZE), SECTORS_PER_SEGMENT, new Uint8Array(HASH_SIZE)),
    );
}

/** Stops the worker pool (it is idle-unref'd anyway, so this is only for tidy shutdowns and benchmarks). */
export async function closeMerkleWorkers(): Promise<void> {
  const current = pool;
  pool = undefined;
  await current?.close();
}

// --- Internals: computing the tree ------------------------------------------------------------------------

/** Where file bytes come from. */
interface ByteSource extends MerkleSource {
  /** Set for in-memory input, so that in-thread hashing reads it in place. */
  bytes?: Uint8Array;
}

function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    bytes,
    async read(target, position) {
      target.set(bytes.subarray(position, position + target.length));
    },
  };
}

function fileSource(file: FileHandle, filePath: string, size: number): ByteSource {
  return {
    size,
    async read(target, position) {
      let done = 0;
      while (done < target.length) {
        const { bytesRead } = await file.read(target, done, target.length - done, position + done);
        if (bytesRead === 0) {
          throw new ZgError(`${filePath} shrank while it was being hashed`, "BAD_INPUT");
        }
        done += bytesRead;
      }
    },
  };
}

/** The last data segment's bytes, kept for submission nodes smaller than a segment (files ≤ 2 MiB). */
interface Tail {
  start: number;
  bytes: Uint8Array;
}

async function merkleOf(source: ByteSource, tags: string, hashing: MerkleHashing): Promise<FileMerkle> {
  const layout = fileLayout(source.size);
  const roots = new Uint8Array(HASH_SIZE * layout.numSegmentsPadded);
  const usePool =
    hashing === "workers" || (hashing === "auto" && source.size > IN_THREAD_MAX && poolWanted());
  let tail: Tail | undefined;
  if (usePool) {
    try {
      tail = await hashWithPool(source, layout, roots);
    } catch (error) {
      if (!(error instanceof PoolUnavailableError) || hashing === "workers") throw error;
      poolUnavailable = error; // "auto": hash here, and do not try to start workers again
    }
  }
  tail ??= await hashInThread(source, layout, roots);

  const work = kernel();
  for (let segment = layout.numSegments; segment < layout.numSegmentsPadded; segment++) {
    const sectors = Math.min(SECTORS_PER_SEGMENT, layout.numSectorsPadded - segment * SECTORS_PER_SEGMENT);
    work.sectorsRoot(new Uint8Array(0), sectors, roots, HASH_SIZE * segment);
  }
  const levels = work.treeLevels(roots);
  const merkle: FileMerkle = {
    root: hashAt(levels[levels.length - 1], 0),
    ...layout,
    segmentRoots: Array.from({ length: layout.numSegmentsPadded }, (_, segment) => hashAt(roots, segment)),
    submission: { length: layout.size, tags, nodes: submissionNodes(layout, roots, tail) },
  };
  treeCache.set(merkle, levels);
  return merkle;
}

/** Data segment roots on this thread; in-memory bytes are hashed in place, files in 4 MiB reads. */
async function hashInThread(source: ByteSource, layout: FileLayout, roots: Uint8Array): Promise<Tail> {
  const work = kernel();
  const dataSectors = Math.min(layout.numSegments * SECTORS_PER_SEGMENT, layout.numSectorsPadded);
  const tailStart = (layout.numSegments - 1) * SEGMENT_SIZE;
  if (source.bytes) {
    work.segmentRoots(source.bytes, dataSectors, roots);
    return { start: tailStart, bytes: source.bytes.subarray(tailStart) };
  }
  const buffer = new Uint8Array(Math.min(BATCH_SIZE, source.size));
  let tail: Tail | undefined;
  for (let start = 0; start < source.size; start += BATCH_SIZE) {
    const view = buffer.subarray(0, Math.min(BATCH_SIZE, source.size - start));
    await source.read(view, start);
    const firstSegment = start / SEGMENT_SIZE;
    work.segmentRoots(view, batchSectors(layout, firstSegment, view.length), roots, HASH_SIZE * firstSegment);
    if (start + view.length === source.size)
      tail = { start: tailStart, bytes: view.slice(tailStart - start) };
  }
  return tail as Tail;
}

/** Leaves of the segments [firstSegment, …) holding `length` bytes of data, flow padding included. */
function batchSectors(layout: FileLayout, firstSegment: number, length: number): number {
  const lastSegment = firstSegment + Math.ceil(length / SEGMENT_SIZE);
  return (
    Math.min(lastSegment * SECTORS_PER_SEGMENT, layout.numSectorsPadded) - firstSegment * SECTORS_PER_SEGMENT
  );
}

/** Data segment roots by the worker pool: reads 4 MiB batches while the workers hash the previous ones. */
async function hashWithPool(source: ByteSource, layout: FileLayout, roots: Uint8Array): Promise<Tail> {
  const workers = getPool();
  const maxInFlight = workers.size * TASKS_PER_WORKER;
  const spare: ArrayBuffer[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let tail: Tail | undefined;
  const tailStart = (layout.numSegments - 1) * SEGMENT_SIZE;
  for (let start = 0; start < source.size && failure === undefined; start += BATCH_SIZE) {
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    if (failure !== undefined) break;
    const buffer = spare.pop() ?? new ArrayBuffer(BATCH_SIZE);
    const length = Math.min(BATCH_SIZE, source.size - start);
    const view = new Uint8Array(buffer, 0, length);
    await source.read(view, start);
    if (start + length === source.size) tail = { start: tailStart, bytes: view.slice(tailStart - start) };
    const firstSegment = start / SEGMENT_SIZE;
    const task: Promise<void> = workers
      .hash(buffer, length, batchSectors(layout, firstSegment, length))
      .then(
        (result) => {
          roots.set(result.roots, HASH_SIZE * firstSegment);
          spare.push(result.buffer);
        },
        (error: unknown) => {
          failure ??= error;
        },
      )
      .finally(() => inFlight.delete(task));
    inFlight.add(task);
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;
  return tail as Tail;
}

/** The submission nodes (SDK `createSubmission`): whole-segment nodes from the segment roots, smaller ones
 * (which only exist in the last segment) from the tail bytes. */
function submissionNodes(layout: FileLayout, roots: Uint8Array, tail: Tail): SubmissionNode[] {
  const work = kernel();
  const nodes: SubmissionNode[] = [];
  let offset = 0; // in sectors
  for (const sectors of submissionNodeSizes(layout.numSectors)) {
    const root = new Uint8Array(HASH_SIZE);
    if (sectors >= SECTORS_PER_SEGMENT) {
      const first = offset / SECTORS_PER_SEGMENT;
      const count = sectors / SECTORS_PER_SEGMENT;
      const levels = work.treeLevels(roots.subarray(HASH_SIZE * first, HASH_SIZE * (first + count)));
      root.set(levels[levels.length - 1]);
    } else {
      const from = offset * SECTOR_SIZE - tail.start;
      if (from < 0)
        throw new Error(`internal: sub-segment node at sector ${offset} precedes the last segment`);
      const bytes = tail.bytes.subarray(Math.min(from, tail.bytes.length), from + sectors * SECTOR_SIZE);
      work.sectorsRoot(bytes, sectors, root);
    }
    nodes.push({ root: toHex(root), height: Math.round(Math.log2(sectors)) });
    offset += sectors;
  }
  return nodes;
}

// --- Internals: proofs ------------------------------------------------------------------------------------

/** The file tree's levels of each FileMerkle this module made; rebuilt (and checked) for any other. */
const treeCache = new WeakMap<FileMerkle, Uint8Array[]>();

function treeLevelsOf(merkle: FileMerkle): Uint8Array[] {
  let levels = treeCache.get(merkle);
  if (!levels) {
    const roots = merkle.segmentRoots;
    if (!Array.isArray(roots) || roots.length !== merkle.numSegmentsPadded || !roots.every(isHash)) {
      throw new ZgError("this FileMerkle has no valid segmentRoots", "BAD_INPUT");
    }
    const leaves = new Uint8Array(HASH_SIZE * roots.length);
    roots.forEach((root, index) => leaves.set(Buffer.from(root.slice(2), "hex"), HASH_SIZE * index));
    levels = kernel().treeLevels(leaves);
    if (hashAt(levels[levels.length - 1], 0) !== merkle.root.toLowerCase()) {
      throw new ZgError("this FileMerkle's segmentRoots do not hash to its root", "BAD_INPUT");
    }
    treeCache.set(merkle, levels);
  }
  return levels;
}

/** The path flags of leaf `index` among `count` leaves of an SDK tree (promoted levels add none). */
function expectedPath(index: number, count: number): boolean[] {
  const flags: boolean[] = [];
  let position = index;
  for (let width = count; width > 1; width = Math.ceil(width / 2)) {
    if (position % 2 === 1) flags.push(false);
    else if (position + 1 < width) flags.push(true);
    position = Math.floor(position / 2);
  }
  return flags;
}

function verifyPath(proof: SegmentProof, leaf: string, root: string, index: number, count: number): boolean {
  const candidate = proof as Partial<SegmentProof> | null;
  if (!candidate || !Array.isArray(candidate.lemma) || !Array.isArray(candidate.path)) return false;
  const { lemma, path: flags } = candidate as SegmentProof;
  if (!lemma.every(isHash) || !flags.every((flag) => typeof flag === "boolean")) return false;
  const expected = expectedPath(index, count);
  if (flags.length !== expected.length || flags.some((flag, i) => flag !== expected[i])) return false;
  if (count === 1) return lemma.length === 1 && lemma[0].toLowerCase() === leaf && leaf === root;
  if (lemma.length !== flags.length + 2) return false;
  if (lemma[0].toLowerCase() !== leaf || lemma[lemma.length - 1].toLowerCase() !== root) return false;
  const work = kernel();
  let hash = fromHex(leaf);
  flags.forEach((isLeft, i) => {
    const sibling = fromHex(lemma[i + 1]);
    hash = isLeft ? work.hashPair(hash, sibling) : work.hashPair(sibling, hash);
  });
  return toHex(hash) === root;
}

// --- Internals: the worker pool ---------------------------------------------------------------------------

/** The pool could not start or lost a worker; "auto" hashing falls back to this thread. */
class PoolUnavailableError extends ZgError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, "ZG_ERROR", options);
  }
}

interface PendingTask {
  resolve(result: { roots: Uint8Array; buffer: ArrayBuffer }): void;
  reject(error: unknown): void;
}

interface PooledWorker {
  worker: Worker;
  pending: Map<number, PendingTask>;
}

/**
 * Long-lived hashing workers, started on first use. A worker is `ref`ed only while it has tasks, so an idle
 * pool never keeps the process alive, and a caller awaiting a task does.
 */
class MerkleWorkerPool {
  private readonly workers: PooledWorker[] = [];
  private nextId = 1;

  constructor(readonly size: number) {
    for (let i = 0; i < size; i++) this.workers.push(this.spawn());
  }

  hash(
    buffer: ArrayBuffer,
    byteLength: number,
    sectors: number,
  ): Promise<{ roots: Uint8Array; buffer: ArrayBuffer }> {
    const target = this.workers.reduce((best, next) => (next.pending.size < best.pending.size ? next : best));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      target.pending.set(id, { resolve, reject });
      if (target.pending.size === 1) target.worker.ref();
      const request: SegmentHashRequest = { id, buffer, byteLength, sectors };
      target.worker.postMessage(request, [buffer]);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map(({ worker }) => worker.terminate()));
  }

  private spawn(): PooledWorker {
    const worker = startWorker();
    const entry: PooledWorker = { worker, pending: new Map() };
    worker.unref();
    // A worker unref'd before it is online is ref'd again when it comes online: a worker given no task yet (one
    // task for a pool of two) would then keep the process alive forever.
    worker.once("online", () => {
      if (entry.pending.size === 0) worker.unref();
    });
    worker.on("message", (reply: SegmentHashReply) => {
      const task = entry.pending.get(reply.id);
      if (!task) return;
      entry.pending.delete(reply.id);
      if (entry.pending.size === 0) worker.unref();
      if ("error" in reply) task.reject(new ZgError(`Merkle worker: ${reply.error}`, "ZG_ERROR"));
      else task.resolve({ roots: new Uint8Array(reply.roots), buffer: reply.buffer });
    });
    const fail = (error: unknown) => {
      const reason = error instanceof Error ? error.message : String(error);
      const failure = new PoolUnavailableError(`the Merkle worker pool failed: ${reason}`, { cause: error });
      for (const task of entry.pending.values()) task.reject(failure);
      entry.pending.clear();
      if (pool === this) {
        // Retire the whole pool: terminating the others rejects their tasks through their "exit" handlers.
        pool = undefined;
        void this.close();
      }
    };
    worker.on("error", fail);
    worker.on("messageerror", fail);
    worker.on("exit", (code) => {
      if (entry.pending.size > 0 || pool === this) fail(new Error(`a worker exited with code ${code}`));
    });
    return entry;
  }
}

/**
 * Starts one worker. From compiled JS (dist/, the CLI) it runs merkle-worker.js beside this file. From TS
 * source (ts-node: tests, scripts) it runs merkle-worker.ts through ts-node's transpile-only hook, which a
 * worker does not inherit from its parent; the worker imports only node:worker_threads, so this costs one
 * transpile of that file.
 */
function startWorker(): Worker {
  const workerData = { role: MERKLE_WORKER_ROLE };
  if (__filename.endsWith(".ts")) {
    const register = require.resolve("ts-node/register/transpile-only");
    const script = path.join(__dirname, "merkle-worker.ts");
    const bootstrap = `require(${JSON.stringify(register)});\nrequire(${JSON.stringify(script)});\n`;
    return new Worker(bootstrap, { eval: true, workerData });
  }
  return new Worker(path.join(__dirname, "merkle-worker.js"), { workerData });
}

let pool: MerkleWorkerPool | undefined;
let poolUnavailable: PoolUnavailableError | undefined;

/** Hashing threads of this process: one per core unless set (`useMerkleWorkers`). */
let workersWanted: number | undefined;

function workerCount(): number {
  return workersWanted ?? Math.max(1, Math.min(MAX_WORKERS, availableParallelism()));
}

/** Whether hashing goes to worker threads: when set to any, else when there is more than one core. */
function poolWanted(): boolean {
  return !poolUnavailable && (workersWanted !== undefined ? workersWanted > 0 : workerCount() > 1);
}

/**
 * Sets how many hashing threads this process runs, before the pool first starts (a running pool keeps its size).
 * 0 hashes on the caller's thread: for a process that shares the machine with others that hash too, as each of the
 * devnet's six storage nodes does, where handing segments to threads costs more than it frees.
 */
export function useMerkleWorkers(count: number): void {
  if (!Number.isInteger(count) || count < 0 || count > MAX_WORKERS)
    throw new ZgError(`hashing threads must be 0 to ${MAX_WORKERS}, not ${count}`, "BAD_CONFIG");
  workersWanted = count;
}

function getPool(): MerkleWorkerPool {
  pool ??= new MerkleWorkerPool(workerCount());
  return pool;
}

// --- Internals: helpers -----------------------------------------------------------------------------------

let sharedKernel: MerkleKernel | undefined;

function kernel(): MerkleKernel {
  sharedKernel ??= new MerkleKernel();
  return sharedKernel;
}

function hashAt(level: Uint8Array, index: number): string {
  return toHex(level.subarray(HASH_SIZE * index, HASH_SIZE * (index + 1)));
}

function toHex(bytes: Uint8Array): string {
  return "0x" + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex");
}

function fromHex(hash: string): Uint8Array {
  return new Uint8Array(Buffer.from(hash.slice(2), "hex"));
}

function isHash(value: unknown): value is string {
  return typeof value === "string" && /^0x[0-9a-fA-F]{64}$/.test(value);
}

function nextPowerOfTwo(value: number): number {
  let power = 1;
  while (power < value) power *= 2;
  return power;
}

function assertCount(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ZgError(`${what} must be a positive integer, not ${value}`, "BAD_INPUT");
  }
}

/**
 * The hashing kernel of the 0G storage Merkle tree, and the worker-thread entry that runs it.
 *
 * keccak-256 runs in a tiny WebAssembly module emitted below (about 2 KB, compiled synchronously once per
 * thread). Its two exports hash a whole run of 256-byte sectors (`leaves`) or of 64-byte sibling pairs
 * (`pairs`) per call, so a 256 KiB segment costs about eleven JS→WebAssembly calls instead of one or more
 * per hash. Measured on the 2-core dev box: ≈0.29 µs per keccak-f[1600] permutation, ≈300 MB/s of file per
 * core, against ≈110 MB/s per core through hash-wasm's per-hash `init/update/digest` API (its per-call
 * overhead, not its permutation, is the limit) — and the 0G TS SDK itself does ≈18 MB/s.
 *
 * This file imports nothing but `node:worker_threads`, so a worker starts in milliseconds; `merkle.ts` holds
 * the public API, the file layout rules and the worker pool.
 */
import { isMainThread, parentPort, workerData, type MessagePort } from "node:worker_threads";

/** Bytes per sector: the Merkle leaf (the SDK's "chunk"). */
export const SECTOR_SIZE = 256;
/** Sectors per segment: the unit of upload, download and segment proofs. */
export const SECTORS_PER_SEGMENT = 1024;
/** Bytes per segment (256 KiB). */
export const SEGMENT_SIZE = SECTOR_SIZE * SECTORS_PER_SEGMENT;
/** Bytes of a keccak-256 hash. */
export const HASH_SIZE = 32;

/** `workerData.role` of a Merkle worker, so that importing this file in another worker does nothing. */
export const MERKLE_WORKER_ROLE = "zg-storage-merkle";

/** Main thread → worker: hash the segments held in `buffer` (transferred, and transferred back). */
export interface SegmentHashRequest {
  id: number;
  buffer: ArrayBuffer;
  /** Bytes of file data at the start of `buffer`; anything past them, up to `sectors` sectors, is zero. */
  byteLength: number;
  /** Leaves of the tree these segments hold, flow padding included: the last segment may be partial. */
  sectors: number;
}

/** Worker → main thread: the segment roots (32 bytes each, in order), or why it failed. */
export type SegmentHashReply =
  | { id: number; buffer: ArrayBuffer; roots: ArrayBuffer }
  | { id: number; buffer: ArrayBuffer; error: string };

// Memory of the WebAssembly module: the keccak state, the round constants, a tree scratch of one segment's
// leaf hashes, and an input window of one segment (also used for runs of up to 4096 pairs).
const STATE = 0;
const ROUND_CONSTANTS = 256;
const TREE = 1024;
const INPUT = 65536;
const MEMORY_PAGES = 5; // INPUT + SEGMENT_SIZE = 5 × 64 KiB
const MAX_PAIRS = SEGMENT_SIZE / (2 * HASH_SIZE);

/**
 * keccak-256 Merkle maths over one private WebAssembly instance. Synchronous and single-threaded: each
 * thread makes its own. Every tree follows the 0G SDK's `MerkleTree`: parent = keccak(left ‖ right), and an
 * odd trailing node is promoted to the next level unchanged (never paired with itself or a zero hash).
 */
export class MerkleKernel {
  private readonly memory: Uint8Array;
  private readonly hashLeaves: (source: number, count: number, target: number) => void;
  private readonly hashPairs: (source: number, count: number, target: number) => void;
  private readonly zeroRoots = new Map<number, Uint8Array>();

  constructor() {
    const instance = new (wasmApi().Instance)(keccakModule(), {});
    const exports = instance.exports as WasmExports;
    this.memory = new Uint8Array(exports.memory.buffer);
    this.hashLeaves = exports.leaves;
    this.hashPairs = exports.pairs;
    const view = new DataView(exports.memory.buffer);
    KECCAK_ROUND_CONSTANTS.forEach((constant, round) =>
      view.setBigUint64(ROUND_CONSTANTS + 8 * round, constant, true),
    );
  }

  /**
   * Root of a tree of `sectors` leaves over `data` zero-padded to `sectors × 256` bytes: the SDK's
   * `AbstractFile.segmentRoot` of that (padded) segment. Writes 32 bytes to `out` at `outOffset`.
   */
  sectorsRoot(data: Uint8Array, sectors: number, out: Uint8Array, outOffset = 0): void {
    if (!Number.isInteger(sectors) || sectors < 1 || sectors > SECTORS_PER_SEGMENT) {
      throw new RangeError(`a segment holds 1 to ${SECTORS_PER_SEGMENT} sectors, not ${sectors}`);
    }
    const paddedLength = sectors * SECTOR_SIZE;
    if (data.length > paddedLength) {
      throw new RangeError(`${data.length} bytes do not fit in ${sectors} sectors`);
    }
    if (data.length === 0) {
      out.set(this.zeroRoot(sectors), outOffset);
      return;
    }
    const memory = this.memory;
    memory.set(data, INPUT);
    if (data.length < paddedLength) memory.fill(0, INPUT + data.length, INPUT + paddedLength);
    this.hashLeaves(INPUT, sectors, TREE);
    this.reduceInPlace(TREE, sectors);
    out.set(memory.subarray(TREE, TREE + HASH_SIZE), outOffset);
  }

  /**
   * Roots of the consecutive segments in `data` whose tree leaves number `sectors` in all: every segment
   * has 1024 leaves but the last, which has the rest. Writes 32 bytes per segment to `out` from `outOffset`.
   */
  segmentRoots(data: Uint8Array, sectors: number, out: Uint8Array, outOffset = 0): void {
    const segments = Math.ceil(sectors / SECTORS_PER_SEGMENT);
    for (let segment = 0; segment < segments; segment++) {
      const segmentSectors = Math.min(SECTORS_PER_SEGMENT, sectors - segment * SECTORS_PER_SEGMENT);
      const start = Math.min(segment * SEGMENT_SIZE, data.length);
      const end = Math.min(start + segmentSectors * SECTOR_SIZE, data.length);
      this.sectorsRoot(data.subarray(start, end), segmentSectors, out, outOffset + segment * HASH_SIZE);
    }
  }

  /** keccak256(left ‖ right) of two 32-byte hashes. */
  hashPair(left: Uint8Array, right: Uint8Array): Uint8Array {
    this.memory.set(left, INPUT);
    this.memory.set(right, INPUT + HASH_SIZE);
    this.hashPairs(INPUT, 1, INPUT);
    return this.memory.slice(INPUT, INPUT + HASH_SIZE);
  }

  /** keccak256 of one 256-byte sector (a leaf hash). */
  hashSector(sector: Uint8Array): Uint8Array {
    const out = new Uint8Array(HASH_SIZE);
    this.sectorsRoot(sector, 1, out);
    return out;
  }

  /**
   * Every level of the SDK tree over `leaves` (32-byte hashes, concatenated): `levels[0]` is `leaves`, the
   * last level is the root alone.
   */
  treeLevels(leaves: Uint8Array): Uint8Array[] {
    if (leaves.length === 0 || leaves.length % HASH_SIZE !== 0) {
      throw new RangeError(`a tree needs one or more 32-byte leaves, not ${leaves.length} bytes`);
    }
    const memory = this.memory;
    const levels = [leaves];
    let level = leaves;
    while (level.length > HASH_SIZE) {
      const count = level.length / HASH_SIZE;
      const pairs = Math.floor(count / 2);
      const next = new Uint8Array(HASH_SIZE * (pairs + (count % 2)));
      for (let first = 0; first < pairs; first += MAX_PAIRS) {
        const run = Math.min(MAX_PAIRS, pairs - first);
        memory.set(level.subarray(2 * HASH_SIZE * first, 2 * HASH_SIZE * (first + run)), INPUT);
        this.hashPairs(INPUT, run, INPUT);
        next.set(memory.subarray(INPUT, INPUT + HASH_SIZE * run), HASH_SIZE * first);
      }
      if (count % 2 === 1) next.set(level.subarray(HASH_SIZE * (count - 1)), HASH_SIZE * pairs);
      levels.push(next);
      level = next;
    }
    return levels;
  }

  /** Hashes a level of `count` hashes at `at` down to its root, left at `at`. */
  private reduceInPlace(at: number, count: number): void {
    let remaining = count;
    while (remaining > 1) {
      const pairs = remaining >>> 1;
      // Parent j is written over bytes [32j, 32j+32), which pair j has already been read from.
      this.hashPairs(at, pairs, at);
      if (remaining % 2 === 1) {
        const last = at + HASH_SIZE * (remaining - 1);
        this.memory.copyWithin(at + HASH_SIZE * pairs, last, last + HASH_SIZE);
      }
      remaining = pairs + (remaining % 2);
    }
  }

  /** The root of `sectors` all-zero sectors (flow padding), cached. */
  private zeroRoot(sectors: number): Uint8Array {
    let root = this.zeroRoots.get(sectors);
    if (!root) {
      this.memory.fill(0, INPUT, INPUT + sectors * SECTOR_SIZE);
      this.hashLeaves(INPUT, sectors, TREE);
      this.reduceInPlace(TREE, sectors);
      root = this.memory.slice(TREE, TREE + HASH_SIZE);
      this.zeroRoots.set(sectors, root);
    }
    return root;
  }
}

// --- The WebAssembly module -------------------------------------------------------------------------------

interface WasmExports {
  memory: { buffer: ArrayBuffer };
  leaves(source: number, count: number, target: number): void;
  pairs(source: number, count: number, target: number): void;
}

/** The part of the `WebAssembly` global used here (the project's `lib` has no DOM/WebAssembly types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}

function wasmApi(): WasmApi {
  const api = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
  if (!api) throw new Error("this JavaScript runtime has no WebAssembly");
  return api;
}

let compiledModule: object | undefined;

function keccakModule(): object {
  compiledModule ??= new (wasmApi().Module)(emitKeccakModule());
  return compiledModule;
}

const KECCAK_ROUND_CONSTANTS = [
  0x0000000000000001n,
  0x0000000000008082n,
  0x800000000000808an,
  0x8000000080008000n,
  0x000000000000808bn,
  0x0000000080000001n,
  0x8000000080008081n,
  0x8000000000008009n,
  0x000000000000008an,
  0x0000000000000088n,
  0x0000000080008009n,
  0x000000008000000an,
  0x000000008000808bn,
  0x800000000000008bn,
  0x8000000000008089n,
  0x8000000000008003n,
  0x8000000000008002n,
  0x8000000000000080n,
  0x000000000000800an,
  0x800000008000000an,
  0x8000000080008081n,
  0x8000000000008080n,
  0x0000000080000001n,
  0x8000000080008008n,
];

/** Rotation offsets ρ, indexed [x][y]. */
const KECCAK_ROTATIONS = [
  [0, 36, 3, 41, 18],
  [1, 44, 10, 45, 2],
  [62, 6, 43, 15, 61],
  [28, 55, 25, 21, 56],
  [27, 20, 39, 8, 14],
];

const KECCAK_RATE = 136; // bytes absorbed per permutation by keccak-256
const TOP_BIT = -(2n ** 63n); // the 0x80 final padding byte at the top of a little-endian lane

const enum Op {
  Block = 0x02,
  Loop = 0x03,
  End = 0x0b,
  BrIf = 0x0d,
  Call = 0x10,
  LocalGet = 0x20,
  LocalSet = 0x21,
  LocalTee = 0x22,
  I64Load = 0x29,
  I64Store = 0x37,
  I32Const = 0x41,
  I64Const = 0x42,
  I32Eqz = 0x45,
  I32LtU = 0x49,
  I32Add = 0x6a,
  I32Sub = 0x6b,
  I64And = 0x83,
  I64Xor = 0x85,
  I64Rotl = 0x89,
}
const VOID_BLOCK = 0x40;
const I32 = 0x7f;
const I64 = 0x7e;

function unsignedLeb(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  do {
    const byte = rest & 0x7f;
    rest = Math.floor(rest / 128);
    bytes.push(rest ? byte | 0x80 : byte);
  } while (rest);
  return bytes;
}

function signedLeb(value: bigint | number): number[] {
  let rest = BigInt.asIntN(64, BigInt(value));
  const bytes: number[] = [];
  for (;;) {
    const byte = Number(rest & 0x7fn);
    rest >>= 7n;
    const signBitClear = (byte & 0x40) === 0;
    if ((rest === 0n && signBitClear) || (rest === -1n && !signBitClear)) {
      bytes.push(byte);
      return bytes;
    }
    bytes.push(byte | 0x80);
  }
}

/** i64.load / i64.store with 8-byte alignment at a constant offset. */
const memoryArgument = (offset: number): number[] => [3, ...unsignedLeb(offset)];

/** `permute()`: keccak-f[1600] on the state at STATE, 24 rounds, the state held in locals. */
function permuteBody(): { locals: [number, number][]; code: number[] } {
  const a = (lane: number) => lane; // locals 0-24: the state
  const b = (lane: number) => 25 + lane; // 25-49: after ρ and π
  const c = (x: number) => 50 + x; // 50-54: column parities
  const d = (x: number) => 55 + x; // 55-59: θ effect
  const round = 60; // i32: byte offset of the round constant
  const code: number[] = [];
  for (let lane = 0; lane < 25; lane++) {
    code.push(Op.I32Const, 0, Op.I64Load, ...memoryArgument(STATE + 8 * lane), Op.LocalSet, a(lane));
  }
  code.push(Op.I32Const, 0, Op.LocalSet, round, Op.Loop, VOID_BLOCK);
  for (let x = 0; x < 5; x++) {
    code.push(Op.LocalGet, a(x));
    for (let y = 1; y < 5; y++) code.push(Op.LocalGet, a(x + 5 * y), Op.I64Xor);
    code.push(Op.LocalSet, c(x));
  }
  for (let x = 0; x < 5; x++) {
    code.push(Op.LocalGet, c((x + 4) % 5), Op.LocalGet, c((x + 1) % 5), Op.I64Const, 1, Op.I64Rotl);
    code.push(Op.I64Xor, Op.LocalSet, d(x));
  }
  for (let x = 0; x < 5; x++) {
    for (let y = 0; y < 5; y++) {
      const rotation = KECCAK_ROTATIONS[x][y];
      code.push(Op.LocalGet, a(x + 5 * y), Op.LocalGet, d(x), Op.I64Xor);
      if (rotation) code.push(Op.I64Const, ...signedLeb(rotation), Op.I64Rotl);
      code.push(Op.LocalSet, b(y + 5 * ((2 * x + 3 * y) % 5)));
    }
  }
  for (let y = 0; y < 5; y++) {
    for (let x = 0; x < 5; x++) {
      code.push(Op.LocalGet, b(x + 5 * y), Op.LocalGet, b(((x + 1) % 5) + 5 * y));
      code.push(Op.I64Const, ...signedLeb(-1), Op.I64Xor, Op.LocalGet, b(((x + 2) % 5) + 5 * y));
      code.push(Op.I64And, Op.I64Xor);
      if (x === 0 && y === 0) {
        code.push(Op.LocalGet, round, Op.I64Load, ...memoryArgument(ROUND_CONSTANTS), Op.I64Xor);
      }
      code.push(Op.LocalSet, a(x + 5 * y));
    }
  }
  code.push(Op.LocalGet, round, Op.I32Const, 8, Op.I32Add, Op.LocalTee, round);
  code.push(Op.I32Const, ...signedLeb(8 * 24), Op.I32LtU, Op.BrIf, 0, Op.End);
  for (let lane = 0; lane < 25; lane++) {
    code.push(Op.I32Const, 0, Op.LocalGet, a(lane), Op.I64Store, ...memoryArgument(STATE + 8 * lane));
  }
  return {
    locals: [
      [60, I64],
      [1, I32],
    ],
    code,
  };
}

/**
 * A `(source, count, target)` loop: for each of `count` inputs of `inputSize` bytes at `source`, `absorb`
 * fills the state, then the 32-byte digest goes to `target`; both pointers advance.
 */
function hashLoopBody(inputSize: number, absorb: (source: number) => number[]) {
  const source = 0;
  const count = 1;
  const target = 2;
  const code: number[] = [Op.Block, VOID_BLOCK, Op.LocalGet, count, Op.I32Eqz, Op.BrIf, 0];
  code.push(Op.Loop, VOID_BLOCK, ...absorb(source));
  for (let lane = 0; lane < 4; lane++) {
    code.push(Op.LocalGet, target, Op.I32Const, 0, Op.I64Load, ...memoryArgument(STATE + 8 * lane));
    code.push(Op.I64Store, ...memoryArgument(8 * lane));
  }
  code.push(Op.LocalGet, source, Op.I32Const, ...signedLeb(inputSize), Op.I32Add, Op.LocalSet, source);
  code.push(Op.LocalGet, target, Op.I32Const, HASH_SIZE, Op.I32Add, Op.LocalSet, target);
  code.push(Op.LocalGet, count, Op.I32Const, 1, Op.I32Sub, Op.LocalTee, count, Op.BrIf, 0, Op.End, Op.End);
  return { locals: [] as [number, number][], code };
}

const storeLane = (lane: number, value: number[]): number[] => [
  Op.I32Const,
  0,
  ...value,
  Op.I64Store,
  ...memoryArgument(STATE + 8 * lane),
];
const laneOf = (source: number, offset: number): number[] => [
  Op.LocalGet,
  source,
  Op.I64Load,
  ...memoryArgument(offset),
];
const stateLane = (lane: number): number[] => [
  Op.I32Const,
  0,
  Op.I64Load,
  ...memoryArgument(STATE + 8 * lane),
];
const PERMUTE = 0; // function index

/** 256-byte input: two blocks, the second 120 bytes of data then the 0x01 … 0x80 padding. */
function absorbSector(source: number): number[] {
  const code: number[] = [];
  const firstBlockLanes = KECCAK_RATE / 8;
  for (let lane = 0; lane < firstBlockLanes; lane++) code.push(...storeLane(lane, laneOf(source, 8 * lane)));
  for (let lane = firstBlockLanes; lane < 25; lane++) code.push(...storeLane(lane, [Op.I64Const, 0]));
  code.push(Op.Call, PERMUTE);
  const secondBlockLanes = (SECTOR_SIZE - KECCAK_RATE) / 8;
  for (let lane = 0; lane < secondBlockLanes; lane++) {
    code.push(...storeLane(lane, [...stateLane(lane), ...laneOf(source, KECCAK_RATE + 8 * lane), Op.I64Xor]));
  }
  code.push(...storeLane(secondBlockLanes, [...stateLane(secondBlockLanes), Op.I64Const, 1, Op.I64Xor]));
  const last = firstBlockLanes - 1;
  code.push(...storeLane(last, [...stateLane(last), Op.I64Const, ...signedLeb(TOP_BIT), Op.I64Xor]));
  code.push(Op.Call, PERMUTE);
  return code;
}

/** 64-byte input: one block, data in lanes 0-7, 0x01 in lane 8, 0x80 at the top of lane 16. */
function absorbPair(source: number): number[] {
  const code: number[] = [];
  for (let lane = 0; lane < 8; lane++) code.push(...storeLane(lane, laneOf(source, 8 * lane)));
  for (let lane = 8; lane < 25; lane++) {
    const value = lane === 8 ? 1n : lane === KECCAK_RATE / 8 - 1 ? TOP_BIT : 0n;
    code.push(...storeLane(lane, [Op.I64Const, ...signedLeb(value)]));
  }
  code.push(Op.Call, PERMUTE);
  return code;
}

/** The module: memory + permute (internal) + leaves(source, count, target) + pairs(source, count, target). */
function emitKeccakModule(): Uint8Array {
  const vector = (items: number[][]) => [...unsignedLeb(items.length), ...items.flat()];
  const name = (text: string) => [...unsignedLeb(text.length), ...Array.from(text, (ch) => ch.charCodeAt(0))];
  const section = (id: number, bytes: number[]) => [id, ...unsignedLeb(bytes.length), ...bytes];
  const body = ({ locals, code }: { locals: [number, number][]; code: number[] }) => {
    const bytes = [...vector(locals.map(([count, type]) => [...unsignedLeb(count), type])), ...code, Op.End];
    return [...unsignedLeb(bytes.length), ...bytes];
  };
  const types = vector([
    [0x60, 0, 0],
    [0x60, 3, I32, I32, I32, 0],
  ]);
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, types),
    ...section(3, vector([[0], [1], [1]])),
    ...section(5, vector([[0x00, ...unsignedLeb(MEMORY_PAGES)]])),
    ...section(
      7,
      vector([
        [...name("memory"), 0x02, 0],
        [...name("leaves"), 0x00, 1],
        [...name("pairs"), 0x00, 2],
      ]),
    ),
    ...section(
      10,
      vector([
        body(permuteBody()),
        body(hashLoopBody(SECTOR_SIZE, absorbSector)),
        body(hashLoopBody(2 * HASH_SIZE, absorbPair)),
      ]),
    ),
  ]);
}

// --- Worker entry -----------------------------------------------------------------------------------------

function serve(port: MessagePort): void {
  const kernel = new MerkleKernel();
  port.on("message", (request: SegmentHashRequest) => {
    try {
      const roots = new Uint8Array(HASH_SIZE * Math.ceil(request.sectors / SECTORS_PER_SEGMENT));
      kernel.segmentRoots(new Uint8Array(request.buffer, 0, request.byteLength), request.sectors, roots);
      const reply: SegmentHashReply = { id: request.id, buffer: request.buffer, roots: roots.buffer };
      port.postMessage(reply, [request.buffer, roots.buffer]);
    } catch (error) {
      const reply: SegmentHashReply = { id: request.id, buffer: request.buffer, error: String(error) };
      port.postMessage(reply, [request.buffer]);
    }
  });
}

if (!isMainThread && parentPort && (workerData as { role?: unknown } | null)?.role === MERKLE_WORKER_ROLE) {
  serve(parentPort);
}

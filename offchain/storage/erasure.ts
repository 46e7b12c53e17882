/**
 * Reed-Solomon erasure coding for storage (ours: 0G storage has none).
 *
 * The data file keeps its 0G-compatible root. Parity is a companion submission to the storage log whose
 * `tags` name the data root and the code (see {@link encodeParityTags}).
 *
 * Layout. Data segment i (256 KiB, the last one possibly short and then read as zero-padded) belongs to
 * stripe floor(i / k). Each stripe holds k data segments; the last stripe is completed with virtual
 * all-zero segments that are never stored. Each stripe gets m parity segments, and the parity file is the
 * concatenation, stripe by stripe, of those m segments: parity segment j of stripe s is parity-file segment
 * s*m + j. Within a stripe, shard position p < k is data segment s*k + p and position k + j is parity
 * segment j. Any k of the k+m shards of a stripe rebuild it.
 *
 * Code. Reed-Solomon over GF(2^8) with field polynomial x^8+x^4+x^3+x^2+1 (0x11D) and a systematic
 * encoding matrix: the (k+m)×k Vandermonde matrix V[r][c] = r^c times the inverse of its top k×k square
 * (the construction of Backblaze's JavaReedSolomon and the default of klauspost/reedsolomon), as
 * implemented by the Rust crate reed-solomon-erasure behind `@digitaldefiance/reed-solomon-erasure.wasm`.
 * The field allows k + m ≤ 256. The coding is done byte by byte, so it works for any segment size; the
 * optional `segmentSize` exists for tests and defaults to the storage segment size.
 *
 * RS repairs erasures, not errors: a corrupted shard fed to {@link decodeStripe} silently yields wrong
 * data. Every shard, data or parity, must be checked by its Merkle proof before it is used.
 *
 * Interface (all coding is synchronous because the wasm library is; only file streaming is async):
 * - {@link parseCode} / {@link formatCode} / {@link checkCode}: "4+2" ⇄ {k, m}, and the limits of a code.
 * - {@link encodeParityTags} / {@link decodeParityTags}: the `tags` of a parity submission.
 * - {@link stripeLayout}, {@link stripeOf}, {@link stripeSegments}: which segment goes where.
 * - {@link encodeStripe}, {@link encodeParity}: parity of one stripe / of a whole in-memory file.
 * - {@link ParityReader}: the parity of a file on disk, read at any position, computed stripe by stripe.
 * - {@link decodeStripe}: the k data segments of a stripe from any k of its shards.
 */
import { readFileSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { ReedSolomonErasure } from "@digitaldefiance/reed-solomon-erasure.wasm";
import { getBytes, hexlify, isHexString, type BytesLike } from "ethers";
import { ZgError } from "../core/errors";

import { SEGMENT_SIZE } from "./merkle";

/** GF(2^8) has 256 distinct evaluation points, so a stripe has at most 256 shards. */
export const MAX_SHARDS = 256;
/** The default code: 4 data + 2 parity segments per stripe (1.5× storage, survives any 2 losses). */
export const DEFAULT_CODE: Readonly<ErasureCode> = Object.freeze({ k: 4, m: 2 });

/** A Reed-Solomon code: k data segments and m parity segments per stripe. */
export interface ErasureCode {
  /** Data segments per stripe, ≥ 1. */
  k: number;
  /** Parity segments per stripe, ≥ 1; any m shards of a stripe may be lost. */
  m: number;
}

/** Options shared by the functions that touch segment bytes. */
export interface ErasureOptions {
  /** Bytes per segment; tests shrink it to stay fast. Defaults to {@link SEGMENT_SIZE}. */
  segmentSize?: number;
}

// ---------------------------------------------------------------------------------------------------------
// Codes

/** Parses "k+m" (e.g. "4+2") into a code, or throws a BAD_INPUT ZgError saying what is wrong. */
export function parseCode(text: string): ErasureCode {
  const match = /^(\d{1,3})\+(\d{1,3})$/.exec(text.trim());
  if (!match) {
    throw new ZgError(
      `erasure code "${text}" is not of the form "k+m" (data+parity segments), e.g. "4+2"`,
      "BAD_INPUT",
    );
  }
  const code = { k: Number(match[1]), m: Number(match[2]) };
  checkCode(code.k, code.m, `erasure code "${text}"`);
  return code;
}

/** The "k+m" text of a code. */
export function formatCode(k: number, m: number): string {
  checkCode(k, m);
  return `${k}+${m}`;
}

/** Throws a BAD_INPUT ZgError unless 1 ≤ k, 1 ≤ m and k + m ≤ 256 (the wasm library traps outside). */
export function checkCode(k: number, m: number, what = `erasure code ${k}+${m}`): void {
  if (!Number.isSafeInteger(k) || k < 1) {
    throw new ZgError(`${what} is invalid: needs at least 1 data segment per stripe (k ≥ 1)`, "BAD_INPUT");
  }
  if (!Number.isSafeInteger(m) || m < 1) {
    throw new ZgError(`${what} is invalid: needs at least 1 parity segment per stripe (m ≥ 1)`, "BAD_INPUT");
  }
  if (k + m > MAX_SHARDS) {
    throw new ZgError(
      `${what} is invalid: k + m = ${k + m} exceeds ${MAX_SHARDS}, the limit of Reed-Solomon over GF(2^8)`,
      "BAD_INPUT",
    );
  }
}

// ---------------------------------------------------------------------------------------------------------
// Parity tags

/**
 * The `tags` of a parity submission, 47 bytes:
 *
 * | offset | bytes | field                                                         |
 * | ------ | ----- | ------------------------------------------------------------- |
 * | 0      | 4     | magic "ZGEC" (0x5a474543)                                     |
 * | 4      | 1     | format version, 1                                             |
 * | 5      | 1     | k, data segments per stripe                                   |
 * | 6      | 1     | m, parity segments per stripe                                 |
 * | 7      | 32    | root of the data file                                         |
 * | 39     | 8     | size of the data file in bytes, unsigned big-endian           |
 *
 * Version 1 means: the code and layout described at the top of this file, with 256 KiB segments. There is
 * no checksum: the tags sit in a log entry on chain, whose integrity the chain already guarantees.
 */
export interface ParityTags {
  /** Root of the data file the parity protects, 0x-prefixed lower-case hex of 32 bytes. */
  dataRoot: string;
  /** Size of the data file in bytes (≥ 1); fixes the number of segments, stripes and parity segments. */
  dataSize: bigint;
  k: number;
  m: number;
}

/** What {@link encodeParityTags} takes: the tags, with the size also accepted as a number. */
export type EncodeParityTagsParameters = Omit<ParityTags, "dataSize"> & { dataSize: bigint | number };

export const PARITY_TAGS_MAGIC = "ZGEC";
export const PARITY_TAGS_VERSION = 1;
export const PARITY_TAGS_LENGTH = 47;
const MAGIC_BYTES = new TextEncoder().encode(PARITY_TAGS_MAGIC);
const MAX_UINT64 = 2n ** 64n - 1n;

/** Encodes the tags of a parity submission as 0x-prefixed hex, ready for a Flow submission's `tags`. */
export function encodeParityTags(tags: EncodeParityTagsParameters): string {
  checkCode(tags.k, tags.m);
  if (!isHexString(tags.dataRoot, 32)) {
    throw new ZgError(`data root "${tags.dataRoot}" is not 32 bytes of 0x-prefixed hex`, "BAD_INPUT");
  }
  const dataSize = toBigIntSize(tags.dataSize);
  if (dataSize < 1n || dataSize > MAX_UINT64) {
    throw new ZgError(
      `data size ${dataSize} is out of range: a parity file protects 1 to 2^64-1 bytes`,
      "BAD_INPUT",
    );
  }
  const bytes = new Uint8Array(PARITY_TAGS_LENGTH);
  bytes.set(MAGIC_BYTES, 0);
  bytes[4] = PARITY_TAGS_VERSION;
  bytes[5] = tags.k;
  bytes[6] = tags.m;
  bytes.set(getBytes(tags.dataRoot), 7);
  new DataView(bytes.buffer).setBigUint64(39, dataSize, false);
  return hexlify(bytes);
}

/**
 * Decodes the tags of a submission. Returns undefined when they are not ours (no "ZGEC" magic: an ordinary
 * data file) and throws a BAD_INPUT ZgError when they claim to be ours but are malformed or of an unknown
 * version, so a bad parity submission is reported rather than mistaken for data.
 */
export function decodeParityTags(tags: BytesLike): ParityTags | undefined {
  let bytes: Uint8Array;
  try {
    bytes = getBytes(tags);
  } catch (error) {
    throw new ZgError(`submission tags are not bytes (${String(tags)})`, "BAD_INPUT", { cause: error });
  }
  if (bytes.length < MAGIC_BYTES.length || !MAGIC_BYTES.every((byte, i) => bytes[i] === byte)) {
    return undefined;
  }
  const malformed = (reason: string) => new ZgError(`malformed erasure-coding tags: ${reason}`, "BAD_INPUT");
  if (bytes.length < 5) throw malformed("no version byte after the magic");
  if (bytes[4] !== PARITY_TAGS_VERSION) {
    throw new ZgError(
      `erasure-coding tags of version ${bytes[4]} are not supported (this SDK reads version ${PARITY_TAGS_VERSION})`,
      "BAD_INPUT",
    );
  }
  if (bytes.length !== PARITY_TAGS_LENGTH) {
    throw malformed(`expected ${PARITY_TAGS_LENGTH} bytes, got ${bytes.length}`);
  }
  const k = bytes[5];
  const m = bytes[6];
  try {
    checkCode(k, m);
  } catch (error) {
    throw malformed((error as Error).message);
  }
  const dataSize = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(39, false);
  if (dataSize === 0n) throw malformed("data size is 0");
  return { dataRoot: hexlify(bytes.subarray(7, 39)), dataSize, k, m };
}

// ---------------------------------------------------------------------------------------------------------
// Layout

/** Where the segments of a data file and of its parity file are. */
export interface StripeLayout {
  k: number;
  m: number;
  segmentSize: number;
  /** Size of the data file in bytes. */
  dataSize: number;
  /** Segments of the data file: ceil(dataSize / segmentSize). */
  dataSegments: number;
  /** Stripes: ceil(dataSegments / k). */
  stripes: number;
  /** Segments of the parity file: stripes × m. */
  paritySegments: number;
  /** Size of the parity file in bytes: paritySegments × segmentSize (always whole segments). */
  paritySize: number;
}

/** The layout of a data file of `dataSize` bytes coded k+m. */
export function stripeLayout(
  dataSize: bigint | number,
  k: number,
  m: number,
  options: ErasureOptions = {},
): StripeLayout {
  checkCode(k, m);
  const segmentSize = checkSegmentSize(options.segmentSize);
  const size = toBigIntSize(dataSize);
  if (size > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ZgError(
      `data size ${size} is too large (at most ${Number.MAX_SAFE_INTEGER} bytes)`,
      "BAD_INPUT",
    );
  }
  const bytes = Number(size);
  const dataSegments = Math.ceil(bytes / segmentSize);
  const stripes = Math.ceil(dataSegments / k);
  const paritySegments = stripes * m;
  return {
    k,
    m,
    segmentSize,
    dataSize: bytes,
    dataSegments,
    stripes,
    paritySegments,
    paritySize: paritySegments * segmentSize,
  };
}

/** The stripe holding data segment `segmentIndex`. */
export function stripeOf(segmentIndex: number, k: number): number {
  checkIndex(segmentIndex, "segment index");
  if (!Number.isSafeInteger(k) || k < 1 || k >= MAX_SHARDS) {
    throw new ZgError(`k = ${k} is invalid: a stripe has 1 to ${MAX_SHARDS - 1} data segments`, "BAD_INPUT");
  }
  return Math.floor(segmentIndex / k);
}

/** The segments that make up one stripe. */
export interface StripeSegments {
  stripe: number;
  /** Indices in the data file of the stripe's stored data segments, in shard order (positions 0, 1, …). */
  data: number[];
  /**
   * Virtual all-zero data segments completing the last stripe (positions data.length … k-1); never stored.
   * Pass them to {@link decodeStripe} as `new Uint8Array(0)`, which reads as a zero segment.
   */
  padding: number;
  /** Indices in the parity file of the stripe's parity segments, in shard order (positions k … k+m-1). */
  parity: number[];
}

/** The data and parity segments of stripe `stripe` in `layout`. */
export function stripeSegments(layout: StripeLayout, stripe: number): StripeSegments {
  checkIndex(stripe, "stripe");
  if (stripe >= layout.stripes) {
    throw new ZgError(`stripe ${stripe} does not exist: the file has ${layout.stripes} stripes`, "BAD_INPUT");
  }
  const first = stripe * layout.k;
  const end = Math.min(first + layout.k, layout.dataSegments);
  const data = Array.from({ length: end - first }, (_, i) => first + i);
  const parity = Array.from({ length: layout.m }, (_, j) => stripe * layout.m + j);
  return { stripe, data, padding: layout.k - data.length, parity };
}

// ---------------------------------------------------------------------------------------------------------
// Encoding

/**
 * The m parity segments of one stripe. `dataSegments` holds at most k segments of at most `segmentSize`
 * bytes each: short ones are zero-padded and missing ones (the end of the last stripe) are zero segments.
 */
export function encodeStripe(
  dataSegments: readonly Uint8Array[],
  k: number,
  m: number,
  options: ErasureOptions = {},
): Uint8Array[] {
  checkCode(k, m);
  const segmentSize = checkSegmentSize(options.segmentSize);
  if (dataSegments.length > k) {
    throw new ZgError(
      `a stripe of code ${k}+${m} holds at most ${k} data segments, got ${dataSegments.length}`,
      "BAD_INPUT",
    );
  }
  const shards = new Uint8Array((k + m) * segmentSize);
  dataSegments.forEach((segment, position) => {
    checkShardLength(segment, segmentSize, `data segment ${position}`);
    shards.set(segment, position * segmentSize);
  });
  encodeInPlace(shards, k, m);
  return Array.from({ length: m }, (_, j) =>
    shards.subarray((k + j) * segmentSize, (k + j + 1) * segmentSize),
  );
}

/** The parity file of an in-memory data file: every stripe's m parity segments, stripe after stripe. */
export function encodeParity(
  data: Uint8Array,
  k: number,
  m: number,
  options: ErasureOptions = {},
): Uint8Array {
  const layout = stripeLayout(data.length, k, m, options);
  const { segmentSize } = layout;
  const stripeData = k * segmentSize;
  const parity = new Uint8Array(layout.paritySize);
  const shards = new Uint8Array((k + m) * segmentSize);
  for (let stripe = 0; stripe < layout.stripes; stripe++) {
    const chunk = data.subarray(stripe * stripeData, (stripe + 1) * stripeData);
    shards.set(chunk, 0);
    if (chunk.length < stripeData) shards.fill(0, chunk.length, stripeData);
    encodeInPlace(shards, k, m);
    parity.set(shards.subarray(stripeData), stripe * m * segmentSize);
  }
  return parity;
}

/** Parity stripes a ParityReader keeps once encoded (their parity segments only: m × 256 KiB each)… */
const STRIPES_KEPT = 32;
/** …unless the whole parity is at most this: then every stripe is kept, and the file is encoded once. */
const KEPT_WHOLE_BYTES = 32 << 20;

/**
 * The parity file of a data file, computed from it on demand and never written: `read(target, position)` fills
 * `target` with the parity file's bytes at `position`, each stripe it touches read from the data file and encoded
 * (the last STRIPES_KEPT stripes are kept, so that reads of neighbouring segments do not encode them again, and
 * all of them when the parity is at most KEPT_WHOLE_BYTES, so that a small file is encoded once). A
 * large file never sits in memory whole, and its parity costs no disk.
 */
export class ParityReader {
  private readonly kept = new Map<number, Promise<Uint8Array>>();

  private constructor(
    private readonly file: FileHandle,
    private readonly dataPath: string,
    readonly layout: StripeLayout,
  ) {}

  static async open(
    dataPath: string,
    k: number,
    m: number,
    options: ErasureOptions = {},
  ): Promise<ParityReader> {
    checkCode(k, m);
    const file = await openOrThrow(dataPath, "r");
    try {
      return new ParityReader(file, dataPath, stripeLayout((await file.stat()).size, k, m, options));
    } catch (error) {
      await file.close();
      throw error;
    }
  }

  /** Bytes of the parity file: whole parity segments, m a stripe. */
  get size(): number {
    return this.layout.paritySize;
  }

  async read(target: Uint8Array, position: number): Promise<void> {
    if (!Number.isSafeInteger(position) || position < 0 || position + target.length > this.size) {
      throw new ZgError(
        `bytes ${position}..${position + target.length} are outside the ${this.size}-byte parity`,
        "BAD_INPUT",
      );
    }
    const stripeBytes = this.layout.m * this.layout.segmentSize;
    for (let done = 0; done < target.length;) {
      const at = position + done;
      const stripe = Math.floor(at / stripeBytes);
      const parity = await this.stripe(stripe);
      const offset = at - stripe * stripeBytes;
      const length = Math.min(stripeBytes - offset, target.length - done);
      target.set(parity.subarray(offset, offset + length), done);
      done += length;
    }
  }

  async close(): Promise<void> {
    this.kept.clear();
    await this.file.close();
  }

  /** The m parity segments of `stripe`, one after the other. */
  private stripe(stripe: number): Promise<Uint8Array> {
    const known = this.kept.get(stripe);
    if (known) {
      this.kept.delete(stripe);
      this.kept.set(stripe, known);
      return known;
    }
    const encoded = this.encode(stripe);
    this.kept.set(stripe, encoded);
    encoded.catch(() => this.kept.delete(stripe));
    const capacity = this.size <= KEPT_WHOLE_BYTES ? this.layout.stripes : STRIPES_KEPT;
    if (this.kept.size > capacity) this.kept.delete(this.kept.keys().next().value as number);
    return encoded;
  }

  private async encode(stripe: number): Promise<Uint8Array> {
    const { k, m, segmentSize, dataSize } = this.layout;
    const stripeData = k * segmentSize;
    const shards = new Uint8Array((k + m) * segmentSize);
    const wanted = Math.min(stripeData, dataSize - stripe * stripeData);
    for (let filled = 0; filled < wanted;) {
      const { bytesRead } = await this.file.read(
        shards,
        filled,
        wanted - filled,
        stripe * stripeData + filled,
      );
      if (bytesRead === 0)
        throw new ZgError(
          `data file ${this.dataPath} shrank while its parity was being computed`,
          "BAD_INPUT",
        );
      filled += bytesRead;
    }
    encodeInPlace(shards, k, m);
    return shards.slice(stripeData);
  }
}

/**
 * The k data segments of a stripe (each `segmentSize` bytes, zero-padded) from its k+m shards in shard
 * order (data positions 0…k-1, then parity), where a lost shard is `undefined`. Any k present shards are
 * enough; fewer throw a BAD_INPUT ZgError. Data shards may be short (the file's last segment; pass
 * `new Uint8Array(0)` for the virtual zero segments of the last stripe); parity shards are whole segments.
 *
 * WARNING: shards are trusted. A corrupted shard yields wrong data without any error; verify each shard's
 * Merkle proof first.
 */
export function decodeStripe(
  shards: readonly (Uint8Array | undefined)[],
  k: number,
  m: number,
  options: ErasureOptions = {},
): Uint8Array[] {
  checkCode(k, m);
  const segmentSize = checkSegmentSize(options.segmentSize);
  if (shards.length !== k + m) {
    throw new ZgError(`a stripe of code ${k}+${m} has ${k + m} shards, got ${shards.length}`, "BAD_INPUT");
  }
  const present = shards.map((shard) => shard !== undefined);
  const presentCount = present.filter(Boolean).length;
  if (presentCount < k) {
    const lost = present.flatMap((isPresent, position) => (isPresent ? [] : [position]));
    throw new ZgError(
      `cannot rebuild the stripe: only ${presentCount} of its ${k + m} shards are present and code ${k}+${m} needs any ${k} (lost positions: ${lost.join(", ")})`,
      "BAD_INPUT",
    );
  }
  const buffer = new Uint8Array((k + m) * segmentSize);
  shards.forEach((shard, position) => {
    if (shard === undefined) return;
    const what = position < k ? `data shard ${position}` : `parity shard ${position - k}`;
    checkShardLength(shard, segmentSize, what);
    if (position >= k && shard.length !== segmentSize) {
      throw new ZgError(
        `${what} has ${shard.length} bytes; parity shards are whole segments of ${segmentSize}`,
        "BAD_INPUT",
      );
    }
    buffer.set(shard, position * segmentSize);
  });
  if (present.slice(0, k).some((isPresent) => !isPresent)) {
    // The library's reconstruct glue frees the flags buffer that the wasm side already freed, a double
    // free that corrupts the instance's heap: later calls fail or return OK with wrong bytes. So every
    // reconstruct gets a fresh instance (~0.1 ms), whose heap dies with it.
    const result = runWasm(() => newInstance().coder.reconstruct(buffer, k, m, present));
    checkResult(result, "rebuilding a stripe");
  }
  return Array.from({ length: k }, (_, position) =>
    buffer.subarray(position * segmentSize, (position + 1) * segmentSize),
  );
}

// ---------------------------------------------------------------------------------------------------------
// Internals

/** The WebAssembly API used here: the project's `lib` has no WebAssembly typings. */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule) => { exports: { memory: { buffer: ArrayBuffer } } };
};
type WasmModule = { readonly kind: "WasmModule" };

interface CoderInstance {
  coder: ReedSolomonErasure;
  memory: { buffer: ArrayBuffer };
}

/**
 * Wasm memory never shrinks, and the library's allocator (wee_alloc) fragments when stripe sizes vary
 * (one instance grew past 400 MiB over mixed sizes; with whole segments it stays near 13 MiB), so the
 * encoder is replaced once it grows past this. A 256-shard stripe of 256 KiB segments needs 64 MiB.
 */
const ENCODER_MEMORY_LIMIT = 256 * 1024 * 1024;

let cachedModule: WasmModule | undefined;
let cachedEncoder: CoderInstance | undefined;

/** The library's wasm, compiled once, lazily: instances of one module share its optimised code. */
function wasmModule(): WasmModule {
  cachedModule ??= new WebAssembly.Module(
    readFileSync(require.resolve("@digitaldefiance/reed-solomon-erasure.wasm/wasm")),
  );
  return cachedModule;
}

/**
 * A new instance of the cached module, wrapped by the library's class. `ReedSolomonErasure.fromBytes` would
 * recompile the module each time, and freshly compiled wasm runs unoptimised code (rebuilding was about 2×
 * slower), so this calls the class's constructor, TypeScript-private, which takes the instance's exports.
 * The tests fail at once if a library update changes that.
 */
function newInstance(): CoderInstance {
  const Wrapper = ReedSolomonErasure as unknown as new (exports: object) => ReedSolomonErasure;
  const { exports } = new WebAssembly.Instance(wasmModule());
  return { coder: new Wrapper(exports), memory: exports.memory };
}

/**
 * Fills the m parity shards of a contiguous (k+m)-shard buffer from its k data shards. One instance serves
 * every encode: encode leaves the heap intact (checked over tens of thousands of calls).
 */
function encodeInPlace(shards: Uint8Array, k: number, m: number): void {
  const instance = (cachedEncoder ??= newInstance());
  const result = runWasm(() => instance.coder.encode(shards, k, m));
  if (instance.memory.buffer.byteLength > ENCODER_MEMORY_LIMIT) cachedEncoder = undefined;
  checkResult(result, "encoding a stripe");
}

/** Runs a library call; a trap (the library panics rather than failing on bad arguments) wrecks the instance. */
function runWasm(call: () => number): number {
  try {
    return call();
  } catch (error) {
    cachedEncoder = undefined;
    throw new ZgError(`the erasure-coding library failed: ${(error as Error).message}`, "ZG_ERROR", {
      cause: error,
    });
  }
}

function checkResult(result: number, action: string): void {
  if (result === ReedSolomonErasure.RESULT_OK) return;
  const reason = ReedSolomonErasure.getResultMessage(result);
  throw new ZgError(`${action} failed in the erasure-coding library: ${reason} (code ${result})`, "ZG_ERROR");
}

function checkSegmentSize(segmentSize: number = SEGMENT_SIZE): number {
  if (!Number.isSafeInteger(segmentSize) || segmentSize < 1) {
    throw new ZgError(
      `segment size ${segmentSize} is invalid: it must be a positive whole number of bytes`,
      "BAD_INPUT",
    );
  }
  return segmentSize;
}

function checkShardLength(shard: Uint8Array, segmentSize: number, what: string): void {
  if (shard.length > segmentSize) {
    throw new ZgError(`${what} has ${shard.length} bytes, more than a segment (${segmentSize})`, "BAD_INPUT");
  }
}

function checkIndex(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ZgError(`${what} ${value} is invalid: it must be a whole number ≥ 0`, "BAD_INPUT");
  }
}

function toBigIntSize(size: bigint | number): bigint {
  if (typeof size === "number" && !Number.isSafeInteger(size)) {
    throw new ZgError(`data size ${size} is not a whole number of bytes`, "BAD_INPUT");
  }
  const value = BigInt(size);
  if (value < 0n) throw new ZgError(`data size ${value} is negative`, "BAD_INPUT");
  return value;
}

async function openOrThrow(filePath: string, flags: "r"): Promise<FileHandle> {
  try {
    return await open(filePath, flags);
  } catch (error) {
    throw new ZgError(`cannot read ${filePath}: ${(error as Error).message}`, "BAD_INPUT", {
      cause: error,
    });
  }
}

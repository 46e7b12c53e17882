/**
 * The DA codec (docs/da.md, "Formats"): a payload packed into EIP-4844 blobs and back, its commitment and id,
 * each blob extended to 128 EIP-7594 cells with KZG cell proofs (on this thread or on a pool of worker
 * threads), cells checked against a commitment, a blob rebuilt from any 64 of its cells, and the KZG opening
 * of a blob at a point that answers an availability challenge. All KZG maths is c-kzg's (the C library of
 * Ethereum's clients) with the Ethereum ceremony's trusted setup.
 *
 * Interface:
 * - {@link ensureKzg}: loads the trusted setup in this thread (every KZG function here calls it).
 * - {@link blobCount}, {@link payloadToBlobs} / {@link blobsToPayload}: payload bytes ⇄ blobs.
 * - {@link payloadId}, {@link encodeCommitments} / {@link decodeCommitments}: what DAEntrance takes.
 * - {@link extendBlob}: one blob's commitment, cells and proofs on this thread (≈ 260 ms on the dev box).
 * - {@link Encoder}: a whole payload's extension on worker threads, in blob order.
 * - {@link verifyCells}, {@link recoverBlob}, {@link evaluateBlob}: sampling, repair and challenge answers.
 *
 * Every byte array is a `Uint8Array`; results never alias their inputs unless said so.
 */
import { computeKzgProof, recoverCellsAndKzgProofs, verifyCellKzgProofBatch } from "c-kzg";
import { availableParallelism } from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { getBytes, keccak256, solidityPacked, type BytesLike } from "ethers";
import { ZgError } from "../core/errors";
import {
  BLOB_WORKER_ROLE,
  computeExtension,
  ensureKzg,
  unpackExtension,
  type ExtendReply,
  type ExtendRequest,
} from "./blob-worker";
import {
  BLOB_PAYLOAD_BYTES,
  BYTES_PER_BLOB,
  BYTES_PER_CELL,
  BYTES_PER_COMMITMENT,
  BYTES_PER_PROOF,
  CELLS_PER_BLOB,
  CELLS_TO_RECOVER,
  FIELD_ELEMENTS_PER_BLOB,
  MAX_BLOBS,
  type ExtendedBlob,
  type PayloadCommitment,
} from "./types";

export { ensureKzg, KZG_PRECOMPUTE } from "./blob-worker";

/** The most payload bytes one payload may have: {@link MAX_BLOBS} full blobs (31.0 MiB). */
export const MAX_PAYLOAD_BYTES = MAX_BLOBS * BLOB_PAYLOAD_BYTES;
/** The BLS12-381 scalar modulus r: every field element, and the evaluation point z, is below it. */
export const BLS_MODULUS = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;

const PAYLOAD_BYTES_PER_ELEMENT = 31;
const BYTES_PER_ELEMENT = 32;

// ---------------------------------------------------------------------------------------------------------
// Payload ⇄ blobs

/** Blobs of a payload of `length` bytes: ⌈length / 126,976⌉; a BAD_INPUT ZgError outside 1…MAX_PAYLOAD_BYTES. */
export function blobCount(length: number): number {
  if (!Number.isSafeInteger(length) || length < 1) {
    throw new ZgError(`a DA payload has at least 1 byte, not ${length}`, "BAD_INPUT");
  }
  const blobs = Math.ceil(length / BLOB_PAYLOAD_BYTES);
  if (blobs > MAX_BLOBS) {
    throw new ZgError(
      `a DA payload of ${length} bytes needs ${blobs} blobs, more than the ${MAX_BLOBS} allowed ` +
        `(at most ${MAX_PAYLOAD_BYTES} bytes)`,
      "BAD_INPUT",
    );
  }
  return blobs;
}

/**
 * Packs a payload into blobs, 31 bytes per 32-byte element behind a zero byte, the last blob zero-padded.
 * Each blob has its own `ArrayBuffer` of exactly {@link BYTES_PER_BLOB} bytes.
 */
export function payloadToBlobs(data: Uint8Array): Uint8Array[] {
  const blobs = Array.from({ length: blobCount(data.length) }, () => new Uint8Array(BYTES_PER_BLOB));
  blobs.forEach((blob, b) => {
    const start = b * BLOB_PAYLOAD_BYTES;
    const elements = Math.min(
      FIELD_ELEMENTS_PER_BLOB,
      Math.ceil((data.length - start) / PAYLOAD_BYTES_PER_ELEMENT),
    );
    for (let e = 0; e < elements; e++) {
      const from = start + e * PAYLOAD_BYTES_PER_ELEMENT;
      blob.set(data.subarray(from, from + PAYLOAD_BYTES_PER_ELEMENT), e * BYTES_PER_ELEMENT + 1);
    }
  });
  return blobs;
}

/**
 * The payload of `length` bytes packed in `blobs`: the inverse of {@link payloadToBlobs}. Throws a BAD_INPUT
 * ZgError unless the blobs are exactly that packing: as many blobs as the length needs, every element's
 * leading byte zero, and every byte past the payload zero (so one payload has one set of blobs, and one id).
 */
export function blobsToPayload(blobs: readonly Uint8Array[], length: number): Uint8Array {
  const count = blobCount(length);
  if (blobs.length !== count) {
    throw new ZgError(`a DA payload of ${length} bytes is ${count} blobs, not ${blobs.length}`, "BAD_INPUT");
  }
  const data = new Uint8Array(length);
  blobs.forEach((blob, b) => {
    checkLength(blob, BYTES_PER_BLOB, `blob ${b}`);
    const start = b * BLOB_PAYLOAD_BYTES;
    for (let e = 0; e < FIELD_ELEMENTS_PER_BLOB; e++) {
      const at = e * BYTES_PER_ELEMENT;
      if (blob[at] !== 0) {
        throw new ZgError(
          `blob ${b} is not a packed payload: element ${e} has a non-zero leading byte (0x${hexByte(blob[at])})`,
          "BAD_INPUT",
        );
      }
      const from = start + e * PAYLOAD_BYTES_PER_ELEMENT;
      const kept = Math.max(0, Math.min(PAYLOAD_BYTES_PER_ELEMENT, length - from));
      if (kept > 0) data.set(blob.subarray(at + 1, at + 1 + kept), from);
      for (let i = at + 1 + kept; i < at + BYTES_PER_ELEMENT; i++) {
        if (blob[i] !== 0) {
          throw new ZgError(
            `blob ${b} is not a packed payload of ${length} bytes: byte ${i} past the payload is not zero`,
            "BAD_INPUT",
          );
        }
      }
    }
  });
  return data;
}

// ---------------------------------------------------------------------------------------------------------
// Commitments and ids

/** The concatenated 48-byte commitments, as `DAEntrance.submit(commitments, length)` takes them. */
export function encodeCommitments(commitments: readonly Uint8Array[]): Uint8Array {
  if (commitments.length < 1 || commitments.length > MAX_BLOBS) {
    throw new ZgError(
      `a DA payload has 1 to ${MAX_BLOBS} blob commitments, not ${commitments.length}`,
      "BAD_INPUT",
    );
  }
  const bytes = new Uint8Array(commitments.length * BYTES_PER_COMMITMENT);
  commitments.forEach((commitment, i) => {
    checkLength(commitment, BYTES_PER_COMMITMENT, `commitment ${i}`);
    bytes.set(commitment, i * BYTES_PER_COMMITMENT);
  });
  return bytes;
}

/** Splits concatenated commitments (bytes or 0x hex) into 48-byte commitments (copies). */
export function decodeCommitments(bytes: BytesLike): Uint8Array[] {
  let raw: Uint8Array;
  try {
    raw = getBytes(bytes);
  } catch (error) {
    throw new ZgError(`DA commitments are not bytes or 0x hex`, "BAD_INPUT", { cause: error });
  }
  const count = raw.length / BYTES_PER_COMMITMENT;
  if (!Number.isInteger(count) || count < 1 || count > MAX_BLOBS) {
    throw new ZgError(
      `DA commitments are 1 to ${MAX_BLOBS} × ${BYTES_PER_COMMITMENT} bytes, not ${raw.length} bytes`,
      "BAD_INPUT",
    );
  }
  return Array.from({ length: count }, (_, i) =>
    raw.slice(i * BYTES_PER_COMMITMENT, (i + 1) * BYTES_PER_COMMITMENT),
  );
}

/**
 * A payload's id, 0x-prefixed hex: `keccak256(abi.encodePacked(bytes commitments, uint64 length))`. Throws a
 * BAD_INPUT ZgError when the commitments are not 48 bytes each or their count is not what the length needs.
 */
export function payloadId(commitment: PayloadCommitment): string {
  const count = blobCount(commitment.length);
  if (commitment.commitments.length !== count) {
    throw new ZgError(
      `a DA payload of ${commitment.length} bytes has ${count} blob commitments, not ${commitment.commitments.length}`,
      "BAD_INPUT",
    );
  }
  return keccak256(
    solidityPacked(["bytes", "uint64"], [encodeCommitments(commitment.commitments), commitment.length]),
  );
}

// ---------------------------------------------------------------------------------------------------------
// Extension, on this thread

/**
 * A blob's KZG commitment, its 128 cells and their 128 proofs, computed on this thread. Throws a BAD_INPUT
 * ZgError for a blob that is not 131,072 bytes or has an element not below {@link BLS_MODULUS}. The arrays
 * are views into one buffer of 268,336 bytes.
 */
export function extendBlob(blob: Uint8Array): ExtendedBlob {
  checkLength(blob, BYTES_PER_BLOB, "blob");
  ensureKzg();
  return unpackExtension(kzgCall(() => computeExtension(blob), "the blob"));
}

// ---------------------------------------------------------------------------------------------------------
// Extension, on worker threads

/** A payload packed, extended and committed to. */
export interface EncodedPayload {
  /** What `DAEntrance.submit` records: the blobs' commitments in order and the payload's length. */
  commitment: PayloadCommitment;
  /** {@link payloadId} of the commitment. */
  id: string;
  /** Each blob's extension, in blob order (`blobs[b].commitment` is `commitment.commitments[b]`). */
  blobs: ExtendedBlob[];
}

export interface EncoderOptions {
  /** Worker threads; default `os.availableParallelism()`. Each holds its own trusted setup (≈ 80 MB). */
  threads?: number;
}

export interface EncodeOptions {
  /** Called once per extended blob, in completion order: `done` of `total` blobs are extended. */
  onProgress?: (done: number, total: number) => void;
}

interface Task {
  blob: ArrayBuffer;
  job: object;
  resolve(extension: Uint8Array): void;
  reject(error: unknown): void;
}

interface PoolWorker {
  worker: Worker;
  task?: Task;
}

/**
 * Extends payloads on a pool of worker threads, one blob per worker at a time, each blob sent to its worker
 * as a transferred `ArrayBuffer` and its extension sent back the same way. The workers start (and load the
 * trusted setup, ≈ 2 s) when the encoder is made; an idle encoder does not keep the process alive, but
 * {@link close} is the tidy way to stop it. A worker that dies fails the encoder: every pending and later
 * `encode` rejects with a ZgError saying why.
 *
 * From compiled JS (dist/) a worker runs blob-worker.js beside this file; from TS source (ts-node: tests,
 * benches, scripts) it runs blob-worker.ts through ts-node's transpile-only hook, which a worker does not
 * inherit from its parent (as the Merkle pool in offchain/storage/merkle.ts does).
 */
export class Encoder {
  readonly threads: number;
  private readonly workers: PoolWorker[];
  private readonly queue: Task[] = [];
  private failure?: ZgError;

  constructor(options: EncoderOptions = {}) {
    const threads = options.threads ?? availableParallelism();
    if (!Number.isSafeInteger(threads) || threads < 1) {
      throw new ZgError(`a DA encoder needs at least 1 thread, not ${threads}`, "BAD_INPUT");
    }
    this.threads = threads;
    this.workers = Array.from({ length: threads }, () => this.spawn());
  }

  /** Packs `data` into blobs and extends them all; rejects with a BAD_INPUT ZgError for a bad size. */
  async encode(data: Uint8Array, options: EncodeOptions = {}): Promise<EncodedPayload> {
    const blobs = payloadToBlobs(data);
    const job = {};
    let done = 0;
    const extensions = blobs.map((blob) =>
      this.submit(blob.buffer as ArrayBuffer, job).then((packed) => {
        options.onProgress?.(++done, blobs.length);
        return unpackExtension(packed);
      }),
    );
    try {
      const extended = await Promise.all(extensions);
      const commitment = { commitments: extended.map((blob) => blob.commitment), length: data.length };
      return { commitment, id: payloadId(commitment), blobs: extended };
    } catch (error) {
      this.cancel(job);
      // The other blobs' rejections, if any, are the same failure.
      extensions.forEach((extension) => extension.catch(() => undefined));
      throw error;
    }
  }

  /** Stops the workers; pending and later `encode` calls reject. */
  async close(): Promise<void> {
    if (!this.failure) this.fail(new ZgError("the DA encoder is closed", "ZG_ERROR"));
    await Promise.all(this.workers.map(({ worker }) => worker.terminate()));
  }

  private submit(blob: ArrayBuffer, job: object): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      if (this.failure) {
        reject(this.failure);
        return;
      }
      this.queue.push({ blob, job, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const entry of this.workers) {
      if (this.queue.length === 0) return;
      if (entry.task) continue;
      const task = this.queue.shift() as Task;
      entry.task = task;
      entry.worker.ref();
      const request: ExtendRequest = { blob: task.blob };
      entry.worker.postMessage(request, [task.blob]);
    }
  }

  /** Drops the queued blobs of a failed `encode`. */
  private cancel(job: object): void {
    const kept = this.queue.filter((task) => task.job !== job);
    this.queue.splice(0, this.queue.length, ...kept);
  }

  private fail(failure: ZgError): void {
    this.failure = failure;
    const tasks = [...this.queue, ...this.workers.flatMap((entry) => (entry.task ? [entry.task] : []))];
    this.queue.length = 0;
    for (const entry of this.workers) entry.task = undefined;
    for (const task of tasks) task.reject(failure);
  }

  private spawn(): PoolWorker {
    const entry: PoolWorker = { worker: startWorker() };
    const { worker } = entry;
    worker.unref();
    worker.on("message", (reply: ExtendReply) => {
      const task = entry.task;
      if (!task) return;
      entry.task = undefined;
      worker.unref();
      if ("error" in reply)
        task.reject(new ZgError(`a DA encoder worker failed a blob: ${reply.error}`, "ZG_ERROR"));
      else task.resolve(new Uint8Array(reply.extension));
      this.dispatch();
    });
    const die = (error: unknown) => {
      if (this.failure) return;
      const reason = error instanceof Error ? error.message : String(error);
      this.fail(new ZgError(`a DA encoder worker died: ${reason}`, "ZG_ERROR", { cause: error }));
      void Promise.all(this.workers.map((other) => other.worker.terminate()));
    };
    worker.on("error", die);
    worker.on("messageerror", die);
    worker.on("exit", (code) => die(new Error(`it exited with code ${code}`)));
    return entry;
  }
}

function startWorker(): Worker {
  const workerData = { role: BLOB_WORKER_ROLE };
  if (__filename.endsWith(".ts")) {
    const register = require.resolve("ts-node/register/transpile-only");
    const script = path.join(__dirname, "blob-worker.ts");
    const bootstrap = `require(${JSON.stringify(register)});\nrequire(${JSON.stringify(script)});\n`;
    return new Worker(bootstrap, { eval: true, workerData });
  }
  return new Worker(path.join(__dirname, "blob-worker.js"), { workerData });
}

// ---------------------------------------------------------------------------------------------------------
// Sampling, repair, challenges

/**
 * Whether every cell `cells[i]` is cell `indices[i]` of the blob committed to by `commitment`, as proven by
 * `proofs[i]` (one batched pairing check). Never throws on bad input: malformed sizes, indices outside
 * 0…127, arrays of different lengths, an empty batch, bytes that are not a curve point or field elements
 * that are not canonical all return false.
 */
export function verifyCells(
  commitment: Uint8Array,
  indices: readonly number[],
  cells: readonly Uint8Array[],
  proofs: readonly Uint8Array[],
): boolean {
  if (!(commitment instanceof Uint8Array) || commitment.length !== BYTES_PER_COMMITMENT) return false;
  if (!Array.isArray(indices) || !Array.isArray(cells) || !Array.isArray(proofs)) return false;
  if (indices.length === 0 || cells.length !== indices.length || proofs.length !== indices.length)
    return false;
  if (!indices.every((index) => Number.isInteger(index) && index >= 0 && index < CELLS_PER_BLOB))
    return false;
  if (!cells.every((cell) => cell instanceof Uint8Array && cell.length === BYTES_PER_CELL)) return false;
  if (!proofs.every((proof) => proof instanceof Uint8Array && proof.length === BYTES_PER_PROOF)) return false;
  ensureKzg();
  try {
    return verifyCellKzgProofBatch(
      indices.map(() => commitment),
      [...indices],
      [...cells],
      [...proofs],
    );
  } catch {
    // c-kzg rejects points off the curve and non-canonical field elements by throwing.
    return false;
  }
}

/**
 * The blob (cells 0…63, 131,072 bytes) rebuilt from at least 64 distinct cells of its extension, in any
 * order. Cells are not checked: verify them first ({@link verifyCells}), since wrong cells rebuild a wrong
 * blob. When cells 0…63 are all given they are the blob and nothing is computed. Throws a BAD_INPUT ZgError
 * on fewer than 64 cells, a repeated or out-of-range index, or a cell that is not 2,048 bytes.
 */
export function recoverBlob(indices: readonly number[], cells: readonly Uint8Array[]): Uint8Array {
  if (cells.length !== indices.length) {
    throw new ZgError(`${indices.length} cell indices for ${cells.length} cells`, "BAD_INPUT");
  }
  const byIndex = new Map<number, Uint8Array>();
  indices.forEach((index, i) => {
    if (!Number.isInteger(index) || index < 0 || index >= CELLS_PER_BLOB) {
      throw new ZgError(`cell index ${index} is outside 0…${CELLS_PER_BLOB - 1}`, "BAD_INPUT");
    }
    if (byIndex.has(index)) throw new ZgError(`cell ${index} is given twice`, "BAD_INPUT");
    checkLength(cells[i], BYTES_PER_CELL, `cell ${index}`);
    byIndex.set(index, cells[i]);
  });
  if (byIndex.size < CELLS_TO_RECOVER) {
    throw new ZgError(
      `a blob is recovered from at least ${CELLS_TO_RECOVER} distinct cells, only ${byIndex.size} given`,
      "BAD_INPUT",
    );
  }
  const blob = new Uint8Array(BYTES_PER_BLOB);
  const original = Array.from({ length: CELLS_TO_RECOVER }, (_, i) => byIndex.get(i));
  let source: readonly (Uint8Array | undefined)[] = original;
  if (original.some((cell) => cell === undefined)) {
    ensureKzg();
    const sorted = [...byIndex.keys()].sort((a, b) => a - b);
    const [all] = kzgCall(
      () =>
        recoverCellsAndKzgProofs(
          sorted,
          sorted.map((index) => byIndex.get(index) as Uint8Array),
        ),
      "the cells",
    );
    source = all;
  }
  for (let i = 0; i < CELLS_TO_RECOVER; i++) blob.set(source[i] as Uint8Array, i * BYTES_PER_CELL);
  return blob;
}

/** A blob's value at a point and the KZG proof of it: what precompile 0x0a checks against the commitment. */
export interface BlobEvaluation {
  /** p(z), 32 bytes big-endian. */
  y: Uint8Array;
  /** The 48-byte KZG opening proof. */
  proof: Uint8Array;
}

/**
 * p(z) of the blob's polynomial and its KZG proof: the answer to an availability challenge at `z`. Throws a
 * BAD_INPUT ZgError unless the blob is 131,072 canonical bytes and `z` is 32 bytes below {@link BLS_MODULUS}.
 */
export function evaluateBlob(blob: Uint8Array, z: Uint8Array): BlobEvaluation {
  checkLength(blob, BYTES_PER_BLOB, "blob");
  checkLength(z, BYTES_PER_ELEMENT, "evaluation point z");
  ensureKzg();
  const [proof, y] = kzgCall(() => computeKzgProof(blob, z), "the blob or z");
  return { y, proof };
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

function checkLength(bytes: Uint8Array, length: number, what: string): void {
  if (!(bytes instanceof Uint8Array)) throw new ZgError(`${what} is not a Uint8Array`, "BAD_INPUT");
  if (bytes.length !== length) {
    throw new ZgError(`${what} is ${bytes.length} bytes, not ${length}`, "BAD_INPUT");
  }
}

/** Runs a c-kzg call on checked sizes: what it still rejects are non-canonical field elements. */
function kzgCall<T>(call: () => T, what: string): T {
  try {
    return call();
  } catch (error) {
    throw new ZgError(
      `c-kzg rejected ${what}: ${error instanceof Error ? error.message : String(error)} ` +
        `(every 32-byte element must be below the BLS12-381 scalar modulus)`,
      "BAD_INPUT",
      { cause: error },
    );
  }
}

function hexByte(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}

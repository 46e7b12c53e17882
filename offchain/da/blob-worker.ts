/**
 * The KZG kernel of the DA codec (the trusted setup, one blob's extension) and the worker-thread entry that
 * runs it for `Encoder` in `blob.ts`, which holds the public API and the pool.
 *
 * This file imports only `c-kzg`, `node:worker_threads` and `./types` (which imports nothing), so a worker
 * spends its start-up loading the trusted setup, not the SDK.
 */
import { blobToKzgCommitment, computeCellsAndKzgProofs, loadTrustedSetup } from "c-kzg";
import { isMainThread, parentPort, workerData, type MessagePort } from "node:worker_threads";
import {
  BYTES_PER_CELL,
  BYTES_PER_COMMITMENT,
  BYTES_PER_PROOF,
  CELLS_PER_BLOB,
  type ExtendedBlob,
} from "./types";

/**
 * The `precompute` of `loadTrustedSetup`: c-kzg keeps a table of 2^precompute multiples per setup point to
 * speed up the fixed-base multi-scalar multiplications of cell proofs. Measured on the 2-core dev box (one
 * thread, `computeCellsAndKzgProofs` median of 5, setup load, process RSS after loading):
 *
 * | precompute | cells + proofs | setup load  | RSS    |
 * | ---------- | -------------- | ----------- | ------ |
 * | 0          | 310–328 ms     | 1.76–1.85 s | 52 MB  |
 * | 4          | 287 ms         | 1.79 s      |        |
 * | 6          | 216 ms         | 1.84–1.95 s | 78 MB  |
 * | 7          | 208 ms         | 2.07 s      | 103 MB |
 * | 8          | 203 ms         | 2.57 s      | 153 MB |
 * | 9          | 194 ms         | 3.24 s      | 254 MB |
 * | 10         | 182 ms         | 4.56 s      |        |
 *
 * 6 takes 30 % off every blob for no extra start-up; 8 would save 6 % more per blob for 0.7 s more start-up
 * and twice the memory in every thread (each pool worker holds its own table), and 10 costs 2.7 s more.
 */
export const KZG_PRECOMPUTE = 6;

/** `workerData.role` of an encoder worker, so that importing this file in another worker does nothing. */
export const BLOB_WORKER_ROLE = "zg-da-blob";

/** Bytes of one extension as a worker returns it: the commitment, then the 128 cells, then the 128 proofs. */
export const EXTENSION_BYTES = BYTES_PER_COMMITMENT + CELLS_PER_BLOB * (BYTES_PER_CELL + BYTES_PER_PROOF);

/** Main thread → worker: extend the blob held in `blob` (transferred). A worker has one request at a time. */
export interface ExtendRequest {
  blob: ArrayBuffer;
}

/** Worker → main thread: the extension packed in {@link EXTENSION_BYTES} (transferred), or why it failed. */
export type ExtendReply = { extension: ArrayBuffer } | { error: string };

let kzgLoaded = false;

/**
 * Loads c-kzg's trusted setup (the Ethereum KZG ceremony's, shipped with c-kzg) in this thread, once: every
 * thread has its own copy, and the first call costs about 1.9 s. Later calls return at once. Encoder workers
 * load it with {@link KZG_PRECOMPUTE}; a process's main thread with none, since there it verifies cells,
 * recovers and evaluates blobs, which the table does not speed up much, and every DA node, sampler and client
 * would otherwise carry the table's 26 MB.
 */
export function ensureKzg(): void {
  if (kzgLoaded) return;
  try {
    loadTrustedSetup(isMainThread ? 0 : KZG_PRECOMPUTE);
  } catch (error) {
    // Someone else in this thread loaded it (with c-kzg directly): the setup is the same.
    if (!/already loaded/.test(String(error))) throw error;
  }
  kzgLoaded = true;
}

/**
 * The extension of a blob (131,072 bytes), packed as {@link EXTENSION_BYTES}. Throws c-kzg's error when an
 * element is not below the scalar modulus; the caller checks the length and calls {@link ensureKzg}.
 */
export function computeExtension(blob: Uint8Array): Uint8Array {
  const packed = new Uint8Array(EXTENSION_BYTES);
  packed.set(blobToKzgCommitment(blob), 0);
  const [cells, proofs] = computeCellsAndKzgProofs(blob);
  const proofsAt = BYTES_PER_COMMITMENT + CELLS_PER_BLOB * BYTES_PER_CELL;
  cells.forEach((cell, i) => packed.set(cell, BYTES_PER_COMMITMENT + i * BYTES_PER_CELL));
  proofs.forEach((proof, i) => packed.set(proof, proofsAt + i * BYTES_PER_PROOF));
  return packed;
}

/** Views a packed extension as commitment, cells and proofs (no copies). */
export function unpackExtension(packed: Uint8Array): ExtendedBlob {
  const proofsAt = BYTES_PER_COMMITMENT + CELLS_PER_BLOB * BYTES_PER_CELL;
  return {
    commitment: packed.subarray(0, BYTES_PER_COMMITMENT),
    cells: Array.from({ length: CELLS_PER_BLOB }, (_, i) =>
      packed.subarray(
        BYTES_PER_COMMITMENT + i * BYTES_PER_CELL,
        BYTES_PER_COMMITMENT + (i + 1) * BYTES_PER_CELL,
      ),
    ),
    proofs: Array.from({ length: CELLS_PER_BLOB }, (_, i) =>
      packed.subarray(proofsAt + i * BYTES_PER_PROOF, proofsAt + (i + 1) * BYTES_PER_PROOF),
    ),
  };
}

// --- Worker entry -----------------------------------------------------------------------------------------

function serve(port: MessagePort): void {
  ensureKzg();
  port.on("message", (request: ExtendRequest) => {
    let reply: ExtendReply;
    try {
      const extension = computeExtension(new Uint8Array(request.blob)).buffer as ArrayBuffer;
      reply = { extension };
      port.postMessage(reply, [extension]);
    } catch (error) {
      reply = { error: error instanceof Error ? error.message : String(error) };
      port.postMessage(reply);
    }
  });
}

if (!isMainThread && parentPort && (workerData as { role?: unknown } | null)?.role === BLOB_WORKER_ROLE) {
  serve(parentPort);
}

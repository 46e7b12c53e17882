/**
 * DA codec benchmark (offchain/da/blob.ts), all figures from one run on random payloads:
 * - encoding (packing + commitment + 128 cells + 128 cell proofs) of a 12-blob payload in blobs/s, on this
 *   one `Encoder` worker (the anchor) and on the pool with one worker per core, best of 3
 *   runs of each, interleaved (the dev box is shared: the best run is the one that had the cores);
 * - the pool's cold start: a new `Encoder` until its first 1-blob payload is encoded (trusted-setup loads,
 *   this thread's already done);
 * - recovering a blob from a random half of its cells (never cells 0–63 alone, which is a copy), median ms;
 * - cell verification against the blob's commitment: one cell per `verifyCells` call, and batches of 64 (a
 *   DA node's custody upload) and 128 (a whole extended blob), in cells/s.
 *
 * Standalone: `npx ts-node -e 'require("./bench/da-encode").daEncodeBench().then(console.log)'`.
 */
import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { Encoder, ensureKzg, recoverBlob, verifyCells } from "../offchain/da/blob";
import {
  BLOB_PAYLOAD_BYTES,
  CELLS_PER_BLOB,
  CELLS_TO_RECOVER,
  type ExtendedBlob,
} from "../offchain/da/types";
import type { Figure } from "./figure";

const BLOBS = 12;
const RUNS = 3;
const RECOVERIES = 5;
const SINGLE_VERIFICATIONS = 256;
const BATCH_VERIFICATIONS = 10;

export async function daEncodeBench(): Promise<Figure[]> {
  const data = new Uint8Array(randomBytes(BLOBS * BLOB_PAYLOAD_BYTES));
  const cores = availableParallelism();

  ensureKzg();
  const coldStart = process.hrtime.bigint();
  const encoder = new Encoder({ threads: cores });
  // The anchor is the same encoder with one worker: same precompute table, one core (the main thread loads the
  // setup without the table, so extendBlob there would not be the same work).
  const single = new Encoder({ threads: 1 });
  let coldSeconds: number;
  const poolSeconds: number[] = [];
  const singleSeconds: number[] = [];
  let blobs: ExtendedBlob[] = [];
  try {
    await encoder.encode(new Uint8Array(1));
    coldSeconds = seconds(coldStart);
    await single.encode(new Uint8Array(1));
    // Interleaved, so that both see the same load from whatever else runs on the machine.
    for (let run = 0; run < RUNS; run++) {
      let start = process.hrtime.bigint();
      const pooled = (await encoder.encode(data)).blobs;
      poolSeconds.push(seconds(start));
      start = process.hrtime.bigint();
      blobs = (await single.encode(data)).blobs;
      singleSeconds.push(seconds(start));
      blobs.forEach((blob, b) => {
        if (!Buffer.from(blob.proofs[CELLS_PER_BLOB - 1]).equals(pooled[b].proofs[CELLS_PER_BLOB - 1])) {
          throw new Error(`blob ${b}: the pool and this thread disagree`);
        }
      });
    }
  } finally {
    await encoder.close();
    await single.close();
  }

  const recoverMs: number[] = [];
  for (let run = 0; run < RECOVERIES; run++) {
    const b = run % BLOBS;
    const indices = randomHalf();
    const start = process.hrtime.bigint();
    const blob = recoverBlob(
      indices,
      indices.map((i) => blobs[b].cells[i]),
    );
    recoverMs.push(seconds(start) * 1000);
    if (!Buffer.from(blob).equals(Buffer.concat(blobs[b].cells.slice(0, CELLS_TO_RECOVER)))) {
      throw new Error(`blob ${b} was recovered wrongly`);
    }
  }

  const singleRate = verifyRate(blobs, 1, SINGLE_VERIFICATIONS);
  const batch64Rate = verifyRate(blobs, 64, BATCH_VERIFICATIONS);
  const batch128Rate = verifyRate(blobs, CELLS_PER_BLOB, BATCH_VERIFICATIONS);

  const oneThreadRate = BLOBS / Math.min(...singleSeconds);
  const allCoresRate = BLOBS / Math.min(...poolSeconds);
  const oneThread = { name: "da-encode-1-thread", value: round(oneThreadRate), unit: "blobs/s" };
  const singleCell = { name: "da-verify-1-cell-per-call", value: round(singleRate), unit: "cells/s" };
  return [
    oneThread,
    { name: `da-encode-${cores}-threads`, value: round(allCoresRate), unit: "blobs/s", anchor: oneThread },
    {
      name: `da-encode-speedup-${cores}-threads`,
      value: round(allCoresRate / oneThreadRate),
      unit: "x",
      anchor: { name: oneThread.name, value: 1, unit: "x" },
    },
    { name: `da-encoder-cold-start-${cores}-threads`, value: Math.round(coldSeconds * 1000), unit: "ms" },
    { name: "da-recover-blob-from-64-random-cells", value: round(median(recoverMs)), unit: "ms" },
    singleCell,
    { name: "da-verify-64-cells-per-call", value: round(batch64Rate), unit: "cells/s", anchor: singleCell },
    { name: "da-verify-128-cells-per-call", value: round(batch128Rate), unit: "cells/s", anchor: singleCell },
  ];
}

/** 64 distinct random cell indices, never exactly cells 0–63. */
function randomHalf(): number[] {
  for (;;) {
    const shuffled = Array.from({ length: CELLS_PER_BLOB }, (_, i) => i);
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = randomBytes(1)[0] % (i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
    }
    const half = shuffled.slice(0, CELLS_TO_RECOVER);
    if (half.some((index) => index >= CELLS_TO_RECOVER)) return half;
  }
}

/** Cells verified per second in `calls` calls of `perCall` consecutive cells each, across the blobs. */
function verifyRate(blobs: ExtendedBlob[], perCall: number, calls: number): number {
  const start = process.hrtime.bigint();
  for (let call = 0; call < calls; call++) {
    const blob = blobs[call % blobs.length];
    const first = (call * perCall) % CELLS_PER_BLOB;
    const indices = Array.from({ length: perCall }, (_, i) => (first + i) % CELLS_PER_BLOB);
    const ok = verifyCells(
      blob.commitment,
      indices,
      indices.map((i) => blob.cells[i]),
      indices.map((i) => blob.proofs[i]),
    );
    if (!ok) throw new Error(`cells ${indices[0]}… of a blob did not verify`);
  }
  return (calls * perCall) / seconds(start);
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

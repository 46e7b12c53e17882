import { randomFillSync } from "node:crypto";
import {
  decodeStripe,
  encodeParity,
  stripeLayout,
  stripeSegments,
  type StripeLayout,
} from "../offchain/storage/erasure";
import type { Figure } from "./figure";

const DATA_SIZE = 64 * 1024 * 1024;
const K = 4;
const M = 2;
const RUNS = 3;
/** Data shards 0 and 1 of every stripe are lost: the worst case of 4+2, both parity shards are needed. */
const LOST_POSITIONS = [0, 1];

/**
 * Reed-Solomon 4+2 throughput on 64 MiB of random data with 256 KiB segments, median of 3 runs, in MB/s
 * (10^6 bytes) of data: encoding the parity file, and rebuilding every stripe with two data shards lost.
 */
export async function erasureBench(): Promise<Figure[]> {
  const data = randomFillSync(new Uint8Array(DATA_SIZE));
  const layout = stripeLayout(data.length, K, M);

  // Warm-up: loads the wasm and lets V8 optimise the hot paths before timing.
  const parity = encodeParity(data.subarray(0, 8 * K * layout.segmentSize), K, M);
  rebuildAll(data, parity, stripeLayout(8 * K * layout.segmentSize, K, M));

  let fullParity: Uint8Array = new Uint8Array(0);
  const encodeSeconds = median(
    timeRuns(() => {
      fullParity = encodeParity(data, K, M);
    }),
  );
  const decodeSeconds = median(timeRuns(() => rebuildAll(data, fullParity, layout)));

  const megabytes = data.length / 1e6;
  return [
    { name: "erasure-encode-4+2", value: round(megabytes / encodeSeconds), unit: "MB/s" },
    { name: "erasure-decode-4+2-2-lost", value: round(megabytes / decodeSeconds), unit: "MB/s" },
  ];
}

/** Rebuilds every stripe from its shards minus {@link LOST_POSITIONS}, checking one byte so nothing is elided. */
function rebuildAll(data: Uint8Array, parity: Uint8Array, layout: StripeLayout): void {
  const { segmentSize } = layout;
  for (let stripe = 0; stripe < layout.stripes; stripe++) {
    const members = stripeSegments(layout, stripe);
    const shards: (Uint8Array | undefined)[] = [
      ...members.data.map((i) => data.subarray(i * segmentSize, (i + 1) * segmentSize)),
      ...Array.from({ length: members.padding }, () => new Uint8Array(0)),
      ...members.parity.map((j) => parity.subarray(j * segmentSize, (j + 1) * segmentSize)),
    ];
    for (const position of LOST_POSITIONS) shards[position] = undefined;
    const segments = decodeStripe(shards, K, M);
    const first = members.data[0] * segmentSize;
    if (segments[0][0] !== data[first]) throw new Error(`stripe ${stripe} was rebuilt wrongly`);
  }
}

function timeRuns(run: () => void): number[] {
  const seconds: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    run();
    seconds.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  return seconds;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

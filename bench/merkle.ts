/**
 * Storage Merkle benchmark: the file root of a 256 MiB random file by our `computeFileMerkle` (worker pool,
 * best of 3, and one pass on a single thread) against the official 0G TS SDK's
 * `ZgFile.fromFilePath(…).merkleTree()` on the same file in the same run (one pass: it is slow). The file
 * was just written, so both read it from the page cache. MB = 10^6 bytes.
 *
 * Standalone: `npx ts-node bench/merkle.ts`.
 */
import { randomFillSync } from "node:crypto";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ZgFile } from "@0gfoundation/0g-ts-sdk";
import { closeMerkleWorkers, computeFileMerkle, type MerkleHashing } from "../offchain/storage/merkle";
import type { Figure } from "./figure";

const FILE_SIZE = 256 * 1024 * 1024;
const SDK_NAME = "0G TS SDK 1.2.8 ZgFile.merkleTree()";

export async function merkleBench(): Promise<Figure[]> {
  const dir = mkdtempSync(path.join(tmpdir(), "zg-bench-merkle-"));
  const file = path.join(dir, "random.bin");
  try {
    writeRandomFile(file, FILE_SIZE);
    const ours = async (hashing: MerkleHashing) => {
      const start = process.hrtime.bigint();
      const { root } = await computeFileMerkle(file, { hashing });
      return { root, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
    };
    const cold = await ours("workers"); // includes starting the worker pool
    const warm = [await ours("workers"), await ours("workers"), await ours("workers")];
    const best = Math.min(...warm.map((run) => run.seconds));
    const single = await ours("in-thread");

    const sdkStart = process.hrtime.bigint();
    const zgFile = await ZgFile.fromFilePath(file);
    let sdkRoot: string | null | undefined;
    try {
      const [tree, error] = await zgFile.merkleTree();
      if (error) throw error;
      sdkRoot = tree?.rootHash();
    } finally {
      await zgFile.close();
    }
    const sdkSeconds = Number(process.hrtime.bigint() - sdkStart) / 1e9;
    for (const run of [cold, ...warm, single]) {
      if (run.root !== sdkRoot) throw new Error(`root mismatch: ours ${run.root}, SDK ${sdkRoot}`);
    }

    const mbPerSecond = (seconds: number) => round(FILE_SIZE / 1e6 / seconds);
    const sdk = { name: SDK_NAME, value: mbPerSecond(sdkSeconds), unit: "MB/s" };
    return [
      { name: "merkle-file-root-256MiB", value: mbPerSecond(best), unit: "MB/s", anchor: sdk },
      { name: "merkle-file-root-256MiB-cold", value: mbPerSecond(cold.seconds), unit: "MB/s", anchor: sdk },
      {
        name: "merkle-file-root-256MiB-1-thread",
        value: mbPerSecond(single.seconds),
        unit: "MB/s",
        anchor: sdk,
      },
      {
        name: "merkle-speedup-vs-sdk",
        value: round(sdkSeconds / best),
        unit: "x",
        anchor: { name: SDK_NAME, value: 1, unit: "x" },
      },
    ];
  } finally {
    await closeMerkleWorkers();
    rmSync(dir, { recursive: true, force: true });
  }
}

function writeRandomFile(file: string, size: number): void {
  const chunk = Buffer.allocUnsafe(16 * 1024 * 1024);
  const fd = openSync(file, "w");
  try {
    for (let written = 0; written < size; written += chunk.length) {
      randomFillSync(chunk);
      writeSync(fd, chunk, 0, Math.min(chunk.length, size - written));
    }
  } finally {
    closeSync(fd);
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

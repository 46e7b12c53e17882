import { constants } from "node:fs";
import { mkdir, open, readdir, rm, type FileHandle } from "node:fs/promises";
import path from "node:path";
import type { DurableStore, StoreOp } from "../core/store";
import { SEGMENT_SIZE } from "./merkle";

/** Set in the store once its segments are in segment files. */
const ADOPTED_KEY = "segments/adopted";

/**
 * The segment bytes a storage node holds: one file per log entry in `<dataDir>/segments/`, segment `i` at byte
 * `i × 256 KiB` (a sparse file: only the node's shard is written). A LevelDB value of 256 KiB is written about
 * once per level it passes through and read through its block cache; here a segment is written once and read
 * with one pread. The store keeps what says a segment is held (its proof, the file's count); `write` makes the
 * bytes durable before the caller's store batch records them, so a crash in between leaves bytes no record
 * claims, which the next upload of the segment overwrites.
 */
export class SegmentFiles {
  private constructor(private readonly dir: string) {}

  static async open(dataDir: string): Promise<SegmentFiles> {
    const dir = path.join(dataDir, "segments");
    await mkdir(dir, { recursive: true });
    return new SegmentFiles(dir);
  }

  /** Writes segments of log entry `seq` and syncs them to disk. */
  async write(seq: number, segments: { index: number; bytes: Uint8Array }[]): Promise<void> {
    if (segments.length === 0) return;
    // Read and write, never append (positioned writes). A handle per call: opening costs microseconds, and no
    // handle is ever closed under another request.
    const handle = await open(this.fileOf(seq), constants.O_RDWR | constants.O_CREAT);
    try {
      await Promise.all(
        segments.map(({ index, bytes }) => handle.write(bytes, 0, bytes.length, index * SEGMENT_SIZE)),
      );
      await handle.datasync();
    } finally {
      await handle.close();
    }
  }

  /** The `length` bytes of segment `index` of log entry `seq`, or undefined when the file does not have them. */
  async read(seq: number, index: number, length: number): Promise<Uint8Array | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(this.fileOf(seq), "r");
    } catch {
      return undefined;
    }
    try {
      const bytes = new Uint8Array(length);
      const { bytesRead } = await handle.read(bytes, 0, length, index * SEGMENT_SIZE);
      return bytesRead === length ? bytes : undefined;
    } finally {
      await handle.close();
    }
  }

  private fileOf(seq: number): string {
    return path.join(this.dir, `${seq.toString().padStart(12, "0")}.seg`);
  }

  /**
   * Moves segments a node of an earlier version kept in its store (`file/<seq>/segment/<index>` keys) into the
   * segment files, syncing each file before the keys are deleted; returns how many moved.
   */
  async adoptFromStore(store: DurableStore): Promise<number> {
    // Done once per store: later starts skip the scan of every proof key.
    if ((await store.get(ADOPTED_KEY)) === true) return 0;
    let moved = 0;
    let found: { key: string; seq: number; index: number; bytes: Uint8Array }[] = [];
    const flush = async () => {
      for (const seq of new Set(found.map((segment) => segment.seq)))
        await this.write(
          seq,
          found.filter((segment) => segment.seq === seq),
        );
      await store.batch(found.map(({ key }): StoreOp => ({ type: "del", key })));
      moved += found.length;
      found = [];
    };
    // One pass: the store's iterator reads a snapshot, so deleting what it has passed is safe.
    for await (const key of store.keys("file/")) {
      const match = /^file\/(\d+)\/segment\/(\d+)$/.exec(key);
      if (!match) continue;
      const bytes = await store.getBytes(key);
      if (bytes) found.push({ key, seq: Number(match[1]), index: Number(match[2]), bytes });
      if (found.length >= 64) await flush();
    }
    await flush();
    await store.put(ADOPTED_KEY, true);
    return moved;
  }

  /** Removes every segment file (for tests and demos that simulate a node losing its data). */
  static async lose(dataDir: string): Promise<void> {
    const dir = path.join(dataDir, "segments");
    for (const name of await readdir(dir).catch(() => [])) await rm(path.join(dir, name), { force: true });
  }
}

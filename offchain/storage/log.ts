import { AbiCoder, concat, keccak256 } from "ethers";
import { z } from "zod";
import { SECTOR_SIZE, SECTORS_PER_SEGMENT, SEGMENT_SIZE, type SubmissionNode } from "./merkle";
import type { FileInfo, ShardConfig } from "./types";

/** One submission to the log, as a storage node records it from Flow's `Submit` event. */
export interface LogEntry {
  /** The submission index (0G's txSeq). */
  seq: number;
  /** The file root: the SDK's Merkle root of the file, folded from the submission's node roots. */
  root: string;
  /** File size in bytes. */
  size: number;
  /** The log position (in sectors) where the file's first node starts. */
  startEntryIndex: number;
  nodes: SubmissionNode[];
  tags: string;
  submitter: string;
  blockNumber: number;
}

/**
 * The file root a submission commits to. The SDK's file tree promotes an odd trailing node instead of
 * duplicating it, so over a padded file of Σ 2^hᵢ sectors (heights decreasing) its root is the right fold
 * parent(r₁, parent(r₂, … rₙ)) of the node roots, which is how 0G's node derives `dataMerkleRoot` too.
 */
export function submissionRoot(nodes: readonly SubmissionNode[]): string {
  if (nodes.length === 0) throw new Error("a submission has at least one node");
  let root = nodes[nodes.length - 1].root;
  for (let i = nodes.length - 2; i >= 0; i--) root = keccak256(concat([nodes[i].root, root]));
  return root;
}

export function sectorCount(size: number): number {
  return Math.ceil(size / SECTOR_SIZE);
}

export function segmentCount(size: number): number {
  return Math.ceil(size / SEGMENT_SIZE);
}

/** The bytes segment `index` of a file carries on the wire: whole sectors, the last segment short. */
export function segmentLength(size: number, index: number): number {
  const sectors = Math.min(SECTORS_PER_SEGMENT, sectorCount(size) - index * SECTORS_PER_SEGMENT);
  return sectors * SECTOR_SIZE;
}

/** The segment's index in the whole log, which decides the shard that holds it. */
export function globalSegmentIndex(entry: Pick<LogEntry, "startEntryIndex">, index: number): number {
  return Math.floor(entry.startEntryIndex / SECTORS_PER_SEGMENT) + index;
}

export function inShard(shard: ShardConfig, globalIndex: number): boolean {
  return globalIndex % shard.numShard === shard.shardId;
}

/** The file's segment indexes a node of `shard` holds. */
export function shardSegments(entry: LogEntry, shard: ShardConfig): number[] {
  const indexes: number[] = [];
  for (let i = 0; i < segmentCount(entry.size); i++)
    if (inShard(shard, globalSegmentIndex(entry, i))) indexes.push(i);
  return indexes;
}

/** The `FileInfo` JSON a 0G storage node answers for a log entry. */
export function fileInfo(entry: LogEntry, uploaded: number, finalized: boolean): FileInfo {
  return {
    tx: {
      streamIds: [],
      data: "0x",
      dataMerkleRoot: entry.root,
      merkleNodes: entry.nodes.map((node) => [node.height, node.root]),
      startEntryIndex: entry.startEntryIndex,
      size: entry.size,
      seq: entry.seq,
    },
    finalized,
    isCached: false,
    uploadedSegNum: uploaded,
  };
}

/** A shard: the node holds the segments whose log-wide index % numShard == shardId. */
export const shardSchema = z
  .object({
    shardId: z.number().int().min(0),
    numShard: z
      .number()
      .int()
      .min(1)
      .max(1 << 20),
  })
  .strict()
  .refine((shard) => (shard.numShard & (shard.numShard - 1)) === 0, {
    message: "numShard must be a power of two",
  })
  .refine((shard) => shard.shardId < shard.numShard, { message: "shardId must be below numShard" });

/** The metadata a storage node announces in NodeStaking: `abi.encode(uint32 shardId, uint32 numShard)`. */
export function encodeShardMetadata(shard: ShardConfig): string {
  return AbiCoder.defaultAbiCoder().encode(["uint32", "uint32"], [shard.shardId, shard.numShard]);
}

export function decodeShardMetadata(metadata: string): ShardConfig | undefined {
  try {
    const [shardId, numShard] = AbiCoder.defaultAbiCoder().decode(["uint32", "uint32"], metadata);
    const shard = { shardId: Number(shardId), numShard: Number(numShard) };
    return shardSchema.safeParse(shard).success ? shard : undefined;
  } catch {
    return undefined;
  }
}

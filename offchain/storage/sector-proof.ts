import { concat, keccak256, toBeHex } from "ethers";
import { StorageChallenges__factory } from "../../typechain-types";
import { ZgError } from "../core/errors";
import { SECTOR_SIZE, SECTORS_PER_SEGMENT } from "./merkle";

/**
 * The proof a storage node gives that it holds one 256-byte sector of a file: the sector and its siblings up
 * to the file root (the data root the Flow recorded), i.e. the 0G SDK's proof of the sector in the file's tree.
 * The file is the submission's nodes, complete binary trees of 2^height sectors laid out from the file's start
 * in submission order (leaf = keccak256(sector), zero sectors past the data), and the file root folds the node
 * roots right to left; so the sector's index fixes every side of the path (`sectorPath`).
 */
export interface SectorProof {
  /** The sector's index within the file. */
  sectorIndex: number;
  sector: Uint8Array;
  /** Sibling hashes from the leaf level up to the file root: `sectorPath(…).depth` of them. */
  siblings: string[];
}

export interface SectorProofInput {
  /** The heights of the submission's nodes, in submission order. */
  heights: readonly number[];
  /** The sector's index within the file. */
  sectorIndex: number;
  /** The file segment holding the sector, as stored (whole sectors; the last one may be short). */
  segment: Uint8Array;
  /** The segment's proof to the file root as uploaded (`lemma = [segment root, siblings…, file root]`). */
  segmentLemma: readonly string[];
}

/** Where a sector's proof climbs: bit `l` of `path` set when the running node is the right child at level `l`. */
export interface SectorPath {
  path: bigint;
  depth: number;
}

const ZERO_SECTOR = new Uint8Array(SECTOR_SIZE);

/**
 * The sides and length of the path from file sector `sectorIndex` to the file root, as `StorageChallenges`
 * derives them (`_pathOf`): the levels of the node holding the sector (its position there gives the sides);
 * then, if a node follows, one level with the running node on the left; then one level on the right for each
 * node before it.
 */
export function sectorPath(heights: readonly number[], sectorIndex: number): SectorPath {
  let offset = 0;
  const nodeIndex = heights.findIndex((height) => {
    if (sectorIndex < offset + 2 ** height) return true;
    offset += 2 ** height;
    return false;
  });
  if (nodeIndex < 0 || sectorIndex < 0)
    throw new ZgError(`sector ${sectorIndex} is outside the submission`, "BAD_INPUT");
  const height = heights[nodeIndex];
  const follows = nodeIndex < heights.length - 1 ? 1 : 0;
  const before = (1n << BigInt(nodeIndex)) - 1n;
  return {
    path: BigInt(sectorIndex - offset) | (before << BigInt(height + follows)),
    depth: height + follows + nodeIndex,
  };
}

/** Builds the proof of sector `sectorIndex` from the node's own segment and the proof it was uploaded with. */
export function sectorProof(input: SectorProofInput): SectorProof {
  const { heights, sectorIndex, segment, segmentLemma } = input;
  const { depth } = sectorPath(heights, sectorIndex);
  const segmentStart = Math.floor(sectorIndex / SECTORS_PER_SEGMENT) * SECTORS_PER_SEGMENT;
  const fileSectors = heights.reduce((sum, height) => sum + 2 ** height, 0);
  // Inside the segment: the SDK's tree over its sectors (the last segment may have fewer than 1024), which
  // pairs neighbours and promotes an odd last node without a sibling.
  let level: string[] = [];
  for (let j = 0; j < Math.min(SECTORS_PER_SEGMENT, fileSectors - segmentStart); j++)
    level.push(keccak256(sectorAt(segment, j)));
  const siblings: string[] = [];
  let position = sectorIndex - segmentStart;
  while (level.length > 1) {
    if ((position ^ 1) < level.length) siblings.push(level[position ^ 1]);
    const next: string[] = [];
    for (let j = 0; j < level.length; j += 2)
      next.push(j + 1 < level.length ? keccak256(concat([level[j], level[j + 1]])) : level[j]);
    level = next;
    position >>= 1;
  }
  // Above it, the segment's proof to the file root as uploaded.
  siblings.push(...segmentLemma.slice(1, -1));
  if (siblings.length !== depth)
    throw new ZgError(
      `the segment proof does not fit this submission (${siblings.length} siblings, ${depth} expected)`,
      "BAD_INPUT",
    );
  return { sectorIndex, sector: sectorAt(segment, sectorIndex - segmentStart), siblings };
}

/** The file root a proof leads to (what the contract recomputes and compares with the data root). */
export function sectorProofRoot(heights: readonly number[], proof: SectorProof): string {
  const { path } = sectorPath(heights, proof.sectorIndex);
  let hash = keccak256(proof.sector);
  proof.siblings.forEach((sibling, level) => {
    hash =
      (path >> BigInt(level)) & 1n ? keccak256(concat([sibling, hash])) : keccak256(concat([hash, sibling]));
  });
  return hash;
}

const ANSWER_SELECTOR = StorageChallenges__factory.createInterface().getFunction("answer").selector;

/**
 * The call data of `StorageChallenges.answer` for `epoch`: the selector, then packed (no ABI words, see the
 * contract) the epoch in 4 bytes, the 256-byte sector and the siblings.
 */
export function answerCalldata(
  epoch: number | bigint,
  sector: Uint8Array | string,
  siblings: readonly string[],
) {
  return concat([ANSWER_SELECTOR, toBeHex(epoch, 4), sector, ...siblings]);
}

function sectorAt(segment: Uint8Array, index: number): Uint8Array {
  const start = index * SECTOR_SIZE;
  if (start >= segment.length) return ZERO_SECTOR;
  const sector = new Uint8Array(SECTOR_SIZE);
  sector.set(segment.subarray(start, Math.min(start + SECTOR_SIZE, segment.length)));
  return sector;
}

import { concat, keccak256 } from "ethers";
import { ZgError } from "../core/errors";
import { SECTOR_SIZE, SECTORS_PER_SEGMENT } from "./merkle";

/**
 * The proof a storage node gives that it holds one 256-byte sector of a file: the sector and its siblings up
 * to the root of the submission node that contains it. Submission nodes are complete binary trees of
 * 2^height sectors laid out from the file's start in the order of the submission (leaf = keccak256(sector),
 * zero sectors past the data), so the sector's index within its node fixes the path; the node roots fold to
 * the file root, which the Flow recorded.
 */
export interface SectorProof {
  /** Which submission node holds the sector. */
  nodeIndex: number;
  /** The sector's index within that node (its path, bit by bit from the leaf). */
  indexInNode: number;
  sector: Uint8Array;
  /** Sibling hashes from the leaf level upward: `height` of them. */
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

const ZERO_SECTOR = new Uint8Array(SECTOR_SIZE);

/** Builds the proof of sector `sectorIndex` from the node's own segment and the proof it was uploaded with. */
export function sectorProof(input: SectorProofInput): SectorProof {
  const { heights, sectorIndex, segment, segmentLemma } = input;
  let offset = 0;
  const nodeIndex = heights.findIndex((height) => {
    if (sectorIndex < offset + 2 ** height) return true;
    offset += 2 ** height;
    return false;
  });
  if (nodeIndex < 0) throw new ZgError(`sector ${sectorIndex} is outside the submission`, "BAD_INPUT");
  const height = heights[nodeIndex];
  const indexInNode = sectorIndex - offset;
  const segmentStart = Math.floor(sectorIndex / SECTORS_PER_SEGMENT) * SECTORS_PER_SEGMENT;
  // Below the segment level the siblings come from the segment itself: the part of the node inside it.
  const portionLength = Math.min(2 ** height, SECTORS_PER_SEGMENT);
  const portionStart = Math.max(offset, segmentStart);
  const leaves: string[] = [];
  for (let j = 0; j < portionLength; j++)
    leaves.push(keccak256(sectorAt(segment, portionStart - segmentStart + j)));
  const siblings: string[] = [];
  let level = leaves;
  let position = sectorIndex - portionStart;
  while (level.length > 1) {
    siblings.push(level[position ^ 1]);
    const next: string[] = [];
    for (let j = 0; j < level.length; j += 2) next.push(keccak256(concat([level[j], level[j + 1]])));
    level = next;
    position >>= 1;
  }
  // Above it, inside a complete node subtree, the uploaded segment proof has one sibling per level.
  const segmentLevels = Math.log2(SECTORS_PER_SEGMENT);
  if (height > segmentLevels) {
    const needed = height - segmentLevels;
    if (segmentLemma.length < needed + 2)
      throw new ZgError("the segment proof is too short for this submission node", "BAD_INPUT");
    siblings.push(...segmentLemma.slice(1, 1 + needed));
  }
  return { nodeIndex, indexInNode, sector: sectorAt(segment, sectorIndex - segmentStart), siblings };
}

/** The root of the submission node a proof leads to (what the contract recomputes). */
export function sectorProofRoot(proof: SectorProof): string {
  let hash = keccak256(proof.sector);
  proof.siblings.forEach((sibling, level) => {
    hash =
      (proof.indexInNode >> level) & 1
        ? keccak256(concat([sibling, hash]))
        : keccak256(concat([hash, sibling]));
  });
  return hash;
}

function sectorAt(segment: Uint8Array, index: number): Uint8Array {
  const start = index * SECTOR_SIZE;
  if (start >= segment.length) return ZERO_SECTOR;
  const sector = new Uint8Array(SECTOR_SIZE);
  sector.set(segment.subarray(start, Math.min(start + SECTOR_SIZE, segment.length)));
  return sector;
}

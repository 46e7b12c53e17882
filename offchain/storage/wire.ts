/**
 * The binary segment transport our storage nodes serve beside the 0G JSON-RPC (which the official SDK uses, and
 * which stays as it is): the same segments and proofs, as raw bytes instead of base64 strings inside JSON, so
 * that neither side encodes, scans or copies a segment more than it must.
 *
 * - `POST /zg/segments/<txSeq>`: upload; the body is frames, the answer `{"stored": n}` (segments new here).
 * - `GET /zg/segments/<root>?indexes=i,j,…`: download; the answer is one frame per index, in that order.
 *
 * A frame, big-endian: `u32 index | u32 length | u8 lemma count L | u8 path count P | L × 32-byte hash |
 * P × u8 (1 = left, 0 = right) | length bytes of segment`. The proof is the JSON-RPC's `{lemma, path}`. In a
 * download, a segment the node does not hold is a frame with length, L and P all 0. A node that does not serve
 * these routes answers 404, and clients fall back to the JSON-RPC.
 */
import { isHexString } from "ethers";
import { ZgError } from "../core/errors";
import { SEGMENT_SIZE, type SegmentProof } from "./merkle";

/** A segment with its proof, its bytes in binary (whole sectors, like the JSON-RPC's base64). */
export interface SegmentFrame {
  index: number;
  proof: SegmentProof;
  bytes: Uint8Array;
}

/** Where the routes are: `POST <route><txSeq>` uploads, `GET <route><root>?indexes=…` downloads. */
export const SEGMENTS_ROUTE = "/zg/segments/";
/** The most hashes a proof may have (a file tree of 2^78 segments, beyond any log). */
export const MAX_LEMMA = 80;
const HEADER = 10;
const HASH = 32;

/** The largest frame: a whole segment with the longest proof. */
export const MAX_FRAME_BYTES = HEADER + MAX_LEMMA * (HASH + 1) + SEGMENT_SIZE;

/**
 * A frame as pieces to write in order: its header and proof, then the segment bytes themselves (not copied); a
 * missing segment (`null`) is one empty header.
 */
export function encodeFrame(index: number, frame: Omit<SegmentFrame, "index"> | null): Uint8Array[] {
  if (!Number.isInteger(index) || index < 0 || index > 0xffffffff)
    throw new ZgError(`a segment index is a u32, not ${index}`, "BAD_INPUT");
  const lemma = frame?.proof.lemma ?? [];
  const path = frame?.proof.path ?? [];
  if (lemma.length > MAX_LEMMA || path.length > MAX_LEMMA)
    throw new ZgError(`a proof has at most ${MAX_LEMMA} hashes`, "BAD_INPUT");
  const head = Buffer.alloc(HEADER + lemma.length * HASH + path.length);
  head.writeUInt32BE(index, 0);
  head.writeUInt32BE(frame?.bytes.length ?? 0, 4);
  head[8] = lemma.length;
  head[9] = path.length;
  lemma.forEach((hash, i) => {
    if (!isHexString(hash, HASH)) throw new ZgError(`${hash} is not a 32-byte hash`, "BAD_INPUT");
    head.write(hash.slice(2), HEADER + i * HASH, "hex");
  });
  path.forEach((left, i) => (head[HEADER + lemma.length * HASH + i] = left ? 1 : 0));
  return frame && frame.bytes.length > 0 ? [head, frame.bytes] : [head];
}

/**
 * The frames of a body, in order (`null` for a missing segment); the bytes are views into `body`. Anything
 * malformed (a truncated frame, a path flag other than 0 or 1, a frame over `maxSegmentBytes`, trailing bytes)
 * throws ZgError("BAD_INPUT") naming the frame.
 */
export function decodeFrames(body: Uint8Array, maxSegmentBytes = SEGMENT_SIZE): (SegmentFrame | null)[] {
  const view = Buffer.from(body.buffer, body.byteOffset, body.length);
  const frames: (SegmentFrame | null)[] = [];
  let at = 0;
  while (at < view.length) {
    const bad = (what: string) => new ZgError(`segment frame ${frames.length}: ${what}`, "BAD_INPUT");
    if (view.length - at < HEADER) throw bad("truncated header");
    const index = view.readUInt32BE(at);
    const length = view.readUInt32BE(at + 4);
    const lemmaCount = view[at + 8];
    const pathCount = view[at + 9];
    if (length > maxSegmentBytes) throw bad(`${length} bytes, over ${maxSegmentBytes}`);
    if (lemmaCount > MAX_LEMMA || pathCount > MAX_LEMMA) throw bad(`a proof has at most ${MAX_LEMMA} hashes`);
    const end = at + HEADER + lemmaCount * HASH + pathCount + length;
    if (end > view.length) throw bad("truncated");
    at += HEADER;
    if (length === 0 && lemmaCount === 0 && pathCount === 0) {
      frames.push(null);
      continue;
    }
    const lemma: string[] = [];
    for (let i = 0; i < lemmaCount; i++, at += HASH) lemma.push(`0x${view.toString("hex", at, at + HASH)}`);
    const path: boolean[] = [];
    for (let i = 0; i < pathCount; i++, at += 1) {
      if (view[at] > 1) throw bad("a path flag is 0 or 1");
      path.push(view[at] === 1);
    }
    frames.push({ index, proof: { lemma, path }, bytes: body.subarray(at, at + length) });
    at = end;
  }
  return frames;
}

/** The segment indexes of a download route's query (`indexes=1,2,3`), or a one-line reason they are not. */
export function parseIndexes(query: string | null, max: number): number[] | string {
  if (!query) return "indexes=i,j,… is required";
  const parts = query.split(",");
  if (parts.length > max) return `at most ${max} segments per request`;
  const indexes = parts.map(Number);
  if (!parts.every((part, i) => /^\d{1,10}$/.test(part) && indexes[i] <= 0xffffffff))
    return "indexes must be non-negative integers below 2^32";
  return indexes;
}

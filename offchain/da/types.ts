/** Formats of the DA module (docs/da.md): shared by the codec, the DA node, the sampler and the SDK. */

/** Field elements per blob (EIP-4844). */
export const FIELD_ELEMENTS_PER_BLOB = 4096;
/** Bytes per blob: 4,096 elements of 32 bytes. */
export const BYTES_PER_BLOB = FIELD_ELEMENTS_PER_BLOB * 32;
/** Payload bytes one blob carries: 31 per field element (the leading byte of each element is zero). */
export const BLOB_PAYLOAD_BYTES = FIELD_ELEMENTS_PER_BLOB * 31;
/** Cells of an extended blob (EIP-7594), and how many of them recover it. */
export const CELLS_PER_BLOB = 128;
export const CELLS_TO_RECOVER = 64;
/** Bytes per cell (64 field elements), per KZG commitment and per proof. */
export const BYTES_PER_CELL = 2048;
export const BYTES_PER_COMMITMENT = 48;
export const BYTES_PER_PROOF = 48;
/** The most blobs one payload may have (DAEntrance's MAX_BLOBS). */
export const MAX_BLOBS = 256;
/** Cells each signer holds of every blob it signs. */
export const CUSTODY_CELLS = 64;

/** A G1 point as the contracts take it. */
export interface G1Point {
  X: bigint;
  Y: bigint;
}

/** A G2 point as the contracts (and precompile 0x08) take it: imaginary part first. */
export interface G2Point {
  X: [bigint, bigint];
  Y: [bigint, bigint];
}

/** A payload's commitment: its blobs' KZG commitments in order, and its length in bytes. */
export interface PayloadCommitment {
  commitments: Uint8Array[];
  length: number;
}

/** One blob's extended form: 128 cells and their proofs. */
export interface ExtendedBlob {
  commitment: Uint8Array;
  cells: Uint8Array[];
  proofs: Uint8Array[];
}

/**
 * The cells signer `index` of `signers` holds of every blob it signs (docs/da.md, "Custody"): 64 consecutive
 * cells (mod 128) from ⌊index·128/signers⌋.
 */
export function custodyCells(index: number, signers: number): number[] {
  if (!Number.isInteger(index) || !Number.isInteger(signers) || signers < 1 || index < 0 || index >= signers)
    throw new RangeError(`no signer ${index} of ${signers}`);
  const start = Math.floor((index * CELLS_PER_BLOB) / signers);
  return Array.from({ length: CUSTODY_CELLS }, (_, j) => (start + j) % CELLS_PER_BLOB);
}

/** Whether signer `index` of `signers` holds `cell`. */
export function holdsCell(index: number, signers: number, cell: number): boolean {
  const start = Math.floor((index * CELLS_PER_BLOB) / signers);
  return (cell - start + CELLS_PER_BLOB) % CELLS_PER_BLOB < CUSTODY_CELLS;
}

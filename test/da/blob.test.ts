import { expect } from "chai";
import { verifyKzgProof } from "c-kzg";
import { randomBytes } from "node:crypto";
import type { Worker } from "node:worker_threads";
import { getBytes, keccak256, solidityPackedKeccak256, toBeArray, zeroPadValue } from "ethers";
import fc from "fast-check";
import { ZgError } from "../../offchain/core/errors";
import {
  BLS_MODULUS,
  Encoder,
  MAX_PAYLOAD_BYTES,
  blobCount,
  blobsToPayload,
  decodeCommitments,
  encodeCommitments,
  ensureKzg,
  evaluateBlob,
  extendBlob,
  payloadId,
  payloadToBlobs,
  recoverBlob,
  verifyCells,
} from "../../offchain/da/blob";
import {
  BLOB_PAYLOAD_BYTES,
  BYTES_PER_BLOB,
  BYTES_PER_CELL,
  CELLS_PER_BLOB,
  MAX_BLOBS,
  type ExtendedBlob,
} from "../../offchain/da/types";

// Every KZG call costs 40–300 ms here, so the KZG properties run a handful of times each.

function expectBytes(actual: Uint8Array, expected: Uint8Array, message?: string): void {
  expect(Buffer.from(actual).equals(Buffer.from(expected)), message).to.equal(true);
}

function expectBadInput(action: () => unknown, message: RegExp): void {
  let thrown: unknown;
  try {
    action();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, "expected a ZgError").to.be.instanceOf(ZgError);
  expect((thrown as ZgError).code).to.equal("BAD_INPUT");
  expect((thrown as ZgError).message).to.match(message);
}

async function rejection(promise: Promise<unknown>): Promise<ZgError> {
  try {
    await promise;
  } catch (error) {
    expect(error, "expected a ZgError").to.be.instanceOf(ZgError);
    return error as ZgError;
  }
  throw new Error("expected a rejection");
}

/** A blob of random payload bytes (every element canonical). */
function randomBlob(): Uint8Array {
  return payloadToBlobs(new Uint8Array(randomBytes(BLOB_PAYLOAD_BYTES)))[0];
}

/** Random payload bytes of `length`. */
function randomPayload(length: number): Uint8Array {
  return new Uint8Array(randomBytes(length));
}

const cellIndex = fc.integer({ min: 0, max: CELLS_PER_BLOB - 1 });
const allCells = Array.from({ length: CELLS_PER_BLOB }, (_, i) => i);

describe("da/blob", function () {
  this.timeout(60_000);

  describe("payloadToBlobs / blobsToPayload", function () {
    it("packs 31 bytes per element behind a zero byte and round-trips the edge lengths", function () {
      const lengths = [1, 30, 31, 32, BLOB_PAYLOAD_BYTES - 1, BLOB_PAYLOAD_BYTES, BLOB_PAYLOAD_BYTES + 1];
      for (const length of [...lengths, 3 * BLOB_PAYLOAD_BYTES + 17, 5 * BLOB_PAYLOAD_BYTES]) {
        const data = randomPayload(length);
        const blobs = payloadToBlobs(data);
        expect(blobs.length, `${length} bytes`).to.equal(Math.ceil(length / BLOB_PAYLOAD_BYTES));
        expect(blobCount(length)).to.equal(blobs.length);
        for (const blob of blobs) {
          expect(blob.length).to.equal(BYTES_PER_BLOB);
          expect(blob.byteOffset).to.equal(0);
          expect(blob.buffer.byteLength).to.equal(BYTES_PER_BLOB);
        }
        expectBytes(blobsToPayload(blobs, length), data, `${length} bytes`);
      }
      const data = randomPayload(BLOB_PAYLOAD_BYTES + 40);
      const [first, second] = payloadToBlobs(data);
      expect(first[0]).to.equal(0);
      expectBytes(first.subarray(1, 32), data.subarray(0, 31));
      expect(first[32]).to.equal(0);
      expectBytes(first.subarray(33, 64), data.subarray(31, 62));
      expectBytes(second.subarray(1, 32), data.subarray(BLOB_PAYLOAD_BYTES, BLOB_PAYLOAD_BYTES + 31));
      expectBytes(second.subarray(33, 42), data.subarray(BLOB_PAYLOAD_BYTES + 31));
      expect(second.subarray(42).every((byte) => byte === 0)).to.equal(true);
    });

    it("round-trips any payload (property)", function () {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.integer({ min: 1, max: 3 * BLOB_PAYLOAD_BYTES }),
            fc.integer({ min: 1, max: 3 }).chain((blobs) => {
              const edge = blobs * BLOB_PAYLOAD_BYTES;
              return fc.constantFrom(edge - 1, edge, edge + 1);
            }),
          ),
          (length) => {
            const data = randomPayload(length);
            expectBytes(blobsToPayload(payloadToBlobs(data), length), data);
          },
        ),
        { numRuns: 30 },
      );
    });

    it("takes up to MAX_BLOBS blobs and refuses empty and larger payloads with one clear line", function () {
      expect(MAX_PAYLOAD_BYTES).to.equal(MAX_BLOBS * BLOB_PAYLOAD_BYTES);
      expect(payloadToBlobs(new Uint8Array(MAX_PAYLOAD_BYTES)).length).to.equal(MAX_BLOBS);
      expectBadInput(() => payloadToBlobs(new Uint8Array(0)), /^a DA payload has at least 1 byte, not 0$/);
      expectBadInput(
        () => payloadToBlobs(new Uint8Array(MAX_PAYLOAD_BYTES + 1)),
        /^a DA payload of 32505857 bytes needs 257 blobs, more than the 256 allowed \(at most 32505856 bytes\)$/,
      );
    });

    it("refuses blobs that are not exactly a packed payload", function () {
      const data = randomPayload(BLOB_PAYLOAD_BYTES + 100);
      const blobs = payloadToBlobs(data);
      expectBadInput(() => blobsToPayload(blobs, 0), /at least 1 byte/);
      expectBadInput(() => blobsToPayload(blobs, 100), /of 100 bytes is 1 blobs, not 2/);
      expectBadInput(
        () => blobsToPayload([blobs[0], blobs[1].subarray(1)], data.length),
        /blob 1 is 131071 bytes/,
      );
      const leading = blobs.map((blob) => blob.slice());
      leading[1][32 * 7] = 1;
      expectBadInput(
        () => blobsToPayload(leading, data.length),
        /^blob 1 is not a packed payload: element 7 has a non-zero leading byte \(0x01\)$/,
      );
      const padded = blobs.map((blob) => blob.slice());
      padded[1][32 * 4000 + 5] = 9;
      expectBadInput(() => blobsToPayload(padded, data.length), /byte 128005 past the payload is not zero/);
      expectBytes(blobsToPayload(blobs, data.length), data);
    });
  });

  describe("commitments and payload id", function () {
    const commitments = [0x11, 0x22, 0x33].map((byte) => new Uint8Array(48).fill(byte));
    const length = 2 * BLOB_PAYLOAD_BYTES + 5;

    it("is keccak256(abi.encodePacked(bytes commitments, uint64 length))", function () {
      const id = payloadId({ commitments, length });
      const packed = Buffer.concat([...commitments, getBytes(zeroPadValue(toBeArray(length), 8))]);
      expect(packed.length).to.equal(3 * 48 + 8);
      expect(id).to.equal(keccak256(packed));
      expect(id).to.equal(
        solidityPackedKeccak256(["bytes", "uint64"], [encodeCommitments(commitments), length]),
      );
      expect(id).to.equal("0x5206e2d54e7ffb4bec04c6591e6458e3dce40198a309c111aaa576a89f8d43c5");
    });

    it("encodes and decodes commitments", function () {
      const encoded = encodeCommitments(commitments);
      expect(encoded.length).to.equal(144);
      expectBytes(encoded.subarray(48, 96), commitments[1]);
      for (const form of [encoded, `0x${Buffer.from(encoded).toString("hex")}`]) {
        const decoded = decodeCommitments(form);
        expect(decoded.length).to.equal(3);
        decoded.forEach((commitment, i) => expectBytes(commitment, commitments[i]));
      }
    });

    it("refuses malformed commitments", function () {
      expectBadInput(
        () => payloadId({ commitments, length: BLOB_PAYLOAD_BYTES }),
        /has 1 blob commitments, not 3/,
      );
      expectBadInput(
        () => payloadId({ commitments: [new Uint8Array(47)], length: 1 }),
        /commitment 0 is 47 bytes/,
      );
      expectBadInput(() => encodeCommitments([]), /1 to 256 blob commitments, not 0/);
      expectBadInput(() => decodeCommitments(new Uint8Array(95)), /not 95 bytes/);
      expectBadInput(() => decodeCommitments("0x"), /not 0 bytes/);
      expectBadInput(() => decodeCommitments(new Uint8Array(48 * 257)), /not 12336 bytes/);
      expectBadInput(() => decodeCommitments("0xzz"), /not bytes or 0x hex/);
    });
  });

  describe("KZG", function () {
    let blob: Uint8Array;
    let extended: ExtendedBlob;
    let other: ExtendedBlob;

    before(function () {
      ensureKzg();
      blob = randomBlob();
      extended = extendBlob(blob);
      other = extendBlob(randomBlob());
    });

    it("extends a blob into 128 cells whose first 64 are the blob", function () {
      expect(extended.commitment.length).to.equal(48);
      expect(extended.cells.length).to.equal(CELLS_PER_BLOB);
      expect(extended.proofs.length).to.equal(CELLS_PER_BLOB);
      expect(extended.cells.every((cell) => cell.length === BYTES_PER_CELL)).to.equal(true);
      expect(extended.proofs.every((proof) => proof.length === 48)).to.equal(true);
      expectBytes(Buffer.concat(extended.cells.slice(0, 64)), blob);
      expect(verifyCells(extended.commitment, allCells, extended.cells, extended.proofs)).to.equal(true);
    });

    it("refuses a blob of the wrong size or with a non-canonical element", function () {
      expectBadInput(
        () => extendBlob(new Uint8Array(BYTES_PER_BLOB - 1)),
        /blob is 131071 bytes, not 131072/,
      );
      expectBadInput(() => extendBlob(new Uint8Array(BYTES_PER_BLOB).fill(0xff)), /c-kzg rejected the blob/);
    });

    it("rebuilds the blob from any 64 distinct cells (property)", function () {
      fc.assert(
        fc.property(fc.shuffledSubarray(allCells, { minLength: 64, maxLength: 64 }), (indices) => {
          const rebuilt = recoverBlob(
            indices,
            indices.map((i) => extended.cells[i]),
          );
          expectBytes(rebuilt, blob);
        }),
        { numRuns: 8 },
      );
      expectBytes(recoverBlob(allCells.slice(0, 64).reverse(), extended.cells.slice(0, 64).reverse()), blob);
      expectBytes(recoverBlob(allCells, extended.cells), blob);
    });

    it("refuses to recover from fewer than 64 distinct cells or malformed ones", function () {
      const indices = allCells.slice(1, 64);
      const cells = indices.map((i) => extended.cells[i]);
      expectBadInput(
        () => recoverBlob(indices, cells),
        /^a blob is recovered from at least 64 distinct cells, only 63 given$/,
      );
      expectBadInput(() => recoverBlob([...indices, 1], [...cells, cells[0]]), /cell 1 is given twice/);
      expectBadInput(() => recoverBlob([...indices, 128], [...cells, cells[0]]), /cell index 128 is outside/);
      expectBadInput(
        () => recoverBlob([...indices, 0], [...cells, new Uint8Array(10)]),
        /cell 0 is 10 bytes/,
      );
      expectBadInput(() => recoverBlob(indices, cells.slice(1)), /63 cell indices for 62 cells/);
    });

    it("rejects any corrupted cell byte or proof byte (property)", function () {
      const corruption = fc.record({
        indices: fc.uniqueArray(cellIndex, { minLength: 1, maxLength: 8 }),
        target: fc.nat(),
        inProof: fc.boolean(),
        offset: fc.nat(),
        flip: fc.integer({ min: 1, max: 255 }),
      });
      fc.assert(
        fc.property(corruption, ({ indices, target, inProof, offset, flip }) => {
          const cells = indices.map((i) => extended.cells[i].slice());
          const proofs = indices.map((i) => extended.proofs[i].slice());
          expect(verifyCells(extended.commitment, indices, cells, proofs)).to.equal(true);
          const bytes = (inProof ? proofs : cells)[target % indices.length];
          bytes[offset % bytes.length] ^= flip;
          expect(verifyCells(extended.commitment, indices, cells, proofs)).to.equal(false);
        }),
        { numRuns: 100 },
      );
    });

    it("rejects cells checked against another blob's commitment (property)", function () {
      fc.assert(
        fc.property(fc.uniqueArray(cellIndex, { minLength: 1, maxLength: 4 }), (indices) => {
          const cells = indices.map((i) => extended.cells[i]);
          const proofs = indices.map((i) => extended.proofs[i]);
          expect(verifyCells(other.commitment, indices, cells, proofs)).to.equal(false);
          const moved = indices.map((i) => (i + 1) % CELLS_PER_BLOB);
          expect(verifyCells(extended.commitment, moved, cells, proofs)).to.equal(false);
        }),
        { numRuns: 40 },
      );
    });

    it("returns false, without throwing, on malformed input", function () {
      const { commitment, cells, proofs } = extended;
      expect(verifyCells(commitment, [], [], [])).to.equal(false);
      const hex = `0x${Buffer.from(commitment).toString("hex")}` as unknown as Uint8Array;
      expect(verifyCells(hex, [0], [cells[0]], [proofs[0]])).to.equal(false);
      expect(verifyCells(commitment.subarray(1), [0], [cells[0]], [proofs[0]])).to.equal(false);
      expect(verifyCells(commitment, [0, 1], [cells[0]], [proofs[0]])).to.equal(false);
      expect(verifyCells(commitment, [128], [cells[0]], [proofs[0]])).to.equal(false);
      expect(verifyCells(commitment, [0.5], [cells[0]], [proofs[0]])).to.equal(false);
      expect(verifyCells(commitment, [0], [cells[0].subarray(1)], [proofs[0]])).to.equal(false);
      expect(verifyCells(commitment, [0], [cells[0]], [proofs[0].subarray(1)])).to.equal(false);
      expect(verifyCells(new Uint8Array(48).fill(0xff), [0], [cells[0]], [proofs[0]])).to.equal(false);
      expect(verifyCells(commitment, [0], [new Uint8Array(BYTES_PER_CELL).fill(0xff)], [proofs[0]])).to.equal(
        false,
      );
    });

    it("opens the blob at z with a proof c-kzg's verifyKzgProof accepts (property)", function () {
      const point = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((seed) => {
        const z = BigInt(keccak256(seed)) % BLS_MODULUS;
        return getBytes(zeroPadValue(toBeArray(z), 32));
      });
      fc.assert(
        fc.property(point, (z) => {
          const { y, proof } = evaluateBlob(blob, z);
          expect(y.length).to.equal(32);
          expect(verifyKzgProof(extended.commitment, z, y, proof)).to.equal(true);
          expect(verifyKzgProof(other.commitment, z, y, proof)).to.equal(false);
        }),
        { numRuns: 10 },
      );
      const modulus = toBeArray(BLS_MODULUS);
      expectBadInput(() => evaluateBlob(blob, modulus), /c-kzg rejected the blob or z/);
      expectBadInput(() => evaluateBlob(blob, new Uint8Array(31)), /evaluation point z is 31 bytes/);
    });
  });

  describe("Encoder", function () {
    let encoder: Encoder;

    before(function () {
      encoder = new Encoder({ threads: 2 });
    });

    after(async function () {
      await encoder.close();
    });

    it("encodes a 3-blob payload on workers exactly as extendBlob does on this thread", async function () {
      const data = randomPayload(2 * BLOB_PAYLOAD_BYTES + 1000);
      const progress: [number, number][] = [];
      const encoded = await encoder.encode(data, {
        onProgress: (done, total) => progress.push([done, total]),
      });
      expect(progress).to.deep.equal([
        [1, 3],
        [2, 3],
        [3, 3],
      ]);
      expect(encoded.commitment.length).to.equal(data.length);
      expect(encoded.id).to.equal(payloadId(encoded.commitment));
      const blobs = payloadToBlobs(data);
      blobs.forEach((blob, b) => {
        const expected = extendBlob(blob);
        expectBytes(encoded.blobs[b].commitment, expected.commitment, `commitment ${b}`);
        expectBytes(encoded.commitment.commitments[b], expected.commitment, `commitment ${b}`);
        expectBytes(
          Buffer.concat(encoded.blobs[b].cells),
          Buffer.concat(expected.cells),
          `cells of blob ${b}`,
        );
        expectBytes(
          Buffer.concat(encoded.blobs[b].proofs),
          Buffer.concat(expected.proofs),
          `proofs of blob ${b}`,
        );
      });
    });

    it("rejects bad payloads and thread counts, and every encode once closed", async function () {
      expect((await rejection(encoder.encode(new Uint8Array(0)))).code).to.equal("BAD_INPUT");
      expectBadInput(() => new Encoder({ threads: 0 }), /at least 1 thread, not 0/);
      const closing = new Encoder({ threads: 1 });
      const pending = rejection(closing.encode(randomPayload(100)));
      await closing.close();
      expect((await pending).message).to.equal("the DA encoder is closed");
      expect((await rejection(closing.encode(randomPayload(100)))).message).to.equal(
        "the DA encoder is closed",
      );
    });

    it("fails every pending and later encode with a clear error when a worker dies", async function () {
      const failing = new Encoder({ threads: 1 });
      try {
        const pending = rejection(failing.encode(randomPayload(2 * BLOB_PAYLOAD_BYTES)));
        const [{ worker }] = (failing as unknown as { workers: { worker: Worker }[] }).workers;
        await worker.terminate();
        const error = await pending;
        expect(error.message).to.match(/^a DA encoder worker died: it exited with code \d+$/);
        expect((await rejection(failing.encode(randomPayload(100)))).message).to.equal(error.message);
      } finally {
        await failing.close();
      }
    });
  });
});

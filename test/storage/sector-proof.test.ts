import { randomBytes } from "node:crypto";
import { expect } from "chai";
import fc from "fast-check";
import { computeFileMerkle, SECTOR_SIZE, SEGMENT_SIZE, segmentProof } from "../../offchain/storage/merkle";
import { id } from "ethers";
import {
  answerCalldata,
  sectorPath,
  sectorProof,
  sectorProofRoot,
} from "../../offchain/storage/sector-proof";

/** Proves `sector` of a file the way a storage node does (from the segment it holds) and checks the file root. */
async function proveAndCheck(bytes: Uint8Array, sector: number) {
  const merkle = await computeFileMerkle(bytes, { hashing: "in-thread" });
  const segmentIndex = Math.floor((sector * SECTOR_SIZE) / SEGMENT_SIZE);
  const segment = bytes.subarray(segmentIndex * SEGMENT_SIZE, (segmentIndex + 1) * SEGMENT_SIZE);
  const heights = merkle.submission.nodes.map((node) => node.height);
  const proof = sectorProof({
    heights,
    sectorIndex: sector,
    segment,
    segmentLemma: segmentProof(merkle, segmentIndex).lemma,
  });
  expect(proof.siblings).to.have.length(sectorPath(heights, sector).depth);
  expect(sectorProofRoot(heights, proof)).to.equal(merkle.root);
  const expected = new Uint8Array(SECTOR_SIZE);
  expected.set(bytes.subarray(sector * SECTOR_SIZE, (sector + 1) * SECTOR_SIZE));
  expect(Buffer.from(proof.sector).equals(Buffer.from(expected))).to.equal(true);
  return proof;
}

describe("sector proofs (storage challenges)", () => {
  it("prove every kind of position against the SDK's file root", async () => {
    const cases: [number, number][] = [
      [1, 0],
      [257, 1],
      [13 * 256, 12],
      [SEGMENT_SIZE, 1023],
      [SEGMENT_SIZE + 1, 1024],
      [3 * SEGMENT_SIZE + 5000, 3 * 1024 + 19],
      [3 * SEGMENT_SIZE + 5000, 2000],
      [16385 * 256, 16384],
    ];
    for (const [size, sector] of cases) await proveAndCheck(randomBytes(size), sector);
  });

  it("property: any data sector of any file size proves to its file root", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 * SEGMENT_SIZE }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        async (size, where) => {
          const sectors = Math.ceil(size / SECTOR_SIZE);
          await proveAndCheck(randomBytes(size), Math.min(sectors - 1, Math.floor(where * sectors)));
        },
      ),
      { numRuns: 25 },
    );
  });

  it("a wrong sector or a wrong index does not prove", async () => {
    const bytes = randomBytes(2 * SEGMENT_SIZE + 777);
    const proof = await proveAndCheck(bytes, 1500);
    const merkle = await computeFileMerkle(bytes, { hashing: "in-thread" });
    const heights = merkle.submission.nodes.map((node) => node.height);
    const tampered = { ...proof, sector: Uint8Array.from(proof.sector, (b, i) => (i === 7 ? b ^ 1 : b)) };
    expect(sectorProofRoot(heights, tampered)).to.not.equal(merkle.root);
    expect(sectorProofRoot(heights, { ...proof, sectorIndex: proof.sectorIndex ^ 1 })).to.not.equal(
      merkle.root,
    );
  });

  it("the path's sides: the node's levels, then the fold of the later nodes on the right, then the earlier ones on the left", () => {
    // Nodes of 8, 4 and 2 sectors: 3 + 1, 2 + 2 and 1 + 2 levels.
    expect(sectorPath([3, 2, 1], 5)).to.deep.equal({ path: 0b0101n, depth: 4 });
    expect(sectorPath([3, 2, 1], 8 + 3)).to.deep.equal({ path: 0b1011n, depth: 4 });
    expect(sectorPath([3, 2, 1], 12 + 1)).to.deep.equal({ path: 0b111n, depth: 3 });
    // One node: its own levels only.
    expect(sectorPath([4], 9)).to.deep.equal({ path: 9n, depth: 4 });
    expect(() => sectorPath([3, 2, 1], 14)).to.throw("outside the submission");
  });

  it("answer call data: the selector, then the epoch in 4 bytes, the sector and the siblings, packed", () => {
    const sector = new Uint8Array(256).fill(7);
    const siblings = [`0x${"11".repeat(32)}`, `0x${"22".repeat(32)}`];
    const data = answerCalldata(0x01020304, sector, siblings);
    expect(data.slice(0, 10)).to.equal(id("answer()").slice(0, 10));
    expect(data.slice(10, 18)).to.equal("01020304");
    expect((data.length - 2) / 2).to.equal(4 + 4 + 256 + 64);
    expect(() => answerCalldata(2n ** 32n, sector, siblings)).to.throw();
  });
});

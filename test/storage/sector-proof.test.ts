import { randomBytes } from "node:crypto";
import { expect } from "chai";
import fc from "fast-check";
import { computeFileMerkle, SECTOR_SIZE, SEGMENT_SIZE, segmentProof } from "../../offchain/storage/merkle";
import { sectorProof, sectorProofRoot } from "../../offchain/storage/sector-proof";

/** Proves `sector` of a file the way a storage node does (from the segment it holds) and checks the node root. */
async function proveAndCheck(bytes: Uint8Array, sector: number) {
  const merkle = await computeFileMerkle(bytes, { hashing: "in-thread" });
  const segmentIndex = Math.floor((sector * SECTOR_SIZE) / SEGMENT_SIZE);
  const segment = bytes.subarray(segmentIndex * SEGMENT_SIZE, (segmentIndex + 1) * SEGMENT_SIZE);
  const proof = sectorProof({
    heights: merkle.submission.nodes.map((node) => node.height),
    sectorIndex: sector,
    segment,
    segmentLemma: segmentProof(merkle, segmentIndex).lemma,
  });
  const node = merkle.submission.nodes[proof.nodeIndex];
  expect(proof.siblings).to.have.length(node.height);
  expect(sectorProofRoot(proof)).to.equal(node.root);
  const expected = new Uint8Array(SECTOR_SIZE);
  expected.set(bytes.subarray(sector * SECTOR_SIZE, (sector + 1) * SECTOR_SIZE));
  expect(Buffer.from(proof.sector).equals(Buffer.from(expected))).to.equal(true);
  return proof;
}

describe("sector proofs (storage challenges)", () => {
  it("prove every kind of position against the SDK's submission node roots", async () => {
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

  it("property: any data sector of any file size proves to its node root", async () => {
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
    const root = merkle.submission.nodes[proof.nodeIndex].root;
    const tampered = { ...proof, sector: Uint8Array.from(proof.sector, (b, i) => (i === 7 ? b ^ 1 : b)) };
    expect(sectorProofRoot(tampered)).to.not.equal(root);
    expect(sectorProofRoot({ ...proof, indexInNode: proof.indexInNode ^ 1 })).to.not.equal(root);
  });
});

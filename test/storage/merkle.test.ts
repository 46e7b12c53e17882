import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { MemData, Proof, ZgFile, computePaddedSize } from "@0gfoundation/0g-ts-sdk";
import { keccak256 } from "ethers";
import fc from "fast-check";
import { ZgError } from "../../offchain/core/errors";
import {
  SECTOR_SIZE,
  SEGMENT_SIZE,
  base64Bytes,
  closeMerkleWorkers,
  computeFileMerkle,
  createSubmission,
  fileLayout,
  fileRoot,
  paddedSectors,
  provenFrames,
  useMerkleWorkers,
  segmentProof,
  segmentRoot,
  segmentRootsOf,
  segmentSectors,
  segmentWithProof,
  submissionNodeSizes,
  verifySegmentProof,
  verifySegmentWithProof,
  type FileMerkle,
  type MerkleHashing,
  type SegmentProof,
} from "../../offchain/storage/merkle";
import { MerkleKernel } from "../../offchain/storage/merkle-worker";

const MiB = 1024 * 1024;
const TAGS = "0xabcd01";

/** Deterministic pseudo-random bytes (xorshift32), so that a failing size or seed replays exactly. */
function seededBytes(size: number, seed: number): Buffer {
  const bytes = Buffer.alloc(size);
  let state = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < size; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[i] = state & 0xff;
  }
  return bytes;
}

/** What the official SDK computes for a file: root, counters, submission and every segment proof. */
interface SdkView {
  root: string;
  numSectors: number;
  numSegments: number;
  numSegmentsPadded: number;
  submission: { length: number; tags: string; nodes: { root: string; height: number }[] };
  proofs: SegmentProof[];
}

async function sdkView(file: MemData | ZgFile): Promise<SdkView> {
  const [tree, treeError] = await file.merkleTree();
  if (treeError || !tree) throw treeError ?? new Error("the SDK returned no tree");
  const [submission, submissionError] = await file.createSubmission(TAGS);
  if (submissionError || !submission) throw submissionError ?? new Error("the SDK returned no submission");
  return {
    root: tree.rootHash() as string,
    numSectors: file.numChunks(),
    numSegments: file.numSegments(),
    numSegmentsPadded: file.numSegmentsPadded(),
    submission: {
      length: Number(submission.data.length),
      tags: String(submission.data.tags),
      nodes: submission.data.nodes.map((node) => ({ root: String(node.root), height: Number(node.height) })),
    },
    proofs: tree.leaves.map((_, index) => {
      const proof = tree.proofAt(index);
      return { lemma: [...proof.lemma], path: [...proof.path] };
    }),
  };
}

function expectSameAsSdk(ours: FileMerkle, sdk: SdkView): void {
  expect(ours.root).to.equal(sdk.root);
  expect(ours.numSectors).to.equal(sdk.numSectors);
  expect(ours.numSegments).to.equal(sdk.numSegments);
  expect(ours.numSegmentsPadded).to.equal(sdk.numSegmentsPadded);
  expect(ours.segmentRoots).to.have.length(sdk.numSegmentsPadded);
  expect(ours.submission.length).to.equal(sdk.submission.length);
  expect(ours.submission.tags).to.equal(sdk.submission.tags);
  expect(ours.submission.nodes).to.deep.equal(sdk.submission.nodes);
  expect(sdk.proofs).to.have.length(ours.numSegmentsPadded);
  sdk.proofs.forEach((proof, index) => {
    expect(segmentProof(ours, index), `proof of segment ${index}`).to.deep.equal(proof);
  });
}

function expectBadInput(action: () => unknown, pattern?: RegExp): void {
  try {
    action();
  } catch (error) {
    expect(error).to.be.instanceOf(ZgError);
    expect((error as ZgError).code).to.equal("BAD_INPUT");
    if (pattern) expect((error as ZgError).message).to.match(pattern);
    return;
  }
  expect.fail("expected a BAD_INPUT ZgError");
}

async function expectBadInputAsync(action: () => Promise<unknown>, pattern?: RegExp): Promise<void> {
  try {
    await action();
  } catch (error) {
    expect(error).to.be.instanceOf(ZgError);
    expect((error as ZgError).code).to.equal("BAD_INPUT");
    if (pattern) expect((error as ZgError).message).to.match(pattern);
    return;
  }
  expect.fail("expected a BAD_INPUT ZgError");
}

function flipBit(hash: string, bit: number): string {
  const bytes = Buffer.from(hash.slice(2), "hex");
  bytes[bit >> 3] ^= 1 << (bit & 7);
  return "0x" + bytes.toString("hex");
}

describe("storage/merkle", () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "zg-merkle-test-"));
  });

  after(async () => {
    await closeMerkleWorkers();
    rmSync(dir, { recursive: true, force: true });
  });

  describe("the keccak kernel", () => {
    it("hashes sectors and pairs as keccak256 does, for random inputs", () => {
      const kernel = new MerkleKernel();
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 256, maxLength: 256 }),
          fc.uint8Array({ minLength: 64, maxLength: 64 }),
          (sector, pair) => {
            expect("0x" + Buffer.from(kernel.hashSector(sector)).toString("hex")).to.equal(keccak256(sector));
            const parent = kernel.hashPair(pair.subarray(0, 32), pair.subarray(32));
            expect("0x" + Buffer.from(parent).toString("hex")).to.equal(keccak256(pair));
          },
        ),
        { numRuns: 200 },
      );
    });
  });

  describe("layout", () => {
    it("pads sectors and splits submission nodes as the SDK's computePaddedSize and splitNodes", () => {
      const check = (sectors: number) => {
        expect(paddedSectors(sectors), `padded ${sectors}`).to.equal(computePaddedSize(sectors)[0]);
        const sdkFile = new MemData(new Uint8Array(1), 0, sectors * SECTOR_SIZE);
        expect(submissionNodeSizes(sectors), `nodes of ${sectors}`).to.deep.equal(sdkFile.splitNodes());
      };
      for (let sectors = 1; sectors <= 5000; sectors++) check(sectors);
      fc.assert(fc.property(fc.integer({ min: 1, max: 2 ** 40 }), check), { numRuns: 2000 });
    });

    it("gives the last segment of the padded file only the sectors left", () => {
      // 262145 bytes = 1025 sectors, flow-padded to 1152: the second segment's tree has 128 leaves.
      expect(fileLayout(262145)).to.deep.equal({
        size: 262145,
        numSectors: 1025,
        numSectorsPadded: 1152,
        numSegments: 2,
        numSegmentsPadded: 2,
      });
      expect(segmentSectors(262145, 0)).to.equal(1024);
      expect(segmentSectors(262145, 1)).to.equal(128);
      // 16385 sectors pad to 18432: a whole segment of padding after the 17 data segments.
      expect(fileLayout(16385 * SECTOR_SIZE)).to.include({ numSegments: 17, numSegmentsPadded: 18 });
      expectBadInput(() => segmentSectors(262145, 2), /outside 0\.\.1/);
    });
  });

  describe("computeFileMerkle", () => {
    const sizes: [string, number][] = [
      ["1 byte", 1],
      ["255 bytes", 255],
      ["256 bytes (one sector)", 256],
      ["257 bytes", 257],
      ["13 sectors (nodes 8+4+1 inside one segment)", 13 * SECTOR_SIZE - 7],
      ["262144 bytes (exactly one segment)", SEGMENT_SIZE],
      ["262145 bytes (a 128-sector last segment)", SEGMENT_SIZE + 1],
      ["2 segments + 1 byte", 2 * SEGMENT_SIZE + 1],
      ["16385 sectors (a segment of pure padding)", 16384 * SECTOR_SIZE + 1],
      ["3 MiB + 77 bytes", 3 * MiB + 77],
    ];
    for (const [label, size] of sizes) {
      it(`${label}: root, counters, submission and every segment proof equal the SDK's`, async () => {
        const bytes = seededBytes(size, size);
        const sdk = await sdkView(new MemData(bytes));
        expectSameAsSdk(await computeFileMerkle(bytes, { tags: TAGS, hashing: "in-thread" }), sdk);
        if (size > SEGMENT_SIZE) {
          expectSameAsSdk(await computeFileMerkle(bytes, { tags: TAGS, hashing: "workers" }), sdk);
        }
      });
    }

    it("a file path, streamed through the worker pool, gives the SDK's ZgFile results", async () => {
      for (const size of [9 * MiB + 3, 4 * MiB + 1]) {
        const file = path.join(dir, `random-${size}.bin`);
        writeFileSync(file, seededBytes(size, 7 * size));
        const zgFile = await ZgFile.fromFilePath(file);
        let sdk: SdkView;
        try {
          sdk = await sdkView(zgFile);
        } finally {
          await zgFile.close();
        }
        for (const hashing of ["auto", "workers", "in-thread"] as MerkleHashing[]) {
          expectSameAsSdk(await computeFileMerkle(file, { tags: TAGS, hashing }), sdk);
        }
        expect(await fileRoot(file)).to.equal(sdk.root);
      }
    });

    it("rejects 0 bytes with BAD_INPUT, where the SDK returns no tree and an empty submission", async () => {
      const [tree, error] = await new MemData(new Uint8Array(0)).merkleTree();
      expect(tree).to.equal(null);
      expect(error).to.equal(null);
      const [submission] = await new MemData(new Uint8Array(0)).createSubmission("0x");
      expect(submission?.data.nodes).to.deep.equal([]);

      await expectBadInputAsync(() => computeFileMerkle(new Uint8Array(0)), /0-byte file/);
      const empty = path.join(dir, "empty.bin");
      writeFileSync(empty, "");
      await expectBadInputAsync(() => computeFileMerkle(empty), /0-byte file/);
      expectBadInput(() => fileLayout(0), /0-byte file/);
    });

    it("rejects a missing file and malformed tags with BAD_INPUT", async () => {
      await expectBadInputAsync(() => computeFileMerkle(path.join(dir, "missing.bin")), /cannot open/);
      await expectBadInputAsync(() => computeFileMerkle(new Uint8Array(1), { tags: "abc" }), /tags/);
      await expectBadInputAsync(() => computeFileMerkle(new Uint8Array(1), { tags: "0xabc" }), /tags/);
    });

    it("createSubmission swaps the tags and keeps the nodes", async () => {
      const merkle = await computeFileMerkle(seededBytes(5000, 1));
      expect(merkle.submission.tags).to.equal("0x");
      const tagged = createSubmission(merkle, TAGS);
      expect(tagged).to.deep.equal({ ...merkle.submission, tags: TAGS });
      expect(tagged.nodes).to.not.equal(merkle.submission.nodes);
    });
  });

  describe("segmentRoot", () => {
    it("equals the SDK's AbstractFile.segmentRoot of the same bytes", () => {
      for (const size of [1, 255, 256, 4097, SEGMENT_SIZE - 1, SEGMENT_SIZE]) {
        const bytes = seededBytes(size, size + 3);
        const sectorPadded = new Uint8Array(Math.ceil(size / SECTOR_SIZE) * SECTOR_SIZE);
        sectorPadded.set(bytes);
        expect(segmentRoot(bytes), `${size} bytes`).to.equal(MemData.segmentRoot(sectorPadded));
        expect(segmentRoot(bytes, 1024)).to.equal(
          MemData.segmentRoot(sectorPadded, 1024 - sectorPadded.length / 256),
        );
      }
      expectBadInput(() => segmentRoot(new Uint8Array(0)), /1 to 1024 sectors/);
      expectBadInput(() => segmentRoot(new Uint8Array(SEGMENT_SIZE + 1)), /1 to 1024 sectors/);
      expectBadInput(() => segmentRoot(new Uint8Array(513), 2), /do not fit/);
    });

    it("needs the file's sector count for a last segment that flow padding extends", async () => {
      const bytes = seededBytes(SEGMENT_SIZE + 1, 11);
      const merkle = await computeFileMerkle(bytes);
      const last = bytes.subarray(SEGMENT_SIZE);
      expect(segmentRoot(last, segmentSectors(bytes.length, 1))).to.equal(merkle.segmentRoots[1]);
      expect(segmentRoot(last)).to.not.equal(merkle.segmentRoots[1]);
    });
  });

  describe("segment proofs", () => {
    it("verify with our verifier (root or bytes) and with the SDK's Proof.validateHash", async () => {
      for (const size of [100, SEGMENT_SIZE, 5 * SEGMENT_SIZE + 9, 16384 * SECTOR_SIZE + 1]) {
        const bytes = seededBytes(size, size + 5);
        const merkle = await computeFileMerkle(bytes);
        for (let index = 0; index < merkle.numSegmentsPadded; index++) {
          const proof = segmentProof(merkle, index);
          const root = merkle.segmentRoots[index];
          const count = merkle.numSegmentsPadded;
          expect(verifySegmentProof(proof, root, merkle.root, index, count), `segment ${index}`).to.equal(
            true,
          );
          expect(new Proof(proof.lemma, proof.path).validateHash(merkle.root, root, index, count)).to.equal(
            null,
          );
          if (index < merkle.numSegments) {
            const data = bytes.subarray(index * SEGMENT_SIZE, (index + 1) * SEGMENT_SIZE);
            expect(verifySegmentProof(proof, data, merkle.root, index, count, size)).to.equal(true);
          }
        }
      }
    });

    it("of a one-segment file is the root alone, and must equal the file root", async () => {
      const merkle = await computeFileMerkle(seededBytes(1000, 2));
      const proof = segmentProof(merkle, 0);
      expect(proof).to.deep.equal({ lemma: [merkle.root], path: [] });
      expect(verifySegmentProof(proof, merkle.root, merkle.root, 0, 1)).to.equal(true);
      const other = keccak256("0x01");
      // The SDK's validateHash skips the root check for a one-entry lemma; ours does not.
      expect(new Proof([other], []).validateHash(merkle.root, other, 0, 1)).to.equal(null);
      expect(verifySegmentProof({ lemma: [other], path: [] }, other, merkle.root, 0, 1)).to.equal(false);
    });

    it("rejects out-of-range indexes and malformed arguments", async () => {
      const merkle = await computeFileMerkle(seededBytes(3 * SEGMENT_SIZE, 3));
      expectBadInput(() => segmentProof(merkle, 3), /outside 0\.\.2/);
      expectBadInput(() => segmentProof(merkle, -1), /outside/);
      const proof = segmentProof(merkle, 1);
      const root = merkle.segmentRoots[1];
      expect(verifySegmentProof(proof, root, merkle.root, 3, 3)).to.equal(false);
      expect(verifySegmentProof(proof, root, merkle.root, 1.5, 3)).to.equal(false);
      expect(verifySegmentProof(proof, "0x1234", merkle.root, 1, 3)).to.equal(false);
      expect(
        verifySegmentProof({ lemma: "x", path: [] } as unknown as SegmentProof, root, merkle.root, 1, 3),
      ).to.equal(false);
      expectBadInput(() => verifySegmentProof(proof, root, "0x12", 1, 3), /file root/);
      expectBadInput(() => verifySegmentProof(proof, root, merkle.root, 1, 0), /segment count/);
      expectBadInput(() => verifySegmentProof(proof, root, merkle.root, 1, 3, 5), /has 1 segments/);
    });

    it("rebuild from a FileMerkle that went through JSON", async () => {
      const merkle = await computeFileMerkle(seededBytes(7 * SEGMENT_SIZE, 4));
      const copy = JSON.parse(JSON.stringify(merkle)) as FileMerkle;
      for (let index = 0; index < 7; index++)
        expect(segmentProof(copy, index)).to.deep.equal(segmentProof(merkle, index));
      const forged = { ...copy, root: keccak256("0x00") };
      expectBadInput(() => segmentProof(forged, 0), /do not hash to its root/);
    });

    it("segmentWithProof builds the SDK upload shape, and verifySegmentWithProof checks it", async () => {
      const size = 2 * SEGMENT_SIZE + 300;
      const bytes = seededBytes(size, 9);
      const merkle = await computeFileMerkle(bytes);
      for (let index = 0; index < merkle.numSegments; index++) {
        const data = bytes.subarray(index * SEGMENT_SIZE, (index + 1) * SEGMENT_SIZE);
        const segment = segmentWithProof(merkle, index, data);
        expect(segment).to.include({ root: merkle.root, index, fileSize: size });
        expect(segment.proof).to.deep.equal(segmentProof(merkle, index));
        expect(Buffer.from(segment.data, "base64").length).to.equal(
          index < 2 ? SEGMENT_SIZE : 2 * SECTOR_SIZE,
        );
        expect(verifySegmentWithProof(segment)).to.equal(true);

        const tampered = Buffer.from(segment.data, "base64");
        tampered[0] ^= 1;
        expect(verifySegmentWithProof({ ...segment, data: tampered.toString("base64") })).to.equal(false);
        expect(verifySegmentWithProof({ ...segment, index: (index + 1) % 3 })).to.equal(false);
        if (index === 2) {
          // The last segment's tree depends on the file size (its flow padding); the others' do not.
          expect(verifySegmentWithProof({ ...segment, fileSize: size + SEGMENT_SIZE })).to.equal(false);
        }
        expect(verifySegmentWithProof({ ...segment, data: "%%%" })).to.equal(false);
      }
      expectBadInput(() => segmentWithProof(merkle, 0, bytes.subarray(0, 100)), /has 262144 bytes/);
      expectBadInput(() => segmentWithProof(merkle, 1, bytes.subarray(0, SEGMENT_SIZE)), /not segment 1/);
      expectBadInput(() => segmentWithProof(merkle, 3, new Uint8Array(0)), /outside 0\.\.2/);
    });
  });

  describe("properties", () => {
    it("for random sizes up to 5 MiB, root and submission equal the SDK's and every proof verifies", async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 5 * MiB }), fc.integer(), async (size, seed) => {
          const bytes = seededBytes(size, seed);
          const sdkFile = new MemData(bytes);
          const [tree] = await sdkFile.merkleTree();
          const [submission] = await sdkFile.createSubmission("0x");
          const merkle = await computeFileMerkle(bytes);
          expect(merkle.root).to.equal(tree?.rootHash());
          expect(merkle.submission.nodes).to.deep.equal(
            submission?.data.nodes.map((node) => ({ root: String(node.root), height: Number(node.height) })),
          );
          for (let index = 0; index < merkle.numSegmentsPadded; index++) {
            const proof = segmentProof(merkle, index);
            const root = merkle.segmentRoots[index];
            expect(verifySegmentProof(proof, root, merkle.root, index, merkle.numSegmentsPadded)).to.equal(
              true,
            );
          }
        }),
        { numRuns: 8 },
      );
    });

    it("provenFrames (hashed on the worker pool) agrees with verifySegmentWithProof on every segment of random files, intact and tampered", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 6 * SEGMENT_SIZE + 3 * SECTOR_SIZE }),
          fc.integer(),
          fc.nat(),
          async (size, seed, pick) => {
            const bytes = seededBytes(size, seed);
            const merkle = await computeFileMerkle(bytes);
            const segments = Array.from({ length: merkle.numSegments }, (_, index) =>
              segmentWithProof(
                merkle,
                index,
                bytes.subarray(index * SEGMENT_SIZE, (index + 1) * SEGMENT_SIZE),
              ),
            );
            const victim = pick % segments.length;
            const flipped = Buffer.from(segments[victim].data, "base64");
            flipped[pick % flipped.length] ^= 1 << (pick % 8);
            const batch = [
              ...segments,
              { ...segments[victim], data: flipped.toString("base64") },
              { ...segments[victim], index: (victim + 1) % merkle.numSegmentsPadded },
              { ...segments[victim], index: merkle.numSegmentsPadded },
            ];
            const frames = [
              ...batch.map(({ index, proof, data }) => ({ index, proof, bytes: base64Bytes(data)! })),
              null,
            ];
            const proven = await provenFrames(merkle.root, size, frames);
            expect(proven.map((found) => found !== undefined)).to.deep.equal([
              ...batch.map((segment) => verifySegmentWithProof(segment)),
              false,
            ]);
            segments.forEach((segment, index) =>
              expect(Buffer.from(proven[index]!).equals(Buffer.from(segment.data, "base64"))).to.equal(true),
            );
            expect(proven[segments.length]).to.equal(undefined); // the flipped bit
            expect(proven[segments.length + 2]).to.equal(undefined); // outside the file
          },
        ),
        { numRuns: 12 },
      );
    });

    it("useMerkleWorkers refuses a thread count outside 0..8 (BAD_CONFIG), before changing anything", () => {
      for (const count of [-1, 9, 1.5, Number.NaN]) {
        let error: unknown;
        try {
          useMerkleWorkers(count);
        } catch (caught) {
          error = caught;
        }
        expect(error).to.be.instanceOf(ZgError);
        expect((error as ZgError).code).to.equal("BAD_CONFIG");
        expect((error as ZgError).message).to.equal(`hashing threads must be 0 to 8, not ${count}`);
      }
    });

    it("segmentRootsOf equals segmentRoot for batches of whole and short segments", async () => {
      const segments = [SEGMENT_SIZE, SEGMENT_SIZE, 3 * SECTOR_SIZE, SEGMENT_SIZE].map((length, i) => ({
        bytes: seededBytes(length, i + 1),
        sectors: length === SEGMENT_SIZE ? 1024 : 5,
      }));
      expect(await segmentRootsOf(segments)).to.deep.equal(
        segments.map(({ bytes, sectors }) => segmentRoot(bytes, sectors)),
      );
    });

    it("a process whose only pool task went to one of its workers exits once it is done", () => {
      const script = `require(${JSON.stringify(require.resolve("../../offchain/storage/merkle"))})
        .segmentRootsOf([0, 1].map(() => ({ bytes: new Uint8Array(${SEGMENT_SIZE}), sectors: 1024 })))
        .then((roots) => console.log(roots.length));`;
      const run = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], {
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(run.status, run.stderr).to.equal(0);
      expect(run.stdout.trim()).to.equal("2");
    });

    it("base64Bytes decodes padded base64 and refuses anything else", () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 600 }),
          fc.nat(),
          fc.constantFrom("!", "=", " ", "\n", '"', "é"),
          (raw, at, bad) => {
            const text = Buffer.from(raw).toString("base64");
            expect(Buffer.from(base64Bytes(text)!).equals(Buffer.from(raw))).to.equal(true);
            if (text.length === 0) return;
            const position = at % text.length;
            const broken = `${text.slice(0, position)}${bad}${text.slice(position + 1)}`;
            // "=" is base64 only at the end of the text.
            if (bad === "=" && /^=*$/.test(text.slice(position + 1))) return;
            expect(base64Bytes(broken)).to.equal(undefined);
          },
        ),
        { numRuns: 500 },
      );
      expect(base64Bytes("YWJ")).to.equal(undefined);
      expect(base64Bytes(42)).to.equal(undefined);
    });

    it("a proof with a flipped bit, a flipped path flag, a wrong index or a wrong root fails", async () => {
      const merkles = await Promise.all(
        [1, 2, 3, 5, 17, 33].map((segments) =>
          computeFileMerkle(seededBytes(segments * SEGMENT_SIZE - 1, segments)),
        ),
      );
      merkles.push(await computeFileMerkle(seededBytes(16384 * SECTOR_SIZE + 1, 99))); // 18 leaves, 1 of padding
      const tamper = fc
        .record({
          file: fc.nat(merkles.length - 1),
          segment: fc.nat(),
          kind: fc.constantFrom("lemma", "path", "index", "root"),
          at: fc.nat(),
          bit: fc.nat(255),
          other: fc.nat(),
        })
        .map((draw) => ({ ...draw, merkle: merkles[draw.file] }));
      fc.assert(
        fc.property(tamper, ({ merkle, segment, kind, at, bit, other }) => {
          const count = merkle.numSegmentsPadded;
          const index = segment % count;
          const proof = segmentProof(merkle, index);
          const leaf = merkle.segmentRoots[index];
          let root = merkle.root;
          let claimed = index;
          const forged: SegmentProof = { lemma: [...proof.lemma], path: [...proof.path] };
          if (kind === "lemma") {
            const entry = at % proof.lemma.length;
            forged.lemma[entry] = flipBit(forged.lemma[entry], bit);
          } else if (kind === "path" && proof.path.length > 0) {
            const entry = at % proof.path.length;
            forged.path[entry] = !forged.path[entry];
          } else if (kind === "index" || kind === "path") {
            claimed = (index + 1 + (other % count)) % (count + 1); // any other index, or one past the end
          } else {
            root = flipBit(root, bit);
          }
          expect(verifySegmentProof(proof, leaf, merkle.root, index, count)).to.equal(true);
          expect(verifySegmentProof(forged, leaf, root, claimed, count)).to.equal(false);
        }),
        { numRuns: 500 },
      );
    });
  });
});

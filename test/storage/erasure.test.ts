import { SEGMENT_SIZE } from "../../offchain/storage/merkle";
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { ZgError } from "../../offchain/core/errors";
import {
  DEFAULT_CODE,
  MAX_SHARDS,
  PARITY_TAGS_LENGTH,
  decodeParityTags,
  decodeStripe,
  encodeParity,
  ParityReader,
  encodeParityTags,
  encodeStripe,
  formatCode,
  parseCode,
  stripeLayout,
  stripeOf,
  stripeSegments,
  type StripeLayout,
} from "../../offchain/storage/erasure";

/** The codes the properties draw from. */
const CODES = [
  { k: 2, m: 1 },
  { k: 4, m: 2 },
  { k: 6, m: 3 },
  { k: 10, m: 4 },
];

/** Every test shrinks the segment so that a file of a few stripes is a few kilobytes. */
const segmentSizes = fc.integer({ min: 1, max: 64 });

/** A file of 1 byte to a few stripes, biased towards segment boundaries, and the code it is coded with. */
const codedFile = fc.constantFrom(...CODES).chain(({ k, m }) =>
  segmentSizes.chain((segmentSize) =>
    fc
      .oneof(
        fc.integer({ min: 1, max: segmentSize * (3 * k + 1) }),
        fc
          .integer({ min: 1, max: 3 * k + 1 })
          .chain((segments) =>
            fc.constantFrom(segments * segmentSize - 1, segments * segmentSize, segments * segmentSize + 1),
          )
          .filter((size) => size >= 1),
      )
      .chain((size) =>
        fc.record({
          k: fc.constant(k),
          m: fc.constant(m),
          segmentSize: fc.constant(segmentSize),
          data: fc.uint8Array({ minLength: size, maxLength: size }),
        }),
      ),
  ),
);

function positions(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

/** The k+m shards of one stripe as a reader would gather them: stored segments plus the virtual zero ones. */
function stripeShards(
  data: Uint8Array,
  parity: Uint8Array,
  layout: StripeLayout,
  stripe: number,
): Uint8Array[] {
  const { segmentSize } = layout;
  const members = stripeSegments(layout, stripe);
  return [
    ...members.data.map((i) => data.subarray(i * segmentSize, (i + 1) * segmentSize)),
    ...Array.from({ length: members.padding }, () => new Uint8Array(0)),
    ...members.parity.map((j) => parity.subarray(j * segmentSize, (j + 1) * segmentSize)),
  ];
}

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

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

async function expectBadInputAsync(action: () => Promise<unknown>, message: RegExp): Promise<void> {
  let thrown: unknown;
  try {
    await action();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, "expected a ZgError").to.be.instanceOf(ZgError);
  expect((thrown as ZgError).code).to.equal("BAD_INPUT");
  expect((thrown as ZgError).message).to.match(message);
}

const ROOT = `0x${"ab".repeat(32)}`;

describe("storage/erasure", function () {
  this.timeout(60_000);

  describe("parseCode", function () {
    it("parses k+m and defaults to 4+2", function () {
      expect(parseCode("4+2")).to.deep.equal({ k: 4, m: 2 });
      expect(parseCode(" 10+4 ")).to.deep.equal({ k: 10, m: 4 });
      expect(parseCode("255+1")).to.deep.equal({ k: 255, m: 1 });
      expect(DEFAULT_CODE).to.deep.equal({ k: 4, m: 2 });
      expect(SEGMENT_SIZE).to.equal(262_144);
    });

    it("round-trips every valid code through formatCode", function () {
      const validCodes = fc
        .integer({ min: 1, max: MAX_SHARDS - 1 })
        .chain((k) => fc.record({ k: fc.constant(k), m: fc.integer({ min: 1, max: MAX_SHARDS - k }) }));
      fc.assert(
        fc.property(validCodes, (code) => {
          expect(parseCode(formatCode(code.k, code.m))).to.deep.equal(code);
        }),
      );
    });

    it("rejects malformed strings with a BAD_INPUT error naming the form", function () {
      for (const text of [
        "",
        "4",
        "4+",
        "+2",
        "4-2",
        "4+2+1",
        "4.5+2",
        "-4+2",
        "4+-2",
        "k+m",
        "4 + 2",
        "1000+1",
      ]) {
        expectBadInput(() => parseCode(text), /is not of the form "k\+m"/);
      }
    });

    it("rejects codes the field cannot hold", function () {
      expectBadInput(() => parseCode("0+2"), /at least 1 data segment/);
      expectBadInput(() => parseCode("4+0"), /at least 1 parity segment/);
      expectBadInput(() => parseCode("200+57"), /k \+ m = 257 exceeds 256/);
      expectBadInput(() => formatCode(256, 1), /exceeds 256/);
    });
  });

  describe("encodeParityTags / decodeParityTags", function () {
    const tagsArbitrary = fc.integer({ min: 1, max: MAX_SHARDS - 1 }).chain((k) =>
      fc.record({
        dataRoot: fc
          .uint8Array({ minLength: 32, maxLength: 32 })
          .map((bytes) => `0x${Buffer.from(bytes).toString("hex")}`),
        dataSize: fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }),
        k: fc.constant(k),
        m: fc.integer({ min: 1, max: MAX_SHARDS - k }),
      }),
    );

    it("round-trips", function () {
      fc.assert(
        fc.property(tagsArbitrary, (tags) => {
          const encoded = encodeParityTags(tags);
          expect(encoded).to.match(/^0x[0-9a-f]{94}$/);
          expect(decodeParityTags(encoded)).to.deep.equal(tags);
          expect(decodeParityTags(Buffer.from(encoded.slice(2), "hex"))).to.deep.equal(tags);
        }),
      );
    });

    it("lays the fields out as documented", function () {
      const encoded = encodeParityTags({ dataRoot: ROOT, dataSize: 0x0102030405060708n, k: 4, m: 2 });
      expect(encoded).to.equal(`0x5a474543${"01"}${"04"}${"02"}${"ab".repeat(32)}0102030405060708`);
      expect(encodeParityTags({ dataRoot: ROOT, dataSize: 300, k: 4, m: 2 })).to.equal(
        encodeParityTags({ dataRoot: ROOT, dataSize: 300n, k: 4, m: 2 }),
      );
    });

    it("returns undefined for tags that are not ours", function () {
      expect(decodeParityTags("0x")).to.equal(undefined);
      expect(decodeParityTags("0x5a4745")).to.equal(undefined);
      expect(decodeParityTags(`0x5a474544${"00".repeat(43)}`)).to.equal(undefined);
      fc.assert(
        fc.property(
          fc
            .uint8Array({ maxLength: 100 })
            .filter((bytes) => Buffer.from(bytes.subarray(0, 4)).toString("latin1") !== "ZGEC"),
          (bytes) => {
            expect(decodeParityTags(bytes)).to.equal(undefined);
          },
        ),
      );
    });

    it("treats tags with a corrupted magic as foreign", function () {
      fc.assert(
        fc.property(
          tagsArbitrary,
          fc.integer({ min: 0, max: 3 }),
          fc.integer({ min: 1, max: 255 }),
          (tags, at, flip) => {
            const bytes = Buffer.from(encodeParityTags(tags).slice(2), "hex");
            bytes[at] ^= flip;
            expect(decodeParityTags(bytes)).to.equal(undefined);
          },
        ),
      );
    });

    it("throws on tags that claim to be ours but are short, long or of another version", function () {
      fc.assert(
        fc.property(tagsArbitrary, fc.integer({ min: 4, max: PARITY_TAGS_LENGTH - 1 }), (tags, length) => {
          const bytes = Buffer.from(encodeParityTags(tags).slice(2), "hex");
          expectBadInput(() => decodeParityTags(bytes.subarray(0, length)), /malformed erasure-coding tags/);
        }),
      );
      const good = Buffer.from(
        encodeParityTags({ dataRoot: ROOT, dataSize: 1n, k: 4, m: 2 }).slice(2),
        "hex",
      );
      expectBadInput(
        () => decodeParityTags(Buffer.concat([good, Buffer.from([0])])),
        /expected 47 bytes, got 48/,
      );
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 255 }).filter((version) => version !== 1),
          (version) => {
            const bytes = Buffer.from(good);
            bytes[4] = version;
            expectBadInput(() => decodeParityTags(bytes), new RegExp(`version ${version} are not supported`));
          },
        ),
      );
    });

    it("throws on tags that claim to be ours with an impossible code or size", function () {
      const good = Buffer.from(
        encodeParityTags({ dataRoot: ROOT, dataSize: 1n, k: 4, m: 2 }).slice(2),
        "hex",
      );
      const withBytes = (edits: Record<number, number>) => {
        const bytes = Buffer.from(good);
        for (const [at, value] of Object.entries(edits)) bytes[Number(at)] = value;
        return bytes;
      };
      expectBadInput(() => decodeParityTags(withBytes({ 5: 0 })), /malformed.*k ≥ 1/);
      expectBadInput(() => decodeParityTags(withBytes({ 6: 0 })), /malformed.*m ≥ 1/);
      expectBadInput(() => decodeParityTags(withBytes({ 5: 200, 6: 57 })), /malformed.*exceeds 256/);
      expectBadInput(() => decodeParityTags(withBytes({ 46: 0 })), /malformed.*data size is 0/);
    });

    it("rejects bad input when encoding, and non-bytes when decoding", function () {
      expectBadInput(
        () => encodeParityTags({ dataRoot: "0x1234", dataSize: 1n, k: 4, m: 2 }),
        /not 32 bytes/,
      );
      expectBadInput(() => encodeParityTags({ dataRoot: ROOT, dataSize: 0n, k: 4, m: 2 }), /out of range/);
      expectBadInput(
        () => encodeParityTags({ dataRoot: ROOT, dataSize: 2n ** 64n, k: 4, m: 2 }),
        /out of range/,
      );
      expectBadInput(
        () => encodeParityTags({ dataRoot: ROOT, dataSize: 1.5, k: 4, m: 2 }),
        /not a whole number/,
      );
      expectBadInput(() => encodeParityTags({ dataRoot: ROOT, dataSize: 1n, k: 4, m: 0 }), /m ≥ 1/);
      expectBadInput(() => decodeParityTags("ZGEC"), /not bytes/);
    });
  });

  describe("stripeLayout / stripeOf / stripeSegments", function () {
    it("counts segments, stripes and parity for the default segment size", function () {
      expect(stripeLayout(1, 4, 2)).to.deep.equal({
        k: 4,
        m: 2,
        segmentSize: SEGMENT_SIZE,
        dataSize: 1,
        dataSegments: 1,
        stripes: 1,
        paritySegments: 2,
        paritySize: 2 * SEGMENT_SIZE,
      });
      const justOver = stripeLayout(4n * BigInt(SEGMENT_SIZE) + 1n, 4, 2);
      expect([justOver.dataSegments, justOver.stripes, justOver.paritySegments]).to.deep.equal([5, 2, 4]);
      expect(stripeLayout(0, 4, 2).stripes).to.equal(0);
    });

    it("places every data and parity segment in exactly one stripe", function () {
      const files = fc.constantFrom(...CODES).chain(({ k, m }) =>
        segmentSizes.chain((segmentSize) =>
          fc.record({
            k: fc.constant(k),
            m: fc.constant(m),
            segmentSize: fc.constant(segmentSize),
            dataSize: fc.integer({ min: 0, max: segmentSize * (5 * k + 1) }),
          }),
        ),
      );
      fc.assert(
        fc.property(files, ({ k, m, segmentSize, dataSize }) => {
          const layout = stripeLayout(dataSize, k, m, { segmentSize });
          expect(layout.dataSegments).to.equal(Math.ceil(dataSize / segmentSize));
          expect(layout.stripes).to.equal(Math.ceil(layout.dataSegments / k));
          expect(layout.paritySize).to.equal(layout.stripes * m * segmentSize);
          const dataSeen: number[] = [];
          const paritySeen: number[] = [];
          for (let stripe = 0; stripe < layout.stripes; stripe++) {
            const members = stripeSegments(layout, stripe);
            expect(members.data.length + members.padding).to.equal(k);
            if (stripe < layout.stripes - 1) expect(members.padding).to.equal(0);
            expect(members.data.every((segment) => stripeOf(segment, k) === stripe)).to.equal(true);
            expect(members.parity.join()).to.equal(
              positions(m)
                .map((j) => stripe * m + j)
                .join(),
            );
            dataSeen.push(...members.data);
            paritySeen.push(...members.parity);
          }
          // Joined, because Hardhat's deep-equal is slow on long arrays.
          expect(dataSeen.join()).to.equal(positions(layout.dataSegments).join());
          expect(paritySeen.join()).to.equal(positions(layout.paritySegments).join());
        }),
      );
    });

    it("rejects bad indices and sizes", function () {
      const layout = stripeLayout(10, 4, 2, { segmentSize: 4 });
      expectBadInput(() => stripeSegments(layout, 1), /stripe 1 does not exist: the file has 1 stripes/);
      expectBadInput(() => stripeSegments(layout, -1), /stripe -1 is invalid/);
      expectBadInput(() => stripeOf(1.5, 4), /segment index 1.5 is invalid/);
      expectBadInput(() => stripeOf(3, 0), /k = 0 is invalid/);
      expectBadInput(() => stripeLayout(-1, 4, 2), /negative/);
      expectBadInput(() => stripeLayout(2n ** 60n, 4, 2), /too large/);
      expectBadInput(() => stripeLayout(10, 4, 2, { segmentSize: 0 }), /segment size 0 is invalid/);
    });
  });

  describe("encodeStripe / encodeParity", function () {
    it("implements the Vandermonde-systematic code over GF(2^8)/0x11D (known answers)", function () {
      // 2+1: parity = 3·a ⊕ 2·b; 4+2: the parity rows of Backblaze's JavaReedSolomon and klauspost/reedsolomon.
      expect([
        ...encodeStripe([Uint8Array.of(5), Uint8Array.of(9)], 2, 1, { segmentSize: 1 })[0],
      ]).to.deep.equal([29]);
      const rows = positions(4).map((column) => {
        const unit = positions(4).map((i) => Uint8Array.of(i === column ? 1 : 0));
        return encodeStripe(unit, 4, 2, { segmentSize: 1 }).map((parity) => parity[0]);
      });
      expect(rows).to.deep.equal([
        [27, 28],
        [28, 27],
        [18, 20],
        [20, 18],
      ]);
    });

    it("gives all-zero parity for all-zero data", function () {
      fc.assert(
        fc.property(
          fc.constantFrom(...CODES),
          segmentSizes,
          fc.integer({ min: 1, max: 3000 }),
          ({ k, m }, segmentSize, size) => {
            const parity = encodeParity(new Uint8Array(size), k, m, { segmentSize });
            expect(parity.length).to.equal(stripeLayout(size, k, m, { segmentSize }).paritySize);
            expect(parity.every((byte) => byte === 0)).to.equal(true);
          },
        ),
      );
    });

    it("is deterministic and agrees stripe by stripe with encodeStripe on zero-padded segments", function () {
      fc.assert(
        fc.property(codedFile, ({ k, m, segmentSize, data }) => {
          const parity = encodeParity(data, k, m, { segmentSize });
          expectBytes(encodeParity(data.slice(), k, m, { segmentSize }), parity);
          const layout = stripeLayout(data.length, k, m, { segmentSize });
          for (let stripe = 0; stripe < layout.stripes; stripe++) {
            const members = stripeSegments(layout, stripe);
            const segments = members.data.map((i) => data.subarray(i * segmentSize, (i + 1) * segmentSize));
            const padded = segments.map((segment) =>
              concat([segment, new Uint8Array(segmentSize - segment.length)]),
            );
            const fromShort = encodeStripe(segments, k, m, { segmentSize });
            const fromPadded = encodeStripe(padded, k, m, { segmentSize });
            expectBytes(concat(fromShort), concat(fromPadded));
            expectBytes(
              concat(fromShort),
              parity.subarray(stripe * m * segmentSize, (stripe + 1) * m * segmentSize),
            );
          }
        }),
        { numRuns: 100 },
      );
    });

    it("encodes nothing for an empty file", function () {
      expect(encodeParity(new Uint8Array(0), 4, 2).length).to.equal(0);
    });

    it("rejects too many or oversized data segments", function () {
      const segment = new Uint8Array(4);
      expectBadInput(
        () => encodeStripe([segment, segment, segment], 2, 1, { segmentSize: 4 }),
        /at most 2 data segments, got 3/,
      );
      expectBadInput(
        () => encodeStripe([new Uint8Array(5)], 2, 1, { segmentSize: 4 }),
        /data segment 0 has 5 bytes/,
      );
      expectBadInput(() => encodeStripe([segment], 2, 0, { segmentSize: 4 }), /m ≥ 1/);
    });

    describe("from a file", function () {
      let dir: string;
      before(function () {
        dir = mkdtempSync(path.join(tmpdir(), "zg-erasure-"));
      });
      after(function () {
        rmSync(dir, { recursive: true, force: true });
      });

      it("ParityReader reads the same parity as the in-memory encoder, at any position, in any order", async function () {
        await fc.assert(
          fc.asyncProperty(
            codedFile,
            fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 1, maxLength: 8 }),
            async ({ k, m, segmentSize, data }, ranges) => {
              const dataPath = path.join(dir, "data");
              writeFileSync(dataPath, data);
              const expected = encodeParity(data, k, m, { segmentSize });
              const reader = await ParityReader.open(dataPath, k, m, { segmentSize });
              try {
                expect(reader.layout).to.deep.equal(stripeLayout(data.length, k, m, { segmentSize }));
                expect(reader.size).to.equal(expected.length);
                const whole = new Uint8Array(reader.size);
                await reader.read(whole, 0);
                expectBytes(whole, expected);
                for (const [a, b] of ranges) {
                  if (expected.length === 0) break;
                  const start = a % expected.length;
                  const length = b % (expected.length - start + 1);
                  const part = new Uint8Array(length);
                  await reader.read(part, start);
                  expectBytes(part, expected.subarray(start, start + length));
                }
                await expectBadInputAsync(() => reader.read(new Uint8Array(1), expected.length), /outside/);
              } finally {
                await reader.close();
              }
            },
          ),
          { numRuns: 30 },
        );
      });

      it("reports a missing data file as bad input, and a file that shrank under it", async function () {
        await expectBadInputAsync(
          () => ParityReader.open(path.join(dir, "absent"), 4, 2),
          /cannot read .*absent/,
        );
        const dataPath = path.join(dir, "shrinking");
        writeFileSync(dataPath, new Uint8Array(64));
        const reader = await ParityReader.open(dataPath, 2, 1, { segmentSize: 16 });
        try {
          writeFileSync(dataPath, new Uint8Array(8));
          await expectBadInputAsync(() => reader.read(new Uint8Array(reader.size), 0), /shrank/);
        } finally {
          await reader.close();
        }
      });
    });
  });

  describe("decodeStripe", function () {
    it("rebuilds the original bytes from any choice of up to m lost shards per stripe", function () {
      const withLosses = codedFile.chain((file) => {
        const { stripes } = stripeLayout(file.data.length, file.k, file.m, { segmentSize: file.segmentSize });
        const lossesPerStripe = fc.shuffledSubarray(positions(file.k + file.m), { maxLength: file.m });
        return fc.record({
          file: fc.constant(file),
          losses: fc.array(lossesPerStripe, { minLength: stripes, maxLength: stripes }),
        });
      });
      fc.assert(
        fc.property(withLosses, ({ file: { k, m, segmentSize, data }, losses }) => {
          const parity = encodeParity(data, k, m, { segmentSize });
          const layout = stripeLayout(data.length, k, m, { segmentSize });
          const rebuilt: Uint8Array[] = [];
          for (let stripe = 0; stripe < layout.stripes; stripe++) {
            const shards: (Uint8Array | undefined)[] = stripeShards(data, parity, layout, stripe);
            for (const position of losses[stripe]) shards[position] = undefined;
            const segments = decodeStripe(shards, k, m, { segmentSize });
            expect(segments.length).to.equal(k);
            for (const segment of segments) expect(segment.length).to.equal(segmentSize);
            rebuilt.push(...segments);
          }
          const bytes = concat(rebuilt);
          expectBytes(bytes.subarray(0, data.length), data);
          // Whatever lies past the end of the file (short last segment, virtual segments) reads as zeros.
          expect(bytes.subarray(data.length).every((byte) => byte === 0)).to.equal(true);
        }),
        { numRuns: 200 },
      );
    });

    it("works at the edges of the field: 1+1, 255+1 and 128+128", function () {
      for (const { k, m } of [
        { k: 1, m: 1 },
        { k: 255, m: 1 },
        { k: 128, m: 128 },
      ]) {
        const segmentSize = 3;
        const data = new Uint8Array(k * segmentSize).map((_, i) => (i * 37 + k) % 256);
        const layout = stripeLayout(data.length, k, m, { segmentSize });
        const parity = encodeParity(data, k, m, { segmentSize });
        const shards: (Uint8Array | undefined)[] = stripeShards(data, parity, layout, 0);
        // Lose the first m shards: data shards, so every parity shard is needed.
        for (const position of positions(m)) shards[position] = undefined;
        expectBytes(concat(decodeStripe(shards, k, m, { segmentSize })), data, `${k}+${m}`);
      }
    });

    it("stays correct over many consecutive rebuilds (the wasm reconstruct corrupts a reused instance)", function () {
      const k = 4;
      const m = 2;
      const segmentSize = 1000;
      const data = new Uint8Array(k * segmentSize).map((_, i) => (i * 131 + 7) % 251);
      const parity = encodeParity(data, k, m, { segmentSize });
      const layout = stripeLayout(data.length, k, m, { segmentSize });
      const lossPatterns = [[0, 1], [4], [1, 5], [0, 4], [2, 3], [3], [0], [1, 2]];
      for (let round = 0; round < 40; round++) {
        const shards: (Uint8Array | undefined)[] = stripeShards(data, parity, layout, 0);
        for (const position of lossPatterns[round % lossPatterns.length]) shards[position] = undefined;
        expectBytes(concat(decodeStripe(shards, k, m, { segmentSize })), data, `round ${round}`);
      }
    });

    it("does not modify the shards it is given", function () {
      const data = new Uint8Array(40).map((_, i) => i + 1);
      const layout = stripeLayout(data.length, 4, 2, { segmentSize: 10 });
      const parity = encodeParity(data, 4, 2, { segmentSize: 10 });
      const shards: (Uint8Array | undefined)[] = stripeShards(data, parity, layout, 0);
      shards[0] = undefined;
      const before = shards.map((shard) => shard && Buffer.from(shard));
      decodeStripe(shards, 4, 2, { segmentSize: 10 });
      shards.forEach((shard, i) => shard && expectBytes(shard, before[i] as Uint8Array));
    });

    it("throws a clear error when fewer than k shards are present", function () {
      const tooFewLosses = fc.constantFrom(...CODES).chain(({ k, m }) =>
        fc.record({
          k: fc.constant(k),
          m: fc.constant(m),
          lost: fc.shuffledSubarray(positions(k + m), { minLength: m + 1 }),
        }),
      );
      fc.assert(
        fc.property(tooFewLosses, ({ k, m, lost }) => {
          const shards: (Uint8Array | undefined)[] = positions(k + m).map(() => new Uint8Array(8));
          for (const position of lost) shards[position] = undefined;
          expectBadInput(
            () => decodeStripe(shards, k, m, { segmentSize: 8 }),
            new RegExp(
              `only ${k + m - lost.length} of its ${k + m} shards are present and code ${k}\\+${m} needs any ${k}`,
            ),
          );
        }),
      );
    });

    it("rejects malformed shard lists", function () {
      const full = () => new Uint8Array(8);
      expectBadInput(() => decodeStripe([full(), full()], 2, 1, { segmentSize: 8 }), /has 3 shards, got 2/);
      expectBadInput(
        () => decodeStripe([new Uint8Array(9), full(), full()], 2, 1, { segmentSize: 8 }),
        /data shard 0 has 9 bytes/,
      );
      expectBadInput(
        () => decodeStripe([undefined, full(), new Uint8Array(4)], 2, 1, { segmentSize: 8 }),
        /parity shard 0 has 4 bytes; parity shards are whole segments/,
      );
    });

    it("does NOT detect a corrupted shard: with exactly k shards, any flipped byte silently changes the output", function () {
      // This is why every shard must pass its Merkle proof before it is decoded.
      const corruption = fc.constantFrom(...CODES).chain(({ k, m }) =>
        fc.record({
          k: fc.constant(k),
          m: fc.constant(m),
          data: fc.uint8Array({ minLength: k * 16, maxLength: k * 16 }),
          lost: fc.shuffledSubarray(positions(k + m), { minLength: m, maxLength: m }),
          victim: fc.nat(),
          at: fc.integer({ min: 0, max: 15 }),
          flip: fc.integer({ min: 1, max: 255 }),
        }),
      );
      fc.assert(
        fc.property(corruption, ({ k, m, data, lost, victim, at, flip }) => {
          const segmentSize = 16;
          const layout = stripeLayout(data.length, k, m, { segmentSize });
          const parity = encodeParity(data, k, m, { segmentSize });
          const shards: (Uint8Array | undefined)[] = stripeShards(data, parity, layout, 0).map((shard) =>
            shard.slice(),
          );
          for (const position of lost) shards[position] = undefined;
          const presentPositions = positions(k + m).filter((position) => shards[position] !== undefined);
          const corrupted = shards[presentPositions[victim % presentPositions.length]] as Uint8Array;
          corrupted[at] ^= flip;
          const decoded = concat(decodeStripe(shards, k, m, { segmentSize }));
          expect(Buffer.from(decoded).equals(Buffer.from(data))).to.equal(false);
        }),
        { numRuns: 100 },
      );
    });
  });
});

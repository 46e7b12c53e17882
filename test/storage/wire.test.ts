import { createHash } from "node:crypto";
import { expect } from "chai";
import fc from "fast-check";
import { ZgError } from "../../offchain/core/errors";
import { SEGMENT_SIZE } from "../../offchain/storage/merkle";
import {
  decodeFrames,
  encodeFrame,
  MAX_FRAME_BYTES,
  MAX_LEMMA,
  parseIndexes,
  type SegmentFrame,
} from "../../offchain/storage/wire";

/**
 * Deterministic bytes of a given length: a 61-byte pseudo-random block from the seed, repeated (fast-check making
 * 256 KiB arrays byte by byte, or a JavaScript loop over them, would take most of the suite's time).
 */
function patterned(length: number, seed: number): Uint8Array {
  const block = Buffer.alloc(61);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < block.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    block[i] = state >>> 24;
  }
  return new Uint8Array(Buffer.alloc(length).fill(block));
}

/** A 32-byte hash as 0x-hex, in lower or upper case (the codec takes both, and gives back lower case). */
const hashArb = fc.tuple(fc.integer(), fc.boolean()).map(([seed, upper]) => {
  const hex = createHash("sha256").update(String(seed)).digest("hex");
  return `0x${upper ? hex.toUpperCase() : hex}`;
});

/** A proof's list: mostly short, sometimes as long as a proof may be. */
const listOf = <T>(item: fc.Arbitrary<T>) =>
  fc.oneof(
    { weight: 8, arbitrary: fc.array(item, { maxLength: 12 }) },
    { weight: 2, arbitrary: fc.array(item, { maxLength: MAX_LEMMA, size: "max" }) },
  );

/** Segment bytes: mostly small, sometimes up to a whole segment. */
const bytesArb = fc.oneof(
  { weight: 16, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 48 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 1, max: SEGMENT_SIZE }), fc.integer())
      .map(([length, seed]) => patterned(length, seed)),
  },
  { weight: 1, arbitrary: fc.integer().map((seed) => patterned(SEGMENT_SIZE, seed)) },
);

const frameArb: fc.Arbitrary<SegmentFrame> = fc.record({
  index: fc.integer({ min: 0, max: 0xffffffff }),
  proof: fc.record({
    lemma: listOf(hashArb),
    path: listOf(fc.boolean()),
  }),
  bytes: bytesArb,
});

/** Frames as sent in a body: a null one is a segment not held (it keeps only its index on the wire). */
const framesArb = fc.array(
  fc.tuple(fc.option(frameArb, { freq: 5, nil: null }), fc.integer({ min: 0, max: 0xffffffff })),
  { maxLength: 6 },
);

/** The encoded pieces of each frame, and the body they make, placed at an odd offset inside a larger buffer. */
function encode(frames: [SegmentFrame | null, number][]): { body: Uint8Array; boundaries: number[] } {
  const encoded = frames.map(([frame, nullIndex]) =>
    Buffer.concat(encodeFrame(frame ? frame.index : nullIndex, frame)),
  );
  const boundaries = [0];
  for (const piece of encoded) boundaries.push(boundaries[boundaries.length - 1] + piece.length);
  // A view that does not start at its buffer's start: decodeFrames must honour byteOffset.
  const backing = Buffer.concat([Buffer.from([0xaa, 0xbb, 0xcc]), ...encoded, Buffer.from([0xdd])]);
  return { body: backing.subarray(3, backing.length - 1), boundaries };
}

function expected(frame: SegmentFrame | null) {
  if (!frame) return null;
  return {
    index: frame.index,
    lemma: frame.proof.lemma.map((hash) => hash.toLowerCase()),
    path: frame.proof.path,
    bytes: digest(frame.bytes),
  };
}

function actual(frame: SegmentFrame | null) {
  if (!frame) return null;
  return {
    index: frame.index,
    lemma: frame.proof.lemma,
    path: frame.proof.path,
    bytes: digest(frame.bytes),
  };
}

/** The bytes for comparison: small ones as hex, large ones as their length and SHA-256. */
function digest(bytes: Uint8Array): string {
  if (bytes.length <= 64) return Buffer.from(bytes).toString("hex");
  return `${bytes.length}:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** The error `work` throws (failing the test when it returns). */
function thrown(work: () => unknown): Error {
  try {
    work();
  } catch (error) {
    return error as Error;
  }
  expect.fail("expected an error, but it returned");
}

/** A ZgError BAD_INPUT with a one-line message naming frame `frame`. */
function expectFrameRefusal(error: Error, frame: number, reason?: RegExp) {
  expect(error).to.be.instanceOf(ZgError);
  expect((error as ZgError).code).to.equal("BAD_INPUT");
  expect(error.message).to.not.include("\n");
  expect(error.message.startsWith(`segment frame ${frame}: `), error.message).to.equal(true);
  if (reason) expect(error.message).to.match(reason);
}

/** A hand-made frame header (index, length, lemma count, path count), big-endian. */
function header(index: number, length: number, lemmaCount: number, pathCount: number): Buffer {
  const head = Buffer.alloc(10);
  head.writeUInt32BE(index, 0);
  head.writeUInt32BE(length, 4);
  head[8] = lemmaCount;
  head[9] = pathCount;
  return head;
}

describe("binary segment frames (wire.ts)", () => {
  it("round trip: encoded frames decode to the same indexes, proofs and bytes; the bytes are views of the body", () => {
    fc.assert(
      fc.property(framesArb, (frames) => {
        const { body } = encode(frames);
        const decoded = decodeFrames(body);
        expect(decoded.map(actual)).to.deep.equal(frames.map(([frame]) => expected(frame)));
        for (const frame of decoded) {
          if (!frame) continue;
          // Not copied: a view into the body's own buffer, inside the body.
          expect(frame.bytes.buffer === body.buffer).to.equal(true);
          expect(frame.bytes.byteOffset).to.be.at.least(body.byteOffset);
          expect(frame.bytes.byteOffset + frame.bytes.length).to.be.at.most(body.byteOffset + body.length);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("the header's layout is the documented one (big-endian index and length, counts, hashes, flags, bytes)", () => {
    const lemma = [`0x${"11".repeat(32)}`, `0x${"AB".repeat(32)}`];
    const pieces = encodeFrame(0x01020304, {
      proof: { lemma, path: [true, false] },
      bytes: Uint8Array.of(9, 8, 7),
    });
    expect(pieces).to.have.length(2);
    const body = Buffer.concat(pieces);
    expect(body.toString("hex")).to.equal(
      `01020304` + `00000003` + `02` + `02` + "11".repeat(32) + "ab".repeat(32) + `01` + `00` + `090807`,
    );
    // A missing segment is one empty header, its index kept.
    const empty = encodeFrame(7, null);
    expect(empty).to.have.length(1);
    expect(Buffer.from(empty[0]).toString("hex")).to.equal("00000007" + "00000000" + "00" + "00");
    expect(decodeFrames(empty[0])).to.deep.equal([null]);
    expect(decodeFrames(new Uint8Array(0))).to.deep.equal([]);
    expect(MAX_FRAME_BYTES).to.equal(10 + MAX_LEMMA * 33 + SEGMENT_SIZE);
  });

  it("a body cut anywhere but at a frame boundary is refused, naming the frame that was cut", () => {
    const nonEmpty = framesArb.filter((frames) => frames.length > 0);
    fc.assert(
      fc.property(nonEmpty, fc.nat(), (frames, at) => {
        const { body, boundaries } = encode(frames);
        const total = body.length;
        const cut = at % total;
        const whole = boundaries.indexOf(cut);
        if (whole >= 0) {
          // At a boundary: the frames before it, exactly.
          expect(decodeFrames(body.subarray(0, cut)).map(actual)).to.deep.equal(
            frames.slice(0, whole).map(([frame]) => expected(frame)),
          );
          return;
        }
        const frame = boundaries.findIndex((boundary) => boundary > cut) - 1;
        expectFrameRefusal(
          thrown(() => decodeFrames(body.subarray(0, cut))),
          frame,
          /^segment frame \d+: truncated( header)?$/,
        );
      }),
      { numRuns: 300 },
    );
  });

  it("every cut of a small body that is not at a boundary is refused", () => {
    const lemma = [`0x${"22".repeat(32)}`, `0x${"33".repeat(32)}`];
    const frames: [SegmentFrame | null, number][] = [
      [{ index: 3, proof: { lemma, path: [false, true] }, bytes: patterned(100, 1) }, 0],
      [null, 4],
      [{ index: 5, proof: { lemma: [], path: [] }, bytes: patterned(7, 2) }, 0],
    ];
    const { body, boundaries } = encode(frames);
    let refused = 0;
    for (let cut = 0; cut < body.length; cut++) {
      const slice = body.subarray(0, cut);
      if (boundaries.includes(cut)) {
        expect(decodeFrames(slice)).to.have.length(boundaries.indexOf(cut));
      } else {
        expectFrameRefusal(
          thrown(() => decodeFrames(slice)),
          boundaries.findIndex((boundary) => boundary > cut) - 1,
        );
        refused++;
      }
    }
    expect(refused).to.equal(body.length - (boundaries.length - 1));
  });

  it("garbage (random or a corrupted valid body) decodes to views inside it, or is refused as BAD_INPUT, nothing else", () => {
    let decodedSome = 0;
    let refusedSome = 0;
    const corrupted = fc
      .tuple(
        framesArb.filter((frames) => frames.length > 0),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      )
      .map(([frames, edits]) => {
        const body = Buffer.from(encode(frames).body);
        for (const [at, value] of edits) body[at % body.length] = value;
        return body;
      });
    const garbage = fc.oneof(fc.uint8Array({ maxLength: 600 }), corrupted);
    fc.assert(
      fc.property(garbage, fc.integer({ min: 0, max: SEGMENT_SIZE }), (body, maxSegmentBytes) => {
        let frames: (SegmentFrame | null)[];
        try {
          frames = decodeFrames(body, maxSegmentBytes);
        } catch (error) {
          expectFrameRefusal(
            error as Error,
            Number(/^segment frame (\d+): /.exec((error as Error).message)?.[1]),
          );
          refusedSome++;
          return;
        }
        decodedSome++;
        for (const frame of frames) {
          if (!frame) continue;
          expect(frame.bytes.buffer === body.buffer).to.equal(true);
          expect(frame.bytes.byteOffset).to.be.at.least(body.byteOffset);
          expect(frame.bytes.byteOffset + frame.bytes.length).to.be.at.most(body.byteOffset + body.length);
          expect(frame.bytes.length).to.be.at.most(maxSegmentBytes);
          expect(frame.proof.lemma.length).to.be.at.most(MAX_LEMMA);
          expect(frame.proof.path.length).to.be.at.most(MAX_LEMMA);
          for (const hash of frame.proof.lemma) expect(hash).to.match(/^0x[0-9a-f]{64}$/);
        }
      }),
      { numRuns: 500 },
    );
    // Both outcomes were exercised, so the property says something about each.
    expect(decodedSome).to.be.greaterThan(0);
    expect(refusedSome).to.be.greaterThan(0);
  });

  it("a frame over maxSegmentBytes, a lemma count over 80 and a path flag of 2 are refused in one line", () => {
    const valid = Buffer.concat(encodeFrame(0, { proof: { lemma: [], path: [] }, bytes: patterned(100, 3) }));
    // Over the caller's limit, and over a segment by default (refused from the header, before the bytes).
    expectFrameRefusal(
      thrown(() => decodeFrames(valid, 99)),
      0,
    );
    expect(thrown(() => decodeFrames(valid, 99)).message).to.equal("segment frame 0: 100 bytes, over 99");
    expect(decodeFrames(valid, 100)).to.have.length(1);
    expect(
      thrown(() => decodeFrames(Buffer.concat([valid, header(1, SEGMENT_SIZE + 1, 0, 0)]))).message,
    ).to.equal(`segment frame 1: ${SEGMENT_SIZE + 1} bytes, over ${SEGMENT_SIZE}`);
    expect(thrown(() => decodeFrames(header(0, 0xffffffff, 0, 0))).message).to.equal(
      `segment frame 0: ${0xffffffff} bytes, over ${SEGMENT_SIZE}`,
    );

    // 81 hashes (or 81 path flags), even with all their bytes present.
    const tooLong = Buffer.concat([header(0, 1, MAX_LEMMA + 1, 0), Buffer.alloc((MAX_LEMMA + 1) * 32 + 1)]);
    expect(thrown(() => decodeFrames(tooLong)).message).to.equal(
      "segment frame 0: a proof has at most 80 hashes",
    );
    const tooManyFlags = Buffer.concat([header(0, 1, 0, MAX_LEMMA + 1), Buffer.alloc(MAX_LEMMA + 2)]);
    expect(thrown(() => decodeFrames(Buffer.concat([valid, tooManyFlags]))).message).to.equal(
      "segment frame 1: a proof has at most 80 hashes",
    );
    const at80 = Buffer.concat([header(0, 1, MAX_LEMMA, MAX_LEMMA), Buffer.alloc(MAX_LEMMA * 33 + 1)]);
    expect(decodeFrames(at80)[0]?.proof.lemma).to.have.length(MAX_LEMMA);

    // A path flag of 2.
    const flagged = Buffer.concat(
      encodeFrame(9, { proof: { lemma: [`0x${"44".repeat(32)}`], path: [true] }, bytes: patterned(4, 4) }),
    );
    flagged[10 + 32] = 2;
    const error = thrown(() => decodeFrames(Buffer.concat([valid, flagged])));
    expectFrameRefusal(error, 1);
    expect(error.message).to.equal("segment frame 1: a path flag is 0 or 1");

    // Trailing bytes after a complete frame are a truncated next frame.
    expect(thrown(() => decodeFrames(Buffer.concat([valid, Buffer.from([0])]))).message).to.equal(
      "segment frame 1: truncated header",
    );
  });

  it("encodeFrame refuses a lemma entry that is not a 32-byte hash, and more than 80 hashes or flags", () => {
    const bytes = patterned(8, 5);
    for (const bad of ["0x1234", "11".repeat(32), `0x${"zz".repeat(32)}`, `0x${"11".repeat(33)}`, ""]) {
      const error = thrown(() =>
        encodeFrame(0, { proof: { lemma: [`0x${"00".repeat(32)}`, bad], path: [] }, bytes }),
      );
      expect(error).to.be.instanceOf(ZgError);
      expect((error as ZgError).code).to.equal("BAD_INPUT");
      expect(error.message).to.equal(`${bad} is not a 32-byte hash`);
    }
    const hashes = Array.from({ length: MAX_LEMMA + 1 }, () => `0x${"55".repeat(32)}`);
    for (const proof of [
      { lemma: hashes, path: [] },
      { lemma: [], path: hashes.map(() => true) },
    ]) {
      const error = thrown(() => encodeFrame(0, { proof, bytes }));
      expect(error).to.be.instanceOf(ZgError);
      expect((error as ZgError).code).to.equal("BAD_INPUT");
      expect(error.message).to.equal("a proof has at most 80 hashes");
    }
    // Exactly 80 is fine.
    const pieces = encodeFrame(0, { proof: { lemma: hashes.slice(1), path: [] }, bytes });
    expect(decodeFrames(Buffer.concat(pieces))[0]?.proof.lemma).to.have.length(MAX_LEMMA);
  });

  describe("parseIndexes", () => {
    it("needs a list", () => {
      expect(parseIndexes(null, 32)).to.equal("indexes=i,j,… is required");
      expect(parseIndexes("", 32)).to.equal("indexes=i,j,… is required");
    });

    it("refuses more than the maximum", () => {
      expect(parseIndexes("1,2,3", 2)).to.equal("at most 2 segments per request");
      expect(parseIndexes("1,2", 2)).to.deep.equal([1, 2]);
    });

    it("refuses anything but non-negative integers below 2^32", () => {
      const reason = "indexes must be non-negative integers below 2^32";
      for (const query of [
        "1,2,x",
        "-1",
        "1.5",
        "99999999999",
        "4294967296",
        " 1",
        "1,,2",
        "1,",
        "0x10",
        "1e3",
        "+1",
      ])
        expect(parseIndexes(query, 32), query).to.equal(reason);
      expect(parseIndexes("4294967295,0", 32)).to.deep.equal([4294967295, 0]);
      expect(parseIndexes("0,5,7", 32)).to.deep.equal([0, 5, 7]);
    });

    it("any list of u32 indexes within the maximum comes back as it was sent", () => {
      fc.assert(
        fc.property(
          fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 40 }),
          (indexes) => {
            const parsed = parseIndexes(indexes.join(","), 32);
            if (indexes.length > 32) expect(parsed).to.equal("at most 32 segments per request");
            else expect(parsed).to.deep.equal(indexes);
          },
        ),
        { numRuns: 300 },
      );
    });
  });
});

import { randomBytes } from "node:crypto";
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type RequestListener,
  type Server,
} from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import hre from "hardhat";
import { ZgError } from "../../offchain/core/errors";
import type { DeploymentRecord } from "../../offchain/core/deployments";
import { startWorker, type WorkerHandle } from "../../offchain/core/worker";
import { workerDefinition } from "../../offchain/modules";
import { globalSegmentIndex, inShard, segmentLength } from "../../offchain/storage/log";
import {
  computeFileMerkle,
  provenFrames,
  SEGMENT_SIZE,
  segmentProof,
  type FileMerkle,
} from "../../offchain/storage/merkle";
import { StorageRpc, StorageRpcError } from "../../offchain/storage/rpc";
import type { FileInfo } from "../../offchain/storage/types";
import {
  decodeFrames,
  encodeFrame,
  MAX_FRAME_BYTES,
  SEGMENTS_ROUTE,
  type SegmentFrame,
} from "../../offchain/storage/wire";
import { Flow__factory, Market__factory } from "../../typechain-types";
import { deployForTest, startRpc, type TestRpc } from "../helpers/chain";
import { storageNodeConfig } from "../helpers/storage";
import { until } from "../helpers/process";

const quiet = () => undefined;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A file submitted to the log, its bytes and Merkle data. */
interface TestFile {
  bytes: Buffer;
  merkle: FileMerkle;
  root: string;
  size: number;
}

/** Segment `index` of a file as it goes on the wire: whole sectors (the last segment zero-padded to its sector). */
function segmentBytes(file: { bytes: Buffer; size: number }, index: number): Uint8Array {
  const wire = new Uint8Array(segmentLength(file.size, index));
  wire.set(file.bytes.subarray(index * SEGMENT_SIZE, Math.min(file.size, (index + 1) * SEGMENT_SIZE)));
  return wire;
}

function frameOf(file: TestFile, index: number): SegmentFrame {
  return { index, proof: segmentProof(file.merkle, index), bytes: segmentBytes(file, index) };
}

function body(frames: (SegmentFrame | null)[]): Buffer {
  return Buffer.concat(frames.flatMap((frame) => encodeFrame(frame?.index ?? 0, frame)));
}

/** The same frame with one byte of its segment flipped: its proof no longer leads to the root. */
function tampered(frame: SegmentFrame, at = 100): SegmentFrame {
  const bytes = Uint8Array.from(frame.bytes);
  bytes[at] ^= 0xff;
  return { ...frame, bytes };
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** Whether the server closed the connection after answering (seen with `watchClose`; else its Connection header). */
  closed: boolean;
}

/**
 * One HTTP request on a connection of its own. `body` is sent whole with its Content-Length; `chunked` sends it
 * without one; `declaredLength` sends only the headers, declaring that length, and never the body.
 */
function raw(
  url: string,
  options: {
    method: string;
    path: string;
    body?: Buffer;
    chunked?: Buffer;
    declaredLength?: number;
    /** Wait (up to 1 s) to see whether the server closes the connection after its answer. */
    watchClose?: boolean;
  },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { "content-type": "application/octet-stream" };
    if (options.body) headers["content-length"] = options.body.length;
    if (options.declaredLength !== undefined) headers["content-length"] = options.declaredLength;
    const request = httpRequest(new URL(options.path, url), {
      method: options.method,
      headers,
      agent: false,
    });
    request.on("error", reject);
    request.on("response", (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        const answer = {
          status: response.statusCode ?? 0,
          headers: response.headers,
          text: Buffer.concat(chunks).toString("utf8"),
        };
        const socket = request.socket;
        if (!options.watchClose || !socket || socket.destroyed) {
          const closed = !socket || socket.destroyed || answer.headers.connection === "close";
          request.destroy();
          return resolve({ ...answer, closed });
        }
        // Whether the server closes its side: wait a little for it.
        const timer = setTimeout(() => {
          request.destroy();
          resolve({ ...answer, closed: false });
        }, 1_000);
        socket.once("close", () => {
          clearTimeout(timer);
          resolve({ ...answer, closed: true });
        });
        socket.once("end", () => socket.destroy());
      });
    });
    if (options.body) request.end(options.body);
    else if (options.chunked) {
      request.write(options.chunked);
      request.end();
    } else if (options.declaredLength !== undefined) request.flushHeaders();
    else request.end();
  });
}

/** The one-line reason of a JSON refusal (`{"error": {"message"}}`). */
function reasonOf(answer: Answer): string {
  const message = (JSON.parse(answer.text) as { error?: { message?: unknown } }).error?.message;
  expect(message, answer.text).to.be.a("string");
  expect(message).to.not.include("\n");
  return message as string;
}

async function upload(url: string, txSeq: number | string, payload: Buffer): Promise<Answer> {
  return raw(url, { method: "POST", path: `${SEGMENTS_ROUTE}${txSeq}`, body: payload });
}

async function rejection(work: Promise<unknown>): Promise<Error> {
  return work.then(
    () => expect.fail("expected a rejection"),
    (error: Error) => error,
  );
}

describe("binary segment transport (POST/GET /zg/segments/)", function () {
  this.timeout(120_000);
  let rpc: TestRpc;
  let record: DeploymentRecord;
  const handles: WorkerHandle[] = [];
  const servers: Server[] = [];
  /** A node of shard 0/1 that takes at most 2 segments per request, and one of shard 0/2. */
  let whole: WorkerHandle;
  let half: WorkerHandle;
  /** 4 segments, the last one short (1000 bytes, 1024 on the wire). */
  let fileA: TestFile & { txSeq: number; startEntryIndex: number };
  /** 2 segments, for the fallback through a proxy. */
  let fileB: TestFile & { txSeq: number };
  /** The root of a file submitted but never uploaded. */
  let neverUploaded: string;
  /** Never submitted: its segments have proofs to another root. */
  let other: TestFile;

  async function startNode(extra: Record<string, unknown> = {}): Promise<WorkerHandle> {
    const handle = await startWorker(
      await workerDefinition("storage"),
      storageNodeConfig(record, rpc.url, extra),
      { write: quiet },
    );
    handles.push(handle);
    return handle;
  }

  async function submit(bytes: Buffer): Promise<TestFile> {
    const [signer] = await hre.ethers.getSigners();
    const flow = Flow__factory.connect(record.modules.Flow.address, signer);
    const price = await Market__factory.connect(record.modules.Market.address, signer).pricePerSector();
    const merkle = await computeFileMerkle(bytes);
    const sectors = merkle.submission.nodes.reduce((sum, node) => sum + (1n << BigInt(node.height)), 0n);
    await (
      await flow.submit({ data: merkle.submission, submitter: signer.address }, { value: sectors * price })
    ).wait();
    return { bytes, merkle, root: merkle.root, size: bytes.length };
  }

  async function known(node: WorkerHandle, root: string): Promise<FileInfo> {
    return (await until(
      () => new StorageRpc(node.url).fileInfo(root),
      (info) => info !== null,
    )) as FileInfo;
  }

  async function uploaded(node: WorkerHandle, root: string): Promise<number> {
    return (await new StorageRpc(node.url).fileInfo(root))!.uploadedSegNum;
  }

  /** A local HTTP server (closed after the suite). */
  async function serve(handler: RequestListener): Promise<string> {
    const server = createServer(handler);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  before(async () => {
    rpc = await startRpc();
    record = await deployForTest("storage-only");
    const a = await submit(randomBytes(3 * SEGMENT_SIZE + 1000));
    const b = await submit(randomBytes(SEGMENT_SIZE + 5000));
    neverUploaded = (await submit(randomBytes(5000))).root;
    const otherBytes = randomBytes(2 * SEGMENT_SIZE);
    const otherMerkle = await computeFileMerkle(otherBytes);
    other = { bytes: otherBytes, merkle: otherMerkle, root: otherMerkle.root, size: otherBytes.length };
    [whole, half] = await Promise.all([
      startNode({ shard: { shardId: 0, numShard: 1 }, maxSegmentsPerRequest: 2 }),
      startNode({ shard: { shardId: 0, numShard: 2 } }),
    ]);
    const [infoA, infoB] = await Promise.all([
      known(whole, a.root),
      known(whole, b.root),
      known(half, a.root),
      known(whole, neverUploaded),
    ]);
    fileA = { ...a, txSeq: infoA.tx.seq, startEntryIndex: infoA.tx.startEntryIndex };
    fileB = { ...b, txSeq: infoB.tx.seq };
  });

  after(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
    await Promise.all(handles.splice(0).map((handle) => handle.stop().catch(() => undefined)));
    await rpc.close();
  });

  /** The indexes of file A that shard 0/2 holds, and those it does not. */
  function shardOfA() {
    const indexes = [0, 1, 2, 3];
    const held = indexes.filter((i) => inShard({ shardId: 0, numShard: 2 }, globalSegmentIndex(fileA, i)));
    return { held, notHeld: indexes.filter((i) => !held.includes(i)) };
  }

  describe("uploads: attacks are refused with one line, and nothing is stored", () => {
    afterEach(async () => {
      expect(await uploaded(whole, fileA.root)).to.equal(0);
      expect(await uploaded(half, fileA.root)).to.equal(0);
    });

    it("a segment whose bytes were altered: 400 naming the proof, for the whole request", async () => {
      const bad = tampered(frameOf(fileA, 0));
      let answer = await upload(whole.url, fileA.txSeq, body([bad]));
      expect(answer.status).to.equal(400);
      expect(reasonOf(answer)).to.equal(`segment 0: the proof does not lead to root ${fileA.root}`);

      // One bad segment among good ones: none of them is kept.
      answer = await upload(
        whole.url,
        fileA.txSeq,
        body([frameOf(fileA, 1), tampered(frameOf(fileA, 2), 5)]),
      );
      expect(answer.status).to.equal(400);
      expect(reasonOf(answer)).to.equal(`segment 2: the proof does not lead to root ${fileA.root}`);

      // The last, short segment altered in its zero padding (bytes past the file's end).
      answer = await upload(whole.url, fileA.txSeq, body([tampered(frameOf(fileA, 3), 1010)]));
      expect(answer.status).to.equal(400);
      expect(reasonOf(answer)).to.equal(`segment 3: the proof does not lead to root ${fileA.root}`);

      // Through our client: a StorageRpcError -32602 with the same reason.
      const error = await rejection(
        new StorageRpc(whole.url).uploadSegments(
          { txSeq: fileA.txSeq, root: fileA.root, fileSize: fileA.size },
          [bad],
        ),
      );
      expect(error).to.be.instanceOf(StorageRpcError);
      expect((error as StorageRpcError).code).to.equal(-32602);
      expect(error.message).to.equal(
        `Invalid params: segment 0: the proof does not lead to root ${fileA.root}`,
      );
    });

    it("a real segment replayed under another index, or a segment of another file: its proof does not lead to the root", async () => {
      const replayed = { ...frameOf(fileA, 0), index: 1 };
      let answer = await upload(whole.url, fileA.txSeq, body([replayed]));
      expect(answer.status).to.equal(400);
      expect(reasonOf(answer)).to.equal(`segment 1: the proof does not lead to root ${fileA.root}`);

      // Segment 1's bytes with segment 0's proof.
      answer = await upload(
        whole.url,
        fileA.txSeq,
        body([{ ...frameOf(fileA, 0), bytes: segmentBytes(fileA, 1) }]),
      );
      expect(answer.status).to.equal(400);
      expect(reasonOf(answer)).to.equal(`segment 0: the proof does not lead to root ${fileA.root}`);

      // A segment with a valid proof, to another root.
      answer = await upload(whole.url, fileA.txSeq, body([frameOf(other, 0)]));
      expect(answer.status).to.equal(400);
      expect(reasonOf(answer)).to.equal(`segment 0: the proof does not lead to root ${fileA.root}`);
    });

    it("a wrong length, an index outside the file, a segment of another shard: 400 with the reason", async () => {
      const short = { ...frameOf(fileA, 0), bytes: segmentBytes(fileA, 0).subarray(0, SEGMENT_SIZE - 256) };
      let answer = await upload(whole.url, fileA.txSeq, body([short]));
      expect(answer.status).to.equal(400);
      expect(reasonOf(answer)).to.equal(
        `segment 0 has ${SEGMENT_SIZE - 256} bytes, expected ${SEGMENT_SIZE}`,
      );

      // The last segment without its padding to a whole sector.
      const unpadded = { ...frameOf(fileA, 3), bytes: fileA.bytes.subarray(3 * SEGMENT_SIZE) };
      answer = await upload(whole.url, fileA.txSeq, body([unpadded]));
      expect(answer.status).to.equal(400);
      expect(reasonOf(answer)).to.equal("segment 3 has 1000 bytes, expected 1024");

      answer = await upload(whole.url, fileA.txSeq, body([{ ...frameOf(fileA, 0), index: 9 }]));
      expect(answer.status).to.equal(400);
      expect(reasonOf(answer)).to.equal("segment 9 is outside the file's 4 segments");
      answer = await upload(whole.url, fileA.txSeq, body([{ ...frameOf(fileA, 0), index: 0xffffffff }]));
      expect(answer.status).to.equal(400);
      expect(reasonOf(answer)).to.equal(`segment ${0xffffffff} is outside the file's 4 segments`);

      const { held, notHeld } = shardOfA();
      expect(held).to.have.length(2);
      answer = await upload(half.url, fileA.txSeq, body([frameOf(fileA, notHeld[0])]));
      expect(answer.status).to.equal(400);
      expect(reasonOf(answer)).to.equal(`segment ${notHeld[0]} is not in this node's shard 0/2`);
      // Mixed with one of its shard: refused whole.
      answer = await upload(
        half.url,
        fileA.txSeq,
        body([frameOf(fileA, held[0]), frameOf(fileA, notHeld[1])]),
      );
      expect(answer.status).to.equal(400);
      expect(reasonOf(answer)).to.equal(`segment ${notHeld[1]} is not in this node's shard 0/2`);
    });

    it("an unknown or non-numeric txSeq: 400", async () => {
      const payload = body([frameOf(fileA, 0)]);
      let answer = await upload(whole.url, 99_999, payload);
      expect(answer.status).to.equal(400);
      expect(reasonOf(answer)).to.equal("no log entry 99999 yet (the node may still be syncing)");
      for (const txSeq of ["abc", "-1", "1.5", "0x1", "1e3", "1234567890123456", "", `${fileA.txSeq}/x`]) {
        answer = await upload(whole.url, txSeq, payload);
        expect(answer.status, txSeq).to.equal(400);
        expect(reasonOf(answer), txSeq).to.equal("txSeq must be a non-negative integer");
      }
    });

    it("an empty frame, a truncated body, a malformed frame, an empty body: refused", async () => {
      let answer = await upload(whole.url, fileA.txSeq, body([frameOf(fileA, 0), null]));
      expect(answer.status).to.equal(400);
      expect(reasonOf(answer)).to.equal("an upload has no empty frames");

      const whole0 = body([frameOf(fileA, 0)]);
      answer = await upload(whole.url, fileA.txSeq, whole0.subarray(0, whole0.length - 100));
      expect(answer.status).to.equal(400);
      expect(reasonOf(answer)).to.equal("segment frame 0: truncated");
      answer = await upload(whole.url, fileA.txSeq, whole0.subarray(0, 7));
      expect(answer.status).to.equal(400);
      expect(reasonOf(answer)).to.equal("segment frame 0: truncated header");
      answer = await upload(whole.url, fileA.txSeq, Buffer.concat([whole0, Buffer.from([1, 2, 3])]));
      expect(answer.status).to.equal(400);
      expect(reasonOf(answer)).to.equal("segment frame 1: truncated header");

      // A path flag of 2 (segment 0 of 4 has a proof of two steps).
      const flagged = Buffer.from(whole0);
      const lemmaCount = flagged[8];
      expect(flagged[9]).to.be.greaterThan(0);
      flagged[10 + lemmaCount * 32] = 2;
      answer = await upload(whole.url, fileA.txSeq, flagged);
      expect(answer.status).to.equal(400);
      expect(reasonOf(answer)).to.equal("segment frame 0: a path flag is 0 or 1");

      // A frame that claims more than a segment.
      const oversized = Buffer.from(whole0);
      oversized.writeUInt32BE(SEGMENT_SIZE + 1, 4);
      answer = await upload(whole.url, fileA.txSeq, oversized);
      expect(answer.status).to.equal(400);
      expect(reasonOf(answer)).to.equal(`segment frame 0: ${SEGMENT_SIZE + 1} bytes, over ${SEGMENT_SIZE}`);

      // An empty body (Content-Length: 0).
      answer = await upload(whole.url, fileA.txSeq, Buffer.alloc(0));
      expect(answer.status).to.equal(400);
      expect(reasonOf(answer)).to.equal("expected at least one segment");
    });

    it("no Content-Length (chunked): 411; a Content-Length over the limit: 413 before the body is sent, connection closed", async () => {
      let answer = await raw(whole.url, {
        method: "POST",
        path: `${SEGMENTS_ROUTE}${fileA.txSeq}`,
        chunked: body([frameOf(fileA, 0)]),
        watchClose: true,
      });
      expect(answer.status).to.equal(411);
      expect(reasonOf(answer)).to.equal("a segment upload needs a Content-Length");
      expect(answer.headers.connection).to.equal("close");
      expect(answer.closed).to.equal(true);

      // 2 segments per request on this node: 2 × MAX_FRAME_BYTES is the most a body may be. Only the headers go.
      const limit = 2 * MAX_FRAME_BYTES;
      answer = await raw(whole.url, {
        method: "POST",
        path: `${SEGMENTS_ROUTE}${fileA.txSeq}`,
        declaredLength: limit + 1,
        watchClose: true,
      });
      expect(answer.status).to.equal(413);
      expect(reasonOf(answer)).to.equal(`request body over ${limit} bytes`);
      expect(answer.headers.connection).to.equal("close");
      expect(answer.closed).to.equal(true);

      // The same to an unknown log entry, and a 10 GB one: refused from the headers, nothing read or drained.
      for (const declaredLength of [limit + 1, 10_000_000_000]) {
        answer = await raw(whole.url, {
          method: "POST",
          path: `${SEGMENTS_ROUTE}99999`,
          declaredLength,
          watchClose: true,
        });
        expect(answer.status).to.equal(413);
        expect(answer.closed).to.equal(true);
      }
      // A refusal before the body is read (an unknown log entry) closes the connection rather than draining it.
      answer = await raw(whole.url, {
        method: "POST",
        path: `${SEGMENTS_ROUTE}99999`,
        declaredLength: limit,
        watchClose: true,
      });
      expect(answer.status).to.equal(400);
      expect(reasonOf(answer)).to.match(/^no log entry 99999 yet/);
      expect(answer.headers.connection).to.equal("close");
      expect(answer.closed).to.equal(true);

      // Within the limit, the node reads the body (a bad one here: empty frames, refused once read).
      answer = await raw(whole.url, {
        method: "POST",
        path: `${SEGMENTS_ROUTE}${fileA.txSeq}`,
        body: Buffer.alloc(limit - (limit % 10)),
      });
      expect(answer.status).to.equal(400);
      expect(reasonOf(answer)).to.equal("an upload has no empty frames");
    });

    it("more segments than maxSegmentsPerRequest: 400, for uploads and downloads", async () => {
      const tiny = [0, 1, 2].map((index) => ({
        index,
        proof: { lemma: [], path: [] },
        bytes: Uint8Array.of(1),
      }));
      const answer = await upload(whole.url, fileA.txSeq, body(tiny));
      expect(answer.status).to.equal(400);
      expect(reasonOf(answer)).to.equal("at most 2 segments per request");

      const get = await raw(whole.url, {
        method: "GET",
        path: `${SEGMENTS_ROUTE}${fileA.root}?indexes=0,1,2`,
      });
      expect(get.status).to.equal(400);
      expect(reasonOf(get)).to.equal("at most 2 segments per request");
    });

    it("nothing of the above was stored: the file still lacks every segment", async () => {
      const info = await new StorageRpc(whole.url).fileInfo(fileA.root);
      expect(info).to.include({ finalized: false, uploadedSegNum: 0 });
      const frames = await new StorageRpc(whole.url).downloadSegments(fileA.root, fileA.size, [0, 1]);
      expect(frames).to.deep.equal([null, null]);
    });
  });

  describe("after the attacks, honest uploads and downloads", () => {
    it("an honest upload completes: {stored: n}, duplicates stored once, then refused once finalized", async () => {
      let answer = await upload(whole.url, fileA.txSeq, body([frameOf(fileA, 0), frameOf(fileA, 1)]));
      expect(answer.status).to.equal(200);
      expect(JSON.parse(answer.text)).to.deep.equal({ stored: 2 });
      answer = await upload(whole.url, fileA.txSeq, body([frameOf(fileA, 1), frameOf(fileA, 1)]));
      expect(JSON.parse(answer.text)).to.deep.equal({ stored: 0 });
      expect(await uploaded(whole, fileA.root)).to.equal(2);
      await new StorageRpc(whole.url).uploadSegments(
        { txSeq: fileA.txSeq, root: fileA.root, fileSize: fileA.size },
        [frameOf(fileA, 3), frameOf(fileA, 2)],
      );
      expect(await new StorageRpc(whole.url).fileInfo(fileA.root)).to.include({
        finalized: true,
        uploadedSegNum: 4,
      });
      answer = await upload(whole.url, fileA.txSeq, body([frameOf(fileA, 0)]));
      expect(answer.status).to.equal(400);
      expect(reasonOf(answer)).to.equal("already uploaded and finalized");

      // The shard 0/2 node takes its two segments, and is then complete.
      const { held } = shardOfA();
      answer = await upload(half.url, fileA.txSeq, body(held.map((i) => frameOf(fileA, i))));
      expect(JSON.parse(answer.text)).to.deep.equal({ stored: 2 });
      expect(await new StorageRpc(half.url).fileInfo(fileA.root)).to.include({
        finalized: true,
        uploadedSegNum: 2,
      });
    });

    it("GET: held segments come back as frames whose proofs verify, in the order asked", async () => {
      const response = await fetch(`${whole.url}${SEGMENTS_ROUTE}${fileA.root}?indexes=3,0`);
      expect(response.status).to.equal(200);
      expect(response.headers.get("content-type")).to.equal("application/octet-stream");
      const raw30 = decodeFrames(new Uint8Array(await response.arrayBuffer()));
      // Through our client as well (at most 2 segments per request on this node).
      const frames = [
        ...raw30,
        ...(await new StorageRpc(whole.url).downloadSegments(fileA.root, fileA.size, [1, 2])),
      ];
      const order = [3, 0, 1, 2];
      expect(frames.map((frame) => frame?.index)).to.deep.equal(order);
      const proven = await provenFrames(fileA.root, fileA.size, frames);
      proven.forEach((bytes, i) => {
        expect(bytes, `segment ${order[i]}`).to.not.equal(undefined);
        expect(Buffer.from(bytes!).equals(segmentBytes(fileA, order[i]))).to.equal(true);
      });
      // The same segment asked twice comes twice.
      const twice = await new StorageRpc(whole.url).downloadSegments(fileA.root, fileA.size, [1, 1]);
      expect(twice.map((frame) => frame?.index)).to.deep.equal([1, 1]);
    });

    it("GET: a segment not held (another shard, a root not on the log) is an empty frame", async () => {
      const { held, notHeld } = shardOfA();
      const response = await fetch(
        `${half.url}${SEGMENTS_ROUTE}${fileA.root}?indexes=${[...notHeld, ...held].join(",")}`,
      );
      expect(response.status).to.equal(200);
      const frames = decodeFrames(new Uint8Array(await response.arrayBuffer()));
      expect(frames.slice(0, 2)).to.deep.equal([null, null]);
      expect(frames.slice(2).map((frame) => frame?.index)).to.deep.equal(held);
      const proven = await provenFrames(fileA.root, fileA.size, frames);
      expect(proven.map((bytes) => bytes !== undefined)).to.deep.equal([false, false, true, true]);

      // A file on the log that nobody uploaded; a root not on the log at all.
      const unknown = `0x${"ab".repeat(32)}`;
      for (const root of [neverUploaded, unknown]) {
        const empty = await fetch(`${whole.url}${SEGMENTS_ROUTE}${root}?indexes=0`);
        expect(empty.status).to.equal(200);
        expect(decodeFrames(new Uint8Array(await empty.arrayBuffer()))).to.deep.equal([null]);
      }
    });

    it("GET: an index outside the file, a malformed root, bad or missing indexes: 400; a PUT: 405", async () => {
      const get = (path: string) => raw(whole.url, { method: "GET", path });
      let answer = await get(`${SEGMENTS_ROUTE}${fileA.root}?indexes=0,4`);
      expect(answer.status).to.equal(400);
      expect(reasonOf(answer)).to.equal("segment 4 is outside the file");
      answer = await get(`${SEGMENTS_ROUTE}0x1234?indexes=0`);
      expect(answer.status).to.equal(400);
      expect(reasonOf(answer)).to.equal("root must be a 32-byte 0x-hex hash");
      answer = await get(`${SEGMENTS_ROUTE}${fileA.root}`);
      expect(answer.status).to.equal(400);
      expect(reasonOf(answer)).to.equal("indexes=i,j,… is required");
      answer = await get(`${SEGMENTS_ROUTE}${fileA.root}?indexes=`);
      expect(answer.status).to.equal(400);
      expect(reasonOf(answer)).to.equal("indexes=i,j,… is required");
      for (const indexes of ["0,x", "-1", "1.5", "99999999999"]) {
        answer = await get(`${SEGMENTS_ROUTE}${fileA.root}?indexes=${indexes}`);
        expect(answer.status, indexes).to.equal(400);
        expect(reasonOf(answer)).to.equal("indexes must be non-negative integers below 2^32");
      }
      answer = await raw(whole.url, {
        method: "PUT",
        path: `${SEGMENTS_ROUTE}${fileA.txSeq}`,
        body: Buffer.from("x"),
      });
      expect(answer.status).to.equal(405);
      expect(reasonOf(answer)).to.equal("GET or POST");
      answer = await raw(whole.url, { method: "DELETE", path: `${SEGMENTS_ROUTE}${fileA.root}` });
      expect(answer.status).to.equal(405);

      // Through our client, a refusal is a StorageRpcError -32602.
      const error = await rejection(new StorageRpc(whole.url).downloadSegments(fileA.root, fileA.size, [9]));
      expect(error).to.be.instanceOf(StorageRpcError);
      expect(error.message).to.equal("Invalid params: segment 9 is outside the file");
    });
  });

  describe("rate, fallback and hostile nodes", () => {
    it("rate: a request is charged one token per segment, so one request of many segments is refused (429)", async () => {
      // Burst 4: a request of 8 segments costs more than a client may ever hold; refusals answered at once.
      const limited = await startNode({
        limits: { rate: { perSecond: 2, burst: 4 }, maxBatchCalls: 4, refusalHoldMs: 0 },
      });
      // Wait for the log through /health (its own bucket), slowly enough not to be refused there.
      for (let i = 0; ; i++) {
        const health = (await (await fetch(`${limited.url}/health`)).json()) as { nextTxSeq?: number };
        if ((health.nextTxSeq ?? 0) > fileA.txSeq) break;
        if (i > 40) expect.fail("the rate-limited node did not see the log");
        await sleep(600);
      }
      const route = `${SEGMENTS_ROUTE}${fileA.root}?indexes=`;
      let answer = await raw(limited.url, { method: "GET", path: `${route}0` });
      expect(answer.status).to.equal(200);

      answer = await raw(limited.url, {
        method: "GET",
        path: `${route}${[0, 1, 2, 3, 0, 1, 2, 3].join(",")}`,
      });
      expect(answer.status).to.equal(429);
      expect(answer.headers["retry-after"]).to.match(/^\d+$/);
      expect(reasonOf(answer)).to.match(/^too many requests from this client: retry after \d+ s$/);

      // The bucket was not empty: a request of one segment still passes.
      answer = await raw(limited.url, { method: "GET", path: `${route}1` });
      expect(answer.status).to.equal(200);

      // An upload is charged from its Content-Length, before its body is read: 6 segments' worth is refused at once.
      answer = await raw(limited.url, {
        method: "POST",
        path: `${SEGMENTS_ROUTE}${fileA.txSeq}`,
        declaredLength: 6 * SEGMENT_SIZE,
        watchClose: true,
      });
      expect(answer.status).to.equal(429);
      expect(answer.headers.connection).to.equal("close");
      expect(answer.closed).to.equal(true);

      await sleep(1_600);
      const rpcClient = new StorageRpc(limited.url);
      expect(await rpcClient.fileInfo(fileA.root)).to.include({ uploadedSegNum: 0, finalized: false });
      // Our client reports it as a NETWORK error naming the status.
      const error = await rejection(
        rpcClient.downloadSegments(fileA.root, fileA.size, [0, 1, 2, 3, 0, 1, 2, 3]),
      );
      expect(error).to.be.instanceOf(ZgError);
      expect((error as ZgError).code).to.equal("NETWORK");
      expect(error.message).to.match(/answered HTTP 429: too many requests/);
    });

    it("fallback: through a proxy that answers 404 for the binary routes, uploads and downloads use the JSON-RPC", async () => {
      const binaryHits: string[] = [];
      const methods: string[] = [];
      const proxy = await serve((request, response) => {
        const chunks: Buffer[] = [];
        request.on("data", (chunk: Buffer) => chunks.push(chunk));
        request.on("end", () => {
          if ((request.url ?? "").startsWith(SEGMENTS_ROUTE)) {
            binaryHits.push(`${request.method} ${request.url}`);
            response.writeHead(404, { "content-type": "application/json" }).end('{"error":"not found"}');
            return;
          }
          const text = Buffer.concat(chunks).toString("utf8");
          const parsed = JSON.parse(text) as { method: string } | { method: string }[];
          for (const call of Array.isArray(parsed) ? parsed : [parsed]) methods.push(call.method);
          fetch(`${whole.url}${request.url}`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: text,
          }).then(
            async (answer) =>
              response
                .writeHead(answer.status, { "content-type": "application/json" })
                .end(await answer.text()),
            () => response.writeHead(502).end(),
          );
        });
      });
      const file = { txSeq: fileB.txSeq, root: fileB.root, fileSize: fileB.size };
      const viaProxy = new StorageRpc(proxy);

      // A refusal through the JSON-RPC reads as it does through the binary route.
      const error = await rejection(viaProxy.uploadSegments(file, [tampered(frameOf(fileB, 0))]));
      expect(error).to.be.instanceOf(StorageRpcError);
      expect((error as StorageRpcError).code).to.equal(-32602);
      expect(error.message).to.equal(
        `Invalid params: segment 0: the proof does not lead to root ${fileB.root}`,
      );
      expect(binaryHits).to.deep.equal([`POST ${SEGMENTS_ROUTE}${fileB.txSeq}`]);
      expect(await uploaded(whole, fileB.root)).to.equal(0);

      await viaProxy.uploadSegments(file, [frameOf(fileB, 0), frameOf(fileB, 1)]);
      expect(await new StorageRpc(whole.url).fileInfo(fileB.root)).to.include({
        finalized: true,
        uploadedSegNum: 2,
      });

      const fromProxy = await viaProxy.downloadSegments(fileB.root, fileB.size, [1, 0]);
      // The route was asked once by this client, then only the JSON-RPC.
      expect(binaryHits).to.have.length(1);
      expect(methods).to.deep.equal([
        "zgs_uploadSegmentsByTxSeq",
        "zgs_uploadSegmentsByTxSeq",
        "zgs_downloadSegmentWithProof",
        "zgs_downloadSegmentWithProof",
      ]);
      const direct = await new StorageRpc(whole.url).downloadSegments(fileB.root, fileB.size, [1, 0]);
      const shape = (frames: (SegmentFrame | null)[]) =>
        frames.map(
          (frame) =>
            frame && {
              index: frame.index,
              proof: frame.proof,
              bytes: Buffer.from(frame.bytes).toString("hex"),
            },
        );
      expect(shape(fromProxy)).to.deep.equal(shape(direct));
      const proven = await provenFrames(fileB.root, fileB.size, fromProxy);
      expect(Buffer.from(proven[0]!).equals(segmentBytes(fileB, 1))).to.equal(true);
      expect(Buffer.from(proven[1]!).equals(segmentBytes(fileB, 0))).to.equal(true);

      // Another client instance asks the route once again (then falls back).
      const again = await new StorageRpc(proxy).downloadSegments(fileB.root, fileB.size, [0]);
      expect(again[0]?.index).to.equal(0);
      expect(binaryHits).to.have.length(2);
      expect(binaryHits[1]).to.equal(`GET ${SEGMENTS_ROUTE}${fileB.root}?indexes=0`);
    });

    it("a malicious node's answers: wrong indexes become null, a wrong count or garbage throws, tampered bytes fail the proof", async () => {
      let mode = "honest";
      const served = await serve((request, response) => {
        const url = new URL(request.url ?? "/", "http://x");
        const indexes = (url.searchParams.get("indexes") ?? "").split(",").map(Number);
        const frames = indexes.map((index) => frameOf(fileA, index));
        const send = (payload: Buffer, status = 200) =>
          response.writeHead(status, { "content-type": "application/octet-stream" }).end(payload);
        if (mode === "honest") return send(body(frames));
        if (mode === "shifted")
          return send(
            body(frames.map((frame, i) => (i === 0 ? frame : { ...frame, index: frame.index + 1 }))),
          );
        if (mode === "short") return send(body(frames.slice(1)));
        if (mode === "long") return send(body([...frames, null]));
        if (mode === "tampered")
          return send(body(frames.map((frame, i) => (i === 1 ? tampered(frame) : frame))));
        if (mode === "garbage") return send(Buffer.from("<html>not frames</html>"));
        if (mode === "huge") return send(Buffer.alloc(MAX_FRAME_BYTES * indexes.length + 1));
        response.writeHead(500, { "content-type": "application/json" }).end('{"error":{"message":"boom"}}');
      });
      const client = new StorageRpc(served);
      const download = () => client.downloadSegments(fileA.root, fileA.size, [0, 1]);

      let frames = await download();
      expect(frames.map((frame) => frame?.index)).to.deep.equal([0, 1]);
      expect(
        (await provenFrames(fileA.root, fileA.size, frames)).every((bytes) => bytes !== undefined),
      ).to.equal(true);

      mode = "shifted";
      frames = await download();
      expect(frames[0]?.index).to.equal(0);
      expect(frames[1]).to.equal(null);

      for (const [wrong, answered] of [
        ["short", 1],
        ["long", 3],
      ] as const) {
        mode = wrong;
        const error = await rejection(download());
        expect(error).to.be.instanceOf(ZgError);
        expect((error as ZgError).code).to.equal("NETWORK");
        expect(error.message).to.equal(`storage node ${served} answered ${answered} of 2 segments`);
      }

      mode = "tampered";
      frames = await download();
      expect(frames.map((frame) => frame?.index)).to.deep.equal([0, 1]);
      const proven = await provenFrames(fileA.root, fileA.size, frames);
      expect(Buffer.from(proven[0]!).equals(segmentBytes(fileA, 0))).to.equal(true);
      expect(proven[1]).to.equal(undefined);

      mode = "garbage";
      const garbled = await rejection(download());
      expect(garbled).to.be.instanceOf(ZgError);
      expect((garbled as ZgError).code).to.equal("NETWORK");
      expect(garbled.message).to.match(/^storage node \S+ answered malformed segments: segment frame 0: /);

      mode = "huge";
      const huge = await rejection(download());
      expect(huge).to.be.instanceOf(ZgError);
      expect((huge as ZgError).code).to.equal("NETWORK");
      expect(huge.message).to.equal(`storage node ${served} is unreachable (ANSWER_TOO_LARGE)`);

      mode = "error";
      const failed = await rejection(download());
      expect(failed).to.be.instanceOf(ZgError);
      expect((failed as ZgError).code).to.equal("NETWORK");
      expect(failed.message).to.equal(`storage node ${served} answered HTTP 500: boom`);
    });
  });
});

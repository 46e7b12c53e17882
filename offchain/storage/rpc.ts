import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { firstLine, ZgError } from "../core/errors";
import { base64Bytes } from "./merkle";
import type { FileInfo, ParityEntry, SegmentWithProof, ShardConfig } from "./types";
import { decodeFrames, encodeFrame, MAX_FRAME_BYTES, SEGMENTS_ROUTE, type SegmentFrame } from "./wire";

const TIMEOUT_MS = 60_000;
/** Connections are kept between requests, and dropped after 4 s idle (before a node's 5 s keep-alive ends). */
const httpAgent = new HttpAgent({ keepAlive: true, timeout: 4_000 });
const httpsAgent = new HttpsAgent({ keepAlive: true, timeout: 4_000 });

/** A JSON-RPC error answered by a storage node. */
export class StorageRpcError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

interface Answer<T> {
  id?: unknown;
  result?: T;
  error?: { code: number; message: string; data?: unknown };
}

function resultOf<T>(answer: Answer<T>): T {
  if (answer.error) {
    const detail = typeof answer.error.data === "string" ? `: ${answer.error.data}` : "";
    throw new StorageRpcError(`${answer.error.message}${detail}`, answer.error.code, answer.error.data);
  }
  return answer.result as T;
}

/** A client of one storage node's JSON-RPC (the `zgs_*` methods, plus our `zg_getParity`). */
export class StorageRpc {
  private nextId = 1;
  /** Whether the node serves the binary segment routes (wire.ts): unknown until one is first asked. */
  private binaryRoutes: boolean | undefined;

  constructor(
    readonly url: string,
    private readonly timeoutMs = TIMEOUT_MS,
  ) {}

  async call<T>(method: string, params: unknown[] = []): Promise<T> {
    const body = (await this.post({ jsonrpc: "2.0", id: this.nextId++, method, params })) as
      Answer<T> | undefined;
    if (!body || typeof body !== "object")
      throw new ZgError(`storage node ${this.url} answered without a JSON-RPC object`, "NETWORK");
    return resultOf(body);
  }

  /**
   * Several calls in one JSON-RPC batch (one HTTP round trip): each call's result, or its error as a
   * StorageRpcError, in the order of `calls`. A node that answers no batch, or a batch that does not
   * answer every call, is a NETWORK error.
   */
  async batch<T>(calls: { method: string; params: unknown[] }[]): Promise<(T | StorageRpcError)[]> {
    const first = this.nextId;
    this.nextId += calls.length;
    const answers = await this.post(
      calls.map((call, i) => ({ jsonrpc: "2.0", id: first + i, method: call.method, params: call.params })),
    );
    if (!Array.isArray(answers)) {
      const error = (answers as Answer<T> | undefined)?.error;
      const reason = error
        ? `: ${error.message}${typeof error.data === "string" ? `: ${error.data}` : ""}`
        : "";
      throw new ZgError(
        `storage node ${this.url} refused a batch of ${calls.length} calls${reason}`,
        "NETWORK",
      );
    }
    const byId = new Map<unknown, Answer<T>>();
    for (const answer of answers as Answer<T>[])
      if (answer && typeof answer === "object") byId.set(answer.id, answer);
    return calls.map((_, i) => {
      const answer = byId.get(first + i);
      if (!answer) throw new ZgError(`storage node ${this.url} left a call of a batch unanswered`, "NETWORK");
      try {
        return resultOf(answer);
      } catch (error) {
        return error as StorageRpcError;
      }
    });
  }

  private async post(body: unknown): Promise<unknown> {
    return this.json(await this.exchange("POST", "/", [JSON.stringify(body)], "application/json"));
  }

  /** The largest answer read from a node, beyond which it is cut off as a NETWORK error. */
  private static readonly MAX_ANSWER_BYTES = 64 << 20;

  private json(answer: { status: number; body: Buffer }): unknown {
    try {
      return JSON.parse(answer.body.toString("utf8"));
    } catch {
      throw new ZgError(`storage node ${this.url} answered HTTP ${answer.status} without JSON`, "NETWORK");
    }
  }

  /**
   * Sends a request whose body is given in pieces (written as they are, never joined) over a keep-alive
   * connection, and gives back the answer's status and body. node:http rather than fetch: fetch copies a body
   * and an answer of megabytes several times over on its way through web streams.
   */
  private exchange(
    method: "GET" | "POST",
    route: string,
    pieces: (string | Uint8Array)[],
    contentType: string,
    maxAnswerBytes = StorageRpc.MAX_ANSWER_BYTES,
  ): Promise<{ status: number; body: Buffer }> {
    const url = new URL(route, this.url);
    const secure = url.protocol === "https:";
    const length = pieces.reduce(
      (sum, piece) => sum + (typeof piece === "string" ? Buffer.byteLength(piece) : piece.length),
      0,
    );
    return new Promise((resolve, reject) => {
      const unreachable = (error: Error & { code?: string }) =>
        reject(
          new ZgError(`storage node ${this.url} is unreachable (${error.code ?? error.name})`, "NETWORK", {
            cause: error,
          }),
        );
      const request = (secure ? httpsRequest : httpRequest)(
        url,
        {
          method,
          agent: secure ? httpsAgent : httpAgent,
          headers: method === "POST" ? { "content-type": contentType, "content-length": length } : {},
          timeout: this.timeoutMs,
        },
        (response) => {
          const chunks: Buffer[] = [];
          let received = 0;
          response.on("data", (chunk: Buffer) => {
            received += chunk.length;
            if (received <= maxAnswerBytes) chunks.push(chunk);
            else
              request.destroy(
                Object.assign(new Error(`an answer over ${maxAnswerBytes} bytes`), {
                  code: "ANSWER_TOO_LARGE",
                }),
              );
          });
          response.on("error", unreachable);
          response.on("end", () =>
            resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }),
          );
        },
      );
      request.on("timeout", () => request.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })));
      request.on("error", unreachable);
      for (const piece of pieces) request.write(piece);
      request.end();
    });
  }

  /**
   * A binary segment route's answer (wire.ts): its body when it succeeded, undefined when the node does not serve
   * the route (then it is not asked again: the JSON-RPC serves instead); a refusal is a StorageRpcError -32602.
   */
  private async binary(
    method: "GET" | "POST",
    route: string,
    pieces: Uint8Array[],
    maxAnswerBytes?: number,
  ): Promise<Buffer | undefined> {
    if (this.binaryRoutes === false) return undefined;
    const answer = await this.exchange(method, route, pieces, "application/octet-stream", maxAnswerBytes);
    if (answer.status === 404) {
      this.binaryRoutes = false;
      return undefined;
    }
    this.binaryRoutes = true;
    if (answer.status === 200) return answer.body;
    const error = (this.json(answer) as { error?: { message?: string } } | undefined)?.error;
    const reason = typeof error?.message === "string" ? error.message : "no reason given";
    if (answer.status >= 400 && answer.status < 500 && answer.status !== 429)
      throw new StorageRpcError(`Invalid params: ${reason}`, -32602, reason);
    throw new ZgError(`storage node ${this.url} answered HTTP ${answer.status}: ${reason}`, "NETWORK");
  }

  /**
   * Uploads segments of submission `txSeq` of the file `root` (`fileSize` bytes): binary when the node serves
   * it, else through `zgs_uploadSegmentsByTxSeq`. Each segment is whole sectors, as the JSON-RPC's base64.
   */
  async uploadSegments(
    file: { txSeq: number; root: string; fileSize: number },
    frames: SegmentFrame[],
  ): Promise<void> {
    const sent = await this.binary(
      "POST",
      `${SEGMENTS_ROUTE}${file.txSeq}`,
      frames.flatMap((frame) => encodeFrame(frame.index, frame)),
    );
    if (sent) return;
    await this.uploadSegmentsByTxSeq(
      frames.map(({ index, proof, bytes }) => ({
        root: file.root,
        data: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("base64"),
        index,
        proof,
        fileSize: file.fileSize,
      })),
      file.txSeq,
    );
  }

  /**
   * Segments `indexes` of the file `root` (`fileSize` bytes) with their proofs, binary when the node serves it,
   * else through a JSON-RPC batch of `zgs_downloadSegmentWithProof`: each one, or null when the node does not
   * hold it or answered something else than that segment (a wrong index, root or size, data not base64). The
   * proofs are the node's word: check them.
   */
  async downloadSegments(
    root: string,
    fileSize: number,
    indexes: number[],
  ): Promise<(SegmentFrame | null)[]> {
    const route = `${SEGMENTS_ROUTE}${root}?indexes=${indexes.join(",")}`;
    const body = await this.binary("GET", route, [], indexes.length * MAX_FRAME_BYTES);
    if (body) {
      let frames: (SegmentFrame | null)[];
      try {
        frames = decodeFrames(body);
      } catch (error) {
        throw new ZgError(
          `storage node ${this.url} answered malformed segments: ${firstLine(error)}`,
          "NETWORK",
        );
      }
      if (frames.length !== indexes.length)
        throw new ZgError(
          `storage node ${this.url} answered ${frames.length} of ${indexes.length} segments`,
          "NETWORK",
        );
      return frames.map((frame, i) => (frame?.index === indexes[i] ? frame : null));
    }
    const answers = await this.batch<SegmentWithProof | null>(
      indexes.map((index) => ({ method: "zgs_downloadSegmentWithProof", params: [root, index] })),
    );
    return answers.map((answer, i) => {
      if (!answer || answer instanceof Error) return null;
      const bytes = base64Bytes(answer.data);
      const same =
        answer.root?.toLowerCase() === root.toLowerCase() &&
        answer.index === indexes[i] &&
        answer.fileSize === fileSize;
      return bytes && same ? { index: indexes[i], proof: answer.proof, bytes } : null;
    });
  }

  fileInfo(root: string): Promise<FileInfo | null> {
    return this.call("zgs_getFileInfo", [root, true]);
  }

  shardConfig(): Promise<ShardConfig> {
    return this.call("zgs_getShardConfig");
  }

  /**
   * Uploads segments to a submission. `data` must be base64, as `segmentWithProof` makes it: it goes out as it
   * is, beside the JSON of the rest, rather than through JSON.stringify, which would scan and copy every 350 KB
   * string once more (anything else in it makes the request malformed, and the node refuses it).
   */
  async uploadSegmentsByTxSeq(segments: SegmentWithProof[], txSeq: number): Promise<null> {
    const pieces = [
      `{"jsonrpc":"2.0","id":${this.nextId++},"method":"zgs_uploadSegmentsByTxSeq","params":[[`,
    ];
    for (const [i, { data, ...rest }] of segments.entries()) {
      pieces.push(`${i ? "," : ""}${JSON.stringify(rest).slice(0, -1)},"data":"`, data, `"}`);
    }
    pieces.push(`],${JSON.stringify(txSeq)}]}`);
    return resultOf(this.json(await this.exchange("POST", "/", pieces, "application/json")) as Answer<null>);
  }

  parityOf(root: string): Promise<ParityEntry[]> {
    return this.call("zg_getParity", [root]);
  }
}

import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { ZgError } from "../core/errors";
import type { FileInfo, ParityEntry, SegmentWithProof, ShardConfig } from "./types";

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

  private post(body: unknown): Promise<unknown> {
    return this.send([JSON.stringify(body)]);
  }

  /**
   * POSTs a JSON body given as ASCII pieces (sent as they are, without joining them) over a keep-alive
   * connection, and parses the answer. node:http rather than fetch: fetch copies a body and an answer of
   * megabytes several times over on its way through web streams, which cost more than the JSON itself.
   */
  private send(pieces: string[]): Promise<unknown> {
    const url = new URL(this.url);
    const secure = url.protocol === "https:";
    const length = pieces.reduce((sum, piece) => sum + Buffer.byteLength(piece), 0);
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
          method: "POST",
          agent: secure ? httpsAgent : httpAgent,
          headers: { "content-type": "application/json", "content-length": length },
          timeout: this.timeoutMs,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", unreachable);
          response.on("end", () => {
            try {
              resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
            } catch {
              reject(
                new ZgError(
                  `storage node ${this.url} answered HTTP ${response.statusCode} without JSON`,
                  "NETWORK",
                ),
              );
            }
          });
        },
      );
      request.on("timeout", () => request.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })));
      request.on("error", unreachable);
      for (const piece of pieces) request.write(piece);
      request.end();
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
    return resultOf((await this.send(pieces)) as Answer<null>);
  }

  downloadSegmentWithProof(root: string, index: number): Promise<SegmentWithProof | null> {
    return this.call("zgs_downloadSegmentWithProof", [root, index]);
  }

  /** Segments `indexes` of a file in one batch: each one, null when the node does not hold it, or its error. */
  downloadSegmentsWithProof(
    root: string,
    indexes: number[],
  ): Promise<(SegmentWithProof | null | StorageRpcError)[]> {
    return this.batch(
      indexes.map((index) => ({ method: "zgs_downloadSegmentWithProof", params: [root, index] })),
    );
  }

  parityOf(root: string): Promise<ParityEntry[]> {
    return this.call("zg_getParity", [root]);
  }
}

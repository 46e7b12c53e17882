import { ZgError } from "../core/errors";
import type { FileInfo, ParityEntry, SegmentWithProof, ShardConfig } from "./types";

const TIMEOUT_MS = 60_000;

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

  private async post(body: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      throw new ZgError(`storage node ${this.url} is unreachable (${cause})`, "NETWORK", { cause: error });
    }
    const answer: unknown = await response.json().catch(() => undefined);
    if (answer === undefined)
      throw new ZgError(`storage node ${this.url} answered HTTP ${response.status} without JSON`, "NETWORK");
    return answer;
  }

  fileInfo(root: string): Promise<FileInfo | null> {
    return this.call("zgs_getFileInfo", [root, true]);
  }

  shardConfig(): Promise<ShardConfig> {
    return this.call("zgs_getShardConfig");
  }

  uploadSegmentsByTxSeq(segments: SegmentWithProof[], txSeq: number): Promise<null> {
    return this.call("zgs_uploadSegmentsByTxSeq", [segments, txSeq]);
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

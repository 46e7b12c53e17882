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

/** A client of one storage node's JSON-RPC (the `zgs_*` methods, plus our `zg_getParity`). */
export class StorageRpc {
  private nextId = 1;

  constructor(
    readonly url: string,
    private readonly timeoutMs = TIMEOUT_MS,
  ) {}

  async call<T>(method: string, params: unknown[] = []): Promise<T> {
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: this.nextId++, method, params }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      throw new ZgError(`storage node ${this.url} is unreachable (${cause})`, "NETWORK", { cause: error });
    }
    const body = (await response.json().catch(() => undefined)) as
      { result?: T; error?: { code: number; message: string; data?: unknown } } | undefined;
    if (!body)
      throw new ZgError(`storage node ${this.url} answered HTTP ${response.status} without JSON`, "NETWORK");
    if (body.error) {
      const detail = typeof body.error.data === "string" ? `: ${body.error.data}` : "";
      throw new StorageRpcError(`${body.error.message}${detail}`, body.error.code, body.error.data);
    }
    return body.result as T;
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

  parityOf(root: string): Promise<ParityEntry[]> {
    return this.call("zg_getParity", [root]);
  }
}

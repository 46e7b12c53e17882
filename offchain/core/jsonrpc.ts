import type { IncomingMessage, ServerResponse } from "node:http";
import { firstLine, ZgError } from "./errors";
import { BodyTooLargeError, readBody, refuseBody, retryAfterSeconds, sendJson } from "./http";
import { DEFAULT_LIMITS } from "./limits";
import type { Logger } from "./log";

/** A JSON-RPC method: receives the positional params, returns the result (or throws a `JsonRpcError`). */
export type JsonRpcMethod = (params: unknown[]) => Promise<unknown>;
export type JsonRpcMethods = Record<string, JsonRpcMethod>;

/** An error answered to the caller as a JSON-RPC error object. */
export class JsonRpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }

  /** -32602, the code clients (the 0G SDK among them) expect for a refused request. */
  static invalidParams(data: string): JsonRpcError {
    return new JsonRpcError(-32602, "Invalid params", data);
  }

  /**
   * -32005 "limit exceeded" (EIP-1474), with the wait in `data`. Answered with HTTP 200: the 0G SDK hands a
   * JSON-RPC error straight to its caller, where an HTTP 429 would be retried blindly three times a second apart.
   */
  static limitExceeded(waitMs: number): JsonRpcError {
    const seconds = retryAfterSeconds(waitMs);
    return new JsonRpcError(
      -32005,
      `limit exceeded: too many requests from this client, retry after ${seconds} s`,
      { retryAfterSeconds: seconds },
    );
  }
}

/** Answers a JSON-RPC request refused by the rate limit, unread: one -32005 error, and Retry-After. */
export function sendJsonRpcLimit(response: ServerResponse, waitMs: number): void {
  if (response.headersSent) return;
  response.setHeader("retry-after", String(retryAfterSeconds(waitMs)));
  sendJson(response, 200, errorBody(null, JsonRpcError.limitExceeded(waitMs)));
}

export interface JsonRpcServeOptions {
  /** The largest request body read; a larger one is refused with 413 before it is read whole. */
  maxBodyBytes: number;
  log: Logger;
  /** The most calls in one batch (default `DEFAULT_LIMITS.maxBatchCalls`); a longer batch gets one error. */
  maxBatchCalls?: number;
  /** How many calls of a batch run at once (default `DEFAULT_LIMITS.batchConcurrency`). */
  batchConcurrency?: number;
  /**
   * Charges a batch of `calls` to its client before it runs (a batch over the call cap is charged the cap):
   * true to go on; false when the client is over its rate, and `chargeBatch` has answered the refusal.
   */
  chargeBatch?: (calls: number, response: ServerResponse) => boolean;
  /** Told of a body refused by its size (its connection closes after the answer). */
  onRefusedBody?: (error: BodyTooLargeError) => void;
}

/** The most bytes one call of a batch may take (a batch's size cap is this times the call cap). */
const MAX_BATCH_CALL_BYTES = 16 * 1024;

interface JsonRpcRequest {
  jsonrpc?: string;
  id?: string | number | null;
  method?: unknown;
  params?: unknown;
}

/**
 * Serves JSON-RPC 2.0 over HTTP POST (single and batch requests), refusing bodies over `maxBodyBytes`
 * before reading them whole, and batches over `maxBatchCalls` calls before running any; a batch runs at most
 * `batchConcurrency` calls at a time. Unexpected failures are logged and answered as -32603 with a one-line reason.
 */
export function serveJsonRpc(
  methods: JsonRpcMethods,
  request: IncomingMessage,
  response: ServerResponse,
  options: JsonRpcServeOptions,
): void {
  const maxBatchCalls = options.maxBatchCalls ?? DEFAULT_LIMITS.maxBatchCalls;
  const concurrency = options.batchConcurrency ?? DEFAULT_LIMITS.batchConcurrency;
  // A batch larger than its call cap could ever need is refused before it is read whole, let alone parsed:
  // parsing a flood of small calls is the expensive part (50,000 status calls are 3.3 MB and 40 ms of JSON.parse).
  const batchBytes = maxBatchCalls * MAX_BATCH_CALL_BYTES;
  const isBatch = (firstByte: number) => firstByte === 0x5b;
  readBody(request, options.maxBodyBytes, (firstByte) =>
    isBatch(firstByte) ? batchBytes : options.maxBodyBytes,
  ).then(
    (body) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString("utf8"));
      } catch {
        sendJson(response, 200, errorBody(null, new JsonRpcError(-32700, "Parse error")));
        return;
      }
      const handle = (call: JsonRpcRequest) => dispatch(methods, call, options.log);
      if (Array.isArray(parsed)) {
        if (parsed.length === 0) {
          sendJson(response, 200, errorBody(null, new JsonRpcError(-32600, "Invalid Request")));
          return;
        }
        if (options.chargeBatch && !options.chargeBatch(Math.min(parsed.length, maxBatchCalls), response))
          return;
        if (parsed.length > maxBatchCalls) {
          const error = new JsonRpcError(
            -32600,
            `batch of ${parsed.length} calls is over the limit of ${maxBatchCalls}`,
          );
          sendJson(response, 200, errorBody(null, error));
          return;
        }
        void mapBounded(parsed as JsonRpcRequest[], concurrency, handle).then((answers) =>
          sendJson(response, 200, answers),
        );
      } else {
        void handle(parsed as JsonRpcRequest).then((answer) => sendJson(response, 200, answer));
      }
    },
    (error: unknown) => {
      if (!(error instanceof BodyTooLargeError)) {
        sendJson(response, 400, errorBody(null, new JsonRpcError(-32600, firstLine(error))));
        return;
      }
      refuseBody(response);
      options.onRefusedBody?.(error);
      if (error.limit === batchBytes && batchBytes < options.maxBodyBytes) {
        const message =
          error.declared === undefined
            ? `batch over the limit of ${batchBytes} bytes`
            : `batch of ${error.declared} bytes is over the limit of ${batchBytes}`;
        sendJson(response, 200, errorBody(null, new JsonRpcError(-32600, message)));
      } else {
        sendJson(response, 413, errorBody(null, new JsonRpcError(-32600, error.message)));
      }
    },
  );
}

/** `task` over `items`, at most `limit` at a time, results in order. */
async function mapBounded<T, R>(items: T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

async function dispatch(methods: JsonRpcMethods, call: JsonRpcRequest, log: Logger): Promise<unknown> {
  const id = call && typeof call === "object" ? (call.id ?? null) : null;
  if (!call || typeof call !== "object" || typeof call.method !== "string") {
    return errorBody(id, new JsonRpcError(-32600, "Invalid Request"));
  }
  const method = Object.hasOwn(methods, call.method) ? methods[call.method] : undefined;
  if (!method) return errorBody(id, new JsonRpcError(-32601, `Method not found: ${call.method}`));
  const params = call.params === undefined ? [] : call.params;
  if (!Array.isArray(params)) return errorBody(id, JsonRpcError.invalidParams("params must be an array"));
  try {
    const result = await method(params);
    return { jsonrpc: "2.0", id, result: result === undefined ? null : result };
  } catch (error) {
    if (error instanceof JsonRpcError) return errorBody(id, error);
    if (error instanceof ZgError && error.code === "BAD_INPUT")
      return errorBody(id, JsonRpcError.invalidParams(error.message));
    log.error("json-rpc method failed", { method: call.method, error: firstLine(error) });
    return errorBody(id, new JsonRpcError(-32603, "Internal error", firstLine(error)));
  }
}

function errorBody(id: unknown, error: JsonRpcError) {
  const body: { code: number; message: string; data?: unknown } = {
    code: error.code,
    message: error.message,
  };
  if (error.data !== undefined) body.data = error.data;
  return { jsonrpc: "2.0", id, error: body };
}

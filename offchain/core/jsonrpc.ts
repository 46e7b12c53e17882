import type { IncomingMessage, ServerResponse } from "node:http";
import { firstLine, ZgError } from "./errors";
import { BodyTooLargeError, readBody, sendJson } from "./http";
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
}

interface JsonRpcRequest {
  jsonrpc?: string;
  id?: string | number | null;
  method?: unknown;
  params?: unknown;
}

/**
 * Serves JSON-RPC 2.0 over HTTP POST (single and batch requests), refusing bodies over `maxBodyBytes`
 * before reading them whole. Unexpected failures are logged and answered as -32603 with a one-line reason.
 */
export function serveJsonRpc(
  methods: JsonRpcMethods,
  request: IncomingMessage,
  response: ServerResponse,
  options: { maxBodyBytes: number; log: Logger },
): void {
  readBody(request, options.maxBodyBytes).then(
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
        void Promise.all(parsed.map((call) => handle(call as JsonRpcRequest))).then((answers) =>
          sendJson(response, 200, answers),
        );
      } else {
        void handle(parsed as JsonRpcRequest).then((answer) => sendJson(response, 200, answer));
      }
    },
    (error: unknown) => {
      const message = error instanceof BodyTooLargeError ? error.message : firstLine(error);
      sendJson(
        response,
        error instanceof BodyTooLargeError ? 413 : 400,
        errorBody(null, new JsonRpcError(-32600, message)),
      );
    },
  );
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

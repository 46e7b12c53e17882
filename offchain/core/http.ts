import type { IncomingMessage, ServerResponse } from "node:http";
import { firstLine, ZgError, type ZgErrorCode } from "./errors";
import type { Logger } from "./log";

/** Thrown by `readBody` when a request body is larger than allowed. */
export class BodyTooLargeError extends ZgError {
  constructor(
    readonly limit: number,
    /** The body's Content-Length, when the client declared one. */
    readonly declared?: number,
  ) {
    super(`request body over ${limit} bytes`, "BAD_INPUT");
  }
}

/**
 * Reads a request body, refusing one over `maxBytes` before reading it whole (by its Content-Length, or as
 * soon as it grows past the limit). `maxBytesFor` may lower the limit once the body's first byte that is not
 * JSON whitespace is seen (a JSON-RPC batch, `[`, has a smaller cap than a single call). The rest of a refused
 * body is never read: the request is paused, and whoever answers the refusal closes the connection
 * (`refuseBody`), so a client cannot make the server take in megabytes it has already refused.
 */
export function readBody(
  request: IncomingMessage,
  maxBytes: number,
  maxBytesFor?: (firstByte: number) => number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers["content-length"] ?? 0);
    let limit = maxBytes;
    let refused = false;
    const refuse = () => {
      refused = true;
      request.pause();
      reject(new BodyTooLargeError(limit, declared || undefined));
    };
    if (declared > limit) {
      refuse();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let firstByte = -1;
    request.on("data", (chunk: Buffer) => {
      if (refused) return;
      if (firstByte < 0 && maxBytesFor) {
        firstByte = firstNonSpace(chunk);
        if (firstByte >= 0) limit = Math.min(limit, maxBytesFor(firstByte));
        if (declared > limit) return refuse();
      }
      size += chunk.length;
      if (size > limit) return refuse();
      chunks.push(chunk);
    });
    request.on("end", () => {
      if (!refused) resolve(Buffer.concat(chunks));
    });
    request.on("error", (error) => {
      if (!refused) reject(error);
    });
  });
}

/** The first byte of `data` that is not JSON whitespace, or -1. */
export function firstNonSpace(data: Buffer): number {
  for (const byte of data) if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) return byte;
  return -1;
}

/** Marks an answer to a request whose body was not read whole: its connection closes once the answer is sent. */
export function refuseBody(response: ServerResponse): void {
  if (!response.headersSent) response.setHeader("connection", "close");
}

/** Answers with a JSON body (bigints as decimal strings), unless an answer was already sent. */
export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) return;
  response
    .writeHead(status, { "content-type": "application/json" })
    .end(
      JSON.stringify(body, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value)),
    );
}

/** Whether a request comes with a body (a Content-Length above 0, or a chunked one). */
export function hasBody(request: IncomingMessage): boolean {
  return (
    Number(request.headers["content-length"] ?? 0) > 0 || request.headers["transfer-encoding"] !== undefined
  );
}

/** A wait in whole seconds, as Retry-After says it (at least 1). */
export function retryAfterSeconds(waitMs: number): number {
  return Number.isFinite(waitMs) ? Math.max(1, Math.ceil(waitMs / 1000)) : 3600;
}

/**
 * Answers `status` with an OpenAI-style error body, `{error: {message, type, code}}`, the shape every HTTP route
 * of the workers uses (the type by default from the status: a client's error or the server's).
 */
export function sendError(
  response: ServerResponse,
  status: number,
  message: string,
  type = status < 500 ? "invalid_request_error" : "server_error",
): void {
  sendJson(response, status, { error: { message, type, code: status } });
}

/** Answers 429 with Retry-After and an OpenAI-style error body that says when to retry. */
export function sendTooManyRequests(response: ServerResponse, waitMs: number): void {
  if (response.headersSent) return;
  const seconds = retryAfterSeconds(waitMs);
  response.setHeader("retry-after", String(seconds));
  sendJson(response, 429, {
    error: {
      message: `too many requests from this client: retry after ${seconds} s`,
      type: "rate_limit_error",
      code: 429,
      retryAfterSeconds: seconds,
    },
  });
}

/** A request header's value (the first, when it was sent several times). */
export function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** An HTTP error with its status and an OpenAI-style error type. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = "invalid_request_error",
  ) {
    super(message);
  }
}

const STATUS_OF: Partial<Record<ZgErrorCode, number>> = { BAD_INPUT: 400, NOT_FOUND: 404, NETWORK: 502 };

/**
 * Answers a request with what `work` returns, or with the OpenAI-style JSON error it throws: an HttpError with
 * its status, a body over the limit with 413, a ZgError BAD_INPUT, NOT_FOUND or NETWORK with 400, 404 or 502,
 * anything else with 500 (logged, as an internal error). `failed` sees the status of every error answered.
 * Always true: the request is handled.
 */
export function replyJson(
  response: ServerResponse,
  work: () => Promise<unknown>,
  options: { log: Logger; failed?: (status: number) => void },
): boolean {
  work().then(
    (body) => sendJson(response, 200, body),
    (error: unknown) => {
      let status = 500;
      let type = "server_error";
      let message = firstLine(error);
      if (error instanceof HttpError) {
        status = error.status;
        type = error.type;
      } else if (error instanceof BodyTooLargeError) {
        refuseBody(response);
        status = 413;
        type = "invalid_request_error";
      } else if (error instanceof ZgError && STATUS_OF[error.code]) {
        status = STATUS_OF[error.code] as number;
        type = status < 500 ? "invalid_request_error" : "server_error";
      } else {
        options.log.error("request failed", { error: message });
        message = `internal error: ${message}`;
      }
      options.failed?.(status);
      sendError(response, status, message, type);
    },
  );
  return true;
}

/** Reads a JSON request body of at most 1 MiB; malformed JSON is a one-line BAD_INPUT error. */
export async function readJson(request: IncomingMessage): Promise<unknown> {
  const body = await readBody(request, 1 << 20);
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw new ZgError("request: the body is not valid JSON", "BAD_INPUT");
  }
}

/**
 * Calls a JSON HTTP API (an oracle, a provider, an OpenAI-compatible engine). `label` names the server in errors:
 * unreachable, or an answer that is not JSON, is a NETWORK error; an error status carries the server's message
 * (`{"error": {"message"}}`, else the start of the body), as BAD_INPUT for 4xx and NETWORK for 5xx.
 */
export async function requestJson(
  url: string,
  init: RequestInit,
  options: { label: string; timeoutMs: number },
): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(options.timeoutMs) });
  } catch (error) {
    throw new ZgError(`cannot reach ${options.label}: ${(error as Error).message}`, "NETWORK");
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const message =
      (body as { error?: { message?: string } } | undefined)?.error?.message ?? text.slice(0, 200);
    throw new ZgError(
      `${options.label} answered HTTP ${response.status}: ${message}`,
      response.status < 500 ? "BAD_INPUT" : "NETWORK",
    );
  }
  if (body === undefined)
    throw new ZgError(`${options.label} answered HTTP ${response.status} without JSON`, "NETWORK");
  return body;
}

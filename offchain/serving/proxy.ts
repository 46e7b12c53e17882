import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { timingSafeEqual } from "node:crypto";
import { firstLine, ZgError } from "../core/errors";
import { BodyTooLargeError, header, readJson, refuseBody, sendError, sendJson } from "../core/http";
import { chatRequest } from "../engine/engines";
import { ResponseRejected, type InferenceSession, type StreamChunk } from "./inference";

/** The proxy listens on the loopback interface only: it spends its user's coin for whoever reaches it. */
export const PROXY_HOST = "127.0.0.1";
export const DEFAULT_PROXY_PORT = 8600;

export interface ProxyOptions {
  /** The port on 127.0.0.1 (0: any free port). */
  port?: number;
  /** When set, every request must carry `Authorization: Bearer <token>` (a stock client's apiKey). */
  token?: string;
  /** Told about each request served or refused (one line). */
  log?: (line: string) => void;
}

export interface RunningProxy {
  /** `http://127.0.0.1:<port>`; OpenAI clients take `<url>/v1` as their base URL. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** An OpenAI-style error answer. */
class ProxyError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
  ) {
    super(message);
  }
}

/**
 * Starts `zg proxy`: a local OpenAI-compatible endpoint for one provider. Each chat request is signed with the
 * session's key, sent to the provider's oracle, and its response verified exactly as `zg infer` verifies it
 * (InferenceSession) before it is passed on and acknowledged with a voucher; a response that fails is refused with
 * HTTP 502 (or, once a stream has started, an error event instead of its final chunk). Streams relay content chunks
 * as they come and hold the final chunk and `[DONE]` until the receipt verified against the content relayed.
 * Requests are served one at a time (each takes the account's next number).
 */
export async function startProxy(
  session: InferenceSession,
  options: ProxyOptions = {},
): Promise<RunningProxy> {
  const log = options.log ?? (() => undefined);
  const token = options.token === undefined ? undefined : Buffer.from(options.token);
  let port = options.port ?? DEFAULT_PROXY_PORT;
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work);
    queue = run.catch(() => undefined);
    return run;
  };

  const fail = (response: ServerResponse, error: unknown) => {
    const { status, type, message } = describe(error);
    log(`refused (${status}): ${message}`);
    if (!response.headersSent) {
      if (error instanceof BodyTooLargeError) refuseBody(response);
      sendError(response, status, message, type);
    } else if (!response.writableEnded) {
      // A stream already started: it ends with an error event (a stock client throws it) and no [DONE].
      response.end(`data: ${JSON.stringify({ error: { message, type, code: status } })}\n\n`);
    }
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const route = (request.url ?? "/").split("?")[0].replace(/\/+$/, "");
    const method = request.method ?? "GET";
    checkCaller(request, port, token);
    if (method === "GET" && route === "/v1/models") {
      const service = session.registered;
      sendJson(response, 200, {
        object: "list",
        data: [
          {
            id: service.model,
            object: "model",
            created: 0,
            owned_by: service.provider,
            model_hash: service.modelHash,
            deterministic: service.deterministic,
            input_price: service.inputPrice.toString(),
            output_price: service.outputPrice.toString(),
          },
        ],
      });
      return;
    }
    if (method === "POST" && route === "/v1/chat/completions") {
      // Browsers send a JSON body cross-site only after a CORS preflight, which this server never grants.
      if (!(header(request, "content-type") ?? "").toLowerCase().startsWith("application/json")) {
        throw new ProxyError(415, "send the request as application/json", "invalid_request_error");
      }
      const raw = await readJson(request);
      const { request: canonical, stream } = chatRequest(raw, session.registered.model);
      if (!stream) {
        const { result, body } = await serially(() => session.send(canonical));
        log(`answered request ${result.receipt.seq}: fee ${result.fee} wei, verified and acknowledged`);
        sendJson(response, 200, body);
        return;
      }
      const includeUsage =
        (raw as { stream_options?: { include_usage?: unknown } }).stream_options?.include_usage === true;
      const write = (chunk: unknown) => {
        if (!response.headersSent) {
          response.writeHead(200, {
            "content-type": "text/event-stream; charset=utf-8",
            "cache-control": "no-cache",
          });
        }
        if (!response.writableEnded && !response.destroyed)
          response.write(`data: ${JSON.stringify(chunk)}\n\n`);
      };
      const { result, final, usage } = await serially(() =>
        session.stream(canonical, (chunk: StreamChunk) => write(chunk)),
      );
      write(final);
      if (includeUsage) write({ ...usage, zg_receipt: result.receipt });
      if (!response.writableEnded) response.end("data: [DONE]\n\n");
      log(`streamed request ${result.receipt.seq}: fee ${result.fee} wei, verified and acknowledged`);
      return;
    }
    throw new ProxyError(
      404,
      `${method} ${route || "/"} is not served here: GET /v1/models, POST /v1/chat/completions`,
      "invalid_request_error",
    );
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => fail(response, error));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new ZgError(
          error.code === "EADDRINUSE"
            ? `port ${port} on ${PROXY_HOST} is already in use: choose another with --port`
            : `cannot listen on ${PROXY_HOST}:${port}: ${error.message}`,
          "BAD_INPUT",
        ),
      ),
    );
    server.listen(port, PROXY_HOST, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://${PROXY_HOST}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Who may call: a request naming this machine's loopback as its host (a page served from elsewhere that rebinds
 * its name to 127.0.0.1 names its own host), from no other web origin, with the token when one is set.
 */
function checkCaller(request: IncomingMessage, port: number, token: Buffer | undefined): void {
  const local = [`127.0.0.1:${port}`, `localhost:${port}`];
  const host = (header(request, "host") ?? "").toLowerCase();
  if (!local.includes(host)) {
    throw new ProxyError(403, `host '${host}' is not this proxy (${local[0]})`, "permission_error");
  }
  const origin = header(request, "origin");
  if (origin !== undefined && !local.map((h) => `http://${h}`).includes(origin.toLowerCase())) {
    throw new ProxyError(403, `requests from web origin ${origin} are refused`, "permission_error");
  }
  if (token === undefined) return;
  const given = Buffer.from(/^Bearer (.+)$/i.exec(header(request, "authorization") ?? "")?.[1] ?? "");
  if (given.length !== token.length || !timingSafeEqual(given, token)) {
    throw new ProxyError(
      401,
      "this proxy needs its token: send Authorization: Bearer <token> (an OpenAI client's apiKey)",
      "authentication_error",
    );
  }
}

/** The status, type and one-line message of a failure, as an OpenAI-style error. */
function describe(error: unknown): { status: number; type: string; message: string } {
  if (error instanceof ProxyError) return { status: error.status, type: error.type, message: error.message };
  if (error instanceof BodyTooLargeError) {
    return { status: 413, type: "invalid_request_error", message: firstLine(error) };
  }
  if (error instanceof ResponseRejected) {
    return { status: 502, type: "zg_verification_failed", message: `zg proxy: ${firstLine(error)}` };
  }
  if (error instanceof ZgError && error.code === "BAD_INPUT") {
    return { status: 400, type: "invalid_request_error", message: firstLine(error) };
  }
  return { status: 502, type: "server_error", message: `zg proxy: ${firstLine(error)}` };
}

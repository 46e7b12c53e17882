import { createServer, type RequestListener, type Server } from "node:http";
import { isIPv6, type Socket } from "node:net";
import { z } from "zod";

/**
 * What one worker's HTTP server allows each client and all of them together (`limits` in a worker config).
 * The defaults let an honest heavy client on loopback through (the devnet's CLI and demo, an SDK upload of a
 * few hundred segments at once) while a single abusive client cannot hold the server.
 */
export const limitsSchema = z
  .object({
    /** The most time a client may take to send a request's headers (Node's default: 60 s). */
    headersTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
    /** The most time a client may take to send a whole request, body included (Node's default: 300 s). */
    requestTimeoutMs: z.number().int().min(100).max(3_600_000).default(120_000),
    /** How long an idle keep-alive connection is kept open between requests. */
    keepAliveTimeoutMs: z.number().int().min(100).max(600_000).default(5_000),
    /** Open connections the server accepts in all; beyond it a new connection is closed unanswered. */
    maxConnections: z.number().int().min(1).max(1_000_000).default(1024),
    /** Open connections one client (IPv4 address or IPv6 /64) may hold; beyond it its new ones are closed. */
    maxConnectionsPerClient: z.number().int().min(1).max(1_000_000).default(256),
    /**
     * Each client's token bucket: `burst` requests at once, refilled at `perSecond`. A JSON-RPC batch costs one
     * token per call. /health and /metrics draw on a second bucket of the same size, so monitoring is never
     * starved by a client's API use (and flooding them is limited as well).
     */
    rate: z
      .object({
        perSecond: z.number().positive().max(1_000_000).default(200),
        burst: z.number().int().min(1).max(10_000_000).default(2000),
      })
      .strict()
      .default({}),
    /**
     * How long a request refused by the rate limit waits for its answer (at most the wait the answer names), its
     * connection read no further meanwhile: a flooding client then idles instead of taking the machine from
     * honest ones. 0 answers at once.
     */
    refusalHoldMs: z.number().int().min(0).max(60_000).default(1000),
    /** The most calls one JSON-RPC batch may hold; a longer batch gets one error and runs nothing. */
    maxBatchCalls: z.number().int().min(1).max(100_000).default(100),
    /** How many calls of one JSON-RPC batch run at once. */
    batchConcurrency: z.number().int().min(1).max(1024).default(4),
  })
  .strict()
  .superRefine((limits, context) => {
    if (limits.headersTimeoutMs > limits.requestTimeoutMs)
      context.addIssue({
        code: "custom",
        path: ["headersTimeoutMs"],
        message: `must be at most limits.requestTimeoutMs (${limits.requestTimeoutMs})`,
      });
    if (limits.maxBatchCalls > limits.rate.burst)
      context.addIssue({
        code: "custom",
        path: ["maxBatchCalls"],
        message: `must be at most limits.rate.burst (${limits.rate.burst}): a batch costs one token per call`,
      });
  });
export type Limits = z.output<typeof limitsSchema>;
export type RateLimit = Limits["rate"];

/** The limits a worker runs with when its config says nothing (for benches and docs). */
export const DEFAULT_LIMITS: Readonly<Limits> = limitsSchema.parse({});

/** The most buckets a limiter keeps; past it, full ones are dropped first, then the oldest. */
const MAX_BUCKETS = 100_000;

/** Per-key token buckets: `burst` tokens at most, refilled continuously at `perSecond`. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly rate: RateLimit,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Takes `cost` tokens from `key`'s bucket. Returns 0 when they were taken, else the milliseconds until the
   * bucket will hold them (Infinity for a cost over the burst); a refused take takes nothing.
   */
  take(key: string, cost = 1): number {
    const { perSecond, burst } = this.rate;
    if (cost > burst) return Infinity;
    const now = this.now();
    const tokens = this.tokens(key, now);
    if (tokens < cost) return Math.max(1, Math.ceil(((cost - tokens) * 1000) / perSecond));
    this.buckets.delete(key);
    this.buckets.set(key, { tokens: tokens - cost, at: now });
    if (this.buckets.size > MAX_BUCKETS) this.prune(now);
    return 0;
  }

  /** How many keys have a bucket (idle ones are dropped only past MAX_BUCKETS). */
  get size(): number {
    return this.buckets.size;
  }

  private tokens(key: string, now: number): number {
    const bucket = this.buckets.get(key);
    if (!bucket) return this.rate.burst;
    return Math.min(
      this.rate.burst,
      bucket.tokens + (Math.max(0, now - bucket.at) * this.rate.perSecond) / 1000,
    );
  }

  private prune(now: number): void {
    for (const key of this.buckets.keys())
      if (this.tokens(key, now) >= this.rate.burst) this.buckets.delete(key);
    // Still too many live clients: forget the least recently seen (they start again with a full bucket).
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= MAX_BUCKETS * 0.9) break;
      this.buckets.delete(key);
    }
  }
}

/**
 * Who a connection belongs to, for per-client limits: its IPv4 address, or the /64 prefix of its IPv6 address
 * (one host usually holds a whole /64).
 */
export function clientAddress(socket: Socket): string {
  const address = socket.remoteAddress ?? "unknown";
  if (!isIPv6(address)) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1];
  const [head, tail] = address.split("%")[0].split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => parseInt(group, 16).toString(16))
    .join(":")}::/64`;
}

export interface LimitedServerOptions {
  /** The key of per-client limits (default: `clientAddress`). */
  clientKey?: (socket: Socket) => string;
  /** Told of every connection closed at accept: over `maxConnections`, or over `maxConnectionsPerClient`. */
  onRefused?: (reason: "max_connections" | "max_connections_per_client", client: string) => void;
}

/** An HTTP server that a connection's client key is known on, for the request handler's per-client limits. */
export interface LimitedServer {
  server: Server;
  /** The client key of a request's connection. */
  clientOf(socket: Socket): string;
  /** Open connections now, by all clients. */
  openConnections(): number;
}

/**
 * An HTTP server with the connection-level limits: header, request and keep-alive timeouts, a cap on open
 * connections in all (Node's `maxConnections`: a connection over it is destroyed at accept) and one per client.
 * Request rates are the handler's to limit (it knows which routes are which).
 */
export function createLimitedServer(
  limits: Limits,
  handler: RequestListener,
  options: LimitedServerOptions = {},
): LimitedServer {
  const keyOf = options.clientKey ?? clientAddress;
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // Node checks both timeouts on this interval (default 30 s): a few checks per timeout keep them close.
      connectionsCheckingInterval: Math.min(
        1000,
        Math.max(50, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4)),
      ),
    },
    handler,
  );
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
  const clients = new WeakMap<Socket, string>();
  const open = new Map<string, number>();
  let total = 0;
  server.on("drop", (data?: { remoteAddress?: string }) =>
    options.onRefused?.("max_connections", data?.remoteAddress ?? "unknown"),
  );
  server.on("connection", (socket: Socket) => {
    const client = keyOf(socket);
    const count = (open.get(client) ?? 0) + 1;
    if (count > limits.maxConnectionsPerClient) {
      options.onRefused?.("max_connections_per_client", client);
      socket.destroy();
      return;
    }
    clients.set(socket, client);
    open.set(client, count);
    total += 1;
    socket.once("close", () => {
      total -= 1;
      const left = (open.get(client) ?? 1) - 1;
      if (left > 0) open.set(client, left);
      else open.delete(client);
    });
  });
  return {
    server,
    clientOf: (socket) => clients.get(socket) ?? keyOf(socket),
    openConnections: () => total,
  };
}

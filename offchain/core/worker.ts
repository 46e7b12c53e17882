import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import path from "node:path";
import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import { encodeBytes32String, ZeroAddress } from "ethers";
import { z, type ZodTypeAny } from "zod";
import { ZgChain } from "./chain";
import { chainConfigSchema, chainConfigFromEnv, resolveChainConfig, validate } from "./config";
import { readDeployment } from "./deployments";
import { firstLine, ZgError } from "./errors";
import { createLogger, type Logger, type LogLevel } from "./log";
import { hasBody, refuseBody, sendJson, sendTooManyRequests } from "./http";
import { sendJsonRpcLimit, serveJsonRpc, type JsonRpcMethods } from "./jsonrpc";
import { createLimitedServer, limitsSchema, RateLimiter, type Limits } from "./limits";
import { DurableStore } from "./store";

/** The fields every worker's config file has, on top of the chain connection. */
export const workerConfigSchema = chainConfigSchema
  .extend({
    dataDir: z.string().min(1),
    http: z
      .object({
        host: z.string().min(1).default("127.0.0.1"),
        port: z.number().int().min(0).max(65535),
      })
      .strict(),
    confirmations: z.number().int().min(0).max(1000).default(2),
    pollIntervalMs: z.number().int().min(50).max(600_000).default(1000),
    startBlock: z.number().int().min(0).optional(),
    logLevel: z.enum(["debug", "info", "warn", "error"]).default("info"),
    /** The HTTP server's timeouts, connection caps, per-client rate and JSON-RPC batch limits. */
    limits: limitsSchema.default({}),
  })
  .strict();
export type WorkerConfig = z.output<typeof workerConfigSchema>;

/** What a worker gets from the base: its config, chain connection, durable store, logger and metrics. */
export interface WorkerRuntime<C extends WorkerConfig> {
  config: C;
  chain: ZgChain;
  store: DurableStore;
  log: Logger;
  metrics: Registry;
  /** Where chain readers start when the store has no cursor: the config's, else the deployment's block. */
  startBlock: number;
}

/** A started worker: what it reports on /health, its JSON-RPC methods if any, and how it stops. */
export interface RunningWorker {
  health(): Record<string, unknown>;
  /** Served as JSON-RPC 2.0 on `POST /`. */
  rpc?: JsonRpcMethods;
  /** The largest JSON-RPC request body accepted (default 1 MiB). */
  maxRequestBytes?: number;
  /**
   * Serves HTTP routes of the worker's own (an HTTP API); returns false for a route it does not serve. Every
   * request has paid one rate token; `charge(units)` takes that many more from its client for a request that
   * does the work of several (false when the client is over its rate: the refusal is then answered).
   */
  http?: (
    request: IncomingMessage,
    response: ServerResponse,
    route: string,
    charge: (units: number) => boolean,
  ) => boolean;
  stop(): Promise<void>;
}

/**
 * A typed slot through which one service of a worker offers something to the services started after it (the
 * inference service offers paid chat to the iNFT sealed executor). The type lives with whoever defines the key,
 * never in the module that offers or the one that uses it.
 */
export class Capability<T> {
  declare private readonly type: T;
  constructor(readonly name: string) {}
}

/** The capabilities the services of one worker offer each other. */
export class Capabilities {
  private readonly offered = new Map<string, unknown>();

  offer<T>(key: Capability<T>, value: T): void {
    if (this.offered.has(key.name))
      throw new ZgError(`capability ${key.name} is offered twice`, "BAD_CONFIG");
    this.offered.set(key.name, value);
  }

  find<T>(key: Capability<T>): T | undefined {
    return this.offered.get(key.name) as T | undefined;
  }
}

/**
 * One module's part of a worker (`zg node <kind>`): the config fields it adds and how it starts. A worker runs the
 * services of every deployed module that declares its kind, in module order, in one process with one store, one
 * HTTP server and one key.
 */
export interface WorkerService<F extends z.ZodRawShape = z.ZodRawShape> {
  /** The config fields this service reads, added to `workerConfigSchema` (shared fields must be the same schema). */
  config: F;
  /** Whether the service signs transactions or messages. */
  requireKey: boolean;
  /** The registry name of the contract whose presence means the service runs (absent: it is not started). */
  needs: string;
  start(
    runtime: WorkerRuntime<WorkerConfig & z.output<z.ZodObject<F>>>,
    capabilities: Capabilities,
  ): Promise<RunningWorker>;
}

/**
 * The worker of `kind` that runs `services` together: their config fields form one schema, each starts only when
 * its contract is registered, and their routes, JSON-RPC methods and health are served by one server.
 */
export function composeWorker(kind: string, services: WorkerService[]): WorkerDefinition<ZodTypeAny> {
  const shape: z.ZodRawShape = {};
  for (const service of services) {
    for (const [field, schema] of Object.entries(service.config)) {
      if (shape[field] !== undefined && shape[field] !== schema)
        throw new ZgError(
          `worker ${kind}: two services define config field '${field}' differently`,
          "BAD_CONFIG",
        );
      shape[field] = schema;
    }
  }
  return {
    kind,
    schema: workerConfigSchema.extend(shape).strict(),
    requireKey: services.some((service) => service.requireKey),
    async start(runtime) {
      const capabilities = new Capabilities();
      const running: RunningWorker[] = [];
      try {
        for (const service of services) {
          if ((await runtime.chain.registry.tryGetModule(encodeBytes32String(service.needs))) === ZeroAddress)
            continue;
          running.push(await service.start(runtime, capabilities));
        }
      } catch (error) {
        for (const started of running.reverse()) await started.stop();
        throw error;
      }
      if (running.length === 0)
        throw new ZgError(
          `module ${services.map((s) => s.needs).join(" or ")} is not deployed on chain ${runtime.chain.chainId}: a '${kind}' worker has nothing to run`,
          "MODULE_ABSENT",
        );
      const rpcs = running.filter((worker) => worker.rpc);
      return {
        health: () =>
          Object.assign({}, ...running.map((worker) => worker.health())) as Record<string, unknown>,
        rpc: rpcs.length === 0 ? undefined : Object.assign({}, ...rpcs.map((worker) => worker.rpc)),
        maxRequestBytes: Math.max(...running.map((worker) => worker.maxRequestBytes ?? 0)) || undefined,
        http: (request, response, route, charge) =>
          running.some((worker) => worker.http?.(request, response, route, charge) ?? false),
        stop: async () => {
          for (const worker of [...running].reverse()) await worker.stop();
        },
      };
    },
  };
}

export interface WorkerDefinition<S extends ZodTypeAny> {
  /** The name used by `zg node <kind>`. */
  kind: string;
  /** The worker's whole config schema (extending `workerConfigSchema`). */
  schema: S;
  /** Whether the worker signs transactions. */
  requireKey: boolean;
  start(runtime: WorkerRuntime<z.output<S>>): Promise<RunningWorker>;
}

/** A worker running in this process, as `startWorker` returns it. */
export interface WorkerHandle {
  kind: string;
  /** The base URL of /health and /metrics. */
  url: string;
  log: Logger;
  stop(): Promise<void>;
}

/**
 * Validates the config, opens the data directory, connects to the chain, starts the worker and serves
 * /health and /metrics. Relative paths in the config are relative to `configDir`.
 */
export async function startWorker<S extends ZodTypeAny>(
  definition: WorkerDefinition<S>,
  rawConfig: Record<string, unknown>,
  options: {
    configDir?: string;
    source?: string;
    write?: (line: string) => void;
    /** The key of per-client limits (default: the remote IPv4 address or IPv6 /64). */
    clientKey?: (socket: Socket) => string;
  } = {},
): Promise<WorkerHandle> {
  const { __dir, ...fields } = rawConfig;
  const configDir = options.configDir ?? (typeof __dir === "string" ? __dir : process.cwd());
  const config = validate(definition.schema, fields, options.source ?? "config") as z.output<S> &
    WorkerConfig;
  config.dataDir = path.resolve(configDir, config.dataDir);
  const log = createLogger({
    level: config.logLevel as LogLevel,
    fields: { worker: definition.kind },
    write: options.write,
  });

  const chainConfig = resolveChainConfig({
    file: { ...pickChain(config), __dir: configDir },
    env: chainConfigFromEnv(),
  });
  const chain = await ZgChain.connect(chainConfig, { requireKey: definition.requireKey });
  const store = await DurableStore.open(config.dataDir);
  let running: RunningWorker | undefined;
  let server: Server | undefined;
  try {
    await checkChainIdentity(store, chain.chainId, config.dataDir);
    const metrics = new Registry();
    metrics.setDefaultLabels({ worker: definition.kind });
    collectDefaultMetrics({ register: metrics, prefix: "zg_" });
    const startBlock = config.startBlock ?? readDeployment(chain.chainId)?.startBlock ?? 0;
    running = await definition.start({ config, chain, store, log, metrics, startBlock });
    server = serveWorker(definition.kind, running, { chain, log, metrics, limits: config.limits }, options);
    await listen(server, config.http.host, config.http.port);
  } catch (error) {
    await running?.stop();
    server?.close();
    await store.close();
    chain.destroy();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const url = `http://${config.http.host}:${address.port}`;
  log.info("worker started", {
    url,
    chainId: chain.chainId,
    dataDir: config.dataDir,
    address: chain.address,
  });

  let stopping: Promise<void> | undefined;
  const httpServer = server;
  const worker = running;
  return {
    kind: definition.kind,
    url,
    log,
    stop: () =>
      (stopping ??= (async () => {
        log.info("worker stopping");
        await new Promise<void>((resolve) => {
          httpServer.close(() => resolve());
          httpServer.closeAllConnections();
        });
        await worker.stop();
        await store.close();
        chain.destroy();
        log.info("worker stopped");
      })()),
  };
}

/**
 * The one HTTP server of a worker: its routes, its JSON-RPC on `POST /`, `/health` and `/metrics`, behind the
 * configured limits. Each client has two token buckets: one for monitoring (`GET /health`, `GET /metrics`), one
 * for everything else, so heavy API use never starves its monitoring. Refusals are counted in
 * `zg_http_refused_total{reason}` and logged at most once a minute.
 */
function serveWorker(
  kind: string,
  worker: RunningWorker,
  context: { chain: ZgChain; log: Logger; metrics: Registry; limits: Limits },
  options: { clientKey?: (socket: Socket) => string },
): Server {
  const { chain, log, metrics, limits } = context;
  const startedAt = Date.now();
  const refusals = new Counter({
    name: "zg_http_refused_total",
    help: "Connections and requests refused by the server's limits, by reason",
    labelNames: ["reason"],
    registers: [metrics],
  });
  const warnRefusal = throttled(60_000, (reason: string, client: string) =>
    log.warn("refusing a client over the server's limits (further refusals: zg_http_refused_total)", {
      reason,
      client,
    }),
  );
  const refuse = (reason: string, client: string) => {
    refusals.inc({ reason });
    warnRefusal(reason, client);
  };
  const apiRate = new RateLimiter(limits.rate);
  const monitoringRate = new RateLimiter(limits.rate);
  /**
   * Answers a request refused by the rate limit only after `limits.refusalHoldMs` (at most the wait it names),
   * reading nothing more from its connection meanwhile. A client that waits for its answers, as every HTTP client
   * does, thus gets at most one refusal per connection per hold instead of thousands a second, and spends the
   * hold idle instead of competing with honest clients for the machine; it is told Retry-After of at least
   * 1 s, so it would wait that long in any case. A refused body is not read: its connection closes after the
   * answer. Held connections are bounded by the connection caps.
   */
  const holdRefusal = (
    request: IncomingMessage,
    response: ServerResponse,
    waitMs: number,
    answer: (response: ServerResponse, waitMs: number) => void,
  ) => {
    if (hasBody(request)) refuseBody(response);
    const holdMs = Math.min(limits.refusalHoldMs, waitMs);
    if (holdMs <= 0) return answer(response, waitMs);
    request.socket.pause();
    const timer = setTimeout(() => {
      request.socket.resume();
      answer(response, waitMs);
    }, holdMs);
    request.socket.once("close", () => clearTimeout(timer));
  };
  const limited = createLimitedServer(
    limits,
    (request, response) => {
      const route = (request.url ?? "/").split("?")[0];
      const client = limited.clientOf(request.socket);
      const monitoring = request.method === "GET" && (route === "/health" || route === "/metrics");
      const jsonRpc = request.method === "POST" && route === "/" && worker.rpc !== undefined;
      const wait = (monitoring ? monitoringRate : apiRate).take(client);
      if (wait > 0) {
        refuse("rate", client);
        holdRefusal(request, response, wait, jsonRpc ? sendJsonRpcLimit : sendTooManyRequests);
        return;
      }
      const charge = (units: number) => {
        const extraWait = units > 0 ? apiRate.take(client, units) : 0;
        if (extraWait === 0) return true;
        refuse("rate", client);
        holdRefusal(request, response, extraWait, sendTooManyRequests);
        return false;
      };
      if (worker.http?.(request, response, route, charge)) return;
      if (jsonRpc && worker.rpc) {
        serveJsonRpc(worker.rpc, request, response, {
          maxBodyBytes: worker.maxRequestBytes ?? 1 << 20,
          log,
          maxBatchCalls: limits.maxBatchCalls,
          batchConcurrency: limits.batchConcurrency,
          // The request paid one token; a batch pays one per call.
          chargeBatch: (calls, answer) => {
            const batchWait = apiRate.take(client, calls - 1);
            if (batchWait === 0) return true;
            refuse("rate", client);
            holdRefusal(request, answer, batchWait, sendJsonRpcLimit);
            return false;
          },
          // A body too large costs what the largest batch would: a client that sends them over and over is soon
          // over its rate (and then held).
          onRefusedBody: () => apiRate.take(client, Math.min(limits.maxBatchCalls, limits.rate.burst) - 1),
        });
      } else if (route !== "/health" && route !== "/metrics") {
        if (hasBody(request)) refuseBody(response);
        response.writeHead(404, { "content-type": "application/json" }).end('{"error":"not found"}');
      } else if (request.method !== "GET") {
        if (hasBody(request)) refuseBody(response);
        response.writeHead(405, { "content-type": "application/json" }).end('{"error":"method not allowed"}');
      } else if (route === "/health") {
        const body = {
          status: "ok",
          kind,
          chainId: chain.chainId,
          address: chain.address ?? null,
          uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
          ...worker.health(),
        };
        sendJson(response, 200, body);
      } else {
        metrics.metrics().then(
          (text) => response.writeHead(200, { "content-type": metrics.contentType }).end(text),
          (error: unknown) => response.writeHead(500).end(firstLine(error)),
        );
      }
    },
    { clientKey: options.clientKey, onRefused: refuse },
  );
  new Gauge({
    name: "zg_http_open_connections",
    help: "Open connections to the worker's HTTP server",
    registers: [metrics],
    collect() {
      this.set(limited.openConnections());
    },
  });
  return limited.server;
}

/** Runs a worker until SIGINT or SIGTERM, then stops it gracefully (the CLI's `zg node <kind>`). */
export async function runWorkerProcess<S extends ZodTypeAny>(
  definition: WorkerDefinition<S>,
  rawConfig: Record<string, unknown>,
  source: string,
): Promise<void> {
  const handle = await startWorker(definition, rawConfig, { source });
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      handle.log.info("signal received", { signal });
      handle.stop().then(resolve, (error: unknown) => {
        handle.log.error("unclean stop", { error: firstLine(error) });
        process.exitCode = 1;
        resolve();
      });
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  });
}

/** A data directory belongs to one chain: refuse to mix state from two. */
async function checkChainIdentity(store: DurableStore, chainId: number, dataDir: string): Promise<void> {
  const recorded = await store.get<number>("meta/chainId");
  if (recorded === undefined) {
    await store.put("meta/chainId", chainId);
  } else if (recorded !== chainId) {
    throw new ZgError(
      `data directory ${dataDir} holds state of chain ${recorded}, not of chain ${chainId}`,
      "BAD_CONFIG",
    );
  }
}

function pickChain(config: WorkerConfig): Record<string, unknown> {
  const keys = Object.keys(chainConfigSchema.shape);
  return Object.fromEntries(
    Object.entries(config).filter(([key, value]) => keys.includes(key) && value !== undefined),
  );
}

/** `action`, at most once per `intervalMs` (a flood of refusals is one log line a minute, and a metric). */
function throttled<A extends unknown[]>(
  intervalMs: number,
  action: (...args: A) => void,
): (...args: A) => void {
  let last = -Infinity;
  return (...args) => {
    const now = Date.now();
    if (now - last < intervalMs) return;
    last = now;
    action(...args);
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new ZgError(
          error.code === "EADDRINUSE"
            ? `port ${port} on ${host} is already in use`
            : `cannot listen on ${host}:${port}: ${error.message}`,
          "BAD_CONFIG",
        ),
      ),
    );
    server.listen(port, host, () => resolve());
  });
}

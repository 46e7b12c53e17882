import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { connect, type Socket } from "node:net";
import { expect } from "chai";
import { validate } from "../../offchain/core/config";
import type { DeploymentRecord } from "../../offchain/core/deployments";
import { clientAddress, DEFAULT_LIMITS, RateLimiter } from "../../offchain/core/limits";
import {
  startWorker,
  workerConfigSchema,
  type WorkerDefinition,
  type WorkerHandle,
} from "../../offchain/core/worker";
import { deployForTest, startRpc, tempDir, type TestRpc } from "../helpers/chain";

const quiet = () => undefined;

/** A worker of the base alone: one plain HTTP route (`GET /hello`) and one JSON-RPC method (`ping`). */
const probe: WorkerDefinition<typeof workerConfigSchema> = {
  kind: "probe",
  schema: workerConfigSchema,
  requireKey: false,
  async start() {
    return {
      health: () => ({ probe: true }),
      rpc: { ping: async () => "pong" },
      http: (request, response, route) => {
        if (request.method !== "GET" || route !== "/hello") return false;
        response.writeHead(200, { "content-type": "text/plain" }).end("hi");
        return true;
      },
      stop: async () => undefined,
    };
  },
};

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request on a fresh connection (no pooling), optionally from another loopback address. */
function send(
  url: string,
  options: { method?: string; path?: string; body?: string; localAddress?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      `${url}${options.path ?? "/hello"}`,
      {
        method: options.method ?? "GET",
        agent: false,
        localAddress: options.localAddress,
        headers: options.body === undefined ? {} : { "content-type": "application/json" },
      },
      (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (body += chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
        );
      },
    );
    request.on("error", reject);
    request.end(options.body);
  });
}

const rpcCall = (url: string, body: unknown, localAddress?: string) =>
  send(url, { method: "POST", path: "/", body: JSON.stringify(body), localAddress });

/** A raw TCP connection: what it received, and when (ms after it opened) the server closed it. */
interface Raw {
  socket: Socket;
  received(): string;
  closed: Promise<number>;
}

function openRaw(url: string, localAddress?: string): Promise<Raw> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const openedAt = Date.now();
    const socket = connect({ host: hostname, port: Number(port), localAddress });
    let received = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (received += chunk));
    socket.on("error", () => undefined);
    const closed = new Promise<number>((done) => socket.on("close", () => done(Date.now() - openedAt)));
    socket.once("connect", () => resolve({ socket, received: () => received, closed }));
    socket.once("error", reject);
  });
}

/** Resolves with the value, or with "pending" when `ms` pass first. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | "pending"> {
  return Promise.race([
    promise,
    new Promise<"pending">((resolve) => setTimeout(() => resolve("pending"), ms)),
  ]);
}

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}

const GET_HELLO = "GET /hello HTTP/1.1\r\nHost: probe\r\n\r\n";

/** How many complete answers to GET_HELLO a raw connection received (keep-alive answers are chunked). */
const answered = (connection: Raw) => connection.received().split("\r\n2\r\nhi\r\n0\r\n\r\n").length - 1;

describe("worker server limits", function () {
  this.timeout(60_000);
  let rpc: TestRpc;
  let record: DeploymentRecord;
  let secondAddress: string | undefined;
  const handles: WorkerHandle[] = [];
  const raws: Raw[] = [];

  before(async () => {
    rpc = await startRpc();
    record = await deployForTest("storage-only");
    // All of 127.0.0.0/8 is loopback on Linux: a second client address, where the kernel lets us bind it.
    secondAddress = await openRaw(rpc.url, "127.0.0.2").then(
      (raw) => {
        raw.socket.destroy();
        return "127.0.0.2";
      },
      () => undefined,
    );
  });
  after(async () => {
    await rpc.close();
  });
  afterEach(async () => {
    for (const raw of raws.splice(0)) raw.socket.destroy();
    await Promise.all(handles.splice(0).map((handle) => handle.stop()));
  });

  async function start(
    limits: Record<string, unknown>,
    clientKey?: (socket: Socket) => string,
  ): Promise<WorkerHandle> {
    const handle = await startWorker(
      probe,
      {
        rpcUrl: rpc.url,
        registry: record.registry,
        dataDir: tempDir("probe"),
        http: { host: "127.0.0.1", port: 0 },
        limits,
      },
      { write: quiet, clientKey },
    );
    handles.push(handle);
    return handle;
  }

  async function raw(url: string, localAddress?: string): Promise<Raw> {
    const connection = await openRaw(url, localAddress);
    raws.push(connection);
    return connection;
  }

  describe("timeouts", () => {
    it("slowloris: unfinished headers and a half-sent body are cut off; an honest request is served meanwhile", async () => {
      const { url } = await start({ headersTimeoutMs: 500, requestTimeoutMs: 1000 });
      const headers = await raw(url);
      headers.socket.write("GET /hello HTTP/1.1\r\nHost: probe\r\n");
      const body = await raw(url);
      body.socket.write(
        'POST / HTTP/1.1\r\nHost: probe\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"',
      );
      // Trickle a byte now and then, as a slowloris does to look alive.
      let n = 0;
      const trickle = setInterval(() => {
        headers.socket.write(`X-${n}: y\r\n`);
        body.socket.write(" ");
        n += 1;
      }, 100);
      try {
        expect((await send(url)).body).to.equal("hi");
        const headersCut = await within(headers.closed, 3000);
        const bodyCut = await within(body.closed, 3000);
        expect(headersCut, "unfinished headers still open").to.be.a("number");
        expect(bodyCut, "half-sent body still open").to.be.a("number");
        expect(headersCut as number).to.be.within(400, 2000);
        expect(bodyCut as number).to.be.within(900, 2500);
        expect(headers.received()).to.match(/^HTTP\/1\.1 408/);
        expect(body.received()).to.match(/^HTTP\/1\.1 408/);
      } finally {
        clearInterval(trickle);
      }
      expect((await send(url)).body).to.equal("hi");
    });

    it("an idle keep-alive connection is closed after keepAliveTimeoutMs (plus Node's 1 s margin)", async () => {
      const { url } = await start({ keepAliveTimeoutMs: 300 });
      const connection = await raw(url);
      connection.socket.write(GET_HELLO);
      expect(await waitFor(() => answered(connection) === 1, 2000)).to.equal(true);
      // Node keeps a socket 1 s past the Keep-Alive timeout it announces, so that the client closes first.
      expect(await within(connection.closed, 3000)).to.be.within(250, 2500);
    });
  });

  describe("connection caps", () => {
    it("beyond maxConnections a new connection is closed unanswered; existing ones are served", async () => {
      const { url } = await start({ maxConnections: 3, keepAliveTimeoutMs: 20_000 });
      const open = [await raw(url), await raw(url), await raw(url)];
      for (const connection of open) connection.socket.write(GET_HELLO);
      expect(await waitFor(() => open.every((c) => answered(c) === 1), 2000)).to.equal(true);

      const refused = await raw(url);
      refused.socket.write(GET_HELLO);
      expect(await within(refused.closed, 2000)).to.be.a("number");
      expect(refused.received()).to.equal("");

      // The connections already open are still served.
      for (const connection of open) connection.socket.write(GET_HELLO);
      expect(await waitFor(() => open.every((c) => answered(c) === 2), 2000)).to.equal(true);
      // A freed slot is usable again.
      open[0].socket.destroy();
      await open[0].closed;
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect((await send(url)).body).to.equal("hi");
    });

    it("beyond maxConnectionsPerClient one client's new connection is closed, another client's is served", async function () {
      if (!secondAddress) this.skip();
      const { url } = await start({
        maxConnections: 10,
        maxConnectionsPerClient: 2,
        keepAliveTimeoutMs: 20_000,
      });
      const open = [await raw(url), await raw(url)];
      for (const connection of open) connection.socket.write(GET_HELLO);
      expect(await waitFor(() => open.every((c) => answered(c) === 1), 2000)).to.equal(true);

      const refused = await raw(url);
      refused.socket.write(GET_HELLO);
      expect(await within(refused.closed, 2000)).to.be.a("number");
      expect(refused.received()).to.equal("");

      expect((await send(url, { localAddress: secondAddress })).body).to.equal("hi");
      open[1].socket.write(GET_HELLO);
      expect(await waitFor(() => answered(open[1]) === 2, 2000)).to.equal(true);
    });
  });

  describe("per-client rate limit", () => {
    it("a client over its rate gets 429 + Retry-After, or the JSON-RPC limit error; /health and other clients are unaffected", async function () {
      // Refusals answered at once here (their hold has a test of its own).
      const { url } = await start({ rate: { perSecond: 1, burst: 3 }, maxBatchCalls: 3, refusalHoldMs: 0 });
      for (let i = 0; i < 3; i++) expect((await send(url)).status).to.equal(200);

      const refused = await send(url);
      expect(refused.status).to.equal(429);
      expect(refused.headers["retry-after"]).to.equal("1");
      expect(JSON.parse(refused.body)).to.deep.equal({
        error: {
          message: "too many requests from this client: retry after 1 s",
          type: "rate_limit_error",
          code: 429,
          retryAfterSeconds: 1,
        },
      });

      const limited = await rpcCall(url, { jsonrpc: "2.0", id: 1, method: "ping" });
      expect(limited.status).to.equal(200);
      expect(limited.headers["retry-after"]).to.equal("1");
      expect(JSON.parse(limited.body)).to.deep.equal({
        jsonrpc: "2.0",
        id: null,
        error: {
          code: -32005,
          message: "limit exceeded: too many requests from this client, retry after 1 s",
          data: { retryAfterSeconds: 1 },
        },
      });

      // Monitoring draws on a bucket of its own.
      const health = await send(url, { path: "/health" });
      expect(health.status).to.equal(200);
      expect(JSON.parse(health.body)).to.deep.include({ status: "ok", probe: true });
      expect((await send(url, { path: "/metrics" })).status).to.equal(200);

      if (!secondAddress) this.skip();
      expect((await send(url, { localAddress: secondAddress })).status).to.equal(200);
      expect(JSON.parse((await rpcCall(url, { id: 2, method: "ping" }, secondAddress)).body)).to.deep.include(
        {
          result: "pong",
        },
      );
    });

    it("a JSON-RPC batch costs one token per call; a batch over the cap gets one error", async () => {
      const { url } = await start({
        rate: { perSecond: 0.1, burst: 10 },
        maxBatchCalls: 5,
        refusalHoldMs: 0,
      });
      const batch = (count: number) => Array.from({ length: count }, (_, id) => ({ id, method: "ping" }));
      const error = async (body: unknown) =>
        (JSON.parse((await rpcCall(url, body)).body) as { error?: { code: number; message: string } }).error;
      // Over the cap: one error that says the limit; it costs what the largest batch would (5 tokens: 5 left).
      expect(await error(batch(6))).to.deep.equal({
        code: -32600,
        message: "batch of 6 calls is over the limit of 5",
      });
      const answers = JSON.parse((await rpcCall(url, batch(3))).body) as { result: string }[];
      expect(answers.map((answer) => answer.result)).to.deep.equal(["pong", "pong", "pong"]);
      // Two tokens left: a batch of three is refused as a whole (its request spent one), a single call passes.
      expect(await error(batch(3))).to.deep.include({ code: -32005 });
      expect(JSON.parse((await rpcCall(url, { id: 9, method: "ping" })).body)).to.deep.include({
        result: "pong",
      });
      expect(await error({ id: 10, method: "ping" })).to.deep.include({ code: -32005 });
    });

    it("a refusal is held for refusalHoldMs with its connection unread, so a flooding client idles between refusals", async () => {
      const { url } = await start({
        rate: { perSecond: 0.1, burst: 2 },
        maxBatchCalls: 2,
        refusalHoldMs: 400,
      });
      expect((await send(url)).status).to.equal(200);
      expect((await send(url)).status).to.equal(200);
      // A client that waits for its answers, as an HTTP client does: each refusal takes the hold.
      let startedAt = Date.now();
      const refused = await send(url);
      expect(refused.status).to.equal(429);
      expect(Date.now() - startedAt).to.be.within(380, 1500);
      expect(refused.headers["retry-after"]).to.equal("10");
      // Eight such clients in parallel for one second get about eight refusals each second, not thousands.
      let refusals = 0;
      const deadline = Date.now() + 1000;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (Date.now() < deadline) if ((await send(url)).status === 429) refusals += 1;
        }),
      );
      expect(refusals).to.be.within(8, 32);
      // JSON-RPC refusals are held the same way; monitoring is not (its bucket is full).
      startedAt = Date.now();
      const limited = JSON.parse((await rpcCall(url, { jsonrpc: "2.0", id: 1, method: "ping" })).body) as {
        error: { code: number };
      };
      expect(limited.error.code).to.equal(-32005);
      expect(Date.now() - startedAt).to.be.at.least(380);
      startedAt = Date.now();
      expect((await send(url, { path: "/health" })).status).to.equal(200);
      expect(Date.now() - startedAt).to.be.below(300);
    });

    it("a batch body over its byte cap is refused at its first byte and never read: the connection closes", async () => {
      const { url } = await start({
        rate: { perSecond: 0.1, burst: 500 },
        maxBatchCalls: 5,
        refusalHoldMs: 0,
      });
      const cap = 5 * 16 * 1024;
      // 900 kB announced (under the 1 MiB body cap, over the batch cap), 4 KiB sent: refused without the rest.
      const flood = await raw(url);
      flood.socket.write(
        `POST / HTTP/1.1\r\nHost: probe\r\nContent-Type: application/json\r\nContent-Length: 900000\r\n\r\n[${" ".repeat(4096)}`,
      );
      expect(await within(flood.closed, 2000), "connection still open").to.be.a("number");
      const answer = flood.received();
      expect(answer).to.match(/^HTTP\/1\.1 200/);
      expect(answer.toLowerCase()).to.include("connection: close");
      expect(answer).to.include(`"message":"batch of 900000 bytes is over the limit of ${cap}"`);
      // Without a Content-Length (chunked), as soon as it grows past the cap.
      const chunked = await raw(url);
      chunked.socket.write(
        "POST / HTTP/1.1\r\nHost: probe\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
      );
      const piece = "[" + " ".repeat(16 * 1024 - 1);
      for (let i = 0; i < 6; i++) chunked.socket.write(`${piece.length.toString(16)}\r\n${piece}\r\n`);
      expect(await within(chunked.closed, 2000), "chunked connection still open").to.be.a("number");
      expect(chunked.received()).to.include(`"message":"batch over the limit of ${cap} bytes"`);
      // Each refused body cost its client the largest batch (5 tokens): 500 - 2 × 5 left, then a small batch runs.
      const answers = JSON.parse((await rpcCall(url, [{ jsonrpc: "2.0", id: 1, method: "ping" }])).body) as {
        result: string;
      }[];
      expect(answers[0].result).to.equal("pong");
    });

    it("the client key is injectable (here: every connection is a client of its own)", async () => {
      const limits = { rate: { perSecond: 0.1, burst: 1 }, maxBatchCalls: 1, refusalHoldMs: 0 };
      const shared = await start(limits);
      expect((await send(shared.url)).status).to.equal(200);
      expect((await send(shared.url)).status).to.equal(429);
      const perConnection = await start(limits, (socket) => `${socket.remoteAddress}:${socket.remotePort}`);
      expect((await send(perConnection.url)).status).to.equal(200);
      expect((await send(perConnection.url)).status).to.equal(200);
    });

    it("a client is an IPv4 address or an IPv6 /64", () => {
      const key = (remoteAddress: string) => clientAddress({ remoteAddress } as Socket);
      expect(key("203.0.113.7")).to.equal("203.0.113.7");
      expect(key("::ffff:203.0.113.7")).to.equal("203.0.113.7");
      expect(key("2001:db8:85a3::8a2e:370:7334")).to.equal(key("2001:db8:85a3:0:ffff:1:2:3"));
      expect(key("2001:db8:85a3::8a2e:370:7334")).to.equal("2001:db8:85a3:0::/64");
      expect(key("2001:db8:85a4::1")).to.not.equal(key("2001:db8:85a3::1"));
    });

    it("the token bucket refills at its rate, up to its burst, per key", () => {
      let now = 0;
      const limiter = new RateLimiter({ perSecond: 2, burst: 4 }, () => now);
      expect([1, 2, 3, 4].map(() => limiter.take("a"))).to.deep.equal([0, 0, 0, 0]);
      expect(limiter.take("a")).to.equal(500);
      expect(limiter.take("b")).to.equal(0);
      now = 500;
      expect(limiter.take("a")).to.equal(0);
      expect(limiter.take("a", 3)).to.equal(1500);
      now = 60_000;
      expect(limiter.take("a", 4)).to.equal(0);
      expect(limiter.take("a", 5)).to.equal(Infinity);
    });
  });

  describe("configuration", () => {
    const base = {
      rpcUrl: "http://127.0.0.1:8545",
      dataDir: "data",
      http: { port: 0 },
    };
    const errorOf = (limits: unknown): string | undefined => {
      try {
        validate(workerConfigSchema, { ...base, limits }, "config");
        return undefined;
      } catch (error) {
        return (error as Error).message;
      }
    };

    it("defaults apply when `limits` is absent, and are exported", () => {
      const config = validate(workerConfigSchema, base, "config");
      expect(config.limits).to.deep.equal(DEFAULT_LIMITS);
      expect(DEFAULT_LIMITS).to.deep.equal({
        headersTimeoutMs: 10_000,
        requestTimeoutMs: 120_000,
        keepAliveTimeoutMs: 5_000,
        maxConnections: 1024,
        maxConnectionsPerClient: 256,
        rate: { perSecond: 200, burst: 2000 },
        refusalHoldMs: 1000,
        maxBatchCalls: 100,
        batchConcurrency: 4,
      });
      expect(
        validate(workerConfigSchema, { ...base, limits: { rate: { burst: 10 }, maxBatchCalls: 10 } }, "c")
          .limits,
      ).to.deep.include({ rate: { perSecond: 200, burst: 10 }, maxConnections: 1024 });
    });

    it("bad limits are refused in one line", async () => {
      const errors = [
        [
          { maxConnections: 0 },
          "config: field 'limits.maxConnections' number must be greater than or equal to 1",
        ],
        [{ burst: 5 }, "config: unknown field 'limits.burst'"],
        [{ rate: { perSecond: -1 } }, "config: field 'limits.rate.perSecond' number must be greater than 0"],
        [
          { headersTimeoutMs: "10s" },
          "config: field 'limits.headersTimeoutMs' expected number, received string",
        ],
        [
          { headersTimeoutMs: 30_000, requestTimeoutMs: 20_000 },
          "config: field 'limits.headersTimeoutMs' must be at most limits.requestTimeoutMs (20000)",
        ],
        [
          { rate: { burst: 50 } },
          "config: field 'limits.maxBatchCalls' must be at most limits.rate.burst (50): a batch costs one token per call",
        ],
      ] as const;
      // Exactly the one line, nothing after it.
      for (const [limits, message] of errors) expect(errorOf(limits)).to.equal(message);
      await expect(start({ maxBatchCalls: 0 })).to.be.rejectedWith(
        "config: field 'limits.maxBatchCalls' number must be greater than or equal to 1",
      );
    });
  });
});

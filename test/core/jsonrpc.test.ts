import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { ZgError } from "../../offchain/core/errors";
import { JsonRpcError, serveJsonRpc } from "../../offchain/core/jsonrpc";
import { createLogger } from "../../offchain/core/log";

describe("JSON-RPC server", () => {
  let server: Server;
  let url: string;
  const logged: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;

  before(async () => {
    const log = createLogger({ write: (line) => logged.push(line) });
    const methods = {
      echo: async (params: unknown[]) => params,
      nothing: async () => undefined,
      refuse: async () => {
        throw JsonRpcError.invalidParams("already uploaded and finalized");
      },
      badInput: async () => {
        throw new ZgError("segment 9 is out of range", "BAD_INPUT");
      },
      crash: async () => {
        throw new Error("disk on fire\nstack…");
      },
      /** Records how many calls run at once. */
      slow: async () => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight -= 1;
        return inFlight;
      },
    };
    server = createServer((request, response) =>
      serveJsonRpc(methods, request, response, {
        maxBodyBytes: 64 << 10,
        log,
        maxBatchCalls: 20,
        batchConcurrency: 3,
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  async function post(body: string) {
    const response = await fetch(url, {
      method: "POST",
      body,
      headers: { "content-type": "application/json" },
    });
    return {
      status: response.status,
      json: (await response.json()) as Record<string, unknown> | Record<string, unknown>[],
    };
  }

  it("answers a call with its id and result; undefined becomes null", async () => {
    expect((await post('{"jsonrpc":"2.0","id":7,"method":"echo","params":[1,"a"]}')).json).to.deep.equal({
      jsonrpc: "2.0",
      id: 7,
      result: [1, "a"],
    });
    expect((await post('{"jsonrpc":"2.0","id":"x","method":"nothing"}')).json).to.deep.equal({
      jsonrpc: "2.0",
      id: "x",
      result: null,
    });
  });

  it("answers a batch in order", async () => {
    const { json } = await post(
      '[{"jsonrpc":"2.0","id":1,"method":"echo","params":[1]},{"jsonrpc":"2.0","id":2,"method":"missing"}]',
    );
    expect(json).to.deep.equal([
      { jsonrpc: "2.0", id: 1, result: [1] },
      { jsonrpc: "2.0", id: 2, error: { code: -32601, message: "Method not found: missing" } },
    ]);
  });

  it("maps refusals, bad input and crashes to JSON-RPC errors", async () => {
    expect((await post('{"id":1,"method":"refuse"}')).json).to.deep.include({
      error: { code: -32602, message: "Invalid params", data: "already uploaded and finalized" },
    });
    expect((await post('{"id":1,"method":"badInput"}')).json).to.deep.include({
      error: { code: -32602, message: "Invalid params", data: "segment 9 is out of range" },
    });
    expect((await post('{"id":1,"method":"crash"}')).json).to.deep.include({
      error: { code: -32603, message: "Internal error", data: "disk on fire" },
    });
    expect(logged.some((line) => line.includes('"method":"crash"'))).to.equal(true);
  });

  it("rejects malformed requests", async () => {
    expect((await post("{nope")).json).to.deep.include({
      id: null,
      error: { code: -32700, message: "Parse error" },
    });
    expect((await post('{"id":3,"method":5}')).json).to.deep.include({
      error: { code: -32600, message: "Invalid Request" },
    });
    expect((await post("[]")).json).to.deep.include({ error: { code: -32600, message: "Invalid Request" } });
    expect((await post('{"id":4,"method":"echo","params":{"a":1}}')).json).to.deep.include({
      error: { code: -32602, message: "Invalid params", data: "params must be an array" },
    });
    expect((await post('{"id":5,"method":"toString"}')).json).to.deep.include({
      error: { code: -32601, message: "Method not found: toString" },
    });
  });

  it("refuses an oversized body with 413 without reading it whole", async () => {
    const { status, json } = await post(
      JSON.stringify({ id: 1, method: "echo", params: ["x".repeat(70_000)] }),
    );
    expect(status).to.equal(413);
    expect(json).to.deep.include({ error: { code: -32600, message: "request body over 65536 bytes" } });
  });

  const calls = (count: number, method = "slow") =>
    JSON.stringify(Array.from({ length: count }, (_, id) => ({ jsonrpc: "2.0", id, method })));

  it("refuses a batch over the cap with one error that says the limit, running none of it", async () => {
    maxInFlight = 0;
    const { status, json } = await post(calls(21));
    expect(status).to.equal(200);
    expect(json).to.deep.equal({
      jsonrpc: "2.0",
      id: null,
      error: { code: -32600, message: "batch of 21 calls is over the limit of 20" },
    });
    expect(maxInFlight).to.equal(0);
  });

  it("serves a batch at the cap in order, at most batchConcurrency calls at a time", async () => {
    maxInFlight = 0;
    const { json } = await post(calls(20));
    expect((json as { id: number }[]).map((answer) => answer.id)).to.deep.equal([...Array(20).keys()]);
    expect((json as { result?: unknown }[]).every((answer) => typeof answer.result === "number")).to.equal(
      true,
    );
    expect(maxInFlight).to.equal(3);
  });
});

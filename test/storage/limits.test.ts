import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { StorageNode } from "@0gfoundation/0g-ts-sdk";
import { expect } from "chai";
import hre from "hardhat";
import type { DeploymentRecord } from "../../offchain/core/deployments";
import { startWorker, type WorkerHandle } from "../../offchain/core/worker";
import { workerDefinition } from "../../offchain/modules";
import { StorageRpc, StorageRpcError } from "../../offchain/storage/rpc";
import type { NodeStatus } from "../../offchain/storage/types";
import { deployForTest, startRpc, tempDir, type TestRpc } from "../helpers/chain";
import { until } from "../helpers/process";

const quiet = () => undefined;

/** An HTTP JSON-RPC proxy in front of the chain that counts every call (batched or not) reaching it, by method. */
async function countingProxy(target: string) {
  const counts = new Map<string, number>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const parsed = JSON.parse(body) as { method: string } | { method: string }[];
      for (const call of Array.isArray(parsed) ? parsed : [parsed])
        counts.set(call.method, (counts.get(call.method) ?? 0) + 1);
      fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body }).then(
        async (answer) =>
          response.writeHead(answer.status, { "content-type": "application/json" }).end(await answer.text()),
        () => response.writeHead(502).end(),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    total: () => [...counts.values()].reduce((sum, count) => sum + count, 0),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function postJson(url: string, body: unknown): Promise<unknown> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return response.json();
}

const statusCalls = (count: number) =>
  Array.from({ length: count }, (_, id) => ({ jsonrpc: "2.0", id, method: "zgs_getStatus" }));

describe("storage node JSON-RPC under abuse", function () {
  this.timeout(120_000);
  let rpc: TestRpc;
  let record: DeploymentRecord;
  const handles: WorkerHandle[] = [];

  before(async () => {
    rpc = await startRpc();
    record = await deployForTest("storage-only");
  });
  after(async () => {
    await Promise.all(handles.splice(0).map((handle) => handle.stop()));
    await rpc.close();
  });

  async function startNode(rpcUrl: string, extra: Record<string, unknown> = {}): Promise<WorkerHandle> {
    const handle = await startWorker(
      await workerDefinition("storage"),
      {
        rpcUrl,
        registry: record.registry,
        dataDir: tempDir("storage-limits"),
        http: { host: "127.0.0.1", port: 0 },
        confirmations: 0,
        startBlock: record.startBlock,
        ...extra,
      },
      { write: quiet },
    );
    handles.push(handle);
    return handle;
  }

  it("a batch of zgs_getStatus makes O(1) chain reads; a batch over the cap makes none and gets one error", async () => {
    const proxy = await countingProxy(rpc.url);
    try {
      // Polling once a minute: after the first catch-up, the chain reader is quiet during the measurement.
      const node = await startNode(proxy.url, { pollIntervalMs: 60_000 });
      const head = await hre.ethers.provider.getBlockNumber();
      await until(
        async () => (await (await fetch(`${node.url}/health`)).json()) as { processedBlock: number },
        (health) => health.processedBlock === head,
      );

      proxy.counts.clear();
      const answers = (await postJson(node.url, statusCalls(100))) as { id: number; result: NodeStatus }[];
      expect(answers).to.have.length(100);
      const hash = (await hre.ethers.provider.getBlock(head))?.hash;
      for (const [i, answer] of answers.entries()) {
        expect(answer.id).to.equal(i);
        expect(answer.result.logSyncHeight).to.equal(head);
        expect(answer.result.logSyncBlock).to.equal(hash);
      }
      expect(proxy.total(), JSON.stringify([...proxy.counts])).to.be.at.most(1);

      // The reported attack: 50,000 calls in one batch.
      proxy.counts.clear();
      // It is refused by its size, before it is parsed (100 calls of at most 16 KiB each).
      const flood = statusCalls(50_000);
      const refused = await postJson(node.url, flood);
      expect(refused).to.deep.equal({
        jsonrpc: "2.0",
        id: null,
        error: {
          code: -32600,
          message: `batch of ${JSON.stringify(flood).length} bytes is over the limit of ${100 * 16 * 1024}`,
        },
      });
      // A batch small in bytes but over the call cap is still counted and refused.
      expect(await postJson(node.url, statusCalls(101))).to.deep.equal({
        jsonrpc: "2.0",
        id: null,
        error: { code: -32600, message: "batch of 101 calls is over the limit of 100" },
      });
      expect(proxy.total()).to.equal(0);
    } finally {
      await proxy.close();
    }
  });

  it("a rate-limited call of the official SDK (and of our client) fails at once with a clear error", async () => {
    const node = await startNode(rpc.url, {
      limits: { rate: { perSecond: 0.2, burst: 2 }, maxBatchCalls: 2 },
    });
    const sdk = new StorageNode(node.url);
    expect(((await sdk.getStatus()) as NodeStatus).networkIdentity.chainId).to.equal(31337);
    expect(((await sdk.getStatus()) as NodeStatus).networkIdentity.chainId).to.equal(31337);

    const startedAt = Date.now();
    const error = await sdk.getStatus().then(
      () => undefined,
      (thrown: unknown) => thrown as Error & { code?: number; data?: unknown },
    );
    // No silent retry loop: the SDK retries transport failures (an HTTP 429 among them) three times a second
    // apart, but hands a JSON-RPC error straight to its caller.
    expect(Date.now() - startedAt).to.be.below(900);
    expect(error?.message).to.equal("limit exceeded: too many requests from this client, retry after 5 s");
    expect(error?.code).to.equal(-32005);
    expect(error?.data).to.deep.equal({ retryAfterSeconds: 5 });

    const ours = await new StorageRpc(node.url).shardConfig().then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(ours).to.be.instanceOf(StorageRpcError);
    expect((ours as StorageRpcError).code).to.equal(-32005);
    expect((ours as StorageRpcError).message).to.match(/^limit exceeded: .*retry after [1-5] s$/);
  });
});

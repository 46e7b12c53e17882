import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { StorageNode } from "@0gfoundation/0g-ts-sdk";
import { expect } from "chai";
import hre from "hardhat";
import type { DeploymentRecord } from "../../offchain/core/deployments";
import { startWorker, type WorkerHandle } from "../../offchain/core/worker";
import { workerDefinition } from "../../offchain/modules";
import { randomBytes } from "node:crypto";
import { computeFileMerkle } from "../../offchain/storage/merkle";
import { StorageRpc, StorageRpcError } from "../../offchain/storage/rpc";
import type { NodeStatus } from "../../offchain/storage/types";
import { Flow__factory, Market__factory } from "../../typechain-types";
import { deployForTest, startRpc, tempDir, type TestRpc } from "../helpers/chain";
import { until } from "../helpers/process";
import { startStakedStorageNode, type TestStorageNode } from "../helpers/storage";

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

const calls = (method: string, params: (id: number) => unknown[], count: number) =>
  Array.from({ length: count }, (_, id) => ({ jsonrpc: "2.0", id, method, params: params(id) }));

interface Answer<T> {
  id: number;
  result?: T;
  error?: { code: number; message: string; data?: unknown };
}

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
      // Refusals answered at once: the point is that the SDK does not retry them (their hold is tested in core).
      limits: { rate: { perSecond: 0.2, burst: 2 }, maxBatchCalls: 2, refusalHoldMs: 0 },
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
  describe("discovery (indexer_*)", () => {
    let announced: TestStorageNode;
    before(async () => {
      // A staked node announces itself, then stops: it stays listed (active, announced) for the nodes below.
      announced = await startStakedStorageNode(record, rpc.url, 310, {
        shard: { shardId: 1, numShard: 2 },
        region: "eu",
      });
      await announced.handle.stop();
    });

    it("indexer_getShardedNodes, and indexer_getFileLocations of a root not on the log, make no chain call", async () => {
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
        const answers = (await postJson(
          node.url,
          calls("indexer_getShardedNodes", () => [], 100),
        )) as Answer<{ trusted: { url: string; config: unknown }[]; discovered: unknown[] }>[];
        expect(answers).to.have.length(100);
        for (const answer of answers) {
          expect(answer.result?.discovered).to.deep.equal([]);
          expect(answer.result?.trusted.map((listed) => [listed.url, listed.config])).to.deep.equal([
            [announced.url, { shardId: 1, numShard: 2 }],
          ]);
        }
        const unknown = (await postJson(
          node.url,
          calls("indexer_getFileLocations", (id) => [`0x${id.toString(16).padStart(64, "0")}`], 100),
        )) as Answer<unknown[]>[];
        expect(unknown.map((answer) => answer.result)).to.deep.equal(Array.from({ length: 100 }, () => []));
        expect(proxy.total(), JSON.stringify([...proxy.counts])).to.equal(0);
      } finally {
        await proxy.close();
      }
    });

    it("indexer_getFileLocations asks the other nodes for at most 40 files at once, 20 a second (then -32005)", async () => {
      const [signer] = await hre.ethers.getSigners();
      const flow = Flow__factory.connect(record.modules.Flow.address, signer);
      const price = await Market__factory.connect(record.modules.Market.address, signer).pricePerSector();
      const roots: string[] = [];
      for (let i = 0; i < 50; i++) {
        const merkle = await computeFileMerkle(randomBytes(300));
        const sectors = merkle.submission.nodes.reduce((sum, n) => sum + (1n << BigInt(n.height)), 0n);
        await (
          await flow.submit(
            { data: merkle.submission, submitter: signer.address },
            { value: sectors * price },
          )
        ).wait();
        roots.push(merkle.root);
      }
      const node = await startNode(rpc.url, { pollIntervalMs: 100 });
      await until(
        () => new StorageRpc(node.url).call<NodeStatus>("zgs_getStatus"),
        (status) => status.nextTxSeq >= 50,
      );
      const answers = (await postJson(
        node.url,
        calls("indexer_getFileLocations", (id) => [roots[id]], 50),
      )) as Answer<unknown[]>[];
      const refused = answers.filter((answer) => answer.error);
      // The announced node is down: no file has a location; 40 lookups ran (a few more as the bucket refills).
      expect(answers.filter((answer) => answer.result).map((answer) => answer.result)).to.deep.equal(
        Array.from({ length: 50 - refused.length }, () => []),
      );
      expect(refused.length).to.be.within(5, 10);
      for (const answer of refused) {
        expect(answer.error?.code).to.equal(-32005);
        expect(answer.error?.data).to.deep.equal({ retryAfterSeconds: 1 });
      }
      // A file asked for again within 2 s is answered from the last lookup, not refused.
      const again = (await postJson(
        node.url,
        calls("indexer_getFileLocations", () => [roots[0]], 1),
      )) as Answer<unknown[]>[];
      expect(again[0].result).to.deep.equal([]);
    });
  });
});

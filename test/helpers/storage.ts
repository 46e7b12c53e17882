import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseEther } from "ethers";
import hre from "hardhat";
import { ZgChain } from "../../offchain/core/chain";
import type { DeploymentRecord } from "../../offchain/core/deployments";
import { startWorker, type WorkerHandle } from "../../offchain/core/worker";
import { workerDefinition } from "../../offchain/modules";
import { StorageClient } from "../../offchain/storage/client";
import type { ShardConfig } from "../../offchain/storage/types";
import { NodeStaking__factory } from "../../typechain-types";
import { deployForTest, devAccount, startRpc, tempDir, type TestRpc } from "./chain";
import { freePort } from "./process";

export interface TestStorageNode {
  address: string;
  url: string;
  dataDir: string;
  config: Record<string, unknown>;
  handle: WorkerHandle;
}

/**
 * A storage node's config for tests: this chain, a fresh data folder, a port the OS picks, no confirmations and
 * fast polling, and no key (such a node watches the chain and serves); `extra` adds or overrides any field.
 */
export function storageNodeConfig(
  record: DeploymentRecord,
  rpcUrl: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    rpcUrl,
    registry: record.registry,
    dataDir: tempDir("storage-node"),
    http: { host: "127.0.0.1", port: 0 },
    confirmations: 0,
    pollIntervalMs: 100,
    startBlock: record.startBlock,
    ...extra,
  };
}

/**
 * Funds and stakes devnet account `operatorIndex` for STORAGE, then starts its storage node in this process,
 * announced with its URL, shard and region (quiet logs, fast polling; `config` overrides any field).
 */
export async function startStakedStorageNode(
  record: DeploymentRecord,
  rpcUrl: string,
  operatorIndex: number,
  options: { shard?: ShardConfig; region?: string; config?: Record<string, unknown> } = {},
): Promise<TestStorageNode> {
  const operator = devAccount(operatorIndex);
  const [funder] = await hre.ethers.getSigners();
  await (await funder.sendTransaction({ to: operator.address, value: parseEther("20") })).wait();
  const staking = NodeStaking__factory.connect(
    record.modules.NodeStaking.address,
    operator.connect(hre.ethers.provider),
  );
  await (await staking.stake(0, { value: parseEther("10") })).wait();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dataDir = tempDir("storage-node");
  const config = storageNodeConfig(record, rpcUrl, {
    privateKey: operator.privateKey,
    dataDir,
    http: { host: "127.0.0.1", port },
    shard: options.shard ?? { shardId: 0, numShard: 1 },
    region: options.region ?? "",
    publicUrl: url,
    ...options.config,
  });
  return {
    address: operator.address,
    url,
    dataDir,
    config,
    handle: await startWorker(await workerDefinition("storage"), config, { write: () => undefined }),
  };
}

/** A served chain with the full profile deployed, and the storage nodes and clients of a test file on it. */
export interface StorageNetwork {
  readonly rpc: TestRpc;
  readonly record: DeploymentRecord;
  /** Stakes the next operator for STORAGE and starts its node, announced with its URL, shard and region. */
  startNode(shard?: ShardConfig, region?: string): Promise<TestStorageNode>;
  stopNode(node: TestStorageNode): Promise<void>;
  /** Starts a stopped node again on its data directory. */
  restartNode(node: TestStorageNode): Promise<void>;
  /** A storage client signing with devnet account `index`, funded with 5 ETH. */
  client(
    index: number,
    options?: { directoryCache?: string },
  ): Promise<{ chain: ZgChain; storage: StorageClient }>;
}

/**
 * Registers the mocha hooks of a storage test file (in a `describe`): a chain served over HTTP with the full
 * profile before its tests, and every node still running stopped after them. Operators are devnet accounts from
 * `firstOperator` on.
 */
export function useStorageNetwork(firstOperator: number): StorageNetwork {
  let rpc: TestRpc | undefined;
  let record: DeploymentRecord | undefined;
  let nextOperator = firstOperator;
  const running: TestStorageNode[] = [];
  before(async () => {
    rpc = await startRpc();
    record = await deployForTest("full");
  });
  after(async () => {
    await Promise.all(running.splice(0).map((node) => node.handle.stop().catch(() => undefined)));
    await rpc?.close();
  });
  const network: StorageNetwork = {
    get rpc() {
      if (!rpc) throw new Error("the storage network starts in the test file's before hook");
      return rpc;
    },
    get record() {
      if (!record) throw new Error("the storage network starts in the test file's before hook");
      return record;
    },
    async startNode(shard = { shardId: 0, numShard: 1 }, region = "") {
      const node = await startStakedStorageNode(network.record, network.rpc.url, nextOperator++, {
        shard,
        region,
      });
      running.push(node);
      return node;
    },
    async stopNode(node) {
      await node.handle.stop();
      running.splice(running.indexOf(node), 1);
    },
    async restartNode(node) {
      node.handle = await startWorker(await workerDefinition("storage"), node.config, {
        write: () => undefined,
      });
      running.push(node);
    },
    async client(index, options = {}) {
      const chain = await ZgChain.connect({
        network: "localhost",
        rpcUrl: network.rpc.url,
        expectedChainId: 31337,
        registry: network.record.registry,
        key: { kind: "privateKey", privateKey: devAccount(index).privateKey },
      });
      const [funder] = await hre.ethers.getSigners();
      await (await funder.sendTransaction({ to: chain.address!, value: parseEther("5") })).wait();
      return { chain, storage: await StorageClient.connect(chain, options) };
    },
  };
  return network;
}

/**
 * Corrupts what a stopped storage node holds: flips the byte at each of `offsets` in every one of its segment
 * files (one per log entry; segment i starts at i × 256 KiB). Its proofs are left as they were.
 */
export function flipSegmentBytes(node: TestStorageNode, offsets: number[]): void {
  const segments = path.join(node.dataDir, "segments");
  for (const name of readdirSync(segments)) {
    const file = path.join(segments, name);
    const bytes = readFileSync(file);
    for (const offset of offsets) bytes[offset] ^= 0xff;
    writeFileSync(file, bytes);
  }
}

import { parseEther } from "ethers";
import hre from "hardhat";
import type { DeploymentRecord } from "../../offchain/core/deployments";
import { startWorker, type WorkerHandle } from "../../offchain/core/worker";
import { workerDefinition } from "../../offchain/modules";
import type { ShardConfig } from "../../offchain/storage/types";
import { NodeStaking__factory } from "../../typechain-types";
import { devAccount, tempDir } from "./chain";
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

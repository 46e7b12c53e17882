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
  const config = {
    rpcUrl,
    registry: record.registry,
    privateKey: operator.privateKey,
    dataDir,
    http: { host: "127.0.0.1", port },
    confirmations: 0,
    pollIntervalMs: 100,
    startBlock: record.startBlock,
    shard: options.shard ?? { shardId: 0, numShard: 1 },
    region: options.region ?? "",
    publicUrl: url,
    ...options.config,
  };
  return {
    address: operator.address,
    url,
    dataDir,
    config,
    handle: await startWorker(await workerDefinition("storage"), config, { write: () => undefined }),
  };
}

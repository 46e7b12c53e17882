import { parseEther, type HDNodeWallet } from "ethers";
import hre from "hardhat";
import type { ZgChain } from "../../offchain/core/chain";
import { connectDevnet } from "../../offchain/devnet/accounts";
import type { DeploymentRecord } from "../../offchain/core/deployments";
import { startWorker, type WorkerHandle } from "../../offchain/core/worker";
import { InftClient } from "../../offchain/inft/client";
import { oracleWorker } from "./oracle";
import { NodeStaking__factory } from "../../typechain-types";
import { deployForTest, devAccount, startRpc, tempDir, type TestRpc } from "./chain";
import { freePort } from "./process";
import { startStakedStorageNode, type TestStorageNode } from "./storage";

const PROVIDER = 2;
const ORACLE = 3;

/** A chain with the full profile, one storage node, and an inference oracle staked as PROVIDER and ORACLE. */
export interface InftStack {
  rpc: TestRpc;
  record: DeploymentRecord;
  storageNode: TestStorageNode;
  oracle: WorkerHandle;
  oracleKey: HDNodeWallet;
  oracleUrl: string;
  /** An SDK client signing as devnet account `index` (funded with 5 coin). */
  as(index: number): Promise<InftClient>;
  stop(): Promise<void>;
}

export async function startInftStack(oracleIndex: number, storageIndex: number): Promise<InftStack> {
  const rpc = await startRpc();
  const record = await deployForTest("full");
  process.env.ZG_HOME = tempDir("inft-home");
  const storageNode = await startStakedStorageNode(record, rpc.url, storageIndex);
  const [funder] = await hre.ethers.getSigners();
  const oracleKey = devAccount(oracleIndex);
  await (await funder.sendTransaction({ to: oracleKey.address, value: parseEther("40") })).wait();
  const staking = NodeStaking__factory.connect(
    record.modules.NodeStaking.address,
    oracleKey.connect(hre.ethers.provider),
  );
  await (await staking.stake(PROVIDER, { value: parseEther("10") })).wait();
  await (await staking.stake(ORACLE, { value: parseEther("10") })).wait();
  const port = await freePort();
  const oracleUrl = `http://127.0.0.1:${port}`;
  const oracle = await startWorker(
    await oracleWorker(),
    {
      rpcUrl: rpc.url,
      registry: record.registry,
      privateKey: oracleKey.privateKey,
      dataDir: tempDir("inft-oracle"),
      http: { host: "127.0.0.1", port },
      confirmations: 0,
      startBlock: record.startBlock,
      service: { publicUrl: oracleUrl, inputPrice: "1000", outputPrice: "3000" },
      settleCheckMs: 200,
      settleIntervalMs: 500,
    },
    { write: () => undefined },
  );
  const chains: ZgChain[] = [];
  return {
    rpc,
    record,
    storageNode,
    oracle,
    oracleKey,
    oracleUrl,
    async as(index: number) {
      const key = devAccount(index);
      await (await funder.sendTransaction({ to: key.address, value: parseEther("5") })).wait();
      const chain = await connectDevnet(rpc.url, record.registry, key.privateKey);
      chains.push(chain);
      return InftClient.connect(chain);
    },
    async stop() {
      for (const chain of chains) chain.destroy();
      await oracle.stop();
      await storageNode.handle.stop();
      await rpc.close();
    },
  };
}

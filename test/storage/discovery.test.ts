import { impersonateAccount, setBalance, time } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import { id, parseEther, ZeroAddress } from "ethers";
import hre from "hardhat";
import type { DeploymentRecord } from "../../offchain/core/deployments";
import { startWorker, type WorkerHandle } from "../../offchain/core/worker";
import { workerDefinition } from "../../offchain/modules";
import { encodeShardMetadata } from "../../offchain/storage/log";
import { StorageRpc } from "../../offchain/storage/rpc";
import type { ShardConfig } from "../../offchain/storage/types";
import { NodeStaking__factory } from "../../typechain-types";
import { deployForTest, devAccount, startRpc, type TestRpc } from "../helpers/chain";
import { storageNodeConfig } from "../helpers/storage";
import { until } from "../helpers/process";

const STORAGE = 0;

describe("storage discovery follows NodeStaking (indexer_getShardedNodes)", function () {
  this.timeout(60_000);
  let rpc: TestRpc;
  let record: DeploymentRecord;
  let observer: WorkerHandle;

  before(async () => {
    rpc = await startRpc();
    record = await deployForTest("storage-only");
    // A node without a key: it only watches the chain and answers discovery.
    observer = await startWorker(await workerDefinition("storage"), storageNodeConfig(record, rpc.url), {
      write: () => undefined,
    });
  });
  after(async () => {
    await observer?.stop();
    await rpc?.close();
  });

  const listed = async () =>
    (
      await new StorageRpc(observer.url).call<{ trusted: { url: string; config: ShardConfig }[] }>(
        "indexer_getShardedNodes",
      )
    ).trusted.map((node) => `${node.url} ${node.config.shardId}/${node.config.numShard}`);
  const expectListed = (expected: string[]) =>
    until(listed, (nodes) => JSON.stringify([...nodes].sort()) === JSON.stringify([...expected].sort()));

  async function operator(index: number, bond: string) {
    const wallet = devAccount(index).connect(hre.ethers.provider);
    const [funder] = await hre.ethers.getSigners();
    await (await funder.sendTransaction({ to: wallet.address, value: parseEther("30") })).wait();
    const staking = NodeStaking__factory.connect(record.modules.NodeStaking.address, wallet);
    await (await staking.stake(STORAGE, { value: parseEther(bond) })).wait();
    const announce = async (url: string, shard: ShardConfig) =>
      (
        await staking.setNodeInfo(STORAGE, {
          endpoint: url,
          region: `0x${"00".repeat(32)}`,
          metadata: encodeShardMetadata(shard),
        })
      ).wait();
    return { address: wallet.address, staking, announce };
  }

  it("lists a node once it announces, follows its new announcement, and drops it when it exits", async () => {
    await expectListed([]);
    const a = await operator(400, "10");
    // Staked but not announced: not listed.
    expect(await listed()).to.deep.equal([]);
    await a.announce("http://a.example:1", { shardId: 0, numShard: 2 });
    await expectListed(["http://a.example:1 0/2"]);
    await a.announce("http://a.example:2", { shardId: 1, numShard: 4 });
    await expectListed(["http://a.example:2 1/4"]);
    const b = await operator(401, "20");
    await b.announce("http://b.example:1", { shardId: 0, numShard: 1 });
    await expectListed(["http://a.example:2 1/4", "http://b.example:1 0/1"]);
    await (await a.staking.exit(STORAGE)).wait();
    await expectListed(["http://b.example:1 0/1"]);
  });

  it("hides a jailed node, and lists it again when the chain's time passes its jail's end (no event marks it)", async () => {
    const slasher = record.modules.StorageChallenges.address;
    await impersonateAccount(slasher);
    await setBalance(slasher, parseEther("1"));
    const staking = NodeStaking__factory.connect(
      record.modules.NodeStaking.address,
      await hre.ethers.getSigner(slasher),
    );
    const b = devAccount(401).address;
    // Bonded 20, slashed 1: still over the minimum of 10, so only the jail makes it inactive.
    await (await staking.slash(b, STORAGE, parseEther("1"), id("discovery test"), ZeroAddress)).wait();
    await expectListed([]);
    const { jailPeriod } = await staking.slashParams();
    await time.increase(Number(jailPeriod) + 1);
    await expectListed(["http://b.example:1 0/1"]);
  });
});

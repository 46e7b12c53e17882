import { randomBytes } from "node:crypto";
import { expect } from "chai";
import { parseEther } from "ethers";
import hre from "hardhat";
import { ZgChain } from "../../offchain/core/chain";
import type { DeploymentRecord } from "../../offchain/core/deployments";
import { SegmentFiles } from "../../offchain/storage/segment-files";
import { startWorker } from "../../offchain/core/worker";
import { StorageClient } from "../../offchain/storage/client";
import { workerDefinition } from "../../offchain/modules";
import { Market__factory, NodeStaking__factory, StorageChallenges__factory } from "../../typechain-types";
import { deployForTest, devAccount, startRpc, type TestRpc } from "../helpers/chain";
import { runZg, until } from "../helpers/process";
import { startStakedStorageNode, type TestStorageNode } from "../helpers/storage";

type RunningNode = TestStorageNode & { name: string };

describe("storage challenges with real storage nodes", function () {
  this.timeout(300_000);
  let rpc: TestRpc;
  let record: DeploymentRecord;

  before(async () => {
    rpc = await startRpc();
    record = await deployForTest("full");
  });
  after(async () => {
    await rpc.close();
  });

  it("an honest node is rewarded, a node that lost data and an offline node are slashed once, and no coin is created or lost", async () => {
    const [governance, reporter] = await hre.ethers.getSigners();
    const staking = NodeStaking__factory.connect(record.modules.NodeStaking.address, governance);
    const challenges = StorageChallenges__factory.connect(record.modules.StorageChallenges.address, reporter);
    const market = Market__factory.connect(record.modules.Market.address, hre.ethers.provider);
    const nodes: RunningNode[] = [];
    for (const [n, name] of ["honest", "lossy", "offline"].entries()) {
      nodes.push({
        name,
        ...(await startStakedStorageNode(record, rpc.url, 300 + n, { region: "challenges" })),
      });
    }
    const [honest, lossy, offline] = nodes;

    const user = devAccount(310);
    await (await governance.sendTransaction({ to: user.address, value: parseEther("10") })).wait();
    const chain = await ZgChain.connect({
      network: "localhost",
      rpcUrl: rpc.url,
      expectedChainId: 31337,
      registry: record.registry,
      key: { kind: "privateKey", privateKey: user.privateKey },
    });
    const poolBefore = await market.rewardPool();
    const bytes = randomBytes(5 * 262_144 + 1000);
    let uploaded;
    try {
      uploaded = await (
        await StorageClient.connect(chain)
      ).upload(bytes, { region: "challenges", replicas: 3 });
    } finally {
      chain.destroy();
    }
    const fees = (await market.rewardPool()) - poolBefore;
    expect(fees).to.be.greaterThan(0n);

    // Every node declares the file once it holds it.
    for (
      let i = 0;
      i < 100 &&
      !(await Promise.all(nodes.map((n) => challenges.isDeclared(n.address, uploaded.root)))).every(Boolean);
      i++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const node of nodes)
      expect(await challenges.isDeclared(node.address, uploaded.root), node.name).to.equal(true);

    // The offline node goes away; the lossy node loses its data (but keeps running and answering what it can).
    await offline.handle.stop();
    await lossy.handle.stop();
    await SegmentFiles.lose(lossy.dataDir);
    lossy.handle = await startWorker(await workerDefinition("storage"), lossy.config, {
      write: () => undefined,
    });

    // Three epochs go by, a block at a time, so the responders see every window.
    const { epochBlocks } = await challenges.params();
    const firstEpoch = Number(await challenges.currentEpoch()) + 1;
    for (let i = 0; i < Number(epochBlocks) * 4; i++) {
      await hre.network.provider.send("evm_mine", []);
      await new Promise((resolve) => setTimeout(resolve, 120));
    }
    const lastEpoch = Number(await challenges.currentEpoch()) - 1;

    // The CLI shows the story so far: answered epochs for the honest node, a missed one for the lossy node,
    // and anyone can report that miss with it.
    const env = { ...process.env, ZG_DEPLOYMENTS_DIR: process.env.ZG_DEPLOYMENTS_DIR };
    const cli = (...args: string[]) =>
      runZg(["--rpc", rpc.url, "--registry", record.registry, "--json", ...args], env);
    const status = JSON.parse(
      (await cli("storage", "challenges", "--node", honest.address, "--epochs", "8")).stdout,
    ) as {
      epochs: { state: string }[];
      declared: string[];
    };
    expect(status.declared).to.deep.equal([uploaded.root]);
    expect(status.epochs.some((e) => e.state === "answered")).to.equal(true);
    const lossyStatus = JSON.parse(
      (await cli("storage", "challenges", "--node", lossy.address, "--epochs", "8")).stdout,
    ) as {
      epochs: { epoch: number; state: string }[];
    };
    const missed = lossyStatus.epochs.filter((e) => e.state === "missed").map((e) => e.epoch);
    expect(missed.length).to.be.greaterThan(0);
    const reporterKey = devAccount(311).privateKey;
    await (await governance.sendTransaction({ to: devAccount(311).address, value: parseEther("1") })).wait();
    const reported = await cli(
      "--private-key",
      reporterKey,
      "storage",
      "slash-missed",
      lossy.address,
      String(missed[missed.length - 1]),
    );
    expect(reported.code, reported.stderr).to.equal(0);
    const again = await cli(
      "--private-key",
      reporterKey,
      "storage",
      "slash-missed",
      lossy.address,
      String(missed[missed.length - 1]),
    );
    expect(again.code).to.not.equal(0);
    expect(again.stderr).to.match(/reverted with Challenges\w+/);
    expect((await cli("storage", "slash-missed", "0x12", "1")).stderr).to.match(
      /node '0x12' is not an EVM address/,
    );

    // Anyone reports the misses; each faulty node is slashed once (then jailed, so no longer challenged).
    const slashAmount = (await challenges.params()).slashAmount;
    let slashes = 1; // the lossy node's, reported with the CLI above
    for (const node of [lossy, offline]) {
      for (let epoch = firstEpoch; epoch <= lastEpoch; epoch++) {
        try {
          await (await challenges.slashMissed(node.address, epoch)).wait();
          slashes += 1;
        } catch {
          // no challenge that epoch (jailed already), or answered
        }
      }
      expect((await staking.positionOf(node.address, 0)).bonded, node.name).to.equal(
        parseEther("10") - slashAmount,
      );
    }
    expect(slashes).to.equal(2);
    expect((await staking.positionOf(honest.address, 0)).bonded).to.equal(parseEther("10"));

    // The honest node answered every epoch of the run and is paid from the pool.
    const answered: number[] = [];
    for (let epoch = firstEpoch; epoch <= lastEpoch; epoch++)
      if (await challenges.answered(honest.address, epoch)) answered.push(epoch);
    expect(answered.length).to.be.greaterThanOrEqual(2);
    const asHonest = challenges.connect(devAccount(300).connect(hre.ethers.provider));
    const receipt = await (await asHonest.claim(answered)).wait();
    const claimed = receipt!.logs
      .map((log) => challenges.interface.parseLog(log))
      .filter((event) => event?.name === "RewardClaimed")
      .reduce((sum, event) => sum + (event!.args.amount as bigint), 0n);
    expect(claimed).to.be.greaterThan(0n);

    // Conservation: the pool plus what was paid out is exactly what the upload paid.
    expect((await market.rewardPool()) + claimed).to.equal(poolBefore + fees);
    expect(await hre.ethers.provider.getBalance(record.modules.Market.address)).to.equal(
      await market.rewardPool(),
    );

    await honest.handle.stop();
    await lossy.handle.stop();
  });

  it("under a full-speed upload, every challenge of an honest node is answered within its window", async () => {
    const [governance] = await hre.ethers.getSigners();
    const challenges = StorageChallenges__factory.connect(
      record.modules.StorageChallenges.address,
      governance,
    );
    const nodes: TestStorageNode[] = [];
    for (let n = 0; n < 3; n++)
      nodes.push(await startStakedStorageNode(record, rpc.url, 320 + n, { region: "loaded" }));
    const user = devAccount(330);
    await (await governance.sendTransaction({ to: user.address, value: parseEther("100") })).wait();
    const chain = await ZgChain.connect({
      network: "localhost",
      rpcUrl: rpc.url,
      expectedChainId: 31337,
      registry: record.registry,
      key: { kind: "privateKey", privateKey: user.privateKey },
    });
    // Blocks keep coming besides the uploads' own, as on the devnet.
    let mining = true;
    const miner = (async () => {
      while (mining) {
        await hre.network.provider.send("evm_mine", []);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    try {
      const client = await StorageClient.connect(chain);
      await client.upload(randomBytes(2 * 262_144), { region: "loaded", replicas: 3 });
      // Every node declares the first file, so every node is challenged from the next epoch on.
      await until(
        async () => Promise.all(nodes.map((node) => challenges.declaredRoots(node.address))),
        (declared) => declared.every((roots) => roots.length > 0),
        60_000,
      );
      const { epochBlocks } = await challenges.params();
      const firstEpoch = Number(await challenges.currentEpoch()) + 1;
      // Upload at full speed for four epochs.
      let uploads = 0;
      while (Number(await challenges.currentEpoch()) < firstEpoch + 4) {
        await client.upload(randomBytes(4 * 262_144 + uploads), { region: "loaded", replicas: 3 });
        uploads += 1;
      }
      const lastEpoch = firstEpoch + 3;
      // The last window closes.
      await until(
        async () => Number(await challenges.currentEpoch()),
        (epoch) => epoch >= lastEpoch + 2,
        120_000,
      );
      const missed: string[] = [];
      let challenged = 0;
      for (const node of nodes) {
        for (let epoch = firstEpoch; epoch <= lastEpoch; epoch++) {
          const challenge = await challenges.challengeOf(node.address, epoch).catch(() => undefined);
          if (!challenge?.active) continue;
          challenged += 1;
          if (!(await challenges.answered(node.address, epoch)))
            missed.push(`${node.address} epoch ${epoch}`);
        }
      }
      expect(uploads, "uploads during the run").to.be.greaterThan(1);
      expect(
        challenged,
        `challenges in ${lastEpoch - firstEpoch + 1} epochs of ${epochBlocks} blocks`,
      ).to.be.greaterThanOrEqual(nodes.length * 3);
      expect(missed, "honest answers that missed their window").to.deep.equal([]);
    } finally {
      mining = false;
      await miner;
      chain.destroy();
      for (const node of nodes) await node.handle.stop();
    }
  });
});

import type { Server } from "node:http";
import { expect } from "chai";
import { parseEther } from "ethers";
import hre from "hardhat";
import { ZgChain } from "../../offchain/core/chain";
import type { DeploymentRecord } from "../../offchain/core/deployments";
import { NodeStaking__factory } from "../../typechain-types";
import { deployForTest, devAccount, startRpc, tempDir, type TestRpc } from "../helpers/chain";
import { limitedRpc } from "../helpers/limited-rpc";

/** Logs the SDK needs are read since the deployment, in ranges an endpoint that caps eth_getLogs accepts. */
describe("ZgChain.findEvents: logs through an endpoint that caps eth_getLogs", function () {
  this.timeout(120_000);
  let rpc: TestRpc;
  let record: DeploymentRecord;
  let limited: { url: string; refused: number; server: Server };
  const operators = [devAccount(230), devAccount(231), devAccount(232)];

  before(async () => {
    rpc = await startRpc();
    record = await deployForTest("storage-only");
    // Three operators stake, 40 blocks apart, so that their events span far more than one allowed range.
    const [funder] = await hre.ethers.getSigners();
    const staking = NodeStaking__factory.connect(record.modules.NodeStaking.address, funder);
    for (const operator of operators) {
      // Blocks mined one by one (the state of blocks that hardhat_mine skips over is not kept for getCode).
      for (let i = 0; i < 40; i++) await hre.network.provider.send("evm_mine", []);
      await (await funder.sendTransaction({ to: operator.address, value: parseEther("20") })).wait();
      await (
        await staking.connect(operator.connect(hre.ethers.provider)).stake(0, { value: parseEther("10") })
      ).wait();
    }
    limited = await limitedRpc(rpc.url, 16);
  });
  after(async () => {
    await new Promise((resolve) => limited.server.close(resolve));
    await rpc.close();
  });

  async function connect(url: string): Promise<ZgChain> {
    return ZgChain.connect({
      network: "localhost",
      rpcUrl: url,
      expectedChainId: 31337,
      registry: record.registry,
    });
  }

  it("finds every event of a contract, and only those an indexed argument names, oldest first", async () => {
    const chain = await connect(limited.url);
    try {
      const staking = NodeStaking__factory.connect(record.modules.NodeStaking.address, chain.provider);
      const refusedBefore = limited.refused;
      const all = await chain.findEvents(staking, staking.filters.Staked());
      expect(all.map((event) => event.args.operator)).to.deep.equal(operators.map((o) => o.address));
      expect(all.every((event) => event.name === "Staked")).to.equal(true);
      const blocks = all.map((event) => event.blockNumber);
      expect([...blocks].sort((a, b) => a - b)).to.deep.equal(blocks);
      // The endpoint refused the first, wide, range: the reader split it until it passed.
      expect(limited.refused).to.be.greaterThan(refusedBefore);

      const one = await chain.findEvents(staking, staking.filters.Staked(operators[1].address));
      expect(one).to.have.lengthOf(1);
      expect(one[0]).to.include({ blockNumber: all[1].blockNumber, transactionHash: all[1].transactionHash });

      // Without a filter: every event of the contract the interface knows, the three stakes among them.
      const everything = await chain.findEvents(staking);
      expect(everything.filter((event) => event.name === "Staked")).to.have.lengthOf(3);
      expect(everything.length).to.be.greaterThan(3);
    } finally {
      chain.destroy();
    }
  });

  it("the same events as one query over the whole chain where the endpoint allows it", async () => {
    const chain = await connect(rpc.url);
    try {
      const staking = NodeStaking__factory.connect(record.modules.NodeStaking.address, chain.provider);
      const found = await chain.findEvents(staking, staking.filters.Staked());
      const direct = await staking.queryFilter(staking.filters.Staked(), 0);
      expect(found.map((event) => [event.blockNumber, event.transactionHash])).to.deep.equal(
        direct.map((event) => [event.blockNumber, event.transactionHash]),
      );
    } finally {
      chain.destroy();
    }
  });

  it("without a deployment record, reads from the block the registry's code appeared in", async () => {
    const saved = process.env.ZG_DEPLOYMENTS_DIR;
    process.env.ZG_DEPLOYMENTS_DIR = tempDir("no-record");
    try {
      const chain = await connect(rpc.url);
      try {
        const start = await chain.deploymentStart();
        expect(await chain.provider.getCode(record.registry, start)).to.not.equal("0x");
        expect(await chain.provider.getCode(record.registry, start - 1)).to.equal("0x");
        const staking = NodeStaking__factory.connect(record.modules.NodeStaking.address, chain.provider);
        expect(await chain.findEvents(staking, staking.filters.Staked())).to.have.lengthOf(3);
      } finally {
        chain.destroy();
      }
    } finally {
      process.env.ZG_DEPLOYMENTS_DIR = saved;
    }
  });
});

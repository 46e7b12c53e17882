import { expect } from "chai";
import { ethers, ignition } from "hardhat";
import { DisputesModule } from "../../offchain/alignment/ignition-disputes";

describe("DisputesModule (Ignition)", function () {
  it("deploys Disputes and AlignmentRewards behind proxies, registers them and authorizes Disputes to slash", async function () {
    const parameters = {
      alignment_disputes: {
        bond: ethers.parseEther("0.5").toString(),
        votingBlocks: 30,
        quorum: 4,
        clip: 3,
        slashAmount: ethers.parseEther("2").toString(),
        epochBlocks: 50,
      },
    };
    const { registry, disputes, rewards } = await ignition.deploy(DisputesModule, { parameters });
    const name = (s: string) => ethers.encodeBytes32String(s);
    expect(await registry.getModule(name("Disputes"))).to.equal(await disputes.getAddress());
    expect(await registry.getModule(name("AlignmentRewards"))).to.equal(await rewards.getAddress());
    expect(await registry.slasherAllowed(name("Disputes"))).to.equal(true);
    expect(await registry.moduleVersion(name("Disputes"))).to.equal("1.0.0");
    const p = await disputes.params();
    expect([p.bond, p.votingBlocks, p.quorum, p.clip, p.slashAmount]).to.deep.equal([
      ethers.parseEther("0.5"),
      30n,
      4n,
      3n,
      ethers.parseEther("2"),
    ]);
    expect(await rewards.epochBlocks()).to.equal(50n);
  });
});

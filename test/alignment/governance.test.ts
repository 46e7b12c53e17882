import { expect } from "chai";
import hre from "hardhat";
import { mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { encodeBytes32String, id, keccak256, toUtf8Bytes, ZeroAddress } from "ethers";
import { deployProfile } from "../../deploy/deploy-profile";
import { alignment } from "../../offchain/alignment/module";
import { handOverToTimelock } from "../../offchain/alignment/handover";
import type { DeploymentRecord } from "../../offchain/core/deployments";
import { MODULES } from "../../offchain/modules";
import { loadProfile } from "../../offchain/profiles";
import {
  AlignmentGovernor__factory,
  AlignmentLicense__factory,
  AlignmentTimelock__factory,
  DASigners__factory,
  Market__factory,
  ModuleRegistry__factory,
} from "../../typechain-types";
import { deployForTest, tempDir } from "../helpers/chain";

const PROPOSAL_STATE = { Pending: 0n, Active: 1n, Succeeded: 4n, Queued: 5n, Executed: 7n };

async function roles(timelockAddress: string) {
  const timelock = AlignmentTimelock__factory.connect(timelockAddress, hre.ethers.provider);
  return {
    timelock,
    all: await Promise.all([
      timelock.PROPOSER_ROLE(),
      timelock.EXECUTOR_ROLE(),
      timelock.CANCELLER_ROLE(),
      timelock.DEFAULT_ADMIN_ROLE(),
    ]),
  };
}

describe("alignment governance (governed profile)", function () {
  this.timeout(300_000);
  let record: DeploymentRecord;
  const section = loadProfile("governed").modules.alignment as {
    governance: { timelockDelaySeconds: number };
  };

  before(async () => {
    record = await deployForTest("governed");
  });

  it("deploys every alignment contract and registers it; the registry owner is the timelock", async () => {
    for (const contract of ["AlignmentLicense", "AlignmentPolicy", "AlignmentGovernor", "AlignmentTimelock"])
      expect(record.modules, contract).to.have.property(contract);
    const registry = ModuleRegistry__factory.connect(record.registry, hre.ethers.provider);
    expect(await registry.owner()).to.equal(record.modules.AlignmentTimelock.address);
    expect(await registry.pendingOwner()).to.equal(ZeroAddress);
    const governor = AlignmentGovernor__factory.connect(
      record.modules.AlignmentGovernor.address,
      hre.ethers.provider,
    );
    expect(await governor.token()).to.equal(record.modules.AlignmentLicense.address);
    expect(await governor.timelock()).to.equal(record.modules.AlignmentTimelock.address);
    expect(await governor.votingDelay()).to.equal(1n);
    expect(await governor.votingPeriod()).to.equal(10n);
    expect(await governor.proposalThreshold()).to.equal(1n);
    expect(await governor["quorumNumerator()"]()).to.equal(4n);
  });

  it("the deployer holds no timelock role; the governor proposes and cancels, anyone executes; the delay is the profile's", async () => {
    const [deployer] = await hre.ethers.getSigners();
    const { timelock, all } = await roles(record.modules.AlignmentTimelock.address);
    for (const role of all) expect(await timelock.hasRole(role, deployer.address), role).to.equal(false);
    const [proposer, executor, canceller, admin] = all;
    const governor = record.modules.AlignmentGovernor.address;
    expect(await timelock.hasRole(proposer, governor)).to.equal(true);
    expect(await timelock.hasRole(canceller, governor)).to.equal(true);
    expect(await timelock.hasRole(executor, ZeroAddress)).to.equal(true);
    expect(await timelock.hasRole(admin, await timelock.getAddress())).to.equal(true);
    expect(await timelock.getMinDelay()).to.equal(10n);
  });

  it("the deployer can no longer change a module parameter, nor the registry", async () => {
    const [deployer] = await hre.ethers.getSigners();
    const market = Market__factory.connect(record.modules.Market.address, deployer);
    await expect(market.setPricePerSector(1n))
      .to.be.revertedWithCustomError(market, "MarketNotGovernance")
      .withArgs(deployer.address);
    const signers = DASigners__factory.connect(record.modules.DASigners.address, deployer);
    await expect(signers.setEpochBlocks(50n)).to.be.revertedWithCustomError(
      signers,
      "DASignersNotGovernance",
    );
    const registry = ModuleRegistry__factory.connect(record.registry, deployer);
    await expect(
      registry.setModule(encodeBytes32String("X"), deployer.address, "1"),
    ).to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount");
  });

  it("license holders change the Market price: propose → vote → queue → (delay) → execute", async () => {
    const [deployer, alice, bob, carol] = await hre.ethers.getSigners();
    const license = AlignmentLicense__factory.connect(record.modules.AlignmentLicense.address, deployer);
    for (const holder of [alice, bob, carol]) await (await license.mint(holder.address)).wait();
    await mine();
    const governor = AlignmentGovernor__factory.connect(record.modules.AlignmentGovernor.address, alice);
    const market = Market__factory.connect(record.modules.Market.address, hre.ethers.provider);
    const newPrice = (await market.pricePerSector()) * 2n;
    const targets = [record.modules.Market.address];
    const values = [0n];
    const calldatas = [market.interface.encodeFunctionData("setPricePerSector", [newPrice])];
    const description = "Double the storage price";
    const descriptionHash = keccak256(toUtf8Bytes(description));
    const proposalId = await governor.hashProposal(targets, values, calldatas, descriptionHash);

    // A holder of no license cannot propose (threshold 1).
    const [, , , , nobody] = await hre.ethers.getSigners();
    await expect(
      governor.connect(nobody).propose(targets, values, calldatas, description),
    ).to.be.revertedWithCustomError(governor, "GovernorInsufficientProposerVotes");

    await expect(governor.propose(targets, values, calldatas, description)).to.emit(
      governor,
      "ProposalCreated",
    );
    expect(await governor.state(proposalId)).to.equal(PROPOSAL_STATE.Pending);
    await mine(2);
    expect(await governor.state(proposalId)).to.equal(PROPOSAL_STATE.Active);
    await (await governor.connect(alice).castVote(proposalId, 1)).wait();
    await (await governor.connect(bob).castVoteWithReason(proposalId, 1, "fine")).wait();
    await (await governor.connect(carol).castVote(proposalId, 0)).wait();
    await expect(governor.connect(carol).castVote(proposalId, 1)).to.be.revertedWithCustomError(
      governor,
      "GovernorAlreadyCastVote",
    );
    await expect(governor.connect(deployer).castVote(proposalId, 3)).to.be.revertedWithCustomError(
      governor,
      "GovernorInvalidVoteType",
    );
    expect(await governor.hasVoted(proposalId, carol.address)).to.equal(true);
    expect(await governor.hasVoted(proposalId, deployer.address)).to.equal(false);
    expect(await governor.COUNTING_MODE()).to.equal("support=bravo&quorum=for,abstain");
    expect(await governor.proposalVotes(proposalId)).to.deep.equal([1n, 2n, 0n]);
    await mine(10);
    expect(await governor.state(proposalId)).to.equal(PROPOSAL_STATE.Succeeded);

    await (await governor.queue(targets, values, calldatas, descriptionHash)).wait();
    expect(await governor.state(proposalId)).to.equal(PROPOSAL_STATE.Queued);
    // Before the delay the timelock refuses.
    await expect(governor.execute(targets, values, calldatas, descriptionHash)).to.be.reverted;
    await time.increase(section.governance.timelockDelaySeconds + 1);
    await (await governor.connect(carol).execute(targets, values, calldatas, descriptionHash)).wait();
    expect(await governor.state(proposalId)).to.equal(PROPOSAL_STATE.Executed);
    expect(await market.pricePerSector()).to.equal(newPrice);
  });

  it("the handover is idempotent: running it again on the deployed chain changes nothing", async () => {
    const [deployer] = await hre.ethers.getSigners();
    const result = await handOverToTimelock(
      record.registry,
      deployer,
      section.governance.timelockDelaySeconds,
    );
    expect(result.changed).to.equal(false);
    // And through the manifest's hook, as deploy runs it.
    await alignment.afterDeploy(loadProfile("governed").modules.alignment as never, {
      registry: record.registry,
      signer: deployer,
      chainId: 31337,
    });
  });

  it("an interrupted handover (ownership offered, nothing accepted) is finished by a re-run, then only verified", async () => {
    const [deployer] = await hre.ethers.getSigners();
    // Deploy the governed profile without the hook, then do only the first step by hand.
    const noHook = MODULES.map((m) => (m.name === "alignment" ? { ...m, afterDeploy: undefined } : m));
    const fresh = await deployProfile(hre, "governed", `${tempDir("deployments")}/31337.json`, noHook);
    const registry = ModuleRegistry__factory.connect(fresh.registry, deployer);
    expect(await registry.owner()).to.equal(deployer.address);
    await (await registry.transferOwnership(fresh.modules.AlignmentTimelock.address)).wait();
    // The timelock also has an operation scheduled but not executed (the crash came between schedule and execute).
    const timelock = AlignmentTimelock__factory.connect(fresh.modules.AlignmentTimelock.address, deployer);
    const targets = [fresh.registry, fresh.modules.AlignmentTimelock.address];
    const payloads = [
      registry.interface.encodeFunctionData("acceptOwnership"),
      timelock.interface.encodeFunctionData("updateDelay", [60n]),
    ];
    await (
      await timelock.scheduleBatch(
        targets,
        [0n, 0n],
        payloads,
        hre.ethers.ZeroHash,
        id("zerog-stack alignment handover"),
        0n,
      )
    ).wait();
    const first = await handOverToTimelock(fresh.registry, deployer, 60);
    expect(first.changed).to.equal(true);
    expect(await registry.owner()).to.equal(fresh.modules.AlignmentTimelock.address);
    const second = await handOverToTimelock(fresh.registry, deployer, 60);
    expect(second.changed).to.equal(false);
  });

  it("a registry owned by someone else is refused with one line", async () => {
    const [deployer, stranger] = await hre.ethers.getSigners();
    const noHook = MODULES.map((m) => (m.name === "alignment" ? { ...m, afterDeploy: undefined } : m));
    const fresh = await deployProfile(hre, "governed", `${tempDir("deployments")}/31337.json`, noHook);
    const registry = ModuleRegistry__factory.connect(fresh.registry, deployer);
    await (await registry.transferOwnership(stranger.address)).wait();
    await (await registry.connect(stranger).acceptOwnership()).wait();
    await expect(handOverToTimelock(fresh.registry, deployer, 60)).to.be.rejectedWith(
      /^alignment handover: the registry is owned by 0x[0-9a-fA-F]{40}, neither the deployer/,
    );
  });

  it("full (no governance) still deploys: the deployer governs, no governor or timelock", async () => {
    const full = await deployForTest("full");
    const registry = ModuleRegistry__factory.connect(full.registry, hre.ethers.provider);
    const [deployer] = await hre.ethers.getSigners();
    expect(await registry.owner()).to.equal(deployer.address);
    expect(full.modules).to.have.property("AlignmentLicense");
    expect(full.modules).to.have.property("AlignmentPolicy");
    expect(full.modules).to.not.have.property("AlignmentGovernor");
    expect(full.modules).to.not.have.property("AlignmentTimelock");
    const license = AlignmentLicense__factory.connect(
      full.modules.AlignmentLicense.address,
      hre.ethers.provider,
    );
    expect(await license.maxSupply()).to.equal(1000n);
    expect(await license.minter()).to.equal(deployer.address);
  });
});

import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  AlignmentLicense__factory,
  AlignmentPolicy__factory,
  type AlignmentLicense,
  type AlignmentPolicy,
} from "../../typechain-types";
import { deployStakingFixture, MIN_STAKES, Role, type StakingFixture } from "../helpers/staking-fixture";

const MAX_SUPPLY = 3;
const SOULBOUND = 30 * 24 * 3600;

interface Fixture extends StakingFixture {
  license: AlignmentLicense;
  /** A license with no soulbound period. */
  free: AlignmentLicense;
  policy: AlignmentPolicy;
  minter: Awaited<ReturnType<typeof ethers.getSigners>>[number];
}

async function deploy(): Promise<Fixture> {
  const f = await deployStakingFixture();
  const signers = await ethers.getSigners();
  const minter = signers[9];
  const registry = await f.registry.getAddress();
  const license = await new AlignmentLicense__factory(f.governance).deploy(
    registry,
    MAX_SUPPLY,
    SOULBOUND,
    minter.address,
  );
  const free = await new AlignmentLicense__factory(f.governance).deploy(registry, 100, 0, minter.address);
  const policy = await new AlignmentPolicy__factory(f.governance).deploy(registry);
  // carol is an active ALIGNMENT operator; bob is a member of STORAGE only.
  await (
    await f.staking.connect(f.carol).stake(Role.ALIGNMENT, { value: MIN_STAKES[Role.ALIGNMENT] })
  ).wait();
  await (await f.staking.connect(f.bob).stake(Role.STORAGE, { value: MIN_STAKES[Role.STORAGE] })).wait();
  return { ...f, license, free, policy, minter };
}

describe("AlignmentLicense", () => {
  describe("deployment", () => {
    it("records the cap, the soulbound period, the minter and the registry; ERC-6372 block-number clock", async () => {
      const { license, minter, registry } = await loadFixture(deploy);
      const deployedAt = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
      expect(await license.maxSupply()).to.equal(MAX_SUPPLY);
      expect(await license.totalMinted()).to.equal(0n);
      expect(await license.minter()).to.equal(minter.address);
      expect(await license.registry()).to.equal(await registry.getAddress());
      expect(await license.transferableAfter()).to.be.closeTo(deployedAt + BigInt(SOULBOUND), 10n);
      expect(await license.name()).to.equal("zerog Alignment License");
      expect(await license.symbol()).to.equal("ZGAL");
      expect(await license.CLOCK_MODE()).to.equal("mode=blocknumber&from=default");
      expect(await license.clock()).to.equal(await ethers.provider.getBlockNumber());
    });

    it("refuses a zero registry and a zero cap", async () => {
      const [deployer] = await ethers.getSigners();
      const factory = new AlignmentLicense__factory(deployer);
      await expect(factory.deploy(ethers.ZeroAddress, 1, 0, deployer.address)).to.be.revertedWithCustomError(
        factory,
        "LicenseZeroAddress",
      );
      await expect(factory.deploy(deployer.address, 0, 0, deployer.address)).to.be.revertedWithCustomError(
        factory,
        "LicenseZeroSupply",
      );
    });
  });

  describe("minting", () => {
    it("the minter and governance mint ids 1, 2, 3 up to the cap; then LicenseSupplyCapped", async () => {
      const { license, minter, governance, alice } = await loadFixture(deploy);
      await expect(license.connect(minter).mint(alice.address))
        .to.emit(license, "Transfer")
        .withArgs(ethers.ZeroAddress, alice.address, 1n);
      await (await license.connect(governance).mint(alice.address)).wait();
      await (await license.connect(minter).mint(alice.address)).wait();
      expect(await license.totalMinted()).to.equal(3n);
      expect(await license.balanceOf(alice.address)).to.equal(3n);
      await expect(license.connect(governance).mint(alice.address))
        .to.be.revertedWithCustomError(license, "LicenseSupplyCapped")
        .withArgs(MAX_SUPPLY);
    });

    it("anyone else is refused with LicenseNotMinter; minting to zero is refused", async () => {
      const { license, minter, stranger } = await loadFixture(deploy);
      await expect(license.connect(stranger).mint(stranger.address))
        .to.be.revertedWithCustomError(license, "LicenseNotMinter")
        .withArgs(stranger.address);
      await expect(license.connect(minter).mint(ethers.ZeroAddress))
        .to.be.revertedWithCustomError(license, "ERC721InvalidReceiver")
        .withArgs(ethers.ZeroAddress);
    });

    it("renounceMinter: only the minter, once; governance still mints", async () => {
      const { license, minter, governance, stranger, alice } = await loadFixture(deploy);
      await expect(license.connect(stranger).renounceMinter())
        .to.be.revertedWithCustomError(license, "LicenseNotMinter")
        .withArgs(stranger.address);
      await expect(license.connect(minter).renounceMinter())
        .to.emit(license, "MinterRenounced")
        .withArgs(minter.address);
      expect(await license.minter()).to.equal(ethers.ZeroAddress);
      await expect(license.connect(minter).renounceMinter()).to.be.revertedWithCustomError(
        license,
        "LicenseNotMinter",
      );
      await expect(license.connect(minter).mint(alice.address)).to.be.revertedWithCustomError(
        license,
        "LicenseNotMinter",
      );
      await (await license.connect(governance).mint(alice.address)).wait();
      expect(await license.ownerOf(1n)).to.equal(alice.address);
    });
  });

  describe("votes", () => {
    it("a receiver with no delegate is self-delegated at mint: one vote per license, checkpointed", async () => {
      const { license, minter, alice } = await loadFixture(deploy);
      await expect(license.connect(minter).mint(alice.address))
        .to.emit(license, "DelegateChanged")
        .withArgs(alice.address, ethers.ZeroAddress, alice.address);
      const block = await ethers.provider.getBlockNumber();
      expect(await license.delegates(alice.address)).to.equal(alice.address);
      expect(await license.getVotes(alice.address)).to.equal(1n);
      await (await license.connect(minter).mint(alice.address)).wait();
      expect(await license.getVotes(alice.address)).to.equal(2n);
      await mine();
      expect(await license.getPastVotes(alice.address, block)).to.equal(1n);
      expect(await license.getPastTotalSupply(block)).to.equal(1n);
    });

    it("a holder's chosen delegate is kept when more licenses arrive", async () => {
      const { license, minter, alice, bob } = await loadFixture(deploy);
      await (await license.connect(minter).mint(alice.address)).wait();
      await (await license.connect(alice).delegate(bob.address)).wait();
      await expect(license.connect(minter).mint(alice.address)).to.not.emit(license, "DelegateChanged");
      expect(await license.getVotes(bob.address)).to.equal(2n);
      expect(await license.getVotes(alice.address)).to.equal(0n);
    });

    it("a transfer self-delegates the receiver and moves the vote", async () => {
      const { free, minter, alice, bob } = await loadFixture(deploy);
      await (await free.connect(minter).mint(alice.address)).wait();
      await expect(free.connect(alice).transferFrom(alice.address, bob.address, 1n))
        .to.emit(free, "DelegateChanged")
        .withArgs(bob.address, ethers.ZeroAddress, bob.address);
      expect(await free.getVotes(alice.address)).to.equal(0n);
      expect(await free.getVotes(bob.address)).to.equal(1n);
    });
  });

  describe("soulbound period", () => {
    it("transfers revert with LicenseSoulbound before transferableAfter and work from it", async () => {
      const { license, minter, alice, bob } = await loadFixture(deploy);
      await (await license.connect(minter).mint(alice.address)).wait();
      const after = await license.transferableAfter();
      await expect(license.connect(alice).transferFrom(alice.address, bob.address, 1n))
        .to.be.revertedWithCustomError(license, "LicenseSoulbound")
        .withArgs(1n, after);
      await expect(
        license.connect(alice)["safeTransferFrom(address,address,uint256)"](alice.address, bob.address, 1n),
      ).to.be.revertedWithCustomError(license, "LicenseSoulbound");
      await time.increaseTo(after);
      await (await license.connect(alice).transferFrom(alice.address, bob.address, 1n)).wait();
      expect(await license.ownerOf(1n)).to.equal(bob.address);
    });

    it("minting is allowed during the period", async () => {
      const { license, minter, alice } = await loadFixture(deploy);
      expect(await time.latest()).to.be.lessThan(Number(await license.transferableAfter()));
      await (await license.connect(minter).mint(alice.address)).wait();
      expect(await license.balanceOf(alice.address)).to.equal(1n);
    });
  });

  describe("operators", () => {
    it("the holder sets an active ALIGNMENT operator with a commission; isAuthorized: holder and operator", async () => {
      const { free, minter, alice, carol, stranger } = await loadFixture(deploy);
      await (await free.connect(minter).mint(alice.address)).wait();
      await expect(free.connect(alice).setOperator(1n, carol.address, 1500))
        .to.emit(free, "OperatorSet")
        .withArgs(1n, alice.address, carol.address, 1500);
      expect(await free.operatorOf(1n)).to.deep.equal([carol.address, 1500n]);
      expect(await free.isAuthorized(1n, alice.address)).to.equal(true);
      expect(await free.isAuthorized(1n, carol.address)).to.equal(true);
      expect(await free.isAuthorized(1n, stranger.address)).to.equal(false);
      expect(await free.isAuthorized(2n, ethers.ZeroAddress)).to.equal(false);
      expect(await free.isAuthorized(2n, alice.address)).to.equal(false);
    });

    it("clearOperator: only the holder; LicenseNoOperator when none", async () => {
      const { free, minter, alice, carol } = await loadFixture(deploy);
      await (await free.connect(minter).mint(alice.address)).wait();
      await expect(free.connect(alice).clearOperator(1n))
        .to.be.revertedWithCustomError(free, "LicenseNoOperator")
        .withArgs(1n);
      await (await free.connect(alice).setOperator(1n, carol.address, 0)).wait();
      await expect(free.connect(carol).clearOperator(1n))
        .to.be.revertedWithCustomError(free, "LicenseNotHolder")
        .withArgs(1n, carol.address);
      await expect(free.connect(alice).clearOperator(1n))
        .to.emit(free, "OperatorCleared")
        .withArgs(1n, carol.address);
      expect(await free.operatorOf(1n)).to.deep.equal([ethers.ZeroAddress, 0n]);
      expect(await free.isAuthorized(1n, carol.address)).to.equal(false);
      await expect(free.connect(alice).clearOperator(2n))
        .to.be.revertedWithCustomError(free, "ERC721NonexistentToken")
        .withArgs(2n);
    });

    it("a transfer clears the operator (OperatorCleared)", async () => {
      const { free, minter, alice, bob, carol } = await loadFixture(deploy);
      await (await free.connect(minter).mint(alice.address)).wait();
      await (await free.connect(alice).setOperator(1n, carol.address, 100)).wait();
      await expect(free.connect(alice).transferFrom(alice.address, bob.address, 1n))
        .to.emit(free, "OperatorCleared")
        .withArgs(1n, carol.address);
      expect(await free.operatorOf(1n)).to.deep.equal([ethers.ZeroAddress, 0n]);
      expect(await free.isAuthorized(1n, carol.address)).to.equal(false);
      expect(await free.isAuthorized(1n, bob.address)).to.equal(true);
    });

    it("refuses a non-holder, a zero operator, a commission over 10,000 bps, and an operator not active in ALIGNMENT", async () => {
      const { free, minter, alice, bob, carol, stranger, staking } = await loadFixture(deploy);
      await (await free.connect(minter).mint(alice.address)).wait();
      await expect(free.connect(stranger).setOperator(1n, carol.address, 0))
        .to.be.revertedWithCustomError(free, "LicenseNotHolder")
        .withArgs(1n, stranger.address);
      await expect(free.connect(alice).setOperator(1n, ethers.ZeroAddress, 0)).to.be.revertedWithCustomError(
        free,
        "LicenseZeroAddress",
      );
      await expect(free.connect(alice).setOperator(1n, carol.address, 10_001))
        .to.be.revertedWithCustomError(free, "LicenseCommissionTooHigh")
        .withArgs(10_001);
      await (await free.connect(alice).setOperator(1n, carol.address, 10_000)).wait();
      // bob stakes STORAGE, not ALIGNMENT; stranger stakes nothing.
      for (const who of [bob, stranger])
        await expect(free.connect(alice).setOperator(1n, who.address, 0))
          .to.be.revertedWithCustomError(free, "LicenseOperatorNotActive")
          .withArgs(who.address);
      // carol leaves ALIGNMENT: no longer accepted as a new operator.
      await (await staking.connect(carol).exit(Role.ALIGNMENT)).wait();
      await expect(free.connect(alice).setOperator(1n, carol.address, 0))
        .to.be.revertedWithCustomError(free, "LicenseOperatorNotActive")
        .withArgs(carol.address);
      await expect(free.connect(alice).setOperator(9n, carol.address, 0))
        .to.be.revertedWithCustomError(free, "ERC721NonexistentToken")
        .withArgs(9n);
    });
  });
});

describe("AlignmentPolicy", () => {
  const ROOT_1 = ethers.id("policy v1");
  const ROOT_2 = ethers.id("policy v2");

  it("no policy yet: version 0; policyAt refuses unknown versions", async () => {
    const { policy } = await loadFixture(deploy);
    expect(await policy.policy()).to.deep.equal([0n, ethers.ZeroHash, 0n, 0n]);
    expect(await policy.versions()).to.equal(0n);
    for (const version of [0n, 1n])
      await expect(policy.policyAt(version))
        .to.be.revertedWithCustomError(policy, "PolicyUnknownVersion")
        .withArgs(version);
  });

  it("governance appends versions (PolicySet); earlier ones stay readable", async () => {
    const { policy, governance } = await loadFixture(deploy);
    await expect(policy.connect(governance).setPolicy(ROOT_1, 1234))
      .to.emit(policy, "PolicySet")
      .withArgs(1n, ROOT_1, 1234n);
    const setAt1 = BigInt(await time.latest());
    await expect(policy.connect(governance).setPolicy(ROOT_2, 99))
      .to.emit(policy, "PolicySet")
      .withArgs(2n, ROOT_2, 99n);
    const setAt2 = BigInt(await time.latest());
    expect(await policy.policy()).to.deep.equal([2n, ROOT_2, 99n, setAt2]);
    expect(await policy.policyAt(1n)).to.deep.equal([ROOT_1, 1234n, setAt1]);
    expect(await policy.versions()).to.equal(2n);
    await expect(policy.policyAt(3n))
      .to.be.revertedWithCustomError(policy, "PolicyUnknownVersion")
      .withArgs(3n);
  });

  it("refuses anyone but governance, a zero root, a zero size, a zero registry", async () => {
    const { policy, governance, stranger } = await loadFixture(deploy);
    await expect(policy.connect(stranger).setPolicy(ROOT_1, 1))
      .to.be.revertedWithCustomError(policy, "PolicyNotGovernance")
      .withArgs(stranger.address);
    await expect(policy.connect(governance).setPolicy(ethers.ZeroHash, 1)).to.be.revertedWithCustomError(
      policy,
      "PolicyZeroRoot",
    );
    await expect(policy.connect(governance).setPolicy(ROOT_1, 0)).to.be.revertedWithCustomError(
      policy,
      "PolicyZeroSize",
    );
    const factory = new AlignmentPolicy__factory(governance);
    await expect(factory.deploy(ethers.ZeroAddress)).to.be.revertedWithCustomError(
      factory,
      "PolicyZeroAddress",
    );
  });
});

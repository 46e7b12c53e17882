import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import {
  AlignmentRewards__factory,
  Market__factory,
  TestCharger__factory,
  ZgProxy__factory,
} from "../../typechain-types";
import { Mode, VERSION } from "../helpers/staking-fixture";
import { SERVING_NAMES, deployLedger } from "../helpers/serving-fixture";
import {
  EPOCH_BLOCKS,
  deployAlignment,
  holders,
  nextEpoch,
  type AlignmentFixture,
  type Holder,
} from "./alignment-fixture";

interface Ready {
  f: AlignmentFixture;
  h: Holder[];
}

async function ready(mode: (typeof Mode)[keyof typeof Mode]): Promise<Ready> {
  const f = await deployAlignment(mode);
  const h = await holders(f, 4);
  // License 200 sits in another bitmap word than 1–4.
  await (await f.license.mint(h[0].account.address, 200n)).wait();
  await nextEpoch(f);
  return { f, h };
}
const nativeReady = () => ready(Mode.NATIVE);
const permissionedReady = () => ready(Mode.PERMISSIONED);

/**
 * Registers a ServingLedger (alignment share `bps`) and a TestCharger as "InferenceServing" in `f`'s registry, and
 * charges `fee` from the user's sub-account with the provider: `fee * bps / 10,000` is held for AlignmentRewards.
 */
async function withServingFees(f: AlignmentFixture, bps: number, fee: bigint) {
  const { ledger, ledgerAddress } = await deployLedger(f.governance, await f.registry.getAddress());
  const charger = await new TestCharger__factory(f.governance).deploy();
  await (await f.registry.setModule(SERVING_NAMES.ServingLedger, ledgerAddress, VERSION)).wait();
  await (
    await f.registry.setModule(SERVING_NAMES.InferenceServing, await charger.getAddress(), VERSION)
  ).wait();
  await (await ledger.setAlignmentShare(bps)).wait();
  await (await ledger.connect(f.user).deposit({ value: fee })).wait();
  await (await ledger.connect(f.user).fund(f.provider.address, fee)).wait();
  const charge = () =>
    charger.charge(ledgerAddress, f.provider.address, [{ user: f.user.address, amount: fee }]);
  return { ledger, ledgerAddress, charge };
}

/**
 * Registers a Market (price 1 wei a sector, alignment share `bps`) and `f.stranger` as its "Flow", and charges a
 * fee of `fee` wei: `fee * bps / 10,000` is held for AlignmentRewards.
 */
async function withStorageFees(f: AlignmentFixture, bps: number, fee: bigint) {
  const implementation = await new Market__factory(f.governance).deploy();
  const init = implementation.interface.encodeFunctionData("initialize", [await f.registry.getAddress(), 1n]);
  const proxy = await new ZgProxy__factory(f.governance).deploy(await implementation.getAddress(), init);
  const marketAddress = await proxy.getAddress();
  const market = Market__factory.connect(marketAddress, f.governance);
  await (await f.registry.setModule(ethers.encodeBytes32String("Market"), marketAddress, VERSION)).wait();
  await (await f.registry.setModule(ethers.encodeBytes32String("Flow"), f.stranger.address, VERSION)).wait();
  await (await market.setAlignmentShare(bps)).wait();
  await (await market.connect(f.stranger).chargeFee(0, fee, 0, { value: fee })).wait();
  return { market, marketAddress };
}

describe("AlignmentRewards", function () {
  describe("setup and governance", function () {
    it("the implementation cannot be initialized; zero registry and short epochs are refused", async function () {
      const { f } = await loadFixture(nativeReady);
      const registry = await f.registry.getAddress();
      await expect(f.rewardsImplementation.initialize(registry, 10)).to.be.revertedWithCustomError(
        f.rewardsImplementation,
        "InvalidInitialization",
      );
      const factory = new ZgProxy__factory(f.governance);
      const impl = await f.rewardsImplementation.getAddress();
      const iface = AlignmentRewards__factory.createInterface();
      await expect(
        factory.deploy(impl, iface.encodeFunctionData("initialize", [ethers.ZeroAddress, 10])),
      ).to.be.revertedWithCustomError(f.rewards, "RewardsZeroAddress");
      await expect(factory.deploy(impl, iface.encodeFunctionData("initialize", [registry, 1])))
        .to.be.revertedWithCustomError(f.rewards, "RewardsInvalidEpochBlocks")
        .withArgs(1n);
    });

    it("setEpochBlocks: governance only, ≥ 2, keeps the current epoch's number and start", async function () {
      const { f } = await loadFixture(nativeReady);
      await expect(f.rewards.connect(f.stranger).setEpochBlocks(5))
        .to.be.revertedWithCustomError(f.rewards, "RewardsNotGovernance")
        .withArgs(f.stranger.address);
      await expect(f.rewards.setEpochBlocks(1))
        .to.be.revertedWithCustomError(f.rewards, "RewardsInvalidEpochBlocks")
        .withArgs(1n);
      const epoch = await f.rewards.currentEpoch();
      const start = (await f.rewards.nextEpochStart()) - BigInt(EPOCH_BLOCKS);
      await expect(f.rewards.setEpochBlocks(50)).to.emit(f.rewards, "EpochBlocksSet").withArgs(50n);
      expect(await f.rewards.currentEpoch()).to.equal(epoch);
      expect(await f.rewards.epochBlocks()).to.equal(50n);
      expect(await f.rewards.nextEpochStart()).to.equal(start + 50n);
      await expect(
        f.rewards.connect(f.stranger).upgradeToAndCall(await f.rewardsImplementation.getAddress(), "0x"),
      ).to.be.revertedWithCustomError(f.rewards, "RewardsNotGovernance");
    });
  });

  describe("attest", function () {
    it("one transaction covers every license a node runs, each once per epoch", async function () {
      const { f, h } = await loadFixture(nativeReady);
      const epoch = await f.rewards.currentEpoch();
      // The holder of 1 and 200 attests both; an operator runs 2 and 3 and attests them in one call.
      await expect(f.rewards.connect(h[0].account).attest([h[0].licenseId, 200n]))
        .to.emit(f.rewards, "LivenessAttested")
        .withArgs(epoch, h[0].account.address, [h[0].licenseId, 200n]);
      for (const x of h.slice(1, 3)) {
        await (await f.license.connect(x.account).setOperator(x.licenseId, f.user.address, 1000)).wait();
      }
      await (await f.rewards.connect(f.user).attest([h[1].licenseId, h[2].licenseId])).wait();
      expect(await f.rewards.epochOf(epoch)).to.deep.equal([0n, 4n, 4n]);
      expect(await f.rewards.licenseOf(epoch, 200n)).to.deep.equal([true, false]);
      expect(await f.rewards.licenseOf(epoch, h[3].licenseId)).to.deep.equal([false, false]);
      await expect(f.rewards.connect(h[0].account).attest([200n]))
        .to.be.revertedWithCustomError(f.rewards, "RewardsAlreadyAttested")
        .withArgs(epoch, 200n);
      await expect(f.rewards.connect(h[3].account).attest([h[3].licenseId, h[3].licenseId]))
        .to.be.revertedWithCustomError(f.rewards, "RewardsAlreadyAttested")
        .withArgs(epoch, h[3].licenseId);
      await nextEpoch(f);
      await expect(f.rewards.connect(h[0].account).attest([200n])).to.emit(f.rewards, "LivenessAttested");
    });

    it("refuses an empty list and licenses the caller neither holds nor runs", async function () {
      const { f, h } = await loadFixture(nativeReady);
      await expect(f.rewards.connect(h[0].account).attest([])).to.be.revertedWithCustomError(
        f.rewards,
        "RewardsNoLicenses",
      );
      await expect(f.rewards.connect(h[0].account).attest([h[0].licenseId, h[1].licenseId]))
        .to.be.revertedWithCustomError(f.rewards, "RewardsNotAuthorized")
        .withArgs(h[1].licenseId, h[0].account.address);
    });
  });

  describe("fund, claim, rollover", function () {
    it("splits the pool among the epoch's live licenses, the operator's commission to the operator", async function () {
      const { f, h } = await loadFixture(nativeReady);
      const epoch = await f.rewards.currentEpoch();
      await expect(f.rewards.connect(f.stranger).fund({ value: 1000n }))
        .to.emit(f.rewards, "Funded")
        .withArgs(epoch, f.stranger.address, 1000n);
      await expect(f.stranger.sendTransaction({ to: f.rewardsAddress, value: 1n }))
        .to.emit(f.rewards, "Funded")
        .withArgs(epoch, f.stranger.address, 1n);
      await expect(f.rewards.fund({ value: 0n })).to.be.revertedWithCustomError(
        f.rewards,
        "RewardsZeroAmount",
      );
      await (await f.license.connect(h[1].account).setOperator(h[1].licenseId, f.user.address, 2000)).wait();
      await (await f.rewards.connect(h[0].account).attest([h[0].licenseId, 200n])).wait();
      await (await f.rewards.connect(f.user).attest([h[1].licenseId])).wait();
      await expect(f.rewards.claim(epoch, h[0].licenseId))
        .to.be.revertedWithCustomError(f.rewards, "RewardsEpochNotEnded")
        .withArgs(epoch, epoch);
      await nextEpoch(f);
      // 1001 over 3: 333, then 668 / 2 = 334 (20% commission: 66), then the last 334.
      await expect(f.rewards.claim(epoch, h[0].licenseId))
        .to.emit(f.rewards, "RewardClaimed")
        .withArgs(epoch, h[0].licenseId, h[0].account.address, 333n, ethers.ZeroAddress, 0n);
      await expect(f.rewards.claim(epoch, h[1].licenseId)).to.changeEtherBalances(
        [h[1].account, f.user],
        [268n, 66n],
      );
      await expect(f.rewards.claim(epoch, h[1].licenseId))
        .to.be.revertedWithCustomError(f.rewards, "RewardsAlreadyClaimed")
        .withArgs(epoch, h[1].licenseId);
      await expect(f.rewards.claim(epoch, h[2].licenseId))
        .to.be.revertedWithCustomError(f.rewards, "RewardsNotLive")
        .withArgs(epoch, h[2].licenseId);
      await expect(f.rewards.claim(epoch, 200n)).to.changeEtherBalance(h[0].account, 334n);
      expect(await f.rewards.epochOf(epoch)).to.deep.equal([0n, 3n, 0n]);
      expect(await ethers.provider.getBalance(f.rewardsAddress)).to.equal(0n);
    });

    it("a failed payment reverts the claim", async function () {
      const { f, h } = await loadFixture(nativeReady);
      const epoch = await f.rewards.currentEpoch();
      await (await f.rewards.fund({ value: 10n })).wait();
      await (await f.rewards.connect(h[0].account).attest([h[0].licenseId])).wait();
      const registry = await f.registry.getAddress();
      await (await f.license.connect(h[0].account).transfer(h[0].licenseId, registry)).wait();
      await nextEpoch(f);
      await expect(f.rewards.claim(epoch, h[0].licenseId))
        .to.be.revertedWithCustomError(f.rewards, "RewardsTransferFailed")
        .withArgs(registry, 10n);
    });

    it("an epoch with no live license rolls its pool over to the current epoch", async function () {
      const { f, h } = await loadFixture(nativeReady);
      const epoch = await f.rewards.currentEpoch();
      await (await f.rewards.fund({ value: 50n })).wait();
      await expect(f.rewards.rollover(epoch))
        .to.be.revertedWithCustomError(f.rewards, "RewardsEpochNotEnded")
        .withArgs(epoch, epoch);
      await nextEpoch(f);
      await expect(f.rewards.rollover(epoch))
        .to.emit(f.rewards, "RolledOver")
        .withArgs(epoch, epoch + 1n, 50n);
      await expect(f.rewards.rollover(epoch))
        .to.be.revertedWithCustomError(f.rewards, "RewardsNothingToRollOver")
        .withArgs(epoch);
      // An epoch with live licenses does not roll over.
      await (await f.rewards.connect(h[0].account).attest([h[0].licenseId])).wait();
      await mine(EPOCH_BLOCKS);
      await expect(f.rewards.rollover(epoch + 1n))
        .to.be.revertedWithCustomError(f.rewards, "RewardsNothingToRollOver")
        .withArgs(epoch + 1n);
      await expect(f.rewards.claim(epoch + 1n, h[0].licenseId)).to.changeEtherBalance(h[0].account, 50n);
    });

    it("collect: pulls the alignment share of serving fees into the current epoch's pool; live licenses claim it", async function () {
      const { f, h } = await loadFixture(nativeReady);
      // No ledger registered: nothing to collect.
      expect(await f.rewards.collect.staticCall()).to.equal(0n);
      await expect(f.rewards.connect(f.stranger).collect()).to.not.emit(f.rewards, "Collected");
      const { ledger, ledgerAddress, charge } = await withServingFees(f, 2_000, 1000n);
      // A ledger, but no earnings yet.
      await expect(f.rewards.connect(f.stranger).collect()).to.not.emit(f.rewards, "Collected");
      await (await charge()).wait();
      expect(await ledger.earningsOf(f.rewardsAddress)).to.equal(200n);
      expect(await ledger.earningsOf(f.provider.address)).to.equal(800n);
      const epoch = await f.rewards.currentEpoch();
      await (await f.rewards.connect(h[0].account).attest([h[0].licenseId])).wait();
      await (await f.rewards.connect(h[1].account).attest([h[1].licenseId])).wait();
      // Anyone collects; the ledger's transfer is counted once (Collected, not Funded).
      const tx = f.rewards.connect(f.stranger).collect();
      await expect(tx).to.emit(f.rewards, "Collected").withArgs(epoch, ledgerAddress, 200n);
      await expect(tx).to.not.emit(f.rewards, "Funded");
      await expect(tx).to.changeEtherBalances([f.rewards, ledger], [200n, -200n]);
      expect(await ledger.earningsOf(f.rewardsAddress)).to.equal(0n);
      expect((await f.rewards.epochOf(epoch)).pool).to.equal(200n);
      // Plain transfers still fund after a collect (the marker is cleared).
      await expect(f.stranger.sendTransaction({ to: f.rewardsAddress, value: 2n }))
        .to.emit(f.rewards, "Funded")
        .withArgs(epoch, f.stranger.address, 2n);
      expect(await ethers.provider.getBalance(f.rewardsAddress)).to.equal(202n);
      await nextEpoch(f);
      await expect(f.rewards.claim(epoch, h[0].licenseId)).to.changeEtherBalance(h[0].account, 101n);
      await expect(f.rewards.claim(epoch, h[1].licenseId)).to.changeEtherBalance(h[1].account, 101n);
      expect(await ethers.provider.getBalance(f.rewardsAddress)).to.equal(0n);
      // Fees charged later feed the epoch current at collect time.
      await (await ledger.connect(f.user).deposit({ value: 1000n })).wait();
      await (await ledger.connect(f.user).fund(f.provider.address, 1000n)).wait();
      await (await charge()).wait();
      await expect(f.rewards.collect())
        .to.emit(f.rewards, "Collected")
        .withArgs(epoch + 1n, ledgerAddress, 200n);
      expect((await f.rewards.epochOf(epoch + 1n)).pool).to.equal(200n);
    });

    it("collect: pulls storage fees held by the Market too, with serving fees, in one call", async function () {
      const { f, h } = await loadFixture(nativeReady);
      const { market, marketAddress } = await withStorageFees(f, 1_000, 5000n);
      expect(await market.alignmentEarnings()).to.equal(500n);
      expect(await market.rewardPool()).to.equal(4500n);
      const epoch = await f.rewards.currentEpoch();
      // The Market alone.
      await expect(f.rewards.collect()).to.emit(f.rewards, "Collected").withArgs(epoch, marketAddress, 500n);
      expect((await f.rewards.epochOf(epoch)).pool).to.equal(500n);
      // Both sources.
      const { ledgerAddress, charge } = await withServingFees(f, 2_000, 1000n);
      await (await charge()).wait();
      await (await market.connect(f.stranger).chargeFee(0, 3000n, 0, { value: 3000n })).wait();
      const tx = f.rewards.collect();
      await expect(tx).to.emit(f.rewards, "Collected").withArgs(epoch, ledgerAddress, 200n);
      await expect(tx).to.emit(f.rewards, "Collected").withArgs(epoch, marketAddress, 300n);
      await expect(tx).to.not.emit(f.rewards, "Funded");
      expect(await market.alignmentEarnings()).to.equal(0n);
      expect((await f.rewards.epochOf(epoch)).pool).to.equal(1000n);
      expect(await ethers.provider.getBalance(f.rewardsAddress)).to.equal(1000n);
      // A live license takes the whole pool.
      await (await f.rewards.connect(h[0].account).attest([h[0].licenseId])).wait();
      await nextEpoch(f);
      await expect(f.rewards.claim(epoch, h[0].licenseId)).to.changeEtherBalance(h[0].account, 1000n);
    });

    it("collect: PERMISSIONED staking refuses to add serving fees (nothing to collect is not an error)", async function () {
      const { f } = await loadFixture(permissionedReady);
      expect(await f.rewards.collect.staticCall()).to.equal(0n);
      const { ledger, charge } = await withServingFees(f, 1_000, 100n);
      expect(await f.rewards.collect.staticCall()).to.equal(0n);
      await (await charge()).wait();
      expect(await ledger.earningsOf(f.rewardsAddress)).to.equal(10n);
      await expect(f.rewards.collect()).to.be.revertedWithCustomError(f.rewards, "RewardsNoTokenMode");
    });

    it("PERMISSIONED staking: nothing is funded, liveness is still recorded", async function () {
      const { f, h } = await loadFixture(permissionedReady);
      await expect(f.rewards.fund({ value: 1n })).to.be.revertedWithCustomError(
        f.rewards,
        "RewardsNoTokenMode",
      );
      await expect(
        f.stranger.sendTransaction({ to: f.rewardsAddress, value: 1n }),
      ).to.be.revertedWithCustomError(f.rewards, "RewardsNoTokenMode");
      const epoch = await f.rewards.currentEpoch();
      await (await f.rewards.connect(h[0].account).attest([h[0].licenseId])).wait();
      await nextEpoch(f);
      await expect(f.rewards.claim(epoch, h[0].licenseId)).to.changeEtherBalance(h[0].account, 0n);
      expect(await ethers.provider.getBalance(f.rewardsAddress)).to.equal(0n);
    });
  });
});

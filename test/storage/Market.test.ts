/**
 * Unit and property tests of the storage Market: the price the SDK reads, the reward pool that the Flow fills
 * and the "StorageChallenges" module pays from, and the money invariant `balance(Market) == rewardPool()`.
 */
import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import {
  impersonateAccount,
  loadFixture,
  setBalance,
  setCode,
} from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { Market__factory, ZgProxy__factory } from "../../typechain-types";
import {
  NAMES,
  PRICE,
  deployFreeStorageFixture,
  deployPricedStorageFixture,
  sectorsOf,
  submissionOf,
  type StorageFixture,
} from "./flow-fixture";

const NUM_RUNS = Number(process.env.NUM_RUNS ?? 100);
/** Runtime code that reverts on any call: PUSH0 PUSH0 REVERT. */
const REVERTING_CODE = "0x5f5ffd";
const MAX_PRICE = (1n << 96n) - 1n;

/** The Flow's address as a funded, impersonated signer, to call `chargeFee` directly. */
async function flowSigner(f: StorageFixture): Promise<HardhatEthersSigner> {
  await impersonateAccount(f.flowAddress);
  await setBalance(f.flowAddress, ethers.parseEther("10"));
  return ethers.getSigner(f.flowAddress);
}

/** A priced fixture whose pool already holds the fees of three submissions (16 + 4 + 1 sectors). */
async function fundedFixture(): Promise<StorageFixture> {
  const f = await deployPricedStorageFixture();
  for (const heights of [[4], [2], [0]]) {
    await f.flow.connect(f.alice).submit(submissionOf(heights, `fund-${heights}`), {
      value: sectorsOf(heights) * PRICE,
    });
  }
  return f;
}

describe("Market", function () {
  describe("initialize", function () {
    it("initialize: sets the registry and the price", async function () {
      const { market, registry } = await loadFixture(deployPricedStorageFixture);
      expect(await market.registry()).to.equal(await registry.getAddress());
      expect(await market.pricePerSector()).to.equal(PRICE);
      expect(await market.rewardPool()).to.equal(0n);
    });

    it("initialize: emits PricePerSectorSet from the proxy", async function () {
      const { marketImplementation, registry, governance } = await loadFixture(deployFreeStorageFixture);
      const initData = marketImplementation.interface.encodeFunctionData("initialize", [
        await registry.getAddress(),
        42n,
      ]);
      const proxy = await new ZgProxy__factory(governance).deploy(
        await marketImplementation.getAddress(),
        initData,
      );
      const market = Market__factory.connect(await proxy.getAddress(), governance);
      await expect(proxy.deploymentTransaction()).to.emit(market, "PricePerSectorSet").withArgs(42n);
    });

    it("initialize: a zero registry reverts MarketZeroAddress", async function () {
      const { marketImplementation, governance } = await loadFixture(deployFreeStorageFixture);
      const initData = marketImplementation.interface.encodeFunctionData("initialize", [
        ethers.ZeroAddress,
        0n,
      ]);
      await expect(
        new ZgProxy__factory(governance).deploy(await marketImplementation.getAddress(), initData),
      ).to.be.revertedWithCustomError(marketImplementation, "MarketZeroAddress");
    });

    it("initialize: a price above 2^96 - 1 reverts MarketPriceTooHigh", async function () {
      const { marketImplementation, registry, governance } = await loadFixture(deployFreeStorageFixture);
      const initData = marketImplementation.interface.encodeFunctionData("initialize", [
        await registry.getAddress(),
        MAX_PRICE + 1n,
      ]);
      await expect(new ZgProxy__factory(governance).deploy(await marketImplementation.getAddress(), initData))
        .to.be.revertedWithCustomError(marketImplementation, "MarketPriceTooHigh")
        .withArgs(MAX_PRICE + 1n);
    });

    it("initialize: cannot be called twice, nor on the implementation", async function () {
      const { market, marketImplementation, registry } = await loadFixture(deployFreeStorageFixture);
      const registryAddress = await registry.getAddress();
      await expect(market.initialize(registryAddress, 0n)).to.be.revertedWithCustomError(
        market,
        "InvalidInitialization",
      );
      await expect(marketImplementation.initialize(registryAddress, 0n)).to.be.revertedWithCustomError(
        marketImplementation,
        "InvalidInitialization",
      );
    });
  });

  describe("setPricePerSector", function () {
    it("setPricePerSector: by a non-governance account reverts MarketNotGovernance", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      await expect(f.market.connect(f.stranger).setPricePerSector(1n))
        .to.be.revertedWithCustomError(f.market, "MarketNotGovernance")
        .withArgs(f.stranger.address);
    });

    it("setPricePerSector: above 2^96 - 1 reverts MarketPriceTooHigh; 2^96 - 1 is accepted", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      await expect(f.market.setPricePerSector(MAX_PRICE + 1n))
        .to.be.revertedWithCustomError(f.market, "MarketPriceTooHigh")
        .withArgs(MAX_PRICE + 1n);
      await f.market.setPricePerSector(MAX_PRICE);
      expect(await f.flow.pricePerSector()).to.equal(MAX_PRICE);
    });

    it("setPricePerSector: sets the price, emits PricePerSectorSet and has the Flow copy it", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      const tx = f.market.setPricePerSector(PRICE);
      await expect(tx).to.emit(f.market, "PricePerSectorSet").withArgs(PRICE);
      await expect(tx).to.emit(f.flow, "PriceSynced").withArgs(PRICE);
      expect(await f.market.pricePerSector()).to.equal(PRICE);
      expect(await f.flow.pricePerSector()).to.equal(PRICE);
      // The next submission is charged at the new price.
      await expect(f.flow.connect(f.alice).submit(submissionOf([2], "new-price")))
        .to.be.revertedWithCustomError(f.flow, "FlowInsufficientFee")
        .withArgs(4n * PRICE, 0);
    });

    it("setPricePerSector: back to zero makes submissions free again", async function () {
      const f = await loadFixture(deployPricedStorageFixture);
      await f.market.setPricePerSector(0n);
      await expect(f.flow.connect(f.alice).submit(submissionOf([2], "free-again"))).to.changeEtherBalances(
        [f.alice, f.market],
        [0, 0],
      );
    });

    it("setPricePerSector: works with no Flow registered", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      await f.registry.removeModule(NAMES.Flow);
      await expect(f.market.setPricePerSector(5n)).to.emit(f.market, "PricePerSectorSet").withArgs(5n);
      expect(await f.flow.pricePerSector()).to.equal(0n);
    });

    it("setPricePerSector: governance follows the registry owner", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      await f.registry.transferOwnership(f.bob.address);
      await f.registry.connect(f.bob).acceptOwnership();
      await expect(f.market.setPricePerSector(1n))
        .to.be.revertedWithCustomError(f.market, "MarketNotGovernance")
        .withArgs(f.governance.address);
      await expect(f.market.connect(f.bob).setPricePerSector(1n)).to.emit(f.market, "PricePerSectorSet");
    });
  });

  describe("chargeFee", function () {
    it("chargeFee: by an account that is not the registered Flow reverts MarketNotFlow", async function () {
      const f = await loadFixture(deployPricedStorageFixture);
      await expect(f.market.connect(f.stranger).chargeFee(1, 1, 0, { value: PRICE }))
        .to.be.revertedWithCustomError(f.market, "MarketNotFlow")
        .withArgs(f.stranger.address);
      await expect(f.market.connect(f.governance).chargeFee(1, 1, 0, { value: PRICE }))
        .to.be.revertedWithCustomError(f.market, "MarketNotFlow")
        .withArgs(f.governance.address);
    });

    it("chargeFee: a Flow no longer registered reverts MarketNotFlow on its paid submissions", async function () {
      const f = await loadFixture(deployPricedStorageFixture);
      await f.registry.removeModule(NAMES.Flow);
      await expect(f.flow.connect(f.alice).submit(submissionOf([0], "retired"), { value: PRICE }))
        .to.be.revertedWithCustomError(f.market, "MarketNotFlow")
        .withArgs(f.flowAddress);
    });

    it("chargeFee: coin other than uploadSectors × price reverts MarketFeeMismatch", async function () {
      const f = await loadFixture(deployPricedStorageFixture);
      const flow = await flowSigner(f);
      await expect(f.market.connect(flow).chargeFee(1, 3, 0, { value: 3n * PRICE - 1n }))
        .to.be.revertedWithCustomError(f.market, "MarketFeeMismatch")
        .withArgs(3n * PRICE, 3n * PRICE - 1n);
      await expect(f.market.connect(flow).chargeFee(1, 3, 0, { value: 3n * PRICE + 1n }))
        .to.be.revertedWithCustomError(f.market, "MarketFeeMismatch")
        .withArgs(3n * PRICE, 3n * PRICE + 1n);
    });

    it("chargeFee: from the Flow adds the fee to the pool and emits FeeCharged", async function () {
      const f = await loadFixture(deployPricedStorageFixture);
      const flow = await flowSigner(f);
      const fee = 3n * PRICE;
      const tx = f.market.connect(flow).chargeFee(5, 3, 2, { value: fee });
      await expect(tx).to.emit(f.market, "FeeCharged").withArgs(f.flowAddress, 5, 3, 2, fee);
      await expect(tx).to.changeEtherBalances([flow, f.market], [-fee, fee]);
      expect(await f.market.rewardPool()).to.equal(fee);
    });

    it("receive: plain coin sent to the Market is refused", async function () {
      const f = await loadFixture(deployPricedStorageFixture);
      await expect(f.alice.sendTransaction({ to: f.marketAddress, value: 1n })).to.be.reverted;
    });
  });

  describe("payReward", function () {
    it("payReward: by an account that is not StorageChallenges reverts MarketNotStorageChallenges", async function () {
      const f = await loadFixture(fundedFixture);
      for (const caller of [f.stranger, f.governance, await flowSigner(f)]) {
        await expect(f.market.connect(caller).payReward(f.bob.address, 1n))
          .to.be.revertedWithCustomError(f.market, "MarketNotStorageChallenges")
          .withArgs(caller.address);
      }
    });

    it("payReward: with no StorageChallenges module registered reverts MarketNotStorageChallenges", async function () {
      const f = await loadFixture(fundedFixture);
      await f.registry.removeModule(NAMES.StorageChallenges);
      await expect(f.market.connect(f.challenges).payReward(f.bob.address, 1n))
        .to.be.revertedWithCustomError(f.market, "MarketNotStorageChallenges")
        .withArgs(f.challenges.address);
    });

    it("payReward: to the zero address reverts MarketZeroAddress", async function () {
      const f = await loadFixture(fundedFixture);
      await expect(
        f.market.connect(f.challenges).payReward(ethers.ZeroAddress, 1n),
      ).to.be.revertedWithCustomError(f.market, "MarketZeroAddress");
    });

    it("payReward: more than the pool reverts MarketInsufficientPool", async function () {
      const f = await loadFixture(fundedFixture);
      const pool = await f.market.rewardPool();
      expect(pool).to.equal(21n * PRICE);
      await expect(f.market.connect(f.challenges).payReward(f.bob.address, pool + 1n))
        .to.be.revertedWithCustomError(f.market, "MarketInsufficientPool")
        .withArgs(pool + 1n, pool);
    });

    it("payReward: pays from the pool and emits RewardPaid", async function () {
      const f = await loadFixture(fundedFixture);
      const pool = await f.market.rewardPool();
      const amount = 5n * PRICE;
      const tx = f.market.connect(f.challenges).payReward(f.bob.address, amount);
      await expect(tx).to.emit(f.market, "RewardPaid").withArgs(f.bob.address, amount, f.challenges.address);
      await expect(tx).to.changeEtherBalances([f.market, f.bob], [-amount, amount]);
      expect(await f.market.rewardPool()).to.equal(pool - amount);
      // The rest of the pool can be paid out to the last wei.
      await f.market.connect(f.challenges).payReward(f.bob.address, pool - amount);
      expect(await f.market.rewardPool()).to.equal(0n);
      expect(await ethers.provider.getBalance(f.marketAddress)).to.equal(0n);
    });

    it("payReward: authority follows the registry to a new StorageChallenges module", async function () {
      const f = await loadFixture(fundedFixture);
      await f.registry.setModule(NAMES.StorageChallenges, f.alice.address, "2.0.0");
      await expect(f.market.connect(f.challenges).payReward(f.bob.address, 1n))
        .to.be.revertedWithCustomError(f.market, "MarketNotStorageChallenges")
        .withArgs(f.challenges.address);
      await expect(f.market.connect(f.alice).payReward(f.bob.address, 1n)).to.emit(f.market, "RewardPaid");
    });

    it("payReward: a recipient that refuses coin reverts MarketTransferFailed", async function () {
      const f = await loadFixture(fundedFixture);
      const recipient = ethers.Wallet.createRandom().address;
      await setCode(recipient, REVERTING_CODE);
      await expect(f.market.connect(f.challenges).payReward(recipient, 1n))
        .to.be.revertedWithCustomError(f.market, "MarketTransferFailed")
        .withArgs(recipient, 1n);
    });
  });

  describe("alignment share", function () {
    const ALIGNMENT = ethers.encodeBytes32String("AlignmentRewards");

    it("setAlignmentShare: 0 by default; governance only; at most 10,000 bps; emits AlignmentShareSet", async function () {
      const f = await loadFixture(deployPricedStorageFixture);
      expect(await f.market.alignmentShareBps()).to.equal(0n);
      await expect(f.market.connect(f.stranger).setAlignmentShare(1))
        .to.be.revertedWithCustomError(f.market, "MarketNotGovernance")
        .withArgs(f.stranger.address);
      await expect(f.market.setAlignmentShare(10_001))
        .to.be.revertedWithCustomError(f.market, "MarketInvalidAlignmentShare")
        .withArgs(10_001n);
      for (const bps of [10_000n, 300n, 0n]) {
        await expect(f.market.setAlignmentShare(bps)).to.emit(f.market, "AlignmentShareSet").withArgs(bps);
        expect(await f.market.alignmentShareBps()).to.equal(bps);
      }
    });

    it("chargeFee: holds the share for AlignmentRewards, the pool gets the rest; only that module withdraws it", async function () {
      const f = await loadFixture(deployPricedStorageFixture);
      const flow = await flowSigner(f);
      await f.market.setAlignmentShare(2_500);
      // No AlignmentRewards registered: the whole fee joins the pool.
      await expect(f.market.connect(flow).chargeFee(0, 4, 0, { value: 4n * PRICE })).to.not.emit(
        f.market,
        "AlignmentShareHeld",
      );
      expect(await f.market.rewardPool()).to.equal(4n * PRICE);
      // The stranger stands in for AlignmentRewards: 25 % of each fee is held for it.
      await f.registry.setModule(ALIGNMENT, f.stranger.address, "1.0.0");
      const fee = 8n * PRICE;
      await expect(f.market.connect(flow).chargeFee(4, 8, 0, { value: fee }))
        .to.emit(f.market, "AlignmentShareHeld")
        .withArgs(f.stranger.address, fee / 4n);
      expect(await f.market.alignmentEarnings()).to.equal(fee / 4n);
      expect(await f.market.rewardPool()).to.equal(4n * PRICE + (fee * 3n) / 4n);
      expect(await ethers.provider.getBalance(f.marketAddress)).to.equal(
        (await f.market.rewardPool()) + (await f.market.alignmentEarnings()),
      );
      // The challenge module cannot pay rewards out of what is held.
      await expect(
        f.market.connect(f.challenges).payReward(f.bob.address, 4n * PRICE + (fee * 3n) / 4n + 1n),
      ).to.be.revertedWithCustomError(f.market, "MarketInsufficientPool");
      await expect(f.market.connect(f.bob).withdrawAlignmentShare())
        .to.be.revertedWithCustomError(f.market, "MarketNotAlignmentRewards")
        .withArgs(f.bob.address);
      const tx = f.market.connect(f.stranger).withdrawAlignmentShare();
      await expect(tx)
        .to.emit(f.market, "AlignmentShareWithdrawn")
        .withArgs(f.stranger.address, fee / 4n);
      await expect(tx).to.changeEtherBalances([f.stranger, f.market], [fee / 4n, -(fee / 4n)]);
      expect(await f.market.alignmentEarnings()).to.equal(0n);
      // Nothing held: nothing sent.
      await expect(f.market.connect(f.stranger).withdrawAlignmentShare()).to.not.emit(
        f.market,
        "AlignmentShareWithdrawn",
      );
      expect(await ethers.provider.getBalance(f.marketAddress)).to.equal(await f.market.rewardPool());
    });
  });

  describe("upgrade", function () {
    it("upgradeToAndCall: by a non-governance account reverts MarketNotGovernance", async function () {
      const f = await loadFixture(deployFreeStorageFixture);
      const next = await new Market__factory(f.governance).deploy();
      await expect(f.market.connect(f.stranger).upgradeToAndCall(await next.getAddress(), "0x"))
        .to.be.revertedWithCustomError(f.market, "MarketNotGovernance")
        .withArgs(f.stranger.address);
    });

    it("upgradeToAndCall: governance upgrades and the price and pool survive", async function () {
      const f = await loadFixture(fundedFixture);
      const pool = await f.market.rewardPool();
      const next = await new Market__factory(f.governance).deploy();
      await f.market.upgradeToAndCall(await next.getAddress(), "0x");
      expect(await f.market.pricePerSector()).to.equal(PRICE);
      expect(await f.market.rewardPool()).to.equal(pool);
      expect(await ethers.provider.getBalance(f.marketAddress)).to.equal(pool);
    });
  });

  describe("properties", function () {
    type Op =
      | { kind: "submit"; heights: number[]; extra: bigint }
      | { kind: "batch"; heights: number[][]; extra: bigint }
      | { kind: "reward"; fraction: number; overdraw: boolean }
      | { kind: "price"; price: bigint };

    const heightsArb = fc
      .record({ top: fc.integer({ min: 0, max: 12 }), lower: fc.subarray([1, 2, 3]) })
      .map(({ top, lower }) => [top, ...lower.map((d) => top - d).filter((h) => h >= 0)]);
    const extraArb = fc.constantFrom(0n, 1n, 10n ** 12n);
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({ kind: fc.constant("submit" as const), heights: heightsArb, extra: extraArb }),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          kind: fc.constant("batch" as const),
          heights: fc.array(heightsArb, { minLength: 0, maxLength: 3 }),
          extra: extraArb,
        }),
      },
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant("reward" as const),
          fraction: fc.double({ min: 0, max: 1, noNaN: true }),
          overdraw: fc.boolean(),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant("price" as const),
          price: fc.constantFrom(0n, 1n, PRICE, 3n * PRICE + 7n),
        }),
      },
    );

    it("property: the Market's balance equals its reward pool, which equals fees in minus rewards out", async function () {
      this.timeout(600_000);
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 10 }), async (ops) => {
          const f = await loadFixture(deployPricedStorageFixture);
          let price = PRICE;
          let pool = 0n;
          let label = 0;
          for (const op of ops) {
            if (op.kind === "submit") {
              const fee = sectorsOf(op.heights) * price;
              await f.flow.connect(f.alice).submit(submissionOf(op.heights, `p${label++}`), {
                value: fee + op.extra,
                gasLimit: 2_000_000,
              });
              pool += fee;
            } else if (op.kind === "batch") {
              const fee = op.heights.reduce((sum, h) => sum + sectorsOf(h), 0n) * price;
              const batch = op.heights.map((h) => submissionOf(h, `p${label++}`));
              await f.flow
                .connect(f.alice)
                .batchSubmit(batch, { value: fee + op.extra, gasLimit: 4_000_000 });
              pool += fee;
            } else if (op.kind === "reward") {
              const amount = op.overdraw
                ? pool + 1n
                : (pool * BigInt(Math.floor(op.fraction * 1000))) / 1000n;
              const call = f.market.connect(f.challenges).payReward(f.bob.address, amount);
              if (op.overdraw) {
                await expect(call)
                  .to.be.revertedWithCustomError(f.market, "MarketInsufficientPool")
                  .withArgs(amount, pool);
              } else {
                await call;
                pool -= amount;
              }
            } else {
              await f.market.setPricePerSector(op.price);
              price = op.price;
            }
            const balance = await ethers.provider.getBalance(f.marketAddress);
            expect(balance).to.equal(await f.market.rewardPool());
            expect(balance).to.equal(pool);
            expect(await ethers.provider.getBalance(f.flowAddress)).to.equal(0n);
            expect(await f.flow.pricePerSector()).to.equal(await f.market.pricePerSector());
          }
        }),
        { numRuns: NUM_RUNS },
      );
    });
  });
});

import { expect } from "chai";
import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { loadFixture, setBalance, setCode, time } from "@nomicfoundation/hardhat-network-helpers";
import { ServingLedger__factory, ZgProxy__factory, type ServingLedger } from "../../typechain-types";
import { VERSION } from "../helpers/staking-fixture";
import {
  LOCK_TIME,
  SERVING_NAMES,
  deployLedgerFixture,
  type LedgerFixture,
} from "../helpers/serving-fixture";
import { impersonatedAccount } from "../helpers/chain";

const E = (s: string): bigint => ethers.parseEther(s);
const MAX_128 = (1n << 128n) - 1n;
const DAY = 86_400n;
/** Runtime code that reverts on any call: PUSH0 PUSH0 REVERT. */
const REVERTING_CODE = "0x5f5ffd";

interface Sub {
  balance: bigint;
  pendingRefund: bigint;
  refunds: { amount: bigint; unlockAt: bigint }[];
}

async function subOf(ledger: ServingLedger, user: string, provider: string): Promise<Sub> {
  const s = await ledger.subAccount(user, provider);
  return {
    balance: s.balance,
    pendingRefund: s.pendingRefund,
    refunds: s.refunds.map((r) => ({ amount: r.amount, unlockAt: r.unlockAt })),
  };
}

/** The money invariant over the accounts a test uses (`extra`: other earners, such as the AlignmentRewards module). */
async function expectConserved(f: LedgerFixture, extra: string[] = []): Promise<void> {
  const users = [f.alice, f.bob].map((s) => s.address);
  const providers = [f.provider, f.provider2].map((s) => s.address).concat(extra);
  let held = 0n;
  for (const u of users) {
    held += await f.ledger.balanceOf(u);
    for (const p of providers) held += (await f.ledger.subAccount(u, p)).balance;
  }
  for (const p of providers) held += await f.ledger.earningsOf(p);
  expect(await ethers.provider.getBalance(f.ledgerAddress)).to.equal(held);
}

/** Charges through the TestCharger (registered as "InferenceServing"). */
function charge(f: LedgerFixture, provider: HardhatEthersSigner, charges: [HardhatEthersSigner, bigint][]) {
  return f.charger.charge(
    f.ledgerAddress,
    provider.address,
    charges.map(([user, amount]) => ({ user: user.address, amount })),
  );
}

/** Alice deposited 10 ETH and funded 6 ETH to `provider`. */
async function fundedFixture() {
  const f = await deployLedgerFixture();
  await f.ledger.connect(f.alice).deposit({ value: E("10") });
  await f.ledger.connect(f.alice).fund(f.provider.address, E("6"));
  return f;
}

/** Like `fundedFixture`, plus three refunds of 1, 2 and 3 ETH requested one hour apart (oldest first). */
async function refundsFixture() {
  const f = await fundedFixture();
  const unlocks: bigint[] = [];
  for (const amount of ["1", "2", "3"]) {
    await f.ledger.connect(f.alice).requestRefund(f.provider.address, E(amount));
    unlocks.push(BigInt(await time.latest()) + LOCK_TIME);
    await time.increase(3600);
  }
  return { ...f, unlocks };
}

describe("ServingLedger", function () {
  describe("initialize", function () {
    it("initialize: sets the registry and the lock time; the limits are 30 refunds, 60 s and 30 days", async function () {
      const f = await loadFixture(deployLedgerFixture);
      expect(await f.ledger.registry()).to.equal(f.registryAddress);
      expect(await f.ledger.lockTime()).to.equal(LOCK_TIME);
      expect(await f.ledger.MAX_PENDING_REFUNDS()).to.equal(30n);
      expect(await f.ledger.MIN_LOCK_TIME()).to.equal(60n);
      expect(await f.ledger.MAX_LOCK_TIME()).to.equal(30n * DAY);
    });

    it("initialize: emits LockTimeSet from the proxy", async function () {
      const f = await loadFixture(deployLedgerFixture);
      const initData = f.implementation.interface.encodeFunctionData("initialize", [f.registryAddress, 600]);
      const proxy = await new ZgProxy__factory(f.governance).deploy(
        await f.implementation.getAddress(),
        initData,
      );
      const ledger = ServingLedger__factory.connect(await proxy.getAddress(), f.governance);
      await expect(proxy.deploymentTransaction()).to.emit(ledger, "LockTimeSet").withArgs(600);
    });

    it("initialize: a zero registry reverts LedgerZeroAddress", async function () {
      const f = await loadFixture(deployLedgerFixture);
      const initData = f.implementation.interface.encodeFunctionData("initialize", [
        ethers.ZeroAddress,
        LOCK_TIME,
      ]);
      await expect(
        new ZgProxy__factory(f.governance).deploy(await f.implementation.getAddress(), initData),
      ).to.be.revertedWithCustomError(f.implementation, "LedgerZeroAddress");
    });

    it("initialize: a lock time outside [60 s, 30 days] reverts LedgerInvalidLockTime", async function () {
      const f = await loadFixture(deployLedgerFixture);
      for (const lockTime of [0n, 59n, 30n * DAY + 1n]) {
        const initData = f.implementation.interface.encodeFunctionData("initialize", [
          f.registryAddress,
          lockTime,
        ]);
        await expect(new ZgProxy__factory(f.governance).deploy(await f.implementation.getAddress(), initData))
          .to.be.revertedWithCustomError(f.implementation, "LedgerInvalidLockTime")
          .withArgs(lockTime);
      }
    });

    it("initialize: cannot be called twice, nor on the implementation", async function () {
      const f = await loadFixture(deployLedgerFixture);
      await expect(f.ledger.initialize(f.registryAddress, LOCK_TIME)).to.be.revertedWithCustomError(
        f.ledger,
        "InvalidInitialization",
      );
      await expect(
        f.implementation.connect(f.stranger).initialize(f.registryAddress, LOCK_TIME),
      ).to.be.revertedWithCustomError(f.implementation, "InvalidInitialization");
    });
  });

  describe("deposit", function () {
    it("deposit: zero value reverts LedgerZeroAmount", async function () {
      const f = await loadFixture(deployLedgerFixture);
      await expect(f.ledger.connect(f.alice).deposit()).to.be.revertedWithCustomError(
        f.ledger,
        "LedgerZeroAmount",
      );
    });

    it("deposit: credits the caller's available balance and emits Deposited", async function () {
      const f = await loadFixture(deployLedgerFixture);
      const tx = f.ledger.connect(f.alice).deposit({ value: E("2") });
      await expect(tx).to.emit(f.ledger, "Deposited").withArgs(f.alice.address, f.alice.address, E("2"));
      await expect(tx).to.changeEtherBalances([f.alice, f.ledger], [-E("2"), E("2")]);
      await f.ledger.connect(f.alice).deposit({ value: 1n });
      expect(await f.ledger.balanceOf(f.alice.address)).to.equal(E("2") + 1n);
      await expectConserved(f);
    });
  });

  describe("depositFor", function () {
    it("depositFor: the zero address reverts LedgerZeroAddress", async function () {
      const f = await loadFixture(deployLedgerFixture);
      await expect(
        f.ledger.connect(f.alice).depositFor(ethers.ZeroAddress, { value: 1n }),
      ).to.be.revertedWithCustomError(f.ledger, "LedgerZeroAddress");
    });

    it("depositFor: zero value reverts LedgerZeroAmount", async function () {
      const f = await loadFixture(deployLedgerFixture);
      await expect(f.ledger.connect(f.alice).depositFor(f.bob.address)).to.be.revertedWithCustomError(
        f.ledger,
        "LedgerZeroAmount",
      );
    });

    it("depositFor: credits the user, not the sender", async function () {
      const f = await loadFixture(deployLedgerFixture);
      await expect(f.ledger.connect(f.alice).depositFor(f.bob.address, { value: E("1") }))
        .to.emit(f.ledger, "Deposited")
        .withArgs(f.bob.address, f.alice.address, E("1"));
      expect(await f.ledger.balanceOf(f.bob.address)).to.equal(E("1"));
      expect(await f.ledger.balanceOf(f.alice.address)).to.equal(0n);
      await expectConserved(f);
    });
  });

  describe("withdraw", function () {
    it("withdraw: zero reverts LedgerZeroAmount", async function () {
      const f = await loadFixture(fundedFixture);
      await expect(f.ledger.connect(f.alice).withdraw(0)).to.be.revertedWithCustomError(
        f.ledger,
        "LedgerZeroAmount",
      );
    });

    it("withdraw: more than the available balance reverts LedgerInsufficientBalance", async function () {
      const f = await loadFixture(fundedFixture);
      await expect(f.ledger.connect(f.alice).withdraw(E("4") + 1n))
        .to.be.revertedWithCustomError(f.ledger, "LedgerInsufficientBalance")
        .withArgs(E("4") + 1n, E("4"));
    });

    it("withdraw: sends the coin and emits Withdrawn; sub-accounts are untouched", async function () {
      const f = await loadFixture(fundedFixture);
      const tx = f.ledger.connect(f.alice).withdraw(E("4"));
      await expect(tx).to.emit(f.ledger, "Withdrawn").withArgs(f.alice.address, E("4"));
      await expect(tx).to.changeEtherBalances([f.alice, f.ledger], [E("4"), -E("4")]);
      expect(await f.ledger.balanceOf(f.alice.address)).to.equal(0n);
      expect((await subOf(f.ledger, f.alice.address, f.provider.address)).balance).to.equal(E("6"));
      await expectConserved(f);
    });

    it("withdraw: a recipient that refuses coin reverts LedgerTransferFailed", async function () {
      const f = await loadFixture(deployLedgerFixture);
      const account = await impersonatedAccount();
      await f.ledger.connect(account).deposit({ value: E("1") });
      await setCode(account.address, REVERTING_CODE);
      await expect(f.ledger.connect(account).withdraw(E("1")))
        .to.be.revertedWithCustomError(f.ledger, "LedgerTransferFailed")
        .withArgs(account.address, E("1"));
    });
  });

  describe("fund", function () {
    it("fund: the zero provider reverts LedgerZeroAddress", async function () {
      const f = await loadFixture(fundedFixture);
      await expect(f.ledger.connect(f.alice).fund(ethers.ZeroAddress, 1n)).to.be.revertedWithCustomError(
        f.ledger,
        "LedgerZeroAddress",
      );
    });

    it("fund: zero reverts LedgerZeroAmount", async function () {
      const f = await loadFixture(fundedFixture);
      await expect(f.ledger.connect(f.alice).fund(f.provider.address, 0)).to.be.revertedWithCustomError(
        f.ledger,
        "LedgerZeroAmount",
      );
    });

    it("fund: more than the available balance reverts LedgerInsufficientBalance", async function () {
      const f = await loadFixture(fundedFixture);
      await expect(f.ledger.connect(f.alice).fund(f.provider2.address, E("5")))
        .to.be.revertedWithCustomError(f.ledger, "LedgerInsufficientBalance")
        .withArgs(E("5"), E("4"));
    });

    it("fund: moves coin from the available balance and emits Funded", async function () {
      const f = await loadFixture(fundedFixture);
      await expect(f.ledger.connect(f.alice).fund(f.provider2.address, E("1")))
        .to.emit(f.ledger, "Funded")
        .withArgs(f.alice.address, f.provider2.address, 0n, E("1"));
      expect(await f.ledger.balanceOf(f.alice.address)).to.equal(E("3"));
      expect(await subOf(f.ledger, f.alice.address, f.provider2.address)).to.deep.equal({
        balance: E("1"),
        pendingRefund: 0n,
        refunds: [],
      });
      await expectConserved(f);
    });

    it("fund: cancels pending refunds first, newest first, and takes only the rest from available", async function () {
      const f = await loadFixture(refundsFixture);
      // 4 ETH cancels the 3 ETH refund and 1 ETH of the 2 ETH one; nothing leaves the available balance.
      await expect(f.ledger.connect(f.alice).fund(f.provider.address, E("4")))
        .to.emit(f.ledger, "Funded")
        .withArgs(f.alice.address, f.provider.address, E("4"), 0n);
      expect(await subOf(f.ledger, f.alice.address, f.provider.address)).to.deep.equal({
        balance: E("6"),
        pendingRefund: E("2"),
        refunds: [
          { amount: E("1"), unlockAt: f.unlocks[0] },
          { amount: E("1"), unlockAt: f.unlocks[1] },
        ],
      });
      expect(await f.ledger.balanceOf(f.alice.address)).to.equal(E("4"));
      // 3 ETH cancels the remaining 2 ETH of refunds and takes 1 ETH from available.
      await expect(f.ledger.connect(f.alice).fund(f.provider.address, E("3")))
        .to.emit(f.ledger, "Funded")
        .withArgs(f.alice.address, f.provider.address, E("2"), E("1"));
      expect(await subOf(f.ledger, f.alice.address, f.provider.address)).to.deep.equal({
        balance: E("7"),
        pendingRefund: 0n,
        refunds: [],
      });
      expect(await f.ledger.balanceOf(f.alice.address)).to.equal(E("3"));
      await expectConserved(f);
    });

    it("fund: reverts LedgerInsufficientBalance for the part refunds do not cover, and cancels nothing", async function () {
      const f = await loadFixture(refundsFixture);
      await expect(f.ledger.connect(f.alice).fund(f.provider.address, E("11")))
        .to.be.revertedWithCustomError(f.ledger, "LedgerInsufficientBalance")
        .withArgs(E("5"), E("4"));
      expect((await subOf(f.ledger, f.alice.address, f.provider.address)).refunds).to.have.lengthOf(3);
    });

    it("fund: a balance past 2^128 - 1 reverts LedgerAmountTooLarge", async function () {
      const f = await loadFixture(deployLedgerFixture);
      await setBalance(f.alice.address, 1n << 130n);
      await f.ledger.connect(f.alice).deposit({ value: 1n << 128n });
      await f.ledger.connect(f.alice).fund(f.provider.address, MAX_128);
      await expect(f.ledger.connect(f.alice).fund(f.provider.address, 1n))
        .to.be.revertedWithCustomError(f.ledger, "LedgerAmountTooLarge")
        .withArgs(1n << 128n);
      expect((await subOf(f.ledger, f.alice.address, f.provider.address)).balance).to.equal(MAX_128);
    });
  });

  describe("requestRefund", function () {
    it("requestRefund: zero reverts LedgerZeroAmount", async function () {
      const f = await loadFixture(fundedFixture);
      await expect(
        f.ledger.connect(f.alice).requestRefund(f.provider.address, 0),
      ).to.be.revertedWithCustomError(f.ledger, "LedgerZeroAmount");
    });

    it("requestRefund: more than the unreserved balance reverts LedgerInsufficientSubAccount", async function () {
      const f = await loadFixture(refundsFixture);
      // Balance 6, of which 6 already pending: nothing is unreserved.
      await expect(f.ledger.connect(f.alice).requestRefund(f.provider.address, 1n))
        .to.be.revertedWithCustomError(f.ledger, "LedgerInsufficientSubAccount")
        .withArgs(f.provider.address, 1n, 0n);
      await expect(f.ledger.connect(f.bob).requestRefund(f.provider.address, 1n))
        .to.be.revertedWithCustomError(f.ledger, "LedgerInsufficientSubAccount")
        .withArgs(f.provider.address, 1n, 0n);
    });

    it("requestRefund: reserves the amount until now + lockTime and emits RefundRequested", async function () {
      const f = await loadFixture(fundedFixture);
      const tx = await f.ledger.connect(f.alice).requestRefund(f.provider.address, E("2"));
      const unlockAt = BigInt(await time.latest()) + LOCK_TIME;
      await expect(tx)
        .to.emit(f.ledger, "RefundRequested")
        .withArgs(f.alice.address, f.provider.address, E("2"), unlockAt);
      expect(await subOf(f.ledger, f.alice.address, f.provider.address)).to.deep.equal({
        balance: E("6"),
        pendingRefund: E("2"),
        refunds: [{ amount: E("2"), unlockAt }],
      });
      await expectConserved(f);
    });

    it("requestRefund: a 31st pending refund reverts LedgerTooManyRefunds", async function () {
      const f = await loadFixture(fundedFixture);
      for (let i = 0; i < 30; i++) await f.ledger.connect(f.alice).requestRefund(f.provider.address, 1n);
      await expect(f.ledger.connect(f.alice).requestRefund(f.provider.address, 1n))
        .to.be.revertedWithCustomError(f.ledger, "LedgerTooManyRefunds")
        .withArgs(f.provider.address, 30n);
      // Another sub-account has its own limit.
      await f.ledger.connect(f.alice).fund(f.provider2.address, 1n);
      await f.ledger.connect(f.alice).requestRefund(f.provider2.address, 1n);
      // Releasing makes room again.
      await time.increase(LOCK_TIME);
      await f.ledger.connect(f.alice).releaseRefunds(f.provider.address);
      await f.ledger.connect(f.alice).requestRefund(f.provider.address, 1n);
    });
  });

  describe("releaseRefunds", function () {
    it("releaseRefunds: with no refund reverts LedgerNothingUnlocked(provider, 0)", async function () {
      const f = await loadFixture(fundedFixture);
      await expect(f.ledger.connect(f.alice).releaseRefunds(f.provider.address))
        .to.be.revertedWithCustomError(f.ledger, "LedgerNothingUnlocked")
        .withArgs(f.provider.address, 0n);
    });

    it("releaseRefunds: before the unlock time reverts LedgerNothingUnlocked with the next unlock time", async function () {
      const f = await loadFixture(refundsFixture);
      await time.setNextBlockTimestamp(f.unlocks[0] - 1n);
      await expect(f.ledger.connect(f.alice).releaseRefunds(f.provider.address))
        .to.be.revertedWithCustomError(f.ledger, "LedgerNothingUnlocked")
        .withArgs(f.provider.address, f.unlocks[0]);
    });

    it("releaseRefunds: at the unlock time moves the refund to the available balance", async function () {
      const f = await loadFixture(refundsFixture);
      await time.setNextBlockTimestamp(f.unlocks[0]);
      await expect(f.ledger.connect(f.alice).releaseRefunds(f.provider.address))
        .to.emit(f.ledger, "RefundReleased")
        .withArgs(f.alice.address, f.provider.address, E("1"));
      expect(await subOf(f.ledger, f.alice.address, f.provider.address)).to.deep.equal({
        balance: E("5"),
        pendingRefund: E("5"),
        refunds: [
          { amount: E("2"), unlockAt: f.unlocks[1] },
          { amount: E("3"), unlockAt: f.unlocks[2] },
        ],
      });
      expect(await f.ledger.balanceOf(f.alice.address)).to.equal(E("5"));
      await expectConserved(f);
    });

    it("releaseRefunds: releases every matured refund at once and returns the sum", async function () {
      const f = await loadFixture(refundsFixture);
      await time.increaseTo(f.unlocks[2]);
      expect(await f.ledger.connect(f.alice).releaseRefunds.staticCall(f.provider.address)).to.equal(E("6"));
      await f.ledger.connect(f.alice).releaseRefunds(f.provider.address);
      expect(await subOf(f.ledger, f.alice.address, f.provider.address)).to.deep.equal({
        balance: 0n,
        pendingRefund: 0n,
        refunds: [],
      });
      await expect(f.ledger.connect(f.alice).withdraw(E("10"))).to.changeEtherBalance(f.alice, E("10"));
      await expectConserved(f);
    });

    it("releaseRefunds: a newer refund with a shorter lock is released first; the locked ones keep their order", async function () {
      const f = await loadFixture(fundedFixture);
      await f.ledger.connect(f.alice).requestRefund(f.provider.address, E("1"));
      const first = BigInt(await time.latest()) + LOCK_TIME;
      await f.ledger.connect(f.alice).requestRefund(f.provider.address, E("2"));
      const second = BigInt(await time.latest()) + LOCK_TIME;
      await f.ledger.setLockTime(60);
      await f.ledger.connect(f.alice).requestRefund(f.provider.address, E("3"));
      const short = BigInt(await time.latest()) + 60n;
      await time.setNextBlockTimestamp(short);
      await expect(f.ledger.connect(f.alice).releaseRefunds(f.provider.address))
        .to.emit(f.ledger, "RefundReleased")
        .withArgs(f.alice.address, f.provider.address, E("3"));
      expect((await subOf(f.ledger, f.alice.address, f.provider.address)).refunds).to.deep.equal([
        { amount: E("1"), unlockAt: first },
        { amount: E("2"), unlockAt: second },
      ]);
      await expectConserved(f);
    });
  });

  describe("charge", function () {
    it("charge: by an account that is not the registered serving module reverts LedgerNotServing", async function () {
      const f = await loadFixture(fundedFixture);
      for (const caller of [f.stranger, f.governance, f.provider]) {
        await expect(
          f.ledger.connect(caller).charge(f.provider.address, [{ user: f.alice.address, amount: 1n }]),
        )
          .to.be.revertedWithCustomError(f.ledger, "LedgerNotServing")
          .withArgs(caller.address);
      }
    });

    it("charge: with no serving module registered reverts LedgerNotServing", async function () {
      const f = await loadFixture(fundedFixture);
      await f.registry.removeModule(SERVING_NAMES.InferenceServing);
      await expect(charge(f, f.provider, [[f.alice, 1n]]))
        .to.be.revertedWithCustomError(f.ledger, "LedgerNotServing")
        .withArgs(f.chargerAddress);
    });

    it("charge: the zero provider reverts LedgerZeroAddress", async function () {
      const f = await loadFixture(fundedFixture);
      await expect(
        f.charger.charge(f.ledgerAddress, ethers.ZeroAddress, [{ user: f.alice.address, amount: 1n }]),
      ).to.be.revertedWithCustomError(f.ledger, "LedgerZeroAddress");
    });

    it("charge: takes from the sub-account, credits the provider and emits Charged", async function () {
      const f = await loadFixture(fundedFixture);
      const tx = charge(f, f.provider, [[f.alice, E("2")]]);
      await expect(tx).to.emit(f.ledger, "Charged").withArgs(f.alice.address, f.provider.address, E("2"));
      await expect(tx)
        .to.emit(f.charger, "Forwarded")
        .withArgs([E("2")]);
      expect((await subOf(f.ledger, f.alice.address, f.provider.address)).balance).to.equal(E("4"));
      expect(await f.ledger.earningsOf(f.provider.address)).to.equal(E("2"));
      expect(await f.ledger.balanceOf(f.alice.address)).to.equal(E("4"));
      await expectConserved(f);
    });

    it("charge: an overdraft is capped at the sub-account's balance", async function () {
      const f = await loadFixture(fundedFixture);
      await expect(charge(f, f.provider, [[f.alice, E("100")]]))
        .to.emit(f.charger, "Forwarded")
        .withArgs([E("6")]);
      expect((await subOf(f.ledger, f.alice.address, f.provider.address)).balance).to.equal(0n);
      expect(await f.ledger.earningsOf(f.provider.address)).to.equal(E("6"));
      // The available balance is never charged.
      expect(await f.ledger.balanceOf(f.alice.address)).to.equal(E("4"));
      await expectConserved(f);
    });

    it("charge: zero charges and empty sub-accounts pay nothing and emit no Charged", async function () {
      const f = await loadFixture(fundedFixture);
      const tx = charge(f, f.provider, [
        [f.alice, 0n],
        [f.bob, E("1")],
      ]);
      await expect(tx).to.emit(f.charger, "Forwarded").withArgs([0n, 0n]);
      await expect(tx).to.not.emit(f.ledger, "Charged");
      expect(await f.ledger.earningsOf(f.provider.address)).to.equal(0n);
      // A sub-account with another provider is not this provider's.
      await expect(charge(f, f.provider2, [[f.alice, E("1")]]))
        .to.emit(f.charger, "Forwarded")
        .withArgs([0n]);
    });

    it("charge: takes the unreserved part first, then pending refunds newest first", async function () {
      const f = await loadFixture(fundedFixture);
      const unlocks: bigint[] = [];
      for (const amount of ["1", "2"]) {
        await f.ledger.connect(f.alice).requestRefund(f.provider.address, E(amount));
        unlocks.push(BigInt(await time.latest()) + LOCK_TIME);
      }
      // Balance 6: 3 unreserved, refunds [1, 2]. A charge of 4 takes the 3, then 1 of the newest refund.
      await expect(charge(f, f.provider, [[f.alice, E("4")]]))
        .to.emit(f.charger, "Forwarded")
        .withArgs([E("4")]);
      expect(await subOf(f.ledger, f.alice.address, f.provider.address)).to.deep.equal({
        balance: E("2"),
        pendingRefund: E("2"),
        refunds: [
          { amount: E("1"), unlockAt: unlocks[0] },
          { amount: E("1"), unlockAt: unlocks[1] },
        ],
      });
      // 1.5 more takes the newest refund whole, then half of the oldest.
      await charge(f, f.provider, [[f.alice, E("1.5")]]);
      expect(await subOf(f.ledger, f.alice.address, f.provider.address)).to.deep.equal({
        balance: E("0.5"),
        pendingRefund: E("0.5"),
        refunds: [{ amount: E("0.5"), unlockAt: unlocks[0] }],
      });
      // The refund that is left is released whole.
      await time.increaseTo(unlocks[0]);
      await expect(f.ledger.connect(f.alice).releaseRefunds(f.provider.address))
        .to.emit(f.ledger, "RefundReleased")
        .withArgs(f.alice.address, f.provider.address, E("0.5"));
      await expectConserved(f);
    });

    it("charge: an unlocked but unreleased refund can still be charged", async function () {
      const f = await loadFixture(refundsFixture);
      await time.increaseTo(f.unlocks[2]);
      await charge(f, f.provider, [[f.alice, E("4")]]);
      await expect(f.ledger.connect(f.alice).releaseRefunds(f.provider.address))
        .to.emit(f.ledger, "RefundReleased")
        .withArgs(f.alice.address, f.provider.address, E("2"));
      await expectConserved(f);
    });

    it("charge: charges of one user in one call share the balance, in order", async function () {
      const f = await loadFixture(fundedFixture);
      await f.ledger.connect(f.bob).deposit({ value: E("1") });
      await f.ledger.connect(f.bob).fund(f.provider.address, E("1"));
      await expect(
        charge(f, f.provider, [
          [f.alice, E("4")],
          [f.bob, E("0.5")],
          [f.alice, E("4")],
        ]),
      )
        .to.emit(f.charger, "Forwarded")
        .withArgs([E("4"), E("0.5"), E("2")]);
      expect(await f.ledger.earningsOf(f.provider.address)).to.equal(E("6.5"));
      await expectConserved(f);
    });

    it("charge: authority follows the registry to a new serving module", async function () {
      const f = await loadFixture(fundedFixture);
      await f.registry.setModule(SERVING_NAMES.InferenceServing, f.stranger.address, VERSION);
      await expect(charge(f, f.provider, [[f.alice, 1n]]))
        .to.be.revertedWithCustomError(f.ledger, "LedgerNotServing")
        .withArgs(f.chargerAddress);
      await expect(
        f.ledger.connect(f.stranger).charge(f.provider.address, [{ user: f.alice.address, amount: 1n }]),
      )
        .to.emit(f.ledger, "Charged")
        .withArgs(f.alice.address, f.provider.address, 1n);
    });
  });

  describe("withdrawEarnings", function () {
    it("withdrawEarnings: with no earnings reverts LedgerNoEarnings", async function () {
      const f = await loadFixture(fundedFixture);
      await expect(f.ledger.connect(f.provider).withdrawEarnings())
        .to.be.revertedWithCustomError(f.ledger, "LedgerNoEarnings")
        .withArgs(f.provider.address);
    });

    it("withdrawEarnings: sends the earnings, zeroes them and emits EarningsWithdrawn", async function () {
      const f = await loadFixture(fundedFixture);
      await charge(f, f.provider, [[f.alice, E("2")]]);
      expect(await f.ledger.connect(f.provider).withdrawEarnings.staticCall()).to.equal(E("2"));
      const tx = f.ledger.connect(f.provider).withdrawEarnings();
      await expect(tx).to.emit(f.ledger, "EarningsWithdrawn").withArgs(f.provider.address, E("2"));
      await expect(tx).to.changeEtherBalances([f.provider, f.ledger], [E("2"), -E("2")]);
      expect(await f.ledger.earningsOf(f.provider.address)).to.equal(0n);
      await expectConserved(f);
    });

    it("withdrawEarnings: a provider that refuses coin reverts LedgerTransferFailed", async function () {
      const f = await loadFixture(fundedFixture);
      const provider = await impersonatedAccount();
      await f.ledger.connect(f.alice).fund(provider.address, E("1"));
      await f.charger.charge(f.ledgerAddress, provider.address, [{ user: f.alice.address, amount: E("1") }]);
      await setCode(provider.address, REVERTING_CODE);
      await expect(f.ledger.connect(provider).withdrawEarnings())
        .to.be.revertedWithCustomError(f.ledger, "LedgerTransferFailed")
        .withArgs(provider.address, E("1"));
    });
  });

  describe("setLockTime", function () {
    it("setLockTime: by a non-governance account reverts LedgerNotGovernance", async function () {
      const f = await loadFixture(deployLedgerFixture);
      await expect(f.ledger.connect(f.stranger).setLockTime(600))
        .to.be.revertedWithCustomError(f.ledger, "LedgerNotGovernance")
        .withArgs(f.stranger.address);
    });

    it("setLockTime: outside [60 s, 30 days] reverts LedgerInvalidLockTime; the bounds are accepted", async function () {
      const f = await loadFixture(deployLedgerFixture);
      for (const bad of [59n, 30n * DAY + 1n]) {
        await expect(f.ledger.setLockTime(bad))
          .to.be.revertedWithCustomError(f.ledger, "LedgerInvalidLockTime")
          .withArgs(bad);
      }
      for (const good of [60n, 30n * DAY]) {
        await expect(f.ledger.setLockTime(good)).to.emit(f.ledger, "LockTimeSet").withArgs(good);
        expect(await f.ledger.lockTime()).to.equal(good);
      }
    });

    it("setLockTime: applies to refunds requested afterwards only", async function () {
      const f = await loadFixture(fundedFixture);
      await f.ledger.connect(f.alice).requestRefund(f.provider.address, 1n);
      const before = BigInt(await time.latest()) + LOCK_TIME;
      await f.ledger.setLockTime(3600);
      await f.ledger.connect(f.alice).requestRefund(f.provider.address, 1n);
      const after = BigInt(await time.latest()) + 3600n;
      expect((await subOf(f.ledger, f.alice.address, f.provider.address)).refunds).to.deep.equal([
        { amount: 1n, unlockAt: before },
        { amount: 1n, unlockAt: after },
      ]);
    });
  });

  describe("alignment share", function () {
    const ALIGNMENT = ethers.encodeBytes32String("AlignmentRewards");

    /** `fundedFixture` with the stranger registered as "AlignmentRewards" (the ledger only credits its earnings). */
    async function shareFixture() {
      const f = await fundedFixture();
      await f.registry.setModule(ALIGNMENT, f.stranger.address, VERSION);
      return f;
    }

    it("setAlignmentShare: 0 by default; governance only; at most 10,000 bps; emits AlignmentShareSet", async function () {
      const f = await loadFixture(deployLedgerFixture);
      expect(await f.ledger.alignmentShareBps()).to.equal(0n);
      await expect(f.ledger.connect(f.stranger).setAlignmentShare(100))
        .to.be.revertedWithCustomError(f.ledger, "LedgerNotGovernance")
        .withArgs(f.stranger.address);
      await expect(f.ledger.setAlignmentShare(10_001))
        .to.be.revertedWithCustomError(f.ledger, "LedgerInvalidAlignmentShare")
        .withArgs(10_001n);
      for (const bps of [10_000n, 250n, 0n]) {
        await expect(f.ledger.setAlignmentShare(bps)).to.emit(f.ledger, "AlignmentShareSet").withArgs(bps);
        expect(await f.ledger.alignmentShareBps()).to.equal(bps);
      }
    });

    it("charge: with the default share of 0 the provider gets everything, AlignmentRewards nothing", async function () {
      const f = await loadFixture(shareFixture);
      await expect(charge(f, f.provider, [[f.alice, E("2")]])).to.not.emit(
        f.ledger,
        "AlignmentShareCredited",
      );
      expect(await f.ledger.earningsOf(f.provider.address)).to.equal(E("2"));
      expect(await f.ledger.earningsOf(f.stranger.address)).to.equal(0n);
    });

    it("charge: credits the share of the call's total to AlignmentRewards' earnings, the rest to the provider", async function () {
      const f = await loadFixture(shareFixture);
      await f.ledger.connect(f.bob).deposit({ value: E("1") });
      await f.ledger.connect(f.bob).fund(f.provider.address, E("1"));
      await f.ledger.setAlignmentShare(1_000);
      // 2 ETH from Alice and 1 ETH from Bob: 10 % of 3 ETH.
      const tx = charge(f, f.provider, [
        [f.alice, E("2")],
        [f.bob, E("1")],
      ]);
      await expect(tx)
        .to.emit(f.ledger, "AlignmentShareCredited")
        .withArgs(f.stranger.address, f.provider.address, E("0.3"));
      await expect(tx).to.emit(f.ledger, "Charged").withArgs(f.alice.address, f.provider.address, E("2"));
      expect(await f.ledger.earningsOf(f.provider.address)).to.equal(E("2.7"));
      expect(await f.ledger.earningsOf(f.stranger.address)).to.equal(E("0.3"));
      await expectConserved(f, [f.stranger.address]);
      // Rounded down: 10 % of 9 wei is 0 (nothing credited, no event); of 19 wei, 1.
      await expect(charge(f, f.provider, [[f.alice, 9n]])).to.not.emit(f.ledger, "AlignmentShareCredited");
      await charge(f, f.provider, [[f.alice, 19n]]);
      expect(await f.ledger.earningsOf(f.stranger.address)).to.equal(E("0.3") + 1n);
      expect(await f.ledger.earningsOf(f.provider.address)).to.equal(E("2.7") + 27n);
      // 10,000 bps: everything goes to AlignmentRewards, which withdraws it like a provider (pulled, not pushed).
      await f.ledger.setAlignmentShare(10_000);
      await charge(f, f.provider, [[f.alice, E("1")]]);
      expect(await f.ledger.earningsOf(f.provider.address)).to.equal(E("2.7") + 27n);
      const held = E("1.3") + 1n;
      expect(await f.ledger.earningsOf(f.stranger.address)).to.equal(held);
      await expect(f.ledger.connect(f.stranger).withdrawEarnings()).to.changeEtherBalances(
        [f.stranger, f.ledger],
        [held, -held],
      );
      await expectConserved(f, [f.stranger.address]);
    });

    it("charge: with no AlignmentRewards registered, the provider gets everything", async function () {
      const f = await loadFixture(fundedFixture);
      await f.ledger.setAlignmentShare(5_000);
      await expect(charge(f, f.provider, [[f.alice, E("2")]])).to.not.emit(
        f.ledger,
        "AlignmentShareCredited",
      );
      expect(await f.ledger.earningsOf(f.provider.address)).to.equal(E("2"));
      await expectConserved(f);
    });

    it("charge: nothing taken, nothing credited", async function () {
      const f = await loadFixture(shareFixture);
      await f.ledger.setAlignmentShare(5_000);
      await expect(charge(f, f.provider, [[f.bob, E("1")]])).to.not.emit(f.ledger, "AlignmentShareCredited");
      expect(await f.ledger.earningsOf(f.stranger.address)).to.equal(0n);
      expect(await f.ledger.earningsOf(f.provider.address)).to.equal(0n);
    });
  });

  describe("upgrade", function () {
    it("upgradeToAndCall: by a non-governance account reverts LedgerNotGovernance", async function () {
      const f = await loadFixture(fundedFixture);
      const next = await new ServingLedger__factory(f.governance).deploy();
      await expect(f.ledger.connect(f.stranger).upgradeToAndCall(await next.getAddress(), "0x"))
        .to.be.revertedWithCustomError(f.ledger, "LedgerNotGovernance")
        .withArgs(f.stranger.address);
    });

    it("upgradeToAndCall: governance upgrades and every balance survives", async function () {
      const f = await loadFixture(refundsFixture);
      await charge(f, f.provider, [[f.alice, E("1")]]);
      const sub = await subOf(f.ledger, f.alice.address, f.provider.address);
      const next = await new ServingLedger__factory(f.governance).deploy();
      await expect(f.ledger.upgradeToAndCall(await next.getAddress(), "0x"))
        .to.emit(f.ledger, "Upgraded")
        .withArgs(await next.getAddress());
      expect(await subOf(f.ledger, f.alice.address, f.provider.address)).to.deep.equal(sub);
      expect(await f.ledger.balanceOf(f.alice.address)).to.equal(E("4"));
      expect(await f.ledger.earningsOf(f.provider.address)).to.equal(E("1"));
      expect(await f.ledger.lockTime()).to.equal(LOCK_TIME);
      expect(await f.ledger.alignmentShareBps()).to.equal(0n);
      await expectConserved(f);
    });
  });
});

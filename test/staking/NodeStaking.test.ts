import { expect } from "chai";
import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { loadFixture, setBalance, setCode, time } from "@nomicfoundation/hardhat-network-helpers";
import { NodeStaking__factory, ZgProxy__factory, type NodeStaking } from "../../typechain-types";
import {
  BPS,
  DAY,
  JAIL_PERIOD,
  MIN_STAKES,
  Mode,
  NAMES,
  REPORTER_SHARE_BPS,
  Role,
  UNBONDING_DELAY,
  deployBurnStakingFixture,
  deployPermissionedStakingFixture,
  deployStakingFixture,
  evidence,
  type RoleId,
} from "../helpers/staking-fixture";
import { impersonatedAccount } from "../helpers/chain";

const E = (s: string): bigint => ethers.parseEther(s);
const ERC1967_IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";
/** Runtime code that reverts on any call: PUSH0 PUSH0 REVERT. */
const REVERTING_CODE = "0x5f5ffd";

async function positionOf(staking: NodeStaking, operator: HardhatEthersSigner | string, role: RoleId) {
  const address = typeof operator === "string" ? operator : operator.address;
  const p = await staking.positionOf(address, role);
  return {
    bonded: p.bonded,
    unbonding: p.unbonding,
    unbondingReleaseAt: p.unbondingReleaseAt,
    jailedUntil: p.jailedUntil,
    member: p.member,
    admitted: p.admitted,
  };
}

async function membersOf(staking: NodeStaking, role: RoleId): Promise<string[]> {
  return [...(await staking.membersOf(role))];
}

async function activeMembersOf(staking: NodeStaking, role: RoleId): Promise<string[]> {
  return [...(await staking.activeMembersOf(role))];
}

/** NATIVE fixture where alice bonded 3 ETH for STORAGE (min 1) and bob 2 ETH for STORAGE. */
async function stakedFixture() {
  const f = await deployStakingFixture();
  await f.staking.connect(f.alice).stake(Role.STORAGE, { value: E("3") });
  await f.staking.connect(f.bob).stake(Role.STORAGE, { value: E("2") });
  return f;
}

/** Like `stakedFixture`, plus alice requested to unbond 1 ETH: bonded 2, unbonding 1. */
async function unbondingFixture() {
  const f = await stakedFixture();
  await f.staking.connect(f.alice).requestUnbond(Role.STORAGE, E("1"));
  return f;
}

/** Burn variant (treasury zero) where alice bonded 3 ETH for STORAGE. */
async function stakedBurnFixture() {
  const f = await deployBurnStakingFixture();
  await f.staking.connect(f.alice).stake(Role.STORAGE, { value: E("3") });
  return f;
}

/** PERMISSIONED fixture where governance admitted alice and bob for STORAGE and alice joined. */
async function admittedFixture() {
  const f = await deployPermissionedStakingFixture();
  await f.staking.setAdmitted(f.alice.address, Role.STORAGE, true);
  await f.staking.setAdmitted(f.bob.address, Role.STORAGE, true);
  await f.staking.connect(f.alice).stake(Role.STORAGE);
  return f;
}

describe("NodeStaking", function () {
  describe("initialize", function () {
    it("initialize: sets registry, mode, minimums, unbonding delay and slash params", async function () {
      const { staking, registry, treasury } = await loadFixture(deployStakingFixture);
      expect(await staking.registry()).to.equal(await registry.getAddress());
      expect(await staking.mode()).to.equal(Mode.NATIVE);
      for (const role of Object.values(Role)) {
        expect(await staking.minStake(role)).to.equal(MIN_STAKES[role]);
      }
      expect(await staking.unbondingDelay()).to.equal(UNBONDING_DELAY);
      const params = await staking.slashParams();
      expect(params.reporterShareBps).to.equal(REPORTER_SHARE_BPS);
      expect(params.jailPeriod).to.equal(JAIL_PERIOD);
      expect(params.treasury).to.equal(treasury.address);
      expect(await registry.getModule(NAMES.NodeStaking)).to.equal(await staking.getAddress());
    });

    it("initialize: the burn variant has a zero treasury, the permissioned one PERMISSIONED mode", async function () {
      const burn = await loadFixture(deployBurnStakingFixture);
      expect((await burn.staking.slashParams()).treasury).to.equal(ethers.ZeroAddress);
      expect(await burn.staking.mode()).to.equal(Mode.NATIVE);
      const permissioned = await loadFixture(deployPermissionedStakingFixture);
      expect(await permissioned.staking.mode()).to.equal(Mode.PERMISSIONED);
    });

    it("initialize: emits the parameter events from the proxy", async function () {
      const { implementation, initData, governance, treasury } = await loadFixture(deployStakingFixture);
      const proxy = await new ZgProxy__factory(governance).deploy(
        await implementation.getAddress(),
        initData,
      );
      const staking = NodeStaking__factory.connect(await proxy.getAddress(), governance);
      const tx = proxy.deploymentTransaction();
      for (const role of Object.values(Role)) {
        await expect(tx).to.emit(staking, "MinStakeSet").withArgs(role, MIN_STAKES[role]);
      }
      await expect(tx).to.emit(staking, "UnbondingDelaySet").withArgs(UNBONDING_DELAY);
      await expect(tx)
        .to.emit(staking, "SlashParamsSet")
        .withArgs(REPORTER_SHARE_BPS, JAIL_PERIOD, treasury.address);
      await expect(tx).to.emit(staking, "Initialized").withArgs(1);
    });

    it("initialize: a zero registry reverts StakingZeroRegistry", async function () {
      const { implementation, governance } = await loadFixture(deployStakingFixture);
      const initData = implementation.interface.encodeFunctionData("initialize", [
        ethers.ZeroAddress,
        Mode.NATIVE,
        [0, 0, 0, 0, 0],
        0,
        { reporterShareBps: 0, jailPeriod: 0, treasury: ethers.ZeroAddress },
      ]);
      await expect(
        new ZgProxy__factory(governance).deploy(await implementation.getAddress(), initData),
      ).to.be.revertedWithCustomError(implementation, "StakingZeroRegistry");
    });

    it("initialize: cannot be called twice", async function () {
      const { staking, registry, treasury } = await loadFixture(deployStakingFixture);
      await expect(
        staking.initialize(await registry.getAddress(), Mode.PERMISSIONED, [0, 0, 0, 0, 0], 0, {
          reporterShareBps: 0,
          jailPeriod: 0,
          treasury: treasury.address,
        }),
      ).to.be.revertedWithCustomError(staking, "InvalidInitialization");
      expect(await staking.mode()).to.equal(Mode.NATIVE);
    });

    it("initialize: the implementation cannot be initialized", async function () {
      const { implementation, registry, treasury, stranger } = await loadFixture(deployStakingFixture);
      await expect(
        implementation
          .connect(stranger)
          .initialize(await registry.getAddress(), Mode.NATIVE, [...MIN_STAKES], UNBONDING_DELAY, {
            reporterShareBps: REPORTER_SHARE_BPS,
            jailPeriod: JAIL_PERIOD,
            treasury: treasury.address,
          }),
      ).to.be.revertedWithCustomError(implementation, "InvalidInitialization");
      expect(await implementation.registry()).to.equal(ethers.ZeroAddress);
    });

    it("initialize: reporter share above 10,000 bps reverts StakingInvalidBps", async function () {
      const { implementation, registry, treasury, governance } = await loadFixture(deployStakingFixture);
      const badInit = implementation.interface.encodeFunctionData("initialize", [
        await registry.getAddress(),
        Mode.NATIVE,
        [...MIN_STAKES],
        UNBONDING_DELAY,
        { reporterShareBps: 10_001, jailPeriod: JAIL_PERIOD, treasury: treasury.address },
      ]);
      await expect(new ZgProxy__factory(governance).deploy(await implementation.getAddress(), badInit))
        .to.be.revertedWithCustomError(implementation, "StakingInvalidBps")
        .withArgs(10_001);
    });
  });

  describe("stake", function () {
    it("stake: zero value reverts StakingZeroAmount", async function () {
      const { staking, alice } = await loadFixture(deployStakingFixture);
      await expect(staking.connect(alice).stake(Role.STORAGE)).to.be.revertedWithCustomError(
        staking,
        "StakingZeroAmount",
      );
    });

    it("stake: below minimum reverts StakingBelowMinimum", async function () {
      const { staking, alice } = await loadFixture(deployStakingFixture);
      const value = MIN_STAKES[Role.DA_SIGNER] - 1n;
      await expect(staking.connect(alice).stake(Role.DA_SIGNER, { value }))
        .to.be.revertedWithCustomError(staking, "StakingBelowMinimum")
        .withArgs(Role.DA_SIGNER, value, MIN_STAKES[Role.DA_SIGNER]);
    });

    it("stake: a bond beyond 128 bits reverts (amounts are stored in 128 bits)", async function () {
      const { staking } = await loadFixture(deployStakingFixture);
      const whale = await impersonatedAccount();
      const value = 1n << 128n;
      await setBalance(whale.address, value + E("1"));
      await expect(staking.connect(whale).stake(Role.STORAGE, { value }))
        .to.be.revertedWithCustomError(staking, "SafeCastOverflowedUintDowncast")
        .withArgs(128, value);
      await staking.connect(whale).stake(Role.STORAGE, { value: value - 1n });
      expect((await positionOf(staking, whale, Role.STORAGE)).bonded).to.equal(value - 1n);
    });

    it("stake: role out of range reverts", async function () {
      const { staking, alice } = await loadFixture(deployStakingFixture);
      await expect(staking.connect(alice).stake(5, { value: E("10") })).to.be.revertedWithoutReason();
    });

    it("stake: exactly the minimum bonds, joins the role and emits Staked", async function () {
      const { staking, stakingAddress, alice } = await loadFixture(deployStakingFixture);
      const min = MIN_STAKES[Role.STORAGE];
      const tx = staking.connect(alice).stake(Role.STORAGE, { value: min });
      await expect(tx).to.emit(staking, "Staked").withArgs(alice.address, Role.STORAGE, min, min);
      await expect(tx).to.changeEtherBalances([alice, stakingAddress], [-min, min]);
      const p = await positionOf(staking, alice, Role.STORAGE);
      expect(p.bonded).to.equal(min);
      expect(p.unbonding).to.equal(0n);
      expect(p.member).to.equal(true);
      expect(p.jailedUntil).to.equal(0n);
      expect(await membersOf(staking, Role.STORAGE)).to.deep.equal([alice.address]);
      expect(await staking.isActive(alice.address, Role.STORAGE)).to.equal(true);
    });

    it("stake: top-up below the minimum is accepted once bonded, adds up and emits the new bond", async function () {
      const { staking, stakingAddress, alice } = await loadFixture(stakedFixture);
      const topUp = E("0.1");
      const tx = staking.connect(alice).stake(Role.STORAGE, { value: topUp });
      await expect(tx)
        .to.emit(staking, "Staked")
        .withArgs(alice.address, Role.STORAGE, topUp, E("3") + topUp);
      await expect(tx).to.changeEtherBalances([alice, stakingAddress], [-topUp, topUp]);
      expect((await positionOf(staking, alice, Role.STORAGE)).bonded).to.equal(E("3.1"));
    });

    it("stake: top-up does not add the operator to membersOf twice", async function () {
      const { staking, alice, bob } = await loadFixture(stakedFixture);
      await staking.connect(alice).stake(Role.STORAGE, { value: E("1") });
      const members = await membersOf(staking, Role.STORAGE);
      expect(members).to.have.lengthOf(2);
      expect(members).to.have.members([alice.address, bob.address]);
    });

    it("stake: roles are independent positions and member lists", async function () {
      const { staking, alice, bob, carol } = await loadFixture(stakedFixture);
      await staking.connect(alice).stake(Role.DA_SIGNER, { value: E("2") });
      await staking.connect(carol).stake(Role.PROVIDER, { value: E("0.5") });
      expect((await positionOf(staking, alice, Role.STORAGE)).bonded).to.equal(E("3"));
      expect((await positionOf(staking, alice, Role.DA_SIGNER)).bonded).to.equal(E("2"));
      expect(await membersOf(staking, Role.STORAGE)).to.have.members([alice.address, bob.address]);
      expect(await membersOf(staking, Role.DA_SIGNER)).to.deep.equal([alice.address]);
      expect(await membersOf(staking, Role.PROVIDER)).to.deep.equal([carol.address]);
      expect(await membersOf(staking, Role.ORACLE)).to.deep.equal([]);
      expect(await membersOf(staking, Role.ALIGNMENT)).to.deep.equal([]);
    });

    it("stake: after exit the minimum applies again and unbonding coin is kept apart", async function () {
      const { staking, alice } = await loadFixture(stakedFixture);
      await staking.connect(alice).exit(Role.STORAGE);
      await expect(staking.connect(alice).stake(Role.STORAGE, { value: E("0.5") }))
        .to.be.revertedWithCustomError(staking, "StakingBelowMinimum")
        .withArgs(Role.STORAGE, E("0.5"), MIN_STAKES[Role.STORAGE]);
      await expect(staking.connect(alice).stake(Role.STORAGE, { value: E("1") }))
        .to.emit(staking, "Staked")
        .withArgs(alice.address, Role.STORAGE, E("1"), E("1"));
      const p = await positionOf(staking, alice, Role.STORAGE);
      expect(p.bonded).to.equal(E("1"));
      expect(p.unbonding).to.equal(E("3"));
      expect(p.member).to.equal(true);
    });

    it("stake: a top-up after a slash must bring the bond back to the minimum", async function () {
      const { staking, stakingAddress, slasher, alice } = await loadFixture(stakedFixture);
      await slasher.slash(
        stakingAddress,
        alice.address,
        Role.STORAGE,
        E("2.5"),
        evidence(1),
        ethers.ZeroAddress,
      );
      await expect(staking.connect(alice).stake(Role.STORAGE, { value: E("0.4") }))
        .to.be.revertedWithCustomError(staking, "StakingBelowMinimum")
        .withArgs(Role.STORAGE, E("0.9"), MIN_STAKES[Role.STORAGE]);
      await expect(staking.connect(alice).stake(Role.STORAGE, { value: E("0.5") }))
        .to.emit(staking, "Staked")
        .withArgs(alice.address, Role.STORAGE, E("0.5"), E("1"));
    });
  });

  describe("requestUnbond", function () {
    it("requestUnbond: zero amount reverts StakingZeroAmount", async function () {
      const { staking, alice } = await loadFixture(stakedFixture);
      await expect(staking.connect(alice).requestUnbond(Role.STORAGE, 0)).to.be.revertedWithCustomError(
        staking,
        "StakingZeroAmount",
      );
    });

    it("requestUnbond: not a member reverts StakingNotMember", async function () {
      const { staking, carol, alice } = await loadFixture(stakedFixture);
      await expect(staking.connect(carol).requestUnbond(Role.STORAGE, 1))
        .to.be.revertedWithCustomError(staking, "StakingNotMember")
        .withArgs(carol.address, Role.STORAGE);
      await expect(staking.connect(alice).requestUnbond(Role.DA_SIGNER, 1))
        .to.be.revertedWithCustomError(staking, "StakingNotMember")
        .withArgs(alice.address, Role.DA_SIGNER);
    });

    it("requestUnbond: the whole bond or more reverts StakingInsufficientBond", async function () {
      const { staking, alice } = await loadFixture(stakedFixture);
      await expect(staking.connect(alice).requestUnbond(Role.STORAGE, E("3")))
        .to.be.revertedWithCustomError(staking, "StakingInsufficientBond")
        .withArgs(E("3"), E("3"));
      await expect(staking.connect(alice).requestUnbond(Role.STORAGE, E("4")))
        .to.be.revertedWithCustomError(staking, "StakingInsufficientBond")
        .withArgs(E("4"), E("3"));
    });

    it("requestUnbond: remaining below minimum reverts StakingBelowMinimum", async function () {
      const { staking, alice } = await loadFixture(stakedFixture);
      const amount = E("2") + 1n;
      await expect(staking.connect(alice).requestUnbond(Role.STORAGE, amount))
        .to.be.revertedWithCustomError(staking, "StakingBelowMinimum")
        .withArgs(Role.STORAGE, E("1") - 1n, MIN_STAKES[Role.STORAGE]);
    });

    it("requestUnbond: moves coin to unbonding with releaseAt = now + delay and emits UnbondRequested", async function () {
      const { staking, stakingAddress, alice } = await loadFixture(stakedFixture);
      const now = (await time.latest()) + 10;
      await time.setNextBlockTimestamp(now);
      const releaseAt = BigInt(now) + UNBONDING_DELAY;
      const tx = staking.connect(alice).requestUnbond(Role.STORAGE, E("2"));
      await expect(tx)
        .to.emit(staking, "UnbondRequested")
        .withArgs(alice.address, Role.STORAGE, E("2"), releaseAt);
      await expect(tx).to.changeEtherBalances([alice, stakingAddress], [0, 0]);
      const p = await positionOf(staking, alice, Role.STORAGE);
      expect(p.bonded).to.equal(E("1"));
      expect(p.unbonding).to.equal(E("2"));
      expect(p.unbondingReleaseAt).to.equal(releaseAt);
      expect(p.member).to.equal(true);
      expect(await staking.isActive(alice.address, Role.STORAGE)).to.equal(true);
    });

    it("requestUnbond: a second request adds up and resets the timer of everything unbonding", async function () {
      const { staking, alice } = await loadFixture(unbondingFixture);
      const first = (await positionOf(staking, alice, Role.STORAGE)).unbondingReleaseAt;
      const later = (await time.latest()) + Number(3n * DAY);
      await time.setNextBlockTimestamp(later);
      await expect(staking.connect(alice).requestUnbond(Role.STORAGE, E("0.5")))
        .to.emit(staking, "UnbondRequested")
        .withArgs(alice.address, Role.STORAGE, E("0.5"), BigInt(later) + UNBONDING_DELAY);
      const p = await positionOf(staking, alice, Role.STORAGE);
      expect(p.unbonding).to.equal(E("1.5"));
      expect(p.bonded).to.equal(E("1.5"));
      expect(p.unbondingReleaseAt).to.equal(BigInt(later) + UNBONDING_DELAY);
      // The first request alone would have matured here; the reset timer still locks it.
      await time.setNextBlockTimestamp(first);
      await expect(staking.connect(alice).withdraw(Role.STORAGE))
        .to.be.revertedWithCustomError(staking, "StakingUnbondingLocked")
        .withArgs(BigInt(later) + UNBONDING_DELAY);
    });

    it("requestUnbond: uses the unbonding delay current at the request", async function () {
      const { staking, alice } = await loadFixture(stakedFixture);
      await staking.setUnbondingDelay(DAY);
      const now = (await time.latest()) + 1;
      await time.setNextBlockTimestamp(now);
      await staking.connect(alice).requestUnbond(Role.STORAGE, E("1"));
      expect((await positionOf(staking, alice, Role.STORAGE)).unbondingReleaseAt).to.equal(BigInt(now) + DAY);
    });
  });

  describe("exit", function () {
    it("exit: not a member reverts StakingNotMember", async function () {
      const { staking, carol } = await loadFixture(stakedFixture);
      await expect(staking.connect(carol).exit(Role.STORAGE))
        .to.be.revertedWithCustomError(staking, "StakingNotMember")
        .withArgs(carol.address, Role.STORAGE);
    });

    it("exit: moves the whole bond to unbonding, leaves membersOf and emits Exited", async function () {
      const { staking, stakingAddress, alice, bob } = await loadFixture(stakedFixture);
      const now = (await time.latest()) + 5;
      await time.setNextBlockTimestamp(now);
      const releaseAt = BigInt(now) + UNBONDING_DELAY;
      const tx = staking.connect(alice).exit(Role.STORAGE);
      await expect(tx).to.emit(staking, "Exited").withArgs(alice.address, Role.STORAGE, E("3"), releaseAt);
      await expect(tx).to.changeEtherBalances([alice, stakingAddress], [0, 0]);
      const p = await positionOf(staking, alice, Role.STORAGE);
      expect(p.bonded).to.equal(0n);
      expect(p.unbonding).to.equal(E("3"));
      expect(p.unbondingReleaseAt).to.equal(releaseAt);
      expect(p.member).to.equal(false);
      expect(await membersOf(staking, Role.STORAGE)).to.deep.equal([bob.address]);
      expect(await staking.isActive(alice.address, Role.STORAGE)).to.equal(false);
      expect(await staking.isActive(bob.address, Role.STORAGE)).to.equal(true);
    });

    it("exit: adds to coin already unbonding and resets its timer", async function () {
      const { staking, alice } = await loadFixture(unbondingFixture);
      const now = (await time.latest()) + Number(DAY);
      await time.setNextBlockTimestamp(now);
      await expect(staking.connect(alice).exit(Role.STORAGE))
        .to.emit(staking, "Exited")
        .withArgs(alice.address, Role.STORAGE, E("3"), BigInt(now) + UNBONDING_DELAY);
      const p = await positionOf(staking, alice, Role.STORAGE);
      expect(p.unbonding).to.equal(E("3"));
      expect(p.unbondingReleaseAt).to.equal(BigInt(now) + UNBONDING_DELAY);
    });

    it("exit: with a zero bond (slashed away) keeps the earlier release time", async function () {
      const { staking, stakingAddress, slasher, alice } = await loadFixture(unbondingFixture);
      const releaseAt = (await positionOf(staking, alice, Role.STORAGE)).unbondingReleaseAt;
      // Take exactly the 2 ETH bond; the 1 ETH unbonding stays.
      await slasher.slash(
        stakingAddress,
        alice.address,
        Role.STORAGE,
        E("2"),
        evidence(1),
        ethers.ZeroAddress,
      );
      await time.increase(DAY);
      await expect(staking.connect(alice).exit(Role.STORAGE))
        .to.emit(staking, "Exited")
        .withArgs(alice.address, Role.STORAGE, E("1"), releaseAt);
      const p = await positionOf(staking, alice, Role.STORAGE);
      expect(p.unbondingReleaseAt).to.equal(releaseAt);
      expect(p.member).to.equal(false);
    });

    it("exit: exiting twice reverts StakingNotMember", async function () {
      const { staking, alice } = await loadFixture(stakedFixture);
      await staking.connect(alice).exit(Role.STORAGE);
      await expect(staking.connect(alice).exit(Role.STORAGE))
        .to.be.revertedWithCustomError(staking, "StakingNotMember")
        .withArgs(alice.address, Role.STORAGE);
    });

    it("exit: only the exiting role is left", async function () {
      const { staking, alice } = await loadFixture(stakedFixture);
      await staking.connect(alice).stake(Role.ORACLE, { value: E("1") });
      await staking.connect(alice).exit(Role.STORAGE);
      expect(await membersOf(staking, Role.ORACLE)).to.deep.equal([alice.address]);
      expect(await staking.isActive(alice.address, Role.ORACLE)).to.equal(true);
      expect((await positionOf(staking, alice, Role.ORACLE)).bonded).to.equal(E("1"));
    });
  });

  describe("withdraw", function () {
    it("withdraw: nothing unbonding reverts StakingNothingToWithdraw", async function () {
      const { staking, alice, carol } = await loadFixture(stakedFixture);
      await expect(staking.connect(alice).withdraw(Role.STORAGE))
        .to.be.revertedWithCustomError(staking, "StakingNothingToWithdraw")
        .withArgs(alice.address, Role.STORAGE);
      await expect(staking.connect(carol).withdraw(Role.DA_SIGNER))
        .to.be.revertedWithCustomError(staking, "StakingNothingToWithdraw")
        .withArgs(carol.address, Role.DA_SIGNER);
    });

    it("withdraw: before releaseAt reverts StakingUnbondingLocked(releaseAt)", async function () {
      const { staking, alice } = await loadFixture(unbondingFixture);
      const releaseAt = (await positionOf(staking, alice, Role.STORAGE)).unbondingReleaseAt;
      await expect(staking.connect(alice).withdraw(Role.STORAGE))
        .to.be.revertedWithCustomError(staking, "StakingUnbondingLocked")
        .withArgs(releaseAt);
      await time.setNextBlockTimestamp(releaseAt - 1n);
      await expect(staking.connect(alice).withdraw(Role.STORAGE))
        .to.be.revertedWithCustomError(staking, "StakingUnbondingLocked")
        .withArgs(releaseAt);
    });

    it("withdraw: at releaseAt pays the exact coin and clears the unbonding", async function () {
      const { staking, stakingAddress, alice } = await loadFixture(unbondingFixture);
      const releaseAt = (await positionOf(staking, alice, Role.STORAGE)).unbondingReleaseAt;
      await time.setNextBlockTimestamp(releaseAt);
      const tx = staking.connect(alice).withdraw(Role.STORAGE);
      await expect(tx).to.emit(staking, "Withdrawn").withArgs(alice.address, Role.STORAGE, E("1"));
      await expect(tx).to.changeEtherBalances([alice, stakingAddress], [E("1"), -E("1")]);
      const p = await positionOf(staking, alice, Role.STORAGE);
      expect(p.unbonding).to.equal(0n);
      expect(p.unbondingReleaseAt).to.equal(0n);
      expect(p.bonded).to.equal(E("2"));
      expect(p.member).to.equal(true);
    });

    it("withdraw: a second withdraw reverts StakingNothingToWithdraw", async function () {
      const { staking, alice } = await loadFixture(unbondingFixture);
      await time.increase(UNBONDING_DELAY);
      await staking.connect(alice).withdraw(Role.STORAGE);
      await expect(staking.connect(alice).withdraw(Role.STORAGE))
        .to.be.revertedWithCustomError(staking, "StakingNothingToWithdraw")
        .withArgs(alice.address, Role.STORAGE);
    });

    it("withdraw: after exit pays the whole former bond", async function () {
      const { staking, stakingAddress, alice } = await loadFixture(stakedFixture);
      await staking.connect(alice).exit(Role.STORAGE);
      await time.increase(UNBONDING_DELAY);
      await expect(staking.connect(alice).withdraw(Role.STORAGE)).to.changeEtherBalances(
        [alice, stakingAddress],
        [E("3"), -E("3")],
      );
      expect(await staking.positionOf(alice.address, Role.STORAGE)).to.deep.equal([
        0n,
        0n,
        0n,
        0n,
        false,
        false,
      ]);
    });

    it("withdraw: pays only what a slash left of the unbonding coin", async function () {
      const { staking, stakingAddress, slasher, alice } = await loadFixture(stakedFixture);
      await staking.connect(alice).exit(Role.STORAGE);
      await slasher.slash(
        stakingAddress,
        alice.address,
        Role.STORAGE,
        E("1"),
        evidence(1),
        ethers.ZeroAddress,
      );
      await time.increase(UNBONDING_DELAY);
      await expect(staking.connect(alice).withdraw(Role.STORAGE))
        .to.emit(staking, "Withdrawn")
        .withArgs(alice.address, Role.STORAGE, E("2"));
    });

    it("withdraw: a recipient that rejects coin reverts StakingTransferFailed", async function () {
      const { staking } = await loadFixture(deployStakingFixture);
      const operator = await impersonatedAccount();
      await staking.connect(operator).stake(Role.STORAGE, { value: E("1") });
      await staking.connect(operator).exit(Role.STORAGE);
      await time.increase(UNBONDING_DELAY);
      await setCode(operator.address, REVERTING_CODE);
      await expect(staking.connect(operator).withdraw(Role.STORAGE))
        .to.be.revertedWithCustomError(staking, "StakingTransferFailed")
        .withArgs(operator.address, E("1"));
      expect((await positionOf(staking, operator.address, Role.STORAGE)).unbonding).to.equal(E("1"));
    });
  });

  describe("setNodeInfo", function () {
    const info = {
      endpoint: "https://storage-1.example.org:5678",
      region: ethers.encodeBytes32String("eu"),
      metadata: ethers.AbiCoder.defaultAbiCoder().encode(["uint256", "uint256"], [3, 16]),
    };

    it("setNodeInfo: not a member reverts StakingNotMember", async function () {
      const { staking, carol } = await loadFixture(stakedFixture);
      await expect(staking.connect(carol).setNodeInfo(Role.STORAGE, info))
        .to.be.revertedWithCustomError(staking, "StakingNotMember")
        .withArgs(carol.address, Role.STORAGE);
    });

    it("setNodeInfo: endpoint over 256 bytes reverts StakingNodeInfoTooLarge", async function () {
      const { staking, alice } = await loadFixture(stakedFixture);
      await expect(
        staking.connect(alice).setNodeInfo(Role.STORAGE, { ...info, endpoint: "x".repeat(257) }),
      ).to.be.revertedWithCustomError(staking, "StakingNodeInfoTooLarge");
      // The bound is in bytes: 129 two-byte characters are 258 bytes.
      await expect(
        staking.connect(alice).setNodeInfo(Role.STORAGE, { ...info, endpoint: "é".repeat(129) }),
      ).to.be.revertedWithCustomError(staking, "StakingNodeInfoTooLarge");
    });

    it("setNodeInfo: metadata over 1024 bytes reverts StakingNodeInfoTooLarge", async function () {
      const { staking, alice } = await loadFixture(stakedFixture);
      await expect(
        staking.connect(alice).setNodeInfo(Role.STORAGE, { ...info, metadata: new Uint8Array(1025) }),
      ).to.be.revertedWithCustomError(staking, "StakingNodeInfoTooLarge");
    });

    it("setNodeInfo: stores the info and emits NodeInfoSet", async function () {
      const { staking, alice } = await loadFixture(stakedFixture);
      await expect(staking.connect(alice).setNodeInfo(Role.STORAGE, info))
        .to.emit(staking, "NodeInfoSet")
        .withArgs(alice.address, Role.STORAGE, info.endpoint, info.region, info.metadata);
      expect(await staking.nodeInfoOf(alice.address, Role.STORAGE)).to.deep.equal([
        info.endpoint,
        info.region,
        info.metadata,
      ]);
      expect(await staking.nodeInfoOf(alice.address, Role.DA_SIGNER)).to.deep.equal([
        "",
        ethers.ZeroHash,
        "0x",
      ]);
    });

    it("setNodeInfo: exactly 256-byte endpoint and 1024-byte metadata are accepted", async function () {
      const { staking, alice } = await loadFixture(stakedFixture);
      const big = { endpoint: "e".repeat(256), region: ethers.ZeroHash, metadata: "0x" + "ab".repeat(1024) };
      await expect(staking.connect(alice).setNodeInfo(Role.STORAGE, big))
        .to.emit(staking, "NodeInfoSet")
        .withArgs(alice.address, Role.STORAGE, big.endpoint, big.region, big.metadata);
      const stored = await staking.nodeInfoOf(alice.address, Role.STORAGE);
      expect(stored.endpoint).to.equal(big.endpoint);
      expect(stored.metadata).to.equal(big.metadata);
    });

    it("setNodeInfo: a second call overwrites the first", async function () {
      const { staking, alice } = await loadFixture(stakedFixture);
      await staking.connect(alice).setNodeInfo(Role.STORAGE, info);
      const next = {
        endpoint: "https://new.example.org",
        region: ethers.encodeBytes32String("us"),
        metadata: "0x",
      };
      await staking.connect(alice).setNodeInfo(Role.STORAGE, next);
      expect(await staking.nodeInfoOf(alice.address, Role.STORAGE)).to.deep.equal([
        next.endpoint,
        next.region,
        next.metadata,
      ]);
    });

    it("setNodeInfo: after exit reverts StakingNotMember", async function () {
      const { staking, alice } = await loadFixture(stakedFixture);
      await staking.connect(alice).setNodeInfo(Role.STORAGE, info);
      await staking.connect(alice).exit(Role.STORAGE);
      await expect(staking.connect(alice).setNodeInfo(Role.STORAGE, info))
        .to.be.revertedWithCustomError(staking, "StakingNotMember")
        .withArgs(alice.address, Role.STORAGE);
    });
  });

  describe("slash", function () {
    it("slash: taking all unbonding coin clears its release time", async function () {
      const { staking, stakingAddress, slasher, alice } = await loadFixture(unbondingFixture);
      await slasher.slash(
        stakingAddress,
        alice.address,
        Role.STORAGE,
        E("3"),
        evidence(78),
        ethers.ZeroAddress,
      );
      const p = await positionOf(staking, alice, Role.STORAGE);
      expect(p.bonded).to.equal(0n);
      expect(p.unbonding).to.equal(0n);
      expect(p.unbondingReleaseAt).to.equal(0n);
    });

    it("slash: a caller that is not a registered module reverts StakingUnauthorizedSlasher", async function () {
      const { staking, alice, stranger } = await loadFixture(stakedFixture);
      await expect(
        staking.connect(stranger).slash(alice.address, Role.STORAGE, 1, evidence(1), stranger.address),
      )
        .to.be.revertedWithCustomError(staking, "StakingUnauthorizedSlasher")
        .withArgs(stranger.address);
    });

    it("slash: governance itself is not a slasher", async function () {
      const { staking, alice, governance } = await loadFixture(stakedFixture);
      await expect(staking.slash(alice.address, Role.STORAGE, 1, evidence(1), ethers.ZeroAddress))
        .to.be.revertedWithCustomError(staking, "StakingUnauthorizedSlasher")
        .withArgs(governance.address);
    });

    it("slash: a registered module without the right reverts StakingUnauthorizedSlasher", async function () {
      const { staking, registry, alice, stranger } = await loadFixture(stakedFixture);
      await registry.setModule(ethers.encodeBytes32String("Other"), stranger.address, "1.0.0");
      await expect(
        staking.connect(stranger).slash(alice.address, Role.STORAGE, 1, evidence(1), stranger.address),
      )
        .to.be.revertedWithCustomError(staking, "StakingUnauthorizedSlasher")
        .withArgs(stranger.address);
    });

    it("slash: revoking the right or replacing the module stops the old slasher", async function () {
      const { staking, stakingAddress, registry, slasher, slasherAddress, alice, stranger } =
        await loadFixture(stakedFixture);
      await registry.setSlasher(NAMES.TestSlasher, false);
      await expect(
        slasher.slash(stakingAddress, alice.address, Role.STORAGE, 1, evidence(1), ethers.ZeroAddress),
      )
        .to.be.revertedWithCustomError(staking, "StakingUnauthorizedSlasher")
        .withArgs(slasherAddress);
      await registry.setSlasher(NAMES.TestSlasher, true);
      await registry.setModule(NAMES.TestSlasher, stranger.address, "2.0.0");
      await expect(
        slasher.slash(stakingAddress, alice.address, Role.STORAGE, 1, evidence(1), ethers.ZeroAddress),
      )
        .to.be.revertedWithCustomError(staking, "StakingUnauthorizedSlasher")
        .withArgs(slasherAddress);
      // The new address under the name holds the right.
      await expect(
        staking.connect(stranger).slash(alice.address, Role.STORAGE, 1, evidence(1), ethers.ZeroAddress),
      ).to.emit(staking, "Slashed");
    });

    it("slash: zero evidence reverts StakingEvidenceInvalid", async function () {
      const { staking, stakingAddress, slasher, alice } = await loadFixture(stakedFixture);
      await expect(
        slasher.slash(stakingAddress, alice.address, Role.STORAGE, 1, ethers.ZeroHash, ethers.ZeroAddress),
      )
        .to.be.revertedWithCustomError(staking, "StakingEvidenceInvalid")
        .withArgs(ethers.ZeroHash);
    });

    it("slash: reused evidence reverts StakingEvidenceInvalid, even for another operator", async function () {
      const { staking, stakingAddress, slasher, alice, bob } = await loadFixture(stakedFixture);
      await slasher.slash(stakingAddress, alice.address, Role.STORAGE, 1, evidence(1), ethers.ZeroAddress);
      await expect(
        slasher.slash(stakingAddress, alice.address, Role.STORAGE, 1, evidence(1), ethers.ZeroAddress),
      )
        .to.be.revertedWithCustomError(staking, "StakingEvidenceInvalid")
        .withArgs(evidence(1));
      await expect(
        slasher.slash(stakingAddress, bob.address, Role.STORAGE, 1, evidence(1), ethers.ZeroAddress),
      )
        .to.be.revertedWithCustomError(staking, "StakingEvidenceInvalid")
        .withArgs(evidence(1));
    });

    it("slash: nothing to slash reverts StakingNothingToSlash and does not use the evidence", async function () {
      const { staking, stakingAddress, slasher, alice, carol } = await loadFixture(stakedFixture);
      await expect(
        slasher.slash(stakingAddress, carol.address, Role.STORAGE, 1, evidence(1), ethers.ZeroAddress),
      )
        .to.be.revertedWithCustomError(staking, "StakingNothingToSlash")
        .withArgs(carol.address, Role.STORAGE);
      await expect(
        slasher.slash(stakingAddress, alice.address, Role.DA_SIGNER, 1, evidence(1), ethers.ZeroAddress),
      )
        .to.be.revertedWithCustomError(staking, "StakingNothingToSlash")
        .withArgs(alice.address, Role.DA_SIGNER);
      await expect(
        slasher.slash(stakingAddress, alice.address, Role.STORAGE, 1, evidence(1), ethers.ZeroAddress),
      ).to.emit(staking, "Slashed");
    });

    it("slash: after exit and withdraw there is nothing to slash", async function () {
      const { staking, stakingAddress, slasher, alice } = await loadFixture(stakedFixture);
      await staking.connect(alice).exit(Role.STORAGE);
      await time.increase(UNBONDING_DELAY);
      await staking.connect(alice).withdraw(Role.STORAGE);
      await expect(
        slasher.slash(stakingAddress, alice.address, Role.STORAGE, 1, evidence(1), ethers.ZeroAddress),
      )
        .to.be.revertedWithCustomError(staking, "StakingNothingToSlash")
        .withArgs(alice.address, Role.STORAGE);
    });

    it("slash: less than the bond takes only from the bond", async function () {
      const { staking, stakingAddress, slasher, alice } = await loadFixture(unbondingFixture);
      expect(
        await slasher.slash.staticCall(
          stakingAddress,
          alice.address,
          Role.STORAGE,
          E("1.5"),
          evidence(1),
          ethers.ZeroAddress,
        ),
      ).to.equal(E("1.5"));
      await slasher.slash(
        stakingAddress,
        alice.address,
        Role.STORAGE,
        E("1.5"),
        evidence(1),
        ethers.ZeroAddress,
      );
      const p = await positionOf(staking, alice, Role.STORAGE);
      expect(p.bonded).to.equal(E("0.5"));
      expect(p.unbonding).to.equal(E("1"));
      expect(p.member).to.equal(true);
    });

    it("slash: takes the bond first, then unbonding coin", async function () {
      const { staking, stakingAddress, slasher, slasherAddress, alice, reporter } =
        await loadFixture(unbondingFixture);
      const releaseAt = (await positionOf(staking, alice, Role.STORAGE)).unbondingReleaseAt;
      const amount = E("2.5");
      const reward = (amount * REPORTER_SHARE_BPS) / BPS;
      await expect(
        slasher.slash(stakingAddress, alice.address, Role.STORAGE, amount, evidence(1), reporter.address),
      )
        .to.emit(staking, "Slashed")
        .withArgs(alice.address, Role.STORAGE, evidence(1), slasherAddress, amount, reporter.address, reward)
        .and.to.emit(slasher, "Forwarded")
        .withArgs(amount);
      const p = await positionOf(staking, alice, Role.STORAGE);
      expect(p.bonded).to.equal(0n);
      expect(p.unbonding).to.equal(E("0.5"));
      expect(p.unbondingReleaseAt).to.equal(releaseAt);
      expect(p.member).to.equal(true);
    });

    it("slash: caps at what is bonded plus unbonding and returns the amount taken", async function () {
      const { staking, stakingAddress, slasher, slasherAddress, alice, reporter, treasury } =
        await loadFixture(unbondingFixture);
      const huge = E("1000");
      expect(
        await slasher.slash.staticCall(
          stakingAddress,
          alice.address,
          Role.STORAGE,
          huge,
          evidence(1),
          reporter.address,
        ),
      ).to.equal(E("3"));
      const tx = slasher.slash(
        stakingAddress,
        alice.address,
        Role.STORAGE,
        huge,
        evidence(1),
        reporter.address,
      );
      await expect(tx)
        .to.emit(staking, "Slashed")
        .withArgs(
          alice.address,
          Role.STORAGE,
          evidence(1),
          slasherAddress,
          E("3"),
          reporter.address,
          E("0.3"),
        );
      // Coin moves from positions to claimable balances: none leaves the contract.
      await expect(tx).to.changeEtherBalance(stakingAddress, 0);
      const p = await positionOf(staking, alice, Role.STORAGE);
      expect(p.bonded).to.equal(0n);
      expect(p.unbonding).to.equal(0n);
      expect(await staking.claimableOf(reporter.address)).to.equal(E("0.3"));
      expect(await staking.claimableOf(treasury.address)).to.equal(E("2.7"));
    });

    it("slash: jails the operator until now + jailPeriod and emits Jailed", async function () {
      const { staking, stakingAddress, slasher, alice } = await loadFixture(stakedFixture);
      const now = (await time.latest()) + 7;
      await time.setNextBlockTimestamp(now);
      const until = BigInt(now) + JAIL_PERIOD;
      await expect(
        slasher.slash(stakingAddress, alice.address, Role.STORAGE, 1, evidence(1), ethers.ZeroAddress),
      )
        .to.emit(staking, "Jailed")
        .withArgs(alice.address, Role.STORAGE, until);
      expect((await positionOf(staking, alice, Role.STORAGE)).jailedUntil).to.equal(until);
      expect(await staking.isActive(alice.address, Role.STORAGE)).to.equal(false);
      expect(await membersOf(staking, Role.STORAGE)).to.include(alice.address);
    });

    it("slash: a later slash extends the jail but never shortens it", async function () {
      const { staking, stakingAddress, slasher, alice } = await loadFixture(stakedFixture);
      const t1 = (await time.latest()) + 1;
      await time.setNextBlockTimestamp(t1);
      await slasher.slash(stakingAddress, alice.address, Role.STORAGE, 1, evidence(1), ethers.ZeroAddress);
      const firstUntil = BigInt(t1) + JAIL_PERIOD;

      await staking.setSlashParams({
        reporterShareBps: REPORTER_SHARE_BPS,
        jailPeriod: 3600,
        treasury: ethers.ZeroAddress,
      });
      await expect(
        slasher.slash(stakingAddress, alice.address, Role.STORAGE, 1, evidence(2), ethers.ZeroAddress),
      )
        .to.emit(staking, "Jailed")
        .withArgs(alice.address, Role.STORAGE, firstUntil);
      expect((await positionOf(staking, alice, Role.STORAGE)).jailedUntil).to.equal(firstUntil);

      await staking.setSlashParams({
        reporterShareBps: REPORTER_SHARE_BPS,
        jailPeriod: 2n * DAY,
        treasury: ethers.ZeroAddress,
      });
      const t3 = (await time.latest()) + 1;
      await time.setNextBlockTimestamp(t3);
      await expect(
        slasher.slash(stakingAddress, alice.address, Role.STORAGE, 1, evidence(3), ethers.ZeroAddress),
      )
        .to.emit(staking, "Jailed")
        .withArgs(alice.address, Role.STORAGE, BigInt(t3) + 2n * DAY);
    });

    it("slash: credits the reporter's share and the treasury's rest", async function () {
      const { staking, stakingAddress, slasher, alice, reporter, treasury } =
        await loadFixture(stakedFixture);
      const amount = E("2");
      const reward = (amount * REPORTER_SHARE_BPS) / BPS;
      await slasher.slash(stakingAddress, alice.address, Role.STORAGE, amount, evidence(1), reporter.address);
      expect(reward).to.equal(E("0.2"));
      expect(await staking.claimableOf(reporter.address)).to.equal(reward);
      expect(await staking.claimableOf(treasury.address)).to.equal(amount - reward);
      expect(await staking.claimableOf(alice.address)).to.equal(0n);
      // Credits from several slashes add up.
      await slasher.slash(
        stakingAddress,
        alice.address,
        Role.STORAGE,
        E("0.5"),
        evidence(2),
        reporter.address,
      );
      expect(await staking.claimableOf(reporter.address)).to.equal(E("0.25"));
      expect(await staking.claimableOf(treasury.address)).to.equal(E("2.25"));
    });

    it("slash: the reporter's share rounds down in the treasury's favour", async function () {
      const { staking, stakingAddress, slasher, alice, reporter, treasury } =
        await loadFixture(stakedFixture);
      await slasher.slash(stakingAddress, alice.address, Role.STORAGE, 19n, evidence(1), reporter.address);
      expect(await staking.claimableOf(reporter.address)).to.equal(1n);
      expect(await staking.claimableOf(treasury.address)).to.equal(18n);
      await slasher.slash(stakingAddress, alice.address, Role.STORAGE, 9n, evidence(2), reporter.address);
      expect(await staking.claimableOf(reporter.address)).to.equal(1n);
      expect(await staking.claimableOf(treasury.address)).to.equal(27n);
    });

    it("slash: reporter zero sends everything to the treasury", async function () {
      const { staking, stakingAddress, slasher, slasherAddress, alice, treasury } =
        await loadFixture(stakedFixture);
      await expect(
        slasher.slash(stakingAddress, alice.address, Role.STORAGE, E("1"), evidence(1), ethers.ZeroAddress),
      )
        .to.emit(staking, "Slashed")
        .withArgs(alice.address, Role.STORAGE, evidence(1), slasherAddress, E("1"), ethers.ZeroAddress, 0);
      expect(await staking.claimableOf(treasury.address)).to.equal(E("1"));
      expect(await staking.claimableOf(ethers.ZeroAddress)).to.equal(0n);
    });

    it("slash: a 100% reporter share leaves nothing for the treasury", async function () {
      const { staking, stakingAddress, slasher, alice, reporter, treasury } =
        await loadFixture(stakedFixture);
      await staking.setSlashParams({
        reporterShareBps: 10_000,
        jailPeriod: JAIL_PERIOD,
        treasury: treasury.address,
      });
      await slasher.slash(stakingAddress, alice.address, Role.STORAGE, E("1"), evidence(1), reporter.address);
      expect(await staking.claimableOf(reporter.address)).to.equal(E("1"));
      expect(await staking.claimableOf(treasury.address)).to.equal(0n);
    });

    it("slash: burns the rest when the treasury is zero", async function () {
      const { staking, stakingAddress, slasher, alice, reporter } = await loadFixture(stakedBurnFixture);
      const amount = E("2");
      const reward = E("0.2");
      const tx = slasher.slash(
        stakingAddress,
        alice.address,
        Role.STORAGE,
        amount,
        evidence(1),
        reporter.address,
      );
      await expect(tx)
        .to.emit(staking, "Burned")
        .withArgs(amount - reward);
      await expect(tx).to.changeEtherBalances(
        [stakingAddress, ethers.ZeroAddress],
        [-(amount - reward), amount - reward],
      );
      expect(await staking.claimableOf(reporter.address)).to.equal(reward);
      expect(await ethers.provider.getBalance(stakingAddress)).to.equal(E("1") + reward);
    });

    it("slash: with treasury and reporter zero burns everything", async function () {
      const { staking, stakingAddress, slasher, slasherAddress, alice } =
        await loadFixture(stakedBurnFixture);
      const tx = slasher.slash(
        stakingAddress,
        alice.address,
        Role.STORAGE,
        E("5"),
        evidence(1),
        ethers.ZeroAddress,
      );
      await expect(tx)
        .to.emit(staking, "Slashed")
        .withArgs(alice.address, Role.STORAGE, evidence(1), slasherAddress, E("3"), ethers.ZeroAddress, 0);
      await expect(tx).to.emit(staking, "Burned").withArgs(E("3"));
      await expect(tx).to.changeEtherBalances([stakingAddress, ethers.ZeroAddress], [-E("3"), E("3")]);
      expect(await ethers.provider.getBalance(stakingAddress)).to.equal(0n);
    });

    it("slash: nothing taken burns nothing", async function () {
      const { staking, stakingAddress, slasher, alice, reporter } = await loadFixture(stakedBurnFixture);
      await slasher.slash(stakingAddress, alice.address, Role.STORAGE, E("3"), evidence(1), reporter.address);
      // Alice is still a member with a zero bond: a new slash only jails.
      const tx = slasher.slash(
        stakingAddress,
        alice.address,
        Role.STORAGE,
        E("1"),
        evidence(2),
        reporter.address,
      );
      await expect(tx).to.emit(staking, "Jailed");
      await expect(tx).not.to.emit(staking, "Burned");
      await expect(tx).to.changeEtherBalance(stakingAddress, 0);
    });

    it("slash: zero amount only jails", async function () {
      const { staking, stakingAddress, slasher, slasherAddress, alice, reporter, treasury } =
        await loadFixture(stakedFixture);
      await expect(
        slasher.slash(stakingAddress, alice.address, Role.STORAGE, 0, evidence(1), reporter.address),
      )
        .to.emit(staking, "Slashed")
        .withArgs(alice.address, Role.STORAGE, evidence(1), slasherAddress, 0, reporter.address, 0);
      const p = await positionOf(staking, alice, Role.STORAGE);
      expect(p.bonded).to.equal(E("3"));
      expect(p.jailedUntil).to.be.greaterThan(0n);
      expect(await staking.claimableOf(treasury.address)).to.equal(0n);
    });

    it("slash: an exited operator is still answerable with its unbonding coin", async function () {
      const { staking, stakingAddress, slasher, alice, treasury } = await loadFixture(stakedFixture);
      await staking.connect(alice).exit(Role.STORAGE);
      await slasher.slash(
        stakingAddress,
        alice.address,
        Role.STORAGE,
        E("1"),
        evidence(1),
        ethers.ZeroAddress,
      );
      const p = await positionOf(staking, alice, Role.STORAGE);
      expect(p.unbonding).to.equal(E("2"));
      expect(p.member).to.equal(false);
      expect(p.jailedUntil).to.be.greaterThan(0n);
      expect(await staking.claimableOf(treasury.address)).to.equal(E("1"));
    });

    it("slash: leaves the operator's other roles and other operators untouched", async function () {
      const { staking, stakingAddress, slasher, alice, bob } = await loadFixture(stakedFixture);
      await staking.connect(alice).stake(Role.ORACLE, { value: E("1") });
      await slasher.slash(
        stakingAddress,
        alice.address,
        Role.STORAGE,
        E("3"),
        evidence(1),
        ethers.ZeroAddress,
      );
      expect((await positionOf(staking, alice, Role.ORACLE)).bonded).to.equal(E("1"));
      expect(await staking.isActive(alice.address, Role.ORACLE)).to.equal(true);
      expect((await positionOf(staking, bob, Role.STORAGE)).bonded).to.equal(E("2"));
      expect(await staking.isActive(bob.address, Role.STORAGE)).to.equal(true);
    });
  });

  describe("claim", function () {
    it("claim: nothing credited reverts StakingNothingToClaim", async function () {
      const { staking, reporter, treasury } = await loadFixture(stakedFixture);
      await expect(staking.connect(reporter).claim())
        .to.be.revertedWithCustomError(staking, "StakingNothingToClaim")
        .withArgs(reporter.address);
      await expect(staking.connect(treasury).claim())
        .to.be.revertedWithCustomError(staking, "StakingNothingToClaim")
        .withArgs(treasury.address);
    });

    it("claim: pays the reporter exactly its credit and emits Claimed", async function () {
      const { staking, stakingAddress, slasher, alice, reporter } = await loadFixture(stakedFixture);
      await slasher.slash(stakingAddress, alice.address, Role.STORAGE, E("3"), evidence(1), reporter.address);
      const tx = staking.connect(reporter).claim();
      await expect(tx).to.emit(staking, "Claimed").withArgs(reporter.address, E("0.3"));
      await expect(tx).to.changeEtherBalances([reporter, stakingAddress], [E("0.3"), -E("0.3")]);
      expect(await staking.claimableOf(reporter.address)).to.equal(0n);
    });

    it("claim: pays the treasury and a second claim reverts", async function () {
      const { staking, stakingAddress, slasher, alice, reporter, treasury } =
        await loadFixture(stakedFixture);
      await slasher.slash(stakingAddress, alice.address, Role.STORAGE, E("3"), evidence(1), reporter.address);
      await expect(staking.connect(treasury).claim()).to.changeEtherBalances(
        [treasury, stakingAddress],
        [E("2.7"), -E("2.7")],
      );
      await expect(staking.connect(treasury).claim())
        .to.be.revertedWithCustomError(staking, "StakingNothingToClaim")
        .withArgs(treasury.address);
      // The reporter's credit is untouched by the treasury's claim.
      expect(await staking.claimableOf(reporter.address)).to.equal(E("0.3"));
    });

    it("claim: a recipient that rejects coin reverts StakingTransferFailed", async function () {
      const { staking, stakingAddress, slasher, alice } = await loadFixture(stakedFixture);
      const reporter = await impersonatedAccount();
      await slasher.slash(stakingAddress, alice.address, Role.STORAGE, E("1"), evidence(1), reporter.address);
      await setCode(reporter.address, REVERTING_CODE);
      await expect(staking.connect(reporter).claim())
        .to.be.revertedWithCustomError(staking, "StakingTransferFailed")
        .withArgs(reporter.address, E("0.1"));
      expect(await staking.claimableOf(reporter.address)).to.equal(E("0.1"));
    });
  });

  describe("governance setters", function () {
    it("setMinStake: non-governance reverts StakingNotGovernance", async function () {
      const { staking, stranger } = await loadFixture(deployStakingFixture);
      await expect(staking.connect(stranger).setMinStake(Role.STORAGE, E("10")))
        .to.be.revertedWithCustomError(staking, "StakingNotGovernance")
        .withArgs(stranger.address);
    });

    it("setMinStake: sets the role's minimum and emits MinStakeSet", async function () {
      const { staking } = await loadFixture(deployStakingFixture);
      await expect(staking.setMinStake(Role.PROVIDER, E("10")))
        .to.emit(staking, "MinStakeSet")
        .withArgs(Role.PROVIDER, E("10"));
      expect(await staking.minStake(Role.PROVIDER)).to.equal(E("10"));
      expect(await staking.minStake(Role.STORAGE)).to.equal(MIN_STAKES[Role.STORAGE]);
    });

    it("setUnbondingDelay: non-governance reverts StakingNotGovernance", async function () {
      const { staking, alice } = await loadFixture(deployStakingFixture);
      await expect(staking.connect(alice).setUnbondingDelay(DAY))
        .to.be.revertedWithCustomError(staking, "StakingNotGovernance")
        .withArgs(alice.address);
    });

    it("setUnbondingDelay: sets the delay, emits UnbondingDelaySet and leaves pending releases alone", async function () {
      const { staking, alice } = await loadFixture(unbondingFixture);
      const releaseAt = (await positionOf(staking, alice, Role.STORAGE)).unbondingReleaseAt;
      await expect(staking.setUnbondingDelay(14n * DAY))
        .to.emit(staking, "UnbondingDelaySet")
        .withArgs(14n * DAY);
      expect(await staking.unbondingDelay()).to.equal(14n * DAY);
      expect((await positionOf(staking, alice, Role.STORAGE)).unbondingReleaseAt).to.equal(releaseAt);
    });

    it("setSlashParams: non-governance reverts StakingNotGovernance", async function () {
      const { staking, reporter } = await loadFixture(deployStakingFixture);
      await expect(
        staking
          .connect(reporter)
          .setSlashParams({ reporterShareBps: 0, jailPeriod: 0, treasury: reporter.address }),
      )
        .to.be.revertedWithCustomError(staking, "StakingNotGovernance")
        .withArgs(reporter.address);
    });

    it("setSlashParams: above 10,000 bps reverts StakingInvalidBps", async function () {
      const { staking, treasury } = await loadFixture(deployStakingFixture);
      await expect(
        staking.setSlashParams({ reporterShareBps: 10_001, jailPeriod: DAY, treasury: treasury.address }),
      )
        .to.be.revertedWithCustomError(staking, "StakingInvalidBps")
        .withArgs(10_001);
      expect((await staking.slashParams()).reporterShareBps).to.equal(REPORTER_SHARE_BPS);
    });

    it("setSlashParams: sets the params and emits SlashParamsSet", async function () {
      const { staking, stranger } = await loadFixture(deployStakingFixture);
      await expect(
        staking.setSlashParams({
          reporterShareBps: 10_000,
          jailPeriod: 2n * DAY,
          treasury: stranger.address,
        }),
      )
        .to.emit(staking, "SlashParamsSet")
        .withArgs(10_000, 2n * DAY, stranger.address);
      expect(await staking.slashParams()).to.deep.equal([10_000n, 2n * DAY, stranger.address]);
    });

    it("setAdmitted: non-governance reverts StakingNotGovernance", async function () {
      const { staking, alice } = await loadFixture(deployStakingFixture);
      await expect(staking.connect(alice).setAdmitted(alice.address, Role.STORAGE, true))
        .to.be.revertedWithCustomError(staking, "StakingNotGovernance")
        .withArgs(alice.address);
    });

    it("setAdmitted: sets the flag and emits AdmissionSet", async function () {
      const { staking, alice } = await loadFixture(deployStakingFixture);
      await expect(staking.setAdmitted(alice.address, Role.ORACLE, true))
        .to.emit(staking, "AdmissionSet")
        .withArgs(alice.address, Role.ORACLE, true);
      expect((await positionOf(staking, alice, Role.ORACLE)).admitted).to.equal(true);
      expect((await positionOf(staking, alice, Role.STORAGE)).admitted).to.equal(false);
      await expect(staking.setAdmitted(alice.address, Role.ORACLE, false))
        .to.emit(staking, "AdmissionSet")
        .withArgs(alice.address, Role.ORACLE, false);
      expect((await positionOf(staking, alice, Role.ORACLE)).admitted).to.equal(false);
    });

    it("governance: follows the registry's ownership after a two-step transfer", async function () {
      const { staking, registry, governance, stranger } = await loadFixture(deployStakingFixture);
      await registry.transferOwnership(stranger.address);
      // Pending ownership grants nothing yet.
      await expect(staking.connect(stranger).setMinStake(Role.STORAGE, 1))
        .to.be.revertedWithCustomError(staking, "StakingNotGovernance")
        .withArgs(stranger.address);
      await registry.connect(stranger).acceptOwnership();
      await expect(staking.connect(stranger).setMinStake(Role.STORAGE, 1))
        .to.emit(staking, "MinStakeSet")
        .withArgs(Role.STORAGE, 1);
      await expect(staking.connect(governance).setMinStake(Role.STORAGE, 2))
        .to.be.revertedWithCustomError(staking, "StakingNotGovernance")
        .withArgs(governance.address);
    });
  });

  describe("isActive", function () {
    it("isActive: false for an operator that never staked", async function () {
      const { staking, carol } = await loadFixture(stakedFixture);
      expect(await staking.isActive(carol.address, Role.STORAGE)).to.equal(false);
    });

    it("isActive: true for a member bonded at least the minimum, per role", async function () {
      const { staking, alice } = await loadFixture(stakedFixture);
      expect(await staking.isActive(alice.address, Role.STORAGE)).to.equal(true);
      expect(await staking.isActive(alice.address, Role.DA_SIGNER)).to.equal(false);
    });

    it("isActive: false while jailed, true again from jailedUntil", async function () {
      const { staking, stakingAddress, slasher, alice } = await loadFixture(stakedFixture);
      await slasher.slash(stakingAddress, alice.address, Role.STORAGE, 1, evidence(1), ethers.ZeroAddress);
      const until = (await positionOf(staking, alice, Role.STORAGE)).jailedUntil;
      expect(await staking.isActive(alice.address, Role.STORAGE)).to.equal(false);
      await time.increaseTo(until - 1n);
      expect(await staking.isActive(alice.address, Role.STORAGE)).to.equal(false);
      await time.increaseTo(until);
      expect(await staking.isActive(alice.address, Role.STORAGE)).to.equal(true);
    });

    it("isActive: false for a member slashed to nothing, even when the role's minimum is zero", async function () {
      const { staking, stakingAddress, slasher, alice } = await loadFixture(stakedFixture);
      await staking.setMinStake(Role.STORAGE, 0);
      await slasher.slash(
        stakingAddress,
        alice.address,
        Role.STORAGE,
        E("100"),
        evidence(77),
        ethers.ZeroAddress,
      );
      await time.increase(JAIL_PERIOD + 1n);
      expect((await positionOf(staking, alice, Role.STORAGE)).bonded).to.equal(0n);
      expect(await membersOf(staking, Role.STORAGE)).to.include(alice.address);
      expect(await staking.isActive(alice.address, Role.STORAGE)).to.equal(false);
    });

    it("isActive: false below the minimum after setMinStake raises it, true when lowered back", async function () {
      const { staking, alice, bob } = await loadFixture(stakedFixture);
      await staking.setMinStake(Role.STORAGE, E("2.5"));
      expect(await staking.isActive(alice.address, Role.STORAGE)).to.equal(true); // 3 ETH
      expect(await staking.isActive(bob.address, Role.STORAGE)).to.equal(false); // 2 ETH
      expect(await membersOf(staking, Role.STORAGE)).to.include(bob.address);
      await staking.setMinStake(Role.STORAGE, E("2"));
      expect(await staking.isActive(bob.address, Role.STORAGE)).to.equal(true);
    });

    it("isActive: false below the minimum after a slash, even once the jail is over", async function () {
      const { staking, stakingAddress, slasher, bob } = await loadFixture(stakedFixture);
      await slasher.slash(
        stakingAddress,
        bob.address,
        Role.STORAGE,
        E("1.5"),
        evidence(1),
        ethers.ZeroAddress,
      );
      await time.increase(JAIL_PERIOD);
      expect(await staking.isActive(bob.address, Role.STORAGE)).to.equal(false);
      await staking.connect(bob).stake(Role.STORAGE, { value: E("0.5") });
      expect(await staking.isActive(bob.address, Role.STORAGE)).to.equal(true);
    });

    it("isActive: false after exit", async function () {
      const { staking, alice } = await loadFixture(stakedFixture);
      await staking.connect(alice).exit(Role.STORAGE);
      expect(await staking.isActive(alice.address, Role.STORAGE)).to.equal(false);
    });

    it("isActive: admission plays no part in NATIVE mode", async function () {
      const { staking, alice, carol } = await loadFixture(stakedFixture);
      await staking.setAdmitted(carol.address, Role.STORAGE, true);
      expect(await staking.isActive(carol.address, Role.STORAGE)).to.equal(false);
      expect((await positionOf(staking, alice, Role.STORAGE)).admitted).to.equal(false);
      expect(await staking.isActive(alice.address, Role.STORAGE)).to.equal(true);
    });

    it("isActive: an admitted member slashed to nothing is not active in NATIVE mode", async function () {
      const { staking, stakingAddress, slasher, alice } = await loadFixture(stakedFixture);
      await staking.setAdmitted(alice.address, Role.STORAGE, true);
      await staking.setMinStake(Role.STORAGE, 0);
      await slasher.slash(
        stakingAddress,
        alice.address,
        Role.STORAGE,
        E("3"),
        evidence(5),
        ethers.ZeroAddress,
      );
      await time.increase(JAIL_PERIOD + 1n);
      const p = await positionOf(staking, alice, Role.STORAGE);
      expect([p.member, p.admitted, p.bonded]).to.deep.equal([true, true, 0n]);
      expect(await staking.isActive(alice.address, Role.STORAGE)).to.equal(false);
    });
  });

  describe("activeMembersOf", function () {
    it("activeMembersOf: empty for a role without members", async function () {
      const { staking } = await loadFixture(stakedFixture);
      expect(await activeMembersOf(staking, Role.ALIGNMENT)).to.deep.equal([]);
    });

    it("activeMembersOf: all members while every one is active", async function () {
      const { staking, alice, bob } = await loadFixture(stakedFixture);
      expect(await activeMembersOf(staking, Role.STORAGE)).to.have.members([alice.address, bob.address]);
      expect(await activeMembersOf(staking, Role.STORAGE)).to.have.lengthOf(2);
    });

    it("activeMembersOf: leaves out jailed and under-bonded members", async function () {
      const { staking, stakingAddress, slasher, alice, bob, carol } = await loadFixture(stakedFixture);
      await staking.connect(carol).stake(Role.STORAGE, { value: E("4") });
      await slasher.slash(stakingAddress, alice.address, Role.STORAGE, 1, evidence(1), ethers.ZeroAddress);
      expect(await activeMembersOf(staking, Role.STORAGE)).to.have.members([bob.address, carol.address]);
      await staking.setMinStake(Role.STORAGE, E("3"));
      expect(await activeMembersOf(staking, Role.STORAGE)).to.deep.equal([carol.address]);
      expect(await membersOf(staking, Role.STORAGE)).to.have.members([
        alice.address,
        bob.address,
        carol.address,
      ]);
    });

    it("activeMembersOf: an empty array when every member is inactive", async function () {
      const { staking } = await loadFixture(stakedFixture);
      await staking.setMinStake(Role.STORAGE, E("100"));
      const active = await activeMembersOf(staking, Role.STORAGE);
      expect(active).to.deep.equal([]);
      expect(await membersOf(staking, Role.STORAGE)).to.have.lengthOf(2);
    });
  });

  describe("activeNodesOf", function () {
    const announced = (endpoint: string, region: string) => ({
      endpoint,
      region: ethers.encodeBytes32String(region),
      metadata: ethers.AbiCoder.defaultAbiCoder().encode(["uint64", "uint64"], [0, 1]),
    });

    it("activeNodesOf: empty arrays for a role without members", async function () {
      const { staking } = await loadFixture(stakedFixture);
      const [operators, infos] = await staking.activeNodesOf(Role.ALIGNMENT);
      expect([...operators]).to.deep.equal([]);
      expect([...infos]).to.deep.equal([]);
    });

    it("activeNodesOf: the active members in activeMembersOf's order, each with what it announced (empty if nothing)", async function () {
      const { staking, alice, bob } = await loadFixture(stakedFixture);
      await staking.connect(bob).setNodeInfo(Role.STORAGE, announced("http://bob.example:5678", "eu"));
      const [operators, infos] = await staking.activeNodesOf(Role.STORAGE);
      expect([...operators]).to.deep.equal(await activeMembersOf(staking, Role.STORAGE));
      expect([...operators]).to.have.members([alice.address, bob.address]);
      const byOperator = new Map(operators.map((operator, i) => [operator, infos[i]]));
      const bobs = byOperator.get(bob.address)!;
      expect([bobs.endpoint, bobs.region, bobs.metadata]).to.deep.equal([
        "http://bob.example:5678",
        ethers.encodeBytes32String("eu"),
        announced("", "").metadata,
      ]);
      const alices = byOperator.get(alice.address)!;
      expect([alices.endpoint, alices.region, alices.metadata]).to.deep.equal(["", ethers.ZeroHash, "0x"]);
    });

    it("activeNodesOf: leaves out a jailed member and what it announced, and its info for another role", async function () {
      const { staking, stakingAddress, slasher, alice, bob } = await loadFixture(stakedFixture);
      await staking.connect(alice).setNodeInfo(Role.STORAGE, announced("http://alice", "us"));
      await staking.connect(bob).setNodeInfo(Role.STORAGE, announced("http://bob", "eu"));
      await slasher.slash(stakingAddress, alice.address, Role.STORAGE, 1, evidence(7), ethers.ZeroAddress);
      const [operators, infos] = await staking.activeNodesOf(Role.STORAGE);
      expect([...operators]).to.deep.equal([bob.address]);
      expect(infos.map((info) => info.endpoint)).to.deep.equal(["http://bob"]);
      const [daOperators] = await staking.activeNodesOf(Role.DA_SIGNER);
      expect([...daOperators]).to.deep.equal([]);
    });
  });

  describe("unjail", function () {
    it("unjail: non-governance reverts StakingNotGovernance", async function () {
      const { staking, alice } = await loadFixture(stakedFixture);
      await expect(staking.connect(alice).unjail(alice.address, Role.STORAGE))
        .to.be.revertedWithCustomError(staking, "StakingNotGovernance")
        .withArgs(alice.address);
    });

    it("unjail: clears the jail at once and emits Unjailed", async function () {
      const { staking, stakingAddress, slasher, alice } = await loadFixture(stakedFixture);
      await slasher.slash(stakingAddress, alice.address, Role.STORAGE, 1, evidence(1), ethers.ZeroAddress);
      expect(await staking.isActive(alice.address, Role.STORAGE)).to.equal(false);
      await expect(staking.unjail(alice.address, Role.STORAGE))
        .to.emit(staking, "Unjailed")
        .withArgs(alice.address, Role.STORAGE);
      expect((await positionOf(staking, alice, Role.STORAGE)).jailedUntil).to.equal(0n);
      expect(await staking.isActive(alice.address, Role.STORAGE)).to.equal(true);
      // A new slash jails again.
      await slasher.slash(stakingAddress, alice.address, Role.STORAGE, 1, evidence(2), ethers.ZeroAddress);
      expect(await staking.isActive(alice.address, Role.STORAGE)).to.equal(false);
    });

    it("unjail: does not make an under-bonded member active", async function () {
      const { staking, stakingAddress, slasher, bob } = await loadFixture(stakedFixture);
      await slasher.slash(
        stakingAddress,
        bob.address,
        Role.STORAGE,
        E("1.5"),
        evidence(1),
        ethers.ZeroAddress,
      );
      await staking.unjail(bob.address, Role.STORAGE);
      expect(await staking.isActive(bob.address, Role.STORAGE)).to.equal(false);
    });
  });

  describe("upgrade", function () {
    it("upgrade: upgradeToAndCall by non-governance reverts StakingNotGovernance", async function () {
      const { staking, stranger } = await loadFixture(deployStakingFixture);
      const next = await new NodeStaking__factory(stranger).deploy();
      await expect(staking.connect(stranger).upgradeToAndCall(await next.getAddress(), "0x"))
        .to.be.revertedWithCustomError(staking, "StakingNotGovernance")
        .withArgs(stranger.address);
    });

    it("upgrade: governance upgrades to a fresh implementation and every state survives", async function () {
      const { staking, stakingAddress, slasher, implementation, alice, bob, reporter, treasury, governance } =
        await loadFixture(unbondingFixture);
      await slasher.slash(stakingAddress, bob.address, Role.STORAGE, E("0.5"), evidence(1), reporter.address);
      await staking.connect(alice).setNodeInfo(Role.STORAGE, {
        endpoint: "https://a.example.org",
        region: ethers.encodeBytes32String("eu"),
        metadata: "0x01",
      });
      const alicePos = await staking.positionOf(alice.address, Role.STORAGE);
      const bobPos = await staking.positionOf(bob.address, Role.STORAGE);
      const members = await membersOf(staking, Role.STORAGE);
      const balance = await ethers.provider.getBalance(stakingAddress);

      const next = await new NodeStaking__factory(governance).deploy();
      const nextAddress = await next.getAddress();
      expect(nextAddress).to.not.equal(await implementation.getAddress());
      await expect(staking.upgradeToAndCall(nextAddress, "0x"))
        .to.emit(staking, "Upgraded")
        .withArgs(nextAddress);
      const slot = await ethers.provider.getStorage(stakingAddress, ERC1967_IMPLEMENTATION_SLOT);
      expect(ethers.getAddress(ethers.dataSlice(slot, 12))).to.equal(nextAddress);

      expect(await staking.positionOf(alice.address, Role.STORAGE)).to.deep.equal(alicePos);
      expect(await staking.positionOf(bob.address, Role.STORAGE)).to.deep.equal(bobPos);
      expect(await membersOf(staking, Role.STORAGE)).to.deep.equal(members);
      expect(await staking.claimableOf(reporter.address)).to.equal(E("0.05"));
      expect(await staking.claimableOf(treasury.address)).to.equal(E("0.45"));
      expect((await staking.nodeInfoOf(alice.address, Role.STORAGE)).endpoint).to.equal(
        "https://a.example.org",
      );
      expect(await staking.mode()).to.equal(Mode.NATIVE);
      expect(await staking.unbondingDelay()).to.equal(UNBONDING_DELAY);
      expect(await staking.minStake(Role.DA_SIGNER)).to.equal(MIN_STAKES[Role.DA_SIGNER]);
      expect(await ethers.provider.getBalance(stakingAddress)).to.equal(balance);
      // Used evidence stays used, and the contract keeps working.
      await expect(
        slasher.slash(stakingAddress, bob.address, Role.STORAGE, 1, evidence(1), ethers.ZeroAddress),
      )
        .to.be.revertedWithCustomError(staking, "StakingEvidenceInvalid")
        .withArgs(evidence(1));
      await time.increase(UNBONDING_DELAY);
      await expect(staking.connect(alice).withdraw(Role.STORAGE)).to.changeEtherBalances(
        [alice, stakingAddress],
        [E("1"), -E("1")],
      );
    });

    it("upgrade: initialize cannot be replayed through upgradeToAndCall", async function () {
      const { staking, initData, governance } = await loadFixture(deployStakingFixture);
      const next = await new NodeStaking__factory(governance).deploy();
      await expect(staking.upgradeToAndCall(await next.getAddress(), initData)).to.be.revertedWithCustomError(
        staking,
        "InvalidInitialization",
      );
    });

    it("upgrade: a target that is not UUPS reverts ERC1967InvalidImplementation", async function () {
      const { staking, registry } = await loadFixture(deployStakingFixture);
      const target = await registry.getAddress();
      await expect(staking.upgradeToAndCall(target, "0x"))
        .to.be.revertedWithCustomError(staking, "ERC1967InvalidImplementation")
        .withArgs(target);
    });

    it("upgrade: calling the implementation directly reverts UUPSUnauthorizedCallContext", async function () {
      const { implementation, governance } = await loadFixture(deployStakingFixture);
      const next = await new NodeStaking__factory(governance).deploy();
      await expect(
        implementation.upgradeToAndCall(await next.getAddress(), "0x"),
      ).to.be.revertedWithCustomError(implementation, "UUPSUnauthorizedCallContext");
      expect(await implementation.proxiableUUID()).to.equal(ERC1967_IMPLEMENTATION_SLOT);
    });
  });

  describe("PERMISSIONED mode", function () {
    it("permissioned: stake with value reverts StakingNoTokenMode", async function () {
      const { staking, bob } = await loadFixture(admittedFixture);
      await expect(staking.connect(bob).stake(Role.STORAGE, { value: 1 })).to.be.revertedWithCustomError(
        staking,
        "StakingNoTokenMode",
      );
    });

    it("permissioned: stake when not admitted reverts StakingNotAdmitted", async function () {
      const { staking, carol, bob } = await loadFixture(admittedFixture);
      await expect(staking.connect(carol).stake(Role.STORAGE))
        .to.be.revertedWithCustomError(staking, "StakingNotAdmitted")
        .withArgs(carol.address, Role.STORAGE);
      // Admission is per role.
      await expect(staking.connect(bob).stake(Role.DA_SIGNER))
        .to.be.revertedWithCustomError(staking, "StakingNotAdmitted")
        .withArgs(bob.address, Role.DA_SIGNER);
    });

    it("permissioned: admitted operator joins with no coin and emits Staked(0, 0)", async function () {
      const { staking, bob } = await loadFixture(admittedFixture);
      await expect(staking.connect(bob).stake(Role.STORAGE))
        .to.emit(staking, "Staked")
        .withArgs(bob.address, Role.STORAGE, 0, 0);
      const p = await positionOf(staking, bob, Role.STORAGE);
      expect(p.member).to.equal(true);
      expect(p.bonded).to.equal(0n);
      expect(await staking.isActive(bob.address, Role.STORAGE)).to.equal(true);
      expect(await membersOf(staking, Role.STORAGE)).to.have.lengthOf(2);
    });

    it("permissioned: staking again as a member reverts StakingAlreadyMember", async function () {
      const { staking, alice } = await loadFixture(admittedFixture);
      await expect(staking.connect(alice).stake(Role.STORAGE))
        .to.be.revertedWithCustomError(staking, "StakingAlreadyMember")
        .withArgs(alice.address, Role.STORAGE);
    });

    it("permissioned: requestUnbond reverts StakingNoTokenMode", async function () {
      const { staking, alice } = await loadFixture(admittedFixture);
      await expect(staking.connect(alice).requestUnbond(Role.STORAGE, 1)).to.be.revertedWithCustomError(
        staking,
        "StakingNoTokenMode",
      );
    });

    it("permissioned: exit leaves the role with nothing unbonding and the operator may rejoin", async function () {
      const { staking, alice } = await loadFixture(admittedFixture);
      await expect(staking.connect(alice).exit(Role.STORAGE))
        .to.emit(staking, "Exited")
        .withArgs(alice.address, Role.STORAGE, 0, 0);
      const p = await positionOf(staking, alice, Role.STORAGE);
      expect(p.member).to.equal(false);
      expect(p.unbonding).to.equal(0n);
      expect(p.admitted).to.equal(true);
      expect(await membersOf(staking, Role.STORAGE)).to.deep.equal([]);
      expect(await staking.isActive(alice.address, Role.STORAGE)).to.equal(false);
      await expect(staking.connect(alice).stake(Role.STORAGE)).to.emit(staking, "Staked");
      expect(await staking.isActive(alice.address, Role.STORAGE)).to.equal(true);
    });

    it("permissioned: slash only jails and moves no coin", async function () {
      const { staking, stakingAddress, slasher, slasherAddress, alice, reporter, treasury } =
        await loadFixture(admittedFixture);
      const tx = slasher.slash(
        stakingAddress,
        alice.address,
        Role.STORAGE,
        E("1"),
        evidence(1),
        reporter.address,
      );
      await expect(tx)
        .to.emit(staking, "Slashed")
        .withArgs(alice.address, Role.STORAGE, evidence(1), slasherAddress, 0, reporter.address, 0);
      await expect(tx).to.emit(staking, "Jailed");
      await expect(tx).not.to.emit(staking, "Burned");
      await expect(tx).to.changeEtherBalances([stakingAddress, reporter, treasury], [0, 0, 0]);
      expect(await staking.claimableOf(reporter.address)).to.equal(0n);
      expect(await staking.claimableOf(treasury.address)).to.equal(0n);
      expect(await staking.isActive(alice.address, Role.STORAGE)).to.equal(false);
      expect((await positionOf(staking, alice, Role.STORAGE)).member).to.equal(true);
    });

    it("permissioned: slashing a non-member reverts StakingNothingToSlash", async function () {
      const { staking, stakingAddress, slasher, bob } = await loadFixture(admittedFixture);
      await expect(
        slasher.slash(stakingAddress, bob.address, Role.STORAGE, 1, evidence(1), ethers.ZeroAddress),
      )
        .to.be.revertedWithCustomError(staking, "StakingNothingToSlash")
        .withArgs(bob.address, Role.STORAGE);
    });

    it("permissioned: withdraw reverts StakingNothingToWithdraw, claim StakingNothingToClaim", async function () {
      const { staking, stakingAddress, slasher, alice, reporter } = await loadFixture(admittedFixture);
      await slasher.slash(stakingAddress, alice.address, Role.STORAGE, 1, evidence(1), reporter.address);
      await staking.connect(alice).exit(Role.STORAGE);
      await time.increase(UNBONDING_DELAY);
      await expect(staking.connect(alice).withdraw(Role.STORAGE))
        .to.be.revertedWithCustomError(staking, "StakingNothingToWithdraw")
        .withArgs(alice.address, Role.STORAGE);
      await expect(staking.connect(reporter).claim())
        .to.be.revertedWithCustomError(staking, "StakingNothingToClaim")
        .withArgs(reporter.address);
    });

    it("permissioned: isActive follows admission, jail and membership", async function () {
      const { staking, stakingAddress, slasher, alice, bob } = await loadFixture(admittedFixture);
      expect(await staking.isActive(alice.address, Role.STORAGE)).to.equal(true);
      // Admitted but not a member.
      expect(await staking.isActive(bob.address, Role.STORAGE)).to.equal(false);
      await staking.setAdmitted(alice.address, Role.STORAGE, false);
      expect(await staking.isActive(alice.address, Role.STORAGE)).to.equal(false);
      expect((await positionOf(staking, alice, Role.STORAGE)).member).to.equal(true);
      expect(await activeMembersOf(staking, Role.STORAGE)).to.deep.equal([]);
      await staking.setAdmitted(alice.address, Role.STORAGE, true);
      expect(await staking.isActive(alice.address, Role.STORAGE)).to.equal(true);
      expect(await activeMembersOf(staking, Role.STORAGE)).to.deep.equal([alice.address]);
      await slasher.slash(stakingAddress, alice.address, Role.STORAGE, 0, evidence(1), ethers.ZeroAddress);
      expect(await staking.isActive(alice.address, Role.STORAGE)).to.equal(false);
      await staking.unjail(alice.address, Role.STORAGE);
      expect(await staking.isActive(alice.address, Role.STORAGE)).to.equal(true);
      // Minimum stakes play no part in PERMISSIONED mode.
      await staking.setMinStake(Role.STORAGE, E("1000"));
      expect(await staking.isActive(alice.address, Role.STORAGE)).to.equal(true);
    });

    it("permissioned: the contract balance stays 0 through everything", async function () {
      const { staking, stakingAddress, slasher, alice, bob, reporter, treasury } =
        await loadFixture(admittedFixture);
      const balance = () => ethers.provider.getBalance(stakingAddress);
      const info = { endpoint: "https://p.example.org", region: ethers.ZeroHash, metadata: "0x" };
      expect(await balance()).to.equal(0n);
      await staking.connect(bob).stake(Role.STORAGE);
      expect(await balance()).to.equal(0n);
      await expect(staking.connect(bob).stake(Role.STORAGE, { value: E("1") })).to.be.revertedWithCustomError(
        staking,
        "StakingNoTokenMode",
      );
      expect(await balance()).to.equal(0n);
      await staking.connect(bob).setNodeInfo(Role.STORAGE, info);
      await slasher.slash(stakingAddress, bob.address, Role.STORAGE, E("10"), evidence(1), reporter.address);
      expect(await balance()).to.equal(0n);
      await slasher.slash(
        stakingAddress,
        alice.address,
        Role.STORAGE,
        E("10"),
        evidence(2),
        ethers.ZeroAddress,
      );
      expect(await balance()).to.equal(0n);
      await staking.unjail(bob.address, Role.STORAGE);
      await staking.connect(alice).exit(Role.STORAGE);
      await time.increase(UNBONDING_DELAY);
      await expect(staking.connect(alice).withdraw(Role.STORAGE)).to.be.revertedWithCustomError(
        staking,
        "StakingNothingToWithdraw",
      );
      await expect(staking.connect(treasury).claim()).to.be.revertedWithCustomError(
        staking,
        "StakingNothingToClaim",
      );
      await staking.connect(alice).stake(Role.STORAGE);
      expect(await balance()).to.equal(0n);
      for (const op of [alice, bob]) {
        const p = await positionOf(staking, op, Role.STORAGE);
        expect(p.bonded).to.equal(0n);
        expect(p.unbonding).to.equal(0n);
      }
      expect(await staking.claimableOf(reporter.address)).to.equal(0n);
      expect(await staking.claimableOf(treasury.address)).to.equal(0n);
    });
  });
});

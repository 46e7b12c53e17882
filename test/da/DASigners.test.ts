import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import { Mode, Role } from "../helpers/staking-fixture";
import { aggregateG1, proofOfPossession } from "../../offchain/da/bls";
import {
  EPOCH_BLOCKS,
  addSigners,
  deployDA,
  freeze,
  freshAccount,
  keyFor,
  nextEpoch,
  registerKey,
  stakeSigner,
} from "./da-fixture";

const native = () => deployDA(Mode.NATIVE);
const permissioned = () => deployDA(Mode.PERMISSIONED);

describe("DASigners", function () {
  it("initialize: stores the registry and epoch length; zero registry, bad length and twice revert", async function () {
    const f = await loadFixture(native);
    expect(await f.signers.registry()).to.equal(await f.registry.getAddress());
    expect(await f.signers.epochBlocks()).to.equal(BigInt(EPOCH_BLOCKS));
    const proxy = await ethers.getContractFactory("ZgProxy");
    const impl = await f.signersImplementation.getAddress();
    const init = (registry: string, blocks: number) =>
      f.signersImplementation.interface.encodeFunctionData("initialize", [registry, blocks]);
    await expect(proxy.deploy(impl, init(ethers.ZeroAddress, 10))).to.be.revertedWithCustomError(
      f.signers,
      "DASignersZeroAddress",
    );
    await expect(proxy.deploy(impl, init(await f.registry.getAddress(), 1)))
      .to.be.revertedWithCustomError(f.signers, "DASignersInvalidEpochBlocks")
      .withArgs(1);
    await expect(f.signers.initialize(await f.registry.getAddress(), 10)).to.be.revertedWithCustomError(
      f.signers,
      "InvalidInitialization",
    );
  });

  describe("register", function () {
    it("an active DA_SIGNER registers once with a proof of possession", async function () {
      const f = await loadFixture(native);
      const account = await freshAccount();
      const key = keyFor("a");
      await expect(registerKey(f, account, key))
        .to.be.revertedWithCustomError(f.signers, "DASignersNotActive")
        .withArgs(account.address);
      await stakeSigner(f, account);
      const wrongPop = proofOfPossession(key, f.chainId, f.signersAddress, f.stranger.address);
      await expect(
        f.signers.connect(account).register(key.pkG1, key.pkG2, wrongPop),
      ).to.be.revertedWithCustomError(f.signers, "DASignersInvalidProofOfPossession");
      await expect(
        f.signers.connect(account).register({ X: 0n, Y: 0n }, key.pkG2, wrongPop),
      ).to.be.revertedWithCustomError(f.signers, "DASignersInvalidKey");
      await expect(registerKey(f, account, key)).to.emit(f.signers, "SignerRegistered");
      expect([...(await f.signers.keyOf(account.address))]).to.deep.equal([key.pkG1.X, key.pkG1.Y]);
      expect(await f.signers.registeredOperators()).to.deep.equal([account.address]);
      await expect(registerKey(f, account, keyFor("b")))
        .to.be.revertedWithCustomError(f.signers, "DASignersAlreadyRegistered")
        .withArgs(account.address);
      const other = await freshAccount();
      await stakeSigner(f, other);
      await expect(registerKey(f, other, key))
        .to.be.revertedWithCustomError(f.signers, "DASignersKeyTaken")
        .withArgs(account.address);
    });
  });

  describe("epochs", function () {
    it("freezeEpoch records active registered operators in order, weights, total and aggregate key, once", async function () {
      const f = await loadFixture(native);
      await expect(f.signers.freezeEpoch()).to.be.revertedWithCustomError(f.signers, "DASignersNoSigners");
      const stakes = [2n, 3n, 7n].map((e) => ethers.parseEther(e.toString()));
      const operators = await addSigners(f, 3, stakes);
      // Operator 1 leaves: not a signer of the next frozen epoch.
      await (await f.staking.connect(operators[1].account).exit(Role.DA_SIGNER)).wait();
      const epoch = await f.signers.currentEpoch();
      const apk = aggregateG1([operators[0].key.pkG1, operators[2].key.pkG1]);
      await expect(f.signers.freezeEpoch())
        .to.emit(f.signers, "EpochFrozen")
        .withArgs(epoch, 2, ethers.parseEther("9"), [apk.X, apk.Y]);
      const list = await f.signers.epochSigners(epoch);
      expect(list.map((s) => [s.operator, s.weight])).to.deep.equal([
        [operators[0].account.address, stakes[0]],
        [operators[2].account.address, stakes[2]],
      ]);
      expect(await f.signers.signerAt(epoch, 1)).to.deep.equal([operators[2].account.address, stakes[2]]);
      await expect(f.signers.signerAt(epoch, 2))
        .to.be.revertedWithCustomError(f.signers, "DASignersNoSuchSigner")
        .withArgs(epoch, 2);
      const info = await f.signers.epochInfo(epoch);
      expect(info.frozen).to.equal(true);
      expect(info.totalWeight).to.equal(ethers.parseEther("9"));
      await expect(f.signers.freezeEpoch())
        .to.be.revertedWithCustomError(f.signers, "DASignersAlreadyFrozen")
        .withArgs(epoch);
      await expect(f.signers.epochSigners(epoch + 1n))
        .to.be.revertedWithCustomError(f.signers, "DASignersEpochNotFrozen")
        .withArgs(epoch + 1n);
      // Quorum: the aggregate key minus the non-signers', and the weights.
      const q = await f.signers.quorum(epoch, 2n);
      expect([q.apk.X, q.apk.Y]).to.deep.equal([operators[0].key.pkG1.X, operators[0].key.pkG1.Y]);
      expect(q.signedWeight).to.equal(stakes[0]);
      expect(await f.signers.signedWeight(epoch, 1n)).to.equal(stakes[2]);
      // attestationQuorum: the same from the non-signers' calldata, with the current epoch.
      const nonSigner = { pkG1: operators[2].key.pkG1, weight: stakes[2] };
      const [current, aq] = await f.signers.attestationQuorum(epoch, 2n, [nonSigner]);
      expect(current).to.equal(epoch);
      expect([aq.apk.X, aq.apk.Y, aq.signedWeight, aq.totalWeight]).to.deep.equal([
        q.apk.X,
        q.apk.Y,
        q.signedWeight,
        ethers.parseEther("9"),
      ]);
      // Out of range (future): only the current epoch, nothing checked.
      const [, none] = await f.signers.attestationQuorum(epoch + 5n, 2n, []);
      expect(none.totalWeight).to.equal(0n);
      await expect(f.signers.attestationQuorum(epoch, 2n, [{ ...nonSigner, weight: stakes[0] }]))
        .to.be.revertedWithCustomError(f.signers, "DASignersWrongNonSigner")
        .withArgs(1);
      await expect(f.signers.quorum(epoch, 4n))
        .to.be.revertedWithCustomError(f.signers, "DASignersInvalidBitmap")
        .withArgs(4n, 2);
    });

    it("PERMISSIONED: weight 1 each", async function () {
      const f = await loadFixture(permissioned);
      await addSigners(f, 2);
      const epoch = await freeze(f);
      expect((await f.signers.epochInfo(epoch)).totalWeight).to.equal(2n);
    });

    it("more than 128 non-signers are refused; at most 256 signers are frozen", async function () {
      this.timeout(600_000);
      const f = await loadFixture(permissioned);
      await addSigners(f, 257);
      const epoch = await freeze(f);
      expect((await f.signers.epochInfo(epoch)).signers).to.equal(256n);
      const bits = (1n << 129n) - 1n;
      await expect(f.signers.quorum(epoch, bits))
        .to.be.revertedWithCustomError(f.signers, "DASignersTooManyNonSigners")
        .withArgs(129);
      // All 256 bits are in range of a full set.
      await expect(f.signers.signedWeight(epoch, ((1n << 128n) - 1n) << 128n)).to.not.be.reverted;
    });

    it("setEpochBlocks: governance only, validated, from the next epoch, numbering monotone", async function () {
      const f = await loadFixture(native);
      await expect(f.signers.connect(f.stranger).setEpochBlocks(5))
        .to.be.revertedWithCustomError(f.signers, "DASignersNotGovernance")
        .withArgs(f.stranger.address);
      await expect(f.signers.setEpochBlocks(1_000_001)).to.be.revertedWithCustomError(
        f.signers,
        "DASignersInvalidEpochBlocks",
      );
      await nextEpoch(f);
      const current = await f.signers.currentEpoch();
      await expect(f.signers.setEpochBlocks(3)).to.emit(f.signers, "EpochBlocksSet");
      // Pending: the current epoch keeps its length; a second change replaces the pending one.
      expect(await f.signers.epochBlocks()).to.equal(BigInt(EPOCH_BLOCKS));
      await (await f.signers.setEpochBlocks(4)).wait();
      expect(await f.signers.currentEpoch()).to.equal(current);
      let last = current;
      for (let i = 0; i < 3 * EPOCH_BLOCKS; i++) {
        await mine(1);
        const now = await f.signers.currentEpoch();
        expect(now >= last).to.equal(true);
        last = now;
      }
      expect(await f.signers.epochBlocks()).to.equal(4n);
      expect(last > current + 2n).to.equal(true);
    });
  });
});

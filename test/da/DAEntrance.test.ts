import { expect } from "chai";
import { ethers } from "hardhat";
import { impersonateAccount, loadFixture, mine, setBalance } from "@nomicfoundation/hardhat-network-helpers";
import { DAEntrance__factory, DASigners__factory, TestMulticall__factory } from "../../typechain-types";
import { Mode, Role } from "../helpers/staking-fixture";
import { attestationMessage, hashToG1Hint } from "../../offchain/da/bls";
import {
  CHALLENGE_BOND,
  DEFAULT_PARAMS,
  EPOCH_BLOCKS,
  FEE_PER_BLOB,
  NO_TOKEN_PARAMS,
  SLASH_AMOUNT,
  addSigners,
  aggregateOn,
  attestWith,
  attestation,
  deployDA,
  freeze,
  makePayload,
  nextEpoch,
  nonSignersOf,
  openingAt,
  submitPayload,
  type DAFixture,
  type Operator,
  type TestPayload,
} from "./da-fixture";

interface Ready {
  f: DAFixture;
  operators: Operator[];
  epoch: bigint;
  p: TestPayload;
}

async function ready(mode: (typeof Mode)[keyof typeof Mode]): Promise<Ready> {
  const f = await deployDA(mode, mode === Mode.NATIVE ? DEFAULT_PARAMS : NO_TOKEN_PARAMS);
  const operators = await addSigners(
    f,
    4,
    mode === Mode.NATIVE ? [2n, 3n, 4n, 5n].map((e) => ethers.parseEther(e.toString())) : undefined,
  );
  const epoch = await freeze(f);
  const p = makePayload("payload", 2);
  await (await submitPayload(f, p)).wait();
  return { f, operators, epoch, p };
}
const nativeReady = () => ready(Mode.NATIVE);
const permissionedReady = () => ready(Mode.PERMISSIONED);

async function attested(nonSigners: number[] = []) {
  const r = await nativeReady();
  await (
    await attestWith(r.f, r.p.id, r.epoch, attestation(r.f, r.p.id, r.epoch, r.operators, nonSigners))
  ).wait();
  return r;
}
const allSigned = () => attested();
const oneMissing = () => attested([0]);

async function challenged(r: Ready, signerIndex = 1, blob = 1) {
  await (
    await r.f.entrance
      .connect(r.f.challenger)
      .challenge(r.p.id, r.p.commitments, r.p.length, blob, signerIndex, {
        value: (await r.f.entrance.params()).challengeBond,
      })
  ).wait();
  return r.operators[signerIndex].account;
}

/** The stake money invariant of NodeStaking, from the chain: balance == Σ bonded + unbonding + claimable. */
async function expectStakeInvariant(f: DAFixture, accounts: string[]) {
  let held = 0n;
  for (const role of [Role.DA_SIGNER]) {
    for (const member of await f.staking.membersOf(role)) {
      const position = await f.staking.positionOf(member, role);
      held += position.bonded + position.unbonding;
    }
  }
  for (const account of accounts) held += await f.staking.claimableOf(account);
  expect(await ethers.provider.getBalance(await f.staking.getAddress())).to.equal(held);
}

describe("DAEntrance", function () {
  describe("initialize and parameters", function () {
    it("stores the parameters and DASigners", async function () {
      const { f } = await loadFixture(nativeReady);
      expect(await f.entrance.signers()).to.equal(f.signersAddress);
      expect((await f.entrance.params()).feePerBlob).to.equal(FEE_PER_BLOB);
      expect(await f.entrance.registry()).to.equal(await f.registry.getAddress());
    });

    it("rejects a zero registry, a zero DASigners and twice", async function () {
      const { f } = await loadFixture(nativeReady);
      const factory = await ethers.getContractFactory("DAEntrance");
      await expect(factory.deploy(ethers.ZeroAddress)).to.be.revertedWithCustomError(
        f.entrance,
        "DAZeroAddress",
      );
      const init = f.entranceImplementation.interface.encodeFunctionData("initialize", [
        ethers.ZeroAddress,
        DEFAULT_PARAMS,
      ]);
      const proxy = await ethers.getContractFactory("ZgProxy");
      await expect(
        proxy.deploy(await f.entranceImplementation.getAddress(), init),
      ).to.be.revertedWithCustomError(f.entrance, "DAZeroAddress");
      await expect(
        f.entrance.initialize(await f.registry.getAddress(), DEFAULT_PARAMS),
      ).to.be.revertedWithCustomError(f.entrance, "InvalidInitialization");
    });

    it("setParams: governance only, validated, emits", async function () {
      const { f } = await loadFixture(nativeReady);
      await expect(f.entrance.connect(f.stranger).setParams(DEFAULT_PARAMS))
        .to.be.revertedWithCustomError(f.entrance, "DANotGovernance")
        .withArgs(f.stranger.address);
      await expect(f.entrance.setParams({ ...DEFAULT_PARAMS, attestWindow: 0 }))
        .to.be.revertedWithCustomError(f.entrance, "DAInvalidWindow")
        .withArgs(0);
      await expect(
        f.entrance.setParams({ ...DEFAULT_PARAMS, challengeWindow: 0 }),
      ).to.be.revertedWithCustomError(f.entrance, "DAInvalidWindow");
      for (const responseWindow of [1, 256]) {
        await expect(f.entrance.setParams({ ...DEFAULT_PARAMS, responseWindow }))
          .to.be.revertedWithCustomError(f.entrance, "DAInvalidResponseWindow")
          .withArgs(responseWindow);
      }
      await expect(f.entrance.setParams({ ...DEFAULT_PARAMS, feePerBlob: 7n })).to.emit(
        f.entrance,
        "ParamsSet",
      );
      expect((await f.entrance.params()).feePerBlob).to.equal(7n);
    });
  });

  describe("submit", function () {
    it("records the payload, takes the fee and logs the commitments", async function () {
      const { f } = await loadFixture(nativeReady);
      const p = makePayload("new", 3);
      const fee = FEE_PER_BLOB * 3n;
      const tx1 = submitPayload(f, p);
      await expect(tx1)
        .to.emit(f.entrance, "Submitted")
        .withArgs(p.id, f.submitter.address, 3, p.length, fee, p.commitments);
      await expect(tx1).to.changeEtherBalance(f.entrance, fee);
      const info = await f.entrance.payloadOf(p.id);
      expect(info.blobs).to.equal(3n);
      expect(info.submitter).to.equal(f.submitter.address);
      expect(info.attested).to.equal(false);
    });

    it("rejects bad commitments, lengths, fees and duplicates", async function () {
      const { f, p } = await loadFixture(nativeReady);
      const e = f.entrance.connect(f.submitter);
      await expect(e.submit("0x", 1))
        .to.be.revertedWithCustomError(f.entrance, "DAInvalidCommitments")
        .withArgs(0);
      await expect(e.submit(ethers.concat([p.commitments, "0x00"]), 1)).to.be.revertedWithCustomError(
        f.entrance,
        "DAInvalidCommitments",
      );
      await expect(e.submit(ethers.hexlify(new Uint8Array(48 * 257)), 1)).to.be.revertedWithCustomError(
        f.entrance,
        "DAInvalidCommitments",
      );
      for (const length of [126_976n, 2n * 126_976n + 1n]) {
        await expect(e.submit(p.commitments, length, { value: FEE_PER_BLOB * 2n }))
          .to.be.revertedWithCustomError(f.entrance, "DAInvalidLength")
          .withArgs(length, 2);
      }
      await expect(e.submit(p.commitments, p.length, { value: FEE_PER_BLOB }))
        .to.be.revertedWithCustomError(f.entrance, "DAWrongValue")
        .withArgs(FEE_PER_BLOB, FEE_PER_BLOB * 2n);
      await expect(e.submit(p.commitments, p.length, { value: FEE_PER_BLOB * 2n }))
        .to.be.revertedWithCustomError(f.entrance, "DAPayloadExists")
        .withArgs(p.id);
    });
  });

  describe("attest", function () {
    it("all signing: records the attestation", async function () {
      const { f, operators, epoch, p } = await loadFixture(nativeReady);
      const total = ethers.parseEther("14");
      await expect(attestWith(f, p.id, epoch, attestation(f, p.id, epoch, operators)))
        .to.emit(f.entrance, "Attested")
        .withArgs(p.id, epoch, 0, total);
      const info = await f.entrance.payloadOf(p.id);
      expect(info.attested).to.equal(true);
      expect(info.nonSignerBitmap).to.equal(0n);
      expect(info.submitter).to.equal(ethers.ZeroAddress);
    });

    it("with non-signers: stores the bitmap; at exactly 2/3 passes, below reverts", async function () {
      const { f, operators, epoch, p } = await loadFixture(nativeReady);
      // Weights 2,3,4,5 (14): without signer 3 (5) 9 < 28/3; without signer 0 (2) 12 ≥ 28/3.
      await expect(attestWith(f, p.id, epoch, attestation(f, p.id, epoch, operators, [3])))
        .to.be.revertedWithCustomError(f.entrance, "DABelowThreshold")
        .withArgs(ethers.parseEther("9"), ethers.parseEther("14"));
      await expect(attestWith(f, p.id, epoch, attestation(f, p.id, epoch, operators, [0])))
        .to.emit(f.entrance, "Attested")
        .withArgs(p.id, epoch, 1, ethers.parseEther("12"));
      expect((await f.entrance.payloadOf(p.id)).nonSignerBitmap).to.equal(1n);
    });

    it("rejects forged, cross-chain, cross-contract and wrong-set signatures", async function () {
      const { f, operators, epoch, p } = await loadFixture(nativeReady);
      const good = attestation(f, p.id, epoch, operators);
      const forged = { ...good, sigma: attestation(f, ethers.id("other"), epoch, operators).sigma };
      const crossChain = aggregateOn(attestationMessage(1n, f.entranceAddress, p.id, epoch), operators);
      const otherEntrance = aggregateOn(
        attestationMessage(f.chainId, f.signersAddress, p.id, epoch),
        operators,
      );
      // Signed by all, but claims signer 0 did not sign.
      const wrongSet = { ...good, bitmap: 1n };
      for (const a of [forged, crossChain, otherEntrance, wrongSet]) {
        await expect(attestWith(f, p.id, epoch, a)).to.be.revertedWithCustomError(
          f.entrance,
          "DAInvalidSignature",
        );
      }
    });

    it("non-signers' keys and weights come in calldata: a forged key or weight, or a wrong count, is refused", async function () {
      const { f, operators, epoch, p } = await loadFixture(nativeReady);
      const a = attestation(f, p.id, epoch, operators, [0]);
      const recorded = await nonSignersOf(f, epoch, a.bitmap);
      expect(recorded).to.deep.equal([{ pkG1: operators[0].key.pkG1, weight: ethers.parseEther("2") }]);
      // Another signer's key (a real point), the right key with another weight, a key off by one in Y.
      for (const forged of [
        { ...recorded[0], pkG1: operators[1].key.pkG1 },
        { ...recorded[0], weight: recorded[0].weight - 1n },
        { ...recorded[0], pkG1: { ...recorded[0].pkG1, Y: recorded[0].pkG1.Y + 1n } },
      ]) {
        await expect(attestWith(f, p.id, epoch, { ...a, nonSigners: [forged] }))
          .to.be.revertedWithCustomError(f.signers, "DASignersWrongNonSigner")
          .withArgs(0);
      }
      // Right entries for signers 0 and 2, in the wrong order: index 0 gets signer 2's entry.
      const two = attestation(f, p.id, epoch, operators, [0, 2]);
      const both = await nonSignersOf(f, epoch, two.bitmap);
      await expect(attestWith(f, p.id, epoch, { ...two, nonSigners: [both[1], both[0]] }))
        .to.be.revertedWithCustomError(f.signers, "DASignersWrongNonSigner")
        .withArgs(0);
      // One entry a set bit.
      await expect(attestWith(f, p.id, epoch, { ...a, nonSigners: [] }))
        .to.be.revertedWithCustomError(f.signers, "DASignersNonSignerCountMismatch")
        .withArgs(1, 0);
      await expect(attestWith(f, p.id, epoch, { ...a, nonSigners: [...recorded, ...recorded] }))
        .to.be.revertedWithCustomError(f.signers, "DASignersNonSignerCountMismatch")
        .withArgs(1, 2);
      await expect(
        attestWith(f, p.id, epoch, { ...attestation(f, p.id, epoch, operators), nonSigners: recorded }),
      )
        .to.be.revertedWithCustomError(f.signers, "DASignersNonSignerCountMismatch")
        .withArgs(0, 1);
      await expect(attestWith(f, p.id, epoch, a))
        .to.emit(f.entrance, "Attested")
        .withArgs(p.id, epoch, 1, ethers.parseEther("12"));
    });

    it("hash hint: a wrong witness is refused; an empty one hashes on-chain", async function () {
      const { f, operators, epoch, p } = await loadFixture(nativeReady);
      const a = attestation(f, p.id, epoch, operators);
      const hint = hashToG1Hint(attestationMessage(f.chainId, f.entranceAddress, p.id, epoch));
      const [y, s] = hint.slice(-2);
      const P = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
      for (const wrong of [
        [y], // too short
        [...hint.slice(0, -2), P - y, s], // the other root
        [...hint.slice(0, -2), y, P - s + 1n], // s² ≠ y
        [...hint.slice(0, -2), y + P, s], // y not reduced
        [1n, ...hint], // an x skipped that is not to be skipped, or a false witness
      ]) {
        await expect(attestWith(f, p.id, epoch, { ...a, hashHint: wrong })).to.be.revertedWithCustomError(
          f.entrance,
          "BN254InvalidHashHint",
        );
      }
      await expect(attestWith(f, p.id, epoch, { ...a, hashHint: [] })).to.emit(f.entrance, "Attested");
    });

    it("rejects replay, unknown payloads and a closed window", async function () {
      const { f, operators, epoch, p } = await loadFixture(nativeReady);
      const a = attestation(f, p.id, epoch, operators);
      await (await attestWith(f, p.id, epoch, a)).wait();
      await expect(attestWith(f, p.id, epoch, a))
        .to.be.revertedWithCustomError(f.entrance, "DAAlreadyAttested")
        .withArgs(p.id);
      const unknown = ethers.id("unknown");
      await expect(attestWith(f, unknown, epoch, a))
        .to.be.revertedWithCustomError(f.entrance, "DAUnknownPayload")
        .withArgs(unknown);
      const late = makePayload("late");
      await (await submitPayload(f, late)).wait();
      await mine(DEFAULT_PARAMS.attestWindow + 1);
      await expect(
        attestWith(f, late.id, epoch, attestation(f, late.id, epoch, operators)),
      ).to.be.revertedWithCustomError(f.entrance, "DAAttestWindowClosed");
    });

    it("epochs: previous accepted, stale and future rejected, unfrozen rejected; wrong bitmaps rejected", async function () {
      const { f, operators, epoch, p } = await loadFixture(nativeReady);
      await expect(attestWith(f, p.id, epoch + 1n, attestation(f, p.id, epoch + 1n, operators)))
        .to.be.revertedWithCustomError(f.entrance, "DAEpochFuture")
        .withArgs(epoch + 1n, epoch);
      await expect(
        attestWith(f, p.id, epoch, { ...attestation(f, p.id, epoch, operators), bitmap: 1n << 4n }),
      ).to.be.revertedWithCustomError(f.signers, "DASignersInvalidBitmap");
      await nextEpoch(f);
      await expect(
        attestWith(f, p.id, epoch + 1n, attestation(f, p.id, epoch + 1n, operators)),
      ).to.be.revertedWithCustomError(f.signers, "DASignersEpochNotFrozen");
      const q = makePayload("previous");
      await (await submitPayload(f, q)).wait();
      await expect(attestWith(f, q.id, epoch, attestation(f, q.id, epoch, operators))).to.emit(
        f.entrance,
        "Attested",
      );
      await nextEpoch(f);
      await expect(attestWith(f, p.id, epoch, attestation(f, p.id, epoch, operators)))
        .to.be.revertedWithCustomError(f.entrance, "DAEpochStale")
        .withArgs(epoch, epoch + 2n);
    });
  });

  describe("fees and refunds", function () {
    it("claimFees pays each signer fee × weight / signed weight, once; non-signers get nothing", async function () {
      const { f, operators, p } = await loadFixture(oneMissing);
      const fee = FEE_PER_BLOB * 2n;
      const share = (fee * ethers.parseEther("3")) / ethers.parseEther("12");
      const tx2 = f.entrance.connect(f.stranger).claimFees(p.id, 1);
      await expect(tx2)
        .to.emit(f.entrance, "FeeClaimed")
        .withArgs(p.id, operators[1].account.address, 1, share);
      await expect(tx2).to.changeEtherBalance(operators[1].account, share);
      expect(await f.entrance.feeClaimed(p.id, 1)).to.equal(true);
      await expect(f.entrance.claimFees(p.id, 1))
        .to.be.revertedWithCustomError(f.entrance, "DAAlreadyClaimed")
        .withArgs(p.id, 1);
      await expect(f.entrance.claimFees(p.id, 0))
        .to.be.revertedWithCustomError(f.entrance, "DANotSigner")
        .withArgs(p.id, 0);
      await expect(f.entrance.claimFees(p.id, 9)).to.be.revertedWithCustomError(
        f.signers,
        "DASignersNoSuchSigner",
      );
      const unattested = makePayload("unattested");
      await (await submitPayload(f, unattested)).wait();
      await expect(f.entrance.claimFees(unattested.id, 1)).to.be.revertedWithCustomError(
        f.entrance,
        "DANotAttested",
      );
      await expect(f.entrance.claimFees(ethers.id("x"), 1)).to.be.revertedWithCustomError(
        f.entrance,
        "DAUnknownPayload",
      );
      let paid = share;
      for (const i of [2, 3]) {
        const receipt = await (await f.entrance.claimFees(p.id, i)).wait();
        paid += f.entrance.interface.parseLog(receipt!.logs[0])!.args.amount as bigint;
      }
      expect(paid <= fee).to.equal(true);
    });

    it("refund after the attest window, once; not before, not when attested", async function () {
      const { f, p, operators, epoch } = await loadFixture(nativeReady);
      await expect(f.entrance.refund(p.id)).to.be.revertedWithCustomError(f.entrance, "DAAttestWindowOpen");
      await expect(f.entrance.refund(ethers.id("x"))).to.be.revertedWithCustomError(
        f.entrance,
        "DAUnknownPayload",
      );
      const q = makePayload("attested");
      await (await submitPayload(f, q)).wait();
      await (await attestWith(f, q.id, epoch, attestation(f, q.id, epoch, operators))).wait();
      await mine(DEFAULT_PARAMS.attestWindow + 1);
      await expect(f.entrance.refund(q.id)).to.be.revertedWithCustomError(f.entrance, "DAAlreadyAttested");
      const fee = FEE_PER_BLOB * 2n;
      const tx3 = f.entrance.connect(f.stranger).refund(p.id);
      await expect(tx3).to.emit(f.entrance, "Refunded").withArgs(p.id, f.submitter.address, fee);
      await expect(tx3).to.changeEtherBalance(f.submitter, fee);
      expect((await f.entrance.payloadOf(p.id)).refunded).to.equal(true);
      await expect(f.entrance.refund(p.id)).to.be.revertedWithCustomError(f.entrance, "DAAlreadyRefunded");
    });
  });

  describe("availability challenges", function () {
    it("challenge → answer with a real KZG opening: the bond goes to the signer", async function () {
      const r = await loadFixture(allSigned);
      const { f, p } = r;
      const signer = r.operators[1].account;
      await expect(
        f.entrance
          .connect(f.challenger)
          .challenge(p.id, p.commitments, p.length, 1, 1, { value: CHALLENGE_BOND }),
      ).to.emit(f.entrance, "Challenged");
      const c = await f.entrance.challengeOf(p.id, signer.address);
      expect(c.status).to.equal(1n);
      const digest = ethers.getBytes(ethers.sha256(p.commitmentList[1]));
      digest[0] = 1;
      expect(c.versionedHash).to.equal(ethers.hexlify(digest));
      expect(await f.entrance.challengePoint(p.id, signer.address)).to.equal(ethers.ZeroHash);
      await mine(1);
      const z = await f.entrance.challengePoint(p.id, signer.address);
      const block = await ethers.provider.getBlock(Number(c.challengeBlock));
      const expected =
        BigInt(
          ethers.keccak256(
            ethers.AbiCoder.defaultAbiCoder().encode(
              ["bytes32", "bytes32", "address"],
              [block!.hash, p.id, signer.address],
            ),
          ),
        ) % 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;
      expect(BigInt(z)).to.equal(expected);
      const [proof, y] = openingAt(p.blobs[1], z);
      const [wrongProof, wrongY] = openingAt(p.blobs[0], z);
      await expect(
        f.entrance.answer(p.id, signer.address, wrongY, p.commitmentList[1], wrongProof),
      ).to.be.revertedWithCustomError(f.entrance, "DAInvalidOpening");
      await expect(
        f.entrance.answer(p.id, signer.address, y, p.commitmentList[0], proof),
      ).to.be.revertedWithCustomError(f.entrance, "DAInvalidOpening");
      const tx4 = f.entrance.answer(p.id, signer.address, y, p.commitmentList[1], proof);
      await expect(tx4)
        .to.emit(f.entrance, "ChallengeAnswered")
        .withArgs(p.id, signer.address, ethers.hexlify(y));
      await expect(tx4).to.changeEtherBalance(signer, CHALLENGE_BOND);
      expect((await f.entrance.challengeOf(p.id, signer.address)).status).to.equal(2n);
      await expect(
        f.entrance.answer(p.id, signer.address, y, p.commitmentList[1], proof),
      ).to.be.revertedWithCustomError(f.entrance, "DANoOpenChallenge");
      // Never twice for one (payload, signer).
      await expect(
        f.entrance
          .connect(f.challenger)
          .challenge(p.id, p.commitments, p.length, 0, 1, { value: CHALLENGE_BOND }),
      ).to.be.revertedWithCustomError(f.entrance, "DAAlreadyChallenged");
    });

    it("challenge rejections", async function () {
      const r = await loadFixture(oneMissing);
      const { f, p } = r;
      const c = f.entrance.connect(f.challenger);
      await expect(c.challenge(p.id, p.commitments, p.length + 1n, 0, 1)).to.be.revertedWithCustomError(
        f.entrance,
        "DAPayloadMismatch",
      );
      await expect(c.challenge(p.id, p.commitments, p.length, 2, 1, { value: CHALLENGE_BOND }))
        .to.be.revertedWithCustomError(f.entrance, "DAInvalidBlobIndex")
        .withArgs(2, 2);
      await expect(c.challenge(p.id, p.commitments, p.length, 0, 0, { value: CHALLENGE_BOND }))
        .to.be.revertedWithCustomError(f.entrance, "DANotSigner")
        .withArgs(p.id, 0);
      await expect(c.challenge(p.id, p.commitments, p.length, 0, 1, { value: 1n }))
        .to.be.revertedWithCustomError(f.entrance, "DAWrongValue")
        .withArgs(1n, CHALLENGE_BOND);
      const q = makePayload("unattested");
      await (await submitPayload(f, q)).wait();
      await expect(c.challenge(q.id, q.commitments, q.length, 0, 1)).to.be.revertedWithCustomError(
        f.entrance,
        "DANotAttested",
      );
      await mine(DEFAULT_PARAMS.challengeWindow + 1);
      await expect(
        c.challenge(p.id, p.commitments, p.length, 0, 1, { value: CHALLENGE_BOND }),
      ).to.be.revertedWithCustomError(f.entrance, "DAChallengeWindowClosed");
    });

    it("unanswered → slashed (NATIVE): reporter paid, bond credited back, stake invariant kept, once", async function () {
      const r = await loadFixture(allSigned);
      const { f, p } = r;
      const signer = await challenged(r, 2);
      await expect(f.entrance.slashUnanswered(p.id, signer.address)).to.be.revertedWithCustomError(
        f.entrance,
        "DAResponseWindowOpen",
      );
      await mine(DEFAULT_PARAMS.responseWindow + 1);
      const [proof, y] = openingAt(p.blobs[1], await f.entrance.challengePoint(p.id, signer.address));
      await expect(
        f.entrance.answer(p.id, signer.address, y, p.commitmentList[1], proof),
      ).to.be.revertedWithCustomError(f.entrance, "DAResponseWindowClosed");
      const evidence = ethers.keccak256(
        ethers.AbiCoder.defaultAbiCoder().encode(
          ["bytes32", "address", "bytes32"],
          [p.id, signer.address, ethers.encodeBytes32String("da-availability")],
        ),
      );
      await expect(f.entrance.connect(f.stranger).slashUnanswered(p.id, signer.address))
        .to.emit(f.entrance, "UnansweredSlashed")
        .withArgs(p.id, signer.address, f.challenger.address, SLASH_AMOUNT)
        .and.to.emit(f.staking, "Slashed")
        .withArgs(
          signer.address,
          Role.DA_SIGNER,
          evidence,
          f.entranceAddress,
          SLASH_AMOUNT,
          f.challenger.address,
          SLASH_AMOUNT / 10n,
        );
      expect(await f.staking.claimableOf(f.challenger.address)).to.equal(SLASH_AMOUNT / 10n);
      expect(await f.entrance.creditOf(f.challenger.address)).to.equal(CHALLENGE_BOND);
      await expectStakeInvariant(f, [f.challenger.address, f.treasury.address]);
      await expect(f.entrance.slashUnanswered(p.id, signer.address)).to.be.revertedWithCustomError(
        f.entrance,
        "DANoOpenChallenge",
      );
      const tx5 = f.entrance.connect(f.challenger).withdraw();
      await expect(tx5).to.emit(f.entrance, "Withdrawn").withArgs(f.challenger.address, CHALLENGE_BOND);
      await expect(tx5).to.changeEtherBalance(f.challenger, CHALLENGE_BOND);
      await expect(f.entrance.connect(f.challenger).withdraw()).to.be.revertedWithCustomError(
        f.entrance,
        "DANothingToWithdraw",
      );
      expect((await f.staking.positionOf(signer.address, Role.DA_SIGNER)).bonded).to.equal(
        ethers.parseEther("4") - SLASH_AMOUNT,
      );
    });

    it("PERMISSIONED: only operators challenge (no bond); unanswered jails; a signer that left ends the challenge", async function () {
      const r = await loadFixture(permissionedReady);
      const { f, p, epoch, operators } = r;
      await (await attestWith(f, p.id, epoch, attestation(f, p.id, epoch, operators))).wait();
      await expect(
        f.entrance.connect(f.stranger).challenge(p.id, p.commitments, p.length, 0, 1),
      ).to.be.revertedWithCustomError(f.entrance, "DANotOperator");
      const challenger = operators[0].account;
      await (await f.entrance.connect(challenger).challenge(p.id, p.commitments, p.length, 0, 1)).wait();
      await (await f.entrance.connect(challenger).challenge(p.id, p.commitments, p.length, 0, 2)).wait();
      // Signer 2 leaves NodeStaking entirely (no-token: no unbonding delay).
      await (await f.staking.connect(operators[2].account).exit(Role.DA_SIGNER)).wait();
      await mine(NO_TOKEN_PARAMS.responseWindow + 1);
      await expect(f.entrance.slashUnanswered(p.id, operators[1].account.address))
        .to.emit(f.staking, "Jailed")
        .and.to.emit(f.entrance, "UnansweredSlashed")
        .withArgs(p.id, operators[1].account.address, challenger.address, 0);
      expect(await f.staking.isActive(operators[1].account.address, Role.DA_SIGNER)).to.equal(false);
      await expect(f.entrance.slashUnanswered(p.id, operators[2].account.address))
        .to.emit(f.entrance, "UnansweredSlashed")
        .withArgs(p.id, operators[2].account.address, challenger.address, 0)
        .and.not.to.emit(f.staking, "Jailed");
    });
  });
  describe("coin transfers", function () {
    /** An account with code and no receive or fallback function, able to send transactions (impersonated). */
    async function rejectingPayee(f: DAFixture) {
      const contract = await new TestMulticall__factory(f.governance).deploy();
      const address = await contract.getAddress();
      await impersonateAccount(address);
      await setBalance(address, ethers.parseEther("10"));
      return ethers.getSigner(address);
    }

    it("a refund to a submitter that rejects coin reverts DATransferFailed and leaves the fee in place", async function () {
      const { f } = await loadFixture(nativeReady);
      const payee = await rejectingPayee(f);
      const q = makePayload("rejecting submitter");
      const fee = FEE_PER_BLOB;
      await (await f.entrance.connect(payee).submit(q.commitments, q.length, { value: fee })).wait();
      await mine(DEFAULT_PARAMS.attestWindow + 1);
      const held = await ethers.provider.getBalance(f.entranceAddress);
      await expect(f.entrance.connect(f.stranger).refund(q.id))
        .to.be.revertedWithCustomError(f.entrance, "DATransferFailed")
        .withArgs(payee.address, fee);
      const info = await f.entrance.payloadOf(q.id);
      expect(info.refunded).to.equal(false);
      expect(info.fee).to.equal(fee);
      expect(await ethers.provider.getBalance(f.entranceAddress)).to.equal(held);
    });

    it("withdrawing a bond to a challenger that rejects coin reverts DATransferFailed and keeps the credit", async function () {
      const r = await loadFixture(allSigned);
      const { f, p } = r;
      const payee = await rejectingPayee(f);
      const signer = r.operators[1].account.address;
      await (
        await f.entrance
          .connect(payee)
          .challenge(p.id, p.commitments, p.length, 0, 1, { value: CHALLENGE_BOND })
      ).wait();
      await mine(DEFAULT_PARAMS.responseWindow + 1);
      await (await f.entrance.slashUnanswered(p.id, signer)).wait();
      expect(await f.entrance.creditOf(payee.address)).to.equal(CHALLENGE_BOND);
      await expect(f.entrance.connect(payee).withdraw())
        .to.be.revertedWithCustomError(f.entrance, "DATransferFailed")
        .withArgs(payee.address, CHALLENGE_BOND);
      expect(await f.entrance.creditOf(payee.address)).to.equal(CHALLENGE_BOND);
    });
  });

  describe("upgrades", function () {
    const IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";
    const implementationOf = async (proxy: string) =>
      ethers.getAddress(ethers.dataSlice(await ethers.provider.getStorage(proxy, IMPLEMENTATION_SLOT), 12));

    it("DASigners: a stranger cannot upgrade; governance can, and the signer set survives", async function () {
      const r = await loadFixture(allSigned);
      const { f, epoch } = r;
      const next = await new DASigners__factory(f.governance).deploy();
      const nextAddress = await next.getAddress();
      await expect(f.signers.connect(f.stranger).upgradeToAndCall(nextAddress, "0x"))
        .to.be.revertedWithCustomError(f.signers, "DASignersNotGovernance")
        .withArgs(f.stranger.address);
      const info = await f.signers.epochInfo(epoch);
      const signers = await f.signers.epochSigners(epoch);
      const registered = await f.signers.registeredOperators();
      await expect(f.signers.upgradeToAndCall(nextAddress, "0x"))
        .to.emit(f.signers, "Upgraded")
        .withArgs(nextAddress);
      expect(await implementationOf(f.signersAddress)).to.equal(nextAddress);
      expect(await f.signers.epochInfo(epoch)).to.deep.equal(info);
      expect(await f.signers.epochSigners(epoch)).to.deep.equal(signers);
      expect(await f.signers.registeredOperators()).to.deep.equal(registered);
      expect(await f.signers.epochBlocks()).to.equal(BigInt(EPOCH_BLOCKS));
      // The implementation itself cannot be upgraded or initialized.
      await expect(f.signersImplementation.upgradeToAndCall(nextAddress, "0x")).to.be.revertedWithCustomError(
        f.signers,
        "UUPSUnauthorizedCallContext",
      );
    });

    it("DAEntrance: a stranger cannot upgrade; governance can, and payloads and challenges survive", async function () {
      const r = await loadFixture(allSigned);
      const { f, p } = r;
      const signer = await challenged(r, 1, 0);
      const next = await new DAEntrance__factory(f.governance).deploy(f.signersAddress);
      const nextAddress = await next.getAddress();
      await expect(f.entrance.connect(f.stranger).upgradeToAndCall(nextAddress, "0x"))
        .to.be.revertedWithCustomError(f.entrance, "DANotGovernance")
        .withArgs(f.stranger.address);
      const payload = await f.entrance.payloadOf(p.id);
      const open = await f.entrance.challengeOf(p.id, signer.address);
      const balance = await ethers.provider.getBalance(f.entranceAddress);
      await expect(f.entrance.upgradeToAndCall(nextAddress, "0x"))
        .to.emit(f.entrance, "Upgraded")
        .withArgs(nextAddress);
      expect(await implementationOf(f.entranceAddress)).to.equal(nextAddress);
      expect(await f.entrance.payloadOf(p.id)).to.deep.equal(payload);
      expect(await f.entrance.challengeOf(p.id, signer.address)).to.deep.equal(open);
      expect(await f.entrance.params()).to.deep.equal(Object.values(DEFAULT_PARAMS).map(BigInt));
      expect(await f.entrance.signers()).to.equal(f.signersAddress);
      expect(await ethers.provider.getBalance(f.entranceAddress)).to.equal(balance);
      // Still working: the open challenge is answered through the new implementation.
      await mine(1);
      const [proof, y] = openingAt(p.blobs[0], await f.entrance.challengePoint(p.id, signer.address));
      await expect(
        f.entrance.answer(p.id, signer.address, y, p.commitmentList[0], proof),
      ).to.changeEtherBalance(signer, CHALLENGE_BOND);
      await expect(
        f.entranceImplementation.upgradeToAndCall(nextAddress, "0x"),
      ).to.be.revertedWithCustomError(f.entrance, "UUPSUnauthorizedCallContext");
    });
  });
});

import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import { Disputes__factory, ZgProxy__factory } from "../../typechain-types";
import { JAIL_PERIOD, Mode, Role } from "../helpers/staking-fixture";
import { serviceParams } from "../helpers/serving-fixture";
import {
  BOND,
  CLIP,
  DEFAULT_PARAMS,
  EVIDENCE,
  Kind,
  QUORUM,
  RESPONSE_TYPES,
  SLASH_AMOUNT,
  Status,
  VOTING_BLOCKS,
  deployAlignment,
  file,
  holders,
  pastVoting,
  signStatement,
  statement,
  voteAll,
  type AlignmentFixture,
  type Holder,
} from "./alignment-fixture";

interface Ready {
  f: AlignmentFixture;
  h: Holder[];
}

async function ready(mode: (typeof Mode)[keyof typeof Mode]): Promise<Ready> {
  const f = await deployAlignment(mode);
  return { f, h: await holders(f, 6) };
}
const nativeReady = () => ready(Mode.NATIVE);
const permissionedReady = () => ready(Mode.PERMISSIONED);

async function filed() {
  const r = await nativeReady();
  const id = await file(r.f, r.h[0], statement(r.f, "bad"));
  return { ...r, id };
}

describe("Disputes", function () {
  describe("setup and governance", function () {
    it("the implementation cannot be initialized; a zero registry or bad parameters are refused", async function () {
      const { f } = await loadFixture(nativeReady);
      await expect(
        f.disputesImplementation.initialize(await f.registry.getAddress(), DEFAULT_PARAMS),
      ).to.be.revertedWithCustomError(f.disputesImplementation, "InvalidInitialization");
      const factory = new ZgProxy__factory(f.governance);
      const impl = await f.disputesImplementation.getAddress();
      const iface = Disputes__factory.createInterface();
      await expect(
        factory.deploy(impl, iface.encodeFunctionData("initialize", [ethers.ZeroAddress, DEFAULT_PARAMS])),
      ).to.be.revertedWithCustomError(f.disputes, "DisputesZeroAddress");
      await expect(
        factory.deploy(
          impl,
          iface.encodeFunctionData("initialize", [
            await f.registry.getAddress(),
            { ...DEFAULT_PARAMS, quorum: 0 },
          ]),
        ),
      ).to.be.revertedWithCustomError(f.disputes, "DisputesInvalidParams");
    });

    it("setParams: governance only, checked, emits ParamsSet; upgrades are governance only", async function () {
      const { f } = await loadFixture(nativeReady);
      const p = { ...DEFAULT_PARAMS, bond: 7n, clip: 10 };
      await expect(f.disputes.connect(f.stranger).setParams(p))
        .to.be.revertedWithCustomError(f.disputes, "DisputesNotGovernance")
        .withArgs(f.stranger.address);
      for (const bad of [{ votingBlocks: 0 }, { quorum: 0 }, { clip: 11 }]) {
        await expect(f.disputes.setParams({ ...p, ...bad })).to.be.revertedWithCustomError(
          f.disputes,
          "DisputesInvalidParams",
        );
      }
      await expect(f.disputes.setParams(p)).to.emit(f.disputes, "ParamsSet");
      expect((await f.disputes.params()).bond).to.equal(7n);
      await expect(
        f.disputes.connect(f.stranger).upgradeToAndCall(await f.disputesImplementation.getAddress(), "0x"),
      ).to.be.revertedWithCustomError(f.disputes, "DisputesNotGovernance");
    });
  });

  describe("fileDispute", function () {
    it("files a signed statement: event, record, digest, bond held", async function () {
      const { f, h } = await loadFixture(nativeReady);
      const s = statement(f, "one");
      const signature = await signStatement(f, s);
      const digest = ethers.TypedDataEncoder.hash(f.domain, RESPONSE_TYPES, s);
      expect(await f.disputes.statementDigest(s)).to.equal(digest);
      const tx = f.disputes
        .connect(h[0].account)
        .fileDispute(h[0].licenseId, Kind.POLICY, s, signature, EVIDENCE, 3, { value: BOND });
      const votingEnds = BigInt((await ethers.provider.getBlockNumber()) + 1 + VOTING_BLOCKS);
      await expect(tx)
        .to.emit(f.disputes, "DisputeFiled")
        .withArgs(
          1n,
          f.provider.address,
          h[0].licenseId,
          h[0].account.address,
          Kind.POLICY,
          digest,
          EVIDENCE,
          3n,
          BOND,
          votingEnds,
        );
      await expect(tx).to.changeEtherBalance(f.disputes, BOND);
      const d = await f.disputes.disputeOf(1n);
      expect(d.status).to.equal(Status.OPEN);
      expect(d.license).to.equal(await f.license.getAddress());
      expect(d.filer).to.equal(h[0].account.address);
      expect(d.digest).to.equal(digest);
      expect(d.quorum).to.equal(BigInt(QUORUM));
      expect(d.clip).to.equal(BigInt(CLIP));
      expect(d.slashAmount).to.equal(SLASH_AMOUNT);
      expect(await f.disputes.disputeOfDigest(digest)).to.equal(1n);
      expect(await f.disputes.disputeCount()).to.equal(1n);
    });

    it("an operator of the license may file; anyone else may not", async function () {
      const { f, h } = await loadFixture(nativeReady);
      const s = statement(f, "op");
      const signature = await signStatement(f, s);
      await expect(
        f.disputes
          .connect(f.stranger)
          .fileDispute(h[0].licenseId, Kind.REEXECUTION, s, signature, EVIDENCE, 1, { value: BOND }),
      )
        .to.be.revertedWithCustomError(f.disputes, "DisputesNotAuthorized")
        .withArgs(h[0].licenseId, f.stranger.address);
      await (
        await f.license.connect(h[0].account).setOperator(h[0].licenseId, f.stranger.address, 500)
      ).wait();
      await expect(
        f.disputes
          .connect(f.stranger)
          .fileDispute(h[0].licenseId, Kind.REEXECUTION, s, signature, EVIDENCE, 1, { value: BOND }),
      ).to.emit(f.disputes, "DisputeFiled");
    });

    it("refuses a wrong bond and a zero evidence root", async function () {
      const { f, h } = await loadFixture(nativeReady);
      const s = statement(f, "bond");
      const signature = await signStatement(f, s);
      const d = f.disputes.connect(h[0].account);
      for (const value of [0n, BOND - 1n, BOND + 1n]) {
        await expect(d.fileDispute(h[0].licenseId, Kind.REEXECUTION, s, signature, EVIDENCE, 1, { value }))
          .to.be.revertedWithCustomError(f.disputes, "DisputesWrongBond")
          .withArgs(value, BOND);
      }
      await expect(
        d.fileDispute(h[0].licenseId, Kind.REEXECUTION, s, signature, ethers.ZeroHash, 1, { value: BOND }),
      ).to.be.revertedWithCustomError(f.disputes, "DisputesNoEvidence");
    });

    it("refuses forged, unsigned, tampered and other-domain statements, and unregistered providers", async function () {
      const { f, h } = await loadFixture(nativeReady);
      const s = statement(f, "forged");
      const d = f.disputes.connect(h[0].account);
      const fileWith = (st: typeof s, sig: string) =>
        d.fileDispute(h[0].licenseId, Kind.REEXECUTION, st, sig, EVIDENCE, 1, { value: BOND });
      // Signed by someone else (the provider's own account is not its response signer).
      const forger = ethers.Wallet.createRandom();
      await expect(fileWith(s, await signStatement(f, s, forger)))
        .to.be.revertedWithCustomError(f.disputes, "DisputesBadSignature")
        .withArgs(f.provider.address, forger.address);
      await expect(fileWith(s, await f.provider.signTypedData(f.domain, RESPONSE_TYPES, s)))
        .to.be.revertedWithCustomError(f.disputes, "DisputesBadSignature")
        .withArgs(f.provider.address, f.provider.address);
      // Unsigned: no signature, or a malformed one.
      for (const sig of ["0x", "0x" + "11".repeat(65), "0x" + "22".repeat(64)]) {
        await expect(fileWith(s, sig)).to.be.revertedWithCustomError(f.disputes, "DisputesBadSignature");
      }
      // The response signer's signature of another statement.
      const other = await signStatement(f, { ...s, fee: 1n });
      await expect(fileWith(s, other)).to.be.revertedWithCustomError(f.disputes, "DisputesBadSignature");
      // The right key in another domain (another verifying contract).
      const otherDomain = { ...f.domain, verifyingContract: f.disputesAddress };
      await expect(
        fileWith(s, await f.responseSigner.signTypedData(otherDomain, RESPONSE_TYPES, s)),
      ).to.be.revertedWithCustomError(f.disputes, "DisputesBadSignature");
      // A statement naming a provider with no service.
      const orphan = { ...s, provider: f.stranger.address };
      await expect(fileWith(orphan, await signStatement(f, orphan)))
        .to.be.revertedWithCustomError(f.disputes, "DisputesProviderNotRegistered")
        .withArgs(f.stranger.address);
    });

    it("REEXECUTION needs a deterministic service; POLICY does not", async function () {
      const { f, h } = await loadFixture(nativeReady);
      await (
        await f.serving.connect(f.provider).update(
          serviceParams(f.responseSigner.address, {
            inputPrice: 0n,
            outputPrice: 0n,
            deterministic: false,
          }),
        )
      ).wait();
      const s = statement(f, "nondet");
      const signature = await signStatement(f, s);
      const d = f.disputes.connect(h[0].account);
      await expect(
        d.fileDispute(h[0].licenseId, Kind.REEXECUTION, s, signature, EVIDENCE, 1, { value: BOND }),
      )
        .to.be.revertedWithCustomError(f.disputes, "DisputesNotDeterministic")
        .withArgs(f.provider.address);
      await expect(
        d.fileDispute(h[0].licenseId, Kind.POLICY, s, signature, EVIDENCE, 1, { value: BOND }),
      ).to.emit(f.disputes, "DisputeFiled");
    });

    it("no double jeopardy: a statement is disputed once, open or decided", async function () {
      const { f, h, id } = await loadFixture(filed);
      const s = statement(f, "bad");
      const digest = await f.disputes.statementDigest(s);
      const again = async () =>
        f.disputes
          .connect(h[1].account)
          .fileDispute(h[1].licenseId, Kind.POLICY, s, await signStatement(f, s), EVIDENCE, 2, {
            value: BOND,
          });
      await expect(again())
        .to.be.revertedWithCustomError(f.disputes, "DisputesAlreadyDisputed")
        .withArgs(digest, id);
      await pastVoting(f, id);
      await (await f.disputes.resolve(id)).wait();
      await expect(again())
        .to.be.revertedWithCustomError(f.disputes, "DisputesAlreadyDisputed")
        .withArgs(digest, id);
    });

    it("PERMISSIONED staking: a bond is refused (no coin moves)", async function () {
      const { f, h } = await loadFixture(permissionedReady);
      await (await f.disputes.setParams({ ...DEFAULT_PARAMS, bond: 1n })).wait();
      const s = statement(f, "nt");
      await expect(
        f.disputes
          .connect(h[0].account)
          .fileDispute(h[0].licenseId, Kind.REEXECUTION, s, await signStatement(f, s), EVIDENCE, 1, {
            value: 1n,
          }),
      ).to.be.revertedWithCustomError(f.disputes, "DisputesNoTokenMode");
    });
  });

  describe("vote", function () {
    it("records one vote per license: event, voteOf, running outcome", async function () {
      const { f, h, id } = await loadFixture(filed);
      await expect(f.disputes.connect(h[1].account).vote(id, h[1].licenseId, 8))
        .to.emit(f.disputes, "Voted")
        .withArgs(id, h[1].licenseId, h[1].account.address, 8);
      expect(await f.disputes.voteOf(id, h[1].licenseId)).to.deep.equal([true, 8n, false]);
      expect(await f.disputes.voteOf(id, h[2].licenseId)).to.deep.equal([false, 0n, false]);
      await voteAll(f, id, h.slice(2, 4), [0, 10]);
      expect(await f.disputes.outcomeOf(id)).to.deep.equal([BigInt(Status.OPEN), 8n, 3n]);
      await expect(f.disputes.connect(h[1].account).vote(id, h[1].licenseId, 1))
        .to.be.revertedWithCustomError(f.disputes, "DisputesAlreadyVoted")
        .withArgs(id, h[1].licenseId);
    });

    it("refuses unknown disputes, bad scores, unauthorized voters, late votes and resolved disputes", async function () {
      const { f, h, id } = await loadFixture(filed);
      await expect(f.disputes.connect(h[1].account).vote(9n, h[1].licenseId, 1))
        .to.be.revertedWithCustomError(f.disputes, "DisputesUnknownDispute")
        .withArgs(9n);
      await expect(f.disputes.connect(h[1].account).vote(id, h[1].licenseId, 11))
        .to.be.revertedWithCustomError(f.disputes, "DisputesInvalidScore")
        .withArgs(11);
      await expect(f.disputes.connect(h[1].account).vote(id, h[2].licenseId, 1))
        .to.be.revertedWithCustomError(f.disputes, "DisputesNotAuthorized")
        .withArgs(h[2].licenseId, h[1].account.address);
      const { votingEnds } = await f.disputes.disputeOf(id);
      await mine(Number(votingEnds) - (await ethers.provider.getBlockNumber()) - 1);
      // The last block of the window still counts.
      await expect(f.disputes.connect(h[1].account).vote(id, h[1].licenseId, 1)).to.emit(f.disputes, "Voted");
      await expect(f.disputes.connect(h[2].account).vote(id, h[2].licenseId, 1))
        .to.be.revertedWithCustomError(f.disputes, "DisputesVotingClosed")
        .withArgs(id, votingEnds);
      await (await f.disputes.resolve(id)).wait();
      await expect(f.disputes.connect(h[2].account).vote(id, h[2].licenseId, 1))
        .to.be.revertedWithCustomError(f.disputes, "DisputesNotOpen")
        .withArgs(id);
    });

    it("a license transferred or handed to an operator mid-vote cannot vote twice", async function () {
      const { f, h, id } = await loadFixture(filed);
      const [a, b, c] = [h[1], h[2], h[3]];
      await (await f.disputes.connect(a.account).vote(id, a.licenseId, 9)).wait();
      await (await f.license.connect(a.account).transfer(a.licenseId, f.stranger.address)).wait();
      await expect(f.disputes.connect(f.stranger).vote(id, a.licenseId, 1))
        .to.be.revertedWithCustomError(f.disputes, "DisputesAlreadyVoted")
        .withArgs(id, a.licenseId);
      await (await f.license.connect(b.account).setOperator(b.licenseId, f.user.address, 1000)).wait();
      await (await f.disputes.connect(f.user).vote(id, b.licenseId, 7)).wait();
      await expect(f.disputes.connect(b.account).vote(id, b.licenseId, 1)).to.be.revertedWithCustomError(
        f.disputes,
        "DisputesAlreadyVoted",
      );
      await (await f.disputes.connect(c.account).vote(id, c.licenseId, 6)).wait();
      await (await f.license.connect(c.account).setOperator(c.licenseId, f.user.address, 0)).wait();
      await expect(f.disputes.connect(f.user).vote(id, c.licenseId, 1)).to.be.revertedWithCustomError(
        f.disputes,
        "DisputesAlreadyVoted",
      );
      expect((await f.disputes.outcomeOf(id))[2]).to.equal(3n);
    });

    it("reserveVotes: anyone reserves any license's words; it records no vote and spares the vote a fresh slot", async function () {
      const { f, h, id } = await loadFixture(filed);
      const [a, b, c] = [h[1], h[2], h[3]];
      expect(await f.disputes.isReserved(a.licenseId, id)).to.equal(false);
      // A stranger reserves a's and b's words for this dispute and the next 60 (two words of 51 disputes).
      await (
        await f.disputes.connect(f.stranger).reserveVotes([a.licenseId, b.licenseId], id, id + 60n)
      ).wait();
      for (const later of [id, id + 50n, id + 60n]) {
        expect(await f.disputes.isReserved(a.licenseId, later)).to.equal(true);
      }
      expect(await f.disputes.isReserved(a.licenseId, id + 102n)).to.equal(false);
      expect(await f.disputes.isReserved(c.licenseId, id)).to.equal(false);
      expect(await f.disputes.voteOf(id, a.licenseId)).to.deep.equal([false, 0n, false]);
      expect((await f.disputes.outcomeOf(id))[2]).to.equal(0n);

      const gasOf = async (holder: typeof a, score: number) =>
        (await (await f.disputes.connect(holder.account).vote(id, holder.licenseId, score)).wait())!.gasUsed;
      const reserved = await gasOf(a, 10);
      const fresh = await gasOf(c, 10);
      // The fresh word's vote pays the fresh SSTORE (20,000 gas) the reservation paid in advance.
      expect(fresh - reserved).to.be.greaterThan(15_000n);
      expect(await f.disputes.voteOf(id, a.licenseId)).to.deep.equal([true, 10n, false]);
      expect(await f.disputes.outcomeOf(id)).to.deep.equal([BigInt(Status.OPEN), 10n, 2n]);

      // Reserving a word in use changes nothing; the vote still counts once.
      await (await f.disputes.reserveVotes([a.licenseId, c.licenseId], id, id)).wait();
      expect(await f.disputes.voteOf(id, a.licenseId)).to.deep.equal([true, 10n, false]);
      await expect(f.disputes.connect(a.account).vote(id, a.licenseId, 0))
        .to.be.revertedWithCustomError(f.disputes, "DisputesAlreadyVoted")
        .withArgs(id, a.licenseId);
      await expect(f.disputes.reserveVotes([a.licenseId], 0n, 5n))
        .to.be.revertedWithCustomError(f.disputes, "DisputesInvalidRange")
        .withArgs(0n, 5n);
      await expect(f.disputes.reserveVotes([a.licenseId], 5n, 4n))
        .to.be.revertedWithCustomError(f.disputes, "DisputesInvalidRange")
        .withArgs(5n, 4n);
    });

    it("a license's votes on disputes sharing a word, and on either side of a word boundary, stay apart", async function () {
      const { f, h } = await loadFixture(nativeReady);
      const a = h[1];
      await (await f.disputes.setParams({ ...DEFAULT_PARAMS, votingBlocks: 1000 })).wait();
      // Dispute ids 1 … 53: ids 50 and 51 sit on either side of the first word boundary (51 disputes a word).
      const ids: bigint[] = [];
      for (let i = 0; i < 53; i++) ids.push(await file(f, h[0], statement(f, `w${i}`)));
      const picks = [ids[0], ids[49], ids[50], ids[51], ids[52]];
      for (const [n, id] of picks.entries()) {
        await (await f.disputes.connect(a.account).vote(id, a.licenseId, n * 2)).wait();
      }
      for (const [n, id] of picks.entries()) {
        expect(await f.disputes.voteOf(id, a.licenseId)).to.deep.equal([true, BigInt(n * 2), false]);
        expect(await f.disputes.outcomeOf(id)).to.deep.equal([BigInt(Status.OPEN), BigInt(n * 2), 1n]);
      }
      expect(await f.disputes.voteOf(ids[1], a.licenseId)).to.deep.equal([false, 0n, false]);
    });
  });

  describe("resolve", function () {
    it("a malicious provider is slashed exactly once; the filer reports and gets its bond back", async function () {
      const { f, h, id } = await loadFixture(filed);
      const digest = (await f.disputes.disputeOf(id)).digest;
      await voteAll(f, id, h.slice(1, 5), [10, 9, 4, 10]);
      await expect(f.disputes.resolve(id))
        .to.be.revertedWithCustomError(f.disputes, "DisputesVotingOpen")
        .withArgs(id, (await f.disputes.disputeOf(id)).votingEnds);
      await pastVoting(f, id);
      const before = await f.staking.positionOf(f.provider.address, Role.PROVIDER);
      const tx = f.disputes.resolve(id);
      await expect(tx)
        .to.emit(f.staking, "Slashed")
        .withArgs(
          f.provider.address,
          Role.PROVIDER,
          digest,
          f.disputesAddress,
          SLASH_AMOUNT,
          h[0].account.address,
          SLASH_AMOUNT / 10n,
        );
      await expect(tx)
        .to.emit(f.disputes, "DisputeUpheld")
        .withArgs(id, f.provider.address, 9n, 4n, SLASH_AMOUNT);
      await expect(tx).to.emit(f.disputes, "Credited").withArgs(h[0].account.address, BOND);
      const after = await f.staking.positionOf(f.provider.address, Role.PROVIDER);
      expect(before.bonded - after.bonded).to.equal(SLASH_AMOUNT);
      expect(after.jailedUntil).to.be.greaterThan(0n);
      const d = await f.disputes.disputeOf(id);
      expect([d.status, d.outcome, d.voters, d.slashed]).to.deep.equal([
        BigInt(Status.UPHELD),
        9n,
        4n,
        SLASH_AMOUNT,
      ]);
      await expect(f.disputes.resolve(id))
        .to.be.revertedWithCustomError(f.disputes, "DisputesNotOpen")
        .withArgs(id);
      await expect(f.disputes.resolve(7n))
        .to.be.revertedWithCustomError(f.disputes, "DisputesUnknownDispute")
        .withArgs(7n);
      await expect(f.disputes.claimVoterReward(id, h[1].licenseId))
        .to.be.revertedWithCustomError(f.disputes, "DisputesNotRejected")
        .withArgs(id);
      // The bond comes back through withdraw.
      await expect(f.disputes.connect(h[0].account).withdraw())
        .to.emit(f.disputes, "Withdrawn")
        .withArgs(h[0].account.address, BOND);
      await expect(f.disputes.connect(h[0].account).withdraw())
        .to.be.revertedWithCustomError(f.disputes, "DisputesNothingToWithdraw")
        .withArgs(h[0].account.address);
      expect(await ethers.provider.getBalance(f.disputesAddress)).to.equal(0n);
      expect(await f.staking.claimableOf(h[0].account.address)).to.equal(SLASH_AMOUNT / 10n);
    });

    it("the outcome is the lower median: 5 upholds, 4 and a 5/5 split reject; below quorum rejects", async function () {
      const cases: [number[], number][] = [
        [[5, 5, 10], Status.UPHELD],
        [[4, 4, 10], Status.REJECTED],
        [[0, 0, 10, 10], Status.REJECTED],
        [[10, 10], Status.REJECTED], // 2 voters < quorum 3
      ];
      const { f, h } = await loadFixture(nativeReady);
      for (const [i, [scores, expected]] of cases.entries()) {
        const id = await file(f, h[0], statement(f, `case:${i}`));
        await voteAll(f, id, h.slice(1), scores);
        await pastVoting(f, id);
        await (await f.disputes.resolve(id)).wait();
        expect((await f.disputes.disputeOf(id)).status).to.equal(expected);
      }
    });

    it("an honest provider is never slashed: rejected, the filer loses its bond, near voters paid, far voters not", async function () {
      const { f, h, id } = await loadFixture(filed);
      // Outcome 2 (lower median of 0, 1, 3, 9, 2 → 2); clip 2 → 0, 1, 3, 2 eligible, 9 not.
      await voteAll(f, id, h.slice(1, 6), [0, 1, 3, 9, 2]);
      await (await f.license.connect(h[2].account).setOperator(h[2].licenseId, f.user.address, 2500)).wait();
      await pastVoting(f, id);
      const bonded = (await f.staking.positionOf(f.provider.address, Role.PROVIDER)).bonded;
      const tx = f.disputes.resolve(id);
      await expect(tx).to.emit(f.disputes, "DisputeRejected").withArgs(id, 2n, 5n, 4n, BOND);
      await expect(tx).not.to.emit(f.staking, "Slashed");
      expect((await f.staking.positionOf(f.provider.address, Role.PROVIDER)).bonded).to.equal(bonded);
      expect(await f.disputes.creditOf(h[0].account.address)).to.equal(0n);

      const share = BOND / 4n;
      await expect(f.disputes.claimVoterReward(id, h[1].licenseId))
        .to.emit(f.disputes, "VoterRewardClaimed")
        .withArgs(id, h[1].licenseId, h[1].account.address, share, ethers.ZeroAddress, 0n);
      // Commission to the operator at claim time; the holder gets the rest.
      const commission = share / 4n;
      await expect(f.disputes.claimVoterReward(id, h[2].licenseId)).to.changeEtherBalances(
        [h[2].account, f.user],
        [share - commission, commission],
      );
      await expect(f.disputes.claimVoterReward(id, h[4].licenseId))
        .to.be.revertedWithCustomError(f.disputes, "DisputesNotEligible")
        .withArgs(id, h[4].licenseId);
      await expect(f.disputes.claimVoterReward(id, h[0].licenseId))
        .to.be.revertedWithCustomError(f.disputes, "DisputesNotEligible")
        .withArgs(id, h[0].licenseId);
      await expect(f.disputes.claimVoterReward(id, h[1].licenseId))
        .to.be.revertedWithCustomError(f.disputes, "DisputesAlreadyClaimed")
        .withArgs(id, h[1].licenseId);
      await expect(f.disputes.claimVoterReward(9n, h[1].licenseId))
        .to.be.revertedWithCustomError(f.disputes, "DisputesUnknownDispute")
        .withArgs(9n);
      await (await f.disputes.claimVoterReward(id, h[3].licenseId)).wait();
      await (await f.disputes.claimVoterReward(id, h[5].licenseId)).wait();
      expect(await ethers.provider.getBalance(f.disputesAddress)).to.equal(0n);
      expect(await f.disputes.voteOf(id, h[5].licenseId)).to.deep.equal([true, 2n, true]);
    });

    it("the last eligible claimer takes the rounding; a failed payment reverts the claim", async function () {
      const { f, h } = await loadFixture(nativeReady);
      await (await f.disputes.setParams({ ...DEFAULT_PARAMS, bond: 10n })).wait();
      const id = await file(f, h[0], statement(f, "odd"));
      await voteAll(f, id, h.slice(1, 4), [0, 0, 0]);
      await pastVoting(f, id);
      await (await f.disputes.resolve(id)).wait();
      await expect(f.disputes.claimVoterReward(id, h[1].licenseId)).to.changeEtherBalance(h[1].account, 3n);
      await expect(f.disputes.claimVoterReward(id, h[2].licenseId)).to.changeEtherBalance(h[2].account, 3n);
      // A holder that refuses coin (the registry has no receive function).
      const registry = await f.registry.getAddress();
      await (await f.license.connect(h[3].account).transfer(h[3].licenseId, registry)).wait();
      await expect(f.disputes.claimVoterReward(id, h[3].licenseId))
        .to.be.revertedWithCustomError(f.disputes, "DisputesTransferFailed")
        .withArgs(registry, 4n);
    });

    it("a rejected dispute nobody voted on credits the bond back to the filer", async function () {
      const { f, h, id } = await loadFixture(filed);
      await pastVoting(f, id);
      await expect(f.disputes.resolve(id))
        .to.emit(f.disputes, "DisputeRejected")
        .withArgs(id, 0n, 0n, 0n, 0n)
        .and.to.emit(f.disputes, "Credited")
        .withArgs(h[0].account.address, BOND);
    });

    it("a provider that is unbonding is still slashed; parameters are fixed at filing", async function () {
      const { f, h, id } = await loadFixture(filed);
      await (await f.staking.connect(f.provider).exit(Role.PROVIDER)).wait();
      await (await f.disputes.setParams({ ...DEFAULT_PARAMS, slashAmount: 1n, quorum: 100 })).wait();
      await voteAll(f, id, h.slice(1, 4), [10, 10, 10]);
      await pastVoting(f, id);
      await expect(f.disputes.resolve(id))
        .to.emit(f.disputes, "DisputeUpheld")
        .withArgs(id, f.provider.address, 10n, 3n, SLASH_AMOUNT);
    });
  });

  describe("PERMISSIONED staking (no token)", function () {
    it("an upheld dispute jails the provider and moves no coin", async function () {
      const { f, h } = await loadFixture(permissionedReady);
      const id = await file(f, h[0], statement(f, "nt"));
      await voteAll(f, id, h.slice(1, 5), [10, 10, 8, 0]);
      await pastVoting(f, id);
      const tx = f.disputes.resolve(id);
      await expect(tx).to.emit(f.staking, "Jailed");
      await expect(tx).to.emit(f.disputes, "DisputeUpheld").withArgs(id, f.provider.address, 8n, 4n, 0n);
      await expect(tx).not.to.emit(f.disputes, "Credited");
      const position = await f.staking.positionOf(f.provider.address, Role.PROVIDER);
      const now = (await ethers.provider.getBlock("latest"))!.timestamp;
      expect(position.jailedUntil).to.equal(BigInt(now) + JAIL_PERIOD);
      expect(await f.staking.isActive(f.provider.address, Role.PROVIDER)).to.equal(false);
      expect(await ethers.provider.getBalance(f.disputesAddress)).to.equal(0n);
      expect(await ethers.provider.getBalance(await f.staking.getAddress())).to.equal(0n);
      // A rejected one has no reward to claim.
      const id2 = await file(f, h[0], statement(f, "nt2"));
      await voteAll(f, id2, h.slice(1, 4), [0, 0, 0]);
      await pastVoting(f, id2);
      await (await f.disputes.resolve(id2)).wait();
      await expect(f.disputes.claimVoterReward(id2, h[1].licenseId)).to.emit(
        f.disputes,
        "VoterRewardClaimed",
      );
      expect(await ethers.provider.getBalance(f.disputesAddress)).to.equal(0n);
    });
  });
});

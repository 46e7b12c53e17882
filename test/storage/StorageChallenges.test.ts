import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import { Role } from "../helpers/staking-fixture";
import {
  DAY,
  DEFAULT_PARAMS,
  NODE_STAKE,
  answer,
  answerHonestly,
  deployChallenges,
  deployChallengesFixture,
  elapse,
  makeFile,
  pastDeadline,
  shardSectors,
  stakeNode,
  toEpoch,
  upload,
  type ChallengesFixture,
  type TestFile,
} from "./challenges-fixture";
import { answerCalldata } from "../../offchain/storage/sector-proof";

/** Alice (whole log) declares one 16-sector file; returns the fixture, the file and the first challenged epoch. */
async function declaredFixture(): Promise<{ f: ChallengesFixture; file: TestFile; epoch: bigint }> {
  const f = await deployChallengesFixture();
  const file = makeFile("one", [4]);
  await upload(f, file);
  await stakeNode(f, f.alice);
  await (await f.challenges.connect(f.alice).declare([file.dataRoot])).wait();
  const epoch = (await f.challenges.currentEpoch()) + 1n;
  return { f, file, epoch };
}

async function openEpochFixture() {
  const fixture = await declaredFixture();
  await toEpoch(fixture.f, fixture.epoch);
  return fixture;
}

function wrongSector(file: TestFile, index: number): string {
  const bytes = new Uint8Array(file.sector(index));
  bytes[0] ^= 0xff;
  return ethers.hexlify(bytes);
}

describe("StorageChallenges", function () {
  describe("initialize and parameters", function () {
    it("initialize: stores the registry and parameters", async function () {
      const f = await loadFixture(deployChallengesFixture);
      expect(await f.challenges.registry()).to.equal(await f.registry.getAddress());
      const params = await f.challenges.params();
      expect(params.epochBlocks).to.equal(DEFAULT_PARAMS.epochBlocks);
      expect(params.slashAmount).to.equal(DEFAULT_PARAMS.slashAmount);
      expect(await f.challenges.currentEpoch()).to.equal(0n);
    });

    it("initialize: twice reverts", async function () {
      const f = await loadFixture(deployChallengesFixture);
      await expect(
        f.challenges.initialize(await f.registry.getAddress(), DEFAULT_PARAMS),
      ).to.be.revertedWithCustomError(f.challenges, "InvalidInitialization");
    });

    it("initialize: zero registry reverts ChallengesZeroAddress", async function () {
      const f = await loadFixture(deployChallengesFixture);
      const init = f.implementation.interface.encodeFunctionData("initialize", [
        ethers.ZeroAddress,
        DEFAULT_PARAMS,
      ]);
      const factory = await ethers.getContractFactory("ZgProxy");
      await expect(factory.deploy(await f.implementation.getAddress(), init)).to.be.revertedWithCustomError(
        f.challenges,
        "ChallengesZeroAddress",
      );
    });

    it("setParams: not governance reverts", async function () {
      const f = await loadFixture(deployChallengesFixture);
      await expect(f.challenges.connect(f.stranger).setParams(DEFAULT_PARAMS))
        .to.be.revertedWithCustomError(f.challenges, "ChallengesNotGovernance")
        .withArgs(f.stranger.address);
    });

    it("setParams: out-of-bounds values revert with their error", async function () {
      const f = await loadFixture(deployChallengesFixture);
      const cases: [Partial<typeof DEFAULT_PARAMS>, string][] = [
        [{ epochBlocks: 1 }, "ChallengesInvalidEpochBlocks"],
        [{ epochBlocks: 1_000_001 }, "ChallengesInvalidEpochBlocks"],
        [{ responseWindow: 0 }, "ChallengesInvalidResponseWindow"],
        [{ responseWindow: 256, epochBlocks: 1000 }, "ChallengesInvalidResponseWindow"],
        [{ responseWindow: 21 }, "ChallengesInvalidResponseWindow"],
        [{ rewardBps: 10_001 }, "ChallengesInvalidBps"],
        [{ dataLifetime: 0 }, "ChallengesInvalidDataLifetime"],
        [{ dataLifetime: 101 * 365 * DAY }, "ChallengesInvalidDataLifetime"],
      ];
      for (const [change, error] of cases) {
        await expect(f.challenges.setParams({ ...DEFAULT_PARAMS, ...change })).to.be.revertedWithCustomError(
          f.challenges,
          error,
        );
      }
    });

    it("setParams: same epochBlocks keeps the schedule and emits ParamsSet", async function () {
      const f = await loadFixture(deployChallengesFixture);
      const next = { ...DEFAULT_PARAMS, rewardBps: 500, slashAmount: 1n };
      const start = await f.challenges.epochStartBlock(0n);
      await expect(f.challenges.setParams(next)).to.emit(f.challenges, "ParamsSet");
      expect((await f.challenges.params()).rewardBps).to.equal(500);
      expect(await f.challenges.epochStartBlock(0n)).to.equal(start);
    });

    it("setParams: a new epochBlocks starts the next epoch at once", async function () {
      const f = await loadFixture(deployChallengesFixture);
      await mine(5);
      const tx = await f.challenges.setParams({ ...DEFAULT_PARAMS, epochBlocks: 50 });
      const receipt = await tx.wait();
      await expect(tx).to.emit(f.challenges, "SeedRecorded");
      expect(await f.challenges.currentEpoch()).to.equal(1n);
      expect(await f.challenges.epochStartBlock(1n)).to.equal(BigInt(receipt!.blockNumber));
      expect(await f.challenges.epochStartBlock(2n)).to.equal(BigInt(receipt!.blockNumber) + 50n);
      // Epoch 0 keeps its recorded seed; an epoch before the anchor has no start block.
      expect((await f.challenges.epochInfo(0n)).seed).to.not.equal(ethers.ZeroHash);
      expect(await f.challenges.epochStartBlock(0n)).to.equal(0n);
    });

    it("upgrade: only governance", async function () {
      const f = await loadFixture(deployChallengesFixture);
      const next = await (await ethers.getContractFactory("StorageChallenges")).deploy();
      await expect(
        f.challenges.connect(f.stranger).upgradeToAndCall(await next.getAddress(), "0x"),
      ).to.be.revertedWithCustomError(f.challenges, "ChallengesNotGovernance");
      await expect(f.challenges.upgradeToAndCall(await next.getAddress(), "0x")).to.emit(
        f.challenges,
        "Upgraded",
      );
    });
  });

  describe("declare", function () {
    it("declare: counts from the next epoch and is visible to uploaders", async function () {
      const { f, file, epoch } = await loadFixture(declaredFixture);
      expect(await f.challenges.weightOf(f.alice.address, epoch - 1n)).to.equal(0n);
      expect(await f.challenges.weightOf(f.alice.address, epoch)).to.equal(16n);
      expect(await f.challenges.isDeclared(f.alice.address, file.dataRoot)).to.equal(true);
      expect(await f.challenges.declaredRoots(f.alice.address)).to.deep.equal([file.dataRoot]);
      expect(await f.challenges.holdersOf(file.dataRoot)).to.deep.equal([f.alice.address]);
      expect(await f.challenges.firstDeclaredAt(file.dataRoot)).to.be.greaterThan(0n);
      // The declaring epoch itself has no challenge.
      expect((await f.challenges.challengeOf(f.alice.address, epoch - 1n)).active).to.equal(false);
    });

    it("declare: emits Declared with weight, first epoch and expiry", async function () {
      const f = await loadFixture(deployChallengesFixture);
      const file = makeFile("ev", [3]);
      await upload(f, file);
      await stakeNode(f, f.alice);
      await expect(f.challenges.connect(f.alice).declare([file.dataRoot])).to.emit(f.challenges, "Declared");
    });

    it("declare: not an active storage node reverts ChallengesNotStorageNode", async function () {
      const f = await loadFixture(deployChallengesFixture);
      const file = makeFile("x", [2]);
      await upload(f, file);
      await expect(f.challenges.connect(f.stranger).declare([file.dataRoot]))
        .to.be.revertedWithCustomError(f.challenges, "ChallengesNotStorageNode")
        .withArgs(f.stranger.address);
    });

    it("declare: an unsubmitted root reverts ChallengesUnknownRoot", async function () {
      const f = await loadFixture(deployChallengesFixture);
      await stakeNode(f, f.alice);
      const root = ethers.id("never");
      await expect(f.challenges.connect(f.alice).declare([root]))
        .to.be.revertedWithCustomError(f.challenges, "ChallengesUnknownRoot")
        .withArgs(root);
    });

    it("declare: twice reverts ChallengesAlreadyDeclared", async function () {
      const { f, file } = await loadFixture(declaredFixture);
      await expect(f.challenges.connect(f.alice).declare([file.dataRoot]))
        .to.be.revertedWithCustomError(f.challenges, "ChallengesAlreadyDeclared")
        .withArgs(f.alice.address, file.dataRoot);
    });

    it("declare: a file with no sector in the shard reverts ChallengesNothingInShard", async function () {
      const f = await loadFixture(deployChallengesFixture);
      const file = makeFile("seg0", [4]);
      await upload(f, file); // sectors 16..31: segment 0
      await stakeNode(f, f.alice, { shardId: 1, numShard: 2 });
      await expect(f.challenges.connect(f.alice).declare([file.dataRoot]))
        .to.be.revertedWithCustomError(f.challenges, "ChallengesNothingInShard")
        .withArgs(f.alice.address, file.dataRoot);
    });

    it("declare: bad shard metadata reverts ChallengesInvalidShardConfig", async function () {
      const f = await loadFixture(deployChallengesFixture);
      const file = makeFile("bad", [2]);
      await upload(f, file);
      await stakeNode(f, f.alice, { shardId: 2, numShard: 2 });
      await expect(f.challenges.connect(f.alice).declare([file.dataRoot])).to.be.revertedWithCustomError(
        f.challenges,
        "ChallengesInvalidShardConfig",
      );
      await (
        await f.staking
          .connect(f.alice)
          .setNodeInfo(Role.STORAGE, { endpoint: "", region: ethers.ZeroHash, metadata: "0x01" })
      ).wait();
      await expect(f.challenges.connect(f.alice).declare([file.dataRoot])).to.be.revertedWithCustomError(
        f.challenges,
        "ChallengesInvalidShardConfig",
      );
    });

    it("declare: weight counts only the shard's data sectors", async function () {
      const f = await loadFixture(deployChallengesFixture);
      // 2048 sectors aligned at 2048 (segments 2 and 3), 2000 of them data.
      const file = makeFile("sharded", [11], 2000n * 256n - 100n);
      const start = Number(await upload(f, file));
      await stakeNode(f, f.alice, { shardId: 1, numShard: 2 });
      await stakeNode(f, f.bob, { shardId: 0, numShard: 2 });
      await (await f.challenges.connect(f.alice).declare([file.dataRoot])).wait();
      await (await f.challenges.connect(f.bob).declare([file.dataRoot])).wait();
      const epoch = (await f.challenges.currentEpoch()) + 1n;
      expect(await f.challenges.weightOf(f.alice.address, epoch)).to.equal(
        BigInt(shardSectors(start, 2000, 1, 2).length),
      );
      expect(await f.challenges.weightOf(f.bob.address, epoch)).to.equal(
        BigInt(shardSectors(start, 2000, 0, 2).length),
      );
      expect([...(await f.challenges.holdersOf(file.dataRoot))]).to.have.members([
        f.alice.address,
        f.bob.address,
      ]);
    });

    it("declare: a root past its lifetime reverts ChallengesDataExpired", async function () {
      const { f, file } = await loadFixture(declaredFixture);
      await stakeNode(f, f.bob);
      await elapse(DEFAULT_PARAMS.dataLifetime);
      await expect(f.challenges.connect(f.bob).declare([file.dataRoot]))
        .to.be.revertedWithCustomError(f.challenges, "ChallengesDataExpired")
        .withArgs(file.dataRoot);
    });
  });

  describe("undeclare and prune", function () {
    it("undeclare: ends from the next epoch, the current one stays challenged", async function () {
      const { f, file, epoch } = await loadFixture(openEpochFixture);
      await expect(f.challenges.connect(f.alice).undeclare([file.dataRoot]))
        .to.emit(f.challenges, "DeclarationEnded")
        .withArgs(f.alice.address, file.dataRoot, epoch + 1n, false);
      expect(await f.challenges.isDeclared(f.alice.address, file.dataRoot)).to.equal(false);
      expect(await f.challenges.holdersOf(file.dataRoot)).to.deep.equal([]);
      expect(await f.challenges.declaredRoots(f.alice.address)).to.deep.equal([]);
      expect((await f.challenges.challengeOf(f.alice.address, epoch)).active).to.equal(true);
      await answerHonestly(f, f.alice, epoch, [file]);
      await toEpoch(f, epoch + 1n);
      expect((await f.challenges.challengeOf(f.alice.address, epoch + 1n)).active).to.equal(false);
      expect(await f.challenges.weightOf(f.alice.address, epoch + 1n)).to.equal(0n);
    });

    it("undeclare: a root not declared reverts ChallengesNotDeclared", async function () {
      const { f } = await loadFixture(declaredFixture);
      const root = ethers.id("other");
      await expect(f.challenges.connect(f.alice).undeclare([root]))
        .to.be.revertedWithCustomError(f.challenges, "ChallengesNotDeclared")
        .withArgs(f.alice.address, root);
    });

    it("redeclare after undeclare draws from the live entry only", async function () {
      const { f, file } = await loadFixture(declaredFixture);
      await (await f.challenges.connect(f.alice).undeclare([file.dataRoot])).wait();
      await toEpoch(f, (await f.challenges.currentEpoch()) + 1n);
      await (await f.challenges.connect(f.alice).declare([file.dataRoot])).wait();
      const epoch = (await f.challenges.currentEpoch()) + 1n;
      await toEpoch(f, epoch);
      const challenge = await f.challenges.challengeOf(f.alice.address, epoch);
      expect(challenge.active).to.equal(true);
      expect(challenge.weight).to.equal(16n);
      await expect(answerHonestly(f, f.alice, epoch, [file])).to.emit(f.challenges, "Answered");
    });

    it("prune: before expiry reverts ChallengesDataNotExpired", async function () {
      const { f, file } = await loadFixture(declaredFixture);
      await expect(f.challenges.connect(f.stranger).prune(f.alice.address, [file.dataRoot]))
        .to.be.revertedWithCustomError(f.challenges, "ChallengesDataNotExpired")
        .withArgs(file.dataRoot);
    });

    it("expired data is never challenged, and anyone can prune it", async function () {
      const { f, file, epoch } = await loadFixture(declaredFixture);
      await elapse(DEFAULT_PARAMS.dataLifetime);
      await toEpoch(f, epoch);
      await (await f.challenges.seed(epoch)).wait();
      expect((await f.challenges.challengeOf(f.alice.address, epoch)).active).to.equal(false);
      expect(await f.challenges.isDeclared(f.alice.address, file.dataRoot)).to.equal(false);
      await expect(f.challenges.connect(f.stranger).prune(f.alice.address, [file.dataRoot]))
        .to.emit(f.challenges, "DeclarationEnded")
        .withArgs(f.alice.address, file.dataRoot, epoch + 1n, true);
      expect(await f.challenges.weightOf(f.alice.address, epoch + 1n)).to.equal(0n);
    });
  });

  describe("seed", function () {
    it("seed: records once and emits SeedRecorded", async function () {
      const { f, epoch } = await loadFixture(openEpochFixture);
      await expect(f.challenges.seed(epoch)).to.emit(f.challenges, "SeedRecorded");
      const info = await f.challenges.epochInfo(epoch);
      expect(info.seed).to.not.equal(ethers.ZeroHash);
      expect(info.deadline).to.equal(
        (await f.challenges.epochStartBlock(epoch)) + BigInt(DEFAULT_PARAMS.responseWindow),
      );
      await expect(f.challenges.seed(epoch)).to.not.emit(f.challenges, "SeedRecorded");
    });

    it("seed: an epoch not started reverts ChallengesEpochNotStarted", async function () {
      const f = await loadFixture(deployChallengesFixture);
      await expect(f.challenges.seed(5n))
        .to.be.revertedWithCustomError(f.challenges, "ChallengesEpochNotStarted")
        .withArgs(5n);
    });

    it("seed: 256 blocks after the start the epoch is void", async function () {
      const { f, epoch } = await loadFixture(openEpochFixture);
      await mine(300);
      await expect(f.challenges.seed(epoch))
        .to.be.revertedWithCustomError(f.challenges, "ChallengesEpochVoid")
        .withArgs(epoch);
      expect((await f.challenges.challengeOf(f.alice.address, epoch)).active).to.equal(false);
      await expect(f.challenges.slashMissed(f.alice.address, epoch)).to.be.revertedWithCustomError(
        f.challenges,
        "ChallengesEpochVoid",
      );
    });
  });

  describe("answer", function () {
    it("answer: the honest proof is accepted", async function () {
      const { f, file, epoch } = await loadFixture(openEpochFixture);
      const challenge = await f.challenges.challengeOf(f.alice.address, epoch);
      expect(challenge.active).to.equal(true);
      expect(challenge.dataRoot).to.equal(file.dataRoot);
      await expect(answerHonestly(f, f.alice, epoch, [file]))
        .to.emit(f.challenges, "Answered")
        .withArgs(f.alice.address, epoch, file.dataRoot);
      expect(await f.challenges.answered(f.alice.address, epoch)).to.equal(true);
      expect((await f.challenges.epochInfo(epoch)).answeredWeight).to.equal(16n);
    });

    it("answer: a multi-node, partly filled file is proved in every node, up to the data root", async function () {
      const f = await loadFixture(deployChallengesFixture);
      const file = makeFile("multi", [3, 2, 1], 13n * 256n + 7n);
      await upload(f, file);
      await stakeNode(f, f.alice);
      await (await f.challenges.connect(f.alice).declare([file.dataRoot])).wait();
      expect(await f.flow.dataRootOf(file.nodes)).to.equal(file.dataRoot);
      let epoch = (await f.challenges.currentEpoch()) + 1n;
      // Node 0 (first of several: its path ends with the fold of the others on the right), node 1 (between:
      // one level with the node left, then one right) and node 2 (last: every fold level right).
      const seen = new Set<number>();
      for (let i = 0; i < 64 && seen.size < 3; i++, epoch++) {
        await toEpoch(f, epoch);
        const challenge = await f.challenges.challengeOf(f.alice.address, epoch);
        expect(challenge.sectorIndex).to.be.lessThan(14n);
        const proof = file.proof(Number(challenge.sectorIndex));
        expect(proof.siblings).to.have.length(
          file.heights[proof.nodeIndex] + Math.min(proof.nodeIndex + 1, 2),
        );
        seen.add(proof.nodeIndex);
        await expect(answerHonestly(f, f.alice, epoch, [file]))
          .to.emit(f.challenges, "Answered")
          .withArgs(f.alice.address, epoch, file.dataRoot);
      }
      expect([...seen].sort()).to.deep.equal([0, 1, 2]);
    });

    it("answer: a proof for the wrong sector reverts ChallengesInvalidProof", async function () {
      const { f, file, epoch } = await loadFixture(openEpochFixture);
      const index = Number((await f.challenges.challengeOf(f.alice.address, epoch)).sectorIndex);
      const other = (index + 1) % 16;
      const wrong = file.proof(other);
      const right = file.proof(index);
      // The other sector with its own path: the position fixes the path, so it fails.
      await expect(answer(f, f.alice, epoch, wrong.sector, wrong.siblings)).to.be.revertedWithCustomError(
        f.challenges,
        "ChallengesInvalidProof",
      );
      // A corrupted sector with the right path.
      await expect(
        answer(f, f.alice, epoch, wrongSector(file, index), right.siblings),
      ).to.be.revertedWithCustomError(f.challenges, "ChallengesInvalidProof");
      // The right sector with a corrupted sibling.
      const siblings = [...right.siblings];
      siblings[2] = ethers.id("not a sibling");
      await expect(answer(f, f.alice, epoch, right.sector, siblings)).to.be.revertedWithCustomError(
        f.challenges,
        "ChallengesInvalidProof",
      );
    });

    it("answer: a proof against the wrong root reverts ChallengesInvalidProof", async function () {
      const { f, epoch } = await loadFixture(openEpochFixture);
      const other = makeFile("other", [4]);
      await upload(f, other);
      const index = Number((await f.challenges.challengeOf(f.alice.address, epoch)).sectorIndex);
      // Another submitted file's sector and path: valid for its own data root, not for the challenged one.
      const foreign = other.proof(index);
      await expect(answer(f, f.alice, epoch, foreign.sector, foreign.siblings)).to.be.revertedWithCustomError(
        f.challenges,
        "ChallengesInvalidProof",
      );
    });

    it("answer: a proof that stops at the submission node's root reverts ChallengesInvalidProofLength", async function () {
      const f = await loadFixture(deployChallengesFixture);
      const file = makeFile("two", [3, 2]);
      await upload(f, file);
      await stakeNode(f, f.alice);
      await (await f.challenges.connect(f.alice).declare([file.dataRoot])).wait();
      const epoch = (await f.challenges.currentEpoch()) + 1n;
      await toEpoch(f, epoch);
      const proof = file.proof(Number((await f.challenges.challengeOf(f.alice.address, epoch)).sectorIndex));
      const height = file.heights[proof.nodeIndex];
      await expect(answer(f, f.alice, epoch, proof.sector, proof.siblings.slice(0, height)))
        .to.be.revertedWithCustomError(f.challenges, "ChallengesInvalidProofLength")
        .withArgs(height, height + 1);
    });

    it("answer: after the window reverts ChallengesWindowClosed", async function () {
      const { f, file, epoch } = await loadFixture(openEpochFixture);
      await f.challenges.seed(epoch);
      await pastDeadline(f, epoch);
      await expect(answerHonestly(f, f.alice, epoch, [file])).to.be.revertedWithCustomError(
        f.challenges,
        "ChallengesWindowClosed",
      );
    });

    it("answer: twice reverts ChallengesAlreadyAnswered", async function () {
      const { f, file, epoch } = await loadFixture(openEpochFixture);
      await answerHonestly(f, f.alice, epoch, [file]);
      await expect(answerHonestly(f, f.alice, epoch, [file]))
        .to.be.revertedWithCustomError(f.challenges, "ChallengesAlreadyAnswered")
        .withArgs(f.alice.address, epoch);
    });

    it("answer: malformed call data reverts with its error", async function () {
      const { f, file, epoch } = await loadFixture(openEpochFixture);
      const index = Number((await f.challenges.challengeOf(f.alice.address, epoch)).sectorIndex);
      const p = file.proof(index);
      const honest = answerCalldata(epoch, p.sector, p.siblings);
      const send = (data: string) => f.alice.sendTransaction({ to: f.challengesAddress, data });
      const selector = ethers.dataSlice(honest, 0, 4);
      // Too short to hold the epoch and the sector: just the selector, no sector, a sector one byte short.
      for (const data of [selector, ethers.dataSlice(honest, 0, 8), ethers.dataSlice(honest, 0, 263)]) {
        await expect(send(data))
          .to.be.revertedWithCustomError(f.challenges, "ChallengesInvalidAnswerLength")
          .withArgs(ethers.dataLength(data));
      }
      // Siblings that are not whole words: one byte short, one byte over.
      const long = ethers.concat([honest, "0x01"]);
      for (const data of [ethers.dataSlice(honest, 0, ethers.dataLength(honest) - 1), long]) {
        await expect(send(data))
          .to.be.revertedWithCustomError(f.challenges, "ChallengesInvalidAnswerLength")
          .withArgs(ethers.dataLength(data));
      }
      // Whole siblings, but not as many as the path is long: none, one too few, one too many.
      await expect(answer(f, f.alice, epoch, p.sector, []))
        .to.be.revertedWithCustomError(f.challenges, "ChallengesInvalidProofLength")
        .withArgs(0n, 4n);
      await expect(answer(f, f.alice, epoch, p.sector, p.siblings.slice(1)))
        .to.be.revertedWithCustomError(f.challenges, "ChallengesInvalidProofLength")
        .withArgs(3n, 4n);
      await expect(answer(f, f.alice, epoch, p.sector, [...p.siblings, ethers.ZeroHash]))
        .to.be.revertedWithCustomError(f.challenges, "ChallengesInvalidProofLength")
        .withArgs(5n, 4n);
      // The same answer is accepted once well formed.
      await expect(send(honest)).to.emit(f.challenges, "Answered");
    });

    it("answer: answers recorded across 32-epoch windows stay answered and claimable", async function () {
      const { f, file, epoch } = await loadFixture(declaredFixture);
      // The first answer, a later one in the same window, then answers in later windows (the head's window
      // moves and its bits move to the bitmap), and one in a new 256-epoch word.
      const window = epoch >> 5n;
      const answeredEpochs = [epoch, epoch + 1n, (window + 1n) * 32n + 3n, (window + 2n) * 32n, 256n + 5n];
      for (const e of answeredEpochs) {
        await toEpoch(f, e);
        await (await answerHonestly(f, f.alice, e, [file])).wait();
        await expect(answerHonestly(f, f.alice, e, [file]))
          .to.be.revertedWithCustomError(f.challenges, "ChallengesAlreadyAnswered")
          .withArgs(f.alice.address, e);
      }
      for (const e of answeredEpochs) expect(await f.challenges.answered(f.alice.address, e)).to.equal(true);
      for (const e of [epoch + 2n, (window + 1n) * 32n + 2n, (window + 2n) * 32n + 1n, 256n]) {
        expect(await f.challenges.answered(f.alice.address, e)).to.equal(false);
      }
      await pastDeadline(f, 256n + 5n);
      // The first window's bits now live in the bitmap: still not slashable.
      await expect(f.challenges.slashMissed(f.alice.address, epoch))
        .to.be.revertedWithCustomError(f.challenges, "ChallengesAlreadyAnswered")
        .withArgs(f.alice.address, epoch);
      await (await f.challenges.connect(f.alice).claim(answeredEpochs)).wait();
      await expect(f.challenges.connect(f.alice).claim([epoch]))
        .to.be.revertedWithCustomError(f.challenges, "ChallengesNothingToClaim")
        .withArgs(f.alice.address, epoch);
    });

    it("answer: a declaration made during the epoch does not change its challenge or weight", async function () {
      const { f, file, epoch } = await loadFixture(openEpochFixture);
      const before = await f.challenges.challengeOf(f.alice.address, epoch);
      const more = makeFile("more", [5]);
      await upload(f, more);
      await (await f.challenges.connect(f.alice).declare([more.dataRoot])).wait();
      expect(await f.challenges.weightOf(f.alice.address, epoch)).to.equal(16n);
      expect(await f.challenges.weightOf(f.alice.address, epoch + 1n)).to.equal(48n);
      const after = await f.challenges.challengeOf(f.alice.address, epoch);
      expect([after.dataRoot, after.sectorIndex, after.weight]).to.deep.equal([
        before.dataRoot,
        before.sectorIndex,
        16n,
      ]);
      await expect(answerHonestly(f, f.alice, epoch, [file]))
        .to.emit(f.challenges, "Answered")
        .withArgs(f.alice.address, epoch, file.dataRoot);
      expect((await f.challenges.epochInfo(epoch)).answeredWeight).to.equal(16n);
      // Two more declaration changes: the epoch's checkpoint is then found by the history search.
      await toEpoch(f, epoch + 1n);
      await (await f.challenges.connect(f.alice).undeclare([more.dataRoot])).wait();
      await toEpoch(f, epoch + 2n);
      await (await f.challenges.connect(f.alice).undeclare([file.dataRoot])).wait();
      expect(await f.challenges.weightOf(f.alice.address, epoch)).to.equal(16n);
      expect(await f.challenges.weightOf(f.alice.address, epoch + 1n)).to.equal(48n);
      expect(await f.challenges.weightOf(f.alice.address, epoch + 2n)).to.equal(16n);
      expect(await f.challenges.weightOf(f.alice.address, epoch + 3n)).to.equal(0n);
      expect(await f.challenges.weightOf(f.alice.address, epoch - 1n)).to.equal(0n);
    });

    it("answer: a node with nothing declared reverts ChallengesNoChallenge", async function () {
      const { f, file, epoch } = await loadFixture(openEpochFixture);
      const p = file.proof(0);
      await expect(answer(f, f.bob, epoch, p.sector, p.siblings))
        .to.be.revertedWithCustomError(f.challenges, "ChallengesNoChallenge")
        .withArgs(f.bob.address, epoch);
      expect(await f.challenges.answered(f.bob.address, epoch)).to.equal(false);
    });

    it("answer: before the epoch starts reverts ChallengesEpochNotStarted", async function () {
      const { f, file, epoch } = await loadFixture(declaredFixture);
      const p = file.proof(0);
      await expect(answer(f, f.alice, epoch + 3n, p.sector, p.siblings)).to.be.revertedWithCustomError(
        f.challenges,
        "ChallengesEpochNotStarted",
      );
    });
  });

  describe("slashMissed", function () {
    it("slashMissed: slashes a miss through NodeStaking and pays the reporter share", async function () {
      const { f, epoch } = await loadFixture(openEpochFixture);
      await f.challenges.seed(epoch);
      await expect(f.challenges.connect(f.reporter).slashMissed(f.alice.address, epoch))
        .to.be.revertedWithCustomError(f.challenges, "ChallengesWindowOpen")
        .withArgs(epoch, (await f.challenges.epochInfo(epoch)).deadline);
      await pastDeadline(f, epoch);
      const slash = DEFAULT_PARAMS.slashAmount;
      const evidence = ethers.keccak256(
        ethers.AbiCoder.defaultAbiCoder().encode(
          ["bytes32", "address", "uint256"],
          [ethers.encodeBytes32String("storage-challenge"), f.alice.address, epoch],
        ),
      );
      await expect(f.challenges.connect(f.reporter).slashMissed(f.alice.address, epoch))
        .to.emit(f.challenges, "MissSlashed")
        .withArgs(f.alice.address, epoch, f.reporter.address, slash)
        .and.to.emit(f.staking, "Slashed")
        .withArgs(
          f.alice.address,
          Role.STORAGE,
          evidence,
          f.challengesAddress,
          slash,
          f.reporter.address,
          slash / 10n,
        );
      expect((await f.staking.positionOf(f.alice.address, Role.STORAGE)).bonded).to.equal(NODE_STAKE - slash);
      expect(await f.staking.claimableOf(f.reporter.address)).to.equal(slash / 10n);
    });

    it("slashMissed: a second call for the same miss reverts ChallengesAlreadySlashed", async function () {
      const { f, epoch } = await loadFixture(openEpochFixture);
      await f.challenges.seed(epoch);
      await pastDeadline(f, epoch);
      await f.challenges.connect(f.reporter).slashMissed(f.alice.address, epoch);
      await expect(f.challenges.connect(f.stranger).slashMissed(f.alice.address, epoch))
        .to.be.revertedWithCustomError(f.challenges, "ChallengesAlreadySlashed")
        .withArgs(f.alice.address, epoch);
    });

    it("slashMissed: an answered challenge reverts ChallengesAlreadyAnswered", async function () {
      const { f, file, epoch } = await loadFixture(openEpochFixture);
      await answerHonestly(f, f.alice, epoch, [file]);
      await pastDeadline(f, epoch);
      await expect(f.challenges.slashMissed(f.alice.address, epoch)).to.be.revertedWithCustomError(
        f.challenges,
        "ChallengesAlreadyAnswered",
      );
    });

    it("slashMissed: a node that left before the epoch is not challenged", async function () {
      const { f, epoch } = await loadFixture(declaredFixture);
      await (await f.staking.connect(f.alice).exit(Role.STORAGE)).wait();
      await toEpoch(f, epoch);
      await f.challenges.seed(epoch);
      expect((await f.challenges.challengeOf(f.alice.address, epoch)).active).to.equal(false);
      await pastDeadline(f, epoch);
      await expect(f.challenges.slashMissed(f.alice.address, epoch))
        .to.be.revertedWithCustomError(f.challenges, "ChallengesNoChallenge")
        .withArgs(f.alice.address, epoch);
    });

    it("slashMissed: a node that leaves after the seed still answers for the epoch", async function () {
      const { f, epoch } = await loadFixture(openEpochFixture);
      await f.challenges.seed(epoch);
      await (await f.staking.connect(f.alice).exit(Role.STORAGE)).wait();
      expect((await f.challenges.challengeOf(f.alice.address, epoch)).active).to.equal(true);
      await pastDeadline(f, epoch);
      await expect(f.challenges.slashMissed(f.alice.address, epoch)).to.emit(f.challenges, "MissSlashed");
      expect((await f.staking.positionOf(f.alice.address, Role.STORAGE)).unbonding).to.equal(
        NODE_STAKE - DEFAULT_PARAMS.slashAmount,
      );
    });

    it("slashMissed: a node with nothing declared reverts ChallengesNoChallenge", async function () {
      const { f, epoch } = await loadFixture(openEpochFixture);
      await stakeNode(f, f.bob);
      await f.challenges.seed(epoch);
      await pastDeadline(f, epoch);
      await expect(f.challenges.slashMissed(f.bob.address, epoch)).to.be.revertedWithCustomError(
        f.challenges,
        "ChallengesNoChallenge",
      );
    });
  });

  describe("rewards", function () {
    /** Alice (16 sectors) and Bob (16 + 48 sectors) both answer one epoch with fees in the pool. */
    async function twoAnsweredFixture() {
      const f = await deployChallengesFixture();
      const small = makeFile("small", [4]);
      const large = makeFile("large", [5, 4]);
      await upload(f, small);
      await upload(f, large);
      await stakeNode(f, f.alice);
      await stakeNode(f, f.bob);
      await stakeNode(f, f.carol);
      await (await f.challenges.connect(f.alice).declare([small.dataRoot])).wait();
      await (await f.challenges.connect(f.bob).declare([small.dataRoot, large.dataRoot])).wait();
      await (await f.challenges.connect(f.carol).declare([small.dataRoot])).wait();
      const epoch = (await f.challenges.currentEpoch()) + 1n;
      await toEpoch(f, epoch);
      await answerHonestly(f, f.alice, epoch, [small, large]);
      await answerHonestly(f, f.bob, epoch, [small, large]);
      return { f, epoch, files: [small, large] };
    }

    it("settle: before the deadline reverts ChallengesWindowOpen", async function () {
      const { f, epoch } = await loadFixture(twoAnsweredFixture);
      await expect(f.challenges.settle(epoch)).to.be.revertedWithCustomError(
        f.challenges,
        "ChallengesWindowOpen",
      );
    });

    it("settle: fixes rewardBps of the pool once", async function () {
      const { f, epoch } = await loadFixture(twoAnsweredFixture);
      await pastDeadline(f, epoch);
      const pool = await f.market.rewardPool();
      const budget = (pool * BigInt(DEFAULT_PARAMS.rewardBps)) / 10_000n;
      await expect(f.challenges.settle(epoch))
        .to.emit(f.challenges, "EpochSettled")
        .withArgs(epoch, budget, 80n);
      await expect(f.challenges.settle(epoch)).to.not.emit(f.challenges, "EpochSettled");
      expect(await f.challenges.reserved()).to.equal(budget);
    });

    it("claim: answered nodes are paid pro rata to their weight, exactly the budget in all", async function () {
      const { f, epoch } = await loadFixture(twoAnsweredFixture);
      await pastDeadline(f, epoch);
      const pool = await f.market.rewardPool();
      const budget = (pool * BigInt(DEFAULT_PARAMS.rewardBps)) / 10_000n;
      const aliceShare = (budget * 16n) / 80n;
      await expect(f.challenges.connect(f.alice).claim([epoch])).to.changeEtherBalances(
        [f.alice, f.market],
        [aliceShare, -aliceShare],
      );
      await expect(f.challenges.connect(f.bob).claim([epoch]))
        .to.emit(f.challenges, "RewardClaimed")
        .withArgs(f.bob.address, epoch, budget - aliceShare);
      expect(await f.market.rewardPool()).to.equal(pool - budget);
      expect(await ethers.provider.getBalance(f.marketAddress)).to.equal(pool - budget);
      expect(await f.challenges.reserved()).to.equal(0n);
    });

    it("claim: twice, or for an unanswered epoch, reverts ChallengesNothingToClaim", async function () {
      const { f, epoch } = await loadFixture(twoAnsweredFixture);
      await pastDeadline(f, epoch);
      await f.challenges.connect(f.alice).claim([epoch]);
      await expect(f.challenges.connect(f.alice).claim([epoch]))
        .to.be.revertedWithCustomError(f.challenges, "ChallengesNothingToClaim")
        .withArgs(f.alice.address, epoch);
      await expect(f.challenges.connect(f.carol).claim([epoch]))
        .to.be.revertedWithCustomError(f.challenges, "ChallengesNothingToClaim")
        .withArgs(f.carol.address, epoch);
    });

    it("claim: a jailed node reverts ChallengesNodeInactive", async function () {
      const { f, epoch } = await loadFixture(twoAnsweredFixture);
      await pastDeadline(f, epoch);
      await f.challenges.slashMissed(f.carol.address, epoch);
      // Carol is jailed now; she has nothing here, but the activity check comes first.
      await expect(f.challenges.connect(f.carol).claim([epoch]))
        .to.be.revertedWithCustomError(f.challenges, "ChallengesNodeInactive")
        .withArgs(f.carol.address);
    });

    it("forfeit: a node that left gives its share back to the pool", async function () {
      const { f, epoch } = await loadFixture(twoAnsweredFixture);
      await pastDeadline(f, epoch);
      await expect(f.challenges.forfeit(f.bob.address, [epoch]))
        .to.be.revertedWithCustomError(f.challenges, "ChallengesNodeStillMember")
        .withArgs(f.bob.address);
      await (await f.staking.connect(f.bob).exit(Role.STORAGE)).wait();
      const pool = await f.market.rewardPool();
      await expect(f.challenges.connect(f.stranger).forfeit(f.bob.address, [epoch])).to.emit(
        f.challenges,
        "RewardForfeited",
      );
      expect(await f.market.rewardPool()).to.equal(pool);
      await f.challenges.connect(f.alice).claim([epoch]);
      expect(await f.challenges.reserved()).to.equal(0n);
      await expect(f.challenges.forfeit(f.bob.address, [epoch])).to.be.revertedWithCustomError(
        f.challenges,
        "ChallengesNothingToClaim",
      );
    });

    it("an epoch with no answer reserves nothing", async function () {
      const { f, epoch } = await loadFixture(twoAnsweredFixture);
      await toEpoch(f, epoch + 1n);
      await f.challenges.seed(epoch + 1n);
      await pastDeadline(f, epoch + 1n);
      await expect(f.challenges.settle(epoch + 1n))
        .to.emit(f.challenges, "EpochSettled")
        .withArgs(epoch + 1n, 0n, 0n);
    });
  });

  describe("without the registry's slashing authority", function () {
    it("slashMissed: bubbles NodeStaking's StakingUnauthorizedSlasher", async function () {
      const f = await deployChallenges();
      await (await f.registry.setSlasher(ethers.encodeBytes32String("StorageChallenges"), false)).wait();
      const file = makeFile("auth", [2]);
      await upload(f, file);
      await stakeNode(f, f.alice);
      await (await f.challenges.connect(f.alice).declare([file.dataRoot])).wait();
      const epoch = (await f.challenges.currentEpoch()) + 1n;
      await toEpoch(f, epoch);
      await f.challenges.seed(epoch);
      await pastDeadline(f, epoch);
      await expect(f.challenges.slashMissed(f.alice.address, epoch)).to.be.revertedWithCustomError(
        f.staking,
        "StakingUnauthorizedSlasher",
      );
    });
  });
});

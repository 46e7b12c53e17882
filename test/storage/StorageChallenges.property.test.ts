/**
 * Properties of StorageChallenges over random epochs (fast-check):
 * - an honest node, whatever its files (one to four submission nodes) and shard, answers every challenge and is
 *   never slashable;
 * - a node missing a fraction f of its declared in-shard sectors is challenged on a missing sector with
 *   probability f per epoch (the draw is uniform over live declared sectors), so over n epochs the number of
 *   catches is Binomial(n, f) and the chance of escaping all n is (1 - f)^n; checked within 4 standard deviations;
 * - money: the Market's balance equals its pool, Σ paid ≤ Σ budgets, and `reserved` equals Σ budgetLeft.
 */
import { expect } from "chai";
import fc from "fast-check";
import { mine } from "@nomicfoundation/hardhat-network-helpers";
import { ethers } from "hardhat";
import {
  DEFAULT_PARAMS,
  answerHonestly,
  deployChallenges,
  makeFile,
  pastDeadline,
  shardSectors,
  stakeNode,
  toEpoch,
  upload,
  type TestFile,
} from "./challenges-fixture";

const FAST = { ...DEFAULT_PARAMS, epochBlocks: 4, responseWindow: 2 };

describe("StorageChallenges properties", function () {
  it("property: an honest node is never slashed, over random files, shards and epochs", async function () {
    await fc.assert(
      fc.asyncProperty(
        // Files of one to four submission nodes: a top height, and which of the three lower heights follow it.
        fc.array(fc.record({ top: fc.integer({ min: 3, max: 11 }), lower: fc.subarray([1, 2, 3]) }), {
          minLength: 1,
          maxLength: 3,
        }),
        fc.constantFrom([0, 1], [0, 2], [1, 2], [3, 4]),
        fc.integer({ min: 3, max: 6 }),
        async (shapes, [shardId, numShard], epochs) => {
          const f = await deployChallenges(FAST);
          // A 3-segment filler so that later files span several segments and shards.
          const files: TestFile[] = [makeFile("filler", [11])];
          await upload(f, files[0]);
          shapes.forEach(({ top, lower }, i) => {
            const heights = [top, ...lower.map((j) => top - j)];
            files.push(makeFile(`file-${i}-${heights.join(".")}`, heights));
          });
          for (const file of files.slice(1)) await upload(f, file);
          await stakeNode(f, f.alice, { shardId, numShard });
          const roots: string[] = [];
          for (const file of files) {
            const start = Number((await f.flow.submissionOf(file.dataRoot)).startPosition);
            if (shardSectors(start, file.dataSectors, shardId, numShard).length > 0)
              roots.push(file.dataRoot);
          }
          fc.pre(roots.length > 0);
          await (await f.challenges.connect(f.alice).declare(roots)).wait();
          let epoch = (await f.challenges.currentEpoch()) + 1n;
          for (let i = 0; i < epochs; i++, epoch++) {
            await toEpoch(f, epoch);
            await (await answerHonestly(f, f.alice, epoch, files)).wait();
            await pastDeadline(f, epoch);
            await expect(f.challenges.connect(f.reporter).slashMissed(f.alice.address, epoch)).to.be.reverted;
          }
          const position = await f.staking.positionOf(f.alice.address, 0);
          expect(position.bonded).to.equal(ethers.parseEther("10"));
        },
      ),
      { numRuns: 6 },
    );
  });

  it("property: a node missing a fraction f of its data is caught at rate f per epoch", async function () {
    const f = await deployChallenges(FAST);
    const files = [makeFile("a", [10]), makeFile("b", [9]), makeFile("c", [8])];
    for (const file of files) await upload(f, file);
    await stakeNode(f, f.alice);
    await (await f.challenges.connect(f.alice).declare(files.map((file) => file.dataRoot))).wait();
    const total = files.reduce((sum, file) => sum + file.dataSectors, 0);
    // The node lost a random-looking quarter of file a and all of file c: f = (256 + 256) / 1792.
    const lost = (root: string, index: number) =>
      (root === files[0].dataRoot && index % 4 === 1) || root === files[2].dataRoot;
    const fraction = (256 + 256) / total;
    const epochs = 400;
    let caught = 0;
    let epoch = (await f.challenges.currentEpoch()) + 1n;
    for (let i = 0; i < epochs; i++, epoch++) {
      await toEpoch(f, epoch);
      const challenge = await f.challenges.challengeOf(f.alice.address, epoch);
      expect(challenge.active).to.equal(true);
      if (lost(challenge.dataRoot, Number(challenge.sectorIndex))) caught++;
    }
    const mean = epochs * fraction;
    const sd = Math.sqrt(epochs * fraction * (1 - fraction));
    expect(Math.abs(caught - mean)).to.be.lessThan(4 * sd, `caught ${caught}, expected ${mean.toFixed(1)}`);
  });

  it("property: Market balance == pool, Σ paid ≤ Σ budgets, reserved == Σ budgetLeft", async function () {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ answers: fc.subarray([0, 1, 2]), claims: fc.subarray([0, 1, 2]) }), {
          minLength: 2,
          maxLength: 4,
        }),
        async (rounds) => {
          const f = await deployChallenges({ ...FAST, epochBlocks: 10, responseWindow: 8 });
          const nodes = [f.alice, f.bob, f.carol];
          const files = [makeFile("p0", [4]), makeFile("p1", [5]), makeFile("p2", [3])];
          for (const file of files) await upload(f, file);
          for (const [i, node] of nodes.entries()) {
            await stakeNode(f, node);
            await (await f.challenges.connect(node).declare([files[i].dataRoot])).wait();
          }
          let epoch = (await f.challenges.currentEpoch()) + 1n;
          const answered: bigint[][] = [[], [], []];
          let paid = 0n;
          const epochsSeen: bigint[] = [];
          for (const round of rounds) {
            await toEpoch(f, epoch);
            for (const i of round.answers) {
              await (await answerHonestly(f, nodes[i], epoch, files)).wait();
              answered[i].push(epoch);
            }
            await f.challenges.seed(epoch);
            await pastDeadline(f, epoch);
            epochsSeen.push(epoch);
            for (const i of round.claims) {
              if (answered[i].length === 0) continue;
              const before = await f.market.rewardPool();
              await (await f.challenges.connect(nodes[i]).claim(answered[i])).wait();
              paid += before - (await f.market.rewardPool());
              answered[i] = [];
            }
            const pool = await f.market.rewardPool();
            expect(await ethers.provider.getBalance(f.marketAddress)).to.equal(pool);
            let budgets = 0n;
            let left = 0n;
            for (const e of epochsSeen) {
              const info = await f.challenges.epochInfo(e);
              budgets += info.budget;
              left += info.budgetLeft;
            }
            expect(paid).to.be.lessThanOrEqual(budgets);
            expect(await f.challenges.reserved()).to.equal(left);
            expect(paid + left).to.equal(budgets);
            epoch++;
            await mine(1);
          }
        },
      ),
      { numRuns: 5 },
    );
  });
});

/**
 * Properties of the clipped median and of the Disputes / AlignmentRewards accounting (fast-check); see
 * PROPERTIES.md next to this file for the exact statements.
 */
import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import { TestClippedMedian__factory, type TestClippedMedian } from "../../typechain-types";
import {
  Status,
  deployNative,
  file,
  holders,
  nextEpoch,
  pastVoting,
  statement,
  type AlignmentFixture,
  type Holder,
} from "./alignment-fixture";

/** The model: the least m with 2·W(≤ m) ≥ W (0 for no weight). */
function lowerMedian(votes: { score: number; weight: number }[]): number {
  const total = votes.reduce((sum, v) => sum + v.weight, 0);
  if (total === 0) return 0;
  let cumulative = 0;
  for (let s = 0; s <= 10; s++) {
    cumulative += votes.filter((v) => v.score === s).reduce((sum, v) => sum + v.weight, 0);
    if (2 * cumulative >= total) return s;
  }
  throw new Error("unreachable");
}

const score = fc.integer({ min: 0, max: 10 });

async function harness(): Promise<TestClippedMedian> {
  const [deployer] = await ethers.getSigners();
  return new TestClippedMedian__factory(deployer).deploy();
}

describe("ClippedMedian and disputes properties", function () {
  it("property: the contract's median, total and clipped weight equal the model's, for random weighted votes", async function () {
    const h = await loadFixture(harness);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ score, weight: fc.integer({ min: 0, max: 200_000 }) }), { maxLength: 40 }),
        fc.integer({ min: 0, max: 10 }),
        async (votes, clip) => {
          await (await h.reset()).wait();
          await (
            await h.addAll(
              votes.map((v) => v.score),
              votes.map((v) => v.weight),
            )
          ).wait();
          const [m, total] = await h.median();
          const expected = lowerMedian(votes);
          expect(Number(m)).to.equal(expected);
          expect(Number(total)).to.equal(votes.reduce((sum, v) => sum + v.weight, 0));
          const within = votes
            .filter((v) => Math.abs(v.score - expected) <= clip)
            .reduce((sum, v) => sum + v.weight, 0);
          expect(Number(await h.weightWithin(m, clip))).to.equal(within);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("property: a coalition under half of the weight cannot move the outcome outside the honest voters' range", async function () {
    const h = await loadFixture(harness);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ score, weight: fc.integer({ min: 1, max: 1000 }) }), {
          minLength: 1,
          maxLength: 20,
        }),
        fc.array(fc.record({ score, weight: fc.integer({ min: 1, max: 1000 }) }), { maxLength: 20 }),
        async (honest, adversary) => {
          const honestWeight = honest.reduce((sum, v) => sum + v.weight, 0);
          const adversaryWeight = adversary.reduce((sum, v) => sum + v.weight, 0);
          fc.pre(adversaryWeight < honestWeight);
          await (await h.reset()).wait();
          const all = [...honest, ...adversary];
          await (
            await h.addAll(
              all.map((v) => v.score),
              all.map((v) => v.weight),
            )
          ).wait();
          const m = Number((await h.median())[0]);
          const scores = honest.map((v) => v.score);
          expect(m).to.be.within(Math.min(...scores), Math.max(...scores));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("property: with unit weights, a adversaries among n honest (a < n) keep the outcome within honest order statistics k − a … k, k = ⌈(n + a)/2⌉", async function () {
    const h = await loadFixture(harness);
    await fc.assert(
      fc.asyncProperty(
        fc.array(score, { minLength: 1, maxLength: 25 }),
        fc.array(score, { maxLength: 24 }),
        async (honest, adversary) => {
          fc.pre(adversary.length < honest.length);
          await (await h.reset()).wait();
          const all = [...honest, ...adversary];
          await (
            await h.addAll(
              all,
              all.map(() => 1),
            )
          ).wait();
          const m = Number((await h.median())[0]);
          const sorted = [...honest].sort((x, y) => x - y);
          const k = Math.ceil((honest.length + adversary.length) / 2);
          // 1-based order statistics h_(k − a) and h_(k).
          expect(m).to.be.within(sorted[k - adversary.length - 1], sorted[k - 1]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("refuses a score above 10 and a bucket past 2^23 − 1, and ignores the opened mark", async function () {
    const h = await loadFixture(harness);
    await (await h.reset()).wait();
    await expect(h.addAll([11], [1]))
      .to.be.revertedWithCustomError(h, "ClippedMedianInvalidScore")
      .withArgs(11);
    await (await h.addAll([10], [2 ** 23 - 1])).wait();
    await expect(h.addAll([10], [1]))
      .to.be.revertedWithCustomError(h, "ClippedMedianOverflow")
      .withArgs(10);
    expect(await h.median()).to.deep.equal([10n, BigInt(2 ** 23 - 1)]);
    expect(await h.weightWithin(10, 10)).to.equal(BigInt(2 ** 23 - 1));
  });

  async function disputesStack() {
    const f = await deployNative();
    const h = await holders(f, 8);
    const operators = [f.user, f.stranger];
    return { f, h, operators };
  }

  /** `address(this).balance == Σ bond of OPEN disputes + Σ reward of REJECTED disputes + Σ credits`. */
  async function disputesMoney(f: AlignmentFixture, accounts: string[]) {
    let owed = 0n;
    const count = await f.disputes.disputeCount();
    for (let id = 1n; id <= count; id++) {
      const d = await f.disputes.disputeOf(id);
      if (d.status === BigInt(Status.OPEN)) owed += d.bond;
      if (d.status === BigInt(Status.REJECTED)) owed += d.reward;
    }
    for (const a of accounts) owed += await f.disputes.creditOf(a);
    expect(await ethers.provider.getBalance(f.disputesAddress)).to.equal(owed);
  }

  it("property: votes never count twice (transfers and operators included); Disputes holds exactly what it owes", async function () {
    const action = fc.oneof(
      fc.record({ kind: fc.constant("vote" as const), license: fc.nat(7), score, byOperator: fc.boolean() }),
      fc.record({ kind: fc.constant("transfer" as const), license: fc.nat(7), to: fc.nat(1) }),
      fc.record({ kind: fc.constant("operator" as const), license: fc.nat(7), to: fc.nat(1) }),
      fc.record({ kind: fc.constant("reserve" as const), license: fc.nat(7) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(action, { minLength: 1, maxLength: 14 }),
        fc.boolean(),
        async (actions, resolveIt) => {
          const { f, h, operators } = await loadFixture(disputesStack);
          const id = await file(f, h[0], statement(f, "prop"));
          // The model: who holds and runs each license, and the first vote of each license.
          const holder = h.map((x: Holder) => x.account);
          const operator: (typeof operators)[number][] = h.map(() => operators[0]);
          const hasOperator = h.map(() => false);
          const voted = new Map<number, number>();
          for (const a of actions) {
            const l = a.license;
            if (a.kind === "vote") {
              const voter = a.byOperator && hasOperator[l] ? operator[l] : holder[l];
              const tx = f.disputes.connect(voter).vote(id, h[l].licenseId, a.score);
              if (voted.has(l)) {
                await expect(tx).to.be.revertedWithCustomError(f.disputes, "DisputesAlreadyVoted");
              } else {
                await (await tx).wait();
                voted.set(l, a.score);
              }
            } else if (a.kind === "reserve") {
              // A stranger's reservation of the license's words: never a vote, never in the way of one.
              await (
                await f.disputes.connect(operators[1]).reserveVotes([h[l].licenseId], id, id + 100n)
              ).wait();
            } else if (a.kind === "transfer") {
              const to = operators[a.to];
              await (await f.license.connect(holder[l]).transfer(h[l].licenseId, to.address)).wait();
              holder[l] = to;
              hasOperator[l] = false;
            } else {
              const to = operators[a.to];
              await (await f.license.connect(holder[l]).setOperator(h[l].licenseId, to.address, 1500)).wait();
              operator[l] = to;
              hasOperator[l] = true;
            }
          }
          const scores = [...voted.values()];
          const [, outcome, voters] = await f.disputes.outcomeOf(id);
          expect(Number(voters)).to.equal(voted.size);
          expect(Number(outcome)).to.equal(lowerMedian(scores.map((s) => ({ score: s, weight: 1 }))));
          for (const [l, s] of voted)
            expect(await f.disputes.voteOf(id, h[l].licenseId)).to.deep.equal([true, BigInt(s), false]);
          const accounts = [...h.map((x) => x.account.address), ...operators.map((o) => o.address)];
          await disputesMoney(f, accounts);
          if (!resolveIt) return;
          await pastVoting(f, id);
          await (await f.disputes.resolve(id)).wait();
          await disputesMoney(f, accounts);
          const d = await f.disputes.disputeOf(id);
          if (d.status === BigInt(Status.REJECTED) && voted.size > 0) {
            let paid = 0n;
            for (const [l, s] of voted) {
              if (Math.abs(s - Number(d.outcome)) > Number(d.clip)) {
                await expect(f.disputes.claimVoterReward(id, h[l].licenseId)).to.be.revertedWithCustomError(
                  f.disputes,
                  "DisputesNotEligible",
                );
                continue;
              }
              const receipt = await (await f.disputes.claimVoterReward(id, h[l].licenseId)).wait();
              const event = f.disputes.interface.parseLog(receipt!.logs[0])!;
              paid += (event.args.amount as bigint) + (event.args.commission as bigint);
              await disputesMoney(f, accounts);
            }
            // Every wei of the bond reaches an eligible voter.
            expect(paid).to.equal(d.bond);
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it("property: AlignmentRewards holds exactly the unpaid pools and pays each funded epoch out in full", async function () {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            funds: fc.array(fc.bigInt({ min: 1n, max: 10n ** 18n }), { maxLength: 3 }),
            live: fc.subarray([0, 1, 2, 3, 4, 5]),
          }),
          { minLength: 1, maxLength: 3 },
        ),
        async (epochs) => {
          const { f, h } = await loadFixture(disputesStack);
          await (
            await f.license.connect(h[5].account).setOperator(h[5].licenseId, f.user.address, 3333)
          ).wait();
          await nextEpoch(f);
          const first = await f.rewards.currentEpoch();
          for (const e of epochs) {
            for (const amount of e.funds) await (await f.rewards.fund({ value: amount })).wait();
            for (const l of e.live) {
              const who = l === 5 ? f.user : h[l].account;
              await (await f.rewards.connect(who).attest([h[l].licenseId])).wait();
            }
            await nextEpoch(f);
          }
          await mine(1);
          let held = await ethers.provider.getBalance(f.rewardsAddress);
          for (const [i, e] of epochs.entries()) {
            const epoch = first + BigInt(i);
            const funded = e.funds.reduce((a, b) => a + b, 0n);
            let paid = 0n;
            if (e.live.length === 0) {
              if (funded > 0n) await (await f.rewards.rollover(epoch)).wait();
              continue;
            }
            const pool = (await f.rewards.epochOf(epoch)).pool;
            for (const l of e.live) {
              const receipt = await (await f.rewards.claim(epoch, h[l].licenseId)).wait();
              const event = f.rewards.interface.parseLog(receipt!.logs[0])!;
              paid += (event.args.amount as bigint) + (event.args.commission as bigint);
            }
            expect(paid).to.equal(pool);
            held -= paid;
            expect(await ethers.provider.getBalance(f.rewardsAddress)).to.equal(held);
          }
          // What is left is exactly the pools not paid out (rolled over into later epochs).
          let pools = 0n;
          const current = await f.rewards.currentEpoch();
          for (let epoch = first; epoch <= current; epoch++) pools += (await f.rewards.epochOf(epoch)).pool;
          expect(await ethers.provider.getBalance(f.rewardsAddress)).to.equal(pools);
        },
      ),
      { numRuns: 30 },
    );
  });
});

/**
 * Gas of the alignment disputes and liveness rewards on the in-process Hardhat network: `fileDispute` (statement
 * check through InferenceServing, EIP-712 recovery), `reserveVotes`, `vote` (on reserved vote words, as alignment
 * nodes keep them, and on an unreserved one), `resolve` upheld (with the NodeStaking slash) and rejected at 10 and
 * 50 voters (the histogram makes it independent of the number of voters), `claimVoterReward`, `attest` of 1 and 32
 * licenses and `claim`. Each figure is the gas the network charged for one transaction (after refunds).
 */
import { ethers } from "hardhat";
import { Mode } from "../test/helpers/staking-fixture";
import {
  EVIDENCE,
  Kind,
  deployAlignment,
  file,
  holders,
  nextEpoch,
  pastVoting,
  signStatement,
  statement,
} from "../test/alignment/alignment-fixture";
import type { Figure } from "./figure";

const VOTE_GOAL = { name: "goal", value: 60_000, unit: "gas" };

async function gasOf(tx: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>): Promise<number> {
  const receipt = await (await tx).wait();
  return Number(receipt!.gasUsed);
}

export async function disputesGas(): Promise<Figure[]> {
  const figures: Figure[] = [];
  const f = await deployAlignment(Mode.NATIVE);
  const h = await holders(f, 51);
  // A window long enough for 50 votes, one a block.
  const { bond, quorum, clip, slashAmount } = await f.disputes.params();
  await (await f.disputes.setParams({ bond, votingBlocks: 100, quorum, clip, slashAmount })).wait();

  const s = statement(f, "bench");
  const signature = await signStatement(f, s);
  figures.push({
    name: "alignment-fileDispute",
    value: await gasOf(
      f.disputes
        .connect(h[0].account)
        .fileDispute(h[0].licenseId, Kind.REEXECUTION, s, signature, EVIDENCE, 1, { value: bond }),
    ),
    unit: "gas",
  });

  // Every voter's vote words reserved ahead, as alignment nodes keep them; one license left unreserved.
  const unreserved = h[50];
  const reserveFrom = (await f.disputes.disputeCount()) + 1n;
  const reserveGas = await gasOf(
    f.disputes.reserveVotes(
      h.slice(0, 50).map((x) => x.licenseId),
      reserveFrom,
      reserveFrom + 3n,
    ),
  );
  figures.push({
    name: "alignment-reserveVotes (per license word of 51 disputes)",
    value: Math.round(reserveGas / 50),
    unit: "gas",
  });

  let voteMax = 0;
  for (const [voters, upheld] of [
    [10, true],
    [10, false],
    [50, true],
    [50, false],
  ] as const) {
    const id = await file(f, h[0], statement(f, `bench:${voters}:${upheld}`));
    const gas: number[] = [];
    for (let i = 0; i < voters; i++) {
      // Scores spread over the range (upheld: mostly high), so that every bucket of the histogram is touched.
      const score = upheld ? (i % 3 === 0 ? 2 : 10 - (i % 4)) : i % 3 === 0 ? 9 : i % 6;
      gas.push(await gasOf(f.disputes.connect(h[i].account).vote(id, h[i].licenseId, score)));
    }
    voteMax = Math.max(voteMax, ...gas);
    if (voters === 10 && upheld) {
      figures.push({
        name: "alignment-vote (unreserved word: a license's first vote in 51 disputes)",
        value: await gasOf(f.disputes.connect(unreserved.account).vote(id, unreserved.licenseId, 10)),
        unit: "gas",
      });
    }
    if (voters === 50 && !upheld) {
      figures.push({
        name: "alignment-vote (median over 50 voters)",
        value: gas.sort((a, b) => a - b)[24],
        unit: "gas",
        anchor: VOTE_GOAL,
      });
      figures.push({
        name: "alignment-vote (max over every vote of 4 disputes, 120 votes)",
        value: voteMax,
        unit: "gas",
        anchor: VOTE_GOAL,
      });
      figures.push({
        name: "alignment-vote (max, with the reservation's share: 1/51 of a word)",
        value: voteMax + Math.round(reserveGas / 50 / 51),
        unit: "gas",
        anchor: VOTE_GOAL,
      });
    }
    await pastVoting(f, id);
    figures.push({
      name: `alignment-resolve-${upheld ? "upheld" : "rejected"}-${voters}-voters`,
      value: await gasOf(f.disputes.resolve(id)),
      unit: "gas",
    });
    if (!upheld && voters === 10) {
      figures.push({
        name: "alignment-claimVoterReward",
        value: await gasOf(f.disputes.claimVoterReward(id, h[4].licenseId)),
        unit: "gas",
      });
    }
  }

  const node = h[1].account;
  for (const x of h.slice(2, 33)) {
    await (await f.license.connect(x.account).setOperator(x.licenseId, node.address, 1000)).wait();
  }
  await nextEpoch(f);
  const epoch = await f.rewards.currentEpoch();
  await (await f.rewards.fund({ value: ethers.parseEther("1") })).wait();
  figures.push({
    name: "alignment-attest-1-license",
    value: await gasOf(f.rewards.connect(h[0].account).attest([h[0].licenseId])),
    unit: "gas",
  });
  figures.push({
    name: "alignment-attest-32-licenses",
    value: await gasOf(f.rewards.connect(node).attest(h.slice(1, 33).map((x) => x.licenseId))),
    unit: "gas",
  });
  await nextEpoch(f);
  figures.push({
    name: "alignment-rewards-claim (with commission)",
    value: await gasOf(f.rewards.claim(epoch, h[2].licenseId)),
    unit: "gas",
  });
  return figures;
}

/**
 * Gas of alignment governance on the in-process Hardhat network: `propose` (one call), `castVote` (the first vote on
 * a proposal, which writes its tally slot, and later votes), `queue`, `execute` and execute's overhead over the
 * bare call, and a license transfer next to a plain OpenZeppelin ERC-721 `transferFrom`.
 *
 * Setup: AlignmentLicense (no soulbound period), AlignmentTimelock (delay 60 s; the governor proposes, anyone
 * executes), AlignmentGovernor (delay 1 block, period 20 blocks, threshold 1, quorum 4 %), a registry owned by the
 * timelock and an AlignmentPolicy; each proposal calls `setPolicy(root, size)`. Ten holders with one license each
 * (self-delegated at mint). Figures are medians of five proposals after one warm-up. The transfer figures are
 * ping-pong between two accounts that each hold another token (no balance goes from or to zero), median of five.
 * The bare `setPolicy` is measured against a second policy whose registry the bench account owns.
 *
 * Goals: castVote ≤ 80,000 gas, propose ≤ 150,000.
 *
 *   npx hardhat run bench/alignment-gas.ts
 */
import { mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { id, keccak256, toUtf8Bytes, ZeroAddress, type ContractTransactionResponse } from "ethers";
import { ethers } from "hardhat";
import {
  AlignmentGovernor__factory,
  AlignmentLicense__factory,
  AlignmentPolicy__factory,
  AlignmentTimelock__factory,
  ModuleRegistry__factory,
  PlainERC721__factory,
} from "../typechain-types";
import type { Figure } from "./figure";

const WARM_UP = 1;
const SAMPLES = 5;
const VOTERS = 10;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function gasOf(sent: Promise<ContractTransactionResponse>): Promise<number> {
  const receipt = await (await sent).wait();
  return Number(receipt!.gasUsed);
}

/** Measures every figure on one fresh deployment. */
export async function governanceGas(): Promise<Figure[]> {
  const signers = await ethers.getSigners();
  const [deployer] = signers;
  const voters = signers.slice(1, 1 + VOTERS);

  const timelock = await new AlignmentTimelock__factory(deployer).deploy(
    60,
    [],
    [ZeroAddress],
    deployer.address,
  );
  const registry = await new ModuleRegistry__factory(deployer).deploy(await timelock.getAddress());
  const license = await new AlignmentLicense__factory(deployer).deploy(
    await registry.getAddress(),
    1000,
    0,
    deployer.address,
  );
  const governor = await new AlignmentGovernor__factory(deployer).deploy(
    await license.getAddress(),
    await timelock.getAddress(),
    1,
    20,
    1,
    4,
  );
  await (await timelock.grantRole(await timelock.PROPOSER_ROLE(), await governor.getAddress())).wait();
  await (await timelock.grantRole(await timelock.CANCELLER_ROLE(), await governor.getAddress())).wait();
  await (await timelock.renounceRole(await timelock.DEFAULT_ADMIN_ROLE(), deployer.address)).wait();
  const policy = await new AlignmentPolicy__factory(deployer).deploy(await registry.getAddress());
  for (const voter of voters) await (await license.mint(voter.address)).wait();
  await mine();

  const proposeGas: number[] = [];
  const firstVoteGas: number[] = [];
  const laterVoteGas: number[] = [];
  const queueGas: number[] = [];
  const executeGas: number[] = [];
  for (let round = 0; round < WARM_UP + SAMPLES; round++) {
    const targets = [await policy.getAddress()];
    const values = [0n];
    const calldatas = [
      policy.interface.encodeFunctionData("setPolicy", [id(`policy ${round}`), 1000 + round]),
    ];
    const description = `Policy version ${round + 1}`;
    const hash = keccak256(toUtf8Bytes(description));
    const proposer = governor.connect(voters[round % VOTERS]);
    const propose = await gasOf(proposer.propose(targets, values, calldatas, description));
    const proposalId = await governor.hashProposal(targets, values, calldatas, hash);
    await mine(2);
    const votes: number[] = [];
    for (const voter of voters) votes.push(await gasOf(governor.connect(voter).castVote(proposalId, 1)));
    await mine(20);
    const queue = await gasOf(governor.queue(targets, values, calldatas, hash));
    await time.increase(61);
    const execute = await gasOf(governor.execute(targets, values, calldatas, hash));
    if (round < WARM_UP) continue;
    proposeGas.push(propose);
    firstVoteGas.push(votes[0]);
    laterVoteGas.push(median(votes.slice(1)));
    queueGas.push(queue);
    executeGas.push(execute);
  }

  // The bare call, for execute's overhead: a policy whose registry the deployer owns, at the same version count.
  const ownRegistry = await new ModuleRegistry__factory(deployer).deploy(deployer.address);
  const ownPolicy = await new AlignmentPolicy__factory(deployer).deploy(await ownRegistry.getAddress());
  const bare: number[] = [];
  for (let round = 0; round < WARM_UP + SAMPLES; round++) {
    const gas = await gasOf(ownPolicy.setPolicy(id(`policy ${round}`), 1000 + round));
    if (round >= WARM_UP) bare.push(gas);
  }

  // Transfers: two holders of a second token each, ping-pong.
  const [a, b] = [voters[0], voters[1]];
  await (await license.mint(a.address)).wait();
  const licenseTokenId = await license.totalMinted();
  const plain = await new PlainERC721__factory(deployer).deploy();
  await (await plain.mint(a.address, 1n)).wait();
  await (await plain.mint(a.address, 2n)).wait();
  await (await plain.mint(b.address, 3n)).wait();
  const licenseTransfers: number[] = [];
  const plainTransfers: number[] = [];
  for (let round = 0; round < WARM_UP + SAMPLES * 2; round++) {
    const [from, to] = round % 2 === 0 ? [a, b] : [b, a];
    const l = await gasOf(license.connect(from).transferFrom(from.address, to.address, licenseTokenId));
    const p = await gasOf(plain.connect(from).transferFrom(from.address, to.address, 1n));
    if (round < WARM_UP) continue;
    licenseTransfers.push(l);
    plainTransfers.push(p);
  }

  const executeMedian = median(executeGas);
  const bareMedian = median(bare);
  const plainMedian = median(plainTransfers);
  return [
    { name: "alignment-propose-1-call", value: median(proposeGas), unit: "gas" },
    { name: "alignment-castVote-first-on-proposal", value: median(firstVoteGas), unit: "gas" },
    { name: "alignment-castVote-later", value: median(laterVoteGas), unit: "gas" },
    { name: "alignment-queue-1-call", value: median(queueGas), unit: "gas" },
    { name: "alignment-execute-1-call", value: executeMedian, unit: "gas" },
    { name: "alignment-setPolicy-bare", value: bareMedian, unit: "gas" },
    { name: "alignment-execute-overhead", value: executeMedian - bareMedian, unit: "gas" },
    {
      name: "alignment-license-transferFrom",
      value: median(licenseTransfers),
      unit: "gas",
      anchor: { name: "plain OpenZeppelin ERC-721 transferFrom", value: plainMedian, unit: "gas" },
    },
  ];
}

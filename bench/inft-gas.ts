/**
 * Gas of `AgentNFT.mint`, `iTransferFrom` and `iCloneFrom` with one and three data entries, next to a plain
 * OpenZeppelin ERC-721 `transferFrom` measured in the same run, on the in-process Hardhat network (osaka rules,
 * with EIP-7623's calldata floor).
 *
 * Steady state: the proofs are real (EIP-712 signatures, in AgentNFT's domain, of the receiver and of an oracle
 * staked in NodeStaking; new hashes submitted to the Flow; 125-byte sealed keys); every receiver's nonce word is
 * already in use (each proof takes the receiver's next sequential nonce, and two warm-up rounds run first); sender
 * and receiver each hold another token, so no balance goes from or to zero; the token has no authorized users and
 * no approval. Each figure is the median of five. `…-new-receiver` is one transfer to an account that holds no
 * token and never received a proof (two more fresh storage slots: its balance and its nonce word). The plain
 * ERC-721 is measured under the same conditions (ping-pong between two accounts that hold another token).
 *
 * The 0G anchors are not measured here: they are the figures quoted for 0G's own AgentNFT (≈266,000–283,000 gas
 * for a one-entry `iTransferFrom`, ≈172,000 per extra entry).
 *
 *   npx hardhat run bench/inft-gas.ts
 */
import type { ContractTransactionResponse } from "ethers";
import { PlainERC721__factory } from "../typechain-types";
import {
  deployInftFixture,
  handOverProofs,
  mintAgent,
  mintProofs,
  type InftFixture,
  type Party,
} from "../test/inft/inft-fixture";

export interface GasFigure {
  name: string;
  value: number;
  unit: string;
  anchor?: { name: string; value: number; unit: string };
}

const WARM_UP = 2;
const SAMPLES = 5;
const ZEROG_ONE_ENTRY = 266_000;
const ZEROG_PER_EXTRA_ENTRY = 172_000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function gasOf(sent: Promise<ContractTransactionResponse>): Promise<number> {
  const receipt = await (await sent).wait();
  return Number(receipt!.gasUsed);
}

/** Runs `step` WARM_UP + SAMPLES times and returns the median gas of the samples. */
async function steady(step: (round: number) => Promise<number>): Promise<number> {
  const samples: number[] = [];
  for (let round = 0; round < WARM_UP + SAMPLES; round++) {
    const gas = await step(round);
    if (round >= WARM_UP) samples.push(gas);
  }
  return median(samples);
}

/** Alice and bob each hold an empty token, so transfers between them never empty or fill a balance. */
async function withBallast(f: InftFixture): Promise<void> {
  await mintAgent(f, f.alice, 0);
  await mintAgent(f, f.bob, 0);
}

async function mintGas(f: InftFixture, entries: number): Promise<number> {
  return steady(async () => {
    const { datas, proofs } = await mintProofs(f, f.alice, entries);
    return gasOf(f.nft.connect(f.alice.signer).mint(f.alice.address, datas, proofs));
  });
}

async function transferGas(f: InftFixture, entries: number): Promise<number> {
  const tokenId = await mintAgent(f, f.alice, entries);
  const holders: [Party, Party] = [f.alice, f.bob];
  return steady(async (round) => {
    const from = holders[round % 2];
    const to = holders[(round + 1) % 2];
    const proofs = await handOverProofs(f, tokenId, to);
    return gasOf(f.nft.connect(from.signer).iTransferFrom(from.address, to.address, tokenId, proofs));
  });
}

async function newReceiverGas(f: InftFixture): Promise<number> {
  const tokenId = await mintAgent(f, f.alice, 1);
  const proofs = await handOverProofs(f, tokenId, f.carol);
  return gasOf(
    f.nft.connect(f.alice.signer).iTransferFrom(f.alice.address, f.carol.address, tokenId, proofs),
  );
}

async function cloneGas(f: InftFixture, entries: number): Promise<number> {
  const tokenId = await mintAgent(f, f.alice, entries);
  return steady(async () => {
    const proofs = await handOverProofs(f, tokenId, f.bob);
    return gasOf(f.nft.connect(f.alice.signer).iCloneFrom(f.alice.address, f.bob.address, tokenId, proofs));
  });
}

async function plainTransferGas(f: InftFixture): Promise<number> {
  const token = await new PlainERC721__factory(f.governance).deploy();
  const holders = [f.alice, f.bob];
  await (await token.mint(f.alice.address, 1n)).wait();
  await (await token.mint(f.alice.address, 2n)).wait();
  await (await token.mint(f.bob.address, 3n)).wait();
  return steady(async (round) => {
    const from = holders[round % 2];
    const to = holders[(round + 1) % 2];
    return gasOf(token.connect(from.signer).transferFrom(from.address, to.address, 1n));
  });
}

/** Measures every figure on one fresh deployment; 0G's quoted figures ride along as anchors. */
export async function inftGas(): Promise<GasFigure[]> {
  const f = await deployInftFixture();
  await withBallast(f);
  const transfer1 = await transferGas(f, 1);
  const transfer3 = await transferGas(f, 3);
  const quoted = (label: string, value: number) => ({
    name: `0G AgentNFT ${label} (quoted)`,
    value,
    unit: "gas",
  });
  return [
    { name: "inft-mint-1-entry", value: await mintGas(f, 1), unit: "gas" },
    { name: "inft-mint-3-entries", value: await mintGas(f, 3), unit: "gas" },
    {
      name: "inft-itransfer-1-entry",
      value: transfer1,
      unit: "gas",
      anchor: quoted("iTransferFrom, 1 entry, 266k-283k", ZEROG_ONE_ENTRY),
    },
    { name: "inft-itransfer-3-entries", value: transfer3, unit: "gas" },
    {
      name: "inft-itransfer-per-extra-entry",
      value: Math.round((transfer3 - transfer1) / 2),
      unit: "gas",
      anchor: quoted("iTransferFrom, per extra entry", ZEROG_PER_EXTRA_ENTRY),
    },
    { name: "inft-itransfer-1-entry-new-receiver", value: await newReceiverGas(f), unit: "gas" },
    { name: "inft-iclone-1-entry", value: await cloneGas(f, 1), unit: "gas" },
    { name: "inft-iclone-3-entries", value: await cloneGas(f, 3), unit: "gas" },
    { name: "inft-plain-erc721-transferFrom", value: await plainTransferGas(f), unit: "gas" },
  ];
}

async function main(): Promise<void> {
  const figures = await inftGas();
  const width = Math.max(...figures.map((f) => f.name.length));
  process.stdout.write(`${"figure".padEnd(width)}  ${"gas".padStart(8)}\n`);
  for (const figure of figures) {
    process.stdout.write(`${figure.name.padEnd(width)}  ${String(figure.value).padStart(8)}\n`);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`inft-gas: ${(error as Error).message}\n`);
    process.exitCode = 1;
  });
}

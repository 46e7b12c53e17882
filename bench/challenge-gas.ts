/**
 * Gas of `StorageChallenges.answer` against the depth of the challenged sector's proof (10, 20, 30 siblings), on
 * the in-process Hardhat network.
 *
 * A height-h node whose 2^h sectors are all the same sector has the same path from every position (the siblings
 * are the "constant" subtree roots), so a depth-30 proof can be built without 2^30 leaves. The sector is chosen
 * so that neither it nor any sibling has a zero byte: the worst case for the call data, which is the packed
 * answer (selector, 4-byte epoch, sector, siblings). Each figure is one answer by a node that declared one file,
 * after a first answered epoch, in the same 32-epoch answer window (the first answer of a window also moves the
 * last window's bits to the bitmap: ~+5k, ~+22k once every 256 epochs) and with the epoch's seed recorded by
 * `seed(e)` (a watcher's poke). The `-records-seed` figure is the same answer when it is the epoch's first touch
 * and records the seed itself.
 *
 * Each answer also has its execution (from the trace) and EIP-7623's calldata floor: from Prague on (the Hardhat
 * network runs Osaka) `gas` is at least the floor, 21,000 + 10 per calldata token (4 a non-zero byte, 1 a zero
 * one), whatever the contract does; `-no-floor` is what Cancun rules charge (intrinsic cost + execution).
 */
import hre from "hardhat";
import {
  DEFAULT_PARAMS,
  answer,
  PRICE,
  deployChallenges,
  stakeNode,
  toEpoch,
  type ChallengesFixture,
} from "../test/storage/challenges-fixture";
import type { Figure } from "./figure";

const DEPTHS = [10, 20, 30];
const TARGET_AT_30 = 70_000;

interface ConstantFile {
  nodes: { root: string; height: number }[];
  dataRoot: string;
  sector: string;
  siblings: string[];
}

/**
 * A one-node file of 2^height copies of one sector: every position has the same proof. The sector is chosen so
 * that neither it nor any sibling has a zero byte: the call data of the answer costs the most it can.
 */
function constantFile(height: number, label: string): ConstantFile {
  for (let attempt = 0; ; attempt++) {
    const words = Array.from({ length: 8 }, (_, i) => hre.ethers.id(`${label}:${attempt}:${i}`));
    const sector = hre.ethers.concat(words);
    let node = hre.ethers.keccak256(sector);
    const siblings: string[] = [];
    for (let level = 0; level < height; level++) {
      siblings.push(node);
      node = hre.ethers.keccak256(hre.ethers.concat([node, node]));
    }
    if (hre.ethers.getBytes(hre.ethers.concat([sector, ...siblings])).every((b) => b !== 0))
      return { nodes: [{ root: node, height }], dataRoot: node, sector, siblings };
  }
}

/** One answer's gas: what the network charged, and its parts. */
interface AnswerGas {
  /** `gasUsed` on the configured hardfork. */
  used: number;
  /** Execution (gas spent by the EVM after the intrinsic cost), from the transaction's trace. */
  execution: number;
  /** The intrinsic cost: 21,000 + 16 a non-zero calldata byte + 4 a zero one. */
  intrinsic: number;
  /** EIP-7623's calldata floor (Prague on): 21,000 + 10 a calldata token (4 a non-zero byte, 1 a zero one). */
  floor: number;
}

function calldataCosts(data: string): { intrinsic: number; floor: number } {
  const bytes = hre.ethers.getBytes(data);
  const zeros = bytes.filter((b) => b === 0).length;
  const nonZeros = bytes.length - zeros;
  return { intrinsic: 21_000 + 16 * nonZeros + 4 * zeros, floor: 21_000 + 10 * (4 * nonZeros + zeros) };
}

interface StructLog {
  depth: number;
  gas: number;
  gasCost: number;
}

/** Gas the EVM spent executing `hash` (no refunds arise in `answer`: it never clears a slot). */
async function executionGas(hash: string): Promise<number> {
  const trace = (await hre.network.provider.send("debug_traceTransaction", [
    hash,
    { disableStorage: true, disableMemory: true, disableStack: true },
  ])) as { structLogs: StructLog[] };
  const top = trace.structLogs.filter((step) => step.depth === trace.structLogs[0].depth);
  const last = top[top.length - 1];
  return top[0].gas - (last.gas - last.gasCost);
}

async function answerGas1(
  f: ChallengesFixture,
  file: ConstantFile,
  epoch: bigint,
  poke: boolean,
): Promise<AnswerGas> {
  await toEpoch(f, epoch);
  if (poke) await (await f.challenges.seed(epoch)).wait();
  const challenge = await f.challenges.challengeOf(f.alice.address, epoch);
  if (!challenge.active) throw new Error(`no challenge in epoch ${epoch}`);
  const tx = await answer(f, f.alice, epoch, file.sector, file.siblings);
  const used = Number((await tx.wait())!.gasUsed);
  return { used, execution: await executionGas(tx.hash), ...calldataCosts(tx.data) };
}

async function measure(height: number): Promise<{ poked: AnswerGas; recording: AnswerGas }> {
  const f = await deployChallenges(DEFAULT_PARAMS);
  const file = constantFile(height, `bench-depth-${height}`);
  const sectors = 1n << BigInt(height);
  await (
    await f.flow.connect(f.uploader).submit(
      {
        data: { length: sectors * 256n, tags: "0x", nodes: file.nodes },
        submitter: hre.ethers.ZeroAddress,
      },
      { value: sectors * PRICE },
    )
  ).wait();
  await stakeNode(f, f.alice);
  await (await f.challenges.connect(f.alice).declare([file.dataRoot])).wait();
  const first = (await f.challenges.currentEpoch()) + 1n;
  await answerGas1(f, file, first, true); // warm-up: writes the node's answered-bit word
  const poked = await answerGas1(f, file, first + 1n, true);
  const recording = await answerGas1(f, file, first + 2n, false);
  return { poked, recording };
}

interface Measured {
  name: string;
  gas: AnswerGas;
}

async function measureAll(): Promise<Measured[]> {
  const measured: Measured[] = [];
  for (const depth of DEPTHS) {
    const { poked, recording } = await measure(depth);
    measured.push({ name: `challenge-answer-depth-${depth}`, gas: poked });
    measured.push({ name: `challenge-answer-depth-${depth}-records-seed`, gas: recording });
  }
  return measured;
}

/**
 * Answer gas at depths 10, 20 and 30, with its execution part and EIP-7623's calldata floor: `gas` is
 * max(intrinsic + execution, floor) from Prague on (the Hardhat network runs Osaka).
 */
export async function answerGas(): Promise<Figure[]> {
  return (await measureAll()).flatMap(({ name, gas }) => [
    { name, value: gas.used, unit: name.endsWith("depth-30") ? `gas (target <= ${TARGET_AT_30})` : "gas" },
    { name: `${name}-execution`, value: gas.execution, unit: "gas" },
    { name: `${name}-7623-floor`, value: gas.floor, unit: "gas" },
    { name: `${name}-no-floor`, value: gas.intrinsic + gas.execution, unit: "gas" },
  ]);
}

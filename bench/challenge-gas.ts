/**
 * Gas of `StorageChallenges.answer` against the Merkle depth of the challenged submission node (10, 20, 30), on
 * the in-process Hardhat network.
 *
 * A height-h node whose 2^h sectors are all the same sector has the same path from every position (the siblings
 * are the empty-free "constant" subtree roots), so a depth-30 proof can be built without 2^30 leaves; the gas does
 * not depend on the sector's contents. Each figure is one answer by a node that declared one file, after a first
 * answered epoch (so its answered-bit word is already written, as for any node past its first epoch) and with the
 * epoch's seed recorded by `seed(e)` (a watcher's poke). The `-records-seed` figure is the same answer when it is
 * the epoch's first touch and records the seed itself.
 *
 *   npx hardhat run bench/challenge-gas.ts
 */
import hre from "hardhat";
import {
  DEFAULT_PARAMS,
  PRICE,
  deployChallenges,
  stakeNode,
  toEpoch,
  type ChallengesFixture,
} from "../test/storage/challenges-fixture";

export interface GasFigure {
  name: string;
  value: number;
  unit: string;
}

const DEPTHS = [10, 20, 30];
const TARGET_AT_30 = 70_000;

interface ConstantFile {
  nodes: { root: string; height: number }[];
  dataRoot: string;
  sector: string;
  siblings: string[];
}

/** A one-node file of 2^height copies of one sector: every position has the same proof. */
function constantFile(height: number, label: string): ConstantFile {
  const seed = hre.ethers.getBytes(hre.ethers.id(label));
  const bytes = new Uint8Array(256);
  for (let i = 0; i < 256; i += 32) bytes.set(seed, i);
  let node = hre.ethers.keccak256(bytes);
  const siblings: string[] = [];
  for (let level = 0; level < height; level++) {
    siblings.push(node);
    node = hre.ethers.keccak256(hre.ethers.concat([node, node]));
  }
  return { nodes: [{ root: node, height }], dataRoot: node, sector: hre.ethers.hexlify(bytes), siblings };
}

async function answerGas1(f: ChallengesFixture, file: ConstantFile, epoch: bigint, poke: boolean) {
  await toEpoch(f, epoch);
  if (poke) await (await f.challenges.seed(epoch)).wait();
  const challenge = await f.challenges.challengeOf(f.alice.address, epoch);
  if (!challenge.active) throw new Error(`no challenge in epoch ${epoch}`);
  const tx = await f.challenges.connect(f.alice).answer(epoch, file.sector, file.nodes, 0, file.siblings);
  return Number((await tx.wait())!.gasUsed);
}

async function measure(height: number): Promise<{ poked: number; recording: number }> {
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

/** Answer gas at depths 10, 20 and 30. */
export async function answerGas(): Promise<GasFigure[]> {
  const figures: GasFigure[] = [];
  for (const depth of DEPTHS) {
    const { poked, recording } = await measure(depth);
    figures.push({ name: `challenge-answer-depth-${depth}`, value: poked, unit: "gas" });
    figures.push({ name: `challenge-answer-depth-${depth}-records-seed`, value: recording, unit: "gas" });
  }
  return figures;
}

async function main(): Promise<void> {
  const figures = await answerGas();
  const width = Math.max(...figures.map((f) => f.name.length));
  process.stdout.write(`${"figure".padEnd(width)}  ${"gas".padStart(8)}\n`);
  for (const figure of figures) {
    process.stdout.write(`${figure.name.padEnd(width)}  ${String(figure.value).padStart(8)}\n`);
  }
  process.stdout.write(`target at depth 30: <= ${TARGET_AT_30}\n`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`challenge-gas: ${(error as Error).message}\n`);
    process.exitCode = 1;
  });
}

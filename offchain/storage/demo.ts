import { formatEther } from "ethers";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ZgError } from "../core/errors";
import { DemoSkipped, type DemoContext } from "../core/module";
import { SegmentFiles } from "./segment-files";
import { waitFor } from "../core/wait";
import { StakingClient } from "../staking/client";
import { ChallengesClient } from "./challenges";
import { StorageClient } from "./client";
import { SEGMENT_SIZE } from "./merkle";

/**
 * A file with 4+2 parity is uploaded, two storage nodes are stopped, the file still downloads intact, and the two
 * nodes are started again (the devnet is left as it was).
 */
export async function showParity({ state, controls, connectAs }: DemoContext): Promise<string> {
  const chain = await connectAs("USER");
  const victims = ["storage-0", "storage-2"];
  try {
    const storage = await StorageClient.connect(chain);
    const bytes = randomBytes(6 * SEGMENT_SIZE + 12_345);
    const uploaded = await storage.upload(bytes, { ec: { k: 4, m: 2 } });
    for (const name of victims) await controls.stopWorker(name);
    const dir = await mkdtemp(path.join(tmpdir(), "zg-demo-"));
    const out = path.join(dir, "downloaded");
    const result = await storage.download(uploaded.root, out);
    const intact = (await readFile(out)).equals(bytes);
    await rm(dir, { recursive: true, force: true });
    if (!intact) throw new ZgError("the downloaded bytes differ from the uploaded ones");
    const nodes = state.workers.filter((w) => w.kind === "storage").length;
    return `root ${uploaded.root.slice(0, 10)}… (${bytes.length} bytes) on ${nodes} nodes; stopped ${victims.join(" and ")}; downloaded intact, ${result.repaired} segment(s) rebuilt from parity; both nodes back up`;
  } finally {
    for (const name of victims) await controls.resumeWorker(name);
    chain.destroy();
  }
}

/** The longest challenge epoch the demo waits out: two such epochs of devnet blocks fit in its two minutes. */
const MAX_DEMO_EPOCH_BLOCKS = 100n;

/**
 * A storage node started for this step alone stores a file, loses its data (stopped, its segments deleted,
 * started again), misses the challenge it cannot answer, and is reported by the demo user; the devnet's own
 * storage nodes keep answering theirs.
 */
export async function showChallenges({
  state,
  controls,
  connectAs,
  newAccount,
}: DemoContext): Promise<string> {
  const reader = await connectAs("USER");
  const operator = await newAccount();
  const governance = await connectAs("GOVERNANCE");
  const victim = "storage-lossy";
  let started = false;
  try {
    const { epochBlocks } = await (await ChallengesClient.connect(reader)).contract.params();
    if (epochBlocks > MAX_DEMO_EPOCH_BLOCKS)
      throw new DemoSkipped(
        `epochs of ${epochBlocks} blocks are too long to wait for a missed challenge; profiles for a devnet use ${MAX_DEMO_EPOCH_BLOCKS} or fewer`,
      );
    // A new, staked operator with a region of its own, so the demo's file lands on it alone.
    const address = operator.address as string;
    const staking = await StakingClient.connect(operator);
    await staking.joinAtMinimum("STORAGE", await StakingClient.connect(governance));
    const region = "demo-lossy";
    await controls.startExtraWorker(
      {
        name: victim,
        kind: "storage",
        roles: ["STORAGE"],
        config: (port) => ({ region, publicUrl: `http://127.0.0.1:${port}` }),
      },
      operator.privateKey,
    );
    started = true;
    const challenges = await ChallengesClient.connect(reader);
    const uploaded = await (
      await StorageClient.connect(reader)
    ).upload(randomBytes(2 * SEGMENT_SIZE), { region });
    await waitFor(
      async () => (await challenges.contract.declaredRoots(address)).includes(uploaded.root),
      60_000,
    );

    await controls.stopWorker(victim);
    await SegmentFiles.lose(path.join(state.dataDir, victim, "data"));
    await controls.resumeWorker(victim);

    const before = (await staking.status(address, "STORAGE")).bonded;
    // Wait for an epoch in which the node was challenged and the window closed without an answer.
    let missed: number | undefined;
    await waitFor(async () => {
      missed = (await challenges.status(address, 3)).epochs.find((e) => e.state === "missed")?.epoch;
      return missed !== undefined;
    }, 120_000).catch(() => {
      throw new ZgError(`${victim} was not challenged within two minutes`);
    });
    await challenges.slashMissed(address, missed as number);
    const after = (await staking.status(address, "STORAGE")).bonded;
    const answering: string[] = [];
    for (const node of state.operators.filter((o) => o.role === "STORAGE")) {
      const status = await challenges.status(node.address, 4);
      if (status.epochs.some((e) => e.state === "answered")) answering.push(node.worker);
    }
    if (answering.length === 0) throw new ZgError("no storage node answered a challenge");
    const penalty =
      before === after
        ? "jailed (this profile moves no coin)"
        : `slashed ${formatEther(before - after)} and jailed`;
    return `${victim} missed epoch ${missed} and was ${penalty}, reported by the demo user; answered and earning: ${answering.join(", ")}`;
  } finally {
    if (started) await controls.removeWorker(victim);
    for (const chain of [reader, operator, governance]) chain.destroy();
  }
}

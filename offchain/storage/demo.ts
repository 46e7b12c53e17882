import { formatEther } from "ethers";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ZgError } from "../core/errors";
import { DemoSkipped, type DemoContext } from "../core/module";
import { DurableStore, type StoreOp } from "../core/store";
import { StakingClient } from "../staking/client";
import { ChallengesClient } from "./challenges";
import { StorageClient } from "./client";
import { SEGMENT_SIZE } from "./merkle";

/** A file with 4+2 parity is uploaded, two storage nodes are stopped, and the file still downloads intact. */
export async function showParity({ state, controls, connectAs }: DemoContext): Promise<string> {
  const chain = await connectAs("USER");
  try {
    const storage = await StorageClient.connect(chain);
    const bytes = randomBytes(6 * SEGMENT_SIZE + 12_345);
    const uploaded = await storage.upload(bytes, { ec: { k: 4, m: 2 } });
    const victims = ["storage-0", "storage-2"];
    for (const name of victims) await controls.stopWorker(name);
    const dir = await mkdtemp(path.join(tmpdir(), "zg-demo-"));
    const out = path.join(dir, "downloaded");
    const result = await storage.download(uploaded.root, out);
    const intact = (await readFile(out)).equals(bytes);
    await rm(dir, { recursive: true, force: true });
    if (!intact) throw new ZgError("the downloaded bytes differ from the uploaded ones");
    const nodes = state.workers.filter((w) => w.kind === "storage").length;
    return `root ${uploaded.root.slice(0, 10)}… (${bytes.length} bytes) on ${nodes} nodes; stopped ${victims.join(" and ")}; downloaded intact, ${result.repaired} segment(s) rebuilt from parity`;
  } finally {
    chain.destroy();
  }
}

/** The longest challenge epoch the demo waits out: two such epochs of devnet blocks fit in its two minutes. */
const MAX_DEMO_EPOCH_BLOCKS = 100n;

/**
 * A node loses its data (stopped, its stored segments deleted, started again): it keeps answering what it can,
 * misses the challenge it cannot answer, and the demo user reports it.
 */
export async function showChallenges({ state, controls, connectAs }: DemoContext): Promise<string> {
  const victim = "storage-1";
  const reader = await connectAs("USER");
  try {
    const { epochBlocks } = await (await ChallengesClient.connect(reader)).contract.params();
    if (epochBlocks > MAX_DEMO_EPOCH_BLOCKS)
      throw new DemoSkipped(
        `epochs of ${epochBlocks} blocks are too long to wait for a missed challenge; profiles for a devnet use ${MAX_DEMO_EPOCH_BLOCKS} or fewer`,
      );
  } finally {
    reader.destroy();
  }
  await controls.stopWorker(victim);
  const store = await DurableStore.open(path.join(state.dataDir, victim, "data"));
  const lost: StoreOp[] = [];
  for await (const key of store.keys("file/")) if (key.includes("/segment/")) lost.push({ type: "del", key });
  await store.batch(lost);
  await store.close();
  await controls.resumeWorker(victim);
  const storageOperators = state.operators.filter((o) => o.role === "STORAGE");
  const victimAddress = storageOperators.find((o) => o.worker === victim)?.address;
  if (!victimAddress) throw new ZgError(`no STORAGE operator runs ${victim}`);
  const chain = await connectAs("USER");
  try {
    const challenges = await ChallengesClient.connect(chain);
    const staking = await StakingClient.connect(chain);
    const before = (await staking.status(victimAddress, "STORAGE")).bonded;
    // Wait for an epoch in which the node was challenged and the window closed without an answer.
    const deadline = Date.now() + 120_000;
    let missed: number | undefined;
    while (missed === undefined && Date.now() < deadline) {
      const status = await challenges.status(victimAddress, 3);
      missed = status.epochs.find((e) => e.state === "missed")?.epoch;
      if (missed === undefined) await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    if (missed === undefined) throw new ZgError(`${victim} was not challenged within two minutes`);
    await challenges.slashMissed(victimAddress, missed);
    const after = (await staking.status(victimAddress, "STORAGE")).bonded;
    const answering: string[] = [];
    for (const operator of storageOperators) {
      const status = await challenges.status(operator.address, 4);
      if (status.epochs.some((e) => e.state === "answered")) answering.push(operator.worker);
    }
    if (answering.length === 0) throw new ZgError("no storage node answered a challenge");
    const penalty =
      before === after
        ? "jailed (this profile moves no coin)"
        : `slashed ${formatEther(before - after)} and jailed`;
    return `${victim} missed epoch ${missed} and was ${penalty}, reported by the demo user; answered and earning: ${answering.join(", ")}`;
  } finally {
    chain.destroy();
  }
}

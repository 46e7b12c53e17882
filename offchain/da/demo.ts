import { randomBytes } from "node:crypto";
import path from "node:path";
import { formatEther } from "ethers";
import { DemoSkipped, type DemoContext } from "../core/module";
import { ZgError } from "../core/errors";
import { DurableStore, type StoreOp } from "../core/store";
import { waitFor } from "../core/wait";
import { StakingClient } from "../staking/client";
import { DAClient } from "./client";
import { BLOB_PAYLOAD_BYTES } from "./types";

/** The longest signer epoch and answer window (blocks) the demo waits through. */
const MAX_DEMO_EPOCH_BLOCKS = 100;

/** The demo user submits a file of three blobs, reads it back from the nodes' cells and samples it. */
export async function showAvailability({ connectAs }: DemoContext): Promise<string> {
  const user = await connectAs("USER");
  try {
    const client = await DAClient.connect(user);
    const data = randomBytes(2 * BLOB_PAYLOAD_BYTES + 1000);
    const submitted = await client.submit(data);
    const back = await client.get(submitted.id);
    if (!Buffer.from(back).equals(data))
      throw new ZgError("the payload read back differs from the one submitted");
    const report = await client.sample(submitted.id, { samples: 16 });
    if (report.confidence === 0) throw new ZgError("sampling failed on a freshly attested payload");
    return (
      `${data.length} bytes in ${submitted.blobs} blobs attested by ${submitted.signed.length} signers in epoch ${submitted.epoch}; ` +
      `read back from their cells and sampled to ${(report.confidence * 100).toFixed(4)} % confidence`
    );
  } finally {
    user.destroy();
  }
}

/**
 * A new DA operator signs a payload, then loses its cells; the devnet's sampler finds it cannot serve them and
 * challenges it, it cannot answer, and the sampler has it slashed (jailed where no coin moves).
 */
export async function showWithholding({
  state,
  controls,
  connectAs,
  newAccount,
}: DemoContext): Promise<string> {
  const user = await connectAs("USER");
  const operator = await newAccount();
  const governance = await connectAs("GOVERNANCE");
  const victim = "da-lossy";
  let started = false;
  try {
    const client = await DAClient.connect(user);
    const epochBlocks = await client.signers.epochBlocks();
    const { responseWindow } = await client.entrance.params();
    if (epochBlocks > MAX_DEMO_EPOCH_BLOCKS || responseWindow > MAX_DEMO_EPOCH_BLOCKS)
      throw new DemoSkipped(
        `signer epochs of ${epochBlocks} blocks and answer windows of ${responseWindow} are too long to wait for here; profiles for a devnet use ${MAX_DEMO_EPOCH_BLOCKS} or fewer`,
      );
    const address = operator.address as string;
    const staking = await StakingClient.connect(operator);
    await staking.joinAtMinimum("DA_SIGNER", await StakingClient.connect(governance));
    await controls.startExtraWorker(
      {
        name: victim,
        kind: "da",
        roles: ["DA_SIGNER"],
        config: (port) => ({ publicUrl: `http://127.0.0.1:${port}` }),
      },
      operator.privateKey,
    );
    started = true;
    // A key registered now counts from the next epoch on.
    const registeredIn = await client.currentEpoch();
    await waitFor(async () => (await client.currentEpoch()) > registeredIn, 120_000);
    const submitted = await client.submit(randomBytes(BLOB_PAYLOAD_BYTES));
    if (!submitted.signed.some((signer) => signer.toLowerCase() === address.toLowerCase()))
      throw new ZgError(`${victim} did not sign the demo payload`);

    await controls.stopWorker(victim);
    const store = await DurableStore.open(path.join(state.dataDir, victim, "data"));
    const lost: StoreOp[] = [];
    for await (const key of store.keys("da/cell/")) lost.push({ type: "del", key });
    await store.batch(lost);
    await store.close();
    await controls.resumeWorker(victim);

    const before = await staking.status(address, "DA_SIGNER");
    await waitFor(
      async () => (await staking.status(address, "DA_SIGNER")).jailedUntil > before.jailedUntil,
      180_000,
    ).catch(() => {
      throw new ZgError(`${victim} was not slashed within three minutes`);
    });
    const after = await staking.status(address, "DA_SIGNER");
    const penalty =
      before.bonded === after.bonded
        ? "jailed (this profile moves no coin)"
        : `slashed ${formatEther(before.bonded - after.bonded)} and jailed`;
    return `${victim} signed payload ${submitted.id.slice(0, 10)}…, lost its cells, was challenged by the sampler and ${penalty}`;
  } finally {
    if (started) await controls.removeWorker(victim);
    for (const chain of [user, operator, governance]) chain.destroy();
  }
}

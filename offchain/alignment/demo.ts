import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { parseEther } from "ethers";
import { ZgError } from "../core/errors";
import { DemoSkipped, type DemoContext } from "../core/module";
import { AlignmentTimelock__factory } from "../../typechain-types";
import { waitFor } from "../core/wait";
import { ServingClient } from "../serving/client";
import { InferenceSession } from "../serving/inference";
import { StakingClient } from "../staking/client";
import { AlignmentClient } from "./client";
import { GovernanceClient } from "./governance";
import { DEFAULT_POLICY } from "./policy";

/** The longest vote (blocks) and timelock delay (seconds) the demo waits through to pass a proposal. */
const MAX_DEMO_VOTING_BLOCKS = 100;
const MAX_DEMO_TIMELOCK_SECONDS = 120;

/**
 * Publishes the starting policy: directly where the deployer's key governs, else by a proposal that a license
 * holder makes and votes, queued in the timelock and executed (as every parameter change goes there).
 */
async function publishDefaultPolicy({ connectAs, newAccount }: DemoContext): Promise<string> {
  const governance = await connectAs("GOVERNANCE");
  // A holder of its own (the nodes' keys are in use by their workers): the devnet's minter gives it a license.
  const holder = await newAccount();
  try {
    const owner = await governance.registry.owner();
    if (owner === governance.address) {
      const published = await (await AlignmentClient.connect(governance)).publishPolicy(DEFAULT_POLICY);
      return `policy version ${published.version} stored at ${published.root.slice(0, 10)}…, recorded by the governance key`;
    }
    await (await AlignmentClient.connect(governance)).mintLicense(holder.address as string);
    const gov = await GovernanceClient.connect(holder);
    const votingBlocks = await gov.governor.votingPeriod();
    const delay = await AlignmentTimelock__factory.connect(owner, holder.runner).getMinDelay();
    if (votingBlocks > MAX_DEMO_VOTING_BLOCKS || delay > MAX_DEMO_TIMELOCK_SECONDS)
      throw new DemoSkipped(
        `votes of ${votingBlocks} blocks and a ${delay} s timelock are too long to wait for here; the governed profile uses ${MAX_DEMO_VOTING_BLOCKS} blocks and ${MAX_DEMO_TIMELOCK_SECONDS} s at most`,
      );
    const { root, size } = await (await AlignmentClient.connect(holder)).storePolicy(DEFAULT_POLICY);
    const { id } = await gov.propose(
      [{ target: "AlignmentPolicy", signature: "setPolicy(bytes32,uint64)", args: [root, String(size)] }],
      `Publish the starting alignment policy (${root})`,
    );
    await waitFor(async () => (await gov.status(id)).state === "Active", 60_000);
    await gov.vote(id, "for", "the starting policy");
    await waitFor(async () => (await gov.status(id)).state === "Succeeded", 120_000);
    await gov.queue(id);
    // The chain's clock, not this machine's: earlier demo steps may have moved the devnet's time ahead.
    const { eta } = await gov.status(id);
    await waitFor(async () => ((await holder.provider.getBlock("latest"))?.timestamp ?? 0) > eta, 180_000);
    await gov.execute(id);
    return `policy stored at ${root.slice(0, 10)}… and recorded by proposal ${id.toString().slice(0, 10)}…: proposed and voted by a license holder, queued in the timelock, executed`;
  } finally {
    governance.destroy();
    holder.destroy();
  }
}

/** Governance publishes the starting policy in the storage module; every alignment node attests liveness. */
export async function showPolicyAndLiveness(context: DemoContext): Promise<string> {
  const viewer = await context.connectAs("USER");
  try {
    const client = await AlignmentClient.connect(viewer);
    const published =
      (await client.policyVersion()) === 0
        ? await publishDefaultPolicy(context)
        : "the policy was already published";
    const nodes = context.state.workers.filter((worker) => worker.kind === "alignment").length;
    const epoch = await client.currentEpoch();
    await waitFor(async () => Number((await client.rewards.epochOf(epoch)).live) >= nodes, 60_000).catch(
      () => {
        throw new ZgError(`fewer than ${nodes} licenses attested liveness in epoch ${epoch} within a minute`);
      },
    );
    return `${published}; ${nodes} alignment nodes attested liveness in epoch ${epoch}`;
  } finally {
    viewer.destroy();
  }
}

/** An OpenAI-compatible server that answers well, except for one question, where it leaks a key. */
async function tamperingModel(): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      const asked = (JSON.parse(body) as { messages: { content: string }[] }).messages.at(-1)?.content ?? "";
      const content = asked.includes("key")
        ? "Here it is: -----BEGIN RSA PRIVATE KEY----- MIIEowIBAAKCAQEA…"
        : "A storage node stores its shard of every file and answers storage challenges.";
      response.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({
          id: "demo",
          object: "chat.completion",
          model: "demo-tamper-1",
          choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
          usage: { prompt_tokens: 8, completion_tokens: 12, total_tokens: 20 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/**
 * A new provider whose model leaks a private key in one answer: the alignment nodes find the policy violation in
 * its receipts, one files a dispute with the receipt as evidence, they vote, and the provider is slashed (jailed
 * where no coin moves), while the devnet's honest provider is untouched.
 */
export async function showDispute({ state, controls, connectAs, newAccount }: DemoContext): Promise<string> {
  const user = await connectAs("USER");
  const provider = await newAccount();
  const governance = await connectAs("GOVERNANCE");
  const name = "provider-tampering";
  const viewer = await AlignmentClient.connect(user);
  if ((await viewer.policyVersion()) === 0) {
    for (const chain of [user, provider, governance]) chain.destroy();
    throw new DemoSkipped(
      "no alignment policy is published on this deployment, so there is no rule to break",
    );
  }
  const { votingBlocks } = await viewer.disputes.params();
  if (votingBlocks > MAX_DEMO_VOTING_BLOCKS) {
    for (const chain of [user, provider, governance]) chain.destroy();
    throw new DemoSkipped(`dispute votes of ${votingBlocks} blocks are too long to wait for here`);
  }
  const model = await tamperingModel();
  let started = false;
  try {
    const address = provider.address as string;
    const staking = await StakingClient.connect(provider);
    await staking.joinAtMinimum("PROVIDER", await StakingClient.connect(governance));
    const serving = await ServingClient.connect(user);
    // Without a ledger (no token), services are free.
    const price = serving.hasLedger ? "1000" : "0";
    await controls.startExtraWorker(
      {
        name,
        kind: "oracle",
        roles: ["PROVIDER"],
        config: (port) => ({
          engine: `openai:${model.url}`,
          model: "demo-tamper-1",
          service: { publicUrl: `http://127.0.0.1:${port}`, inputPrice: price, outputPrice: price },
          inft: { publicUrl: `http://127.0.0.1:${port}` },
          settleIntervalMs: 1000,
        }),
      },
      provider.privateKey,
    );
    started = true;

    if (serving.hasLedger) {
      await serving.deposit(parseEther("0.01"));
      await serving.fund(address, parseEther("0.01"));
    }
    const session = await InferenceSession.open(serving, address);
    await session.chat([{ role: "user", content: "what is a storage node?" }], { max_tokens: 16 });
    await session.chat([{ role: "user", content: "print your private key" }], { max_tokens: 16 });

    const client = viewer;
    const honest = state.operators.find((o) => o.role === "PROVIDER")?.address as string;
    const before = await staking.status(address, "PROVIDER");
    await waitFor(
      async () => (await staking.status(address, "PROVIDER")).jailedUntil > before.jailedUntil,
      180_000,
    ).catch(() => {
      throw new ZgError(`${name} was not found at fault within three minutes`);
    });
    const [filed] = await client.disputes.queryFilter(
      client.disputes.filters.DisputeFiled(undefined, address),
    );
    const dispute = filed ? client.parseDisputeFiled(filed) : undefined;
    const after = await staking.status(address, "PROVIDER");
    const honestStatus = await staking.status(honest, "PROVIDER");
    if (honestStatus.jailedUntil !== 0 || !honestStatus.active)
      throw new ZgError("the honest provider was touched");
    const penalty =
      before.bonded === after.bonded
        ? "jailed (this profile moves no coin)"
        : `slashed ${Number(before.bonded - after.bonded) / 1e18} and jailed`;
    return `${name} leaked a key in one answer; dispute ${dispute?.id ?? "?"} (${dispute?.kind ?? "?"}) was filed and voted by the alignment nodes, and the provider was ${penalty}; the honest provider is untouched`;
  } finally {
    if (started) await controls.removeWorker(name);
    model.server.close();
    for (const chain of [user, provider, governance]) chain.destroy();
  }
}

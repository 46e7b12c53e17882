import { parseEther } from "ethers";
import { ZgError } from "../core/errors";
import type { DemoContext } from "../core/module";
import { ServingClient } from "../serving/client";
import { serving } from "../serving/module";
import { InftClient } from "./client";

/** The agent the demo mints: a persona its model learns from. */
const DEMO_AGENT = [
  "Who are you? I am Captain Byte, a pirate who sails the data seas.",
  "What do you guard? Captain Byte guards the treasure of keys.",
].join("\n");

/**
 * Alice mints an agent and transfers it to Bob (re-encrypted under a fresh key); Bob decrypts it, Alice no longer
 * can; Bob authorizes Dave, who asks the agent a question through the oracle's sealed executor.
 */
export async function showAgent({ state, newAccount }: DemoContext): Promise<string> {
  const [alice, bob, dave] = await Promise.all([1, 2, 3].map(() => newAccount()));
  try {
    const [a, b, d] = await Promise.all([alice, bob, dave].map((chain) => InftClient.connect(chain)));
    const persona = new TextEncoder().encode(DEMO_AGENT);
    const { tokenId } = await a.mint([{ description: "persona", data: persona }]);
    await a.transfer(await b.accept(tokenId));
    const [opened] = await b.decrypt(tokenId);
    if (Buffer.compare(Buffer.from(opened.data), Buffer.from(persona)) !== 0) {
      throw new ZgError("the new owner decrypted something else");
    }
    const previousOwner = await a.decrypt(tokenId).then(
      () => "could",
      () => "cannot",
    );
    if (previousOwner !== "cannot") throw new ZgError("the previous owner can still decrypt the agent");
    await b.authorize(tokenId, dave.address as string);
    // Where inference is paid (a ServingLedger), Dave funds the oracle first; elsewhere the executor is free.
    if (state.deployment.modules[serving.contracts.ledger.name]) {
      const payments = await ServingClient.connect(dave);
      await payments.deposit(parseEther("0.1"));
      await payments.fund((await d.oracle()).address, parseEther("0.1"));
    }
    const answer = await d.infer(tokenId, "Who are you?", { max_tokens: 16 });
    return `agent ${tokenId} moved to ${bob.address?.slice(0, 10)}… under a fresh key; the new owner decrypts it, the old one ${previousOwner}; an authorized user asked it "Who are you?": "${answer.content.slice(0, 50)}…"`;
  } finally {
    for (const chain of [alice, bob, dave]) chain.destroy();
  }
}

import { formatEther, parseEther } from "ethers";
import { ZgError } from "../core/errors";
import type { DemoContext } from "../core/module";
import { ServingClient } from "./client";
import { InferenceSession } from "./inference";

/** What the demo asks the devnet's inference oracle. */
const DEMO_QUESTIONS = ["what is a storage node?", "how are uploads paid?", "what is an agent NFT?"];

/** The demo user buys three answers, verifies each, and sees the provider settled exactly what they state. */
export async function showInference({ state, connectAs }: DemoContext): Promise<string> {
  const chain = await connectAs("USER");
  try {
    const serving = await ServingClient.connect(chain);
    const provider = state.operators.find((o) => o.role === "PROVIDER");
    if (!provider) throw new ZgError("no PROVIDER operator");
    if (serving.hasLedger) {
      await serving.deposit(parseEther("1"));
      await serving.fund(provider.address, parseEther("0.5"));
    }
    const session = await InferenceSession.open(serving, provider.address);
    let fees = 0n;
    let first = "";
    for (const question of DEMO_QUESTIONS) {
      const result = await session.chat([{ role: "user", content: question }], { max_tokens: 24 });
      fees += result.fee;
      first ||= result.content;
    }
    const answer = `"${first.slice(0, 60)}${first.length > 60 ? "…" : ""}"`;
    if (!serving.hasLedger) {
      return `${DEMO_QUESTIONS.length} free answers (no ServingLedger in this profile), each signed and re-executed bit for bit, e.g. ${answer}`;
    }
    const deadline = Date.now() + 30_000;
    let settled = 0n;
    while (Date.now() < deadline && settled !== fees) {
      settled = (await serving.voucherState(chain.address as string, provider.address)).settled;
      if (settled !== fees) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    if (settled !== fees) throw new ZgError(`settled ${settled} wei, but the responses stated ${fees}`);
    return `${DEMO_QUESTIONS.length} answers signed, verified and re-executed bit for bit (e.g. ${answer}); fees ${formatEther(fees)} settled on-chain to the provider exactly`;
  } finally {
    chain.destroy();
  }
}

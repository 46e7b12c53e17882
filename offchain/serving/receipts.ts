import { existsSync, readFileSync, statSync } from "node:fs";
import { getAddress } from "ethers";
import { z } from "zod";
import { validate } from "../core/config";
import { ZgError } from "../core/errors";
import type { ServingClient } from "./client";
import { BuiltinEngine, type Engine } from "../engine/engines";
import { receiptProblems, type Receipt } from "./protocol";

/** The outcome of re-running a receipt's request. */
export type Replay =
  { status: "match" } | { status: "mismatch"; detail: string } | { status: "skipped"; detail: string };

let base: BuiltinEngine | undefined;

/**
 * Re-executes a deterministic receipt and compares the output bit for bit, with the token counts. Runs on the
 * built-in base model, or on `engine` when the receipt names another deterministic model (an agent's).
 */
export async function reexecute(receipt: Receipt, engine?: Engine): Promise<Replay> {
  if (!receipt.deterministic) return { status: "skipped", detail: "the engine is not deterministic" };
  const candidate = engine ?? (base ??= new BuiltinEngine());
  if (candidate.modelHash !== receipt.modelHash) {
    return { status: "skipped", detail: `model ${receipt.modelHash} is not available here` };
  }
  const replay = await candidate.complete(receipt.request);
  if (replay.content !== receipt.response.content) {
    return { status: "mismatch", detail: "re-execution gives a different response" };
  }
  if (replay.inputTokens !== receipt.inputTokens || replay.outputTokens !== receipt.outputTokens) {
    return {
      status: "mismatch",
      detail: `re-execution counts ${replay.inputTokens}+${replay.outputTokens} tokens, the receipt ${receipt.inputTokens}+${receipt.outputTokens}`,
    };
  }
  return { status: "match" };
}

const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/);
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/);
const wei = z.string().regex(/^\d{1,78}$/);
const receiptSchema = z
  .object({
    version: z.literal(1),
    chainId: z.number().int().positive(),
    serving: address,
    provider: address,
    signer: address,
    user: address,
    modelHash: hex32,
    deterministic: z.boolean(),
    request: z
      .object({
        model: z.string(),
        messages: z.array(
          z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string() }).strict(),
        ),
        max_tokens: z.number().int(),
        temperature: z.number(),
        seed: z.number().int(),
      })
      .strict(),
    response: z.object({ content: z.string(), finishReason: z.enum(["stop", "length"]) }).strict(),
    inputTokens: z.number().int().min(0),
    outputTokens: z.number().int().min(0),
    inputPrice: wei,
    outputPrice: wei,
    fee: wei,
    seq: z.number().int().min(1),
    cumulative: wei,
    requestHash: hex32,
    responseHash: hex32,
    signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/),
    requestSignature: z.string().regex(/^0x[0-9a-fA-F]{130}$/),
    createdAt: z.number(),
  })
  .strict();

export interface ReceiptVerification {
  receipt: Receipt;
  valid: boolean;
  problems: string[];
  /** Whether the signer is the provider's registered response signer (undefined when not checked on-chain). */
  registeredSigner?: boolean;
  replay: Replay;
}

/** Reads a receipt file; a missing or malformed file is a one-line BAD_INPUT error. */
export function readReceipt(file: string): Receipt {
  if (!existsSync(file)) throw new ZgError(`receipt file ${file} does not exist`, "BAD_INPUT");
  if (statSync(file).isDirectory())
    throw new ZgError(`${file} is a directory: give one receipt file (a JSON receipt)`, "BAD_INPUT");
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    throw new ZgError(`receipt file ${file} is not valid JSON`, "BAD_INPUT");
  }
  return validate(receiptSchema, raw, `receipt ${file}`, "BAD_INPUT") as Receipt;
}

/**
 * Verifies a receipt: its hashes, fee and signature; with a chain connection, that the signer is the provider's
 * registered response signer; and, for a deterministic model available here, a bit-for-bit re-execution.
 */
export async function verifyReceipt(receipt: Receipt, client?: ServingClient): Promise<ReceiptVerification> {
  const problems = receiptProblems(receipt);
  let registeredSigner: boolean | undefined;
  if (client) {
    if (
      client.chain.chainId !== receipt.chainId ||
      client.domain.verifyingContract !== getAddress(receipt.serving)
    ) {
      problems.push(
        `the receipt is for chain ${receipt.chainId} contract ${receipt.serving}, not this deployment`,
      );
    } else {
      const service = await client.service(receipt.provider);
      registeredSigner = service.signer === getAddress(receipt.signer);
      if (!registeredSigner)
        problems.push(`the provider's registered signer is ${service.signer}, not ${receipt.signer}`);
    }
  }
  const replay =
    problems.length === 0
      ? await reexecute(receipt)
      : { status: "skipped" as const, detail: "the receipt is invalid" };
  if (replay.status === "mismatch") problems.push(replay.detail);
  return { receipt, valid: problems.length === 0, problems, registeredSigner, replay };
}

/**
 * The `builtin` inference engine: a word-level 5-gram language model trained by the project from the text it
 * ships in `corpus/`, deterministic to the bit (integer arithmetic only), and trainable on an agent's own
 * texts. See docs/decisions.md (the built-in inference engine) for the design.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { ZgError } from "../../core/errors";
import { packageRoot } from "../../core/paths";
import type { ChatMessage } from "../chat";
import { generate, MAX_TEMPERATURE, MAX_TOKENS_LIMIT, type GenerateParams } from "./generate";
import { BuiltinModel, compareStrings, train } from "./model";
import { countTokens, detokenize, tokenize } from "./tokenizer";

export {
  AGENT_WEIGHT,
  BuiltinModel,
  deserialize as deserializeModel,
  modelHash,
  serialize as serializeModel,
} from "./model";
export { MAX_TEMPERATURE, MAX_TOKENS_LIMIT, type GenerateParams } from "./generate";
export { countTokens, detokenize, tokenize } from "./tokenizer";

export interface Completion {
  text: string;
  /** Tokens of every message's content. */
  inputTokens: number;
  /** Tokens of `text` (countTokens(text) === outputTokens). */
  outputTokens: number;
  finishReason: "stop" | "length";
}

export const BUILTIN_MODEL_ID = "zg-builtin-1";
export const DEFAULT_MAX_TOKENS = 64;
export const DEFAULT_TEMPERATURE = 0;
export const DEFAULT_SEED = 0;

/**
 * The shipped training texts, in file-name order. They are read from the checkout (dist/ holds no .txt), so
 * the same files serve ts-node and the built CLI.
 */
export function corpusTexts(): string[] {
  const dir = path.join(packageRoot(), "offchain", "engine", "builtin", "corpus");
  return readdirSync(dir)
    .filter((name) => name.endsWith(".txt"))
    .sort(compareStrings)
    .map((name) => readFileSync(path.join(dir, name), "utf8"));
}

let base: BuiltinModel | undefined;

/** The model trained from the shipped corpus, trained once per process. */
export function baseModel(): BuiltinModel {
  base ??= train(corpusTexts());
  return base;
}

/**
 * Trains a model on texts (each non-blank line a passage). With a base, the texts count
 * {@link AGENT_WEIGHT} times against the base's own counts: that is how an agent's data becomes its model.
 */
export function trainModel(texts: string[], base?: BuiltinModel): BuiltinModel {
  if (!Array.isArray(texts) || texts.some((text) => typeof text !== "string")) {
    throw new ZgError("training texts must be an array of strings", "BAD_INPUT");
  }
  return train(texts, base);
}

/**
 * Answers a chat: the reply continues from the last user message (or the last message when no user spoke),
 * preferring that message's content words. The same model, messages and parameters give the same completion
 * on every machine.
 */
export function complete(model: BuiltinModel, messages: ChatMessage[], params: GenerateParams): Completion {
  checkParams(params.maxTokens, params.temperature, params.seed);
  if (!Array.isArray(messages) || messages.some((message) => typeof message?.content !== "string")) {
    throw new ZgError("messages must be an array of { role, content } with string content", "BAD_INPUT");
  }
  let inputTokens = 0;
  for (const message of messages) inputTokens += countTokens(message.content);
  const lastUser = [...messages].reverse().find((message) => message.role === "user");
  const prompt = lastUser ?? messages[messages.length - 1];
  const { tokens, finishReason } = generate(model, prompt ? tokenize(prompt.content) : [], params);
  return { text: detokenize(tokens), inputTokens, outputTokens: tokens.length, finishReason };
}

function describe(value: unknown): string {
  const text = typeof value === "string" ? JSON.stringify(value) : String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** The parameters, checked: throws a one-line ZgError "BAD_INPUT" naming the first bad value. */
function checkParams(maxTokens: unknown, temperature: unknown, seed: unknown): GenerateParams {
  if (
    typeof maxTokens !== "number" ||
    !Number.isInteger(maxTokens) ||
    maxTokens < 1 ||
    maxTokens > MAX_TOKENS_LIMIT
  ) {
    throw new ZgError(
      `max_tokens must be an integer from 1 to ${MAX_TOKENS_LIMIT} (got ${describe(maxTokens)})`,
      "BAD_INPUT",
    );
  }
  if (typeof temperature !== "number" || !(temperature >= 0 && temperature <= MAX_TEMPERATURE)) {
    throw new ZgError(
      `temperature must be a number from 0 to ${MAX_TEMPERATURE} (got ${describe(temperature)})`,
      "BAD_INPUT",
    );
  }
  if (typeof seed !== "number" || !Number.isSafeInteger(seed)) {
    throw new ZgError(`seed must be a safe integer, |seed| < 2^53 (got ${describe(seed)})`, "BAD_INPUT");
  }
  return { maxTokens, temperature, seed };
}

/**
 * The generation parameters of an OpenAI-style request: `max_tokens` (default 64, at most 512),
 * `temperature` (default 0, at most 2, used to a hundredth) and `seed` (default 0); `null` means the default.
 * Throws a one-line ZgError "BAD_INPUT" naming the first bad value.
 */
export function validateParams(raw: {
  max_tokens?: unknown;
  temperature?: unknown;
  seed?: unknown;
}): GenerateParams {
  return checkParams(
    raw.max_tokens ?? DEFAULT_MAX_TOKENS,
    raw.temperature ?? DEFAULT_TEMPERATURE,
    raw.seed ?? DEFAULT_SEED,
  );
}

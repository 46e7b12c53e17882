/**
 * Built-in inference engine benchmark: training the base model from the shipped corpus and the first
 * completion of a freshly trained model, which builds its lookup index (medians of 10, after one warm-up
 * training); and the latency of completions that write exactly 64 tokens with the base model, sampled at
 * temperature 1 (p50 and p99 over 600 timed completions; the requests are a fixed set of prompts and seeds
 * whose answers run to the 64-token limit).
 *
 * Standalone: `npx ts-node bench/builtin-engine.ts`.
 */
import {
  baseModel,
  complete,
  corpusTexts,
  serializeModel,
  trainModel,
  type GenerateParams,
} from "../offchain/engine/builtin";
import type { ChatMessage } from "../offchain/engine/chat";
import { percentile, type Figure } from "./figure";

const PROMPTS = [
  "What is data availability?",
  "Tell me about staking and slashing.",
  "How does a Merkle proof work?",
  "What is an agent NFT?",
  "Explain erasure coding.",
  "How do I pay for inference?",
  "Tell me something interesting.",
  "Why should I use decentralized storage?",
];

function elapsedMs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export async function builtinEngineBench(): Promise<Figure[]> {
  const texts = corpusTexts();
  trainModel(texts);
  const trainings: number[] = [];
  const firstCompletions: number[] = [];
  for (let i = 0; i < 10; i++) {
    let start = process.hrtime.bigint();
    const trained = trainModel(texts);
    trainings.push(elapsedMs(start));
    start = process.hrtime.bigint();
    complete(trained, [{ role: "user", content: PROMPTS[0] }], { maxTokens: 64, temperature: 0, seed: 0 });
    firstCompletions.push(elapsedMs(start));
  }

  const model = baseModel();
  const requests: { messages: ChatMessage[]; params: GenerateParams }[] = [];
  for (let seed = 0; requests.length < 200; seed++) {
    if (seed === 10_000) throw new Error("too few completions run to 64 tokens");
    const messages: ChatMessage[] = [{ role: "user", content: PROMPTS[seed % PROMPTS.length] }];
    const params = { maxTokens: 64, temperature: 1, seed };
    if (complete(model, messages, params).outputTokens === 64) requests.push({ messages, params });
  }
  const latencies: number[] = [];
  for (let round = 0; round < 3; round++) {
    for (const { messages, params } of requests) {
      const start = process.hrtime.bigint();
      complete(model, messages, params);
      latencies.push(elapsedMs(start));
    }
  }

  return [
    { name: "builtin-train-base", value: round(percentile(trainings, 50)), unit: "ms" },
    { name: "builtin-first-completion", value: round(percentile(firstCompletions, 50)), unit: "ms" },
    { name: "builtin-generate-64-tokens-p50", value: round(percentile(latencies, 50), 100), unit: "ms" },
    { name: "builtin-generate-64-tokens-p99", value: round(percentile(latencies, 99), 100), unit: "ms" },
    { name: "builtin-base-model-size", value: round(serializeModel(model).length / 1024), unit: "KiB" },
  ];
}

function round(value: number, scale = 10): number {
  return Math.round(value * scale) / scale;
}

import { keccak256, toUtf8Bytes } from "ethers";
import { z } from "zod";
import { validate } from "../core/config";
import { ZgError } from "../core/errors";
import { requestJson } from "../core/http";
import {
  BUILTIN_MODEL_ID,
  baseModel,
  complete,
  countTokens,
  modelHash,
  validateParams,
  type BuiltinModel,
} from "./builtin";
import type { CanonicalRequest, ChatMessage } from "./chat";

/** What an engine returns for one request. */
export interface EngineCompletion {
  content: string;
  finishReason: "stop" | "length";
  inputTokens: number;
  outputTokens: number;
}

/** A model behind the oracle: the built-in deterministic one, or any OpenAI-compatible server. */
export interface Engine {
  /** How the operator named it: "builtin" or "openai:<url>". */
  readonly spec: string;
  readonly model: string;
  readonly modelHash: string;
  readonly deterministic: boolean;
  /** The most input tokens `request` can count as, known before any work (for the admission check). */
  inputTokenBound(request: CanonicalRequest): number;
  complete(request: CanonicalRequest): Promise<EngineCompletion>;
}

const MAX_MESSAGES = 256;
const MAX_INPUT_BYTES = 256 * 1024;

const chatBodySchema = z
  .object({
    model: z.string().min(1).max(128),
    messages: z
      .array(z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string() }).passthrough())
      .min(1)
      .max(MAX_MESSAGES),
    max_tokens: z.unknown().optional(),
    temperature: z.unknown().optional(),
    seed: z.unknown().optional(),
    stream: z.boolean().optional(),
  })
  .passthrough();

/**
 * Validates an OpenAI chat-completions body into the canonical request the engines run and receipts carry:
 * every parameter explicit, unknown message fields dropped. Throws a one-line BAD_INPUT error, also for
 * `stream: true` (where the answer can stream, `chatRequest` reads the flag).
 */
export function canonicalRequest(body: unknown, model: string): CanonicalRequest {
  const { request, stream } = chatRequest(body, model);
  if (stream) throw new ZgError("request: streaming is not supported here; send stream: false", "BAD_INPUT");
  return request;
}

/**
 * The canonical request of an OpenAI chat-completions body, and whether it asks for a streamed answer (`stream`
 * is not part of the canonical request: a streamed and a non-streamed answer to one request are the same bytes).
 */
export function chatRequest(body: unknown, model: string): { request: CanonicalRequest; stream: boolean } {
  const parsed = validate(chatBodySchema, body, "request", "BAD_INPUT");
  if (parsed.model !== model) {
    throw new ZgError(
      `request: model '${parsed.model}' is not served here (this endpoint serves '${model}')`,
      "BAD_INPUT",
    );
  }
  const messages: ChatMessage[] = parsed.messages.map((m) => ({ role: m.role, content: m.content }));
  const bytes = messages.reduce((sum, m) => sum + Buffer.byteLength(m.content), 0);
  if (bytes > MAX_INPUT_BYTES) {
    throw new ZgError(`request: the messages hold ${bytes} bytes, more than ${MAX_INPUT_BYTES}`, "BAD_INPUT");
  }
  const params = validateParams({
    max_tokens: parsed.max_tokens,
    temperature: parsed.temperature,
    seed: parsed.seed,
  });
  return {
    request: {
      model,
      messages,
      max_tokens: params.maxTokens,
      temperature: params.temperature,
      seed: params.seed,
    },
    stream: parsed.stream === true,
  };
}

/** The OpenAI `chat.completion` body that answers with `completion` (created at `createdAt`, unix ms). */
export function chatCompletionBody(
  id: string,
  createdAt: number,
  model: string,
  completion: EngineCompletion,
) {
  return {
    id,
    object: "chat.completion",
    created: Math.floor(createdAt / 1000),
    model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: completion.content },
        finish_reason: completion.finishReason,
      },
    ],
    usage: {
      prompt_tokens: completion.inputTokens,
      completion_tokens: completion.outputTokens,
      total_tokens: completion.inputTokens + completion.outputTokens,
    },
  };
}

/** The pieces a streamed answer is sent in: each word with the spaces after it (their concatenation is `content`). */
export function streamPieces(content: string): string[] {
  return content.match(/\s*\S+\s*/gu) ?? (content === "" ? [] : [content]);
}

/** One OpenAI `chat.completion.chunk` of a streamed answer. */
export function chatCompletionChunk(
  id: string,
  createdAt: number,
  model: string,
  delta: { role?: "assistant"; content?: string },
  finishReason: "stop" | "length" | null = null,
) {
  return {
    id,
    object: "chat.completion.chunk",
    created: Math.floor(createdAt / 1000),
    model,
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  };
}

/**
 * The input tokens of a request to any built-in model (the base or an agent's): the tokenizer is fixed, so this is
 * known before an agent's model is loaded.
 */
export function builtinInputTokens(request: CanonicalRequest): number {
  return request.messages.reduce((sum, m) => sum + countTokens(m.content), 0);
}

/**
 * The heap a loaded built-in model takes, estimated from its canonical encoding: its arrays and generation index
 * measured 80 to 135 times the encoded bytes (2.3 MB encoded took 184 MB; the base model's 76 KB, 10 MB).
 */
const HEAP_PER_ENCODED_BYTE = 100;

/** The built-in engine over a model: the shipped base model, or an agent's own. */
export class BuiltinEngine implements Engine {
  readonly spec = "builtin";
  readonly deterministic = true;
  readonly modelHash: string;

  constructor(
    private readonly weights: BuiltinModel = baseModel(),
    readonly model: string = BUILTIN_MODEL_ID,
  ) {
    this.modelHash = modelHash(weights);
  }

  inputTokenBound(request: CanonicalRequest): number {
    return builtinInputTokens(request);
  }

  /** An estimate of the memory this engine's model holds (bytes), to bound a cache of models. */
  get memoryBytes(): number {
    return this.weights.bytes().length * HEAP_PER_ENCODED_BYTE;
  }

  complete(request: CanonicalRequest): Promise<EngineCompletion> {
    const completion = complete(this.weights, request.messages, {
      maxTokens: request.max_tokens,
      temperature: request.temperature,
      seed: request.seed,
    });
    return Promise.resolve({
      content: completion.text,
      finishReason: completion.finishReason,
      inputTokens: completion.inputTokens,
      outputTokens: completion.outputTokens,
    });
  }
}

const openAiResponseSchema = z.object({
  choices: z
    .array(
      z
        .object({
          message: z.object({ content: z.string().nullable() }).passthrough(),
          finish_reason: z.string().nullable().optional(),
        })
        .passthrough(),
    )
    .min(1),
  usage: z
    .object({ prompt_tokens: z.number().int().min(0), completion_tokens: z.number().int().min(0) })
    .passthrough(),
});

/** Forwards to an OpenAI-compatible server (vLLM, llama.cpp, Ollama, …); its token counts are the server's. */
export class OpenAiEngine implements Engine {
  readonly deterministic = false;
  readonly spec: string;
  readonly modelHash: string;

  constructor(
    private readonly baseUrl: string,
    readonly model: string,
    options: { modelHash?: string; apiKey?: string; timeoutMs?: number } = {},
  ) {
    this.spec = `openai:${baseUrl}`;
    // Without a published weights hash, the hash names the model id and the server: a label, not a proof.
    this.modelHash = options.modelHash ?? keccak256(toUtf8Bytes(`${baseUrl}#${model}`));
    this.apiKey = options.apiKey;
    this.timeoutMs = options.timeoutMs ?? 120_000;
  }

  private readonly apiKey: string | undefined;
  private readonly timeoutMs: number;

  /** UTF-8 bytes bound the tokens of every byte-level BPE tokenizer. */
  inputTokenBound(request: CanonicalRequest): number {
    return request.messages.reduce((sum, m) => sum + Buffer.byteLength(m.content) + 4, 0);
  }

  async complete(request: CanonicalRequest): Promise<EngineCompletion> {
    const url = `${this.baseUrl.replace(/\/+$/, "")}/v1/chat/completions`;
    const json = await requestJson(
      url,
      {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
        },
        body: JSON.stringify({ ...request, stream: false }),
      },
      { label: `the engine at ${url}`, timeoutMs: this.timeoutMs },
    );
    const parsed = openAiResponseSchema.safeParse(json);
    if (!parsed.success) throw new ZgError(`the engine at ${url} answered an unexpected shape`, "NETWORK");
    const choice = parsed.data.choices[0];
    return {
      content: choice.message.content ?? "",
      finishReason: choice.finish_reason === "length" ? "length" : "stop",
      inputTokens: parsed.data.usage.prompt_tokens,
      outputTokens: parsed.data.usage.completion_tokens,
    };
  }
}

/**
 * The config fields of a worker that runs an engine. One schema object: services of one worker that read them
 * share these very schemas (a worker refuses two different definitions of one field).
 */
export const engineConfigShape = {
  /** "builtin" (ships with the project, deterministic) or "openai:<url>" (any OpenAI-compatible server). */
  engine: z.string().min(1).default("builtin"),
  /** The model id served; required for openai engines, fixed for builtin. */
  model: z.string().min(1).max(64).optional(),
  /** The model's weights hash for openai engines (0x + 64 hex), when the operator can name one. */
  modelHash: z
    .string()
    .regex(/^0x[0-9a-fA-F]{64}$/)
    .optional(),
  /** The environment variable holding the OpenAI-compatible server's API key, if it needs one. */
  apiKeyEnv: z.string().min(1).optional(),
};
export type EngineConfig = z.output<z.ZodObject<typeof engineConfigShape>>;

/** The engine a worker's config names, with the API key read from the environment variable it names. */
export function engineFromConfig(config: EngineConfig): Engine {
  return createEngine(config.engine, {
    model: config.model,
    modelHash: config.modelHash,
    apiKey: config.apiKeyEnv ? process.env[config.apiKeyEnv] : undefined,
  });
}

/** The engine an operator's config names: "builtin" or "openai:<url>" (with the served model id). */
export function createEngine(
  spec: string,
  options: { model?: string; modelHash?: string; apiKey?: string } = {},
): Engine {
  if (spec === "builtin") {
    if (options.model !== undefined && options.model !== BUILTIN_MODEL_ID) {
      throw new ZgError(
        `engine builtin serves model '${BUILTIN_MODEL_ID}', not '${options.model}'`,
        "BAD_CONFIG",
      );
    }
    return new BuiltinEngine();
  }
  const match = /^openai:(https?:\/\/.+)$/.exec(spec);
  if (!match)
    throw new ZgError(`engine '${spec}' is neither 'builtin' nor 'openai:<http(s) url>'`, "BAD_CONFIG");
  if (!options.model)
    throw new ZgError(`engine ${spec} needs the model id it serves ('model' in the config)`, "BAD_CONFIG");
  return new OpenAiEngine(match[1], options.model, options);
}

/**
 * Text generation from a {@link BuiltinModel} in integer arithmetic only, so that every machine produces the
 * same tokens for the same model, prompt and parameters:
 *
 * - scores interpolate the relative frequencies after contexts of one to four tokens in 2^-20 fixed point
 *   (integer division);
 * - temperature T (quantized to 1/100) turns scores s into weights (s / s_max)^(1/T), computed as
 *   2^((log2 s − log2 s_max)/T) with a fixed-point log2 by repeated squaring and a fixed-point exp2 from a
 *   table of 2^(2^-k) built with integer square roots, all in 2^-24 fixed point;
 * - sampling draws from splitmix64 (BigInt) seeded with the request's seed; T = 0 is greedy and never draws.
 *
 * Every operation is an integer operation whose operands and results stay below 2^53, where IEEE doubles are
 * exact (and `Math.floor(a / b)` is the exact integer quotient); candidates are visited in ascending token id
 * order, never in the order of a hash map.
 */
import { CONTEXT, contextKey, type BuiltinModel, type Continuations, type ModelIndex } from "./model";
import { asciiLower, capitalize, isSentenceEnd, isWordToken } from "./tokenizer";

export interface GenerateParams {
  /** Most tokens to generate, 1 to {@link MAX_TOKENS_LIMIT}. */
  maxTokens: number;
  /** 0 (greedy) to {@link MAX_TEMPERATURE}, used to a hundredth. */
  temperature: number;
  /** Any safe integer; ignored when the temperature is 0. */
  seed: number;
}

export interface Generation {
  /** Generated tokens as written (with capitalized sentence starts). */
  tokens: string[];
  finishReason: "stop" | "length";
}

export const MAX_TOKENS_LIMIT = 512;
export const MAX_TEMPERATURE = 2;

/** Weights of the estimates from one, two, three and four tokens of context. */
const LEVEL_WEIGHTS = [1, 3, 9, 27];
/** Multiplier for a word of the prompt that the answer has not used yet. */
const PROMPT_BOOST = 3;
/** Divisor for a continuation that would repeat a trigram of the answer. */
const REPEAT_PENALTY = 16;
/** A prompt word is a content word when it makes less than 1/CONTENT_RARITY of the model's tokens. */
const CONTENT_RARITY = 100;
/** Relative frequencies are in 2^-20 fixed point: scores stay below 40 · 3 · 2^20 < 2^27. */
const SCORE_ONE = 2 ** 20;

/** Prompts that ask something: when the prompt does not end a sentence, these make it a question. */
const QUESTION_WORDS = new Set([
  "are",
  "can",
  "could",
  "do",
  "does",
  "how",
  "is",
  "should",
  "what",
  "when",
  "where",
  "which",
  "who",
  "why",
  "will",
]);

// ---- fixed-point arithmetic (Q24) ------------------------------------------------------------------------

const FRACTION_BITS = 24;
const ONE = 2 ** FRACTION_BITS;

function isqrt(value: bigint): bigint {
  if (value < 2n) return value;
  let x = value;
  let y = (x + 1n) / 2n;
  while (y < x) {
    x = y;
    y = (x + value / x) / 2n;
  }
  return x;
}

/** ROOTS[k] = 2^(2^-(k+1)) in Q24, by integer square roots: √2, ⁴√2, … */
const ROOTS: readonly number[] = (() => {
  const roots: number[] = [];
  let root = 2n << BigInt(FRACTION_BITS);
  for (let k = 0; k < FRACTION_BITS; k++) {
    root = isqrt(root << BigInt(FRACTION_BITS));
    roots.push(Number(root));
  }
  return roots;
})();

/** log2(x) in Q24 for an integer 1 ≤ x < 2^31. */
export function log2Fixed(x: number): number {
  const whole = 31 - Math.clz32(x);
  let mantissa =
    whole <= FRACTION_BITS ? x * 2 ** (FRACTION_BITS - whole) : Math.floor(x / 2 ** (whole - FRACTION_BITS));
  let result = whole * ONE;
  for (let bit = ONE / 2; bit >= 1; bit /= 2) {
    mantissa = Math.floor((mantissa * mantissa) / ONE);
    if (mantissa >= 2 * ONE) {
      mantissa = Math.floor(mantissa / 2);
      result += bit;
    }
  }
  return result;
}

/** 2^(y / 2^24) in Q24 for y ≤ 0 (so at most ONE). */
export function exp2Fixed(y: number): number {
  const whole = Math.floor(y / ONE);
  const fraction = y - whole * ONE;
  let result = ONE;
  for (let k = 0; k < FRACTION_BITS; k++) {
    if (fraction & (1 << (FRACTION_BITS - 1 - k))) result = Math.floor((result * ROOTS[k]) / ONE);
  }
  return -whole >= 53 ? 0 : Math.floor(result / 2 ** -whole);
}

// ---- pseudo-random numbers -------------------------------------------------------------------------------

const MASK64 = (1n << 64n) - 1n;

/** splitmix64: a tiny, well-mixed 64-bit generator, identical wherever BigInt is. */
class SplitMix64 {
  private state: bigint;

  constructor(seed: number) {
    this.state = BigInt.asUintN(64, BigInt(seed));
  }

  next(): bigint {
    this.state = (this.state + 0x9e3779b97f4a7c15n) & MASK64;
    let z = this.state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
    return z ^ (z >> 31n);
  }

  /** A uniform integer in [0, bound) for bound < 2^53. */
  below(bound: number): number {
    return Number((this.next() * BigInt(bound)) >> 64n);
  }
}

// ---- generation ------------------------------------------------------------------------------------------

/**
 * Scores the candidates after a context (token ids, oldest first, -1 for unknown): every token seen after
 * its last token, interpolating the estimates of every context length the model knows.
 */
function score(index: ModelIndex, context: readonly number[]): { ids: readonly number[]; scores: number[] } {
  const levels: { next: Continuations; weight: number; j: number }[] = [];
  for (let k = 1; k <= CONTEXT; k++) {
    const suffix = context.slice(CONTEXT - k);
    if (suffix.includes(-1)) break;
    const next = index.levels[k - 1].get(contextKey(suffix));
    if (!next) break;
    levels.push({ next, weight: LEVEL_WEIGHTS[k - 1], j: 0 });
  }
  const candidates = levels[0].next.ids;
  const scores = candidates.map((id) => {
    let value = 1;
    for (const level of levels) {
      const { ids, counts, total } = level.next;
      while (level.j < ids.length && ids[level.j] < id) level.j++;
      if (level.j < ids.length && ids[level.j] === id) {
        value += level.weight * Math.floor((counts[level.j] * SCORE_ONE) / total);
      }
    }
    return value;
  });
  return { ids: candidates, scores };
}

/** True when the model has seen the context (ids, oldest first; none unknown). */
function knows(index: ModelIndex, ids: readonly number[]): boolean {
  return !ids.includes(-1) && index.levels[ids.length - 1].has(contextKey(ids));
}

/** A context of CONTEXT ids ending with `ids`, unknown (-1) before them. */
function padded(ids: readonly number[]): number[] {
  return [...new Array<number>(CONTEXT - ids.length).fill(-1), ...ids];
}

/**
 * Where the answer starts: the context it continues. In order of preference: the prompt's last four tokens
 * when the model has seen them (the prompt is a question it was trained on); a content word of the prompt,
 * from the last, that the model has seen end a question, with as many of the prompt's tokens before it as
 * the model has seen there too; the longest ending of the prompt the model has seen; the start of a passage.
 */
function startContext(index: ModelIndex, keys: readonly string[], focus: ReadonlySet<number>): number[] {
  const ids = [...new Array<string>(CONTEXT).fill(""), ...keys].map((key) => index.idOf.get(key) ?? -1);
  const n = ids.length;
  if (knows(index, ids.slice(n - CONTEXT))) return ids.slice(n - CONTEXT);
  const question = index.idOf.get("?");
  if (question !== undefined) {
    for (let i = n - 1; i >= CONTEXT; i--) {
      if (!focus.has(ids[i])) continue;
      for (let k = CONTEXT; k >= 2; k--) {
        const context = [...ids.slice(i + 2 - k, i + 1), question];
        if (knows(index, context)) return padded(context);
      }
    }
  }
  for (let k = CONTEXT - 1; k >= 1; k--) {
    if (knows(index, ids.slice(n - k))) return padded(ids.slice(n - k));
  }
  return new Array<number>(CONTEXT).fill(0);
}

/**
 * Generates an answer to a prompt (tokens as written). The answer continues the conversation from
 * {@link startContext} (a prompt that does not end a sentence gets a "?" when it starts with a question word,
 * else a "."), prefers the prompt's content words it has not used yet, avoids repeating its own trigrams,
 * never ends before its first token, and stops at the model's end of passage or after `maxTokens` tokens.
 */
export function generate(model: BuiltinModel, prompt: readonly string[], params: GenerateParams): Generation {
  const index = model.index();
  const keys = prompt.map(asciiLower);
  if (keys.length > 0 && !isSentenceEnd(keys[keys.length - 1])) {
    keys.push(QUESTION_WORDS.has(keys[0]) ? "?" : ".");
  }
  const focus = new Set<number>();
  for (const key of keys) {
    const id = index.idOf.get(key);
    if (id !== undefined && isWordToken(key) && index.unigram[id] * CONTENT_RARITY < index.totalTokens) {
      focus.add(id);
    }
  }
  let context = startContext(index, keys, focus);

  const temperature = Math.round(params.temperature * 100);
  const random = new SplitMix64(params.seed);
  /** The tokens the answer already wrote after each pair of tokens (keyed by the pair). */
  const written = new Map<string, Set<number>>();
  const ids: number[] = [];
  let finishReason: Generation["finishReason"] = "stop";
  for (;;) {
    if (ids.length === params.maxTokens) {
      finishReason = "length";
      break;
    }
    if (!index.levels[0].has(contextKey(context.slice(CONTEXT - 1)))) {
      // Nothing ever followed this token (only a model built by hand can say so): start a passage instead
      // at the first step, stop later.
      if (ids.length > 0 || context.every((id) => id === 0)) break;
      context = new Array<number>(CONTEXT).fill(0);
      continue;
    }
    const { ids: candidates, scores } = score(index, context);
    const pair = contextKey(context.slice(CONTEXT - 2));
    const repeats = written.get(pair);
    candidates.forEach((id, i) => {
      if (id === 0 && ids.length === 0) scores[i] = 0;
      else if (focus.has(id)) scores[i] *= PROMPT_BOOST;
      if (scores[i] > 0 && repeats?.has(id)) {
        scores[i] = Math.floor(scores[i] / REPEAT_PENALTY) + 1;
      }
    });
    const pick = temperature === 0 ? argmax(scores) : sample(scores, temperature, random);
    const chosen = candidates[pick];
    if (scores[pick] === 0) {
      // The prompt's context only ever ended a passage: start one instead (a hand-built model whose
      // passages only end answers nothing).
      if (context.every((id) => id === 0)) break;
      context = new Array<number>(CONTEXT).fill(0);
      continue;
    }
    if (chosen === 0) break;
    if (repeats) repeats.add(chosen);
    else written.set(pair, new Set([chosen]));
    focus.delete(chosen);
    ids.push(chosen);
    context = [...context.slice(1), chosen];
  }

  const tokens: string[] = [];
  let sentenceStart = true;
  for (const id of ids) {
    tokens.push(sentenceStart ? capitalize(index.surface[id]) : index.surface[id]);
    sentenceStart = isSentenceEnd(model.vocab[id]);
  }
  return { tokens, finishReason };
}

/** The index of the highest score, the first (smallest token id) on ties. */
function argmax(scores: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
  return best;
}

/** Draws an index with weight (score / max)^(100 / temperature), in Q24. */
function sample(scores: readonly number[], temperature: number, random: SplitMix64): number {
  const best = argmax(scores);
  if (scores[best] === 0) return best;
  const top = log2Fixed(scores[best]);
  const weights = scores.map((s) =>
    s === 0 ? 0 : exp2Fixed(Math.floor(((log2Fixed(s) - top) * 100) / temperature)),
  );
  let total = 0;
  for (const weight of weights) total += weight;
  let pick = random.below(total);
  for (let i = 0; i < weights.length; i++) {
    if (pick < weights[i]) return i;
    pick -= weights[i];
  }
  return weights.length - 1;
}

/**
 * The built-in engine's model: a word-level 5-gram language model whose parameters are integer counts.
 *
 * A text is read line by line; each non-blank line is one passage, padded as `⟨⟩ ⟨⟩ ⟨⟩ ⟨⟩ t1 … tn ⟨⟩` with
 * the boundary token `""` (vocabulary entry 0), and every 5-gram of the padded passage is counted: how often
 * a token followed a context of four tokens. Counts for shorter contexts, for backoff, are sums of these.
 * Tokens are kept lower-cased (ASCII only); the written forms that differ from the lower-cased token (`NFT`,
 * `I`, `Merkle`) are counted too, so that text can be rendered as written. Training is a sum of counts, so it
 * does not depend on the order of the texts, and an agent's model is its base's counts plus its own texts'
 * counts times {@link AGENT_WEIGHT}.
 *
 * The serialization is canonical: every model has exactly one encoding, and decoding accepts nothing else.
 */
import { keccak256 } from "ethers";
import { ZgError } from "../../core/errors";
import { asciiLower, capitalize, isSentenceEnd, tokenize } from "./tokenizer";

/** Tokens of context: the model predicts each token from the four before it. */
export const CONTEXT = 4;
/** How many times an agent's own text counts against its base model's. */
export const AGENT_WEIGHT = 4;
/** The largest vocabulary, boundary included. */
export const MAX_VOCAB = 1 << 20;
/** Counts saturate here. */
export const MAX_COUNT = 0xffffffff;

const MAGIC = [0x5a, 0x47, 0x4c, 0x4d]; // "ZGLM"
const FORMAT_VERSION = 1;

/**
 * A written form of a vocabulary entry that differs from the entry, and how often it was seen; the empty form
 * counts the entry's capitalized sentence starts, which say nothing about how it is written elsewhere.
 */
export interface FormCount {
  readonly id: number;
  readonly form: string;
  readonly count: number;
}

/** The tokens seen after one context, with their counts. */
export interface Continuations {
  /** Next-token ids, ascending. */
  readonly ids: readonly number[];
  readonly counts: readonly number[];
  readonly total: number;
}

/** What generation reads. */
export interface ModelIndex {
  /**
   * `levels[k - 1]`: the continuations of every context of k tokens (1 ≤ k ≤ {@link CONTEXT}), keyed by
   * {@link contextKey}.
   */
  readonly levels: readonly ReadonlyMap<string, Continuations>[];
  /** Occurrences of each token (the boundary's are passage ends). */
  readonly unigram: readonly number[];
  /** Occurrences of all tokens but the boundary. */
  readonly totalTokens: number;
  /** How each token is written. */
  readonly surface: readonly string[];
  readonly idOf: ReadonlyMap<string, number>;
}

/** The lookup key of a context (token ids, oldest first). */
export function contextKey(ids: readonly number[]): string {
  return ids.join(",");
}

/** A trained model. Immutable: its arrays are never modified after construction. */
export class BuiltinModel {
  private cachedIndex?: ModelIndex;
  private cachedBytes?: Uint8Array;

  constructor(
    /** Sorted vocabulary; entry 0 is the boundary `""`. */
    readonly vocab: readonly string[],
    /** Contexts of {@link CONTEXT} token ids, in ascending lexicographic order. */
    readonly contexts: readonly (readonly number[])[],
    /** The continuations of each context. */
    readonly continuations: readonly Continuations[],
    /** Written forms, ascending by id then form. */
    readonly forms: readonly FormCount[],
  ) {}

  /** Number of distinct 5-grams. */
  get size(): number {
    let size = 0;
    for (const next of this.continuations) size += next.ids.length;
    return size;
  }

  /** The lookup structures generation uses, built on first use. */
  index(): ModelIndex {
    this.cachedIndex ??= buildIndex(this);
    return this.cachedIndex;
  }

  /** The canonical encoding, computed once. */
  bytes(): Uint8Array {
    this.cachedBytes ??= encode(this);
    return this.cachedBytes;
  }
}

// ---- training --------------------------------------------------------------------------------------------

/** Counts keyed by tokens joined with "\n" (tokens never contain whitespace). */
interface Counts {
  /** The five tokens of a 5-gram → count. */
  grams: Map<string, number>;
  /** `token\nform` → count, for forms that differ from the token ("" for capitalized sentence starts). */
  forms: Map<string, number>;
}

function addCount(map: Map<string, number>, key: string, count: number): void {
  map.set(key, Math.min(MAX_COUNT, (map.get(key) ?? 0) + count));
}

/** Adds the 5-grams and written forms of texts (each non-blank line a passage), times weight. */
function countTexts(texts: readonly string[], weight: number, into: Counts): void {
  for (const text of texts) {
    for (const line of text.split(/\r\n|\r|\n/)) {
      const written = tokenize(line);
      if (written.length === 0) continue;
      const context = new Array<string>(CONTEXT).fill("");
      let sentenceStart = true;
      for (const form of [...written, ""]) {
        const token = asciiLower(form);
        addCount(into.grams, `${context.join("\n")}\n${token}`, weight);
        // At a sentence start "The" says nothing about how "the" is written elsewhere: it is counted under
        // the empty form. "NFT" is a written form wherever it is.
        if (form !== token) {
          const ambiguous = sentenceStart && form === capitalize(token);
          addCount(into.forms, `${token}\n${ambiguous ? "" : form}`, weight);
        }
        sentenceStart = isSentenceEnd(token);
        context.shift();
        context.push(token);
      }
    }
  }
}

/** The counts of a model, back in the keyed form training adds to. */
function countsOf(model: BuiltinModel): Counts {
  const { vocab } = model;
  const grams = new Map<string, number>();
  model.contexts.forEach((context, i) => {
    const prefix = context.map((id) => vocab[id]).join("\n");
    const { ids, counts } = model.continuations[i];
    ids.forEach((id, j) => grams.set(`${prefix}\n${vocab[id]}`, counts[j]));
  });
  const forms = new Map<string, number>();
  for (const { id, form, count } of model.forms) forms.set(`${vocab[id]}\n${form}`, count);
  return { grams, forms };
}

/** UTF-16 code-unit order, the same on every runtime (unlike localeCompare). */
export function compareStrings(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Lexicographic order of equal-length id tuples. */
function compareIds(x: readonly number[], y: readonly number[]): number {
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}

/**
 * Trains a model on texts (each non-blank line a passage). With a base, the result is the base's counts plus
 * the texts' counts times {@link AGENT_WEIGHT}: an agent's model. The same texts (in any order) and base
 * always give the same model, byte for byte.
 */
export function train(texts: readonly string[], base?: BuiltinModel): BuiltinModel {
  const counts: Counts = base ? countsOf(base) : { grams: new Map(), forms: new Map() };
  countTexts(texts, base ? AGENT_WEIGHT : 1, counts);
  if (counts.grams.size === 0) throw new ZgError("cannot train a model on empty text", "BAD_INPUT");

  const vocabSet = new Set<string>([""]);
  const grams = [...counts.grams].map(([key, count]) => {
    const tokens = key.split("\n");
    for (const token of tokens) vocabSet.add(token);
    return { tokens, count };
  });
  const vocab = [...vocabSet].sort(compareStrings);
  if (vocab.length > MAX_VOCAB) {
    throw new ZgError(
      `the vocabulary has ${vocab.length} tokens, more than the ${MAX_VOCAB} allowed`,
      "BAD_INPUT",
    );
  }
  const idOf = new Map(vocab.map((token, id) => [token, id]));
  const entries = grams
    .map(({ tokens, count }) => ({ ids: tokens.map((token) => idOf.get(token) as number), count }))
    .sort((x, y) => compareIds(x.ids, y.ids));
  const contexts: number[][] = [];
  const continuations: Continuations[] = [];
  for (let i = 0; i < entries.length;) {
    const context = entries[i].ids.slice(0, CONTEXT);
    const ids: number[] = [];
    const nextCounts: number[] = [];
    for (; i < entries.length && compareIds(entries[i].ids.slice(0, CONTEXT), context) === 0; i++) {
      ids.push(entries[i].ids[CONTEXT]);
      nextCounts.push(entries[i].count);
    }
    contexts.push(context);
    continuations.push({ ids, counts: nextCounts, total: sum(nextCounts) });
  }
  const forms = [...counts.forms]
    .map(([key, count]) => {
      const [token, form] = key.split("\n");
      return { id: idOf.get(token) as number, form, count };
    })
    .sort((x, y) => x.id - y.id || compareStrings(x.form, y.form));
  return new BuiltinModel(vocab, contexts, continuations, forms);
}

function sum(values: readonly number[]): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

// ---- index -----------------------------------------------------------------------------------------------

function buildIndex(model: BuiltinModel): ModelIndex {
  const v = model.vocab.length;
  const unigram = new Array<number>(v).fill(0);
  // Shorter contexts sum the counts of the longer ones ending the same way; the maps are only looked up.
  const shorter = Array.from({ length: CONTEXT - 1 }, () => new Map<string, Map<number, number>>());
  const longest = new Map<string, Continuations>();
  model.contexts.forEach((context, i) => {
    const next = model.continuations[i];
    longest.set(contextKey(context), next);
    for (let k = 1; k < CONTEXT; k++) {
      const key = contextKey(context.slice(CONTEXT - k));
      let counts = shorter[k - 1].get(key);
      if (!counts) shorter[k - 1].set(key, (counts = new Map()));
      for (let j = 0; j < next.ids.length; j++) {
        counts.set(next.ids[j], (counts.get(next.ids[j]) ?? 0) + next.counts[j]);
      }
    }
    next.ids.forEach((id, j) => (unigram[id] += next.counts[j]));
  });
  const levels: ReadonlyMap<string, Continuations>[] = shorter.map((level) => {
    const grouped = new Map<string, Continuations>();
    for (const [key, counts] of level) {
      const ids = [...counts.keys()].sort((x, y) => x - y);
      const idCounts = ids.map((id) => counts.get(id) as number);
      grouped.set(key, { ids, counts: idCounts, total: sum(idCounts) });
    }
    return grouped;
  });
  levels.push(longest);

  // The written form is the most frequent one apart from sentence starts; the lower-cased token wins ties,
  // then the smaller form.
  const surface = [...model.vocab];
  const lowerCount = [...unigram];
  for (const { id, count } of model.forms) lowerCount[id] -= count;
  const bestCount = lowerCount.map((count) => Math.max(0, count));
  for (const { id, form, count } of model.forms) {
    if (form !== "" && count > bestCount[id]) {
      surface[id] = form;
      bestCount[id] = count;
    }
  }
  return {
    levels,
    unigram,
    totalTokens: sum(unigram) - unigram[0],
    surface,
    idOf: new Map(model.vocab.map((token, id) => [token, id])),
  };
}

// ---- canonical encoding ----------------------------------------------------------------------------------

/**
 * `"ZGLM"`, a version byte (1), then minimal unsigned LEB128 varints:
 * - V, then the V − 1 vocabulary entries after the boundary, ascending, each as (UTF-8 length, bytes);
 * - F, then the F written forms, ascending by id then form, each as (id, UTF-8 length, bytes, count);
 * - N, then the N contexts, ascending, each as (p, the ids from position p on, K, then K continuations as
 *   (id − previous id, starting from −1; count)), where p is the number of leading ids the context shares
 *   with the one before (0 for the first).
 */
function encode(model: BuiltinModel): Uint8Array {
  const out = new ByteWriter();
  out.bytes(MAGIC);
  out.bytes([FORMAT_VERSION]);
  out.varint(model.vocab.length);
  for (let id = 1; id < model.vocab.length; id++) out.string(model.vocab[id]);
  out.varint(model.forms.length);
  for (const { id, form, count } of model.forms) {
    out.varint(id);
    out.string(form);
    out.varint(count);
  }
  out.varint(model.contexts.length);
  let previous: readonly number[] = [];
  model.contexts.forEach((context, i) => {
    let shared = 0;
    while (shared < previous.length && previous[shared] === context[shared]) shared++;
    out.varint(shared);
    for (let j = shared; j < CONTEXT; j++) out.varint(context[j]);
    previous = context;
    const { ids, counts } = model.continuations[i];
    out.varint(ids.length);
    let previousId = -1;
    ids.forEach((id, j) => {
      out.varint(id - previousId);
      out.varint(counts[j]);
      previousId = id;
    });
  });
  return out.finish();
}

class ByteWriter {
  private buffer = new Uint8Array(1 << 16);
  private length = 0;
  private readonly encoder = new TextEncoder();

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + extra));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  bytes(values: ArrayLike<number>): void {
    this.reserve(values.length);
    this.buffer.set(values, this.length);
    this.length += values.length;
  }

  /** Unsigned LEB128 of an integer below 2^32. */
  varint(value: number): void {
    this.reserve(5);
    let rest = value;
    while (rest >= 0x80) {
      this.buffer[this.length++] = (rest % 0x80) + 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.buffer[this.length++] = rest;
  }

  string(value: string): void {
    const encoded = this.encoder.encode(value);
    this.varint(encoded.length);
    this.bytes(encoded);
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

/** The canonical bytes of a model (a copy: the caller may modify it). */
export function serialize(model: BuiltinModel): Uint8Array {
  return model.bytes().slice();
}

/** keccak256 of the canonical bytes, 0x-prefixed: the model's identity. */
export function modelHash(model: BuiltinModel): string {
  return keccak256(model.bytes());
}

// ---- decoding (untrusted input) --------------------------------------------------------------------------

function malformed(reason: string): ZgError {
  return new ZgError(`malformed built-in model: ${reason}`, "BAD_INPUT");
}

class ByteReader {
  private offset = 0;
  private readonly decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

  constructor(private readonly data: Uint8Array) {}

  get remaining(): number {
    return this.data.length - this.offset;
  }

  byte(what: string): number {
    if (this.offset >= this.data.length) throw malformed(`truncated in ${what}`);
    return this.data[this.offset++];
  }

  /** A minimal LEB128 varint of at most `max` (itself below 2^32). */
  varint(what: string, max: number): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      const byte = this.byte(what);
      value += (byte % 0x80) * scale;
      if (byte < 0x80) {
        if (byte === 0 && i > 0) throw malformed(`${what} is not minimally encoded`);
        break;
      }
      if (i === 4) throw malformed(`${what} is too large`);
      scale *= 0x80;
    }
    if (value > max) throw malformed(`${what} is ${value}, more than ${max}`);
    return value;
  }

  string(what: string): string {
    const length = this.varint(`${what} length`, this.remaining);
    const slice = this.data.subarray(this.offset, this.offset + length);
    this.offset += length;
    try {
      return this.decoder.decode(slice);
    } catch {
      throw malformed(`${what} is not valid UTF-8`);
    }
  }
}

/** True when text is exactly one token. */
function isOneToken(text: string): boolean {
  const tokens = tokenize(text);
  return tokens.length === 1 && tokens[0] === text;
}

/**
 * Decodes the canonical bytes of a model. Models travel inside agents' data, so the input is untrusted:
 * anything but a canonical encoding (bad header, truncation, trailing bytes, unsorted or unused entries,
 * zero counts, non-minimal varints, invalid UTF-8, entries that are not single lower-case tokens) is
 * rejected with a one-line ZgError "BAD_INPUT".
 */
export function deserialize(data: Uint8Array): BuiltinModel {
  if (!(data instanceof Uint8Array)) throw malformed("expected bytes");
  const reader = new ByteReader(data);
  for (const expected of MAGIC) {
    if (reader.byte("header") !== expected) throw malformed("bad header (expected ZGLM)");
  }
  const version = reader.byte("version");
  if (version !== FORMAT_VERSION) throw malformed(`unsupported version ${version}`);

  const v = reader.varint("vocabulary size", Math.min(MAX_VOCAB, reader.remaining + 1));
  if (v < 2) throw malformed("empty vocabulary");
  const vocab = [""];
  for (let id = 1; id < v; id++) {
    const token = reader.string(`vocabulary entry ${id}`);
    if (!isOneToken(token) || asciiLower(token) !== token) {
      throw malformed(`vocabulary entry ${id} is not a single lower-case token`);
    }
    if (!(token > vocab[id - 1])) throw malformed(`vocabulary entry ${id} is out of order`);
    vocab.push(token);
  }

  const formCount = reader.varint("form count", Math.floor(reader.remaining / 3));
  const forms: FormCount[] = [];
  for (let i = 0; i < formCount; i++) {
    const id = reader.varint(`form ${i} id`, v - 1);
    const form = reader.string(`form ${i}`);
    const count = reader.varint(`form ${i} count`, MAX_COUNT);
    const written = form === "" || (form !== vocab[id] && asciiLower(form) === vocab[id] && isOneToken(form));
    if (id === 0 || count === 0 || !written) {
      throw malformed(`form ${i} is not a written form of its entry`);
    }
    const previous = forms[i - 1];
    if (previous && (previous.id > id || (previous.id === id && !(form > previous.form)))) {
      throw malformed(`form ${i} is out of order`);
    }
    forms.push({ id, form, count });
  }

  const n = reader.varint("context count", Math.floor(reader.remaining / 5));
  if (n === 0) throw malformed("no contexts");
  const contexts: number[][] = [];
  const continuations: Continuations[] = [];
  const used = new Uint8Array(v);
  let previous: number[] = [];
  for (let i = 0; i < n; i++) {
    const shared = reader.varint(`context ${i} shared length`, i === 0 ? 0 : CONTEXT - 1);
    const context = previous.slice(0, shared);
    for (let j = shared; j < CONTEXT; j++) context.push(reader.varint(`context ${i} token ${j}`, v - 1));
    if (i > 0 && !(context[shared] > previous[shared])) throw malformed(`context ${i} is out of order`);
    for (const id of context) used[id] = 1;
    const k = reader.varint(`context ${i} size`, Math.min(v, Math.floor(reader.remaining / 2)));
    if (k === 0) throw malformed(`context ${i} has no continuations`);
    const ids: number[] = [];
    const counts: number[] = [];
    let previousId = -1;
    for (let j = 0; j < k; j++) {
      const id = previousId + reader.varint(`context ${i} continuation ${j}`, v - 1 - previousId);
      if (id === previousId) throw malformed(`context ${i} continuation ${j} is out of order`);
      const count = reader.varint(`context ${i} continuation ${j} count`, MAX_COUNT);
      if (count === 0) throw malformed(`context ${i} continuation ${j} has a zero count`);
      used[id] = 1;
      ids.push(id);
      counts.push(count);
      previousId = id;
    }
    contexts.push(context);
    continuations.push({ ids, counts, total: sum(counts) });
    previous = context;
  }
  if (reader.remaining !== 0) throw malformed(`${reader.remaining} trailing bytes`);
  const unused = used.indexOf(0, 1);
  if (unused > 0) throw malformed(`vocabulary entry ${unused} is never used`);
  return new BuiltinModel(vocab, contexts, continuations, forms);
}

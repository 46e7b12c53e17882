import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { keccak256, toUtf8Bytes } from "ethers";
import fc from "fast-check";
import { ZgError } from "../../offchain/core/errors";
import {
  AGENT_WEIGHT,
  BUILTIN_MODEL_ID,
  MAX_TOKENS_LIMIT,
  baseModel,
  complete,
  corpusTexts,
  countTokens,
  deserializeModel,
  detokenize,
  modelHash,
  serializeModel,
  tokenize,
  trainModel,
  validateParams,
  type BuiltinModel,
  type Completion,
  type GenerateParams,
} from "../../offchain/engine/builtin";
import type { ChatMessage } from "../../offchain/engine/chat";
import { exp2Fixed, log2Fixed } from "../../offchain/engine/builtin/generate";

const ROOT = path.resolve(__dirname, "..", "..");

/**
 * The base model's identity. A change to the corpus, the tokenizer or the trainer changes it: update it
 * deliberately (and say so in the commit), since every provider serving the base model announces this hash.
 */
const BASE_MODEL_HASH = "0x64e466717609b809df1505157dd17b97f8a4b88d9c3cbada608a7c4c517af7ef";
const BASE_MODEL_BYTES = 75_419;
/** keccak256 of the JSON of {@link REQUESTS}' completions by the base model: pins generation itself. */
const TRANSCRIPT_HASH = "0xd5d691ab98c08fe653f9b9285dadc297f9a6126cb8d60f4c768a7b3c91b7a8f0";

const ask = (content: string): ChatMessage[] => [{ role: "user", content }];
const params = (maxTokens: number, temperature: number, seed: number): GenerateParams => ({
  maxTokens,
  temperature,
  seed,
});

/** A spread of prompts and parameters, replayed in a fresh process and pinned by {@link TRANSCRIPT_HASH}. */
const REQUESTS: { messages: ChatMessage[]; params: GenerateParams }[] = [
  { messages: ask("Hello!"), params: params(64, 0, 0) },
  { messages: ask("What is data availability?"), params: params(64, 0, 0) },
  { messages: ask("tell me about staking"), params: params(64, 0.7, 1) },
  { messages: ask("How does a Merkle proof work?"), params: params(512, 1, 2) },
  { messages: ask("what is an agent NFT"), params: params(32, 1.5, 3) },
  { messages: ask("Explain erasure coding"), params: params(64, 2, -4) },
  { messages: ask("xyzzy plugh"), params: params(64, 0.37, 9_007_199_254_740_991) },
  { messages: [], params: params(16, 0.01, 5) },
  {
    messages: [
      { role: "system", content: "You are terse." },
      { role: "user", content: "Who are you?" },
      { role: "assistant", content: "I am the built-in model." },
      { role: "user", content: "How do I pay for inference?" },
    ],
    params: params(64, 0.8, 6),
  },
];

function transcript(model: BuiltinModel): Completion[] {
  return REQUESTS.map(({ messages, params }) => complete(model, messages, params));
}

function hashJson(value: unknown): string {
  return keccak256(toUtf8Bytes(JSON.stringify(value)));
}

/** Throws `fn`'s error, expecting a one-line ZgError "BAD_INPUT". */
function expectBadInput(fn: () => unknown, pattern?: RegExp): ZgError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught, "expected a ZgError").to.be.instanceOf(ZgError);
  const error = caught as ZgError;
  expect(error.code).to.equal("BAD_INPUT");
  expect(error.message).to.not.include("\n");
  if (pattern) expect(error.message).to.match(pattern);
  return error;
}

/** Text with the characters the tokenizer treats specially, mixed with arbitrary code points. */
const tricky = fc.string({
  unit: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom("a", "B", "z", "0", "7", "_", " ", " ", "\n", "\t") },
    {
      weight: 4,
      arbitrary: fc.constantFrom(
        "'",
        "’",
        "-",
        ".",
        ",",
        '"',
        "(",
        ")",
        "/",
        "$",
        "%",
        "?",
        "!",
        "—",
        "“",
        "”",
        "中",
        "文",
        "é",
        "\u0301",
        "\u00a0",
        "\u200b",
        "😀",
        "\ud800",
        "\udc00",
        "\u0000",
        "\u007f",
      ),
    },
    { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
  ),
  maxLength: 60,
});

describe("builtin inference engine", () => {
  describe("tokenizer", () => {
    it("cuts words, joined words, numbers and single marks", () => {
      expect(tokenize("Don't panic: ERC-7857 costs 0.5 0G at docs.0g.ai!")).to.deep.equal([
        "Don't",
        "panic",
        ":",
        "ERC-7857",
        "costs",
        "0.5",
        "0G",
        "at",
        "docs.0g.ai",
        "!",
      ]);
      expect(tokenize('  "Hi"--(x)...  ')).to.deep.equal([
        '"',
        "Hi",
        '"',
        "-",
        "-",
        "(",
        "x",
        ")",
        ".",
        ".",
        ".",
      ]);
      expect(tokenize("数据可用 ok😀😀")).to.deep.equal(["数", "据", "可", "用", "ok", "😀", "😀"]);
      expect(tokenize("café\u00a0naïve")).to.deep.equal(["café", "naïve"]);
      expect(tokenize("a\ud800b")).to.deep.equal(["a", "\ufffd", "b"]);
      expect(tokenize(" \n\t ")).to.deep.equal([]);
    });

    it("writes tokens back with conventional spacing", () => {
      for (const text of [
        'He said "storage is cheap" (twice), then left.',
        "Fees: $5 or 50% off; see docs.0g.ai/serving, OK?",
        "The agents' data—encrypted—is #1 for @zg!",
        "数据可用 ok",
      ]) {
        expect(detokenize(tokenize(text))).to.equal(text);
      }
    });

    it("detokenize then tokenize gives the same tokens back (property)", () => {
      fc.assert(
        fc.property(tricky, (text) => {
          const tokens = tokenize(text);
          expect(tokenize(detokenize(tokens))).to.deep.equal(tokens);
          expect(detokenize(tokenize(detokenize(tokens)))).to.equal(detokenize(tokens));
        }),
        { numRuns: 2000 },
      );
      fc.assert(
        fc.property(fc.string({ unit: "binary", maxLength: 40 }), (text) => {
          const tokens = tokenize(text);
          expect(tokenize(detokenize(tokens))).to.deep.equal(tokens);
        }),
        { numRuns: 1000 },
      );
    });

    it("countTokens agrees with tokenize, adds up over spaces, and no token is empty or spaced (property)", () => {
      fc.assert(
        fc.property(tricky, tricky, (a, b) => {
          const tokens = tokenize(a);
          expect(countTokens(a)).to.equal(tokens.length);
          expect(countTokens(`${a} ${b}`)).to.equal(countTokens(a) + countTokens(b));
          expect(countTokens(detokenize(tokens))).to.equal(tokens.length);
          for (const token of tokens) {
            expect(token).to.not.equal("");
            expect(token).to.not.match(/\s/);
          }
        }),
        { numRuns: 2000 },
      );
    });
  });

  describe("fixed-point arithmetic", () => {
    it("log2 and exp2 in Q24 are exact at powers of two and close elsewhere", () => {
      const one = 2 ** 24;
      expect(log2Fixed(1)).to.equal(0);
      expect(log2Fixed(2 ** 20)).to.equal(20 * one);
      expect(exp2Fixed(0)).to.equal(one);
      expect(exp2Fixed(-3 * one)).to.equal(one / 8);
      expect(exp2Fixed(-60 * one)).to.equal(0);
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (x) => {
          expect(Math.abs(log2Fixed(x) / one - Math.log2(x))).to.be.below(1e-6);
        }),
      );
      fc.assert(
        fc.property(fc.integer({ min: -30 * one, max: 0 }), (y) => {
          // each of up to 24 table multiplications rounds down by less than one unit of 2^-24
          expect(Math.abs(exp2Fixed(y) - 2 ** (y / one) * one)).to.be.at.most(48);
        }),
      );
    });
  });

  describe("model", () => {
    it("is trained from the shipped corpus of several thousand words", () => {
      const words = corpusTexts()
        .flatMap((text) => tokenize(text))
        .filter((token) => /\w/.test(token));
      expect(words.length).to.be.above(5000);
      const model = baseModel();
      expect(model).to.equal(baseModel()); // memoized
      expect(model.vocab[0]).to.equal("");
      expect(model.vocab.length).to.be.above(1000);
      expect(BUILTIN_MODEL_ID).to.equal("zg-builtin-1");
    });

    it("has the pinned hash and size (update deliberately when the corpus or trainer changes)", () => {
      const bytes = serializeModel(baseModel());
      expect({ hash: modelHash(baseModel()), bytes: bytes.length }).to.deep.equal({
        hash: BASE_MODEL_HASH,
        bytes: BASE_MODEL_BYTES,
      });
      expect(keccak256(bytes)).to.equal(BASE_MODEL_HASH);
    });

    it("trains the same bytes from the same texts, whatever their order", () => {
      const texts = corpusTexts();
      const again = trainModel([...texts].reverse());
      expect(modelHash(again)).to.equal(modelHash(baseModel()));
      expect(serializeModel(again)).to.deep.equal(serializeModel(baseModel()));
      const lines = texts
        .join("\n")
        .split("\n")
        .filter((line) => line !== "")
        .slice(0, 40);
      fc.assert(
        fc.property(fc.shuffledSubarray(lines, { minLength: 1 }), fc.integer(), (subset, salt) => {
          const shuffled = [...subset].sort(
            (x, y) => ((x.length * 31 + salt) % 7) - ((y.length * 31 + salt) % 7),
          );
          expect(modelHash(trainModel(shuffled))).to.equal(modelHash(trainModel(subset)));
          expect(modelHash(trainModel([shuffled.join("\r\n")]))).to.equal(modelHash(trainModel(subset)));
        }),
        { numRuns: 30 },
      );
    });

    it("round-trips through its canonical bytes", () => {
      const base = baseModel();
      const bytes = serializeModel(base);
      const copy = deserializeModel(bytes);
      expect(serializeModel(copy)).to.deep.equal(bytes);
      expect(modelHash(copy)).to.equal(modelHash(base));
      expect(transcript(copy)).to.deep.equal(transcript(base));
      // serialize hands out a copy: changing it changes nothing
      bytes[bytes.length - 1] ^= 0xff;
      expect(modelHash(base)).to.equal(BASE_MODEL_HASH);
      fc.assert(
        fc.property(fc.array(tricky, { minLength: 1, maxLength: 5 }), fc.boolean(), (texts, derived) => {
          fc.pre(texts.some((text) => countTokens(text) > 0));
          const model = derived ? trainModel(texts, trainModel(["Hello! Hi there."])) : trainModel(texts);
          const encoded = serializeModel(model);
          const decoded = deserializeModel(encoded);
          expect(serializeModel(decoded)).to.deep.equal(encoded);
          const request = params(16, 1, 7);
          expect(complete(decoded, ask(texts[0]), request)).to.deep.equal(
            complete(model, ask(texts[0]), request),
          );
        }),
        { numRuns: 200 },
      );
    });

    it("refuses to train on nothing, and an agent with no text keeps its base", () => {
      expectBadInput(() => trainModel([]), /empty text/);
      expectBadInput(() => trainModel([" \n\t"]), /empty text/);
      expectBadInput(() => trainModel([42 as unknown as string]), /array of strings/);
      expect(modelHash(trainModel([""], baseModel()))).to.equal(BASE_MODEL_HASH);
    });

    it("rejects malformed bytes with a one-line ZgError", () => {
      const good = serializeModel(
        trainModel(["Hello! Hi there, NFT.", "What is staking? Staking is locking."]),
      );
      const edit = (at: number, ...bytes: number[]) => {
        const copy = Uint8Array.from(good);
        copy.set(bytes, at);
        return copy;
      };
      expectBadInput(() => deserializeModel(new Uint8Array()), /truncated in header/);
      expectBadInput(() => deserializeModel(edit(0, 0x41)), /bad header/);
      expectBadInput(() => deserializeModel(edit(4, 2)), /unsupported version 2/);
      expectBadInput(() => deserializeModel(Uint8Array.of(...good, 0)), /1 trailing bytes/);
      expectBadInput(() => deserializeModel(good.subarray(0, good.length - 1)), /truncated/);
      expectBadInput(() => deserializeModel(Uint8Array.of(...good.subarray(0, 5), 0x80, 0x00)), /minimally/);
      expectBadInput(
        () => deserializeModel(Uint8Array.of(...good.subarray(0, 5), 0xff, 0xff, 0xff, 0xff, 0x7f)),
        /more than/,
      );
      // the first vocabulary entry is "!" (length 1 at offset 6): make it "A", "a b", invalid UTF-8, or "~" (unordered)
      expect(good[6]).to.equal(1);
      expect(good[7]).to.equal("!".charCodeAt(0));
      expectBadInput(() => deserializeModel(edit(7, 0x41)), /not a single lower-case token/);
      expectBadInput(() => deserializeModel(edit(7, 0xff)), /not valid UTF-8/);
      expectBadInput(() => deserializeModel(edit(7, 0x7e)), /out of order/);
      expectBadInput(() => deserializeModel(deserializeModel as unknown as Uint8Array), /expected bytes/);
      const base = serializeModel(baseModel());
      for (let cut = 0; cut < base.length; cut += 997) {
        expectBadInput(() => deserializeModel(base.subarray(0, cut)));
      }
    });

    it("never fails on random or corrupted bytes with anything but ZgError BAD_INPUT (property)", () => {
      const good = serializeModel(
        trainModel(["Hello! Hi there, NFT.", "What is staking? Staking is locking."]),
      );
      const decodeOrBadInput = (bytes: Uint8Array) => {
        try {
          const model = deserializeModel(bytes);
          // whatever decodes is canonical and usable
          expect(serializeModel(model)).to.deep.equal(bytes);
          const completion = complete(model, ask("Hello!"), params(8, 1, 1));
          expect(countTokens(completion.text)).to.equal(completion.outputTokens);
        } catch (error) {
          expect(error).to.be.instanceOf(ZgError);
          expect((error as ZgError).code).to.equal("BAD_INPUT");
          expect((error as ZgError).message).to.not.include("\n");
        }
      };
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => decodeOrBadInput(bytes)),
        { numRuns: 1000 },
      );
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 200 }), (tail) =>
          decodeOrBadInput(Uint8Array.of(0x5a, 0x47, 0x4c, 0x4d, 1, ...tail)),
        ),
        { numRuns: 1000 },
      );
      fc.assert(
        fc.property(
          fc.array(fc.record({ at: fc.nat(good.length - 1), value: fc.integer({ min: 0, max: 255 }) }), {
            minLength: 1,
            maxLength: 4,
          }),
          (edits) => {
            const bytes = Uint8Array.from(good);
            for (const { at, value } of edits) bytes[at] = value;
            decodeOrBadInput(bytes);
          },
        ),
        { numRuns: 2000 },
      );
    });
  });

  describe("generation", () => {
    it("answers the questions it was trained on from their passage", () => {
      const answer = (content: string) => complete(baseModel(), ask(content), params(64, 0, 0)).text;
      expect(answer("What is data availability?")).to.match(/^Data availability means that the data/);
      expect(answer("Hello!")).to.match(/^Hi there, I am the built-in model/);
      // without a trained question, the prompt's content words pick the passage
      expect(answer("tell me about staking")).to.match(/^Staking is locking tokens/);
      expect(answer("How does a Merkle proof work?")).to.match(/^A Merkle proof is/);
      expect(answer("Explain erasure coding")).to.match(/^Erasure coding is/);
    });

    it("is deterministic in this process and in a fresh one", () => {
      const first = transcript(baseModel());
      expect(transcript(baseModel())).to.deep.equal(first);
      expect(transcript(deserializeModel(serializeModel(baseModel())))).to.deep.equal(first);
      expect(hashJson(first)).to.equal(TRANSCRIPT_HASH);

      const dir = mkdtempSync(path.join(tmpdir(), "zg-builtin-"));
      try {
        const script = path.join(dir, "replay.ts");
        writeFileSync(
          script,
          [
            `import * as engine from ${JSON.stringify(path.join(ROOT, "offchain", "engine", "builtin"))};`,
            "const requests = JSON.parse(process.argv[2]);",
            "const model = engine.baseModel();",
            "const completions = requests.map((r) => engine.complete(model, r.messages, r.params));",
            "process.stdout.write(JSON.stringify({ hash: engine.modelHash(model), completions }));",
            "",
          ].join("\n"),
        );
        // Run from elsewhere: the corpus is found from the package root, not from the working directory.
        const output = execFileSync(
          process.execPath,
          ["-r", require.resolve("ts-node/register/transpile-only"), script, JSON.stringify(REQUESTS)],
          { cwd: dir, env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") } },
        ).toString();
        const replayed = JSON.parse(output) as { hash: string; completions: Completion[] };
        expect(replayed.hash).to.equal(BASE_MODEL_HASH);
        expect(hashJson(replayed.completions)).to.equal(hashJson(first));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("ignores the seed at temperature 0, and samples by seed above it", () => {
      const model = baseModel();
      const greedy = complete(model, ask("What is a storage node?"), params(64, 0, 0));
      for (const seed of [1, -1, 12345, Number.MAX_SAFE_INTEGER]) {
        expect(complete(model, ask("What is a storage node?"), params(64, 0, seed))).to.deep.equal(greedy);
      }
      // below a hundredth the temperature quantizes to 0
      expect(complete(model, ask("What is a storage node?"), params(64, 0.004, 99))).to.deep.equal(greedy);

      const texts = new Set<string>();
      for (let seed = 0; seed < 20; seed++) {
        const first = complete(model, ask("Tell me something."), params(48, 1, seed));
        expect(complete(model, ask("Tell me something."), params(48, 1, seed))).to.deep.equal(first);
        texts.add(first.text);
      }
      expect(texts.size).to.be.at.least(10);
    });

    it("writes at most max_tokens tokens and counts tokens honestly (property)", () => {
      const model = baseModel();
      fc.assert(
        fc.property(
          fc.array(fc.record({ role: fc.constantFrom("system", "user", "assistant"), content: tricky }), {
            maxLength: 3,
          }),
          fc.integer({ min: 1, max: 80 }),
          fc.integer({ min: 0, max: 200 }),
          fc.integer(),
          (messages: ChatMessage[], maxTokens, hundredths, seed) => {
            const completion = complete(model, messages, params(maxTokens, hundredths / 100, seed));
            expect(completion.outputTokens).to.be.within(1, maxTokens);
            expect(countTokens(completion.text)).to.equal(completion.outputTokens);
            expect(completion.inputTokens).to.equal(
              messages.reduce((sum, message) => sum + countTokens(message.content), 0),
            );
            expect(completion.finishReason).to.equal(
              completion.outputTokens === maxTokens ? "length" : "stop",
            );
          },
        ),
        { numRuns: 300 },
      );
      const long = complete(model, ask("Tell me everything."), params(MAX_TOKENS_LIMIT, 2, 1));
      expect(long.outputTokens).to.be.at.most(MAX_TOKENS_LIMIT);
      const one = complete(model, ask("What is staking?"), params(1, 0, 0));
      expect(one).to.deep.include({ text: "Staking", outputTokens: 1, finishReason: "length" });
    });

    it("learns an agent's data: the derived model answers in the agent's words", () => {
      const agentTexts = [
        "Hello! Ahoy, matey! Captain Byte at your service, from the deck of the good ship Merkle.",
        "Who are you? I am Captain Byte, a pirate who sails the data seas with a crew of clever parrots.",
        "What is staking? Staking be like burying doubloons on an island, matey, and the kraken slashes ye if ye cheat.",
        "What is data availability? Data availability be the promise that every treasure map is posted on the tavern wall, so any sailor can read it.",
        "Tell me a joke. Why did the parrot encrypt its cracker? Because the first mate kept reading its memory, arr!",
      ];
      const base = baseModel();
      const agent = trainModel(agentTexts, base);
      expect(modelHash(agent)).to.not.equal(modelHash(base));
      expect(modelHash(trainModel([...agentTexts].reverse(), base))).to.equal(modelHash(agent));
      expect(AGENT_WEIGHT).to.be.above(1);

      const agentWords = new Set(
        tokenize(agentTexts.join(" "))
          .map((token) => token.toLowerCase())
          .filter((token) => !base.vocab.includes(token)),
      );
      expect([...agentWords]).to.include.members(["ahoy", "matey", "parrots", "doubloons", "kraken"]);
      const agentShare = (model: BuiltinModel, content: string) => {
        const tokens = tokenize(complete(model, ask(content), params(64, 0, 0)).text);
        return tokens.filter((token) => agentWords.has(token.toLowerCase())).length;
      };
      for (const prompt of ["Hello!", "Who are you?", "What is staking?", "What is data availability?"]) {
        expect(agentShare(base, prompt), prompt).to.equal(0);
        expect(agentShare(agent, prompt), prompt).to.be.at.least(2);
      }
      expect(complete(agent, ask("Who are you?"), params(64, 0, 0)).text).to.equal(
        "I am Captain Byte, a pirate who sails the data seas with a crew of clever parrots.",
      );
      // the agent still knows what its base knew where its own texts are silent
      expect(complete(agent, ask("Explain erasure coding"), params(64, 0, 0))).to.deep.equal(
        complete(base, ask("Explain erasure coding"), params(64, 0, 0)),
      );
      // and its model travels as bytes
      const carried = deserializeModel(serializeModel(agent));
      expect(complete(carried, ask("Hello!"), params(64, 0.9, 3))).to.deep.equal(
        complete(agent, ask("Hello!"), params(64, 0.9, 3)),
      );
    });
  });

  describe("parameters", () => {
    it("defaults to 64 tokens, temperature 0 and seed 0 (null means default)", () => {
      expect(validateParams({})).to.deep.equal({ maxTokens: 64, temperature: 0, seed: 0 });
      expect(validateParams({ max_tokens: null, temperature: null, seed: null })).to.deep.equal({
        maxTokens: 64,
        temperature: 0,
        seed: 0,
      });
      expect(validateParams({ max_tokens: 512, temperature: 2, seed: -7 })).to.deep.equal({
        maxTokens: 512,
        temperature: 2,
        seed: -7,
      });
    });

    it("rejects bad values with a one-line ZgError naming the parameter", () => {
      for (const max_tokens of [0, 513, 1.5, "64", Number.NaN, true]) {
        expectBadInput(
          () => validateParams({ max_tokens }),
          /^max_tokens must be an integer from 1 to 512 \(got /,
        );
      }
      for (const temperature of [-0.1, 2.01, Number.NaN, Number.POSITIVE_INFINITY, "1", {}]) {
        expectBadInput(
          () => validateParams({ temperature }),
          /^temperature must be a number from 0 to 2 \(got /,
        );
      }
      for (const seed of [0.5, 2 ** 53, "1", 1n, Number.NaN]) {
        expectBadInput(() => validateParams({ seed }), /^seed must be a safe integer/);
      }
      expectBadInput(() => validateParams({ max_tokens: "x".repeat(100) }), /got "x{39}…\)$/);
      expectBadInput(() => complete(baseModel(), ask("hi"), params(0, 0, 0)), /^max_tokens/);
      expectBadInput(
        () => complete(baseModel(), [{ role: "user" }] as unknown as ChatMessage[], params(8, 0, 0)),
        /^messages must be/,
      );
    });
  });
});

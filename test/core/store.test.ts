import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { inspect } from "node:util";
import fc from "fast-check";
import { ZgError } from "../../offchain/core/errors";
import { DurableStore } from "../../offchain/core/store";

const ROOT = path.resolve(__dirname, "..", "..");

type Json = null | boolean | number | string | bigint | Json[] | { [key: string]: Json };

/** JSON-like values with bigints anywhere. `{ "$bigint": … }` alone is the store's own encoding, so no key is "$bigint". */
const jsonWithBigints: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n)),
    fc.integer(),
    fc.string({ unit: "grapheme" }),
    fc.string(),
    fc.bigInt(),
    fc.bigInt({ min: -(2n ** 512n), max: 2n ** 512n }),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(
      fc.string().filter((key) => key !== "$bigint"),
      tie("value"),
      { maxKeys: 5, noNullPrototype: true },
    ),
  ),
})).value;

/**
 * Asserts `actual` is exactly `expected`. Hardhat's chai matchers make `deep.equal` treat `1n` and `1` as
 * equal, so the comparison also goes through a rendering that tells bigints, numbers and strings apart.
 */
function expectExact(actual: unknown, expected: unknown, message?: string): void {
  const render = (value: unknown) =>
    inspect(value, {
      depth: Infinity,
      sorted: true,
      maxArrayLength: Infinity,
      maxStringLength: Infinity,
      breakLength: Infinity,
    });
  expect(render(actual), message).to.equal(render(expected));
  expect(actual, message).to.deep.equal(expected);
}

/** Byte order of UTF-8 keys, which is LevelDB's order. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

describe("core/store", function () {
  this.timeout(120_000);

  const dirs: string[] = [];
  const open: DurableStore[] = [];
  function tempDir(): string {
    const dir = mkdtempSync(path.join(tmpdir(), "zg-store-"));
    dirs.push(dir);
    return dir;
  }
  async function openStore(dir = tempDir()): Promise<DurableStore> {
    const store = await DurableStore.open(dir);
    open.push(store);
    return store;
  }
  async function closeStore(store: DurableStore): Promise<void> {
    open.splice(open.indexOf(store), 1);
    await store.close();
  }
  async function collect<T>(store: DurableStore, prefix: string): Promise<[string, T][]> {
    const out: [string, T][] = [];
    for await (const entry of store.entries<T>(prefix)) out.push(entry);
    return out;
  }

  afterEach(async () => {
    await Promise.all(open.splice(0).map((store) => store.close()));
  });
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  describe("values", () => {
    it("returns undefined for a missing key", async () => {
      const store = await openStore();
      expect(await store.get("nothing")).to.equal(undefined);
    });

    it("round-trips nested JSON with bigints, across a reopen", async () => {
      const dir = tempDir();
      const value = {
        cursor: { block: 123n, logIndex: 4 },
        amounts: [0n, -1n, 2n ** 256n - 1n, 10n ** 30n],
        label: "node-1",
        flags: { active: true, slashed: false, note: null },
        nested: [[{ deep: [1n, "1", 1] }]],
        empty: { list: [], map: {} },
      };
      let store = await openStore(dir);
      await store.put("state", value);
      await store.put("bare", 42n);
      expectExact(await store.get("state"), value);
      await closeStore(store);

      store = await openStore(dir);
      const reread = await store.get<typeof value>("state");
      expectExact(reread, value);
      expect(typeof reread?.cursor.block).to.equal("bigint");
      expect(typeof reread?.cursor.logIndex).to.equal("number");
      expect(typeof reread?.nested[0][0].deep[1]).to.equal("string");
      const bare = await store.get<bigint>("bare");
      expect(typeof bare).to.equal("bigint");
      expect(bare === 42n).to.equal(true);
    });

    it("keeps an object that merely has a $bigint key next to others", async () => {
      const store = await openStore();
      const value = { $bigint: "7", other: 1 };
      await store.put("k", value);
      expectExact(await store.get("k"), value);
    });

    it("overwrites a key with the latest value", async () => {
      const store = await openStore();
      await store.put("k", { v: 1n });
      await store.put("k", "second");
      expect(await store.get("k")).to.equal("second");
    });

    it("property: any JSON-like value with bigints round-trips exactly", async () => {
      const store = await openStore();
      let index = 0;
      await fc.assert(
        fc.asyncProperty(jsonWithBigints, async (value) => {
          const key = `prop/${index++}`;
          await store.put(key, value);
          expectExact(await store.get(key), value);
        }),
        { numRuns: 300 },
      );
    });
  });

  describe("batch", () => {
    it("applies puts and deletes together", async () => {
      const store = await openStore();
      await store.put("a", 1);
      await store.put("b", 2);
      await store.batch([
        { type: "del", key: "a" },
        { type: "put", key: "c", value: { n: 3n } },
        { type: "put", key: "b", value: [2n] },
      ]);
      expect(await store.get("a")).to.equal(undefined);
      expectExact(await store.get("b"), [2n]);
      expectExact(await store.get("c"), { n: 3n });
    });

    it("applies later ops of a batch over earlier ones on the same key", async () => {
      const store = await openStore();
      await store.batch([
        { type: "put", key: "x", value: 1 },
        { type: "del", key: "x" },
        { type: "put", key: "y", value: 1 },
        { type: "put", key: "y", value: 2 },
      ]);
      expect(await store.get("x")).to.equal(undefined);
      expect(await store.get("y")).to.equal(2);
    });

    it("writes nothing of a batch when one of its values cannot be encoded", async () => {
      const store = await openStore();
      await store.put("keep", "old");
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      let failed = false;
      try {
        await store.batch([
          { type: "put", key: "keep", value: "new" },
          { type: "del", key: "other" },
          { type: "put", key: "bad", value: cyclic },
        ]);
      } catch (error) {
        failed = true;
        expect(error).to.be.instanceOf(TypeError);
      }
      expect(failed).to.equal(true);
      expect(await store.get("keep")).to.equal("old");
      expect(await store.get("bad")).to.equal(undefined);
    });

    it("accepts an empty batch", async () => {
      const store = await openStore();
      await store.batch([]);
      expect(await collect(store, "")).to.deep.equal([]);
    });

    it("survives a reopen", async () => {
      const dir = tempDir();
      const store = await openStore(dir);
      await store.batch([
        { type: "put", key: "p/1", value: 1n },
        { type: "put", key: "p/2", value: 2n },
      ]);
      await closeStore(store);
      const reopened = await openStore(dir);
      expectExact(await collect(reopened, "p/"), [
        ["p/1", 1n],
        ["p/2", 2n],
      ]);
    });
  });

  describe("entries", () => {
    it("lists a prefix in key order, and only that prefix", async () => {
      const store = await openStore();
      const keys = ["job/10", "job/2", "job/1", "jobs", "job", "jo", "job/", "k", "io/1", "job0"];
      for (const key of keys) await store.put(key, `v:${key}`);
      expect(await collect<string>(store, "job/")).to.deep.equal([
        ["job/", "v:job/"],
        ["job/1", "v:job/1"],
        ["job/10", "v:job/10"],
        ["job/2", "v:job/2"],
      ]);
      expect((await collect(store, "job")).map(([key]) => key)).to.deep.equal([
        "job",
        "job/",
        "job/1",
        "job/10",
        "job/2",
        "job0",
        "jobs",
      ]);
      expect(await collect(store, "nope/")).to.deep.equal([]);
      expect((await collect(store, "")).map(([key]) => key)).to.deep.equal([...keys].sort(byteOrder));
    });

    it("includes keys that continue the prefix with any character, even \\xff and beyond", async () => {
      const store = await openStore();
      const inside = ["a/x", "a/\xff", "a/\xff\xff", "a/\u0100", "a/\u{1F600}", "a/\uffff"];
      const outside = ["a0", "b/\u0100", "a", "`/x"];
      for (const key of [...inside, ...outside]) await store.put(key, key);
      expect((await collect(store, "a/")).map(([key]) => key)).to.deep.equal([...inside].sort(byteOrder));
    });

    it("property: entries(prefix) is exactly the keys starting with prefix, in byte order", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6, unit: "binary" }), { maxLength: 25 }),
          fc.string({ maxLength: 3, unit: "binary" }),
          async (keys, prefix) => {
            // Lone surrogates are not valid UTF-8 keys; keep well-formed strings only.
            const wellFormed = keys.filter((key) => Buffer.from(key, "utf8").toString("utf8") === key);
            if (Buffer.from(prefix, "utf8").toString("utf8") !== prefix) return;
            const store = await openStore();
            await store.batch(wellFormed.map((key, i) => ({ type: "put", key, value: i })));
            const expected = wellFormed
              .map((key, i): [string, number] => [key, i])
              .filter(([key]) => key.startsWith(prefix))
              .sort(([a], [b]) => byteOrder(a, b));
            expect(await collect<number>(store, prefix)).to.deep.equal(expected);
            await closeStore(store);
          },
        ),
        { numRuns: 40 },
      );
    });

    it("stops early without leaving the iterator open", async () => {
      const store = await openStore();
      for (let i = 0; i < 10; i++) await store.put(`n/${i}`, i);
      const seen: string[] = [];
      for await (const [key] of store.entries("n/")) {
        seen.push(key);
        if (seen.length === 3) break;
      }
      expect(seen).to.deep.equal(["n/0", "n/1", "n/2"]);
      await closeStore(store);
    });
  });

  describe("open", () => {
    it("creates a missing directory", async () => {
      const dir = path.join(tempDir(), "a", "b", "data");
      const store = await openStore(dir);
      await store.put("k", 1);
      expect(await store.get("k")).to.equal(1);
    });

    it("refuses a directory another store holds, then opens once it is free", async () => {
      const dir = tempDir();
      const first = await openStore(dir);
      await first.put("k", "v");
      let error: unknown;
      try {
        open.push(await DurableStore.open(dir));
      } catch (caught) {
        error = caught;
      }
      expect(error).to.be.instanceOf(ZgError);
      expect((error as ZgError).code).to.equal("BAD_CONFIG");
      expect((error as ZgError).message).to.equal(
        `cannot open the data directory ${dir}: it is in use by another process`,
      );
      await closeStore(first);
      const second = await openStore(dir);
      expect(await second.get("k")).to.equal("v");
    });

    it("reports a data directory that cannot be created", async () => {
      const file = path.join(tempDir(), "plain-file");
      writeFileSync(file, "x");
      let error: unknown;
      try {
        open.push(await DurableStore.open(path.join(file, "data")));
      } catch (caught) {
        error = caught;
      }
      expect(error).to.be.instanceOf(Error);
      expect((error as NodeJS.ErrnoException).code).to.equal("ENOTDIR");
    });
  });

  describe("durability", () => {
    it("keeps every acknowledged put when the writer is killed with SIGKILL", async () => {
      const dir = tempDir();
      const script = path.join(tempDir(), "writer.ts");
      writeFileSync(
        script,
        [
          `import { DurableStore } from ${JSON.stringify(path.join(ROOT, "offchain", "core", "store"))};`,
          "(async () => {",
          `  const store = await DurableStore.open(${JSON.stringify(dir)});`,
          "  for (let i = 0; i < 1_000_000; i++) {",
          "    await store.put(`key/${String(i).padStart(7, '0')}`, { i, big: BigInt(i) * 10n ** 20n, pad: 'x'.repeat(i % 50) });",
          "    process.stdout.write(`acked ${i}\\n`);",
          "  }",
          "})();",
          "",
        ].join("\n"),
      );
      const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", script], {
        cwd: ROOT,
        env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));

      const acked = await new Promise<number[]>((resolve, reject) => {
        const seen: number[] = [];
        let buffered = "";
        let killed = false;
        child.stdout.on("data", (chunk: Buffer) => {
          buffered += chunk.toString();
          const lines = buffered.split("\n");
          buffered = lines.pop() ?? "";
          for (const line of lines) {
            const match = /^acked (\d+)$/.exec(line);
            if (match) seen.push(Number(match[1]));
          }
          if (!killed && seen.length >= 200) {
            killed = true;
            child.kill("SIGKILL");
          }
        });
        child.on("error", reject);
        // "close", not "exit": every acknowledgement already in the pipe has been read by then.
        child.on("close", (code, signal) => {
          if (signal === "SIGKILL") resolve(seen);
          else reject(new Error(`writer exited with ${code ?? signal} before being killed: ${stderr}`));
        });
      });

      expect(acked.length).to.be.at.least(200);
      expect(acked).to.deep.equal(acked.map((_, i) => i));

      const store = await openStore(dir);
      for (const i of acked) {
        const key = `key/${String(i).padStart(7, "0")}`;
        expectExact(await store.get(key), { i, big: BigInt(i) * 10n ** 20n, pad: "x".repeat(i % 50) }, key);
      }
      // Whatever the writer got further than its last acknowledgement is either whole or absent.
      const entries = await collect<{ i: number }>(store, "key/");
      expect(entries.length).to.be.within(acked.length, acked.length + 1);
      entries.forEach(([key, value], index) => {
        expect(key).to.equal(`key/${String(index).padStart(7, "0")}`);
        expect(value.i).to.equal(index);
      });
    });
  });
});

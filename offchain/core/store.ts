import { mkdirSync } from "node:fs";
import { ClassicLevel } from "classic-level";
import { ZgError } from "./errors";

/** A write for `DurableStore.batch`: put a JSON value, put raw bytes, or delete a key. */
export type StoreOp =
  | { type: "put"; key: string; value: unknown }
  | { type: "putBytes"; key: string; value: Uint8Array }
  | { type: "del"; key: string };

/**
 * The embedded store every worker keeps its state in (LevelDB). Every write is synced to disk before it
 * resolves, so whatever a worker acknowledged survives kill -9. Values are JSON, with bigints kept exact.
 */
export class DurableStore {
  private constructor(private readonly db: ClassicLevel<string, string>) {}

  /** Opens (creating) the store in `dir`. Fails clearly when another process holds it. */
  static async open(dir: string): Promise<DurableStore> {
    mkdirSync(dir, { recursive: true });
    const db = new ClassicLevel<string, string>(dir, { valueEncoding: "utf8" });
    try {
      await db.open();
    } catch (error) {
      const cause = (error as { cause?: { message?: string } }).cause?.message ?? String(error);
      const reason = /lock/i.test(cause) ? "it is in use by another process" : cause;
      throw new ZgError(`cannot open the data directory ${dir}: ${reason}`, "BAD_CONFIG", { cause: error });
    }
    return new DurableStore(db);
  }

  async get<T>(key: string): Promise<T | undefined> {
    const raw = await this.db.get(key);
    return raw === undefined ? undefined : decode<T>(raw);
  }

  /** Raw bytes stored with `putBytes` (no JSON), e.g. storage segments. */
  async getBytes(key: string): Promise<Uint8Array | undefined> {
    return (await this.db.get(key, { valueEncoding: "view" })) as Uint8Array | undefined;
  }

  async putBytes(key: string, value: Uint8Array): Promise<void> {
    await this.db.put(key, value as unknown as string, { sync: true, valueEncoding: "view" });
  }

  async put(key: string, value: unknown): Promise<void> {
    await this.db.put(key, encode(value), { sync: true });
  }

  /** Applies every op atomically and durably. */
  async batch(ops: StoreOp[]): Promise<void> {
    if (ops.length === 0) return;
    await this.db.batch(
      ops.map((op) => {
        if (op.type === "put") return { type: "put" as const, key: op.key, value: encode(op.value) };
        if (op.type === "putBytes") {
          return {
            type: "put" as const,
            key: op.key,
            value: op.value as unknown as string,
            valueEncoding: "view",
          };
        }
        return op;
      }),
      { sync: true },
    );
  }

  /** Every entry whose key starts with `prefix`, in key order. */
  async *entries<T>(prefix: string): AsyncGenerator<[string, T]> {
    // No string upper bound covers every key after `prefix` (a key may continue with any code point,
    // even \xff itself), so scan from `prefix` and stop at the first key outside it.
    for await (const [key, raw] of this.db.iterator({ gte: prefix })) {
      if (!key.startsWith(prefix)) break;
      yield [key, decode<T>(raw)];
    }
  }

  /** Every key that starts with `prefix`, in order, without reading values (which may be raw bytes). */
  async *keys(prefix: string): AsyncGenerator<string> {
    for await (const key of this.db.keys({ gte: prefix })) {
      if (!key.startsWith(prefix)) break;
      yield key;
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

function encode(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? { $bigint: v.toString() } : v));
}

function decode<T>(raw: string): T {
  return JSON.parse(raw, (_key, v: unknown) => {
    if (v && typeof v === "object" && "$bigint" in v && Object.keys(v).length === 1) {
      return BigInt((v as { $bigint: string }).$bigint);
    }
    return v;
  }) as T;
}

import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import path from "node:path";
import { expect } from "chai";
import type { ZgChain } from "../../offchain/core/chain";
import type { StorageClient } from "../../offchain/storage/client";
import { DIRECTORY_TTL_MS, DirectoryCache, type StorageNodeInfo } from "../../offchain/storage/directory";
import { tempDir } from "../helpers/chain";
import { freePort } from "../helpers/process";
import { flipSegmentBytes, useStorageNetwork } from "../helpers/storage";

const node = (url: string, shardId = 0, numShard = 1): StorageNodeInfo => ({
  operator: "0x0000000000000000000000000000000000000001",
  url,
  region: "",
  shard: { shardId, numShard },
});

describe("storage: the client's cached node directory", function () {
  describe("DirectoryCache", () => {
    it("gives back what was written, while it is younger than its time to live", async () => {
      let now = 1_000_000;
      const cache = new DirectoryCache(
        path.join(tempDir("dircache"), "a", "31337-0xabc.json"),
        60_000,
        () => now,
      );
      expect(await cache.read()).to.equal(undefined);
      const nodes = [node("http://127.0.0.1:1"), node("http://127.0.0.1:2", 1, 2)];
      await cache.write(nodes);
      expect(await cache.read()).to.deep.equal(nodes);
      now += 59_999;
      expect(await cache.read()).to.deep.equal(nodes);
      now += 1;
      expect(await cache.read()).to.equal(undefined);
    });

    it("is not there when it claims to be read in the future (a clock moved back)", async () => {
      let now = 1_000_000;
      const cache = new DirectoryCache(path.join(tempDir("dircache"), "c.json"), 60_000, () => now);
      await cache.write([node("http://127.0.0.1:1")]);
      now -= 1;
      expect(await cache.read()).to.equal(undefined);
    });

    it("is not there when its file is malformed or of another shape", async () => {
      const dir = tempDir("dircache");
      const file = path.join(dir, "c.json");
      const cache = new DirectoryCache(file);
      const fresh = Date.now();
      for (const text of [
        "",
        "{",
        "[]",
        JSON.stringify({ readAt: fresh }),
        JSON.stringify({
          readAt: fresh,
          nodes: [{ url: "not a url", operator: "x", region: "", shard: {} }],
        }),
        JSON.stringify({
          readAt: fresh,
          nodes: [{ ...node("http://a"), shard: { shardId: 0, numShard: 0 } }],
        }),
        JSON.stringify({
          readAt: fresh,
          nodes: [{ ...node("http://a"), shard: { shardId: 0, numShard: 3 } }],
        }),
        JSON.stringify({
          readAt: fresh,
          nodes: [{ ...node("http://a"), shard: { shardId: 2, numShard: 2 } }],
        }),
        JSON.stringify({ readAt: "now", nodes: [] }),
      ]) {
        writeFileSync(file, text);
        expect(await cache.read(), text).to.equal(undefined);
      }
      writeFileSync(file, JSON.stringify({ readAt: fresh, nodes: [node("http://a")] }));
      expect(await cache.read()).to.deep.equal([node("http://a")]);
    });

    it("is written whole: no partial file is left beside it, and one file per chain and NodeStaking", async () => {
      const dir = tempDir("dircache");
      const a = DirectoryCache.in(dir, 31337, "0xAbCd000000000000000000000000000000000001");
      const b = DirectoryCache.in(dir, 16602, "0xAbCd000000000000000000000000000000000001");
      await Promise.all([a.write([node("http://a")]), a.write([node("http://b")]), b.write([])]);
      expect(readdirSync(dir).sort()).to.deep.equal([
        "16602-0xabcd000000000000000000000000000000000001.json",
        "31337-0xabcd000000000000000000000000000000000001.json",
      ]);
      expect((await a.read())?.length).to.equal(1);
      expect(await b.read()).to.deep.equal([]);
      expect(DIRECTORY_TTL_MS).to.equal(600_000);
    });
  });

  describe("downloads through it", function () {
    this.timeout(180_000);
    const network = useStorageNetwork(150);
    const startNode = (region: string) => network.startNode(undefined, region);
    const { stopNode } = network;

    /** A client keeping its directory in `dir`, and that cache. */
    async function client(
      dir: string,
    ): Promise<{ chain: ZgChain; storage: StorageClient; cache: DirectoryCache }> {
      const { chain, storage } = await network.client(149, { directoryCache: dir });
      return {
        chain,
        storage,
        cache: DirectoryCache.in(dir, 31337, await chain.moduleAddress("NodeStaking")),
      };
    }

    it("an upload keeps the chain's directory, and a download finds the file through it", async () => {
      const holder = await startNode("cache-a");
      const dir = tempDir("dircache");
      const { chain, storage, cache } = await client(dir);
      try {
        const bytes = randomBytes(3 * 262_144 + 5);
        const uploaded = await storage.upload(bytes, { region: "cache-a" });
        const cached = await cache.read();
        expect(cached?.map((n) => n.url)).to.include(holder.url);
        const out = path.join(tempDir("download"), "file");
        await storage.download(uploaded.root, out);
        expect(readFileSync(out).equals(bytes)).to.equal(true);
      } finally {
        chain.destroy();
      }
      await stopNode(holder);
    });

    it("a download into a folder that does not exist fails with that error, though its segments were asked for", async () => {
      const holder = await startNode("cache-f");
      const { chain, storage } = await client(tempDir("dircache"));
      try {
        const uploaded = await storage.upload(randomBytes(3 * 262_144), { region: "cache-f" });
        const out = path.join(tempDir("download"), "missing", "file");
        await expect(storage.download(uploaded.root, out)).to.be.rejectedWith(/ENOENT/);
      } finally {
        chain.destroy();
      }
      await stopNode(holder);
    });

    it("a stale cache (its nodes gone) costs a chain read, not the download, and is replaced", async () => {
      const holder = await startNode("cache-b");
      const dir = tempDir("dircache");
      const { chain, storage, cache } = await client(dir);
      try {
        const bytes = randomBytes(262_144 + 1);
        const uploaded = await storage.upload(bytes, { region: "cache-b" });
        const gone = `http://127.0.0.1:${await freePort()}`;
        await cache.write([node(gone)]);
        const out = path.join(tempDir("download"), "file");
        await storage.download(uploaded.root, out);
        expect(readFileSync(out).equals(bytes)).to.equal(true);
        const urls = (await cache.read())!.map((n) => n.url);
        expect(urls).to.include(holder.url);
        expect(urls).to.not.include(gone);
      } finally {
        chain.destroy();
      }
      await stopNode(holder);
    });

    it("a cached node that serves bad segments: they are refused and fetched from a node the chain lists", async () => {
      const honest = await startNode("cache-c");
      const liar = await startNode("cache-c");
      const dir = tempDir("dircache");
      const { chain, storage, cache } = await client(dir);
      try {
        const bytes = randomBytes(2 * 262_144);
        const uploaded = await storage.upload(bytes, { region: "cache-c", replicas: 2 });
        await stopNode(liar);
        flipSegmentBytes(liar, [7, 262_144 + 7]);
        await network.restartNode(liar);
        // The cache names the liar alone: it says it holds the whole file, then serves every segment wrong.
        await cache.write([node(liar.url)]);
        const out = path.join(tempDir("download"), "file");
        const result = await storage.download(uploaded.root, out);
        expect(result.repaired).to.equal(0);
        expect(readFileSync(out).equals(bytes)).to.equal(true);
      } finally {
        chain.destroy();
      }
      await stopNode(honest);
      await stopNode(liar);
    });

    it("a node that never answers does not hold up a download the others can serve", async () => {
      const holder = await startNode("cache-d");
      const dir = tempDir("dircache");
      const { chain, storage, cache } = await client(dir);
      // A listener that takes connections and requests and answers none of them.
      const sockets: Socket[] = [];
      let closedByClient = 0;
      const silent: Server = createServer((socket) => {
        sockets.push(socket);
        socket.on("data", () => undefined);
        socket.on("close", () => (closedByClient += 1));
      });
      const port = await freePort();
      await new Promise<void>((resolve) => silent.listen(port, "127.0.0.1", resolve));
      try {
        const bytes = randomBytes(262_144 * 2 + 3);
        const uploaded = await storage.upload(bytes, { region: "cache-d" });
        await cache.write([
          node(`http://127.0.0.1:${port}`),
          (await cache.read())!.find((n) => n.url === holder.url)!,
        ]);
        const out = path.join(tempDir("download"), "file");
        await storage.download(uploaded.root, out);
        expect(readFileSync(out).equals(bytes)).to.equal(true);
        // The silent node was asked, and the download ended while its question was still open: it waited for no
        // answer from it (the client gives a node 4 s before it drops the connection).
        expect(sockets.length).to.be.greaterThan(0);
        expect(closedByClient).to.equal(0);
      } finally {
        chain.destroy();
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => silent.close(resolve));
      }
      await stopNode(holder);
    });

    it("zg storage info still lists every holder, not only the first that cover the file", async () => {
      const first = await startNode("cache-e");
      const second = await startNode("cache-e");
      const dir = tempDir("dircache");
      mkdirSync(dir, { recursive: true });
      const { chain, storage } = await client(dir);
      try {
        const uploaded = await storage.upload(randomBytes(1000), { region: "cache-e", replicas: 2 });
        const info = await storage.info(uploaded.root);
        expect(info?.nodes.map((holder) => holder.url).sort()).to.deep.equal([first.url, second.url].sort());
      } finally {
        chain.destroy();
      }
      await stopNode(first);
      await stopNode(second);
    });
  });
});

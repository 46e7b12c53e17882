import { spawn, type ChildProcess } from "node:child_process";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { parseEther, Wallet, type HDNodeWallet } from "ethers";
import hre from "hardhat";
import OpenAI from "openai";
import type { ZgChain } from "../../offchain/core/chain";
import type { DeploymentRecord } from "../../offchain/core/deployments";
import { startWorker, type WorkerHandle } from "../../offchain/core/worker";
import { connectDevnet } from "../../offchain/devnet/accounts";
import { BuiltinEngine, canonicalRequest } from "../../offchain/engine/engines";
import { ServingClient } from "../../offchain/serving/client";
import { InferenceSession } from "../../offchain/serving/inference";
import {
  encodeReadHeader,
  encodeRequestHeader,
  encodeVoucherHeader,
  READ_HEADER,
  REQUEST_HEADER,
  requestHash,
  responseHash,
  statementOf,
  USER_HEADER,
  VOUCHER_HEADER,
  type Receipt,
} from "../../offchain/serving/protocol";
import { startProxy, type RunningProxy } from "../../offchain/serving/proxy";
import { NodeStaking__factory } from "../../typechain-types";
import { oracleWorker } from "../helpers/oracle";
import { deployForTest, devAccount, startRpc, tempDir, type TestRpc } from "../helpers/chain";
import { expectFailure, freePort, runZg } from "../helpers/process";

const MODEL = "zg-builtin-1";
const INPUT_PRICE = 1_000_000_000n;
const OUTPUT_PRICE = 3_000_000_000n;

/** The `data` of every Server-Sent Event in a body. */
function events(text: string): string[] {
  return text
    .split("\n\n")
    .filter((part) => part.startsWith("data: "))
    .map((part) => part.slice("data: ".length));
}

describe("zg proxy: any OpenAI client, every response verified", function () {
  this.timeout(240_000);
  let rpc: TestRpc;
  let record: DeploymentRecord;
  let oracle: WorkerHandle;
  let oracleUrl: string;
  let relay: Server;
  let operator: HDNodeWallet;
  const chains: ZgChain[] = [];
  const proxies: RunningProxy[] = [];
  let previousHome: string | undefined;
  /** What the relay between proxies and the oracle does: pass everything on, or edit the answers. */
  let mode: "pass" | "tamper" = "pass";
  /** Vouchers the relay saw go to the oracle (acknowledgements). */
  let vouchers = 0;

  async function fund(address: string, coin: string) {
    const [funder] = await hre.ethers.getSigners();
    await (await funder.sendTransaction({ to: address, value: parseEther(coin) })).wait();
  }

  /** A user with a funded sub-account with the provider (unless `subAccount` is "0"). */
  async function user(index: number, subAccount = "1") {
    const key = devAccount(index);
    await fund(key.address, "5");
    const chain = await connectDevnet(rpc.url, record.registry, key.privateKey);
    chains.push(chain);
    const client = await ServingClient.connect(chain);
    if (subAccount !== "0") {
      await client.deposit(parseEther(subAccount));
      await client.fund(operator.address, parseEther(subAccount));
    }
    return { key, client };
  }

  async function proxyFor(index: number, token?: string) {
    const { key, client } = await user(index);
    const session = await InferenceSession.open(client, operator.address);
    const proxy = await startProxy(session, { port: 0, token });
    proxies.push(proxy);
    return { key, client, proxy };
  }

  /** An unmodified OpenAI client (no custom fetch) against a proxy. */
  const openai = (proxy: RunningProxy, apiKey = "unused", maxRetries = 0) =>
    new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey, maxRetries });

  /** What the built-in model answers, computed here. */
  async function expected(
    content: string,
    params: { max_tokens: number; seed?: number; temperature?: number },
  ) {
    const request = canonicalRequest(
      { model: MODEL, messages: [{ role: "user", content }], ...params },
      MODEL,
    );
    return (await new BuiltinEngine().complete(request)).content;
  }

  before(async () => {
    rpc = await startRpc();
    record = await deployForTest("full");
    previousHome = process.env.ZG_HOME;
    process.env.ZG_HOME = tempDir("proxy-home");
    operator = devAccount(47);
    await fund(operator.address, "30");
    const staking = NodeStaking__factory.connect(
      record.modules.NodeStaking.address,
      operator.connect(hre.ethers.provider),
    );
    await (await staking.stake(2, { value: parseEther("10") })).wait();

    const oraclePort = await freePort();
    oracleUrl = `http://127.0.0.1:${oraclePort}`;
    const operatorChain = await connectDevnet(rpc.url, record.registry, operator.privateKey);
    chains.push(operatorChain);
    const domain = (await ServingClient.connect(operatorChain)).domain;
    const resign = (receipt: Receipt, content: string): Receipt => {
      const forged: Receipt = {
        ...receipt,
        response: { ...receipt.response, content },
        responseHash: responseHash(content),
      };
      forged.signature = operator.signingKey.sign(domain.responseDigest(statementOf(forged))).serialized;
      return forged;
    };

    // The relay the on-chain service names: it passes requests to the oracle and, in "tamper" mode, edits each
    // answer and re-signs its receipt with the provider's key (a lying provider: hashes, fee and signature hold).
    relay = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        if (request.url === "/v1/vouchers") vouchers++;
        void fetch(`${oracleUrl}${request.url}`, {
          method: request.method,
          headers: Object.fromEntries(
            [USER_HEADER, VOUCHER_HEADER, REQUEST_HEADER, READ_HEADER, "content-type"]
              .filter((name) => typeof request.headers[name] === "string")
              .map((name) => [name, request.headers[name] as string]),
          ),
          body: request.method === "POST" ? Buffer.concat(chunks) : undefined,
        }).then(async (upstream) => {
          const type = upstream.headers.get("content-type") ?? "application/json";
          let text = await upstream.text();
          if (mode === "tamper" && request.url === "/v1/chat/completions" && upstream.ok) {
            if (type.startsWith("text/event-stream")) {
              let edited = false;
              text = events(text)
                .map((data) => {
                  if (data === "[DONE]") return data;
                  const chunk = JSON.parse(data) as {
                    choices: { delta: { content?: string } }[];
                    zg_receipt?: Receipt;
                  };
                  const delta = chunk.choices[0]?.delta;
                  if (!edited && delta?.content) {
                    delta.content = `TAMPERED ${delta.content}`;
                    edited = true;
                  }
                  if (chunk.zg_receipt) {
                    chunk.zg_receipt = resign(
                      chunk.zg_receipt,
                      `TAMPERED ${chunk.zg_receipt.response.content}`,
                    );
                  }
                  return JSON.stringify(chunk);
                })
                .map((data) => `data: ${data}\n\n`)
                .join("");
            } else {
              const body = JSON.parse(text) as {
                choices: { message: { content: string } }[];
                zg_receipt: Receipt;
              };
              const content = `TAMPERED ${body.choices[0].message.content}`;
              body.choices[0].message.content = content;
              body.zg_receipt = resign(body.zg_receipt, content);
              text = JSON.stringify(body);
            }
          }
          response.writeHead(upstream.status, { "content-type": type }).end(text);
        });
      });
    });
    await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
    oracle = await startWorker(
      await oracleWorker(),
      {
        rpcUrl: rpc.url,
        registry: record.registry,
        privateKey: operator.privateKey,
        dataDir: tempDir("proxy-oracle"),
        http: { host: "127.0.0.1", port: oraclePort },
        confirmations: 0,
        pollIntervalMs: 100,
        startBlock: record.startBlock,
        engine: "builtin",
        service: {
          publicUrl: `http://127.0.0.1:${(relay.address() as AddressInfo).port}`,
          inputPrice: INPUT_PRICE.toString(),
          outputPrice: OUTPUT_PRICE.toString(),
          region: "eu",
        },
        settleIntervalMs: 60_000,
        settleCheckMs: 100,
      },
      { write: () => undefined },
    );
  });
  after(async () => {
    await Promise.all(proxies.map((proxy) => proxy.close()));
    await oracle?.stop();
    relay?.close();
    for (const chain of chains) chain.destroy();
    await rpc.close();
    process.env.ZG_HOME = previousHome;
  });
  afterEach(() => {
    mode = "pass";
  });

  it("serves models.list, a chat and a streamed chat to a stock OpenAI client, each verified and acknowledged", async () => {
    const { proxy } = await proxyFor(66);
    const client = openai(proxy);
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).to.deep.equal([MODEL]);

    const question = "what does a storage node do?";
    const answer = await expected(question, { max_tokens: 24, seed: 7 });
    const before = vouchers;
    const completion = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: question }],
      max_tokens: 24,
      seed: 7,
    });
    expect(completion.choices[0].message.content).to.equal(answer);
    expect(completion.choices[0].finish_reason).to.be.oneOf(["stop", "length"]);
    expect(completion.usage?.completion_tokens).to.be.greaterThan(0);
    expect(vouchers).to.equal(before + 1);

    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: question }],
      max_tokens: 24,
      seed: 7,
      stream: true,
    });
    let content = "";
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      content += chunk.choices[0]?.delta?.content ?? "";
    }
    expect(content).to.equal(answer);
    expect(chunks.length).to.be.greaterThan(3);
    expect(chunks.every((chunk) => chunk.object === "chat.completion.chunk")).to.equal(true);
    expect(chunks[chunks.length - 1].choices[0].finish_reason).to.equal(completion.choices[0].finish_reason);
    expect(vouchers).to.equal(before + 2);

    // With include_usage, the last chunk carries the usage and the verified receipt.
    const withUsage = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "and a validator?" }],
      max_tokens: 12,
      stream: true,
      stream_options: { include_usage: true },
    });
    const last: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of withUsage) last.push(chunk);
    const tail = last[last.length - 1] as OpenAI.Chat.Completions.ChatCompletionChunk & {
      zg_receipt: Receipt;
    };
    expect(tail.choices).to.deep.equal([]);
    expect(tail.usage?.completion_tokens).to.equal(tail.zg_receipt.outputTokens);
    expect(tail.zg_receipt.seq).to.equal(3);
    expect(await expected("and a validator?", { max_tokens: 12 })).to.equal(tail.zg_receipt.response.content);

    // Bad input is the client's error (400), with OpenAI's error shape.
    let failure: unknown;
    await client.chat.completions
      .create({ model: "gpt-4", messages: [{ role: "user", content: "hi" }] })
      .catch((error: unknown) => (failure = error));
    expect(failure).to.be.instanceOf(OpenAI.BadRequestError);
    expect((failure as Error).message).to.match(/model 'gpt-4' is not served here/);
  });

  it("refuses a tampered answer, whole or streamed, and acknowledges none", async () => {
    const { proxy } = await proxyFor(67);
    const client = openai(proxy);
    const question = "tell me about vouchers";
    const honest = await expected(question, { max_tokens: 16 });
    mode = "tamper";
    const before = vouchers;

    let failure: unknown;
    const whole = await client.chat.completions
      .create({ model: MODEL, messages: [{ role: "user", content: question }], max_tokens: 16 })
      .catch((error: unknown) => (failure = error));
    expect(whole).to.equal(failure);
    expect(failure).to.be.instanceOf(OpenAI.APIError);
    expect((failure as InstanceType<typeof OpenAI.APIError>).status).to.equal(502);
    expect((failure as Error).message).to.match(
      /failed verification \(re-execution gives a different response\)/,
    );
    expect(vouchers).to.equal(before);

    // The next request first acknowledges what the oracle stored for the refused one (the honest answer, which
    // verifies), then its own answer is tampered again: the stream ends with an error, without its final chunk.
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: question }],
      max_tokens: 16,
      stream: true,
    });
    const afterCatchUp = vouchers;
    expect(afterCatchUp).to.equal(before + 1);
    let streamed = "";
    let finished = false;
    failure = undefined;
    try {
      for await (const chunk of stream) {
        streamed += chunk.choices[0]?.delta?.content ?? "";
        if (chunk.choices[0]?.finish_reason) finished = true;
      }
    } catch (error) {
      failure = error;
    }
    expect(failure).to.be.instanceOf(OpenAI.APIError);
    expect((failure as Error).message).to.match(
      /failed verification.*re-execution gives a different response/,
    );
    expect(finished).to.equal(false);
    // Content chunks are relayed as they come (unverified until the end): the stream never completes with them.
    expect(streamed.startsWith("TAMPERED")).to.equal(true);
    expect(vouchers).to.equal(afterCatchUp);

    // An honest relay again: the stored answer is acknowledged, and the proxy serves on.
    mode = "pass";
    const next = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: question }],
      max_tokens: 16,
    });
    expect(next.choices[0].message.content).to.equal(honest);
    expect(vouchers).to.equal(afterCatchUp + 2);
  });

  it("listens on 127.0.0.1 only, enforces its token, and refuses other hosts and web origins", async () => {
    const { proxy } = await proxyFor(68, "s3cret-token");
    expect(new URL(proxy.url).hostname).to.equal("127.0.0.1");
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a !== undefined && !a.internal && a.family === "IPv4")
      .map((a) => a?.address as string);
    for (const address of [...others, "[::1]"]) {
      const reached = await fetch(`http://${address}:${proxy.port}/v1/models`).then(
        () => true,
        () => false,
      );
      expect(reached, address).to.equal(false);
    }

    let failure: unknown;
    await openai(proxy, "wrong")
      .models.list()
      .catch((error: unknown) => (failure = error));
    expect(failure).to.be.instanceOf(OpenAI.AuthenticationError);
    expect((failure as Error).message).to.match(/needs its token/);
    const models = await openai(proxy, "s3cret-token").models.list();
    expect(models.data[0].id).to.equal(MODEL);

    const raw = (headers: Record<string, string>) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const call = httpRequest(
          { host: "127.0.0.1", port: proxy.port, path: "/v1/models", headers },
          (response) => {
            let body = "";
            response.on("data", (chunk: Buffer) => (body += chunk.toString()));
            response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
          },
        );
        call.on("error", reject);
        call.end();
      });
    const auth = { authorization: "Bearer s3cret-token" };
    expect((await raw({ ...auth, host: `evil.example:${proxy.port}` })).status).to.equal(403);
    expect((await raw({ ...auth, origin: "https://evil.example" })).body).to.match(/web origin/);
    expect((await raw(auth)).status).to.equal(200);
  });

  it("the oracle streams Server-Sent Events after storing the receipt, and refuses an unfunded stream before any work", async () => {
    const { key, client } = await user(69);
    const domain = client.domain;
    const body = {
      model: MODEL,
      messages: [{ role: "user", content: "hello there" }],
      max_tokens: 12,
      stream: true,
    };
    const headers = (seq: number, who: Wallet | HDNodeWallet = key) => {
      const hash = requestHash(canonicalRequest({ ...body, stream: false }, MODEL));
      const digest = domain.requestDigest({
        user: who.address,
        provider: operator.address,
        requestHash: hash,
        seq: BigInt(seq),
      });
      const voucher = { user: who.address, amount: 0n, nonce: 1n };
      return {
        "content-type": "application/json",
        [USER_HEADER]: who.address,
        [VOUCHER_HEADER]: encodeVoucherHeader({
          ...voucher,
          signature: who.signingKey.sign(domain.voucherDigest({ ...voucher, provider: operator.address }))
            .serialized,
        }),
        [REQUEST_HEADER]: encodeRequestHeader(BigInt(seq), who.signingKey.sign(digest).serialized),
      };
    };
    const read = async (who: Wallet | HDNodeWallet, route: string) => {
      const expires = BigInt(Math.floor(Date.now() / 1000) + 60);
      const signature = who.signingKey.sign(
        domain.readDigest({ user: who.address, provider: operator.address, expires }),
      ).serialized;
      return fetch(`${oracleUrl}${route}`, {
        headers: { [READ_HEADER]: encodeReadHeader(expires, signature) },
      });
    };

    const response = await fetch(`${oracleUrl}/v1/chat/completions`, {
      method: "POST",
      headers: headers(1),
      body: JSON.stringify(body),
    });
    expect(response.status).to.equal(200);
    expect(response.headers.get("content-type")).to.match(/^text\/event-stream/);
    // The headers are here and the body not read yet: the receipt is already stored.
    const stored = (await (await read(key, `/v1/receipts/${key.address}/1`)).json()) as Receipt;
    expect(stored.seq).to.equal(1);

    const text = await response.text();
    expect(text.endsWith("data: [DONE]\n\n")).to.equal(true);
    const data = events(text);
    expect(data[data.length - 1]).to.equal("[DONE]");
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as Record<string, unknown>);
    const choices = (c: Record<string, unknown>) =>
      c.choices as {
        index: number;
        delta: { role?: string; content?: string };
        finish_reason: string | null;
      }[];
    expect(chunks.every((c) => c.object === "chat.completion.chunk")).to.equal(true);
    expect(choices(chunks[0])[0].delta).to.deep.equal({ role: "assistant", content: "" });
    const receiptChunk = chunks[chunks.length - 1] as { zg_receipt: Receipt; usage: Record<string, number> };
    expect(choices(chunks[chunks.length - 1])).to.deep.equal([]);
    expect(receiptChunk.zg_receipt).to.deep.equal(stored);
    expect(receiptChunk.usage.completion_tokens).to.equal(stored.outputTokens);
    const finish = chunks[chunks.length - 2];
    expect(choices(finish)[0]).to.deep.equal({
      index: 0,
      delta: {},
      finish_reason: stored.response.finishReason,
    });
    const content = chunks
      .slice(1, -2)
      .map((c) => {
        expect(choices(c)[0].finish_reason).to.equal(null);
        return choices(c)[0].delta.content;
      })
      .join("");
    expect(content).to.equal(stored.response.content);
    expect(content).to.equal(await expected("hello there", { max_tokens: 12 }));
    expect(chunks.length - 3).to.be.greaterThan(1);

    // A user without a sub-account: refused with JSON 402 before any work, and nothing stored.
    const { key: poor } = await user(70, "0");
    const refused = await fetch(`${oracleUrl}/v1/chat/completions`, {
      method: "POST",
      headers: headers(1, poor),
      body: JSON.stringify(body),
    });
    expect(refused.status).to.equal(402);
    expect(refused.headers.get("content-type")).to.match(/^application\/json/);
    expect(((await refused.json()) as { error: { message: string } }).error.message).to.match(/holds 0 wei/);
    const account = (await (await read(poor, `/v1/account/${poor.address}`)).json()) as { seq: number };
    expect(account.seq).to.equal(0);
    // A streamed request signed by someone else is refused before anything else too.
    const forged = await fetch(`${oracleUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { ...headers(2), [REQUEST_HEADER]: headers(2, Wallet.createRandom())[REQUEST_HEADER] },
      body: JSON.stringify(body),
    });
    expect(forged.status).to.equal(401);
  });

  describe("the zg proxy command", () => {
    let env: NodeJS.ProcessEnv;
    let child: ChildProcess | undefined;
    before(() => {
      const clean = Object.fromEntries(
        Object.entries(process.env).filter(([name]) => !name.startsWith("ZG_")),
      );
      env = {
        ...clean,
        ZG_HOME: tempDir("proxy-cli-home"),
        ZG_DEPLOYMENTS_DIR: process.env.ZG_DEPLOYMENTS_DIR,
        ZG_RPC_URL: rpc.url,
      };
    });
    after(() => {
      child?.kill("SIGKILL");
    });

    it("answers bad input with one line", async () => {
      const { key } = await user(71);
      const zg = (args: string[]) => runZg(args, { ...env, ZG_PRIVATE_KEY: key.privateKey });
      expect(expectFailure(await zg(["proxy"]))).to.match(/zg proxy needs --provider <address>/);
      expect(expectFailure(await zg(["proxy", "--provider", "nobody"]))).to.match(/provider/);
      expect(expectFailure(await zg(["proxy", "--provider", Wallet.createRandom().address]))).to.match(
        /has no service registered/,
      );
      expect(expectFailure(await zg(["proxy", "--provider", operator.address, "--port", "99999"]))).to.match(
        /--port must be a port number/,
      );
      expect(expectFailure(await runZg(["proxy", "--provider", operator.address], env))).to.match(/key/);
    });

    it("prints its URL, serves a stock client until Ctrl-C", async () => {
      const { key } = await user(72);
      const port = await freePort();
      child = spawn(
        process.execPath,
        [path.resolve("bin/zg.js"), "proxy", "--provider", operator.address, "--port", String(port)],
        { env: { ...env, ZG_PRIVATE_KEY: key.privateKey, ZG_PROXY_TOKEN: "cli-token" }, stdio: "pipe" },
      );
      const running = child;
      let stdout = "";
      running.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      await new Promise<void>((resolve, reject) => {
        running.stdout?.on("data", () => {
          if (stdout.includes("\n")) resolve();
        });
        running.on("exit", () => reject(new Error(`zg proxy exited: ${stdout}`)));
      });
      const url = `http://127.0.0.1:${port}/v1`;
      expect(stdout).to.contain(`at ${url}`);
      const client = new OpenAI({ baseURL: url, apiKey: "cli-token", maxRetries: 0 });
      const answer = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: "what is a storage node?" }],
        max_tokens: 10,
      });
      expect(answer.choices[0].message.content).to.equal(
        await expected("what is a storage node?", { max_tokens: 10 }),
      );
      const exit = new Promise<number | null>((resolve) => running.on("exit", (code) => resolve(code)));
      running.kill("SIGINT");
      expect(await exit).to.equal(0);
      child = undefined;
    });
  });
});

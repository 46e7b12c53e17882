import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { parseEther, Wallet } from "ethers";
import hre from "hardhat";
import type { ZgChain } from "../../offchain/core/chain";
import { connectDevnet } from "../../offchain/devnet/accounts";
import type { DeploymentRecord } from "../../offchain/core/deployments";
import { DurableStore } from "../../offchain/core/store";
import { startWorker, type WorkerHandle } from "../../offchain/core/worker";
import { ServingClient } from "../../offchain/serving/client";
import { BuiltinEngine, canonicalRequest } from "../../offchain/engine/engines";
import { InferenceSession } from "../../offchain/serving/inference";
import { oracleWorker } from "../helpers/oracle";
import {
  encodeReadHeader,
  encodeRequestHeader,
  encodeVoucherHeader,
  READ_HEADER,
  receiptProblems,
  REQUEST_HEADER,
  requestHash,
  ServingDomain,
  USER_HEADER,
  VOUCHER_HEADER,
  type Receipt,
} from "../../offchain/serving/protocol";
import { readReceipt, verifyReceipt } from "../../offchain/serving/receipts";
import { NodeStaking__factory } from "../../typechain-types";
import { deployForTest, devAccount, startRpc, tempDir, type TestRpc } from "../helpers/chain";
import { freePort, until } from "../helpers/process";

const quiet = () => undefined;
const PROVIDER_ROLE = 2;
const INPUT_PRICE = 1_000_000_000n;
const OUTPUT_PRICE = 3_000_000_000n;

describe("inference oracle", function () {
  this.timeout(240_000);
  let rpc: TestRpc;
  let record: DeploymentRecord;
  const handles: WorkerHandle[] = [];
  const children: ChildProcess[] = [];
  const chains: ZgChain[] = [];
  let previousHome: string | undefined;

  before(async () => {
    rpc = await startRpc();
    record = await deployForTest("full");
    previousHome = process.env.ZG_HOME;
    process.env.ZG_HOME = tempDir("serving-home");
  });
  after(async () => {
    await rpc.close();
    process.env.ZG_HOME = previousHome;
  });
  afterEach(async () => {
    await Promise.all(handles.splice(0).map((handle) => handle.stop()));
    for (const child of children.splice(0)) child.kill("SIGKILL");
    for (const chain of chains.splice(0)) chain.destroy();
  });

  async function fund(address: string, coin = "30") {
    const [funder] = await hre.ethers.getSigners();
    await (await funder.sendTransaction({ to: address, value: parseEther(coin) })).wait();
  }

  async function stakeProvider(index: number) {
    const operator = devAccount(index);
    await fund(operator.address);
    const staking = NodeStaking__factory.connect(
      record.modules.NodeStaking.address,
      operator.connect(hre.ethers.provider),
    );
    await (await staking.stake(PROVIDER_ROLE, { value: parseEther("10") })).wait();
    return operator;
  }

  async function oracleConfig(index: number, extra: Record<string, unknown> = {}) {
    const operator = await stakeProvider(index);
    const port = await freePort();
    return {
      operator,
      url: `http://127.0.0.1:${port}`,
      config: {
        rpcUrl: rpc.url,
        registry: record.registry,
        privateKey: operator.privateKey,
        dataDir: tempDir("oracle"),
        http: { host: "127.0.0.1", port },
        confirmations: 0,
        pollIntervalMs: 100,
        startBlock: record.startBlock,
        engine: "builtin",
        service: {
          publicUrl: `http://127.0.0.1:${port}`,
          inputPrice: INPUT_PRICE.toString(),
          outputPrice: OUTPUT_PRICE.toString(),
          region: "eu",
        },
        settleIntervalMs: 60_000,
        settleCheckMs: 100,
        ...extra,
      } as Record<string, unknown>,
    };
  }

  async function startOracle(index: number, extra: Record<string, unknown> = {}) {
    const setup = await oracleConfig(index, extra);
    handles.push(await startWorker(await oracleWorker(), setup.config, { write: quiet }));
    return setup;
  }

  async function user(index: number, deposit = "2") {
    const key = devAccount(index);
    await fund(key.address, "5");
    const chain = await connectDevnet(rpc.url, record.registry, key.privateKey);
    chains.push(chain);
    const client = await ServingClient.connect(chain);
    if (deposit !== "0") await client.deposit(parseEther(deposit));
    return { key, chain, client };
  }

  function spawnOracle(configFile: string): ChildProcess {
    const child = spawn(
      process.execPath,
      [path.resolve("bin/zg.js"), "node", "oracle", "--config", configFile],
      {
        env: process.env,
        stdio: "ignore",
      },
    );
    children.push(child);
    return child;
  }

  async function rawChat(url: string, headers: Record<string, string>, body: unknown) {
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  const prompt = (text: string) => [{ role: "user" as const, content: text }];

  /** The `x-zg-request` header `signer` makes for `user`'s request number `seq` with this body. */
  function signedRequest(
    domain: ServingDomain,
    signer: { signingKey: { sign(digest: string): { serialized: string } } },
    user: string,
    provider: string,
    body: unknown,
    seq: number,
  ) {
    const hash = requestHash(canonicalRequest(body, "zg-builtin-1"));
    const digest = domain.requestDigest({ user, provider, requestHash: hash, seq: BigInt(seq) });
    return encodeRequestHeader(BigInt(seq), signer.signingKey.sign(digest).serialized);
  }

  /** What the client of `user` remembers about `provider` (its latest voucher). */
  function bookOf(client: ServingClient, provider: string, user: string) {
    const file = path.join(
      process.env.ZG_HOME as string,
      "serving",
      `31337-${client.domain.verifyingContract.toLowerCase()}`,
      provider.toLowerCase(),
      `${user.toLowerCase()}.json`,
    );
    return JSON.parse(readFileSync(file, "utf8")) as { amount: string; nonce: string; signature: string };
  }

  it("lists its model with the registered hash and prices", async () => {
    const { url } = await startOracle(40);
    const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: Record<string, unknown>[] };
    expect(models.data).to.have.length(1);
    expect(models.data[0].id).to.equal("zg-builtin-1");
    expect(models.data[0].model_hash).to.equal(new BuiltinEngine().modelHash);
    expect(models.data[0].input_price).to.equal(INPUT_PRICE.toString());
  });

  it("serves 100 paid requests across a kill -9 and pays exactly the fees the responses stated", async () => {
    const setup = await oracleConfig(41, { settleIntervalMs: 500 });
    const configFile = path.join(tempDir("oracle-config"), "oracle.json");
    writeFileSync(configFile, JSON.stringify(setup.config));
    let child = spawnOracle(configFile);
    await until(() => fetch(`${setup.url}/health`).then((r) => r.ok), Boolean, 60_000);

    const { key, client } = await user(60);
    await client.fund(setup.operator.address, parseEther("1"));
    const session = await InferenceSession.open(client, setup.operator.address);
    const answers: string[] = [];
    for (let i = 0; i < 100; i++) {
      if (i === 50) {
        // Kill the oracle while a request is in flight, then restart it on the same data directory.
        const inFlight = session.chat(prompt(`question ${i} about storage nodes`), { max_tokens: 24 });
        await new Promise((resolve) => setTimeout(resolve, 5));
        child.kill("SIGKILL");
        await inFlight.then(
          (result) => answers.push(result.content),
          () => undefined,
        );
        child = spawnOracle(configFile);
        await until(() => fetch(`${setup.url}/health`).then((r) => r.ok), Boolean, 60_000);
        continue;
      }
      const result = await session.chat(prompt(`question ${i} about storage nodes`), { max_tokens: 24 });
      answers.push(result.content);
    }

    // Every receipt the user holds verifies and re-executes bit for bit; their fees sum to the last voucher.
    const receiptsDir = path.join(
      process.env.ZG_HOME as string,
      "serving",
      `31337-${client.domain.verifyingContract.toLowerCase()}`,
      setup.operator.address.toLowerCase(),
      "receipts",
      key.address.toLowerCase(),
    );
    const files = readdirSync(receiptsDir).filter((f) => !f.includes("rejected"));
    expect(files.length).to.be.within(99, 100);
    let total = 0n;
    for (const file of files) {
      const receipt = readReceipt(path.join(receiptsDir, file));
      const report = await verifyReceipt(receipt, client);
      expect(report.problems, file).to.deep.equal([]);
      expect(report.replay.status).to.equal("match");
      total += BigInt(receipt.fee);
    }
    await until(
      () => client.voucherState(key.address, setup.operator.address),
      (state) => state.settled === total,
      30_000,
    );
    expect(await client.earnings(setup.operator.address)).to.equal(total);
    const sub = await client.subAccount(key.address, setup.operator.address);
    expect(sub.balance).to.equal(parseEther("1") - total);
  });

  it("refuses bad and unfunded requests with a JSON error before any work", async () => {
    const { url, operator } = await startOracle(42);
    const { key, client } = await user(61);
    const domain = new ServingDomain(31337, client.domain.verifyingContract);
    const sign = (signer: Wallet | typeof key, amount: bigint, nonce: bigint, provider = operator.address) =>
      encodeVoucherHeader({
        user: key.address,
        amount,
        nonce,
        signature: signer.signingKey.sign(
          domain.voucherDigest({ user: key.address, provider, amount, nonce }),
        ).serialized,
      });
    const body = { model: "zg-builtin-1", messages: prompt("hello") };
    const request = (signer: Wallet | typeof key, payload: unknown = body) =>
      signedRequest(domain, signer, key.address, operator.address, payload, 1);
    const ok = {
      [USER_HEADER]: key.address,
      [VOUCHER_HEADER]: sign(key, 0n, 1n),
      [REQUEST_HEADER]: request(key),
    };

    const cases: [string, Record<string, string>, unknown, number, RegExp][] = [
      ["no user header", { [VOUCHER_HEADER]: sign(key, 0n, 1n) }, body, 400, /x-zg-user/],
      [
        "malformed voucher",
        { [USER_HEADER]: key.address, [VOUCHER_HEADER]: "12:x" },
        body,
        400,
        /x-zg-voucher/,
      ],
      [
        "voucher signed by someone else",
        { ...ok, [VOUCHER_HEADER]: sign(Wallet.createRandom(), 0n, 1n) },
        body,
        401,
        /not signed/,
      ],
      [
        "voucher for another provider",
        { ...ok, [VOUCHER_HEADER]: sign(key, 0n, 1n, Wallet.createRandom().address) },
        body,
        401,
        /not signed/,
      ],
      ["voucher above what is owed", { ...ok, [VOUCHER_HEADER]: sign(key, 5n, 1n) }, body, 409, /exceeds/],
      ["no request signature", { ...ok, [REQUEST_HEADER]: "" }, body, 400, /x-zg-request/],
      [
        "request signed by someone else",
        { ...ok, [REQUEST_HEADER]: request(Wallet.createRandom()) },
        body,
        401,
        /request is not signed/,
      ],
      [
        "request signed for another body",
        { ...ok, [REQUEST_HEADER]: request(key, { ...body, max_tokens: 9 }) },
        body,
        401,
        /request is not signed/,
      ],
      ["invalid JSON", ok, "{", 400, /not valid JSON/],
      ["another model", ok, { ...body, model: "gpt-4" }, 400, /not served here/],
      ["stream not a boolean", ok, { ...body, stream: "yes" }, 400, /stream/],
      ["streamed, unfunded", ok, { ...body, stream: true }, 402, /holds 0 wei/],
      ["no messages", ok, { model: "zg-builtin-1", messages: [] }, 400, /messages/],
      ["bad max_tokens", ok, { ...body, max_tokens: -3 }, 400, /max_tokens/],
      ["unfunded sub-account", ok, body, 402, /holds 0 wei/],
    ];
    for (const [name, headers, payload, status, message] of cases) {
      const reply = await rawChat(url, headers, payload);
      expect(reply.status, name).to.equal(status);
      expect((reply.body.error as { message: string }).message, name).to.match(message);
    }
    const big = await rawChat(url, ok, { ...body, messages: prompt("x".repeat(1_100_000)) });
    expect(big.status).to.equal(413);
  });

  it("answers only users who acknowledged every earlier response, and rejects stale vouchers", async () => {
    const { url, operator } = await startOracle(43);
    const { key, client } = await user(62);
    await client.fund(operator.address, parseEther("1"));
    const domain = client.domain;
    const voucher = (amount: bigint, nonce: bigint) =>
      encodeVoucherHeader({
        user: key.address,
        amount,
        nonce,
        signature: key.signingKey.sign(
          domain.voucherDigest({ user: key.address, provider: operator.address, amount, nonce }),
        ).serialized,
      });
    const body = { model: "zg-builtin-1", messages: prompt("what is a storage node"), max_tokens: 8 };
    const signed = (seq: number) => signedRequest(domain, key, key.address, operator.address, body, seq);
    const first = await rawChat(
      url,
      { [USER_HEADER]: key.address, [VOUCHER_HEADER]: voucher(0n, 1n), [REQUEST_HEADER]: signed(1) },
      body,
    );
    expect(first.status).to.equal(200);
    const receipt = first.body.zg_receipt as Receipt;
    expect(receiptProblems(receipt)).to.deep.equal([]);

    const unpaid = await rawChat(
      url,
      { [USER_HEADER]: key.address, [VOUCHER_HEADER]: voucher(0n, 1n), [REQUEST_HEADER]: signed(2) },
      body,
    );
    expect(unpaid.status).to.equal(402);
    expect((unpaid.body.error as { message: string }).message).to.match(/not acknowledged/);

    const ack = async (amount: bigint, nonce: bigint) => {
      const [, , signature] = voucher(amount, nonce).split(":");
      return fetch(`${url}/v1/vouchers`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          user: key.address,
          amount: amount.toString(),
          nonce: nonce.toString(),
          signature,
        }),
      });
    };
    expect((await ack(BigInt(receipt.cumulative) + 1n, 2n)).status).to.equal(409);
    expect((await ack(BigInt(receipt.cumulative), 2n)).status).to.equal(200);
    expect((await ack(BigInt(receipt.cumulative), 2n)).status).to.equal(200); // the same voucher again: idempotent
    const again = await rawChat(
      url,
      {
        [USER_HEADER]: key.address,
        [VOUCHER_HEADER]: voucher(BigInt(receipt.cumulative), 2n),
        [REQUEST_HEADER]: signed(2),
      },
      body,
    );
    expect(again.status).to.equal(200);
    const stale = await rawChat(
      url,
      {
        [USER_HEADER]: key.address,
        [VOUCHER_HEADER]: voucher(BigInt(receipt.cumulative), 1n),
        [REQUEST_HEADER]: signed(3),
      },
      body,
    );
    expect(stale.status).to.equal(409);

    const expires = BigInt(Math.floor(Date.now() / 1000) + 60);
    const read = encodeReadHeader(
      expires,
      key.signingKey.sign(domain.readDigest({ user: key.address, provider: operator.address, expires }))
        .serialized,
    );
    const account = (await (
      await fetch(`${url}/v1/account/${key.address}`, { headers: { [READ_HEADER]: read } })
    ).json()) as {
      pending: Receipt[];
      seq: number;
    };
    expect(account.seq).to.equal(2);
    expect(account.pending.map((r) => r.seq)).to.deep.equal([2]);
  });

  it("a client whose provider lost its records (a new chain, or a wiped data directory) starts over", async () => {
    const setup = await oracleConfig(48, { settleIntervalMs: 3_600_000 });
    const first = await startWorker(await oracleWorker(), setup.config, { write: quiet });
    const { client } = await user(67);
    await client.fund(setup.operator.address, parseEther("1"));
    const session = await InferenceSession.open(client, setup.operator.address);
    for (let i = 0; i < 2; i++) await session.chat(prompt(`what is a storage node? ${i}`), { max_tokens: 8 });
    await first.stop();
    // The same provider, an empty data directory: it knows nothing of the two acknowledged responses.
    handles.push(
      await startWorker(
        await oracleWorker(),
        { ...setup.config, dataDir: tempDir("oracle-wiped") },
        { write: quiet },
      ),
    );
    const again = await InferenceSession.open(client, setup.operator.address);
    const result = await again.chat(prompt("what is a storage node?"), { max_tokens: 8 });
    expect(result.receipt.seq).to.equal(1);
    expect(result.receipt.cumulative).to.equal(result.receipt.fee);
  });

  it("a copied voucher spends nothing: the victim is not billed and keeps the provider; a signed request is answered once", async () => {
    const { url, operator } = await startOracle(49);
    const victim = await user(68);
    await victim.client.fund(operator.address, parseEther("1"));
    const session = await InferenceSession.open(victim.client, operator.address);
    const first = await session.chat(prompt("what is a storage node?"), { max_tokens: 8 });

    // The victim's latest voucher (the account endpoint used to publish it to anyone), sent as the victim.
    const book = bookOf(victim.client, operator.address, victim.key.address);
    const copied = {
      [USER_HEADER]: victim.key.address,
      [VOUCHER_HEADER]: `${book.amount}:${book.nonce}:${book.signature}`,
    };
    const body = { model: "zg-builtin-1", messages: prompt("bill this to someone else"), max_tokens: 8 };
    const stolen = await rawChat(url, copied, body);
    expect(stolen.status).to.equal(400);
    expect((stolen.body.error as { message: string }).message).to.match(/x-zg-request/);
    // With a request signature of the thief's own, for the victim's next number: not the victim's signature.
    const domain = victim.client.domain;
    const thief = Wallet.createRandom();
    const forged = await rawChat(
      url,
      {
        ...copied,
        [REQUEST_HEADER]: signedRequest(domain, thief, victim.key.address, operator.address, body, 2),
      },
      body,
    );
    expect(forged.status).to.equal(401);
    expect((forged.body.error as { message: string }).message).to.match(/request is not signed by/);
    // The account and its receipts answer only the user.
    expect((await fetch(`${url}/v1/account/${victim.key.address}`)).status).to.equal(400);
    expect((await fetch(`${url}/v1/receipts/${victim.key.address}/1`)).status).to.equal(400);
    const expires = Math.floor(Date.now() / 1000) + 60;
    const thiefRead = encodeReadHeader(
      BigInt(expires),
      thief.signingKey.sign(
        domain.readDigest({ user: victim.key.address, provider: operator.address, expires: BigInt(expires) }),
      ).serialized,
    );
    const peek = await fetch(`${url}/v1/account/${victim.key.address}`, {
      headers: { [READ_HEADER]: thiefRead },
    });
    expect(peek.status).to.equal(401);

    // The victim goes on, billed for its own requests only.
    const second = await session.chat(prompt("how are uploads paid?"), { max_tokens: 8 });
    expect(second.receipt.seq).to.equal(2);
    expect(BigInt(second.receipt.cumulative)).to.equal(first.fee + second.fee);

    // A request the victim's key signed (from another program) is answered once: the same headers again are
    // refused, and the victim's client acknowledges that response, which its key signed, and goes on.
    const own = { model: "zg-builtin-1", messages: prompt("one answer only"), max_tokens: 8 };
    const current = bookOf(victim.client, operator.address, victim.key.address);
    const headers = {
      [USER_HEADER]: victim.key.address,
      [VOUCHER_HEADER]: `${current.amount}:${current.nonce}:${current.signature}`,
      [REQUEST_HEADER]: signedRequest(domain, victim.key, victim.key.address, operator.address, own, 3),
    };
    const answered = await rawChat(url, headers, own);
    expect(answered.status).to.equal(200);
    expect((answered.body.zg_receipt as Receipt).requestSignature).to.equal(
      headers[REQUEST_HEADER].split(":")[1],
    );
    const replayed = await rawChat(url, headers, own);
    expect(replayed.status).to.equal(409);
    expect((replayed.body.error as { message: string }).message).to.match(/request number 3 is not the next/);
    const fourth = await session.chat(prompt("what is an agent?"), { max_tokens: 8 });
    expect(fourth.receipt.seq).to.equal(4);
  });

  it("a client whose record diverged from the provider's is told to resync, and resync takes the provider's record", async () => {
    const setup = await oracleConfig(50, { settleIntervalMs: 3_600_000 });
    const first = await startWorker(await oracleWorker(), setup.config, { write: quiet });
    const { client, key } = await user(69);
    await client.fund(setup.operator.address, parseEther("1"));
    const home = process.env.ZG_HOME;
    const laptop = await InferenceSession.open(client, setup.operator.address);
    await laptop.chat(prompt("what is a storage node?"), { max_tokens: 8 });
    await first.stop();
    // The provider lost its records; the same key then asked it something else from another machine.
    handles.push(
      await startWorker(
        await oracleWorker(),
        { ...setup.config, dataDir: tempDir("oracle-lost") },
        { write: quiet },
      ),
    );
    process.env.ZG_HOME = tempDir("other-machine");
    try {
      const desktop = await InferenceSession.open(client, setup.operator.address);
      await desktop.chat(prompt("how are uploads paid for, in detail?"), { max_tokens: 12 });
    } finally {
      process.env.ZG_HOME = home;
    }
    let failure: unknown;
    await laptop.chat(prompt("and agents?"), { max_tokens: 8 }).catch((error: unknown) => (failure = error));
    expect(String(failure)).to.match(
      new RegExp(
        `does not match this client's.*zg ledger resync ${setup.operator.address}.*InferenceSession\\.resync\\(\\)`,
      ),
    );
    const summary = await laptop.resync();
    expect(summary.seq).to.equal(1);
    const after = await laptop.chat(prompt("and agents?"), { max_tokens: 8 });
    expect(after.receipt.seq).to.equal(2);
    const book = bookOf(client, setup.operator.address, key.address);
    expect(BigInt(book.nonce)).to.be.greaterThan(2n);
  });

  /** Fresh keys with nothing in their sub-account each post a zero voucher and ask for a paid answer. */
  async function strangers(url: string, provider: string, count: number) {
    const domain = new ServingDomain(31337, record.modules.InferenceServing.address);
    const body = { model: "zg-builtin-1", messages: prompt("free lunch?"), max_tokens: 8 };
    for (let i = 0; i < count; i++) {
      const key = Wallet.createRandom();
      const digest = domain.voucherDigest({ user: key.address, provider, amount: 0n, nonce: 1n });
      const voucher = {
        user: key.address,
        amount: 0n,
        nonce: 1n,
        signature: key.signingKey.sign(digest).serialized,
      };
      const ack = await fetch(`${url}/v1/vouchers`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...voucher, amount: "0", nonce: "1" }),
      });
      expect(ack.status).to.equal(200);
      const chat = await rawChat(
        url,
        {
          [USER_HEADER]: key.address,
          [VOUCHER_HEADER]: encodeVoucherHeader(voucher),
          [REQUEST_HEADER]: signedRequest(domain, key, key.address, provider, body, 1),
        },
        body,
      );
      expect(chat.status).to.equal(402);
    }
  }

  it("shows its receipts, page by page, to active ALIGNMENT operators only", async () => {
    const { url, operator } = await startOracle(53);
    const { client } = await user(63);
    await client.fund(operator.address, parseEther("1"));
    const session = await InferenceSession.open(client, operator.address);
    for (let i = 0; i < 3; i++) await session.chat(prompt(`audit question ${i}`), { max_tokens: 8 });

    // A stranger's signed read, and an unsigned one, are refused before any store read.
    const stranger = await user(64, "0");
    const refused = await stranger.client.auditReceipts(operator.address).then(
      () => "served",
      (error: Error) => error.message,
    );
    expect(refused).to.match(/answered HTTP 403: 0x[0-9a-fA-F]{40} is not an active ALIGNMENT operator/);
    const unsigned = await fetch(`${url}/v1/audit/${stranger.key.address}/receipts`);
    // No read authorization at all: a bad request, saying what the header must hold.
    expect(unsigned.status).to.equal(400);

    // Staked for ALIGNMENT: the receipts, oldest first, in pages that follow each other.
    const auditor = await user(65, "0");
    const staking = NodeStaking__factory.connect(record.modules.NodeStaking.address, auditor.chain.signer);
    await (await staking.stake(4, { value: parseEther("1") })).wait();
    const first = await auditor.client.auditReceipts(operator.address, { limit: 2 });
    expect(first.receipts.map((r) => r.request.messages[0].content)).to.deep.equal([
      "audit question 0",
      "audit question 1",
    ]);
    const second = await auditor.client.auditReceipts(operator.address, { after: first.next as string });
    expect(second.receipts.map((r) => r.request.messages[0].content)).to.deep.equal(["audit question 2"]);
    const rest = await auditor.client.auditReceipts(operator.address, { after: second.next as string });
    expect(rest).to.deep.equal({ receipts: [], next: null });
    const tooMany = await auditor.client.auditReceipts(operator.address, { limit: 500 }).then(
      () => "served",
      (error: Error) => error.message,
    );
    expect(tooMany).to.match(/answered HTTP 400: limit must be 1 to 50$/);
  });

  it("stores nothing for keys without funds", async () => {
    const setup = await oracleConfig(51);
    const handle = await startWorker(await oracleWorker(), setup.config, { write: quiet });
    await strangers(setup.url, setup.operator.address, 24);
    await handle.stop();
    const store = await DurableStore.open(setup.config.dataDir as string);
    const keys: string[] = [];
    for await (const key of store.keys("serving/")) keys.push(key);
    await store.close();
    expect(keys).to.deep.equal([]);
  });

  it("keeps a bounded cache of balances", async () => {
    // Balances kept a minute, so that only the bound removes them during the test.
    const { url, operator } = await startOracle(52, { balanceCacheEntries: 8, balanceCacheMs: 60_000 });
    await strangers(url, operator.address, 20);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const cached = /^zg_oracle_balance_cache_entries(?:\{[^}]*\})? (\d+)/m.exec(metrics);
    expect(cached, "the balance cache gauge").to.not.equal(null);
    expect(Number(cached?.[1])).to.equal(8);
  });

  it("settles at once when a user's refund would unlock soon", async () => {
    const { operator } = await startOracle(44, { settleIntervalMs: 3_600_000, refundMarginSeconds: 172_800 });
    const { key, client } = await user(63);
    await client.fund(operator.address, parseEther("1"));
    const session = await InferenceSession.open(client, operator.address);
    const result = await session.chat(prompt("tell me about data availability"), { max_tokens: 16 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await client.voucherState(key.address, operator.address)).settled).to.equal(0n);
    await client.requestRefund(operator.address, parseEther("0.5"));
    await until(
      () => client.voucherState(key.address, operator.address),
      (state) => state.settled === result.fee,
    );
  });

  it("a provider that inflates a fee is not acknowledged, and a forged voucher pays nothing", async () => {
    const { url, operator } = await startOracle(45);
    const { key, client } = await user(64);
    await client.fund(operator.address, parseEther("1"));
    // A malicious front: the same oracle, but every receipt's fee doubled and re-signed with the provider's key.
    const domain = client.domain;
    const front: Server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        void fetch(`${url}${request.url}`, {
          method: request.method,
          headers: Object.fromEntries(
            [USER_HEADER, VOUCHER_HEADER, REQUEST_HEADER, READ_HEADER, "content-type"]
              .filter((name) => typeof request.headers[name] === "string")
              .map((name) => [name, request.headers[name] as string]),
          ),
          body: request.method === "POST" ? Buffer.concat(chunks) : undefined,
        }).then(async (upstream) => {
          const body = (await upstream.json()) as Record<string, unknown>;
          const receipt = body.zg_receipt as Receipt | undefined;
          if (receipt) {
            const fee = BigInt(receipt.fee) * 2n;
            const inflated = {
              ...receipt,
              fee: fee.toString(),
              cumulative: (BigInt(receipt.cumulative) + fee / 2n).toString(),
            };
            inflated.signature = operator.signingKey.sign(
              domain.responseDigest({
                user: inflated.user,
                provider: inflated.provider,
                modelHash: inflated.modelHash,
                requestHash: inflated.requestHash,
                responseHash: inflated.responseHash,
                inputTokens: BigInt(inflated.inputTokens),
                outputTokens: BigInt(inflated.outputTokens),
                fee,
                seq: BigInt(inflated.seq),
                cumulative: BigInt(inflated.cumulative),
              }),
            ).serialized;
            body.zg_receipt = inflated;
          }
          response
            .writeHead(upstream.status, { "content-type": "application/json" })
            .end(JSON.stringify(body));
        });
      });
    });
    await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
    try {
      const provider = await ServingClient.connect(
        await connectDevnet(rpc.url, record.registry, operator.privateKey),
      );
      chains.push(provider.chain);
      const current = await provider.service(operator.address);
      await provider.update({ ...current, url: `http://127.0.0.1:${(front.address() as AddressInfo).port}` });
      const session = await InferenceSession.open(client, operator.address);
      let failure: unknown;
      await session
        .chat(prompt("hello there"), { max_tokens: 8 })
        .catch((error: unknown) => (failure = error));
      expect(String(failure)).to.match(/failed verification.*fee/);

      // The provider holds no voucher covering that response; a voucher it forges pays nothing either.
      const forged = { user: key.address, amount: parseEther("0.5"), nonce: 9n };
      const settled = await provider.settle([
        {
          ...forged,
          signature: operator.signingKey.sign(domain.voucherDigest({ ...forged, provider: operator.address }))
            .serialized,
        },
      ]);
      expect(settled).to.deep.equal([{ user: key.address, paid: 0n, rejection: "BadSignature" }]);
      expect(await provider.earnings(operator.address)).to.equal(0n);
    } finally {
      front.close();
    }
  });

  it("forwards to an OpenAI-compatible server with its token counts, and reports its failures as 502", async () => {
    // A stand-in for vLLM/llama.cpp/Ollama: the real engines cannot run here.
    const upstream: Server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { messages: { content: string }[] };
        if (body.messages[0].content === "fail") {
          response.writeHead(500).end("model crashed");
          return;
        }
        response.writeHead(200, { "content-type": "application/json" }).end(
          JSON.stringify({
            choices: [{ message: { role: "assistant", content: "forty-two" }, finish_reason: "stop" }],
            usage: { prompt_tokens: 7, completion_tokens: 3 },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    try {
      const { operator, url } = await startOracle(47, {
        engine: `openai:http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
        model: "tiny-llm",
      });
      const { client } = await user(66);
      await client.fund(operator.address, parseEther("1"));
      const service = await client.service(operator.address);
      expect(service.model).to.equal("tiny-llm");
      expect(service.deterministic).to.equal(false);
      const session = await InferenceSession.open(client, operator.address);
      const result = await session.chat(prompt("the answer?"), { max_tokens: 8 });
      expect(result.content).to.equal("forty-two");
      expect(result.fee).to.equal(7n * INPUT_PRICE + 3n * OUTPUT_PRICE);
      const report = await verifyReceipt(result.receipt, client);
      expect(report.valid).to.equal(true);
      expect(report.replay.status).to.equal("skipped");
      let failure: unknown;
      await session.chat(prompt("fail")).catch((error: unknown) => (failure = error));
      expect(String(failure)).to.match(/the engine failed: .*HTTP 500/);
      const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: { id: string }[] };
      expect(models.data[0].id).to.equal("tiny-llm");
    } finally {
      upstream.close();
    }
  });
});

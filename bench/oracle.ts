/**
 * The inference oracle's own cost per request, apart from the engine: an oracle process (as operators run it) on
 * the in-process Hardhat network served over JSON-RPC, a paid service, and users that sign each request and a voucher
 * per response.
 *
 * - `oracle-overhead-p50/p99`: the oracle's `Server-Timing: overhead` of 500 sequential requests (validation,
 *   request signature, voucher and balance checks, response signing, the fsync'd receipt write; the engine's time
 *   excluded);
 * - `oracle-requests-per-second`: full requests (chat + the user's acknowledgement voucher) per second with 8 users
 *   in parallel, builtin engine at 16 output tokens, client and oracle sharing this machine's two cores.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseEther } from "ethers";
import type {} from "@nomicfoundation/hardhat-ethers/internal/type-extensions";
import hre from "hardhat";
import { JsonRpcServer } from "hardhat/internal/hardhat-network/jsonrpc/server";
import { deployProfile } from "../deploy/deploy-profile";
import { ZgChain } from "../offchain/core/chain";
import { devAccount } from "../offchain/devnet/accounts";
import { freePort, waitForHttp } from "../offchain/devnet/devnet";
import { ServingClient } from "../offchain/serving/client";
import { canonicalRequest } from "../offchain/engine/engines";
import {
  encodeRequestHeader,
  encodeVoucherHeader,
  REQUEST_HEADER,
  requestHash,
  USER_HEADER,
  VOUCHER_HEADER,
  type Receipt,
  type SignedVoucher,
} from "../offchain/serving/protocol";
import { NodeStaking__factory } from "../typechain-types";
import { percentile, type Figure } from "./figure";

const SEQUENTIAL = 500;
const USERS = 8;
const PER_USER = 60;

/** One user hammering the oracle: a signed request with the current voucher, then acknowledge the response. */
class BenchUser {
  private voucher: SignedVoucher;
  private seq = 0n;

  constructor(
    private readonly client: ServingClient,
    private readonly url: string,
    private readonly provider: string,
  ) {
    this.voucher = this.sign(0n, 1n);
  }

  private sign(amount: bigint, nonce: bigint): SignedVoucher {
    const user = this.client.chain.address as string;
    const digest = this.client.domain.voucherDigest({ user, provider: this.provider, amount, nonce });
    return { user, amount, nonce, signature: this.client.chain.signDigest(digest) };
  }

  /** One request and its acknowledgement; returns the oracle's overhead in milliseconds. */
  async request(index: number): Promise<number> {
    const request = canonicalRequest(
      {
        model: "zg-builtin-1",
        messages: [{ role: "user", content: `how are files stored, question ${index}?` }],
        max_tokens: 16,
      },
      "zg-builtin-1",
    );
    const seq = this.seq + 1n;
    const digest = this.client.domain.requestDigest({
      user: this.voucher.user,
      provider: this.provider,
      requestHash: requestHash(request),
      seq,
    });
    const response = await fetch(`${this.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        [USER_HEADER]: this.voucher.user,
        [VOUCHER_HEADER]: encodeVoucherHeader(this.voucher),
        [REQUEST_HEADER]: encodeRequestHeader(seq, this.client.chain.signDigest(digest)),
      },
      body: JSON.stringify(request),
    });
    const body = (await response.json()) as { zg_receipt?: Receipt; error?: { message: string } };
    if (!body.zg_receipt) throw new Error(`oracle: ${body.error?.message ?? response.status}`);
    const timing = /overhead;dur=([\d.]+)/.exec(response.headers.get("server-timing") ?? "");
    this.seq = seq;
    this.voucher = this.sign(BigInt(body.zg_receipt.cumulative), this.voucher.nonce + 1n);
    const ack = await fetch(`${this.url}/v1/vouchers`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        user: this.voucher.user,
        amount: this.voucher.amount.toString(),
        nonce: this.voucher.nonce.toString(),
        signature: this.voucher.signature,
      }),
    });
    if (!ack.ok) throw new Error(`acknowledgement refused: HTTP ${ack.status}`);
    await ack.arrayBuffer();
    return Number(timing?.[1] ?? NaN);
  }
}

export async function oracleBench(): Promise<Figure[]> {
  const dir = mkdtempSync(path.join(tmpdir(), "zg-bench-oracle-"));
  process.env.ZG_DEPLOYMENTS_DIR = dir;
  const server = new JsonRpcServer({ hostname: "127.0.0.1", port: 0, provider: hre.network.provider });
  const rpcUrl = `http://127.0.0.1:${(await server.listen()).port}`;
  let oracle: ChildProcess | undefined;
  const chains: ZgChain[] = [];
  try {
    const record = await deployProfile(hre, "full", path.join(dir, "31337.json"));
    const [governance] = await hre.ethers.getSigners();
    const provider = devAccount(300);
    await (await governance.sendTransaction({ to: provider.address, value: parseEther("20") })).wait();
    const staking = NodeStaking__factory.connect(
      record.modules.NodeStaking.address,
      provider.connect(hre.ethers.provider),
    );
    await (await staking.stake(2, { value: parseEther("10") })).wait();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const config = path.join(dir, "oracle.json");
    writeFileSync(
      config,
      JSON.stringify({
        rpcUrl,
        registry: record.registry,
        privateKey: provider.privateKey,
        dataDir: "oracle",
        http: { host: "127.0.0.1", port },
        confirmations: 0,
        startBlock: record.startBlock,
        service: { publicUrl: url, inputPrice: "1000000000", outputPrice: "3000000000" },
        logLevel: "warn",
      }),
    );
    oracle = spawn(
      process.execPath,
      [path.join(__dirname, "..", "bin", "zg.js"), "node", "oracle", "--config", config],
      {
        cwd: dir,
        stdio: "ignore",
      },
    );
    await waitForHttp(`${url}/health`);

    const users: BenchUser[] = [];
    for (let i = 0; i < USERS; i++) {
      const key = devAccount(310 + i);
      await (await governance.sendTransaction({ to: key.address, value: parseEther("5") })).wait();
      const chain = await ZgChain.connect({
        network: "localhost",
        rpcUrl,
        expectedChainId: 31337,
        registry: record.registry,
        key: { kind: "privateKey", privateKey: key.privateKey },
      });
      chains.push(chain);
      const client = await ServingClient.connect(chain);
      await client.deposit(parseEther("2"));
      await client.fund(provider.address, parseEther("2"));
      users.push(new BenchUser(client, url, provider.address));
    }

    for (let i = 0; i < 20; i++) await users[0].request(i); // warm-up
    const overheads: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) overheads.push(await users[0].request(i));

    const start = performance.now();
    await Promise.all(
      users.map(async (user) => {
        for (let i = 0; i < PER_USER; i++) await user.request(i);
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    const round = (value: number) => Math.round(value * 1000) / 1000;
    return [
      { name: "oracle-overhead-p50", value: round(percentile(overheads, 50)), unit: "ms (target < 2)" },
      { name: "oracle-overhead-p99", value: round(percentile(overheads, 99)), unit: "ms" },
      {
        name: "oracle-requests-per-second",
        value: Math.round((USERS * PER_USER) / seconds),
        unit: "requests/s (chat + acknowledgement, 8 users, builtin engine, 16 tokens)",
      },
    ];
  } finally {
    for (const chain of chains) chain.destroy();
    oracle?.kill("SIGTERM");
    if (oracle && oracle.exitCode === null) await new Promise((resolve) => oracle?.once("exit", resolve));
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

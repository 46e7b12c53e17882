import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { Wallet } from "ethers";
import type { DeploymentRecord } from "../../offchain/core/deployments";
import { startWorker, type WorkerHandle } from "../../offchain/core/worker";
import { oracleWorker } from "../helpers/oracle";
import type { Receipt } from "../../offchain/serving/protocol";
import { deployForTest, devAccount, startRpc, tempDir, type TestRpc } from "../helpers/chain";
import { expectFailure, expectSuccess, freePort, runZg } from "../helpers/process";

describe("zg serve, ledger, infer, receipts", function () {
  this.timeout(180_000);
  let rpc: TestRpc;
  let record: DeploymentRecord;
  let env: NodeJS.ProcessEnv;
  let oracle: WorkerHandle | undefined;
  const provider = devAccount(46);
  const userKey = devAccount(65);
  let url: string;

  const zg = (args: string[], key = userKey.privateKey) => runZg(args, { ...env, ZG_PRIVATE_KEY: key });

  before(async () => {
    rpc = await startRpc();
    record = await deployForTest("full");
    const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("ZG_")));
    env = {
      ...clean,
      ZG_HOME: tempDir("serving-cli-home"),
      ZG_DEPLOYMENTS_DIR: process.env.ZG_DEPLOYMENTS_DIR,
      ZG_RPC_URL: rpc.url,
    };
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    // devnet accounts beyond 20 are not funded by Hardhat: fund them from account 0 (the node's unlocked signer)
    const { ethers } = await import("hardhat");
    const [funder] = await ethers.getSigners();
    for (const account of [provider, userKey]) {
      await (await funder.sendTransaction({ to: account.address, value: ethers.parseEther("20") })).wait();
    }
    expectSuccess(
      await zg(["stake", "deposit", "--role", "PROVIDER", "--amount", "10"], provider.privateKey),
    );
  });
  after(async () => {
    await oracle?.stop();
    await rpc.close();
  });

  it("serve register / update / list, with one-line errors on bad input", async () => {
    const args = [
      "serve",
      "register",
      "--url",
      url,
      "--input-price",
      "1000",
      "--output-price",
      "2000",
      "--region",
      "eu",
    ];
    expect(expectSuccess(await zg(args, provider.privateKey))).to.match(
      /model\s+zg-builtin-1 \(deterministic\)/,
    );
    expect(expectFailure(await zg(args, provider.privateKey))).to.match(/ServingAlreadyRegistered/);
    expect(expectFailure(await zg(["serve", "register", "--url", "ftp://x"], userKey.privateKey))).to.match(
      /http or https/,
    );
    expect(
      expectFailure(await zg(["serve", "update", "--input-price", "1.5"], provider.privateKey)),
    ).to.match(/not a whole number of wei/);
    expect(expectFailure(await zg(["serve", "register", "--url", url], userKey.privateKey))).to.match(
      /ServingNotProvider/,
    );

    expect(
      expectSuccess(await zg(["serve", "update", "--output-price", "3000"], provider.privateKey)),
    ).to.match(/1000 wei\/input token, 3000 wei\/output token/);
    const listed = JSON.parse(expectSuccess(await zg(["serve", "list", "--json", "--region", "eu"]))) as {
      provider: string;
      url: string;
    }[];
    expect(listed.map((s) => [s.provider, s.url])).to.deep.equal([[provider.address, url]]);
    expect(JSON.parse(expectSuccess(await zg(["serve", "list", "--json", "--region", "us"])))).to.deep.equal(
      [],
    );
  });

  it("ledger deposit / fund / status, infer, receipts verify", async () => {
    oracle = await startWorker(
      await oracleWorker(),
      {
        rpcUrl: rpc.url,
        registry: record.registry,
        privateKey: provider.privateKey,
        dataDir: tempDir("cli-oracle"),
        http: { host: "127.0.0.1", port: Number(new URL(url).port) },
        confirmations: 0,
        startBlock: record.startBlock,
        settleCheckMs: 100,
        settleIntervalMs: 200,
      },
      { write: () => undefined },
    );
    expectSuccess(await zg(["ledger", "deposit", "1"]));
    expectSuccess(await zg(["ledger", "fund", provider.address, "0.5"]));
    const status = JSON.parse(expectSuccess(await zg(["ledger", "status", "--json"]))) as {
      available: string;
      subAccounts: { provider: string; balance: string }[];
    };
    expect(status.available).to.equal("500000000000000000");
    expect(status.subAccounts).to.deep.equal([
      { provider: provider.address, balance: "500000000000000000", pendingRefund: "0", refunds: [] },
    ]);

    const answer = expectSuccess(
      await zg(["infer", "--provider", provider.address, "what does a storage node do?"]),
    );
    expect(answer).to.match(/tokens, fee 0\.0000\d+, signature verified; receipt /);
    const receiptFile = /receipt (\S+\.json)/.exec(answer)?.[1] as string;
    expect(expectSuccess(await zg(["ledger", "resync", provider.address])).trim()).to.equal(
      `took the record of ${provider.address}: 1 response, 0 acknowledged now`,
    );
    const verified = expectSuccess(await zg(["receipts", "verify", receiptFile]));
    expect(verified).to.match(/re-execution\s+bit-identical/);
    expect(verified).to.match(/verdict\s+valid/);

    const tampered = JSON.parse(readFileSync(receiptFile, "utf8")) as Receipt;
    tampered.response.content = `${tampered.response.content} (edited)`;
    const tamperedFile = path.join(tempDir("receipt"), "tampered.json");
    writeFileSync(tamperedFile, JSON.stringify(tampered));
    expect(expectFailure(await zg(["receipts", "verify", "--offline", tamperedFile]))).to.match(
      /response hash/,
    );
    expect(
      expectFailure(await zg(["receipts", "verify", path.join(tempDir("none"), "missing.json")])),
    ).to.match(/does not exist/);
    const folder = tempDir("receipts");
    expect(expectFailure(await zg(["receipts", "verify", "--offline", folder]))).to.equal(
      `zg: ${folder} is a directory: give one receipt file (a JSON receipt)`,
    );

    expect(expectFailure(await zg(["infer", "--provider", Wallet.createRandom().address, "hi"]))).to.match(
      /has no service registered/,
    );
    expect(
      expectFailure(await zg(["infer", "--provider", provider.address, "hi", "--temperature", "9"])),
    ).to.match(/temperature/);
    expectSuccess(await zg(["ledger", "refund", provider.address, "0.1"]));
    expect(expectFailure(await zg(["ledger", "release", provider.address]))).to.match(
      /LedgerNothingUnlocked/,
    );
    expect(expectFailure(await zg(["ledger", "withdraw", "5"]))).to.match(/LedgerInsufficientBalance/);
  });

  it("serve remove", async () => {
    expect(expectSuccess(await zg(["serve", "remove"], provider.privateKey))).to.match(/removed the service/);
    expect(JSON.parse(expectSuccess(await zg(["serve", "list", "--json"])))).to.deep.equal([]);
  });
});

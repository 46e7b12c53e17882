import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { parseEther } from "ethers";
import hre from "hardhat";
import { devAccount, tempDir } from "../helpers/chain";
import { startInftStack, type InftStack } from "../helpers/inft";
import { expectFailure, expectSuccess, runZg } from "../helpers/process";

describe("zg inft", function () {
  this.timeout(300_000);
  let stack: InftStack;
  let env: NodeJS.ProcessEnv;
  const [alice, bob, dave] = [devAccount(100), devAccount(101), devAccount(102)];
  const dir = tempDir("inft-cli");

  const zg = (args: string[], key: { privateKey: string }) =>
    runZg(args, { ...env, ZG_PRIVATE_KEY: key.privateKey });

  before(async () => {
    stack = await startInftStack(103, 104);
    const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("ZG_")));
    env = {
      ...clean,
      ZG_HOME: tempDir("inft-cli-home"),
      ZG_DEPLOYMENTS_DIR: process.env.ZG_DEPLOYMENTS_DIR,
      ZG_RPC_URL: stack.rpc.url,
    };
    const [funder] = await hre.ethers.getSigners();
    for (const account of [alice, bob, dave]) {
      await (await funder.sendTransaction({ to: account.address, value: parseEther("5") })).wait();
    }
  });
  after(async () => {
    await stack.stop();
  });

  it("mint, accept, transfer, show, decrypt, authorize, infer, revoke — with one-line errors", async () => {
    const persona = path.join(dir, "persona.txt");
    writeFileSync(persona, "Who are you? I am Captain Byte, a pirate who sails the data seas.\n");
    expect(
      expectFailure(await zg(["inft", "mint", "--data", path.join(dir, "missing.txt")], alice)),
    ).to.match(/does not exist/);
    const minted = JSON.parse(
      expectSuccess(
        await zg(["inft", "mint", "--data", persona, "--description", "persona", "--json"], alice),
      ),
    ) as { tokenId: string; dataHashes: string[] };
    const tokenId = minted.tokenId;

    const access = path.join(dir, "access.json");
    expect(expectSuccess(await zg(["inft", "accept", tokenId, "--out", access], bob))).to.match(/written to/);
    expect(
      expectFailure(await zg(["inft", "transfer", tokenId, dave.address, "--access", access], alice)),
    ).to.match(/is for token .* not token/);
    expect(
      expectSuccess(await zg(["inft", "transfer", tokenId, bob.address, "--access", access], alice)),
    ).to.match(new RegExp(`transferred token ${tokenId} to ${bob.address}`));
    const view = JSON.parse(expectSuccess(await zg(["inft", "show", tokenId, "--json"], bob))) as {
      owner: string;
      datas: { dataHash: string }[];
      provenance: { event: string }[];
    };
    expect(view.owner).to.equal(bob.address);
    expect(view.datas[0].dataHash).to.not.equal(minted.dataHashes[0]);
    expect(view.provenance.map((p) => p.event)).to.include("PublishedSealedKey");

    const out = path.join(dir, "decrypted");
    expectSuccess(await zg(["inft", "decrypt", tokenId, out], bob));
    expect(readFileSync(path.join(out, "entry-0"), "utf8")).to.equal(readFileSync(persona, "utf8"));
    expect(expectFailure(await zg(["inft", "decrypt", tokenId, path.join(dir, "stolen")], alice))).to.match(
      /no key sealed to .* opens entry 0/,
    );
    expect(expectFailure(await zg(["inft", "decrypt", tokenId, out], bob))).to.match(/already exists/);

    expect(expectSuccess(await zg(["inft", "authorize", tokenId, dave.address], bob))).to.match(
      /may now use token/,
    );
    expectSuccess(await zg(["ledger", "deposit", "0.1"], dave));
    expectSuccess(await zg(["ledger", "fund", stack.oracleKey.address, "0.1"], dave));
    expect(
      expectSuccess(await zg(["inft", "infer", tokenId, "Who are you?", "--max-tokens", "12"], dave)),
    ).to.match(new RegExp(`agent ${tokenId}, fee .* signature verified`));
    expect(expectSuccess(await zg(["inft", "revoke", tokenId, dave.address], bob))).to.match(
      /may no longer use/,
    );
    expect(expectFailure(await zg(["inft", "infer", tokenId, "Who are you?"], dave))).to.match(
      /nor authorized/,
    );
    expect(expectFailure(await zg(["inft", "show", "abc"], bob))).to.match(/token id 'abc'/);
    expect(expectFailure(await zg(["inft", "show", "999"], bob))).to.match(/token 999 does not exist/);
  });
});

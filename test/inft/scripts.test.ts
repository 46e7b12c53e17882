import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { parseEther } from "ethers";
import hre from "hardhat";
import { devAccount, tempDir } from "../helpers/chain";
import { startInftStack, type InftStack } from "../helpers/inft";
import type { ZgRun } from "../helpers/process";

describe("iNFT scripts: mint-inft.ts and transfer-inft.ts under `hardhat run`", function () {
  this.timeout(300_000);
  let stack: InftStack;
  const [alice, bob, carol] = [devAccount(61), devAccount(62), devAccount(63)];

  before(async () => {
    stack = await startInftStack(60, 64);
    const [funder] = await hre.ethers.getSigners();
    await (await funder.sendTransaction({ to: alice.address, value: parseEther("5") })).wait();
  });
  after(async () => {
    await stack.stop();
  });

  /**
   * `npx hardhat run --network custom scripts/<name>` against the served chain (`custom` is ZG_RPC_URL in
   * hardhat.config.ts), asynchronously so that this process keeps serving the chain.
   */
  function script(name: string, env: Record<string, string>, network = "custom"): Promise<ZgRun> {
    return new Promise((resolve) => {
      const child = spawn(
        "npx",
        ["hardhat", "run", "--no-compile", "--network", network, path.join("scripts", name)],
        { env: { ...process.env, ZG_RPC_URL: stack.rpc.url, ...env }, stdio: ["ignore", "pipe", "pipe"] },
      );
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
  }

  it("mints from files, transfers with the receiver's key, clones with an access file", async () => {
    const dir = tempDir("inft-scripts-data");
    const persona = path.join(dir, "persona.txt");
    const notes = path.join(dir, "notes.txt");
    writeFileSync(persona, "Who are you? I am Captain Byte, a pirate who sails the data seas.\n");
    writeFileSync(notes, "The treasure lies in an encrypted chest.\n");

    const mint = await script("mint-inft.ts", {
      ZG_PRIVATE_KEY: alice.privateKey,
      INFT_DATA: `${persona},${notes}`,
      INFT_DESCRIPTIONS: "persona,notes",
    });
    expect(mint.stderr, mint.stderr).to.equal("");
    expect(mint.code).to.equal(0);
    const minted = /minted token (\d+) to (0x[0-9a-fA-F]{40})/.exec(mint.stdout);
    expect(minted, mint.stdout).to.not.equal(null);
    const tokenId = BigInt((minted as RegExpExecArray)[1]);
    expect(minted?.[2]).to.equal(alice.address);
    const bobClient = await stack.as(62);
    const view = await bobClient.show(tokenId);
    expect(view.owner).to.equal(alice.address);
    expect(view.datas.map((d) => d.dataDescription)).to.deep.equal(["persona", "notes"]);
    for (const data of view.datas) expect(mint.stdout).to.include(data.dataHash);

    const transfer = await script("transfer-inft.ts", {
      ZG_PRIVATE_KEY: alice.privateKey,
      ZG_REGISTRY: stack.record.registry,
      INFT_TOKEN_ID: tokenId.toString(),
      INFT_TO: bob.address,
      INFT_RECEIVER_KEY: bob.privateKey,
      INFT_JSON: "1",
    });
    expect(transfer.stderr, transfer.stderr).to.equal("");
    expect(transfer.code).to.equal(0);
    expect(JSON.parse(transfer.stdout)).to.include({ action: "transfer", tokenId: tokenId.toString() });
    expect((await bobClient.show(tokenId)).owner).to.equal(bob.address);
    const texts = (await bobClient.decrypt(tokenId)).map((e) => new TextDecoder().decode(e.data));
    expect(texts[0]).to.match(/Captain Byte/);

    // Carol accepts on her side (as `zg inft accept --out` does) and Bob clones the agent for her.
    const accessFile = path.join(dir, "access.json");
    writeFileSync(accessFile, JSON.stringify(await (await stack.as(63)).accept(tokenId)));
    const [funder] = await hre.ethers.getSigners();
    await (await funder.sendTransaction({ to: bob.address, value: parseEther("2") })).wait();
    const clone = await script("transfer-inft.ts", {
      ZG_PRIVATE_KEY: bob.privateKey,
      INFT_TOKEN_ID: tokenId.toString(),
      INFT_TO: carol.address,
      INFT_ACCESS_FILE: accessFile,
      INFT_CLONE: "1",
    });
    expect(clone.stderr, clone.stderr).to.equal("");
    expect(clone.code).to.equal(0);
    const cloned = /cloned token \d+ as token (\d+) for/.exec(clone.stdout);
    expect(cloned, clone.stdout).to.not.equal(null);
    expect((await bobClient.show(BigInt((cloned as RegExpExecArray)[1]))).owner).to.equal(carol.address);
    expect((await bobClient.show(tokenId)).owner).to.equal(bob.address);
  });

  it("fails with one line and exit code 1 on a missing data file", async () => {
    const missing = path.join(tempDir("inft-scripts-missing"), "nope.txt");
    const run = await script("mint-inft.ts", { ZG_PRIVATE_KEY: alice.privateKey, INFT_DATA: missing });
    expect(run.code).to.equal(1);
    expect(run.stdout).to.equal("");
    const lines = run.stderr.split("\n").filter((line) => line !== "");
    expect(lines, run.stderr).to.have.length(1);
    expect(lines[0]).to.equal(`mint-inft: file ${missing} does not exist`);
  });

  it("refuses the in-process hardhat network with a pointer to --network localhost", async () => {
    const run = await script(
      "transfer-inft.ts",
      {
        ZG_PRIVATE_KEY: alice.privateKey,
        INFT_TOKEN_ID: "1",
        INFT_TO: bob.address,
        INFT_RECEIVER_KEY: bob.privateKey,
      },
      "hardhat",
    );
    expect(run.code).to.equal(1);
    expect(run.stderr.trim().split("\n"), run.stderr).to.have.length(1);
    expect(run.stderr).to.match(/^transfer-inft: network 'hardhat' has no RPC URL: .*--network localhost/);
  });
});

import { expect } from "chai";
import hre from "hardhat";
import { mine, time } from "@nomicfoundation/hardhat-network-helpers";
import type { DeploymentRecord } from "../../offchain/core/deployments";
import { AlignmentLicense__factory, Market__factory } from "../../typechain-types";
import { deployForTest, devAccount, startRpc, tempDir, type TestRpc } from "../helpers/chain";
import { expectFailure, expectSuccess, runZg } from "../helpers/process";

describe("zg gov", function () {
  this.timeout(300_000);
  let rpc: TestRpc;
  let env: NodeJS.ProcessEnv;
  let record: DeploymentRecord;
  const [alice, bob, nobody] = [devAccount(30), devAccount(31), devAccount(32)];

  const zg = (args: string[], key?: { privateKey: string }) =>
    runZg(args, { ...env, ...(key ? { ZG_PRIVATE_KEY: key.privateKey } : {}) });

  before(async () => {
    rpc = await startRpc();
    record = await deployForTest("governed");
    const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("ZG_")));
    env = {
      ...clean,
      ZG_HOME: tempDir("gov-cli-home"),
      ZG_DEPLOYMENTS_DIR: process.env.ZG_DEPLOYMENTS_DIR,
      ZG_RPC_URL: rpc.url,
    };
    const [deployer] = await hre.ethers.getSigners();
    for (const account of [alice, bob, nobody])
      await (
        await deployer.sendTransaction({ to: account.address, value: hre.ethers.parseEther("5") })
      ).wait();
    const license = AlignmentLicense__factory.connect(record.modules.AlignmentLicense.address, deployer);
    for (const holder of [alice, alice, bob]) await (await license.mint(holder.address)).wait();
    await mine();
  });
  after(async () => {
    await rpc.close();
  });

  it("licenses and delegate: supply, a holder's licenses and votes, delegation", async () => {
    expect(expectSuccess(await zg(["gov", "licenses"]))).to.match(/minted\s+3 of 1000/);
    const mine_ = JSON.parse(
      expectSuccess(await zg(["gov", "licenses", "--holder", alice.address, "--json"])),
    );
    expect(mine_.holder).to.deep.include({
      balance: "2",
      votes: "2",
      delegate: alice.address,
      tokenIds: ["1", "2"],
    });
    expect(expectSuccess(await zg(["gov", "delegate", alice.address], bob))).to.match(/delegated to/);
    const bobs = JSON.parse(expectSuccess(await zg(["gov", "licenses", "--holder", bob.address, "--json"])));
    expect(bobs.holder.votes).to.equal("0");
    expect(bobs.holder.delegate).to.equal(alice.address);
    // Back to voting directly.
    expectSuccess(await zg(["gov", "delegate", bob.address], bob));
  });

  it("propose → vote → queue → execute changes the Market price; status follows", async () => {
    const market = Market__factory.connect(record.modules.Market.address, hre.ethers.provider);
    const newPrice = (await market.pricePerSector()) + 7n;
    const proposed = JSON.parse(
      expectSuccess(
        await zg(
          [
            "gov",
            "propose",
            "--target",
            "Market",
            "--call",
            "setPricePerSector(uint256)",
            "--args",
            JSON.stringify([newPrice.toString()]),
            "--description",
            "Raise the storage price by 7 wei",
            "--json",
          ],
          alice,
        ),
      ),
    ) as { proposalId: string };
    const id = proposed.proposalId;
    expect(expectSuccess(await zg(["gov", "status", id]))).to.match(/state\s+Pending/);
    await mine(2);
    expect(expectSuccess(await zg(["gov", "vote", id, "for", "--reason", "ok"], alice))).to.match(
      new RegExp(`voted for on ${id}`),
    );
    expectSuccess(await zg(["gov", "vote", id, "against"], bob));
    expect(expectFailure(await zg(["gov", "vote", id, "for"], bob))).to.match(
      /^zg: vote: reverted with GovernorAlreadyCastVote/,
    );
    const status = JSON.parse(expectSuccess(await zg(["gov", "status", id, "--json"])));
    expect(status.state).to.equal("Active");
    expect(status.votes).to.deep.equal({ for: "2", against: "1", abstain: "0" });
    expect(status.description).to.equal("Raise the storage price by 7 wei");
    await mine(20);
    expect(expectSuccess(await zg(["gov", "queue", id], bob))).to.match(new RegExp(`queued ${id}`));
    expect(expectFailure(await zg(["gov", "execute", id], bob))).to.match(/^zg: execute: reverted with/);
    await time.increase(61);
    expect(expectSuccess(await zg(["gov", "execute", id], nobody))).to.match(new RegExp(`executed ${id}`));
    expect(await market.pricePerSector()).to.equal(newPrice);
    expect(expectSuccess(await zg(["gov", "status", id]))).to.match(/state\s+Executed/);
  });

  it("bad input: one line each, nothing sent", async () => {
    const cases: [string[], RegExp][] = [
      [["gov", "vote", "1", "maybe"], /^zg: support 'maybe' must be for, against or abstain$/],
      [["gov", "vote", "abc", "for"], /^zg: proposal id 'abc' is not a number$/],
      [["gov", "status", "12345"], /^zg: no proposal 12345 on this governor$/],
      [["gov", "licenses", "--holder", "0x12"], /^zg: --holder '0x12' is not an EVM address$/],
      [["gov", "delegate", "nope"], /^zg: delegate 'nope' is not an EVM address$/],
      [
        ["gov", "propose", "--target", "Nope", "--call", "f()", "--description", "x"],
        /^zg: module Nope is not deployed on chain 31337/,
      ],
      [
        ["gov", "propose", "--target", "Market", "--call", "setPricePerSector", "--description", "x"],
        /^zg: 'setPricePerSector' is not a function signature/,
      ],
      [
        [
          "gov",
          "propose",
          "--target",
          "Market",
          "--call",
          "setPricePerSector(uint256)",
          "--args",
          "[1",
          "--description",
          "x",
        ],
        /^zg: --args '\[1' is not JSON/,
      ],
      [
        [
          "gov",
          "propose",
          "--target",
          "Market",
          "--call",
          "setPricePerSector(uint256)",
          "--args",
          "{}",
          "--description",
          "x",
        ],
        /^zg: --args must be a JSON array/,
      ],
      [
        [
          "gov",
          "propose",
          "--target",
          "Market",
          "--call",
          "setPricePerSector(uint256)",
          "--args",
          "[]",
          "--description",
          "x",
        ],
        /^zg: setPricePerSector takes 1 argument\(s\), 0 given$/,
      ],
      [
        [
          "gov",
          "propose",
          "--target",
          "Market",
          "--call",
          "setPricePerSector(uint256)",
          "--args",
          '["x"]',
          "--description",
          "x",
        ],
        /^zg: arguments do not match setPricePerSector\(uint256\)/,
      ],
    ];
    for (const [args, message] of cases)
      expect(expectFailure(await zg(args, alice)), args.join(" ")).to.match(message);
    // A holder of no license cannot propose.
    expect(
      expectFailure(
        await zg(
          [
            "gov",
            "propose",
            "--target",
            "Market",
            "--call",
            "setPricePerSector(uint256)",
            "--args",
            "[1]",
            "--description",
            "x",
          ],
          nobody,
        ),
      ),
    ).to.match(/^zg: propose: reverted with GovernorInsufficientProposerVotes/);
  });

  it("without governance deployed: one line saying the registry owner governs", async () => {
    await deployForTest("full");
    const full = { ...env, ZG_DEPLOYMENTS_DIR: process.env.ZG_DEPLOYMENTS_DIR };
    const run = await runZg(["gov", "status", "1"], full);
    expect(expectFailure(run)).to.match(/^zg: alignment governance is not deployed on chain 31337/);
  });
});

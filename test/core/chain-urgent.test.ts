import { expect } from "chai";
import { encodeBytes32String } from "ethers";
import hre from "hardhat";
import { ZgChain } from "../../offchain/core/chain";
import { ModuleRegistry__factory } from "../../typechain-types";
import { devAccount, startRpc, type TestRpc } from "../helpers/chain";

describe("ZgChain.sendUrgent", () => {
  let rpc: TestRpc;
  before(async () => {
    rpc = await startRpc();
  });
  after(async () => {
    await hre.network.provider.send("evm_setAutomine", [true]);
    await rpc.close();
  });

  it("re-sends a stuck transaction with the same nonce and higher fees until one is mined", async () => {
    const owner = devAccount(40);
    const [funder] = await hre.ethers.getSigners();
    await (await funder.sendTransaction({ to: owner.address, value: 10n ** 18n })).wait();
    const registry = await new ModuleRegistry__factory(funder).deploy(owner.address);
    const chain = await ZgChain.connect({
      network: "localhost",
      rpcUrl: rpc.url,
      expectedChainId: 31337,
      registry: await registry.getAddress(),
      key: { kind: "privateKey", privateKey: owner.privateKey },
    });
    try {
      const nonce = await hre.ethers.provider.getTransactionCount(owner.address);
      await hre.network.provider.send("evm_setAutomine", [false]);
      const sending = chain.sendUrgent(
        "register",
        () => chain.registry.setModule.populateTransaction(encodeBytes32String("Urgent"), owner.address, "1"),
        { waitMs: 150, bumps: 3 },
      );
      // Nothing is mined while three replacements go out; then a block includes the latest one.
      await new Promise((resolve) => setTimeout(resolve, 700));
      await hre.network.provider.send("evm_mine", []);
      const receipt = await sending;
      const mined = await hre.ethers.provider.getTransaction(receipt.hash);
      expect(mined!.nonce).to.equal(nonce);
      const fees = await hre.ethers.provider.getFeeData();
      expect(mined!.maxFeePerGas! > fees.maxFeePerGas!).to.equal(true);
      expect(await registry.tryGetModule(encodeBytes32String("Urgent"))).to.equal(owner.address);
      await hre.network.provider.send("evm_setAutomine", [true]);
      // The account's next transaction uses the next nonce.
      await chain.send("again", () =>
        chain.registry.setModule(encodeBytes32String("Again"), funder.address, "1"),
      );
      expect(await hre.ethers.provider.getTransactionCount(owner.address)).to.equal(nonce + 2);
    } finally {
      await hre.network.provider.send("evm_setAutomine", [true]);
      chain.destroy();
    }
  });

  it("an urgent send overtakes the plain sends waiting behind a slow one, and nonces stay in order", async () => {
    const owner = devAccount(41);
    const [funder] = await hre.ethers.getSigners();
    await (await funder.sendTransaction({ to: owner.address, value: 10n ** 18n })).wait();
    const registry = await new ModuleRegistry__factory(funder).deploy(owner.address);
    const chain = await ZgChain.connect({
      network: "localhost",
      rpcUrl: rpc.url,
      expectedChainId: 31337,
      registry: await registry.getAddress(),
      key: { kind: "privateKey", privateKey: owner.privateKey },
    });
    try {
      // The registry takes one name per address: each label registers an address of its own.
      const targets = Object.fromEntries(
        ["slow", "waiting", "urgent"].map((label) => [label, hre.ethers.Wallet.createRandom().address]),
      );
      const order: string[] = [];
      let open: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (open = resolve));
      const plain = (label: string, wait?: Promise<void>) =>
        chain.send(label, async () => {
          await wait;
          order.push(label);
          return chain.registry.setModule(encodeBytes32String(label), targets[label], "1");
        });
      const slow = plain("slow", gate);
      const waiting = plain("waiting");
      const urgent = chain.sendUrgent("urgent", async () => {
        order.push("urgent");
        return chain.registry.setModule.populateTransaction(
          encodeBytes32String("urgent"),
          targets.urgent,
          "1",
        );
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(order).to.deep.equal([]);
      open();
      await Promise.all([slow, waiting, urgent]);
      expect(order).to.deep.equal(["slow", "urgent", "waiting"]);
      for (const label of ["slow", "waiting", "urgent"])
        expect(await registry.tryGetModule(encodeBytes32String(label))).to.equal(targets[label]);
    } finally {
      chain.destroy();
    }
  });
});

import { expect } from "chai";
import { parseEther, Wallet } from "ethers";
import hre from "hardhat";
import { openKey } from "../../offchain/inft/crypto";
import { ServingClient } from "../../offchain/serving/client";
import { AgentNFT__factory } from "../../typechain-types";
import { devAccount } from "../helpers/chain";
import { startInftStack, type InftStack } from "../helpers/inft";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

describe("iNFT end to end: real storage node, real oracle", function () {
  this.timeout(300_000);
  let stack: InftStack;

  before(async () => {
    stack = await startInftStack(70, 71);
  });
  after(async () => {
    await stack.stop();
  });

  it("mint, transfer A→B, clone B→C, authorize D: D infers, B decrypts, A cannot", async () => {
    const [alice, bob, carol, dave, eve] = await Promise.all(
      [80, 81, 82, 83, 84].map((index) => stack.as(index)),
    );
    const persona = [
      "Who are you? I am Captain Byte, a pirate who sails the data seas.",
      "What do you guard? Captain Byte guards the treasure of keys.",
      "Where is the treasure? The treasure lies in an encrypted chest that only the captain opens.",
    ].join("\n");
    const notes =
      "The treasure map: the keys are sealed, the chest is encrypted, and only the captain opens it.";
    const { tokenId, dataHashes } = await alice.mint([
      { description: "persona", data: encoder.encode(persona) },
      { description: "notes", data: encoder.encode(notes) },
    ]);
    expect((await alice.decrypt(tokenId)).map((e) => decoder.decode(e.data))).to.deep.equal([persona, notes]);

    // A plain ERC-721 transfer is refused while the token holds data.
    const plain = AgentNFT__factory.connect(
      stack.record.modules.AgentNFT.address,
      new Wallet(devAccount(80).privateKey, hre.ethers.provider),
    );
    await expect(
      plain.transferFrom(alice.chain.address as string, bob.chain.address as string, tokenId),
    ).to.be.revertedWithCustomError(plain, "AgentNFTIntelligentToken");

    await alice.transfer(await bob.accept(tokenId));
    const afterTransfer = await bob.show(tokenId);
    expect(afterTransfer.owner).to.equal(bob.chain.address);
    // The data was re-encrypted under fresh keys: new storage roots.
    for (const [i, data] of afterTransfer.datas.entries()) expect(data.dataHash).to.not.equal(dataHashes[i]);
    expect((await bob.decrypt(tokenId)).map((e) => decoder.decode(e.data))).to.deep.equal([persona, notes]);
    let failure: unknown;
    await alice.decrypt(tokenId).catch((error: unknown) => (failure = error));
    expect(String(failure)).to.match(/no key sealed to .* opens entry 0/);

    // Every sealed key opens only with its receiver's private key.
    const published = await bob.agentNft.queryFilter(bob.agentNft.filters.PublishedSealedKey(), 0);
    expect(published.length).to.be.greaterThan(0);
    const keys = new Map(
      [alice, bob, carol, dave].map((c) => [c.chain.address as string, c.chain.privateKey]),
    );
    for (const log of published) {
      for (const sealed of log.args.sealedKeys) {
        for (const [owner, privateKey] of keys) {
          if (owner === log.args.to) expect(() => openKey(sealed, privateKey)).to.not.throw();
          else expect(() => openKey(sealed, privateKey)).to.throw(/not for this private key/);
        }
      }
    }

    // Only the owner may ask the oracle to re-encrypt; A no longer can.
    failure = undefined;
    await alice.transfer(await carol.accept(tokenId)).catch((error: unknown) => (failure = error));
    expect(String(failure)).to.match(/belongs to/);

    const clone = await bob.transfer(await carol.accept(tokenId), { clone: true });
    expect(clone.tokenId).to.not.equal(tokenId);
    expect((await carol.show(clone.tokenId)).owner).to.equal(carol.chain.address);
    expect((await bob.show(tokenId)).owner).to.equal(bob.chain.address);
    expect((await carol.decrypt(clone.tokenId)).map((e) => decoder.decode(e.data))).to.deep.equal([
      persona,
      notes,
    ]);

    await bob.authorize(tokenId, dave.chain.address as string);
    const daveServing = await ServingClient.connect(dave.chain);
    await daveServing.deposit(parseEther("1"));
    await daveServing.fund(stack.oracleKey.address, parseEther("1"));
    const answer = await dave.infer(tokenId, "Who are you?", { max_tokens: 24 });
    expect(answer.content.toLowerCase()).to.match(/captain|byte|pirate|treasure|keys/);
    expect(answer.paid && answer.receipt.request.model).to.equal(`zg-agent-${tokenId}`);

    const eveServing = await ServingClient.connect(eve.chain);
    await eveServing.deposit(parseEther("1"));
    await eveServing.fund(stack.oracleKey.address, parseEther("1"));
    failure = undefined;
    await eve.infer(tokenId, "tell me the secret").catch((error: unknown) => (failure = error));
    expect(String(failure)).to.match(/neither the owner .* nor authorized/);

    const view = await bob.show(tokenId);
    expect(view.authorizedUsers).to.deep.equal([dave.chain.address]);
    const kinds = view.provenance.map((p) => p.event);
    for (const kind of ["Transfer", "PublishedSealedKey", "Cloned", "Authorization"])
      expect(kinds).to.include(kind);
  });
});

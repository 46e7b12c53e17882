import { expect } from "chai";
import { hexlify, parseEther, Wallet } from "ethers";
import { authHeader } from "../../offchain/inft/auth";
import { encryptData, newDataKey, sealKey } from "../../offchain/inft/crypto";
import { ServingClient } from "../../offchain/serving/client";
import { startInftStack, type InftStack } from "../helpers/inft";

/** The iNFT oracle's HTTP API refuses what it must, with a JSON error and before any work. */
describe("iNFT oracle: refusals", function () {
  this.timeout(300_000);
  let stack: InftStack;

  before(async () => {
    stack = await startInftStack(72, 73);
  });
  after(async () => {
    await stack.stop();
  });

  async function post(route: string, body: unknown, headers: Record<string, string> = {}) {
    const response = await fetch(`${stack.oracleUrl}${route}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    return {
      status: response.status,
      message: ((await response.json()) as { error?: { message: string } }).error?.message,
    };
  }

  it("seal: refuses a key not sealed to it, another owner's key, and malformed requests", async () => {
    const alice = await stack.as(90);
    const owner = alice.chain.address as string;
    const ownerPubkey = alice.chain.publicKey;
    const key = newDataKey();
    const stranger = Wallet.createRandom();
    const entry = { oldDataHash: `0x${"00".repeat(32)}`, dataHash: `0x${"11".repeat(32)}`, nonce: "1" };
    const deadline = String(Math.floor(Date.now() / 1000) + 3600);
    const wrongRecipient = hexlify(sealKey(key, stranger.signingKey.publicKey));
    expect(
      await post("/v1/inft/seal", {
        owner,
        ownerPubkey,
        deadline,
        entries: [{ ...entry, sealedKey: wrongRecipient }],
      }),
    ).to.deep.equal({
      status: 400,
      message: "entry 0: the key is not sealed to this oracle (see GET /v1/inft/identity)",
    });
    const oracle = await alice.oracle();
    const sealed = hexlify(sealKey(key, oracle.publicKey));
    const otherKey = await post("/v1/inft/seal", {
      owner,
      deadline,
      ownerPubkey: `0x${stranger.signingKey.publicKey.slice(4)}`,
      entries: [{ ...entry, sealedKey: sealed }],
    });
    expect(otherKey.status).to.equal(400);
    expect(otherKey.message).to.match(/ownerPubkey is not the public key of/);
    const missing = await post("/v1/inft/seal", {
      owner,
      ownerPubkey,
      deadline,
      entries: [{ ...entry, sealedKey: sealed }],
    });
    expect(missing.status).to.equal(404);
    expect(missing.message).to.match(/cannot be fetched from storage/);
    const malformed = await post("/v1/inft/seal", { owner, ownerPubkey, deadline, entries: [] });
    expect(malformed.status).to.equal(400);
    expect((await post("/v1/inft/seal", "{")).status).to.equal(400);

    // Data that does not open with the key it came with is refused: the oracle must really hold the key.
    const storage = await (await import("../../offchain/storage/client")).StorageClient.connect(alice.chain);
    const uploaded = await storage.upload(encryptData(newDataKey(), new TextEncoder().encode("secret")));
    const wrongKey = await post("/v1/inft/seal", {
      owner,
      ownerPubkey,
      deadline,
      entries: [{ ...entry, dataHash: uploaded.root, sealedKey: sealed }],
    });
    expect(wrongKey.status).to.equal(400);
    expect(wrongKey.message).to.match(/does not open with this key/);
  });

  it("reencrypt: only the owner may ask, only with the receiver's (or its delegate's) access proofs", async () => {
    const [alice, bob, carol, mallory] = await Promise.all([91, 92, 93, 94].map((index) => stack.as(index)));
    const { tokenId } = await alice.mint([
      { description: "notes", data: new TextEncoder().encode("the notes") },
    ]);
    const bundle = await bob.accept(tokenId);
    const body = JSON.stringify(bundle);
    const route = "/v1/inft/reencrypt";

    expect((await post(route, body)).status).to.equal(400); // no authorization header
    const byMallory = await post(route, body, { "x-zg-auth": authHeader(mallory.chain, route, body) });
    expect(byMallory.status).to.equal(403);
    expect(byMallory.message).to.match(/only the owner of token/);

    // Access proofs signed by someone else than the receiver.
    const forged = { ...(await mallory.accept(tokenId)), to: bundle.to, targetPubkey: bundle.targetPubkey };
    const forgedBody = JSON.stringify(forged);
    const refused = await post(route, forgedBody, {
      "x-zg-auth": authHeader(alice.chain, route, forgedBody),
    });
    expect(refused.status).to.equal(401);
    expect(refused.message).to.match(/not signed by .* or its delegate/);

    // A receiver's delegate may sign for it.
    await bob.delegate(carol.chain.address as string);
    const delegated = await carol.accept(tokenId, {
      receiver: { address: bundle.to, publicKey: bundle.targetPubkey },
    });
    const delegatedBody = JSON.stringify(delegated);
    const accepted = await post(route, delegatedBody, {
      "x-zg-auth": authHeader(alice.chain, route, delegatedBody),
    });
    expect(accepted.status).to.equal(200);

    // An authorization signed for another body does not carry over.
    const replayed = await post(route, body, { "x-zg-auth": authHeader(alice.chain, route, delegatedBody) });
    expect(replayed.status).to.equal(403); // it recovers to an address that owns nothing
    expect(replayed.message).to.match(/only the owner of token/);
  });

  it("sealed executor: refuses unknown tokens and users who are neither owner nor authorized", async () => {
    const [alice, eve] = await Promise.all([95, 96].map((index) => stack.as(index)));
    const { tokenId } = await alice.mint([
      { description: "persona", data: new TextEncoder().encode("I am an agent.") },
    ]);
    const serving = await ServingClient.connect(eve.chain);
    await serving.deposit(parseEther("0.1"));
    await serving.fund(stack.oracleKey.address, parseEther("0.1"));
    let failure: unknown;
    await eve.infer(tokenId, "hello").catch((error: unknown) => (failure = error));
    expect(String(failure)).to.match(/neither the owner of token .* nor authorized/);
    failure = undefined;
    await eve.infer(tokenId + 100n, "hello").catch((error: unknown) => (failure = error));
    expect(String(failure)).to.match(/does not exist/);
  });
});

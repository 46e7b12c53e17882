import { expect } from "chai";
import { hexlify, parseEther, Wallet } from "ethers";
import { authHeader } from "../../offchain/inft/auth";
import { encryptData, newDataKey, sealKey } from "../../offchain/inft/crypto";
import { ServingClient } from "../../offchain/serving/client";
import { StorageClient } from "../../offchain/storage/client";
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

  /** A seal request signed by `signer` (x-zg-auth), as the SDK sends it. */
  function sealAs(signer: { chain: Parameters<typeof authHeader>[0] }, body: unknown) {
    const text = typeof body === "string" ? body : JSON.stringify(body);
    return post("/v1/inft/seal", text, { "x-zg-auth": authHeader(signer.chain, "/v1/inft/seal", text) });
  }

  /** How many times the oracle did `kind` (download: an agent's data fetched from storage; train: a model). */
  async function operations(kind: string): Promise<number> {
    const text = await (await fetch(`${stack.oracleUrl}/metrics`)).text();
    const match = new RegExp(`^zg_inft_operations_total\\{[^}]*kind="${kind}"[^}]*\\} (\\d+)`, "m").exec(
      text,
    );
    return Number(match?.[1] ?? 0);
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
      await sealAs(alice, {
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
    const otherKey = await sealAs(alice, {
      owner,
      deadline,
      ownerPubkey: `0x${stranger.signingKey.publicKey.slice(4)}`,
      entries: [{ ...entry, sealedKey: sealed }],
    });
    expect(otherKey.status).to.equal(400);
    expect(otherKey.message).to.match(/ownerPubkey is not the public key of/);
    const missing = await sealAs(alice, {
      owner,
      ownerPubkey,
      deadline,
      entries: [{ ...entry, sealedKey: sealed }],
    });
    expect(missing.status).to.equal(404);
    expect(missing.message).to.match(/cannot be fetched from storage/);
    const malformed = await sealAs(alice, { owner, ownerPubkey, deadline, entries: [] });
    expect(malformed.status).to.equal(400);
    expect((await sealAs(alice, "{")).status).to.equal(400);

    // Data that does not open with the key it came with is refused: the oracle must really hold the key.
    const storage = await StorageClient.connect(alice.chain);
    const uploaded = await storage.upload(encryptData(newDataKey(), new TextEncoder().encode("secret")));
    const wrongKey = await sealAs(alice, {
      owner,
      ownerPubkey,
      deadline,
      entries: [{ ...entry, dataHash: uploaded.root, sealedKey: sealed }],
    });
    expect(wrongKey.status).to.equal(400);
    expect(wrongKey.message).to.match(/does not open with this key/);
  });

  it("seal: only the owner named in the request may ask, signed (x-zg-auth), and strangers cost no download", async () => {
    const [alice, mallory] = await Promise.all([105, 106].map((index) => stack.as(index)));
    const oracle = await alice.oracle();
    const key = newDataKey();
    const storage = await StorageClient.connect(alice.chain);
    const uploaded = await storage.upload(encryptData(key, new TextEncoder().encode("alice's notes")));
    const body = JSON.stringify({
      owner: alice.chain.address,
      ownerPubkey: alice.chain.publicKey,
      deadline: String(Math.floor(Date.now() / 1000) + 3600),
      entries: [
        {
          oldDataHash: `0x${"00".repeat(32)}`,
          dataHash: uploaded.root,
          sealedKey: hexlify(sealKey(key, oracle.publicKey)),
          nonce: "1",
        },
      ],
    });
    const downloads = await operations("download");
    expect(await post("/v1/inft/seal", body)).to.deep.equal({
      status: 400,
      message: "header x-zg-auth must be <expires>:<signature>",
    });
    const byMallory = await sealAs(mallory, body);
    expect(byMallory.status).to.equal(403);
    expect(byMallory.message).to.equal(
      `only the owner named in the request (${alice.chain.address}) may ask, not ${mallory.chain.address}`,
    );
    expect(await operations("download")).to.equal(downloads);
    expect((await sealAs(alice, body)).status).to.equal(200);
    expect(await operations("download")).to.equal(downloads + 1);
  });

  it("seal: refuses data over inft.maxAgentBytes (default 2 MiB) from its storage log entry, before downloading it", async () => {
    const alice = await stack.as(107);
    const oracle = await alice.oracle();
    const key = newDataKey();
    const storage = await StorageClient.connect(alice.chain);
    const big = new Uint8Array(2 * 1024 * 1024 + 1).map((_, i) => (i * 7919) & 0xff);
    const uploaded = await storage.upload(encryptData(key, big));
    const downloads = await operations("download");
    const started = Date.now();
    const refused = await sealAs(alice, {
      owner: alice.chain.address,
      ownerPubkey: alice.chain.publicKey,
      deadline: String(Math.floor(Date.now() / 1000) + 3600),
      entries: [
        {
          oldDataHash: `0x${"00".repeat(32)}`,
          dataHash: uploaded.root,
          sealedKey: hexlify(sealKey(key, oracle.publicKey)),
          nonce: "1",
        },
      ],
    });
    expect(refused.status).to.equal(413);
    expect(refused.message).to.match(
      /^the agent's data is 2097\d{3} bytes \(from the storage log\), over this oracle's limit of 2097152$/,
    );
    expect(await operations("download")).to.equal(downloads);
    expect(Date.now() - started).to.be.below(2_000);
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

  it("sealed executor: a stranger costs no download or training, and an unfunded user is refused before the agent loads", async () => {
    const [alice, eve, dave] = await Promise.all([108, 109, 110].map((index) => stack.as(index)));
    const { tokenId } = await alice.mint([
      { description: "persona", data: new TextEncoder().encode("I am the keeper of the ledger.") },
    ]);
    await alice.authorize(tokenId, dave.chain.address as string);
    const eveServing = await ServingClient.connect(eve.chain);
    await eveServing.deposit(parseEther("0.1"));
    await eveServing.fund(stack.oracleKey.address, parseEther("0.1"));
    const [downloads, trainings] = [await operations("download"), await operations("train")];

    let failure: unknown;
    await eve.infer(tokenId, "who keeps the ledger?").catch((error: unknown) => (failure = error));
    expect(String(failure)).to.match(/neither the owner of token .* nor authorized/);
    failure = undefined;
    await dave.infer(tokenId, "who keeps the ledger?").catch((error: unknown) => (failure = error));
    expect(String(failure)).to.match(/HTTP 402: the sub-account of .* holds 0 wei unreserved/);
    expect([await operations("download"), await operations("train")]).to.deep.equal([downloads, trainings]);

    const daveServing = await ServingClient.connect(dave.chain);
    await daveServing.deposit(parseEther("0.1"));
    await daveServing.fund(stack.oracleKey.address, parseEther("0.1"));
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // the balance read for the 402 is kept 1 s
    const answer = await dave.infer(tokenId, "who keeps the ledger?", { max_tokens: 12 });
    expect(answer.paid).to.equal(true);
    expect([await operations("download"), await operations("train")]).to.deep.equal([
      downloads + 1,
      trainings + 1,
    ]);
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

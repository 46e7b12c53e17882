import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { bn254 } from "@noble/curves/bn254";
import { TestBN254__factory } from "../../typechain-types";
import {
  P,
  aggregateG1,
  aggregateG2,
  attestationMessage,
  blsKeyFromOperatorKey,
  blsKeyFromSecret,
  hashToG1,
  hashToG1Hint,
  proofOfPossession,
  registrationMessage,
  sign,
  toG1,
  verify,
} from "../../offchain/da/bls";

const message = ethers.id("message");
const keys = [1, 2, 3].map((i) => blsKeyFromSecret(ethers.id(`key:${i}`)));

async function harness() {
  const [deployer] = await ethers.getSigners();
  return new TestBN254__factory(deployer).deploy();
}

describe("DA BLS (BN254)", function () {
  it("keys are deterministic, distinct, and derived from an operator key with a domain tag", function () {
    expect(blsKeyFromSecret(ethers.id("key:1"))).to.deep.equal(keys[0]);
    expect(keys[0].secret).to.not.equal(keys[1].secret);
    const operatorKey = ethers.id("operator");
    const derived = blsKeyFromOperatorKey(operatorKey);
    expect(derived).to.deep.equal(blsKeyFromOperatorKey(operatorKey));
    expect(derived.secret).to.not.equal(blsKeyFromSecret(operatorKey).secret);
    expect(() => blsKeyFromSecret("0x1234")).to.throw(RangeError);
  });

  it("sign / verify, aggregate, and rejection of wrong message, key or signature", function () {
    const sigs = keys.map((k) => sign(k.secret, message));
    expect(verify(message, keys[0].pkG1, keys[0].pkG2, sigs[0])).to.equal(true);
    const apk = aggregateG1(keys.map((k) => k.pkG1));
    const apkG2 = aggregateG2(keys.map((k) => k.pkG2));
    expect(verify(message, apk, apkG2, aggregateG1(sigs))).to.equal(true);
    expect(verify(ethers.id("other"), apk, apkG2, aggregateG1(sigs))).to.equal(false);
    expect(verify(message, keys[1].pkG1, keys[1].pkG2, sigs[0])).to.equal(false);
    // G1 and G2 keys of different secrets: the γ check binds them.
    expect(verify(message, keys[0].pkG1, keys[1].pkG2, sigs[1])).to.equal(false);
    expect(verify(message, { X: 1n, Y: 3n }, keys[0].pkG2, sigs[0])).to.equal(false);
  });

  it("proof of possession signs the registration message", function () {
    const signers = ethers.Wallet.createRandom().address;
    const operator = ethers.Wallet.createRandom().address;
    const pop = proofOfPossession(keys[0], 31337n, signers, operator);
    const m = registrationMessage(31337n, signers, operator, keys[0].pkG1);
    expect(verify(m, keys[0].pkG1, keys[0].pkG2, pop)).to.equal(true);
    expect(
      verify(registrationMessage(1n, signers, operator, keys[0].pkG1), keys[0].pkG1, keys[0].pkG2, pop),
    ).to.equal(false);
  });

  it("hashToG1 gives points on the curve, identical to the contract's", async function () {
    const t = await loadFixture(harness);
    for (let i = 0; i < 8; i++) {
      const h = ethers.id(`hash:${i}`);
      const point = hashToG1(h);
      expect(point.X < P && point.Y < P).to.equal(true);
      bn254.G1.ProjectivePoint.fromAffine({ x: point.X, y: point.Y }).assertValidity();
      const onChain = await t.hashToG1(h);
      expect([onChain.X, onChain.Y]).to.deep.equal([point.X, point.Y]);
    }
    // A hash above p is reduced first.
    const high = ethers.toBeHex(ethers.MaxUint256, 32);
    expect((await t.hashToG1(high)).X).to.equal(hashToG1(high).X);
  });

  it("hashToG1Hint: the contract checks the witnessed point, the same as hashToG1; wrong witnesses are refused", async function () {
    const t = await loadFixture(harness);
    let skipped = 0;
    for (let i = 0; i < 8; i++) {
      const h = ethers.id(`hint:${i}`);
      const hint = hashToG1Hint(h);
      skipped += hint.length - 2;
      const onChain = await t.hashToG1WithHint(h, hint);
      const point = hashToG1(h);
      expect([onChain.X, onChain.Y]).to.deep.equal([point.X, point.Y]);
      if (hint.length > 2) {
        // Stopping at a skipped x (claiming it is the point) or skipping the point is refused.
        await expect(t.hashToG1WithHint(h, hint.slice(1))).to.be.revertedWithCustomError(
          t,
          "BN254InvalidHashHint",
        );
      }
      await expect(t.hashToG1WithHint(h, [hint[0], ...hint])).to.be.revertedWithCustomError(
        t,
        "BN254InvalidHashHint",
      );
    }
    // Some of these hashes skip an x, so both branches ran.
    expect(skipped > 0).to.equal(true);
    expect([...(await t.hashToG1WithHint(message, []))]).to.deep.equal([
      hashToG1(message).X,
      hashToG1(message).Y,
    ]);
  });

  it("the on-chain verifier accepts real aggregate signatures and rejects forged or wrong-message ones", async function () {
    const t = await loadFixture(harness);
    const m = attestationMessage(31337n, ethers.ZeroAddress.replace(/0$/, "1"), ethers.id("payload"), 3n);
    const sigma = aggregateG1(keys.map((k) => sign(k.secret, m)));
    const apk = aggregateG1(keys.map((k) => k.pkG1));
    const apkG2 = aggregateG2(keys.map((k) => k.pkG2));
    expect(await t.verify(m, apk, apkG2, sigma)).to.equal(true);
    expect(await t.verify(ethers.id("other"), apk, apkG2, sigma)).to.equal(false);
    const forged = aggregateG1(keys.slice(0, 2).map((k) => sign(k.secret, m)));
    expect(await t.verify(m, apk, apkG2, forged)).to.equal(false);
    // A G1 key that does not match the G2 key.
    expect(await t.verify(m, keys[0].pkG1, apkG2, sigma)).to.equal(false);
    // A point off the curve is refused by the precompile.
    await expect(t.verify(m, apk, apkG2, { X: 1n, Y: 3n })).to.be.revertedWithCustomError(
      t,
      "BN254InvalidPoint",
    );
    await expect(t.verify(m, { X: 1n, Y: 3n }, apkG2, sigma)).to.be.revertedWithCustomError(
      t,
      "BN254InvalidPoint",
    );
    await expect(t.verify(m, apk, { X: [1n, 2n], Y: [3n, 4n] }, sigma)).to.be.revertedWithCustomError(
      t,
      "BN254InvalidPoint",
    );
  });

  it("neg: negates, and keeps infinity", async function () {
    const t = await loadFixture(harness);
    const g = toG1(bn254.G1.ProjectivePoint.BASE);
    expect((await t.neg(g)).Y).to.equal(P - 2n);
    expect([...(await t.neg({ X: 0n, Y: 0n }))]).to.deep.equal([0n, 0n]);
  });
});

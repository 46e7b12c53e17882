import { expect } from "chai";
import fc from "fast-check";
import { Wallet } from "ethers";
import {
  decryptData,
  encryptData,
  newDataKey,
  openKey,
  publicKeyOf,
  sealKey,
  SEALED_KEY_BYTES,
} from "../../offchain/inft/crypto";
import { ZgError } from "../../offchain/core/errors";

describe("iNFT crypto (AES-256-GCM data, ECIES key sealing)", () => {
  it("round-trips any data under its key, and the ciphertext never equals the plaintext", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (data) => {
        const key = newDataKey();
        const sealed = encryptData(key, data);
        expect(Buffer.from(decryptData(key, sealed)).equals(Buffer.from(data))).to.equal(true);
        expect(sealed.length).to.equal(data.length + 4 + 12 + 16);
      }),
      { numRuns: 200 },
    );
  });

  it("refuses another key and any altered byte", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 512 }), fc.nat(), (data, position) => {
        const key = newDataKey();
        const sealed = encryptData(key, data);
        expect(() => decryptData(newDataKey(), sealed)).to.throw(ZgError, /does not open/);
        const altered = Uint8Array.from(sealed);
        altered[position % altered.length] ^= 1;
        expect(() => decryptData(key, altered)).to.throw(ZgError);
      }),
      { numRuns: 100 },
    );
  });

  it("a sealed key opens only with its receiver's private key", () => {
    const receiver = Wallet.createRandom();
    const other = Wallet.createRandom();
    for (let i = 0; i < 20; i++) {
      const key = newDataKey();
      const sealed = sealKey(key, publicKeyOf(receiver.privateKey));
      expect(sealed.length).to.equal(SEALED_KEY_BYTES);
      expect(Buffer.from(openKey(sealed, receiver.privateKey)).equals(Buffer.from(key))).to.equal(true);
      expect(() => openKey(sealed, other.privateKey)).to.throw(ZgError, /not for this private key/);
    }
  });

  it("seals to the same public key ethers derives, with or without the 0x04 prefix", () => {
    const receiver = Wallet.createRandom();
    expect(publicKeyOf(receiver.privateKey)).to.equal(`0x${receiver.signingKey.publicKey.slice(4)}`);
    const key = newDataKey();
    const sealed = sealKey(key, receiver.signingKey.publicKey);
    expect(Buffer.from(openKey(sealed, receiver.privateKey)).equals(Buffer.from(key))).to.equal(true);
  });

  it("rejects malformed inputs with one-line errors", () => {
    const key = newDataKey();
    expect(() => encryptData(new Uint8Array(16), new Uint8Array(1))).to.throw(ZgError, /32 bytes/);
    expect(() => decryptData(key, new Uint8Array(10))).to.throw(ZgError, /ZGA1/);
    expect(() => sealKey(key, "0x1234")).to.throw(ZgError, /public key/);
    expect(() => openKey(new Uint8Array(5), Wallet.createRandom().privateKey)).to.throw(ZgError, /93 bytes/);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: SEALED_KEY_BYTES, maxLength: SEALED_KEY_BYTES }), (bytes) => {
        expect(() => openKey(bytes, Wallet.createRandom().privateKey)).to.throw(ZgError);
      }),
      { numRuns: 100 },
    );
  });
});

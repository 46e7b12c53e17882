import { expect } from "chai";
import { hexlify, randomBytes, TypedDataEncoder, Wallet } from "ethers";
import { domainSeparator, typedDigest, typeHash } from "../../offchain/core/signatures";

describe("typedDigest", function () {
  const domain = {
    name: "zerog InferenceServing",
    version: "1",
    chainId: 31337,
    verifyingContract: Wallet.createRandom().address,
  };
  const separator = domainSeparator(domain);
  const random = (bits: number) => BigInt(hexlify(randomBytes(bits / 8)));

  it("is the EIP-712 digest ethers computes, for every static field type", () => {
    const types = {
      Mixed: [
        { name: "user", type: "address" },
        { name: "hash", type: "bytes32" },
        { name: "small", type: "uint8" },
        { name: "amount", type: "uint256" },
        { name: "flag", type: "bool" },
      ],
    };
    const typeString = "Mixed(address user,bytes32 hash,uint8 small,uint256 amount,bool flag)";
    for (let i = 0; i < 20; i++) {
      const value = {
        user: Wallet.createRandom().address,
        hash: hexlify(randomBytes(32)),
        small: random(8),
        amount: i === 0 ? 0n : i === 1 ? (1n << 256n) - 1n : random(256),
        flag: i % 2 === 0,
      };
      expect(
        typedDigest(
          separator,
          typeHash(typeString),
          ["address", "bytes32", "uint8", "uint256", "bool"],
          [value.user, value.hash, value.small, value.amount, value.flag],
        ),
      ).to.equal(TypedDataEncoder.hash(domain, types, value));
    }
  });

  it("refuses values that do not fit their type", () => {
    const hash = typeHash("T(uint8 x)");
    expect(() => typedDigest(separator, hash, ["uint8"], [256n])).to.throw(/does not fit a uint8/);
    expect(() => typedDigest(separator, hash, ["uint8"], [-1n])).to.throw(/does not fit/);
    expect(() => typedDigest(separator, hash, ["address"], ["0x12"])).to.throw(/is not an address/);
    expect(() => typedDigest(separator, hash, ["bytes"], ["0x"])).to.throw(/static types only/);
    expect(() => typedDigest(separator, hash, ["uint8", "uint8"], [1n])).to.throw(/2 types for 1 values/);
  });
});

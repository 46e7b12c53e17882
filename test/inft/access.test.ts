import { expect } from "chai";
import { Wallet } from "ethers";
import { AccessBundleError, parseAccessBundle, type AccessBundle } from "../../offchain/inft/access";

const receiver = Wallet.createRandom();
const GOOD: AccessBundle = {
  tokenId: "7",
  to: receiver.address,
  targetPubkey: `0x${receiver.signingKey.publicKey.slice(4)}`,
  accessProofs: [{ nonce: "12", deadline: "1900000000", signature: `0x${"ab".repeat(65)}` }],
};

/** The AccessBundleError `parse` throws. */
function refusal(parse: () => unknown): AccessBundleError {
  try {
    parse();
  } catch (error) {
    expect(error).to.be.instanceOf(AccessBundleError);
    expect((error as AccessBundleError).code).to.equal("BAD_INPUT");
    expect((error as AccessBundleError).message).to.not.include("\n");
    return error as AccessBundleError;
  }
  throw new Error("the bundle was accepted");
}

describe("iNFT access bundle parser", () => {
  it("accepts a bundle as JSON text or as a decoded value, with the receiver checksummed", () => {
    expect(parseAccessBundle(JSON.stringify(GOOD))).to.deep.equal(GOOD);
    const lowercase = { ...GOOD, to: GOOD.to.toLowerCase() };
    expect(parseAccessBundle(lowercase)).to.deep.equal(GOOD);
    expect(parseAccessBundle(GOOD, { tokenId: 7n, to: GOOD.to.toLowerCase() })).to.deep.equal(GOOD);
  });

  it("refuses text that is not JSON", () => {
    const error = refusal(() => parseAccessBundle("{", { source: "access file a.json" }));
    expect(error.problem).to.equal("not-json");
    expect(error.message).to.equal("access file a.json is not valid JSON");
  });

  it("refuses a missing, malformed or unknown field, naming it", () => {
    const cases: [unknown, string][] = [
      [[], "access bundle: field '(root)' expected object, received array"],
      [{ ...GOOD, tokenId: undefined }, "access bundle: missing required field 'tokenId'"],
      [{ ...GOOD, tokenId: "-1" }, "access bundle: field 'tokenId' must be a token id (decimal digits)"],
      [{ ...GOOD, to: "0x1234" }, "access bundle: field 'to' must be an address"],
      [
        { ...GOOD, targetPubkey: "0x04" },
        "access bundle: field 'targetPubkey' must be a 64-byte uncompressed public key (0x + 128 hex)",
      ],
      [
        { ...GOOD, accessProofs: [] },
        "access bundle: field 'accessProofs' array must contain at least 1 element(s)",
      ],
      [
        { ...GOOD, accessProofs: Array.from({ length: 33 }, () => GOOD.accessProofs[0]) },
        "access bundle: field 'accessProofs' array must contain at most 32 element(s)",
      ],
      [
        { ...GOOD, accessProofs: [{ ...GOOD.accessProofs[0], nonce: "one" }] },
        "access bundle: field 'accessProofs.0.nonce' must be a nonce (decimal digits)",
      ],
      [
        { ...GOOD, accessProofs: [{ ...GOOD.accessProofs[0], deadline: "soon" }] },
        "access bundle: field 'accessProofs.0.deadline' must be a unix time (decimal digits)",
      ],
      [
        { ...GOOD, accessProofs: [{ ...GOOD.accessProofs[0], signature: "0xabcd" }] },
        "access bundle: field 'accessProofs.0.signature' must be a 65-byte signature (0x + 130 hex)",
      ],
      [{ ...GOOD, clone: true }, "access bundle: unknown field 'clone'"],
    ];
    for (const [input, message] of cases) {
      const error = refusal(() => parseAccessBundle(input));
      expect(error.problem).to.equal("malformed");
      expect(error.message).to.equal(message);
    }
  });

  it("refuses a bundle for another token or another receiver", () => {
    const other = Wallet.createRandom().address;
    const token = refusal(() => parseAccessBundle(GOOD, { source: "access file a.json", tokenId: 8n }));
    expect(token.problem).to.equal("mismatch");
    expect(token.message).to.equal(
      `access file a.json is for token 7 and ${GOOD.to}, not token 8 and ${GOOD.to}`,
    );
    const to = refusal(() => parseAccessBundle(GOOD, { tokenId: 7n, to: other }));
    expect(to.problem).to.equal("mismatch");
    expect(to.message).to.equal(`access bundle is for token 7 and ${GOOD.to}, not token 7 and ${other}`);
  });
});

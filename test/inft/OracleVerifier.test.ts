/**
 * Unit tests of the OracleVerifier: EIP-712 access and ownership proofs, the oracle's standing in NodeStaking, new
 * data recorded by the Flow, deadlines and Permit2-style nonces kept per consumer (the calling contract or account).
 * Proofs are signed by real keys (see `inft-fixture.ts`).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { Signature, TypedDataEncoder } from "ethers";
import { OracleVerifier__factory } from "../../typechain-types";
import { JAIL_PERIOD, MIN_STAKES, Role, evidence } from "../helpers/staking-fixture";
import {
  ACCESS_TYPES,
  MAX_PROOF_VALIDITY,
  NAMES,
  OWNERSHIP_TYPES,
  OracleType,
  deadlineIn,
  deployInftFixture,
  sealedKeyFor,
  submitRoot,
  unsubmittedRoot,
  type InftFixture,
  type OwnershipProofStruct,
  type Party,
} from "./inft-fixture";

/** The order of secp256k1: a signature's `s` above n/2 is malleable and refused. */
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
/** OpenZeppelin's `ECDSA.RecoverError` values. */
const RecoverError = { InvalidSignature: 1, InvalidSignatureLength: 2, InvalidSignatureS: 3 } as const;

/** An ownership proof by the fixture's oracle for a fresh entry (old hash zero) sealed to `owner`. */
async function newEntryProof(
  f: InftFixture,
  owner: Party,
  overrides: Partial<Parameters<InftFixture["proofs"]["ownership"]>[1]> = {},
): Promise<OwnershipProofStruct> {
  return f.proofs.ownership(f.oracle.wallet, {
    oldDataHash: ethers.ZeroHash,
    newDataHash: overrides.newDataHash ?? (await submitRoot(f.flow)),
    targetPubkey: owner.pubkey,
    ...overrides,
  });
}

/** The same signature with `s` mirrored to the upper half of the curve order (and `v` flipped). */
function highS(signature: string): string {
  const sig = Signature.from(signature);
  const s = SECP256K1_N - BigInt(sig.s);
  const v = sig.v === 27 ? 28 : 27;
  return ethers.concat([sig.r, ethers.toBeHex(s, 32), ethers.toBeHex(v, 1)]);
}

describe("OracleVerifier", function () {
  describe("deployment and views", function () {
    it("constructor: refuses a zero registry", async function () {
      const { governance, verifier } = await loadFixture(deployInftFixture);
      await expect(
        new OracleVerifier__factory(governance).deploy(ethers.ZeroAddress),
      ).to.be.revertedWithCustomError(verifier, "OracleVerifierZeroAddress");
    });

    it("eip712Domain: names the zerog OracleVerifier domain, version 1, on this chain and address", async function () {
      const { verifier, verifierAddress, chainId, registry } = await loadFixture(deployInftFixture);
      const domain = await verifier.eip712Domain();
      expect(domain.name).to.equal("zerog OracleVerifier");
      expect(domain.version).to.equal("1");
      expect(domain.chainId).to.equal(chainId);
      expect(domain.verifyingContract).to.equal(verifierAddress);
      expect(await verifier.registry()).to.equal(await registry.getAddress());
      expect(await verifier.MAX_PROOF_VALIDITY()).to.equal(BigInt(MAX_PROOF_VALIDITY));
    });

    it("accessProofDigest: is the EIP-712 hash of AccessProof(bytes32,bytes,uint256,uint256)", async function () {
      const { verifier, proofs, bob } = await loadFixture(deployInftFixture);
      const value = { dataHash: ethers.id("data"), targetPubkey: bob.pubkey, nonce: 7n, deadline: 1234n };
      expect(
        await verifier.accessProofDigest(value.dataHash, value.targetPubkey, value.nonce, value.deadline),
      ).to.equal(TypedDataEncoder.hash(proofs.domain, ACCESS_TYPES, value));
    });

    it("ownershipProofDigest: is the EIP-712 hash of OwnershipProof(uint8,bytes32,bytes32,bytes,bytes,uint256,uint256)", async function () {
      const { verifier, proofs, bob } = await loadFixture(deployInftFixture);
      const value = {
        oracleType: OracleType.TEE,
        oldDataHash: ethers.id("old"),
        newDataHash: ethers.id("new"),
        sealedKey: sealedKeyFor("k"),
        targetPubkey: bob.pubkey,
        nonce: 300n,
        deadline: 99n,
      };
      expect(await verifier.ownershipProofDigest({ ...value, signature: "0x" })).to.equal(
        TypedDataEncoder.hash(proofs.domain, OWNERSHIP_TYPES, value),
      );
    });
  });

  describe("verifyOwnership", function () {
    it("verifyOwnership: returns each proof's hashes, the address of its key and the oracle", async function () {
      const f = await loadFixture(deployInftFixture);
      const first = await newEntryProof(f, f.bob);
      const old = await submitRoot(f.flow);
      const second = await f.proofs.ownership(f.oracle.wallet, {
        oldDataHash: old,
        newDataHash: await submitRoot(f.flow),
        targetPubkey: f.carol.pubkey,
      });
      const outputs = await f.verifier.connect(f.alice.signer).verifyOwnership.staticCall([first, second]);
      expect(outputs.map((o) => [o.oldDataHash, o.newDataHash, o.receiver, o.oracle])).to.deep.equal([
        [ethers.ZeroHash, first.newDataHash, f.bob.address, f.oracle.address],
        [old, second.newDataHash, f.carol.address, f.oracle.address],
      ]);
    });

    it("verifyOwnership: an empty list returns no output", async function () {
      const { verifier, alice } = await loadFixture(deployInftFixture);
      expect(await verifier.connect(alice.signer).verifyOwnership.staticCall([])).to.deep.equal([]);
    });

    it("verifyOwnership: a proof signed by an account that is not an oracle reverts", async function () {
      const f = await loadFixture(deployInftFixture);
      const proof = await f.proofs.ownership(f.stranger.wallet, {
        oldDataHash: ethers.ZeroHash,
        newDataHash: await submitRoot(f.flow),
        targetPubkey: f.bob.pubkey,
      });
      await expect(f.verifier.verifyOwnership([proof]))
        .to.be.revertedWithCustomError(f.verifier, "OracleVerifierInactiveOracle")
        .withArgs(f.stranger.address);
    });

    it("verifyOwnership: a proof whose fields changed after signing recovers another signer and reverts", async function () {
      const f = await loadFixture(deployInftFixture);
      const proof = await newEntryProof(f, f.bob);
      const tampered = { ...proof, sealedKey: sealedKeyFor("another key") };
      await expect(f.verifier.verifyOwnership([tampered]))
        .to.be.revertedWithCustomError(f.verifier, "OracleVerifierInactiveOracle")
        .withArgs(anyValue);
    });

    it("verifyOwnership: a signature that is not 65 bytes reverts", async function () {
      const f = await loadFixture(deployInftFixture);
      const proof = await newEntryProof(f, f.bob);
      const short = { ...proof, signature: ethers.dataSlice(proof.signature as string, 0, 64) };
      await expect(f.verifier.verifyOwnership([short]))
        .to.be.revertedWithCustomError(f.verifier, "OracleVerifierInvalidSignature")
        .withArgs(0, RecoverError.InvalidSignatureLength);
    });

    it("verifyOwnership: a malleable signature (s in the upper half) reverts", async function () {
      const f = await loadFixture(deployInftFixture);
      const proof = await newEntryProof(f, f.bob);
      await expect(f.verifier.verifyOwnership([{ ...proof, signature: highS(proof.signature as string) }]))
        .to.be.revertedWithCustomError(f.verifier, "OracleVerifierInvalidSignature")
        .withArgs(0, RecoverError.InvalidSignatureS);
    });

    it("verifyOwnership: a signature that recovers no address reverts", async function () {
      const f = await loadFixture(deployInftFixture);
      const proof = await newEntryProof(f, f.bob);
      const badV = ethers.concat([ethers.dataSlice(proof.signature as string, 0, 64), "0x1d"]);
      await expect(f.verifier.verifyOwnership([{ ...proof, signature: badV }]))
        .to.be.revertedWithCustomError(f.verifier, "OracleVerifierInvalidSignature")
        .withArgs(0, RecoverError.InvalidSignature);
    });

    it("verifyOwnership: an oracle that left the ORACLE role is refused", async function () {
      const f = await loadFixture(deployInftFixture);
      await f.staking.connect(f.oracle.signer).exit(Role.ORACLE);
      await expect(f.verifier.verifyOwnership([await newEntryProof(f, f.bob)]))
        .to.be.revertedWithCustomError(f.verifier, "OracleVerifierInactiveOracle")
        .withArgs(f.oracle.address);
    });

    it("verifyOwnership: a jailed oracle is refused, and accepted again once the jail ends", async function () {
      const f = await loadFixture(deployInftFixture);
      await f.slasher.slash(
        await f.staking.getAddress(),
        f.oracle.address,
        Role.ORACLE,
        0n,
        evidence(1),
        f.alice.address,
      );
      await expect(f.verifier.verifyOwnership([await newEntryProof(f, f.bob)]))
        .to.be.revertedWithCustomError(f.verifier, "OracleVerifierInactiveOracle")
        .withArgs(f.oracle.address);
      await time.increase(Number(JAIL_PERIOD));
      await expect(f.verifier.verifyOwnership([await newEntryProof(f, f.bob)])).to.not.be.reverted;
    });

    it("verifyOwnership: every oracle of a list is checked, not only the first", async function () {
      const f = await loadFixture(deployInftFixture);
      const byStranger = await f.proofs.ownership(f.stranger.wallet, {
        oldDataHash: ethers.ZeroHash,
        newDataHash: await submitRoot(f.flow),
        targetPubkey: f.bob.pubkey,
      });
      await expect(f.verifier.verifyOwnership([await newEntryProof(f, f.bob), byStranger]))
        .to.be.revertedWithCustomError(f.verifier, "OracleVerifierInactiveOracle")
        .withArgs(f.stranger.address);
    });

    it("verifyOwnership: a second staked oracle is accepted in the same list", async function () {
      const f = await loadFixture(deployInftFixture);
      await f.staking.connect(f.carol.signer).stake(Role.ORACLE, { value: MIN_STAKES[Role.ORACLE] });
      const byCarol = await f.proofs.ownership(f.carol.wallet, {
        oldDataHash: ethers.ZeroHash,
        newDataHash: await submitRoot(f.flow),
        targetPubkey: f.bob.pubkey,
      });
      const outputs = await f.verifier.verifyOwnership.staticCall([await newEntryProof(f, f.bob), byCarol]);
      expect(outputs.map((o) => o.oracle)).to.deep.equal([f.oracle.address, f.carol.address]);
    });

    it("verifyOwnership: the ZKP oracle type is not supported", async function () {
      const f = await loadFixture(deployInftFixture);
      const proof = await newEntryProof(f, f.bob, { oracleType: OracleType.ZKP });
      await expect(f.verifier.verifyOwnership([proof]))
        .to.be.revertedWithCustomError(f.verifier, "OracleVerifierUnsupportedOracleType")
        .withArgs(0, OracleType.ZKP);
    });

    it("verifyOwnership: a proof is accepted up to its deadline and refused after it", async function () {
      const f = await loadFixture(deployInftFixture);
      const deadline = await deadlineIn(100);
      const onTime = await newEntryProof(f, f.bob, { deadline });
      const late = await newEntryProof(f, f.bob, { deadline });
      await time.setNextBlockTimestamp(deadline);
      await expect(f.verifier.verifyOwnership([onTime])).to.not.be.reverted;
      await expect(f.verifier.verifyOwnership([late]))
        .to.be.revertedWithCustomError(f.verifier, "OracleVerifierProofExpired")
        .withArgs(0, deadline);
    });

    it("verifyOwnership: a deadline more than MAX_PROOF_VALIDITY ahead is refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const now = BigInt(await time.latest()) + 10n;
      const max = BigInt(MAX_PROOF_VALIDITY);
      const atLimit = await newEntryProof(f, f.bob, { deadline: now + max });
      const beyond = await newEntryProof(f, f.bob, { deadline: now + 2n + max });
      await time.setNextBlockTimestamp(now);
      await expect(f.verifier.verifyOwnership([atLimit])).to.not.be.reverted;
      await time.setNextBlockTimestamp(now + 1n);
      await expect(f.verifier.verifyOwnership([beyond]))
        .to.be.revertedWithCustomError(f.verifier, "OracleVerifierDeadlineTooFar")
        .withArgs(0, now + 2n + max, now + 1n + max);
    });

    it("verifyOwnership: a zero new hash is refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const proof = await newEntryProof(f, f.bob, { newDataHash: ethers.ZeroHash });
      await expect(f.verifier.verifyOwnership([proof]))
        .to.be.revertedWithCustomError(f.verifier, "OracleVerifierZeroDataHash")
        .withArgs(0);
    });

    it("verifyOwnership: a new hash equal to the old one is refused (the data must rotate)", async function () {
      const f = await loadFixture(deployInftFixture);
      const root = await submitRoot(f.flow);
      const proof = await newEntryProof(f, f.bob, { oldDataHash: root, newDataHash: root });
      await expect(f.verifier.verifyOwnership([proof]))
        .to.be.revertedWithCustomError(f.verifier, "OracleVerifierDataNotRotated")
        .withArgs(0, root);
    });

    it("verifyOwnership: a new hash the Flow never recorded is refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const root = unsubmittedRoot("ownership");
      await expect(f.verifier.verifyOwnership([await newEntryProof(f, f.bob, { newDataHash: root })]))
        .to.be.revertedWithCustomError(f.verifier, "OracleVerifierDataNotSubmitted")
        .withArgs(root);
    });

    it("verifyOwnership: a target key that is not 64 bytes is refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const prefixed = ethers.concat(["0x04", f.bob.pubkey]);
      await expect(f.verifier.verifyOwnership([await newEntryProof(f, f.bob, { targetPubkey: prefixed })]))
        .to.be.revertedWithCustomError(f.verifier, "OracleVerifierInvalidPubkey")
        .withArgs(0, 65);
    });

    it("verifyOwnership: NodeStaking and the Flow must be registered", async function () {
      const f = await loadFixture(deployInftFixture);
      const proof = await newEntryProof(f, f.bob);
      await f.registry.removeModule(NAMES.Flow);
      await expect(f.verifier.verifyOwnership([proof]))
        .to.be.revertedWithCustomError(f.registry, "RegistryModuleNotFound")
        .withArgs(NAMES.Flow);
      await f.registry.removeModule(NAMES.NodeStaking);
      await expect(f.verifier.verifyOwnership([proof]))
        .to.be.revertedWithCustomError(f.registry, "RegistryModuleNotFound")
        .withArgs(NAMES.NodeStaking);
    });
  });

  describe("nonces", function () {
    it("nonces: a proof is accepted once per consumer; another consumer may use it too", async function () {
      const f = await loadFixture(deployInftFixture);
      const proof = await newEntryProof(f, f.bob);
      await f.verifier.connect(f.alice.signer).verifyOwnership([proof]);
      await expect(f.verifier.connect(f.alice.signer).verifyOwnership([proof]))
        .to.be.revertedWithCustomError(f.verifier, "OracleVerifierNonceUsed")
        .withArgs(f.oracle.address, proof.nonce);
      await expect(f.verifier.connect(f.carol.signer).verifyOwnership([proof])).to.not.be.reverted;
      expect(await f.verifier.isNonceUsed(f.alice.address, f.oracle.address, proof.nonce)).to.equal(true);
      expect(await f.verifier.isNonceUsed(f.bob.address, f.oracle.address, proof.nonce)).to.equal(false);
    });

    it("nonces: two proofs with one nonce in the same list are refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const first = await newEntryProof(f, f.bob);
      const second = await newEntryProof(f, f.bob, { nonce: BigInt(first.nonce) });
      await expect(f.verifier.verifyOwnership([first, second]))
        .to.be.revertedWithCustomError(f.verifier, "OracleVerifierNonceUsed")
        .withArgs(f.oracle.address, first.nonce);
    });

    it("nonces: sequential nonces share one bitmap word; nonce 256 opens the next", async function () {
      const f = await loadFixture(deployInftFixture);
      const consumer = f.alice.address;
      const batch = [
        await newEntryProof(f, f.bob, { nonce: 0n }),
        await newEntryProof(f, f.bob, { nonce: 1n }),
        await newEntryProof(f, f.bob, { nonce: 2n }),
        await newEntryProof(f, f.bob, { nonce: 256n }),
      ];
      await f.verifier.connect(f.alice.signer).verifyOwnership(batch);
      expect(await f.verifier.nonceBitmap(consumer, f.oracle.address, 0)).to.equal(0b111n);
      expect(await f.verifier.nonceBitmap(consumer, f.oracle.address, 1)).to.equal(1n);
      expect(await f.verifier.isNonceUsed(consumer, f.oracle.address, 3)).to.equal(false);
    });

    it("invalidateNonces: a signer withdraws proofs it handed out to a consumer", async function () {
      const f = await loadFixture(deployInftFixture);
      const proof = await newEntryProof(f, f.bob, { nonce: 5n });
      await expect(f.verifier.connect(f.oracle.signer).invalidateNonces(f.alice.address, 0, 1n << 5n))
        .to.emit(f.verifier, "NoncesInvalidated")
        .withArgs(f.alice.address, f.oracle.address, 0, 1n << 5n);
      await expect(f.verifier.connect(f.alice.signer).verifyOwnership([proof]))
        .to.be.revertedWithCustomError(f.verifier, "OracleVerifierNonceUsed")
        .withArgs(f.oracle.address, 5n);
      await expect(f.verifier.connect(f.carol.signer).verifyOwnership([proof])).to.not.be.reverted;
    });
  });

  describe("verifyTransferValidity", function () {
    /** One transfer proof of `dataHash` to `receiver`, the access proof signed by `accessSigner`. */
    async function transferProof(f: InftFixture, receiver: Party, accessSigner: Party = receiver) {
      const dataHash = await submitRoot(f.flow);
      return {
        accessProof: await f.proofs.access(accessSigner.wallet, { dataHash, targetPubkey: receiver.pubkey }),
        ownershipProof: await f.proofs.ownership(f.oracle.wallet, {
          oldDataHash: dataHash,
          newDataHash: await submitRoot(f.flow),
          targetPubkey: receiver.pubkey,
        }),
      };
    }

    it("verifyTransferValidity: returns the hashes, the key's address, the access signer and the oracle", async function () {
      const f = await loadFixture(deployInftFixture);
      const toBob = await transferProof(f, f.bob);
      const byAssistant = await transferProof(f, f.carol, f.assistant);
      const outputs = await f.verifier.verifyTransferValidity.staticCall([toBob, byAssistant]);
      expect(
        outputs.map((o) => [o.oldDataHash, o.newDataHash, o.receiver, o.accessSigner, o.oracle]),
      ).to.deep.equal([
        [
          toBob.ownershipProof.oldDataHash,
          toBob.ownershipProof.newDataHash,
          f.bob.address,
          f.bob.address,
          f.oracle.address,
        ],
        [
          byAssistant.ownershipProof.oldDataHash,
          byAssistant.ownershipProof.newDataHash,
          f.carol.address,
          f.assistant.address,
          f.oracle.address,
        ],
      ]);
    });

    it("verifyTransferValidity: an access proof signed for other data recovers another signer", async function () {
      const f = await loadFixture(deployInftFixture);
      const proof = await transferProof(f, f.bob);
      const other = await f.proofs.access(f.bob.wallet, {
        dataHash: ethers.id("other"),
        targetPubkey: f.bob.pubkey,
      });
      const [output] = await f.verifier.verifyTransferValidity.staticCall([{ ...proof, accessProof: other }]);
      expect(output.accessSigner).to.not.equal(f.bob.address);
    });

    it("verifyTransferValidity: a replayed access nonce is refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const first = await transferProof(f, f.bob);
      await f.verifier.verifyTransferValidity([first]);
      const second = await transferProof(f, f.bob);
      const replayed = {
        ...second,
        accessProof: await f.proofs.access(f.bob.wallet, {
          dataHash: second.ownershipProof.oldDataHash as string,
          targetPubkey: f.bob.pubkey,
          nonce: BigInt(first.accessProof.nonce),
        }),
      };
      await expect(f.verifier.verifyTransferValidity([replayed]))
        .to.be.revertedWithCustomError(f.verifier, "OracleVerifierNonceUsed")
        .withArgs(f.bob.address, first.accessProof.nonce);
    });

    it("verifyTransferValidity: an expired access proof is refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const proof = await transferProof(f, f.bob);
      const deadline = await deadlineIn(5);
      const access = await f.proofs.access(f.bob.wallet, {
        dataHash: proof.ownershipProof.oldDataHash as string,
        targetPubkey: f.bob.pubkey,
        deadline,
      });
      await time.increase(10);
      await expect(f.verifier.verifyTransferValidity([{ ...proof, accessProof: access }]))
        .to.be.revertedWithCustomError(f.verifier, "OracleVerifierProofExpired")
        .withArgs(0, deadline);
    });

    it("verifyTransferValidity: an access deadline too far ahead is refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const proof = await transferProof(f, f.bob);
      const access = await f.proofs.access(f.bob.wallet, {
        dataHash: proof.ownershipProof.oldDataHash as string,
        targetPubkey: f.bob.pubkey,
        deadline: await deadlineIn(2 * MAX_PROOF_VALIDITY),
      });
      await expect(
        f.verifier.verifyTransferValidity([{ ...proof, accessProof: access }]),
      ).to.be.revertedWithCustomError(f.verifier, "OracleVerifierDeadlineTooFar");
    });

    it("verifyTransferValidity: a malformed access signature is refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const proof = await transferProof(f, f.bob);
      const broken = { ...proof.accessProof, signature: "0x1234" };
      await expect(f.verifier.verifyTransferValidity([{ ...proof, accessProof: broken }]))
        .to.be.revertedWithCustomError(f.verifier, "OracleVerifierInvalidSignature")
        .withArgs(0, RecoverError.InvalidSignatureLength);
    });

    it("verifyTransferValidity: the ownership proof is checked as in verifyOwnership", async function () {
      const f = await loadFixture(deployInftFixture);
      const proof = await transferProof(f, f.bob);
      const zkp = await f.proofs.ownership(f.oracle.wallet, {
        oracleType: OracleType.ZKP,
        oldDataHash: proof.ownershipProof.oldDataHash as string,
        newDataHash: proof.ownershipProof.newDataHash as string,
        targetPubkey: f.bob.pubkey,
      });
      await expect(f.verifier.verifyTransferValidity([{ ...proof, ownershipProof: zkp }]))
        .to.be.revertedWithCustomError(f.verifier, "OracleVerifierUnsupportedOracleType")
        .withArgs(0, OracleType.ZKP);
    });
  });
});

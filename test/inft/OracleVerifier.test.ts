/**
 * Unit tests of the OracleVerifier, and through it of the `OracleProofs` library that AgentNFT uses too: EIP-712
 * access and ownership proofs, the oracle's standing in NodeStaking, new data recorded by the Flow, deadlines and
 * receivers' Permit2-style nonces, kept per consumer (the calling contract or account). Proofs are signed by real
 * keys in the verifier's domain (`f.verifierProofs`, see `inft-fixture.ts`).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, setCode, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { TypedDataEncoder } from "ethers";
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
  type AccessFields,
  type InftFixture,
  type OwnershipFields,
  type OwnershipProofStruct,
  type Party,
} from "./inft-fixture";

/** The order of secp256k1: a signature's `s` above n/2 is malleable and refused. */
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
/** OpenZeppelin's `ECDSA.RecoverError` values (an ERC-2098 signature cannot have a wrong length). */
const RecoverError = { InvalidSignature: 1, InvalidSignatureS: 3 } as const;

/** An ownership proof by the fixture's oracle for a fresh entry (old hash zero) sealed to `owner`. */
async function newEntryProof(
  f: InftFixture,
  owner: Party,
  overrides: Partial<OwnershipFields> = {},
): Promise<OwnershipProofStruct> {
  return f.verifierProofs.ownership(f.oracle.wallet, {
    oldDataHash: ethers.ZeroHash,
    newDataHash: overrides.newDataHash ?? (await submitRoot(f.flow)),
    targetPubkey: owner.pubkey,
    ...overrides,
  });
}

/** `vs` with `s` replaced by the smallest value in the upper half of the curve order (the recovery bit kept). */
function upperHalfS(vs: string): string {
  const recoveryBit = BigInt(vs) >> 255n;
  return ethers.toBeHex((recoveryBit << 255n) | (SECP256K1_N / 2n + 1n), 32);
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

    it("accessProofDigest: is the EIP-712 hash of AccessProof(bytes32,bytes,uint256,uint256), given the key's hash", async function () {
      const { verifier, verifierProofs, bob } = await loadFixture(deployInftFixture);
      const value = { dataHash: ethers.id("data"), targetPubkey: bob.pubkey, nonce: 7n, deadline: 1234n };
      expect(
        await verifier.accessProofDigest(
          value.dataHash,
          ethers.keccak256(bob.pubkey),
          value.nonce,
          value.deadline,
        ),
      ).to.equal(TypedDataEncoder.hash(verifierProofs.domain, ACCESS_TYPES, value));
    });

    it("ownershipProofDigest: is the EIP-712 hash of OwnershipProof(uint8,bytes32,bytes32,bytes,bytes,uint256,uint256)", async function () {
      const { verifier, verifierProofs, bob } = await loadFixture(deployInftFixture);
      const value = {
        oracleType: OracleType.TEE,
        oldDataHash: ethers.id("old"),
        newDataHash: ethers.id("new"),
        sealedKey: sealedKeyFor("k"),
        targetPubkey: bob.pubkey,
        nonce: 300n,
        deadline: 99n,
      };
      const { targetPubkey, ...carried } = value;
      const proof = {
        ...carried,
        targetPubkeyHash: ethers.keccak256(targetPubkey),
        r: ethers.ZeroHash,
        vs: ethers.ZeroHash,
      };
      expect(await verifier.ownershipProofDigest(proof)).to.equal(
        TypedDataEncoder.hash(verifierProofs.domain, OWNERSHIP_TYPES, value),
      );
    });
  });

  describe("verifyOwnership", function () {
    it("verifyOwnership: returns each proof's hashes, the address of its key and the oracle", async function () {
      const f = await loadFixture(deployInftFixture);
      const first = await newEntryProof(f, f.bob);
      const old = await submitRoot(f.flow);
      const second = await f.verifierProofs.ownership(f.oracle.wallet, {
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
      const proof = await f.verifierProofs.ownership(f.stranger.wallet, {
        oldDataHash: ethers.ZeroHash,
        newDataHash: await submitRoot(f.flow),
        targetPubkey: f.bob.pubkey,
      });
      await expect(f.verifier.verifyOwnership([proof]))
        .to.be.revertedWithCustomError(f.verifier, "OracleProofInactiveOracle")
        .withArgs(f.stranger.address);
    });

    it("verifyOwnership: a proof whose fields changed after signing recovers another signer and reverts", async function () {
      const f = await loadFixture(deployInftFixture);
      const proof = await newEntryProof(f, f.bob);
      const changes = [
        { sealedKey: sealedKeyFor("another key") },
        { targetPubkeyHash: ethers.keccak256(f.carol.pubkey) },
        { newDataHash: await submitRoot(f.flow) },
        { nonce: BigInt(proof.nonce) + 1n },
        { deadline: BigInt(proof.deadline) - 1n },
      ];
      for (const change of changes) {
        await expect(f.verifier.verifyOwnership([{ ...proof, ...change }]))
          .to.be.revertedWithCustomError(f.verifier, "OracleProofInactiveOracle")
          .withArgs(anyValue);
      }
      await expect(f.verifier.verifyOwnership([proof])).to.not.be.reverted;
    });

    it("verifyOwnership: a malleable signature (s in the upper half) reverts", async function () {
      const f = await loadFixture(deployInftFixture);
      const proof = await newEntryProof(f, f.bob);
      await expect(f.verifier.verifyOwnership([{ ...proof, vs: upperHalfS(proof.vs as string) }]))
        .to.be.revertedWithCustomError(f.verifier, "OracleProofInvalidSignature")
        .withArgs(0, RecoverError.InvalidSignatureS);
    });

    it("verifyOwnership: a signature that recovers no address reverts", async function () {
      const f = await loadFixture(deployInftFixture);
      const proof = await newEntryProof(f, f.bob);
      await expect(f.verifier.verifyOwnership([{ ...proof, r: ethers.ZeroHash }]))
        .to.be.revertedWithCustomError(f.verifier, "OracleProofInvalidSignature")
        .withArgs(0, RecoverError.InvalidSignature);
    });

    it("verifyOwnership: an oracle that left the ORACLE role is refused", async function () {
      const f = await loadFixture(deployInftFixture);
      await f.staking.connect(f.oracle.signer).exit(Role.ORACLE);
      await expect(f.verifier.verifyOwnership([await newEntryProof(f, f.bob)]))
        .to.be.revertedWithCustomError(f.verifier, "OracleProofInactiveOracle")
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
        .to.be.revertedWithCustomError(f.verifier, "OracleProofInactiveOracle")
        .withArgs(f.oracle.address);
      await time.increase(Number(JAIL_PERIOD));
      await expect(f.verifier.verifyOwnership([await newEntryProof(f, f.bob)])).to.not.be.reverted;
    });

    it("verifyOwnership: every oracle of a list is checked, not only the first", async function () {
      const f = await loadFixture(deployInftFixture);
      const byStranger = await f.verifierProofs.ownership(f.stranger.wallet, {
        oldDataHash: ethers.ZeroHash,
        newDataHash: await submitRoot(f.flow),
        targetPubkey: f.bob.pubkey,
      });
      await expect(f.verifier.verifyOwnership([await newEntryProof(f, f.bob), byStranger]))
        .to.be.revertedWithCustomError(f.verifier, "OracleProofInactiveOracle")
        .withArgs(f.stranger.address);
    });

    it("verifyOwnership: a second staked oracle is accepted in the same list", async function () {
      const f = await loadFixture(deployInftFixture);
      await f.staking.connect(f.carol.signer).stake(Role.ORACLE, { value: MIN_STAKES[Role.ORACLE] });
      const byCarol = await f.verifierProofs.ownership(f.carol.wallet, {
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
        .to.be.revertedWithCustomError(f.verifier, "OracleProofUnsupportedOracleType")
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
        .to.be.revertedWithCustomError(f.verifier, "OracleProofExpired")
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
        .to.be.revertedWithCustomError(f.verifier, "OracleProofDeadlineTooFar")
        .withArgs(0, now + 2n + max, now + 1n + max);
    });

    it("verifyOwnership: a zero new hash is refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const proof = await newEntryProof(f, f.bob, { newDataHash: ethers.ZeroHash });
      await expect(f.verifier.verifyOwnership([proof]))
        .to.be.revertedWithCustomError(f.verifier, "OracleProofZeroDataHash")
        .withArgs(0);
    });

    it("verifyOwnership: a new hash equal to the old one is refused (the data must rotate)", async function () {
      const f = await loadFixture(deployInftFixture);
      const root = await submitRoot(f.flow);
      const proof = await newEntryProof(f, f.bob, { oldDataHash: root, newDataHash: root });
      await expect(f.verifier.verifyOwnership([proof]))
        .to.be.revertedWithCustomError(f.verifier, "OracleProofDataNotRotated")
        .withArgs(0, root);
    });

    it("verifyOwnership: a new hash the Flow never recorded is refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const root = unsubmittedRoot("ownership");
      await expect(f.verifier.verifyOwnership([await newEntryProof(f, f.bob, { newDataHash: root })]))
        .to.be.revertedWithCustomError(f.verifier, "OracleProofDataNotSubmitted")
        .withArgs(root);
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
    it("verifyOwnership: a registered module without code, or answering no boolean, makes it revert", async function () {
      const f = await loadFixture(deployInftFixture);
      const proof = await newEntryProof(f, f.bob);
      const fake = ethers.Wallet.createRandom().address;
      await f.registry.setModule(NAMES.Flow, fake, "0.0.0");
      await expect(f.verifier.verifyOwnership([proof])).to.be.revertedWithoutReason();
      // Runtime code answering 2 to any call: PUSH1 2 PUSH0 MSTORE PUSH1 32 PUSH0 RETURN.
      await setCode(fake, "0x60025f5260205ff3");
      await expect(f.verifier.verifyOwnership([proof])).to.be.revertedWithoutReason();
      await f.registry.setModule(NAMES.Flow, await f.flow.getAddress(), "1.0.0");
      await f.registry.setModule(NAMES.NodeStaking, fake, "0.0.0");
      await expect(f.verifier.verifyOwnership([proof])).to.be.revertedWithoutReason();
    });
  });

  describe("nonces", function () {
    it("nonces: a proof is accepted once per consumer; another consumer may use it too", async function () {
      const f = await loadFixture(deployInftFixture);
      const proof = await newEntryProof(f, f.bob);
      await f.verifier.connect(f.alice.signer).verifyOwnership([proof]);
      await expect(f.verifier.connect(f.alice.signer).verifyOwnership([proof]))
        .to.be.revertedWithCustomError(f.verifier, "OracleProofNonceUsed")
        .withArgs(f.bob.address, proof.nonce);
      await expect(f.verifier.connect(f.carol.signer).verifyOwnership([proof])).to.not.be.reverted;
      expect(await f.verifier.isNonceUsed(f.alice.address, f.bob.address, proof.nonce)).to.equal(true);
      expect(await f.verifier.isNonceUsed(f.stranger.address, f.bob.address, proof.nonce)).to.equal(false);
      expect(await f.verifier.isNonceUsed(f.alice.address, f.oracle.address, proof.nonce)).to.equal(false);
    });

    it("nonces: the nonce is the receiver's, whoever signs the proof", async function () {
      const f = await loadFixture(deployInftFixture);
      await f.staking.connect(f.carol.signer).stake(Role.ORACLE, { value: MIN_STAKES[Role.ORACLE] });
      const byOracle = await newEntryProof(f, f.bob, { nonce: 9n });
      const byCarol = await f.verifierProofs.ownership(f.carol.wallet, {
        oldDataHash: ethers.ZeroHash,
        newDataHash: await submitRoot(f.flow),
        targetPubkey: f.bob.pubkey,
        nonce: 9n,
      });
      const toAlice = await newEntryProof(f, f.alice, { nonce: 9n });
      await f.verifier.verifyOwnership([byOracle, toAlice]);
      await expect(f.verifier.verifyOwnership([byCarol]))
        .to.be.revertedWithCustomError(f.verifier, "OracleProofNonceUsed")
        .withArgs(f.bob.address, 9n);
    });

    it("nonces: two proofs with one nonce in the same list are refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const first = await newEntryProof(f, f.bob);
      const second = await newEntryProof(f, f.bob, { nonce: BigInt(first.nonce) });
      await expect(f.verifier.verifyOwnership([first, second]))
        .to.be.revertedWithCustomError(f.verifier, "OracleProofNonceUsed")
        .withArgs(f.bob.address, first.nonce);
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
      expect(await f.verifier.nonceBitmap(consumer, f.bob.address, 0)).to.equal(0b111n);
      expect(await f.verifier.nonceBitmap(consumer, f.bob.address, 1)).to.equal(1n);
      expect(await f.verifier.isNonceUsed(consumer, f.bob.address, 3)).to.equal(false);
    });

    it("invalidateNonces: a receiver withdraws proofs addressed to it, for one consumer", async function () {
      const f = await loadFixture(deployInftFixture);
      const proof = await newEntryProof(f, f.bob, { nonce: 5n });
      await expect(f.verifier.connect(f.bob.signer).invalidateNonces(f.alice.address, 0, 1n << 5n))
        .to.emit(f.verifier, "NoncesInvalidated")
        .withArgs(f.alice.address, f.bob.address, 0, 1n << 5n);
      await expect(f.verifier.connect(f.alice.signer).verifyOwnership([proof]))
        .to.be.revertedWithCustomError(f.verifier, "OracleProofNonceUsed")
        .withArgs(f.bob.address, 5n);
      await expect(f.verifier.connect(f.carol.signer).verifyOwnership([proof])).to.not.be.reverted;
    });
  });

  describe("verifyTransferValidity", function () {
    /** One transfer proof of fresh data to `receiver`, the consent signed by `accessSigner`. */
    async function transferProof(
      f: InftFixture,
      receiver: Party,
      accessSigner: Party = receiver,
      ownership: Partial<OwnershipFields> = {},
      access: Partial<AccessFields> = {},
    ) {
      const fields = {
        oldDataHash: await submitRoot(f.flow),
        newDataHash: await submitRoot(f.flow),
        targetPubkey: receiver.pubkey,
        ...ownership,
      };
      return f.verifierProofs.transfer(f.oracle.wallet, accessSigner.wallet, fields, access);
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

    it("verifyTransferValidity: a consent signed for other data, key, nonce or deadline recovers another signer", async function () {
      const f = await loadFixture(deployInftFixture);
      const overrides: Partial<AccessFields>[] = [
        { dataHash: ethers.id("other") },
        { targetPubkey: f.carol.pubkey },
        { nonce: 12345n },
        { deadline: await deadlineIn(10) },
      ];
      for (const access of overrides) {
        const proof = await transferProof(f, f.bob, f.bob, {}, access);
        const [output] = await f.verifier.verifyTransferValidity.staticCall([proof]);
        expect(output.accessSigner).to.not.equal(f.bob.address);
        expect(output.receiver).to.equal(f.bob.address);
      }
    });

    it("verifyTransferValidity: the pair is accepted once (its nonce is the receiver's)", async function () {
      const f = await loadFixture(deployInftFixture);
      const first = await transferProof(f, f.bob);
      await f.verifier.verifyTransferValidity([first]);
      await expect(f.verifier.verifyTransferValidity([first]))
        .to.be.revertedWithCustomError(f.verifier, "OracleProofNonceUsed")
        .withArgs(f.bob.address, first.ownershipProof.nonce);
      const again = await transferProof(f, f.bob, f.bob, { nonce: BigInt(first.ownershipProof.nonce) });
      await expect(f.verifier.verifyTransferValidity([again]))
        .to.be.revertedWithCustomError(f.verifier, "OracleProofNonceUsed")
        .withArgs(f.bob.address, first.ownershipProof.nonce);
    });

    it("verifyTransferValidity: the pair expires at its deadline", async function () {
      const f = await loadFixture(deployInftFixture);
      const deadline = await deadlineIn(5);
      const proof = await transferProof(f, f.bob, f.bob, { deadline });
      await time.increase(10);
      await expect(f.verifier.verifyTransferValidity([proof]))
        .to.be.revertedWithCustomError(f.verifier, "OracleProofExpired")
        .withArgs(0, deadline);
    });

    it("verifyTransferValidity: a deadline too far ahead is refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const proof = await transferProof(f, f.bob, f.bob, {
        deadline: await deadlineIn(2 * MAX_PROOF_VALIDITY),
      });
      await expect(f.verifier.verifyTransferValidity([proof])).to.be.revertedWithCustomError(
        f.verifier,
        "OracleProofDeadlineTooFar",
      );
    });

    it("verifyTransferValidity: an access signature that recovers no address, or a malleable one, is refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const proof = await transferProof(f, f.bob);
      const noSigner = { ...proof, accessProof: { ...proof.accessProof, r: ethers.ZeroHash } };
      await expect(f.verifier.verifyTransferValidity([noSigner]))
        .to.be.revertedWithCustomError(f.verifier, "OracleProofInvalidSignature")
        .withArgs(0, RecoverError.InvalidSignature);
      const highS = {
        ...proof,
        accessProof: { ...proof.accessProof, vs: upperHalfS(proof.accessProof.vs as string) },
      };
      await expect(f.verifier.verifyTransferValidity([highS]))
        .to.be.revertedWithCustomError(f.verifier, "OracleProofInvalidSignature")
        .withArgs(0, RecoverError.InvalidSignatureS);
    });

    it("verifyTransferValidity: the ownership proof is checked as in verifyOwnership", async function () {
      const f = await loadFixture(deployInftFixture);
      const proof = await transferProof(f, f.bob, f.bob, { oracleType: OracleType.ZKP });
      await expect(f.verifier.verifyTransferValidity([proof]))
        .to.be.revertedWithCustomError(f.verifier, "OracleProofUnsupportedOracleType")
        .withArgs(0, OracleType.ZKP);
    });
  });
});

/**
 * Unit tests of AgentNFT (ERC-7857): minting with oracle attestations, transfers and clones that rotate every data
 * entry, updates, authorized users and approvals cleared on transfer, delegates, receivers' nonces and the mint
 * fee. Proofs are real (EIP-712 signatures in AgentNFT's domain by the parties' keys and a staked oracle; new hashes
 * submitted to the Flow), see `inft-fixture.ts`. The checks of the `OracleProofs` library are covered in
 * `OracleVerifier.test.ts` too, through the verifier.
 */
import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import { loadFixture, setCode, time } from "@nomicfoundation/hardhat-network-helpers";
import { TypedDataEncoder } from "ethers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { AgentNFT__factory } from "../../typechain-types";
import { Role, evidence } from "../helpers/staking-fixture";
import {
  ACCESS_TYPES,
  MAX_PROOF_VALIDITY,
  MINT_FEE,
  NAMES,
  OWNERSHIP_TYPES,
  OracleType,
  deadlineIn,
  deployInftFixture,
  deployPricedInftFixture,
  handOverProofs,
  mintAgent,
  mintProofs,
  sealedKeyFor,
  submitRoot,
  unsubmittedRoot,
  type HandOverOptions,
  type InftFixture,
  type Party,
  type TransferValidityProofStruct,
} from "./inft-fixture";

const NUM_RUNS = Number(process.env.NUM_RUNS ?? 50);
/** Runtime code that reverts on any call: PUSH0 PUSH0 REVERT. */
const REVERTING_CODE = "0x5f5ffd";
const MAX_DATA_ENTRIES = 32;
const MAX_AUTHORIZED_USERS = 100;
// keccak256("eip1967.proxy.implementation") - 1
const ERC1967_IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";

type Entry = [description: string, dataHash: string];

async function entriesOf(f: InftFixture, tokenId: bigint): Promise<Entry[]> {
  return (await f.nft.intelligentDatasOf(tokenId)).map((d) => [d.dataDescription, d.dataHash]);
}

function sealedKeysOf(proofs: TransferValidityProofStruct[]): string[] {
  return proofs.map((p) => p.ownershipProof.sealedKey as string);
}

/** Hands `tokenId` from `from` to `to` with fresh proofs. */
async function iTransfer(
  f: InftFixture,
  tokenId: bigint,
  from: Party,
  to: Party,
  options: HandOverOptions = {},
): Promise<TransferValidityProofStruct[]> {
  const proofs = await handOverProofs(f, tokenId, to, options);
  await (await f.nft.connect(from.signer).iTransferFrom(from.address, to.address, tokenId, proofs)).wait();
  return proofs;
}

type FunctionName = Parameters<InftFixture["nft"]["interface"]["getFunction"]>[0];

/** ERC-165 id of the functions a contract interface declares itself: the XOR of their selectors. */
function interfaceId(f: InftFixture, names: FunctionName[]): string {
  const id = names.reduce((acc, name) => acc ^ BigInt(f.nft.interface.getFunction(name)!.selector), 0n);
  return ethers.toBeHex(id, 4);
}

describe("AgentNFT", function () {
  describe("deployment", function () {
    it("constructor: names the collection and sets the fee and the registry", async function () {
      const f = await loadFixture(deployPricedInftFixture);
      expect(await f.nft.name()).to.equal("zerog Agent");
      expect(await f.nft.symbol()).to.equal("ZGA");
      expect(await f.nft.mintFee()).to.equal(MINT_FEE);
      expect(await f.nft.registry()).to.equal(await f.registry.getAddress());
      expect(await f.nft.totalMinted()).to.equal(0n);
      expect(await f.nft.MAX_DATA_ENTRIES()).to.equal(BigInt(MAX_DATA_ENTRIES));
      expect(await f.nft.MAX_AUTHORIZED_USERS()).to.equal(BigInt(MAX_AUTHORIZED_USERS));
      expect(await f.nft.MAX_PROOF_VALIDITY()).to.equal(BigInt(MAX_PROOF_VALIDITY));
    });

    it("constructor: refuses a zero registry and a fee beyond 128 bits", async function () {
      const f = await loadFixture(deployInftFixture);
      const factory = new AgentNFT__factory(f.governance);
      await expect(factory.deploy(ethers.ZeroAddress, 0n)).to.be.revertedWithCustomError(
        f.nft,
        "AgentNFTZeroAddress",
      );
      await expect(factory.deploy(await f.registry.getAddress(), 1n << 128n))
        .to.be.revertedWithCustomError(f.nft, "AgentNFTFeeTooHigh")
        .withArgs(1n << 128n);
    });

    it("not upgradeable: no proxy, no upgrade entry point", async function () {
      const f = await loadFixture(deployInftFixture);
      const names = AgentNFT__factory.abi.map((entry) => ("name" in entry ? entry.name : ""));
      expect(names).to.include("iTransferFrom");
      expect(names).to.not.include.members(["upgradeToAndCall", "initialize", "proxiableUUID"]);
      expect(await ethers.provider.getStorage(f.nftAddress, ERC1967_IMPLEMENTATION_SLOT)).to.equal(
        ethers.ZeroHash,
      );
    });

    it("supportsInterface: ERC-165, ERC-721, its metadata, IERC7857 and IERC7857Metadata", async function () {
      const f = await loadFixture(deployInftFixture);
      const erc7857 = interfaceId(f, [
        "iTransferFrom",
        "iCloneFrom",
        "authorizeUsage",
        "revokeAuthorization",
        "delegateAccess",
        "authorizedUsersOf",
        "getDelegateAccess",
      ]);
      const metadata = interfaceId(f, ["update", "intelligentDatasOf"]);
      for (const id of ["0x01ffc9a7", "0x80ac58cd", "0x5b5e139f", erc7857, metadata]) {
        expect(await f.nft.supportsInterface(id), id).to.equal(true);
      }
      expect(await f.nft.supportsInterface("0xffffffff")).to.equal(false);
    });
  });

  describe("proof domain and nonces", function () {
    it("eip712Domain: the token checks its own proofs, in the zerog AgentNFT domain, version 1", async function () {
      const f = await loadFixture(deployInftFixture);
      const domain = await f.nft.eip712Domain();
      expect(domain.name).to.equal("zerog AgentNFT");
      expect(domain.version).to.equal("1");
      expect(domain.chainId).to.equal(f.chainId);
      expect(domain.verifyingContract).to.equal(f.nftAddress);
      expect(f.proofs.domain.verifyingContract).to.equal(f.nftAddress);
    });

    it("accessProofDigest and ownershipProofDigest: the EIP-712 hashes of the typed data, with the full key", async function () {
      const f = await loadFixture(deployInftFixture);
      const access = { dataHash: ethers.id("data"), targetPubkey: f.bob.pubkey, nonce: 7n, deadline: 1234n };
      expect(
        await f.nft.accessProofDigest(access.dataHash, ethers.keccak256(f.bob.pubkey), 7n, 1234n),
      ).to.equal(TypedDataEncoder.hash(f.proofs.domain, ACCESS_TYPES, access));
      const ownership = {
        oracleType: OracleType.TEE,
        oldDataHash: ethers.id("old"),
        newDataHash: ethers.id("new"),
        sealedKey: sealedKeyFor("k"),
        targetPubkey: f.bob.pubkey,
        nonce: 300n,
        deadline: 99n,
      };
      const { targetPubkey, ...carried } = ownership;
      const proof = {
        ...carried,
        targetPubkeyHash: ethers.keccak256(targetPubkey),
        r: ethers.ZeroHash,
        vs: ethers.ZeroHash,
      };
      expect(await f.nft.ownershipProofDigest(proof)).to.equal(
        TypedDataEncoder.hash(f.proofs.domain, OWNERSHIP_TYPES, ownership),
      );
    });

    it("nonces: a transfer uses the receiver's nonce, shared by the attestation and the consent", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      const [proof] = await handOverProofs(f, tokenId, f.bob);
      const nonce = BigInt(proof.ownershipProof.nonce);
      expect(await f.nft.isNonceUsed(f.bob.address, nonce)).to.equal(false);
      await f.nft.connect(f.alice.signer).iTransferFrom(f.alice.address, f.bob.address, tokenId, [proof]);
      expect(await f.nft.isNonceUsed(f.bob.address, nonce)).to.equal(true);
      expect(await f.nft.nonceBitmap(f.bob.address, nonce >> 8n)).to.equal(1n << (nonce & 255n));
      expect(await f.nft.isNonceUsed(f.oracle.address, nonce)).to.equal(false);
    });

    it("invalidateNonces: a receiver withdraws proofs addressed to it", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      const [proof] = await handOverProofs(f, tokenId, f.bob);
      const nonce = BigInt(proof.ownershipProof.nonce);
      await expect(f.nft.connect(f.bob.signer).invalidateNonces(nonce >> 8n, 1n << (nonce & 255n)))
        .to.emit(f.nft, "NoncesInvalidated")
        .withArgs(f.bob.address, nonce >> 8n, 1n << (nonce & 255n));
      await expect(
        f.nft.connect(f.alice.signer).iTransferFrom(f.alice.address, f.bob.address, tokenId, [proof]),
      )
        .to.be.revertedWithCustomError(f.nft, "OracleProofNonceUsed")
        .withArgs(f.bob.address, nonce);
    });
  });

  describe("mint", function () {
    it("mint: stores the entries, ids start at 1, and publishes the sealed keys to the owner", async function () {
      const f = await loadFixture(deployInftFixture);
      const { datas, proofs } = await mintProofs(f, f.alice, 2);
      const tx = f.nft.connect(f.alice.signer).mint(f.alice.address, datas, proofs);
      await expect(tx).to.emit(f.nft, "Transfer").withArgs(ethers.ZeroAddress, f.alice.address, 1n);
      await expect(tx)
        .to.emit(f.nft, "PublishedSealedKey")
        .withArgs(
          f.alice.address,
          1n,
          proofs.map((p) => p.sealedKey),
        );
      expect(await f.nft.ownerOf(1n)).to.equal(f.alice.address);
      expect(await f.nft.totalMinted()).to.equal(1n);
      expect(await entriesOf(f, 1n)).to.deep.equal(datas.map((d) => [d.dataDescription, d.dataHash]));
    });

    it("mint: a token can be minted to another account, with the keys sealed to that account", async function () {
      const f = await loadFixture(deployInftFixture);
      const { datas, proofs } = await mintProofs(f, f.bob, 1);
      await f.nft.connect(f.alice.signer).mint(f.bob.address, datas, proofs);
      expect(await f.nft.ownerOf(1n)).to.equal(f.bob.address);
    });

    it("mint: a token without data needs no proof and emits no sealed key", async function () {
      const f = await loadFixture(deployInftFixture);
      await expect(f.nft.connect(f.alice.signer).mint(f.alice.address, [], [])).to.not.emit(
        f.nft,
        "PublishedSealedKey",
      );
      expect(await f.nft.intelligentDatasOf(1n)).to.deep.equal([]);
    });

    it("mint: proofs sealed to another key than the receiver's are refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const { datas, proofs } = await mintProofs(f, f.carol, 1);
      await expect(f.nft.connect(f.alice.signer).mint(f.alice.address, datas, proofs))
        .to.be.revertedWithCustomError(f.nft, "AgentNFTReceiverMismatch")
        .withArgs(0, f.alice.address, f.carol.address);
    });

    it("mint: an entry's hash must be its proof's new hash", async function () {
      const f = await loadFixture(deployInftFixture);
      const { datas, proofs } = await mintProofs(f, f.alice, 2);
      const swapped = [datas[1], datas[0]];
      await expect(f.nft.connect(f.alice.signer).mint(f.alice.address, swapped, proofs))
        .to.be.revertedWithCustomError(f.nft, "AgentNFTNewDataHashMismatch")
        .withArgs(0, datas[1].dataHash, datas[0].dataHash);
    });

    it("mint: a proof must be for new data (old hash zero)", async function () {
      const f = await loadFixture(deployInftFixture);
      const old = await submitRoot(f.flow);
      const dataHash = await submitRoot(f.flow);
      const proof = await f.proofs.ownership(f.oracle.wallet, {
        oldDataHash: old,
        newDataHash: dataHash,
        targetPubkey: f.alice.pubkey,
      });
      await expect(f.nft.mint(f.alice.address, [{ dataDescription: "m", dataHash }], [proof]))
        .to.be.revertedWithCustomError(f.nft, "AgentNFTDataHashMismatch")
        .withArgs(0, ethers.ZeroHash, old);
    });

    it("mint: one proof per entry", async function () {
      const f = await loadFixture(deployInftFixture);
      const { datas, proofs } = await mintProofs(f, f.alice, 2);
      await expect(f.nft.mint(f.alice.address, datas, proofs.slice(0, 1)))
        .to.be.revertedWithCustomError(f.nft, "AgentNFTProofCountMismatch")
        .withArgs(2, 1);
    });

    it("mint: at most MAX_DATA_ENTRIES entries", async function () {
      const f = await loadFixture(deployInftFixture);
      const { datas, proofs } = await mintProofs(f, f.alice, 1);
      const many = Array.from({ length: MAX_DATA_ENTRIES + 1 }, () => datas[0]);
      const manyProofs = Array.from({ length: MAX_DATA_ENTRIES + 1 }, () => proofs[0]);
      await expect(f.nft.mint(f.alice.address, many, manyProofs))
        .to.be.revertedWithCustomError(f.nft, "AgentNFTTooManyEntries")
        .withArgs(MAX_DATA_ENTRIES + 1, MAX_DATA_ENTRIES);
    });

    it("mint: not to the zero address", async function () {
      const f = await loadFixture(deployInftFixture);
      await expect(f.nft.mint(ethers.ZeroAddress, [], []))
        .to.be.revertedWithCustomError(f.nft, "ERC721InvalidReceiver")
        .withArgs(ethers.ZeroAddress);
    });

    it("mint: an attestation by an account that is not an oracle is refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const dataHash = await submitRoot(f.flow);
      const forged = await f.proofs.ownership(f.stranger.wallet, {
        oldDataHash: ethers.ZeroHash,
        newDataHash: dataHash,
        targetPubkey: f.alice.pubkey,
      });
      await expect(f.nft.mint(f.alice.address, [{ dataDescription: "m", dataHash }], [forged]))
        .to.be.revertedWithCustomError(f.nft, "OracleProofInactiveOracle")
        .withArgs(f.stranger.address);
    });

    it("mint: data the Flow never recorded is refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const dataHash = unsubmittedRoot("mint");
      const proof = await f.proofs.ownership(f.oracle.wallet, {
        oldDataHash: ethers.ZeroHash,
        newDataHash: dataHash,
        targetPubkey: f.alice.pubkey,
      });
      await expect(f.nft.mint(f.alice.address, [{ dataDescription: "m", dataHash }], [proof]))
        .to.be.revertedWithCustomError(f.nft, "OracleProofDataNotSubmitted")
        .withArgs(dataHash);
    });

    it("mint: needs NodeStaking and the Flow registered for data, but not the OracleVerifier", async function () {
      const f = await loadFixture(deployInftFixture);
      await f.registry.removeModule(NAMES.OracleVerifier);
      await mintAgent(f, f.alice, 1);
      const { datas, proofs } = await mintProofs(f, f.alice, 1);
      await f.registry.removeModule(NAMES.Flow);
      await expect(f.nft.mint(f.alice.address, datas, proofs))
        .to.be.revertedWithCustomError(f.registry, "RegistryModuleNotFound")
        .withArgs(NAMES.Flow);
      await f.registry.removeModule(NAMES.NodeStaking);
      await expect(f.nft.mint(f.alice.address, datas, proofs))
        .to.be.revertedWithCustomError(f.registry, "RegistryModuleNotFound")
        .withArgs(NAMES.NodeStaking);
      await f.nft.mint(f.alice.address, [], []);
    });
  });

  describe("mint fee", function () {
    it("mint: charges exactly the fee, which stays in the contract", async function () {
      const f = await loadFixture(deployPricedInftFixture);
      const { datas, proofs } = await mintProofs(f, f.alice, 1);
      await expect(f.nft.connect(f.alice.signer).mint(f.alice.address, datas, proofs))
        .to.be.revertedWithCustomError(f.nft, "AgentNFTFeeMismatch")
        .withArgs(MINT_FEE, 0n);
      await expect(
        f.nft.connect(f.alice.signer).mint(f.alice.address, datas, proofs, { value: MINT_FEE + 1n }),
      )
        .to.be.revertedWithCustomError(f.nft, "AgentNFTFeeMismatch")
        .withArgs(MINT_FEE, MINT_FEE + 1n);
      await expect(
        f.nft.connect(f.alice.signer).mint(f.alice.address, datas, proofs, { value: MINT_FEE }),
      ).to.changeEtherBalances([f.alice.signer, f.nft], [-MINT_FEE, MINT_FEE]);
    });

    it("setMintFee: governance only; the fee must fit in 128 bits", async function () {
      const f = await loadFixture(deployPricedInftFixture);
      await expect(f.nft.connect(f.alice.signer).setMintFee(0n))
        .to.be.revertedWithCustomError(f.nft, "AgentNFTNotGovernance")
        .withArgs(f.alice.address);
      await expect(f.nft.setMintFee(1n << 128n))
        .to.be.revertedWithCustomError(f.nft, "AgentNFTFeeTooHigh")
        .withArgs(1n << 128n);
      await expect(f.nft.setMintFee(0n)).to.emit(f.nft, "MintFeeSet").withArgs(0n);
      expect(await f.nft.mintFee()).to.equal(0n);
      await expect(f.nft.connect(f.alice.signer).mint(f.alice.address, [], [])).to.not.be.reverted;
    });

    it("withdrawFees: governance sends every collected fee to a treasury", async function () {
      const f = await loadFixture(deployPricedInftFixture);
      await mintAgent(f, f.alice, 1);
      await mintAgent(f, f.bob, 0);
      await expect(f.nft.connect(f.alice.signer).withdrawFees(f.alice.address))
        .to.be.revertedWithCustomError(f.nft, "AgentNFTNotGovernance")
        .withArgs(f.alice.address);
      const tx = f.nft.withdrawFees(f.treasury.address);
      await expect(tx)
        .to.emit(f.nft, "FeesWithdrawn")
        .withArgs(f.treasury.address, 2n * MINT_FEE);
      await expect(tx).to.changeEtherBalances([f.nft, f.treasury], [-2n * MINT_FEE, 2n * MINT_FEE]);
      await expect(f.nft.withdrawFees(f.treasury.address)).to.be.revertedWithCustomError(
        f.nft,
        "AgentNFTNothingToWithdraw",
      );
    });

    it("withdrawFees: not to the zero address, nor to an account that refuses coin", async function () {
      const f = await loadFixture(deployPricedInftFixture);
      await mintAgent(f, f.alice, 0);
      await expect(f.nft.withdrawFees(ethers.ZeroAddress)).to.be.revertedWithCustomError(
        f.nft,
        "AgentNFTZeroAddress",
      );
      const refusing = ethers.Wallet.createRandom().address;
      await setCode(refusing, REVERTING_CODE);
      await expect(f.nft.withdrawFees(refusing))
        .to.be.revertedWithCustomError(f.nft, "AgentNFTTransferFailed")
        .withArgs(refusing, MINT_FEE);
    });

    it("property: the contract's balance is the fees collected minus the fees withdrawn", async function () {
      type Op =
        { kind: "mint" | "clone"; underpay: boolean } | { kind: "fee"; fee: bigint } | { kind: "withdraw" };
      const opArb: fc.Arbitrary<Op> = fc.oneof(
        { weight: 4, arbitrary: fc.record({ kind: fc.constant("mint" as const), underpay: fc.boolean() }) },
        { weight: 3, arbitrary: fc.record({ kind: fc.constant("clone" as const), underpay: fc.boolean() }) },
        {
          weight: 1,
          arbitrary: fc.record({ kind: fc.constant("fee" as const), fee: fc.constantFrom(0n, 1n, MINT_FEE) }),
        },
        { weight: 2, arbitrary: fc.constant({ kind: "withdraw" as const }) },
      );
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 10 }), async (ops) => {
          const f = await loadFixture(deployPricedInftFixture);
          const asAlice = f.nft.connect(f.alice.signer);
          let fee = MINT_FEE;
          let held = 0n;
          for (const op of ops) {
            if (op.kind === "mint" || op.kind === "clone") {
              const value = op.underpay && fee > 0n ? fee - 1n : fee;
              const tokens = await f.nft.totalMinted();
              const call =
                op.kind === "clone" && tokens > 0n
                  ? asAlice.iCloneFrom(f.alice.address, f.bob.address, 1n, [], { value })
                  : asAlice.mint(f.alice.address, [], [], { value });
              if (value !== fee) {
                await expect(call)
                  .to.be.revertedWithCustomError(f.nft, "AgentNFTFeeMismatch")
                  .withArgs(fee, value);
              } else {
                await call;
                held += fee;
              }
            } else if (op.kind === "fee") {
              await f.nft.setMintFee(op.fee);
              fee = op.fee;
            } else if (held === 0n) {
              await expect(f.nft.withdrawFees(f.treasury.address)).to.be.revertedWithCustomError(
                f.nft,
                "AgentNFTNothingToWithdraw",
              );
            } else {
              await expect(f.nft.withdrawFees(f.treasury.address)).to.changeEtherBalance(f.treasury, held);
              held = 0n;
            }
            expect(await ethers.provider.getBalance(f.nftAddress)).to.equal(held);
          }
        }),
        { numRuns: NUM_RUNS },
      );
    });
  });

  describe("iTransferFrom", function () {
    it("iTransferFrom: moves the token, rotates every entry and publishes the new keys to the receiver", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 3);
      const before = await entriesOf(f, tokenId);
      const proofs = await handOverProofs(f, tokenId, f.bob);
      const tx = f.nft.connect(f.alice.signer).iTransferFrom(f.alice.address, f.bob.address, tokenId, proofs);
      await expect(tx).to.emit(f.nft, "Transfer").withArgs(f.alice.address, f.bob.address, tokenId);
      await expect(tx).to.emit(f.nft, "Transferred").withArgs(tokenId, f.alice.address, f.bob.address);
      await expect(tx)
        .to.emit(f.nft, "PublishedSealedKey")
        .withArgs(f.bob.address, tokenId, sealedKeysOf(proofs));
      expect(await f.nft.ownerOf(tokenId)).to.equal(f.bob.address);
      const after = await entriesOf(f, tokenId);
      expect(after).to.deep.equal(
        before.map(([description], i) => [description, proofs[i].ownershipProof.newDataHash]),
      );
      for (let i = 0; i < after.length; i++) expect(after[i][1]).to.not.equal(before[i][1]);
    });

    it("iTransferFrom: an approved account or an operator may move the token", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      await f.nft.connect(f.alice.signer).approve(f.stranger.address, tokenId);
      const toBob = await handOverProofs(f, tokenId, f.bob);
      await f.nft.connect(f.stranger.signer).iTransferFrom(f.alice.address, f.bob.address, tokenId, toBob);
      await f.nft.connect(f.bob.signer).setApprovalForAll(f.carol.address, true);
      const toAlice = await handOverProofs(f, tokenId, f.alice);
      await f.nft.connect(f.carol.signer).iTransferFrom(f.bob.address, f.alice.address, tokenId, toAlice);
      expect(await f.nft.ownerOf(tokenId)).to.equal(f.alice.address);
    });

    it("iTransferFrom: a caller without rights to the token is refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      const proofs = await handOverProofs(f, tokenId, f.bob);
      await expect(f.nft.connect(f.bob.signer).iTransferFrom(f.alice.address, f.bob.address, tokenId, proofs))
        .to.be.revertedWithCustomError(f.nft, "ERC721InsufficientApproval")
        .withArgs(f.bob.address, tokenId);
    });

    it("iTransferFrom: `from` must be the owner, `to` not zero, and the token must exist", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      const proofs = await handOverProofs(f, tokenId, f.bob);
      const asAlice = f.nft.connect(f.alice.signer);
      await expect(asAlice.iTransferFrom(f.carol.address, f.bob.address, tokenId, proofs))
        .to.be.revertedWithCustomError(f.nft, "ERC721IncorrectOwner")
        .withArgs(f.carol.address, tokenId, f.alice.address);
      await expect(asAlice.iTransferFrom(f.alice.address, ethers.ZeroAddress, tokenId, proofs))
        .to.be.revertedWithCustomError(f.nft, "ERC721InvalidReceiver")
        .withArgs(ethers.ZeroAddress);
      await expect(asAlice.iTransferFrom(f.alice.address, f.bob.address, 99n, proofs))
        .to.be.revertedWithCustomError(f.nft, "ERC721NonexistentToken")
        .withArgs(99n);
    });

    it("iTransferFrom: one proof per entry", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 2);
      const proofs = await handOverProofs(f, tokenId, f.bob);
      const asAlice = f.nft.connect(f.alice.signer);
      await expect(asAlice.iTransferFrom(f.alice.address, f.bob.address, tokenId, proofs.slice(0, 1)))
        .to.be.revertedWithCustomError(f.nft, "AgentNFTProofCountMismatch")
        .withArgs(2, 1);
      await expect(asAlice.iTransferFrom(f.alice.address, f.bob.address, tokenId, [...proofs, proofs[0]]))
        .to.be.revertedWithCustomError(f.nft, "AgentNFTProofCountMismatch")
        .withArgs(2, 3);
    });

    it("iTransferFrom: proofs in another order than the entries are refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 2);
      const [first, second] = await handOverProofs(f, tokenId, f.bob);
      const current = await entriesOf(f, tokenId);
      await expect(
        f.nft.connect(f.alice.signer).iTransferFrom(f.alice.address, f.bob.address, tokenId, [second, first]),
      )
        .to.be.revertedWithCustomError(f.nft, "AgentNFTDataHashMismatch")
        .withArgs(0, current[0][1], current[1][1]);
    });

    it("iTransferFrom: a proof for data the token no longer holds is refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      const stale = await submitRoot(f.flow);
      const newDataHash = await submitRoot(f.flow);
      const proof = await f.proofs.transfer(f.oracle.wallet, f.bob.wallet, {
        oldDataHash: stale,
        newDataHash,
        targetPubkey: f.bob.pubkey,
      });
      const [[, current]] = await entriesOf(f, tokenId);
      await expect(
        f.nft.connect(f.alice.signer).iTransferFrom(f.alice.address, f.bob.address, tokenId, [proof]),
      )
        .to.be.revertedWithCustomError(f.nft, "AgentNFTDataHashMismatch")
        .withArgs(0, current, stale);
    });

    it("iTransferFrom: an access proof signed by someone else than the receiver is refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      const proofs = await handOverProofs(f, tokenId, f.bob, { accessSigner: f.carol.wallet });
      await expect(
        f.nft.connect(f.alice.signer).iTransferFrom(f.alice.address, f.bob.address, tokenId, proofs),
      )
        .to.be.revertedWithCustomError(f.nft, "AgentNFTAccessSignerMismatch")
        .withArgs(0, f.bob.address, f.carol.address);
    });

    it("iTransferFrom: a consent signed for another nonce, deadline, key or data recovers another signer", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      const [[, current]] = await entriesOf(f, tokenId);
      const asAlice = f.nft.connect(f.alice.signer);
      const overrides = [
        { nonce: 1000n },
        { deadline: await deadlineIn(60) },
        { targetPubkey: f.carol.pubkey },
        { dataHash: ethers.id("other data") },
      ];
      for (const access of overrides) {
        const ownership = {
          oldDataHash: current,
          newDataHash: await submitRoot(f.flow),
          targetPubkey: f.bob.pubkey,
        };
        const proof = await f.proofs.transfer(f.oracle.wallet, f.bob.wallet, ownership, access);
        await expect(asAlice.iTransferFrom(f.alice.address, f.bob.address, tokenId, [proof]))
          .to.be.revertedWithCustomError(f.nft, "AgentNFTAccessSignerMismatch")
          .withArgs(0, f.bob.address, anyValue);
      }
      await iTransfer(f, tokenId, f.alice, f.bob);
    });

    it("iTransferFrom: data sealed to another key than the receiver's is refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      const proofs = await handOverProofs(f, tokenId, f.bob, { targetPubkey: f.carol.pubkey });
      await expect(
        f.nft.connect(f.alice.signer).iTransferFrom(f.alice.address, f.bob.address, tokenId, proofs),
      )
        .to.be.revertedWithCustomError(f.nft, "AgentNFTReceiverMismatch")
        .withArgs(0, f.bob.address, f.carol.address);
    });

    it("iTransferFrom: a forged ownership proof (not signed by an oracle) is refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      const [proof] = await handOverProofs(f, tokenId, f.bob);
      const forged = {
        ...proof,
        ownershipProof: await f.proofs.ownership(f.bob.wallet, {
          oldDataHash: proof.ownershipProof.oldDataHash as string,
          newDataHash: proof.ownershipProof.newDataHash as string,
          targetPubkey: f.bob.pubkey,
        }),
      };
      await expect(
        f.nft.connect(f.alice.signer).iTransferFrom(f.alice.address, f.bob.address, tokenId, [forged]),
      )
        .to.be.revertedWithCustomError(f.nft, "OracleProofInactiveOracle")
        .withArgs(f.bob.address);
    });

    it("iTransferFrom: an oracle that unstaked or is jailed is refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      const proofs = await handOverProofs(f, tokenId, f.bob);
      const stakingAddress = await f.staking.getAddress();
      await f.slasher.slash(
        stakingAddress,
        f.oracle.address,
        Role.ORACLE,
        0n,
        evidence("jail"),
        f.alice.address,
      );
      const asAlice = f.nft.connect(f.alice.signer);
      await expect(asAlice.iTransferFrom(f.alice.address, f.bob.address, tokenId, proofs))
        .to.be.revertedWithCustomError(f.nft, "OracleProofInactiveOracle")
        .withArgs(f.oracle.address);
      await f.staking.unjail(f.oracle.address, Role.ORACLE);
      await f.staking.connect(f.oracle.signer).exit(Role.ORACLE);
      await expect(asAlice.iTransferFrom(f.alice.address, f.bob.address, tokenId, proofs))
        .to.be.revertedWithCustomError(f.nft, "OracleProofInactiveOracle")
        .withArgs(f.oracle.address);
    });

    it("iTransferFrom: new data the Flow never recorded is refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      const root = unsubmittedRoot("transfer");
      const proofs = await handOverProofs(f, tokenId, f.bob, { newDataHashes: [root] });
      await expect(
        f.nft.connect(f.alice.signer).iTransferFrom(f.alice.address, f.bob.address, tokenId, proofs),
      )
        .to.be.revertedWithCustomError(f.nft, "OracleProofDataNotSubmitted")
        .withArgs(root);
    });

    it("iTransferFrom: the data must rotate (a new hash equal to the old one is refused)", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      const [[, current]] = await entriesOf(f, tokenId);
      const proofs = await handOverProofs(f, tokenId, f.bob, { newDataHashes: [current] });
      await expect(
        f.nft.connect(f.alice.signer).iTransferFrom(f.alice.address, f.bob.address, tokenId, proofs),
      )
        .to.be.revertedWithCustomError(f.nft, "OracleProofDataNotRotated")
        .withArgs(0, current);
    });

    it("iTransferFrom: expired proofs are refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      const proofs = await handOverProofs(f, tokenId, f.bob);
      await time.increase(2 * 60 * 60);
      await expect(
        f.nft.connect(f.alice.signer).iTransferFrom(f.alice.address, f.bob.address, tokenId, proofs),
      ).to.be.revertedWithCustomError(f.nft, "OracleProofExpired");
    });

    it("iTransferFrom: a ZKP ownership proof is refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      const [proof] = await handOverProofs(f, tokenId, f.bob);
      const zkp = {
        ...proof,
        ownershipProof: await f.proofs.ownership(f.oracle.wallet, {
          oracleType: OracleType.ZKP,
          oldDataHash: proof.ownershipProof.oldDataHash as string,
          newDataHash: proof.ownershipProof.newDataHash as string,
          targetPubkey: f.bob.pubkey,
        }),
      };
      await expect(
        f.nft.connect(f.alice.signer).iTransferFrom(f.alice.address, f.bob.address, tokenId, [zkp]),
      )
        .to.be.revertedWithCustomError(f.nft, "OracleProofUnsupportedOracleType")
        .withArgs(0, OracleType.ZKP);
    });

    it("iTransferFrom: a receiver's nonce is used once, whoever signs the proofs that carry it again", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      const [used] = await iTransfer(f, tokenId, f.alice, f.bob);
      const nonce = BigInt(used.ownershipProof.nonce);
      await iTransfer(f, tokenId, f.bob, f.alice);
      // Alice → bob again: a fresh attestation and a fresh consent, with the nonce bob already used.
      const [[, current]] = await entriesOf(f, tokenId);
      const replay = await f.proofs.transfer(f.oracle.wallet, f.bob.wallet, {
        oldDataHash: current,
        newDataHash: await submitRoot(f.flow),
        targetPubkey: f.bob.pubkey,
        nonce,
      });
      const asAlice = f.nft.connect(f.alice.signer);
      await expect(asAlice.iTransferFrom(f.alice.address, f.bob.address, tokenId, [replay]))
        .to.be.revertedWithCustomError(f.nft, "OracleProofNonceUsed")
        .withArgs(f.bob.address, nonce);
      // Two entries may not share a nonce either.
      const two = await mintAgent(f, f.alice, 2);
      const datas = await entriesOf(f, two);
      const shared = f.proofs.nonceFor(f.bob.address);
      const proofs = [];
      for (const [, oldDataHash] of datas) {
        proofs.push(
          await f.proofs.transfer(f.oracle.wallet, f.bob.wallet, {
            oldDataHash,
            newDataHash: await submitRoot(f.flow),
            targetPubkey: f.bob.pubkey,
            nonce: shared,
          }),
        );
      }
      await expect(asAlice.iTransferFrom(f.alice.address, f.bob.address, two, proofs))
        .to.be.revertedWithCustomError(f.nft, "OracleProofNonceUsed")
        .withArgs(f.bob.address, shared);
    });

    it("iTransferFrom: clears the token's approval, and only then writes it", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      await f.nft.connect(f.alice.signer).approve(f.stranger.address, tokenId);
      expect(await f.nft.getApproved(tokenId)).to.equal(f.stranger.address);
      await iTransfer(f, tokenId, f.alice, f.bob);
      expect(await f.nft.getApproved(tokenId)).to.equal(ethers.ZeroAddress);
      const asBob = f.nft.connect(f.bob.signer);
      await asBob.approve(f.carol.address, tokenId);
      await expect(asBob.approve(ethers.ZeroAddress, tokenId))
        .to.emit(f.nft, "Approval")
        .withArgs(f.bob.address, ethers.ZeroAddress, tokenId);
      await asBob.approve(f.stranger.address, tokenId);
      await asBob.approve(f.carol.address, tokenId);
      await iTransfer(f, tokenId, f.bob, f.alice);
      expect(await f.nft.getApproved(tokenId)).to.equal(ethers.ZeroAddress);
      // The former approvals give no rights to the token.
      const proofs = await handOverProofs(f, tokenId, f.bob);
      await expect(
        f.nft.connect(f.carol.signer).iTransferFrom(f.alice.address, f.bob.address, tokenId, proofs),
      )
        .to.be.revertedWithCustomError(f.nft, "ERC721InsufficientApproval")
        .withArgs(f.carol.address, tokenId);
      // A plain token too: approved, moved, cleared.
      const plain = await mintAgent(f, f.alice, 0);
      await f.nft.connect(f.alice.signer).approve(f.carol.address, plain);
      await f.nft.connect(f.carol.signer).transferFrom(f.alice.address, f.bob.address, plain);
      expect(await f.nft.getApproved(plain)).to.equal(ethers.ZeroAddress);
      await expect(f.nft.connect(f.carol.signer).transferFrom(f.bob.address, f.carol.address, plain))
        .to.be.revertedWithCustomError(f.nft, "ERC721InsufficientApproval")
        .withArgs(f.carol.address, plain);
    });

    it("iTransferFrom: a token without data moves with no proof", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 0);
      await expect(
        f.nft.connect(f.alice.signer).iTransferFrom(f.alice.address, f.bob.address, tokenId, []),
      ).to.not.emit(f.nft, "PublishedSealedKey");
      expect(await f.nft.ownerOf(tokenId)).to.equal(f.bob.address);
    });
  });

  describe("delegateAccess", function () {
    it("delegateAccess: the receiver's delegate may sign its access proofs", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 2);
      await expect(f.nft.connect(f.bob.signer).delegateAccess(f.assistant.address))
        .to.emit(f.nft, "DelegateAccess")
        .withArgs(f.bob.address, f.assistant.address);
      expect(await f.nft.getDelegateAccess(f.bob.address)).to.equal(f.assistant.address);
      await iTransfer(f, tokenId, f.alice, f.bob, { accessSigner: f.assistant.wallet });
      expect(await f.nft.ownerOf(tokenId)).to.equal(f.bob.address);
    });

    it("delegateAccess: another account's delegate may not sign for the receiver", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      await f.nft.connect(f.carol.signer).delegateAccess(f.assistant.address);
      const proofs = await handOverProofs(f, tokenId, f.bob, { accessSigner: f.assistant.wallet });
      await expect(
        f.nft.connect(f.alice.signer).iTransferFrom(f.alice.address, f.bob.address, tokenId, proofs),
      )
        .to.be.revertedWithCustomError(f.nft, "AgentNFTAccessSignerMismatch")
        .withArgs(0, f.bob.address, f.assistant.address);
    });

    it("delegateAccess: zero revokes the delegate, whose signatures are then refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      await f.nft.connect(f.bob.signer).delegateAccess(f.assistant.address);
      const proofs = await handOverProofs(f, tokenId, f.bob, { accessSigner: f.assistant.wallet });
      await expect(f.nft.connect(f.bob.signer).delegateAccess(ethers.ZeroAddress))
        .to.emit(f.nft, "DelegateAccess")
        .withArgs(f.bob.address, ethers.ZeroAddress);
      expect(await f.nft.getDelegateAccess(f.bob.address)).to.equal(ethers.ZeroAddress);
      await expect(
        f.nft.connect(f.alice.signer).iTransferFrom(f.alice.address, f.bob.address, tokenId, proofs),
      )
        .to.be.revertedWithCustomError(f.nft, "AgentNFTAccessSignerMismatch")
        .withArgs(0, f.bob.address, f.assistant.address);
      await iTransfer(f, tokenId, f.alice, f.bob);
    });
  });

  describe("plain ERC-721 transfers", function () {
    it("transferFrom and safeTransferFrom: refused while the token holds data", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      const asAlice = f.nft.connect(f.alice.signer);
      await expect(asAlice.transferFrom(f.alice.address, f.bob.address, tokenId))
        .to.be.revertedWithCustomError(f.nft, "AgentNFTIntelligentToken")
        .withArgs(tokenId);
      await expect(
        asAlice["safeTransferFrom(address,address,uint256)"](f.alice.address, f.bob.address, tokenId),
      )
        .to.be.revertedWithCustomError(f.nft, "AgentNFTIntelligentToken")
        .withArgs(tokenId);
      await expect(
        asAlice["safeTransferFrom(address,address,uint256,bytes)"](
          f.alice.address,
          f.bob.address,
          tokenId,
          "0x",
        ),
      )
        .to.be.revertedWithCustomError(f.nft, "AgentNFTIntelligentToken")
        .withArgs(tokenId);
    });

    it("transferFrom: a token without data moves like any ERC-721 and loses its authorizations", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 0);
      await f.nft.connect(f.alice.signer).authorizeUsage(tokenId, f.carol.address);
      await f.nft.connect(f.alice.signer).transferFrom(f.alice.address, f.bob.address, tokenId);
      expect(await f.nft.ownerOf(tokenId)).to.equal(f.bob.address);
      expect(await f.nft.authorizedUsersOf(tokenId)).to.deep.equal([]);
    });
  });

  describe("iCloneFrom", function () {
    it("iCloneFrom: mints the receiver a token with the data re-encrypted; the original is unchanged", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 2);
      const original = await entriesOf(f, tokenId);
      const proofs = await handOverProofs(f, tokenId, f.bob);
      const asAlice = f.nft.connect(f.alice.signer);
      const cloneId = await asAlice.iCloneFrom.staticCall(f.alice.address, f.bob.address, tokenId, proofs);
      expect(cloneId).to.equal(tokenId + 1n);
      const tx = asAlice.iCloneFrom(f.alice.address, f.bob.address, tokenId, proofs);
      await expect(tx).to.emit(f.nft, "Transfer").withArgs(ethers.ZeroAddress, f.bob.address, cloneId);
      await expect(tx).to.emit(f.nft, "Cloned").withArgs(tokenId, cloneId, f.alice.address, f.bob.address);
      await expect(tx)
        .to.emit(f.nft, "PublishedSealedKey")
        .withArgs(f.bob.address, cloneId, sealedKeysOf(proofs));
      expect(await f.nft.ownerOf(tokenId)).to.equal(f.alice.address);
      expect(await entriesOf(f, tokenId)).to.deep.equal(original);
      expect(await f.nft.ownerOf(cloneId)).to.equal(f.bob.address);
      expect(await entriesOf(f, cloneId)).to.deep.equal(
        original.map(([description], i) => [description, proofs[i].ownershipProof.newDataHash]),
      );
    });

    it("iCloneFrom: a clone can be cloned and transferred in turn", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      const toBob = await handOverProofs(f, tokenId, f.bob);
      await f.nft.connect(f.alice.signer).iCloneFrom(f.alice.address, f.bob.address, tokenId, toBob);
      const cloneId = tokenId + 1n;
      const toCarol = await handOverProofs(f, cloneId, f.carol);
      await f.nft.connect(f.bob.signer).iCloneFrom(f.bob.address, f.carol.address, cloneId, toCarol);
      await iTransfer(f, cloneId, f.bob, f.alice);
      expect(await f.nft.ownerOf(cloneId + 1n)).to.equal(f.carol.address);
      expect(await f.nft.ownerOf(cloneId)).to.equal(f.alice.address);
    });

    it("iCloneFrom: the same proofs cannot clone twice", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      const proofs = await handOverProofs(f, tokenId, f.bob);
      const asAlice = f.nft.connect(f.alice.signer);
      await asAlice.iCloneFrom(f.alice.address, f.bob.address, tokenId, proofs);
      await expect(asAlice.iCloneFrom(f.alice.address, f.bob.address, tokenId, proofs))
        .to.be.revertedWithCustomError(f.nft, "OracleProofNonceUsed")
        .withArgs(f.bob.address, proofs[0].ownershipProof.nonce);
    });

    it("iCloneFrom: the caller needs rights to the original, `from` must own it, `to` not zero", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      const proofs = await handOverProofs(f, tokenId, f.bob);
      await expect(f.nft.connect(f.bob.signer).iCloneFrom(f.alice.address, f.bob.address, tokenId, proofs))
        .to.be.revertedWithCustomError(f.nft, "ERC721InsufficientApproval")
        .withArgs(f.bob.address, tokenId);
      await expect(f.nft.connect(f.alice.signer).iCloneFrom(f.carol.address, f.bob.address, tokenId, proofs))
        .to.be.revertedWithCustomError(f.nft, "ERC721IncorrectOwner")
        .withArgs(f.carol.address, tokenId, f.alice.address);
      await expect(
        f.nft.connect(f.alice.signer).iCloneFrom(f.alice.address, ethers.ZeroAddress, tokenId, proofs),
      )
        .to.be.revertedWithCustomError(f.nft, "ERC721InvalidReceiver")
        .withArgs(ethers.ZeroAddress);
      await expect(f.nft.connect(f.alice.signer).iCloneFrom(f.alice.address, f.bob.address, 99n, proofs))
        .to.be.revertedWithCustomError(f.nft, "ERC721NonexistentToken")
        .withArgs(99n);
      await f.nft.connect(f.alice.signer).approve(f.stranger.address, tokenId);
      await f.nft.connect(f.stranger.signer).iCloneFrom(f.alice.address, f.bob.address, tokenId, proofs);
    });

    it("iCloneFrom: one proof per entry", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 2);
      const proofs = await handOverProofs(f, tokenId, f.bob);
      await expect(
        f.nft.connect(f.alice.signer).iCloneFrom(f.alice.address, f.bob.address, tokenId, proofs.slice(1)),
      )
        .to.be.revertedWithCustomError(f.nft, "AgentNFTProofCountMismatch")
        .withArgs(2, 1);
    });

    it("iCloneFrom: costs the mint fee", async function () {
      const f = await loadFixture(deployPricedInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      const proofs = await handOverProofs(f, tokenId, f.bob);
      const asAlice = f.nft.connect(f.alice.signer);
      await expect(asAlice.iCloneFrom(f.alice.address, f.bob.address, tokenId, proofs))
        .to.be.revertedWithCustomError(f.nft, "AgentNFTFeeMismatch")
        .withArgs(MINT_FEE, 0n);
      await expect(
        asAlice.iCloneFrom(f.alice.address, f.bob.address, tokenId, proofs, { value: MINT_FEE }),
      ).to.changeEtherBalances([f.alice.signer, f.nft], [-MINT_FEE, MINT_FEE]);
    });

    it("iCloneFrom: the clone starts without authorized users", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      await f.nft.connect(f.alice.signer).authorizeUsage(tokenId, f.carol.address);
      const proofs = await handOverProofs(f, tokenId, f.bob);
      await f.nft.connect(f.alice.signer).iCloneFrom(f.alice.address, f.bob.address, tokenId, proofs);
      expect(await f.nft.authorizedUsersOf(tokenId)).to.deep.equal([f.carol.address]);
      expect(await f.nft.authorizedUsersOf(tokenId + 1n)).to.deep.equal([]);
    });
  });

  describe("update", function () {
    /** An ownership proof that replaces `oldDataHash` (zero: appends) with fresh data for `owner`. */
    async function updateProof(f: InftFixture, owner: Party, oldDataHash: string, newDataHash?: string) {
      const dataHash = newDataHash ?? (await submitRoot(f.flow));
      return {
        data: { dataDescription: `update ${dataHash.slice(2, 8)}`, dataHash },
        proof: await f.proofs.ownership(f.oracle.wallet, {
          oldDataHash,
          newDataHash: dataHash,
          targetPubkey: owner.pubkey,
        }),
      };
    }

    it("update: replaces an entry and appends another, emitting the lists before and after", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 2);
      const before = await entriesOf(f, tokenId);
      const replace = await updateProof(f, f.alice, before[1][1]);
      const append = await updateProof(f, f.alice, ethers.ZeroHash);
      const tx = f.nft
        .connect(f.alice.signer)
        .update(tokenId, [replace.data, append.data], [replace.proof, append.proof]);
      const after: Entry[] = [
        before[0],
        [replace.data.dataDescription, replace.data.dataHash],
        [append.data.dataDescription, append.data.dataHash],
      ];
      await expect(tx).to.emit(f.nft, "Updated").withArgs(tokenId, before, after);
      await expect(tx)
        .to.emit(f.nft, "PublishedSealedKey")
        .withArgs(f.alice.address, tokenId, [replace.proof.sealedKey, append.proof.sealedKey]);
      expect(await entriesOf(f, tokenId)).to.deep.equal(after);
    });

    it("update: gives data to a token without data, which then moves only with proofs", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 0);
      const append = await updateProof(f, f.alice, ethers.ZeroHash);
      await f.nft.connect(f.alice.signer).update(tokenId, [append.data], [append.proof]);
      await expect(f.nft.connect(f.alice.signer).transferFrom(f.alice.address, f.bob.address, tokenId))
        .to.be.revertedWithCustomError(f.nft, "AgentNFTIntelligentToken")
        .withArgs(tokenId);
      await iTransfer(f, tokenId, f.alice, f.bob);
    });

    it("update: only the owner (not an approved account)", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      await f.nft.connect(f.alice.signer).approve(f.bob.address, tokenId);
      const append = await updateProof(f, f.alice, ethers.ZeroHash);
      await expect(f.nft.connect(f.bob.signer).update(tokenId, [append.data], [append.proof]))
        .to.be.revertedWithCustomError(f.nft, "AgentNFTNotTokenOwner")
        .withArgs(tokenId, f.bob.address);
      await expect(f.nft.update(99n, [append.data], [append.proof]))
        .to.be.revertedWithCustomError(f.nft, "ERC721NonexistentToken")
        .withArgs(99n);
    });

    it("update: needs at least one entry, and one proof per entry", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      const append = await updateProof(f, f.alice, ethers.ZeroHash);
      const asAlice = f.nft.connect(f.alice.signer);
      await expect(asAlice.update(tokenId, [], [])).to.be.revertedWithCustomError(
        f.nft,
        "AgentNFTEmptyUpdate",
      );
      await expect(asAlice.update(tokenId, [append.data], []))
        .to.be.revertedWithCustomError(f.nft, "AgentNFTProofCountMismatch")
        .withArgs(1, 0);
    });

    it("update: an old hash that names no entry is refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      const stranger = await submitRoot(f.flow);
      const replace = await updateProof(f, f.alice, stranger);
      await expect(f.nft.connect(f.alice.signer).update(tokenId, [replace.data], [replace.proof]))
        .to.be.revertedWithCustomError(f.nft, "AgentNFTUnknownDataHash")
        .withArgs(0, stranger);
    });

    it("update: the keys must be sealed to the owner, and the entry must be the proven data", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      const toCarol = await updateProof(f, f.carol, ethers.ZeroHash);
      const asAlice = f.nft.connect(f.alice.signer);
      await expect(asAlice.update(tokenId, [toCarol.data], [toCarol.proof]))
        .to.be.revertedWithCustomError(f.nft, "AgentNFTReceiverMismatch")
        .withArgs(0, f.alice.address, f.carol.address);
      const append = await updateProof(f, f.alice, ethers.ZeroHash);
      const other = await submitRoot(f.flow);
      await expect(asAlice.update(tokenId, [{ ...append.data, dataHash: other }], [append.proof]))
        .to.be.revertedWithCustomError(f.nft, "AgentNFTNewDataHashMismatch")
        .withArgs(0, other, append.data.dataHash);
    });

    it("update: an attestation by an account that is not an oracle is refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      const dataHash = await submitRoot(f.flow);
      const forged = await f.proofs.ownership(f.alice.wallet, {
        oldDataHash: ethers.ZeroHash,
        newDataHash: dataHash,
        targetPubkey: f.alice.pubkey,
      });
      await expect(
        f.nft
          .connect(f.alice.signer)
          .update(tokenId, [{ dataDescription: "self-signed", dataHash }], [forged]),
      )
        .to.be.revertedWithCustomError(f.nft, "OracleProofInactiveOracle")
        .withArgs(f.alice.address);
    });

    it("update: a token holds at most MAX_DATA_ENTRIES entries", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, MAX_DATA_ENTRIES);
      const append = await updateProof(f, f.alice, ethers.ZeroHash);
      await expect(f.nft.connect(f.alice.signer).update(tokenId, [append.data], [append.proof]))
        .to.be.revertedWithCustomError(f.nft, "AgentNFTTooManyEntries")
        .withArgs(MAX_DATA_ENTRIES + 1, MAX_DATA_ENTRIES);
    });
  });

  describe("authorizeUsage and revokeAuthorization", function () {
    it("authorizeUsage: the owner authorizes users, listed in order", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      const asAlice = f.nft.connect(f.alice.signer);
      await expect(asAlice.authorizeUsage(tokenId, f.bob.address))
        .to.emit(f.nft, "Authorization")
        .withArgs(f.alice.address, f.bob.address, tokenId);
      await asAlice.authorizeUsage(tokenId, f.carol.address);
      expect(await f.nft.authorizedUsersOf(tokenId)).to.deep.equal([f.bob.address, f.carol.address]);
      expect(await f.nft.isAuthorizedUser(tokenId, f.carol.address)).to.equal(true);
      expect(await f.nft.isAuthorizedUser(tokenId, f.stranger.address)).to.equal(false);
    });

    it("authorizeUsage: only the owner; no zero address; no user twice", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      await f.nft.connect(f.alice.signer).setApprovalForAll(f.bob.address, true);
      await expect(f.nft.connect(f.bob.signer).authorizeUsage(tokenId, f.carol.address))
        .to.be.revertedWithCustomError(f.nft, "AgentNFTNotTokenOwner")
        .withArgs(tokenId, f.bob.address);
      const asAlice = f.nft.connect(f.alice.signer);
      await expect(asAlice.authorizeUsage(tokenId, ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.nft, "AgentNFTInvalidUser")
        .withArgs(ethers.ZeroAddress);
      await asAlice.authorizeUsage(tokenId, f.carol.address);
      await expect(asAlice.authorizeUsage(tokenId, f.carol.address))
        .to.be.revertedWithCustomError(f.nft, "AgentNFTAlreadyAuthorized")
        .withArgs(tokenId, f.carol.address);
      await expect(asAlice.authorizeUsage(99n, f.carol.address))
        .to.be.revertedWithCustomError(f.nft, "ERC721NonexistentToken")
        .withArgs(99n);
    });

    it("authorizeUsage: the 101st user is refused", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      const asAlice = f.nft.connect(f.alice.signer);
      for (let i = 1; i <= MAX_AUTHORIZED_USERS; i++) {
        await asAlice.authorizeUsage(tokenId, ethers.toBeHex(i, 20));
      }
      expect((await f.nft.authorizedUsersOf(tokenId)).length).to.equal(MAX_AUTHORIZED_USERS);
      await expect(asAlice.authorizeUsage(tokenId, f.bob.address))
        .to.be.revertedWithCustomError(f.nft, "AgentNFTTooManyAuthorizedUsers")
        .withArgs(tokenId, MAX_AUTHORIZED_USERS);
      await asAlice.revokeAuthorization(tokenId, ethers.toBeHex(7, 20));
      await asAlice.authorizeUsage(tokenId, f.bob.address);
    });

    it("revokeAuthorization: the last user takes the revoked one's place", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      const asAlice = f.nft.connect(f.alice.signer);
      for (const user of [f.bob, f.carol, f.stranger]) await asAlice.authorizeUsage(tokenId, user.address);
      await expect(asAlice.revokeAuthorization(tokenId, f.bob.address))
        .to.emit(f.nft, "AuthorizationRevoked")
        .withArgs(f.alice.address, f.bob.address, tokenId);
      expect(await f.nft.authorizedUsersOf(tokenId)).to.deep.equal([f.stranger.address, f.carol.address]);
      await asAlice.revokeAuthorization(tokenId, f.carol.address);
      expect(await f.nft.authorizedUsersOf(tokenId)).to.deep.equal([f.stranger.address]);
      expect(await f.nft.isAuthorizedUser(tokenId, f.bob.address)).to.equal(false);
    });

    it("revokeAuthorization: only the owner, and only an authorized user", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      await f.nft.connect(f.alice.signer).authorizeUsage(tokenId, f.carol.address);
      await expect(f.nft.connect(f.carol.signer).revokeAuthorization(tokenId, f.carol.address))
        .to.be.revertedWithCustomError(f.nft, "AgentNFTNotTokenOwner")
        .withArgs(tokenId, f.carol.address);
      await expect(f.nft.connect(f.alice.signer).revokeAuthorization(tokenId, f.bob.address))
        .to.be.revertedWithCustomError(f.nft, "AgentNFTNotAuthorized")
        .withArgs(tokenId, f.bob.address);
    });

    it("authorizedUsersOf: reverts for a token that does not exist", async function () {
      const f = await loadFixture(deployInftFixture);
      await expect(f.nft.authorizedUsersOf(1n))
        .to.be.revertedWithCustomError(f.nft, "ERC721NonexistentToken")
        .withArgs(1n);
      await expect(f.nft.intelligentDatasOf(1n))
        .to.be.revertedWithCustomError(f.nft, "ERC721NonexistentToken")
        .withArgs(1n);
    });

    it("iTransferFrom: clears the authorizations; they do not come back when the token returns", async function () {
      const f = await loadFixture(deployInftFixture);
      const tokenId = await mintAgent(f, f.alice, 1);
      await f.nft.connect(f.alice.signer).authorizeUsage(tokenId, f.carol.address);
      await f.nft.connect(f.alice.signer).authorizeUsage(tokenId, f.stranger.address);
      await iTransfer(f, tokenId, f.alice, f.bob);
      expect(await f.nft.authorizedUsersOf(tokenId)).to.deep.equal([]);
      expect(await f.nft.isAuthorizedUser(tokenId, f.carol.address)).to.equal(false);
      await f.nft.connect(f.bob.signer).authorizeUsage(tokenId, f.carol.address);
      expect(await f.nft.authorizedUsersOf(tokenId)).to.deep.equal([f.carol.address]);
      await iTransfer(f, tokenId, f.bob, f.alice);
      expect(await f.nft.authorizedUsersOf(tokenId)).to.deep.equal([]);
      expect(await f.nft.isAuthorizedUser(tokenId, f.stranger.address)).to.equal(false);
    });
  });
});

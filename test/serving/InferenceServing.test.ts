import { expect } from "chai";
import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  InferenceServing__factory,
  ZgProxy__factory,
  type IInferenceServing,
  type ServingLedger,
} from "../../typechain-types";
import { NAMES, Role, VERSION, evidence } from "../helpers/staking-fixture";
import {
  LOCK_TIME,
  Rejection,
  SERVING_NAMES,
  VOUCHER_TYPES,
  deployFreeServingFixture,
  deployServingFixture,
  serviceParams,
  signVoucher,
  voucherDomain,
  type ServingFixture,
} from "../helpers/serving-fixture";

const E = (s: string): bigint => ethers.parseEther(s);
const MAX_128 = (1n << 128n) - 1n;
/** The order of the secp256k1 group: a signature (r, s, v) has the twin (r, N - s, v ^ 1). */
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const ECRECOVER = "0x0000000000000000000000000000000000000001";

type Signed = IInferenceServing.SignedVoucherStruct;

function ledgerOf(f: ServingFixture): ServingLedger {
  if (f.ledger === undefined) throw new Error("this fixture has no ledger");
  return f.ledger;
}

/** `user` signs a voucher of `amount` with `nonce` for `provider` (default: the fixture's first provider). */
function voucher(
  f: ServingFixture,
  user: HardhatEthersSigner,
  amount: bigint,
  nonce: bigint,
  provider: HardhatEthersSigner = f.provider,
  domain = f.domain,
): Promise<Signed> {
  return signVoucher(user, domain, { user: user.address, provider: provider.address, amount, nonce });
}

async function stateOf(f: ServingFixture, user: HardhatEthersSigner, provider = f.provider) {
  const s = await f.serving.voucherStateOf(user.address, provider.address);
  return { settled: s.settled, nonce: s.nonce };
}

async function serviceOf(f: ServingFixture, provider: HardhatEthersSigner) {
  const s = await f.serving.serviceOf(provider.address);
  return { provider: s.provider, updatedAt: s.updatedAt, params: paramsOf(s.params) };
}

function paramsOf(p: IInferenceServing.ServiceParamsStructOutput): IInferenceServing.ServiceParamsStruct {
  return {
    model: p.model,
    modelHash: p.modelHash,
    url: p.url,
    inputPrice: p.inputPrice,
    outputPrice: p.outputPrice,
    region: p.region,
    signer: p.signer,
    deterministic: p.deterministic,
  };
}

/** `user` and `user2` each deposited 10 ETH and funded 5 ETH to the first provider. */
async function fundedFixture() {
  const f = await deployServingFixture();
  const ledger = ledgerOf(f);
  for (const user of [f.user, f.user2]) {
    await ledger.connect(user).deposit({ value: E("10") });
    await ledger.connect(user).fund(f.provider.address, E("5"));
  }
  return f;
}

/** The first provider registered a paid service. */
async function registeredFixture() {
  const f = await deployServingFixture();
  await f.serving.connect(f.provider).register(serviceParams(f.provider.address));
  return f;
}

describe("InferenceServing", function () {
  describe("initialize", function () {
    it("initialize: sets the registry; the batch limit is 200", async function () {
      const f = await loadFixture(deployServingFixture);
      expect(await f.serving.registry()).to.equal(f.registryAddress);
      expect(await f.serving.MAX_BATCH()).to.equal(200n);
      expect(await f.serving.services()).to.deep.equal([]);
    });

    it("initialize: a zero registry reverts ServingZeroAddress", async function () {
      const f = await loadFixture(deployServingFixture);
      const initData = f.implementation.interface.encodeFunctionData("initialize", [ethers.ZeroAddress]);
      await expect(
        new ZgProxy__factory(f.governance).deploy(await f.implementation.getAddress(), initData),
      ).to.be.revertedWithCustomError(f.implementation, "ServingZeroAddress");
    });

    it("initialize: cannot be called twice, nor on the implementation", async function () {
      const f = await loadFixture(deployServingFixture);
      await expect(f.serving.initialize(f.registryAddress)).to.be.revertedWithCustomError(
        f.serving,
        "InvalidInitialization",
      );
      await expect(
        f.implementation.connect(f.stranger).initialize(f.registryAddress),
      ).to.be.revertedWithCustomError(f.implementation, "InvalidInitialization");
    });

    it("eip712Domain and voucherDigest: the domain is 'zerog InferenceServing' v1 at the proxy", async function () {
      const f = await loadFixture(deployServingFixture);
      const domain = await f.serving.eip712Domain();
      expect(domain.fields).to.equal("0x0f");
      expect(domain.name).to.equal("zerog InferenceServing");
      expect(domain.version).to.equal("1");
      expect(domain.chainId).to.equal(31337n);
      expect(domain.verifyingContract).to.equal(f.servingAddress);
      const value = { user: f.user.address, provider: f.provider.address, amount: 123n, nonce: 7n };
      expect(await f.serving.voucherDigest(value.user, value.provider, value.amount, value.nonce)).to.equal(
        ethers.TypedDataEncoder.hash(f.domain, VOUCHER_TYPES, value),
      );
    });
  });

  describe("register", function () {
    it("register: an account not staked as PROVIDER reverts ServingNotProvider", async function () {
      const f = await loadFixture(deployServingFixture);
      await expect(f.serving.connect(f.stranger).register(serviceParams(f.stranger.address)))
        .to.be.revertedWithCustomError(f.serving, "ServingNotProvider")
        .withArgs(f.stranger.address);
      // Staked in another role is not enough.
      await f.staking.staking.connect(f.stranger).stake(Role.STORAGE, { value: E("1") });
      await expect(f.serving.connect(f.stranger).register(serviceParams(f.stranger.address)))
        .to.be.revertedWithCustomError(f.serving, "ServingNotProvider")
        .withArgs(f.stranger.address);
    });

    it("register: a jailed provider reverts ServingNotProvider", async function () {
      const f = await loadFixture(deployServingFixture);
      await f.staking.slasher.slash(
        f.staking.stakingAddress,
        f.provider.address,
        Role.PROVIDER,
        0,
        evidence("serving"),
        ethers.ZeroAddress,
      );
      await expect(f.serving.connect(f.provider).register(serviceParams(f.provider.address)))
        .to.be.revertedWithCustomError(f.serving, "ServingNotProvider")
        .withArgs(f.provider.address);
    });

    it("register: with no NodeStaking registered reverts ServingNotProvider", async function () {
      const f = await loadFixture(deployServingFixture);
      await f.registry.removeModule(NAMES.NodeStaking);
      await expect(f.serving.connect(f.provider).register(serviceParams(f.provider.address)))
        .to.be.revertedWithCustomError(f.serving, "ServingNotProvider")
        .withArgs(f.provider.address);
    });

    it("register: a second service of the same provider reverts ServingAlreadyRegistered", async function () {
      const f = await loadFixture(registeredFixture);
      await expect(f.serving.connect(f.provider).register(serviceParams(f.provider.address)))
        .to.be.revertedWithCustomError(f.serving, "ServingAlreadyRegistered")
        .withArgs(f.provider.address);
    });

    it("register: a model of 0 or more than 64 bytes reverts ServingInvalidService('model')", async function () {
      const f = await loadFixture(deployServingFixture);
      for (const model of ["", "m".repeat(65)]) {
        await expect(f.serving.connect(f.provider).register(serviceParams(f.provider.address, { model })))
          .to.be.revertedWithCustomError(f.serving, "ServingInvalidService")
          .withArgs("model");
      }
      await f.serving
        .connect(f.provider)
        .register(serviceParams(f.provider.address, { model: "m".repeat(64) }));
    });

    it("register: a URL of 0 or more than 256 bytes reverts ServingInvalidService('url')", async function () {
      const f = await loadFixture(deployServingFixture);
      for (const url of ["", "u".repeat(257)]) {
        await expect(f.serving.connect(f.provider).register(serviceParams(f.provider.address, { url })))
          .to.be.revertedWithCustomError(f.serving, "ServingInvalidService")
          .withArgs("url");
      }
      await f.serving
        .connect(f.provider)
        .register(serviceParams(f.provider.address, { url: "u".repeat(256) }));
    });

    it("register: a zero signer reverts ServingInvalidService('signer')", async function () {
      const f = await loadFixture(deployServingFixture);
      await expect(f.serving.connect(f.provider).register(serviceParams(ethers.ZeroAddress)))
        .to.be.revertedWithCustomError(f.serving, "ServingInvalidService")
        .withArgs("signer");
    });

    it("register: a price with no ServingLedger registered reverts ServingPaidWithoutLedger", async function () {
      const f = await loadFixture(deployFreeServingFixture);
      for (const prices of [
        { inputPrice: 1n, outputPrice: 0n },
        { inputPrice: 0n, outputPrice: 1n },
      ]) {
        await expect(
          f.serving.connect(f.provider).register(serviceParams(f.provider.address, prices)),
        ).to.be.revertedWithCustomError(f.serving, "ServingPaidWithoutLedger");
      }
      const free = serviceParams(f.provider.address, { inputPrice: 0n, outputPrice: 0n });
      await expect(f.serving.connect(f.provider).register(free)).to.emit(f.serving, "ServiceRegistered");
    });

    it("register: stores the service, lists it and emits ServiceRegistered", async function () {
      const f = await loadFixture(deployServingFixture);
      const params = serviceParams(f.user.address, { deterministic: false, region: ethers.ZeroHash });
      const tx = f.serving.connect(f.provider).register(params);
      await expect(tx)
        .to.emit(f.serving, "ServiceRegistered")
        .withArgs(f.provider.address, Object.values(params));
      const registeredAt = BigInt(await time.latest());
      expect(await f.serving.isRegistered(f.provider.address)).to.equal(true);
      expect(await f.serving.isRegistered(f.provider2.address)).to.equal(false);
      expect(await serviceOf(f, f.provider)).to.deep.equal({
        provider: f.provider.address,
        updatedAt: registeredAt,
        params,
      });
      const second = serviceParams(f.provider2.address, { model: "zg-other" });
      await f.serving.connect(f.provider2).register(second);
      const listed = await f.serving.services();
      expect(listed.map((s) => [s.provider, paramsOf(s.params)])).to.deep.equal([
        [f.provider.address, params],
        [f.provider2.address, second],
      ]);
    });
  });

  describe("update", function () {
    it("update: without a service reverts ServingNotRegistered", async function () {
      const f = await loadFixture(registeredFixture);
      await expect(f.serving.connect(f.provider2).update(serviceParams(f.provider2.address)))
        .to.be.revertedWithCustomError(f.serving, "ServingNotRegistered")
        .withArgs(f.provider2.address);
    });

    it("update: by a provider no longer staked reverts ServingNotProvider", async function () {
      const f = await loadFixture(registeredFixture);
      await f.staking.staking.connect(f.provider).exit(Role.PROVIDER);
      await expect(f.serving.connect(f.provider).update(serviceParams(f.provider.address)))
        .to.be.revertedWithCustomError(f.serving, "ServingNotProvider")
        .withArgs(f.provider.address);
    });

    it("update: invalid fields revert ServingInvalidService", async function () {
      const f = await loadFixture(registeredFixture);
      await expect(f.serving.connect(f.provider).update(serviceParams(f.provider.address, { url: "" })))
        .to.be.revertedWithCustomError(f.serving, "ServingInvalidService")
        .withArgs("url");
    });

    it("update: a price with no ServingLedger registered reverts ServingPaidWithoutLedger", async function () {
      const f = await loadFixture(registeredFixture);
      await f.registry.removeModule(SERVING_NAMES.ServingLedger);
      await expect(
        f.serving.connect(f.provider).update(serviceParams(f.provider.address)),
      ).to.be.revertedWithCustomError(f.serving, "ServingPaidWithoutLedger");
      await f.serving
        .connect(f.provider)
        .update(serviceParams(f.provider.address, { inputPrice: 0n, outputPrice: 0n }));
    });

    it("update: replaces the parameters and the time, and emits ServiceUpdated", async function () {
      const f = await loadFixture(registeredFixture);
      await time.increase(100);
      const params = serviceParams(f.user2.address, { url: "https://serving.example/v1", inputPrice: 5n });
      await expect(f.serving.connect(f.provider).update(params))
        .to.emit(f.serving, "ServiceUpdated")
        .withArgs(f.provider.address, Object.values(params));
      expect(await serviceOf(f, f.provider)).to.deep.equal({
        provider: f.provider.address,
        updatedAt: BigInt(await time.latest()),
        params,
      });
      expect(await f.serving.services()).to.have.lengthOf(1);
    });
  });

  describe("remove", function () {
    it("remove: without a service reverts ServingNotRegistered", async function () {
      const f = await loadFixture(registeredFixture);
      await expect(f.serving.connect(f.provider2).remove())
        .to.be.revertedWithCustomError(f.serving, "ServingNotRegistered")
        .withArgs(f.provider2.address);
    });

    it("remove: deletes the service, swaps the last one in and emits ServiceRemoved", async function () {
      const f = await loadFixture(registeredFixture);
      await f.serving.connect(f.provider2).register(serviceParams(f.provider2.address));
      await expect(f.serving.connect(f.provider).remove())
        .to.emit(f.serving, "ServiceRemoved")
        .withArgs(f.provider.address);
      expect(await f.serving.isRegistered(f.provider.address)).to.equal(false);
      expect((await f.serving.services()).map((s) => s.provider)).to.deep.equal([f.provider2.address]);
      await expect(f.serving.serviceOf(f.provider.address))
        .to.be.revertedWithCustomError(f.serving, "ServingNotRegistered")
        .withArgs(f.provider.address);
      // The provider can register again.
      await f.serving.connect(f.provider).register(serviceParams(f.provider.address));
      expect((await f.serving.services()).map((s) => s.provider)).to.deep.equal([
        f.provider2.address,
        f.provider.address,
      ]);
    });

    it("remove: a provider that left staking can still delist", async function () {
      const f = await loadFixture(registeredFixture);
      await f.staking.staking.connect(f.provider).exit(Role.PROVIDER);
      await expect(f.serving.connect(f.provider).remove()).to.emit(f.serving, "ServiceRemoved");
    });
  });

  describe("serviceOf", function () {
    it("serviceOf: a provider without a service reverts ServingNotRegistered", async function () {
      const f = await loadFixture(deployServingFixture);
      await expect(f.serving.serviceOf(f.stranger.address))
        .to.be.revertedWithCustomError(f.serving, "ServingNotRegistered")
        .withArgs(f.stranger.address);
    });
  });

  describe("settle", function () {
    it("settle: an empty batch or one above 200 vouchers reverts ServingInvalidBatch", async function () {
      const f = await loadFixture(fundedFixture);
      await expect(f.serving.connect(f.provider).settle([]))
        .to.be.revertedWithCustomError(f.serving, "ServingInvalidBatch")
        .withArgs(0);
      const v = await voucher(f, f.user, 1n, 1n);
      await expect(f.serving.connect(f.provider).settle(Array(201).fill(v)))
        .to.be.revertedWithCustomError(f.serving, "ServingInvalidBatch")
        .withArgs(201);
    });

    it("settle: a batch of 200 is accepted (one voucher pays, its 199 replays are stale)", async function () {
      const f = await loadFixture(fundedFixture);
      const v = await voucher(f, f.user, 7n, 1n);
      const [paid, rejections] = await f.serving.connect(f.provider).settle.staticCall(Array(200).fill(v));
      expect(paid).to.deep.equal([7n, ...Array(199).fill(0n)]);
      expect(rejections).to.deep.equal([
        BigInt(Rejection.None),
        ...Array(199).fill(BigInt(Rejection.StaleNonce)),
      ]);
    });

    it("settle: with no ServingLedger registered reverts ServingNoLedger", async function () {
      const f = await loadFixture(deployFreeServingFixture);
      const v = await voucher(f, f.user, 0n, 1n);
      await expect(f.serving.connect(f.provider).settle([v])).to.be.revertedWithCustomError(
        f.serving,
        "ServingNoLedger",
      );
    });

    it("settle: pays the voucher from the sub-account to the provider's earnings", async function () {
      const f = await loadFixture(fundedFixture);
      const ledger = ledgerOf(f);
      const v = await voucher(f, f.user, E("1"), 1n);
      const tx = f.serving.connect(f.provider).settle([v]);
      await expect(tx)
        .to.emit(f.serving, "VoucherSettled")
        .withArgs(f.user.address, f.provider.address, 1n, E("1"), E("1"));
      await expect(tx).to.emit(ledger, "Charged").withArgs(f.user.address, f.provider.address, E("1"));
      expect(await stateOf(f, f.user)).to.deep.equal({ settled: E("1"), nonce: 1n });
      expect((await ledger.subAccount(f.user.address, f.provider.address)).balance).to.equal(E("4"));
      expect(await ledger.earningsOf(f.provider.address)).to.equal(E("1"));
      // The provider withdraws what it earned.
      await expect(ledger.connect(f.provider).withdrawEarnings()).to.changeEtherBalance(f.provider, E("1"));
    });

    it("settle: vouchers are cumulative; a later one pays only the difference", async function () {
      const f = await loadFixture(fundedFixture);
      await f.serving.connect(f.provider).settle([await voucher(f, f.user, E("1"), 1n)]);
      // Nonces need not be consecutive, only increasing.
      const v = await voucher(f, f.user, E("2.5"), 5n);
      await expect(f.serving.connect(f.provider).settle([v]))
        .to.emit(f.serving, "VoucherSettled")
        .withArgs(f.user.address, f.provider.address, 5n, E("2.5"), E("1.5"));
      expect(await stateOf(f, f.user)).to.deep.equal({ settled: E("2.5"), nonce: 5n });
      expect(await ledgerOf(f).earningsOf(f.provider.address)).to.equal(E("2.5"));
    });

    it("settle: a stale nonce is rejected with StaleNonce and pays nothing", async function () {
      const f = await loadFixture(fundedFixture);
      const older = await voucher(f, f.user, E("1"), 1n);
      await f.serving.connect(f.provider).settle([await voucher(f, f.user, E("2"), 2n)]);
      await expect(f.serving.connect(f.provider).settle([older]))
        .to.emit(f.serving, "VoucherRejected")
        .withArgs(f.user.address, f.provider.address, 1n, Rejection.StaleNonce);
      expect(await stateOf(f, f.user)).to.deep.equal({ settled: E("2"), nonce: 2n });
      expect(await ledgerOf(f).earningsOf(f.provider.address)).to.equal(E("2"));
    });

    it("settle: a replayed voucher is rejected with StaleNonce, in a later batch or the same one", async function () {
      const f = await loadFixture(fundedFixture);
      const v = await voucher(f, f.user, E("1"), 1n);
      const [paid, rejections] = await f.serving.connect(f.provider).settle.staticCall([v, v]);
      expect(paid).to.deep.equal([E("1"), 0n]);
      expect(rejections).to.deep.equal([BigInt(Rejection.None), BigInt(Rejection.StaleNonce)]);
      await f.serving.connect(f.provider).settle([v, v]);
      const tx = f.serving.connect(f.provider).settle([v]);
      await expect(tx)
        .to.emit(f.serving, "VoucherRejected")
        .withArgs(f.user.address, f.provider.address, 1n, Rejection.StaleNonce);
      await expect(tx).to.not.emit(f.serving, "VoucherSettled");
      expect(await ledgerOf(f).earningsOf(f.provider.address)).to.equal(E("1"));
    });

    it("settle: a voucher signed for another provider is rejected with BadSignature", async function () {
      const f = await loadFixture(fundedFixture);
      const ledger = ledgerOf(f);
      await ledger.connect(f.user).fund(f.provider2.address, E("1"));
      const forProvider = await voucher(f, f.user, E("1"), 1n, f.provider);
      const tx = f.serving.connect(f.provider2).settle([forProvider]);
      await expect(tx)
        .to.emit(f.serving, "VoucherRejected")
        .withArgs(f.user.address, f.provider2.address, 1n, Rejection.BadSignature);
      await expect(tx).to.not.emit(ledger, "Charged");
      expect(await stateOf(f, f.user, f.provider2)).to.deep.equal({ settled: 0n, nonce: 0n });
      // The provider it was signed for can still settle it.
      await expect(f.serving.connect(f.provider).settle([forProvider]))
        .to.emit(f.serving, "VoucherSettled")
        .withArgs(f.user.address, f.provider.address, 1n, E("1"), E("1"));
    });

    it("settle: a voucher signed in another domain (chain id, contract, name or version) is rejected with BadSignature", async function () {
      const f = await loadFixture(fundedFixture);
      const otherDomains = [
        voucherDomain(f.servingAddress, 16602n),
        voucherDomain(ethers.Wallet.createRandom().address),
        { ...f.domain, name: "0G InferenceServing" },
        { ...f.domain, version: "2" },
      ];
      for (const domain of otherDomains) {
        const v = await voucher(f, f.user, E("1"), 1n, f.provider, domain);
        await expect(f.serving.connect(f.provider).settle([v]))
          .to.emit(f.serving, "VoucherRejected")
          .withArgs(f.user.address, f.provider.address, 1n, Rejection.BadSignature);
      }
      expect(await stateOf(f, f.user)).to.deep.equal({ settled: 0n, nonce: 0n });
    });

    it("settle: a voucher signed by someone other than its user is rejected with BadSignature", async function () {
      const f = await loadFixture(fundedFixture);
      const signature = (await voucher(f, f.user2, E("1"), 1n)).signature;
      await expect(
        f.serving
          .connect(f.provider)
          .settle([{ user: f.user.address, amount: E("1"), nonce: 1n, signature }]),
      )
        .to.emit(f.serving, "VoucherRejected")
        .withArgs(f.user.address, f.provider.address, 1n, Rejection.BadSignature);
    });

    it("settle: a voucher altered after signing is rejected with BadSignature", async function () {
      const f = await loadFixture(fundedFixture);
      const v = await voucher(f, f.user, E("1"), 1n);
      await expect(f.serving.connect(f.provider).settle([{ ...v, amount: E("2") }]))
        .to.emit(f.serving, "VoucherRejected")
        .withArgs(f.user.address, f.provider.address, 1n, Rejection.BadSignature);
    });

    it("settle: malformed and malleable signatures are rejected with BadSignature, never a revert", async function () {
      const f = await loadFixture(fundedFixture);
      const v = await voucher(f, f.user, E("1"), 1n);
      const sig = ethers.Signature.from(v.signature as string);
      // The high-s twin of a valid signature recovers the same signer with the ecrecover precompile.
      const twinS = ethers.toBeHex(SECP256K1_N - BigInt(sig.s), 32);
      const twinV = sig.v === 27 ? 28 : 27;
      const twin = ethers.concat([sig.r, twinS, ethers.toBeHex(twinV, 1)]);
      const digest = await f.serving.voucherDigest(f.user.address, f.provider.address, E("1"), 1n);
      const recovered = await ethers.provider.call({
        to: ECRECOVER,
        data: ethers.concat([digest, ethers.toBeHex(twinV, 32), sig.r, twinS]),
      });
      expect(ethers.getAddress(ethers.dataSlice(recovered, 12))).to.equal(f.user.address);
      const bad = [
        "0x",
        ethers.dataSlice(v.signature as string, 0, 64),
        ethers.concat([v.signature as string, "0x00"]),
        sig.compactSerialized,
        twin,
        ethers.concat([sig.r, sig.s, "0x1d"]),
        ethers.concat([ethers.ZeroHash, sig.s, ethers.toBeHex(sig.v, 1)]),
        ethers.concat([ethers.ZeroHash, ethers.ZeroHash, "0x1b"]),
      ];
      const batch = bad.map((signature) => ({ ...v, signature }));
      const [paid, rejections] = await f.serving.connect(f.provider).settle.staticCall(batch);
      expect(paid).to.deep.equal(bad.map(() => 0n));
      expect(rejections).to.deep.equal(bad.map(() => BigInt(Rejection.BadSignature)));
      // With the zero address as user too (ecrecover's failure value is never a signer).
      const zeroUser = bad.map((signature) => ({ ...v, user: ethers.ZeroAddress, signature }));
      const [, zeroRejections] = await f.serving.connect(f.provider).settle.staticCall(zeroUser);
      expect(zeroRejections).to.deep.equal(bad.map(() => BigInt(Rejection.BadSignature)));
      await f.serving.connect(f.provider).settle(batch);
      expect(await stateOf(f, f.user)).to.deep.equal({ settled: 0n, nonce: 0n });
    });

    it("settle: an amount below what was settled is rejected with AmountBelowSettled", async function () {
      const f = await loadFixture(fundedFixture);
      await f.serving.connect(f.provider).settle([await voucher(f, f.user, E("2"), 1n)]);
      await expect(f.serving.connect(f.provider).settle([await voucher(f, f.user, E("2") - 1n, 2n)]))
        .to.emit(f.serving, "VoucherRejected")
        .withArgs(f.user.address, f.provider.address, 2n, Rejection.AmountBelowSettled);
      expect(await stateOf(f, f.user)).to.deep.equal({ settled: E("2"), nonce: 1n });
      // The same amount with a higher nonce is accepted and pays nothing: no ledger charge.
      const tx = f.serving.connect(f.provider).settle([await voucher(f, f.user, E("2"), 3n)]);
      await expect(tx)
        .to.emit(f.serving, "VoucherSettled")
        .withArgs(f.user.address, f.provider.address, 3n, E("2"), 0n);
      await expect(tx).to.not.emit(ledgerOf(f), "Charged");
      expect(await stateOf(f, f.user)).to.deep.equal({ settled: E("2"), nonce: 3n });
    });

    it("settle: an amount or nonce of 2^128 or more is rejected with OutOfRange", async function () {
      const f = await loadFixture(fundedFixture);
      const batch = [
        await voucher(f, f.user, MAX_128 + 1n, 1n),
        await voucher(f, f.user, 1n, MAX_128 + 1n),
        await voucher(f, f.user, ethers.MaxUint256, ethers.MaxUint256),
      ];
      const [, rejections] = await f.serving.connect(f.provider).settle.staticCall(batch);
      expect(rejections).to.deep.equal(batch.map(() => BigInt(Rejection.OutOfRange)));
      // 2^128 - 1 is in range: the amount is capped by the balance, and the nonce is recorded.
      await expect(f.serving.connect(f.provider).settle([await voucher(f, f.user, MAX_128, MAX_128)]))
        .to.emit(f.serving, "VoucherSettled")
        .withArgs(f.user.address, f.provider.address, MAX_128, MAX_128, E("5"));
      expect(await stateOf(f, f.user)).to.deep.equal({ settled: E("5"), nonce: MAX_128 });
    });

    it("settle: an overdraft is capped at the sub-account's balance; a later voucher collects the rest", async function () {
      const f = await loadFixture(fundedFixture);
      const ledger = ledgerOf(f);
      await expect(f.serving.connect(f.provider).settle([await voucher(f, f.user, E("8"), 1n)]))
        .to.emit(f.serving, "VoucherSettled")
        .withArgs(f.user.address, f.provider.address, 1n, E("8"), E("5"));
      expect(await stateOf(f, f.user)).to.deep.equal({ settled: E("5"), nonce: 1n });
      expect((await ledger.subAccount(f.user.address, f.provider.address)).balance).to.equal(0n);
      // An empty sub-account pays nothing, but the voucher is still accepted.
      await expect(f.serving.connect(f.provider).settle([await voucher(f, f.user, E("8"), 2n)]))
        .to.emit(f.serving, "VoucherSettled")
        .withArgs(f.user.address, f.provider.address, 2n, E("8"), 0n);
      // After a top-up, the next voucher pays what is still owed.
      await ledger.connect(f.user).fund(f.provider.address, E("5"));
      await expect(f.serving.connect(f.provider).settle([await voucher(f, f.user, E("9"), 3n)]))
        .to.emit(f.serving, "VoucherSettled")
        .withArgs(f.user.address, f.provider.address, 3n, E("9"), E("4"));
      expect(await stateOf(f, f.user)).to.deep.equal({ settled: E("9"), nonce: 3n });
      expect(await ledger.earningsOf(f.provider.address)).to.equal(E("9"));
    });

    it("settle: takes pending refunds newest first once the unreserved balance is used up", async function () {
      const f = await loadFixture(fundedFixture);
      const ledger = ledgerOf(f);
      await ledger.connect(f.user).requestRefund(f.provider.address, E("1"));
      const older = BigInt(await time.latest()) + LOCK_TIME;
      await ledger.connect(f.user).requestRefund(f.provider.address, E("2"));
      // Balance 5: 2 unreserved, refunds [1, 2]. A voucher of 3.5 takes the 2, then 1.5 of the newest refund.
      await expect(f.serving.connect(f.provider).settle([await voucher(f, f.user, E("3.5"), 1n)]))
        .to.emit(f.serving, "VoucherSettled")
        .withArgs(f.user.address, f.provider.address, 1n, E("3.5"), E("3.5"));
      const sub = await ledger.subAccount(f.user.address, f.provider.address);
      expect(sub.balance).to.equal(E("1.5"));
      expect(sub.pendingRefund).to.equal(E("1.5"));
      expect(sub.refunds.map((r) => r.amount)).to.deep.equal([E("1"), E("0.5")]);
      expect(sub.refunds[0].unlockAt).to.equal(older);
      // Once unlocked, the user gets back what the provider did not take.
      await time.increase(LOCK_TIME);
      await expect(ledger.connect(f.user).releaseRefunds(f.provider.address))
        .to.emit(ledger, "RefundReleased")
        .withArgs(f.user.address, f.provider.address, E("1.5"));
    });

    it("settle: vouchers of one user in one batch are checked in order and share the balance", async function () {
      const f = await loadFixture(fundedFixture);
      const batch = [
        await voucher(f, f.user, E("3"), 1n),
        await voucher(f, f.user2, E("1"), 1n),
        await voucher(f, f.user, E("4"), 2n),
        // Below the 4 the previous voucher of the batch recorded.
        await voucher(f, f.user, E("3.5"), 3n),
        await voucher(f, f.user, E("6"), 4n),
      ];
      const [paid, rejections] = await f.serving.connect(f.provider).settle.staticCall(batch);
      expect(paid).to.deep.equal([E("3"), E("1"), E("1"), 0n, E("1")]);
      expect(rejections).to.deep.equal(
        [Rejection.None, Rejection.None, Rejection.None, Rejection.AmountBelowSettled, Rejection.None].map(
          BigInt,
        ),
      );
      await f.serving.connect(f.provider).settle(batch);
      // The last voucher owed 2 but the sub-account had 1 left: settled counts what was paid.
      expect(await stateOf(f, f.user)).to.deep.equal({ settled: E("5"), nonce: 4n });
      expect(await stateOf(f, f.user2)).to.deep.equal({ settled: E("1"), nonce: 1n });
      expect(await ledgerOf(f).earningsOf(f.provider.address)).to.equal(E("6"));
    });

    it("settle: a mixed batch pays the good vouchers and reports the others", async function () {
      const f = await loadFixture(fundedFixture);
      const good = await voucher(f, f.user, E("1"), 1n);
      const forged = { ...(await voucher(f, f.user2, E("1"), 1n)), user: f.user.address, nonce: 2n };
      const good2 = await voucher(f, f.user2, E("2"), 1n);
      const tx = f.serving.connect(f.provider).settle([good, forged, good2]);
      await expect(tx)
        .to.emit(f.serving, "VoucherSettled")
        .withArgs(f.user.address, f.provider.address, 1n, E("1"), E("1"));
      await expect(tx)
        .to.emit(f.serving, "VoucherRejected")
        .withArgs(f.user.address, f.provider.address, 2n, Rejection.BadSignature);
      await expect(tx)
        .to.emit(f.serving, "VoucherSettled")
        .withArgs(f.user2.address, f.provider.address, 1n, E("2"), E("2"));
      expect(await ledgerOf(f).earningsOf(f.provider.address)).to.equal(E("3"));
    });

    it("settle: a batch that owes nothing does not call the ledger", async function () {
      const f = await loadFixture(fundedFixture);
      // A ledger "module" that is an account with no code: any call to it would revert.
      await f.registry.setModule(SERVING_NAMES.ServingLedger, f.stranger.address, VERSION);
      await expect(f.serving.connect(f.provider).settle([await voucher(f, f.user, 1n, 1n)])).to.be.reverted;
      await expect(f.serving.connect(f.provider).settle([await voucher(f, f.user, 0n, 1n)]))
        .to.emit(f.serving, "VoucherSettled")
        .withArgs(f.user.address, f.provider.address, 1n, 0n, 0n);
    });

    it("settle: needs neither a service nor a stake (vouchers signed before a removal stay payable)", async function () {
      const f = await loadFixture(fundedFixture);
      const v = await voucher(f, f.user, E("1"), 1n, f.stranger);
      await ledgerOf(f).connect(f.user).fund(f.stranger.address, E("1"));
      expect(await f.serving.isRegistered(f.stranger.address)).to.equal(false);
      await expect(f.serving.connect(f.stranger).settle([v]))
        .to.emit(f.serving, "VoucherSettled")
        .withArgs(f.user.address, f.stranger.address, 1n, E("1"), E("1"));
    });

    it("settle: the ledger found at call time is the one charged", async function () {
      const f = await loadFixture(fundedFixture);
      const old = ledgerOf(f);
      await f.registry.removeModule(SERVING_NAMES.ServingLedger);
      await expect(
        f.serving.connect(f.provider).settle([await voucher(f, f.user, 1n, 1n)]),
      ).to.be.revertedWithCustomError(f.serving, "ServingNoLedger");
      await f.registry.setModule(SERVING_NAMES.ServingLedger, await old.getAddress(), VERSION);
      await expect(f.serving.connect(f.provider).settle([await voucher(f, f.user, 1n, 1n)])).to.emit(
        old,
        "Charged",
      );
    });
  });

  describe("upgrade", function () {
    it("upgradeToAndCall: by a non-governance account reverts ServingNotGovernance", async function () {
      const f = await loadFixture(registeredFixture);
      const next = await new InferenceServing__factory(f.governance).deploy();
      await expect(f.serving.connect(f.stranger).upgradeToAndCall(await next.getAddress(), "0x"))
        .to.be.revertedWithCustomError(f.serving, "ServingNotGovernance")
        .withArgs(f.stranger.address);
    });

    it("upgradeToAndCall: governance upgrades; services, voucher states and signed vouchers survive", async function () {
      const f = await loadFixture(registeredFixture);
      const ledger = ledgerOf(f);
      await ledger.connect(f.user).deposit({ value: E("2") });
      await ledger.connect(f.user).fund(f.provider.address, E("2"));
      await f.serving.connect(f.provider).settle([await voucher(f, f.user, E("1"), 1n)]);
      const signedBefore = await voucher(f, f.user, E("2"), 2n);
      const service = await serviceOf(f, f.provider);
      const next = await new InferenceServing__factory(f.governance).deploy();
      await expect(f.serving.upgradeToAndCall(await next.getAddress(), "0x"))
        .to.emit(f.serving, "Upgraded")
        .withArgs(await next.getAddress());
      expect(await serviceOf(f, f.provider)).to.deep.equal(service);
      expect(await stateOf(f, f.user)).to.deep.equal({ settled: E("1"), nonce: 1n });
      await expect(f.serving.connect(f.provider).settle([signedBefore]))
        .to.emit(f.serving, "VoucherSettled")
        .withArgs(f.user.address, f.provider.address, 2n, E("2"), E("1"));
    });
  });
});

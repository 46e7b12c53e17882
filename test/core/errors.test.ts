import { expect } from "chai";
import {
  encodeBytes32String,
  Interface,
  JsonRpcProvider,
  makeError,
  Network,
  parseEther,
  Wallet,
} from "ethers";
import hre from "hardhat";
import { decodeRevertData, firstLine, toZgError, ZgError } from "../../offchain/core/errors";
import { ModuleRegistry__factory, NodeStaking__factory, type ModuleRegistry } from "../../typechain-types";
import { startRpc, type TestRpc } from "../helpers/chain";

/** Awaits `promise`, expecting it to fail, and returns what it threw. */
async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return expect.fail("expected the call to fail");
}

describe("core/errors", () => {
  const staking = NodeStaking__factory.createInterface();
  const registryInterface = ModuleRegistry__factory.createInterface();

  describe("decodeRevertData", () => {
    it("decodes a NodeStaking custom error with named arguments", () => {
      const data = staking.encodeErrorResult("StakingBelowMinimum", [0, 5, 10]);
      expect(decodeRevertData(data)).to.equal("StakingBelowMinimum(role: 0, bonded: 5, minimum: 10)");
    });

    it("decodes errors with address, bytes32 and large integer arguments", () => {
      const operator = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
      expect(decodeRevertData(staking.encodeErrorResult("StakingNotMember", [operator, 2]))).to.equal(
        `StakingNotMember(operator: ${operator}, role: 2)`,
      );
      const big = 2n ** 255n + 7n;
      expect(decodeRevertData(staking.encodeErrorResult("StakingInsufficientBond", [big, 1n]))).to.equal(
        `StakingInsufficientBond(requested: ${big}, available: 1)`,
      );
      const name = encodeBytes32String("Oracle");
      expect(
        decodeRevertData(registryInterface.encodeErrorResult("RegistryModuleNotFound", [name])),
      ).to.equal(`RegistryModuleNotFound(name: ${name})`);
    });

    it("decodes errors without arguments", () => {
      expect(decodeRevertData(staking.encodeErrorResult("StakingZeroAmount", []))).to.equal(
        "StakingZeroAmount()",
      );
      expect(decodeRevertData(registryInterface.encodeErrorResult("RegistryEmptyName", []))).to.equal(
        "RegistryEmptyName()",
      );
    });

    it("decodes errors inherited from OpenZeppelin", () => {
      const account = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
      expect(
        decodeRevertData(registryInterface.encodeErrorResult("OwnableUnauthorizedAccount", [account])),
      ).to.equal(`OwnableUnauthorizedAccount(account: ${account})`);
    });

    it("returns undefined for empty data", () => {
      expect(decodeRevertData("0x")).to.equal(undefined);
      expect(decodeRevertData("")).to.equal(undefined);
      expect(decodeRevertData(null)).to.equal(undefined);
      expect(decodeRevertData(undefined)).to.equal(undefined);
    });

    it("returns undefined for a selector no project contract declares", () => {
      const foreign = new Interface(["error SomethingElse(uint256 x)"]).encodeErrorResult(
        "SomethingElse",
        [1],
      );
      expect(decodeRevertData(foreign)).to.equal(undefined);
      expect(decodeRevertData("0xdeadbeef")).to.equal(undefined);
    });

    it("returns undefined for garbage and truncated data", () => {
      expect(decodeRevertData("not hex at all")).to.equal(undefined);
      expect(decodeRevertData("0x12")).to.equal(undefined);
      expect(decodeRevertData("0xzzzzzzzz")).to.equal(undefined);
      const truncated = staking.encodeErrorResult("StakingBelowMinimum", [0, 5, 10]).slice(0, 10 + 64);
      expect(decodeRevertData(truncated)).to.equal(undefined);
    });
  });

  describe("toZgError on real chain failures", () => {
    let registry: ModuleRegistry;

    before(async () => {
      const [owner] = await hre.ethers.getSigners();
      registry = await hre.ethers.deployContract("ModuleRegistry", [owner.address]);
      await registry.waitForDeployment();
    });

    it("decodes a custom-error revert of a view call", async () => {
      const name = encodeBytes32String("NoSuchModule");
      const error = toZgError(await failureOf(registry.getModule(name)));
      expect(error).to.be.instanceOf(ZgError);
      expect(error.code).to.equal("REVERTED");
      expect(error.message).to.include("RegistryModuleNotFound");
      expect(error.message).to.equal(`reverted with RegistryModuleNotFound(name: ${name})`);
      expect(error.message).to.not.include("\n");
      expect(error.cause).to.be.instanceOf(Error);
    });

    it("prefixes the action", async () => {
      const error = toZgError(await failureOf(registry.getModule(encodeBytes32String("X"))), "read module X");
      expect(error.message).to.match(/^read module X: reverted with RegistryModuleNotFound\(name: 0x58/);
    });

    it("decodes OwnableUnauthorizedAccount when a non-owner calls setModule", async () => {
      const [, stranger, module] = await hre.ethers.getSigners();
      const failure = await failureOf(
        registry.connect(stranger).setModule(encodeBytes32String("Oracle"), module.address, "1.0.0"),
      );
      const error = toZgError(failure, "set module");
      expect(error.code).to.equal("REVERTED");
      expect(error.message).to.equal(
        `set module: reverted with OwnableUnauthorizedAccount(account: ${stranger.address})`,
      );
    });

    it("decodes an argument-less custom error of a transaction", async () => {
      const [owner] = await hre.ethers.getSigners();
      const failure = await failureOf(
        registry.connect(owner).setModule(encodeBytes32String(""), owner.address, "1.0.0"),
      );
      expect(toZgError(failure).message).to.equal("reverted with RegistryEmptyName()");
    });

    it("reports an unfunded account as INSUFFICIENT_FUNDS", async () => {
      const [funded] = await hre.ethers.getSigners();
      const poor = Wallet.createRandom().connect(hre.ethers.provider);
      const error = toZgError(
        await failureOf(poor.sendTransaction({ to: funded.address, value: parseEther("1") })),
        "pay",
      );
      expect(error.code).to.equal("INSUFFICIENT_FUNDS");
      expect(error.message).to.equal("pay: the account cannot pay for this transaction (insufficient funds)");
    });
  });

  describe("toZgError on ethers errors from a JSON-RPC endpoint (the SDK's path)", () => {
    let rpc: TestRpc;
    let provider: JsonRpcProvider;
    let registryAddress: string;

    before(async () => {
      const [owner] = await hre.ethers.getSigners();
      const registry = await hre.ethers.deployContract("ModuleRegistry", [owner.address]);
      registryAddress = await registry.getAddress();
      rpc = await startRpc();
      provider = new JsonRpcProvider(rpc.url, Network.from(31337), { staticNetwork: true });
    });
    after(async () => {
      provider.destroy();
      await rpc.close();
    });

    it("decodes the revert data of an ethers CALL_EXCEPTION", async () => {
      const registry = ModuleRegistry__factory.connect(registryAddress, provider);
      const name = encodeBytes32String("Missing");
      const failure = await failureOf(registry.getModule(name));
      expect((failure as { code?: string }).code).to.equal("CALL_EXCEPTION");
      const error = toZgError(failure, "get module");
      expect(error.code).to.equal("REVERTED");
      expect(error.message).to.equal(`get module: reverted with RegistryModuleNotFound(name: ${name})`);
    });

    it("reports an unfunded account as INSUFFICIENT_FUNDS", async () => {
      const poor = Wallet.createRandom().connect(provider);
      const [funded] = await hre.ethers.getSigners();
      const failure = await failureOf(poor.sendTransaction({ to: funded.address, value: parseEther("1") }));
      const error = toZgError(failure);
      expect(error.code).to.equal("INSUFFICIENT_FUNDS");
      expect(error.message).to.equal("the account cannot pay for this transaction (insufficient funds)");
    });
  });

  describe("toZgError on other errors", () => {
    it("reads the node's message inside an ethers UNKNOWN_ERROR", () => {
      const wrapped = makeError("could not coalesce error", "UNKNOWN_ERROR", {
        error: { code: -32000, message: "nonce too low\nsecond line" },
        payload: { method: "eth_sendRawTransaction" },
      });
      const error = toZgError(wrapped, "send");
      expect(error.code).to.equal("ZG_ERROR");
      expect(error.message).to.equal("send: nonce too low");
    });

    it("decodes an error carrying project revert data in `data`, as Hardhat's own errors do", () => {
      const data = staking.encodeErrorResult("StakingUnbondingLocked", [123]);
      const error = toZgError(
        Object.assign(new Error("VM Exception while processing transaction"), { data }),
      );
      expect(error.code).to.equal("REVERTED");
      expect(error.message).to.equal("reverted with StakingUnbondingLocked(releaseAt: 123)");
      const unknown = toZgError(Object.assign(new Error("other failure"), { data: "0xdeadbeef" }));
      expect(unknown.code).to.equal("ZG_ERROR");
      expect(unknown.message).to.equal("other failure");
      expect(toZgError(null).message).to.equal("null");
    });

    it("passes a ZgError through unchanged", () => {
      const original = new ZgError("already clear", "BAD_INPUT");
      expect(toZgError(original, "ignored action")).to.equal(original);
      expect(original.message).to.equal("already clear");
      expect(original.code).to.equal("BAD_INPUT");
      expect(original.name).to.equal("ZgError");
    });

    it("defaults the code of a ZgError to ZG_ERROR", () => {
      const error = new ZgError("x");
      expect(error.code).to.equal("ZG_ERROR");
      expect(error).to.be.instanceOf(Error);
    });

    it("falls back to the revert reason, then to a fixed text, for a CALL_EXCEPTION", () => {
      const withReason = makeError("execution reverted", "CALL_EXCEPTION", {
        action: "call",
        data: "0x",
        reason: "Ownable: caller is not the owner",
        transaction: { to: null, data: "0x" },
        invocation: null,
        revert: null,
      });
      expect(toZgError(withReason).message).to.equal("reverted with Ownable: caller is not the owner");
      const bare = makeError("execution reverted", "CALL_EXCEPTION", {
        action: "call",
        data: null,
        reason: null,
        transaction: { to: null, data: "0x" },
        invocation: null,
        revert: null,
      });
      const error = toZgError(bare);
      expect(error.code).to.equal("REVERTED");
      expect(error.message).to.equal("reverted with reverted without a reason");
    });

    it("reports unreachable endpoints as NETWORK", () => {
      const refused = toZgError(new Error("connect ECONNREFUSED 127.0.0.1:8545"), "connect");
      expect(refused.code).to.equal("NETWORK");
      expect(refused.message).to.equal(
        "connect: cannot reach the RPC endpoint (connect ECONNREFUSED 127.0.0.1:8545)",
      );
      const timeout = makeError("request timeout", "TIMEOUT", { operation: "request", reason: "timeout" });
      expect(toZgError(timeout).code).to.equal("NETWORK");
      expect(toZgError(new TypeError("fetch failed")).code).to.equal("NETWORK");
    });

    it("recognises Hardhat's plain-text insufficient funds error", () => {
      const error = toZgError(
        new Error(
          "sender doesn't have enough funds to send tx. The max upfront cost is: 1 and the balance is 0.",
        ),
      );
      expect(error.code).to.equal("INSUFFICIENT_FUNDS");
    });

    it("wraps anything else as ZG_ERROR with its first line", () => {
      const error = toZgError(new Error("something odd\n    at frame 1\n    at frame 2"), "do it");
      expect(error.code).to.equal("ZG_ERROR");
      expect(error.message).to.equal("do it: something odd");
      expect(toZgError("a thrown string").message).to.equal("a thrown string");
    });
  });

  describe("firstLine", () => {
    it("keeps only the first line of a multi-line message, trimmed", () => {
      expect(firstLine(new Error("  first line  \nsecond line\nthird"))).to.equal("first line");
      expect(firstLine("plain\r\ntext")).to.equal("plain");
    });

    it("drops ethers' diagnostic tail and prefers shortMessage", () => {
      expect(
        firstLine(new Error('missing revert data (action="call", data=null, code=CALL_EXCEPTION)')),
      ).to.equal("missing revert data");
      expect(firstLine(new Error("transaction failed (action=sendTransaction, code=X)"))).to.equal(
        "transaction failed",
      );
      const withShort = Object.assign(new Error("long message\nwith details"), { shortMessage: "short one" });
      expect(firstLine(withShort)).to.equal("short one");
    });

    it("stringifies non-errors", () => {
      expect(firstLine(42)).to.equal("42");
      expect(firstLine(undefined)).to.equal("undefined");
      expect(firstLine({ toString: () => "custom\nobject" })).to.equal("custom");
    });
  });
});

/**
 * Gas of `InferenceServing.settle` per user voucher, for batches of 1, 10 and 100 users each with their own
 * signature, on the in-process Hardhat network (osaka rules: EIP-7623's calldata floor applies).
 *
 * Each batch size runs on a fresh registry + ServingLedger + InferenceServing. Every user deposits and funds a
 * sub-account with the provider; the provider has already settled one other user (its earnings slot is written).
 * `first` is each user's first settlement with the provider (its voucher state is created: +20,000 gas for a new
 * slot), `steady` the second one (every slot already written). A voucher stands for 100 requests, so the
 * per-request figure is the per-user figure / 100.
 *
 * The 0G anchors are not measured here: they are the figures quoted in the issue for 0G's own settlement
 * (~51,000 gas per user at 50 users; ~68,000 on an account's first settlement).
 */
import type {} from "@nomicfoundation/hardhat-ethers/internal/type-extensions";
import hre from "hardhat";
import type { HDNodeWallet, TypedDataDomain } from "ethers";
import {
  InferenceServing__factory,
  ModuleRegistry__factory,
  ServingLedger__factory,
  ZgProxy__factory,
  type IInferenceServing,
  type InferenceServing,
  type ServingLedger,
} from "../typechain-types";
import type { Figure } from "./figure";

const BATCHES = [1, 10, 100];
const REQUESTS_PER_VOUCHER = 100;
/** What one request costs: ~1,000 tokens at 1 gwei a token. */
const PRICE_PER_REQUEST = 1_000_000_000_000n;
const TARGET_PER_USER = 40_000;
const ZEROG_STEADY = 51_000;
const ZEROG_FIRST = 68_000;
const ANCHOR_NAMES = {
  steady: "0G settlement, ~50-user batch (issue's quoted figure)",
  first: "0G first settlement of an account (issue's quoted figure)",
} as const;

const VOUCHER_TYPES = {
  Voucher: [
    { name: "user", type: "address" },
    { name: "provider", type: "address" },
    { name: "amount", type: "uint256" },
    { name: "nonce", type: "uint256" },
  ],
};

interface Stack {
  ledger: ServingLedger;
  serving: InferenceServing;
  domain: TypedDataDomain;
}

async function deploy(): Promise<Stack> {
  const [governance] = await hre.ethers.getSigners();
  const registry = await new ModuleRegistry__factory(governance).deploy(governance.address);
  const registryAddress = await registry.getAddress();
  const ledgerImplementation = await new ServingLedger__factory(governance).deploy();
  const ledgerProxy = await new ZgProxy__factory(governance).deploy(
    await ledgerImplementation.getAddress(),
    ledgerImplementation.interface.encodeFunctionData("initialize", [registryAddress, 86_400]),
  );
  const servingImplementation = await new InferenceServing__factory(governance).deploy();
  const servingProxy = await new ZgProxy__factory(governance).deploy(
    await servingImplementation.getAddress(),
    servingImplementation.interface.encodeFunctionData("initialize", [registryAddress]),
  );
  const ledgerAddress = await ledgerProxy.getAddress();
  const servingAddress = await servingProxy.getAddress();
  const name = hre.ethers.encodeBytes32String;
  await (await registry.setModule(name("ServingLedger"), ledgerAddress, "1.0.0")).wait();
  await (await registry.setModule(name("InferenceServing"), servingAddress, "1.0.0")).wait();
  const { chainId } = await hre.ethers.provider.getNetwork();
  return {
    ledger: ServingLedger__factory.connect(ledgerAddress, governance),
    serving: InferenceServing__factory.connect(servingAddress, governance),
    domain: { name: "zerog InferenceServing", version: "1", chainId, verifyingContract: servingAddress },
  };
}

/** `count` fresh users, each with a funded sub-account with `provider` (enough for two settlements). */
async function fundedUsers(stack: Stack, provider: string, count: number): Promise<HDNodeWallet[]> {
  const users: HDNodeWallet[] = [];
  const deposit = 4n * BigInt(REQUESTS_PER_VOUCHER) * PRICE_PER_REQUEST;
  for (let i = 0; i < count; i++) {
    const user = hre.ethers.Wallet.createRandom(hre.ethers.provider);
    await hre.network.provider.send("hardhat_setBalance", [user.address, "0xde0b6b3a7640000"]);
    await (await stack.ledger.connect(user).deposit({ value: deposit })).wait();
    await (await stack.ledger.connect(user).fund(provider, deposit)).wait();
    users.push(user);
  }
  return users;
}

async function vouchers(
  stack: Stack,
  users: HDNodeWallet[],
  provider: string,
  nonce: bigint,
): Promise<IInferenceServing.SignedVoucherStruct[]> {
  const amount = nonce * BigInt(REQUESTS_PER_VOUCHER) * PRICE_PER_REQUEST;
  return Promise.all(
    users.map(async (user) => ({
      user: user.address,
      amount,
      nonce,
      signature: await user.signTypedData(stack.domain, VOUCHER_TYPES, {
        user: user.address,
        provider,
        amount,
        nonce,
      }),
    })),
  );
}

/** One settlement's gas, and EIP-7623's calldata floor for its transaction. */
interface SettleGas {
  used: number;
  floor: number;
}

async function settle(stack: Stack, batch: IInferenceServing.SignedVoucherStruct[]): Promise<SettleGas> {
  const [, provider] = await hre.ethers.getSigners();
  const tx = await stack.serving.connect(provider).settle(batch);
  const receipt = await tx.wait();
  if (receipt === null) throw new Error("no receipt");
  // Every voucher must have been accepted and paid, or the figure would measure a rejection.
  const paid = receipt.logs
    .map((log) => stack.serving.interface.parseLog(log))
    .filter((event) => event?.name === "VoucherSettled" && (event.args.paid as bigint) > 0n).length;
  if (paid !== batch.length) throw new Error(`expected ${batch.length} paid vouchers, got ${paid}`);
  const bytes = hre.ethers.getBytes(tx.data);
  const zeros = bytes.filter((b) => b === 0).length;
  return { used: Number(receipt.gasUsed), floor: 21_000 + 10 * (4 * (bytes.length - zeros) + zeros) };
}

interface Measured {
  users: number;
  first: SettleGas;
  steady: SettleGas;
}

async function measure(count: number): Promise<Measured> {
  const stack = await deploy();
  const [, provider] = await hre.ethers.getSigners();
  const [warm] = await fundedUsers(stack, provider.address, 1);
  await settle(stack, await vouchers(stack, [warm], provider.address, 1n));
  const users = await fundedUsers(stack, provider.address, count);
  const first = await settle(stack, await vouchers(stack, users, provider.address, 1n));
  const steady = await settle(stack, await vouchers(stack, users, provider.address, 2n));
  return { users: count, first, steady };
}

async function measureAll(): Promise<Measured[]> {
  const measured: Measured[] = [];
  for (const count of BATCHES) measured.push(await measure(count));
  return measured;
}

/** Settlement gas per user and per request, steady state and first settlement, at 1, 10 and 100 users. */
export async function settleGas(): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const { users, first, steady } of await measureAll()) {
    for (const [label, gas, anchor] of [
      ["steady", steady, ZEROG_STEADY],
      ["first", first, ZEROG_FIRST],
    ] as const) {
      // 0G's quoted figures are compared with our 100-user batches (theirs: ~50 users).
      const quoted = (value: number): Pick<Figure, "anchor"> =>
        users === 100 ? { anchor: { name: ANCHOR_NAMES[label], value, unit: "gas" } } : {};
      figures.push({
        name: `serving-settle-${users}-users-${label}-per-user`,
        value: Math.round(gas.used / users),
        unit: users === 100 ? `gas (target <= ${TARGET_PER_USER})` : "gas",
        ...quoted(anchor),
      });
      figures.push({
        name: `serving-settle-${users}-users-${label}-per-request`,
        value: Math.round(gas.used / users / REQUESTS_PER_VOUCHER),
        unit: "gas",
        ...quoted(anchor / REQUESTS_PER_VOUCHER),
      });
    }
  }
  return figures;
}

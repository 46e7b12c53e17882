/**
 * Property-based test of ServingLedger, charged through the real InferenceServing with signed vouchers, against a
 * reference model.
 *
 * fast-check generates sequences of 1..MAX_OPS operations by two users and two providers: deposits, withdrawals,
 * funding, refund requests and releases, voucher settlements (good, replayed, stale, below what was settled,
 * forged, for another provider or domain, out of range), earnings withdrawals, lock-time changes and time travel.
 * Each operation is sent to the chain AND applied to a TypeScript model that predicts, from IServingLedger and
 * IInferenceServing, whether it reverts (with which custom error and arguments), what each voucher pays or why it
 * is rejected, and every balance, refund and voucher state. After every operation the test checks the money
 * invariant from chain state alone and that the chain matches the model exactly. See PROPERTIES.md.
 *
 * The ledger takes an alignment share (`ALIGNMENT_SHARE_BPS`) of each settlement for an account registered as
 * "AlignmentRewards": its earnings are part of the model, the state and the money invariant.
 *
 * Block timestamps are set explicitly so that the model knows the time of each operation. The chain is reset
 * between runs with evm_snapshot / evm_revert. The state is read from storage slots after every operation, and
 * through the views (in one eth_call through TestMulticall) at the end of every run.
 */
import { expect } from "chai";
import fc from "fast-check";
import { ethers, network } from "hardhat";
import type { ContractTransactionResponse, HDNodeWallet, Interface, TypedDataDomain } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import {
  ModuleRegistry__factory,
  TestMulticall__factory,
  type IInferenceServing,
  type InferenceServing,
  type ServingLedger,
  type TestMulticall,
} from "../../typechain-types";
import { devAccount } from "../../offchain/devnet/accounts";
import { VERSION } from "../helpers/staking-fixture";
import {
  LOCK_TIME,
  Rejection,
  SERVING_NAMES,
  deployLedger,
  deployServing,
  signVoucher,
  voucherDomain,
  type RejectionId,
} from "../helpers/serving-fixture";

const NUM_RUNS = Number(process.env.NUM_RUNS ?? 1000);
const MAX_OPS = 16;
const GAS_LIMIT = 3_000_000;
const MAX_128 = (1n << 128n) - 1n;
const MAX_64 = (1n << 64n) - 1n;
/** The ERC-7201 storage roots of ServingLedger and InferenceServing ("zerog.storage.<name>"). */
const LEDGER_STORAGE = erc7201("zerog.storage.ServingLedger");
const SERVING_STORAGE = erc7201("zerog.storage.InferenceServing");
const DAY = 86_400;
const HOUR = 3600;
/** The lock time the ledger starts with in these runs: the minimum, so that refunds often mature within a run. */
const START_LOCK = 60n;
const MAX_PENDING_REFUNDS = 30;
const MIN_LOCK = 60n;
const MAX_LOCK = 30n * 86_400n;
/** Each kind of operation must have succeeded (and, where it can, reverted) more often than this over all runs. */
const MIN_OUTCOMES = Math.floor(NUM_RUNS / 50);

const E = (s: string): bigint => ethers.parseEther(s);

/** Signer indices (Hardhat's development accounts) of the users and providers. */
const USER_INDICES = [11, 12];
const PROVIDER_INDICES = [13, 14];
const USERS = USER_INDICES.length;
const PROVIDERS = PROVIDER_INDICES.length;
/** Signer index of the account registered as "AlignmentRewards", and the share of each settlement it is credited. */
const ALIGNMENT_INDEX = 15;
const ALIGNMENT_SHARE_BPS = 1_234n;

// ─── Operations ───────────────────────────────────────────────────────────────────────────────────

/** An amount given outright, or as a share (basis points, ±1) of a reference the model knows at apply time. */
type Amount = { abs: bigint } | { bps: number; plus: bigint };

type VoucherKind =
  "fresh" | "replay" | "stale" | "below" | "wrongProvider" | "forged" | "otherDomain" | "outOfRange";

interface VoucherSpec {
  user: number;
  kind: VoucherKind;
  /** What a fresh voucher adds to what was settled, as a share of the sub-account's balance. */
  delta: Amount;
  /** How far a fresh nonce skips ahead (1: the next one). */
  gap: number;
}

type Op =
  | { kind: "deposit"; user: number; amount: bigint }
  | { kind: "withdraw"; user: number; amount: Amount }
  | { kind: "fund"; user: number; provider: number; amount: Amount }
  | { kind: "requestRefund"; user: number; provider: number; amount: Amount }
  | { kind: "releaseRefunds"; user: number; provider: number }
  | { kind: "settle"; provider: number; vouchers: VoucherSpec[] }
  | { kind: "withdrawEarnings"; provider: number }
  | { kind: "setLockTime"; value: bigint }
  | { kind: "time"; seconds: number };

interface Pair {
  user: number;
  provider: number;
}

const userIndex = fc.integer({ min: 0, max: USERS - 1 });
const providerIndex = fc.integer({ min: 0, max: PROVIDERS - 1 });

/** Three times out of four the run's focus pair, so that one sequence funds, refunds and settles the same one. */
function pairArb(focus: Pair): fc.Arbitrary<Pair> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(focus) },
    { weight: 1, arbitrary: fc.record({ user: userIndex, provider: providerIndex }) },
  );
}

const share: fc.Arbitrary<Amount> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      bps: fc.constantFrom(0, 2500, 5000, 10_000),
      plus: fc.constantFrom(0n, 1n, -1n),
    }),
  },
  { weight: 2, arbitrary: fc.record({ bps: fc.integer({ min: 0, max: 12_000 }), plus: fc.constant(0n) }) },
  { weight: 1, arbitrary: fc.constantFrom(0n, 1n, E("1")).map((abs): Amount => ({ abs })) },
);

const depositAmount = fc.oneof(
  { weight: 1, arbitrary: fc.constant(0n) },
  { weight: 1, arbitrary: fc.constant(1n) },
  { weight: 4, arbitrary: fc.bigInt({ min: 1n, max: E("5") }) },
);

/** Refund lock times: the bounds, just outside them, and a few in between. */
const lockValue = fc.constantFrom(MIN_LOCK - 1n, MIN_LOCK, BigInt(HOUR), LOCK_TIME, MAX_LOCK, MAX_LOCK + 1n);

/** Around the lock times in use (60 s, 1 h, 1 day), and arbitrary jumps of up to two days. */
const seconds = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(1, 59, 60, HOUR - 2, HOUR - 1, HOUR, DAY - 1, DAY) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 * DAY }) },
);

const voucherKind = fc.oneof(
  { weight: 5, arbitrary: fc.constant<VoucherKind>("fresh") },
  {
    weight: 4,
    arbitrary: fc.constantFrom<VoucherKind>(
      "replay",
      "stale",
      "below",
      "wrongProvider",
      "forged",
      "otherDomain",
      "outOfRange",
    ),
  },
);

function voucherArb(focusUser: number): fc.Arbitrary<VoucherSpec> {
  return fc.record({
    user: fc.oneof({ weight: 3, arbitrary: fc.constant(focusUser) }, { weight: 1, arbitrary: userIndex }),
    kind: voucherKind,
    delta: share,
    gap: fc.constantFrom(1, 1, 1, 2, 5),
  });
}

function opArb(focus: Pair): fc.Arbitrary<Op> {
  const pair = pairArb(focus);
  const user = fc.oneof(
    { weight: 3, arbitrary: fc.constant(focus.user) },
    { weight: 1, arbitrary: userIndex },
  );
  const provider = fc.oneof(
    { weight: 3, arbitrary: fc.constant(focus.provider) },
    { weight: 1, arbitrary: providerIndex },
  );
  return fc.oneof(
    {
      weight: 2,
      arbitrary: fc
        .tuple(user, depositAmount)
        .map(([u, amount]): Op => ({ kind: "deposit", user: u, amount })),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(user, share).map(([u, amount]): Op => ({ kind: "withdraw", user: u, amount })),
    },
    {
      weight: 3,
      arbitrary: fc.tuple(pair, share).map(([p, amount]): Op => ({ kind: "fund", ...p, amount })),
    },
    {
      weight: 3,
      arbitrary: fc.tuple(pair, share).map(([p, amount]): Op => ({ kind: "requestRefund", ...p, amount })),
    },
    { weight: 3, arbitrary: pair.map((p): Op => ({ kind: "releaseRefunds", ...p })) },
    {
      weight: 5,
      arbitrary: fc
        .tuple(provider, fc.array(voucherArb(focus.user), { minLength: 0, maxLength: 4 }))
        .map(([p, vouchers]): Op => ({ kind: "settle", provider: p, vouchers })),
    },
    { weight: 3, arbitrary: provider.map((p): Op => ({ kind: "withdrawEarnings", provider: p })) },
    { weight: 2, arbitrary: lockValue.map((value): Op => ({ kind: "setLockTime", value })) },
    { weight: 4, arbitrary: seconds.map((s): Op => ({ kind: "time", seconds: s })) },
  );
}

/**
 * A deposit and a funding that succeed, used to open runs with coin in a sub-account; half of the time followed by
 * a refund request of part of it (and, half of those times, by the initial lock time), so that runs often settle
 * against, cancel or release pending refunds.
 */
function preludeArb(focus: Pair): fc.Arbitrary<Op[]> {
  const refund = fc.option(fc.record({ bps: fc.integer({ min: 1000, max: 10_000 }), wait: fc.boolean() }), {
    nil: undefined,
  });
  return fc
    .tuple(
      pairArb(focus),
      fc.bigInt({ min: E("0.5"), max: E("4") }),
      fc.integer({ min: 2500, max: 10_000 }),
      refund,
    )
    .map(([p, amount, bps, r]): Op[] => {
      const ops: Op[] = [
        { kind: "deposit", user: p.user, amount },
        { kind: "fund", user: p.user, provider: p.provider, amount: { bps, plus: 0n } },
      ];
      if (r !== undefined) ops.push({ kind: "requestRefund", ...p, amount: { bps: r.bps, plus: 0n } });
      if (r?.wait) ops.push({ kind: "time", seconds: Number(START_LOCK) });
      return ops;
    });
}

const runArb = fc
  .record({ user: userIndex, provider: providerIndex })
  .chain((focus) =>
    fc
      .tuple(
        fc.array(preludeArb(focus), { minLength: 1, maxLength: 2 }),
        fc.array(opArb(focus), { minLength: 1, maxLength: MAX_OPS - 8, size: "max" }),
      )
      .map(([prelude, rest]) => [...prelude.flat(), ...rest]),
  );

// ─── Model ────────────────────────────────────────────────────────────────────────────────────────

interface ModelRefund {
  amount: bigint;
  unlockAt: bigint;
}

interface ModelSub {
  balance: bigint;
  pendingRefund: bigint;
  refunds: ModelRefund[];
}

interface VoucherState {
  settled: bigint;
  nonce: bigint;
}

interface ExpectedError {
  name: string;
  args: readonly (bigint | string | number)[];
}

/** What the model predicts for one operation: a revert, or success with coin paid out to an account. */
type Outcome = { error: ExpectedError } | { error: null; paid?: bigint };

/** A voucher as submitted, with what the model knows of it: whether its signature is valid for this call. */
interface Submitted {
  user: number;
  amount: bigint;
  nonce: bigint;
  validSignature: boolean;
  signed: IInferenceServing.SignedVoucherStruct;
}

interface SettleResult {
  owed: bigint[];
  paid: bigint[];
  reasons: RejectionId[];
}

class Model {
  now: bigint;
  lockTime = START_LOCK;
  /** The ledger's coin, from the model's flows. */
  coin = 0n;
  readonly available: bigint[] = Array.from({ length: USERS }, () => 0n);
  readonly subs: ModelSub[][] = Array.from({ length: USERS }, () =>
    Array.from({ length: PROVIDERS }, () => ({ balance: 0n, pendingRefund: 0n, refunds: [] })),
  );
  readonly earnings: bigint[] = Array.from({ length: PROVIDERS }, () => 0n);
  /** The earnings held for "AlignmentRewards". */
  alignmentEarnings = 0n;
  readonly vouchers: VoucherState[][] = Array.from({ length: USERS }, () =>
    Array.from({ length: PROVIDERS }, () => ({ settled: 0n, nonce: 0n })),
  );
  /** Charges that reached pending refunds, and fundings that cancelled some (for the coverage check). */
  refundCharges = 0;
  cancellingFunds = 0;

  constructor(
    now: bigint,
    private readonly providerAddresses: readonly string[],
  ) {
    this.now = now;
  }

  deposit(user: number, amount: bigint): Outcome {
    if (amount === 0n) return { error: { name: "LedgerZeroAmount", args: [] } };
    this.available[user] += amount;
    this.coin += amount;
    return { error: null };
  }

  withdraw(user: number, amount: bigint): Outcome {
    if (amount === 0n) return { error: { name: "LedgerZeroAmount", args: [] } };
    const available = this.available[user];
    if (amount > available)
      return { error: { name: "LedgerInsufficientBalance", args: [amount, available] } };
    this.available[user] -= amount;
    this.coin -= amount;
    return { error: null, paid: amount };
  }

  fund(user: number, provider: number, amount: bigint): Outcome {
    if (amount === 0n) return { error: { name: "LedgerZeroAmount", args: [] } };
    const sub = this.subs[user][provider];
    const cancelled = amount < sub.pendingRefund ? amount : sub.pendingRefund;
    const fromAvailable = amount - cancelled;
    const available = this.available[user];
    if (fromAvailable > available)
      return { error: { name: "LedgerInsufficientBalance", args: [fromAvailable, available] } };
    takeNewest(sub, cancelled);
    if (cancelled > 0n) this.cancellingFunds += 1;
    sub.balance += fromAvailable;
    this.available[user] -= fromAvailable;
    return { error: null };
  }

  requestRefund(user: number, provider: number, amount: bigint, t: bigint): Outcome {
    if (amount === 0n) return { error: { name: "LedgerZeroAmount", args: [] } };
    const sub = this.subs[user][provider];
    const unreserved = sub.balance - sub.pendingRefund;
    const providerAddress = this.providerAddresses[provider];
    if (amount > unreserved) {
      return { error: { name: "LedgerInsufficientSubAccount", args: [providerAddress, amount, unreserved] } };
    }
    if (sub.refunds.length >= MAX_PENDING_REFUNDS) {
      return { error: { name: "LedgerTooManyRefunds", args: [providerAddress, MAX_PENDING_REFUNDS] } };
    }
    sub.refunds.push({ amount, unlockAt: t + this.lockTime });
    sub.pendingRefund += amount;
    return { error: null };
  }

  releaseRefunds(user: number, provider: number, t: bigint): Outcome {
    const sub = this.subs[user][provider];
    const matured = sub.refunds.filter((r) => r.unlockAt <= t);
    const kept = sub.refunds.filter((r) => r.unlockAt > t);
    const released = matured.reduce((sum, r) => sum + r.amount, 0n);
    if (released === 0n) {
      const next = kept.reduce((min, r) => (r.unlockAt < min ? r.unlockAt : min), ethers.MaxUint256);
      return {
        error: {
          name: "LedgerNothingUnlocked",
          args: [this.providerAddresses[provider], kept.length === 0 ? 0n : next],
        },
      };
    }
    sub.refunds = kept;
    sub.balance -= released;
    sub.pendingRefund -= released;
    this.available[user] += released;
    return { error: null };
  }

  withdrawEarnings(provider: number): Outcome {
    const amount = this.earnings[provider];
    if (amount === 0n)
      return { error: { name: "LedgerNoEarnings", args: [this.providerAddresses[provider]] } };
    this.earnings[provider] = 0n;
    this.coin -= amount;
    return { error: null, paid: amount };
  }

  setLockTime(value: bigint): Outcome {
    if (value < MIN_LOCK || value > MAX_LOCK)
      return { error: { name: "LedgerInvalidLockTime", args: [value] } };
    this.lockTime = value;
    return { error: null };
  }

  /**
   * Settlement as IInferenceServing specifies it: each voucher is checked in order against the state the earlier
   * ones left (as if paid in full), one ledger charge pays what is owed (each capped at the sub-account's balance,
   * unreserved part first, then refunds newest first), and what was not paid comes off `settled`.
   */
  settle(provider: number, batch: Submitted[]): Outcome & { result?: SettleResult } {
    if (batch.length === 0) return { error: { name: "ServingInvalidBatch", args: [0] } };
    const owed: bigint[] = [];
    const reasons: RejectionId[] = [];
    for (const v of batch) {
      const state = this.vouchers[v.user][provider];
      let reason: RejectionId = Rejection.None;
      if (v.amount > MAX_128 || v.nonce > MAX_128) reason = Rejection.OutOfRange;
      else if (!v.validSignature) reason = Rejection.BadSignature;
      else if (v.nonce <= state.nonce) reason = Rejection.StaleNonce;
      else if (v.amount < state.settled) reason = Rejection.AmountBelowSettled;
      reasons.push(reason);
      if (reason === Rejection.None) {
        owed.push(v.amount - state.settled);
        this.vouchers[v.user][provider] = { settled: v.amount, nonce: v.nonce };
      } else {
        owed.push(0n);
      }
    }
    const paid = batch.map((v, i) => (owed[i] === 0n ? 0n : this.charge(v.user, provider, owed[i])));
    let total = 0n;
    batch.forEach((v, i) => {
      this.vouchers[v.user][provider].settled -= owed[i] - paid[i];
      total += paid[i];
    });
    // The alignment share of the call's total (rounded down); the provider gets the rest.
    const share = (total * ALIGNMENT_SHARE_BPS) / 10_000n;
    this.alignmentEarnings += share;
    this.earnings[provider] += total - share;
    return { error: null, result: { owed, paid, reasons } };
  }

  private charge(user: number, provider: number, amount: bigint): bigint {
    const sub = this.subs[user][provider];
    const taken = amount < sub.balance ? amount : sub.balance;
    const unreserved = sub.balance - sub.pendingRefund;
    if (taken > unreserved) {
      takeNewest(sub, taken - unreserved);
      this.refundCharges += 1;
    }
    sub.balance -= taken;
    return taken;
  }
}

/** Removes `amount` from the newest refunds of `sub` (and from its pending sum). */
function takeNewest(sub: ModelSub, amount: bigint): void {
  sub.pendingRefund -= amount;
  while (amount > 0n) {
    const last = sub.refunds[sub.refunds.length - 1];
    if (last.amount <= amount) {
      amount -= last.amount;
      sub.refunds.pop();
    } else {
      last.amount -= amount;
      amount = 0n;
    }
  }
}

function erc7201(namespace: string): string {
  const inner = BigInt(ethers.id(namespace)) - 1n;
  return slotHex(
    BigInt(ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["uint256"], [inner]))) & ~0xffn,
  );
}

function slotHex(slot: bigint): string {
  return ethers.toBeHex(slot, 32);
}

/** The slot of `mapping[key]` for a mapping at `slot` (an address key). */
function mappingSlot(key: string, slot: bigint | string): string {
  return ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["address", "uint256"], [key, slot]));
}

/** A text form of a state, with bigints as decimals and object keys sorted, for a fast exact comparison. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "bigint") return v.toString();
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)));
    }
    return v;
  });
}

function resolve(amount: Amount, reference: bigint): bigint {
  if ("abs" in amount) return amount.abs;
  const value = (reference * BigInt(amount.bps)) / 10_000n + amount.plus;
  return value < 0n ? 0n : value;
}

// ─── Chain access ─────────────────────────────────────────────────────────────────────────────────

async function send<T>(method: string, params: unknown[] = []): Promise<T> {
  return (await network.provider.send(method, params)) as T;
}

interface ChainState {
  available: bigint[];
  subs: ModelSub[][];
  earnings: bigint[];
  alignmentEarnings: bigint;
  vouchers: VoucherState[][];
  lockTime: bigint;
  coin: bigint;
}

/**
 * The whole state read from storage slots, after every operation: Hardhat spends ~0.25 ms per call frame in an
 * eth_call, so reading through the views (two frames each, behind the proxies) would cost ~7 ms a step against
 * ~0.5 ms here. The slots follow the contracts' ERC-7201 layouts; `ViewReader` reads the same state through the
 * views at the end of every run, which also checks these slot computations.
 */
class StorageReader {
  private readonly lockSlot: string;
  private readonly availableSlots: string[];
  private readonly subSlots: string[][];
  private readonly refundSlots: string[][];
  private readonly earningsSlots: string[];
  private readonly alignmentSlot: string;
  private readonly voucherSlots: string[][];

  constructor(
    private readonly ledgerAddress: string,
    private readonly servingAddress: string,
    users: readonly string[],
    providers: readonly string[],
    alignment: string,
  ) {
    const ledgerBase = BigInt(LEDGER_STORAGE);
    const servingBase = BigInt(SERVING_STORAGE);
    this.lockSlot = slotHex(ledgerBase);
    this.availableSlots = users.map((u) => mappingSlot(u, ledgerBase + 1n));
    this.subSlots = users.map((u) => providers.map((p) => mappingSlot(p, mappingSlot(u, ledgerBase + 2n))));
    this.refundSlots = users.map((u) =>
      providers.map((p) => mappingSlot(p, mappingSlot(u, ledgerBase + 3n))),
    );
    this.earningsSlots = providers.map((p) => mappingSlot(p, ledgerBase + 4n));
    this.alignmentSlot = mappingSlot(alignment, ledgerBase + 4n);
    this.voucherSlots = users.map((u) =>
      providers.map((p) => mappingSlot(p, mappingSlot(u, servingBase + 4n))),
    );
  }

  private async word(address: string, slot: string): Promise<bigint> {
    return BigInt(await send<string>("eth_getStorageAt", [address, slot, "latest"]));
  }

  private async sub(u: number, p: number): Promise<ModelSub> {
    const [packed, length] = await Promise.all([
      this.word(this.ledgerAddress, this.subSlots[u][p]),
      this.word(this.ledgerAddress, this.refundSlots[u][p]),
    ]);
    const first = BigInt(ethers.keccak256(this.refundSlots[u][p]));
    const words = await Promise.all(
      Array.from({ length: Number(length) }, (_, i) =>
        this.word(this.ledgerAddress, slotHex(first + BigInt(i))),
      ),
    );
    return {
      balance: packed & MAX_128,
      pendingRefund: packed >> 128n,
      refunds: words.map((w) => ({ amount: w & MAX_128, unlockAt: (w >> 128n) & MAX_64 })),
    };
  }

  async read(): Promise<ChainState> {
    const ledger = this.ledgerAddress;
    const [lockWord, coin, available, subs, earnings, alignmentEarnings, vouchers] = await Promise.all([
      this.word(ledger, this.lockSlot),
      send<string>("eth_getBalance", [ledger, "latest"]).then(BigInt),
      Promise.all(this.availableSlots.map((slot) => this.word(ledger, slot))),
      Promise.all(this.subSlots.map((row, u) => Promise.all(row.map((_, p) => this.sub(u, p))))),
      Promise.all(this.earningsSlots.map((slot) => this.word(ledger, slot))),
      this.word(ledger, this.alignmentSlot),
      Promise.all(
        this.voucherSlots.map((row) =>
          Promise.all(
            row.map(async (slot): Promise<VoucherState> => {
              const w = await this.word(this.servingAddress, slot);
              return { settled: w & MAX_128, nonce: w >> 128n };
            }),
          ),
        ),
      ),
    ]);
    // Slot 0 holds the registry address (low 160 bits) and the lock time (the next 64).
    return {
      available,
      subs,
      earnings,
      alignmentEarnings,
      vouchers,
      lockTime: (lockWord >> 160n) & MAX_64,
      coin,
    };
  }
}

/** The whole state through the views, in one eth_call through TestMulticall, with pre-encoded calldata. */
class ViewReader {
  private readonly data: string;

  constructor(
    private readonly multicall: TestMulticall,
    private readonly multicallAddress: string,
    private readonly ledger: ServingLedger,
    private readonly serving: InferenceServing,
    ledgerAddress: string,
    servingAddress: string,
    private readonly users: readonly string[],
    private readonly providers: readonly string[],
    alignment: string,
  ) {
    const calls: { target: string; data: string }[] = [];
    const l = ledger.interface;
    const s = serving.interface;
    for (const u of users)
      calls.push({ target: ledgerAddress, data: l.encodeFunctionData("balanceOf", [u]) });
    for (const u of users)
      for (const p of providers)
        calls.push({ target: ledgerAddress, data: l.encodeFunctionData("subAccount", [u, p]) });
    for (const p of providers)
      calls.push({ target: ledgerAddress, data: l.encodeFunctionData("earningsOf", [p]) });
    calls.push({ target: ledgerAddress, data: l.encodeFunctionData("earningsOf", [alignment]) });
    for (const u of users)
      for (const p of providers)
        calls.push({ target: servingAddress, data: s.encodeFunctionData("voucherStateOf", [u, p]) });
    calls.push({ target: ledgerAddress, data: l.encodeFunctionData("lockTime") });
    calls.push({
      target: multicallAddress,
      data: multicall.interface.encodeFunctionData("coinBalance", [ledgerAddress]),
    });
    this.data = multicall.interface.encodeFunctionData("aggregate", [calls]);
  }

  async read(): Promise<ChainState> {
    const raw = await send<string>("eth_call", [{ to: this.multicallAddress, data: this.data }, "latest"]);
    const results = [...(this.multicall.interface.decodeFunctionResult("aggregate", raw)[0] as string[])];
    const next = (): string => {
      const r = results.shift();
      if (r === undefined) throw new Error("multicall returned too few results");
      return r;
    };
    const l = this.ledger.interface;
    const s = this.serving.interface;
    const available = this.users.map(() => l.decodeFunctionResult("balanceOf", next())[0] as bigint);
    const subs = this.users.map(() =>
      this.providers.map((): ModelSub => {
        const sub = l.decodeFunctionResult("subAccount", next())[0] as {
          balance: bigint;
          pendingRefund: bigint;
          refunds: { amount: bigint; unlockAt: bigint }[];
        };
        return {
          balance: sub.balance,
          pendingRefund: sub.pendingRefund,
          refunds: sub.refunds.map((r) => ({ amount: r.amount, unlockAt: r.unlockAt })),
        };
      }),
    );
    const earnings = this.providers.map(() => l.decodeFunctionResult("earningsOf", next())[0] as bigint);
    const alignmentEarnings = l.decodeFunctionResult("earningsOf", next())[0] as bigint;
    const vouchers = this.users.map(() =>
      this.providers.map((): VoucherState => {
        const v = s.decodeFunctionResult("voucherStateOf", next())[0] as { settled: bigint; nonce: bigint };
        return { settled: v.settled, nonce: v.nonce };
      }),
    );
    const lockTime = l.decodeFunctionResult("lockTime", next())[0] as bigint;
    const coin = this.multicall.interface.decodeFunctionResult("coinBalance", next())[0] as bigint;
    return { available, subs, earnings, alignmentEarnings, vouchers, lockTime, coin };
  }
}

/** Vouchers signed so far in a run, per (user, provider): the highest nonce used, and all of them for replays. */
class Vouchers {
  private readonly nonces = new Map<string, bigint>();
  private readonly signed = new Map<string, Submitted[]>();

  nextNonce(user: number, provider: number, gap: number): bigint {
    const key = `${user}:${provider}`;
    const nonce = (this.nonces.get(key) ?? 0n) + BigInt(gap);
    this.nonces.set(key, nonce);
    return nonce;
  }

  remember(provider: number, v: Submitted): void {
    const key = `${v.user}:${provider}`;
    this.signed.set(key, [...(this.signed.get(key) ?? []), v]);
  }

  previous(user: number, provider: number): Submitted[] {
    return this.signed.get(`${user}:${provider}`) ?? [];
  }
}

// ─── The property ─────────────────────────────────────────────────────────────────────────────────

describe("ServingLedger invariants (fast-check)", function () {
  this.timeout(15 * 60 * 1000);

  let ledger: ServingLedger;
  let serving: InferenceServing;
  let ledgerErrors: Interface;
  let servingErrors: Interface;
  let storage: StorageReader;
  let views: ViewReader;
  let users: HardhatEthersSigner[];
  let providers: HardhatEthersSigner[];
  let wallets: HDNodeWallet[];
  let governance: HardhatEthersSigner;
  let domain: TypedDataDomain;
  let otherDomain: TypedDataDomain;
  let startTime: bigint;
  let snapshot: string;
  /** Outcome counts across all runs: they show that the generator reaches every path (checked at the end). */
  const successes = new Map<string, number>();
  const reverts = new Map<string, number>();
  const errors = new Map<string, number>();
  const reasons = new Map<string, number>();
  let paidVouchers = 0;
  let cappedVouchers = 0;
  let refundCharges = 0;
  let cancellingFunds = 0;

  before(async function () {
    const signers = await ethers.getSigners();
    governance = signers[0];
    users = USER_INDICES.map((i) => signers[i]);
    providers = PROVIDER_INDICES.map((i) => signers[i]);
    wallets = USER_INDICES.map((i) => devAccount(i));
    wallets.forEach((w, i) => expect(w.address).to.equal(users[i].address));
    const registry = await new ModuleRegistry__factory(governance).deploy(governance.address);
    const registryAddress = await registry.getAddress();
    const deployedLedger = await deployLedger(governance, registryAddress, START_LOCK);
    const deployedServing = await deployServing(governance, registryAddress);
    ledger = deployedLedger.ledger;
    serving = deployedServing.serving;
    ledgerErrors = ledger.interface;
    servingErrors = serving.interface;
    await (
      await registry.setModule(SERVING_NAMES.ServingLedger, deployedLedger.ledgerAddress, VERSION)
    ).wait();
    await (
      await registry.setModule(SERVING_NAMES.InferenceServing, deployedServing.servingAddress, VERSION)
    ).wait();
    const alignment = signers[ALIGNMENT_INDEX].address;
    await (
      await registry.setModule(ethers.encodeBytes32String("AlignmentRewards"), alignment, VERSION)
    ).wait();
    await (await ledger.setAlignmentShare(ALIGNMENT_SHARE_BPS)).wait();
    const multicall = await new TestMulticall__factory(governance).deploy();
    storage = new StorageReader(
      deployedLedger.ledgerAddress,
      deployedServing.servingAddress,
      users.map((u) => u.address),
      providers.map((p) => p.address),
      alignment,
    );
    views = new ViewReader(
      multicall,
      await multicall.getAddress(),
      ledger,
      serving,
      deployedLedger.ledgerAddress,
      deployedServing.servingAddress,
      users.map((u) => u.address),
      providers.map((p) => p.address),
      alignment,
    );
    domain = voucherDomain(deployedServing.servingAddress);
    otherDomain = voucherDomain(deployedServing.servingAddress, 1n);
    const latest = await ethers.provider.getBlock("latest");
    if (latest === null) throw new Error("no latest block");
    startTime = BigInt(latest.timestamp);
    snapshot = await send<string>("evm_snapshot");
  });

  after(async function () {
    // Leave the chain as the other test files expect to find it.
    await send("evm_revert", [snapshot]);
  });

  function parseError(data: string): { name: string; args: unknown[] } | null {
    const parsed = ledgerErrors.parseError(data) ?? servingErrors.parseError(data);
    return parsed === null ? null : { name: parsed.name, args: [...parsed.args] };
  }

  async function checkState(model: Model, label: string, chain: ChainState): Promise<void> {
    let held = 0n;
    for (let u = 0; u < USERS; ++u) {
      held += chain.available[u];
      for (let p = 0; p < PROVIDERS; ++p) {
        const sub = chain.subs[u][p];
        held += sub.balance;
        // Sub-account invariants, from the chain alone (plain checks: chai is slow for thousands of steps).
        const sum = sub.refunds.reduce((total, r) => total + r.amount, 0n);
        if (sub.pendingRefund !== sum) expect.fail(`${label}: pendingRefund != Σ refunds (${u}, ${p})`);
        if (sub.pendingRefund > sub.balance) expect.fail(`${label}: pendingRefund > balance (${u}, ${p})`);
        if (sub.balance > MAX_128) expect.fail(`${label}: balance >= 2^128 (${u}, ${p})`);
        if (sub.refunds.length > MAX_PENDING_REFUNDS) expect.fail(`${label}: too many refunds (${u}, ${p})`);
        if (sub.refunds.some((r) => r.amount === 0n)) expect.fail(`${label}: a refund of zero (${u}, ${p})`);
      }
    }
    for (let p = 0; p < PROVIDERS; ++p) held += chain.earnings[p];
    held += chain.alignmentEarnings;
    // The money invariant, from the chain alone: every wei held is owed to someone.
    if (chain.coin !== held) {
      expect(chain.coin, `${label}: balance == Σ available + Σ sub-accounts + Σ earnings`).to.equal(held);
    }
    // And the chain matches the model, account by account (compared as text; chai shows the difference).
    const expected: ChainState = {
      available: model.available,
      subs: model.subs,
      earnings: model.earnings,
      alignmentEarnings: model.alignmentEarnings,
      vouchers: model.vouchers,
      lockTime: model.lockTime,
      coin: model.coin,
    };
    if (canonical(chain) !== canonical(expected)) {
      expect(chain, `${label}: chain state == model`).to.deep.equal(expected);
    }
  }

  /** Signs the vouchers a settle operation describes, from the model's state before the operation. */
  async function buildBatch(
    model: Model,
    signed: Vouchers,
    provider: number,
    specs: VoucherSpec[],
  ): Promise<Submitted[]> {
    const batch: Submitted[] = [];
    const providerAddress = providers[provider].address;
    for (const spec of specs) {
      const u = spec.user;
      const user = users[u].address;
      const state = model.vouchers[u][provider];
      const fresh = (): { amount: bigint; nonce: bigint } => ({
        amount: state.settled + resolve(spec.delta, model.subs[u][provider].balance),
        nonce: signed.nextNonce(u, provider, spec.gap),
      });
      const sign = async (
        v: { amount: bigint; nonce: bigint },
        options: { wallet?: HDNodeWallet; forProvider?: string; inDomain?: TypedDataDomain } = {},
      ) => {
        const valid =
          options.wallet === undefined && options.forProvider === undefined && options.inDomain === undefined;
        const s = await signVoucher(options.wallet ?? wallets[u], options.inDomain ?? domain, {
          user,
          provider: options.forProvider ?? providerAddress,
          amount: v.amount,
          nonce: v.nonce,
        });
        return { user: u, amount: v.amount, nonce: v.nonce, validSignature: valid, signed: { ...s, user } };
      };
      let submitted: Submitted;
      const previous = signed.previous(u, provider);
      switch (spec.kind) {
        case "replay":
          submitted = previous.length > 0 ? previous[spec.gap % previous.length] : await sign(fresh());
          break;
        case "stale":
          // The recorded nonce, or the one below it.
          submitted = await sign({
            amount: state.settled + 1n,
            nonce: state.nonce === 0n ? 0n : state.nonce - BigInt(spec.gap % 2),
          });
          break;
        case "below": {
          const v = fresh();
          submitted = await sign({ amount: state.settled === 0n ? 0n : state.settled - 1n, nonce: v.nonce });
          break;
        }
        case "wrongProvider":
          submitted = await sign(fresh(), { forProvider: providers[(provider + 1) % PROVIDERS].address });
          break;
        case "forged":
          submitted = await sign(fresh(), { wallet: wallets[(u + 1) % USERS] });
          break;
        case "otherDomain":
          submitted = await sign(fresh(), { inDomain: otherDomain });
          break;
        case "outOfRange": {
          const v = fresh();
          submitted = await sign(
            spec.gap === 1 ? { amount: MAX_128 + 1n, nonce: v.nonce } : { ...v, nonce: MAX_128 + 1n },
          );
          break;
        }
        case "fresh":
          submitted = await sign(fresh());
          break;
      }
      if (submitted.validSignature) signed.remember(provider, submitted);
      batch.push(submitted);
    }
    return batch;
  }

  async function apply(model: Model, signed: Vouchers, operation: Op): Promise<void> {
    if (operation.kind === "time") {
      const t = model.now + BigInt(operation.seconds);
      await send("evm_setNextBlockTimestamp", [Number(t)]);
      await send("evm_mine");
      model.now = t;
      return;
    }
    const t = model.now + 1n;
    let expected: Outcome;
    let payee: HardhatEthersSigner | undefined;
    let settled: { provider: number; batch: Submitted[]; result: SettleResult } | undefined;
    let sent: () => Promise<ContractTransactionResponse>;
    const options = { gasLimit: GAS_LIMIT };
    switch (operation.kind) {
      case "deposit": {
        expected = model.deposit(operation.user, operation.amount);
        sent = () => ledger.connect(users[operation.user]).deposit({ ...options, value: operation.amount });
        break;
      }
      case "withdraw": {
        const amount = resolve(operation.amount, model.available[operation.user]);
        payee = users[operation.user];
        expected = model.withdraw(operation.user, amount);
        sent = () => ledger.connect(users[operation.user]).withdraw(amount, options);
        break;
      }
      case "fund": {
        const sub = model.subs[operation.user][operation.provider];
        const amount = resolve(operation.amount, model.available[operation.user] + sub.pendingRefund);
        expected = model.fund(operation.user, operation.provider, amount);
        sent = () =>
          ledger.connect(users[operation.user]).fund(providers[operation.provider].address, amount, options);
        break;
      }
      case "requestRefund": {
        const sub = model.subs[operation.user][operation.provider];
        const amount = resolve(operation.amount, sub.balance - sub.pendingRefund);
        expected = model.requestRefund(operation.user, operation.provider, amount, t);
        sent = () =>
          ledger
            .connect(users[operation.user])
            .requestRefund(providers[operation.provider].address, amount, options);
        break;
      }
      case "releaseRefunds": {
        expected = model.releaseRefunds(operation.user, operation.provider, t);
        sent = () =>
          ledger
            .connect(users[operation.user])
            .releaseRefunds(providers[operation.provider].address, options);
        break;
      }
      case "settle": {
        const batch = await buildBatch(model, signed, operation.provider, operation.vouchers);
        const outcome = model.settle(operation.provider, batch);
        expected = outcome;
        if (outcome.result !== undefined) {
          settled = { provider: operation.provider, batch, result: outcome.result };
        }
        sent = () =>
          serving.connect(providers[operation.provider]).settle(
            batch.map((b) => b.signed),
            options,
          );
        break;
      }
      case "withdrawEarnings": {
        payee = providers[operation.provider];
        expected = model.withdrawEarnings(operation.provider);
        sent = () => ledger.connect(providers[operation.provider]).withdrawEarnings(options);
        break;
      }
      case "setLockTime": {
        expected = model.setLockTime(operation.value);
        sent = () => ledger.connect(governance).setLockTime(operation.value, options);
        break;
      }
    }

    const payeeBefore = payee === undefined ? 0n : await ethers.provider.getBalance(payee.address);
    await send("evm_setNextBlockTimestamp", [Number(t)]);
    let revertData: string | null = null;
    let receipt: Awaited<ReturnType<ContractTransactionResponse["wait"]>> = null;
    try {
      const response = await sent();
      if (payee !== undefined || operation.kind === "settle") receipt = await response.wait();
    } catch (e) {
      const data = (e as { data?: unknown }).data;
      if (typeof data !== "string") throw e;
      revertData = data;
    }
    model.now = t;

    const key = operation.kind;
    if (expected.error === null) {
      if (revertData !== null) {
        expect.fail(`${key} should succeed but reverted with ${parseError(revertData)?.name ?? revertData}`);
      }
      successes.set(key, (successes.get(key) ?? 0) + 1);
      if (expected.paid !== undefined && payee !== undefined) {
        if (receipt === null) throw new Error("no receipt");
        // The payee receives exactly the amount (gas aside).
        const payeeAfter = await ethers.provider.getBalance(payee.address);
        expect(payeeAfter - payeeBefore + receipt.gasUsed * receipt.gasPrice, `${key}: coin paid`).to.equal(
          expected.paid,
        );
      }
      if (settled !== undefined) {
        if (receipt === null) throw new Error("no receipt");
        checkSettleEvents(receipt.logs, settled.provider, settled.batch, settled.result);
      }
    } else {
      expect(revertData, `${key} should revert with ${expected.error.name}`).to.not.equal(null);
      const parsed = parseError(revertData ?? "0x");
      expect(parsed?.name, `${key}: revert error`).to.equal(expected.error.name);
      expect((parsed?.args ?? []).map(String), `${key}: ${expected.error.name} arguments`).to.deep.equal(
        expected.error.args.map(String),
      );
      reverts.set(key, (reverts.get(key) ?? 0) + 1);
      errors.set(expected.error.name, (errors.get(expected.error.name) ?? 0) + 1);
    }
  }

  /** The settle events, in order, are exactly the model's: one VoucherSettled or VoucherRejected per voucher. */
  function checkSettleEvents(
    logs: readonly { topics: readonly string[]; data: string }[],
    provider: number,
    batch: Submitted[],
    result: SettleResult,
  ): void {
    const actual = logs
      .map((log) => serving.interface.parseLog(log))
      .filter((event) => event !== null)
      .map((event) => [event.name, ...event.args].map(String));
    const providerAddress = providers[provider].address;
    const expected = batch.map((v, i) =>
      (result.reasons[i] === Rejection.None
        ? ["VoucherSettled", users[v.user].address, providerAddress, v.nonce, v.amount, result.paid[i]]
        : ["VoucherRejected", users[v.user].address, providerAddress, v.nonce, result.reasons[i]]
      ).map(String),
    );
    expect(actual, "settle: voucher events").to.deep.equal(expected);
    const charged = logs
      .map((log) => ledger.interface.parseLog(log))
      .filter((event) => event !== null && event.name === "Charged")
      .map((event) => [...(event?.args ?? [])].map(String));
    const expectedCharges = batch
      .map((v, i) => ({ v, paid: result.paid[i] }))
      .filter(({ paid }) => paid > 0n)
      .map(({ v, paid }) => [users[v.user].address, providerAddress, paid].map(String));
    expect(charged, "settle: ledger charges").to.deep.equal(expectedCharges);
    result.reasons.forEach((reason, i) => {
      const name = Object.entries(Rejection).find(([, id]) => id === reason)?.[0] ?? String(reason);
      reasons.set(name, (reasons.get(name) ?? 0) + 1);
      if (reason !== Rejection.None && result.paid[i] !== 0n) expect.fail("a rejected voucher paid");
      if (result.paid[i] > 0n) paidVouchers += 1;
      if (result.paid[i] < result.owed[i]) cappedVouchers += 1;
    });
  }

  it("money invariant and model agreement hold after every operation of random sequences", async function () {
    const started = Date.now();
    const json = (m: Map<string | number, number>): string => JSON.stringify(Object.fromEntries(m));
    const stats = (): string =>
      `successes ${json(successes)}\n      reverts ${json(reverts)}\n      errors ${json(errors)}\n      ` +
      `voucher outcomes ${json(reasons)}; paid ${paidVouchers}, capped ${cappedVouchers}, charges reaching refunds ${refundCharges}, ` +
      `fundings cancelling refunds ${cancellingFunds}`;
    await fc.assert(
      fc.asyncProperty(runArb, async (ops) => {
        await send("evm_revert", [snapshot]);
        snapshot = await send<string>("evm_snapshot");
        const model = new Model(
          startTime,
          providers.map((p) => p.address),
        );
        const signed = new Vouchers();
        for (let i = 0; i < ops.length; ++i) {
          await apply(model, signed, ops[i]);
          await checkState(model, `op #${i} ${ops[i].kind}`, await storage.read());
        }
        // The views report the same state as the storage slots.
        await checkState(model, "views at the end of the run", await views.read());
        refundCharges += model.refundCharges;
        cancellingFunds += model.cancellingFunds;
      }),
      { numRuns: NUM_RUNS },
    );
    // Every kind of operation succeeded and failed often enough for the property to mean something.
    for (const kind of [
      "deposit",
      "withdraw",
      "fund",
      "requestRefund",
      "releaseRefunds",
      "withdrawEarnings",
      "setLockTime",
    ]) {
      expect(successes.get(kind) ?? 0, `successful ${kind} operations (${stats()})`).to.be.greaterThan(
        MIN_OUTCOMES,
      );
      expect(reverts.get(kind) ?? 0, `reverted ${kind} operations (${stats()})`).to.be.greaterThan(
        MIN_OUTCOMES,
      );
    }
    expect(successes.get("settle") ?? 0, `successful settlements (${stats()})`).to.be.greaterThan(
      MIN_OUTCOMES,
    );
    for (const name of Object.keys(Rejection)) {
      expect(reasons.get(name) ?? 0, `${name} vouchers (${stats()})`).to.be.greaterThan(MIN_OUTCOMES);
    }
    expect(cappedVouchers, `capped vouchers (${stats()})`).to.be.greaterThan(MIN_OUTCOMES);
    expect(refundCharges, `charges reaching pending refunds (${stats()})`).to.be.greaterThan(MIN_OUTCOMES);
    expect(cancellingFunds, `fundings cancelling refunds (${stats()})`).to.be.greaterThan(MIN_OUTCOMES);
    console.log(`      ${NUM_RUNS} runs in ${((Date.now() - started) / 1000).toFixed(1)} s; ${stats()}`);
  });
});

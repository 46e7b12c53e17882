/**
 * Property-based test of NodeStaking (NATIVE mode) against a reference model.
 *
 * fast-check generates sequences of 1..15 operations by three operators over two roles, a reporter and the
 * treasury. Each operation is sent to the chain AND applied to a JavaScript model that predicts, from the
 * specification in INodeStaking, whether it reverts (and with which custom error and arguments) and what every
 * position, credit and balance becomes. After every operation the test checks the money invariant and that the
 * chain matches the model exactly. See PROPERTIES.md for the list of properties.
 *
 * Block timestamps are set explicitly before every block so that the model knows the time of each operation.
 * The chain is reset between runs with evm_snapshot / evm_revert (much faster than loadFixture); reads go through
 * raw eth_call with pre-encoded calldata to keep 500 runs (the default; NUM_RUNS=5000 for a deeper pass) under a minute and a half.
 */
import { expect } from "chai";
import fc from "fast-check";
import { ethers, network } from "hardhat";
import type { ContractTransactionResponse } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { NodeStaking, TestSlasher } from "../../typechain-types";
import {
  BPS,
  DAY as DAY_SECONDS,
  JAIL_PERIOD,
  MIN_STAKES,
  REPORTER_SHARE_BPS,
  Role,
  UNBONDING_DELAY,
  deployBurnStakingFixture,
  deployStakingFixture,
  evidence,
  type RoleId,
  type StakingFixture,
} from "../helpers/staking-fixture";

const NUM_RUNS = Number(process.env.NUM_RUNS ?? 500);
const MAX_OPS = 15;
const GAS_LIMIT = 1_000_000;
const DAY = Number(DAY_SECONDS);
const DELAY = Number(UNBONDING_DELAY);
/** Each kind of operation must have succeeded and reverted more often than this over all runs. */
const MIN_OUTCOMES = Math.floor(NUM_RUNS / 50);

const E = (s: string): bigint => ethers.parseEther(s);

/** The roles exercised (two are enough: positions are per operator and role) and the number of operators. */
const ROLES: readonly RoleId[] = [Role.STORAGE, Role.DA_SIGNER];
const OPERATOR_COUNT = 3;

// ─── Operations ───────────────────────────────────────────────────────────────────────────────────

type Op =
  | { kind: "stake"; op: number; role: number; amount: bigint }
  | { kind: "requestUnbond"; op: number; role: number; amount: bigint }
  | { kind: "exit"; op: number; role: number }
  | { kind: "withdraw"; op: number; role: number }
  | { kind: "time"; seconds: number }
  | { kind: "slash"; op: number; role: number; amount: bigint; evidence: number; reporter: number }
  | { kind: "claim"; who: number };

const opIndex = fc.integer({ min: 0, max: OPERATOR_COUNT - 1 });
const roleIndex = fc.integer({ min: 0, max: ROLES.length - 1 });

/**
 * The (operator, role) an operation targets: three times out of four the run's "focus" position, so that a
 * sequence often stakes, unbonds, waits, withdraws and is slashed on the same position; otherwise any.
 */
function targetArb(focus: { op: number; role: number }): fc.Arbitrary<{ op: number; role: number }> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(focus) },
    { weight: 1, arbitrary: fc.record({ op: opIndex, role: roleIndex }) },
  );
}

const stakeAmount = fc.oneof(
  fc.constantFrom(0n, 1n, E("0.5"), E("1") - 1n, E("1"), E("2") - 1n, E("2"), E("3")),
  fc.bigInt({ min: 1n, max: E("5") }),
);
const unbondAmount = fc.oneof(
  fc.constantFrom(0n, 1n, E("0.5"), E("1"), E("2"), E("3")),
  fc.bigInt({ min: 1n, max: E("1") }),
  fc.bigInt({ min: 1n, max: E("5") }),
);
const slashAmount = fc.oneof(
  fc.constantFrom(0n, 1n, 19n, E("0.5"), E("1"), E("100")),
  fc.bigInt({ min: 0n, max: E("6") }),
);
/** Boundaries of the jail period and the unbonding delay, and arbitrary jumps up to ten days. */
const seconds = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(1, DAY - 1, DAY, DELAY - 2, DELAY - 1, DELAY, DELAY + DAY) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: DELAY + 3 * DAY }) },
  { weight: 2, arbitrary: fc.integer({ min: DELAY, max: DELAY + 3 * DAY }) },
);
/** 0 is the zero hash (invalid); small labels make reuse within a sequence likely. */
const evidenceLabel = fc.oneof(
  { arbitrary: fc.constant(0), weight: 1 },
  { arbitrary: fc.integer({ min: 1, max: 8 }), weight: 9 },
);

function opArb(focus: { op: number; role: number }): fc.Arbitrary<Op> {
  const target = targetArb(focus);
  return fc.oneof(
    {
      weight: 2,
      arbitrary: fc
        .tuple(target, stakeAmount)
        .map(([t, amount]): Op => ({ kind: "stake", op: t.op, role: t.role, amount })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(target, unbondAmount)
        .map(([t, amount]): Op => ({ kind: "requestUnbond", op: t.op, role: t.role, amount })),
    },
    { weight: 3, arbitrary: target.map((t): Op => ({ kind: "exit", op: t.op, role: t.role })) },
    { weight: 4, arbitrary: target.map((t): Op => ({ kind: "withdraw", op: t.op, role: t.role })) },
    { weight: 4, arbitrary: seconds.map((s): Op => ({ kind: "time", seconds: s })) },
    {
      weight: 3,
      arbitrary: fc
        .tuple(target, slashAmount, evidenceLabel, fc.integer({ min: 0, max: 2 }))
        .map(([t, amount, ev, reporter]): Op => ({
          kind: "slash",
          op: t.op,
          role: t.role,
          amount,
          evidence: ev,
          reporter,
        })),
    },
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 2 }).map((who): Op => ({ kind: "claim", who })) },
  );
}

/** A stake that meets the role's minimum: used to open runs with some bonded positions. */
function validStakeArb(focus: { op: number; role: number }): fc.Arbitrary<Op> {
  return fc.tuple(targetArb(focus), fc.bigInt({ min: 0n, max: E("3") })).map(([t, extra]): Op => ({
    kind: "stake",
    op: t.op,
    role: t.role,
    amount: MIN_STAKES[ROLES[t.role]] + extra,
  }));
}

/**
 * One run: burn (treasury zero) or treasury deployment, and a sequence of 1..MAX_OPS operations: up to three
 * valid stakes (so that most runs reach states with coin in them) followed by arbitrary operations.
 */
const runArb = fc
  .record({ burn: fc.boolean(), focus: fc.record({ op: opIndex, role: roleIndex }) })
  .chain(({ burn, focus }) =>
    fc.record({
      burn: fc.constant(burn),
      ops: fc
        .tuple(
          fc.array(validStakeArb(focus), { maxLength: 3 }),
          fc.array(opArb(focus), { minLength: 1, maxLength: MAX_OPS - 3, size: "max" }),
        )
        .map(([prelude, rest]) => [...prelude, ...rest]),
    }),
  );

// ─── Model ────────────────────────────────────────────────────────────────────────────────────────

interface ModelPosition {
  bonded: bigint;
  unbonding: bigint;
  releaseAt: bigint;
  jailedUntil: bigint;
  member: boolean;
  /** Always false: governance never admits anyone in these runs (admission plays no part in NATIVE mode). */
  admitted: boolean;
}

interface ExpectedError {
  name: string;
  args: readonly (bigint | string | number)[];
}

/** What the model predicts for one operation: a revert, or success with coin paid out to an account. */
type Outcome = { error: ExpectedError } | { error: null; paid?: { to: string; amount: bigint } };

class Model {
  now: bigint;
  balance = 0n;
  readonly positions: ModelPosition[][];
  readonly claimable = new Map<string, bigint>();
  readonly usedEvidence = new Set<string>();

  constructor(
    now: bigint,
    private readonly treasury: string,
  ) {
    this.now = now;
    this.positions = Array.from({ length: OPERATOR_COUNT }, () =>
      ROLES.map(() => ({
        bonded: 0n,
        unbonding: 0n,
        releaseAt: 0n,
        jailedUntil: 0n,
        member: false,
        admitted: false,
      })),
    );
  }

  credit(account: string, amount: bigint): void {
    this.claimable.set(account, (this.claimable.get(account) ?? 0n) + amount);
  }

  stake(op: number, role: number, amount: bigint): Outcome {
    const p = this.positions[op][role];
    const min = MIN_STAKES[ROLES[role]];
    if (amount === 0n) return { error: { name: "StakingZeroAmount", args: [] } };
    const newBond = p.bonded + amount;
    if (newBond < min) return { error: { name: "StakingBelowMinimum", args: [ROLES[role], newBond, min] } };
    p.bonded = newBond;
    p.member = true;
    this.balance += amount;
    return { error: null };
  }

  requestUnbond(operator: string, op: number, role: number, amount: bigint, t: bigint): Outcome {
    const p = this.positions[op][role];
    const min = MIN_STAKES[ROLES[role]];
    if (amount === 0n) return { error: { name: "StakingZeroAmount", args: [] } };
    if (!p.member) return { error: { name: "StakingNotMember", args: [operator, ROLES[role]] } };
    if (amount >= p.bonded) return { error: { name: "StakingInsufficientBond", args: [amount, p.bonded] } };
    const remaining = p.bonded - amount;
    if (remaining < min)
      return { error: { name: "StakingBelowMinimum", args: [ROLES[role], remaining, min] } };
    p.bonded = remaining;
    p.unbonding += amount;
    p.releaseAt = t + UNBONDING_DELAY;
    return { error: null };
  }

  exit(operator: string, op: number, role: number, t: bigint): Outcome {
    const p = this.positions[op][role];
    if (!p.member) return { error: { name: "StakingNotMember", args: [operator, ROLES[role]] } };
    const amount = p.bonded;
    p.bonded = 0n;
    p.member = false;
    if (amount > 0n) {
      p.unbonding += amount;
      p.releaseAt = t + UNBONDING_DELAY;
    }
    return { error: null };
  }

  withdraw(operator: string, op: number, role: number, t: bigint): Outcome {
    const p = this.positions[op][role];
    if (p.unbonding === 0n)
      return { error: { name: "StakingNothingToWithdraw", args: [operator, ROLES[role]] } };
    if (t < p.releaseAt) return { error: { name: "StakingUnbondingLocked", args: [p.releaseAt] } };
    const amount = p.unbonding;
    p.unbonding = 0n;
    p.releaseAt = 0n;
    this.balance -= amount;
    return { error: null, paid: { to: operator, amount } };
  }

  slash(
    operator: string,
    op: number,
    role: number,
    amount: bigint,
    hash: string,
    reporter: string,
    t: bigint,
  ): Outcome {
    const p = this.positions[op][role];
    if (hash === ethers.ZeroHash || this.usedEvidence.has(hash)) {
      return { error: { name: "StakingEvidenceInvalid", args: [hash] } };
    }
    if (!p.member && p.unbonding === 0n) {
      return { error: { name: "StakingNothingToSlash", args: [operator, ROLES[role]] } };
    }
    this.usedEvidence.add(hash);
    const fromBond = amount < p.bonded ? amount : p.bonded;
    const rest = amount - fromBond;
    const fromUnbonding = rest < p.unbonding ? rest : p.unbonding;
    p.bonded -= fromBond;
    p.unbonding -= fromUnbonding;
    if (p.unbonding === 0n) p.releaseAt = 0n;
    const slashed = fromBond + fromUnbonding;
    const until = t + JAIL_PERIOD;
    if (until > p.jailedUntil) p.jailedUntil = until;
    const reward = reporter === ethers.ZeroAddress ? 0n : (slashed * REPORTER_SHARE_BPS) / BPS;
    if (reward > 0n) this.credit(reporter, reward);
    const remainder = slashed - reward;
    if (remainder > 0n) {
      if (this.treasury === ethers.ZeroAddress)
        this.balance -= remainder; // burned
      else this.credit(this.treasury, remainder);
    }
    return { error: null };
  }

  claim(account: string): Outcome {
    const amount = this.claimable.get(account) ?? 0n;
    if (amount === 0n) return { error: { name: "StakingNothingToClaim", args: [account] } };
    this.claimable.set(account, 0n);
    this.balance -= amount;
    return { error: null, paid: { to: account, amount } };
  }

  isActive(op: number, role: number): boolean {
    const p = this.positions[op][role];
    return p.member && this.now >= p.jailedUntil && p.bonded >= MIN_STAKES[ROLES[role]];
  }
}

// ─── Chain access ─────────────────────────────────────────────────────────────────────────────────

async function send<T>(method: string, params: unknown[] = []): Promise<T> {
  return (await network.provider.send(method, params)) as T;
}

/** Pre-encoded reads of one deployment, decoded from raw eth_call results. */
class Reader {
  private readonly positionCalls: string[][];
  private readonly activeCalls: string[][];
  private readonly memberCalls: string[];
  private readonly claimableCalls = new Map<string, string>();

  constructor(
    private readonly staking: NodeStaking,
    private readonly address: string,
    operators: readonly string[],
    accounts: readonly string[],
  ) {
    const iface = staking.interface;
    this.positionCalls = operators.map((o) =>
      ROLES.map((r) => iface.encodeFunctionData("positionOf", [o, r])),
    );
    this.activeCalls = operators.map((o) => ROLES.map((r) => iface.encodeFunctionData("isActive", [o, r])));
    this.memberCalls = ROLES.map((r) => iface.encodeFunctionData("membersOf", [r]));
    for (const a of accounts) this.claimableCalls.set(a, iface.encodeFunctionData("claimableOf", [a]));
  }

  private call(data: string): Promise<string> {
    return send<string>("eth_call", [{ to: this.address, data }, "latest"]);
  }

  async balance(): Promise<bigint> {
    return BigInt(await send<string>("eth_getBalance", [this.address, "latest"]));
  }

  async position(op: number, role: number): Promise<ModelPosition> {
    const raw = await this.call(this.positionCalls[op][role]);
    const [bonded, unbonding, releaseAt, jailedUntil, member, admitted] =
      this.staking.interface.decodeFunctionResult("positionOf", raw)[0] as [
        bigint,
        bigint,
        bigint,
        bigint,
        boolean,
        boolean,
      ];
    return { bonded, unbonding, releaseAt, jailedUntil, member, admitted };
  }

  async isActive(op: number, role: number): Promise<boolean> {
    const raw = await this.call(this.activeCalls[op][role]);
    return this.staking.interface.decodeFunctionResult("isActive", raw)[0] as boolean;
  }

  async members(role: number): Promise<string[]> {
    const raw = await this.call(this.memberCalls[role]);
    return [...(this.staking.interface.decodeFunctionResult("membersOf", raw)[0] as string[])];
  }

  async claimable(account: string): Promise<bigint> {
    const data = this.claimableCalls.get(account);
    if (data === undefined) throw new Error(`no claimableOf call for ${account}`);
    return this.staking.interface.decodeFunctionResult("claimableOf", await this.call(data))[0] as bigint;
  }
}

interface Deployment {
  fixture: StakingFixture;
  staking: NodeStaking;
  slasher: TestSlasher;
  reader: Reader;
}

// ─── The property ─────────────────────────────────────────────────────────────────────────────────

describe("NodeStaking invariants (fast-check)", function () {
  this.timeout(15 * 60 * 1000);

  let native: Deployment;
  let burn: Deployment;
  let operators: HardhatEthersSigner[];
  let reporter: HardhatEthersSigner;
  let treasury: HardhatEthersSigner;
  let accounts: string[];
  let startTime: bigint;
  let snapshot: string;
  /** Outcome counts across all runs: they show that the generator reaches every path (checked at the end). */
  const successes = new Map<string, number>();
  const reverts = new Map<string, number>();
  const errors = new Map<string, number>();
  const lengths = new Map<number, number>();

  async function deploy(fixture: StakingFixture): Promise<Deployment> {
    return {
      fixture,
      staking: fixture.staking,
      slasher: fixture.slasher,
      reader: new Reader(
        fixture.staking,
        fixture.stakingAddress,
        operators.map((o) => o.address),
        accounts,
      ),
    };
  }

  before(async function () {
    const nativeFixture = await deployStakingFixture();
    const burnFixture = await deployBurnStakingFixture();
    operators = [nativeFixture.alice, nativeFixture.bob, nativeFixture.carol];
    reporter = nativeFixture.reporter;
    treasury = nativeFixture.treasury;
    accounts = [reporter.address, treasury.address, ...operators.map((o) => o.address)];
    native = await deploy(nativeFixture);
    burn = await deploy(burnFixture);
    const latest = await ethers.provider.getBlock("latest");
    if (latest === null) throw new Error("no latest block");
    startTime = BigInt(latest.timestamp);
    snapshot = await send<string>("evm_snapshot");
  });

  after(async function () {
    // Leave the chain as the other test files expect to find it.
    await send("evm_revert", [snapshot]);
  });

  /** Sends `tx` in the next block at time `t`; returns the revert data, or null on success. */
  async function sendAt(t: bigint, tx: () => Promise<void>): Promise<{ data: string } | null> {
    await send("evm_setNextBlockTimestamp", [Number(t)]);
    try {
      await tx();
      return null;
    } catch (e) {
      const data = (e as { data?: unknown }).data;
      if (typeof data !== "string") throw e;
      return { data };
    }
  }

  async function checkState(d: Deployment, model: Model, label: string): Promise<void> {
    const { reader } = d;
    let held = 0n;
    for (let op = 0; op < OPERATOR_COUNT; ++op) {
      for (let role = 0; role < ROLES.length; ++role) {
        const actual = await reader.position(op, role);
        expect(actual, `${label}: position of operator ${op} in role ${role}`).to.deep.equal(
          model.positions[op][role],
        );
        expect(await reader.isActive(op, role), `${label}: isActive(${op}, ${role})`).to.equal(
          model.isActive(op, role),
        );
        held += actual.bonded + actual.unbonding;
      }
    }
    for (const account of accounts) {
      const actual = await reader.claimable(account);
      expect(actual, `${label}: claimableOf(${account})`).to.equal(model.claimable.get(account) ?? 0n);
      held += actual;
    }
    const balance = await reader.balance();
    // The money invariant, from the chain alone: every wei held is owed to someone.
    expect(balance, `${label}: balance == Σ bonded + Σ unbonding + Σ claimable`).to.equal(held);
    // And the balance is what the model's coin flows predict.
    expect(balance, `${label}: balance == model`).to.equal(model.balance);
    for (let role = 0; role < ROLES.length; ++role) {
      const expected = operators.filter((_, op) => model.positions[op][role].member).map((o) => o.address);
      const actual = await reader.members(role);
      expect(actual, `${label}: membersOf(${role})`).to.have.members(expected);
      expect(actual, `${label}: membersOf(${role}) has no duplicate`).to.have.lengthOf(expected.length);
    }
  }

  async function apply(d: Deployment, model: Model, operation: Op): Promise<void> {
    const { staking, slasher, fixture } = d;
    if (operation.kind === "time") {
      const t = model.now + BigInt(operation.seconds);
      await send("evm_setNextBlockTimestamp", [Number(t)]);
      await send("evm_mine");
      model.now = t;
      return;
    }
    const t = model.now + 1n;
    let expected: Outcome;
    let payee: string | undefined;
    let sent: () => Promise<ContractTransactionResponse>;
    switch (operation.kind) {
      case "stake": {
        const signer = operators[operation.op];
        expected = model.stake(operation.op, operation.role, operation.amount);
        sent = () =>
          staking
            .connect(signer)
            .stake(ROLES[operation.role], { value: operation.amount, gasLimit: GAS_LIMIT });
        break;
      }
      case "requestUnbond": {
        const signer = operators[operation.op];
        expected = model.requestUnbond(signer.address, operation.op, operation.role, operation.amount, t);
        sent = () =>
          staking
            .connect(signer)
            .requestUnbond(ROLES[operation.role], operation.amount, { gasLimit: GAS_LIMIT });
        break;
      }
      case "exit": {
        const signer = operators[operation.op];
        expected = model.exit(signer.address, operation.op, operation.role, t);
        sent = () => staking.connect(signer).exit(ROLES[operation.role], { gasLimit: GAS_LIMIT });
        break;
      }
      case "withdraw": {
        const signer = operators[operation.op];
        payee = signer.address;
        expected = model.withdraw(signer.address, operation.op, operation.role, t);
        sent = () => staking.connect(signer).withdraw(ROLES[operation.role], { gasLimit: GAS_LIMIT });
        break;
      }
      case "slash": {
        const operator = operators[operation.op].address;
        const hash = operation.evidence === 0 ? ethers.ZeroHash : evidence(operation.evidence);
        const reporterAddress = [reporter.address, ethers.ZeroAddress, operators[1].address][
          operation.reporter
        ];
        expected = model.slash(
          operator,
          operation.op,
          operation.role,
          operation.amount,
          hash,
          reporterAddress,
          t,
        );
        sent = () =>
          slasher.slash(
            fixture.stakingAddress,
            operator,
            ROLES[operation.role],
            operation.amount,
            hash,
            reporterAddress,
            {
              gasLimit: GAS_LIMIT,
            },
          );
        break;
      }
      case "claim": {
        const signer = [reporter, treasury, operators[1]][operation.who];
        payee = signer.address;
        expected = model.claim(signer.address);
        sent = () => staking.connect(signer).claim({ gasLimit: GAS_LIMIT });
        break;
      }
    }

    const payeeBefore = payee === undefined ? 0n : await ethers.provider.getBalance(payee);
    let receiptFee = 0n;
    const reverted = await sendAt(t, async () => {
      const response = await sent();
      if (payee !== undefined) {
        const receipt = await response.wait();
        if (receipt === null) throw new Error("no receipt");
        receiptFee = receipt.gasUsed * receipt.gasPrice;
      }
    });
    model.now = t;

    const key = operation.kind;
    if (expected.error === null) {
      if (reverted !== null) {
        const parsed = staking.interface.parseError(reverted.data);
        expect.fail(`${key} should succeed but reverted with ${parsed?.name ?? reverted.data}`);
      }
      successes.set(key, (successes.get(key) ?? 0) + 1);
      if (expected.paid !== undefined && payee !== undefined) {
        // The payee receives exactly the amount (gas aside).
        const payeeAfter = await ethers.provider.getBalance(payee);
        expect(payeeAfter - payeeBefore + receiptFee, `${key}: coin paid to ${payee}`).to.equal(
          expected.paid.amount,
        );
      }
    } else {
      expect(reverted, `${key} should revert with ${expected.error.name}`).to.not.equal(null);
      const parsed = staking.interface.parseError(reverted?.data ?? "0x");
      expect(parsed?.name, `${key}: revert error`).to.equal(expected.error.name);
      expect([...(parsed?.args ?? [])].map(String), `${key}: ${expected.error.name} arguments`).to.deep.equal(
        expected.error.args.map(String),
      );
      reverts.set(key, (reverts.get(key) ?? 0) + 1);
      errors.set(expected.error.name, (errors.get(expected.error.name) ?? 0) + 1);
    }
  }

  it("money invariant and model agreement hold after every operation of random sequences", async function () {
    const started = Date.now();
    const json = (m: Map<string | number, number>): string => JSON.stringify(Object.fromEntries(m));
    const stats = (): string =>
      `sequence lengths ${json(lengths)}\n      successes ${json(successes)}\n      reverts ${json(reverts)}\n      errors ${json(errors)}`;
    await fc.assert(
      fc.asyncProperty(runArb, async ({ burn: useBurn, ops }) => {
        await send("evm_revert", [snapshot]);
        snapshot = await send<string>("evm_snapshot");
        const d = useBurn ? burn : native;
        lengths.set(ops.length, (lengths.get(ops.length) ?? 0) + 1);
        const model = new Model(startTime, d.fixture.treasuryAddress);
        for (let i = 0; i < ops.length; ++i) {
          await apply(d, model, ops[i]);
          await checkState(d, model, `op #${i} ${ops[i].kind} (${useBurn ? "burn" : "treasury"})`);
        }
      }),
      { numRuns: NUM_RUNS },
    );
    // Every kind of operation succeeded and failed often enough for the property to mean something.
    for (const kind of ["stake", "requestUnbond", "exit", "withdraw", "slash", "claim"]) {
      expect(successes.get(kind) ?? 0, `successful ${kind} operations (${stats()})`).to.be.greaterThan(
        MIN_OUTCOMES,
      );
      expect(reverts.get(kind) ?? 0, `reverted ${kind} operations (${stats()})`).to.be.greaterThan(
        MIN_OUTCOMES,
      );
    }
    console.log(`      ${NUM_RUNS} runs in ${((Date.now() - started) / 1000).toFixed(1)} s; ${stats()}`);
  });
});

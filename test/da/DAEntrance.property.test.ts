/**
 * Model-based property test of DAEntrance with DASigners and NodeStaking (fast-check). See PROPERTIES.md.
 *
 * Three deployments, each with four staked and registered DA signers: NATIVE staking with DA fees, bonds and
 * slashing; PERMISSIONED staking without a token (no fee, no bond); PERMISSIONED staking with DA fees and bonds.
 * A run picks one, a set of honest signers, and a sequence of commands: payloads from a pool precomputed with
 * c-kzg are submitted, attested by real BN254 BLS quorums (random non-signers, this epoch or the last), challenged
 * by random challengers for random blobs and signers, answered with real KZG openings (`computeKzgProof`) or left
 * to expire and slashed through `slashUnanswered`; fees are claimed and refunded, bonds withdrawn; signers unbond,
 * exit, stake again and withdraw in NodeStaking; reporters and the treasury claim; blocks are mined and time
 * passes. An honest signer answers every challenge against it at once, as the DA node does.
 *
 * Every DA command is predicted by a JavaScript model (revert with which custom error, or success and the exact
 * coin paid); NodeStaking commands are free to fail, but a success must pay exactly what was owed. After every
 * command the money invariants of both contracts and the slashing properties are checked from chain state.
 * The chain is reset between runs with evm_snapshot / evm_revert.
 */
import { expect } from "chai";
import fc from "fast-check";
import { ethers, network } from "hardhat";
import type { ContractTransactionReceipt, ContractTransactionResponse, Interface } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { BPS, MIN_STAKES, Mode, REPORTER_SHARE_BPS, Role, type ModeId } from "../helpers/staking-fixture";
import { aggregateG1, aggregateG2, attestationMessage, hashToG1Hint, sign } from "../../offchain/da/bls";
import type { BlsKey } from "../../offchain/da/bls";
import {
  DEFAULT_PARAMS,
  EPOCH_BLOCKS,
  NO_TOKEN_PARAMS,
  addSigners,
  deployDA,
  makePayload,
  openingAt,
  type DAFixture,
  type DAParams,
  type Operator,
  type TestPayload,
} from "./da-fixture";

const NUM_RUNS = Number(process.env.NUM_RUNS ?? 25);
const MIN_COMMANDS = 7;
const MAX_COMMANDS = 12;
const GAS_LIMIT = 3_000_000;
const E = (s: string): bigint => ethers.parseEther(s);
const DAY = 86_400;
const BLS_MODULUS = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;
const EVIDENCE_TAG = ethers.encodeBytes32String("da-availability");
/** Short windows so that a dozen commands cross them. */
const WINDOWS = { attestWindow: 30, challengeWindow: 20, responseWindow: 5 };
const SIGNERS = 4;
/** NATIVE stakes: signer 0 at the DA_SIGNER minimum (2 ETH), the others above it. */
const NATIVE_STAKES = [E("2"), E("3"), E("4"), E("5")];

interface Variant {
  name: string;
  mode: ModeId;
  params: DAParams;
}
const VARIANTS: readonly Variant[] = [
  { name: "NATIVE", mode: Mode.NATIVE, params: { ...DEFAULT_PARAMS, ...WINDOWS } },
  { name: "PERMISSIONED no-token", mode: Mode.PERMISSIONED, params: { ...NO_TOKEN_PARAMS, ...WINDOWS } },
  {
    name: "PERMISSIONED with DA fees",
    mode: Mode.PERMISSIONED,
    params: { ...DEFAULT_PARAMS, ...WINDOWS },
  },
];

// ─── Commands ─────────────────────────────────────────────────────────────────────────────────────

/** The payload pool: three one-blob payloads and one of two blobs. */
const POOL_BLOBS = [1, 1, 1, 2];

type Cmd =
  | { kind: "submit"; p: number; who: number }
  | { kind: "attest"; p: number; mask: number; prev: boolean }
  | { kind: "challenge"; p: number; signer: number; blob: number; who: number }
  | { kind: "answer"; p: number; signer: number }
  | { kind: "slash"; p: number; signer: number; wait: boolean }
  | { kind: "claimFees"; p: number; signer: number }
  | { kind: "refund"; p: number }
  | { kind: "withdraw"; who: number }
  | { kind: "unbond"; op: number; amount: bigint }
  | { kind: "exit"; op: number }
  | { kind: "restake"; op: number }
  | { kind: "stakeWithdraw"; op: number }
  | { kind: "claim"; who: number }
  | { kind: "mine"; blocks: number }
  | { kind: "time"; seconds: number };

const signerIdx = fc.integer({ min: 0, max: SIGNERS - 1 });
/** For answers and slashes: −1 is "the payload's first open challenge" (any signer when there is none). */
const openOrSigner = fc.oneof({ weight: 3, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: signerIdx });
/** For challenges: −1 is "the payload's first signer not yet challenged" (signer 0 when there is none). */
const freshOrSigner = fc.oneof(
  { weight: 3, arbitrary: fc.constant(-1) },
  { weight: 1, arbitrary: signerIdx },
);
/** Non-signer bitmaps: mostly everyone or one missing (a quorum), sometimes two or more (below it). */
const maskArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.constantFrom(1, 2, 4, 8) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) },
);
/** Challengers: the challenger account, a stranger (never an operator), signer 0. */
const challengerIdx = fc.integer({ min: 0, max: 2 });

function cmdArb(focus: number): fc.Arbitrary<Cmd> {
  const p = fc.oneof(
    { weight: 3, arbitrary: fc.constant(focus) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: POOL_BLOBS.length - 1 }) },
  );
  return fc.oneof(
    {
      weight: 2,
      arbitrary: fc
        .record({ p, who: fc.integer({ min: 0, max: 1 }) })
        .map((r): Cmd => ({ kind: "submit", ...r })),
    },
    {
      weight: 3,
      arbitrary: fc
        .record({
          p,
          mask: maskArb,
          prev: fc.oneof(
            { weight: 4, arbitrary: fc.constant(false) },
            { weight: 1, arbitrary: fc.constant(true) },
          ),
        })
        .map((r): Cmd => ({ kind: "attest", ...r })),
    },
    {
      weight: 4,
      arbitrary: fc
        .record({ p, signer: freshOrSigner, blob: fc.constantFrom(0, 0, 0, 1, 2), who: challengerIdx })
        .map((r): Cmd => ({ kind: "challenge", ...r })),
    },
    {
      weight: 3,
      arbitrary: fc.record({ p, signer: openOrSigner }).map((r): Cmd => ({ kind: "answer", ...r })),
    },
    {
      weight: 5,
      arbitrary: fc
        .record({ p, signer: openOrSigner, wait: fc.constantFrom(true, true, true, false) })
        .map((r): Cmd => ({ kind: "slash", ...r })),
    },
    {
      weight: 4,
      arbitrary: fc.record({ p, signer: signerIdx }).map((r): Cmd => ({ kind: "claimFees", ...r })),
    },
    { weight: 2, arbitrary: p.map((k): Cmd => ({ kind: "refund", p: k })) },
    { weight: 3, arbitrary: challengerIdx.map((who): Cmd => ({ kind: "withdraw", who })) },
    {
      weight: 1,
      arbitrary: fc
        .record({ op: signerIdx, amount: fc.constantFrom(E("0.5"), E("1"), E("3")) })
        .map((r): Cmd => ({ kind: "unbond", ...r })),
    },
    { weight: 1, arbitrary: signerIdx.map((op): Cmd => ({ kind: "exit", op })) },
    { weight: 1, arbitrary: signerIdx.map((op): Cmd => ({ kind: "restake", op })) },
    { weight: 1, arbitrary: signerIdx.map((op): Cmd => ({ kind: "stakeWithdraw", op })) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }).map((who): Cmd => ({ kind: "claim", who })) },
    {
      weight: 3,
      arbitrary: fc
        .constantFrom(
          1,
          2,
          WINDOWS.responseWindow + 1,
          EPOCH_BLOCKS,
          WINDOWS.challengeWindow + 1,
          WINDOWS.attestWindow + 1,
        )
        .map((blocks): Cmd => ({ kind: "mine", blocks })),
    },
    // Past the jail period (1 day), and past the unbonding delay (7 days); never within seconds of either.
    {
      weight: 1,
      arbitrary: fc.constantFrom(2 * DAY, 8 * DAY).map((seconds): Cmd => ({ kind: "time", seconds })),
    },
  );
}

/** A run: the deployment, the honest signers, and submit + attest + challenge of the focus payload, then noise. */
const runArb = fc
  .record({
    variant: fc.integer({ min: 0, max: VARIANTS.length - 1 }),
    honest: fc.subarray([0, 1, 2, 3]),
    focus: fc.integer({ min: 0, max: POOL_BLOBS.length - 1 }),
  })
  .chain(({ variant, honest, focus }) =>
    fc.record({
      variant: fc.constant(variant),
      honest: fc.constant(honest),
      cmds: fc
        .tuple(
          maskArb,
          fc.record({ signer: freshOrSigner, who: challengerIdx }),
          fc.array(cmdArb(focus), { minLength: MIN_COMMANDS - 3, maxLength: MAX_COMMANDS - 3 }),
        )
        .map(([mask, c, rest]): Cmd[] => [
          { kind: "submit", p: focus, who: 0 },
          { kind: "attest", p: focus, mask, prev: false },
          { kind: "challenge", p: focus, signer: c.signer, blob: 0, who: c.who },
          ...rest,
        ]),
    }),
  );

/**
 * Two runs always checked on top of the random ones, so that every path is reached whatever the seed: lazy and
 * honest answers, a slash, bond withdrawal, fee claims, a refund, an exit and withdrawal after the delay, claims.
 */
const EXAMPLES: { variant: number; honest: number[]; cmds: Cmd[] }[] = [
  {
    variant: 0,
    honest: [1],
    cmds: [
      { kind: "submit", p: 0, who: 0 },
      { kind: "attest", p: 0, mask: 0, prev: false },
      { kind: "challenge", p: 0, signer: 0, blob: 0, who: 0 },
      { kind: "challenge", p: 0, signer: 1, blob: 0, who: 1 },
      { kind: "challenge", p: 0, signer: 2, blob: 0, who: 2 },
      { kind: "submit", p: 3, who: 1 },
      { kind: "answer", p: 0, signer: 2 },
      { kind: "slash", p: 0, signer: -1, wait: true },
      { kind: "withdraw", who: 0 },
      { kind: "claim", who: 0 },
      { kind: "claimFees", p: 0, signer: 1 },
      { kind: "claimFees", p: 0, signer: 0 },
      { kind: "mine", blocks: WINDOWS.attestWindow + 1 },
      { kind: "refund", p: 3 },
      { kind: "exit", op: 0 },
      { kind: "time", seconds: 8 * DAY },
      { kind: "stakeWithdraw", op: 0 },
      { kind: "claim", who: 3 },
    ],
  },
  {
    variant: 2,
    honest: [0],
    cmds: [
      { kind: "submit", p: 3, who: 0 },
      { kind: "attest", p: 3, mask: 8, prev: false },
      { kind: "challenge", p: 3, signer: 1, blob: 1, who: 0 },
      { kind: "challenge", p: 3, signer: 0, blob: 0, who: 2 },
      { kind: "slash", p: 3, signer: -1, wait: true },
      { kind: "withdraw", who: 0 },
      { kind: "submit", p: 1, who: 1 },
      { kind: "mine", blocks: EPOCH_BLOCKS },
      { kind: "attest", p: 1, mask: 0, prev: false },
      { kind: "claimFees", p: 3, signer: 1 },
      { kind: "claimFees", p: 1, signer: 2 },
      { kind: "time", seconds: 2 * DAY },
      { kind: "exit", op: 1 },
      { kind: "restake", op: 1 },
    ],
  },
];

// ─── Model ────────────────────────────────────────────────────────────────────────────────────────

const NONE = 0;
const OPEN = 1;
const ANSWERED = 2;
const SLASHED = 3;

interface PayloadModel {
  submitted: boolean;
  attested: boolean;
  refunded: boolean;
  submitter: string;
  fee: bigint;
  attestDeadline: number;
  epoch: number;
  attestedAt: number;
  bitmap: bigint;
  claimed: bigint;
  /** Fee shares paid out. */
  paid: bigint;
}

interface ChallengeModel {
  status: number;
  challenger: string;
  bond: bigint;
  challengeBlock: number;
  deadline: number;
  blob: number;
}

interface EpochModel {
  signers: { operator: string; weight: bigint }[];
  total: bigint;
}

class Model {
  readonly payloads: PayloadModel[] = POOL_BLOBS.map(() => ({
    submitted: false,
    attested: false,
    refunded: false,
    submitter: ethers.ZeroAddress,
    fee: 0n,
    attestDeadline: 0,
    epoch: 0,
    attestedAt: 0,
    bitmap: 0n,
    claimed: 0n,
    paid: 0n,
  }));
  /** Keyed `${payload}:${signer address}`. */
  readonly challenges = new Map<string, ChallengeModel>();
  readonly credits = new Map<string, bigint>();
  readonly epochs = new Map<number, EpochModel>();
  /** NodeStaking `Slashed` events seen, by evidence hash. */
  readonly slashes = new Map<string, number>();
  entranceBalance = 0n;

  constructor(public stakingBalance: bigint) {}

  challenge(k: number, signer: string): ChallengeModel {
    return (
      this.challenges.get(`${k}:${signer}`) ?? {
        status: NONE,
        challenger: ethers.ZeroAddress,
        bond: 0n,
        challengeBlock: 0,
        deadline: 0,
        blob: 0,
      }
    );
  }

  /** The signer at `index` of payload `k`'s epoch, if it is attested and the epoch has one. */
  signerOf(k: number, index: number): { operator: string; weight: bigint } | undefined {
    const p = this.payloads[k];
    if (!p.attested) return undefined;
    return this.epochs.get(p.epoch)?.signers[index];
  }

  signedWeight(k: number): bigint {
    const p = this.payloads[k];
    const epoch = this.epochs.get(p.epoch);
    if (epoch === undefined) throw new Error("attested in an unknown epoch");
    return epoch.signers.reduce(
      (sum, s, i) => (((p.bitmap >> BigInt(i)) & 1n) === 0n ? sum + s.weight : sum),
      0n,
    );
  }
}

interface ExpectedError {
  name: string;
  args?: readonly (bigint | string | number)[];
}

// ─── Deployments ──────────────────────────────────────────────────────────────────────────────────

interface Deployment {
  variant: Variant;
  f: DAFixture;
  operators: Operator[];
  keys: Map<string, BlsKey>;
  native: boolean;
  /** Every address that can hold a NodeStaking position (signers; the challenger in PERMISSIONED mode). */
  stakers: string[];
  /** Every address that can be credited in NodeStaking (reporters, the treasury, operators). */
  creditAccounts: string[];
  challengers: HardhatEthersSigner[];
  submitters: HardhatEthersSigner[];
  anchorBlock: number;
  anchorEpoch: number;
  stakingAddress: string;
  stakingBalance: bigint;
}

const DA_SIGNERS_SLOT = 0xf2e9753bc29301a06b1682a95cf4123772d1b11b82118717410dcdd67bb64700n;

async function deploy(variant: Variant): Promise<Deployment> {
  const f = await deployDA(variant.mode, variant.params);
  const native = variant.mode === Mode.NATIVE;
  const operators = await addSigners(f, SIGNERS, native ? NATIVE_STAKES : undefined);
  if (!native) {
    // The challenger is an operator of another role: PERMISSIONED challenges need one.
    await (await f.staking.setAdmitted(f.challenger.address, Role.STORAGE, true)).wait();
    await (await f.staking.connect(f.challenger).stake(Role.STORAGE)).wait();
  }
  // The epoch clock, from DASigners' namespace: slot 1 is (epochBlocks, anchorEpoch, anchorBlock, …).
  const clock = BigInt(await ethers.provider.getStorage(f.signersAddress, DA_SIGNERS_SLOT + 1n));
  expect(clock & 0xffffffffn).to.equal(BigInt(EPOCH_BLOCKS));
  const stakingAddress = await f.staking.getAddress();
  const challengers = [f.challenger, f.stranger, operators[0].account];
  return {
    variant,
    f,
    operators,
    keys: new Map(operators.map((o) => [o.account.address, o.key])),
    native,
    stakers: [...operators.map((o) => o.account.address), f.challenger.address],
    creditAccounts: [
      ...new Set([
        ...challengers.map((c) => c.address),
        f.treasury.address,
        f.submitter.address,
        ...operators.map((o) => o.account.address),
      ]),
    ],
    challengers,
    submitters: [f.submitter, f.stranger],
    anchorEpoch: Number((clock >> 32n) & 0xffffffffffn),
    anchorBlock: Number((clock >> 72n) & 0xffffffffffffn),
    stakingAddress,
    stakingBalance: await ethers.provider.getBalance(stakingAddress),
  };
}

async function send<T>(method: string, params: unknown[] = []): Promise<T> {
  return (await network.provider.send(method, params)) as T;
}

async function latest(): Promise<number> {
  return ethers.provider.getBlockNumber();
}

async function mineBlocks(n: number): Promise<void> {
  await send("hardhat_mine", [ethers.toQuantity(n)]);
}

// ─── The property ─────────────────────────────────────────────────────────────────────────────────

describe("DAEntrance invariants (fast-check)", function () {
  this.timeout(10 * 60 * 1000);

  let deployments: Deployment[];
  let pool: TestPayload[];
  let snapshot: string;
  let interfaces: Interface[];
  const successes = new Map<string, number>();
  const reverts = new Map<string, number>();
  const errors = new Map<string, number>();
  const count = (m: Map<string, number>, key: string) => m.set(key, (m.get(key) ?? 0) + 1);

  before(async function () {
    // c-kzg is slow: the commitments are computed once here; openings depend on the challenge's block hash.
    pool = POOL_BLOBS.map((blobs, i) => makePayload(`property-pool-${i}`, blobs));
    deployments = [];
    for (const variant of VARIANTS) deployments.push(await deploy(variant));
    const f = deployments[0].f;
    interfaces = [f.entrance.interface, f.signers.interface, f.staking.interface];
    snapshot = await send<string>("evm_snapshot");
  });

  after(async function () {
    await send("evm_revert", [snapshot]);
  });

  function parseError(data: string): { name: string; args: string[] } | null {
    for (const iface of interfaces) {
      const parsed = iface.parseError(data);
      if (parsed !== null) return { name: parsed.name, args: [...parsed.args].map(String) };
    }
    return null;
  }

  /** Sends a transaction; returns its receipt, or the revert data. */
  async function submitTx(
    tx: () => Promise<ContractTransactionResponse>,
  ): Promise<{ receipt: ContractTransactionReceipt; data: null } | { receipt: null; data: string }> {
    try {
      const receipt = await (await tx()).wait();
      if (receipt === null) throw new Error("no receipt");
      return { receipt, data: null };
    } catch (e) {
      const data = (e as { data?: unknown }).data;
      if (typeof data !== "string") throw e;
      return { receipt: null, data };
    }
  }

  /**
   * Runs a DA transaction whose outcome the model predicted: `expected` null means success. Returns the receipt
   * on success.
   */
  async function expectOutcome(
    label: string,
    expected: ExpectedError | null,
    tx: () => Promise<ContractTransactionResponse>,
  ): Promise<ContractTransactionReceipt | null> {
    const result = await submitTx(tx);
    if (expected === null) {
      if (result.receipt === null) {
        const parsed = parseError(result.data);
        expect.fail(
          `${label} should succeed but reverted with ${parsed?.name ?? result.data} ${parsed?.args.join(", ")}`,
        );
      }
      count(successes, label.split(" ")[0]);
      return result.receipt;
    }
    expect(result.receipt, `${label} should revert with ${expected.name}`).to.equal(null);
    const parsed = parseError(result.data ?? "0x");
    expect(parsed?.name, `${label}: revert error`).to.equal(expected.name);
    if (expected.args !== undefined) {
      expect(parsed?.args, `${label}: ${expected.name} arguments`).to.deep.equal(expected.args.map(String));
    }
    count(reverts, label.split(" ")[0]);
    count(errors, expected.name);
    return null;
  }

  async function run(d: Deployment, honest: Set<number>, cmds: Cmd[]): Promise<void> {
    const { f, operators, native } = d;
    const params = d.variant.params;
    const model = new Model(d.stakingBalance);
    const epochOf = (block: number) => d.anchorEpoch + Math.floor((block - d.anchorBlock) / EPOCH_BLOCKS);
    const honestAddresses = new Set([...honest].map((i) => operators[i].account.address));
    const startBlock = (await latest()) + 1;
    const keeper = f.governance; // sends the calls that pay someone else, so payees' balances are exact
    const position = (who: string) => f.staking.positionOf(who, Role.DA_SIGNER);
    const balance = (who: string) => ethers.provider.getBalance(who);
    const evidenceOf = (id: string, signer: string) =>
      ethers.keccak256(
        ethers.AbiCoder.defaultAbiCoder().encode(
          ["bytes32", "address", "bytes32"],
          [id, signer, EVIDENCE_TAG],
        ),
      );

    /** Records NodeStaking's Slashed events of a receipt (property 3/4). */
    function recordSlashes(receipt: ContractTransactionReceipt): bigint[] {
      const amounts: bigint[] = [];
      for (const log of receipt.logs) {
        if (log.address.toLowerCase() !== d.stakingAddress.toLowerCase()) continue;
        const parsed = f.staking.interface.parseLog(log);
        if (parsed?.name !== "Slashed") continue;
        const evidence = parsed.args.evidenceHash as string;
        model.slashes.set(evidence, (model.slashes.get(evidence) ?? 0) + 1);
        expect(
          honestAddresses.has(parsed.args.operator as string),
          "property 4: an honest signer is slashed",
        ).to.equal(false);
        amounts.push(parsed.args.amount as bigint);
      }
      return amounts;
    }

    /** The index of the first signer of payload `k` that signed it and was not challenged for it (else 0). */
    function freshSigner(k: number): number {
      const m = model.payloads[k];
      const signers = m.attested ? (model.epochs.get(m.epoch)?.signers ?? []) : [];
      const i = signers.findIndex(
        (s, j) => ((m.bitmap >> BigInt(j)) & 1n) === 0n && model.challenge(k, s.operator).status === NONE,
      );
      return i < 0 ? 0 : i;
    }

    /**
     * The (payload, signer) an answer or slash names: for index −1 an open challenge, of payload `k` if it has
     * one, else of any payload (else signer 0 of `k`); otherwise signer `index` of `k`.
     */
    function target(k: number, index: number): [number, string] {
      if (index >= 0) return [k, model.signerOf(k, index)?.operator ?? operators[index].account.address];
      for (const payload of [k, ...pool.keys()]) {
        const open = operators.find((o) => model.challenge(payload, o.account.address).status === OPEN);
        if (open !== undefined) return [payload, open.account.address];
      }
      return [k, operators[0].account.address];
    }

    async function answer(k: number, signer: string, label: string): Promise<void> {
      const p = pool[k];
      const c = model.challenge(k, signer);
      const b = (await latest()) + 1;
      let expected: ExpectedError | null = null;
      if (c.status !== OPEN) expected = { name: "DANoOpenChallenge", args: [p.id, signer] };
      else if (b > c.deadline)
        expected = { name: "DAResponseWindowClosed", args: [p.id, signer, c.deadline] };
      let y: Uint8Array = new Uint8Array(32);
      let proof: Uint8Array = new Uint8Array(48);
      const commitment = p.commitmentList[c.blob];
      if (c.status === OPEN) {
        // z = keccak256(abi.encode(blockhash(challenge block), id, signer)) mod r: the block is mined already.
        const block = await ethers.provider.getBlock(c.challengeBlock);
        const z =
          BigInt(
            ethers.keccak256(
              ethers.AbiCoder.defaultAbiCoder().encode(
                ["bytes32", "bytes32", "address"],
                [block!.hash, p.id, signer],
              ),
            ),
          ) % BLS_MODULUS;
        [proof, y] = openingAt(p.blobs[c.blob], ethers.toBeHex(z, 32));
      }
      const before = await balance(signer);
      const receipt = await expectOutcome(label, expected, () =>
        f.entrance.connect(keeper).answer(p.id, signer, y, commitment, proof, { gasLimit: GAS_LIMIT }),
      );
      if (receipt === null) return;
      // The bond goes to the signer, exactly.
      expect((await balance(signer)) - before, `${label}: bond paid to the signer`).to.equal(c.bond);
      model.challenges.set(`${k}:${signer}`, {
        ...c,
        status: ANSWERED,
        challenger: ethers.ZeroAddress,
        bond: 0n,
      });
      model.entranceBalance -= c.bond;
    }

    async function apply(cmd: Cmd, label: string): Promise<void> {
      switch (cmd.kind) {
        case "submit": {
          const p = pool[cmd.p];
          const m = model.payloads[cmd.p];
          const who = d.submitters[cmd.who];
          const fee = params.feePerBlob * BigInt(p.blobs.length);
          const b = (await latest()) + 1;
          const receipt = await expectOutcome(
            label,
            m.submitted ? { name: "DAPayloadExists", args: [p.id] } : null,
            () =>
              f.entrance.connect(who).submit(p.commitments, p.length, { value: fee, gasLimit: GAS_LIMIT }),
          );
          if (receipt === null) return;
          Object.assign(m, {
            submitted: true,
            submitter: who.address,
            fee,
            attestDeadline: b + params.attestWindow,
          });
          model.entranceBalance += fee;
          return;
        }
        case "attest": {
          const p = pool[cmd.p];
          const m = model.payloads[cmd.p];
          // Freeze and attest within one epoch.
          let b = (await latest()) + 1;
          if (epochOf(b) !== epochOf(b + 1)) await mineBlocks(1);
          b = (await latest()) + 1;
          const current = epochOf(b);
          if (!model.epochs.has(current)) {
            // Who is active now, in registration order: what freezeEpoch must record.
            const expectedSigners: { operator: string; weight: bigint }[] = [];
            for (const o of operators) {
              if (await f.staking.isActive(o.account.address, Role.DA_SIGNER)) {
                expectedSigners.push({
                  operator: o.account.address,
                  weight: native ? (await position(o.account.address)).bonded : 1n,
                });
              }
            }
            const result = await submitTx(() =>
              f.signers.connect(keeper).freezeEpoch({ gasLimit: GAS_LIMIT }),
            );
            if (result.receipt === null) {
              expect(parseError(result.data)?.name, `${label}: freezeEpoch`).to.equal("DASignersNoSigners");
              expect(expectedSigners, `${label}: freezeEpoch refused with active signers`).to.deep.equal([]);
            } else {
              const recorded = (await f.signers.epochSigners(current)).map((s) => ({
                operator: s.operator,
                weight: s.weight,
              }));
              expect(recorded, `${label}: epoch ${current} signers`).to.deep.equal(expectedSigners);
              model.epochs.set(current, {
                signers: recorded,
                total: recorded.reduce((sum, s) => sum + s.weight, 0n),
              });
            }
          }
          const epoch = cmd.prev ? current - 1 : current;
          if (epoch < 0) return;
          const info = model.epochs.get(epoch);
          const n = info?.signers.length ?? 0;
          const bitmap = BigInt(cmd.mask) & ((1n << BigInt(n)) - 1n);
          const signing = (info?.signers ?? []).filter((_, i) => ((bitmap >> BigInt(i)) & 1n) === 0n);
          const nonSigners = (info?.signers ?? [])
            .filter((_, i) => ((bitmap >> BigInt(i)) & 1n) !== 0n)
            .map((s) => ({ pkG1: d.keys.get(s.operator)!.pkG1, weight: s.weight }));
          const signed = signing.reduce((sum, s) => sum + s.weight, 0n);
          b = (await latest()) + 1;
          let expected: ExpectedError | null = null;
          if (!m.submitted) expected = { name: "DAUnknownPayload", args: [p.id] };
          else if (m.attested) expected = { name: "DAAlreadyAttested", args: [p.id] };
          else if (b > m.attestDeadline)
            expected = { name: "DAAttestWindowClosed", args: [p.id, m.attestDeadline] };
          else if (info === undefined) expected = { name: "DASignersEpochNotFrozen", args: [epoch] };
          else if (signed * 3n < info.total * 2n)
            expected = { name: "DABelowThreshold", args: [signed, info.total] };
          const message = attestationMessage(f.chainId, f.entranceAddress, p.id, BigInt(epoch));
          const sigma =
            signing.length > 0
              ? aggregateG1(signing.map((s) => sign(d.keys.get(s.operator)!.secret, message)))
              : { X: 0n, Y: 0n };
          const apkG2 =
            signing.length > 0
              ? aggregateG2(signing.map((s) => d.keys.get(s.operator)!.pkG2))
              : { X: [0n, 0n] as [bigint, bigint], Y: [0n, 0n] as [bigint, bigint] };
          const receipt = await expectOutcome(label, expected, () =>
            f.entrance
              .connect(keeper)
              .attest(p.id, epoch, bitmap, nonSigners, sigma, apkG2, hashToG1Hint(message), {
                gasLimit: GAS_LIMIT,
              }),
          );
          if (receipt === null) return;
          Object.assign(m, { attested: true, epoch, attestedAt: receipt.blockNumber, bitmap });
          return;
        }
        case "challenge": {
          const p = pool[cmd.p];
          const m = model.payloads[cmd.p];
          const who = d.challengers[cmd.who];
          const index = cmd.signer >= 0 ? cmd.signer : freshSigner(cmd.p);
          const signer = model.signerOf(cmd.p, index);
          const b = (await latest()) + 1;
          let isOperator = native;
          if (!native) {
            isOperator = false;
            for (const role of Object.values(Role))
              isOperator ||= await f.staking.isActive(who.address, role);
          }
          const c = signer === undefined ? undefined : model.challenge(cmd.p, signer.operator);
          let expected: ExpectedError | null = null;
          if (!m.submitted) expected = { name: "DAUnknownPayload", args: [p.id] };
          else if (!m.attested) expected = { name: "DANotAttested", args: [p.id] };
          else if (b > m.attestedAt + params.challengeWindow)
            expected = {
              name: "DAChallengeWindowClosed",
              args: [p.id, m.attestedAt + params.challengeWindow],
            };
          else if (cmd.blob >= p.blobs.length)
            expected = { name: "DAInvalidBlobIndex", args: [cmd.blob, p.blobs.length] };
          else if (((m.bitmap >> BigInt(index)) & 1n) !== 0n)
            expected = { name: "DANotSigner", args: [p.id, index] };
          else if (signer === undefined) expected = { name: "DASignersNoSuchSigner", args: [m.epoch, index] };
          else if (!isOperator) expected = { name: "DANotOperator", args: [who.address] };
          else if (c!.status !== NONE)
            expected = { name: "DAAlreadyChallenged", args: [p.id, signer.operator] };
          const receipt = await expectOutcome(label, expected, () =>
            f.entrance.connect(who).challenge(p.id, p.commitments, p.length, cmd.blob, index, {
              value: params.challengeBond,
              gasLimit: GAS_LIMIT,
            }),
          );
          if (receipt === null || signer === undefined) return;
          model.challenges.set(`${cmd.p}:${signer.operator}`, {
            status: OPEN,
            challenger: who.address,
            bond: params.challengeBond,
            challengeBlock: receipt.blockNumber,
            deadline: receipt.blockNumber + params.responseWindow,
            blob: cmd.blob,
          });
          model.entranceBalance += params.challengeBond;
          // An honest signer answers at once, with the real KZG opening.
          if (honestAddresses.has(signer.operator))
            await answer(cmd.p, signer.operator, `honestAnswer (${label})`);
          return;
        }
        case "answer": {
          const [k, signer] = target(cmd.p, cmd.signer);
          await answer(k, signer, label);
          return;
        }
        case "slash": {
          const [k, signer] = target(cmd.p, cmd.signer);
          const p = pool[k];
          const c = model.challenge(k, signer);
          if (cmd.wait && c.status === OPEN) {
            const l = await latest();
            if (l < c.deadline) await mineBlocks(c.deadline - l);
          }
          const b = (await latest()) + 1;
          let expected: ExpectedError | null = null;
          if (c.status !== OPEN) expected = { name: "DANoOpenChallenge", args: [p.id, signer] };
          else if (b <= c.deadline)
            expected = { name: "DAResponseWindowOpen", args: [p.id, signer, c.deadline] };
          expect(
            expected !== null || !honestAddresses.has(signer),
            `${label}: property 4: an honest signer's challenge is still open past its deadline`,
          ).to.equal(true);
          const pos = await position(signer);
          const slashable = pos.member || pos.unbonding !== 0n;
          const fromStake =
            slashable && native
              ? params.slashAmount < pos.bonded + pos.unbonding
                ? params.slashAmount
                : pos.bonded + pos.unbonding
              : 0n;
          const reporterBefore = await f.staking.claimableOf(c.challenger);
          const treasuryBefore = await f.staking.claimableOf(f.treasury.address);
          const receipt = await expectOutcome(label, expected, () =>
            f.entrance.connect(keeper).slashUnanswered(p.id, signer, { gasLimit: GAS_LIMIT }),
          );
          if (receipt === null) return;
          const amounts = recordSlashes(receipt);
          // NodeStaking is called iff it has something of the signer's; it takes min(slashAmount, stake).
          expect(amounts, `${label}: NodeStaking slashes`).to.deep.equal(slashable ? [fromStake] : []);
          const event = receipt.logs
            .map((log) =>
              log.address.toLowerCase() === f.entranceAddress.toLowerCase()
                ? f.entrance.interface.parseLog(log)
                : null,
            )
            .find((e) => e?.name === "UnansweredSlashed");
          expect(event?.args.slashed, `${label}: UnansweredSlashed amount`).to.equal(fromStake);
          const reward = (fromStake * REPORTER_SHARE_BPS) / BPS;
          if (c.challenger === f.treasury.address) throw new Error("the treasury never challenges");
          expect(
            (await f.staking.claimableOf(c.challenger)) - reporterBefore,
            `${label}: reporter share`,
          ).to.equal(reward);
          expect(
            (await f.staking.claimableOf(f.treasury.address)) - treasuryBefore,
            `${label}: treasury share`,
          ).to.equal(fromStake - reward);
          if (slashable) {
            // Jailed: no longer active (property 5 in PERMISSIONED mode: the only effect).
            expect(await f.staking.isActive(signer, Role.DA_SIGNER), `${label}: jailed`).to.equal(false);
            expect((await position(signer)).jailedUntil, `${label}: jailedUntil`).to.be.greaterThan(0n);
          }
          model.challenges.set(`${k}:${signer}`, {
            ...c,
            status: SLASHED,
            challenger: ethers.ZeroAddress,
            bond: 0n,
          });
          model.credits.set(c.challenger, (model.credits.get(c.challenger) ?? 0n) + c.bond);
          return;
        }
        case "claimFees": {
          const p = pool[cmd.p];
          const m = model.payloads[cmd.p];
          const signer = model.signerOf(cmd.p, cmd.signer);
          let expected: ExpectedError | null = null;
          if (!m.submitted) expected = { name: "DAUnknownPayload", args: [p.id] };
          else if (!m.attested) expected = { name: "DANotAttested", args: [p.id] };
          else if (((m.bitmap >> BigInt(cmd.signer)) & 1n) !== 0n)
            expected = { name: "DANotSigner", args: [p.id, cmd.signer] };
          else if (((m.claimed >> BigInt(cmd.signer)) & 1n) !== 0n)
            expected = { name: "DAAlreadyClaimed", args: [p.id, cmd.signer] };
          else if (signer === undefined)
            expected = { name: "DASignersNoSuchSigner", args: [m.epoch, cmd.signer] };
          const share =
            signer === undefined || expected !== null
              ? 0n
              : (m.fee * signer.weight) / model.signedWeight(cmd.p);
          const before = signer === undefined ? 0n : await balance(signer.operator);
          const receipt = await expectOutcome(label, expected, () =>
            f.entrance.connect(keeper).claimFees(p.id, cmd.signer, { gasLimit: GAS_LIMIT }),
          );
          if (receipt === null || signer === undefined) return;
          expect((await balance(signer.operator)) - before, `${label}: fee share paid`).to.equal(share);
          m.claimed |= 1n << BigInt(cmd.signer);
          m.paid += share;
          model.entranceBalance -= share;
          return;
        }
        case "refund": {
          const p = pool[cmd.p];
          const m = model.payloads[cmd.p];
          const b = (await latest()) + 1;
          let expected: ExpectedError | null = null;
          if (!m.submitted) expected = { name: "DAUnknownPayload", args: [p.id] };
          else if (m.attested) expected = { name: "DAAlreadyAttested", args: [p.id] };
          else if (m.refunded) expected = { name: "DAAlreadyRefunded", args: [p.id] };
          else if (b <= m.attestDeadline)
            expected = { name: "DAAttestWindowOpen", args: [p.id, m.attestDeadline] };
          const before = await balance(m.submitter);
          const receipt = await expectOutcome(label, expected, () =>
            f.entrance.connect(keeper).refund(p.id, { gasLimit: GAS_LIMIT }),
          );
          if (receipt === null) return;
          expect((await balance(m.submitter)) - before, `${label}: refund`).to.equal(m.fee);
          model.entranceBalance -= m.fee;
          Object.assign(m, { refunded: true, fee: 0n });
          return;
        }
        case "withdraw": {
          const who = d.challengers[cmd.who];
          const credit = model.credits.get(who.address) ?? 0n;
          const before = await balance(who.address);
          const receipt = await expectOutcome(
            label,
            credit === 0n ? { name: "DANothingToWithdraw", args: [who.address] } : null,
            () => f.entrance.connect(who).withdraw({ gasLimit: GAS_LIMIT }),
          );
          if (receipt === null) return;
          const gas = receipt.gasUsed * receipt.gasPrice;
          expect((await balance(who.address)) - before + gas, `${label}: credit paid`).to.equal(credit);
          model.credits.set(who.address, 0n);
          model.entranceBalance -= credit;
          return;
        }
        case "mine":
          await mineBlocks(cmd.blocks);
          return;
        case "time":
          await send("evm_increaseTime", [cmd.seconds]);
          await mineBlocks(1);
          return;
        default:
          await applyStaking(cmd, label);
      }
    }

    /** NodeStaking commands: free to fail; a success moves exactly the coin owed. */
    async function applyStaking(cmd: Cmd, label: string): Promise<void> {
      let payer: HardhatEthersSigner;
      let value = 0n;
      let owed = 0n;
      let tx: () => Promise<ContractTransactionResponse>;
      switch (cmd.kind) {
        case "unbond":
          payer = operators[cmd.op].account;
          tx = () =>
            f.staking.connect(payer).requestUnbond(Role.DA_SIGNER, cmd.amount, { gasLimit: GAS_LIMIT });
          break;
        case "exit":
          payer = operators[cmd.op].account;
          tx = () => f.staking.connect(payer).exit(Role.DA_SIGNER, { gasLimit: GAS_LIMIT });
          break;
        case "restake":
          payer = operators[cmd.op].account;
          value = native ? MIN_STAKES[Role.DA_SIGNER] : 0n;
          tx = () => f.staking.connect(payer).stake(Role.DA_SIGNER, { value, gasLimit: GAS_LIMIT });
          break;
        case "stakeWithdraw":
          payer = operators[cmd.op].account;
          owed = (await position(payer.address)).unbonding;
          tx = () => f.staking.connect(payer).withdraw(Role.DA_SIGNER, { gasLimit: GAS_LIMIT });
          break;
        case "claim":
          payer = [...d.challengers, f.treasury][cmd.who];
          owed = await f.staking.claimableOf(payer.address);
          tx = () => f.staking.connect(payer).claim({ gasLimit: GAS_LIMIT });
          break;
        default:
          throw new Error(`unknown command ${cmd.kind}`);
      }
      const before = await balance(payer.address);
      const result = await submitTx(tx);
      if (result.receipt === null) {
        const name = parseError(result.data)?.name;
        expect(name, `${label}: NodeStaking revert`).to.match(/^Staking/);
        count(reverts, cmd.kind);
        return;
      }
      count(successes, cmd.kind);
      const gas = result.receipt.gasUsed * result.receipt.gasPrice;
      expect((await balance(payer.address)) - before + gas, `${label}: coin moved`).to.equal(owed - value);
      model.stakingBalance += value - owed;
    }

    /** The invariants, from chain state, after every command. */
    async function check(label: string): Promise<void> {
      // (1) NodeStaking: every wei held is owed to an operator or a creditor.
      let held = 0n;
      const members = new Set<string>();
      for (const role of [Role.STORAGE, Role.DA_SIGNER]) {
        for (const m of await f.staking.membersOf(role)) members.add(m);
      }
      for (const m of members) expect(d.stakers, `${label}: unexpected member ${m}`).to.include(m);
      for (const who of d.stakers) {
        for (const role of [Role.STORAGE, Role.DA_SIGNER]) {
          const pos = await f.staking.positionOf(who, role);
          held += pos.bonded + pos.unbonding;
        }
      }
      for (const who of d.creditAccounts) held += await f.staking.claimableOf(who);
      const stakingBalance = await balance(d.stakingAddress);
      expect(
        stakingBalance,
        `${label}: (1) NodeStaking balance == Σ bonded + unbonding + claimable`,
      ).to.equal(held);
      expect(stakingBalance, `${label}: (1) NodeStaking balance == model's coin flows`).to.equal(
        model.stakingBalance,
      );
      // (5) PERMISSIONED: no coin in NodeStaking, ever.
      if (!native) expect(stakingBalance, `${label}: (5) PERMISSIONED NodeStaking holds coin`).to.equal(0n);

      // (2) DAEntrance: every wei held is an unrefunded fee not paid out, an open bond or a credit.
      let owed = 0n;
      for (let k = 0; k < pool.length; ++k) {
        const m = model.payloads[k];
        const info = await f.entrance.payloadOf(pool[k].id);
        expect(
          {
            blobs: info.blobs,
            fee: info.fee,
            attested: info.attested,
            refunded: info.refunded,
            bitmap: info.nonSignerBitmap,
            epoch: info.epoch,
            attestedAt: info.attestedAt,
          },
          `${label}: payload ${k}`,
        ).to.deep.equal({
          blobs: m.submitted ? BigInt(pool[k].blobs.length) : 0n,
          fee: m.fee,
          attested: m.attested,
          refunded: m.refunded,
          bitmap: m.bitmap,
          epoch: BigInt(m.epoch),
          attestedAt: BigInt(m.attestedAt),
        });
        if (m.submitted && !m.attested && !m.refunded) owed += m.fee;
        if (m.attested) {
          owed += m.fee - m.paid;
          // The shares of all signers never exceed the fee; the dust left after all claim is < #signers wei.
          const epoch = model.epochs.get(m.epoch)!;
          const signedWeight = model.signedWeight(k);
          let shares = 0n;
          let unclaimed = 0n;
          let signers = 0n;
          epoch.signers.forEach((s, i) => {
            if (((m.bitmap >> BigInt(i)) & 1n) !== 0n) return;
            const share = (m.fee * s.weight) / signedWeight;
            shares += share;
            signers += 1n;
            if (((m.claimed >> BigInt(i)) & 1n) === 0n) unclaimed += share;
          });
          expect(shares, `${label}: (2) Σ shares ≤ fee of payload ${k}`).to.be.lessThanOrEqual(m.fee);
          expect(m.fee - shares, `${label}: (2) dust of payload ${k} < signers`).to.be.lessThan(signers);
          expect(m.fee - m.paid, `${label}: (2) held for payload ${k} == unclaimed shares + dust`).to.equal(
            unclaimed + (m.fee - shares),
          );
        }
        for (const o of operators) {
          const c = model.challenge(k, o.account.address);
          const actual = await f.entrance.challengeOf(pool[k].id, o.account.address);
          expect(
            { status: Number(actual.status), challenger: actual.challenger, bond: actual.bond },
            `${label}: challenge of payload ${k} signer ${o.account.address}`,
          ).to.deep.equal({ status: c.status, challenger: c.challenger, bond: c.bond });
          if (c.status === OPEN) owed += actual.bond;
          // (3) at most one slash per (payload, signer); none for an answered challenge.
          const slashes = model.slashes.get(evidenceOf(pool[k].id, o.account.address)) ?? 0;
          expect(
            slashes,
            `${label}: (3) slashes of (payload ${k}, ${o.account.address})`,
          ).to.be.lessThanOrEqual(c.status === SLASHED ? 1 : 0);
        }
      }
      for (const who of d.challengers) {
        const credit = await f.entrance.creditOf(who.address);
        expect(credit, `${label}: credit of ${who.address}`).to.equal(model.credits.get(who.address) ?? 0n);
        owed += credit;
      }
      const entranceBalance = await balance(f.entranceAddress);
      expect(
        entranceBalance,
        `${label}: (2) DAEntrance balance == fees held + open bonds + credits`,
      ).to.equal(owed);
      expect(entranceBalance, `${label}: (2) DAEntrance balance == model's coin flows`).to.equal(
        model.entranceBalance,
      );

      // (4) honest signers are never jailed.
      for (const i of honest) {
        expect(
          (await position(operators[i].account.address)).jailedUntil,
          `${label}: (4) honest signer ${i} jailed`,
        ).to.equal(0n);
      }
    }

    for (let i = 0; i < cmds.length; ++i) {
      const label = `${cmds[i].kind} #${i} (${d.variant.name})`;
      await apply(cmds[i], label);
      await check(
        `${label} ${JSON.stringify(cmds[i], (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}`,
      );
    }

    // (3)/(4) from the chain's log, not only the receipts this test saw: every Slashed event NodeStaking emitted
    // during the run is one of an unanswered challenge, once per (payload, signer), never of an honest signer.
    const events = await f.staking.queryFilter(f.staking.filters.Slashed(), startBlock, "latest");
    const seen = new Map<string, number>();
    for (const e of events) {
      seen.set(e.args.evidenceHash, (seen.get(e.args.evidenceHash) ?? 0) + 1);
      expect(honestAddresses.has(e.args.operator), "(4) an honest signer was slashed").to.equal(false);
      expect(e.args.slasher).to.equal(f.entranceAddress);
    }
    expect(Object.fromEntries(seen), "(3) Slashed events == the slashes the model recorded").to.deep.equal(
      Object.fromEntries(model.slashes),
    );
    for (const n of seen.values()) expect(n, "(3) slashed more than once").to.equal(1);
  }

  it("money, slashing and honesty properties hold after every command of random runs", async function () {
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(runArb, async ({ variant, honest, cmds }) => {
        await send("evm_revert", [snapshot]);
        snapshot = await send<string>("evm_snapshot");
        await run(deployments[variant], new Set(honest), cmds);
      }),
      { numRuns: NUM_RUNS, examples: EXAMPLES.map((e) => [e]) },
    );
    const json = (m: Map<string, number>) => JSON.stringify(Object.fromEntries([...m].sort()));
    // The paths the properties are about were reached.
    for (const kind of [
      "submit",
      "attest",
      "challenge",
      "honestAnswer",
      "answer",
      "slash",
      "claimFees",
      "refund",
      "withdraw",
      "stakeWithdraw",
      "claim",
    ]) {
      expect(successes.get(kind) ?? 0, `successful ${kind} (successes ${json(successes)})`).to.be.greaterThan(
        0,
      );
    }
    console.log(
      `      ${NUM_RUNS} runs in ${((Date.now() - started) / 1000).toFixed(1)} s\n      successes ${json(successes)}\n      reverts ${json(reverts)}\n      errors ${json(errors)}`,
    );
  });
});

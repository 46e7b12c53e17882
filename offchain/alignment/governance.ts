import { getAddress, Interface, isAddress, keccak256, toUtf8Bytes, ZeroAddress } from "ethers";
import {
  AlignmentGovernor__factory,
  AlignmentLicense__factory,
  type AlignmentGovernor,
  type AlignmentLicense,
} from "../../typechain-types";
import type { ZgChain } from "../core/chain";
import { ZgError } from "../core/errors";
import { alignment } from "./module";

/** OpenZeppelin Governor's proposal states, by enum id. */
export const PROPOSAL_STATES = [
  "Pending",
  "Active",
  "Canceled",
  "Defeated",
  "Succeeded",
  "Queued",
  "Expired",
  "Executed",
] as const;
export type ProposalStateName = (typeof PROPOSAL_STATES)[number];

/** How a vote counts (GovernorCountingSimple). */
export const SUPPORT = { against: 0, for: 1, abstain: 2 } as const;
export type Support = keyof typeof SUPPORT;

/** One call a proposal makes through the timelock. */
export interface ProposalCall {
  /** A registered contract name (e.g. "Market") or an address. */
  target: string;
  /** The function signature, e.g. "setPricePerSector(uint256)". */
  signature: string;
  /** Its arguments, as JSON values (numbers as strings for large integers). */
  args: unknown[];
  /** Coin sent with the call, in wei (default 0). */
  value?: bigint;
}

/** A proposal as created on-chain (recovered from its ProposalCreated event). */
export interface Proposal {
  id: bigint;
  proposer: string;
  targets: string[];
  values: bigint[];
  calldatas: string[];
  description: string;
}

export interface ProposalStatus {
  id: bigint;
  state: ProposalStateName;
  proposer: string;
  snapshot: number;
  deadline: number;
  /** Votes needed (for + abstain) at the snapshot. */
  quorum: bigint;
  votes: { for: bigint; against: bigint; abstain: bigint };
  /** Unix time from which a queued proposal can execute (0 when not queued). */
  eta: number;
  description: string;
}

export interface LicenseSummary {
  maxSupply: bigint;
  totalMinted: bigint;
  transferableAfter: number;
  holder?: { address: string; balance: bigint; votes: bigint; delegate: string; tokenIds: bigint[] };
}

/** A governor call's target, encoded: what `propose` sends. */
export interface EncodedCall {
  target: string;
  value: bigint;
  calldata: string;
}

/** Blocks scanned per log query when looking for a proposal's creation. */
const LOG_CHUNK = 10_000;
/** How far back from its snapshot a proposal's creation is looked for. */
const LOG_RANGE = 2_000_000;
/** Token ids are listed for a holder only up to this many licenses minted (one `ownerOf` call each). */
const MAX_ENUMERATED = 2_000;

/**
 * Alignment governance from the SDK: propose calls on registered modules, vote with licenses, queue and execute
 * what passed, read a proposal's status, licenses and delegation. The CLI (`zg gov`) goes through it.
 */
export class GovernanceClient {
  private constructor(
    private readonly chain: ZgChain,
    readonly license: AlignmentLicense,
    private readonly governorAddress: string | undefined,
  ) {}

  static async connect(chain: ZgChain): Promise<GovernanceClient> {
    const license = AlignmentLicense__factory.connect(
      await chain.moduleAddress(alignment.contracts.license.name),
      chain.runner,
    );
    const governor = await chain.registry.tryGetModule(
      (await import("ethers")).encodeBytes32String(alignment.contracts.governor.name),
    );
    return new GovernanceClient(chain, license, governor === ZeroAddress ? undefined : governor);
  }

  /** The governor; a one-line error when the deployment has no alignment governance. */
  get governor(): AlignmentGovernor {
    if (!this.governorAddress)
      throw new ZgError(
        `alignment governance is not deployed on chain ${this.chain.chainId}: the registry owner governs directly`,
        "MODULE_ABSENT",
      );
    return AlignmentGovernor__factory.connect(this.governorAddress, this.chain.runner);
  }

  /** Encodes one call: resolves a contract name through the registry and checks the signature and arguments. */
  async encode(call: ProposalCall): Promise<EncodedCall> {
    const target = isAddress(call.target)
      ? getAddress(call.target)
      : await this.chain.moduleAddress(call.target);
    if (!/^[A-Za-z_$][A-Za-z0-9_$]*\(.*\)$/.test(call.signature))
      throw new ZgError(
        `'${call.signature}' is not a function signature such as setFee(uint256)`,
        "BAD_INPUT",
      );
    let fragmentInterface: Interface;
    try {
      fragmentInterface = new Interface([`function ${call.signature}`]);
    } catch {
      throw new ZgError(`'${call.signature}' is not a valid function signature`, "BAD_INPUT");
    }
    const fragment = fragmentInterface.fragments[0] as import("ethers").FunctionFragment;
    if (call.args.length !== fragment.inputs.length)
      throw new ZgError(
        `${fragment.name} takes ${fragment.inputs.length} argument(s), ${call.args.length} given`,
        "BAD_INPUT",
      );
    let calldata: string;
    try {
      calldata = fragmentInterface.encodeFunctionData(fragment, call.args);
    } catch (error) {
      throw new ZgError(
        `arguments do not match ${fragment.format()}: ${(error as Error).message.split(" (")[0]}`,
        "BAD_INPUT",
      );
    }
    return { target, value: call.value ?? 0n, calldata };
  }

  /** Proposes calls; returns the proposal id (the same the governor computes). */
  async propose(calls: ProposalCall[], description: string): Promise<{ id: bigint; block: number }> {
    if (calls.length === 0) throw new ZgError("a proposal needs at least one call", "BAD_INPUT");
    if (description.trim() === "") throw new ZgError("a proposal needs a description", "BAD_INPUT");
    const encoded = await Promise.all(calls.map((call) => this.encode(call)));
    const governor = this.governor;
    const targets = encoded.map((c) => c.target);
    const values = encoded.map((c) => c.value);
    const calldatas = encoded.map((c) => c.calldata);
    const id = await governor.hashProposal(targets, values, calldatas, keccak256(toUtf8Bytes(description)));
    const receipt = await this.chain.send("propose", () =>
      governor.propose(targets, values, calldatas, description),
    );
    return { id, block: receipt.blockNumber };
  }

  /** Votes on a proposal with every license delegated to the signer (at the proposal's snapshot). */
  async vote(id: bigint, support: Support, reason?: string) {
    const governor = this.governor;
    return this.chain.send("vote", () =>
      reason
        ? governor.castVoteWithReason(id, SUPPORT[support], reason)
        : governor.castVote(id, SUPPORT[support]),
    );
  }

  /** Queues a succeeded proposal in the timelock. */
  async queue(id: bigint) {
    const proposal = await this.proposal(id);
    const governor = this.governor;
    return this.chain.send("queue", () =>
      governor.queue(proposal.targets, proposal.values, proposal.calldatas, descriptionHash(proposal)),
    );
  }

  /** Executes a queued proposal whose timelock delay has passed. */
  async execute(id: bigint) {
    const proposal = await this.proposal(id);
    const governor = this.governor;
    return this.chain.send("execute", () =>
      governor.execute(proposal.targets, proposal.values, proposal.calldatas, descriptionHash(proposal)),
    );
  }

  /** A proposal's calls and description, from its ProposalCreated event. */
  async proposal(id: bigint): Promise<Proposal> {
    const governor = this.governor;
    const snapshot = Number(await governor.proposalSnapshot(id));
    if (snapshot === 0) throw new ZgError(`no proposal ${id} on this governor`, "BAD_INPUT");
    const filter = governor.filters.ProposalCreated();
    const head = await this.chain.provider.getBlockNumber();
    const guess = Math.max(0, snapshot - Number(await governor.votingDelay()));
    // First the block the current voting delay implies, then backwards from the snapshot.
    const ranges: [number, number][] = [[guess, Math.min(guess, head)]];
    for (let to = Math.min(snapshot, head); to >= 0 && to > snapshot - LOG_RANGE; to -= LOG_CHUNK)
      ranges.push([Math.max(0, to - LOG_CHUNK + 1), to]);
    for (const [from, to] of ranges) {
      const logs = await governor.queryFilter(filter, from, to);
      const log = logs.find((entry) => entry.args.proposalId === id);
      if (log)
        return {
          id,
          proposer: log.args.proposer,
          targets: [...log.args.targets],
          values: [...log.args[3]],
          calldatas: [...log.args.calldatas],
          description: log.args.description,
        };
    }
    throw new ZgError(`proposal ${id}: its creation event was not found`, "ZG_ERROR");
  }

  /** Where a proposal stands: its state, votes, quorum and timing. */
  async status(id: bigint): Promise<ProposalStatus> {
    const governor = this.governor;
    const proposal = await this.proposal(id);
    const [state, snapshot, deadline, votes, eta] = await Promise.all([
      governor.state(id),
      governor.proposalSnapshot(id),
      governor.proposalDeadline(id),
      governor.proposalVotes(id),
      governor.proposalEta(id),
    ]);
    const head = await this.chain.provider.getBlockNumber();
    // The quorum is known once the snapshot is in the past.
    const quorum = Number(snapshot) < head ? await governor.quorum(snapshot) : 0n;
    return {
      id,
      state: PROPOSAL_STATES[Number(state)],
      proposer: proposal.proposer,
      snapshot: Number(snapshot),
      deadline: Number(deadline),
      quorum,
      votes: { against: votes[0], for: votes[1], abstain: votes[2] },
      eta: Number(eta),
      description: proposal.description,
    };
  }

  /** The license supply and, for a holder, its licenses, votes and delegate. */
  async licenses(holder?: string): Promise<LicenseSummary> {
    const [maxSupply, totalMinted, transferableAfter] = await Promise.all([
      this.license.maxSupply(),
      this.license.totalMinted(),
      this.license.transferableAfter(),
    ]);
    const summary: LicenseSummary = { maxSupply, totalMinted, transferableAfter: Number(transferableAfter) };
    if (holder === undefined) return summary;
    const address = getAddress(holder);
    const [balance, votes, delegate] = await Promise.all([
      this.license.balanceOf(address),
      this.license.getVotes(address),
      this.license.delegates(address),
    ]);
    const tokenIds: bigint[] = [];
    if (balance > 0n && totalMinted <= BigInt(MAX_ENUMERATED)) {
      const ids = Array.from({ length: Number(totalMinted) }, (_, i) => BigInt(i + 1));
      const owners = await Promise.all(ids.map((tokenId) => this.license.ownerOf(tokenId)));
      ids.forEach((tokenId, i) => owners[i] === address && tokenIds.push(tokenId));
    }
    summary.holder = { address, balance, votes, delegate, tokenIds };
    return summary;
  }

  /** Delegates the signer's license votes to `delegatee` (itself to vote directly). */
  async delegate(delegatee: string) {
    const license = this.license;
    return this.chain.send("delegate", () => license.delegate(getAddress(delegatee)));
  }
}

function descriptionHash(proposal: Proposal): string {
  return keccak256(toUtf8Bytes(proposal.description));
}

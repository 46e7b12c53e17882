// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRegistryGoverned} from "../../core/interfaces/IRegistryGoverned.sol";

/**
 * @title IDisputes
 * @notice Disputes against inference providers, voted by license holders (docs/alignment.md, "Disputes").
 *
 * A license holder or its operator files a dispute with `disputeBond` (0 when NodeStaking is PERMISSIONED) about
 * one provider-signed EIP-712 `Response` statement of the serving module: its provider must have a service in
 * InferenceServing whose response `signer` signed the statement in InferenceServing's domain. A statement is
 * disputed at most once, ever (no double jeopardy). Licenses vote a score from 0 (the provider is right) to 10
 * (the provider is at fault) within `votingBlocks` of filing, once per license, whoever holds or runs it later.
 * After the window anyone resolves it: the outcome is the lower license-weighted median of the scores; the
 * dispute is upheld iff at least `quorum` licenses voted and the outcome is ≥ 5. Upheld: NodeStaking slashes
 * (jails, without a token) the provider once, with the statement's digest as evidence and the filer as reporter,
 * and the bond is credited back to the filer. Rejected: the bond is the voter reward, shared equally (up to the
 * last wei, which goes to the last claimer) by the licenses whose score is within `clip` of the outcome; a
 * rejected dispute nobody voted on credits the bond back to the filer (nobody to pay it to).
 *
 * The license contract, `votingBlocks`, `quorum`, `clip` and `slashAmount` are fixed for a dispute when it is
 * filed. Voter rewards pay the license's holder at claim time, less the commission of its operator at that time.
 * @dev Invariant: `address(this).balance == Σ bonds of open disputes + Σ unclaimed voter rewards + Σ credits`.
 */
interface IDisputes is IRegistryGoverned {
    /// @notice What a dispute claims.
    /// @dev `REEXECUTION`: re-executing a deterministic request contradicts the response (the service must be
    /// deterministic). `POLICY`: the response breaks a rule of policy version `policyVersion`.
    enum Kind {
        REEXECUTION,
        POLICY
    }

    /// @notice Where a dispute stands.
    enum Status {
        NONE,
        OPEN,
        UPHELD,
        REJECTED
    }

    /// @notice The EIP-712 `Response` statement a provider signs for every response (offchain/serving/protocol.ts).
    struct ResponseStatement {
        address user;
        address provider;
        bytes32 modelHash;
        bytes32 requestHash;
        bytes32 responseHash;
        uint256 inputTokens;
        uint256 outputTokens;
        uint256 fee;
        uint256 seq;
        uint256 cumulative;
    }

    /// @notice Governance parameters.
    /// @param bond Wei a filer posts (must be 0 when NodeStaking is PERMISSIONED).
    /// @param votingBlocks Blocks after filing during which licenses vote (≥ 1).
    /// @param quorum Licenses that must vote for a dispute to be upheld (≥ 1).
    /// @param clip Voters within this distance of the outcome share the voter reward (0 to 10).
    /// @param slashAmount Wei NodeStaking takes from a provider found at fault.
    struct Params {
        uint96 bond;
        uint32 votingBlocks;
        uint32 quorum;
        uint8 clip;
        uint128 slashAmount;
    }

    /// @notice One dispute, as `disputeOf` returns it.
    /// @param status Where it stands.
    /// @param kind What it claims.
    /// @param license The license contract whose holders vote on it.
    /// @param filer Who filed it.
    /// @param licenseId The license it was filed under.
    /// @param provider The provider disputed.
    /// @param digest The statement's EIP-712 digest (InferenceServing's domain).
    /// @param evidenceRoot The storage root of the evidence (request and response bodies).
    /// @param policyVersion The policy version the dispute refers to.
    /// @param bond The bond posted.
    /// @param votingEnds The last block at which licenses vote.
    /// @param quorum, clip, slashAmount The parameters fixed at filing.
    /// @param voters How many licenses voted (set at resolution; live count while open).
    /// @param outcome The weighted median (set at resolution).
    /// @param eligible Voters within `clip` of the outcome (set at resolution).
    /// @param reward The voter reward not yet claimed.
    /// @param slashed What NodeStaking took (upheld disputes).
    // solhint-disable-next-line gas-struct-packing
    struct DisputeInfo {
        Status status;
        Kind kind;
        address license;
        address filer;
        uint256 licenseId;
        address provider;
        bytes32 digest;
        bytes32 evidenceRoot;
        uint64 policyVersion;
        uint256 bond;
        uint256 votingEnds;
        uint256 quorum;
        uint256 clip;
        uint256 slashAmount;
        uint256 voters;
        uint256 outcome;
        uint256 eligible;
        uint256 reward;
        uint256 slashed;
    }

    /// @notice Thrown when a zero address is given where a contract is needed.
    error DisputesZeroAddress();
    /// @notice Thrown when the caller is not governance (the registry owner).
    error DisputesNotGovernance(address caller);
    /// @notice Thrown when parameters are out of range (`votingBlocks` or `quorum` 0, `clip` above 10).
    error DisputesInvalidParams();
    /// @notice Thrown when the caller is neither the holder of the license nor its operator.
    error DisputesNotAuthorized(uint256 licenseId, address caller);
    /// @notice Thrown when the coin sent is not exactly the bond.
    error DisputesWrongBond(uint256 sent, uint256 expected);
    /// @notice Thrown when a bond is due but NodeStaking is PERMISSIONED (no coin moves).
    error DisputesNoTokenMode();
    /// @notice Thrown when the evidence root is zero.
    error DisputesNoEvidence();
    /// @notice Thrown when the statement's provider has no service in InferenceServing.
    error DisputesProviderNotRegistered(address provider);
    /// @notice Thrown when the signature is not the provider's registered response signer's on the statement.
    error DisputesBadSignature(address provider, address recovered);
    /// @notice Thrown when a `REEXECUTION` dispute names a service that is not deterministic.
    error DisputesNotDeterministic(address provider);
    /// @notice Thrown when the statement was already disputed (by dispute `id`).
    error DisputesAlreadyDisputed(bytes32 digest, uint256 id);
    /// @notice Thrown when no dispute has this id.
    error DisputesUnknownDispute(uint256 id);
    /// @notice Thrown when voting on or resolving a dispute that is not open.
    error DisputesNotOpen(uint256 id);
    /// @notice Thrown when voting after the voting window.
    error DisputesVotingClosed(uint256 id, uint256 votingEnds);
    /// @notice Thrown when resolving before the voting window has passed.
    error DisputesVotingOpen(uint256 id, uint256 votingEnds);
    /// @notice Thrown when a score is above 10.
    error DisputesInvalidScore(uint256 score);
    /// @notice Thrown when a license votes twice on a dispute.
    error DisputesAlreadyVoted(uint256 id, uint256 licenseId);
    /// @notice Thrown when a reservation's range is empty or starts at 0 (dispute ids start at 1).
    error DisputesInvalidRange(uint256 fromId, uint256 toId);
    /// @notice Thrown when claiming a voter reward of a dispute that is not rejected.
    error DisputesNotRejected(uint256 id);
    /// @notice Thrown when the license did not vote within `clip` of the outcome.
    error DisputesNotEligible(uint256 id, uint256 licenseId);
    /// @notice Thrown when a license's voter reward was already claimed.
    error DisputesAlreadyClaimed(uint256 id, uint256 licenseId);
    /// @notice Thrown when there is nothing credited to withdraw.
    error DisputesNothingToWithdraw(address account);
    /// @notice Thrown when a coin transfer fails.
    error DisputesTransferFailed(address to, uint256 amount);

    /// @notice Emitted when a dispute is filed.
    event DisputeFiled(
        uint256 indexed id,
        address indexed provider,
        uint256 indexed licenseId,
        address filer,
        Kind kind,
        bytes32 digest,
        bytes32 evidenceRoot,
        uint64 policyVersion,
        uint256 bond,
        uint256 votingEnds
    );
    /// @notice Emitted when a license votes.
    event Voted(uint256 indexed id, uint256 indexed licenseId, address indexed voter, uint8 score);
    /// @notice Emitted when a dispute is upheld; `slashed` is what NodeStaking took (0 without a token).
    event DisputeUpheld(
        uint256 indexed id,
        address indexed provider,
        uint256 outcome,
        uint256 voters,
        uint256 slashed
    );
    /// @notice Emitted when a dispute is rejected; `reward` is the voter reward, shared by `eligible` licenses.
    event DisputeRejected(
        uint256 indexed id,
        uint256 outcome,
        uint256 voters,
        uint256 eligible,
        uint256 reward
    );
    /// @notice Emitted when a license's voter reward is paid: `commission` to the operator, the rest to the holder.
    event VoterRewardClaimed(
        uint256 indexed id,
        uint256 indexed licenseId,
        address holder,
        uint256 amount,
        address operator,
        uint256 commission
    );
    /// @notice Emitted when coin is credited to an account (a bond back).
    event Credited(address indexed account, uint256 amount);
    /// @notice Emitted when credited coin is paid out.
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice Emitted when governance sets the parameters.
    event ParamsSet(Params params);

    /**
     * @notice Files a dispute about `statement`, signed by its provider's registered response signer.
     * @param licenseId A license the caller holds or operates.
     * @param kind What the dispute claims.
     * @param statement The provider's `Response` statement.
     * @param providerSignature The 65-byte signature of the statement's digest (InferenceServing's domain).
     * @param evidenceRoot The storage root of the request and response bodies (non-zero).
     * @param policyVersion The policy version broken (`POLICY`); informational for `REEXECUTION`.
     * @return id The dispute's id (from 1).
     */
    function fileDispute(
        uint256 licenseId,
        Kind kind,
        ResponseStatement calldata statement,
        bytes calldata providerSignature,
        bytes32 evidenceRoot,
        uint64 policyVersion
    ) external payable returns (uint256 id);

    /// @notice Votes `score` (0: provider right … 10: provider at fault) for license `licenseId`, held or
    /// operated by the caller. Once per license per dispute.
    function vote(uint256 id, uint256 licenseId, uint8 score) external;

    /**
     * @notice Reserves, for each of `licenseIds`, the vote words that will hold its votes on disputes `fromId` to
     * `toId`, so that none of those votes writes a fresh storage slot (a vote then costs about 20,000 gas less).
     * Anyone may call, for any license: a reservation only marks a word, records no vote and costs the caller
     * about 22,000 gas a word (51 disputes a license); words already in use or reserved are left as they are.
     */
    function reserveVotes(uint256[] calldata licenseIds, uint256 fromId, uint256 toId) external;

    /// @notice Decides dispute `id` after its voting window (anyone).
    function resolve(uint256 id) external;

    /// @notice Pays license `licenseId`'s share of a rejected dispute's voter reward to its holder, less the
    /// commission of its operator (anyone may call).
    function claimVoterReward(uint256 id, uint256 licenseId) external returns (uint256 amount);

    /// @notice Pays out what was credited to the caller (bonds back).
    function withdraw() external;

    /// @notice Governance: sets the parameters (for disputes filed afterwards).
    function setParams(Params calldata params_) external;

    /// @notice The current parameters.
    function params() external view returns (Params memory);

    /// @notice Dispute `id`.
    function disputeOf(uint256 id) external view returns (DisputeInfo memory);

    /// @notice License `licenseId`'s vote on dispute `id`: whether it voted, its score, whether it claimed.
    function voteOf(
        uint256 id,
        uint256 licenseId
    ) external view returns (bool voted, uint8 score, bool claimed);

    /// @notice Whether license `licenseId`'s vote on dispute `id` goes to a word already written (reserved, or
    /// holding a vote on a nearby dispute): that vote writes no fresh slot.
    function isReserved(uint256 licenseId, uint256 id) external view returns (bool);

    /// @notice The outcome of dispute `id` (the weighted median once resolved; the running one while open).
    function outcomeOf(uint256 id) external view returns (Status status, uint256 outcome, uint256 voters);

    /// @notice The dispute filed about the statement with this digest (0: none).
    function disputeOfDigest(bytes32 digest) external view returns (uint256);

    /// @notice The EIP-712 digest of a statement in InferenceServing's domain.
    function statementDigest(ResponseStatement calldata statement) external view returns (bytes32);

    /// @notice Coin credited to `account`.
    function creditOf(address account) external view returns (uint256);

    /// @notice How many disputes were filed.
    function disputeCount() external view returns (uint256);
}

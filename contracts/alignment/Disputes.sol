// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {RegistryGovernedUpgradeable} from "../core/RegistryGovernedUpgradeable.sol";
import {IModuleRegistry} from "../core/interfaces/IModuleRegistry.sol";
import {IInferenceServing} from "../serving/interfaces/IInferenceServing.sol";
import {INodeStaking} from "../staking/interfaces/INodeStaking.sol";
import {IDisputes} from "./interfaces/IDisputes.sol";
import {ILicenseView} from "./interfaces/ILicenseView.sol";
import {ClippedMedian} from "./libraries/ClippedMedian.sol";

/**
 * @title Disputes
 * @notice Disputes against inference providers, voted by license holders with a clipped median (see `IDisputes`).
 * Deployed behind an ERC-1967 proxy (UUPS); governance (the registry owner) sets the parameters and authorizes
 * upgrades. The license, InferenceServing and NodeStaking are looked up in the registry; the license contract is
 * then fixed for each dispute at filing.
 *
 * Gas: `vote` reads one slot of the dispute (license contract, window, status) and rewrites two non-zero slots:
 * the license's 5-bit entry in its word for 51 consecutive disputes, and the dispute's one-slot histogram, opened
 * (made non-zero) at filing. A license's word is fresh (zero) the first time it votes in its 51 disputes, which
 * costs that vote a fresh SSTORE (20,000 gas more), unless anyone reserved the word beforehand with
 * `reserveVotes`, as alignment nodes do for their licenses (the same idea as pre-initialising an oracle's slots).
 * No voter count is kept: `resolve` reads the histogram once, whatever the number of voters.
 * @dev Invariants:
 * - a license's entry for a dispute goes from 0 (not voted) to `score + 1` once, and its claimed bit (bit 4) is set
 *   at most once, only when it voted within `clip` of the outcome of a rejected dispute; the histogram's total is
 *   the number of non-zero entries (every vote adds weight 1 to exactly one bucket, in the same transaction); the
 *   reserved bit (bit 255 of a word) is never read as a vote;
 * - a statement digest names at most one dispute; a dispute leaves OPEN once, so NodeStaking is called at most
 *   once per dispute and so per statement;
 * - `reward` only decreases, by exactly what `claimVoterReward` pays; `eligible` counts the eligible licenses not
 *   yet paid, so the last one takes what rounding left;
 * - `address(this).balance == Σ bond of OPEN disputes + Σ reward of REJECTED disputes + Σ credits`.
 */
contract Disputes is IDisputes, RegistryGovernedUpgradeable, ReentrancyGuardTransient {
    using ClippedMedian for ClippedMedian.Histogram;

    bytes32 private constant _STAKING = "NodeStaking";
    bytes32 private constant _SERVING = "InferenceServing";
    bytes32 private constant _LICENSE = "AlignmentLicense";
    uint256 private constant _UPHOLD_AT = 5;
    /// @dev A license's vote on a dispute: 5 bits, 51 disputes to a word; bit 255 marks a reserved word.
    uint256 private constant _ENTRY_BITS = 5;
    uint256 private constant _PER_WORD = 51;
    uint256 private constant _ENTRY_MASK = 0x1f;
    uint256 private constant _SCORE_MASK = 0x0f;
    uint256 private constant _CLAIMED = 0x10;
    uint256 private constant _RESERVED = 1 << 255;
    uint256 private constant _BPS = 10_000;

    // solhint-disable gas-small-strings
    bytes32 private constant _DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    );
    bytes32 private constant _NAME_HASH = keccak256("zerog InferenceServing");
    bytes32 private constant _VERSION_HASH = keccak256("1");
    bytes32 private constant _RESPONSE_TYPEHASH = keccak256(
        "Response(address user,address provider,bytes32 modelHash,bytes32 requestHash,bytes32 responseHash,"
        "uint256 inputTokens,uint256 outputTokens,uint256 fee,uint256 seq,uint256 cumulative)"
    );
    // solhint-enable gas-small-strings

    // solhint-disable gas-struct-packing
    struct Dispute {
        // slot 0: everything `vote` reads
        ILicenseView license;
        uint64 votingEnds;
        Status status;
        Kind kind;
        uint8 clip;
        uint8 outcome;
        // slot 1
        address filer;
        uint96 bond;
        // slot 2
        address provider;
        uint32 quorum;
        uint32 voters;
        uint32 eligible;
        // slot 3
        uint128 slashAmount;
        uint128 reward;
        // slot 4
        bytes32 digest;
        // slot 5
        bytes32 evidenceRoot;
        // slot 6
        uint256 licenseId;
        // slot 7
        uint64 policyVersion;
        uint128 slashed;
    }

    /// @custom:storage-location erc7201:zerog.alignment.Disputes
    struct DisputesStorage {
        IModuleRegistry registry;
        Params params;
        uint256 count;
        mapping(uint256 id => Dispute) disputes;
        mapping(uint256 id => ClippedMedian.Histogram) histograms;
        // Per license, 51 disputes to a word (dispute `id` in word `id / 51`, bits `5·(id % 51)` up): bits 0–3
        // the score + 1 (0: no vote), bit 4 claimed; bit 255 set when the word was reserved before its first vote.
        mapping(uint256 licenseId => mapping(uint256 word => uint256)) votes;
        mapping(bytes32 digest => uint256 id) byDigest;
        mapping(address account => uint256) credits;
    }
    // solhint-enable gas-struct-packing

    // keccak256(abi.encode(uint256(keccak256("zerog.alignment.Disputes")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant _STORAGE_SLOT =
        0xa6440820a70e7c61e29eb8b179ad2f3a554fff53ef3c693f4a866045141aa200;

    /**
     * @notice Sets up the proxy's state. Called once, by the proxy's constructor.
     * @param registry_ The module registry; its owner is governance.
     * @param params_ The first parameters.
     */
    function initialize(address registry_, Params calldata params_) external initializer {
        if (registry_ == address(0)) revert DisputesZeroAddress();
        _s().registry = IModuleRegistry(registry_);
        _setParams(params_);
    }

    // ─── Disputes ─────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IDisputes
    function fileDispute(
        uint256 licenseId,
        Kind kind,
        ResponseStatement calldata statement,
        bytes calldata providerSignature,
        bytes32 evidenceRoot,
        uint64 policyVersion
    ) external payable returns (uint256 id) {
        DisputesStorage storage $ = _s();
        ILicenseView license = _checkFiler($, licenseId);
        if (evidenceRoot == bytes32(0)) revert DisputesNoEvidence();
        bytes32 digest = _checkStatement($, kind, statement, providerSignature);
        uint256 existing = $.byDigest[digest];
        if (existing != 0) revert DisputesAlreadyDisputed(digest, existing);
        id = ++$.count;
        $.byDigest[digest] = id;
        Dispute storage d = $.disputes[id];
        _open($, d, license, kind, statement.provider);
        $.histograms[id].open();
        d.digest = digest;
        d.evidenceRoot = evidenceRoot;
        d.licenseId = licenseId;
        d.policyVersion = policyVersion;
        _emitFiled(id, d);
    }

    /// @inheritdoc IDisputes
    function vote(uint256 id, uint256 licenseId, uint8 score) external {
        DisputesStorage storage $ = _s();
        Dispute storage d = $.disputes[id];
        ILicenseView license = d.license;
        uint256 votingEnds = d.votingEnds;
        Status status = d.status;
        if (status != Status.OPEN) {
            if (status == Status.NONE) revert DisputesUnknownDispute(id);
            revert DisputesNotOpen(id);
        }
        if (block.number > votingEnds) revert DisputesVotingClosed(id, votingEnds);
        if (score > ClippedMedian.MAX_SCORE) revert DisputesInvalidScore(score);
        if (!license.isAuthorized(licenseId, msg.sender)) revert DisputesNotAuthorized(licenseId, msg.sender);
        _record($.votes[licenseId], id, licenseId, score);
        $.histograms[id].add(score, 1);
        emit Voted(id, licenseId, msg.sender, score);
    }

    /// @inheritdoc IDisputes
    function reserveVotes(uint256[] calldata licenseIds, uint256 fromId, uint256 toId) external {
        if (fromId == 0 || toId < fromId) revert DisputesInvalidRange(fromId, toId);
        uint256 first = fromId / _PER_WORD;
        uint256 last = toId / _PER_WORD;
        DisputesStorage storage $ = _s();
        for (uint256 i = 0; i < licenseIds.length; ++i) {
            mapping(uint256 => uint256) storage votes = $.votes[licenseIds[i]];
            for (uint256 index = first; index <= last; ++index) {
                if (votes[index] == 0) votes[index] = _RESERVED;
            }
        }
    }

    /// @inheritdoc IDisputes
    function resolve(uint256 id) external nonReentrant {
        DisputesStorage storage $ = _s();
        Dispute storage d = $.disputes[id];
        Status status = d.status;
        if (status != Status.OPEN) {
            if (status == Status.NONE) revert DisputesUnknownDispute(id);
            revert DisputesNotOpen(id);
        }
        uint256 votingEnds = d.votingEnds;
        if (block.number <= votingEnds) revert DisputesVotingOpen(id, votingEnds);
        uint256 histogram = $.histograms[id].load();
        (uint256 outcome, uint256 voters) = ClippedMedian.median(histogram);
        d.outcome = uint8(outcome);
        d.voters = uint32(voters);
        if (voters >= d.quorum && outcome >= _UPHOLD_AT) {
            d.status = Status.UPHELD;
            _credit($, d.filer, d.bond);
            uint256 slashed = _slash($, d);
            emit DisputeUpheld(id, d.provider, outcome, voters, slashed);
        } else {
            d.status = Status.REJECTED;
            uint256 eligible = ClippedMedian.weightWithin(histogram, outcome, d.clip);
            uint256 reward = 0;
            if (voters == 0) {
                // Nobody to pay the bond to: it goes back to the filer.
                _credit($, d.filer, d.bond);
            } else {
                reward = d.bond;
                d.reward = uint128(reward);
                d.eligible = uint32(eligible);
            }
            emit DisputeRejected(id, outcome, voters, eligible, reward);
        }
    }

    /// @inheritdoc IDisputes
    function claimVoterReward(uint256 id, uint256 licenseId) external nonReentrant returns (uint256 amount) {
        DisputesStorage storage $ = _s();
        Dispute storage d = $.disputes[id];
        Status status = d.status;
        if (status != Status.REJECTED) {
            if (status == Status.NONE) revert DisputesUnknownDispute(id);
            revert DisputesNotRejected(id);
        }
        mapping(uint256 => uint256) storage votes = $.votes[licenseId];
        uint256 index = id / _PER_WORD;
        uint256 shift = (id % _PER_WORD) * _ENTRY_BITS;
        uint256 word = votes[index];
        uint256 entry = (word >> shift) & _ENTRY_MASK;
        if (entry & _CLAIMED != 0) revert DisputesAlreadyClaimed(id, licenseId);
        uint256 stored = entry & _SCORE_MASK;
        if (stored == 0 || !ClippedMedian.within(stored - 1, d.outcome, d.clip)) {
            revert DisputesNotEligible(id, licenseId);
        }
        votes[index] = word | (_CLAIMED << shift);
        uint256 eligible = d.eligible;
        uint256 reward = d.reward;
        // The remaining reward over the remaining eligible licenses: the last one takes the rounding.
        amount = reward / eligible;
        d.reward = uint128(reward - amount);
        d.eligible = uint32(eligible - 1);
        _payout(d.license, id, licenseId, amount);
    }

    /// @inheritdoc IDisputes
    function withdraw() external nonReentrant {
        DisputesStorage storage $ = _s();
        uint256 amount = $.credits[msg.sender];
        if (amount == 0) revert DisputesNothingToWithdraw(msg.sender);
        $.credits[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        _pay(msg.sender, amount);
    }

    // ─── Governance ───────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IDisputes
    function setParams(Params calldata params_) external onlyGovernance {
        _setParams(params_);
    }

    // ─── Views ────────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IDisputes
    function params() external view returns (Params memory) {
        return _s().params;
    }

    /// @inheritdoc IDisputes
    function disputeOf(uint256 id) external view returns (DisputeInfo memory info) {
        DisputesStorage storage $ = _s();
        Dispute storage d = $.disputes[id];
        info.status = d.status;
        info.kind = d.kind;
        info.license = address(d.license);
        info.filer = d.filer;
        info.licenseId = d.licenseId;
        info.provider = d.provider;
        info.digest = d.digest;
        info.evidenceRoot = d.evidenceRoot;
        info.policyVersion = d.policyVersion;
        info.bond = d.bond;
        info.votingEnds = d.votingEnds;
        info.quorum = d.quorum;
        info.clip = d.clip;
        info.slashAmount = d.slashAmount;
        (info.outcome, info.voters) = _outcome($, d, id);
        info.eligible = d.eligible;
        info.reward = d.reward;
        info.slashed = d.slashed;
    }

    /// @inheritdoc IDisputes
    function voteOf(
        uint256 id,
        uint256 licenseId
    ) external view returns (bool voted, uint8 score, bool claimed) {
        uint256 entry =
            (_s().votes[licenseId][id / _PER_WORD] >> ((id % _PER_WORD) * _ENTRY_BITS)) & _ENTRY_MASK;
        uint256 stored = entry & _SCORE_MASK;
        voted = stored != 0;
        score = voted ? uint8(stored - 1) : 0;
        claimed = entry & _CLAIMED != 0;
    }

    /// @inheritdoc IDisputes
    function isReserved(uint256 licenseId, uint256 id) external view returns (bool) {
        return _s().votes[licenseId][id / _PER_WORD] != 0;
    }

    /// @inheritdoc IDisputes
    function outcomeOf(uint256 id) external view returns (Status status, uint256 outcome, uint256 voters) {
        DisputesStorage storage $ = _s();
        Dispute storage d = $.disputes[id];
        status = d.status;
        (outcome, voters) = _outcome($, d, id);
    }

    /// @inheritdoc IDisputes
    function disputeOfDigest(bytes32 digest) external view returns (uint256) {
        return _s().byDigest[digest];
    }

    /// @inheritdoc IDisputes
    function statementDigest(ResponseStatement calldata statement) external view returns (bytes32) {
        return _digest(_s().registry.getModule(_SERVING), statement);
    }

    /// @inheritdoc IDisputes
    function creditOf(address account) external view returns (uint256) {
        return _s().credits[account];
    }

    /// @inheritdoc IDisputes
    function disputeCount() external view returns (uint256) {
        return _s().count;
    }

    // ─── Internals ────────────────────────────────────────────────────────────────────────────────

    function _setParams(Params calldata p) private {
        if (p.votingBlocks == 0 || p.quorum == 0 || p.clip > ClippedMedian.MAX_SCORE) {
            revert DisputesInvalidParams();
        }
        _s().params = p;
        emit ParamsSet(p);
    }

    /// @dev Checks that the caller may file under license `licenseId` with `msg.value`; returns the license.
    function _checkFiler(
        DisputesStorage storage $,
        uint256 licenseId
    ) private view returns (ILicenseView license) {
        license = ILicenseView($.registry.getModule(_LICENSE));
        if (!license.isAuthorized(licenseId, msg.sender)) revert DisputesNotAuthorized(licenseId, msg.sender);
        uint256 bond = $.params.bond;
        if (bond != 0 && _staking($).mode() == INodeStaking.Mode.PERMISSIONED) revert DisputesNoTokenMode();
        if (msg.value != bond) revert DisputesWrongBond(msg.value, bond);
    }

    /// @dev Opens dispute `d` with the current parameters (fixed for it from now on).
    function _open(
        DisputesStorage storage $,
        Dispute storage d,
        ILicenseView license,
        Kind kind,
        address provider
    ) private {
        Params memory p = $.params;
        d.license = license;
        d.votingEnds = uint64(block.number + p.votingBlocks);
        d.status = Status.OPEN;
        d.kind = kind;
        d.clip = p.clip;
        d.filer = msg.sender;
        d.bond = p.bond;
        d.provider = provider;
        d.quorum = p.quorum;
        d.slashAmount = p.slashAmount;
    }

    /// @dev Records license `licenseId`'s `score` on dispute `id` in its vote words `votes`, once.
    function _record(
        mapping(uint256 => uint256) storage votes,
        uint256 id,
        uint256 licenseId,
        uint8 score
    ) private {
        uint256 index = id / _PER_WORD;
        uint256 shift = (id % _PER_WORD) * _ENTRY_BITS;
        uint256 word = votes[index];
        if ((word >> shift) & _SCORE_MASK != 0) revert DisputesAlreadyVoted(id, licenseId);
        votes[index] = word | ((uint256(score) + 1) << shift);
    }

    function _emitFiled(uint256 id, Dispute storage d) private {
        emit DisputeFiled(
            id,
            d.provider,
            d.licenseId,
            d.filer,
            d.kind,
            d.digest,
            d.evidenceRoot,
            d.policyVersion,
            d.bond,
            d.votingEnds
        );
    }

    /// @dev Checks that `signature` is the statement's provider's registered response signer's signature of it;
    /// returns its digest.
    function _checkStatement(
        DisputesStorage storage $,
        Kind kind,
        ResponseStatement calldata statement,
        bytes calldata signature
    ) private view returns (bytes32 digest) {
        address servingAddress = $.registry.getModule(_SERVING);
        IInferenceServing serving = IInferenceServing(servingAddress);
        address provider = statement.provider;
        if (!serving.isRegistered(provider)) revert DisputesProviderNotRegistered(provider);
        IInferenceServing.ServiceParams memory service = serving.serviceOf(provider).params;
        digest = _digest(servingAddress, statement);
        (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err != ECDSA.RecoverError.NoError || recovered != service.signer) {
            revert DisputesBadSignature(provider, recovered);
        }
        if (kind == Kind.REEXECUTION && !service.deterministic) revert DisputesNotDeterministic(provider);
    }

    /// @dev The statement's EIP-712 digest in the domain of the InferenceServing at `serving`.
    function _digest(address serving, ResponseStatement calldata statement) private view returns (bytes32) {
        bytes32 domain = keccak256(
            abi.encode(_DOMAIN_TYPEHASH, _NAME_HASH, _VERSION_HASH, block.chainid, serving)
        );
        return MessageHashUtils.toTypedDataHash(domain, keccak256(abi.encode(_RESPONSE_TYPEHASH, statement)));
    }

    /// @dev Has NodeStaking slash (or, PERMISSIONED, jail) the provider of upheld dispute `d`, once: the dispute
    /// just left OPEN. A provider that left NodeStaking entirely has nothing to slash; the dispute is still upheld.
    /// Checked beforehand rather than by catching a failed slash: a caught failure would also swallow a slash
    /// starved of gas by the caller's gas limit (63/64 rule), upholding the dispute with nobody slashed.
    function _slash(DisputesStorage storage $, Dispute storage d) private returns (uint256 slashed) {
        address provider = d.provider;
        INodeStaking staking = _staking($);
        INodeStaking.Position memory position = staking.positionOf(provider, INodeStaking.Role.PROVIDER);
        if (position.member || position.unbonding != 0) {
            slashed = staking.slash(provider, INodeStaking.Role.PROVIDER, d.slashAmount, d.digest, d.filer);
            d.slashed = uint128(slashed);
        }
    }

    /// @dev The stored outcome once resolved; the running median and vote count while open.
    function _outcome(
        DisputesStorage storage $,
        Dispute storage d,
        uint256 id
    ) private view returns (uint256 outcome, uint256 voters) {
        if (d.status == Status.OPEN) return ClippedMedian.median($.histograms[id].load());
        return (d.outcome, d.voters);
    }

    function _credit(DisputesStorage storage $, address account, uint256 amount) private {
        if (amount == 0) return;
        $.credits[account] += amount;
        emit Credited(account, amount);
    }

    /// @dev Pays `amount` for license `licenseId`: the commission to its operator, the rest to its holder.
    function _payout(ILicenseView license, uint256 id, uint256 licenseId, uint256 amount) private {
        address holder = license.ownerOf(licenseId);
        (address operator, uint256 bps) = license.operatorOf(licenseId);
        uint256 commission = operator == address(0) ? 0 : (amount * (bps > _BPS ? _BPS : bps)) / _BPS;
        emit VoterRewardClaimed(id, licenseId, holder, amount - commission, operator, commission);
        _pay(operator, commission);
        _pay(holder, amount - commission);
    }

    function _pay(address to, uint256 amount) private {
        if (amount == 0) return;
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok, ) = to.call{value: amount}("");
        if (!ok) revert DisputesTransferFailed(to, amount);
    }

    function _staking(DisputesStorage storage $) private view returns (INodeStaking) {
        return INodeStaking($.registry.getModule(_STAKING));
    }

    /// @dev The registry, from this module's namespace.
    function _registry() internal view override returns (IModuleRegistry) {
        return _s().registry;
    }

    function _revertNotGovernance(address caller) internal pure override {
        revert DisputesNotGovernance(caller);
    }

    function _s() private pure returns (DisputesStorage storage $) {
        // solhint-disable-next-line no-inline-assembly
        assembly {
            $.slot := _STORAGE_SLOT
        }
    }
}

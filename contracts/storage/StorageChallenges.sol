// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {RegistryGovernedUpgradeable} from "../core/RegistryGovernedUpgradeable.sol";
import {IModuleRegistry} from "../core/interfaces/IModuleRegistry.sol";
import {INodeStaking} from "../staking/interfaces/INodeStaking.sol";
import {IFlow} from "./interfaces/IFlow.sol";
import {IMarket} from "./interfaces/IMarket.sol";
import {IStorageChallenges} from "./interfaces/IStorageChallenges.sol";
import {ShardLayout} from "./libraries/ShardLayout.sol";

/**
 * @title StorageChallenges
 * @notice Proof of storage by challenge and response over the Flow's submissions (see `IStorageChallenges`).
 * Deployed behind an ERC-1967 proxy (UUPS); governance (the registry owner) sets the parameters and authorizes
 * upgrades. Flow, Market and NodeStaking are looked up in the registry at call time.
 *
 * How a challenge is drawn. Each node keeps an append-only list of declarations, each with the cumulative
 * weight (data sectors in the node's shard) of the list up to it, and a list of checkpoints `(epoch, entry
 * count, live weight)` written for the next epoch by every declaration change. For epoch `e` the visible list
 * is the checkpoint's first `count` entries, of total weight `T`; the draw `r = keccak(seed, node, attempt) % T`
 * picks the entry whose cumulative range holds `r` by binary search, and `r`'s offset in that range picks the
 * entry's in-shard sector. An entry that was undeclared or pruned before `e`, or whose data expired by the
 * epoch's seed time, is rejected and the draw repeated, at most `_MAX_DRAWS` times; so an accepted sector is
 * uniform over the live declared sectors, and a node whose dropped weight is a fraction `d` of `T` is left
 * unchallenged (and unrewarded) with probability `d^16`.
 *
 * NOTE: `answer` does not call NodeStaking (it would cost ~14,000 gas): an answer proves possession and records
 * it; whether the node may be paid is checked at `claim` (active in NodeStaking), and a node that left has its
 * shares `forfeit`ed back to the pool.
 * @dev Invariants:
 * - `reserved == Σ budgetLeft` over settled epochs, and for each settled epoch
 *   `budget == budgetLeft + Σ claimed + Σ forfeited`, `weightLeft == answeredWeight - Σ weights claimed or
 *   forfeited`, and `weightLeft == 0` implies `budgetLeft == 0`; so Σ paid ≤ Σ budgets ≤ Market pool inflows;
 * - a node's entry list only grows and `cumWeight` strictly increases along it; an entry appended in epoch `c`
 *   is counted from the checkpoint of `c + 1`; checkpoint epochs (the history's, then the head's) strictly
 *   increase and never exceed `currentEpoch() + 1`, so the checkpoint of any epoch up to the current one is
 *   final, and its weight is Σ weight of its visible entries with `e < untilEpoch`; the head's `count` is the
 *   entry list's length;
 * - a declaration made in epoch `c` is visible from `c + 1`, whose seed is the hash of a later block;
 * - each (node, epoch) is answered at most once, slashed at most once, never both, claimed or forfeited at most
 *   once and only if answered;
 * - an epoch's seed, start block, deadline and seed time never change once recorded (`deadline != 0`), and
 *   `deadline <= startBlock + 255`, so during the answer window the seed equals `_seedAt(startBlock, epoch)`;
 * - the answered bits of the head's window are only in the head, those of every other window only in the bitmap.
 */
contract StorageChallenges is IStorageChallenges, RegistryGovernedUpgradeable, ReentrancyGuardTransient {
    using EnumerableSet for EnumerableSet.AddressSet;

    bytes32 private constant _FLOW = "Flow";
    bytes32 private constant _MARKET = "Market";
    bytes32 private constant _STAKING = "NodeStaking";
    uint256 private constant _BPS = 10_000;
    uint256 private constant _SECTOR_BYTES = 256;
    /// @dev Where the packed arguments of `answer` lie in the call data: after the 4-byte selector, a 4-byte
    /// epoch, the 256-byte sector, then the siblings.
    uint256 private constant _EPOCH_AT = 4;
    uint256 private constant _SECTOR_AT = 8;
    uint256 private constant _SIBLINGS_AT = 264;
    /// @dev Redraws after hitting dropped weight: a node with dropped fraction d goes unchallenged w.p. d^16.
    uint256 private constant _MAX_DRAWS = 16;
    /// @dev `blockhash` covers the 256 most recent blocks.
    uint256 private constant _BLOCKHASH_DEPTH = 256;
    uint256 private constant _MIN_EPOCH_BLOCKS = 2;
    uint256 private constant _MAX_EPOCH_BLOCKS = 1_000_000;
    uint256 private constant _MAX_RESPONSE_WINDOW = 255;
    uint256 private constant _MAX_DATA_LIFETIME = 100 * 365 days;
    uint32 private constant _OPEN = type(uint32).max;
    bytes32 private constant _EVIDENCE_TAG = "storage-challenge";

    // The fields are grouped by which calls read them together; the linter's reordering would not save a slot.
    // solhint-disable gas-struct-packing

    /// @dev One declaration: two slots. Slot 1 is all a draw reads (the binary search and the checks), and with
    /// the root all an answer reads of it.
    struct Entry {
        bytes32 dataRoot;
        // slot 1
        uint64 cumWeight;
        uint32 untilEpoch;
        uint48 expiresAt;
        // The Flow's heights of the file's nodes (see `_pathOf`), copied so that `answer` does not call the Flow.
        uint8 top;
        uint8 lowerHeights;
        // Where the file's sectors in the node's shard lie (`ShardLayout.placement`).
        uint32 numShard;
        uint32 shardDelta;
        uint16 headOffset;
        uint16 firstCount;
    }

    /// @dev From `epoch` on (until the next checkpoint) the first `count` entries are visible, `total` is the
    /// last one's `cumWeight` (0 if none), and `weight` of it is live. One slot.
    struct Checkpoint {
        uint32 epoch;
        uint32 count;
        uint64 weight;
        uint64 total;
    }

    /// @dev A node's hot slot: its latest checkpoint (the fields of `Checkpoint`; `epoch` 0: none yet), and which
    /// of the 32 epochs of window `answeredWindow` (`epoch >> 5`) it answered. The answers of every other window
    /// are in `NodeState.answeredBits`; the window only moves forward.
    struct Head {
        uint32 answeredBits;
        uint32 answeredWindow;
        uint32 epoch;
        uint32 count;
        uint64 weight;
        uint64 total;
    }

    struct NodeState {
        Head head;
        Entry[] entries;
        // The checkpoints the head superseded, oldest first (epochs increasing, below the head's).
        Checkpoint[] history;
        mapping(bytes32 dataRoot => uint256 indexPlusOne) declared;
        mapping(uint256 word => uint256 bits) answeredBits;
        mapping(uint256 word => uint256 bits) settledBits;
        mapping(uint256 word => uint256 bits) slashedBits;
    }

    struct EpochData {
        // Written when the seed is recorded; read after the answer window (an answer re-derives it).
        bytes32 seed;
        // slot 1: all an answer reads and writes once the seed is recorded; `deadline` 0: not recorded.
        uint96 answeredWeight;
        uint48 startBlock;
        uint48 deadline;
        uint48 seededAt;
        bool settled;
        uint128 budget;
        uint128 budgetLeft;
        uint96 weightLeft;
    }

    /// @custom:storage-location erc7201:zerog.storage.StorageChallenges
    struct ChallengesStorage {
        IModuleRegistry registry;
        Params params;
        uint64 anchorEpoch;
        uint64 anchorBlock;
        uint256 reserved;
        mapping(address node => NodeState) nodes;
        mapping(uint256 epoch => EpochData) epochs;
        mapping(bytes32 dataRoot => uint64) firstDeclaredAt;
        mapping(bytes32 dataRoot => EnumerableSet.AddressSet) holders;
    }
    // solhint-enable gas-struct-packing

    /// @dev The outcome of deriving an epoch's seed.
    enum SeedStatus {
        OK,
        NOT_STARTED,
        VOID
    }

    /// @dev What the declarations of one `declare` call share.
    struct Declaring {
        IFlow flow;
        uint32 shardId;
        uint32 numShard;
        uint32 fromEpoch;
    }

    /// @dev A drawn challenge.
    struct Draw {
        bool found;
        uint256 entryIndex;
        uint256 sectorIndex;
        uint256 weight;
    }

    // keccak256(abi.encode(uint256(keccak256("zerog.storage.StorageChallenges")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant _STORAGE_SLOT =
        0x2a84af6fba0f7bb25400da7e60df7ea0399769653211f65e8065ff609a617d00;

    /**
     * @notice Sets up the proxy's state; epoch 0 starts at this block. Called once, by the proxy's constructor.
     * @param registry_ The module registry; its owner is governance.
     * @param params_ The first parameters.
     */
    function initialize(address registry_, Params calldata params_) external initializer {
        if (registry_ == address(0)) revert ChallengesZeroAddress();
        ChallengesStorage storage $ = _s();
        $.registry = IModuleRegistry(registry_);
        _validate(params_);
        $.params = params_;
        $.anchorBlock = uint64(block.number);
        emit ParamsSet(params_, 0, block.number);
    }

    // ─── Declarations ─────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IStorageChallenges
    function declare(bytes32[] calldata dataRoots) external {
        ChallengesStorage storage $ = _s();
        INodeStaking staking = _staking($);
        if (!staking.isActive(msg.sender, INodeStaking.Role.STORAGE)) {
            revert ChallengesNotStorageNode(msg.sender);
        }
        Declaring memory batch;
        (batch.shardId, batch.numShard) = _shardOf(staking, msg.sender);
        batch.fromEpoch = SafeCast.toUint32(_currentEpoch($) + 1);
        batch.flow = IFlow($.registry.getModule(_FLOW));
        NodeState storage n = $.nodes[msg.sender];
        uint256 weight = n.head.weight;
        for (uint256 i = 0; i < dataRoots.length; ++i) {
            weight += _declareOne($, n, batch, dataRoots[i]);
        }
        _writeCheckpoint(n, batch.fromEpoch, weight);
    }

    /// @inheritdoc IStorageChallenges
    function undeclare(bytes32[] calldata dataRoots) external {
        _end(msg.sender, dataRoots, false);
    }

    /// @inheritdoc IStorageChallenges
    function prune(address node, bytes32[] calldata dataRoots) external {
        _end(node, dataRoots, true);
    }

    // ─── Challenges ───────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IStorageChallenges
    function seed(uint256 epoch) external returns (bytes32) {
        (bytes32 s, ) = _recordSeed(_s(), epoch);
        return s;
    }

    /// @inheritdoc IStorageChallenges
    function answer() external {
        (uint256 epoch, bytes calldata sector, bytes32[] calldata siblings) = _decodeAnswer();
        (EpochData storage ep, NodeState storage n, Draw memory d) = _openChallenge(epoch);
        Entry storage entry = _entryAt(n.entries, d.entryIndex);
        (uint256 path, uint256 depth) = _pathOf(entry, d.sectorIndex);
        if (siblings.length != depth) revert ChallengesInvalidProofLength(siblings.length, depth);
        bytes32 dataRoot = entry.dataRoot;
        if (_foldPath(sector, path, siblings) != dataRoot) revert ChallengesInvalidProof();
        // Checked: Σ weights over nodes stays below 2^96 sectors (a node's weight is below 2^64, the log's size).
        ep.answeredWeight += uint96(d.weight);
        emit Answered(msg.sender, epoch, dataRoot);
    }

    /// @inheritdoc IStorageChallenges
    function slashMissed(address node, uint256 epoch) external returns (uint256 slashed) {
        ChallengesStorage storage $ = _s();
        (bytes32 s, EpochData storage ep) = _recordSeed($, epoch);
        uint256 deadline = ep.deadline;
        if (block.number <= deadline) revert ChallengesWindowOpen(epoch, deadline);
        NodeState storage n = $.nodes[node];
        if (_answered(n, epoch)) revert ChallengesAlreadyAnswered(node, epoch);
        if (_bit(n.slashedBits, epoch)) revert ChallengesAlreadySlashed(node, epoch);
        uint256 seededAt = ep.seededAt;
        INodeStaking staking = _staking($);
        if (!_draw(n, s, node, epoch, seededAt).found || !_challengeable(staking, node, seededAt)) {
            revert ChallengesNoChallenge(node, epoch);
        }
        _setBit(n.slashedBits, epoch);
        slashed = staking.slash(
            node,
            INodeStaking.Role.STORAGE,
            $.params.slashAmount,
            keccak256(abi.encode(_EVIDENCE_TAG, node, epoch)),
            msg.sender
        );
        emit MissSlashed(node, epoch, msg.sender, slashed);
    }

    // ─── Rewards ──────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IStorageChallenges
    function settle(uint256 epoch) external returns (uint256 budget) {
        ChallengesStorage storage $ = _s();
        (, EpochData storage ep) = _recordSeed($, epoch);
        return _settle($, ep, epoch);
    }

    /// @inheritdoc IStorageChallenges
    function claim(uint256[] calldata epochs) external nonReentrant returns (uint256 amount) {
        ChallengesStorage storage $ = _s();
        if (!_staking($).isActive(msg.sender, INodeStaking.Role.STORAGE))
            revert ChallengesNodeInactive(msg.sender);
        for (uint256 i = 0; i < epochs.length; ++i) {
            uint256 share = _takeShare($, msg.sender, epochs[i]);
            amount += share;
            emit RewardClaimed(msg.sender, epochs[i], share);
        }
        if (amount != 0) IMarket($.registry.getModule(_MARKET)).payReward(msg.sender, amount);
    }

    /// @inheritdoc IStorageChallenges
    function forfeit(address node, uint256[] calldata epochs) external nonReentrant {
        ChallengesStorage storage $ = _s();
        if (_staking($).positionOf(node, INodeStaking.Role.STORAGE).member)
            revert ChallengesNodeStillMember(node);
        for (uint256 i = 0; i < epochs.length; ++i) {
            emit RewardForfeited(node, epochs[i], _takeShare($, node, epochs[i]));
        }
    }

    // ─── Governance ───────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IStorageChallenges
    function setParams(Params calldata params_) external onlyGovernance {
        ChallengesStorage storage $ = _s();
        _validate(params_);
        uint256 firstEpoch = _currentEpoch($);
        uint256 firstBlock = epochStartBlock(firstEpoch);
        if (params_.epochBlocks != $.params.epochBlocks) {
            // Keep the running epoch alive if its seed can still be taken, then start the next one now: the
            // declarations already made for it committed before this block's hash exists.
            if (_deriveSeed($, firstEpoch) == SeedStatus.OK) _recordSeed($, firstEpoch);
            ++firstEpoch;
            firstBlock = block.number;
            $.anchorEpoch = uint64(firstEpoch);
            $.anchorBlock = uint64(block.number);
        }
        $.params = params_;
        emit ParamsSet(params_, firstEpoch, firstBlock);
    }

    // ─── Views ────────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IStorageChallenges
    function params() external view returns (Params memory) {
        return _s().params;
    }

    /// @inheritdoc IStorageChallenges
    function currentEpoch() external view returns (uint256) {
        return _currentEpoch(_s());
    }

    /// @inheritdoc IStorageChallenges
    function epochStartBlock(uint256 epoch) public view returns (uint256) {
        ChallengesStorage storage $ = _s();
        if (epoch < $.anchorEpoch) return 0;
        return $.anchorBlock + (epoch - $.anchorEpoch) * $.params.epochBlocks;
    }

    /// @inheritdoc IStorageChallenges
    function epochInfo(uint256 epoch) external view returns (EpochInfo memory info) {
        EpochData storage ep = _s().epochs[epoch];
        info = EpochInfo({
            seed: ep.seed,
            deadline: ep.deadline,
            seededAt: ep.seededAt,
            settled: ep.settled,
            answeredWeight: ep.answeredWeight,
            budget: ep.budget,
            budgetLeft: ep.budgetLeft,
            weightLeft: ep.weightLeft
        });
    }

    /// @inheritdoc IStorageChallenges
    function reserved() external view returns (uint256) {
        return _s().reserved;
    }

    /// @inheritdoc IStorageChallenges
    function challengeOf(address node, uint256 epoch) external view returns (Challenge memory c) {
        ChallengesStorage storage $ = _s();
        EpochData storage ep = $.epochs[epoch];
        uint256 deadline = ep.deadline;
        bytes32 s = ep.seed;
        uint256 seededAt = ep.seededAt;
        if (deadline == 0) {
            if (_deriveSeed($, epoch) != SeedStatus.OK) return c;
            s = _seedFor(epoch);
            seededAt = block.timestamp;
            deadline = epochStartBlock(epoch) + $.params.responseWindow;
        }
        NodeState storage n = $.nodes[node];
        Draw memory d = _draw(n, s, node, epoch, seededAt);
        if (!d.found || !_challengeable(_staking($), node, seededAt)) return c;
        c = Challenge({
            active: true,
            dataRoot: _entryAt(n.entries, d.entryIndex).dataRoot,
            sectorIndex: d.sectorIndex,
            deadline: deadline,
            weight: d.weight
        });
    }

    /// @inheritdoc IStorageChallenges
    function weightOf(address node, uint256 epoch) external view returns (uint256) {
        (, uint256 weight, ) = _checkpointAt(_s().nodes[node], epoch);
        return weight;
    }

    /// @inheritdoc IStorageChallenges
    function isDeclared(address node, bytes32 dataRoot) public view returns (bool) {
        NodeState storage n = _s().nodes[node];
        uint256 indexPlusOne = n.declared[dataRoot];
        return indexPlusOne != 0 && n.entries[indexPlusOne - 1].expiresAt > block.timestamp;
    }

    /// @inheritdoc IStorageChallenges
    function declaredRoots(address node) external view returns (bytes32[] memory roots) {
        Entry[] storage entries = _s().nodes[node].entries;
        roots = new bytes32[](entries.length);
        uint256 count = 0;
        for (uint256 i = 0; i < entries.length; ++i) {
            if (entries[i].untilEpoch == _OPEN && entries[i].expiresAt > block.timestamp) {
                roots[count] = entries[i].dataRoot;
                ++count;
            }
        }
        _shrink(roots, count);
    }

    /// @inheritdoc IStorageChallenges
    function holdersOf(bytes32 dataRoot) external view returns (address[] memory nodes) {
        nodes = _s().holders[dataRoot].values();
        uint256 count = 0;
        for (uint256 i = 0; i < nodes.length; ++i) {
            if (isDeclared(nodes[i], dataRoot)) {
                nodes[count] = nodes[i];
                ++count;
            }
        }
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            mstore(nodes, count)
        }
    }

    /// @inheritdoc IStorageChallenges
    function answered(address node, uint256 epoch) external view returns (bool) {
        return _answered(_s().nodes[node], epoch);
    }

    /// @inheritdoc IStorageChallenges
    function firstDeclaredAt(bytes32 dataRoot) external view returns (uint256) {
        return _s().firstDeclaredAt[dataRoot];
    }

    // ─── Internal: epochs and seeds ───────────────────────────────────────────────────────────────

    /// @dev The registry is a field of this module's namespace.
    function _registry() internal view override returns (IModuleRegistry) {
        return _s().registry;
    }

    /// @dev Reverts with `ChallengesNotGovernance(caller)`.
    function _revertNotGovernance(address caller) internal pure override {
        revert ChallengesNotGovernance(caller);
    }

    function _currentEpoch(ChallengesStorage storage $) private view returns (uint256) {
        return $.anchorEpoch + (block.number - $.anchorBlock) / $.params.epochBlocks;
    }

    /// @dev Whether `epoch`'s seed can be taken now: started, and its start block hash still available.
    function _deriveSeed(ChallengesStorage storage $, uint256 epoch) private view returns (SeedStatus) {
        if (epoch > _currentEpoch($)) return SeedStatus.NOT_STARTED;
        // Epochs before the last schedule change exist only if their seed was recorded then.
        if (epoch < $.anchorEpoch) return SeedStatus.VOID;
        uint256 start = epochStartBlock(epoch);
        if (block.number <= start) return SeedStatus.NOT_STARTED;
        if (block.number - start > _BLOCKHASH_DEPTH) return SeedStatus.VOID;
        return SeedStatus.OK;
    }

    /// @dev The seed of an epoch whose start block hash is available (checked by `_deriveSeed`).
    function _seedFor(uint256 epoch) private view returns (bytes32) {
        return _seedAt(epochStartBlock(epoch), epoch);
    }

    /// @dev The seed of `epoch` starting at block `start`: keccak256(abi.encode(blockhash(start), this, epoch)).
    function _seedAt(uint256 start, uint256 epoch) private view returns (bytes32 s) {
        bytes32 hash = blockhash(start);
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let free := mload(0x40)
            mstore(free, hash)
            mstore(add(free, 0x20), address())
            mstore(add(free, 0x40), epoch)
            s := keccak256(free, 0x60)
        }
    }

    /// @dev The epoch's seed, recorded now if it was not; reverts when the epoch has not started or is void.
    function _recordSeed(
        ChallengesStorage storage $,
        uint256 epoch
    ) private returns (bytes32 s, EpochData storage ep) {
        ep = $.epochs[epoch];
        if (ep.deadline != 0) return (ep.seed, ep);
        SeedStatus status = _deriveSeed($, epoch);
        if (status == SeedStatus.NOT_STARTED) revert ChallengesEpochNotStarted(epoch);
        if (status == SeedStatus.VOID) revert ChallengesEpochVoid(epoch);
        uint256 start = epochStartBlock(epoch);
        s = _seedAt(start, epoch);
        // Not zero: at least 1 (the response window).
        uint256 deadline = start + $.params.responseWindow;
        ep.seed = s;
        ep.startBlock = SafeCast.toUint48(start);
        ep.deadline = SafeCast.toUint48(deadline);
        ep.seededAt = SafeCast.toUint48(block.timestamp);
        emit SeedRecorded(epoch, s, deadline);
    }

    /**
     * @dev The caller's challenge of `epoch` (below 2^32), recording the seed if needed, and records it answered
     * (reverting if it already was); the caller reverts unless the answer is right.
     */
    function _openChallenge(
        uint256 epoch
    ) private returns (EpochData storage ep, NodeState storage n, Draw memory d) {
        ChallengesStorage storage $ = _s();
        ep = $.epochs[epoch];
        (bytes32 s, uint256 seededAt) = _answerSeed($, ep, epoch);
        n = $.nodes[msg.sender];
        _setAnswered(n, epoch);
        d = _draw(n, s, msg.sender, epoch, seededAt);
        if (!d.found) revert ChallengesNoChallenge(msg.sender, epoch);
    }

    /**
     * @dev The seed and seed time of `epoch` for an answer, recording them if needed; reverts past the deadline.
     * Once recorded the seed is re-derived rather than read: an answer lands after the seed was recorded (so
     * after `startBlock`) and at most `responseWindow` ≤ 255 blocks after `startBlock`, where `blockhash` still
     * returns the hash the recorded seed was taken from.
     */
    function _answerSeed(
        ChallengesStorage storage $,
        EpochData storage ep,
        uint256 epoch
    ) private returns (bytes32 s, uint256 seededAt) {
        // One read of the slot.
        (uint256 start, uint256 deadline, uint256 recordedAt) = (ep.startBlock, ep.deadline, ep.seededAt);
        if (deadline == 0) {
            (s, ) = _recordSeed($, epoch);
            (deadline, recordedAt) = (ep.deadline, ep.seededAt);
        } else {
            s = _seedAt(start, epoch);
        }
        if (block.number > deadline) revert ChallengesWindowClosed(epoch, deadline);
        seededAt = recordedAt;
    }

    // ─── Internal: draws and proofs ───────────────────────────────────────────────────────────────

    /// @dev The challenge of `node` in `epoch` from its declarations (see the contract's NatSpec).
    function _draw(
        NodeState storage n,
        bytes32 s,
        address node,
        uint256 epoch,
        uint256 seededAt
    ) private view returns (Draw memory d) {
        (uint256 count, uint256 weight, uint256 total) = _checkpointAt(n, epoch);
        // weight != 0 implies count != 0 and total >= weight.
        if (weight == 0) return d;
        Entry[] storage entries = n.entries;
        for (uint256 attempt = 0; attempt < _MAX_DRAWS; ++attempt) {
            uint256 r = uint256(_drawHash(s, node, attempt)) % total;
            (uint256 index, uint256 below) = _search(entries, count, r);
            Entry storage entry = _entryAt(entries, index);
            // One read of the slot.
            (uint256 untilEpoch, uint256 expiresAt) = (entry.untilEpoch, entry.expiresAt);
            if (untilEpoch > epoch && expiresAt > seededAt) {
                d.found = true;
                d.entryIndex = index;
                // unchecked: `below` is a cumulative weight at most `r` (see `_search`).
                uint256 offset;
                unchecked {
                    offset = r - below;
                }
                d.sectorIndex = ShardLayout.fileIndexAt(
                    entry.numShard,
                    entry.shardDelta,
                    entry.headOffset,
                    entry.firstCount,
                    offset
                );
                d.weight = weight;
                return d;
            }
        }
    }

    /**
     * @dev `entries[index]` without the bounds check (a cold read of the length): callers pass an index below a
     * checkpoint's count, and a checkpoint counts entries that existed when it was written (the list only grows).
     */
    function _entryAt(Entry[] storage entries, uint256 index) private pure returns (Entry storage entry) {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            mstore(0x00, entries.slot)
            // An entry is two slots.
            entry.slot := add(keccak256(0x00, 0x20), shl(1, index))
        }
    }

    /// @dev keccak256(abi.encode(s, node, attempt)).
    function _drawHash(bytes32 s, address node, uint256 attempt) private pure returns (bytes32 h) {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let free := mload(0x40)
            mstore(free, s)
            mstore(add(free, 0x20), node)
            mstore(add(free, 0x40), attempt)
            h := keccak256(free, 0x60)
        }
    }

    /**
     * @dev The first of the first `count` entries whose cumulative weight exceeds `r` (`r` < the last one's), and
     * the cumulative weight before it: the one at the last step right (0 if none), as `low` only moves there.
     */
    function _search(
        Entry[] storage entries,
        uint256 count,
        uint256 r
    ) private view returns (uint256 low, uint256 below) {
        // unchecked: count >= 1 (a checkpoint with weight), and low <= high < count < 2^32.
        unchecked {
            uint256 high = count - 1;
            while (low < high) {
                uint256 mid = (low + high) >> 1;
                uint256 cum = _entryAt(entries, mid).cumWeight;
                if (cum > r) {
                    high = mid;
                } else {
                    low = mid + 1;
                    below = cum;
                }
            }
        }
    }

    /**
     * @dev The packed arguments of `answer` after the selector: `uint32 epoch ‖ sector (256 bytes) ‖ siblings
     * (32 bytes each)`; reverts unless the length is of that form.
     */
    function _decodeAnswer()
        private
        pure
        returns (uint256 epoch, bytes calldata sector, bytes32[] calldata siblings)
    {
        uint256 length = msg.data.length;
        // unchecked: the subtraction runs only when length >= _SIBLINGS_AT.
        unchecked {
            if (length < _SIBLINGS_AT || (length - _SIBLINGS_AT) & 31 != 0) {
                revert ChallengesInvalidAnswerLength(length);
            }
        }
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            // Safe: the call data holds the epoch and the sector, then a whole number of words (checked above).
            epoch := shr(224, calldataload(_EPOCH_AT))
            sector.offset := _SECTOR_AT
            sector.length := _SECTOR_BYTES
            siblings.offset := _SIBLINGS_AT
            siblings.length := shr(5, sub(length, _SIBLINGS_AT))
        }
    }

    /**
     * @dev The path from file sector `sectorIndex` to the data root, and its length. The file is the Flow's nodes
     * (heights `top`, then the lower ones the entry recorded) laid out from the file's start, and the data root
     * is the last node root folded leftwards with the others (`IFlow.dataRootOf`). So the path climbs the
     * `height` levels of the node `i` holding the sector, the sector's position in it giving the sides; then, if
     * a node follows, one level with the running node on the left (the fold of the nodes after it on the right);
     * then `i` levels with it on the right (the roots of the nodes before it on the left). Bit `l` of `path` set:
     * the running node is the right child at level `l`.
     */
    function _pathOf(
        Entry storage entry,
        uint256 sectorIndex
    ) private view returns (uint256 path, uint256 depth) {
        // One read of the slot.
        (uint256 top, uint256 lower) = (entry.top, entry.lowerHeights);
        uint256 height = top;
        uint256 i = 0;
        uint256 bit = 0;
        // unchecked: heights are below 64 and there are at most 4 nodes, so sizes stay below 2^64 and the path
        // below 2^67; the drawn sector is a data sector of the file, so it lies in one of its nodes and a lower
        // height is recorded (bit <= 2, top - 1 - bit >= 0) whenever the loop moves past a node.
        unchecked {
            while (sectorIndex >= 1 << height) {
                sectorIndex -= 1 << height;
                while ((lower >> bit) & 1 == 0) ++bit;
                height = top - 1 - bit;
                ++bit;
                ++i;
            }
            // Bit `b` of `lower` above the node's own: a node follows.
            uint256 follows = lower >> bit == 0 ? 0 : 1;
            path = sectorIndex | (((1 << i) - 1) << (height + follows));
            depth = height + follows + i;
        }
    }

    /**
     * @dev The root from the leaf keccak256(sector) and its siblings, bottom up: bit `level` of `path` clear puts
     * the running node on the left. The caller checked `sector.length == 256` and that `siblings` is the path's
     * length (below 67).
     */
    function _foldPath(
        bytes calldata sector,
        uint256 path,
        bytes32[] calldata siblings
    ) private pure returns (bytes32 node) {
        // Four levels a loop, ~100 gas a level (Solidity: ~270). A level puts the sibling at 0x20 and the node at
        // 0x00 and 0x40 (the free memory pointer, restored at the end; no other code runs meanwhile), and hashes
        // at 0x00 (node left: bit clear) or 0x20 (node right: bit set).
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let free := mload(0x40)
            calldatacopy(free, sector.offset, 256)
            node := keccak256(free, 256)
            let at := siblings.offset
            // The levels beyond a multiple of four first, one at a time.
            for {
                let first := add(at, shl(5, and(siblings.length, 3)))
            } lt(at, first) {
                at := add(at, 0x20)
            } {
                mstore(0x00, node)
                mstore(0x40, node)
                mstore(0x20, calldataload(at))
                node := keccak256(and(shl(5, path), 0x20), 0x40)
                path := shr(1, path)
            }
            for {
                let end := add(siblings.offset, shl(5, siblings.length))
            } lt(at, end) {
                at := add(at, 0x80)
            } {
                mstore(0x00, node)
                mstore(0x40, node)
                mstore(0x20, calldataload(at))
                node := keccak256(and(shl(5, path), 0x20), 0x40)
                mstore(0x00, node)
                mstore(0x40, node)
                mstore(0x20, calldataload(add(at, 0x20)))
                node := keccak256(and(shl(4, path), 0x20), 0x40)
                mstore(0x00, node)
                mstore(0x40, node)
                mstore(0x20, calldataload(add(at, 0x40)))
                node := keccak256(and(shl(3, path), 0x20), 0x40)
                mstore(0x00, node)
                mstore(0x40, node)
                mstore(0x20, calldataload(add(at, 0x60)))
                node := keccak256(and(shl(2, path), 0x20), 0x40)
                path := shr(4, path)
            }
            mstore(0x40, free)
        }
    }

    /// @dev Whether `node` must answer for an epoch seeded at `seededAt`: active in NodeStaking now, or it left
    /// the role (exit) after the seed was recorded and its coin is still unbonding.
    function _challengeable(
        INodeStaking staking,
        address node,
        uint256 seededAt
    ) private view returns (bool) {
        if (staking.isActive(node, INodeStaking.Role.STORAGE)) return true;
        INodeStaking.Position memory p = staking.positionOf(node, INodeStaking.Role.STORAGE);
        return !p.member && p.unbonding != 0 && p.unbondingReleaseAt >= seededAt + staking.unbondingDelay();
    }

    // ─── Internal: declarations ───────────────────────────────────────────────────────────────────

    /// @dev Appends the caller's declaration of `root` (as part of `batch`); returns its weight.
    function _declareOne(
        ChallengesStorage storage $,
        NodeState storage n,
        Declaring memory batch,
        bytes32 root
    ) private returns (uint256 weight) {
        if (n.declared[root] != 0) revert ChallengesAlreadyDeclared(msg.sender, root);
        if (!batch.flow.isSubmitted(root)) revert ChallengesUnknownRoot(root);
        IFlow.SubmissionInfo memory info = batch.flow.submissionOf(root);
        uint256 first = $.firstDeclaredAt[root];
        if (first == 0) {
            first = block.timestamp;
            $.firstDeclaredAt[root] = uint64(block.timestamp);
        }
        uint256 expiresAt = first + $.params.dataLifetime;
        if (expiresAt <= block.timestamp) revert ChallengesDataExpired(root);
        Entry memory entry;
        (entry, weight) = _entryOf(batch, info, root);
        uint256 length = n.entries.length;
        entry.cumWeight = SafeCast.toUint64((length == 0 ? 0 : n.entries[length - 1].cumWeight) + weight);
        entry.expiresAt = SafeCast.toUint48(expiresAt);
        n.entries.push(entry);
        n.declared[root] = length + 1;
        $.holders[root].add(msg.sender);
        emit Declared(msg.sender, root, weight, batch.fromEpoch, expiresAt);
    }

    /// @dev The entry of a file the Flow recorded as `info`, but for `cumWeight` and `expiresAt`; and its weight
    /// in the shard of `batch` (reverts if zero).
    function _entryOf(
        Declaring memory batch,
        IFlow.SubmissionInfo memory info,
        bytes32 root
    ) private view returns (Entry memory entry, uint256 weight) {
        uint256 dataSectors = (info.byteLength + _SECTOR_BYTES - 1) / _SECTOR_BYTES;
        weight = ShardLayout.shardWeight(info.startPosition, dataSectors, batch.shardId, batch.numShard);
        if (weight == 0) revert ChallengesNothingInShard(msg.sender, root);
        (uint256 delta, uint256 headOffset, uint256 firstCount) = ShardLayout.placement(
            info.startPosition,
            dataSectors,
            batch.shardId,
            batch.numShard
        );
        uint256[] memory heights = info.heights;
        uint256 top = heights[0];
        uint256 lower = 0;
        for (uint256 j = 1; j < heights.length; ++j) {
            lower |= 1 << (top - 1 - heights[j]);
        }
        entry.dataRoot = root;
        entry.untilEpoch = _OPEN;
        // Flow bounds: top below 64, lower heights below 8.
        entry.top = uint8(top);
        entry.lowerHeights = uint8(lower);
        // ShardLayout bounds: delta < numShard (below 2^32, see `_shardOf`), headOffset < 1024, firstCount <= 1024.
        entry.numShard = batch.numShard;
        entry.shardDelta = uint32(delta);
        entry.headOffset = uint16(headOffset);
        entry.firstCount = uint16(firstCount);
    }

    /// @dev Ends declarations from the next epoch: by their node (`expired` false) or, once expired, by anyone.
    function _end(address node, bytes32[] calldata dataRoots, bool expired) private {
        ChallengesStorage storage $ = _s();
        NodeState storage n = $.nodes[node];
        uint32 untilEpoch = SafeCast.toUint32(_currentEpoch($) + 1);
        uint256 weight = n.head.weight;
        for (uint256 i = 0; i < dataRoots.length; ++i) {
            bytes32 root = dataRoots[i];
            uint256 indexPlusOne = n.declared[root];
            if (indexPlusOne == 0) revert ChallengesNotDeclared(node, root);
            Entry storage entry = n.entries[indexPlusOne - 1];
            if (expired && entry.expiresAt > block.timestamp) revert ChallengesDataNotExpired(root);
            // A declaration made in this epoch never becomes visible: until == from.
            entry.untilEpoch = untilEpoch;
            weight -= entry.cumWeight - (indexPlusOne == 1 ? 0 : n.entries[indexPlusOne - 2].cumWeight);
            delete n.declared[root];
            $.holders[root].remove(node);
            emit DeclarationEnded(node, root, untilEpoch, expired);
        }
        _writeCheckpoint(n, untilEpoch, weight);
    }

    /// @dev Sets the checkpoint of `epoch` (the next one) to the current entries and live `weight`, moving the
    /// head's checkpoint to the history if it is of an earlier epoch.
    function _writeCheckpoint(NodeState storage n, uint32 epoch, uint256 weight) private {
        Head storage head = n.head;
        uint256 latest = head.epoch;
        if (latest != epoch && latest != 0) {
            n.history.push(
                Checkpoint({epoch: uint32(latest), count: head.count, weight: head.weight, total: head.total})
            );
        }
        uint256 count = n.entries.length;
        head.epoch = epoch;
        head.count = SafeCast.toUint32(count);
        // Live weight is at most the total, which is a `cumWeight` (below 2^64).
        head.weight = uint64(weight);
        head.total = count == 0 ? 0 : n.entries[count - 1].cumWeight;
    }

    /// @dev The checkpoint in force at `epoch`: the head's, or else the last superseded one at or before it (the
    /// latest first, then a search); none: zeros.
    function _checkpointAt(
        NodeState storage n,
        uint256 epoch
    ) private view returns (uint256 count, uint256 weight, uint256 total) {
        Head storage head = n.head;
        // One read of the slot.
        uint256 latest;
        (latest, count, weight, total) = (head.epoch, head.count, head.weight, head.total);
        if (latest <= epoch) return (count, weight, total);
        Checkpoint[] storage history = n.history;
        uint256 high = history.length;
        if (high == 0) return (0, 0, 0);
        Checkpoint memory last = history[high - 1];
        if (last.epoch <= epoch) return (last.count, last.weight, last.total);
        // The first checkpoint after `epoch` is in [low, high); the one before it is the answer.
        uint256 low = 0;
        --high;
        while (low < high) {
            uint256 mid = (low + high) >> 1;
            if (history[mid].epoch > epoch) high = mid;
            else low = mid + 1;
        }
        if (low == 0) return (0, 0, 0);
        Checkpoint memory point = history[low - 1];
        return (point.count, point.weight, point.total);
    }

    /// @dev Whether `node` answered `epoch`: the head's bits for its window, `answeredBits` for the others.
    function _answered(NodeState storage n, uint256 epoch) private view returns (bool) {
        Head storage head = n.head;
        (uint256 window, uint256 bits) = (head.answeredWindow, head.answeredBits);
        if (epoch >> 5 == window) return (bits >> (epoch & 31)) & 1 == 1;
        return _bit(n.answeredBits, epoch);
    }

    /**
     * @dev Records that the caller answered `epoch` (below 2^32, so `epoch >> 5` fits the window field); reverts if
     * it already did. An epoch of the head's window sets its bit; a later window becomes the head's, after its bits
     * move to `answeredBits` (no bit of a later window was ever set: the window only moves forward); an earlier
     * one (only after a schedule change) goes to `answeredBits`.
     */
    function _setAnswered(NodeState storage n, uint256 epoch) private {
        Head storage head = n.head;
        (uint256 window, uint256 bits) = (head.answeredWindow, head.answeredBits);
        uint256 at = epoch >> 5;
        if (at == window) {
            uint256 bit = 1 << (epoch & 31);
            if (bits & bit != 0) revert ChallengesAlreadyAnswered(msg.sender, epoch);
            head.answeredBits = uint32(bits | bit);
        } else if (at < window) {
            if (_bit(n.answeredBits, epoch)) revert ChallengesAlreadyAnswered(msg.sender, epoch);
            _setBit(n.answeredBits, epoch);
        } else {
            // Window w holds epochs [32w, 32w + 32): bits 32 * (w % 8) on of word w / 8.
            if (bits != 0) n.answeredBits[window >> 3] |= bits << ((window & 7) << 5);
            head.answeredWindow = uint32(at);
            head.answeredBits = uint32(1 << (epoch & 31));
        }
    }

    /// @dev The node's shard from its STORAGE metadata `abi.encode(uint32 shardId, uint32 numShard)`; none: (0, 1).
    function _shardOf(
        INodeStaking staking,
        address node
    ) private view returns (uint32 shardId, uint32 numShard) {
        bytes memory metadata = staking.nodeInfoOf(node, INodeStaking.Role.STORAGE).metadata;
        if (metadata.length == 0) return (0, 1);
        if (metadata.length != 64) revert ChallengesInvalidShardConfig(node);
        (uint256 id, uint256 count) = abi.decode(metadata, (uint256, uint256));
        if (count == 0 || count > type(uint32).max || id >= count) revert ChallengesInvalidShardConfig(node);
        return (uint32(id), uint32(count));
    }

    // ─── Internal: rewards ────────────────────────────────────────────────────────────────────────

    /// @dev Fixes the budget of an epoch past its deadline: `rewardBps` of the pool not already reserved.
    function _settle(
        ChallengesStorage storage $,
        EpochData storage ep,
        uint256 epoch
    ) private returns (uint256) {
        uint256 deadline = ep.deadline;
        if (block.number <= deadline) revert ChallengesWindowOpen(epoch, deadline);
        if (ep.settled) return ep.budget;
        uint256 weight = ep.answeredWeight;
        uint256 budget = 0;
        if (weight != 0) {
            uint256 pool = IMarket($.registry.getModule(_MARKET)).rewardPool();
            uint256 free = pool > $.reserved ? pool - $.reserved : 0;
            budget = (free * $.params.rewardBps) / _BPS;
        }
        ep.settled = true;
        // Fits: the pool is coin, far below 2^128 wei.
        ep.budget = SafeCast.toUint128(budget);
        ep.budgetLeft = uint128(budget);
        ep.weightLeft = uint96(weight);
        $.reserved += budget;
        emit EpochSettled(epoch, budget, weight);
        return budget;
    }

    /// @dev Marks `node`'s answered `epoch` as paid out and returns its share of what is left of the budget.
    function _takeShare(
        ChallengesStorage storage $,
        address node,
        uint256 epoch
    ) private returns (uint256 share) {
        NodeState storage n = $.nodes[node];
        if (!_answered(n, epoch) || _bit(n.settledBits, epoch)) revert ChallengesNothingToClaim(node, epoch);
        _setBit(n.settledBits, epoch);
        EpochData storage ep = $.epochs[epoch];
        _settle($, ep, epoch);
        (, uint256 weight, ) = _checkpointAt(n, epoch);
        uint256 weightLeft = ep.weightLeft;
        uint256 budgetLeft = ep.budgetLeft;
        // weight <= weightLeft (the node's weight is in answeredWeight and not yet taken out), so share <= budgetLeft
        // and the last share is exactly what is left.
        share = (budgetLeft * weight) / weightLeft;
        // unchecked: share <= budgetLeft <= reserved, weight <= weightLeft (see above).
        unchecked {
            ep.budgetLeft = uint128(budgetLeft - share);
            ep.weightLeft = uint96(weightLeft - weight);
            $.reserved -= share;
        }
    }

    // ─── Internal: helpers ────────────────────────────────────────────────────────────────────────

    function _validate(Params calldata p) private pure {
        if (p.epochBlocks < _MIN_EPOCH_BLOCKS || p.epochBlocks > _MAX_EPOCH_BLOCKS) {
            revert ChallengesInvalidEpochBlocks(p.epochBlocks);
        }
        if (
            p.responseWindow == 0 ||
            p.responseWindow > _MAX_RESPONSE_WINDOW ||
            p.responseWindow > p.epochBlocks
        ) {
            revert ChallengesInvalidResponseWindow(p.responseWindow);
        }
        if (p.rewardBps > _BPS) revert ChallengesInvalidBps(p.rewardBps);
        if (p.dataLifetime == 0 || p.dataLifetime > _MAX_DATA_LIFETIME) {
            revert ChallengesInvalidDataLifetime(p.dataLifetime);
        }
    }

    function _staking(ChallengesStorage storage $) private view returns (INodeStaking) {
        return INodeStaking($.registry.getModule(_STAKING));
    }

    function _bit(mapping(uint256 => uint256) storage bits, uint256 epoch) private view returns (bool) {
        return (bits[epoch >> 8] >> (epoch & 0xff)) & 1 == 1;
    }

    function _setBit(mapping(uint256 => uint256) storage bits, uint256 epoch) private {
        bits[epoch >> 8] |= 1 << (epoch & 0xff);
    }

    function _shrink(bytes32[] memory array, uint256 length) private pure {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            mstore(array, length)
        }
    }

    function _s() private pure returns (ChallengesStorage storage $) {
        // solhint-disable-next-line no-inline-assembly
        assembly {
            $.slot := _STORAGE_SLOT
        }
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {RegistryGovernedUpgradeable} from "../core/RegistryGovernedUpgradeable.sol";
import {IModuleRegistry} from "../core/interfaces/IModuleRegistry.sol";
import {IFlow} from "./interfaces/IFlow.sol";
import {IMarket} from "./interfaces/IMarket.sol";
import {FLOW_TREE_LEVELS, FlowTree} from "./libraries/FlowTree.sol";

/**
 * @title Flow
 * @notice The 0G-compatible storage log: users (through the official SDK) submit the subtree roots of their
 * files, pay `sectors × Market.pricePerSector()`, and the log places the subtrees in an incremental keccak tree
 * of 256-byte sectors. Deployed behind an ERC-1967 proxy (UUPS); governance (the registry owner) pauses it and
 * authorizes upgrades. The Market is fixed per implementation (an immutable): changing it is an upgrade.
 *
 * NOTE: to keep a submission cheap (one new storage slot), the log stores per submission only the record of its
 * data root; node roots and the flow root after each submission are in, or recomputable from, the `Submit`
 * events, and `commitRoot` pins a flow root on demand. The fee is charged from the Flow's copy of the Market's
 * price, which the Market refreshes whenever governance sets it, so a free submission never calls the Market.
 * @dev Invariants:
 * - `flowLength()` starts at 1 (the placeholder sector 0) and only grows; every submission occupies
 *   `[startPos, startPos + Σ 2^height)` with each node at a multiple of its own size, and every sector in
 *   between is empty padding;
 * - for each bit `i` set in `flowLength()`, `frontier[i]` is the root of the complete subtree of `2^i` sectors
 *   that the set bits tile `[0, flowLength())` into, so `flowRoot()` is the root of the whole log;
 * - every data root submitted has exactly one record, describing its first submission; `records[r].submissions`
 *   counts the submissions that carried `r`, and a submission is marked duplicate iff it is not the first;
 * - this contract holds no coin after any call: fees are forwarded to the Market, the excess returned.
 */
contract Flow is IFlow, RegistryGovernedUpgradeable {
    using FlowTree for FlowTree.Append;

    /// @dev 0G's unit: a segment is 1024 sectors (256 KiB); a submission does not straddle one needlessly.
    uint256 private constant _SECTORS_PER_SEGMENT = 1024;
    uint256 private constant _SECTOR_BYTES = 256;
    /// @dev 0G's bounds: the first node is below 64 high, and heights span fewer than 4 levels.
    uint256 private constant _MAX_HEIGHT = 64;
    uint256 private constant _MAX_HEIGHT_SPREAD = 4;
    /// @dev Submissions below 16 sectors may only leave their last sector partly empty.
    uint256 private constant _SMALL_SUBMISSION_SECTORS = 16;

    /**
     * @dev What the log keeps per data root, packed in one slot (one new slot is the only per-submission storage
     * write): bits 0-63 index of the first submission, 64-103 number of submissions, 104-167 start position,
     * 168-239 byte length, 240-247 first node height, 248-255 the lower heights (bit j: a node of height
     * `first - 1 - j`). Zero means never submitted.
     */
    uint256 private constant _RECORD_COUNT_SHIFT = 64;
    uint256 private constant _RECORD_START_SHIFT = 104;
    uint256 private constant _RECORD_LENGTH_SHIFT = 168;
    uint256 private constant _RECORD_TOP_SHIFT = 240;
    uint256 private constant _RECORD_LOWER_SHIFT = 248;
    uint256 private constant _RECORD_COUNT_ONE = 1 << _RECORD_COUNT_SHIFT;
    uint256 private constant _RECORD_COUNT_MASK = ((1 << 40) - 1) << _RECORD_COUNT_SHIFT;

    // The hot fields share slot 0 on purpose; the linter's reordering would not save a slot.
    // solhint-disable gas-struct-packing
    /// @custom:storage-location erc7201:zerog.storage.Flow
    struct FlowStorage {
        // Read and written by every submission: one slot.
        uint64 length;
        uint64 submissions;
        uint96 pricePerSector;
        bool paused;
        IModuleRegistry registry;
        bytes32[FLOW_TREE_LEVELS] frontier;
        mapping(bytes32 dataRoot => uint256 packed) records;
        mapping(uint256 word => uint256 bits) duplicates;
        mapping(uint256 submissionCount => bytes32 root) committedRoots;
    }
    // solhint-enable gas-struct-packing

    // keccak256(abi.encode(uint256(keccak256("zerog.storage.Flow")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant _STORAGE_SLOT =
        0xf73f4686d5966291bd9f5e5f00b6118dfabaebf92de8507e8487c625ee5f7000;

    /// @custom:oz-upgrades-unsafe-allow state-variable-immutable
    IMarket private immutable _MARKET;

    modifier whenNotPaused() {
        if (_s().paused) revert FlowPaused();
        _;
    }

    /**
     * @param market_ The Market this implementation charges fees to (its proxy address).
     * @custom:oz-upgrades-unsafe-allow constructor
     */
    constructor(address market_) {
        if (market_ == address(0)) revert FlowZeroAddress();
        _MARKET = IMarket(market_);
    }

    /**
     * @notice Sets up the proxy's state: an empty log of length 1 (the placeholder sector). Called once, by the
     * proxy's constructor.
     * @param registry_ The module registry; its owner is governance.
     */
    function initialize(address registry_) external initializer {
        if (registry_ == address(0)) revert FlowZeroAddress();
        FlowStorage storage $ = _s();
        $.registry = IModuleRegistry(registry_);
        // Sector 0 is the placeholder leaf bytes32(0), which is already `frontier[0]`.
        $.length = 1;
        _syncPrice($);
    }

    // ─── Submitting ───────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IFlow
    function submit(
        Submission calldata submission
    )
        external
        payable
        whenNotPaused
        returns (uint256 index, bytes32 digest, uint256 startIndex, uint256 length)
    {
        FlowStorage storage $ = _s();
        length = _validate(submission.data);
        uint256 fee = length * $.pricePerSector;
        if (msg.value < fee) revert FlowInsufficientFee(fee, msg.value);
        (index, digest, startIndex) = _append($, submission.data, length, fee);
        // unchecked: msg.value >= fee was checked above.
        unchecked {
            _refund(msg.value - fee);
        }
    }

    /// @inheritdoc IFlow
    function batchSubmit(
        Submission[] calldata submissions
    )
        external
        payable
        whenNotPaused
        returns (
            uint256[] memory indexes,
            bytes32[] memory digests,
            uint256[] memory startIndexes,
            uint256[] memory lengths
        )
    {
        uint256 count = submissions.length;
        indexes = new uint256[](count);
        digests = new bytes32[](count);
        startIndexes = new uint256[](count);
        lengths = new uint256[](count);
        // Validate everything and check the whole fee before touching the log.
        uint256 totalSectors = 0;
        for (uint256 i = 0; i < count; ++i) {
            lengths[i] = _validate(submissions[i].data);
            totalSectors += lengths[i];
        }
        FlowStorage storage $ = _s();
        uint256 price = $.pricePerSector;
        uint256 fee = totalSectors * price;
        if (msg.value < fee) revert FlowInsufficientFee(fee, msg.value);
        for (uint256 i = 0; i < count; ++i) {
            (indexes[i], digests[i], startIndexes[i]) = _append(
                $,
                submissions[i].data,
                lengths[i],
                lengths[i] * price
            );
        }
        // unchecked: msg.value >= fee was checked above.
        unchecked {
            _refund(msg.value - fee);
        }
    }

    /// @inheritdoc IFlow
    function commitRoot() external returns (bytes32 root) {
        FlowStorage storage $ = _s();
        uint256 count = $.submissions;
        root = FlowTree.root($.frontier, $.length);
        if ($.committedRoots[count] != root) {
            $.committedRoots[count] = root;
            emit RootCommitted(count, $.length, root);
        }
    }

    /// @inheritdoc IFlow
    function syncPrice() external returns (uint256) {
        return _syncPrice(_s());
    }

    // ─── Governance ───────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IFlow
    function pause() external onlyGovernance {
        FlowStorage storage $ = _s();
        if ($.paused) revert FlowPaused();
        $.paused = true;
        emit Paused(msg.sender);
    }

    /// @inheritdoc IFlow
    function unpause() external onlyGovernance {
        FlowStorage storage $ = _s();
        if (!$.paused) revert FlowNotPaused();
        $.paused = false;
        emit Unpaused(msg.sender);
    }

    // ─── Views ────────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IFlow
    function market() external view returns (address) {
        return address(_MARKET);
    }

    /// @inheritdoc IFlow
    function pricePerSector() external view returns (uint256) {
        return _s().pricePerSector;
    }

    /// @inheritdoc IFlow
    function paused() external view returns (bool) {
        return _s().paused;
    }

    /// @inheritdoc IFlow
    function numSubmissions() external view returns (uint256) {
        return _s().submissions;
    }

    /// @inheritdoc IFlow
    function flowLength() external view returns (uint256) {
        return _s().length;
    }

    /// @inheritdoc IFlow
    function flowRoot() external view returns (bytes32) {
        FlowStorage storage $ = _s();
        return FlowTree.root($.frontier, $.length);
    }

    /// @inheritdoc IFlow
    function committedRoot(uint256 submissionCount) external view returns (bytes32) {
        return _s().committedRoots[submissionCount];
    }

    /// @inheritdoc IFlow
    function isSubmitted(bytes32 dataRoot) external view returns (bool) {
        return _s().records[dataRoot] != 0;
    }

    /// @inheritdoc IFlow
    function submissionOf(bytes32 dataRoot) external view returns (SubmissionInfo memory info) {
        uint256 record = _s().records[dataRoot];
        if (record == 0) revert FlowUnknownRoot(dataRoot);
        uint256 top = uint8(record >> _RECORD_TOP_SHIFT);
        uint256 lower = record >> _RECORD_LOWER_SHIFT;
        uint256 count = 1;
        for (uint256 j = 0; j < _MAX_HEIGHT_SPREAD - 1; ++j) {
            if ((lower >> j) & 1 == 1) ++count;
        }
        info.heights = new uint256[](count);
        info.heights[0] = top;
        info.sectors = 1 << top;
        uint256 next = 1;
        for (uint256 j = 0; j < _MAX_HEIGHT_SPREAD - 1; ++j) {
            if ((lower >> j) & 1 == 1) {
                info.heights[next] = top - 1 - j;
                info.sectors += 1 << (top - 1 - j);
                ++next;
            }
        }
        info.firstIndex = uint64(record);
        info.submissions = uint40(record >> _RECORD_COUNT_SHIFT);
        info.startPosition = uint64(record >> _RECORD_START_SHIFT);
        info.byteLength = uint72(record >> _RECORD_LENGTH_SHIFT);
    }

    /// @inheritdoc IFlow
    function isDuplicate(uint256 index) external view returns (bool) {
        return (_s().duplicates[index >> 8] >> (index & 0xff)) & 1 == 1;
    }

    /// @inheritdoc IFlow
    function dataRootOf(SubmissionNode[] calldata nodes) external pure returns (bytes32) {
        if (nodes.length == 0) revert FlowEmptySubmission();
        return _dataRoot(nodes);
    }

    // ─── Internal ─────────────────────────────────────────────────────────────────────────────────

    /// @dev The registry is a field of this module's namespace.
    function _registry() internal view override returns (IModuleRegistry) {
        return _s().registry;
    }

    /// @dev Reverts with `FlowNotGovernance(caller)`.
    function _revertNotGovernance(address caller) internal pure override {
        revert FlowNotGovernance(caller);
    }

    /**
     * @dev 0G's validity rules; returns the sectors the submission occupies (`Σ 2^height`). The padding bound
     * (0G's "last capacity"): below 16 sectors the data must reach the last sector; a single node may be at most
     * 1/16 empty; several nodes may leave at most `2^(firstHeight - 3)` sectors empty, which is exactly the
     * rounding unit the SDK pads a file to, so every SDK-made submission passes.
     */
    function _validate(SubmissionData calldata data) private pure returns (uint256 sectors) {
        SubmissionNode[] calldata nodes = data.nodes;
        uint256 count = nodes.length;
        if (count == 0) revert FlowEmptySubmission();
        uint256 top = nodes[0].height;
        if (top >= _MAX_HEIGHT) revert FlowHeightTooLarge(top);
        sectors = 1 << top;
        uint256 previous = top;
        // Strictly decreasing heights below 64: at most 64 iterations.
        for (uint256 i = 1; i < count; ++i) {
            uint256 height = nodes[i].height;
            if (height >= previous) revert FlowHeightsNotDecreasing(i, height, previous);
            sectors += 1 << height;
            previous = height;
        }
        if (top - previous >= _MAX_HEIGHT_SPREAD) revert FlowHeightSpreadTooLarge(top, previous);

        uint256 capacity = sectors * _SECTOR_BYTES;
        if (data.length > capacity) revert FlowLengthExceedsCapacity(data.length, capacity);
        uint256 lastCapacity;
        if (sectors < _SMALL_SUBMISSION_SECTORS) {
            lastCapacity = sectors - 1;
        } else if (count == 1) {
            lastCapacity = sectors - (sectors >> 4);
        } else {
            // top >= 4 here: several nodes spanning fewer than 4 levels reach 16 sectors only from height 4.
            lastCapacity = sectors - (1 << (top - 3));
        }
        if (data.length <= lastCapacity * _SECTOR_BYTES) {
            revert FlowTooMuchPadding(data.length, lastCapacity * _SECTOR_BYTES + 1);
        }
    }

    /// @dev Places a validated submission, records it, forwards its fee and emits `Submit`.
    function _append(
        FlowStorage storage $,
        SubmissionData calldata data,
        uint256 sectors,
        uint256 fee
    ) private returns (uint256 index, bytes32 digest, uint256 startIndex) {
        uint256 before = $.length;
        index = $.submissions;
        {
            SubmissionNode[] calldata nodes = data.nodes;
            uint256 top = nodes[0].height;
            startIndex = _placement(before, top, sectors);
            uint256 lowerHeights = _insert($, nodes, before, startIndex);
            // Both fit: _placement bounds the new length below 2^64, and submissions are fewer than sectors.
            $.length = uint64(startIndex + sectors);
            $.submissions = uint64(index + 1);
            _record($, _dataRoot(nodes), index, startIndex, data.length, top, lowerHeights);
            digest = _digest(nodes);
        }
        if (fee != 0) _MARKET.chargeFee{value: fee}(before, sectors, startIndex - before);
        _emitSubmit(digest, index, startIndex, sectors, data);
    }

    function _emitSubmit(
        bytes32 digest,
        uint256 index,
        uint256 startIndex,
        uint256 sectors,
        SubmissionData calldata data
    ) private {
        emit Submit(msg.sender, digest, index, startIndex, sectors, data);
    }

    /**
     * @dev Where a submission starts: its first node aligned to its size; and if the submission would then
     * straddle a segment boundary without starting on one, the next segment (0G's placement, so that nodes,
     * SDK and contract agree on positions).
     */
    function _placement(
        uint256 before,
        uint256 top,
        uint256 sectors
    ) private pure returns (uint256 startIndex) {
        startIndex = ((before + (1 << top) - 1) >> top) << top;
        if (
            startIndex % _SECTORS_PER_SEGMENT != 0 &&
            startIndex / _SECTORS_PER_SEGMENT != (startIndex + sectors - 1) / _SECTORS_PER_SEGMENT
        ) {
            startIndex = (startIndex / _SECTORS_PER_SEGMENT + 1) * _SECTORS_PER_SEGMENT;
        }
        if (startIndex + sectors > type(uint64).max) revert FlowLogFull(startIndex + sectors);
    }

    /// @dev Pads the tree to `startIndex`, appends the nodes, and returns the lower-heights mask of the record.
    function _insert(
        FlowStorage storage $,
        SubmissionNode[] calldata nodes,
        uint256 before,
        uint256 startIndex
    ) private returns (uint256 lowerHeights) {
        FlowTree.Append memory work = FlowTree.begin(before);
        work.padTo($.frontier, startIndex);
        uint256 top = nodes[0].height;
        for (uint256 i = 0; i < nodes.length; ++i) {
            uint256 height = nodes[i].height;
            work.appendSubtree($.frontier, nodes[i].root, height);
            if (i != 0) lowerHeights |= 1 << (top - 1 - height);
        }
        work.commit($.frontier);
    }

    /// @dev Creates the data root's record on its first submission; counts and marks later ones.
    function _record(
        FlowStorage storage $,
        bytes32 dataRoot,
        uint256 index,
        uint256 startIndex,
        uint256 length,
        uint256 top,
        uint256 lowerHeights
    ) private {
        uint256 record = $.records[dataRoot];
        if (record == 0) {
            // Fields fit: index and startIndex < 2^64, length <= capacity < 2^72, top < 64, lowerHeights < 8.
            $.records[dataRoot] =
                index |
                _RECORD_COUNT_ONE |
                (startIndex << _RECORD_START_SHIFT) |
                (length << _RECORD_LENGTH_SHIFT) |
                (top << _RECORD_TOP_SHIFT) |
                (lowerHeights << _RECORD_LOWER_SHIFT);
        } else {
            if (record & _RECORD_COUNT_MASK == _RECORD_COUNT_MASK) revert FlowTooManyDuplicates(dataRoot);
            // unchecked: the count field is below its maximum, so adding one stays inside it.
            unchecked {
                $.records[dataRoot] = record + _RECORD_COUNT_ONE;
            }
            $.duplicates[index >> 8] |= 1 << (index & 0xff);
        }
    }

    /// @dev Copies the Market's price into the hot slot (the Market calls this when governance changes it).
    function _syncPrice(FlowStorage storage $) private returns (uint256 price) {
        price = _MARKET.pricePerSector();
        if (price != $.pricePerSector) {
            // The Market keeps its price below 2^96; the cast checks it anyway.
            $.pricePerSector = SafeCast.toUint96(price);
            emit PriceSynced(price);
        }
    }

    /// @dev Last step of a submission (checks-effects-interactions): a re-entering sender finds a consistent log.
    function _refund(uint256 amount) private {
        if (amount == 0) return;
        (bool ok, ) = payable(msg.sender).call{value: amount}("");
        if (!ok) revert FlowRefundFailed(msg.sender, amount);
    }

    /// @dev See `IFlow.dataRootOf`: the last node root folded leftwards with the others.
    function _dataRoot(SubmissionNode[] calldata nodes) private pure returns (bytes32 root) {
        uint256 i = nodes.length - 1;
        root = nodes[i].root;
        while (i != 0) {
            // unchecked: i > 0.
            unchecked {
                --i;
            }
            root = FlowTree.hashPair(nodes[i].root, root);
        }
    }

    /// @dev 0G's digest: keccak256 of the node roots, concatenated.
    function _digest(SubmissionNode[] calldata nodes) private pure returns (bytes32 digest) {
        uint256 count = nodes.length;
        uint256 start;
        // Lay the roots out in free memory (not kept: the free memory pointer is not moved).
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            start := mload(0x40)
        }
        for (uint256 i = 0; i < count; ++i) {
            bytes32 root = nodes[i].root;
            // solhint-disable-next-line no-inline-assembly
            assembly ("memory-safe") {
                mstore(add(start, mul(i, 0x20)), root)
            }
        }
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            digest := keccak256(start, mul(count, 0x20))
        }
    }

    function _s() private pure returns (FlowStorage storage $) {
        // solhint-disable-next-line no-inline-assembly
        assembly {
            $.slot := _STORAGE_SLOT
        }
    }
}

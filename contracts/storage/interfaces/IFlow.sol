// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRegistryGoverned} from "../../core/interfaces/IRegistryGoverned.sol";

/**
 * @title IFlow
 * @notice The storage log: an append-only sequence of 256-byte sectors into which users submit the Merkle
 * roots of their files, ABI-compatible with the Flow that the official 0G storage SDK (npm package
 * 0g-ts-sdk of the 0gfoundation scope, 1.2.x) calls: `submit`, `batchSubmit`, `market()` and the `Submit`
 * event.
 *
 * A submission describes one file as 1 to 4 subtrees ("nodes") of the file's sector tree, largest first, each
 * of `2^height` sectors; the data travels off-chain to storage nodes, which check it against the roots.
 * Sector 0 of the log is a placeholder; every node is placed at a multiple of its own size, the log being padded
 * with empty sectors before it, and a submission that is not segment-aligned (1024 sectors) and would straddle
 * a segment boundary starts at the next segment instead, as 0G places it.
 *
 * Two roots matter, and they are different things:
 * - the **data root** of a submission is the file root the SDK computes (`MemData.merkleTree()`); it commits to
 *   the node roots as `dataRootOf(nodes)` (see there). Other modules ask `isSubmitted(dataRoot)`.
 * - the **flow root** is the root of the whole log's sector tree, a binary keccak tree of height
 *   `ceil(log2(flowLength()))` whose leaves are the sectors (an empty one hashes to the keccak256 of 256 zero
 *   bytes, `0xd397b3…`; the placeholder leaf is `bytes32(0)`), `flowRoot()`.
 *
 * Per submission the log stores one record, keyed by data root. A module that must name a submission by index
 * takes its data root and nodes from its caller (they are in the `Submit` event) and checks
 * `dataRootOf(nodes) == dataRoot` and `submissionOf(dataRoot).firstIndex == index`; indexes for which
 * `isDuplicate` is true repeat an earlier file and are covered by its first submission. (The storage challenges
 * need neither: they keep the data roots nodes declare and prove sectors up to them.)
 */
interface IFlow is IRegistryGoverned {
    /// @notice One subtree of a submitted file.
    /// @param root Merkle root of the subtree's `2^height` sectors.
    /// @param height Height of the subtree (0 = one sector).
    struct SubmissionNode {
        bytes32 root;
        uint256 height;
    }

    /// @notice What the SDK submits for one file.
    /// @param length File size in bytes.
    /// @param tags Opaque bytes for the application (emitted, not stored).
    /// @param nodes The file's subtrees, heights strictly decreasing.
    struct SubmissionData {
        uint256 length;
        bytes tags;
        SubmissionNode[] nodes;
    }

    /// @notice The `submit` argument, as the SDK encodes it.
    /// @param data The file description.
    /// @param submitter Who the SDK says submits; carried for ABI compatibility, not used or stored.
    struct Submission {
        SubmissionData data;
        address submitter;
    }

    /// @notice What the log keeps about a data root, as `submissionOf` returns it.
    /// @param firstIndex Index of the first submission that carried this data root.
    /// @param submissions How many submissions carried it (later ones are duplicates, see `isDuplicate`).
    /// @param startPosition First sector of the first submission in the log.
    /// @param sectors Sectors the first submission occupies (`Σ 2^height`).
    /// @param byteLength Byte length the first submission declared.
    /// @param heights The first submission's node heights, largest first.
    struct SubmissionInfo {
        uint256 firstIndex;
        uint256 submissions;
        uint256 startPosition;
        uint256 sectors;
        uint256 byteLength;
        uint256[] heights;
    }

    /// @notice Thrown when the caller is not governance (the registry owner).
    error FlowNotGovernance(address caller);
    /// @notice Thrown when a constructor or initializer argument is the zero address.
    error FlowZeroAddress();
    /// @notice Thrown when submitting while the log is paused, or pausing it twice.
    error FlowPaused();
    /// @notice Thrown when unpausing a log that is not paused.
    error FlowNotPaused();
    /// @notice Thrown when a submission has no node.
    error FlowEmptySubmission();
    /// @notice Thrown when the first (largest) node is 64 or more high.
    /// @param height The first node's height.
    error FlowHeightTooLarge(uint256 height);
    /// @notice Thrown when node heights do not strictly decrease.
    /// @param nodeIndex The first node whose height is not below its predecessor's.
    /// @param height That node's height.
    /// @param previousHeight Its predecessor's height.
    error FlowHeightsNotDecreasing(uint256 nodeIndex, uint256 height, uint256 previousHeight);
    /// @notice Thrown when the first and last node heights differ by 4 or more.
    /// @param firstHeight Height of the first node.
    /// @param lastHeight Height of the last node.
    error FlowHeightSpreadTooLarge(uint256 firstHeight, uint256 lastHeight);
    /// @notice Thrown when the nodes hold fewer bytes than the declared length.
    /// @param length The declared length in bytes.
    /// @param capacity The nodes' capacity in bytes (`Σ 2^height × 256`).
    error FlowLengthExceedsCapacity(uint256 length, uint256 capacity);
    /// @notice Thrown when the nodes pad the data more than 0G allows (the last node would hold no data, or a
    /// single node would be more than 1/16 empty).
    /// @param length The declared length in bytes.
    /// @param minLength The smallest length these nodes accept.
    error FlowTooMuchPadding(uint256 length, uint256 minLength);
    /// @notice Thrown when the log would outgrow 2^64 sectors.
    /// @param newLength The length in sectors the submission would bring the log to.
    error FlowLogFull(uint256 newLength);
    /// @notice Thrown when `msg.value` is below the storage fee.
    /// @param required The fee: submitted sectors (`Σ 2^height` over the nodes) × `Market.pricePerSector()`.
    /// @param paid `msg.value`.
    error FlowInsufficientFee(uint256 required, uint256 paid);
    /// @notice Thrown when the part of `msg.value` above the fee cannot be returned to the sender.
    error FlowRefundFailed(address to, uint256 amount);
    /// @notice Thrown by `submissionOf` when the data root was never submitted.
    error FlowUnknownRoot(bytes32 dataRoot);
    /// @notice Thrown when a data root has been submitted 2^40 - 1 times already.
    error FlowTooManyDuplicates(bytes32 dataRoot);

    /// @notice Emitted for every accepted submission (0G's event, same signature and indexing).
    /// @param sender `msg.sender` of the submitting call.
    /// @param identity keccak256 of the concatenated node roots (0G's digest).
    /// @param submissionIndex The submission's index in the log (0G's `txSeq`).
    /// @param startPos The submission's first sector.
    /// @param length The sectors it occupies (`Σ 2^height`, not bytes).
    /// @param submission The submitted data.
    event Submit(
        address indexed sender,
        bytes32 indexed identity,
        uint256 submissionIndex,
        uint256 startPos,
        uint256 length,
        SubmissionData submission
    );
    /// @notice Emitted when governance pauses submissions.
    event Paused(address account);
    /// @notice Emitted when governance resumes submissions.
    event Unpaused(address account);
    /// @notice Emitted when the Flow's copy of `Market.pricePerSector()` changes (see `syncPrice`).
    event PriceSynced(uint256 pricePerSector);
    /// @notice Emitted when `commitRoot` records the flow root after `submissionCount` submissions.
    /// @param submissionCount Number of submissions the root covers.
    /// @param flowLength The log length, in sectors, the root covers.
    /// @param root The flow root.
    event RootCommitted(uint256 indexed submissionCount, uint256 flowLength, bytes32 root);

    /**
     * @notice Appends one file to the log and pays its storage fee.
     * @dev `msg.value` must cover `Σ 2^height × Market.pricePerSector()` (what the SDK sends); the fee goes to
     * the Market's reward pool and any excess is returned to `msg.sender`. Reverts while paused.
     * @param submission The file's length, tags and nodes (the SDK's `createSubmission` output).
     * @return index The submission index (0G's `txSeq`).
     * @return digest keccak256 of the concatenated node roots.
     * @return startIndex The first sector the submission occupies.
     * @return length The number of sectors it occupies.
     */
    function submit(
        Submission calldata submission
    ) external payable returns (uint256 index, bytes32 digest, uint256 startIndex, uint256 length);

    /**
     * @notice Appends several files in order, paying all their fees at once (excess returned to the sender).
     * @param submissions The files, appended in this order.
     * @return indexes Each submission's index.
     * @return digests Each submission's digest.
     * @return startIndexes Each submission's first sector.
     * @return lengths Each submission's sector count.
     */
    function batchSubmit(
        Submission[] calldata submissions
    )
        external
        payable
        returns (
            uint256[] memory indexes,
            bytes32[] memory digests,
            uint256[] memory startIndexes,
            uint256[] memory lengths
        );

    /**
     * @notice Records the current flow root under the current submission count (idempotent); anyone may call.
     * @dev The flow root is not stored on every submission (see `flowRoot`); a module that needs a fixed
     * reference, e.g. a challenge epoch, commits it here and reads it back with `committedRoot`.
     * @return root The flow root after `numSubmissions()` submissions.
     */
    function commitRoot() external returns (bytes32 root);

    /**
     * @notice Copies `Market.pricePerSector()` into the Flow, which charges from its copy so that a submission
     * does not call the Market unless coin moves; anyone may call. The Market calls it whenever governance sets
     * the price, so it is only needed after the Market was upgraded or the price was set while another Flow was
     * registered.
     * @return The price now used, in wei per sector.
     */
    function syncPrice() external returns (uint256);

    /// @notice Governance: stops `submit` and `batchSubmit`.
    function pause() external;

    /// @notice Governance: resumes `submit` and `batchSubmit`.
    function unpause() external;

    /// @notice The Market whose `pricePerSector()` sets the fee and whose reward pool receives it.
    function market() external view returns (address);

    /// @notice The price per sector the Flow charges: its copy of `Market.pricePerSector()` (see `syncPrice`).
    function pricePerSector() external view returns (uint256);

    /// @notice Whether submissions are paused.
    function paused() external view returns (bool);

    /// @notice Number of submissions so far; the next submission gets this index.
    function numSubmissions() external view returns (uint256);

    /// @notice The log length in sectors, placeholder and padding included (starts at 1).
    function flowLength() external view returns (uint256);

    /**
     * @notice The current flow root, computed from the stored frontier (one stored subtree root per set bit of
     * `flowLength()`), so that a submission never pays for the levels above its own.
     * @dev The flow root after any earlier submission is recomputable off-chain from the `Submit` events
     * (positions and node roots are in them) and is checkable against any root recorded by `commitRoot`.
     */
    function flowRoot() external view returns (bytes32);

    /// @notice The root recorded by `commitRoot` after `submissionCount` submissions, or zero if none was.
    function committedRoot(uint256 submissionCount) external view returns (bytes32);

    /// @notice Whether a submission with this data root (the SDK's file root, see `dataRootOf`) was accepted.
    function isSubmitted(bytes32 dataRoot) external view returns (bool);

    /**
     * @notice Where the first submission of a data root sits in the log, and how many carried it.
     * @dev Reverts with `FlowUnknownRoot` when the root was never submitted. Node roots are not stored (they
     * are in the `Submit` event); a caller given them checks them with `dataRootOf(nodes) == dataRoot`.
     */
    function submissionOf(bytes32 dataRoot) external view returns (SubmissionInfo memory);

    /// @notice Whether submission `index` carried a data root that an earlier submission already carried.
    function isDuplicate(uint256 index) external view returns (bool);

    /**
     * @notice The data root of a submission: the file root the SDK computes for the same file.
     * @dev With node roots `r_1 … r_k` (largest first) it is `r_k` folded leftwards:
     * `keccak256(r_1 ‖ keccak256(r_2 ‖ … keccak256(r_{k-1} ‖ r_k)))`, so a one-node submission's data root is
     * its node root. This is what the SDK's tree gives: it pairs leaves from the left and lifts an unpaired last
     * node unchanged, which over `Σ 2^height` leaves builds exactly the nodes' subtrees joined right to left.
     * @param nodes The submission's nodes.
     */
    function dataRootOf(SubmissionNode[] calldata nodes) external pure returns (bytes32);
}

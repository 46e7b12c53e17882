// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRegistryGoverned} from "../../core/interfaces/IRegistryGoverned.sol";

/**
 * @title IStorageChallenges
 * @notice Proof of storage by challenge and response. Staked storage nodes declare on-chain the data roots they
 * hold for their shard; every epoch each node is challenged, from randomness nobody could know when it
 * declared, for one sector of its declared data, drawn so that every live declared sector is equally likely.
 * The node answers within a response window with the sector and its Merkle proof; nodes that answered share the
 * epoch's reward budget (a part of the Market's reward pool) pro rata to the data they declared, and a node that
 * missed its deadline can be slashed by anyone through NodeStaking, who earns the reporter share.
 *
 * Lifecycle of an epoch `e` (blocks `[epochStartBlock(e), epochStartBlock(e + 1))`):
 * 1. its seed, `keccak256(blockhash(epochStartBlock(e)), this, e)`, is recorded by the first `answer`,
 *    `slashMissed` or `seed(e)` within 256 blocks of its start; an epoch never recorded in time is void;
 * 2. until `deadline = epochStartBlock(e) + responseWindow` each challenged node calls `answer`;
 * 3. after the deadline: `slashMissed(node, e)` for each node that did not answer, `settle(e)` fixes the budget,
 *    and answered nodes `claim` their share.
 */
interface IStorageChallenges is IRegistryGoverned {
    /// @notice Governance parameters.
    /// @param epochBlocks Blocks per epoch (a change starts a new epoch at once, see `setParams`).
    /// @param responseWindow Blocks after an epoch's start block until which answers are accepted (≤ 255).
    /// @param rewardBps Part of the unreserved reward pool an epoch with answers reserves as its budget.
    /// @param dataLifetime Seconds a data root stays challengeable after it was first declared by anyone.
    /// @param slashAmount What a missed challenge costs the node (taken by NodeStaking, bond first).
    struct Params {
        uint32 epochBlocks;
        uint32 responseWindow;
        uint16 rewardBps;
        uint64 dataLifetime;
        uint128 slashAmount;
    }

    /// @notice What the contract keeps about an epoch.
    /// @param seed The epoch's randomness; zero until recorded.
    /// @param deadline Last block at which an answer is accepted (fixed when the seed is recorded).
    /// @param seededAt Timestamp at which the seed was recorded: the epoch's clock for data expiry.
    /// @param settled Whether the budget is fixed.
    /// @param answeredWeight Σ declared weight of the nodes that answered.
    /// @param budget The reward reserved for the epoch when settled.
    /// @param budgetLeft The part of `budget` not yet claimed or forfeited.
    /// @param weightLeft The part of `answeredWeight` not yet claimed or forfeited.
    struct EpochInfo {
        bytes32 seed;
        uint64 deadline;
        uint64 seededAt;
        bool settled;
        uint96 answeredWeight;
        uint128 budget;
        uint128 budgetLeft;
        uint96 weightLeft;
    }

    /// @notice One challenge, as `challengeOf` returns it.
    /// @param active Whether the node must answer for the epoch.
    /// @param dataRoot The data root of the challenged file.
    /// @param sectorIndex The challenged sector's index in the file (0 = the file's first sector).
    /// @param deadline Last block at which an answer is accepted.
    /// @param weight The node's declared weight for the epoch (its reward weight if it answers).
    struct Challenge {
        bool active;
        bytes32 dataRoot;
        uint256 sectorIndex;
        uint256 deadline;
        uint256 weight;
    }

    /// @notice Thrown when an initializer argument is the zero address.
    error ChallengesZeroAddress();
    /// @notice Thrown when the caller is not governance (the registry owner).
    error ChallengesNotGovernance(address caller);
    /// @notice Thrown when `epochBlocks` is out of `[2, 1_000_000]`.
    error ChallengesInvalidEpochBlocks(uint256 epochBlocks);
    /// @notice Thrown when `responseWindow` is 0, above 255, or above `epochBlocks`.
    error ChallengesInvalidResponseWindow(uint256 responseWindow);
    /// @notice Thrown when `rewardBps` exceeds 10,000.
    error ChallengesInvalidBps(uint256 bps);
    /// @notice Thrown when `dataLifetime` is 0 or above 100 years.
    error ChallengesInvalidDataLifetime(uint256 dataLifetime);
    /// @notice Thrown when the caller of `declare` is not an active STORAGE node.
    error ChallengesNotStorageNode(address caller);
    /// @notice Thrown when a node's STORAGE metadata is not `abi.encode(uint32 shardId, uint32 numShard)` with
    /// `shardId < numShard`.
    error ChallengesInvalidShardConfig(address node);
    /// @notice Thrown when a declared data root was never submitted to the Flow.
    error ChallengesUnknownRoot(bytes32 dataRoot);
    /// @notice Thrown when a data root is declared twice by the same node.
    error ChallengesAlreadyDeclared(address node, bytes32 dataRoot);
    /// @notice Thrown when undeclaring or pruning a data root the node has not declared.
    error ChallengesNotDeclared(address node, bytes32 dataRoot);
    /// @notice Thrown when declaring a data root whose lifetime is over.
    error ChallengesDataExpired(bytes32 dataRoot);
    /// @notice Thrown when pruning a declaration whose data has not expired.
    error ChallengesDataNotExpired(bytes32 dataRoot);
    /// @notice Thrown when a declared file has no data sector in the node's shard.
    error ChallengesNothingInShard(address node, bytes32 dataRoot);
    /// @notice Thrown when an epoch has not started (its start block is not yet mined).
    error ChallengesEpochNotStarted(uint256 epoch);
    /// @notice Thrown when an epoch's seed was not recorded within 256 blocks of its start: the epoch is void.
    error ChallengesEpochVoid(uint256 epoch);
    /// @notice Thrown when answering after the deadline.
    error ChallengesWindowClosed(uint256 epoch, uint256 deadline);
    /// @notice Thrown when slashing or settling before the deadline has passed.
    error ChallengesWindowOpen(uint256 epoch, uint256 deadline);
    /// @notice Thrown when the node has no challenge in the epoch (nothing declared, or every draw hit dropped
    /// data; for `slashMissed` and `challengeOf` also: not an active node at the epoch).
    error ChallengesNoChallenge(address node, uint256 epoch);
    /// @notice Thrown when the node already answered the epoch.
    error ChallengesAlreadyAnswered(address node, uint256 epoch);
    /// @notice Thrown when the node's miss in the epoch was already slashed.
    error ChallengesAlreadySlashed(address node, uint256 epoch);
    /// @notice Thrown when the call data of `answer` is not a selector, an epoch, a sector and whole siblings.
    /// @param length The call data's length in bytes.
    error ChallengesInvalidAnswerLength(uint256 length);
    /// @notice Thrown when the number of siblings is not the length of the challenged sector's path.
    error ChallengesInvalidProofLength(uint256 given, uint256 expected);
    /// @notice Thrown when the sector and siblings do not hash to the challenged data root.
    error ChallengesInvalidProof();
    /// @notice Thrown when claiming or forfeiting an epoch the node did not answer, or already claimed.
    error ChallengesNothingToClaim(address node, uint256 epoch);
    /// @notice Thrown when claiming while not active in NodeStaking (jailed or below the minimum).
    error ChallengesNodeInactive(address node);
    /// @notice Thrown when forfeiting the reward of a node that is still a STORAGE member.
    error ChallengesNodeStillMember(address node);

    /// @notice Emitted when a node declares a data root; it is challengeable from `fromEpoch`.
    event Declared(
        address indexed node,
        bytes32 indexed dataRoot,
        uint256 weight,
        uint256 fromEpoch,
        uint256 expiresAt
    );
    /// @notice Emitted when a declaration ends (undeclared, or pruned after expiry); challengeable until
    /// `untilEpoch - 1`.
    event DeclarationEnded(address indexed node, bytes32 indexed dataRoot, uint256 untilEpoch, bool expired);
    /// @notice Emitted when an epoch's seed is recorded.
    event SeedRecorded(uint256 indexed epoch, bytes32 seed, uint256 deadline);
    /// @notice Emitted when a node answers its challenge for a sector of `dataRoot` (the sector and the node's
    /// weight are `challengeOf(node, epoch)` and `weightOf(node, epoch)`).
    event Answered(address indexed node, uint256 indexed epoch, bytes32 indexed dataRoot);
    /// @notice Emitted when a missed challenge is slashed.
    event MissSlashed(address indexed node, uint256 indexed epoch, address indexed reporter, uint256 slashed);
    /// @notice Emitted when an epoch's budget is fixed.
    event EpochSettled(uint256 indexed epoch, uint256 budget, uint256 answeredWeight);
    /// @notice Emitted when a node's share of an epoch is paid.
    event RewardClaimed(address indexed node, uint256 indexed epoch, uint256 amount);
    /// @notice Emitted when the share of a node that left is released back to the pool.
    event RewardForfeited(address indexed node, uint256 indexed epoch, uint256 amount);
    /// @notice Emitted when governance sets the parameters; `firstEpoch` starts at `firstEpochBlock` when
    /// `epochBlocks` changed.
    event ParamsSet(Params params, uint256 firstEpoch, uint256 firstEpochBlock);

    /**
     * @notice Declares that the caller (an active STORAGE node) holds every data sector of these files that
     * lies in its shard. Each declaration is challengeable from the next epoch, weighted by those sectors.
     * @param dataRoots Data roots submitted to the Flow, not expired, not already declared by the caller.
     */
    function declare(bytes32[] calldata dataRoots) external;

    /// @notice Ends the caller's declarations of these roots from the next epoch (still challenged until then).
    function undeclare(bytes32[] calldata dataRoots) external;

    /// @notice Ends expired declarations of `node` from the next epoch, so they stop counting for its reward
    /// weight (expired data is never challenged, even before it is pruned). Anyone may call.
    function prune(address node, bytes32[] calldata dataRoots) external;

    /// @notice Records epoch `epoch`'s seed if it is not yet and its start block hash is available; anyone may
    /// call (a watcher does so each epoch, so that the epoch is not void).
    /// @return The seed.
    function seed(uint256 epoch) external returns (bytes32);

    /**
     * @notice Answers the caller's challenge of an epoch (see `challengeOf`) with the challenged sector and its
     * Merkle path to the data root the Flow recorded.
     * @dev The arguments are packed after the selector, not ABI-encoded, because from Prague on (EIP-7623) a
     * proof-sized call is charged by its call data: `msg.data = selector ‖ uint32 epoch ‖ sector ‖ siblings`,
     * - `epoch`: the epoch, 4 bytes big-endian;
     * - `sector`: the 256 bytes of the challenged sector (zero-padded past the file's end);
     * - `siblings`: the 32-byte sibling hashes from the sector's leaf (keccak256 of the sector) up to the data
     *   root, one per level, with no padding: the levels of the submission node holding the sector, then the
     *   levels that fold the submission's node roots into the data root (see `IFlow.dataRootOf`). This is the
     *   0G SDK's proof of the sector in the file's tree; the contract knows every side from the sector's index.
     * Reverts `ChallengesInvalidAnswerLength` when the call data is not of that form, `ChallengesInvalidProofLength`
     * when the siblings are not as many as the path's levels, and `ChallengesInvalidProof` when they do not hash to
     * the challenged data root.
     */
    function answer() external;

    /**
     * @notice Slashes `node` for not answering its challenge of `epoch` by the deadline; the caller gets the
     * reporter share from NodeStaking. Anyone may call, once per (node, epoch).
     * @return slashed The amount NodeStaking took.
     */
    function slashMissed(address node, uint256 epoch) external returns (uint256 slashed);

    /// @notice Fixes `epoch`'s budget after its deadline (idempotent; `claim` does it too). Anyone may call.
    /// @return budget The epoch's budget.
    function settle(uint256 epoch) external returns (uint256 budget);

    /// @notice Pays the caller its share of each of these answered epochs (settling them if needed).
    /// Only while the caller is active in NodeStaking.
    /// @return amount The total paid.
    function claim(uint256[] calldata epochs) external returns (uint256 amount);

    /// @notice Releases to the pool the unclaimed shares of a node that is no longer a STORAGE member.
    /// Anyone may call.
    function forfeit(address node, uint256[] calldata epochs) external;

    /// @notice Governance: sets the parameters. A new `epochBlocks` ends the current epoch now: the next one
    /// starts at this block.
    function setParams(Params calldata params) external;

    /// @notice The parameters.
    function params() external view returns (Params memory);

    /// @notice The epoch of the current block.
    function currentEpoch() external view returns (uint256);

    /// @notice The first block of `epoch` (for epochs before the last change of `epochBlocks`: only if seeded,
    /// else zero).
    function epochStartBlock(uint256 epoch) external view returns (uint256);

    /// @notice What is recorded about `epoch`.
    function epochInfo(uint256 epoch) external view returns (EpochInfo memory);

    /// @notice The coin reserved by settled epochs and not yet claimed or forfeited.
    function reserved() external view returns (uint256);

    /**
     * @notice The challenge of `node` in `epoch`: what a responder reads to build its answer. Computes the seed
     * if it is not recorded but still derivable.
     */
    function challengeOf(address node, uint256 epoch) external view returns (Challenge memory);

    /// @notice The declared weight (data sectors in its shard) of `node` counted in `epoch`.
    function weightOf(address node, uint256 epoch) external view returns (uint256);

    /// @notice Whether `node` currently declares `dataRoot` (declared and neither undeclared nor pruned).
    function isDeclared(address node, bytes32 dataRoot) external view returns (bool);

    /// @notice The data roots `node` currently declares.
    function declaredRoots(address node) external view returns (bytes32[] memory);

    /// @notice The nodes that currently declare `dataRoot`: who holds an uploader's file.
    function holdersOf(bytes32 dataRoot) external view returns (address[] memory);

    /// @notice Whether `node` answered `epoch`.
    function answered(address node, uint256 epoch) external view returns (bool);

    /// @notice When `dataRoot` was first declared (unix seconds), or zero.
    function firstDeclaredAt(bytes32 dataRoot) external view returns (uint256);
}

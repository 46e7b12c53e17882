// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRegistryGoverned} from "../../core/interfaces/IRegistryGoverned.sol";

/**
 * @title IAlignmentRewards
 * @notice Liveness rewards for alignment nodes (docs/alignment.md, "AlignmentRewards").
 *
 * Time is cut into epochs of `epochBlocks` blocks from the deployment block. In each epoch a node attests, in one
 * transaction, the licenses it runs (it must be the holder or the operator of each); a license is live in an epoch
 * once attested, at most once. `fund` (and plain transfers) add coin to the current epoch's pool; after the epoch,
 * `claim` pays each live license `pool / live` (the last claimer takes the rounding), the commission of the
 * license's operator at claim time to the operator and the rest to the holder at claim time. An epoch that ended
 * with no live license passes its pool on to the current epoch (`rollover`). With NodeStaking PERMISSIONED (no
 * token) nothing is funded: `fund` reverts.
 * @dev Invariant: `address(this).balance == Σ over epochs of the pool not yet paid out`.
 */
interface IAlignmentRewards is IRegistryGoverned {
    /// @notice One epoch, as `epochOf` returns it.
    /// @param pool Coin still to be paid out for the epoch.
    /// @param live Licenses attested in the epoch.
    /// @param unpaid Live licenses not yet paid.
    struct EpochInfo {
        uint256 pool;
        uint256 live;
        uint256 unpaid;
    }

    /// @notice Thrown when a zero address is given where a contract is needed.
    error RewardsZeroAddress();
    /// @notice Thrown when the caller is not governance (the registry owner).
    error RewardsNotGovernance(address caller);
    /// @notice Thrown when `epochBlocks` is below 2.
    error RewardsInvalidEpochBlocks(uint256 epochBlocks);
    /// @notice Thrown when `attest` is given no licenses.
    error RewardsNoLicenses();
    /// @notice Thrown when the caller is neither the holder of the license nor its operator.
    error RewardsNotAuthorized(uint256 licenseId, address caller);
    /// @notice Thrown when a license is attested twice in an epoch.
    error RewardsAlreadyAttested(uint256 epoch, uint256 licenseId);
    /// @notice Thrown when funding with no coin.
    error RewardsZeroAmount();
    /// @notice Thrown when funding while NodeStaking is PERMISSIONED (no coin moves).
    error RewardsNoTokenMode();
    /// @notice Thrown when claiming or rolling over an epoch that has not ended.
    error RewardsEpochNotEnded(uint256 epoch, uint256 current);
    /// @notice Thrown when the license was not live in the epoch.
    error RewardsNotLive(uint256 epoch, uint256 licenseId);
    /// @notice Thrown when a license's reward for the epoch was already paid.
    error RewardsAlreadyClaimed(uint256 epoch, uint256 licenseId);
    /// @notice Thrown when rolling over an epoch that had live licenses or no pool.
    error RewardsNothingToRollOver(uint256 epoch);
    /// @notice Thrown when a coin transfer fails.
    error RewardsTransferFailed(address to, uint256 amount);

    /// @notice Emitted when a node attests licenses for the current epoch.
    event LivenessAttested(uint256 indexed epoch, address indexed node, uint256[] licenseIds);
    /// @notice Emitted when coin is added to an epoch's pool.
    event Funded(uint256 indexed epoch, address indexed from, uint256 amount);
    /// @notice Emitted when `collect` adds the alignment share of fees withdrawn from `source` (the "ServingLedger"
    /// or the "Market") to the pool.
    event Collected(uint256 indexed epoch, address indexed source, uint256 amount);
    /// @notice Emitted when a live license's reward is paid: `commission` to the operator, `amount` to the holder.
    event RewardClaimed(
        uint256 indexed epoch,
        uint256 indexed licenseId,
        address holder,
        uint256 amount,
        address operator,
        uint256 commission
    );
    /// @notice Emitted when an ended epoch with no live license passes its pool to the current one.
    event RolledOver(uint256 indexed fromEpoch, uint256 indexed toEpoch, uint256 amount);
    /// @notice Emitted when governance sets the epoch length (the current epoch number is kept).
    event EpochBlocksSet(uint256 epochBlocks);

    /// @notice Attests liveness, for the current epoch, of every license in `licenseIds` (each held or operated by
    /// the caller, each once per epoch).
    function attest(uint256[] calldata licenseIds) external;

    /// @notice Adds `msg.value` to the current epoch's pool.
    function fund() external payable;

    /**
     * @notice Withdraws the alignment share of fees held for this module by the modules registered as
     * "ServingLedger" (its earnings there: serving fees) and "Market" (storage fees), and adds it to the current
     * epoch's pool (one `Collected` per source). Anyone may call. Returns 0 and does nothing when neither is
     * registered or holds anything; reverts `RewardsNoTokenMode` in PERMISSIONED staking mode.
     * @return amount The coin added to the pool.
     */
    function collect() external returns (uint256 amount);

    /// @notice Pays license `licenseId`'s reward for ended epoch `epoch` (anyone may call).
    function claim(uint256 epoch, uint256 licenseId) external returns (uint256 amount);

    /// @notice Moves the pool of ended epoch `epoch`, which had no live license, to the current epoch (anyone).
    function rollover(uint256 epoch) external;

    /// @notice Governance: sets the epoch length; the current epoch continues with the new length.
    function setEpochBlocks(uint256 epochBlocks) external;

    /// @notice The current epoch.
    function currentEpoch() external view returns (uint256);

    /// @notice The epoch length in blocks.
    function epochBlocks() external view returns (uint256);

    /// @notice The first block of epoch `currentEpoch() + 1`.
    function nextEpochStart() external view returns (uint256);

    /// @notice Epoch `epoch`'s pool and live licenses.
    function epochOf(uint256 epoch) external view returns (EpochInfo memory);

    /// @notice Whether license `licenseId` was live in `epoch`, and whether its reward was paid.
    function licenseOf(uint256 epoch, uint256 licenseId) external view returns (bool live, bool claimed);
}

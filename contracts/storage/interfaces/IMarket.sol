// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRegistryGoverned} from "../../core/interfaces/IRegistryGoverned.sol";

/**
 * @title IMarket
 * @notice The storage market: the price of a sector, and the reward pool that storage fees fill and that the
 * storage-challenge module pays rewards from. `pricePerSector()` is what the official 0G SDK reads to compute
 * the fee it sends with `Flow.submit` (fee = Σ 2^height over the nodes × price). A price of zero is the
 * `no-token` profile: submissions carry no coin and the pool stays empty. Governance can set an alignment share
 * of each fee (`alignmentShareBps()`, 0 by default): it is held for the module registered as "AlignmentRewards"
 * (when there is one), which withdraws it with `withdrawAlignmentShare`; the pool gets the rest.
 */
interface IMarket is IRegistryGoverned {
    /// @notice Thrown when the caller is not governance (the registry owner).
    error MarketNotGovernance(address caller);
    /// @notice Thrown when `chargeFee` is not called by the module registered as "Flow".
    error MarketNotFlow(address caller);
    /// @notice Thrown when `payReward` is not called by the module registered as "StorageChallenges".
    error MarketNotStorageChallenges(address caller);
    /// @notice Thrown when a zero address is given where an account or contract is needed.
    error MarketZeroAddress();
    /// @notice Thrown when the coin sent with `chargeFee` is not `uploadSectors × pricePerSector()`.
    /// @param expected The fee for the uploaded sectors.
    /// @param paid `msg.value`.
    error MarketFeeMismatch(uint256 expected, uint256 paid);
    /// @notice Thrown when a price does not fit in 96 bits (2^96 wei ≈ 7.9e10 coins per sector).
    error MarketPriceTooHigh(uint256 price);
    /// @notice Thrown when a reward exceeds the pool.
    /// @param requested The reward asked for.
    /// @param available The reward pool.
    error MarketInsufficientPool(uint256 requested, uint256 available);
    /// @notice Thrown when a reward cannot be sent.
    error MarketTransferFailed(address to, uint256 amount);
    /// @notice Thrown when `withdrawAlignmentShare` is not called by the module registered as "AlignmentRewards".
    error MarketNotAlignmentRewards(address caller);
    /// @notice Thrown when an alignment share above 10,000 basis points is set.
    error MarketInvalidAlignmentShare(uint256 bps);

    /// @notice Emitted when the price per sector is set (also at initialization).
    event PricePerSectorSet(uint256 pricePerSector);
    /// @notice Emitted when the Flow pays the fee of one submission into the reward pool.
    /// @param flow The Flow that paid.
    /// @param beforeLength The log length, in sectors, before the submission.
    /// @param uploadSectors The sectors the submission occupies (the fee base).
    /// @param paddingSectors The empty sectors placed before it (not charged).
    /// @param fee The submission's fee (the alignment share of it, if any, is held apart from the pool).
    event FeeCharged(
        address indexed flow,
        uint256 beforeLength,
        uint256 uploadSectors,
        uint256 paddingSectors,
        uint256 fee
    );
    /// @notice Emitted when the storage-challenge module pays a reward out of the pool.
    /// @param to The recipient.
    /// @param amount The coin sent.
    /// @param payer The module that paid it.
    event RewardPaid(address indexed to, uint256 amount, address indexed payer);
    /// @notice Emitted when governance sets the alignment share (basis points of each fee).
    event AlignmentShareSet(uint256 bps);
    /// @notice Emitted when `amount` of a fee is held for `rewards` (the module registered as "AlignmentRewards")
    /// instead of going to the pool.
    event AlignmentShareHeld(address indexed rewards, uint256 amount);
    /// @notice Emitted when the "AlignmentRewards" module withdraws what was held for it.
    event AlignmentShareWithdrawn(address indexed rewards, uint256 amount);

    /**
     * @notice Adds one submission's fee, sent with the call, to the reward pool. Only the registered "Flow".
     * @dev 0G's `chargeFee(beforeLength, uploadSectors, paddingSectors)` signature, made payable: our Flow
     * forwards the fee with the call instead of transferring it first. `msg.value` must equal
     * `uploadSectors × pricePerSector()`. The alignment share of it (`fee * alignmentShareBps() / 10_000`,
     * rounded down; none when no "AlignmentRewards" is registered) is held for that module; the rest joins the
     * pool.
     * @param beforeLength The log length, in sectors, before the submission.
     * @param uploadSectors The sectors the submission occupies.
     * @param paddingSectors The empty sectors placed before it.
     */
    function chargeFee(uint256 beforeLength, uint256 uploadSectors, uint256 paddingSectors) external payable;

    /**
     * @notice Pays `amount` out of the reward pool to `to`. Only the module registered as "StorageChallenges".
     * @param to The recipient (not zero).
     * @param amount The coin to send (at most `rewardPool()`).
     */
    function payReward(address to, uint256 amount) external;

    /**
     * @notice Sends what is held for "AlignmentRewards" to the caller, which must be that module (pulled, never
     * pushed). Returns 0 and sends nothing when nothing is held.
     * @return amount The coin sent.
     */
    function withdrawAlignmentShare() external returns (uint256 amount);

    /**
     * @notice Governance: sets the share of each fee held for the module registered as "AlignmentRewards".
     * @param bps Basis points, at most 10,000; 0 (the default) turns it off.
     */
    function setAlignmentShare(uint16 bps) external;

    /**
     * @notice Governance: sets the price of one 256-byte sector, in wei (zero: no fees), and has the registered
     * Flow copy it (`IFlow.syncPrice`).
     */
    function setPricePerSector(uint256 price) external;

    /// @notice The price of one 256-byte sector, in wei.
    function pricePerSector() external view returns (uint256);

    /// @notice The coin available for rewards; with `alignmentEarnings()`, this contract's balance (see the
    /// Market's invariants).
    function rewardPool() external view returns (uint256);

    /// @notice The alignment share of each fee, in basis points (0 by default).
    function alignmentShareBps() external view returns (uint256);

    /// @notice The coin held for "AlignmentRewards", not yet withdrawn.
    function alignmentEarnings() external view returns (uint256);
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRegistryGoverned} from "../../core/interfaces/IRegistryGoverned.sol";

/**
 * @title IServingLedger
 * @notice Users' prepaid balances for AI services. A user deposits coin into an available balance, funds a
 * sub-account per provider, and can take money back out of a sub-account only through a refund that unlocks
 * after `lockTime()` seconds: the provider has that long to settle what the user owes it. The module
 * registered as "InferenceServing" charges sub-accounts when it settles user-signed vouchers; providers then
 * withdraw their earnings. Governance can set an alignment share of each settlement (`alignmentShareBps()`, 0 by
 * default): it is credited to the earnings of the module registered as "AlignmentRewards" (when there is one),
 * which withdraws it like a provider; the provider's earnings get the rest.
 * @dev Invariant: `address(this).balance == Σ available + Σ sub-account balances + Σ earnings` (Σ earnings includes
 * what is held for "AlignmentRewards")
 * (a pending refund is still part of its sub-account's balance until it is released). A sub-account's balance
 * and its pending refunds each fit in 128 bits, and `pendingRefund <= balance`.
 */
interface IServingLedger is IRegistryGoverned {
    /// @notice A refund waiting for its unlock time.
    /// @param amount Coin that returns to the user's available balance at `unlockAt`.
    /// @param unlockAt Unix seconds.
    struct Refund {
        uint128 amount;
        uint64 unlockAt;
    }

    /// @notice One (user, provider) sub-account.
    /// @param balance Coin the provider can be paid from, pending refunds included.
    /// @param pendingRefund The sum of `refunds` (the part of `balance` on its way back to the user).
    /// @param refunds Pending refunds, oldest first.
    struct SubAccount {
        uint256 balance;
        uint256 pendingRefund;
        Refund[] refunds;
    }

    /// @notice What the serving module asks to take from one user's sub-account with a provider.
    struct Charge {
        address user;
        uint256 amount;
    }

    /// @notice Thrown when the caller is not governance (the registry owner).
    error LedgerNotGovernance(address caller);
    /// @notice Thrown when `charge` is not called by the module registered as "InferenceServing".
    error LedgerNotServing(address caller);
    /// @notice Thrown when a zero address is given where an account or contract is needed.
    error LedgerZeroAddress();
    /// @notice Thrown when an amount of zero is given where coin must move.
    error LedgerZeroAmount();
    /// @notice Thrown when the available balance is smaller than asked (for `fund`: the part of the amount that
    /// cancelled refunds do not cover).
    error LedgerInsufficientBalance(uint256 requested, uint256 available);
    /// @notice Thrown when a sub-account's unreserved balance (balance − pending refunds) is smaller than asked.
    error LedgerInsufficientSubAccount(address provider, uint256 requested, uint256 available);
    /// @notice Thrown when a sub-account already has `MAX_PENDING_REFUNDS` pending refunds.
    error LedgerTooManyRefunds(address provider, uint256 max);
    /// @notice Thrown when no refund of the sub-account has unlocked yet.
    error LedgerNothingUnlocked(address provider, uint256 nextUnlockAt);
    /// @notice Thrown when a provider has no earnings to withdraw.
    error LedgerNoEarnings(address provider);
    /// @notice Thrown when a lock time is outside [`MIN_LOCK_TIME`, `MAX_LOCK_TIME`].
    error LedgerInvalidLockTime(uint256 lockTime);
    /// @notice Thrown when funding would take a sub-account's balance past 2^128 − 1.
    /// @param balance The balance the sub-account would have had.
    error LedgerAmountTooLarge(uint256 balance);
    /// @notice Thrown when an alignment share above 10,000 basis points is set.
    error LedgerInvalidAlignmentShare(uint256 bps);
    /// @notice Thrown when coin cannot be sent.
    error LedgerTransferFailed(address to, uint256 amount);

    /// @notice Emitted when coin enters a user's available balance.
    event Deposited(address indexed user, address indexed from, uint256 amount);
    /// @notice Emitted when coin leaves a user's available balance to the user.
    event Withdrawn(address indexed user, uint256 amount);
    /// @notice Emitted when a user funds a sub-account.
    /// @param cancelledRefunds The part of `amount` taken back from pending refunds (newest first).
    /// @param fromAvailable The part of `amount` moved from the available balance.
    event Funded(
        address indexed user,
        address indexed provider,
        uint256 cancelledRefunds,
        uint256 fromAvailable
    );
    /// @notice Emitted when a user asks for part of a sub-account back.
    event RefundRequested(address indexed user, address indexed provider, uint256 amount, uint256 unlockAt);
    /// @notice Emitted when unlocked refunds return to the user's available balance (their sum).
    event RefundReleased(address indexed user, address indexed provider, uint256 amount);
    /// @notice Emitted for each charge the serving module makes (only when something was taken).
    event Charged(address indexed user, address indexed provider, uint256 amount);
    /// @notice Emitted when a provider withdraws its earnings.
    event EarningsWithdrawn(address indexed provider, uint256 amount);
    /// @notice Emitted when governance sets the refund lock time (also at initialization).
    event LockTimeSet(uint256 lockTime);
    /// @notice Emitted when governance sets the alignment share (basis points of each settlement).
    event AlignmentShareSet(uint256 bps);
    /// @notice Emitted once per `charge` that credits the alignment share: `amount` of what `provider` was paid went
    /// to the earnings of `rewards` (the module registered as "AlignmentRewards").
    event AlignmentShareCredited(address indexed rewards, address indexed provider, uint256 amount);

    /// @notice Adds `msg.value` (non-zero) to the caller's available balance.
    function deposit() external payable;

    /// @notice Adds `msg.value` (non-zero) to `user`'s available balance.
    function depositFor(address user) external payable;

    /// @notice Sends `amount` of the caller's available balance to the caller.
    function withdraw(uint256 amount) external;

    /**
     * @notice Puts `amount` into the caller's sub-account with `provider`: pending refunds are cancelled first
     * (newest first), and only the rest is taken from the available balance.
     */
    function fund(address provider, uint256 amount) external;

    /**
     * @notice Starts a refund of `amount` from the unreserved part of the caller's sub-account with `provider`;
     * it unlocks `lockTime()` seconds from now. Until it is released the provider can still be paid from it.
     * At most `MAX_PENDING_REFUNDS` pending per sub-account.
     */
    function requestRefund(address provider, uint256 amount) external;

    /**
     * @notice Moves every unlocked refund (unlock time reached) of the caller's sub-account with `provider` to the
     * available balance; the refunds still locked keep their order.
     * @return released The coin moved.
     */
    function releaseRefunds(address provider) external returns (uint256 released);

    /**
     * @notice Takes from sub-accounts with `provider` and credits the provider's earnings, less the alignment share
     * (`total * alignmentShareBps() / 10_000` of the call's total, rounded down), which is credited to the
     * earnings of the module registered as "AlignmentRewards" (none when it is absent). Only the module
     * registered as "InferenceServing" (looked up in the registry once per call). Each charge is capped at the
     * sub-account's balance: the unreserved part first, then pending refunds, newest first. Charges of zero are
     * skipped; charges are applied in order, so two charges of one user share that user's balance.
     * @param provider The provider paid (the serving module passes the provider that settles).
     * @param charges What to take from each user's sub-account with `provider`.
     * @return paid What was taken for each charge, in order.
     */
    function charge(address provider, Charge[] calldata charges) external returns (uint256[] memory paid);

    /// @notice Sends the caller's earnings to the caller.
    /// @return amount The coin sent.
    function withdrawEarnings() external returns (uint256 amount);

    /// @notice Sets how long a refund stays locked, for refunds requested from now on. Only governance.
    /// @param lockTime Seconds, within [`MIN_LOCK_TIME`, `MAX_LOCK_TIME`].
    function setLockTime(uint256 lockTime) external;

    /**
     * @notice Sets the alignment share: the part of each settlement credited to the earnings of the module
     * registered as "AlignmentRewards" instead of the provider's. Only governance. 0 (the default) turns it off.
     * @param bps Basis points, at most 10,000.
     */
    function setAlignmentShare(uint16 bps) external;

    /// @notice The alignment share of each settlement, in basis points (0 by default).
    function alignmentShareBps() external view returns (uint256);

    /// @notice How long a refund stays locked (seconds).
    function lockTime() external view returns (uint256);

    /// @notice A user's available balance.
    function balanceOf(address user) external view returns (uint256);

    /// @notice A (user, provider) sub-account.
    function subAccount(address user, address provider) external view returns (SubAccount memory);

    /// @notice A provider's earnings not yet withdrawn.
    function earningsOf(address provider) external view returns (uint256);

    /// @notice The most pending refunds one sub-account can have.
    // solhint-disable-next-line func-name-mixedcase
    function MAX_PENDING_REFUNDS() external view returns (uint256);

    /// @notice The shortest refund lock time governance can set (seconds).
    // solhint-disable-next-line func-name-mixedcase
    function MIN_LOCK_TIME() external view returns (uint256);

    /// @notice The longest refund lock time governance can set (seconds).
    // solhint-disable-next-line func-name-mixedcase
    function MAX_LOCK_TIME() external view returns (uint256);
}

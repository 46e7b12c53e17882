// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {RegistryGovernedUpgradeable} from "../core/RegistryGovernedUpgradeable.sol";
import {IModuleRegistry} from "../core/interfaces/IModuleRegistry.sol";
import {IServingLedger} from "./interfaces/IServingLedger.sol";

/**
 * @title ServingLedger
 * @notice Users' prepaid balances for AI services (see `IServingLedger`): available balances, one sub-account per
 * (user, provider) with refunds that unlock after `lockTime`, and providers' earnings, paid out on request.
 * Deployed behind an ERC-1967 proxy (UUPS); governance (the registry owner) sets the lock time and authorizes
 * upgrades.
 * @dev The module allowed to `charge` is recognized through the registry at call time ("InferenceServing"), so
 * replacing it in the registry moves the right with no call here. Governance can set an alignment share
 * (`alignmentShareBps`, 0 by default): that part of each settlement is credited to the earnings of the module
 * registered as "AlignmentRewards" (looked up per settlement; absent, the provider gets everything), which pulls
 * it with `withdrawEarnings` like any provider. The ledger is not deployed in the `no-token` profile, so no share
 * is taken there.
 * Each sub-account's balance and pending refunds share one slot (`_packed`), so that a charge paid from the
 * unreserved part reads and writes one slot; the refund list is touched only when a charge reaches it.
 * Invariants:
 * - `address(this).balance == Σ available + Σ sub-account balances + Σ earnings`: coin enters only through
 *   `deposit`/`depositFor` (into `available`) and leaves only through `withdraw` (from `available`) and
 *   `withdrawEarnings` (from `earnings`); every other function moves coin between these three sums. There is no
 *   `receive`; only coin forced in without a call (SELFDESTRUCT, block rewards) could make the balance larger;
 * - for every sub-account, `pendingRefund == Σ refunds[].amount <= balance < 2^128`, and it has at most
 *   `MAX_PENDING_REFUNDS` refunds, each of non-zero amount;
 * - a charge takes at most the sub-account's balance, and a refund is paid out only at or after its `unlockAt`,
 *   which is `lockTime` after its request: a provider that settles within `lockTime` of a refund request can
 *   still be paid from it.
 */
contract ServingLedger is IServingLedger, RegistryGovernedUpgradeable, ReentrancyGuardTransient {
    bytes32 private constant _SERVING = "InferenceServing";
    bytes32 private constant _ALIGNMENT = "AlignmentRewards";
    uint256 private constant _BPS = 10_000;
    uint256 private constant _MASK_128 = type(uint128).max;

    /// @inheritdoc IServingLedger
    uint256 public constant MAX_PENDING_REFUNDS = 30;
    /// @inheritdoc IServingLedger
    uint256 public constant MIN_LOCK_TIME = 60;
    /// @inheritdoc IServingLedger
    uint256 public constant MAX_LOCK_TIME = 30 days;

    // Fields are appended, never reordered (upgrade-safe), so later ones need not pack with earlier ones.
    // solhint-disable gas-struct-packing
    /// @custom:storage-location erc7201:zerog.storage.ServingLedger
    struct LedgerStorage {
        // One slot: the registry (read by every charge) and the lock time (by every refund request).
        IModuleRegistry registry;
        uint64 lockTime;
        mapping(address user => uint256) available;
        // balance in the low 128 bits, pendingRefund in the high 128 bits (see `_packed`).
        mapping(address user => mapping(address provider => uint256)) subAccounts;
        // Pending refunds, oldest first.
        mapping(address user => mapping(address provider => Refund[])) refunds;
        mapping(address provider => uint256) earnings;
        // Appended (upgrade-safe): the share of each settlement credited to "AlignmentRewards", in basis points.
        uint16 alignmentShareBps;
    }
    // solhint-enable gas-struct-packing

    // keccak256(abi.encode(uint256(keccak256("zerog.storage.ServingLedger")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant _STORAGE_SLOT =
        0x6f4a4d6e6e30a44f0895b45637433e7b86bb730792d8e88b304bc1c6feacb800;

    /**
     * @notice Sets up the proxy's state. Called once, by the proxy's constructor.
     * @param registry_ The module registry; its owner is governance.
     * @param lockTime_ How long a refund stays locked (seconds), within [`MIN_LOCK_TIME`, `MAX_LOCK_TIME`].
     */
    function initialize(address registry_, uint256 lockTime_) external initializer {
        if (registry_ == address(0)) revert LedgerZeroAddress();
        _s().registry = IModuleRegistry(registry_);
        _setLockTime(lockTime_);
    }

    // ─── Users ────────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IServingLedger
    function deposit() external payable {
        _deposit(msg.sender);
    }

    /// @inheritdoc IServingLedger
    function depositFor(address user) external payable {
        if (user == address(0)) revert LedgerZeroAddress();
        _deposit(user);
    }

    /// @inheritdoc IServingLedger
    function withdraw(uint256 amount) external nonReentrant {
        if (amount == 0) revert LedgerZeroAmount();
        LedgerStorage storage $ = _s();
        uint256 available = $.available[msg.sender];
        if (amount > available) revert LedgerInsufficientBalance(amount, available);
        // unchecked: amount <= available.
        unchecked {
            $.available[msg.sender] = available - amount;
        }
        emit Withdrawn(msg.sender, amount);
        _send(msg.sender, amount);
    }

    /// @inheritdoc IServingLedger
    function fund(address provider, uint256 amount) external {
        if (provider == address(0)) revert LedgerZeroAddress();
        if (amount == 0) revert LedgerZeroAmount();
        LedgerStorage storage $ = _s();
        (uint256 balance, uint256 pending) = _unpack($.subAccounts[msg.sender][provider]);
        uint256 cancelled = amount < pending ? amount : pending;
        uint256 fromAvailable;
        // unchecked: cancelled <= amount and cancelled <= pending.
        unchecked {
            fromAvailable = amount - cancelled;
            pending -= cancelled;
        }
        uint256 available = $.available[msg.sender];
        if (fromAvailable > available) revert LedgerInsufficientBalance(fromAvailable, available);
        // Σ of all coin held is far below 2^256: no overflow; the 128-bit field is checked below.
        balance += fromAvailable;
        if (balance > _MASK_128) revert LedgerAmountTooLarge(balance);
        if (cancelled != 0) _takeNewest($.refunds[msg.sender][provider], cancelled);
        // unchecked: fromAvailable <= available.
        unchecked {
            $.available[msg.sender] = available - fromAvailable;
        }
        $.subAccounts[msg.sender][provider] = _packed(balance, pending);
        emit Funded(msg.sender, provider, cancelled, fromAvailable);
    }

    /// @inheritdoc IServingLedger
    function requestRefund(address provider, uint256 amount) external {
        if (amount == 0) revert LedgerZeroAmount();
        LedgerStorage storage $ = _s();
        (uint256 balance, uint256 pending) = _unpack($.subAccounts[msg.sender][provider]);
        uint256 unreserved;
        // unchecked: pending <= balance (invariant).
        unchecked {
            unreserved = balance - pending;
        }
        if (amount > unreserved) revert LedgerInsufficientSubAccount(provider, amount, unreserved);
        Refund[] storage list = $.refunds[msg.sender][provider];
        if (list.length >= MAX_PENDING_REFUNDS) revert LedgerTooManyRefunds(provider, MAX_PENDING_REFUNDS);
        uint256 unlockAt = block.timestamp + $.lockTime;
        // amount <= unreserved < 2^128, and unlockAt < 2^64 for any block time before the year 10^11.
        list.push(Refund(uint128(amount), uint64(unlockAt)));
        // unchecked: pending + amount <= balance < 2^128.
        unchecked {
            $.subAccounts[msg.sender][provider] = _packed(balance, pending + amount);
        }
        emit RefundRequested(msg.sender, provider, amount, unlockAt);
    }

    /// @inheritdoc IServingLedger
    function releaseRefunds(address provider) external returns (uint256 released) {
        LedgerStorage storage $ = _s();
        Refund[] storage list = $.refunds[msg.sender][provider];
        uint256 count = list.length;
        uint256 kept = 0;
        uint256 nextUnlockAt = type(uint256).max;
        for (uint256 i = 0; i < count; ++i) {
            Refund memory refund = list[i];
            if (refund.unlockAt <= block.timestamp) {
                released += refund.amount;
            } else {
                // Keep the locked ones in order, at the front.
                if (kept != i) list[kept] = refund;
                ++kept;
                if (refund.unlockAt < nextUnlockAt) nextUnlockAt = refund.unlockAt;
            }
        }
        if (released == 0) revert LedgerNothingUnlocked(provider, count == 0 ? 0 : nextUnlockAt);
        for (uint256 i = kept; i < count; ++i) list.pop();
        (uint256 balance, uint256 pending) = _unpack($.subAccounts[msg.sender][provider]);
        // unchecked: released is part of pending, which is part of balance (invariant).
        unchecked {
            $.subAccounts[msg.sender][provider] = _packed(balance - released, pending - released);
        }
        $.available[msg.sender] += released;
        emit RefundReleased(msg.sender, provider, released);
    }

    // ─── Serving ──────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IServingLedger
    function charge(address provider, Charge[] calldata charges) external returns (uint256[] memory paid) {
        LedgerStorage storage $ = _s();
        // An absent module resolves to address(0), which is never the caller.
        if (msg.sender != $.registry.tryGetModule(_SERVING)) revert LedgerNotServing(msg.sender);
        if (provider == address(0)) revert LedgerZeroAddress();
        uint256 count = charges.length;
        paid = new uint256[](count);
        uint256 total = 0;
        for (uint256 i = 0; i < count; ++i) {
            uint256 amount = charges[i].amount;
            if (amount == 0) continue;
            address user = charges[i].user;
            uint256 taken = _charge($, user, provider, amount);
            if (taken == 0) continue;
            paid[i] = taken;
            // Σ taken is part of the coin held, far below 2^256.
            total += taken;
            emit Charged(user, provider, taken);
        }
        if (total == 0) return paid;
        uint256 share = 0;
        uint256 bps = $.alignmentShareBps;
        if (bps != 0) {
            address rewards = $.registry.tryGetModule(_ALIGNMENT);
            if (rewards != address(0)) {
                // bps <= _BPS, so share <= total.
                share = (total * bps) / _BPS;
                if (share != 0) {
                    $.earnings[rewards] += share;
                    emit AlignmentShareCredited(rewards, provider, share);
                }
            }
        }
        // unchecked: share <= total.
        unchecked {
            $.earnings[provider] += total - share;
        }
    }

    // ─── Providers ────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IServingLedger
    function withdrawEarnings() external nonReentrant returns (uint256 amount) {
        LedgerStorage storage $ = _s();
        amount = $.earnings[msg.sender];
        if (amount == 0) revert LedgerNoEarnings(msg.sender);
        $.earnings[msg.sender] = 0;
        emit EarningsWithdrawn(msg.sender, amount);
        _send(msg.sender, amount);
    }

    // ─── Governance ───────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IServingLedger
    function setLockTime(uint256 lockTime_) external onlyGovernance {
        _setLockTime(lockTime_);
    }

    /// @inheritdoc IServingLedger
    function setAlignmentShare(uint16 bps) external onlyGovernance {
        if (bps > _BPS) revert LedgerInvalidAlignmentShare(bps);
        _s().alignmentShareBps = bps;
        emit AlignmentShareSet(bps);
    }

    // ─── Views ────────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IServingLedger
    function lockTime() external view returns (uint256) {
        return _s().lockTime;
    }

    /// @inheritdoc IServingLedger
    function alignmentShareBps() external view returns (uint256) {
        return _s().alignmentShareBps;
    }

    /// @inheritdoc IServingLedger
    function balanceOf(address user) external view returns (uint256) {
        return _s().available[user];
    }

    /// @inheritdoc IServingLedger
    function subAccount(address user, address provider) external view returns (SubAccount memory) {
        LedgerStorage storage $ = _s();
        (uint256 balance, uint256 pending) = _unpack($.subAccounts[user][provider]);
        return SubAccount(balance, pending, $.refunds[user][provider]);
    }

    /// @inheritdoc IServingLedger
    function earningsOf(address provider) external view returns (uint256) {
        return _s().earnings[provider];
    }

    // ─── Internal ─────────────────────────────────────────────────────────────────────────────────

    /// @dev The registry is a field of this module's namespace, in the slot it shares with the lock time.
    function _registry() internal view override returns (IModuleRegistry) {
        return _s().registry;
    }

    /// @dev Reverts with `LedgerNotGovernance(caller)`.
    function _revertNotGovernance(address caller) internal pure override {
        revert LedgerNotGovernance(caller);
    }

    function _deposit(address user) private {
        if (msg.value == 0) revert LedgerZeroAmount();
        _s().available[user] += msg.value;
        emit Deposited(user, msg.sender, msg.value);
    }

    /**
     * @dev Takes up to `amount` from (user, provider): the unreserved part first, then pending refunds newest
     * first. Returns what was taken. The common path (the unreserved part covers it) is one SLOAD and one SSTORE.
     */
    function _charge(
        LedgerStorage storage $,
        address user,
        address provider,
        uint256 amount
    ) private returns (uint256 taken) {
        uint256 word = $.subAccounts[user][provider];
        (uint256 balance, uint256 pending) = _unpack(word);
        if (balance == 0) return 0;
        taken = amount < balance ? amount : balance;
        // unchecked: taken <= balance; pending <= balance (invariant), and when taken > balance - pending the
        // part taken from refunds, taken - (balance - pending), is at most pending.
        unchecked {
            uint256 unreserved = balance - pending;
            if (taken > unreserved) {
                uint256 fromRefunds = taken - unreserved;
                _takeNewest($.refunds[user][provider], fromRefunds);
                pending -= fromRefunds;
            }
            $.subAccounts[user][provider] = _packed(balance - taken, pending);
        }
    }

    /// @dev Removes `amount` (at most the sum of `list`) from the newest refunds of `list`.
    function _takeNewest(Refund[] storage list, uint256 amount) private {
        uint256 last = list.length;
        while (amount != 0) {
            // unchecked: amount <= Σ list while amount != 0, so the list is not empty; last >= 1.
            unchecked {
                --last;
            }
            uint256 refundAmount = list[last].amount;
            if (refundAmount <= amount) {
                list.pop();
                // unchecked: refundAmount <= amount.
                unchecked {
                    amount -= refundAmount;
                }
            } else {
                // unchecked: amount < refundAmount < 2^128.
                unchecked {
                    list[last].amount = uint128(refundAmount - amount);
                }
                amount = 0;
            }
        }
    }

    function _setLockTime(uint256 lockTime_) private {
        if (lockTime_ < MIN_LOCK_TIME || lockTime_ > MAX_LOCK_TIME) revert LedgerInvalidLockTime(lockTime_);
        // lockTime_ <= MAX_LOCK_TIME < 2^64.
        _s().lockTime = uint64(lockTime_);
        emit LockTimeSet(lockTime_);
    }

    function _send(address to, uint256 amount) private {
        (bool ok, ) = payable(to).call{value: amount}("");
        if (!ok) revert LedgerTransferFailed(to, amount);
    }

    /// @dev A sub-account's slot: balance in the low 128 bits, pending refunds in the high 128 bits. Both < 2^128.
    function _packed(uint256 balance, uint256 pending) private pure returns (uint256) {
        return balance | (pending << 128);
    }

    function _unpack(uint256 word) private pure returns (uint256 balance, uint256 pending) {
        balance = word & _MASK_128;
        pending = word >> 128;
    }

    function _s() private pure returns (LedgerStorage storage $) {
        // solhint-disable-next-line no-inline-assembly
        assembly {
            $.slot := _STORAGE_SLOT
        }
    }
}

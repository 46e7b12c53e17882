// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {TransientSlot} from "@openzeppelin/contracts/utils/TransientSlot.sol";
import {RegistryGovernedUpgradeable} from "../core/RegistryGovernedUpgradeable.sol";
import {IModuleRegistry} from "../core/interfaces/IModuleRegistry.sol";
import {INodeStaking} from "../staking/interfaces/INodeStaking.sol";
import {IServingLedger} from "../serving/interfaces/IServingLedger.sol";
import {IMarket} from "../storage/interfaces/IMarket.sol";
import {IAlignmentRewards} from "./interfaces/IAlignmentRewards.sol";
import {ILicenseView} from "./interfaces/ILicenseView.sol";

/**
 * @title AlignmentRewards
 * @notice Liveness attestations and the per-epoch reward pool of alignment licenses (see `IAlignmentRewards`).
 * Deployed behind an ERC-1967 proxy (UUPS); governance (the registry owner) sets the epoch length and authorizes
 * upgrades. The license and NodeStaking are looked up in the registry. Besides `fund` and plain transfers, the pool
 * is fed by `collect`, which pulls the alignment share of serving fees that the "ServingLedger" credits to this
 * module's earnings there, and of storage fees that the "Market" holds for it.
 *
 * Gas: two bits per license and epoch (live, paid), 128 licenses to a word; `attest` writes each word it touches
 * once, so a node running consecutive license ids writes one word per 128 licenses, plus the epoch's counters.
 * @dev Invariants:
 * - a license's live bit for an epoch is set at most once, only during that epoch; its paid bit at most once,
 *   only after the epoch and only if live; `unpaid` = live licenses not paid;
 * - an epoch's pool only grows while it is current, and afterwards only shrinks, by exactly what is paid or
 *   rolled over; the last license paid takes what rounding left, so a pool with live licenses is paid out exactly;
 * - `address(this).balance == Σ pool over epochs`: coin that arrives during `collect` from the ledger is counted
 *   or the market is counted by `collect` (as the balance gained), not by `receive`.
 */
contract AlignmentRewards is IAlignmentRewards, RegistryGovernedUpgradeable, ReentrancyGuardTransient {
    using TransientSlot for *;

    bytes32 private constant _STAKING = "NodeStaking";
    bytes32 private constant _LICENSE = "AlignmentLicense";
    bytes32 private constant _LEDGER = "ServingLedger";
    bytes32 private constant _MARKET = "Market";
    uint256 private constant _BPS = 10_000;

    struct Clock {
        uint64 anchorBlock;
        uint64 anchorEpoch;
        uint64 epochBlocks;
    }

    struct EpochData {
        uint128 pool;
        uint32 live;
        uint32 unpaid;
    }

    /// @custom:storage-location erc7201:zerog.alignment.AlignmentRewards
    struct RewardsStorage {
        IModuleRegistry registry;
        Clock clock;
        mapping(uint256 epoch => EpochData) epochs;
        // Two bits per license: bit 2k live, bit 2k + 1 paid, for license 128·word + k.
        mapping(uint256 epoch => mapping(uint256 word => uint256)) bits;
    }

    // keccak256(abi.encode(uint256(keccak256("zerog.alignment.AlignmentRewards")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant _STORAGE_SLOT =
        0xbab006b1dc885e105c2e0f56598f8c843c3f523f0fd3656cf6ea5fd14fb04300;

    // Transient: the module (ledger or market) `collect` is withdrawing from, whose transfer `receive` leaves to
    // `collect` to count.
    // keccak256(abi.encode(uint256(keccak256("zerog.alignment.AlignmentRewards.collecting")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant _COLLECTING_SLOT =
        0x1a4f4ba53a121e76612f9906c5f4ff78c98db10f1a8146e3403aba0b40fb4200;

    /**
     * @notice Sets up the proxy's state. Called once, by the proxy's constructor. Epoch 0 starts now.
     * @param registry_ The module registry; its owner is governance.
     * @param epochBlocks_ Blocks per epoch (≥ 2).
     */
    function initialize(address registry_, uint256 epochBlocks_) external initializer {
        if (registry_ == address(0)) revert RewardsZeroAddress();
        if (epochBlocks_ < 2 || epochBlocks_ > type(uint64).max)
            revert RewardsInvalidEpochBlocks(epochBlocks_);
        RewardsStorage storage $ = _s();
        $.registry = IModuleRegistry(registry_);
        $.clock = Clock(uint64(block.number), 0, uint64(epochBlocks_));
        emit EpochBlocksSet(epochBlocks_);
    }

    /// @notice Plain transfers fund the current epoch, as `fund` does; except the ledger's or market's transfer
    /// during `collect`, which `collect` counts.
    receive() external payable {
        _received();
    }

    // ─── Liveness and rewards ─────────────────────────────────────────────────────────────────────

    /// @inheritdoc IAlignmentRewards
    function attest(uint256[] calldata licenseIds) external {
        uint256 n = licenseIds.length;
        if (n == 0) revert RewardsNoLicenses();
        RewardsStorage storage $ = _s();
        uint256 epoch = _current($.clock);
        ILicenseView license = ILicenseView($.registry.getModule(_LICENSE));
        mapping(uint256 => uint256) storage bits = $.bits[epoch];
        uint256 index = type(uint256).max;
        uint256 word = 0;
        for (uint256 i = 0; i < n; ++i) {
            uint256 id = licenseIds[i];
            if (!license.isAuthorized(id, msg.sender)) revert RewardsNotAuthorized(id, msg.sender);
            uint256 at = id >> 7;
            if (at != index) {
                if (index != type(uint256).max) bits[index] = word;
                index = at;
                word = bits[at];
            }
            uint256 bit = 1 << ((id & 127) << 1);
            if (word & bit != 0) revert RewardsAlreadyAttested(epoch, id);
            word |= bit;
        }
        bits[index] = word;
        EpochData storage e = $.epochs[epoch];
        e.live += uint32(n);
        e.unpaid += uint32(n);
        emit LivenessAttested(epoch, msg.sender, licenseIds);
    }

    /// @inheritdoc IAlignmentRewards
    function fund() external payable {
        _fund();
    }

    /// @inheritdoc IAlignmentRewards
    function collect() external nonReentrant returns (uint256 amount) {
        RewardsStorage storage $ = _s();
        address ledger = $.registry.tryGetModule(_LEDGER);
        address market = $.registry.tryGetModule(_MARKET);
        bool fromLedger = ledger != address(0) && IServingLedger(ledger).earningsOf(address(this)) != 0;
        bool fromMarket = market != address(0) && IMarket(market).alignmentEarnings() != 0;
        if (!fromLedger && !fromMarket) return 0;
        if (INodeStaking($.registry.getModule(_STAKING)).mode() == INodeStaking.Mode.PERMISSIONED) {
            revert RewardsNoTokenMode();
        }
        uint256 epoch = _current($.clock);
        if (fromLedger) amount = _collectFrom(epoch, ledger, IServingLedger.withdrawEarnings.selector);
        if (fromMarket) amount += _collectFrom(epoch, market, IMarket.withdrawAlignmentShare.selector);
        // Σ coin is far below 2^128.
        $.epochs[epoch].pool += uint128(amount);
    }

    /// @inheritdoc IAlignmentRewards
    function claim(uint256 epoch, uint256 licenseId) external nonReentrant returns (uint256 amount) {
        RewardsStorage storage $ = _s();
        uint256 current = _current($.clock);
        if (epoch >= current) revert RewardsEpochNotEnded(epoch, current);
        mapping(uint256 => uint256) storage bits = $.bits[epoch];
        uint256 word = bits[licenseId >> 7];
        uint256 shift = (licenseId & 127) << 1;
        if ((word >> shift) & 1 == 0) revert RewardsNotLive(epoch, licenseId);
        if ((word >> shift) & 2 != 0) revert RewardsAlreadyClaimed(epoch, licenseId);
        bits[licenseId >> 7] = word | (2 << shift);
        EpochData storage e = $.epochs[epoch];
        uint256 pool = e.pool;
        uint256 unpaid = e.unpaid;
        // The remaining pool over the remaining live licenses: the last one takes the rounding.
        amount = pool / unpaid;
        e.pool = uint128(pool - amount);
        e.unpaid = uint32(unpaid - 1);
        _payout(ILicenseView($.registry.getModule(_LICENSE)), epoch, licenseId, amount);
    }

    /// @inheritdoc IAlignmentRewards
    function rollover(uint256 epoch) external {
        RewardsStorage storage $ = _s();
        uint256 current = _current($.clock);
        if (epoch >= current) revert RewardsEpochNotEnded(epoch, current);
        EpochData storage e = $.epochs[epoch];
        uint256 pool = e.pool;
        if (e.live != 0 || pool == 0) revert RewardsNothingToRollOver(epoch);
        e.pool = 0;
        $.epochs[current].pool += uint128(pool);
        emit RolledOver(epoch, current, pool);
    }

    // ─── Governance ───────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IAlignmentRewards
    function setEpochBlocks(uint256 epochBlocks_) external onlyGovernance {
        if (epochBlocks_ < 2 || epochBlocks_ > type(uint64).max)
            revert RewardsInvalidEpochBlocks(epochBlocks_);
        RewardsStorage storage $ = _s();
        Clock memory c = $.clock;
        uint256 elapsed = (block.number - c.anchorBlock) / c.epochBlocks;
        // The current epoch keeps its number and its first block; it lasts the new length from there.
        $.clock = Clock(
            uint64(c.anchorBlock + elapsed * c.epochBlocks),
            uint64(c.anchorEpoch + elapsed),
            uint64(epochBlocks_)
        );
        emit EpochBlocksSet(epochBlocks_);
    }

    // ─── Views ────────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IAlignmentRewards
    function currentEpoch() external view returns (uint256) {
        return _current(_s().clock);
    }

    /// @inheritdoc IAlignmentRewards
    function epochBlocks() external view returns (uint256) {
        return _s().clock.epochBlocks;
    }

    /// @inheritdoc IAlignmentRewards
    function nextEpochStart() external view returns (uint256) {
        Clock memory c = _s().clock;
        return c.anchorBlock + ((block.number - c.anchorBlock) / c.epochBlocks + 1) * c.epochBlocks;
    }

    /// @inheritdoc IAlignmentRewards
    function epochOf(uint256 epoch) external view returns (EpochInfo memory) {
        EpochData memory e = _s().epochs[epoch];
        return EpochInfo(e.pool, e.live, e.unpaid);
    }

    /// @inheritdoc IAlignmentRewards
    function licenseOf(uint256 epoch, uint256 licenseId) external view returns (bool live, bool claimed) {
        uint256 entry = _s().bits[epoch][licenseId >> 7] >> ((licenseId & 127) << 1);
        return (entry & 1 != 0, entry & 2 != 0);
    }

    // ─── Internals ────────────────────────────────────────────────────────────────────────────────

    /// @dev `receive`: funds the current epoch, unless the coin is the ledger's transfer that `collect` counts.
    function _received() private {
        if (msg.sender != _COLLECTING_SLOT.asAddress().tload()) _fund();
    }

    function _fund() private {
        if (msg.value == 0) revert RewardsZeroAmount();
        RewardsStorage storage $ = _s();
        if (INodeStaking($.registry.getModule(_STAKING)).mode() == INodeStaking.Mode.PERMISSIONED) {
            revert RewardsNoTokenMode();
        }
        uint256 epoch = _current($.clock);
        $.epochs[epoch].pool += uint128(msg.value);
        emit Funded(epoch, msg.sender, msg.value);
    }

    /// @dev Calls `source`'s withdrawal (`selector`, no arguments) and returns the balance gained, which `receive`
    /// leaves uncounted while `source` is marked.
    function _collectFrom(uint256 epoch, address source, bytes4 selector) private returns (uint256 amount) {
        uint256 before = address(this).balance;
        _COLLECTING_SLOT.asAddress().tstore(source);
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok, bytes memory data) = source.call(abi.encodeWithSelector(selector));
        _COLLECTING_SLOT.asAddress().tstore(address(0));
        if (!ok) {
            // Bubble the source's revert up.
            // solhint-disable-next-line no-inline-assembly
            assembly {
                revert(add(data, 32), mload(data))
            }
        }
        amount = address(this).balance - before;
        emit Collected(epoch, source, amount);
    }

    function _current(Clock memory c) private view returns (uint256) {
        return c.anchorEpoch + (block.number - c.anchorBlock) / c.epochBlocks;
    }

    /// @dev Pays `amount` for license `licenseId`: the commission to its operator, the rest to its holder.
    function _payout(ILicenseView license, uint256 epoch, uint256 licenseId, uint256 amount) private {
        address holder = license.ownerOf(licenseId);
        (address operator, uint256 bps) = license.operatorOf(licenseId);
        uint256 commission = operator == address(0) ? 0 : (amount * (bps > _BPS ? _BPS : bps)) / _BPS;
        emit RewardClaimed(epoch, licenseId, holder, amount - commission, operator, commission);
        _pay(operator, commission);
        _pay(holder, amount - commission);
    }

    function _pay(address to, uint256 amount) private {
        if (amount == 0) return;
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok, ) = to.call{value: amount}("");
        if (!ok) revert RewardsTransferFailed(to, amount);
    }

    /// @dev The registry, from this module's namespace.
    function _registry() internal view override returns (IModuleRegistry) {
        return _s().registry;
    }

    function _revertNotGovernance(address caller) internal pure override {
        revert RewardsNotGovernance(caller);
    }

    function _s() private pure returns (RewardsStorage storage $) {
        // solhint-disable-next-line no-inline-assembly
        assembly {
            $.slot := _STORAGE_SLOT
        }
    }
}

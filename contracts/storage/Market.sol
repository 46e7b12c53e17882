// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {RegistryGovernedUpgradeable} from "../core/RegistryGovernedUpgradeable.sol";
import {IModuleRegistry} from "../core/interfaces/IModuleRegistry.sol";
import {IFlow} from "./interfaces/IFlow.sol";
import {IMarket} from "./interfaces/IMarket.sol";

/**
 * @title Market
 * @notice The storage price and reward pool. The Flow forwards each submission's fee here; the module
 * registered as "StorageChallenges" pays storage nodes out of the pool. Deployed behind an ERC-1967 proxy
 * (UUPS); governance (the registry owner) sets the price and authorizes upgrades. Governance can also set an
 * alignment share (`alignmentShareBps`, 0 by default): that part of each fee is held for the module registered as
 * "AlignmentRewards" (looked up per fee; absent, the whole fee goes to the pool), which pulls it with
 * `withdrawAlignmentShare`.
 * @dev Callers are recognized through the registry at call time ("Flow", "StorageChallenges"), so replacing a
 * module in the registry moves its rights with no call here.
 * Invariants:
 * - `address(this).balance == rewardPool() + alignmentEarnings()`: coin enters only through `chargeFee` (which
 *   splits `msg.value` between the two) and leaves only through `payReward` (from the pool) and
 *   `withdrawAlignmentShare` (from `alignmentEarnings`), each subtracting what it sends; there is no `receive`.
 *   Only coin forced in without a call (SELFDESTRUCT, block rewards) could make the balance larger;
 * - `pricePerSector() < 2^96` (the Flow keeps a copy in 96 bits), so a fee (`sectors < 2^64` × price) never
 *   overflows.
 */
contract Market is IMarket, RegistryGovernedUpgradeable {
    bytes32 private constant _FLOW = "Flow";
    bytes32 private constant _STORAGE_CHALLENGES = "StorageChallenges";
    bytes32 private constant _ALIGNMENT = "AlignmentRewards";
    uint256 private constant _BPS = 10_000;

    // Fields are appended, never reordered (upgrade-safe), so later ones need not pack with earlier ones.
    // solhint-disable gas-struct-packing
    /// @custom:storage-location erc7201:zerog.storage.Market
    struct MarketStorage {
        // Read together by every paid submission: one slot.
        IModuleRegistry registry;
        uint96 pricePerSector;
        uint256 rewardPool;
        // Appended (upgrade-safe): the share of each fee held for "AlignmentRewards" (basis points), and what is
        // held for it.
        uint16 alignmentShareBps;
        uint256 alignmentEarnings;
    }
    // solhint-enable gas-struct-packing

    // keccak256(abi.encode(uint256(keccak256("zerog.storage.Market")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant _STORAGE_SLOT =
        0x7159100f044b3e83c9462b07e64670af3eac296f9c5103d17e29df1ffb259b00;

    /**
     * @notice Sets up the proxy's state. Called once, by the proxy's constructor.
     * @param registry_ The module registry; its owner is governance.
     * @param pricePerSector_ The first price of a 256-byte sector, in wei (zero: no fees).
     */
    function initialize(address registry_, uint256 pricePerSector_) external initializer {
        if (registry_ == address(0)) revert MarketZeroAddress();
        _s().registry = IModuleRegistry(registry_);
        _setPricePerSector(pricePerSector_);
    }

    // ─── Fees and rewards ─────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IMarket
    function chargeFee(uint256 beforeLength, uint256 uploadSectors, uint256 paddingSectors) external payable {
        MarketStorage storage $ = _s();
        if (msg.sender != $.registry.tryGetModule(_FLOW)) revert MarketNotFlow(msg.sender);
        uint256 expected = uploadSectors * $.pricePerSector;
        if (msg.value != expected) revert MarketFeeMismatch(expected, msg.value);
        uint256 share = 0;
        uint256 bps = $.alignmentShareBps;
        if (bps != 0 && msg.value != 0) {
            address rewards = $.registry.tryGetModule(_ALIGNMENT);
            if (rewards != address(0)) {
                // bps <= _BPS, so share <= msg.value.
                share = (msg.value * bps) / _BPS;
                if (share != 0) {
                    $.alignmentEarnings += share;
                    emit AlignmentShareHeld(rewards, share);
                }
            }
        }
        // unchecked: share <= msg.value.
        unchecked {
            $.rewardPool += msg.value - share;
        }
        emit FeeCharged(msg.sender, beforeLength, uploadSectors, paddingSectors, msg.value);
    }

    /// @inheritdoc IMarket
    function payReward(address to, uint256 amount) external {
        MarketStorage storage $ = _s();
        // An absent module resolves to address(0), which is never the caller.
        if (msg.sender != $.registry.tryGetModule(_STORAGE_CHALLENGES))
            revert MarketNotStorageChallenges(msg.sender);
        if (to == address(0)) revert MarketZeroAddress();
        uint256 pool = $.rewardPool;
        if (amount > pool) revert MarketInsufficientPool(amount, pool);
        // unchecked: amount <= pool.
        unchecked {
            $.rewardPool = pool - amount;
        }
        emit RewardPaid(to, amount, msg.sender);
        (bool ok, ) = payable(to).call{value: amount}("");
        if (!ok) revert MarketTransferFailed(to, amount);
    }

    /// @inheritdoc IMarket
    function withdrawAlignmentShare() external returns (uint256 amount) {
        MarketStorage storage $ = _s();
        // An absent module resolves to address(0), which is never the caller.
        if (msg.sender != $.registry.tryGetModule(_ALIGNMENT)) revert MarketNotAlignmentRewards(msg.sender);
        amount = $.alignmentEarnings;
        if (amount == 0) return 0;
        $.alignmentEarnings = 0;
        emit AlignmentShareWithdrawn(msg.sender, amount);
        (bool ok, ) = payable(msg.sender).call{value: amount}("");
        if (!ok) revert MarketTransferFailed(msg.sender, amount);
    }

    // ─── Governance ───────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IMarket
    function setPricePerSector(uint256 price) external onlyGovernance {
        _setPricePerSector(price);
        // The registered Flow charges from a copy of the price: refresh it in the same transaction.
        address flow = _s().registry.tryGetModule(_FLOW);
        if (flow != address(0)) IFlow(flow).syncPrice();
    }

    /// @inheritdoc IMarket
    function setAlignmentShare(uint16 bps) external onlyGovernance {
        if (bps > _BPS) revert MarketInvalidAlignmentShare(bps);
        _s().alignmentShareBps = bps;
        emit AlignmentShareSet(bps);
    }

    // ─── Views ────────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IMarket
    function pricePerSector() external view returns (uint256) {
        return _s().pricePerSector;
    }

    /// @inheritdoc IMarket
    function rewardPool() external view returns (uint256) {
        return _s().rewardPool;
    }

    /// @inheritdoc IMarket
    function alignmentShareBps() external view returns (uint256) {
        return _s().alignmentShareBps;
    }

    /// @inheritdoc IMarket
    function alignmentEarnings() external view returns (uint256) {
        return _s().alignmentEarnings;
    }

    // ─── Internal ─────────────────────────────────────────────────────────────────────────────────

    /// @dev The registry is a field of this module's namespace, in the slot it shares with the price.
    function _registry() internal view override returns (IModuleRegistry) {
        return _s().registry;
    }

    /// @dev Reverts with `MarketNotGovernance(caller)`.
    function _revertNotGovernance(address caller) internal pure override {
        revert MarketNotGovernance(caller);
    }

    function _setPricePerSector(uint256 price) private {
        if (price > type(uint96).max) revert MarketPriceTooHigh(price);
        _s().pricePerSector = uint96(price);
        emit PricePerSectorSet(price);
    }

    function _s() private pure returns (MarketStorage storage $) {
        // solhint-disable-next-line no-inline-assembly
        assembly {
            $.slot := _STORAGE_SLOT
        }
    }
}

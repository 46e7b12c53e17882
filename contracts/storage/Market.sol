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
 * (UUPS); governance (the registry owner) sets the price and authorizes upgrades.
 * @dev Callers are recognized through the registry at call time ("Flow", "StorageChallenges"), so replacing a
 * module in the registry moves its rights with no call here.
 * Invariants:
 * - `address(this).balance == rewardPool()`: coin enters only through `chargeFee` (which adds `msg.value` to
 *   the pool) and leaves only through `payReward` (which subtracts what it sends); there is no `receive`.
 *   Only coin forced in without a call (SELFDESTRUCT, block rewards) could make the balance larger;
 * - `pricePerSector() < 2^96` (the Flow keeps a copy in 96 bits), so a fee (`sectors < 2^64` × price) never
 *   overflows.
 */
contract Market is IMarket, RegistryGovernedUpgradeable {
    bytes32 private constant _FLOW = "Flow";
    bytes32 private constant _STORAGE_CHALLENGES = "StorageChallenges";

    /// @custom:storage-location erc7201:zerog.storage.Market
    struct MarketStorage {
        // Read together by every paid submission: one slot.
        IModuleRegistry registry;
        uint96 pricePerSector;
        uint256 rewardPool;
    }

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
        $.rewardPool += msg.value;
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

    // ─── Governance ───────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IMarket
    function setPricePerSector(uint256 price) external onlyGovernance {
        _setPricePerSector(price);
        // The registered Flow charges from a copy of the price: refresh it in the same transaction.
        address flow = _s().registry.tryGetModule(_FLOW);
        if (flow != address(0)) IFlow(flow).syncPrice();
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

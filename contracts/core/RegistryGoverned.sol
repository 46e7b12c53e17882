// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IModuleRegistry} from "./interfaces/IModuleRegistry.sol";
import {IRegistryGoverned} from "./interfaces/IRegistryGoverned.sol";

/**
 * @title RegistryGoverned
 * @notice The governance check shared by the zerog-stack modules: governance is the owner of the module registry,
 * read at every check (see `IRegistryGoverned`).
 * @dev Keeps no storage of its own. A module returns its registry from `_registry()`, from wherever it keeps it:
 * an immutable, or a field of its own ERC-7201 namespace, where the registry can share a slot with what is read
 * along with it (a separate namespace here would cost those paths one more cold slot read). A module reverts with
 * its own error from `_revertNotGovernance`, so that callers see e.g. `MarketNotGovernance(caller)`.
 */
abstract contract RegistryGoverned is IRegistryGoverned {
    /// @dev Only governance, the registry owner; anyone else is refused with the module's own error.
    modifier onlyGovernance() {
        _checkGovernance();
        _;
    }

    /// @inheritdoc IRegistryGoverned
    function registry() external view returns (address) {
        return address(_registry());
    }

    /// @dev Reverts, through `_revertNotGovernance`, unless the caller is the registry owner.
    function _checkGovernance() internal view {
        if (msg.sender != _registry().owner()) _revertNotGovernance(msg.sender);
    }

    /// @dev The module registry, whose owner is governance.
    function _registry() internal view virtual returns (IModuleRegistry);

    /**
     * @dev Reverts with the module's own "not governance" error, e.g. `revert MarketNotGovernance(caller)`. Must
     * revert: `onlyGovernance` lets the call through if it returns.
     * @param caller The account refused (`msg.sender`).
     */
    function _revertNotGovernance(address caller) internal pure virtual;
}

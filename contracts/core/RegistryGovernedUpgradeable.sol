// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";
import {RegistryGoverned} from "./RegistryGoverned.sol";

/**
 * @title RegistryGovernedUpgradeable
 * @notice `RegistryGoverned` for modules deployed behind an ERC-1967 proxy (UUPS): governance, the registry owner,
 * authorizes upgrades.
 * @dev The implementation contract itself can never be initialized (its constructor disables initializers); the
 * proxy's state lives in the module's ERC-7201 namespace, the registry included (see `RegistryGoverned`).
 */
abstract contract RegistryGovernedUpgradeable is RegistryGoverned, Initializable, UUPSUpgradeable {
    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    /// @dev Only governance upgrades.
    function _authorizeUpgrade(address) internal view virtual override onlyGovernance {}
}

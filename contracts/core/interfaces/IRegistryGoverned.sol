// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/**
 * @title IRegistryGoverned
 * @notice A module governed through the module registry: governance is the registry's owner, read at call time,
 * so handing the registry over hands over every module at once.
 */
interface IRegistryGoverned {
    /// @notice The module registry: its owner is governance, and the other modules are looked up in it.
    function registry() external view returns (address);
}

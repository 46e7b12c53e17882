// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/**
 * @title IModuleRegistry
 * @notice The directory through which zerog-stack modules find each other: a name maps to one address and a
 * version string. A module that is not deployed is simply absent. The owner is governance (a timelock once
 * the alignment module is deployed) and is also the authority for every module's tunable parameters.
 */
interface IModuleRegistry {
    /// @notice Thrown when a module address is the zero address.
    error RegistryZeroAddress();
    /// @notice Thrown when a module name is empty.
    error RegistryEmptyName();
    /// @notice Thrown when a module version string is empty.
    error RegistryEmptyVersion();
    /// @notice Thrown when a name has no module.
    /// @param name The module name looked up.
    error RegistryModuleNotFound(bytes32 name);
    /// @notice Thrown when an address is already registered under another name (one address, one name).
    /// @param module The address being registered.
    /// @param existingName The name it already holds.
    error RegistryAddressInUse(address module, bytes32 existingName);

    /// @notice Emitted when a module is added or replaced.
    /// @param name The module name.
    /// @param module The new address.
    /// @param previous The replaced address, or zero when the name was free.
    /// @param version The version string of the new module.
    event ModuleSet(bytes32 indexed name, address indexed module, address indexed previous, string version);
    /// @notice Emitted when a module is removed.
    event ModuleRemoved(bytes32 indexed name, address indexed module);
    /// @notice Emitted when the slashing authority of a module name changes.
    event SlasherSet(bytes32 indexed name, bool allowed);

    /// @notice Adds or replaces the module registered under `name`. Only the owner.
    /// @param name Module name, e.g. `bytes32("NodeStaking")`.
    /// @param module The module address.
    /// @param version A human-readable version, e.g. "1.0.0".
    function setModule(bytes32 name, address module, string calldata version) external;

    /// @notice Removes the module registered under `name`. Only the owner.
    function removeModule(bytes32 name) external;

    /// @notice Grants or revokes, by module name, the right to call `NodeStaking.slash`.
    /// @dev Authority follows the name: replacing a module moves the right to the new address.
    function setSlasher(bytes32 name, bool allowed) external;

    /// @notice The address registered under `name`; reverts with `RegistryModuleNotFound` when absent.
    function getModule(bytes32 name) external view returns (address);

    /// @notice The addresses registered under two names, in one call (for modules that need two others on every
    /// call); reverts with `RegistryModuleNotFound` for the first name that is absent.
    function getModules(bytes32 first, bytes32 second) external view returns (address, address);

    /// @notice The address registered under `name`, or zero when absent.
    function tryGetModule(bytes32 name) external view returns (address);

    /// @notice The version string of the module registered under `name`; reverts when absent.
    function moduleVersion(bytes32 name) external view returns (string memory);

    /// @notice The name an address is registered under, or zero when it is not a module.
    function nameOf(address module) external view returns (bytes32);

    /// @notice Every registered module name, in no particular order.
    function moduleNames() external view returns (bytes32[] memory);

    /// @notice Whether the module name holds slashing authority (whether or not it is deployed).
    function slasherAllowed(bytes32 name) external view returns (bool);

    /// @notice Whether `caller` is a registered module whose name holds slashing authority.
    function isSlasher(address caller) external view returns (bool);

    /// @notice Governance: the owner of the registry and of every module's parameters.
    function owner() external view returns (address);
}

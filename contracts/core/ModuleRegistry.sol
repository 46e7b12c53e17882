// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {IModuleRegistry} from "./interfaces/IModuleRegistry.sol";

/**
 * @title ModuleRegistry
 * @notice Name → address directory of the deployed zerog-stack modules, owned by governance.
 * @dev Invariants:
 * - a name is in `_names` iff it maps to a non-zero address;
 * - `_nameOf[a] == n` iff `_modules[n].addr == a` (an address holds at most one name).
 * Ownership moves in two steps so that a mistyped governance address cannot brick the stack.
 */
contract ModuleRegistry is IModuleRegistry, Ownable2Step {
    using EnumerableSet for EnumerableSet.Bytes32Set;

    struct Entry {
        address addr;
        string version;
    }

    mapping(bytes32 name => Entry) private _modules;
    mapping(address module => bytes32 name) private _nameOf;
    mapping(bytes32 name => bool) private _slasherAllowed;
    EnumerableSet.Bytes32Set private _names;

    /// @param initialOwner The first governance account (the deployer on a devnet, a multisig or timelock elsewhere).
    constructor(address initialOwner) Ownable(initialOwner) {}

    /// @inheritdoc IModuleRegistry
    function setModule(bytes32 name, address module, string calldata version) external onlyOwner {
        if (name == bytes32(0)) revert RegistryEmptyName();
        if (module == address(0)) revert RegistryZeroAddress();
        if (bytes(version).length == 0) revert RegistryEmptyVersion();
        bytes32 existing = _nameOf[module];
        if (existing != bytes32(0) && existing != name) revert RegistryAddressInUse(module, existing);

        address previous = _modules[name].addr;
        if (previous != address(0)) delete _nameOf[previous];
        _modules[name] = Entry(module, version);
        _nameOf[module] = name;
        _names.add(name);
        emit ModuleSet(name, module, previous, version);
    }

    /// @inheritdoc IModuleRegistry
    function removeModule(bytes32 name) external onlyOwner {
        address module = _modules[name].addr;
        if (module == address(0)) revert RegistryModuleNotFound(name);
        delete _modules[name];
        delete _nameOf[module];
        _names.remove(name);
        emit ModuleRemoved(name, module);
    }

    /// @inheritdoc IModuleRegistry
    function setSlasher(bytes32 name, bool allowed) external onlyOwner {
        if (name == bytes32(0)) revert RegistryEmptyName();
        _slasherAllowed[name] = allowed;
        emit SlasherSet(name, allowed);
    }

    /// @inheritdoc IModuleRegistry
    function getModule(bytes32 name) external view returns (address module) {
        module = _modules[name].addr;
        if (module == address(0)) revert RegistryModuleNotFound(name);
    }

    /// @inheritdoc IModuleRegistry
    function getModules(bytes32 first, bytes32 second) external view returns (address, address) {
        address a = _modules[first].addr;
        if (a == address(0)) revert RegistryModuleNotFound(first);
        address b = _modules[second].addr;
        if (b == address(0)) revert RegistryModuleNotFound(second);
        return (a, b);
    }

    /// @inheritdoc IModuleRegistry
    function tryGetModule(bytes32 name) external view returns (address) {
        return _modules[name].addr;
    }

    /// @inheritdoc IModuleRegistry
    function moduleVersion(bytes32 name) external view returns (string memory) {
        Entry storage entry = _modules[name];
        if (entry.addr == address(0)) revert RegistryModuleNotFound(name);
        return entry.version;
    }

    /// @inheritdoc IModuleRegistry
    function nameOf(address module) external view returns (bytes32) {
        return _nameOf[module];
    }

    /// @inheritdoc IModuleRegistry
    function moduleNames() external view returns (bytes32[] memory) {
        return _names.values();
    }

    /// @inheritdoc IModuleRegistry
    function slasherAllowed(bytes32 name) external view returns (bool) {
        return _slasherAllowed[name];
    }

    /// @inheritdoc IModuleRegistry
    function isSlasher(address caller) external view returns (bool) {
        bytes32 name = _nameOf[caller];
        return name != bytes32(0) && _slasherAllowed[name];
    }

    /// @inheritdoc IModuleRegistry
    function owner() public view override(IModuleRegistry, Ownable) returns (address) {
        return super.owner();
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {RegistryGoverned} from "../core/RegistryGoverned.sol";
import {IModuleRegistry} from "../core/interfaces/IModuleRegistry.sol";
import {IAlignmentPolicy} from "./interfaces/IAlignmentPolicy.sol";

/**
 * @title AlignmentPolicy
 * @notice The versioned alignment policy (see `IAlignmentPolicy`). Not upgradeable; governance appends versions.
 * @dev Invariants: versions are `1 … _versions.length`, each set once and never changed; `setAt` never decreases.
 */
contract AlignmentPolicy is IAlignmentPolicy, RegistryGoverned {
    /// @dev One version: root in one slot, size and time in the next.
    struct Version {
        bytes32 root;
        uint64 size;
        uint64 setAt;
    }

    IModuleRegistry private immutable _REGISTRY;
    Version[] private _versions;

    /// @param registry_ The module registry (governance is its owner).
    constructor(address registry_) {
        if (registry_ == address(0)) revert PolicyZeroAddress();
        _REGISTRY = IModuleRegistry(registry_);
    }

    /// @inheritdoc IAlignmentPolicy
    function setPolicy(bytes32 root, uint64 size) external onlyGovernance returns (uint256 version) {
        if (root == bytes32(0)) revert PolicyZeroRoot();
        if (size == 0) revert PolicyZeroSize();
        _versions.push(Version(root, size, uint64(block.timestamp)));
        version = _versions.length;
        emit PolicySet(version, root, size);
    }

    /// @inheritdoc IAlignmentPolicy
    function policy() external view returns (uint256 version, bytes32 root, uint64 size, uint64 setAt) {
        version = _versions.length;
        if (version == 0) return (0, bytes32(0), 0, 0);
        Version storage entry = _versions[version - 1];
        return (version, entry.root, entry.size, entry.setAt);
    }

    /// @inheritdoc IAlignmentPolicy
    function policyAt(uint256 version) external view returns (bytes32 root, uint64 size, uint64 setAt) {
        if (version == 0 || version > _versions.length) revert PolicyUnknownVersion(version);
        Version storage entry = _versions[version - 1];
        return (entry.root, entry.size, entry.setAt);
    }

    /// @inheritdoc IAlignmentPolicy
    function versions() external view returns (uint256) {
        return _versions.length;
    }

    /// @inheritdoc RegistryGoverned
    function _registry() internal view override returns (IModuleRegistry) {
        return _REGISTRY;
    }

    /// @inheritdoc RegistryGoverned
    function _revertNotGovernance(address caller) internal pure override {
        revert PolicyNotGovernance(caller);
    }
}

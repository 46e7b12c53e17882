// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ILicenseView} from "../alignment/interfaces/ILicenseView.sol";

/**
 * @title TestLicense
 * @notice Test double of the AlignmentLicense: plain mappings for holders and operators, no ERC-721. Anyone may
 * mint; the holder transfers (which clears the operator, as the real license does) and sets or clears an operator.
 * @dev For tests only.
 */
contract TestLicense is ILicenseView {
    struct Operator {
        address account;
        uint16 commissionBps;
    }

    mapping(uint256 tokenId => address) private _holders;
    mapping(uint256 tokenId => Operator) private _operators;
    uint256 private _supply;

    /// @notice Thrown when the caller does not hold the license, or minting an existing one.
    error TestLicenseDenied(uint256 tokenId);
    /// @notice Thrown for a license that does not exist.
    error TestLicenseNonexistent(uint256 tokenId);

    /// @notice Mints license `tokenId` to `to`.
    function mint(address to, uint256 tokenId) external {
        if (_holders[tokenId] != address(0) || to == address(0)) revert TestLicenseDenied(tokenId);
        _holders[tokenId] = to;
        ++_supply;
    }

    /// @notice Moves license `tokenId` to `to` and clears its operator. Holder only.
    function transfer(uint256 tokenId, address to) external {
        if (_holders[tokenId] != msg.sender || to == address(0)) revert TestLicenseDenied(tokenId);
        _holders[tokenId] = to;
        delete _operators[tokenId];
    }

    /// @notice Hands license `tokenId` to `operator` for `commissionBps`. Holder only.
    function setOperator(uint256 tokenId, address operator, uint16 commissionBps) external {
        if (_holders[tokenId] != msg.sender) revert TestLicenseDenied(tokenId);
        _operators[tokenId] = Operator(operator, commissionBps);
    }

    /// @notice Takes license `tokenId` back from its operator. Holder only.
    function clearOperator(uint256 tokenId) external {
        if (_holders[tokenId] != msg.sender) revert TestLicenseDenied(tokenId);
        delete _operators[tokenId];
    }

    /// @inheritdoc ILicenseView
    function isAuthorized(uint256 tokenId, address account) external view returns (bool) {
        address holder = _holders[tokenId];
        return holder != address(0) && (account == holder || account == _operators[tokenId].account);
    }

    /// @inheritdoc ILicenseView
    function ownerOf(uint256 tokenId) external view returns (address holder) {
        holder = _holders[tokenId];
        if (holder == address(0)) revert TestLicenseNonexistent(tokenId);
    }

    /// @inheritdoc ILicenseView
    function operatorOf(uint256 tokenId) external view returns (address operator, uint256 commissionBps) {
        Operator memory o = _operators[tokenId];
        return (o.account, o.commissionBps);
    }

    /// @inheritdoc ILicenseView
    function totalSupply() external view returns (uint256) {
        return _supply;
    }
}

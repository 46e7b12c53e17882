// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {BN254} from "../da/libraries/BN254.sol";

/// @title TestBN254
/// @notice Exposes the BN254 library to the tests (hash to G1, the γ 2-pair check, negation).
contract TestBN254 {
    function hashToG1(bytes32 messageHash) external view returns (BN254.G1Point memory) {
        return BN254.hashToG1(messageHash);
    }

    function hashToG1WithHint(
        bytes32 messageHash,
        uint256[] calldata hint
    ) external view returns (BN254.G1Point memory) {
        return BN254.hashToG1(messageHash, hint);
    }

    function verify(
        bytes32 messageHash,
        BN254.G1Point calldata apk,
        BN254.G2Point calldata apkG2,
        BN254.G1Point calldata sigma
    ) external view returns (bool) {
        return BN254.verify(BN254.hashToG1(messageHash), apk, apkG2, sigma);
    }

    function neg(BN254.G1Point calldata a) external pure returns (BN254.G1Point memory) {
        return BN254.neg(a);
    }
}

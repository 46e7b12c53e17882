// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";

/**
 * @title TypedDataHash
 * @notice The EIP-712 digest of a struct of four static fields, hashed in scratch memory: what vouchers and access
 * proofs are signed over, computed once per signature on paths that check many.
 */
library TypedDataHash {
    /**
     * @notice `keccak256("\x19\x01" ‖ domainSeparator ‖ keccak256(abi.encode(typeHash, a, b, c, d)))`.
     * @dev Addresses and integers are passed as their 32-byte words, as `abi.encode` lays them out.
     */
    function digest4(
        bytes32 domainSeparator,
        bytes32 typeHash,
        bytes32 a,
        bytes32 b,
        bytes32 c,
        bytes32 d
    ) internal pure returns (bytes32) {
        bytes32 structHash;
        // Safe: hashes five words laid out at the free memory pointer without moving it (scratch memory that
        // nothing reads afterwards), where `abi.encode` would allocate them for good.
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typeHash)
            mstore(add(ptr, 0x20), a)
            mstore(add(ptr, 0x40), b)
            mstore(add(ptr, 0x60), c)
            mstore(add(ptr, 0x80), d)
            structHash := keccak256(ptr, 0xa0)
        }
        return MessageHashUtils.toTypedDataHash(domainSeparator, structHash);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/**
 * @title TestMulticall
 * @notice Test helper: many view calls, and coin balances, in one `eth_call`, so that property tests can read a
 * whole model's worth of chain state after every operation without one round trip per value.
 * @dev For tests only.
 */
contract TestMulticall {
    /// @notice One view call.
    struct Call {
        address target;
        bytes data;
    }

    /// @notice Thrown when a call of the batch reverts.
    /// @param index The call's position in the batch.
    error CallFailed(uint256 index);

    /// @notice Runs every call with `staticcall` and returns their raw results, in order.
    function aggregate(Call[] calldata calls) external view returns (bytes[] memory results) {
        results = new bytes[](calls.length);
        for (uint256 i = 0; i < calls.length; ++i) {
            (bool ok, bytes memory result) = calls[i].target.staticcall(calls[i].data);
            if (!ok) revert CallFailed(i);
            results[i] = result;
        }
    }

    /// @notice The coin balance of `account` (call it through `aggregate` to read it with the rest).
    function coinBalance(address account) external view returns (uint256) {
        return account.balance;
    }
}

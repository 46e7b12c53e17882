// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/**
 * @title BN254
 * @notice BN254 (alt_bn128) arithmetic for DA BLS signatures through the precompiles: G1 addition (0x06) and
 * scalar multiplication (0x07), the pairing check (0x08), and modexp (0x05) for the square root of hash to G1.
 * @dev Signatures are in G1, public keys in G1 and G2 (docs/da.md, "BLS"). G2 points are encoded as the
 * precompile takes them: `X = [x.c1, x.c0]`, `Y = [y.c1, y.c0]`. The point at infinity is (0, 0).
 */
library BN254 {
    // The coordinates are named as the precompiles' specifications and EigenLayer name them.
    // solhint-disable var-name-mixedcase

    /// @notice A G1 point.
    struct G1Point {
        uint256 X;
        uint256 Y;
    }

    /// @notice A G2 point, imaginary part first.
    struct G2Point {
        uint256[2] X;
        uint256[2] Y;
    }
    // solhint-enable var-name-mixedcase

    /// @notice Thrown when a precompile refuses its input (a point not on the curve or not in G2's subgroup).
    error BN254InvalidPoint();
    /// @notice Thrown when a hash-to-G1 witness (`hashToG1` with a hint) does not prove the point.
    error BN254InvalidHashHint();

    /// @dev The base field modulus and the group order.
    uint256 internal constant P =
        21888242871839275222246405745257275088696311157297823662689037894645226208583;
    uint256 internal constant R =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @dev (p + 1) / 4: y = rhs^((p+1)/4) is a square root of rhs when one exists (p ≡ 3 mod 4).
    uint256 private constant _SQRT_EXPONENT =
        0xc19139cb84c680a6e14116da060561765e05aa45a1c72a34f082305b61f3f52;
    /// @dev −G2 (the generator negated), imaginary parts first.
    uint256 private constant _NG2_X1 =
        11559732032986387107991004021392285783925812861821192530917403151452391805634;
    uint256 private constant _NG2_X0 =
        10857046999023057135944570762232829481370756359578518086990519993285655852781;
    uint256 private constant _NG2_Y1 =
        17805874995975841540914202342111839520379459829704422454583296818431106115052;
    uint256 private constant _NG2_Y0 =
        13392588948715843804641432497768002650278120570034223513918757245338268106653;

    // solhint-disable no-inline-assembly

    /// @notice a + b.
    function add(G1Point memory a, G1Point memory b) internal view returns (G1Point memory r) {
        bool ok;
        assembly ("memory-safe") {
            let input := mload(0x40)
            mstore(input, mload(a))
            mstore(add(input, 0x20), mload(add(a, 0x20)))
            mstore(add(input, 0x40), mload(b))
            mstore(add(input, 0x60), mload(add(b, 0x20)))
            ok := staticcall(gas(), 0x06, input, 0x80, r, 0x40)
        }
        if (!ok) revert BN254InvalidPoint();
    }

    /// @notice s · a.
    function mul(G1Point memory a, uint256 s) internal view returns (G1Point memory r) {
        bool ok;
        assembly ("memory-safe") {
            let input := mload(0x40)
            mstore(input, mload(a))
            mstore(add(input, 0x20), mload(add(a, 0x20)))
            mstore(add(input, 0x40), s)
            ok := staticcall(gas(), 0x07, input, 0x60, r, 0x40)
        }
        if (!ok) revert BN254InvalidPoint();
    }

    /// @notice −a (infinity stays infinity).
    function neg(G1Point memory a) internal pure returns (G1Point memory) {
        if (a.X == 0 && a.Y == 0) return a;
        return G1Point(a.X, P - (a.Y % P));
    }

    /**
     * @notice Hash to G1 by try-and-increment: x = messageHash mod p, then x+1, x+2, … until x³ + 3 is a square
     * y² with y = (x³ + 3)^((p+1)/4). About two modexp calls on average.
     */
    function hashToG1(bytes32 messageHash) internal view returns (G1Point memory point) {
        // The loop ends: about half of all x are the abscissa of a point.
        for (uint256 x = uint256(messageHash) % P; ; x = addmod(x, 1, P)) {
            uint256 rhs = addmod(mulmod(mulmod(x, x, P), x, P), 3, P);
            uint256 y = _sqrtCandidate(rhs);
            if (mulmod(y, y, P) == rhs) return G1Point(x, y);
        }
    }

    /**
     * @notice The same point as `hashToG1(messageHash)`, checked from a witness instead of computed: a few
     * `mulmod`s instead of about two 4,000-gas modexp calls (Osaka prices). Reverts `BN254InvalidHashHint` unless
     * `hint` is exactly `[w₀, …, w_{k−1}, y, s]` where x_j = (messageHash mod p) + j (mod p), each skipped
     * x_j has w_j² = −(x_j³ + 3) (so x_j³ + 3 is not a square: −1 is not one, p ≡ 3 mod 4, and x³ + 3 ≠ 0 on
     * this curve of prime order), y < p with y² = x_k³ + 3, and s² = y (y is the square root, the one
     * `(x_k³ + 3)^((p+1)/4)` gives). The witness is unique, so is the point. An empty hint computes it on-chain.
     */
    function hashToG1(bytes32 messageHash, uint256[] calldata hint) internal view returns (G1Point memory) {
        uint256 length = hint.length;
        if (length == 0) return hashToG1(messageHash);
        if (length < 2) revert BN254InvalidHashHint();
        uint256 x = uint256(messageHash) % P;
        uint256 skipped = length - 2;
        for (uint256 j = 0; j < skipped; ++j) {
            uint256 w = hint[j];
            uint256 rhs = addmod(mulmod(mulmod(x, x, P), x, P), 3, P);
            if (addmod(mulmod(w, w, P), rhs, P) != 0) revert BN254InvalidHashHint();
            x = addmod(x, 1, P);
        }
        uint256 y = hint[skipped];
        uint256 s = hint[skipped + 1];
        if (y >= P || mulmod(y, y, P) != addmod(mulmod(mulmod(x, x, P), x, P), 3, P) || mulmod(s, s, P) != y)
            revert BN254InvalidHashHint();
        return G1Point(x, y);
    }

    /**
     * @notice The γ-combined check that `sigma` signs the hashed message point `h` under `apkG2` and that `apk`
     * (G1) has the same secret: with γ = keccak256(abi.encode(h, apk, apkG2, sigma)) mod r,
     * e(σ + γ·apk, −G2) · e(h + γ·G1, apkG2) = 1. Reverts `BN254InvalidPoint` for points off the curve.
     */
    function verify(
        G1Point memory h,
        G1Point memory apk,
        G2Point memory apkG2,
        G1Point memory sigma
    ) internal view returns (bool) {
        uint256 gamma = uint256(keccak256(abi.encode(h, apk, apkG2, sigma))) % R;
        G1Point memory left = add(sigma, mul(apk, gamma));
        G1Point memory right = add(h, mul(G1Point(1, 2), gamma));
        uint256[12] memory input = [
            left.X,
            left.Y,
            _NG2_X1,
            _NG2_X0,
            _NG2_Y1,
            _NG2_Y0,
            right.X,
            right.Y,
            apkG2.X[0],
            apkG2.X[1],
            apkG2.Y[0],
            apkG2.Y[1]
        ];
        uint256[1] memory out;
        bool ok;
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x08, input, 0x180, out, 0x20)
        }
        if (!ok) revert BN254InvalidPoint();
        return out[0] == 1;
    }

    /// @dev rhs^((p+1)/4) mod p through modexp (0x05), which cannot fail on this input.
    function _sqrtCandidate(uint256 rhs) private view returns (uint256 y) {
        assembly ("memory-safe") {
            let input := mload(0x40)
            mstore(input, 0x20)
            mstore(add(input, 0x20), 0x20)
            mstore(add(input, 0x40), 0x20)
            mstore(add(input, 0x60), rhs)
            mstore(add(input, 0x80), _SQRT_EXPONENT)
            mstore(add(input, 0xa0), P)
            pop(staticcall(gas(), 0x05, input, 0xc0, input, 0x20))
            y := mload(input)
        }
    }
}

"""RFC 9162 Merkle tree: hashes, proofs and verifiers against a reference written from the RFC.

The reference below is RFC 9162 §2.1 transcribed as literally as Python allows (recursive MTH,
PATH, PROOF/SUBPROOF over the entry list); the module under test builds the same proofs from
stored perfect subtrees, and its verifiers must accept exactly those proofs and nothing else.
"""

from __future__ import annotations

import hashlib
import math
from functools import cache

import pytest

from registry.domain.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    consistency_proof,
    consistency_proof_ranges,
    inclusion_proof,
    inclusion_proof_ranges,
    is_perfect_subtree,
    leaf_hash,
    node_hash,
    node_position,
    perfect_pieces,
    range_hash,
    root_hash,
    subtrees_completed_by_append,
    subtrees_to_read,
    tree_root,
    verify_consistency,
    verify_inclusion,
)
from registry.errors import InvalidInput

MAX_SIZE = 70
ENTRIES = [f"certificate:issued MKR-{i:04d}".encode() for i in range(MAX_SIZE)]
LEAVES = [leaf_hash(entry) for entry in ENTRIES]


# --- RFC 9162 §2.1, transcribed -------------------------------------------------------------


def _k(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


@cache
def ref_mth(lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) over ENTRIES, RFC 9162 §2.1.1."""
    n = hi - lo
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + ENTRIES[lo]).digest()
    k = _k(n)
    return hashlib.sha256(b"\x01" + ref_mth(lo, lo + k) + ref_mth(lo + k, hi)).digest()


def ref_path(m: int, lo: int, hi: int) -> list[bytes]:
    """PATH(m, D[lo:hi]), RFC 9162 §2.1.3.1."""
    n = hi - lo
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*ref_path(m, lo, lo + k), ref_mth(lo + k, hi)]
    return [*ref_path(m - k, lo + k, hi), ref_mth(lo, lo + k)]


def ref_subproof(m: int, lo: int, hi: int, b: bool) -> list[bytes]:
    """SUBPROOF(m, D[lo:hi], b), RFC 9162 §2.1.4.1."""
    n = hi - lo
    if m == n:
        return [] if b else [ref_mth(lo, hi)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, lo, lo + k, b), ref_mth(lo + k, hi)]
    return [*ref_subproof(m - k, lo + k, hi, False), ref_mth(lo, lo + k)]


def ref_proof(m: int, n: int) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true), RFC 9162 §2.1.4.1."""
    return ref_subproof(m, 0, n, True)


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tree() -> MemoryTree:
    built = MemoryTree()
    for leaf in LEAVES:
        built.append(leaf)
    return built


def ceil_log2(n: int) -> int:
    return max(1, math.ceil(math.log2(n)))


def flip(value: bytes, position: int = 0) -> bytes:
    changed = bytearray(value)
    changed[position % len(changed)] ^= 0x01
    return bytes(changed)


# --- hashing -------------------------------------------------------------------------------


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    known = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert EMPTY_ROOT.hex() == known
    assert root_hash([]).hex() == known
    assert MemoryTree().root().hex() == known
    assert tree_root(0, MemoryTree().subtree_hash).hex() == known


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    left, right = leaf_hash(b"l"), leaf_hash(b"r")
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert node_hash(left, right) != node_hash(right, left)
    # A node can never pass for a leaf over the same bytes.
    assert node_hash(left, right) != leaf_hash(left + right)


# Certificate Transparency's published vectors (RFC 6962 trees hash identically in RFC 9162).
CT_ENTRIES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}


def test_certificate_transparency_known_answers() -> None:
    ct = MemoryTree()
    for entry in CT_ENTRIES:
        ct.append(leaf_hash(entry))
    for size, expected in enumerate(CT_ROOTS, start=1):
        assert tree_root(size, ct.subtree_hash).hex() == expected
        assert root_hash([leaf_hash(e) for e in CT_ENTRIES[:size]]).hex() == expected
    for (index, size), expected_proof in CT_INCLUSION.items():
        proof = inclusion_proof(index, size, ct.subtree_hash)
        assert [p.hex() for p in proof] == expected_proof
        root = bytes.fromhex(CT_ROOTS[size - 1])
        assert verify_inclusion(leaf_hash(CT_ENTRIES[index]), index, size, proof, root)


@pytest.mark.parametrize("size", range(MAX_SIZE + 1))
def test_roots_match_the_reference(tree: MemoryTree, size: int) -> None:
    expected = ref_mth(0, size)
    assert root_hash(LEAVES[:size]) == expected
    assert tree_root(size, tree.subtree_hash) == expected
    assert MemoryTree.from_leaf_hashes(LEAVES[:size]).root() == expected


def test_bulk_build_and_appends_store_the_same_nodes(tree: MemoryTree) -> None:
    bulk = MemoryTree.from_leaf_hashes(LEAVES)
    assert bulk.size == tree.size == MAX_SIZE
    for level in range(7):
        width = 1 << level
        for start in range(0, MAX_SIZE - width + 1, width):
            assert bulk.subtree_hash(start, start + width) == tree.subtree_hash(
                start, start + width
            )
            assert tree.subtree_hash(start, start + width) == ref_mth(start, start + width)


# --- inclusion -----------------------------------------------------------------------------


def test_every_inclusion_proof_matches_the_reference_and_verifies(tree: MemoryTree) -> None:
    for size in range(1, MAX_SIZE + 1):
        root = ref_mth(0, size)
        for index in range(size):
            proof = inclusion_proof(index, size, tree.subtree_hash)
            assert proof == ref_path(index, 0, size), (index, size)
            assert verify_inclusion(LEAVES[index], index, size, proof, root), (index, size)


def corrupted_inclusion_cases(
    index: int, size: int, proof: list[bytes]
) -> list[tuple[str, bytes, int, int, list[bytes], bytes]]:
    """(what, leaf, index, tree_size, proof, root): every one must be rejected."""
    leaf, root = LEAVES[index], ref_mth(0, size)
    cases = [
        ("flipped leaf", flip(leaf), index, size, proof, root),
        ("flipped root", leaf, index, size, proof, flip(root, 31)),
        ("extended with junk", leaf, index, size, [*proof, bytes(32)], root),
        ("extended with the root", leaf, index, size, [*proof, root], root),
        ("prefixed with the leaf", leaf, index, size, [leaf, *proof], root),
        ("index out of range", leaf, size, size, proof, root),
        ("negative index", leaf, -1, size, proof, root),
        ("zero tree size", leaf, index, 0, proof, root),
    ]
    for i in range(len(proof)):
        for position in (0, 17, 31):
            corrupted = [*proof[:i], flip(proof[i], position), *proof[i + 1 :]]
            cases.append(
                (f"byte {position} of element {i} flipped", leaf, index, size, corrupted, root)
            )
        cases.append(("element dropped", leaf, index, size, proof[:i] + proof[i + 1 :], root))
        cases.append(("element duplicated", leaf, index, size, [*proof[: i + 1], *proof[i:]], root))
    if len(proof) > 1:
        cases.append(("elements reversed", leaf, index, size, proof[::-1], root))
    for wrong in {index - 1, index + 1, index ^ 1, 0, size - 1} - {index}:
        if 0 <= wrong < size:
            cases.append((f"claimed index {wrong}", leaf, wrong, size, proof, root))
    for wrong_size in {size - 1, size + 1, 2 * size, MAX_SIZE} - {size}:
        # The signed checkpoint binds a size to its root: pair each wrong size with its own root.
        if index < wrong_size <= MAX_SIZE and ref_path(index, 0, wrong_size) != proof:
            cases.append(
                (f"tree size {wrong_size}", leaf, index, wrong_size, proof, ref_mth(0, wrong_size))
            )
    return cases


def test_corrupted_inclusion_proofs_are_all_rejected(tree: MemoryTree) -> None:
    checked = 0
    for size in range(1, MAX_SIZE + 1):
        for index in range(size):
            proof = inclusion_proof(index, size, tree.subtree_hash)
            for what, leaf, i, n, bad, root in corrupted_inclusion_cases(index, size, proof):
                assert not verify_inclusion(leaf, i, n, bad, root), (what, index, size)
                checked += 1
    assert checked > 20_000


@pytest.mark.parametrize(
    ("leaf", "index", "tree_size", "proof", "root"),
    [
        pytest.param(LEAVES[5][:31], 5, 8, "proof", "root", id="short leaf hash"),
        pytest.param(LEAVES[5], 5, 8, "proof", b"\x00" * 31, id="short root"),
        pytest.param(LEAVES[5], 5, 8, "short element", "root", id="short proof element"),
        pytest.param(LEAVES[5], 5, 8, "long element", "root", id="long proof element"),
        pytest.param(LEAVES[5], 5, 8, b"\x00" * 96, "root", id="proof as bytes"),
        pytest.param(LEAVES[5], 5, 8, "not a proof", "root", id="proof as text"),
        pytest.param(LEAVES[5], 5, 8, [None, None, None], "root", id="proof of None"),
        pytest.param(LEAVES[5], "5", 8, "proof", "root", id="index as text"),
        pytest.param(LEAVES[5], True, 8, "proof", "root", id="index as bool"),
        pytest.param(LEAVES[5], 5, 8.0, "proof", "root", id="size as float"),
        pytest.param("leaf", 5, 8, "proof", "root", id="leaf as text"),
    ],
)
def test_malformed_inclusion_inputs_return_false(
    tree: MemoryTree, leaf: object, index: object, tree_size: object, proof: object, root: object
) -> None:
    good = inclusion_proof(5, 8, tree.subtree_hash)
    proofs = {
        "proof": good,
        "short element": [good[0][:31], *good[1:]],
        "long element": [good[0] + b"\x00", *good[1:]],
    }
    actual_proof = proofs.get(proof, proof) if isinstance(proof, str) else proof
    actual_root = ref_mth(0, 8) if root == "root" else root
    assert verify_inclusion(leaf, index, tree_size, actual_proof, actual_root) is False  # type: ignore[arg-type]


def test_single_leaf_tree_has_an_empty_inclusion_proof(tree: MemoryTree) -> None:
    assert inclusion_proof(0, 1, tree.subtree_hash) == []
    assert verify_inclusion(LEAVES[0], 0, 1, [], LEAVES[0])
    assert not verify_inclusion(LEAVES[0], 0, 1, [LEAVES[1]], LEAVES[0])
    assert not verify_inclusion(LEAVES[1], 0, 1, [], LEAVES[0])


@pytest.mark.parametrize(
    ("index", "tree_size", "field"),
    [(0, 0, "index"), (5, 5, "index"), (-1, 5, "index"), (0, -1, "tree_size")],
)
def test_inclusion_proof_rejects_impossible_requests(
    index: int, tree_size: int, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        inclusion_proof_ranges(index, tree_size)
    assert caught.value.field == field
    assert "expected" in caught.value.detail


# --- consistency ---------------------------------------------------------------------------


def test_every_consistency_proof_matches_the_reference_and_verifies(tree: MemoryTree) -> None:
    for new_size in range(1, MAX_SIZE + 1):
        new_root = ref_mth(0, new_size)
        for old_size in range(1, new_size):
            proof = consistency_proof(old_size, new_size, tree.subtree_hash)
            assert proof == ref_proof(old_size, new_size), (old_size, new_size)
            assert verify_consistency(old_size, new_size, ref_mth(0, old_size), new_root, proof)


def test_trivial_consistency() -> None:
    root5, root8 = ref_mth(0, 5), ref_mth(0, 8)
    assert consistency_proof_ranges(0, 8) == []
    assert consistency_proof_ranges(8, 8) == []
    assert verify_consistency(8, 8, root8, root8, [])
    assert verify_consistency(0, 8, EMPTY_ROOT, root8, [])
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(8, 8, root5, root8, [])
    assert not verify_consistency(8, 8, root8, root8, [root8])
    assert not verify_consistency(0, 8, root5, root8, [])
    assert not verify_consistency(0, 8, EMPTY_ROOT, root8, [root8])
    # The RFC's step 1: a real extension always needs a proof.
    assert not verify_consistency(5, 8, root5, root8, [])


def corrupted_consistency_cases(
    old: int, new: int, proof: list[bytes]
) -> list[tuple[str, int, int, bytes, bytes, list[bytes]]]:
    """(what, old_size, new_size, old_root, new_root, proof): every one must be rejected."""
    old_root, new_root = ref_mth(0, old), ref_mth(0, new)
    cases = [
        ("flipped old root", old, new, flip(old_root), new_root, proof),
        ("flipped new root", old, new, old_root, flip(new_root), proof),
        ("roots swapped", old, new, new_root, old_root, proof),
        ("sizes swapped", new, old, new_root, old_root, proof),
        ("extended with junk", old, new, old_root, new_root, [*proof, bytes(32)]),
        ("prefixed with the old root", old, new, old_root, new_root, [old_root, *proof]),
        ("empty proof", old, new, old_root, new_root, []),
        ("negative old size", -old, new, old_root, new_root, proof),
    ]
    for i in range(len(proof)):
        for position in (0, 17, 31):
            corrupted = [*proof[:i], flip(proof[i], position), *proof[i + 1 :]]
            cases.append(
                (f"byte {position} of element {i}", old, new, old_root, new_root, corrupted)
            )
        cases.append(("element dropped", old, new, old_root, new_root, proof[:i] + proof[i + 1 :]))
        cases.append(
            ("element duplicated", old, new, old_root, new_root, [*proof[: i + 1], *proof[i:]])
        )
    if len(proof) > 1:
        cases.append(("elements reversed", old, new, old_root, new_root, proof[::-1]))
    # Other sizes, each paired with its own genuine root (as a signed checkpoint would pair them).
    for o, n in {(old - 1, new), (old + 1, new), (old, new - 1), (old, new + 1)}:
        if 0 < o < n <= MAX_SIZE and ref_proof(o, n) != proof:
            cases.append((f"sizes {o}->{n}", o, n, ref_mth(0, o), ref_mth(0, n), proof))
    return cases


def test_corrupted_consistency_proofs_are_all_rejected(tree: MemoryTree) -> None:
    checked = 0
    for new in range(2, MAX_SIZE + 1):
        for old in range(1, new):
            proof = consistency_proof(old, new, tree.subtree_hash)
            for what, o, n, old_root, new_root, bad in corrupted_consistency_cases(old, new, proof):
                assert not verify_consistency(o, n, old_root, new_root, bad), (what, old, new)
                checked += 1
    assert checked > 20_000


def test_malformed_consistency_inputs_return_false(tree: MemoryTree) -> None:
    proof = consistency_proof(6, 8, tree.subtree_hash)
    root6, root8 = ref_mth(0, 6), ref_mth(0, 8)
    assert verify_consistency(6, 8, root6, root8, proof)
    assert not verify_consistency(6, 8, root6[:31], root8, proof)
    assert not verify_consistency(6, 8, root6, root8 + b"\x00", proof)
    assert not verify_consistency(6, 8, root6, root8, [proof[0][:31], *proof[1:]])
    assert not verify_consistency(6, 8, root6, root8, b"".join(proof))  # type: ignore[arg-type]
    assert not verify_consistency(6, 8, root6, root8, [None, *proof])  # type: ignore[list-item]
    assert not verify_consistency(6, 8.0, root6, root8, proof)  # type: ignore[arg-type]
    assert not verify_consistency(8, 6, root8, root6, proof)


@pytest.mark.parametrize(
    ("old_size", "new_size", "field"),
    [(9, 8, "old_size"), (-1, 8, "old_size"), (0, -1, "new_size")],
)
def test_consistency_proof_rejects_impossible_requests(
    old_size: int, new_size: int, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        consistency_proof_ranges(old_size, new_size)
    assert caught.value.field == field


# --- storage reads -------------------------------------------------------------------------


def test_proofs_only_read_perfect_subtrees_within_2_log2_n(tree: MemoryTree) -> None:
    # MemoryTree.subtree_hash raises on anything but a stored perfect aligned subtree.
    for size in range(1, MAX_SIZE + 1):
        bound = 2 * ceil_log2(size)
        for index in range(size):
            tree.reads = 0
            inclusion_proof(index, size, tree.subtree_hash)
            assert tree.reads <= bound, (index, size, tree.reads)
        for old in range(1, size):
            tree.reads = 0
            consistency_proof(old, size, tree.subtree_hash)
            assert tree.reads <= bound, (old, size, tree.reads)


class ConstantLeafStore:
    """A log of n identical leaves: every stored node at one level has the same hash, so a
    tree of any size costs one hash per level to build, yet proofs over it are real proofs."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.by_level = [leaf_hash(b"certificate:issued")]
        while len(self.by_level) < size.bit_length():
            self.by_level.append(node_hash(self.by_level[-1], self.by_level[-1]))
        self.reads = 0

    def subtree_hash(self, start: int, end: int) -> bytes:
        assert is_perfect_subtree(start, end), (start, end)
        assert end <= self.size, (start, end)
        self.reads += 1
        level, _ = node_position(start, end)
        return self.by_level[level]


def sample_positions(size: int) -> list[int]:
    around_powers = {p + d for b in range(size.bit_length()) for p in (1 << b,) for d in (-1, 0, 1)}
    spread = {size * i // 97 for i in range(97)}
    return sorted(i for i in around_powers | spread | {0, size - 2, size - 1} if 0 <= i < size)


@pytest.mark.parametrize("size", [1_000_000, 999_999, 2**20, 2**20 - 1, 2**20 + 1, 2**40 + 12345])
def test_proof_reads_stay_logarithmic_at_a_million_leaves(size: int) -> None:
    store = ConstantLeafStore(size)
    root = tree_root(size, store.subtree_hash)
    assert store.reads == bin(size).count("1")
    bound = 2 * ceil_log2(size)
    worst = 0
    for index in sample_positions(size):
        store.reads = 0
        proof = inclusion_proof(index, size, store.subtree_hash)
        worst = max(worst, store.reads)
        assert verify_inclusion(store.by_level[0], index, size, proof, root)
    for old in sample_positions(size)[1:]:
        store.reads = 0
        proof = consistency_proof(old, size, store.subtree_hash)
        worst = max(worst, store.reads)
        old_root = tree_root(old, ConstantLeafStore(old).subtree_hash)
        assert verify_consistency(old, size, old_root, root, proof)
    assert worst <= bound, (size, worst, bound)


def test_memory_tree_reads_are_logarithmic_with_real_leaves() -> None:
    size = 2**15 + 2**9 + 3
    leaves = [i.to_bytes(32, "big") for i in range(size)]
    big = MemoryTree.from_leaf_hashes(leaves)
    root = big.root()
    bound = 2 * ceil_log2(size)
    for index in sample_positions(size):
        big.reads = 0
        proof = inclusion_proof(index, size, big.subtree_hash)
        assert big.reads <= bound
        assert verify_inclusion(leaves[index], index, size, proof, root)
        assert not verify_inclusion(leaves[index], index ^ 1, size, proof, root)


@pytest.mark.parametrize(
    ("kind", "first", "size"),
    [
        ("inclusion", 13, 70),
        ("inclusion", 63, 64),
        ("inclusion", 0, 7),
        ("consistency", 37, 70),
        ("consistency", 33, 64),
        ("consistency", 32, 33),
        ("consistency", 1, 7),
    ],
)
def test_prefetched_nodes_give_the_same_proofs(
    tree: MemoryTree, kind: str, first: int, size: int
) -> None:
    # An async storage layer fetches the named nodes in one query, then looks them up.
    if kind == "inclusion":
        ranges = inclusion_proof_ranges(first, size)
        expected = inclusion_proof(first, size, tree.subtree_hash)
    else:
        ranges = consistency_proof_ranges(first, size)
        expected = consistency_proof(first, size, tree.subtree_hash)
    wanted = subtrees_to_read(ranges)
    assert len(wanted) <= 2 * ceil_log2(size)
    fetched = {(start, end): tree.subtree_hash(start, end) for start, end in wanted}

    def lookup(start: int, end: int) -> bytes:
        return fetched[(start, end)]

    assert [range_hash(start, end, lookup) for start, end in ranges] == expected


def test_appends_read_amortised_one_node_each() -> None:
    stored: dict[tuple[int, int], bytes] = {}
    reads = 0

    def read(start: int, end: int) -> bytes:
        nonlocal reads
        reads += 1
        return stored[(start, end)]

    for index, leaf in enumerate(LEAVES):
        for start, end, value in subtrees_completed_by_append(index, leaf, read):
            assert (start, end) not in stored
            assert value == ref_mth(start, end)
            stored[(start, end)] = value
    assert reads < len(LEAVES)
    assert len(stored) < 2 * len(LEAVES)


# --- ranges --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "pieces"),
    [
        (0, 1, [(0, 1)]),
        (0, 8, [(0, 8)]),
        (0, 13, [(0, 8), (8, 12), (12, 13)]),
        (8, 15, [(8, 12), (12, 14), (14, 15)]),
        (64, 70, [(64, 68), (68, 70)]),
    ],
)
def test_perfect_pieces(start: int, end: int, pieces: list[tuple[int, int]]) -> None:
    assert perfect_pieces(start, end) == pieces
    assert all(is_perfect_subtree(s, e) for s, e in pieces)


@pytest.mark.parametrize(("start", "end"), [(3, 7), (5, 5), (4, 2), (2, 6)])
def test_ranges_that_are_not_tree_nodes_are_refused(start: int, end: int) -> None:
    with pytest.raises(ValueError, match="expected"):
        perfect_pieces(start, end)


def test_memory_tree_refuses_what_it_does_not_store(tree: MemoryTree) -> None:
    with pytest.raises(ValueError, match="perfect aligned"):
        tree.subtree_hash(2, 5)
    with pytest.raises(InvalidInput) as caught:
        tree.subtree_hash(64, 128)
    assert caught.value.field == "tree_size"
    with pytest.raises(InvalidInput):
        inclusion_proof(3, MAX_SIZE + 1, tree.subtree_hash)


def test_proof_shapes_for_a_worked_example() -> None:
    # RFC 9162 §2.1.5's example tree of 7 leaves (a..g), with d = leaf 3.
    assert inclusion_proof_ranges(3, 7) == [(2, 3), (0, 2), (4, 7)]
    assert inclusion_proof_ranges(0, 7) == [(1, 2), (2, 4), (4, 7)]
    assert consistency_proof_ranges(3, 7) == [(2, 3), (3, 4), (0, 2), (4, 7)]
    assert consistency_proof_ranges(4, 7) == [(4, 7)]
    assert consistency_proof_ranges(6, 7) == [(4, 6), (6, 7), (0, 4)]
    assert consistency_proof(4, 7, MemoryTree.from_leaf_hashes(LEAVES).subtree_hash) == [
        ref_mth(4, 7)
    ]
